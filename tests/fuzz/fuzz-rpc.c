/* fuzz-rpc - libFuzzer target for the JSON-RPC stream decoder and dispatcher.
 *
 * Feeds the input bytes, in chunks whose sizes come from the input itself,
 * through rpc_decoder_feed() (lib/rpc.c) exactly as lib/rpc-server.c does
 * for a connection, dispatches every decoded value with rpc_dispatch()
 * against a small model of vswitchd's methods (vswitchd/methods.c and
 * bridge.c need DPDK; this model has the same method names, parameter
 * shapes and error codes for the checks that do not touch a device), and
 * checks what comes back:
 *   - every response serialises with the server's flags and parses back;
 *   - a response is an object {"jsonrpc":"2.0", "id", and exactly one of
 *     "result"/"error"} with an integer error code and a string message,
 *     or, for a batch, a non-empty array of such objects;
 *   - the model's invariants hold after every call (every port belongs to
 *     an existing bridge, names are unique, counts are bounded).
 * Any violation abort()s, which libFuzzer reports as a crash.
 *
 * Input layout: byte 0 selects the chunk size (1..256) used to split the
 * rest of the input, so that values split at every possible place are
 * covered; a decoder error ends the "connection" as the server does.
 *
 * Build: cmake -DENABLE_FUZZ=ON -DCMAKE_C_COMPILER=clang (see
 * tests/fuzz/run.sh and Documentation/testing.md). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/rpc.h"
#include "lib/vlog.h"

#define MAX_BRIDGES 16
#define MAX_PORTS 64
#define NAME_MAX_LEN 15

#define CHECK(COND)                                                        \
    do {                                                                   \
        if (!(COND)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,         \
                    __LINE__, #COND);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

struct model_port {
    char name[NAME_MAX_LEN + 1];
    char type[24];
    int bridge;                   /* Index into model.bridges. */
    struct json_object *options;  /* Object of string values. */
};

struct model {
    char bridges[MAX_BRIDGES][NAME_MAX_LEN + 1];
    int n_bridges;
    struct model_port ports[MAX_PORTS];
    int n_ports;
    unsigned long calls;
};

static struct model model;

/* -- parameter helpers (as methods.c: params must be an object) ------------ */

static int
want_object(struct json_object *params, bool required, struct rpc_error *err)
{
    if (!params) {
        return required ? rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                                        "params must be an object") : 0;
    }
    if (!json_object_is_type(params, json_type_object)) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                             "params must be an object");
    }
    return 0;
}

/* Gets string member 'key' of 'params' into *out.  Returns 0, or an error. */
static int
get_name(struct json_object *params, const char *key, bool required,
         const char **out, struct rpc_error *err)
{
    struct json_object *v;

    *out = NULL;
    if (!params || !json_object_object_get_ex(params, key, &v)) {
        return required ? rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                                        "missing '%s'", key) : 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                             "'%s' must be a string", key);
    }
    const char *s = json_object_get_string(v);
    size_t len = strlen(s);
    if (len == 0 || len > NAME_MAX_LEN
        || len != (size_t) json_object_get_string_len(v)) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS, "bad %s '%s'", key, s);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (!(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9')
              || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            return rpc_error_set(err, RPC_ERR_INVALID_PARAMS, "bad %s '%s'", key, s);
        }
    }
    *out = s;
    return 0;
}

static int
find_bridge(const char *name)
{
    for (int i = 0; i < model.n_bridges; i++) {
        if (!strcmp(model.bridges[i], name)) {
            return i;
        }
    }
    return -1;
}

static int
find_port(const char *name)
{
    for (int i = 0; i < model.n_ports; i++) {
        if (!strcmp(model.ports[i].name, name)) {
            return i;
        }
    }
    return -1;
}

/* Checks an options object: string values only.  Returns 0 or an error. */
static int
check_options(struct json_object *opts, struct rpc_error *err)
{
    if (!json_object_is_type(opts, json_type_object)) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                             "options must be an object");
    }
    json_object_object_foreach(opts, key, val) {
        if (!json_object_is_type(val, json_type_string)) {
            return rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                                 "option '%s' must be a string", key);
        }
        if (strcmp(key, "vlan") && strcmp(key, "mtu") && strcmp(key, "queues")
            && strcmp(key, "tx-retries") && strcmp(key, "path")
            && strcmp(key, "devargs") && strcmp(key, "trunks")) {
            return rpc_error_set(err, RPC_ERR_INVALID_PARAMS,
                                 "unknown option '%s'", key);
        }
    }
    return 0;
}

