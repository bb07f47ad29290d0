/* vhost-port - the vhost-user port provider.  See vhost-port.h.
 *
 * DPDK's vhost callbacks carry only a device id, so this module keeps its
 * state in one file-scope context (set by the class's init(), for the
 * daemon's lifetime).  The port list is guarded by 'mutex', taken by the
 * main thread (create/destroy/show) and the vhost event thread (callbacks),
 * never by PMDs and never held while calling rte_vhost_driver_*(). */
#include "vhost/vhost-port.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>
#include <rte_vhost.h>

#define VLOG_MODULE "vhost"
#include "lib/fsutil.h"
#include "lib/vlog.h"
#include "datapath/datapath.h"

#define DEFAULT_TX_RETRIES 8
#define MAX_TX_RETRIES     32
#define NO_TXQ             UINT8_MAX

/* DPDK 22.11's vhost library watches every server socket and every
 * connection in one fdset of at most 1,024 descriptors (lib/vhost/fd_man.h,
 * MAX_FDS), and holds at most 1,024 sockets and devices.  A connection that
 * does not fit is closed by the library with only a log line of its own, so
 * we count: new ports are refused beyond VHOST_MAX_PORTS (leaving room for
 * at least 24 connections when all of them are servers), and a connection
 * that would not fit is refused with a message that says why.  Client-mode
 * ports hold no listening socket: 1,000 of them can all be connected. */
#define VHOST_FDSET_MAX    1024
#define VHOST_MAX_PORTS    1000

/* Vring index of queue pair 'qp': the guest's rx ring (we enqueue) and the
 * guest's tx ring (we dequeue). */
#define GUEST_RX_VRING(qp) ((uint16_t) ((qp) * 2))
#define GUEST_TX_VRING(qp) ((uint16_t) ((qp) * 2 + 1))

struct vhost_port {
    /* Read by PMDs. */
    int vid;                             /* Atomic; -1 when no device. */
    uint8_t rx_enabled[DP_MAX_QUEUES];   /* Atomic; guest tx vring enabled. */
    uint8_t tx_enabled[DP_MAX_QUEUES];   /* Atomic; guest rx vring enabled. */
    uint8_t txq_of_pmd[DP_MAX_PMDS];     /* Atomic; queue pair PMD i sends
                                          * on, NO_TXQ if none is enabled. */
    uint8_t txq_locked[DP_MAX_QUEUES];   /* Atomic; take tx_lock[q]. */
    uint16_t queues;
    unsigned tx_retries;                 /* Atomic. */
    struct rte_mempool *mp;
    rte_spinlock_t tx_lock[DP_MAX_QUEUES];

    /* Control plane; under ctx.mutex. */
    LIST_ENTRY(vhost_port) node;
    char name[DP_NAME_MAX];
    char path[PATH_MAX];
    bool client;
    bool listening;                      /* Server socket started. */
    int conn_vid;                        /* The connection we serve, or -1. */
    unsigned n_vrings;
    uint64_t refused;                    /* Connections refused (busy). */
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
    unsigned n_ports;                   /* In 'ports'. */
    unsigned n_listening;               /* Server sockets started. */
    unsigned n_conns;                   /* Connections accepted. */
    struct port_env env;
    char sock_dir[PATH_MAX];
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
    uint8_t qp = __atomic_load_n(&vp->txq_of_pmd[pmd_id], __ATOMIC_ACQUIRE);

    if (vid < 0 || qp == NO_TXQ) {
        st->drops[DP_DROP_TX_LINK_DOWN] += n;
        rte_pktmbuf_free_bulk(pkts, n);
        return;
    }

