/* rpc - JSON-RPC 2.0 codec and method dispatcher (see rpc.h).
 *
 * Three independent parts live here:
 *
 *   - the dispatcher: a method table (json-c's lh_table keyed by name) and
 *     rpc_dispatch(), which implements the JSON-RPC 2.0 request, notification
 *     and batch semantics on already-parsed values;
 *   - message builders (rpc_make_request() and friends) shared with vsctl;
 *   - the incremental stream decoder, which turns a byte stream into JSON
 *     values with json_tokener, under a per-value size limit.
 *
 * No transport and no event loop here: rpc-server.c feeds the decoder from a
 * unix socket and sends what rpc_dispatch() returns; vsctl uses the decoder
 * and the builders on the client side.  Single-threaded, nothing is locked.
 *
 * About json_tokener (json-c 0.16), measured while writing this file:
 *   - JSON_TOKENER_STRICT alone refuses a second value after the first one
 *     ("unexpected character"); concatenated values need
 *     JSON_TOKENER_ALLOW_TRAILING_CHARS as well.
 *   - JSON_TOKENER_VALIDATE_UTF8 keeps its "continuation bytes expected"
 *     counter in a local variable of json_tokener_parse_ex(), so a multi-byte
 *     character split across two feeds is reported as invalid UTF-8; it also
 *     accepts overlong forms, surrogates and code points above U+10FFFF.
 *   - STRICT still accepts 'single-quoted' strings, NaN, Infinity and raw
 *     control characters inside strings.
 *   - A top-level number is only complete once the byte after it is seen
 *     (that byte is not consumed); "true"/"false" likewise.  After an
 *     object, array or string, whitespace that follows in the same buffer
 *     is consumed too (json_tokener_get_parse_end() counts it).
 * So the decoder runs its own lexical pre-check over every byte (strict UTF-8,
 * no control characters in strings, only JSON's bytes outside strings) and
 * leaves VALIDATE_UTF8 off. */
#include "lib/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VLOG_MODULE "rpc"
#include "lib/vlog.h"

/* ---------------------------------------------------------------------- */
/* Errors and message builders. */

size_t
rpc_utf8_trim(char *s, size_t len)
{
    size_t lead = len, cont = 0;

    /* Find the start of the last character: at most 3 continuation bytes
     * (10xxxxxx) back. */
    while (lead > 0 && cont < 3 && ((unsigned char) s[lead - 1] & 0xc0) == 0x80) {
        lead--;
        cont++;
    }
    if (lead > 0) {
        unsigned char c = s[lead - 1];
        size_t need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

        if (c >= 0xc0 && need > cont) {
            len = lead - 1;         /* Incomplete: drop the whole character. */
        }
    }
    s[len] = '\0';
    return len;
}

int
rpc_error_set(struct rpc_error *error, int code, const char *fmt, ...)
{
    va_list args;
    int n;

    error->code = code;
    va_start(args, fmt);
    n = vsnprintf(error->message, sizeof error->message, fmt, args);
    va_end(args);
    if (n >= (int) sizeof error->message) {
        /* Cut by bytes: never end inside a UTF-8 sequence. */
        rpc_utf8_trim(error->message, sizeof error->message - 1);
    }
    return code;
}

int
rpc_params_check(struct json_object *params, const char *const *allowed,
                 struct rpc_error *error)
{
    if (!params) {
        return 0;
    }
    if (!json_object_is_type(params, json_type_object)) {
        return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "params must be an object");
    }
    json_object_object_foreach(params, key, val) {
        (void) val;
        const char *const *a = allowed;
        while (*a && strcmp(key, *a)) {
            a++;
        }
        if (!*a) {
            return rpc_error_set(error, RPC_ERR_INVALID_PARAMS,
                                 "unknown parameter \"%s\"", key);
        }
    }
    return 0;
}