static struct json_object *
port_json(const struct model_port *p)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "bridge",
                           json_object_new_string(model.bridges[p->bridge]));
    json_object_object_add(o, "type", json_object_new_string(p->type));
    json_object_object_add(o, "state", json_object_new_string("down"));
    json_object_object_add(o, "options", json_object_get(p->options));
    return o;
}

/* -- methods ----------------------------------------------------------------- */

static int
m_version(void *conn, struct json_object *params, void *aux,
          struct json_object **result, struct rpc_error *err)
{
    (void) conn; (void) aux;
    if (want_object(params, false, err)) {
        return err->code;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "version", json_object_new_string("fuzz"));
    return 0;
}

static int
m_list_methods(void *conn, struct json_object *params, void *aux,
               struct json_object **result, struct rpc_error *err)
{
    (void) conn;
    if (want_object(params, false, err)) {
        return err->code;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "methods", rpc_list_methods(aux));
    return 0;
}

static int
m_bridge_add(void *conn, struct json_object *params, void *aux,
             struct json_object **result, struct rpc_error *err)
{
    const char *name;
    (void) conn; (void) aux; (void) result;
    if (want_object(params, true, err) || get_name(params, "name", true, &name, err)) {
        return err->code;
    }
    if (find_bridge(name) >= 0) {
        return rpc_error_set(err, RPC_ERR_EXISTS, "bridge %s exists", name);
    }
    if (model.n_bridges >= MAX_BRIDGES) {
        return rpc_error_set(err, RPC_ERR_LIMIT, "too many bridges");
    }
    snprintf(model.bridges[model.n_bridges++], NAME_MAX_LEN + 1, "%s", name);
    return 0;
}

static void
port_remove(int i)
{
    json_object_put(model.ports[i].options);
    model.ports[i] = model.ports[--model.n_ports];
}

static int
m_bridge_del(void *conn, struct json_object *params, void *aux,
             struct json_object **result, struct rpc_error *err)
{
    const char *name;
    (void) conn; (void) aux; (void) result;
    if (want_object(params, true, err) || get_name(params, "name", true, &name, err)) {
        return err->code;
    }
    int b = find_bridge(name);
    if (b < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no bridge %s", name);
    }
    for (int i = model.n_ports - 1; i >= 0; i--) {
        if (model.ports[i].bridge == b) {
            port_remove(i);
        }
    }
    int last = model.n_bridges - 1;
    if (b != last) {
        memcpy(model.bridges[b], model.bridges[last], sizeof model.bridges[b]);
        for (int i = 0; i < model.n_ports; i++) {
            if (model.ports[i].bridge == last) {
                model.ports[i].bridge = b;
            }
        }
    }
    model.n_bridges--;
    return 0;
}

static int
m_bridge_list(void *conn, struct json_object *params, void *aux,
              struct json_object **result, struct rpc_error *err)
{
    (void) conn; (void) aux;
    if (want_object(params, false, err)) {
        return err->code;
    }
    struct json_object *a = json_object_new_array();
    for (int b = 0; b < model.n_bridges; b++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(model.bridges[b]));
        json_object_array_add(a, o);
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "bridges", a);
    return 0;
}

static int
m_port_add(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *err)
{
    const char *br, *name, *type;
    struct json_object *opts = NULL;
    (void) conn; (void) aux;
    if (want_object(params, true, err)
        || get_name(params, "bridge", true, &br, err)
        || get_name(params, "name", true, &name, err)
        || get_name(params, "type", true, &type, err)) {
        return err->code;
    }
    if (strcmp(type, "vhost-user") && strcmp(type, "vhost-user-client")
        && strcmp(type, "dpdk") && strcmp(type, "internal")) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS, "unknown type %s", type);
    }
    if (json_object_object_get_ex(params, "options", &opts)
        && check_options(opts, err)) {
        return err->code;
    }
    int b = find_bridge(br);
    if (b < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no bridge %s", br);
    }
    if (find_port(name) >= 0) {
        return rpc_error_set(err, RPC_ERR_EXISTS, "port %s exists", name);
    }
    if (model.n_ports >= MAX_PORTS) {
        return rpc_error_set(err, RPC_ERR_LIMIT, "too many ports");
    }
    struct model_port *p = &model.ports[model.n_ports++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->type, sizeof p->type, "%s", type);
    p->bridge = b;
    p->options = opts ? json_object_get(opts) : json_object_new_object();
    *result = port_json(p);
    return 0;
}

