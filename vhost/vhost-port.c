/* vhost-port - vhost-user ports.  See vhost-port.h.
 *
 * DPDK's vhost callbacks carry only a device id, so this module keeps its
 * state in one file-scope context (set by vhost_init(), owned by the daemon
 * object's lifetime).  The port list is guarded by 'mutex', taken by the main
 * thread (create/destroy) and the vhost event thread (callbacks), never by
 * PMDs and never held while calling into rte_vhost_driver_*(). */
#include "vhost/vhost-port.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#define VLOG_MODULE "vhost"
#include "vswitchd/vlog.h"
#include "datapath/datapath.h"

/* Vring index of queue pair 'qp': the guest's rx ring (we enqueue) and the
 * guest's tx ring (we dequeue). */
#define GUEST_RX_VRING(qp) ((uint16_t) ((qp) * 2))
#define GUEST_TX_VRING(qp) ((uint16_t) ((qp) * 2 + 1))

struct vhost_port {
    /* Read by PMDs. */
    int vid;                             /* Atomic; -1 when no device. */
    uint8_t rx_enabled[DP_MAX_QUEUES];   /* Atomic; guest tx vring enabled. */
    uint8_t tx_enabled[DP_MAX_QUEUES];   /* Atomic; guest rx vring enabled. */
    uint16_t queues;
    unsigned tx_retries;
    struct rte_mempool *mp;

    /* Control plane; under ctx.mutex. */
    LIST_ENTRY(vhost_port) node;
    char name[DP_NAME_MAX];
    char path[PATH_MAX];
    bool client;
    int sock_gid;
    unsigned n_vrings;
};

static struct {
    pthread_mutex_t mutex;
    /* Held while the main thread reads a device's vring statistics, and by
     * destroy_device, so that the device cannot be freed under the reader.
     * Separate from 'mutex' because reading vring statistics takes the
     * vrings' access locks, which the vhost thread holds while it calls
     * vring_state_changed (which takes 'mutex'). */
    pthread_mutex_t dev_mutex;
    LIST_HEAD(, vhost_port) ports;
    struct datapath *dp;
    struct rte_mempool *mp;
    vhost_link_cb *link_cb;
    void *link_aux;
    bool initialized;
} ctx = { .mutex = PTHREAD_MUTEX_INITIALIZER,
          .dev_mutex = PTHREAD_MUTEX_INITIALIZER };

/* Offloads we do not implement: negotiating them would let guests send
 * partial checksums or GSO frames the switch would forward as is. */
static const uint64_t disabled_features =
    (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
    (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
    (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) |
    (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
    (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO);

/* Hot path. */

static uint16_t
vhost_port_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    struct vhost_port *vp = port->priv;
    int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);

    if (vid < 0 || !__atomic_load_n(&vp->rx_enabled[qid], __ATOMIC_RELAXED)) {
        return 0;
    }
    return rte_vhost_dequeue_burst(vid, GUEST_TX_VRING(qid), vp->mp, pkts, n);
}

static void
vhost_port_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts,
              uint16_t n, struct dp_stats *st)
{
    struct vhost_port *vp = port->priv;
    int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
    uint16_t qp = (uint16_t) (pmd_id % vp->queues);

    if (!__atomic_load_n(&vp->tx_enabled[qp], __ATOMIC_RELAXED)) {
        qp = 0;
    }
    if (vid < 0 || !__atomic_load_n(&vp->tx_enabled[qp], __ATOMIC_RELAXED)) {
        st->drops[DP_DROP_TX_LINK_DOWN] += n;
        rte_pktmbuf_free_bulk(pkts, n);
        return;
    }

    /* Several PMDs may share a vring: librte_vhost serialises enqueues with
     * the vring's access lock. */
    uint16_t sent = 0;
    unsigned retries = 0;
    do {
        uint16_t k = rte_vhost_enqueue_burst(vid, GUEST_RX_VRING(qp),
                                             pkts + sent, n - sent);
        if (!k) {
            break;
        }
        sent += k;
    } while (sent < n && retries++ < __atomic_load_n(&vp->tx_retries, __ATOMIC_RELAXED));

    uint64_t bytes = 0;
    for (uint16_t i = 0; i < sent; i++) {
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    st->tx_packets += sent;
    st->tx_bytes += bytes;
    st->drops[DP_DROP_TX_RING_FULL] += n - sent;
    /* The guest got copies; free (or unreference) all of ours. */
    rte_pktmbuf_free_bulk(pkts, n);
}

static bool
vhost_port_rxq_enabled(const struct dp_port *port, uint16_t qid)
{
    const struct vhost_port *vp = port->priv;

    return __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE) >= 0
           && __atomic_load_n(&vp->rx_enabled[qid], __ATOMIC_RELAXED);
}