    /* Our own lock while another PMD may send on this vring too: the
     * library's internal locking is not part of its API. */
    bool locked = __atomic_load_n(&vp->txq_locked[qp], __ATOMIC_ACQUIRE);
    if (locked) {
        rte_spinlock_lock(&vp->tx_lock[qp]);
    }
    uint16_t sent = 0;
    unsigned retries = 0;
    unsigned max_retries = __atomic_load_n(&vp->tx_retries, __ATOMIC_RELAXED);
    do {
        uint16_t k = rte_vhost_enqueue_burst(vid, GUEST_RX_VRING(qp),
                                             pkts + sent, n - sent);
        if (!k) {
            break;
        }
        sent += k;
    } while (sent < n && retries++ < max_retries);
    if (locked) {
        rte_spinlock_unlock(&vp->tx_lock[qp]);
    }

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

static const struct dp_port_ops vhost_dp_ops = {
    .rx = vhost_port_rx,
    .tx = vhost_port_tx,
    .rxq_enabled = vhost_port_rxq_enabled,
};

/* Device callbacks, on DPDK's vhost event thread (or on the main thread from
 * inside rte_vhost_driver_unregister()).  vring_state_changed runs with the
 * device's vring locks held, which a PMD in rte_vhost_enqueue_burst() may be
 * waiting for: nothing here may wait for the PMDs, except destroy_device
 * (which DPDK calls without those locks). */

static struct vhost_port *
port_by_path(const char *path)
{
    struct vhost_port *vp;

    LIST_FOREACH(vp, &ctx.ports, node) {
        if (!strcmp(vp->path, path)) {
            return vp;
        }
    }
    return NULL;
}

/* Returns the port whose socket is the device's, or NULL.  Caller holds
 * ctx.mutex. */
static struct vhost_port *
port_by_socket(int vid)
{
    char ifname[PATH_MAX];

    if (rte_vhost_get_ifname(vid, ifname, sizeof ifname)) {
        return NULL;
    }
    return port_by_path(ifname);
}

/* Returns the port whose current connection is 'vid', or NULL.  Caller
 * holds ctx.mutex. */
static struct vhost_port *
port_by_conn(int vid)
{
    struct vhost_port *vp = port_by_socket(vid);

    return vp && vp->conn_vid == vid ? vp : NULL;
}

static void
report(const char *name, const char *type)
{
    if (ctx.env.event) {
        ctx.env.event(ctx.env.event_aux, name, type);
    }
}

static void
request_run(void)
{
    if (ctx.env.request_run) {
        ctx.env.request_run(ctx.env.event_aux);
    }
}

static int
new_connection(int vid)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
    char name[DP_NAME_MAX];

    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_socket(vid);
    if (!vp) {
        pthread_mutex_unlock(&ctx.mutex);
        return -1;
    }
    struct stat st;
    if (vp->client && !lstat(vp->path, &st) && !S_ISSOCK(st.st_mode)) {
        /* A (re)connection of a client port: librte_vhost connected by path,
         * and the socket was checked at create time only.  If the name is
         * now a symlink, we may be talking to something else: drop the
         * connection before any message is exchanged.  librte_vhost does
         * not retry a connection refused here: the port stays down until
         * set-port re-creates it (fail closed).  A name that is gone (the
         * frontend exiting right after accepting) is not refused. */
        VLOG_WARN_RL(&rl, "%s: refusing vhost-user connection (device %d): %s is "
                     "no longer a socket (a symlink?)", vp->name, vid, vp->path);
        pthread_mutex_unlock(&ctx.mutex);
        return -1;
    }
    if (ctx.n_listening + ctx.n_conns + 1 > VHOST_FDSET_MAX) {
        vp->refused++;
        snprintf(name, sizeof name, "%s", vp->name);
        unsigned listening = ctx.n_listening, conns = ctx.n_conns;
        pthread_mutex_unlock(&ctx.mutex);
        VLOG_WARN_RL(&rl, "%s: refusing vhost-user connection (device %d): DPDK's "
                     "vhost library can watch at most %u descriptors, and %u server "
                     "sockets and %u connections use them all (use vhost-user-client "
                     "ports, which hold no listening socket)", name, vid,
                     VHOST_FDSET_MAX, listening, conns);
        return -1;
    }
    if (vp->conn_vid >= 0) {
        /* A socket serves one frontend: a second one would take over the
         * port's queues under the first one's feet. */
        vp->refused++;
        snprintf(name, sizeof name, "%s", vp->name);
        pthread_mutex_unlock(&ctx.mutex);
        VLOG_WARN_RL(&rl, "%s: refusing a second vhost-user connection (device %d): "
                     "the port already serves one", name, vid);
        return -1;
    }
    vp->conn_vid = vid;
    ctx.n_conns++;
    pthread_mutex_unlock(&ctx.mutex);
    VLOG_DBG("vhost device %d: new connection", vid);
    return 0;
}

