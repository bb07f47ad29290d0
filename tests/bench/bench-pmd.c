/* bench-pmd - deterministic microbenchmark of the PMD forwarding code.
 *
 * Drives the real datapath (datapath.c + pmd.c + fdb.c) without a thread of
 * its own (datapath_params.no_threads): the benchmark calls
 * datapath_pmd_poll() on its own lcore, so every run executes the same
 * instructions.  Two fake ports on one bridge stand in for a V2V loop:
 * port 0 "receives" frames from MAC A[k] to MAC B[k], port 1 from B[k] to
 * A[k], k cycling through 'flows' values, freshly allocated 64-byte mbufs
 * in bursts of 32 (as a null PMD would); what the switch sends is freed at
 * once.  With --flows 1 every burst has one source and one destination;
 * with --flows N the bridge learns 2 * N MACs.
 *
 * The measured part is bench_measure() (not inlined), so that
 *   valgrind --tool=callgrind --collect-atstart=no \
 *            --toggle-collect=bench_measure ./bench-pmd ...
 * counts exactly the forwarding loop; tests/bench/callgrind.sh does that and
 * reports instructions per packet.  Without valgrind the program prints TSC
 * cycles per packet and Mpps of the same loop (one core, no copies: the
 * switch's own cost plus the fake ports' mbuf alloc/free).
 *
 * Usage: bench-pmd [--flows N] [--iters N] [--slow-clock N] [--idle N [--idle-enabled]]
 * --idle N adds N ports that never receive anything (vhost ports without a
 * frontend): by default their queues are not polled, as in the daemon;
 * --idle-enabled has them polled, as every queue was before.
 * --slow-clock N runs the FDB clock N times slower (callgrind.sh uses 100):
 * under valgrind a second of real time is only a few thousand packets, so
 * with many flows every packet would find its entry due for its once a
 * second refresh, which at real speed happens to one visit in dozens.
 * Not a test: it asserts nothing about speed.  It fails (exit 1) only if
 * the switch loses or invents packets. */
#include "datapath/datapath.h"
#include "datapath/fdb.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define FRAME_LEN 64

struct bench_port {
    struct dp_port *port;
    const struct rte_ether_addr *src;   /* 'flows' source MACs. */
    const struct rte_ether_addr *dst;   /* Their destinations. */
    uint32_t next;                      /* Next flow to send. */
    uint64_t rx;                        /* Frames handed to the switch. */
    uint64_t tx;                        /* Frames the switch sent here. */
};

static struct {
    struct rte_mempool *mp;
    uint32_t flows;
    unsigned clock_slowdown;
    unsigned n_idle;
} B;

/* MAC number 'i' of side 'side' (0: A, 1: B): locally administered. */
static void
make_mac(struct rte_ether_addr *mac, unsigned side, uint32_t i)
{
    mac->addr_bytes[0] = 0x02;
    mac->addr_bytes[1] = (uint8_t) side;
    mac->addr_bytes[2] = (uint8_t) (i >> 24);
    mac->addr_bytes[3] = (uint8_t) (i >> 16);
    mac->addr_bytes[4] = (uint8_t) (i >> 8);
    mac->addr_bytes[5] = (uint8_t) i;
}

static uint16_t
bench_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    struct bench_port *bp = port->priv;

    (void) qid;
    if (rte_pktmbuf_alloc_bulk(B.mp, pkts, n)) {
        return 0;
    }
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        uint32_t f = bp->next;
        bp->next = f + 1 == B.flows ? 0 : f + 1;
        rte_ether_addr_copy(&bp->dst[f], &eth->dst_addr);
        rte_ether_addr_copy(&bp->src[f], &eth->src_addr);
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
        m->data_len = FRAME_LEN;
        m->pkt_len = FRAME_LEN;
    }
    bp->rx += n;
    return n;
}

static void
bench_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts, uint16_t n,
         struct dp_stats *st)
{
    struct bench_port *bp = port->priv;

    (void) pmd_id;
    st->tx_packets += n;
    st->tx_bytes += (uint64_t) n * FRAME_LEN;
    rte_pktmbuf_free_bulk(pkts, n);
    bp->tx += n;        /* After the call: no tail call, so callgrind
                         * charges the free to bench_tx. */
}

