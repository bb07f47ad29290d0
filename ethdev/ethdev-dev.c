/* ethdev-dev - one rte_ethdev used as a vswitch port.  See ethdev-dev.h.
 *
 * DPDK's event callbacks carry only what we registered them with, and the
 * port classes have no context argument, so the module keeps its state in
 * one file-scope context: the port environment (set once by
 * ethdev_dev_init()) and the list of open devices (main thread only). */
#include "ethdev/ethdev-dev.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_pci.h>
#include <rte_spinlock.h>

#define VLOG_MODULE "ethdev"
#include "lib/vlog.h"
#include "datapath/port-provider.h"
#include "ethdev/ethdev-port-core.h"

#define ETHDEV_DEVARGS_MAX 1024

/* Rx (and tx) queues a net_tap device can start with: see choose_queues(). */
#define ETHDEV_TAP_MAX_QUEUES 4

struct ethdev_dev {
    struct ethdev_dp dp;            /* First: the dp_port's 'priv'. */

    /* Constant after ethdev_dev_open(). */
    char name[DP_NAME_MAX];
    char devargs[ETHDEV_DEVARGS_MAX];
    char devname[RTE_DEV_NAME_MAX_LEN];
    char bus[RTE_DEV_NAME_MAX_LEN]; /* "pci", "vdev", ... */
    char ifname[IF_NAMESIZE];       /* Its kernel netdev (iface=), or "". */
    char backend[16];               /* Internal ports only. */
    char driver[32];
    struct rte_device *rdev;
    bool probed;                    /* We hot-plugged it: we unplug it. */
    bool lsc;                       /* Link-state interrupt callback armed. */
    bool rmv;                       /* Removal interrupt callback armed. */
    uint16_t rxq_size;
    uint16_t txq_size;

    /* Link state as last reported, by the interrupt thread (callbacks) or
     * the main thread (polling); also published to the PMDs in dp.link_up.
     * dp.removed is set on RTE_ETH_EVENT_INTR_RMV. */
    rte_spinlock_t link_lock;
    bool link_up;                   /* Under 'link_lock'. */
    bool events_on;                 /* Under 'link_lock': the port exists
                                     * (ethdev_dev_open() returned). */

    LIST_ENTRY(ethdev_dev) node;    /* In ctx.devs. */
};

static struct {
    struct port_env env_copy;       /* The caller's may be on its stack. */
    const struct port_env *env;     /* &env_copy once initialised. */
    LIST_HEAD(, ethdev_dev) devs;
} ctx;

/* DPDK's ethdev and EAL calls return 0 or a negative errno, but pass on
 * what drivers return, and drivers often return -1 whatever the cause.
 * Returns the negative errno for 'rc' (-1: -EIO; positive: -EIO). */
static int
dpdk_errno(int rc)
{
    return rc < 0 && rc != -1 ? rc : -EIO;
}

/* Describes failure 'rc' (as returned by a DPDK call) for a user. */
static const char *
dpdk_strerror(int rc)
{
    return rc < 0 && rc != -1 ? strerror(-rc)
                              : "the driver refused it (see vswitchd's log)";
}

int
ethdev_dev_init(const struct port_env *env)
{
    if (!ctx.env) {
        ctx.env_copy = *env;
        ctx.env = &ctx.env_copy;
        LIST_INIT(&ctx.devs);
    }
    return 0;
}

int
ethdev_dev_parse_devargs(const char *devargs, char *name, char *bus, size_t size,
                         char *why, size_t whylen)
{
    struct rte_devargs da;
    int rc;

    memset(&da, 0, sizeof da);
    rc = rte_devargs_parse(&da, devargs);
    if (rc || !da.bus || !da.name[0]) {
        rte_devargs_reset(&da);
        snprintf(why, whylen, "no bus or driver knows device \"%s\" (expected a "
                 "PCI address such as 0000:00:09.0 or a vdev such as "
                 "net_tap0,iface=tap0)", devargs);
        return rc < 0 ? rc : -EINVAL;
    }
    const char *bus_name = rte_bus_name(da.bus);
    snprintf(bus, size, "%s", bus_name);
    if (!strcmp(bus_name, "pci")) {
        /* "00:09.0" and "0000:00:09.0" are the same device. */
        struct rte_pci_addr addr;
        if (rte_pci_addr_parse(da.name, &addr)) {
            snprintf(why, whylen, "\"%s\" is not a PCI address", da.name);
            rte_devargs_reset(&da);
            return -EINVAL;
        }
        rte_pci_device_name(&addr, name, size);
    } else {
        snprintf(name, size, "%s", da.name);
    }
    rte_devargs_reset(&da);
    return 0;
}

