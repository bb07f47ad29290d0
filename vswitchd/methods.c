/* methods - JSON-RPC methods.  See methods.h. */
#include "vswitchd/methods.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_version.h>

#include "vswitchd/bridge.h"
#include "vswitchd/stats.h"
#include "lib/rpc.h"
#include "lib/rpc-server.h"
#include "datapath/datapath.h"

/* Maps a bridge/datapath errno to a JSON-RPC error. */
static int
errno_error(struct rpc_error *error, int err, const char *msg)
{
    int code;
    switch (err) {
    case -EINVAL: code = RPC_ERR_INVALID_PARAMS; break;
    case -ENOENT: code = RPC_ERR_NOT_FOUND; break;
    case -EEXIST: code = RPC_ERR_EXISTS; break;
    case BRIDGE_ELIMIT: code = RPC_ERR_LIMIT; break;
    /* -ENOSPC, -EROFS, -EDQUOT, -EIO (the configuration could not be
     * saved) are failures like any other, named in data.errno. */
    default: code = RPC_ERR_FAILED; break;
    }
    rpc_error_set(error, code, "%s", msg);
    if (code == RPC_ERR_FAILED) {
        error->data = json_object_new_object();
        json_object_object_add(error->data, "errno", json_object_new_string(
                                   strerrorname_np(-err) ? strerrorname_np(-err) : "?"));
    }
    return code;
}

/* Gets string member 'key' of 'params' into *out.  Missing: error if
 * 'required', else *out = NULL.  Returns 0 or fills 'error'. */
static int
get_string(struct json_object *params, const char *key, bool required,
           const char **out, struct rpc_error *error)
{
    struct json_object *v = params ? json_object_object_get(params, key) : NULL;

    *out = NULL;
    if (!v) {
        return required ? rpc_error_set(error, RPC_ERR_INVALID_PARAMS,
                                        "missing parameter \"%s\"", key) : 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return rpc_error_set(error, RPC_ERR_INVALID_PARAMS,
                             "parameter \"%s\" must be a string", key);
    }
    *out = json_object_get_string(v);
    return 0;
}

void
methods_notify(struct methods_ctx *ctx, const char *type, const char *port,
               const char *bridge)
{
    char when[64];
    struct timespec ts;
    struct tm tm;

    if (!ctx->server) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, ts.tv_nsec / 1000000);
    struct json_object *params = json_object_new_object();
    json_object_object_add(params, "type", json_object_new_string(type));
    if (port) {
        json_object_object_add(params, "port", json_object_new_string(port));
    }
    if (bridge) {
        json_object_object_add(params, "bridge", json_object_new_string(bridge));
    }
    json_object_object_add(params, "time", json_object_new_string(when));
    rpc_server_notify(ctx->server, "event", params);
}

#define PARAMS(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NO_PARAMS ((const char *const[]) { NULL })

static int
m_version(void *conn, struct json_object *params, void *aux,
          struct json_object **result, struct rpc_error *error)
{
    (void) conn; (void) aux;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "version", json_object_new_string(VSWITCH_VERSION));
    json_object_object_add(*result, "dpdk", json_object_new_string(rte_version()));
    return 0;
}

static int
m_list_methods(void *conn, struct json_object *params, void *aux,
               struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    *result = rpc_list_methods(ctx->dispatcher);
    return 0;
}

static int
m_shutdown(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn; (void) result;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    ctx->shutdown(ctx->shutdown_aux);
    return 0;
}

/* Methods whose params are one string member 'key'. */
static int
one_string(struct json_object *params, const char *key, bool required,
           const char **value, struct rpc_error *error)
{
    const char *const allowed[] = { key, NULL };
    if (rpc_params_check(params, allowed, error)
        || get_string(params, key, required, value, error)) {
        return error->code;
    }
    return 0;
}

/* Batch hooks (rpc_set_batch_hooks()): the configuration is saved once per
 * batch, not once per change. */
static void
batch_begin(void *ctx_)
{
    struct methods_ctx *ctx = ctx_;

    bridge_set_batch_begin(ctx->bs);
}

