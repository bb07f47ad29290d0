/* macgen.c - the many-MACs traffic generator of utilities/vswitch-bench
 * (built as vswitch-macgen).
 *
 * A DPDK application with two ports (in the benchmark: two virtio-user
 * vdevs attached to two vhost-user ports of the switch under test) that, on
 * one lcore, sends bursts of frames on both ports and counts what arrives
 * on both.  Port 0 sends from 02:0a:00:XX:XX:XX to 02:0b:00:XX:XX:XX and
 * port 1 the other way round, XX:XX:XX cycling through 0..N-1 (--macs N),
 * so a learning switch ends up with 2*N source MACs in its table and, after
 * the first pass, finds every destination in it.  With --macs 1 it is a
 * single-flow generator for the same loop, the reference the many-MAC rates
 * are compared with.
 *
 * Usage: vswitch-macgen [EAL options with two --vdev ports] --
 *            [--macs N] [--size BYTES] [--mbufs N] [--stats-ms N]
 *
 * Every --stats-ms ms (default 500) one JSON line on stdout:
 * {"tx":[p0,p1],"rx":[p0,p1],"tx_full":[p0,p1],"tsc_hz":H}, counted since
 * start; "tx_full" = frames the port's tx ring refused (freed, not sent).
 * SIGINT/SIGTERM: stop the ports and exit 0. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#define BURST       32
#define RING_SIZE   1024
#define ETHERTYPE   0x88b5      /* IEEE 802 local experimental. */

struct gen_port {
    uint16_t id;
    uint8_t side;               /* 0x0a or 0x0b: the MAC's second byte. */
    uint32_t next;              /* Next MAC index to send from. */
    uint64_t tx, rx, tx_full;
};

static int stop_requested;

static void
on_signal(int sig)
{
    (void) sig;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELEASE);
}

static inline void
make_mac(struct rte_ether_addr *a, uint8_t side, uint32_t i)
{
    a->addr_bytes[0] = 0x02;
    a->addr_bytes[1] = side;
    a->addr_bytes[2] = 0;
    a->addr_bytes[3] = i >> 16;
    a->addr_bytes[4] = i >> 8;
    a->addr_bytes[5] = i;
}

/* Sends one burst of 'size'-byte frames on 'p', MACs advancing modulo
 * 'n_macs'; frames the ring refuses are freed and counted. */
static inline void
send_burst(struct gen_port *p, uint8_t peer_side, struct rte_mempool *mp,
           uint32_t n_macs, uint16_t size)
{
    struct rte_mbuf *pkts[BURST];

    if (rte_pktmbuf_alloc_bulk(mp, pkts, BURST)) {
        return;
    }
    for (unsigned i = 0; i < BURST; i++) {
        struct rte_mbuf *m = pkts[i];
        struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        make_mac(&eh->src_addr, p->side, p->next);
        make_mac(&eh->dst_addr, peer_side, p->next);
        eh->ether_type = rte_cpu_to_be_16(ETHERTYPE);
        m->data_len = size;
        m->pkt_len = size;
        if (++p->next == n_macs) {
            p->next = 0;
        }
    }
    uint16_t sent = rte_eth_tx_burst(p->id, 0, pkts, BURST);
    p->tx += sent;
    if (sent < BURST) {
        p->tx_full += BURST - sent;
        rte_pktmbuf_free_bulk(pkts + sent, BURST - sent);
    }
}

static inline void
receive(struct gen_port *p)
{
    struct rte_mbuf *pkts[BURST];
    uint16_t n = rte_eth_rx_burst(p->id, 0, pkts, BURST);

    if (n) {
        p->rx += n;
        rte_pktmbuf_free_bulk(pkts, n);
    }
}

static void
print_stats(const struct gen_port *p)
{
    printf("{\"tx\":[%" PRIu64 ",%" PRIu64 "],\"rx\":[%" PRIu64 ",%" PRIu64 "],"
           "\"tx_full\":[%" PRIu64 ",%" PRIu64 "],\"tsc_hz\":%" PRIu64 "}\n",
           p[0].tx, p[1].tx, p[0].rx, p[1].rx, p[0].tx_full, p[1].tx_full,
           rte_get_tsc_hz());
    fflush(stdout);
}