const char *
ethdev_dev_user(const char *devname)
{
    struct ethdev_dev *dev;

    LIST_FOREACH(dev, &ctx.devs, node) {
        if (!strcmp(dev->devname, devname)) {
            return dev->name;
        }
    }
    return NULL;
}

/* Drivers that create a kernel netdev named by their "iface" argument
 * (net_tap, net_tun; net_virtio_user on /dev/vhost-net creates a tap):
 * writes that name into 'ifname' ('size' bytes), or "" if 'devargs' (of
 * device 'devname') names none. */
static void
devargs_ifname(const char *devargs, const char *devname, char *ifname, size_t size)
{
    static const char *const drivers[] = { "net_tap", "net_tun", "net_virtio_user" };
    bool creates_netdev = false;

    ifname[0] = '\0';
    for (size_t i = 0; i < RTE_DIM(drivers); i++) {
        if (!strncmp(devname, drivers[i], strlen(drivers[i]))) {
            creates_netdev = true;
        }
    }
    const char *args = strchr(devargs, ',');
    if (!creates_netdev || !args) {
        return;
    }
    struct rte_kvargs *kv = rte_kvargs_parse(args + 1, NULL);
    if (kv) {
        const char *iface = rte_kvargs_get(kv, "iface");
        snprintf(ifname, size, "%s", iface ? iface : "");
        rte_kvargs_free(kv);
    }
}

/* Finds the first ethdev of device 'devname'.  Returns 0 and *port_id, or
 * -ENODEV. */
static int
find_ethdev(const char *devname, uint16_t *port_id)
{
    uint16_t pid;

    RTE_ETH_FOREACH_DEV(pid) {
        struct rte_eth_dev_info info;
        if (!rte_eth_dev_info_get(pid, &info) && info.device
            && !strcmp(rte_dev_name(info.device), devname)) {
            *port_id = pid;
            return 0;
        }
    }
    return -ENODEV;
}

/* Picks a descriptor count within the device's limits 'lim': 'want', which
 * must fit (else -EINVAL and a message about option 'what'), or if 0 the
 * default rounded into the limits. */
static int
desc_count(const char *port, const char *what, uint16_t want,
           const struct rte_eth_desc_lim *lim, uint16_t *out, char *err)
{
    unsigned align = lim->nb_align ? lim->nb_align : 1;
    unsigned max = lim->nb_max ? lim->nb_max : UINT16_MAX;
    unsigned min = RTE_MAX(lim->nb_min, 1u);

    if (want) {
        if (want < min || want > max || want % align) {
            char mult[32] = "";
            if (align > 1) {
                snprintf(mult, sizeof mult, " in multiples of %u", align);
            }
            return port_fail(err, -EINVAL, "port \"%s\": %s=%u: the device accepts "
                        "%u to %u%s", port, what, want, min, max, mult);
        }
        *out = want;
        return 0;
    }
    unsigned n = RTE_MIN(RTE_MAX((unsigned) ETHDEV_DEFAULT_QUEUE_SIZE, min), max);
    n -= n % align;
    if (n < min) {
        n += align;
    }
    *out = (uint16_t) n;
    return 0;
}

static bool link_usable(const struct ethdev_dev *);
static int set_kernel_up(const struct ethdev_dev *);

/* Device event callback, on DPDK's interrupt thread. */
static int link_event_cb(uint16_t port_id, enum rte_eth_event_type type,
                         void *arg, void *ret_param);

/* Records link state 'up' and, if it changed, reports it as an event (and
 * a rate-limited log line; 'why' may add a reason).  Nothing until the port
 * exists: ethdev_dev_open() records the state it starts with.  Any thread;
 * takes the link lock (never held for long). */
static void
report_link(struct ethdev_dev *dev, bool up, const char *why)
{
    rte_spinlock_lock(&dev->link_lock);
    bool changed = dev->events_on && dev->link_up != up;
    if (dev->events_on) {
        dev->link_up = up;
        __atomic_store_n(&dev->dp.link_up, up, __ATOMIC_RELAXED);
    }
    if (changed && ctx.env && ctx.env->event) {
        ctx.env->event(ctx.env->event_aux, dev->name, up ? "link_up" : "link_down");
    }
    rte_spinlock_unlock(&dev->link_lock);
    if (changed) {
        /* Devices (link flaps) trigger it. */
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(10, 10);
        VLOG_INFO_RL(&rl, "%s: link %s%s", dev->name, up ? "up" : "down",
                     why ? why : "");
    }
}