/* Returns the standard message for JSON-RPC error 'code'. */
static const char *
default_message(int code)
{
    switch (code) {
    case RPC_ERR_PARSE:            return "parse error";
    case RPC_ERR_INVALID_REQUEST:  return "invalid request";
    case RPC_ERR_METHOD_NOT_FOUND: return "method not found";
    case RPC_ERR_INVALID_PARAMS:   return "invalid params";
    case RPC_ERR_INTERNAL:         return "internal error";
    case RPC_ERR_NOT_FOUND:        return "not found";
    case RPC_ERR_EXISTS:           return "already exists";
    case RPC_ERR_LIMIT:            return "limit reached";
    case RPC_ERR_FAILED:           return "operation failed";
    default:                       return "error";
    }
}

struct json_object *
rpc_make_error(struct json_object *id, int code, const char *message,
               struct json_object *data)
{
    struct json_object *error = json_object_new_object();
    struct json_object *resp = json_object_new_object();

    json_object_object_add(error, "code", json_object_new_int(code));
    json_object_object_add(error, "message", json_object_new_string(
                               message && *message ? message
                                                   : default_message(code)));
    if (data) {
        json_object_object_add(error, "data", data);
    }
    json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(resp, "error", error);
    json_object_object_add(resp, "id", json_object_get(id));
    return resp;
}

/* Builds {"jsonrpc":"2.0","result":result,"id":id}, taking ownership of
 * 'result' (NULL means {}) and a new reference to 'id'. */
static struct json_object *
make_result(struct json_object *id, struct json_object *result)
{
    struct json_object *resp = json_object_new_object();

    json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(resp, "result",
                           result ? result : json_object_new_object());
    json_object_object_add(resp, "id", json_object_get(id));
    return resp;
}

struct json_object *
rpc_make_notification(const char *method, struct json_object *params)
{
    struct json_object *msg = json_object_new_object();

    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(msg, "method", json_object_new_string(method));
    if (params) {
        json_object_object_add(msg, "params", params);
    }
    return msg;
}

struct json_object *
rpc_make_request(const char *method, struct json_object *params, int id)
{
    struct json_object *msg = rpc_make_notification(method, params);

    json_object_object_add(msg, "id", json_object_new_int(id));
    return msg;
}

/* ---------------------------------------------------------------------- */
/* Dispatcher. */

struct rpc_method {
    rpc_method_fn *fn;
    void *aux;
};

struct rpc_dispatcher {
    struct lh_table *methods;   /* char *name -> struct rpc_method *. */
    size_t max_batch;           /* Most calls per batch. */
    size_t max_response;        /* Largest batch response, in bytes. */
    rpc_batch_begin_fn *batch_begin;
    rpc_batch_end_fn *batch_end;
    void *batch_aux;
};

/* lh_table entry destructor: the table owns both the key and the value. */
static void
free_method_entry(struct lh_entry *e)
{
    free(lh_entry_k(e));
    free(lh_entry_v(e));
}

struct rpc_dispatcher *
rpc_dispatcher_create(void)
{
    struct rpc_dispatcher *d = calloc(1, sizeof *d);

    if (!d) {
        return NULL;
    }
    d->methods = lh_kchar_table_new(32, free_method_entry);
    if (!d->methods) {
        free(d);
        return NULL;
    }
    d->max_batch = RPC_MAX_BATCH;
    d->max_response = RPC_MAX_RESPONSE;
    return d;
}

void
rpc_set_batch_hooks(struct rpc_dispatcher *d, rpc_batch_begin_fn *begin,
                    rpc_batch_end_fn *end, void *aux)
{
    d->batch_begin = begin;
    d->batch_end = end;
    d->batch_aux = aux;
}

void
rpc_set_limits(struct rpc_dispatcher *d, size_t max_batch,
               size_t max_response)
{
    d->max_batch = max_batch;
    d->max_response = max_response;
}

void
rpc_dispatcher_destroy(struct rpc_dispatcher *d)
{
    if (d) {
        lh_table_free(d->methods);
        free(d);
    }
}

int
rpc_register(struct rpc_dispatcher *d, const char *name, rpc_method_fn *fn,
             void *aux)
{
    struct rpc_method *m;
    char *key;

    if (lh_table_lookup_ex(d->methods, name, NULL)) {
        return -EEXIST;
    }
    m = malloc(sizeof *m);
    key = strdup(name);
    if (!m || !key) {
        free(m);
        free(key);
        return -ENOMEM;
    }
    m->fn = fn;
    m->aux = aux;
    if (lh_table_insert(d->methods, key, m)) {
        free(m);
        free(key);
        return -ENOMEM;
    }
    return 0;
}