static int
m_port_del(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *err)
{
    const char *name;
    (void) conn; (void) aux; (void) result;
    if (want_object(params, true, err) || get_name(params, "name", true, &name, err)) {
        return err->code;
    }
    int i = find_port(name);
    if (i < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no port %s", name);
    }
    port_remove(i);
    return 0;
}

static int
m_port_set(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *err)
{
    const char *name;
    struct json_object *opts;
    (void) conn; (void) aux;
    if (want_object(params, true, err) || get_name(params, "name", true, &name, err)) {
        return err->code;
    }
    if (!json_object_object_get_ex(params, "options", &opts)) {
        return rpc_error_set(err, RPC_ERR_INVALID_PARAMS, "missing 'options'");
    }
    if (check_options(opts, err)) {
        return err->code;
    }
    int i = find_port(name);
    if (i < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no port %s", name);
    }
    /* A copy: the request is freed after the call. */
    struct json_object *copy = NULL;
    CHECK(json_object_deep_copy(opts, &copy, NULL) == 0);
    json_object_put(model.ports[i].options);
    model.ports[i].options = copy;
    *result = port_json(&model.ports[i]);
    return 0;
}

static int
m_port_list(void *conn, struct json_object *params, void *aux,
            struct json_object **result, struct rpc_error *err)
{
    const char *br;
    (void) conn; (void) aux;
    if (want_object(params, false, err) || get_name(params, "bridge", false, &br, err)) {
        return err->code;
    }
    int b = br ? find_bridge(br) : -1;
    if (br && b < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no bridge %s", br);
    }
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < model.n_ports; i++) {
        if (!br || model.ports[i].bridge == b) {
            json_object_array_add(a, port_json(&model.ports[i]));
        }
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "ports", a);
    return 0;
}

static int
m_port_show(void *conn, struct json_object *params, void *aux,
            struct json_object **result, struct rpc_error *err)
{
    const char *name;
    (void) conn; (void) aux;
    if (want_object(params, true, err) || get_name(params, "name", true, &name, err)) {
        return err->code;
    }
    int i = find_port(name);
    if (i < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no port %s", name);
    }
    *result = port_json(&model.ports[i]);
    return 0;
}

static int
m_fdb_show(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *err)
{
    const char *br;
    (void) conn; (void) aux;
    if (want_object(params, true, err) || get_name(params, "bridge", true, &br, err)) {
        return err->code;
    }
    if (find_bridge(br) < 0) {
        return rpc_error_set(err, RPC_ERR_NOT_FOUND, "no bridge %s", br);
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "entries", json_object_new_array());
    return 0;
}

static int
m_failing(void *conn, struct json_object *params, void *aux,
          struct json_object **result, struct rpc_error *err)
{
    /* A method that fails with 'data' (as port.add does with a provider's
     * message), and one that returns an error code without a message. */
    (void) conn; (void) aux; (void) result;
    if (params && json_object_is_type(params, json_type_array)) {
        return RPC_ERR_FAILED;
    }
    rpc_error_set(err, RPC_ERR_FAILED, "failed: %s",
                  params ? json_object_to_json_string(params) : "(none)");
    err->data = json_object_new_string("data");
    return err->code;
}

static int
m_events_subscribe(void *conn, struct json_object *params, void *aux,
                   struct json_object **result, struct rpc_error *err)
{
    (void) conn; (void) aux; (void) result;
    if (want_object(params, false, err)) {
        return err->code;
    }
    return 0;
}

/* -- checks ------------------------------------------------------------------ */

static void
check_model(void)
{
    CHECK(model.n_bridges >= 0 && model.n_bridges <= MAX_BRIDGES);
    CHECK(model.n_ports >= 0 && model.n_ports <= MAX_PORTS);
    for (int b = 0; b < model.n_bridges; b++) {
        CHECK(find_bridge(model.bridges[b]) == b);
    }
    for (int i = 0; i < model.n_ports; i++) {
        CHECK(model.ports[i].bridge >= 0 && model.ports[i].bridge < model.n_bridges);
        CHECK(find_port(model.ports[i].name) == i);
        CHECK(json_object_is_type(model.ports[i].options, json_type_object));
    }
}