static int
new_device(int vid)
{
    char name[DP_NAME_MAX];
    unsigned n_vrings = rte_vhost_get_vring_num(vid);

    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_conn(vid);
    if (!vp) {
        pthread_mutex_unlock(&ctx.mutex);
        VLOG_WARN("vhost device %d: no port for its connection; refusing", vid);
        return -1;
    }
    for (unsigned i = 0; i < n_vrings; i++) {
        rte_vhost_enable_guest_notification(vid, (uint16_t) i, 0);
    }
    vp->n_vrings = n_vrings;
    __atomic_store_n(&vp->vid, vid, __ATOMIC_RELEASE);
    snprintf(name, sizeof name, "%s", vp->name);
    uint16_t queues = vp->queues;
    pthread_mutex_unlock(&ctx.mutex);

    if (n_vrings / 2 > queues) {
        VLOG_WARN("%s: frontend has %u queue pairs, only %u polled (queues=%u)",
                  name, n_vrings / 2, queues, queues);
    }
    VLOG_INFO("%s: vhost device %d connected (%u vrings)", name, vid, n_vrings);
    request_run();
    report(name, "vhost_connected");
    return 0;
}

static void
destroy_device(int vid)
{
    char name[DP_NAME_MAX] = "";

    pthread_mutex_lock(&ctx.dev_mutex);
    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_conn(vid);
    if (vp && __atomic_load_n(&vp->vid, __ATOMIC_RELAXED) == vid) {
        __atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
        snprintf(name, sizeof name, "%s", vp->name);
    }
    pthread_mutex_unlock(&ctx.mutex);
    pthread_mutex_unlock(&ctx.dev_mutex);

    /* DPDK frees the device's vrings when we return: make sure no PMD is
     * still in a burst that loaded this vid.  Always, whatever the lookup
     * found: a burst may still run on a device we no longer map. */
    datapath_synchronize(ctx.env.dp);
    if (name[0]) {
        VLOG_INFO("%s: vhost device %d disconnected", name, vid);
        request_run();
        report(name, "vhost_disconnected");
    }
}

static int
vring_state_changed(int vid, uint16_t vring, int enable)
{
    uint16_t qp = vring / 2;

    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_conn(vid);
    if (vp && qp < DP_MAX_QUEUES) {
        uint8_t *flag = vring % 2 ? &vp->rx_enabled[qp] : &vp->tx_enabled[qp];
        __atomic_store_n(flag, enable ? 1 : 0, __ATOMIC_RELEASE);
    }
    VLOG_DBG("%s: vhost device %d: vring %u %s", vp ? vp->name : "?", vid, vring,
             enable ? "enabled" : "disabled");
    pthread_mutex_unlock(&ctx.mutex);
    if (vp) {
        request_run();      /* The tx queue map is recomputed there. */
    }
    return 0;
}

static void
destroy_connection(int vid)
{
    /* The device (if it got that far) has been destroyed already; forget
     * queue states so a reconnecting frontend starts clean. */
    pthread_mutex_lock(&ctx.mutex);
    struct vhost_port *vp = port_by_conn(vid);
    if (vp) {
        for (unsigned q = 0; q < DP_MAX_QUEUES; q++) {
            __atomic_store_n(&vp->rx_enabled[q], 0, __ATOMIC_RELAXED);
            __atomic_store_n(&vp->tx_enabled[q], 0, __ATOMIC_RELAXED);
        }
        vp->n_vrings = 0;
        vp->conn_vid = -1;
        ctx.n_conns--;
    }
    pthread_mutex_unlock(&ctx.mutex);
    if (vp) {
        request_run();
    }
    VLOG_DBG("vhost device %d: connection closed", vid);
}

static const struct rte_vhost_device_ops device_ops = {
    .new_device = new_device,
    .destroy_device = destroy_device,
    .vring_state_changed = vring_state_changed,
    .new_connection = new_connection,
    .destroy_connection = destroy_connection,
};

/* The tx queue map: which queue pair each PMD sends on, and which queue
 * pairs are locked.  Main thread only.
 *
 * PMD i sends on the (i mod n)th enabled queue pair.  A queue pair that
 * more than one PMD uses is locked.  A PMD may still use the previous map
 * until the next grace period, so a change goes: lock every queue pair, wait
 * for the PMDs, publish the new map, wait again, then unlock the queue pairs
 * that have one user; at no point can two PMDs send on one vring without
 * both taking its lock.  With one PMD nothing is ever shared or locked. */