static int
batch_end(void *ctx_, struct rpc_error *error)
{
    struct methods_ctx *ctx = ctx_;
    char err[BRIDGE_ERRLEN];
    int rc = bridge_set_batch_end(ctx->bs, err);

    return rc ? errno_error(error, rc, err) : 0;
}

/* A change succeeded: inside a batch, its saving is left to batch_end(). */
static int
changed(struct methods_ctx *ctx, struct rpc_error *error)
{
    error->deferred = bridge_set_in_batch(ctx->bs);
    return 0;
}

typedef int name_op_fn(struct bridge_set *, const char *, char *err);
typedef int name_query_fn(const struct bridge_set *, const char *,
                          struct json_object **, char *err);

/* Runs 'op' (a change with an empty result) or 'query' (a lookup with a
 * result) on the value of the string param 'key'. */
static int
name_method(struct json_object *params, struct methods_ctx *ctx, const char *key,
            bool required, name_op_fn *op, name_query_fn *query,
            struct json_object **result, struct rpc_error *error)
{
    char err[BRIDGE_ERRLEN];
    const char *value;

    if (one_string(params, key, required, &value, error)) {
        return error->code;
    }
    int rc = op ? op(ctx->bs, value, err) : query(ctx->bs, value, result, err);
    if (rc) {
        return errno_error(error, rc, err);
    }
    /* port.stats_clear changes no configuration. */
    return op == bridge_del || op == bridge_port_del ? changed(ctx, error) : 0;
}

#define NAME_METHOD(FUNC, KEY, REQUIRED, OP, QUERY)                          \
    static int                                                               \
    FUNC(void *conn, struct json_object *params, void *aux,                  \
         struct json_object **result, struct rpc_error *error)               \
    {                                                                        \
        (void) conn;                                                         \
        return name_method(params, aux, KEY, REQUIRED, OP, QUERY, result,    \
                           error);                                           \
    }

NAME_METHOD(m_bridge_del, "name", true, bridge_del, NULL)
NAME_METHOD(m_port_del, "name", true, bridge_port_del, NULL)
NAME_METHOD(m_port_list, "bridge", false, NULL, bridge_port_list_json)
NAME_METHOD(m_port_show, "name", true, NULL, bridge_port_show_json)
NAME_METHOD(m_port_stats, "name", false, NULL, stats_ports_json)
NAME_METHOD(m_port_stats_clear, "name", false, bridge_port_stats_clear, NULL)
NAME_METHOD(m_fdb_show, "bridge", true, NULL, bridge_fdb_show_json)

/* Gets params member "options" (an object whose values are strings,
 * integers or booleans) into *options as a new object of strings; absent:
 * an error if 'required', else *options = NULL.  Returns 0 or fills
 * 'error'. */
static int
get_options(struct json_object *params, bool required, struct json_object **options,
            struct rpc_error *error)
{
    struct json_object *in = params ? json_object_object_get(params, "options") : NULL;

    *options = NULL;
    if (!in) {
        return required ? rpc_error_set(error, RPC_ERR_INVALID_PARAMS,
                                        "missing parameter \"options\"") : 0;
    }
    if (!json_object_is_type(in, json_type_object)) {
        return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "parameter \"options\" "
                             "must be an object");
    }
    struct json_object *out = json_object_new_object();
    json_object_object_foreach(in, key, val) {
        switch (json_object_get_type(val)) {
        case json_type_string:
        case json_type_int:
        case json_type_boolean:
            json_object_object_add(out, key,
                                   json_object_new_string(json_object_get_string(val)));
            break;
        default:
            json_object_put(out);
            return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "option \"%s\" must "
                                 "be a string, integer or boolean", key);
        }
    }
    *options = out;
    return 0;
}

static int
m_bridge_add(void *conn, struct json_object *params, void *aux,
             struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    char err[BRIDGE_ERRLEN];
    const char *name;
    struct json_object *options;
    (void) conn; (void) result;

    if (rpc_params_check(params, PARAMS("name", "options"), error)
        || get_string(params, "name", true, &name, error)
        || get_options(params, false, &options, error)) {
        return error->code;
    }
    int rc = bridge_add(ctx->bs, name, options, err);
    json_object_put(options);
    return rc ? errno_error(error, rc, err) : changed(ctx, error);
}