static const struct dp_port_ops bench_ops = {
    .rx = bench_rx,
    .tx = bench_tx,
};

/* Idle ports (--idle N): nothing to receive, like vhost ports without a
 * frontend.  With --idle-enabled they say their queue can carry traffic,
 * so the PMD polls them as it polled every queue before; otherwise they
 * are listed but not polled. */
static bool idle_enabled;

static uint16_t
idle_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    (void) port;
    (void) qid;
    (void) pkts;
    (void) n;
    return 0;
}

static void
idle_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts, uint16_t n,
        struct dp_stats *st)
{
    (void) port;
    (void) pmd_id;
    st->drops[DP_DROP_TX_LINK_DOWN] += n;
    rte_pktmbuf_free_bulk(pkts, n);
}

static bool
idle_rxq_enabled(const struct dp_port *port, uint16_t qid)
{
    (void) port;
    (void) qid;
    return idle_enabled;
}

static const struct dp_port_ops idle_ops = {
    .rx = idle_rx,
    .tx = idle_tx,
    .rxq_enabled = idle_rxq_enabled,
};

/* Runs 'iters' PMD iterations.  Returns packets received. */
static uint64_t
bench_loop(struct datapath *dp, unsigned iters)
{
    uint64_t got = 0;
    for (unsigned i = 0; i < iters; i++) {
        got += datapath_pmd_poll(dp, 0);
    }
    return got;
}

/* The warm-up and the measured loop: separate functions, so that callgrind
 * can count only the second. */
static uint64_t __attribute__((noipa))  /* noipa: never merged (ICF) */
bench_warm_up(struct datapath *dp, unsigned iters)
{
    return bench_loop(dp, iters);
}

static uint64_t __attribute__((noipa))  /* noipa: never merged (ICF) */
bench_measure(struct datapath *dp, unsigned iters)
{
    return bench_loop(dp, iters);
}