static void
txmap_refresh(struct vhost_port *vp)
{
    unsigned n_pmds = ctx.env.n_pmds;
    uint8_t enabled[DP_MAX_QUEUES], map[DP_MAX_PMDS];
    unsigned users[DP_MAX_QUEUES] = { 0 };
    unsigned n_en = 0;
    bool live = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE) >= 0;
    bool same = true;

    for (unsigned q = 0; q < vp->queues; q++) {
        if (live && __atomic_load_n(&vp->tx_enabled[q], __ATOMIC_ACQUIRE)) {
            enabled[n_en++] = (uint8_t) q;
        }
    }
    for (unsigned p = 0; p < n_pmds; p++) {
        map[p] = n_en ? enabled[p % n_en] : NO_TXQ;
        if (map[p] != NO_TXQ) {
            users[map[p]]++;
        }
        same &= map[p] == __atomic_load_n(&vp->txq_of_pmd[p], __ATOMIC_RELAXED);
    }
    if (same) {
        return;
    }
    if (n_pmds > 1) {
        for (unsigned q = 0; q < vp->queues; q++) {
            __atomic_store_n(&vp->txq_locked[q], 1, __ATOMIC_RELEASE);
        }
        datapath_synchronize(ctx.env.dp);
    }
    for (unsigned p = 0; p < n_pmds; p++) {
        __atomic_store_n(&vp->txq_of_pmd[p], map[p], __ATOMIC_RELEASE);
    }
    if (n_pmds > 1) {
        datapath_synchronize(ctx.env.dp);
        for (unsigned q = 0; q < vp->queues; q++) {
            __atomic_store_n(&vp->txq_locked[q], users[q] > 1, __ATOMIC_RELEASE);
        }
    }
}

/* port_class.run: brings every port's tx queue map up to date.  The port
 * list changes only on the main thread, so it is walked without the mutex
 * (which must not be held while waiting for PMDs: see above). */
static void
vhost_run(void)
{
    struct vhost_port *vp;

    LIST_FOREACH(vp, &ctx.ports, node) {
        txmap_refresh(vp);
    }
}

/* Control plane, main thread. */

static int
vhost_init(const struct port_env *env)
{
    if (ctx.initialized) {
        return 0;           /* Both classes share the module. */
    }
    if (strlen(env->vhost_sock_dir) >= sizeof ctx.sock_dir) {
        return -ENAMETOOLONG;
    }
    LIST_INIT(&ctx.ports);
    ctx.env = *env;
    snprintf(ctx.sock_dir, sizeof ctx.sock_dir, "%s", env->vhost_sock_dir);
    ctx.env.vhost_sock_dir = ctx.sock_dir;
    ctx.initialized = true;
    return 0;
}

static void
vhost_fini(void)
{
    ctx.initialized = false;
    ctx.env.event = NULL;
    ctx.env.request_run = NULL;
}

/* The options of a vhost port, parsed. */
struct vhost_config {
    bool client;
    uint16_t queues;
    unsigned tx_retries;
    char path[PATH_MAX];
};

/* Resolves the socket path of port 'name' from option 'path' (NULL if
 * absent) into 'out' (PATH_MAX bytes).  The socket must be directly inside
 * the vhost socket directory. */
static int
resolve_path(const char *name, const char *path, bool required, char *out, char *err)
{
    char dir[PATH_MAX], resolved[PATH_MAX];

    if (!path) {
        if (required) {
            return port_fail(err, -EINVAL, "port \"%s\": option path= is required for "
                        "type vhost-user-client", name);
        }
        path = name;
    }
    if (!path[0] || strlen(path) >= PATH_MAX - 1) {
        return port_fail(err, -EINVAL, "port \"%s\": invalid path", name);
    }
    if (!strchr(path, '/')) {
        if (!port_name_valid(path)) {
            return port_fail(err, -EINVAL, "port \"%s\": invalid socket name \"%s\"", name, path);
        }
        if (snprintf(out, PATH_MAX, "%s/%s", ctx.sock_dir, path) >= PATH_MAX) {
            return port_fail(err, -EINVAL, "port \"%s\": socket path too long", name);
        }
        return 0;
    }
    if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./")
        || strstr(path, "//")) {
        return port_fail(err, -EINVAL, "port \"%s\": path \"%s\" must be an absolute, "
                    "normalized path inside %s", name, path, ctx.sock_dir);
    }
    snprintf(dir, sizeof dir, "%s", path);
    const char *base = strrchr(path, '/') + 1;
    dir[base - path - 1] = '\0';
    if (!port_name_valid(base) || !realpath(dir[0] ? dir : "/", resolved)
        || strcmp(resolved, ctx.sock_dir)) {
        return port_fail(err, -EINVAL, "port \"%s\": path \"%s\" is not a valid socket name "
                    "inside the vhost socket directory %s", name, path, ctx.sock_dir);
    }
    if (snprintf(out, PATH_MAX, "%s/%s", ctx.sock_dir, base) >= PATH_MAX) {
        return port_fail(err, -EINVAL, "port \"%s\": socket path too long", name);
    }
    return 0;
}

