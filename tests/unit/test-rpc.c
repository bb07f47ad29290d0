/* test-rpc - Check suite for lib/rpc.c (decoder, dispatcher, builders)
 * and lib/rpc-server.c (the unix socket server, driven through a real
 * event_base and plain non-blocking client sockets).
 *
 * Server tests never sleep: they run the loop with EVLOOP_NONBLOCK and wait
 * for a condition with a deadline, yielding with a 1 ms poll() on the client
 * socket between rounds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "lib/rpc-server.h"
#include "lib/rpc.h"

#define WAIT_SECONDS 10

/* ---------------------------------------------------------------------- */
/* Decoder. */

struct collect {
    struct json_object *values[64];
    int n;
};

static void
collect_cb(struct json_object *value, void *aux)
{
    struct collect *c = aux;

    ck_assert_int_lt(c->n, 64);
    c->values[c->n++] = value;
}

static void
collect_clear(struct collect *c)
{
    for (int i = 0; i < c->n; i++) {
        json_object_put(c->values[i]);
    }
    c->n = 0;
}

/* Feeds 'text' (NUL-terminated) to a fresh decoder with limit 'max' in one
 * call; returns the feed's result, values in 'c'. */
static int
feed_all(const char *text, size_t max, struct collect *c)
{
    struct rpc_decoder *dec = rpc_decoder_create(max);
    int rc = rpc_decoder_feed(dec, text, strlen(text), collect_cb, c);

    rpc_decoder_destroy(dec);
    return rc;
}

static void
assert_json_eq(struct json_object *a, const char *expected)
{
    struct json_object *b = json_tokener_parse(expected);

    ck_assert_msg(json_object_equal(a, b), "got %s, expected %s",
                  json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                  expected);
    json_object_put(b);
}

START_TEST(test_decoder_concatenated)
{
    struct collect c = { .n = 0 };

    ck_assert_int_eq(feed_all("{\"a\":1}{\"b\":2}[3,{}][]", RPC_MAX_MSG, &c),
                     0);
    ck_assert_int_eq(c.n, 4);
    assert_json_eq(c.values[0], "{\"a\":1}");
    assert_json_eq(c.values[1], "{\"b\":2}");
    assert_json_eq(c.values[2], "[3,{}]");
    assert_json_eq(c.values[3], "[]");
    collect_clear(&c);
}
END_TEST

START_TEST(test_decoder_newlines)
{
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    struct collect c = { .n = 0 };
    const char *text = "\n  {\"a\":1}\n\n\t{\"b\":\"x\\ny\"}\r\n"
                       "42\n\"s\" null ";

    ck_assert_int_eq(rpc_decoder_feed(dec, text, strlen(text), collect_cb, &c),
                     0);
    ck_assert_int_eq(c.n, 5);
    assert_json_eq(c.values[0], "{\"a\":1}");
    assert_json_eq(c.values[1], "{\"b\":\"x\\ny\"}");
    assert_json_eq(c.values[2], "42");
    assert_json_eq(c.values[3], "\"s\"");
    ck_assert_ptr_null(c.values[4]);            /* JSON null. */
    ck_assert_int_eq(rpc_decoder_pending(dec), 0);

    /* Whitespace alone is not a pending value; a number waits for the byte
     * after it. */
    ck_assert_int_eq(rpc_decoder_feed(dec, " \n", 2, collect_cb, &c), 0);
    ck_assert_int_eq(rpc_decoder_pending(dec), 0);
    ck_assert_int_eq(rpc_decoder_feed(dec, "[1,", 3, collect_cb, &c), 0);
    ck_assert_int_ne(rpc_decoder_pending(dec), 0);
    ck_assert_int_eq(rpc_decoder_feed(dec, "2]7", 3, collect_cb, &c), 0);
    ck_assert_int_eq(c.n, 6);
    ck_assert_int_ne(rpc_decoder_pending(dec), 0);
    ck_assert_int_eq(rpc_decoder_feed(dec, "\n", 1, collect_cb, &c), 0);
    ck_assert_int_eq(c.n, 7);
    assert_json_eq(c.values[5], "[1,2]");
    assert_json_eq(c.values[6], "7");
    ck_assert_int_eq(rpc_decoder_pending(dec), 0);
    ck_assert_str_eq(rpc_decoder_error(dec), "no error");
    collect_clear(&c);
    rpc_decoder_destroy(dec);
}
END_TEST

START_TEST(test_decoder_split_everywhere)
{
    /* Two- three- and four-byte UTF-8 characters, escapes, nesting. */
    const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"port.add\","
                      "\"params\":{\"name\":"
                      "\"v\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
                      "\"esc\":\"\\\"\\\\\\u00e9\",\"n\":[-1.5e3,true,null]},"
                      "\"id\":7}";
    size_t len = strlen(req);
    struct json_object *expected = json_tokener_parse(req);

    ck_assert_ptr_nonnull(expected);
    for (size_t i = 0; i <= len; i++) {
        struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
        struct collect c = { .n = 0 };

        ck_assert_int_eq(rpc_decoder_feed(dec, req, i, collect_cb, &c), 0);
        ck_assert_int_eq(c.n, i == len ? 1 : 0);
        ck_assert_int_eq(rpc_decoder_pending(dec), i > 0 && i < len);
        ck_assert_int_eq(rpc_decoder_feed(dec, req + i, len - i, collect_cb,
                                          &c), 0);
        ck_assert_int_eq(c.n, 1);
        ck_assert(json_object_equal(c.values[0], expected));
        collect_clear(&c);
        rpc_decoder_destroy(dec);
    }

    /* One byte at a time, three times over. */
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    struct collect c = { .n = 0 };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < len; i++) {
            ck_assert_int_eq(rpc_decoder_feed(dec, req + i, 1, collect_cb, &c),
                             0);
        }
        ck_assert_int_eq(rpc_decoder_feed(dec, "\n", 1, collect_cb, &c), 0);
    }
    ck_assert_int_eq(c.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert(json_object_equal(c.values[i], expected));
    }
    collect_clear(&c);
    rpc_decoder_destroy(dec);
    json_object_put(expected);
}
END_TEST

START_TEST(test_decoder_oversize)
{
    struct collect c = { .n = 0 };
    char big[64];

    /* Exactly at the limit passes, one byte more does not, whitespace
     * around it does not count. */
    ck_assert_int_eq(feed_all("  [\"abcdefgh\"]  \n", 12, &c), 0);
    ck_assert_int_eq(c.n, 1);
    collect_clear(&c);
    ck_assert_int_eq(feed_all("[\"abcdefghi\"]", 12, &c), -EMSGSIZE);
    ck_assert_int_eq(c.n, 0);
    ck_assert_int_eq(feed_all("123456789012 ", 12, &c), 0);
    ck_assert_int_eq(c.n, 1);
    collect_clear(&c);
    ck_assert_int_eq(feed_all("1234567890123 ", 12, &c), -EMSGSIZE);
    ck_assert_int_eq(feed_all("{}[1]{}", 3, &c), 0);
    ck_assert_int_eq(c.n, 3);
    collect_clear(&c);

    /* Refused as soon as it is over, before the value ends. */
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    size_t fed = 0;
    int rc = 0;
    ck_assert_int_eq(rpc_decoder_feed(dec, "{\"a\":\"", 6, collect_cb, &c), 0);
    fed = 6;
    memset(big, 'x', sizeof big);
    while (!rc && fed < 2 * RPC_MAX_MSG) {
        rc = rpc_decoder_feed(dec, big, sizeof big, collect_cb, &c);
        fed += sizeof big;
    }
    ck_assert_int_eq(rc, -EMSGSIZE);
    ck_assert_uint_le(fed, RPC_MAX_MSG + sizeof big);
    ck_assert_uint_gt(fed, RPC_MAX_MSG);
    ck_assert_int_eq(c.n, 0);
    ck_assert_ptr_nonnull(strstr(rpc_decoder_error(dec), "exceeds"));
    rpc_decoder_destroy(dec);

    /* A value before the oversized one is still delivered. */
    dec = rpc_decoder_create(16);
    snprintf(big, sizeof big, "{\"a\":1}\n[\"%s\"]", "0123456789abcdef");
    ck_assert_int_eq(rpc_decoder_feed(dec, big, strlen(big), collect_cb, &c),
                     -EMSGSIZE);
    ck_assert_int_eq(c.n, 1);
    collect_clear(&c);
    rpc_decoder_destroy(dec);
}
END_TEST

