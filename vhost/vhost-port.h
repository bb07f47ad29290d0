/* vhost-port - vhost-user ports: vswitchd as the vhost-user backend of QEMU
 * guests (virtio-net-pci) and DPDK containers (virtio-user).
 *
 * Control side: rte_vhost_driver_register/start/unregister, the device
 * callbacks (run by DPDK's vhost event thread), the socket-path -> port map.
 * Hot side: vhost_port_ops (rx = rte_vhost_dequeue_burst, tx =
 * rte_vhost_enqueue_burst with bounded retries), called by PMDs through the
 * dp_port abstraction.
 *
 * Lifetime of a port, all on the main thread:
 *   vhost_port_create()   registers the socket (not yet listening)
 *   dp_port_create/attach  (datapath) with priv = the vhost_port
 *   vhost_port_start()    starts listening (server) or connecting (client)
 *   ...
 *   dp_port_detach()      PMDs stop touching it
 *   vhost_port_destroy()  unregisters (socket file removed), frees
 * The device callbacks publish the device id and queue states with atomics;
 * destroy_device waits for an RCU grace period so no PMD is still inside a
 * vhost burst for that device when DPDK tears it down. */
#ifndef VSWITCH_VHOST_PORT_H
#define VSWITCH_VHOST_PORT_H 1

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>

#include "datapath/dp-port-core.h"

struct datapath;
struct rte_mempool;
struct vhost_port;

/* Called on the vhost event thread when a device connects (up = true) or
 * disconnects.  Must not block. */
typedef void vhost_link_cb(const char *port_name, bool up, void *aux);

/* Sets up the module: 'dp' is used to wait for PMDs, 'mp' is the mbuf pool
 * for packets received from guests.  Returns 0 or a negative errno. */
int vhost_init(struct datapath *dp, struct rte_mempool *mp,
               vhost_link_cb *cb, void *aux);
void vhost_fini(void);

struct vhost_port_params {
    const char *name;
    const char *path;       /* Socket path. */
    bool client;            /* Connect to 'path' instead of listening. */
    uint16_t queues;        /* Queue pairs polled, 1..DP_MAX_QUEUES. */
    unsigned tx_retries;    /* Enqueue retries on a full guest ring. */
    int sock_gid;           /* Server socket's group, or -1 to leave it. */
};

/* Registers the vhost-user socket for a new port.  Returns 0 and *vp, or a
 * negative errno (-EEXIST: path already registered). */
int vhost_port_create(const struct vhost_port_params *, struct vhost_port **vp);

/* Starts listening / connecting.  Returns 0 or a negative errno. */
int vhost_port_start(struct vhost_port *);

/* Unregisters the socket (disconnecting any frontend and, in server mode,
 * removing the socket file) and frees the port.  The dp_port using it must
 * already be detached. */
void vhost_port_destroy(struct vhost_port *);

/* Changes the enqueue retries; PMDs see it from their next burst. */
void vhost_port_set_tx_retries(struct vhost_port *, unsigned tx_retries);

extern const struct dp_port_ops vhost_port_ops;

struct vhost_port_info {
    bool connected;
    int vid;
    char ifname[PATH_MAX];
    unsigned n_vrings;
    unsigned rx_enabled;    /* Guest tx vrings (our rx) enabled. */
    unsigned tx_enabled;    /* Guest rx vrings (our tx) enabled. */
    int mtu;                /* -1 if not negotiated. */
};
void vhost_port_get_info(const struct vhost_port *, struct vhost_port_info *);

/* Calls 'cb' for every statistic librte_vhost keeps for each vring of the
 * connected device (RTE_VHOST_USER_NET_STATS_ENABLE): vring 2q is the
 * guest's rx ring of queue pair q (what the switch sends), 2q+1 its tx
 * ring.  Returns the number of vrings reported, or -ENOTCONN.  Main thread;
 * may wait briefly for the vhost event thread. */
typedef void vhost_vring_stat_cb(unsigned vring, const char *name, uint64_t value,
                                 void *aux);
int vhost_port_vring_stats(const struct vhost_port *, vhost_vring_stat_cb *cb,
                           void *aux);

/* True if a device is connected with at least one queue enabled. */
bool vhost_port_is_up(const struct vhost_port *);

#endif