static int
parse_options(const char *name, struct json_object *options, bool client,
              struct vhost_config *cfg, char *err)
{
    const char *path = NULL;
    unsigned v;
    int rc;

    *cfg = (struct vhost_config) { .client = client, .queues = 1,
                                   .tx_retries = DEFAULT_TX_RETRIES };
    json_object_object_foreach(options, key, val) {
        const char *s = json_object_get_string(val);
        if (!strcmp(key, "path")) {
            path = s;
        } else if (!strcmp(key, "queues")) {
            if ((rc = port_parse_uint(name, key, s, 1, DP_MAX_QUEUES, &v, err))) {
                return rc;
            }
            cfg->queues = (uint16_t) v;
        } else if (!strcmp(key, "tx-retries")) {
            if ((rc = port_parse_uint(name, key, s, 0, MAX_TX_RETRIES, &v, err))) {
                return rc;
            }
            cfg->tx_retries = v;
        } else {
            return port_fail(err, -EINVAL, "port \"%s\": unknown option \"%s\" for type "
                        "%s (known: path, queues, tx-retries)", name, key,
                        client ? "vhost-user-client" : "vhost-user");
        }
    }
    return resolve_path(name, path, client, cfg->path, err);
}

static int
vhost_server_check(const char *name, struct json_object *options, char *err)
{
    struct vhost_config cfg;
    return parse_options(name, options, false, &cfg, err);
}

static int
vhost_client_check(const char *name, struct json_object *options, char *err)
{
    struct vhost_config cfg;
    return parse_options(name, options, true, &cfg, err);
}

/* Checks socket 'path' of port 'name' before librte_vhost gets it.
 *
 * Client ports: librte_vhost connects by path, so a symlink there would make
 * us (root) connect wherever it points: 'path' must not be a symlink, and
 * if it exists it must be a socket.  The frontend may create it later;
 * new_connection() checks again on every (re)connection, which narrows but
 * cannot close the window between that check and librte_vhost's connect()
 * (see Documentation/security.md).
 *
 * Server ports: bind() fails on an existing file, and a socket file left by
 * a vswitchd that crashed must not keep the port from coming back.  Only a
 * stale socket is removed: one owned by our user that nobody accepts
 * connections on.  A live socket (another port's frontend, the control
 * socket when --vhost-sock-dir is the rundir, another daemon) and anything
 * that is not a socket of ours are left alone and the port is refused.
 *
 * The socket directory is checked again first (fsutil_check_dir()), as at
 * start.
 *
 * Returns 0 or a negative errno after port_fail(). */