static int
link_event_cb(uint16_t port_id, enum rte_eth_event_type type, void *arg,
              void *ret_param)
{
    struct ethdev_dev *dev = arg;

    (void) port_id;
    (void) ret_param;
    if (type == RTE_ETH_EVENT_INTR_RMV) {
        __atomic_store_n(&dev->dp.removed, true, __ATOMIC_RELEASE);
        report_link(dev, false, " (device removed)");
    } else if (!__atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE)) {
        report_link(dev, link_usable(dev), NULL);
    }
    return 0;
}

/* Unregisters our callback for 'event', waiting for it to return if the
 * interrupt thread is running it (which never waits on the main thread). */
static void
unregister_cb(struct ethdev_dev *dev, enum rte_eth_event_type event)
{
    int rc;

    while ((rc = rte_eth_dev_callback_unregister(dev->dp.port_id, event,
                                                 link_event_cb, dev)) == -EAGAIN) {
        usleep(100);
    }
}

static void
unregister_cbs(struct ethdev_dev *dev)
{
    if (dev->lsc) {
        unregister_cb(dev, RTE_ETH_EVENT_INTR_LSC);
        dev->lsc = false;
    }
    if (dev->rmv) {
        unregister_cb(dev, RTE_ETH_EVENT_INTR_RMV);
        dev->rmv = false;
    }
}

/* Configures the ethdev with the queues in 'dev', sets up its queues, arms
 * the event callbacks ('lsc': link-state interrupts, if the device has
 * them) and starts it.  Returns 0 or a negative errno with a message in
 * 'err'; on failure the callbacks are unregistered and the device is
 * stopped. */
static int
configure_and_start(struct ethdev_dev *dev, const struct rte_eth_dev_info *info,
                    bool lsc, char *err)
{
    uint16_t pid = dev->dp.port_id;
    struct rte_eth_conf conf;
    int rc;

    memset(&conf, 0, sizeof conf);
    uint64_t rss = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)
                   & info->flow_type_rss_offloads;
    if (dev->dp.n_rxq > 1 && rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss;
    }
    /* Flooded and jumbo frames can be mbuf chains, both ways: a frame larger
     * than one mbuf is received as a chain where the device can (scatter). */
    conf.txmode.offloads = info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    /* Checksum and TSO where the device has them (offload.h): packets
     * asking for them go through as they are, the others get it done in
     * software by the datapath. */
    uint64_t capa = info->tx_offload_capa;
    uint64_t csum = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    uint64_t tso = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    dev->dp.tx_offloads = 0;
    if ((capa & csum) == csum) {
        conf.txmode.offloads |= csum;
        dev->dp.tx_offloads = DP_TX_CSUM | DP_TX_WRITES;
        if ((capa & tso) == tso) {
            conf.txmode.offloads |= tso;
            dev->dp.tx_offloads |= DP_TX_TSO4 | DP_TX_TSO6;
            /* net_tap segments with rte_gso, which in DPDK 22.11 knows
             * TCP/IPv4 only: it hands TCP/IPv6 super-frames to the kernel
             * whole (measured by test_offload).  Those we segment. */
            if (!strcmp(info->driver_name, "net_tap")) {
                dev->dp.tx_offloads &= ~DP_TX_TSO6;
            }
        }
    }
    conf.rxmode.offloads = info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
    conf.intr_conf.lsc = lsc;
    conf.intr_conf.rmv = (*info->dev_flags & RTE_ETH_DEV_INTR_RMV) != 0;

    rc = rte_eth_dev_configure(pid, dev->dp.n_rxq, dev->dp.n_txq, &conf);
    if (rc) {
        return port_fail(err, dpdk_errno(rc), "port \"%s\": cannot configure %s "
                    "with %u rx and %u tx queues: %s", dev->name, dev->devname,
                    dev->dp.n_rxq, dev->dp.n_txq, dpdk_strerror(rc));
    }
    int socket = rte_eth_dev_socket_id(pid);
    for (uint16_t q = 0; q < dev->dp.n_rxq; q++) {
        rc = rte_eth_rx_queue_setup(pid, q, dev->rxq_size, (unsigned) socket, NULL,
                                    ctx.env->mp);
        if (rc) {
            return port_fail(err, dpdk_errno(rc), "port \"%s\": cannot set up rx "
                        "queue %u (%u descriptors) of %s: %s", dev->name, q,
                        dev->rxq_size, dev->devname, dpdk_strerror(rc));
        }
    }
    for (uint16_t q = 0; q < dev->dp.n_txq; q++) {
        rc = rte_eth_tx_queue_setup(pid, q, dev->txq_size, (unsigned) socket, NULL);
        if (rc) {
            return port_fail(err, dpdk_errno(rc), "port \"%s\": cannot set up tx "
                        "queue %u (%u descriptors) of %s: %s", dev->name, q,
                        dev->txq_size, dev->devname, dpdk_strerror(rc));
        }
    }

    /* Before the start: the link may come up during it. */
    if (lsc && !rte_eth_dev_callback_register(pid, RTE_ETH_EVENT_INTR_LSC,
                                              link_event_cb, dev)) {
        dev->lsc = true;
    }
    if (conf.intr_conf.rmv && !rte_eth_dev_callback_register(pid, RTE_ETH_EVENT_INTR_RMV,
                                                             link_event_cb, dev)) {
        dev->rmv = true;
    }
    rc = rte_eth_dev_start(pid);
    if (rc) {
        unregister_cbs(dev);
        rte_eth_dev_stop(pid);
        return port_fail(err, dpdk_errno(rc), "port \"%s\": cannot start %s: %s",
                    dev->name, dev->devname, dpdk_strerror(rc));
    }
    return 0;
}