START_TEST(test_decoder_invalid_json)
{
    static const char *const bad[] = {
        "{\"a\":}", "{\"a\" 1}", "[1,,2]", "[1,2,]", "hello", "{'a':1}",
        "[NaN]", "[-Infinity]", "/* c */{}", "[\"tab\there\"]", "[01]",
        "{\"a\":1}}", "[\"\\x\"]", "{\"a\":1}\0{}", "[tRue]",
        /* Numbers json_tokener takes and would print back as they are: */
        "[1.]", "[1.e5]", "[-.5]", "[+1]", "{\"id\":2.}",
    };
    struct collect c = { .n = 0 };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
        size_t len = i == 13 ? 10 : strlen(bad[i]);    /* 13 has a NUL. */
        int rc = rpc_decoder_feed(dec, bad[i], len, collect_cb, &c);

        ck_assert_msg(rc == -EINVAL, "%s: got %d", bad[i], rc);
        ck_assert_str_ne(rpc_decoder_error(dec), "no error");
        collect_clear(&c);
        rpc_decoder_destroy(dec);
    }

    /* Values before the error are delivered, in order. */
    ck_assert_int_eq(feed_all("{\"ok\":1}\n[2]{bad", RPC_MAX_MSG, &c),
                     -EINVAL);
    ck_assert_int_eq(c.n, 2);
    collect_clear(&c);
    ck_assert_int_eq(feed_all("{\"ok\":1}\n'", RPC_MAX_MSG, &c), -EINVAL);
    ck_assert_int_eq(c.n, 1);
    collect_clear(&c);

    /* Deeper than json_tokener's default depth (32). */
    char deep[100];
    memset(deep, '[', sizeof deep);
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    ck_assert_int_eq(rpc_decoder_feed(dec, deep, sizeof deep, collect_cb, &c),
                     -EINVAL);
    rpc_decoder_destroy(dec);
}
END_TEST

START_TEST(test_decoder_invalid_utf8)
{
    static const char *const bad[] = {
        "[\"\xc3\x28\"]",               /* Bad continuation. */
        "[\"\xc3\"]",                   /* Truncated. */
        "[\"\xc0\x80\"]",               /* Overlong NUL. */
        "[\"\xe0\x80\xaf\"]",           /* Overlong '/'. */
        "[\"\xed\xa0\x80\"]",           /* Surrogate. */
        "[\"\xf4\x90\x80\x80\"]",       /* Above U+10FFFF. */
        "[\"\xf5\x80\x80\x80\"]",
        "[\"\xff\"]",
        "[\"\x80\"]",                   /* Lone continuation. */
        "[1]\xc3\xa9",                  /* Non-ASCII outside a string. */
    };
    struct collect c = { .n = 0 };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = feed_all(bad[i], RPC_MAX_MSG, &c);

        ck_assert_msg(rc == -EINVAL, "case %zu: got %d", i, rc);
        collect_clear(&c);
    }

    /* The same bytes split inside the character are still refused, and a
     * valid character split the same way is accepted. */
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    ck_assert_int_eq(rpc_decoder_feed(dec, "[\"\xed", 3, collect_cb, &c), 0);
    ck_assert_int_eq(rpc_decoder_feed(dec, "\xa0\x80\"]", 4, collect_cb, &c),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(rpc_decoder_error(dec), "UTF-8"));
    rpc_decoder_destroy(dec);
    dec = rpc_decoder_create(RPC_MAX_MSG);
    ck_assert_int_eq(rpc_decoder_feed(dec, "[\"\xed", 3, collect_cb, &c), 0);
    ck_assert_int_eq(rpc_decoder_feed(dec, "\x9f\xbf\"]", 4, collect_cb, &c),
                     0);
    ck_assert_int_eq(c.n, 1);
    collect_clear(&c);
    rpc_decoder_destroy(dec);
}
END_TEST