static int
check_socket_path(const char *name, const char *path, bool client, char *err)
{
    struct stat st;
    char why[PATH_MAX + 128];

    /* main.c checked the directory at start; its mode may have changed. */
    if (fsutil_check_dir(ctx.sock_dir, true, why, sizeof why)) {
        return port_fail(err, -EPERM, "port \"%s\": unsafe vhost socket directory: %s",
                         name, why);
    }
    if (lstat(path, &st)) {
        if (errno == ENOENT) {
            return 0;
        }
        return port_fail(err, -errno, "port \"%s\": %s: %s", name, path,
                         strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
        return port_fail(err, -ELOOP, "port \"%s\": %s is a symlink; vhost-user "
                         "sockets must be real sockets inside the socket directory",
                         name, path);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return port_fail(err, -EEXIST, "port \"%s\": %s exists and is not a socket",
                         name, path);
    }
    if (client) {
        return 0;
    }
    if (fsutil_socket_in_use(path)) {
        return port_fail(err, -EADDRINUSE, "port \"%s\": %s is in use: another "
                         "process accepts connections on it", name, path);
    }
    if (st.st_uid != geteuid()) {
        return port_fail(err, -EEXIST, "port \"%s\": %s is a socket of uid %u, not "
                         "ours: not removing it", name, path, (unsigned) st.st_uid);
    }
    if (unlink(path) && errno != ENOENT) {
        return port_fail(err, -errno, "port \"%s\": cannot remove stale socket %s: %s",
                         name, path, strerror(errno));
    }
    VLOG_INFO("%s: removed stale socket %s", name, path);
    return 0;
}

static int
vhost_create(const char *name, struct json_object *options, bool client,
             void **devp, char *err)
{
    struct vhost_config cfg;
    struct vhost_port *vp;
    int rc;

    if ((rc = parse_options(name, options, client, &cfg, err))) {
        return rc;
    }
    pthread_mutex_lock(&ctx.mutex);
    vp = port_by_path(cfg.path);
    if (vp) {
        rc = port_fail(err, -EEXIST, "port \"%s\": socket %s is already used by port \"%s\"",
                  name, cfg.path, vp->name);
    } else if (ctx.n_ports >= VHOST_MAX_PORTS) {
        rc = port_fail(err, -ENOSPC, "port \"%s\": too many vhost-user ports (at most "
                       "%u: DPDK's vhost library watches at most %u descriptors, one "
                       "per server socket and one per connection)", name,
                       VHOST_MAX_PORTS, VHOST_FDSET_MAX);
    }
    pthread_mutex_unlock(&ctx.mutex);
    if (rc) {
        return rc;
    }

    vp = rte_zmalloc("vhost_port", sizeof *vp, RTE_CACHE_LINE_SIZE);
    if (!vp) {
        return port_fail(err, -ENOMEM, "port \"%s\": out of memory", name);
    }
    vp->vid = -1;
    vp->conn_vid = -1;
    vp->queues = cfg.queues;
    vp->tx_retries = cfg.tx_retries;
    vp->mp = ctx.env.mp;
    vp->client = client;
    memset(vp->txq_of_pmd, NO_TXQ, sizeof vp->txq_of_pmd);
    for (unsigned q = 0; q < DP_MAX_QUEUES; q++) {
        rte_spinlock_init(&vp->tx_lock[q]);
    }
    snprintf(vp->name, sizeof vp->name, "%s", name);
    snprintf(vp->path, sizeof vp->path, "%s", cfg.path);

    uint64_t flags = RTE_VHOST_USER_NET_STATS_ENABLE;
    if (client) {
        flags |= RTE_VHOST_USER_CLIENT;
    }
    if ((rc = check_socket_path(vp->name, vp->path, client, err))) {
        rte_free(vp);
        return rc;
    }
    if (rte_vhost_driver_register(vp->path, flags)) {
        rte_free(vp);
        return port_fail(err, -EIO, "port \"%s\": cannot register vhost-user socket %s",
                    name, cfg.path);
    }
    if (rte_vhost_driver_disable_features(vp->path, disabled_features)
        || rte_vhost_driver_callback_register(vp->path, &device_ops)) {
        rte_vhost_driver_unregister(vp->path);
        rte_free(vp);
        return port_fail(err, -EIO, "port \"%s\": cannot configure vhost-user socket %s",
                    name, cfg.path);
    }
    pthread_mutex_lock(&ctx.mutex);
    LIST_INSERT_HEAD(&ctx.ports, vp, node);
    ctx.n_ports++;
    pthread_mutex_unlock(&ctx.mutex);
    *devp = vp;
    return 0;
}

static int
vhost_server_create(const char *name, struct json_object *options, void **devp,
                    char *err)
{
    return vhost_create(name, options, false, devp, err);
}

static int
vhost_client_create(const char *name, struct json_object *options, void **devp,
                    char *err)
{
    return vhost_create(name, options, true, devp, err);
}

static int
vhost_start(void *dev, char *err)
{
    struct vhost_port *vp = dev;

    /* A server socket is created by librte_vhost: bind() and listen() in
     * rte_vhost_driver_start(), on a descriptor we never see, so we cannot
     * fchmod() it before bind() as rpc-server.c does.  The umask gives the
     * file its mode at birth instead: bind() makes it 0777 & ~umask = 0660,
     * so nobody outside our user and group can connect even for an instant.
     * The umask is process-wide, but only this (main) thread creates files
     * while the daemon runs: the vhost threads accept and connect, PMDs
     * make no syscalls, DPDK's EAL/telemetry threads created their files at
     * start-up; and a file some other thread did create meanwhile would
     * get at most 0660 (see Documentation/security.md, "umask around
     * bind").
     * Then the group is set through a descriptor opened with O_NOFOLLOW on
     * the socket file we just made (fsutil_secure_socket()), never by a
     * path: chown()/chmod() by path would follow a symlink put in its
     * place. */
    mode_t old_umask = vp->client ? 0 : umask(0117);
    int start_rc = rte_vhost_driver_start(vp->path);
    if (!vp->client) {
        umask(old_umask);
    }
    if (start_rc) {
        return port_fail(err, -EIO, "port \"%s\": cannot start vhost-user socket %s",
                    vp->name, vp->path);
    }
    if (!vp->client) {
        pthread_mutex_lock(&ctx.mutex);
        vp->listening = true;
        ctx.n_listening++;
        pthread_mutex_unlock(&ctx.mutex);
    }
    if (!vp->client) {
        int rc = fsutil_secure_socket(vp->path, 0660, ctx.env.vhost_sock_gid);
        if (rc == -ELOOP || rc == -ENOTSOCK || rc == -EEXIST) {
            return port_fail(err, rc, "port \"%s\": socket %s was replaced after bind() "
                             "(%s): refusing it", vp->name, vp->path, strerror(-rc));
        } else if (rc) {
            return port_fail(err, rc, "port \"%s\": cannot set the mode and group of "
                             "socket %s: %s", vp->name, vp->path, strerror(-rc));
        }
    }
    VLOG_INFO("%s: vhost-user %s %s", vp->name,
              vp->client ? "client connecting to" : "server listening on", vp->path);
    return 0;
}

static void
vhost_destroy(void *dev)
{
    struct vhost_port *vp = dev;

    /* Disconnects the frontend (destroy_device runs, here or on the vhost
     * thread) and removes a server socket file.  Must not hold ctx.mutex. */
    if (rte_vhost_driver_unregister(vp->path)) {
        VLOG_WARN("%s: unregistering %s failed", vp->name, vp->path);
    }
    pthread_mutex_lock(&ctx.mutex);
    LIST_REMOVE(vp, node);
    ctx.n_ports--;
    if (vp->listening) {
        ctx.n_listening--;
    }
    pthread_mutex_unlock(&ctx.mutex);
    /* A callback that found the port before it left the list has finished:
     * it held the mutex while using it. */
    rte_free(vp);
}

/* Returns true if objects 'a' and 'b' (of strings) differ only in 'key'. */
static bool
differ_only_in(struct json_object *a, struct json_object *b, const char *key)
{
    struct json_object *a2 = NULL, *b2 = NULL;
    bool same;

    json_object_deep_copy(a, &a2, NULL);
    json_object_deep_copy(b, &b2, NULL);
    json_object_object_del(a2, key);
    json_object_object_del(b2, key);
    same = json_object_equal(a2, b2);
    json_object_put(a2);
    json_object_put(b2);
    return same;
}

static int
vhost_reconfigure(void *dev, struct json_object *old, struct json_object *options,
                  char *err)
{
    struct vhost_port *vp = dev;
    struct vhost_config cfg;
    int rc;

    if (!differ_only_in(old, options, "tx-retries")) {
        return -EAGAIN;
    }
    if ((rc = parse_options(vp->name, options, vp->client, &cfg, err))) {
        return rc;
    }
    /* PMDs see it from their next burst; nothing is torn down. */
    __atomic_store_n(&vp->tx_retries, cfg.tx_retries, __ATOMIC_RELAXED);
    VLOG_INFO("port %s: tx-retries=%u", vp->name, cfg.tx_retries);
    return 0;
}

static uint16_t
vhost_n_rxq(const void *dev)
{
    const struct vhost_port *vp = dev;
    return vp->queues;
}

static bool
vhost_is_up(const void *dev)
{
    const struct vhost_port *vp = dev;

    /* Up once PMDs can send to it: connected, and the tx queue map (which
     * the main thread builds from the enabled queues) points somewhere. */
    return __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE) >= 0
           && __atomic_load_n(&vp->txq_of_pmd[0], __ATOMIC_ACQUIRE) != NO_TXQ;
}