/* Sets the number of tx queues and which of them are shared: those that
 * more than one PMD id maps to. */
static void
set_n_txq(struct ethdev_dev *dev, uint16_t n_txq)
{
    unsigned n_pmds = ctx.env->n_pmds ? ctx.env->n_pmds : 1;

    dev->dp.n_txq = n_txq;
    for (unsigned q = 0; q < n_txq; q++) {
        unsigned users = 0;
        for (unsigned pmd = 0; pmd < n_pmds; pmd++) {
            users += pmd % n_txq == q;
        }
        rte_spinlock_init(&dev->dp.txq[q].lock);
        dev->dp.txq[q].shared = users > 1;
    }
}

/* Configures and starts 'dev' as chosen by choose_queues().  If that
 * fails, tries again with as many tx queues as rx queues if 'txq_default'
 * (net_tap wants that), and without link-state interrupts (some devices
 * cannot have them: we poll instead).  Returns 0, or the first attempt's
 * error (message in 'err'). */
static int
start_device(struct ethdev_dev *dev, const struct rte_eth_dev_info *info,
             bool txq_default, char *err)
{
    bool lsc = (*info->dev_flags & RTE_ETH_DEV_INTR_LSC) != 0;
    uint16_t n_txq = dev->dp.n_txq, n_rxq = dev->dp.n_rxq;
    struct { bool lsc; uint16_t n_txq; } tries[3];
    unsigned n = 0;
    char err2[PORT_ERRLEN];

    int rc = configure_and_start(dev, info, lsc, err);
    if (!rc) {
        return 0;
    }
    bool txq_fallback = txq_default && n_rxq != n_txq && n_rxq <= info->max_tx_queues;
    if (txq_fallback) {
        tries[n].lsc = lsc, tries[n++].n_txq = n_rxq;
    }
    if (lsc) {
        tries[n].lsc = false, tries[n++].n_txq = n_txq;
        if (txq_fallback) {
            tries[n].lsc = false, tries[n++].n_txq = n_rxq;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        set_n_txq(dev, tries[i].n_txq);
        if (!configure_and_start(dev, info, tries[i].lsc, err2)) {
            VLOG_DBG("%s: %s started with %u tx queue(s)%s after: %s", dev->name,
                     dev->devname, tries[i].n_txq,
                     tries[i].lsc || !lsc ? "" : ", link state polled", err);
            return 0;
        }
    }
    set_n_txq(dev, n_txq);
    return rc;
}

/* Validates the queue counts and sizes of 'p' against 'info' and stores the
 * values to use in 'dev'.  Returns 0 or -EINVAL with a message. */
static int
choose_queues(struct ethdev_dev *dev, const struct ethdev_dev_params *p,
              const struct rte_eth_dev_info *info, char *err)
{
    unsigned n_pmds = ctx.env->n_pmds ? ctx.env->n_pmds : 1;
    int rc;

    uint16_t n_rxq = p->n_rxq ? p->n_rxq : 1;
    bool tap = info->driver_name && !strcmp(info->driver_name, "net_tap");
    /* DPDK 22.11's net_tap passes one file descriptor per rx and tx queue in
     * one multi-process message of at most RTE_MP_MAX_FD_NUM (8) when it
     * starts, and overflows its stack beyond that: refuse before. */
    if (tap && (n_rxq > ETHDEV_TAP_MAX_QUEUES || p->n_txq > ETHDEV_TAP_MAX_QUEUES)) {
        return port_fail(err, -EINVAL, "port \"%s\": %s=%u: net_tap devices can have at "
                    "most %d rx and %d tx queues", dev->name,
                    n_rxq > ETHDEV_TAP_MAX_QUEUES ? "n_rxq" : "n_txq",
                    n_rxq > ETHDEV_TAP_MAX_QUEUES ? n_rxq : p->n_txq,
                    ETHDEV_TAP_MAX_QUEUES, ETHDEV_TAP_MAX_QUEUES);
    }
    if (tap && p->n_txq && p->n_txq != n_rxq) {
        return port_fail(err, -EINVAL, "port \"%s\": n_txq=%u: net_tap devices need as "
                    "many tx as rx queues (n_rxq=%u)", dev->name, p->n_txq, n_rxq);
    }
    if (n_rxq > info->max_rx_queues) {
        return port_fail(err, -EINVAL, "port \"%s\": n_rxq=%u: %s has at most %u rx "
                    "queues", dev->name, n_rxq, dev->devname, info->max_rx_queues);
    }
    unsigned n_txq = p->n_txq;
    if (n_txq && n_txq > info->max_tx_queues) {
        return port_fail(err, -EINVAL, "port \"%s\": n_txq=%u: %s has at most %u tx "
                    "queues", dev->name, n_txq, dev->devname, info->max_tx_queues);
    }
    if (!n_txq) {
        n_txq = RTE_MIN(RTE_MIN(n_pmds, (unsigned) ETHDEV_MAX_TXQ),
                        (unsigned) info->max_tx_queues);
        /* net_tap refuses other counts (start_device() would find out too,
         * after the driver logged an error). */
        if (tap) {
            n_txq = n_rxq;
        }
    }
    if (!n_txq) {
        return port_fail(err, -EINVAL, "port \"%s\": %s has no tx queue", dev->name,
                    dev->devname);
    }
    if ((rc = desc_count(dev->name, "rxq_size", p->rxq_size, &info->rx_desc_lim,
                         &dev->rxq_size, err))
        || (rc = desc_count(dev->name, "txq_size", p->txq_size, &info->tx_desc_lim,
                            &dev->txq_size, err))) {
        return rc;
    }
    dev->dp.n_rxq = n_rxq;
    set_n_txq(dev, (uint16_t) n_txq);
    return 0;
}

/* True if another open port of ours uses rte_device 'rdev'. */
static bool
rdev_in_use(const struct rte_device *rdev)
{
    struct ethdev_dev *dev;

    LIST_FOREACH(dev, &ctx.devs, node) {
        if (dev->rdev == rdev) {
            return true;
        }
    }
    return false;
}

/* Undoes a device we probed: closes ethdev 'pid' (if 'have_ethdev') and
 * unplugs the device. */
static void
unplug(const char *port, const char *bus, const char *devname, struct rte_device *rdev,
       bool have_ethdev, uint16_t pid)
{
    int rc;

    if (have_ethdev) {
        rte_eth_dev_close(pid);
    }
    rc = rdev ? rte_dev_remove(rdev) : rte_eal_hotplug_remove(bus, devname);
    if (rc) {
        VLOG_WARN("%s: cannot unplug %s: %s", port, devname,
                  dpdk_strerror(rc));
    }
}

int
ethdev_dev_open(const struct ethdev_dev_params *p, struct ethdev_dev **devp, char *err)
{
    char devname[RTE_DEV_NAME_MAX_LEN], bus[RTE_DEV_NAME_MAX_LEN], why[200];
    struct rte_eth_dev_info info;
    struct ethdev_dev *dev;
    bool probed = false;
    uint16_t pid;
    int rc;

    *devp = NULL;
    if (!ctx.env) {
        return port_fail(err, -ENODEV, "port \"%s\": ethdev ports are not initialised",
                    p->name);
    }
    if (strlen(p->devargs) >= ETHDEV_DEVARGS_MAX) {
        return port_fail(err, -EINVAL, "port \"%s\": devargs is too long (at most %d "
                    "characters)", p->name, ETHDEV_DEVARGS_MAX - 1);
    }
    rc = ethdev_dev_parse_devargs(p->devargs, devname, bus, sizeof devname,
                                  why, sizeof why);
    if (rc) {
        return port_fail(err, rc, "port \"%s\": devargs: %s", p->name, why);
    }
    const char *user = ethdev_dev_user(devname);
    if (user) {
        return port_fail(err, -EEXIST, "port \"%s\": device %s is already used by port "
                    "\"%s\"", p->name, devname, user);
    }
    /* The driver would attach to, or fail obscurely on, an existing
     * interface of that name. */
    char ifname[64];
    devargs_ifname(p->devargs, devname, ifname, sizeof ifname);
    if (strlen(ifname) >= IF_NAMESIZE) {
        return port_fail(err, -EINVAL, "port \"%s\": iface=%s: kernel interface names "
                    "have at most %d characters", p->name, ifname, IF_NAMESIZE - 1);
    }
    if (ifname[0] && if_nametoindex(ifname)) {
        return port_fail(err, -EEXIST, "port \"%s\": a kernel interface named %s exists "
                    "already", p->name, ifname);
    }

    /* A device probed already (by EAL arguments on our command line) is
     * used as it is, and never unplugged by us. */
    if (find_ethdev(devname, &pid)) {
        rc = rte_dev_probe(p->devargs);
        if (rc) {
            const char *why_probe = dpdk_strerror(rc);
            if (!strcmp(bus, "pci")) {
                why_probe = rc == -ENODEV ? "no PCI device has that address"
                            : "its driver cannot take it (is it bound to vfio-pci? "
                              "vswitchd's log has the driver's reason)";
            }
            return port_fail(err, dpdk_errno(rc), "port \"%s\": cannot hot-plug %s: %s",
                        p->name, p->devargs, why_probe);
        }
        probed = true;
        if (find_ethdev(devname, &pid)) {
            unplug(p->name, bus, devname, NULL, false, 0);
            return port_fail(err, -ENODEV, "port \"%s\": %s was probed but is not a "
                        "network device (no ethdev)", p->name, devname);
        }
    }
    rc = rte_eth_dev_info_get(pid, &info);
    dev = rte_zmalloc("ethdev_dev", sizeof *dev, RTE_CACHE_LINE_SIZE);
    if (rc || !dev) {
        if (probed) {
            unplug(p->name, bus, devname, NULL, true, pid);
        }
        rte_free(dev);
        return port_fail(err, rc ? rc : -ENOMEM, "port \"%s\": %s: %s", p->name, devname,
                    rc ? "cannot get device information" : "out of memory");
    }
    dev->dp.port_id = pid;
    dev->rdev = info.device;
    dev->probed = probed;
    rte_spinlock_init(&dev->link_lock);
    snprintf(dev->name, sizeof dev->name, "%s", p->name);
    snprintf(dev->devargs, sizeof dev->devargs, "%s", p->devargs);
    snprintf(dev->devname, sizeof dev->devname, "%s", devname);
    snprintf(dev->bus, sizeof dev->bus, "%s", bus);
    memcpy(dev->ifname, ifname, strlen(ifname) + 1);      /* Checked above. */
    snprintf(dev->backend, sizeof dev->backend, "%s", p->backend ? p->backend : "");
    snprintf(dev->driver, sizeof dev->driver, "%s",
             info.driver_name ? info.driver_name : "");

    rc = choose_queues(dev, p, &info, err);
    if (!rc) {
        rc = start_device(dev, &info, p->n_txq == 0, err);
    }
    if (rc) {
        if (probed) {
            unplug(p->name, bus, devname, dev->rdev, true, pid);
        }
        rte_free(dev);
        return rc;
    }

    rc = rte_eth_promiscuous_enable(pid);
    if (rc && rc != -ENOTSUP) {
        VLOG_WARN("%s: cannot enable promiscuous mode on %s: %s", dev->name,
                  devname, dpdk_strerror(rc));
    }
    if (p->kernel_up && (rc = set_kernel_up(dev))) {
        VLOG_WARN("%s: cannot set kernel interface %s up: %s", dev->name,
                  dev->ifname, strerror(-rc));
    }
    bool up = link_usable(dev);
    rte_spinlock_lock(&dev->link_lock);
    dev->link_up = up;
    __atomic_store_n(&dev->dp.link_up, up, __ATOMIC_RELAXED);
    dev->events_on = true;
    rte_spinlock_unlock(&dev->link_lock);
    LIST_INSERT_HEAD(&ctx.devs, dev, node);
    VLOG_INFO("%s: %s %s (ethdev %u, driver %s): %u rx queue(s), %u tx queue(s)%s, "
              "%u/%u descriptors, link %s", dev->name,
              probed ? "hot-plugged" : "using", devname, pid, dev->driver,
              dev->dp.n_rxq, dev->dp.n_txq,
              dev->dp.n_txq < ctx.env->n_pmds ? " shared by the PMDs" : "",
              dev->rxq_size, dev->txq_size, up ? "up" : "down");
    err[0] = '\0';
    *devp = dev;
    return 0;
}

void
ethdev_dev_close(struct ethdev_dev *dev)
{
    if (!dev) {
        return;
    }
    LIST_REMOVE(dev, node);
    unregister_cbs(dev);

    uint16_t pid = dev->dp.port_id;
    bool removed = __atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE);
    int rc = rte_eth_dev_stop(pid);
    if (rc && !removed) {
        VLOG_WARN("%s: cannot stop %s: %s", dev->name, dev->devname,
                  dpdk_strerror(rc));
    }
    if (dev->probed) {
        if (rdev_in_use(dev->rdev)) {
            rte_eth_dev_close(pid);
        } else {
            unplug(dev->name, dev->bus, dev->devname, dev->rdev, true, pid);
        }
    }
    VLOG_INFO("%s: %s %s", dev->name, dev->probed ? "unplugged" : "stopped",
              dev->devname);
    rte_free(dev);
}

