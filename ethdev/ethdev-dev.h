/* ethdev-dev - one rte_ethdev used as a vswitch port: hot-plug, configure,
 * start, link state, show/stats, stop and unplug.
 *
 * The common machinery under both port classes of ethdev-port.c (`dpdk`:
 * any device by devargs; `internal`: a net_tap or virtio-user vdev whose
 * kernel netdev is named after the port).  The instance 'struct ethdev_dev'
 * begins with the hot-path part 'struct ethdev_dp' (ethdev-port-core.h), so
 * it is the dp_port's 'priv' as is.
 *
 * Threads: everything here runs on the main thread, except the link-state
 * and device-removal callbacks, which DPDK runs on its interrupt thread.
 * Those touch only the instance they were registered with (which
 * ethdev_dev_close() unregisters, waiting for a running callback to return,
 * before freeing it), under the instance's link lock, and call the port
 * environment's event() with the port name, which is constant. */
#ifndef VSWITCH_ETHDEV_DEV_H
#define VSWITCH_ETHDEV_DEV_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct ethdev_dev;
struct port_env;

/* Defaults and limits of the queue options. */
#define ETHDEV_DEFAULT_QUEUE_SIZE 1024

/* Keeps a copy of 'env' for the module (its pointers must outlive every
 * port).  Idempotent: both port classes call it.  Returns 0. */
int ethdev_dev_init(const struct port_env *env);

/* Writes the canonical name of the device that 'devargs' names (e.g.
 * "net_ring0", "0000:00:09.0") into 'name' and the name of its bus ("pci",
 * "vdev") into 'bus', 'size' bytes each.
 * No side effects.  Returns 0, or a negative errno after writing the reason
 * (no port name, no trailing period) into 'why' ('whylen' bytes). */
int ethdev_dev_parse_devargs(const char *devargs, char *name, char *bus,
                             size_t size, char *why, size_t whylen);

/* The name of our port that uses device 'devname', or NULL. */
const char *ethdev_dev_user(const char *devname);

struct ethdev_dev_params {
    const char *name;       /* Port name. */
    const char *devargs;    /* Device to hot-plug. */
    const char *backend;    /* Internal ports: "tap" or "virtio-user"; NULL
                             * for dpdk ports. */
    uint16_t n_rxq;         /* 0: 1. */
    uint16_t n_txq;         /* 0: one per PMD, as many as the device has. */
    uint16_t rxq_size;      /* 0: ETHDEV_DEFAULT_QUEUE_SIZE or the nearest */
    uint16_t txq_size;      /*    the device accepts. */
    bool kernel_up;         /* Set the kernel netdev (iface=) up once
                             * started (net_tap does it itself). */
};

/* Hot-plugs 'p->devargs' (rte_dev_probe()), configures its first ethdev
 * with 'p's queues (rx queues fill from the environment's mempool), starts
 * it in promiscuous mode and arms link-state reporting.  A device that EAL
 * had probed already (EAL arguments on vswitchd's command line) is used but
 * never unplugged.  Returns 0 and *devp, or a negative errno after writing
 * one line naming the port and the cause into 'err' (PORT_ERRLEN bytes);
 * on failure nothing is left behind (a device we probed is removed).
 * -EEXIST: another of our ports uses the device, or (net_tap) a kernel
 * interface of that name exists. */
int ethdev_dev_open(const struct ethdev_dev_params *p, struct ethdev_dev **devp,
                    char *err);

/* Stops the device, closes its ethdev and, if we probed it and no other port
 * of ours uses it, unplugs it (rte_dev_remove()); frees 'dev'.  No PMD may
 * use the port any more.  Waits for a link callback running on the
 * interrupt thread to return. */
void ethdev_dev_close(struct ethdev_dev *dev);

uint16_t ethdev_dev_n_rxq(const struct ethdev_dev *dev);

/* The port name it was opened with. */
const char *ethdev_dev_name(const struct ethdev_dev *dev);

/* The 'backend' it was opened with ("" for dpdk ports). */
const char *ethdev_dev_backend(const struct ethdev_dev *dev);

/* True if the device's link is up, or unknown.  For a device with a kernel
 * netdev (iface=: net_tap, virtio-user on vhost-net) the link is up while
 * that netdev is up and running, and unknown once it has left vswitchd's
 * network namespace.  False once the device was removed. */
bool ethdev_dev_is_up(const struct ethdev_dev *dev);

/* Adds the device's members ("devargs", "device", "port_id", "driver",
 * "link" ("up", "down" or "unknown", as for ethdev_dev_is_up()), "speed",
 * "duplex", "n_rxq", "n_txq", "rxq_size", "txq_size", "tx_queues_shared",
 * "mac", and "removed": true once the device was removed) to 'obj'. */
void ethdev_dev_show(const struct ethdev_dev *dev, struct json_object *obj);

/* Sets the device's MTU (rte_eth_dev_set_mtu).  Returns 0, or a negative
 * errno with a message naming the device's MTU range in 'err'. */
int ethdev_dev_set_mtu(struct ethdev_dev *dev, unsigned mtu, char *err);

/* Adds the device counters "rx_missed", "rx_nombuf", "rx_errors",
 * "tx_errors" and our "tx_lock_contended" to 'obj'. */
void ethdev_dev_stats(const struct ethdev_dev *dev, struct json_object *obj);

/* Polls the link state of every device and reports changes as events (the
 * link-state interrupt callback, where the device has one, reports them
 * sooner).  Main thread, about once a second. */
void ethdev_dev_run(void);

#endif
