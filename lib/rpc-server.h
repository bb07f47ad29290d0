/* rpc-server - the JSON-RPC control socket: a unix stream socket served by
 * the main thread's libevent loop, dispatching through rpc.h.
 *
 * Main thread only. */
#ifndef VSWITCH_RPC_SERVER_H
#define VSWITCH_RPC_SERVER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct event_base;
struct rpc_dispatcher;
struct rpc_server;

/* Listens on the unix socket 'path' (a stale socket file is removed first;
 * the new one is created with mode 0660 and, if 'gid' >= 0, then given group
 * 'gid' through a descriptor, never by a path someone could swap) and
 * serves every connection with 'd'.  Each
 * connection has its own rpc_decoder with a RPC_MAX_MSG limit; a parse error
 * or oversized message gets an error response (id null) and the connection is
 * closed after it is sent.  A client that does not read its responses is
 * disconnected once more than 16 MiB of output is queued for it; a single
 * response over 16 MiB is replaced by a -32003 error.  A
 * connection that sends nothing for 60 s (RPC_SERVER_IDLE_TIMEOUT in
 * rpc-server.c; $VSWITCH_RPC_IDLE_TIMEOUT overrides it, 0 = never) and is
 * not subscribed to events is closed.  At most 256 connections: a new one
 * then makes room by closing the longest-idle connection that is not
 * subscribed; if every connection is subscribed, it is closed at once.
 * Returns 0 and *server, or a negative errno. */
int rpc_server_create(struct event_base *, const char *path, int gid,
                      struct rpc_dispatcher *d, struct rpc_server **server);

/* Writes what can be written of pending responses without blocking, closes
 * every connection and the listening socket, removes the socket file.  Must
 * not be called from inside a method (stop the loop first). */
void rpc_server_destroy(struct rpc_server *);

/* Marks connection 'conn' (the opaque pointer a method receives) as
 * subscribed to notifications. */
void rpc_server_subscribe(struct rpc_server *, void *conn);

/* Sends notification 'method' with 'params' (ownership taken) to every
 * subscribed connection. */
void rpc_server_notify(struct rpc_server *, const char *method,
                       struct json_object *params);

/* Per-connection streams (packet capture): a method that starts sending
 * notifications to its caller's connection 'conn' for a long time.
 *
 * rpc_server_send() queues notification 'method' with 'params' (ownership
 * taken) on 'conn' only.  Returns 0, or -ENOTCONN if the connection is
 * closing (nothing queued).  The connection may be dropped by this call if
 * its output passes the server's limit (the close callback then runs).
 *
 * rpc_server_output_pending() is the number of bytes queued on 'conn' and
 * not yet taken by the client: a streaming producer stops producing while
 * it is large, rather than growing it to the limit.
 *
 * rpc_server_keep_open() exempts 'conn' from the idle timeout and from
 * eviction (as events.subscribe does), for a client that only listens, or
 * with 'keep' false ends that exemption (unless it is subscribed).
 *
 * rpc_server_set_close_cb() registers 'cb', called with the connection and
 * 'aux' each time a connection is about to be freed (client gone, error,
 * limit, server destroyed).  'cb' must not call back into the server for
 * that connection; it may run from inside rpc_server_send(). */
int rpc_server_send(struct rpc_server *, void *conn, const char *method,
                    struct json_object *params);
size_t rpc_server_output_pending(const struct rpc_server *, void *conn);
void rpc_server_keep_open(struct rpc_server *, void *conn, bool keep);
void rpc_server_set_close_cb(struct rpc_server *,
                             void (*cb)(void *conn, void *aux), void *aux);

/* Number of open connections. */
int rpc_server_n_conns(const struct rpc_server *);

#endif