START_TEST(test_decoder_poisoned)
{
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    struct collect c = { .n = 0 };
    char msg[128];

    ck_assert_int_eq(rpc_decoder_feed(dec, "{]", 2, collect_cb, &c), -EINVAL);
    snprintf(msg, sizeof msg, "%s", rpc_decoder_error(dec));
    ck_assert_int_eq(rpc_decoder_feed(dec, "{}", 2, collect_cb, &c), -EINVAL);
    ck_assert_int_eq(rpc_decoder_feed(dec, "", 0, collect_cb, &c), -EINVAL);
    ck_assert_int_eq(c.n, 0);
    ck_assert_str_eq(rpc_decoder_error(dec), msg);
    rpc_decoder_destroy(dec);

    dec = rpc_decoder_create(4);
    ck_assert_int_eq(rpc_decoder_feed(dec, "[1,2,3]", 7, collect_cb, &c),
                     -EMSGSIZE);
    ck_assert_int_eq(rpc_decoder_feed(dec, "{}", 2, collect_cb, &c),
                     -EMSGSIZE);
    ck_assert_int_eq(c.n, 0);
    rpc_decoder_destroy(dec);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Dispatcher. */

struct calls {
    int n;
    void *last_conn;
};

/* "echo": returns its params (NULL, i.e. {}, if absent). */
static int
m_echo(void *conn, struct json_object *params, void *aux,
       struct json_object **result, struct rpc_error *error)
{
    struct calls *calls = aux;

    (void) error;
    if (calls) {
        calls->n++;
        calls->last_conn = conn;
    }
    *result = json_object_get(params);
    return 0;
}

/* "fail": fails with RPC_ERR_EXISTS and data. */
static int
m_fail(void *conn, struct json_object *params, void *aux,
       struct json_object **result, struct rpc_error *error)
{
    struct calls *calls = aux;
    struct json_object *data = json_object_new_object();

    (void) conn;
    (void) params;
    (void) result;
    if (calls) {
        calls->n++;
    }
    json_object_object_add(data, "name", json_object_new_string("vhu0"));
    error->data = data;
    return rpc_error_set(error, RPC_ERR_EXISTS, "port \"%s\" already exists",
                         "vhu0");
}

static struct rpc_dispatcher *
make_dispatcher(struct calls *calls)
{
    struct rpc_dispatcher *d = rpc_dispatcher_create();

    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(rpc_register(d, "echo", m_echo, calls), 0);
    ck_assert_int_eq(rpc_register(d, "fail", m_fail, calls), 0);
    return d;
}

/* Dispatches JSON 'text' and returns the response (or NULL). */
static struct json_object *
call(struct rpc_dispatcher *d, const char *text, void *conn)
{
    struct json_object *msg = json_tokener_parse(text);
    struct json_object *resp;

    ck_assert_msg(msg || !strcmp(text, "null"), "bad test JSON %s", text);
    resp = rpc_dispatch(d, msg, conn);
    json_object_put(msg);
    return resp;
}

/* Checks that 'resp' is an error response with 'code' and 'id' (JSON). */
static void
assert_error(struct json_object *resp, int code, const char *id)
{
    struct json_object *error, *v;

    ck_assert_ptr_nonnull(resp);
    ck_assert(json_object_object_get_ex(resp, "jsonrpc", &v));
    ck_assert_str_eq(json_object_get_string(v), "2.0");
    ck_assert(!json_object_object_get_ex(resp, "result", NULL));
    ck_assert(json_object_object_get_ex(resp, "error", &error));
    ck_assert(json_object_object_get_ex(error, "code", &v));
    ck_assert_int_eq(json_object_get_int(v), code);
    ck_assert(json_object_object_get_ex(error, "message", &v));
    ck_assert(json_object_is_type(v, json_type_string));
    ck_assert(json_object_object_get_ex(resp, "id", &v));
    assert_json_eq(v, id);
}

static const char *
error_message(struct json_object *resp)
{
    struct json_object *error, *v;

    ck_assert(json_object_object_get_ex(resp, "error", &error));
    ck_assert(json_object_object_get_ex(error, "message", &v));
    return json_object_get_string(v);
}

/* Checks that every error in response 'resp' (object or batch array) has a
 * non-empty message, and removes the messages so tables can compare the
 * rest. */
static void
strip_messages(struct json_object *resp)
{
    struct json_object *error, *msg;

    if (json_object_is_type(resp, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(resp); i++) {
            strip_messages(json_object_array_get_idx(resp, i));
        }
    } else if (json_object_object_get_ex(resp, "error", &error)) {
        ck_assert(json_object_object_get_ex(error, "message", &msg));
        ck_assert(json_object_is_type(msg, json_type_string));
        ck_assert_int_gt(json_object_get_string_len(msg), 0);
        json_object_object_del(error, "message");
    }
}

#define V "\"jsonrpc\":\"2.0\","
#define OK(RESULT, ID) "{" V "\"result\":" RESULT ",\"id\":" ID "}"
#define ERR(CODE, ID) "{" V "\"error\":{\"code\":" #CODE "},\"id\":" ID "}"
#define FAIL_ERR(ID) "{" V "\"error\":{\"code\":-32002," \
                     "\"data\":{\"name\":\"vhu0\"}},\"id\":" ID "}"

/* Requests and their expected responses, error messages left out (NULL: no
 * response at all). */
static const struct {
    const char *request, *response;
} dispatch_cases[] = {
    /* Calls: ids of every kind come back unchanged, params may be an object
     * or an array, absent params and a NULL result give {}. */
    { "{" V "\"method\":\"echo\",\"params\":{\"a\":[1,2]},\"id\":1}",
      OK("{\"a\":[1,2]}", "1") },
    { "{\"id\":\"abc\",\"method\":\"echo\",\"params\":[1],"
      "\"jsonrpc\":\"2.0\"}",
      OK("[1]", "\"abc\"") },
    { "{" V "\"method\":\"echo\",\"id\":null}", OK("{}", "null") },
    { "{" V "\"method\":\"echo\",\"id\":2.5}", OK("{}", "2.5") },
    /* Notifications: no response, whatever happens. */
    { "{" V "\"method\":\"echo\",\"params\":{}}", NULL },
    { "{" V "\"method\":\"fail\"}", NULL },
    { "{" V "\"method\":\"nope\"}", NULL },
    /* Errors. */
    { "{" V "\"method\":\"no.such\",\"id\":3}", ERR(-32601, "3") },
    { "{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":4}", ERR(-32600, "4") },
    { "{\"method\":\"echo\",\"id\":\"x\"}", ERR(-32600, "\"x\"") },
    { "{\"jsonrpc\":2.0,\"method\":\"echo\",\"id\":5}", ERR(-32600, "5") },
    { "{" V "\"method\":1,\"id\":6}", ERR(-32600, "6") },
    { "{" V "\"method\":\"echo\",\"params\":\"p\",\"id\":7}",
      ERR(-32600, "7") },
    { "{" V "\"method\":\"echo\",\"params\":null,\"id\":8}",
      ERR(-32600, "8") },
    { "{" V "\"method\":\"echo\",\"id\":{}}", ERR(-32600, "null") },
    { "{\"foo\":\"bar\"}", ERR(-32600, "null") },   /* Not a notification. */
    { "42", ERR(-32600, "null") },
    { "\"x\"", ERR(-32600, "null") },
    { "null", ERR(-32600, "null") },
    { "true", ERR(-32600, "null") },
    { "{" V "\"method\":\"fail\",\"id\":9}", FAIL_ERR("9") },
    /* Batches. */
    { "[{" V "\"method\":\"echo\",\"params\":[1],\"id\":1},"
      "{" V "\"method\":\"echo\",\"params\":[2]},"
      "5,"
      "{\"foo\":\"bar\"},"
      "{" V "\"method\":\"gone\",\"id\":\"g\"},"
      "{" V "\"method\":\"fail\",\"id\":2}]",
      "[" OK("[1]", "1") "," ERR(-32600, "null") "," ERR(-32600, "null") ","
      ERR(-32601, "\"g\"") "," FAIL_ERR("2") "]" },
    { "[{" V "\"method\":\"echo\"},{" V "\"method\":\"x\"}]", NULL },
    { "[]", ERR(-32600, "null") },
    { "[[]]", "[" ERR(-32600, "null") "]" },
};

START_TEST(test_dispatch_table)
{
    struct calls calls = { 0, NULL };
    struct rpc_dispatcher *d = make_dispatcher(&calls);

    for (size_t i = 0; i < sizeof dispatch_cases / sizeof *dispatch_cases;
         i++) {
        struct json_object *resp = call(d, dispatch_cases[i].request, &calls);

        if (!dispatch_cases[i].response) {
            ck_assert_msg(!resp, "%s: unexpected response",
                          dispatch_cases[i].request);
            continue;
        }
        ck_assert_msg(resp != NULL, "%s: no response",
                      dispatch_cases[i].request);
        strip_messages(resp);
        assert_json_eq(resp, dispatch_cases[i].response);
        json_object_put(resp);
    }
    /* echo: 4 calls, 1 notification, 3 in batches; fail: 1 notification,
     * 1 call, 1 in a batch. */
    ck_assert_int_eq(calls.n, 11);
    ck_assert_ptr_eq(calls.last_conn, &calls);
    rpc_dispatcher_destroy(d);
}
END_TEST

START_TEST(test_dispatch_messages)
{
    struct rpc_dispatcher *d = make_dispatcher(NULL);
    struct json_object *resp;

    resp = call(d, "{" V "\"method\":\"no.such\",\"id\":3}", NULL);
    assert_error(resp, RPC_ERR_METHOD_NOT_FOUND, "3");
    ck_assert_ptr_nonnull(strstr(error_message(resp), "\"no.such\""));
    json_object_put(resp);
    resp = call(d, "{" V "\"method\":\"fail\",\"id\":9}", NULL);
    assert_error(resp, RPC_ERR_EXISTS, "9");
    ck_assert_str_eq(error_message(resp), "port \"vhu0\" already exists");
    json_object_put(resp);
    rpc_dispatcher_destroy(d);
}
END_TEST

/* A batch of 'n' echo calls with ids 0..n-1. */
static struct json_object *
echo_batch(int n)
{
    struct json_object *batch = json_object_new_array();

    for (int i = 0; i < n; i++) {
        json_object_array_add(batch, rpc_make_request("echo", NULL, i));
    }
    return batch;
}

START_TEST(test_dispatch_batch_limit)
{
    struct calls calls = { 0, NULL };
    struct rpc_dispatcher *d = make_dispatcher(&calls);
    struct json_object *batch, *resp;

    /* One call too many: refused whole, nothing executed. */
    batch = echo_batch(RPC_MAX_BATCH + 1);
    resp = rpc_dispatch(d, batch, NULL);
    assert_error(resp, RPC_ERR_INVALID_REQUEST, "null");
    ck_assert_ptr_nonnull(strstr(error_message(resp), "at most 100 calls"));
    ck_assert_int_eq(calls.n, 0);
    json_object_put(resp);
    json_object_put(batch);

    /* The limit itself is fine. */
    batch = echo_batch(RPC_MAX_BATCH);
    resp = rpc_dispatch(d, batch, NULL);
    ck_assert(json_object_is_type(resp, json_type_array));
    ck_assert_uint_eq(json_object_array_length(resp), RPC_MAX_BATCH);
    ck_assert_int_eq(calls.n, RPC_MAX_BATCH);
    json_object_put(resp);
    json_object_put(batch);
    rpc_dispatcher_destroy(d);
}
END_TEST

struct hooks {
    int begins, ends;
    int fail;                   /* end hook fails. */
    int changes;                /* "change" calls since begin. */
};

/* "change": succeeds, leaving its saving to the end of the batch. */
static int
m_change(void *conn, struct json_object *params, void *aux,
         struct json_object **result, struct rpc_error *error)
{
    struct hooks *h = aux;

    (void) conn;
    (void) params;
    (void) result;
    h->changes++;
    error->deferred = h->begins > h->ends;
    return 0;
}

static void
hook_begin(void *aux)
{
    struct hooks *h = aux;

    h->begins++;
    h->changes = 0;
}

static int
hook_end(void *aux, struct rpc_error *error)
{
    struct hooks *h = aux;

    h->ends++;
    if (h->fail && h->changes) {
        error->data = json_object_new_string("ENOSPC");
        return rpc_error_set(error, RPC_ERR_FAILED, "not saved (%d changes)",
                             h->changes);
    }
    return 0;
}

START_TEST(test_dispatch_batch_hooks)
{
    struct hooks h = { 0, 0, 0, 0 };
    struct rpc_dispatcher *d = make_dispatcher(NULL);
    static const char batch[] =
        "[{" V "\"method\":\"change\",\"id\":1},"
        "{" V "\"method\":\"echo\",\"id\":2},"
        "{" V "\"method\":\"change\"},"
        "{" V "\"method\":\"fail\",\"id\":3},"
        "{" V "\"method\":\"change\",\"id\":4}]";
    struct json_object *resp;
#define FAIL_MSG "{" V "\"error\":{\"code\":-32002,\"message\":" \
                 "\"port \\\"vhu0\\\" already exists\"," \
                 "\"data\":{\"name\":\"vhu0\"}},\"id\":3}"

    ck_assert_int_eq(rpc_register(d, "change", m_change, &h), 0);
    rpc_set_batch_hooks(d, hook_begin, hook_end, &h);

    /* A single request runs no hook. */
    resp = call(d, "{" V "\"method\":\"change\",\"id\":1}", NULL);
    assert_json_eq(resp, OK("{}", "1"));
    json_object_put(resp);
    ck_assert_int_eq(h.begins + h.ends, 0);

    /* A batch runs each once, around its calls. */
    resp = call(d, batch, NULL);
    assert_json_eq(resp, "[" OK("{}", "1") "," OK("{}", "2") "," FAIL_MSG
                         "," OK("{}", "4") "]");
    json_object_put(resp);
    ck_assert_int_eq(h.begins, 1);
    ck_assert_int_eq(h.ends, 1);

    /* The end hook fails: the deferred calls get its error, the others
     * keep theirs. */
    h.fail = 1;
    resp = call(d, batch, NULL);
    assert_json_eq(resp, "[{" V "\"error\":{\"code\":-32004,"
                   "\"message\":\"not saved (3 changes)\",\"data\":\"ENOSPC\"},"
                   "\"id\":1}," OK("{}", "2") "," FAIL_MSG ",{" V
                   "\"error\":{\"code\":-32004,\"message\":\"not saved (3 "
                   "changes)\",\"data\":\"ENOSPC\"},\"id\":4}]");
    json_object_put(resp);
    ck_assert_int_eq(h.ends, 2);
    rpc_dispatcher_destroy(d);
}
END_TEST

START_TEST(test_register_and_list)
{
    struct rpc_dispatcher *d = rpc_dispatcher_create();
    static const char *const names[] = {
        "port.add", "bridge.list", "system.version", "fdb.show", "bridge.add",
        "system.list_methods", "pmd.stats", "port.del",
    };
    struct json_object *list;

    list = rpc_list_methods(d);
    assert_json_eq(list, "[]");
    json_object_put(list);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        ck_assert_int_eq(rpc_register(d, names[i], m_echo, NULL), 0);
    }
    ck_assert_int_eq(rpc_register(d, "port.add", m_fail, NULL), -EEXIST);
    list = rpc_list_methods(d);
    assert_json_eq(list, "[\"bridge.add\",\"bridge.list\",\"fdb.show\","
                         "\"pmd.stats\",\"port.add\",\"port.del\","
                         "\"system.list_methods\",\"system.version\"]");
    json_object_put(list);

    /* The duplicate did not replace the first registration. */
    struct json_object *resp = call(d, "{\"jsonrpc\":\"2.0\","
                                       "\"method\":\"port.add\",\"id\":1}",
                                    NULL);
    assert_json_eq(resp, "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":1}");
    json_object_put(resp);
    rpc_dispatcher_destroy(d);
}
END_TEST