const struct dp_port_ops vhost_port_ops = {
    .rx = vhost_port_rx,
    .tx = vhost_port_tx,
    .rxq_enabled = vhost_port_rxq_enabled,
};

/* Device callbacks, on DPDK's vhost event thread (or on the main thread from
 * inside rte_vhost_driver_unregister()). */

/* Returns the port whose socket is the device's, or NULL.  Caller holds
 * ctx.mutex. */
static struct vhost_port *
port_by_vid(int vid)
{
    char ifname[PATH_MAX];
    struct vhost_port *vp;

    if (rte_vhost_get_ifname(vid, ifname, sizeof ifname)) {
        return NULL;
    }
    LIST_FOREACH(vp, &ctx.ports, node) {
        if (!strcmp(vp->path, ifname)) {
            return vp;
        }
    }
    return NULL;
}

static int
new_device(int vid)
{
    char name[DP_NAME_MAX];
    unsigned n_vrings = rte_vhost_get_vring_num(vid);

    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_vid(vid);
    if (!vp) {
        pthread_mutex_unlock(&ctx.mutex);
        VLOG_WARN("vhost device %d: no port for its socket; refusing", vid);
        return -1;
    }
    for (unsigned i = 0; i < n_vrings; i++) {
        rte_vhost_enable_guest_notification(vid, (uint16_t) i, 0);
    }
    vp->n_vrings = n_vrings;
    __atomic_store_n(&vp->vid, vid, __ATOMIC_RELEASE);
    snprintf(name, sizeof name, "%s", vp->name);
    pthread_mutex_unlock(&ctx.mutex);

    if (n_vrings / 2 > vp->queues) {
        VLOG_WARN("%s: frontend has %u queue pairs, only %u polled (queues=%u)",
                  name, n_vrings / 2, vp->queues, vp->queues);
    }
    VLOG_INFO("%s: vhost device %d connected (%u vrings)", name, vid, n_vrings);
    if (ctx.link_cb) {
        ctx.link_cb(name, true, ctx.link_aux);
    }
    return 0;
}

static void
destroy_device(int vid)
{
    char name[DP_NAME_MAX];

    pthread_mutex_lock(&ctx.dev_mutex);
    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_vid(vid);
    if (!vp || __atomic_load_n(&vp->vid, __ATOMIC_RELAXED) != vid) {
        pthread_mutex_unlock(&ctx.mutex);
        pthread_mutex_unlock(&ctx.dev_mutex);
        return;
    }
    __atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
    snprintf(name, sizeof name, "%s", vp->name);
    pthread_mutex_unlock(&ctx.mutex);
    pthread_mutex_unlock(&ctx.dev_mutex);

    /* DPDK frees the device's vrings when we return: make sure no PMD is
     * still in a burst that loaded the old vid. */
    datapath_synchronize(ctx.dp);
    VLOG_INFO("%s: vhost device %d disconnected", name, vid);
    if (ctx.link_cb) {
        ctx.link_cb(name, false, ctx.link_aux);
    }
}

static int
vring_state_changed(int vid, uint16_t vring, int enable)
{
    uint16_t qp = vring / 2;

    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_vid(vid);
    if (vp && qp < DP_MAX_QUEUES) {
        uint8_t *flag = vring % 2 ? &vp->rx_enabled[qp] : &vp->tx_enabled[qp];
        __atomic_store_n(flag, enable ? 1 : 0, __ATOMIC_RELEASE);
    }
    VLOG_DBG("%s: vhost device %d: vring %u %s", vp ? vp->name : "?", vid, vring,
             enable ? "enabled" : "disabled");
    pthread_mutex_unlock(&ctx.mutex);
    return 0;
}