static int
compare_names(const void *a_, const void *b_)
{
    const char *const *a = a_;
    const char *const *b = b_;

    return strcmp(*a, *b);
}

struct json_object *
rpc_list_methods(const struct rpc_dispatcher *d)
{
    int n = lh_table_length(d->methods);
    const char **names = calloc(n ? n : 1, sizeof *names);
    struct json_object *array = json_object_new_array_ext(n);
    struct lh_entry *e;
    int i = 0;

    if (!names) {
        return array;
    }
    lh_foreach(d->methods, e) {
        names[i++] = lh_entry_k(e);
    }
    qsort(names, i, sizeof *names, compare_names);
    for (int j = 0; j < i; j++) {
        json_object_array_add(array, json_object_new_string(names[j]));
    }
    free(names);
    return array;
}

static bool
valid_id(struct json_object *id)
{
    switch (json_object_get_type(id)) {
    case json_type_null:
    case json_type_int:
    case json_type_double:
    case json_type_string:
        return true;
    default:
        return false;
    }
}

/* Handles one element: a request object, a notification, or something
 * invalid.  Returns the response (new reference) or NULL for a valid
 * notification, whatever its outcome.  Sets *deferred if the call succeeded
 * with error.deferred set (see rpc_set_batch_hooks()). */
static struct json_object *
dispatch_one(struct rpc_dispatcher *d, struct json_object *req, void *conn,
             bool *deferred)
{
    struct json_object *version, *method, *params = NULL, *id = NULL;
    struct rpc_error error;
    struct json_object *result = NULL;
    const char *name;
    bool has_id;
    void *mv;
    struct rpc_method *m;
    int rc;

    *deferred = false;
    if (!json_object_is_type(req, json_type_object)) {
        return rpc_make_error(NULL, RPC_ERR_INVALID_REQUEST,
                              "request is not a JSON object", NULL);
    }

    /* A present "id" of a wrong type is reported with id null, as the
     * specification requires when the id cannot be determined. */
    has_id = json_object_object_get_ex(req, "id", &id);
    if (has_id && !valid_id(id)) {
        return rpc_make_error(NULL, RPC_ERR_INVALID_REQUEST,
                              "\"id\" must be a string, a number or null",
                              NULL);
    }

    if (!json_object_object_get_ex(req, "jsonrpc", &version)
        || !json_object_is_type(version, json_type_string)
        || strcmp(json_object_get_string(version), "2.0")) {
        return rpc_make_error(id, RPC_ERR_INVALID_REQUEST,
                              "\"jsonrpc\" must be \"2.0\"", NULL);
    }
    if (!json_object_object_get_ex(req, "method", &method)
        || !json_object_is_type(method, json_type_string)) {
        return rpc_make_error(id, RPC_ERR_INVALID_REQUEST,
                              "\"method\" must be a string", NULL);
    }
    if (json_object_object_get_ex(req, "params", &params)
        && !json_object_is_type(params, json_type_object)
        && !json_object_is_type(params, json_type_array)) {
        return rpc_make_error(id, RPC_ERR_INVALID_REQUEST,
                              "\"params\" must be an object or an array",
                              NULL);
    }

    /* From here on the request is valid: a notification gets no response,
     * even if the method is unknown or fails. */
    name = json_object_get_string(method);
    if (!lh_table_lookup_ex(d->methods, name, &mv)) {
        char msg[128];

        if (!has_id) {
            return NULL;
        }
        char shown[65];

        snprintf(shown, sizeof shown, "%s", name);
        if (strlen(name) > 64) {
            rpc_utf8_trim(shown, 64);
        }
        snprintf(msg, sizeof msg, "method \"%s\"%s not found", shown,
                 strlen(name) > 64 ? "..." : "");
        return rpc_make_error(id, RPC_ERR_METHOD_NOT_FOUND, msg, NULL);
    }
    m = mv;

    memset(&error, 0, sizeof error);
    rc = m->fn(conn, params, m->aux, &result, &error);
    *deferred = !rc && error.deferred;
    if (rc) {
        json_object_put(result);
        if (!has_id) {
            json_object_put(error.data);
            return NULL;
        }
        if (!error.code) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

            VLOG_WARN_RL(&rl, "method %s failed without an error code", name);
            error.code = RPC_ERR_INTERNAL;
        }
        return rpc_make_error(id, error.code, error.message, error.data);
    }
    json_object_put(error.data);
    if (!has_id) {
        json_object_put(result);
        return NULL;
    }
    return make_result(id, result);
}

