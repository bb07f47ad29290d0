/* vhost-port - the vhost-user port provider: vswitchd as the vhost-user
 * backend of QEMU guests (virtio-net-pci) and DPDK containers (virtio-user).
 *
 * Two port classes (datapath/port-provider.h) share this module:
 *   vhost-user         vswitchd creates and listens on the socket
 *                      (<vhost-sock-dir>/<port>, or path= inside that dir);
 *   vhost-user-client  vswitchd connects to a socket the frontend created
 *                      (path=, inside the vhost socket dir) and reconnects
 *                      forever.
 * Options: path, queues (queue pairs polled, 1..DP_MAX_QUEUES), tx-retries
 * (enqueue retries on a full guest ring; changed in place by port.set).
 *
 * Control side: rte_vhost_driver_register/start/unregister and the device
 * callbacks, which DPDK runs on its vhost event thread.  They publish the
 * device id, enabled queues and the tx queue map with atomics; a socket
 * serves one frontend at a time (a second connection is refused);
 * destroy_device always waits for an RCU grace period, so no PMD is still
 * inside a burst on a device DPDK tears down.  Hot side: rx =
 * rte_vhost_dequeue_burst, tx = rte_vhost_enqueue_burst with bounded
 * retries, under a per-vring lock of ours only while more than one PMD
 * transmits on that vring. */
#ifndef VSWITCH_VHOST_PORT_H
#define VSWITCH_VHOST_PORT_H 1

#include "datapath/port-provider.h"

extern const struct port_class vhost_user_class;
extern const struct port_class vhost_user_client_class;

#endif