uint16_t
ethdev_dev_n_rxq(const struct ethdev_dev *dev)
{
    return dev->dp.n_rxq;
}

const char *
ethdev_dev_name(const struct ethdev_dev *dev)
{
    return dev->name;
}

const char *
ethdev_dev_backend(const struct ethdev_dev *dev)
{
    return dev->backend;
}

/* Reads the flags of kernel interface 'ifname' (in our network namespace)
 * into *flags.  Returns 0 or a negative errno (-ENODEV: no such interface
 * here).  Any thread; a few system calls. */
static int
kernel_if_flags(const char *ifname, short *flags)
{
    struct ifreq ifr;
    int rc = 0;

    memset(&ifr, 0, sizeof ifr);
    if (strlen(ifname) >= sizeof ifr.ifr_name) {
        return -ENAMETOOLONG;
    }
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
        rc = -errno;
    } else {
        *flags = ifr.ifr_flags;
    }
    close(fd);
    return rc;
}

/* Reads the link state into 'link'.  Returns false if it is unknown.
 *
 * A device with a kernel netdev (net_tap, virtio-user on vhost-net) has its
 * link up while that netdev is up and running: net_tap says so itself, and
 * virtio-user's own link is always up, so the netdev's flags decide.  Once
 * the netdev has moved into another network namespace we cannot see it
 * (net_tap then says down, looking for it by name here), but it may well be
 * up there and carry traffic: unknown.  A removed device's link is down. */