/* Replaces the responses of 'responses' whose index is marked in
 * 'deferred' by errors carrying 'error' (the batch end hook's). */
static void
fail_deferred(struct json_object *responses, const bool *deferred,
              const struct rpc_error *error)
{
    for (size_t i = 0; i < json_object_array_length(responses); i++) {
        if (deferred[i]) {
            struct json_object *old = json_object_array_get_idx(responses, i);
            struct json_object *resp = rpc_make_error(
                json_object_object_get(old, "id"), error->code,
                error->message, json_object_get(error->data));

            json_object_array_put_idx(responses, i, resp);
        }
    }
}

struct json_object *
rpc_dispatch(struct rpc_dispatcher *d, struct json_object *msg, void *conn)
{
    struct json_object *responses;
    size_t n, size = 2, n_done = 0;
    bool deferred, *deferreds;

    if (!json_object_is_type(msg, json_type_array)) {
        return dispatch_one(d, msg, conn, &deferred);
    }

    n = json_object_array_length(msg);
    if (!n) {
        return rpc_make_error(NULL, RPC_ERR_INVALID_REQUEST, "empty batch",
                              NULL);
    }
    if (n > d->max_batch) {
        char text[128];

        snprintf(text, sizeof text, "batch of %zu calls refused: at most %zu "
                 "calls per batch (nothing was executed)", n, d->max_batch);
        return rpc_make_error(NULL, RPC_ERR_INVALID_REQUEST, text, NULL);
    }
    deferreds = calloc(n, sizeof *deferreds);
    if (!deferreds) {
        return rpc_make_error(NULL, RPC_ERR_INTERNAL, "out of memory", NULL);
    }
    responses = json_object_new_array_ext(n);
    if (d->batch_begin) {
        d->batch_begin(d->batch_aux);
    }
    while (n_done < n && size <= d->max_response) {
        struct json_object *resp;

        resp = dispatch_one(d, json_object_array_get_idx(msg, n_done++), conn,
                            &deferred);
        if (resp) {
            size_t len;

            /* What the server will send, plus a comma. */
            json_object_to_json_string_length(resp, JSON_C_TO_STRING_PLAIN
                                              | JSON_C_TO_STRING_NOSLASHESCAPE,
                                              &len);
            size += len + 1;
            deferreds[json_object_array_length(responses)] = deferred;
            json_object_array_add(responses, resp);
        }
    }
    if (d->batch_end) {
        struct rpc_error error;

        memset(&error, 0, sizeof error);
        if (d->batch_end(d->batch_aux, &error)) {
            if (!error.code) {
                error.code = RPC_ERR_INTERNAL;
            }
            fail_deferred(responses, deferreds, &error);
        }
        json_object_put(error.data);
    }
    free(deferreds);
    if (size > d->max_response) {
        char text[192];

        json_object_put(responses);
        snprintf(text, sizeof text, "the response to this batch would exceed "
                 "%zu bytes: stopped after %zu of its %zu calls (those were "
                 "executed); send fewer calls per batch", d->max_response,
                 n_done, n);
        return rpc_make_error(NULL, RPC_ERR_LIMIT, text, NULL);
    }
    if (!json_object_array_length(responses)) {
        json_object_put(responses);
        return NULL;
    }
    return responses;
}

/* ---------------------------------------------------------------------- */
/* Stream decoder. */

/* Where the lexical pre-check is in the byte stream. */
enum lex_state {
    LEX_OUT,        /* Between tokens, outside any string. */
    LEX_STRING,     /* Inside a string. */
    LEX_ESCAPE,     /* Just after a backslash inside a string. */
    LEX_FRACTION,   /* Just after a number's '.': a digit must follow. */
};