START_TEST(test_builders)
{
    struct json_object *msg;
    struct rpc_error error = { 0, "", NULL, 0 };

    msg = rpc_make_request("bridge.add",
                           json_tokener_parse("{\"name\":\"b\"}"), 3);
    assert_json_eq(msg, "{\"jsonrpc\":\"2.0\",\"method\":\"bridge.add\","
                        "\"params\":{\"name\":\"b\"},\"id\":3}");
    json_object_put(msg);
    msg = rpc_make_request("bridge.list", NULL, 4);
    assert_json_eq(msg, "{\"jsonrpc\":\"2.0\",\"method\":\"bridge.list\","
                        "\"id\":4}");
    json_object_put(msg);
    msg = rpc_make_notification("event", json_object_new_array());
    assert_json_eq(msg, "{\"jsonrpc\":\"2.0\",\"method\":\"event\","
                        "\"params\":[]}");
    json_object_put(msg);
    msg = rpc_make_error(NULL, RPC_ERR_PARSE, "bad", NULL);
    assert_json_eq(msg, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,"
                        "\"message\":\"bad\"},\"id\":null}");
    json_object_put(msg);

    ck_assert_int_eq(rpc_error_set(&error, RPC_ERR_NOT_FOUND, "no %s %d",
                                   "port", 7), RPC_ERR_NOT_FOUND);
    ck_assert_int_eq(error.code, RPC_ERR_NOT_FOUND);
    ck_assert_str_eq(error.message, "no port 7");
}
END_TEST

/* True if the 'len' bytes of 's' are valid UTF-8. */
static bool
valid_utf8(const char *s, size_t len)
{
    struct rpc_decoder *dec = rpc_decoder_create(RPC_MAX_MSG);
    char *json = malloc(len + 3);
    int rc;

    ck_assert_ptr_nonnull(json);
    json[0] = '"';
    memcpy(json + 1, s, len);
    json[len + 1] = '"';
    json[len + 2] = ' ';
    rc = rpc_decoder_feed(dec, json, len + 3, NULL, NULL);
    free(json);
    rpc_decoder_destroy(dec);
    return rc == 0;
}