/* Appends to an array of {"vring": N, name: value...} objects, one per
 * vring. */
static void
vring_stat_json(struct json_object *vrings, unsigned vring, const char *name,
                uint64_t value)
{
    size_t n = json_object_array_length(vrings);
    struct json_object *last = n ? json_object_array_get_idx(vrings, n - 1) : NULL;
    struct json_object *id;

    if (!last || !json_object_object_get_ex(last, "vring", &id)
        || (unsigned) json_object_get_int(id) != vring) {
        last = json_object_new_object();
        json_object_object_add(last, "vring", json_object_new_int((int) vring));
        json_object_object_add(last, "direction", json_object_new_string(
                                   vring % 2 ? "from_guest" : "to_guest"));
        json_object_array_add(vrings, last);
    }
    json_object_object_add(last, name, json_object_new_uint64(value));
}

/* librte_vhost's statistics of every vring of the connected device
 * (RTE_VHOST_USER_NET_STATS_ENABLE): vring 2q is the guest's rx ring of
 * queue pair q (what the switch sends), 2q+1 its tx ring.  May wait briefly
 * for the vhost event thread. */
static struct json_object *
vring_stats_json(const struct vhost_port *vp)
{
    enum { MAX_STATS = 64 };
    struct rte_vhost_stat_name names[MAX_STATS];
    struct rte_vhost_stat stats[MAX_STATS];
    struct json_object *vrings = json_object_new_array();

    pthread_mutex_lock(&ctx.dev_mutex);
    int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
    unsigned n = vid >= 0 ? rte_vhost_get_vring_num(vid) : 0;
    for (unsigned q = 0; q < n && q < 2 * DP_MAX_QUEUES; q++) {
        int k = rte_vhost_vring_stats_get_names(vid, (uint16_t) q, names, MAX_STATS);
        if (k <= 0 || k > MAX_STATS
            || rte_vhost_vring_stats_get(vid, (uint16_t) q, stats, MAX_STATS) != k) {
            continue;
        }
        for (int i = 0; i < k; i++) {
            vring_stat_json(vrings, q, names[i].name, stats[i].value);
        }
    }
    pthread_mutex_unlock(&ctx.dev_mutex);
    return vrings;
}