struct rpc_decoder {
    struct json_tokener *tok;
    size_t max_msg;         /* Largest accepted value, in bytes. */
    size_t cur;             /* Bytes of the current value fed to 'tok'. */
    int error;              /* 0, or the sticky negative errno. */
    char errmsg[128];       /* Why 'error' happened. */

    /* Lexical pre-check (see the top of the file). */
    enum lex_state lex;
    unsigned int utf8_need;     /* Continuation bytes still expected. */
    unsigned char utf8_lo;      /* Range allowed for the next continuation */
    unsigned char utf8_hi;      /* byte (narrower after E0, ED, F0, F4). */
    uint64_t offset;            /* Bytes checked so far, for messages. */
    unsigned char prev;         /* Previous byte outside strings. */
};

struct rpc_decoder *
rpc_decoder_create(size_t max_msg)
{
    struct rpc_decoder *dec = calloc(1, sizeof *dec);

    if (!dec) {
        return NULL;
    }
    dec->tok = json_tokener_new();
    if (!dec->tok) {
        free(dec);
        return NULL;
    }
    json_tokener_set_flags(dec->tok, JSON_TOKENER_STRICT
                                     | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    dec->max_msg = max_msg;
    return dec;
}

void
rpc_decoder_destroy(struct rpc_decoder *dec)
{
    if (dec) {
        json_tokener_free(dec->tok);
        free(dec);
    }
}

/* Poisons 'dec' with 'error' (negative errno) and a printf-style reason.
 * Returns 'error'. */
static int __attribute__((format(printf, 3, 4)))
decoder_fail(struct rpc_decoder *dec, int error, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(dec->errmsg, sizeof dec->errmsg, fmt, args);
    va_end(args);
    dec->error = error;
    return error;
}

/* Checks one UTF-8 lead byte 'c' (>= 0x80) and sets up the expected
 * continuation bytes (Unicode table 3-7: no overlong forms, no surrogates,
 * nothing above U+10FFFF).  Returns false if 'c' cannot start a character. */
static bool
utf8_start(struct rpc_decoder *dec, unsigned char c)
{
    dec->utf8_lo = 0x80;
    dec->utf8_hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        dec->utf8_need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        dec->utf8_need = 2;
        if (c == 0xe0) {
            dec->utf8_lo = 0xa0;
        } else if (c == 0xed) {
            dec->utf8_hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        dec->utf8_need = 3;
        if (c == 0xf0) {
            dec->utf8_lo = 0x90;
        } else if (c == 0xf4) {
            dec->utf8_hi = 0x8f;
        }
    } else {
        return false;
    }
    return true;
}

/* True if 'c' may appear in JSON text outside a string. */
static bool
json_byte_outside_string(unsigned char c)
{
    return c && strchr(" \t\r\n{}[],:\"-+.0123456789aeflnrstuE", c);
}

/* Runs the lexical pre-check over 'len' bytes of 'buf', continuing from the
 * state left by the previous call.  Returns how many bytes passed: 'len', or
 * the offset of the first bad byte after recording the reason in
 * dec->errmsg (the caller still parses the good bytes before failing). */
static size_t
lex_check(struct rpc_decoder *dec, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = buf[i];
        uint64_t pos = dec->offset + i;

        if (dec->utf8_need) {
            if (c < dec->utf8_lo || c > dec->utf8_hi) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "invalid UTF-8 at byte %"PRIu64, pos);
                return i;
            }
            dec->utf8_need--;
            dec->utf8_lo = 0x80;
            dec->utf8_hi = 0xbf;
            continue;
        }
        if (c >= 0x80) {
            if (!utf8_start(dec, c)) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "invalid UTF-8 at byte %"PRIu64, pos);
                return i;
            }
            if (dec->lex != LEX_STRING) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "unexpected non-ASCII character at byte %"PRIu64,
                         pos);
                return i;
            }
            continue;
        }

        switch (dec->lex) {
        case LEX_FRACTION:
            if (c < '0' || c > '9') {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "invalid number: '.' not followed by a digit at byte "
                         "%"PRIu64, pos);
                return i;
            }
            dec->lex = LEX_OUT;
            break;
        case LEX_OUT:
            /* json_tokener takes "1.", "1.e5", "-.5" and "+1", and hands
             * them back verbatim when the value is printed again: refuse
             * them here, so that every id we echo is JSON. */
            if ((c == '.' && (dec->prev < '0' || dec->prev > '9'))
                || (c == '+' && dec->prev != 'e' && dec->prev != 'E')) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "invalid number: unexpected '%c' at byte %"PRIu64, c, pos);
                return i;
            }
            if (c == '.') {
                dec->lex = LEX_FRACTION;
            }
            dec->prev = c;
            if (!json_byte_outside_string(c)) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         c >= 0x20 && c < 0x7f
                         ? "unexpected character '%c' at byte %"PRIu64
                         : "unexpected character %#x at byte %"PRIu64,
                         c, pos);
                return i;
            }
            if (c == '"') {
                dec->lex = LEX_STRING;
            }
            break;
        case LEX_STRING:
            if (c < 0x20) {
                snprintf(dec->errmsg, sizeof dec->errmsg,
                         "unescaped control character %#x in string at byte "
                         "%"PRIu64, c, pos);
                return i;
            }
            if (c == '\\') {
                dec->lex = LEX_ESCAPE;
            } else if (c == '"') {
                dec->lex = LEX_OUT;
            }
            break;
        case LEX_ESCAPE:
            /* json_tokener checks the escape itself; \uXXXX has no '"'. */
            dec->lex = LEX_STRING;
            break;
        }
    }
    return len;
}