static int
run(uint32_t flows, unsigned iters)
{
    static const unsigned lcore = 0;
    struct datapath_params dpp = {
        .mp = B.mp, .pmd_lcores = &lcore, .pmd_cores = &lcore,
        .n_pmds = 1, .no_threads = true, .clock_slowdown = B.clock_slowdown,
    };
    struct datapath *dp;
    int err = datapath_create(&dpp, &dp);
    if (err) {
        fprintf(stderr, "bench-pmd: datapath_create: %s\n", strerror(-err));
        return -1;
    }

    /* Room for every MAC (mac-table-size = 2 * flows). */
    uint32_t fdb_max = RTE_MAX(8192u, 2 * flows);
    struct dp_bridge *br;
    err = dp_bridge_create(dp, "br0", fdb_max, 300 * 1000, &br);
    if (err) {
        fprintf(stderr, "bench-pmd: dp_bridge_create: %s\n", strerror(-err));
        datapath_destroy(dp);
        return -1;
    }

    struct rte_ether_addr *macs[2];
    struct bench_port bp[2];
    memset(bp, 0, sizeof bp);
    for (unsigned s = 0; s < 2; s++) {
        macs[s] = malloc(sizeof *macs[s] * flows);
        if (!macs[s]) {
            fprintf(stderr, "bench-pmd: out of memory\n");
            exit(EXIT_FAILURE);
        }
        for (uint32_t i = 0; i < flows; i++) {
            make_mac(&macs[s][i], s, i);
        }
    }
    for (unsigned s = 0; s < 2; s++) {
        char name[DP_NAME_MAX];
        snprintf(name, sizeof name, "p%u", s);
        bp[s].src = macs[s];
        bp[s].dst = macs[!s];
        err = dp_port_create(dp, name, &bench_ops, &bp[s], 1, &bp[s].port);
        if (err) {
            fprintf(stderr, "bench-pmd: dp_port_create: %s\n", strerror(-err));
            exit(EXIT_FAILURE);
        }
        dp_port_attach(dp, br, bp[s].port);
    }

    struct dp_port **idle = calloc(B.n_idle + 1, sizeof *idle);
    if (!idle) {
        fprintf(stderr, "bench-pmd: out of memory\n");
        exit(EXIT_FAILURE);
    }
    for (unsigned i = 0; i < B.n_idle; i++) {
        char name[DP_NAME_MAX];
        snprintf(name, sizeof name, "idle%u", i);
        err = dp_port_create(dp, name, &idle_ops, NULL, 1, &idle[i]);
        if (err) {
            fprintf(stderr, "bench-pmd: dp_port_create: %s\n", strerror(-err));
            exit(EXIT_FAILURE);
        }
        dp_port_attach(dp, br, idle[i]);
    }

    /* Warm up: every MAC learned on both sides, caches warm. */
    unsigned warm = 2 * (flows / DP_BURST + 1) + 1000;
    bench_warm_up(dp, warm);
    struct fdb_stats fs0;
    fdb_get_stats(dp_bridge_fdb(br), &fs0);

    uint64_t rx0 = bp[0].rx + bp[1].rx, tx0 = bp[0].tx + bp[1].tx;
    uint64_t t0 = rte_rdtsc();
    uint64_t got = bench_measure(dp, iters);
    uint64_t cycles = rte_rdtsc() - t0;
    uint64_t rx = bp[0].rx + bp[1].rx - rx0, tx = bp[0].tx + bp[1].tx - tx0;

    double cpp = got ? (double) cycles / (double) got : 0;
    double mpps = cycles ? (double) got * (double) rte_get_tsc_hz() / (double) cycles / 1e6
                         : 0;
    printf("flows %u: %"PRIu64" packets in %u iterations, %.1f TSC cycles/packet, "
           "%.2f Mpps (one core)\n", flows, got, iters, cpp, mpps);

    struct fdb_stats fs;
    fdb_get_stats(dp_bridge_fdb(br), &fs);
    printf("fdb: %"PRIu64" entries, %"PRIu64" learned (%"PRIu64" while measuring), "
           "%"PRIu64" moved, %"PRIu64" refused (full)\n", fs.entries, fs.learned,
           fs.learned - fs0.learned, fs.moved, fs.full);

    int rc = 0;
    if (rx != got || tx != got) {
        fprintf(stderr, "bench-pmd: %"PRIu64" received, %"PRIu64" polled, "
                "%"PRIu64" sent: the switch lost or invented packets\n",
                rx, got, tx);
        rc = -1;
    }
    for (unsigned s = 0; s < 2; s++) {
        dp_port_detach(dp, bp[s].port);
        dp_port_destroy(dp, bp[s].port);
        free(macs[s]);
    }
    for (unsigned i = 0; i < B.n_idle; i++) {
        dp_port_detach(dp, idle[i]);
        dp_port_destroy(dp, idle[i]);
    }
    free(idle);
    dp_bridge_destroy(dp, br);
    datapath_destroy(dp);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench-pmd [--flows N] [--iters N] [--slow-clock N] "
            "[--idle N [--idle-enabled]]\n");
    exit(2);
}

int
main(int argc, char *argv[])
{
    uint32_t flows = 1;
    unsigned iters = 100000;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flows") && i + 1 < argc) {
            flows = (uint32_t) strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--idle") && i + 1 < argc) {
            B.n_idle = (unsigned) strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--idle-enabled")) {
            idle_enabled = true;
        } else if (!strcmp(argv[i], "--slow-clock") && i + 1 < argc) {
            B.clock_slowdown = (unsigned) strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
            iters = (unsigned) strtoul(argv[++i], NULL, 10);
        } else {
            usage();
        }
    }
    if (!flows || flows > (1u << 18) || !iters || B.n_idle > DP_MAX_PORTS - 2) {
        usage();
    }

    char prefix[64];
    snprintf(prefix, sizeof prefix, "bench-pmd-%ld", (long) getpid());
    char *eal_argv[] = {
        argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
        "--no-telemetry", "--file-prefix", prefix,
        "--log-level", "lib.*:error", "-l", "0",
    };
    int eal_argc = (int) (sizeof eal_argv / sizeof eal_argv[0]);
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "bench-pmd: rte_eal_init failed: %s\n",
                rte_strerror(rte_errno));
        return EXIT_FAILURE;
    }
    B.flows = flows;
    B.mp = rte_pktmbuf_pool_create("bench_mp", 8191, 256, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, (int) rte_socket_id());
    if (!B.mp) {
        fprintf(stderr, "bench-pmd: cannot create the mbuf pool\n");
        rte_eal_cleanup();
        return EXIT_FAILURE;
    }
    int rc = run(flows, iters);
    rte_mempool_free(B.mp);

    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