static void
vhost_show(const void *dev, struct json_object *out)
{
    const struct vhost_port *vp = dev;
    unsigned rx_enabled = 0, tx_enabled = 0, n_vrings;
    int mtu = -1;

    pthread_mutex_lock(&ctx.mutex);
    int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
    n_vrings = vid >= 0 ? vp->n_vrings : 0;
    for (unsigned q = 0; q < DP_MAX_QUEUES; q++) {
        rx_enabled += __atomic_load_n(&vp->rx_enabled[q], __ATOMIC_RELAXED);
        tx_enabled += __atomic_load_n(&vp->tx_enabled[q], __ATOMIC_RELAXED);
    }
    uint16_t m;
    if (vid >= 0 && !rte_vhost_get_mtu(vid, &m)) {
        mtu = m;
    }
    uint64_t refused = vp->refused;
    pthread_mutex_unlock(&ctx.mutex);

    struct json_object *txqs = json_object_new_array();
    for (unsigned p = 0; p < ctx.env.n_pmds; p++) {
        uint8_t q = __atomic_load_n(&vp->txq_of_pmd[p], __ATOMIC_RELAXED);
        json_object_array_add(txqs, q == NO_TXQ ? NULL : json_object_new_int(q));
    }
    struct json_object *vh = json_object_new_object();
    json_object_object_add(vh, "mode", json_object_new_string(vp->client ? "client"
                                                                         : "server"));
    json_object_object_add(vh, "connected", json_object_new_boolean(vid >= 0));
    json_object_object_add(vh, "vid", json_object_new_int(vid));
    json_object_object_add(vh, "ifname", json_object_new_string(vp->path));
    json_object_object_add(vh, "n_vrings", json_object_new_int((int) n_vrings));
    json_object_object_add(vh, "rx_queues_enabled", json_object_new_int((int) rx_enabled));
    json_object_object_add(vh, "tx_queues_enabled", json_object_new_int((int) tx_enabled));
    json_object_object_add(vh, "tx_queue_of_pmd", txqs);
    json_object_object_add(vh, "connections_refused", json_object_new_uint64(refused));
    if (mtu >= 0) {
        json_object_object_add(vh, "mtu", json_object_new_int(mtu));
    }
    json_object_object_add(vh, "vrings", vring_stats_json(vp));
    json_object_object_add(out, "socket", json_object_new_string(vp->path));
    json_object_object_add(out, "vhost", vh);
}

const struct port_class vhost_user_class = {
    .type = "vhost-user",
    .options_help = "path, queues, tx-retries",
    .init = vhost_init,
    .fini = vhost_fini,
    .run = vhost_run,
    .check = vhost_server_check,
    .create = vhost_server_create,
    .start = vhost_start,
    .destroy = vhost_destroy,
    .reconfigure = vhost_reconfigure,
    .dp_ops = &vhost_dp_ops,
    .n_rxq = vhost_n_rxq,
    .is_up = vhost_is_up,
    .show = vhost_show,
};

/* The same provider; vswitchd connects instead of listening.  init() and
 * fini() are the module's (idempotent); run() is the server class's. */
const struct port_class vhost_user_client_class = {
    .type = "vhost-user-client",
    .options_help = "path (required), queues, tx-retries",
    .init = vhost_init,
    .fini = vhost_fini,
    .check = vhost_client_check,
    .create = vhost_client_create,
    .start = vhost_start,
    .destroy = vhost_destroy,
    .reconfigure = vhost_reconfigure,
    .dp_ops = &vhost_dp_ops,
    .n_rxq = vhost_n_rxq,
    .is_up = vhost_is_up,
    .show = vhost_show,
};