static int
new_connection(int vid)
{
    VLOG_DBG("vhost device %d: new connection", vid);
    return 0;
}

static void
destroy_connection(int vid)
{
    /* The device (if it got that far) has been destroyed already; forget
     * queue states so a reconnecting frontend starts clean. */
    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_vid(vid);
    if (vp) {
        for (unsigned q = 0; q < DP_MAX_QUEUES; q++) {
            __atomic_store_n(&vp->rx_enabled[q], 0, __ATOMIC_RELAXED);
            __atomic_store_n(&vp->tx_enabled[q], 0, __ATOMIC_RELAXED);
        }
        vp->n_vrings = 0;
    }
    pthread_mutex_unlock(&ctx.mutex);
    VLOG_DBG("vhost device %d: connection closed", vid);
}

static const struct rte_vhost_device_ops device_ops = {
    .new_device = new_device,
    .destroy_device = destroy_device,
    .vring_state_changed = vring_state_changed,
    .new_connection = new_connection,
    .destroy_connection = destroy_connection,
};

/* Control plane. */

int
vhost_init(struct datapath *dp, struct rte_mempool *mp, vhost_link_cb *cb, void *aux)
{
    if (ctx.initialized) {
        return -EALREADY;
    }
    LIST_INIT(&ctx.ports);
    ctx.dp = dp;
    ctx.mp = mp;
    ctx.link_cb = cb;
    ctx.link_aux = aux;
    ctx.initialized = true;
    return 0;
}

void
vhost_fini(void)
{
    ctx.initialized = false;
    ctx.dp = NULL;
    ctx.link_cb = NULL;
}

int
vhost_port_create(const struct vhost_port_params *p, struct vhost_port **vpp)
{
    struct vhost_port *vp;
    int err;

    if (!ctx.initialized || !p->queues || p->queues > DP_MAX_QUEUES) {
        return -EINVAL;
    }
    if (strlen(p->path) >= sizeof vp->path) {
        return -ENAMETOOLONG;
    }
    pthread_mutex_lock(&ctx.mutex);
    LIST_FOREACH(vp, &ctx.ports, node) {
        if (!strcmp(vp->path, p->path)) {
            pthread_mutex_unlock(&ctx.mutex);
            return -EEXIST;
        }
    }
    pthread_mutex_unlock(&ctx.mutex);

    vp = rte_zmalloc("vhost_port", sizeof *vp, RTE_CACHE_LINE_SIZE);
    if (!vp) {
        return -ENOMEM;
    }
    vp->vid = -1;
    vp->queues = p->queues;
    vp->tx_retries = p->tx_retries;
    vp->mp = ctx.mp;
    vp->client = p->client;
    vp->sock_gid = p->sock_gid;
    snprintf(vp->name, sizeof vp->name, "%s", p->name);
    snprintf(vp->path, sizeof vp->path, "%s", p->path);

    uint64_t flags = RTE_VHOST_USER_NET_STATS_ENABLE;
    if (p->client) {
        flags |= RTE_VHOST_USER_CLIENT;
    } else {
        /* A socket file left by a vswitchd that crashed would make bind()
         * fail.  The socket directory is ours and only one vswitchd serves
         * it (main.c checks), so a socket there is stale. */
        struct stat st;
        if (!lstat(vp->path, &st) && S_ISSOCK(st.st_mode) && !unlink(vp->path)) {
            VLOG_INFO("%s: removed stale socket %s", vp->name, vp->path);
        }
    }
    if (rte_vhost_driver_register(vp->path, flags)) {
        err = -EIO;
        VLOG_ERR("%s: cannot register vhost-user socket %s", vp->name, vp->path);
        goto free;
    }
    if (rte_vhost_driver_disable_features(vp->path, disabled_features)
        || rte_vhost_driver_callback_register(vp->path, &device_ops)) {
        err = -EIO;
        VLOG_ERR("%s: cannot configure vhost-user socket %s", vp->name, vp->path);
        rte_vhost_driver_unregister(vp->path);
        goto free;
    }

    pthread_mutex_lock(&ctx.mutex);
    LIST_INSERT_HEAD(&ctx.ports, vp, node);
    pthread_mutex_unlock(&ctx.mutex);
    *vpp = vp;
    return 0;

free:
    rte_free(vp);
    return err;
}