static int
m_bridge_list(void *conn, struct json_object *params, void *aux,
              struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    *result = bridge_list_json(ctx->bs);
    return 0;
}

static int
m_port_add(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    char err[BRIDGE_ERRLEN];
    const char *bridge, *name, *type;
    struct json_object *options = NULL;
    (void) conn;

    if (rpc_params_check(params, PARAMS("bridge", "name", "type", "options"), error)
        || get_string(params, "bridge", true, &bridge, error)
        || get_string(params, "name", true, &name, error)
        || get_string(params, "type", true, &type, error)
        || get_options(params, false, &options, error)) {
        return error->code;
    }
    int rc = bridge_port_add(ctx->bs, bridge, name, type, options, err);
    json_object_put(options);
    if (rc) {
        /* Includes "added but the configuration could not be saved". */
        return errno_error(error, rc, err);
    }
    changed(ctx, error);
    rc = bridge_port_show_json(ctx->bs, name, result, err);
    return rc ? errno_error(error, rc, err) : 0;
}

static int
m_fdb_flush(void *conn, struct json_object *params, void *aux,
            struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    char err[BRIDGE_ERRLEN];
    const char *bridge;
    int n;
    (void) conn;

    if (one_string(params, "bridge", true, &bridge, error)) {
        return error->code;
    }
    int rc = bridge_fdb_flush(ctx->bs, bridge, &n, err);
    if (rc) {
        return errno_error(error, rc, err);
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "flushed", json_object_new_int(n));
    return 0;
}

static int
m_port_set(void *conn, struct json_object *params, void *aux,
           struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    char err[BRIDGE_ERRLEN];
    const char *name;
    struct json_object *options;
    (void) conn;

    if (rpc_params_check(params, PARAMS("name", "options"), error)
        || get_string(params, "name", true, &name, error)
        || get_options(params, true, &options, error)) {
        return error->code;
    }
    int rc = bridge_port_set(ctx->bs, name, options, err);
    json_object_put(options);
    if (rc) {
        return errno_error(error, rc, err);
    }
    changed(ctx, error);
    rc = bridge_port_show_json(ctx->bs, name, result, err);
    return rc ? errno_error(error, rc, err) : 0;
}

static int
m_pmd_stats(void *conn, struct json_object *params, void *aux,
            struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    struct stats_pmds sp;
    stats_pmds_read(ctx->dp, &sp);
    *result = stats_pmds_json(&sp);
    return 0;
}

static int
m_pmd_stats_clear(void *conn, struct json_object *params, void *aux,
                  struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn; (void) result;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    datapath_clear_pmd_stats(ctx->dp);
    return 0;
}

static int
m_events_subscribe(void *conn, struct json_object *params, void *aux,
                   struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) result;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    if (!conn || !ctx->server) {
        return rpc_error_set(error, RPC_ERR_INVALID_REQUEST,
                             "events.subscribe needs a connection");
    }
    rpc_server_subscribe(ctx->server, conn);
    return 0;
}

/* Percent 'part' is of 'whole', to 0.01. */
static double
percent(uint64_t part, uint64_t whole)
{
    return (double) (uint64_t) (10000.0 * part / whole + 0.5) / 100.0;
}

struct rxq_show_ctx {
    struct json_object *rxqs;
    uint64_t pmd_cycles;        /* The PMD's cycles over the window. */
    uint64_t rxq_cycles;        /* Sum over its queues. */
};

static void
rxq_show_one(const struct dp_rxq_info *rxq, void *ctx_)
{
    struct rxq_show_ctx *ctx = ctx_;
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "port", json_object_new_string(rxq->port));
    json_object_object_add(o, "queue", json_object_new_int(rxq->qid));
    json_object_object_add(o, "enabled", json_object_new_boolean(rxq->enabled));
    json_object_object_add(o, "cycles", json_object_new_uint64(rxq->cycles));
    json_object_object_add(o, "pmd_usage", ctx->pmd_cycles
                           ? json_object_new_double(percent(rxq->cycles, ctx->pmd_cycles))
                           : NULL);
    json_object_array_add(ctx->rxqs, o);
    ctx->rxq_cycles += rxq->cycles;
}