START_TEST(test_error_utf8)
{
    /* 1-, 2-, 3- and 4-byte characters cut at every byte: the message
     * never ends inside a character and loses at most that character. */
    static const char *const chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80" };

    for (size_t c = 0; c < 4; c++) {
        size_t clen = strlen(chars[c]);

        for (size_t prefix = 0; prefix < 4; prefix++) {
            struct rpc_error error = { 0, "", NULL, 0 };
            char arg[1024] = "";
            size_t len;

            for (size_t i = 0; i < prefix; i++) {
                strcat(arg, "x");
            }
            while (strlen(arg) + clen < sizeof arg) {
                strcat(arg, chars[c]);
            }
            rpc_error_set(&error, RPC_ERR_NOT_FOUND, "no bridge %s", arg);
            len = strlen(error.message);
            ck_assert_uint_le(len, sizeof error.message - 1);
            ck_assert_uint_ge(len, sizeof error.message - clen);
            ck_assert_msg(valid_utf8(error.message, len),
                          "char %zu prefix %zu: message ends inside a character",
                          c, prefix);
        }
    }

    /* rpc_utf8_trim() itself. */
    char s[8];

    strcpy(s, "ab\xe2\x82");
    ck_assert_uint_eq(rpc_utf8_trim(s, 4), 2);
    ck_assert_str_eq(s, "ab");
    strcpy(s, "ab\xe2\x82\xac");
    ck_assert_uint_eq(rpc_utf8_trim(s, 5), 5);
    strcpy(s, "\xf0\x9f\x98");
    ck_assert_uint_eq(rpc_utf8_trim(s, 3), 0);
    strcpy(s, "abc");
    ck_assert_uint_eq(rpc_utf8_trim(s, 2), 2);
    ck_assert_str_eq(s, "ab");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Server. */

struct srv_fx {
    char dir[64];
    char path[100];
    struct event_base *base;
    struct rpc_dispatcher *d;
    struct rpc_server *server;
    struct calls calls;
    bool stopped;               /* "stop" was called. */
    void *stream_conn;          /* Connection that called "stream". */
    void *closed[8];            /* Close callback's connections, in order. */
    int n_closed;
};

/* "big": returns {"s": 1 MiB of 'x'}. */
static int
m_big(void *conn, struct json_object *params, void *aux,
      struct json_object **result, struct rpc_error *error)
{
    static char s[1024 * 1024 + 1];

    (void) conn;
    (void) params;
    (void) aux;
    (void) error;
    if (!s[0]) {
        memset(s, 'x', sizeof s - 1);
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "s", json_object_new_string(s));
    return 0;
}

/* "huge": returns {"s": 17 MiB of 'y'}, over the server's output cap. */
static int
m_huge(void *conn, struct json_object *params, void *aux,
       struct json_object **result, struct rpc_error *error)
{
    size_t len = 17 * 1024 * 1024;
    char *s = malloc(len + 1);

    (void) conn;
    (void) params;
    (void) aux;
    (void) error;
    ck_assert_ptr_nonnull(s);
    memset(s, 'y', len);
    s[len] = '\0';
    *result = json_object_new_object();
    json_object_object_add(*result, "s", json_object_new_string_len(s, len));
    free(s);
    return 0;
}

/* "stop": breaks the event loop right after this call, so that its response
 * is still queued in the server (libevent's EVLOOP_NONBLOCK otherwise runs
 * until nothing is active, writing the response at once). */
static int
m_stop(void *conn, struct json_object *params, void *aux,
       struct json_object **result, struct rpc_error *error)
{
    struct srv_fx *fx = aux;

    (void) conn;
    (void) params;
    (void) result;
    (void) error;
    fx->stopped = true;
    event_base_loopbreak(fx->base);
    return 0;
}

/* "subscribe": subscribes the caller's connection to notifications. */
static int
m_subscribe(void *conn, struct json_object *params, void *aux,
            struct json_object **result, struct rpc_error *error)
{
    struct srv_fx *fx = aux;

    (void) params;
    (void) result;
    (void) error;
    rpc_server_subscribe(fx->server, conn);
    return 0;
}

/* "stream": the caller's connection becomes a stream (keep_open) that the
 * test sends notifications to with rpc_server_send(). */
static int
m_stream(void *conn, struct json_object *params, void *aux,
         struct json_object **result, struct rpc_error *error)
{
    struct srv_fx *fx = aux;

    (void) params;
    (void) result;
    (void) error;
    fx->stream_conn = conn;
    rpc_server_keep_open(fx->server, conn, true);
    return 0;
}

/* rpc_server_set_close_cb() callback: records 'conn'. */
static void
on_close(void *conn, void *fx_)
{
    struct srv_fx *fx = fx_;

    if (fx->n_closed < 8) {
        fx->closed[fx->n_closed++] = conn;
    }
}

static void
srv_setup(struct srv_fx *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test-rpc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/ctl.sock", fx->dir);
    fx->base = event_base_new();
    ck_assert_ptr_nonnull(fx->base);
    fx->d = make_dispatcher(&fx->calls);
    ck_assert_int_eq(rpc_register(fx->d, "big", m_big, NULL), 0);
    ck_assert_int_eq(rpc_register(fx->d, "huge", m_huge, NULL), 0);
    ck_assert_int_eq(rpc_register(fx->d, "subscribe", m_subscribe, fx), 0);
    ck_assert_int_eq(rpc_register(fx->d, "stop", m_stop, fx), 0);
    ck_assert_int_eq(rpc_register(fx->d, "stream", m_stream, fx), 0);
    ck_assert_int_eq(rpc_server_create(fx->base, fx->path, -1, fx->d,
                                       &fx->server), 0);
}

static void
srv_teardown(struct srv_fx *fx)
{
    rpc_server_destroy(fx->server);
    ck_assert_int_eq(access(fx->path, F_OK), -1);
    rpc_dispatcher_destroy(fx->d);
    event_base_free(fx->base);
    ck_assert_int_eq(rmdir(fx->dir), 0);
}

struct client {
    int fd;
    char *buf;          /* Received, not yet consumed. */
    size_t len, size;
    bool closed;        /* Read returned 0 or ECONNRESET. */
    int close_error;    /* 0 for a clean EOF, else the errno. */
};

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
client_connect(struct client *c, const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    memset(c, 0, sizeof *c);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *) &sun, sizeof sun), 0);
}