/* Configures and starts port 'id' with one rx and one tx queue. */
static int
port_start(uint16_t id, struct rte_mempool *mp)
{
    struct rte_eth_conf conf;
    int rc;

    memset(&conf, 0, sizeof conf);
    if ((rc = rte_eth_dev_configure(id, 1, 1, &conf))
        || (rc = rte_eth_rx_queue_setup(id, 0, RING_SIZE, rte_eth_dev_socket_id(id),
                                        NULL, mp))
        || (rc = rte_eth_tx_queue_setup(id, 0, RING_SIZE, rte_eth_dev_socket_id(id),
                                        NULL))
        || (rc = rte_eth_dev_start(id))) {
        fprintf(stderr, "vswitch-macgen: port %u: cannot start: %s\n", id,
                rte_strerror(-rc));
        return rc;
    }
    return 0;
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

static void
usage(const char *prog)
{
    fprintf(stderr, "usage: %s [EAL options, two --vdev ports] -- [--macs N] "
            "[--size BYTES] [--mbufs N] [--stats-ms N]\n", prog);
}

int
main(int argc, char **argv)
{
    unsigned n_macs = 1, size = 64, n_mbufs = 16384, stats_ms = 500;
    static const struct option longopts[] = {
        { "macs", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 'z' },
        { "mbufs", required_argument, NULL, 'm' },
        { "stats-ms", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };

    int n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "vswitch-macgen: EAL initialisation failed: %s\n",
                rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int bad;
        switch (c) {
        case 'n': bad = parse_uint(optarg, 1, 1u << 24, &n_macs); break;
        case 'z': bad = parse_uint(optarg, 60, RTE_MBUF_DEFAULT_DATAROOM, &size); break;
        case 'm': bad = parse_uint(optarg, 1024, 1u << 24, &n_mbufs); break;
        case 's': bad = parse_uint(optarg, 10, 60000, &stats_ms); break;
        default: bad = 1; break;
        }
        if (bad) {
            usage(argv[0]);
            rte_eal_cleanup();
            return 2;
        }
    }
    if (optind != argc || rte_eth_dev_count_avail() != 2) {
        if (optind == argc) {
            fprintf(stderr, "vswitch-macgen: needs exactly two ports, found %u\n",
                    rte_eth_dev_count_avail());
        }
        usage(argv[0]);
        rte_eal_cleanup();
        return 2;
    }

    struct rte_mempool *mp = rte_pktmbuf_pool_create("macgen", n_mbufs, 256, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE,
                                                     rte_socket_id());
    if (!mp) {
        fprintf(stderr, "vswitch-macgen: cannot allocate %u mbufs: %s\n", n_mbufs,
                rte_strerror(rte_errno));
        rte_eal_cleanup();
        return 1;
    }
    struct gen_port ports[2];
    memset(ports, 0, sizeof ports);
    uint16_t id, k = 0;
    RTE_ETH_FOREACH_DEV(id) {
        ports[k].id = id;
        ports[k].side = k ? 0x0b : 0x0a;
        k++;
    }
    int rc = 0;
    for (k = 0; k < 2; k++) {
        if (port_start(ports[k].id, mp)) {
            rc = 1;
            goto out;
        }
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "vswitch-macgen: sending %u-byte frames, %u MACs per port, "
            "on lcore %u\n", size, n_macs, rte_lcore_id());
    uint64_t every = rte_get_tsc_hz() / 1000 * stats_ms;
    uint64_t next_stats = rte_rdtsc() + every;
    while (!__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE)) {
        send_burst(&ports[0], ports[1].side, mp, n_macs, size);
        send_burst(&ports[1], ports[0].side, mp, n_macs, size);
        receive(&ports[0]);
        receive(&ports[1]);
        uint64_t now = rte_rdtsc();
        if (now >= next_stats) {
            print_stats(ports);
            next_stats = now + every;
        }
    }
    print_stats(ports);

out:
    for (k = 0; k < 2; k++) {
        rte_eth_dev_stop(ports[k].id);
        rte_eth_dev_close(ports[k].id);
    }
    rte_mempool_free(mp);
    rte_eal_cleanup();
    return rc;
}