int
vhost_port_start(struct vhost_port *vp)
{
    if (rte_vhost_driver_start(vp->path)) {
        VLOG_ERR("%s: cannot start vhost-user socket %s", vp->name, vp->path);
        return -EIO;
    }
    if (!vp->client && chmod(vp->path, 0660)) {
        VLOG_WARN("%s: chmod %s: %s", vp->name, vp->path, strerror(errno));
    }
    if (!vp->client && vp->sock_gid >= 0 && chown(vp->path, (uid_t) -1,
                                                  (gid_t) vp->sock_gid)) {
        VLOG_WARN("%s: chown %s: %s", vp->name, vp->path, strerror(errno));
    }
    VLOG_INFO("%s: vhost-user %s %s", vp->name,
              vp->client ? "client connecting to" : "server listening on", vp->path);
    return 0;
}

void
vhost_port_destroy(struct vhost_port *vp)
{
    if (!vp) {
        return;
    }
    /* Disconnects the frontend (destroy_device runs, here or on the vhost
     * thread) and removes a server socket file.  Must not hold ctx.mutex. */
    if (rte_vhost_driver_unregister(vp->path)) {
        VLOG_WARN("%s: unregistering %s failed", vp->name, vp->path);
    }
    pthread_mutex_lock(&ctx.mutex);
    LIST_REMOVE(vp, node);
    pthread_mutex_unlock(&ctx.mutex);
    /* A callback that found the port before it left the list has finished:
     * it held the mutex while using it. */
    rte_free(vp);
}

void
vhost_port_get_info(const struct vhost_port *vp, struct vhost_port_info *info)
{
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&ctx.mutex);
    info->vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
    info->connected = info->vid >= 0;
    info->n_vrings = info->connected ? vp->n_vrings : 0;
    for (unsigned q = 0; q < DP_MAX_QUEUES; q++) {
        info->rx_enabled += __atomic_load_n(&vp->rx_enabled[q], __ATOMIC_RELAXED);
        info->tx_enabled += __atomic_load_n(&vp->tx_enabled[q], __ATOMIC_RELAXED);
    }
    snprintf(info->ifname, sizeof info->ifname, "%s", vp->path);
    info->mtu = -1;
    if (info->connected) {
        uint16_t mtu;
        if (!rte_vhost_get_mtu(info->vid, &mtu)) {
            info->mtu = mtu;
        }
    }
    pthread_mutex_unlock(&ctx.mutex);
}

void
vhost_port_set_tx_retries(struct vhost_port *vp, unsigned tx_retries)
{
    __atomic_store_n(&vp->tx_retries, tx_retries, __ATOMIC_RELAXED);
}

int
vhost_port_vring_stats(const struct vhost_port *vp, vhost_vring_stat_cb *cb, void *aux)
{
    enum { MAX_STATS = 64 };
    struct rte_vhost_stat_name names[MAX_STATS];
    struct rte_vhost_stat stats[MAX_STATS];
    int n_vrings = 0;

    pthread_mutex_lock(&ctx.dev_mutex);
    int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
    if (vid < 0) {
        pthread_mutex_unlock(&ctx.dev_mutex);
        return -ENOTCONN;
    }
    unsigned n = rte_vhost_get_vring_num(vid);
    for (unsigned q = 0; q < n && q < 2 * DP_MAX_QUEUES; q++) {
        int k = rte_vhost_vring_stats_get_names(vid, (uint16_t) q, names, MAX_STATS);
        if (k <= 0 || k > MAX_STATS
            || rte_vhost_vring_stats_get(vid, (uint16_t) q, stats, MAX_STATS) != k) {
            continue;
        }
        for (int i = 0; i < k; i++) {
            cb(q, names[i].name, stats[i].value, aux);
        }
        n_vrings++;
    }
    pthread_mutex_unlock(&ctx.dev_mutex);
    return n_vrings;
}

bool
vhost_port_is_up(const struct vhost_port *vp)
{
    struct vhost_port_info info;

    vhost_port_get_info(vp, &info);
    return info.connected && (info.rx_enabled || info.tx_enabled);
}
