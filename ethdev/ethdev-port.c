/* ethdev-port - the `dpdk` and `internal` port classes: option parsing and
 * validation, and the glue from struct port_class to the device life cycle
 * in ethdev-dev.c.  See ethdev-port.h.
 *
 * Every member runs on the main thread (port-provider.h). */
#include "ethdev/ethdev-port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VLOG_MODULE "ethdev"
#include "lib/vlog.h"
#include "ethdev/ethdev-dev.h"
#include "ethdev/ethdev-port-core.h"

#define DPDK_OPTIONS "devargs, n_rxq, n_txq, rxq_size, txq_size"

/* Device of internal ports where it exists (virtio-user's vhost-kernel
 * backend); otherwise they use net_tap. */
#define VHOST_NET_DEV "/dev/vhost-net"

/* Options of a dpdk port.  0 means the default. */
struct dpdk_options {
    const char *devargs;
    uint16_t n_rxq;
    uint16_t n_txq;
    uint16_t rxq_size;
    uint16_t txq_size;
};

/* Parses option 'key' = 's' of port 'name' as an integer in [min, max]
 * into *out.  Returns 0 or -EINVAL with a message. */
static int
parse_u16(const char *name, const char *key, const char *s, unsigned min,
          unsigned max, uint16_t *out, char *err)
{
    unsigned v;
    int rc = port_parse_uint(name, key, s, min, max, &v, err);

    if (!rc) {
        *out = (uint16_t) v;
    }
    return rc;
}

/* Parses and validates the options of dpdk port 'name' into 'o' (which
 * points into 'options').  The devargs must name a device some bus knows;
 * whether it exists is only found out by probing it.  Returns 0 or -EINVAL
 * with a message. */
static int
dpdk_parse(const char *name, struct json_object *options, struct dpdk_options *o,
           char *err)
{
    int rc = 0;

    memset(o, 0, sizeof *o);
    json_object_object_foreach(options, key, val) {
        const char *s = json_object_get_string(val);
        if (!strcmp(key, "devargs")) {
            o->devargs = s;
        } else if (!strcmp(key, "n_rxq")) {
            rc = parse_u16(name, key, s, 1, DP_MAX_QUEUES, &o->n_rxq, err);
        } else if (!strcmp(key, "n_txq")) {
            rc = parse_u16(name, key, s, 1, ETHDEV_MAX_TXQ, &o->n_txq, err);
        } else if (!strcmp(key, "rxq_size")) {
            rc = parse_u16(name, key, s, 1, UINT16_MAX, &o->rxq_size, err);
        } else if (!strcmp(key, "txq_size")) {
            rc = parse_u16(name, key, s, 1, UINT16_MAX, &o->txq_size, err);
        } else {
            rc = port_fail(err, -EINVAL, "port \"%s\": unknown option \"%s\" (dpdk ports "
                      "know: %s)", name, key, DPDK_OPTIONS);
        }
        if (rc) {
            return rc;
        }
    }
    if (!o->devargs || !o->devargs[0]) {
        return port_fail(err, -EINVAL, "port \"%s\": type=dpdk needs devargs=, e.g. "
                    "devargs=0000:00:09.0 or devargs=net_tap0,iface=tap0", name);
    }
    char devname[128], bus[128], why[200];
    rc = ethdev_dev_parse_devargs(o->devargs, devname, bus, sizeof devname,
                                  why, sizeof why);
    if (rc) {
        return port_fail(err, -EINVAL, "port \"%s\": devargs: %s", name, why);
    }
    return 0;
}

static int
ethdev_port_init(const struct port_env *env)
{
    return ethdev_dev_init(env);
}

static int
dpdk_check(const char *name, struct json_object *options, char *err)
{
    struct dpdk_options o;

    return dpdk_parse(name, options, &o, err);
}

static int
dpdk_create(const char *name, struct json_object *options, void **devp, char *err)
{
    struct dpdk_options o;
    struct ethdev_dev *dev;
    int rc;

    if ((rc = dpdk_parse(name, options, &o, err))) {
        return rc;
    }
    struct ethdev_dev_params p = {
        .name = name,
        .devargs = o.devargs,
        .n_rxq = o.n_rxq,
        .n_txq = o.n_txq,
        .rxq_size = o.rxq_size,
        .txq_size = o.txq_size,
    };
    rc = ethdev_dev_open(&p, &dev, err);
    *devp = rc ? NULL : dev;
    return rc;
}

static int
internal_check(const char *name, struct json_object *options, char *err)
{
    json_object_object_foreach(options, key, val) {
        (void) val;
        return port_fail(err, -EINVAL, "port \"%s\": unknown option \"%s\" (internal "
                    "ports take no options)", name, key);
    }
    return 0;
}

