/* vhost-limit.c - the "limit loop" of utilities/vswitch-bench (built as
 * vswitch-limit).
 *
 * Two vhost-user server ports on librte_vhost and one polling loop on the
 * main lcore: dequeue a burst from one port, enqueue it into the other (with
 * the same bounded retries as vswitchd's vhost tx), and the other way round.
 * Nothing else: no parsing, no lookup, no counters per packet beyond three
 * additions.  Whatever a vhost-user switch does, it cannot beat this loop
 * against the same frontend, so the benchmark states V2V results against it.
 *
 * Usage: vswitch-limit [EAL options] -- SOCK0 SOCK1
 *            [--mbufs N] [--tx-retries N] [--stats-ms N]
 *
 * Every --stats-ms milliseconds (default 500) it prints one JSON line on
 * stdout: {"rx":[p0,p1],"tx":[p0,p1],"drop":[p0,p1],"busy_cycles":B,
 * "idle_cycles":I,"connected":[0|1,0|1]}, counted since start ("rx" on a
 * port = dequeued from it, "tx" = enqueued into it).  The harness samples
 * two lines to compute rates and busy cycles per packet (busy = iterations
 * that moved at least one packet, as vswitchd and OVS count them).
 * SIGINT/SIGTERM: unregister both sockets and exit 0.
 *
 * Threads: the main lcore polls; librte_vhost's event thread runs the device
 * callbacks, which publish the device id with atomics and, on destroy, wait
 * until the poller has finished an iteration so no burst uses a dead vid. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>
#include <linux/virtio_net.h>

#define BURST        32
#define GUEST_RXQ    0          /* vring the backend enqueues into. */
#define GUEST_TXQ    1          /* vring the backend dequeues from. */