static void
client_close(struct client *c)
{
    close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

/* Reads whatever 'c' has received without blocking. */
static void
client_poll(struct client *c)
{
    while (!c->closed) {
        if (c->size - c->len < 65536) {
            c->size = c->size * 2 + 65536;
            c->buf = realloc(c->buf, c->size);
            ck_assert_ptr_nonnull(c->buf);
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->size - c->len);
        if (n > 0) {
            c->len += n;
        } else if (n == 0) {
            c->closed = true;
        } else if (errno == ECONNRESET) {
            c->closed = true;
            c->close_error = errno;
        } else {
            ck_assert_msg(errno == EAGAIN, "read: %s", strerror(errno));
            break;
        }
    }
}

/* Runs the server's loop once without blocking, then reads for 'c' (may be
 * NULL), then yields up to 1 ms waiting for 'c''s socket. */
static void
pump(struct srv_fx *fx, struct client *c, short events)
{
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    if (c) {
        struct pollfd pfd = { .fd = c->fd, .events = events };

        client_poll(c);
        poll(&pfd, 1, 1);
    } else {
        poll(NULL, 0, 1);
    }
}

/* Sends all of 'data', running the server meanwhile.  Returns the number of
 * bytes sent: less than 'len' if the server closed the connection. */
static size_t
client_send(struct srv_fx *fx, struct client *c, const char *data, size_t len)
{
    double deadline = now() + WAIT_SECONDS;
    size_t sent = 0;

    while (sent < len) {
        ssize_t n = send(c->fd, data + sent, len - sent, MSG_NOSIGNAL);

        if (n > 0) {
            sent += n;
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            break;
        }
        ck_assert_msg(errno == EAGAIN, "send: %s", strerror(errno));
        ck_assert_msg(now() < deadline, "timeout sending");
        pump(fx, c, POLLOUT);
    }
    return sent;
}

static void
client_send_str(struct srv_fx *fx, struct client *c, const char *s)
{
    ck_assert_uint_eq(client_send(fx, c, s, strlen(s)), strlen(s));
}

/* Waits for a complete line from the server and returns it (to be freed),
 * without the "\n". */
static char *
client_wait_line(struct srv_fx *fx, struct client *c)
{
    double deadline = now() + WAIT_SECONDS;

    for (;;) {
        char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;

        if (nl) {
            size_t n = nl - c->buf;
            char *line = strndup(c->buf, n);

            ck_assert_ptr_nonnull(line);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        ck_assert_msg(!c->closed, "connection closed while waiting");
        ck_assert_msg(now() < deadline, "timeout waiting for a response");
        pump(fx, c, POLLIN);
    }
}

/* Waits for a complete line from the server and returns it parsed. */
static struct json_object *
client_wait_json(struct srv_fx *fx, struct client *c)
{
    char *line = client_wait_line(fx, c);
    struct json_object *obj = json_tokener_parse(line);

    ck_assert_msg(obj != NULL, "bad JSON from server: %s", line);
    free(line);
    return obj;
}

static void
client_wait_closed(struct srv_fx *fx, struct client *c)
{
    double deadline = now() + WAIT_SECONDS;

    while (!c->closed) {
        ck_assert_msg(now() < deadline, "timeout waiting for close");
        pump(fx, c, POLLIN);
    }
}

/* Waits for a line from the server and checks it equals JSON 'expected'. */
static void
client_expect(struct srv_fx *fx, struct client *c, const char *expected)
{
    struct json_object *resp = client_wait_json(fx, c);

    assert_json_eq(resp, expected);
    json_object_put(resp);
}

/* Waits for an error response with 'code': the element 'idx' of a batch
 * response, or the response itself if 'idx' < 0 (then with id null). */
static void
client_expect_error(struct srv_fx *fx, struct client *c, int idx, int code)
{
    struct json_object *resp = client_wait_json(fx, c);

    if (idx < 0) {
        assert_error(resp, code, "null");
    } else {
        ck_assert_int_gt(json_object_array_length(resp), idx);
        ck_assert_int_eq(json_object_get_type(
                json_object_object_get(json_object_array_get_idx(resp, idx),
                                       "error")), json_type_object);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(
                json_object_object_get(json_object_array_get_idx(resp, idx),
                                       "error"), "code")), code);
    }
    json_object_put(resp);
}

static void
wait_n_conns(struct srv_fx *fx, int n)
{
    double deadline = now() + WAIT_SECONDS;

    while (rpc_server_n_conns(fx->server) != n) {
        ck_assert_msg(now() < deadline, "timeout: %d connections, want %d",
                      rpc_server_n_conns(fx->server), n);
        pump(fx, NULL, 0);
    }
}

#define ECHO(ID) "{" V "\"method\":\"echo\",\"id\":" ID "}"

/* Does one echo round trip on a new connection. */
static void
check_alive(struct srv_fx *fx)
{
    struct client c;

    client_connect(&c, fx->path);
    client_send_str(fx, &c, ECHO("99") "\n");
    client_expect(fx, &c, OK("{}", "99"));
    client_close(&c);
}