static bool
is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
rpc_decoder_feed(struct rpc_decoder *dec, const char *buf, size_t len,
                 rpc_decoder_cb *cb, void *aux)
{
    size_t good, off = 0;

    if (dec->error) {
        return dec->error;
    }

    good = lex_check(dec, buf, len);
    dec->offset += good;

    while (off < good) {
        struct json_object *value;
        enum json_tokener_error jerr;
        size_t n, room;

        if (!dec->cur) {
            /* Between values: skip whitespace so that it counts neither
             * towards the size limit nor as a pending value. */
            while (off < good && is_json_space(buf[off])) {
                off++;
            }
            if (off == good) {
                break;
            }
        }

        /* Never give the tokener more than the rest of the allowance plus
         * one byte (the byte that ends a top-level number), so an oversized
         * value is refused as soon as it is over, not when it ends. */
        room = dec->max_msg - dec->cur;
        room = room < INT_MAX / 2 ? room + 1 : INT_MAX / 2;
        n = good - off < room ? good - off : room;

        value = json_tokener_parse_ex(dec->tok, buf + off, (int) n);
        jerr = json_tokener_get_error(dec->tok);
        if (jerr == json_tokener_success) {
            size_t used = json_tokener_get_parse_end(dec->tok);
            size_t value_len = used;

            /* The tokener also eats the whitespace after an object, an
             * array or a string; that is not part of the value. */
            while (value_len && is_json_space(buf[off + value_len - 1])) {
                value_len--;
            }
            if (dec->cur + value_len > dec->max_msg) {
                json_object_put(value);
                return decoder_fail(dec, -EMSGSIZE,
                                    "message exceeds %zu bytes",
                                    dec->max_msg);
            }
            off += used;
            dec->cur = 0;
            json_tokener_reset(dec->tok);
            if (cb) {
                cb(value, aux);
            } else {
                json_object_put(value);
            }
        } else if (jerr == json_tokener_continue) {
            off += n;
            dec->cur += n;
            if (dec->cur > dec->max_msg) {
                return decoder_fail(dec, -EMSGSIZE,
                                    "message exceeds %zu bytes",
                                    dec->max_msg);
            }
        } else {
            return decoder_fail(dec, -EINVAL, "invalid JSON: %s",
                                json_tokener_error_desc(jerr));
        }
    }

    if (good < len) {
        char reason[sizeof dec->errmsg];

        memcpy(reason, dec->errmsg, sizeof reason);
        return decoder_fail(dec, -EINVAL, "%s", reason);
    }
    return 0;
}

const char *
rpc_decoder_error(const struct rpc_decoder *dec)
{
    return dec->error ? dec->errmsg : "no error";
}

int
rpc_decoder_pending(const struct rpc_decoder *dec)
{
    return dec->cur > 0;
}