static bool
get_link(const struct ethdev_dev *dev, struct rte_eth_link *link)
{
    short flags = 0;

    memset(link, 0, sizeof *link);
    if (__atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE)) {
        return true;
    }
    if (rte_eth_link_get_nowait(dev->dp.port_id, link)) {
        memset(link, 0, sizeof *link);
    }
    if (!dev->ifname[0]) {
        return true;
    }
    if (kernel_if_flags(dev->ifname, &flags)) {
        return false;
    }
    link->link_status = (flags & IFF_UP) && (flags & IFF_RUNNING)
                        ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    return true;
}

/* Sets the device's kernel netdev (iface=) administratively up, as `ip link
 * set IFACE up` does.  Returns 0 or a negative errno (-ENODEV: the device
 * has no kernel netdev). */
static int
set_kernel_up(const struct ethdev_dev *dev)
{
    struct ifreq ifr;
    int rc = 0;

    if (!dev->ifname[0]) {
        return -ENODEV;
    }
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, dev->ifname, strnlen(dev->ifname, sizeof ifr.ifr_name - 1));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
        rc = -errno;
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr)) {
            rc = -errno;
        }
    }
    close(fd);
    return rc;
}

/* True if the link is up or unknown (see get_link()). */
static bool
link_usable(const struct ethdev_dev *dev)
{
    struct rte_eth_link link;
    bool known = get_link(dev, &link);

    return !known || link.link_status == RTE_ETH_LINK_UP;
}