static int
m_pmd_rxq_show(void *conn, struct json_object *params, void *aux,
               struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    struct json_object *pmds = json_object_new_array();
    for (unsigned i = 0; i < datapath_n_pmds(ctx->dp); i++) {
        struct dp_pmd_stats st;
        struct dp_pmd_load load;
        datapath_get_pmd_stats(ctx->dp, i, &st);
        datapath_get_pmd_load(ctx->dp, i, &load);

        struct rxq_show_ctx rc = {
            .rxqs = json_object_new_array(),
            .pmd_cycles = load.cycles,
        };
        datapath_foreach_rxq_info(ctx->dp, i, rxq_show_one, &rc);
        uint64_t overhead = load.busy_cycles > rc.rxq_cycles
                            ? load.busy_cycles - rc.rxq_cycles : 0;

        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "pmd", json_object_new_int((int) i));
        json_object_object_add(o, "core", json_object_new_int((int) st.core));
        json_object_object_add(o, "cycles", json_object_new_uint64(load.cycles));
        json_object_object_add(o, "busy_cycles", json_object_new_uint64(load.busy_cycles));
        json_object_object_add(o, "overhead", load.cycles
                               ? json_object_new_double(percent(overhead, load.cycles))
                               : NULL);
        json_object_object_add(o, "rxqs", rc.rxqs);
        json_object_array_add(pmds, o);
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "interval_s",
                           json_object_new_int(DP_LOAD_INTERVAL_MS / 1000));
    json_object_object_add(*result, "intervals", json_object_new_int(DP_LOAD_INTERVALS));
    json_object_object_add(*result, "pmds", pmds);
    return 0;
}

static int
m_pmd_rxq_rebalance(void *conn, struct json_object *params, void *aux,
                    struct json_object **result, struct rpc_error *error)
{
    struct methods_ctx *ctx = aux;
    (void) conn;
    if (rpc_params_check(params, NO_PARAMS, error)) {
        return error->code;
    }
    unsigned n_rxqs;
    unsigned moved = datapath_rxq_rebalance(ctx->dp, &n_rxqs);
    *result = json_object_new_object();
    json_object_object_add(*result, "moved", json_object_new_int((int) moved));
    json_object_object_add(*result, "rxqs", json_object_new_int((int) n_rxqs));
    return 0;
}

int
methods_register(struct rpc_dispatcher *d, struct methods_ctx *ctx)
{
    static const struct {
        const char *name;
        rpc_method_fn *fn;
    } methods[] = {
        { "system.version", m_version },
        { "system.list_methods", m_list_methods },
        { "system.shutdown", m_shutdown },
        { "bridge.add", m_bridge_add },
        { "bridge.del", m_bridge_del },
        { "bridge.list", m_bridge_list },
        { "port.add", m_port_add },
        { "port.del", m_port_del },
        { "port.set", m_port_set },
        { "port.list", m_port_list },
        { "port.show", m_port_show },
        { "port.stats", m_port_stats },
        { "port.stats_clear", m_port_stats_clear },
        { "fdb.show", m_fdb_show },
        { "fdb.flush", m_fdb_flush },
        { "pmd.stats", m_pmd_stats },
        { "pmd.stats_clear", m_pmd_stats_clear },
        { "pmd.rxq_show", m_pmd_rxq_show },
        { "pmd.rxq_rebalance", m_pmd_rxq_rebalance },
        { "events.subscribe", m_events_subscribe },
    };

    ctx->dispatcher = d;
    rpc_set_batch_hooks(d, batch_begin, batch_end, ctx);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int err = rpc_register(d, methods[i].name, methods[i].fn, ctx);
        if (err) {
            return err;
        }
    }
    return 0;
}
