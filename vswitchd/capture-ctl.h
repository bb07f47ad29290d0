/* capture-ctl - packet capture, the control side: the JSON-RPC methods
 * port.capture, port.capture_stop and port.capture_list, and the streaming
 * of each capture's pcapng bytes to the client that started it
 * (Documentation/jsonrpc.md, Documentation/howto-capture.md).
 *
 * A capture belongs to the connection that started it: its bytes go there
 * as "capture.data" notifications and it ends with one "capture.end"
 * notification (count reached, port.capture_stop, port deleted, daemon
 * shutting down); if that connection goes away first, the capture stops
 * silently.  The PMD side is datapath/capture.c.  Also calls
 * rte_pdump_init(), so that dpdk-dumpcap can capture on dpdk ports.
 * Main thread only. */
#ifndef VSWITCH_CAPTURE_CTL_H
#define VSWITCH_CAPTURE_CTL_H 1

struct capture_ctl;
struct datapath;
struct event_base;
struct rpc_dispatcher;
struct rpc_server;

/* Creates the capture service for 'dp', sending on 'server' from 'base''s
 * loop, and registers its methods on 'd'.  Returns 0 and *ctl, or a
 * negative errno. */
int capture_ctl_create(struct datapath *dp, struct event_base *base,
                       struct rpc_server *server, struct rpc_dispatcher *d,
                       struct capture_ctl **ctl);

/* Ends every capture (each client gets what was captured and a
 * "capture.end" with reason "shutdown") and frees everything.  Must be
 * called before the server is destroyed, while the PMDs still run or after
 * they stopped. */
void capture_ctl_destroy(struct capture_ctl *);

#endif