bool
ethdev_dev_is_up(const struct ethdev_dev *dev)
{
    return link_usable(dev);
}

void
ethdev_dev_show(const struct ethdev_dev *dev, struct json_object *o)
{
    struct rte_eth_link link;
    struct rte_ether_addr mac;
    char macs[RTE_ETHER_ADDR_FMT_SIZE] = "";
    bool shared = false;

    bool known = get_link(dev, &link);
    if (!rte_eth_macaddr_get(dev->dp.port_id, &mac)) {
        const uint8_t *b = mac.addr_bytes;
        snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5]);
    }
    for (uint16_t q = 0; q < dev->dp.n_txq; q++) {
        shared |= dev->dp.txq[q].shared;
    }
    uint32_t speed = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;

    json_object_object_add(o, "devargs", json_object_new_string(dev->devargs));
    json_object_object_add(o, "device", json_object_new_string(dev->devname));
    json_object_object_add(o, "port_id", json_object_new_int(dev->dp.port_id));
    json_object_object_add(o, "driver", json_object_new_string(dev->driver));
    json_object_object_add(o, "link", json_object_new_string(
                               !known ? "unknown"
                               : link.link_status == RTE_ETH_LINK_UP ? "up" : "down"));
    json_object_object_add(o, "speed", json_object_new_int64(speed));
    json_object_object_add(o, "duplex", json_object_new_string(
                               link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX
                               ? "full" : "half"));
    json_object_object_add(o, "n_rxq", json_object_new_int(dev->dp.n_rxq));
    json_object_object_add(o, "n_txq", json_object_new_int(dev->dp.n_txq));
    json_object_object_add(o, "rxq_size", json_object_new_int(dev->rxq_size));
    json_object_object_add(o, "txq_size", json_object_new_int(dev->txq_size));
    json_object_object_add(o, "tx_queues_shared", json_object_new_boolean(shared));
    json_object_object_add(o, "mac", json_object_new_string(macs));
    struct json_object *ol = json_object_new_array();
    if (dev->dp.tx_offloads & DP_TX_CSUM) {
        json_object_array_add(ol, json_object_new_string("csum"));
    }
    if (dev->dp.tx_offloads & DP_TX_TSO4) {
        json_object_array_add(ol, json_object_new_string("tso4"));
    }
    if (dev->dp.tx_offloads & DP_TX_TSO6) {
        json_object_array_add(ol, json_object_new_string("tso6"));
    }
    json_object_object_add(o, "tx_offloads", ol);   /* See offload.h. */
    if (__atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE)) {
        json_object_object_add(o, "removed", json_object_new_boolean(true));
    }
}

