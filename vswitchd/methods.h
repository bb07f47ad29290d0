/* methods - the JSON-RPC methods of vswitchd (Documentation/jsonrpc.md).
 *
 * Validates params, calls the bridge model or the datapath, and turns their
 * negative errnos into JSON-RPC errors.  Main thread only. */
#ifndef VSWITCH_METHODS_H
#define VSWITCH_METHODS_H 1

struct bridge_set;
struct datapath;
struct rpc_dispatcher;
struct rpc_server;

struct methods_ctx {
    struct bridge_set *bs;
    struct datapath *dp;
    struct rpc_dispatcher *dispatcher;
    struct rpc_server *server;      /* For events; may be NULL until set. */
    /* Called by system.shutdown after the response is queued. */
    void (*shutdown)(void *aux);
    void *shutdown_aux;
};

/* Registers every method with 'ctx' as their aux.  'ctx' must outlive the
 * dispatcher.  Returns 0 or a negative errno. */
int methods_register(struct rpc_dispatcher *, struct methods_ctx *ctx);

/* Sends an "event" notification to every events.subscribe'd client:
 * params {"type": type, "port": port, "bridge": bridge, "time": ISO-8601}
 * ('port'/'bridge' omitted when NULL). */
void methods_notify(struct methods_ctx *, const char *type, const char *port,
                    const char *bridge);

#endif