/* Opens the vdev of internal port 'name' with 'driver' ("net_virtio_user"
 * or "net_tap") under a vdev name of its own that no other port of ours uses
 * ("net_tap_vs<N>", ...: vdev names must start with the driver's name).
 * Returns 0 and *devp, or a negative errno with a message. */
static int
internal_open(const char *name, bool vhost_net, struct ethdev_dev **devp, char *err)
{
    static unsigned seq;
    const char *driver = vhost_net ? "net_virtio_user" : "net_tap";
    char vdev[64], devargs[256];

    do {
        snprintf(vdev, sizeof vdev, "%s_vs%u", driver, seq++);
    } while (ethdev_dev_user(vdev));
    if (vhost_net) {
        snprintf(devargs, sizeof devargs, "%s,path=%s,iface=%s,queues=1,"
                 "queue_size=%u", vdev, VHOST_NET_DEV, name,
                 ETHDEV_DEFAULT_QUEUE_SIZE);
    } else {
        snprintf(devargs, sizeof devargs, "%s,iface=%s", vdev, name);
    }
    struct ethdev_dev_params p = {
        .name = name,
        .devargs = devargs,
        .backend = vhost_net ? "virtio-user" : "tap",
        /* One queue pair: virtio-user was given one, net_tap wants as many
         * tx as rx queues. */
        .n_txq = 1,
        .kernel_up = vhost_net,
    };
    return ethdev_dev_open(&p, devp, err);
}

/* Creates the kernel netdev 'name': virtio-user on /dev/vhost-net if we may
 * open it (net_tap if that fails), else net_tap. */
static int
internal_create(const char *name, struct json_object *options, void **devp, char *err)
{
    struct ethdev_dev *dev;
    int rc;

    *devp = NULL;
    if ((rc = internal_check(name, options, err))) {
        return rc;
    }
    bool vhost_net = !access(VHOST_NET_DEV, R_OK | W_OK);
    rc = internal_open(name, vhost_net, &dev, err);
    if (rc && vhost_net && rc != -EEXIST) {
        VLOG_WARN("%s: %s; using net_tap instead of virtio-user", name, err);
        rc = internal_open(name, false, &dev, err);
    }
    if (!rc) {
        *devp = dev;
    }
    return rc;
}

static void
ethdev_port_destroy(void *dev)
{
    ethdev_dev_close(dev);
}

static uint16_t
ethdev_port_n_rxq(const void *dev)
{
    return ethdev_dev_n_rxq(dev);
}

static bool
ethdev_port_is_up(const void *dev)
{
    return ethdev_dev_is_up(dev);
}

static void
dpdk_show(const void *dev, struct json_object *out)
{
    struct json_object *o = json_object_new_object();

    ethdev_dev_show(dev, o);
    json_object_object_add(out, "dpdk", o);
}

static void
internal_show(const void *dev, struct json_object *out)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "backend", json_object_new_string(ethdev_dev_backend(dev)));
    json_object_object_add(o, "ifname", json_object_new_string(ethdev_dev_name(dev)));
    ethdev_dev_show(dev, o);
    json_object_object_add(out, "internal", o);
}

static void
ethdev_port_stats(const void *dev, struct json_object *out)
{
    ethdev_dev_stats(dev, out);
}

static int
ethdev_port_set_mtu(void *dev, unsigned mtu, char *err)
{
    return ethdev_dev_set_mtu(dev, mtu, err);
}

/* Polls the link state of every port of both classes: registered with the
 * dpdk class only, so that it runs once a second, not twice. */
static void
ethdev_port_run(void)
{
    ethdev_dev_run();
}

const struct port_class dpdk_port_class = {
    .type = "dpdk",
    .options_help = DPDK_OPTIONS,
    .init = ethdev_port_init,
    .run = ethdev_port_run,
    .check = dpdk_check,
    .create = dpdk_create,
    .destroy = ethdev_port_destroy,
    .reconfigure = NULL,            /* Every change re-creates the port. */
    .set_mtu = ethdev_port_set_mtu,
    .dp_ops = &ethdev_dp_ops,
    .n_rxq = ethdev_port_n_rxq,
    .is_up = ethdev_port_is_up,
    .show = dpdk_show,
    .stats = ethdev_port_stats,
};

const struct port_class internal_port_class = {
    .type = "internal",
    .options_help = "",
    .init = ethdev_port_init,
    .check = internal_check,
    .create = internal_create,
    .destroy = ethdev_port_destroy,
    .reconfigure = NULL,
    .set_mtu = ethdev_port_set_mtu,
    .dp_ops = &ethdev_dp_ops,
    .n_rxq = ethdev_port_n_rxq,
    .is_up = ethdev_port_is_up,
    .show = internal_show,
    .stats = ethdev_port_stats,
};