int
ethdev_dev_set_mtu(struct ethdev_dev *dev, unsigned mtu, char *err)
{
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_set_mtu(dev->dp.port_id, (uint16_t) mtu);

    if (rc) {
        if (rte_eth_dev_info_get(dev->dp.port_id, &info)) {
            memset(&info, 0, sizeof info);
        }
        /* What rte_eth_dev_set_mtu() checks: max_mtu, and the MTU plus the
         * device's L2 overhead against max_rx_pktlen (net_tap, for one,
         * says 65535 but receives frames of 1522 bytes at most). */
        unsigned overhead = info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu
                            ? info.max_rx_pktlen - info.max_mtu
                            : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
        unsigned max = info.max_mtu;
        if (info.max_rx_pktlen >= overhead && info.max_rx_pktlen - overhead < max) {
            max = info.max_rx_pktlen - overhead;
        }
        /* A device without an MTU to set (net_pcap, net_null, net_ring...)
         * takes any frame its range allows; the datapath bounds what we
         * send to it. */
        if (rc == -ENOTSUP && mtu >= info.min_mtu && mtu <= max) {
            return 0;
        }
        return port_fail(err, dpdk_errno(rc), "port \"%s\": device %s cannot take "
                         "mtu=%u (its range: %u-%u): %s", dev->name, dev->devname, mtu,
                         info.min_mtu, max, dpdk_strerror(rc));
    }
    return 0;
}

void
ethdev_dev_stats(const struct ethdev_dev *dev, struct json_object *o)
{
    struct rte_eth_stats st;
    uint64_t contended = 0;

    memset(&st, 0, sizeof st);
    if (!__atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE)
        && rte_eth_stats_get(dev->dp.port_id, &st)) {
        memset(&st, 0, sizeof st);
    }
    for (uint16_t q = 0; q < dev->dp.n_txq; q++) {
        contended += __atomic_load_n(&dev->dp.txq[q].lock_contended, __ATOMIC_RELAXED);
    }
    json_object_object_add(o, "rx_missed", json_object_new_uint64(st.imissed));
    json_object_object_add(o, "rx_nombuf", json_object_new_uint64(st.rx_nombuf));
    json_object_object_add(o, "rx_errors", json_object_new_uint64(st.ierrors));
    json_object_object_add(o, "tx_errors", json_object_new_uint64(st.oerrors));
    json_object_object_add(o, "tx_lock_contended", json_object_new_uint64(contended));
}

/* Polls every device, those with link-state interrupts too: some drivers
 * (net_tap in DPDK 22.11) advertise RTE_ETH_DEV_INTR_LSC and keep their
 * link state current but never run the LSC callbacks.  report_link()
 * reports each change once, whoever sees it first. */
void
ethdev_dev_run(void)
{
    struct ethdev_dev *dev;

    LIST_FOREACH(dev, &ctx.devs, node) {
        if (!__atomic_load_n(&dev->dp.removed, __ATOMIC_ACQUIRE)) {
            report_link(dev, link_usable(dev), NULL);
        }
    }
}