static const uint64_t disabled_features =
    (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
    (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
    (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) |
    (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
    (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO);

struct limit_port {
    char path[256];
    int vid;                    /* -1 while no device; atomic. */
    uint64_t rx, tx, drop;      /* Written by the poller only. */
};

static struct limit_port ports[2];
static int stop_requested;      /* Set by the signal handler; atomic. */
static uint64_t loop_epoch;     /* Poller iterations; atomic. */

static void
on_signal(int sig)
{
    (void) sig;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELEASE);
}

static struct limit_port *
port_of_vid(int vid)
{
    char name[256];

    if (rte_vhost_get_ifname(vid, name, sizeof name)) {
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (!strcmp(name, ports[i].path)) {
            return &ports[i];
        }
    }
    return NULL;
}

/* librte_vhost event thread: the device is ready, publish its id. */
static int
new_device(int vid)
{
    struct limit_port *p = port_of_vid(vid);

    if (!p) {
        return -1;
    }
    __atomic_store_n(&p->vid, vid, __ATOMIC_RELEASE);
    fprintf(stderr, "vswitch-limit: %s connected (vid %d)\n", p->path, vid);
    return 0;
}

/* librte_vhost event thread: withdraw the id, then wait until the poller
 * has started a new iteration, so it no longer uses the old one. */
static void
destroy_device(int vid)
{
    struct limit_port *p = port_of_vid(vid);

    if (!p) {
        return;
    }
    __atomic_store_n(&p->vid, -1, __ATOMIC_RELEASE);
    uint64_t e = __atomic_load_n(&loop_epoch, __ATOMIC_ACQUIRE);
    while (__atomic_load_n(&loop_epoch, __ATOMIC_ACQUIRE) < e + 2
           && !__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE)) {
        rte_pause();
    }
    fprintf(stderr, "vswitch-limit: %s disconnected\n", p->path);
}

static const struct rte_vhost_device_ops ops = {
    .new_device = new_device,
    .destroy_device = destroy_device,
};

/* Moves one burst from port 'from' to port 'to'; returns packets moved. */
static inline unsigned
forward(struct limit_port *from, struct limit_port *to, struct rte_mempool *mp,
        unsigned tx_retries)
{
    struct rte_mbuf *pkts[BURST];
    int in = __atomic_load_n(&from->vid, __ATOMIC_ACQUIRE);
    int out = __atomic_load_n(&to->vid, __ATOMIC_ACQUIRE);

    if (in < 0) {
        return 0;
    }
    uint16_t n = rte_vhost_dequeue_burst(in, GUEST_TXQ, mp, pkts, BURST);
    if (!n) {
        return 0;
    }
    from->rx += n;
    uint16_t sent = 0;
    if (out >= 0) {
        unsigned retries = 0;
        do {
            uint16_t k = rte_vhost_enqueue_burst(out, GUEST_RXQ, pkts + sent, n - sent);
            if (!k) {
                break;
            }
            sent += k;
        } while (sent < n && retries++ < tx_retries);
    }
    to->tx += sent;
    if (sent < n) {
        to->drop += n - sent;
    }
    /* enqueue copies: every mbuf goes back to the pool. */
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

static void
print_stats(uint64_t busy, uint64_t idle)
{
    printf("{\"rx\":[%" PRIu64 ",%" PRIu64 "],\"tx\":[%" PRIu64 ",%" PRIu64 "],"
           "\"drop\":[%" PRIu64 ",%" PRIu64 "],\"busy_cycles\":%" PRIu64 ","
           "\"idle_cycles\":%" PRIu64 ",\"tsc_hz\":%" PRIu64 ",\"connected\":[%d,%d]}\n",
           ports[0].rx, ports[1].rx, ports[0].tx, ports[1].tx,
           ports[0].drop, ports[1].drop, busy, idle, rte_get_tsc_hz(),
           __atomic_load_n(&ports[0].vid, __ATOMIC_RELAXED) >= 0,
           __atomic_load_n(&ports[1].vid, __ATOMIC_RELAXED) >= 0);
    fflush(stdout);
}

static void
usage(const char *prog)
{
    fprintf(stderr, "usage: %s [EAL options] -- SOCK0 SOCK1 [--mbufs N] "
            "[--tx-retries N] [--stats-ms N]\n", prog);
}

static int
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned n_mbufs = 16384, tx_retries = 8, stats_ms = 500;
    static const struct option longopts[] = {
        { "mbufs", required_argument, NULL, 'm' },
        { "tx-retries", required_argument, NULL, 'r' },
        { "stats-ms", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };

    int n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "vswitch-limit: EAL initialisation failed: %s\n",
                rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        unsigned *dst = c == 'm' ? &n_mbufs : c == 'r' ? &tx_retries
                      : c == 's' ? &stats_ms : NULL;
        if (!dst || parse_uint(optarg, c == 'r' ? 0 : 1, 1u << 24, dst)) {
            usage(argv[0]);
            rte_eal_cleanup();
            return 2;
        }
    }
    if (argc - optind != 2) {
        usage(argv[0]);
        rte_eal_cleanup();
        return 2;
    }

    struct rte_mempool *mp = rte_pktmbuf_pool_create("limit", n_mbufs, 256, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE,
                                                     rte_socket_id());
    if (!mp) {
        fprintf(stderr, "vswitch-limit: cannot allocate %u mbufs: %s\n", n_mbufs,
                rte_strerror(rte_errno));
        rte_eal_cleanup();
        return 1;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int registered = 0, rc = 0;
    for (int i = 0; i < 2; i++) {
        ports[i].vid = -1;
        if (snprintf(ports[i].path, sizeof ports[i].path, "%s", argv[optind + i])
            >= (int) sizeof ports[i].path) {
            fprintf(stderr, "vswitch-limit: socket path too long: %s\n", argv[optind + i]);
            rc = 2;
            goto out;
        }
        unlink(ports[i].path);
        if (rte_vhost_driver_register(ports[i].path, 0)) {
            fprintf(stderr, "vswitch-limit: cannot register %s\n", ports[i].path);
            rc = 1;
            goto out;
        }
        registered++;
        if (rte_vhost_driver_disable_features(ports[i].path, disabled_features)
            || rte_vhost_driver_callback_register(ports[i].path, &ops)
            || rte_vhost_driver_start(ports[i].path)) {
            fprintf(stderr, "vswitch-limit: cannot start %s\n", ports[i].path);
            rc = 1;
            goto out;
        }
    }
    fprintf(stderr, "vswitch-limit: ready, polling on lcore %u\n", rte_lcore_id());

    uint64_t busy = 0, idle = 0;
    uint64_t hz = rte_get_tsc_hz();
    uint64_t stats_every = hz / 1000 * stats_ms;
    uint64_t prev = rte_rdtsc(), next_stats = prev + stats_every;
    while (!__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE)) {
        unsigned moved = forward(&ports[0], &ports[1], mp, tx_retries)
                       + forward(&ports[1], &ports[0], mp, tx_retries);
        uint64_t now = rte_rdtsc();
        if (moved) {
            busy += now - prev;
        } else {
            idle += now - prev;
        }
        prev = now;
        __atomic_store_n(&loop_epoch, loop_epoch + 1, __ATOMIC_RELEASE);
        if (now >= next_stats) {
            print_stats(busy, idle);
            next_stats = now + stats_every;
            prev = rte_rdtsc();     /* printing is neither busy nor idle. */
        }
    }
    print_stats(busy, idle);

out:
    for (int i = 0; i < registered; i++) {
        rte_vhost_driver_unregister(ports[i].path);
    }
    rte_mempool_free(mp);
    rte_eal_cleanup();
    return rc;
}