static void
check_single(struct json_object *r)
{
    struct json_object *v, *id, *res, *e;

    CHECK(json_object_is_type(r, json_type_object));
    CHECK(json_object_object_get_ex(r, "jsonrpc", &v));
    CHECK(json_object_is_type(v, json_type_string));
    CHECK(!strcmp(json_object_get_string(v), "2.0"));
    CHECK(json_object_object_get_ex(r, "id", &id));
    CHECK(!id || json_object_is_type(id, json_type_string)
          || json_object_is_type(id, json_type_int)
          || json_object_is_type(id, json_type_double));
    bool has_res = json_object_object_get_ex(r, "result", &res);
    bool has_err = json_object_object_get_ex(r, "error", &e);
    CHECK(has_res != has_err);
    if (has_err) {
        struct json_object *code, *msg;
        CHECK(json_object_is_type(e, json_type_object));
        CHECK(json_object_object_get_ex(e, "code", &code));
        CHECK(json_object_is_type(code, json_type_int));
        CHECK(json_object_get_int(code) != 0);
        CHECK(json_object_object_get_ex(e, "message", &msg));
        CHECK(json_object_is_type(msg, json_type_string));
    }
}

static void
check_response(struct json_object *msg, struct json_object *resp)
{
    size_t len;
    const char *text = json_object_to_json_string_length(
        resp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    CHECK(text && len == strlen(text));
    struct json_object *back = json_tokener_parse(text);
    CHECK(back);
    json_object_put(back);

    if (json_object_is_type(resp, json_type_array)) {
        size_t n = json_object_array_length(resp);
        CHECK(n > 0);
        /* A batch answer: at most one response per element of a batch. */
        CHECK(!json_object_is_type(msg, json_type_array)
              || n <= json_object_array_length(msg));
        for (size_t i = 0; i < n; i++) {
            check_single(json_object_array_get_idx(resp, i));
        }
    } else {
        check_single(resp);
    }
}

/* -- the target -------------------------------------------------------------- */

static struct rpc_dispatcher *dispatcher;

static void
on_value(struct json_object *value, void *aux)
{
    (void) aux;
    struct json_object *resp = rpc_dispatch(dispatcher, value, NULL);
    if (resp) {
        check_response(value, resp);
        json_object_put(resp);
    }
    json_object_put(value);
    model.calls++;
    check_model();
}

static void
reset_model(void)
{
    while (model.n_ports > 0) {
        port_remove(model.n_ports - 1);
    }
    model.n_bridges = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const struct {
        const char *name;
        rpc_method_fn *fn;
    } methods[] = {
        { "system.version", m_version },
        { "system.list_methods", m_list_methods },
        { "bridge.add", m_bridge_add },
        { "bridge.del", m_bridge_del },
        { "bridge.list", m_bridge_list },
        { "port.add", m_port_add },
        { "port.del", m_port_del },
        { "port.set", m_port_set },
        { "port.list", m_port_list },
        { "port.show", m_port_show },
        { "fdb.show", m_fdb_show },
        { "events.subscribe", m_events_subscribe },
        { "test.fail", m_failing },
    };

    (void) argc; (void) argv;
    vlog_set_level(VLL_ERR);
    dispatcher = rpc_dispatcher_create();
    CHECK(dispatcher);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        CHECK(rpc_register(dispatcher, methods[i].name, methods[i].fn,
                           dispatcher) == 0);
    }
    CHECK(rpc_register(dispatcher, "bridge.add", m_bridge_add, NULL) != 0);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t chunk = (size_t) data[0] + 1;
    /* Small messages keep the size limit within reach of the fuzzer. */
    size_t max_msg = (data[0] & 1) ? 4096 : RPC_MAX_MSG;
    struct rpc_decoder *dec = rpc_decoder_create(max_msg);
    CHECK(dec);

    data++;
    size--;
    int error = 0;
    for (size_t off = 0; off < size && !error; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        error = rpc_decoder_feed(dec, (const char *) data + off, n, on_value, NULL);
        CHECK(error == 0 || error < 0);
        if (error) {
            CHECK(rpc_decoder_error(dec) && *rpc_decoder_error(dec));
            /* Poisoned: every later call fails the same way. */
            CHECK(rpc_decoder_feed(dec, "{}", 2, on_value, NULL) == error);
        }
    }
    if (!error) {
        /* A trailing top-level number completes with the next byte. */
        error = rpc_decoder_feed(dec, "\n", 1, on_value, NULL);
        CHECK(error <= 0);
    }
    rpc_decoder_destroy(dec);
    reset_model();
    return 0;
}