START_TEST(test_server_request)
{
    struct srv_fx fx;
    struct client c;
    struct json_object *resp;
    struct stat st;
    char *line;

    srv_setup(&fx);
    ck_assert_int_eq(stat(fx.path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0660);

    client_connect(&c, fx.path);
    client_send_str(&fx, &c, "{" V "\"method\":\"echo\","
                             "\"params\":{\"path\":\"/run/x\"},\"id\":1}\n");
    line = client_wait_line(&fx, &c);
    ck_assert_ptr_null(strchr(line, '\\'));        /* No "\/" escapes. */
    resp = json_tokener_parse(line);
    free(line);
    assert_json_eq(resp, OK("{\"path\":\"/run/x\"}", "1"));
    json_object_put(resp);

    /* A notification gets nothing; the next request is answered first. */
    client_send_str(&fx, &c, "{" V "\"method\":\"echo\"}" ECHO("2"));
    client_expect(&fx, &c, OK("{}", "2"));
    ck_assert_int_eq(fx.calls.n, 3);
    ck_assert_int_eq(rpc_server_n_conns(fx.server), 1);

    /* The client half-closes after a request: the answer still comes, then
     * EOF. */
    client_send_str(&fx, &c, "[" ECHO("3") "]");
    ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
    client_expect(&fx, &c, "[" OK("{}", "3") "]");
    client_wait_closed(&fx, &c);
    ck_assert_int_eq(c.close_error, 0);
    wait_n_conns(&fx, 0);
    client_close(&c);
    srv_teardown(&fx);
}
END_TEST

START_TEST(test_server_two_clients)
{
    static const char req[] = ECHO("\"b\"") "\n";
    struct srv_fx fx;
    struct client c1, c2;

    srv_setup(&fx);
    client_connect(&c1, fx.path);
    client_connect(&c2, fx.path);
    wait_n_conns(&fx, 2);

    /* c2 sends half a request, c1 a whole batch, then c2 the rest. */
    ck_assert_uint_eq(client_send(&fx, &c2, req, 20), 20);
    client_send_str(&fx, &c1, "[" ECHO("1") ",{" V "\"method\":\"nope\","
                              "\"id\":2}]\n");
    client_expect_error(&fx, &c1, 1, RPC_ERR_METHOD_NOT_FOUND);
    client_send_str(&fx, &c2, req + 20);
    client_expect(&fx, &c2, OK("{}", "\"b\""));

    client_close(&c1);
    wait_n_conns(&fx, 1);
    check_alive(&fx);
    client_close(&c2);
    wait_n_conns(&fx, 0);
    srv_teardown(&fx);
}
END_TEST

START_TEST(test_server_garbage)
{
    struct srv_fx fx;
    struct client c;

    srv_setup(&fx);
    client_connect(&c, fx.path);
    client_send_str(&fx, &c, ECHO("1") "\nthis is not JSON\n" ECHO("2"));
    client_expect(&fx, &c, OK("{}", "1"));
    client_expect_error(&fx, &c, -1, RPC_ERR_PARSE);
    client_wait_closed(&fx, &c);
    ck_assert_int_eq(c.close_error, 0);             /* Read returned 0. */
    ck_assert_uint_eq(c.len, 0);
    client_close(&c);
    wait_n_conns(&fx, 0);

    /* Invalid UTF-8 too. */
    client_connect(&c, fx.path);
    client_send_str(&fx, &c, "[\"\xc0\xaf\"]");
    client_expect_error(&fx, &c, -1, RPC_ERR_PARSE);
    client_wait_closed(&fx, &c);
    client_close(&c);

    check_alive(&fx);
    wait_n_conns(&fx, 0);
    ck_assert_int_eq(fx.calls.n, 2);
    srv_teardown(&fx);
}
END_TEST

START_TEST(test_server_oversize)
{
    static const char head[] = "{" V "\"method\":\"echo\",\"params\":[\"";
    size_t len = 2 * 1024 * 1024;
    char *msg = malloc(len);
    struct srv_fx fx;
    struct client c;

    ck_assert_ptr_nonnull(msg);
    memset(msg, 'x', len);
    memcpy(msg, head, strlen(head));
    memcpy(msg + len - 4, "\"]}\n", 4);

    srv_setup(&fx);
    client_connect(&c, fx.path);
    ck_assert_uint_gt(client_send(&fx, &c, msg, len), RPC_MAX_MSG);
    client_expect_error(&fx, &c, -1, RPC_ERR_PARSE);
    /* Unread input at the server makes Linux report ECONNRESET after the
     * queued data instead of a plain EOF: both mean closed. */
    client_wait_closed(&fx, &c);
    client_close(&c);
    wait_n_conns(&fx, 0);
    ck_assert_int_eq(fx.calls.n, 0);

    check_alive(&fx);
    srv_teardown(&fx);
    free(msg);
}
END_TEST

START_TEST(test_server_batch_output_cap)
{
    static const char big[] = "{" V "\"method\":\"big\",\"id\":1}";
    char *batch = malloc(20 * sizeof big + 2);
    struct json_object *resp;
    struct srv_fx fx;
    struct client c;

    /* 20 calls of 1 MiB each: the response would be 20 MiB, over the 16 MiB
     * output cap.  The server stops after the 16th call (16 MiB and a bit) and says so, and
     * the connection keeps working. */
    ck_assert_ptr_nonnull(batch);
    strcpy(batch, "[");
    for (int i = 0; i < 20; i++) {
        strcat(batch, i ? "," : "");
        strcat(batch, big);
    }
    strcat(batch, "]");
    srv_setup(&fx);
    client_connect(&c, fx.path);
    client_send_str(&fx, &c, batch);
    resp = client_wait_json(&fx, &c);
    assert_error(resp, RPC_ERR_LIMIT, "null");
    ck_assert_msg(strstr(error_message(resp), "stopped after 16 of its 20 calls"),
                  "%s", error_message(resp));
    json_object_put(resp);
    client_send_str(&fx, &c, ECHO("5") "\n");
    client_expect(&fx, &c, OK("{}", "5"));

    /* A single response over the cap: an error in its place. */
    client_send_str(&fx, &c, "{" V "\"method\":\"huge\",\"id\":6}\n");
    resp = client_wait_json(&fx, &c);
    assert_error(resp, RPC_ERR_LIMIT, "6");
    ck_assert_ptr_nonnull(strstr(error_message(resp), "exceeds"));
    json_object_put(resp);
    client_send_str(&fx, &c, ECHO("7") "\n");
    client_expect(&fx, &c, OK("{}", "7"));
    client_close(&c);
    wait_n_conns(&fx, 0);
    srv_teardown(&fx);
    free(batch);
}
END_TEST

START_TEST(test_server_slow_reader)
{
    static const char req[] = "{" V "\"method\":\"big\",\"id\":1}\n";
    struct srv_fx fx;
    struct client c;

    srv_setup(&fx);
    client_connect(&c, fx.path);
    for (int i = 0; i < 24; i++) {
        ck_assert_uint_eq(send(c.fd, req, strlen(req), MSG_NOSIGNAL),
                          strlen(req));
    }
    /* The client reads nothing; the server drops it past 16 MiB queued. */
    wait_n_conns(&fx, 0);
    client_close(&c);
    check_alive(&fx);
    srv_teardown(&fx);
}
END_TEST

START_TEST(test_server_notify)
{
    struct srv_fx fx;
    struct client c1, c2;

    srv_setup(&fx);
    client_connect(&c1, fx.path);
    client_connect(&c2, fx.path);
    client_send_str(&fx, &c1, "{" V "\"method\":\"subscribe\",\"id\":1}\n");
    client_expect(&fx, &c1, OK("{}", "1"));
    wait_n_conns(&fx, 2);

    rpc_server_notify(fx.server, "event",
                      json_tokener_parse("{\"port\":\"vhu0\",\"up\":true}"));
    client_expect(&fx, &c1, "{" V "\"method\":\"event\","
                            "\"params\":{\"port\":\"vhu0\",\"up\":true}}");

    /* c2 did not subscribe: its next line is its own answer. */
    client_send_str(&fx, &c2, ECHO("5") "\n");
    client_expect(&fx, &c2, OK("{}", "5"));

    client_close(&c1);
    client_close(&c2);
    wait_n_conns(&fx, 0);
    rpc_server_notify(fx.server, "event", NULL);
    srv_teardown(&fx);
}
END_TEST

/* Runs the server for 'ms' milliseconds (so that monotonic time moves). */
static void
pump_for(struct srv_fx *fx, struct client *c, int ms)
{
    double end = now() + ms / 1000.0;

    while (now() < end) {
        pump(fx, c, POLLIN);
    }
}

START_TEST(test_server_max_conns)
{
    enum { N = 256 };
    struct client *cs = calloc(N + 2, sizeof *cs);
    struct srv_fx fx;

    ck_assert_ptr_nonnull(cs);
    srv_setup(&fx);
    for (int i = 0; i < N; i++) {
        client_connect(&cs[i], fx.path);
        if (i % 32 == 31) {
            wait_n_conns(&fx, i + 1);
        }
    }
    /* The server is full.  cs[0] monitors events, cs[1] has just sent a
     * request; every other client has been idle since it connected. */
    client_send_str(&fx, &cs[0], "{" V "\"method\":\"subscribe\",\"id\":1}\n");
    client_expect(&fx, &cs[0], OK("{}", "1"));
    pump_for(&fx, NULL, 3);
    client_send_str(&fx, &cs[1], ECHO("2") "\n");
    client_expect(&fx, &cs[1], OK("{}", "2"));

    /* A newcomer is not locked out: the longest-idle client that does not
     * monitor events (cs[2], the oldest of the idle ones) makes room. */
    client_connect(&cs[N], fx.path);
    client_send_str(&fx, &cs[N], ECHO("3") "\n");
    client_expect(&fx, &cs[N], OK("{}", "3"));
    client_wait_closed(&fx, &cs[2]);
    ck_assert_int_eq(rpc_server_n_conns(fx.server), N);
    client_connect(&cs[N + 1], fx.path);
    client_send_str(&fx, &cs[N + 1], ECHO("4") "\n");
    client_expect(&fx, &cs[N + 1], OK("{}", "4"));
    client_wait_closed(&fx, &cs[3]);
    ck_assert_int_eq(rpc_server_n_conns(fx.server), N);
    for (int i = 0; i < N + 2; i++) {
        client_poll(&cs[i]);
        ck_assert_msg(cs[i].closed == (i == 2 || i == 3), "client %d %s", i,
                      cs[i].closed ? "closed" : "open");
    }
    client_close(&cs[2]);
    client_close(&cs[3]);
    client_close(&cs[N]);
    client_close(&cs[N + 1]);
    client_close(&cs[0]);
    wait_n_conns(&fx, N - 3);
    check_alive(&fx);

    /* Destroying the server with connections open closes them, flushing
     * what it can: cs[1] has a response queued. */
    client_send_str(&fx, &cs[1], "{" V "\"method\":\"stop\",\"id\":7}");
    for (double deadline = now() + WAIT_SECONDS; !fx.stopped; ) {
        ck_assert_msg(now() < deadline, "request not dispatched");
        pump(&fx, NULL, 0);
    }
    client_poll(&cs[1]);
    ck_assert_uint_eq(cs[1].len, 0);
    rpc_server_destroy(fx.server);
    fx.server = NULL;
    client_expect(&fx, &cs[1], OK("{}", "7"));
    for (int i = 1; i < N; i++) {
        if (i == 2 || i == 3) {
            continue;
        }
        client_poll(&cs[i]);
        ck_assert(cs[i].closed);
        client_close(&cs[i]);
    }
    free(cs);
    srv_teardown(&fx);
}
END_TEST

START_TEST(test_server_idle_timeout)
{
    struct srv_fx fx;
    struct client idle, mon, busy;
    double start;

    /* The daemon's default is 60 s; the variable is the tests' way in. */
    ck_assert_int_eq(setenv("VSWITCH_RPC_IDLE_TIMEOUT", "1", 1), 0);
    srv_setup(&fx);
    client_connect(&idle, fx.path);
    client_connect(&mon, fx.path);
    client_connect(&busy, fx.path);
    client_send_str(&fx, &mon, "{" V "\"method\":\"subscribe\",\"id\":1}\n");
    client_expect(&fx, &mon, OK("{}", "1"));

    /* 'busy' sends a request every 200 ms for 2.5 s and stays; 'idle' is
     * closed after about 1 s; 'mon', silent but subscribed, stays. */
    start = now();
    for (int i = 0; now() < start + 2.5; i++) {
        char req[64];

        snprintf(req, sizeof req, ECHO("%d") "\n", i);
        client_send_str(&fx, &busy, req);
        snprintf(req, sizeof req, OK("{}", "%d"), i);
        client_expect(&fx, &busy, req);
        pump_for(&fx, &idle, 200);
    }
    ck_assert_msg(idle.closed, "idle connection still open after 2.5 s");
    client_poll(&mon);
    ck_assert(!mon.closed);
    ck_assert(!busy.closed);
    ck_assert_int_eq(rpc_server_n_conns(fx.server), 2);

    /* 'busy' goes quiet: closed in turn; 'mon' still gets events. */
    client_wait_closed(&fx, &busy);
    rpc_server_notify(fx.server, "event", NULL);
    client_expect(&fx, &mon, "{" V "\"method\":\"event\"}");
    ck_assert_int_eq(rpc_server_n_conns(fx.server), 1);

    client_close(&idle);
    client_close(&busy);
    client_close(&mon);
    wait_n_conns(&fx, 0);
    srv_teardown(&fx);
    unsetenv("VSWITCH_RPC_IDLE_TIMEOUT");
}
END_TEST

/* Per-connection streams (packet capture): rpc_server_send() reaches one
 * connection only; rpc_server_output_pending() counts what it has not
 * taken yet; a keep_open connection survives the idle timeout; the close
 * callback names each connection as it goes. */
START_TEST(test_server_stream)
{
    struct srv_fx fx;
    struct client st, other;

    ck_assert_int_eq(setenv("VSWITCH_RPC_IDLE_TIMEOUT", "1", 1), 0);
    srv_setup(&fx);
    rpc_server_set_close_cb(fx.server, on_close, &fx);
    client_connect(&st, fx.path);
    client_connect(&other, fx.path);
    client_send_str(&fx, &st, "{" V "\"method\":\"stream\",\"id\":1}\n");
    client_expect(&fx, &st, OK("{}", "1"));
    ck_assert_ptr_nonnull(fx.stream_conn);
    wait_n_conns(&fx, 2);

    ck_assert_int_eq(rpc_server_send(fx.server, fx.stream_conn, "capture.data",
                                     json_tokener_parse("{\"id\":1,\"data\":\"AA==\"}")),
                     0);
    /* Queued, not yet written: the loop has not run. */
    ck_assert_uint_gt(rpc_server_output_pending(fx.server, fx.stream_conn), 0);
    client_expect(&fx, &st, "{" V "\"method\":\"capture.data\","
                            "\"params\":{\"id\":1,\"data\":\"AA==\"}}");
    ck_assert_uint_eq(rpc_server_output_pending(fx.server, fx.stream_conn), 0);
    client_send_str(&fx, &other, ECHO("7") "\n");
    client_expect(&fx, &other, OK("{}", "7"));    /* Nothing else for it. */

    /* Silent for 2 s: 'other' is closed for idleness, the stream is not. */
    client_wait_closed(&fx, &other);
    pump_for(&fx, &st, 1000);
    client_poll(&st);
    ck_assert(!st.closed);
    ck_assert_int_eq(fx.n_closed, 1);
    ck_assert_ptr_ne(fx.closed[0], fx.stream_conn);

    /* The stream ends: the connection is timed out like any other. */
    rpc_server_keep_open(fx.server, fx.stream_conn, false);
    client_wait_closed(&fx, &st);
    wait_n_conns(&fx, 0);
    ck_assert_int_eq(fx.n_closed, 2);
    ck_assert_ptr_eq(fx.closed[1], fx.stream_conn);
    client_close(&st);
    client_close(&other);
    srv_teardown(&fx);
    unsetenv("VSWITCH_RPC_IDLE_TIMEOUT");
}
END_TEST

START_TEST(test_server_socket_file)
{
    struct srv_fx fx;
    struct rpc_server *other;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    srv_setup(&fx);
    /* Somebody listens there. */
    ck_assert_int_eq(rpc_server_create(fx.base, fx.path, -1, fx.d, &other),
                     -EADDRINUSE);
    ck_assert_ptr_null(other);
    check_alive(&fx);
    rpc_server_destroy(fx.server);
    ck_assert_int_eq(access(fx.path, F_OK), -1);

    /* A stale socket file (its server died) is replaced. */
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", fx.path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);
    ck_assert_int_eq(access(fx.path, F_OK), 0);
    ck_assert_int_eq(rpc_server_create(fx.base, fx.path, -1, fx.d, &fx.server),
                     0);
    check_alive(&fx);
    rpc_server_destroy(fx.server);
    fx.server = NULL;

    /* Something that is not a socket is left alone. */
    fd = open(fx.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(rpc_server_create(fx.base, fx.path, -1, fx.d, &other),
                     -EEXIST);
    ck_assert_int_eq(unlink(fx.path), 0);
    srv_teardown(&fx);
}
END_TEST

static Suite *
rpc_suite(void)
{
    Suite *s = suite_create("rpc");
    TCase *tc;

    tc = tcase_create("decoder");
    tcase_add_test(tc, test_decoder_concatenated);
    tcase_add_test(tc, test_decoder_newlines);
    tcase_add_test(tc, test_decoder_split_everywhere);
    tcase_add_test(tc, test_decoder_oversize);
    tcase_add_test(tc, test_decoder_invalid_json);
    tcase_add_test(tc, test_decoder_invalid_utf8);
    tcase_add_test(tc, test_decoder_poisoned);
    suite_add_tcase(s, tc);

    tc = tcase_create("dispatcher");
    tcase_add_test(tc, test_dispatch_table);
    tcase_add_test(tc, test_dispatch_messages);
    tcase_add_test(tc, test_register_and_list);
    tcase_add_test(tc, test_dispatch_batch_limit);
    tcase_add_test(tc, test_dispatch_batch_hooks);
    tcase_add_test(tc, test_builders);
    tcase_add_test(tc, test_error_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_server_request);
    tcase_add_test(tc, test_server_two_clients);
    tcase_add_test(tc, test_server_garbage);
    tcase_add_test(tc, test_server_oversize);
    tcase_add_test(tc, test_server_slow_reader);
    tcase_add_test(tc, test_server_batch_output_cap);
    tcase_add_test(tc, test_server_notify);
    tcase_add_test(tc, test_server_max_conns);
    tcase_add_test(tc, test_server_idle_timeout);
    tcase_add_test(tc, test_server_stream);
    tcase_add_test(tc, test_server_socket_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rpc_suite());
    int failed;

    /* The daemon ignores SIGPIPE; so do we (bufferevents use writev). */
    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
