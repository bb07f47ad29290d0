/* test-datapath - Check suite for the datapath as a whole: a real PMD thread
 * (datapath.c + pmd.c + fdb.c) switching between fake ports.
 *
 * A fake port implements the dp_port_ops contract (dp-port-core.h) with two
 * rte_rings the test controls: rx() dequeues what the test put in the port's
 * 'rx' ring, tx() enqueues what the switch sends into the port's 'tx' ring
 * (and counts it), where the test picks it up.  So every test is
 * deterministic: it injects frames, waits (with a deadline, never a blind
 * sleep) for the outputs it expects, and checks exactly where each frame
 * went and the state of each mbuf.
 *
 * Cases (issue 5, "Datapath bugs"):
 *   test_flood_chained_mbuf    a 3-segment broadcast flooded to 3 ports is
 *                              one mbuf chain held 3 times: every segment's
 *                              refcount is 3, and once the 3 outputs free
 *                              their copies the mempool is back to where it
 *                              started (pmd.c used to raise only the head's
 *                              refcount, so the tail segments were freed by
 *                              the first output)
 *   test_stale_fdb_entry       an FDB entry of a deleted port that a flush
 *                              missed must never deliver unicast to the port
 *                              that reuses the deleted port's number: the
 *                              frame floods instead
 *
 * EAL is initialised once in main() (no hugepages, no PCI, no shared files,
 * lcores 0 and 1: the PMD runs on lcore 1); the suite runs with CK_NOFORK
 * because EAL cannot be initialised again in a forked child.  A checked
 * fixture creates the mempool, datapath and bridge before each test and
 * frees whatever is left after it, also after a failure. */
#include "datapath/datapath.h"
#include "datapath/fdb.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#define N_PORTS      4          /* Fake ports per test, at most. */
#define RING_SIZE    64
#define POOL_SIZE    1023
#define RESERVE      8          /* mbufs the test holds throughout (see setup). */
#define WAIT_MS      5000       /* Deadline for anything the PMD must do. */
#define ETH_TYPE_TEST 0x88b5    /* IEEE local experimental ethertype. */

static const struct rte_ether_addr MAC_A = {{ 0x02, 0, 0, 0, 0, 0x0a }};
static const struct rte_ether_addr MAC_B = {{ 0x02, 0, 0, 0, 0, 0x0b }};
static const struct rte_ether_addr MAC_C = {{ 0x02, 0, 0, 0, 0, 0x0c }};
static const struct rte_ether_addr MAC_BCAST = {{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }};

/* A fake port: the PMD's rx reads 'rx', its tx writes 'tx'. */
struct fake_port {
    char name[DP_NAME_MAX];
    struct rte_ring *rx;        /* Test -> PMD (single producer/consumer). */
    struct rte_ring *tx;        /* PMD -> test (one PMD: single producer). */
    struct dp_port *port;       /* NULL when not created. */
};

static struct {
    struct rte_mempool *mp;
    struct rte_mbuf *reserve[RESERVE];
    struct datapath *dp;
    struct dp_bridge *br;
    struct fake_port fp[N_PORTS];
    unsigned serial;            /* Unique ring and pool names. */
} T;

/* dp_port_ops of the fake ports. */

static uint16_t
fake_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    struct fake_port *fp = port->priv;

    (void) qid;
    return (uint16_t) rte_ring_dequeue_burst(fp->rx, (void **) pkts, n, NULL);
}

static void
fake_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts, uint16_t n,
        struct dp_stats *st)
{
    struct fake_port *fp = port->priv;
    unsigned k = rte_ring_enqueue_burst(fp->tx, (void **) pkts, n, NULL);

    (void) pmd_id;
    for (unsigned i = 0; i < k; i++) {
        st->tx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    st->tx_packets += k;
    st->drops[DP_DROP_TX_RING_FULL] += n - k;
    if (k < n) {
        rte_pktmbuf_free_bulk(pkts + k, n - k);
    }
}

static bool
fake_rxq_enabled(const struct dp_port *port, uint16_t qid)
{
    (void) port;
    (void) qid;
    return true;
}

static const struct dp_port_ops fake_ops = {
    .rx = fake_rx,
    .tx = fake_tx,
    .rxq_enabled = fake_rxq_enabled,
};

/* Helpers. */

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static unsigned
pool_in_use(void)
{
    return rte_mempool_in_use_count(T.mp);
}

/* Creates fake port 'i' (rings + dp_port) and attaches it to the bridge. */
static struct fake_port *
port_add(unsigned i, const char *name)
{
    struct fake_port *fp = &T.fp[i];
    char rname[RTE_RING_NAMESIZE];

    ck_assert_ptr_null(fp->port);
    snprintf(fp->name, sizeof fp->name, "%s", name);
    if (!fp->rx) {
        snprintf(rname, sizeof rname, "tdp_rx%u", T.serial++);
        fp->rx = rte_ring_create(rname, RING_SIZE, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
        snprintf(rname, sizeof rname, "tdp_tx%u", T.serial++);
        fp->tx = rte_ring_create(rname, RING_SIZE, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
        ck_assert_ptr_nonnull(fp->rx);
        ck_assert_ptr_nonnull(fp->tx);
    }
    ck_assert_int_eq(dp_port_create(T.dp, name, &fake_ops, fp, 1, &fp->port), 0);
    struct dp_port_l2 l2;
    dp_port_l2_init(&l2);
    l2.mtu = DP_MTU_MAX;            /* The flood test sends 3000-byte frames. */
    dp_port_set_l2(T.dp, fp->port, &l2);
    dp_port_attach(T.dp, T.br, fp->port);
    return fp;
}

/* Detaches and frees fake port 'fp's dp_port (the rings stay). */
static void
port_del(struct fake_port *fp)
{
    dp_port_detach(T.dp, fp->port);
    dp_port_destroy(T.dp, fp->port);
    fp->port = NULL;
}

/* A frame from 'src' to 'dst' of 'n_segs' segments of 'seg_len' bytes each
 * (the first one starting with the Ethernet header), payload bytes = 'tag'. */
static struct rte_mbuf *
make_frame(const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
           unsigned n_segs, uint16_t seg_len, uint8_t tag)
{
    struct rte_mbuf *head = NULL;

    ck_assert_uint_ge(seg_len, sizeof(struct rte_ether_hdr));
    for (unsigned s = 0; s < n_segs; s++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(T.mp);
        ck_assert_ptr_nonnull(m);
        char *p = rte_pktmbuf_append(m, seg_len);
        ck_assert_ptr_nonnull(p);
        memset(p, tag, seg_len);
        if (!head) {
            struct rte_ether_hdr *eth = (struct rte_ether_hdr *) p;
            rte_ether_addr_copy(dst, &eth->dst_addr);
            rte_ether_addr_copy(src, &eth->src_addr);
            eth->ether_type = rte_cpu_to_be_16(ETH_TYPE_TEST);
            head = m;
        } else {
            ck_assert_int_eq(rte_pktmbuf_chain(head, m), 0);
        }
    }
    return head;
}

static void
inject(struct fake_port *fp, struct rte_mbuf *m)
{
    ck_assert_int_eq(rte_ring_enqueue(fp->rx, m), 0);
}

/* Waits until 'fp' has sent at least 'n' frames not yet taken; fails after
 * WAIT_MS. */
static void
wait_tx(const struct fake_port *fp, unsigned n)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    while (rte_ring_count(fp->tx) < n) {
        ck_assert_msg(now_ms() < deadline,
                      "port %s: %u frame(s) sent within %d ms, expected %u",
                      fp->name, rte_ring_count(fp->tx), WAIT_MS, n);
        usleep(100);
    }
}

/* Takes the next frame 'fp' sent, waiting for it. */
static struct rte_mbuf *
take_tx(const struct fake_port *fp)
{
    void *m;

    wait_tx(fp, 1);
    ck_assert_int_eq(rte_ring_dequeue(fp->tx, &m), 0);
    return m;
}

static const struct rte_ether_hdr *
eth_of(const struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
}

static void
drain_free(struct rte_ring *r)
{
    void *m;
    while (r && rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(m);
    }
}

/* Fixture. */

static void
setup(void)
{
    char name[RTE_MEMPOOL_NAMESIZE];

    memset(&T.fp, 0, sizeof T.fp);
    snprintf(name, sizeof name, "tdp_mp%u", T.serial++);
    /* No per-lcore cache, so the pool's counts are exact at any time. */
    T.mp = rte_pktmbuf_pool_create(name, POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    ck_assert_msg(T.mp != NULL, "mempool: %s", rte_strerror(rte_errno));
    /* Hold a few mbufs for the whole test, so that the pool's in-use count
     * is above zero at rest: a double free then shows as a count below the
     * starting value (rte_mempool_in_use_count() cannot go below zero). */
    ck_assert_int_eq(rte_pktmbuf_alloc_bulk(T.mp, T.reserve, RESERVE), 0);

    unsigned lcore = 1, core = 1;
    struct datapath_params p = {
        .mp = T.mp,
        .pmd_lcores = &lcore,
        .pmd_cores = &core,
        .n_pmds = 1,
    };
    ck_assert_int_eq(datapath_create(&p, &T.dp), 0);
    ck_assert_int_eq(dp_bridge_create(T.dp, "br0", FDB_DEFAULT_MAX_ENTRIES,
                                      FDB_DEFAULT_AGEING_MS, &T.br), 0);
}

static void
teardown(void)
{
    if (T.dp) {
        for (unsigned i = 0; i < N_PORTS; i++) {
            if (T.fp[i].port) {
                port_del(&T.fp[i]);
            }
        }
        if (T.br) {
            dp_bridge_destroy(T.dp, T.br);
        }
        datapath_destroy(T.dp);
    }
    for (unsigned i = 0; i < N_PORTS; i++) {
        drain_free(T.fp[i].rx);
        drain_free(T.fp[i].tx);
        rte_ring_free(T.fp[i].rx);
        rte_ring_free(T.fp[i].tx);
    }
    if (T.mp) {
        rte_pktmbuf_free_bulk(T.reserve, RESERVE);
        rte_mempool_free(T.mp);
    }
    memset(&T, 0, offsetof(typeof(T), serial));
}

/* Tests. */

START_TEST(test_flood_chained_mbuf)
{
    enum { SEGS = 3, SEG_LEN = 1000 };
    struct fake_port *a = port_add(0, "a");
    struct fake_port *out[3] = {
        port_add(1, "b"), port_add(2, "c"), port_add(3, "d"),
    };
    unsigned start = pool_in_use();
    ck_assert_uint_eq(start, RESERVE);

    /* A 3-segment broadcast from a: flooded to b, c and d. */
    struct rte_mbuf *m = make_frame(&MAC_A, &MAC_BCAST, SEGS, SEG_LEN, 0x5a);
    ck_assert_uint_eq(rte_pktmbuf_pkt_len(m), SEGS * SEG_LEN);
    ck_assert_uint_eq(m->nb_segs, SEGS);
    ck_assert_uint_eq(pool_in_use(), start + SEGS);
    inject(a, m);

    /* Each output got the one chain (flooding shares, never copies). */
    struct rte_mbuf *got[3];
    for (unsigned i = 0; i < 3; i++) {
        got[i] = take_tx(out[i]);
        ck_assert_msg(got[i] == m, "port %s sent %p, not the flooded mbuf %p",
                      out[i]->name, (void *) got[i], (void *) m);
    }
    ck_assert_uint_eq(rte_ring_count(a->tx), 0);        /* No hairpin. */

    /* Three holders: every segment's refcount must be 3, or the first free
     * below returns the tail segments to the pool while the two other
     * holders still point at them. */
    unsigned s = 0;
    for (struct rte_mbuf *seg = m; seg; seg = seg->next, s++) {
        ck_assert_msg(rte_mbuf_refcnt_read(seg) == 3,
                      "segment %u of %u of a frame flooded to 3 ports has "
                      "refcount %u, expected 3", s, SEGS, rte_mbuf_refcnt_read(seg));
    }
    ck_assert_uint_eq(s, SEGS);
    ck_assert_uint_eq(pool_in_use(), start + SEGS);

    /* Each holder frees its copy: the chain stays whole until the last. */
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(m->nb_segs, SEGS);
        ck_assert_uint_eq(rte_pktmbuf_pkt_len(m), SEGS * SEG_LEN);
        rte_pktmbuf_free(got[i]);
        ck_assert_msg(pool_in_use() == (i < 2 ? start + SEGS : start),
                      "after %u of 3 holders freed the flooded chain, %u mbufs "
                      "in use, expected %u", i + 1, pool_in_use(),
                      i < 2 ? start + SEGS : start);
    }

    /* The switch's counters agree. */
    struct dp_stats st;
    dp_port_get_stats(a->port, &st);
    ck_assert_uint_eq(st.rx_packets, 1);
    ck_assert_uint_eq(st.rx_bytes, SEGS * SEG_LEN);
    ck_assert_uint_eq(st.tx_packets, 0);
    for (unsigned i = 0; i < 3; i++) {
        dp_port_get_stats(out[i]->port, &st);
        ck_assert_uint_eq(st.tx_packets, 1);
        ck_assert_uint_eq(st.tx_bytes, SEGS * SEG_LEN);
    }
}
END_TEST

struct find_mac {
    struct rte_ether_addr mac;
    int found;
    uint16_t port_no;           /* What the FDB stores for it. */
};

static void
find_mac_cb(const struct fdb_entry_info *info, void *aux)
{
    struct find_mac *f = aux;

    if (rte_is_same_ether_addr(&info->mac, &f->mac) && info->vlan == 0) {
        f->found++;
        f->port_no = info->port_no;
    }
}

START_TEST(test_stale_fdb_entry)
{
    struct fake_port *a = port_add(0, "a");
    struct fake_port *b = port_add(1, "b");
    struct fake_port *c = port_add(2, "c");
    struct fdb *fdb = dp_bridge_fdb(T.br);
    uint16_t b_no = b->port->port_no;
    unsigned start = pool_in_use();

    /* b's guest speaks: MAC_B is learned on b (the frame floods to a, c). */
    inject(b, make_frame(&MAC_B, &MAC_C, 1, 64, 1));
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(c));
    struct find_mac f = { .mac = MAC_B };
    ck_assert_int_eq(fdb_dump(fdb, datapath_now_ms(), find_mac_cb, &f), 1);
    ck_assert_int_eq(f.found, 1);
    ck_assert_int_eq(fdb_lookup(fdb, &MAC_B, 0), f.port_no);

    /* b is deleted; its entry goes with it... */
    port_del(b);
    ck_assert_int_eq(fdb_lookup(fdb, &MAC_B, 0), -ENOENT);
    /* ...unless a PMD's concurrent insert made fdb_flush_port() miss it:
     * put back exactly what the FDB held for b. */
    fdb_learn(fdb, &MAC_B, 0, f.port_no, datapath_now_ms());
    ck_assert_int_eq(fdb_lookup(fdb, &MAC_B, 0), f.port_no);

    /* A new port d gets b's old port number (creating and deleting ports
     * until one does, in case numbers are not reused at once). */
    struct fake_port *d = NULL;
    for (unsigned i = 0; i < DP_MAX_PORTS && !d; i++) {
        struct fake_port *p = port_add(3, "d");
        if (p->port->port_no == b_no) {
            d = p;
        } else {
            port_del(p);
        }
    }
    ck_assert_msg(d != NULL, "no new port got b's port number %u", b_no);

    /* a sends a unicast to MAC_B, then a broadcast as a marker: the PMD
     * handles them in order, so once c has sent the marker it has sent
     * everything it was going to send before it. */
    inject(a, make_frame(&MAC_A, &MAC_B, 1, 64, 2));
    inject(a, make_frame(&MAC_A, &MAC_BCAST, 1, 64, 3));

    /* d must not be treated as b: the unicast floods (c and d), it is not
     * delivered to d alone. */
    unsigned c_unicast = 0;
    for (;;) {
        struct rte_mbuf *m = take_tx(c);
        bool marker = rte_is_broadcast_ether_addr(&eth_of(m)->dst_addr);
        if (!marker) {
            ck_assert(rte_is_same_ether_addr(&eth_of(m)->dst_addr, &MAC_B));
            c_unicast++;
        }
        rte_pktmbuf_free(m);
        if (marker) {
            break;
        }
    }
    ck_assert_msg(c_unicast == 1,
                  "unicast to the MAC of deleted port b reached c %u time(s), "
                  "expected 1 (flooded): the stale FDB entry sent it to d, "
                  "the new port that reuses b's number %u, alone", c_unicast, b_no);

    struct rte_mbuf *m1 = take_tx(d), *m2 = take_tx(d);
    ck_assert(rte_is_same_ether_addr(&eth_of(m1)->dst_addr, &MAC_B));
    ck_assert(rte_is_broadcast_ether_addr(&eth_of(m2)->dst_addr));
    rte_pktmbuf_free(m1);
    rte_pktmbuf_free(m2);
    ck_assert_uint_eq(rte_ring_count(a->tx), 0);        /* No hairpin. */
    ck_assert_uint_eq(rte_ring_count(c->tx), 0);
    ck_assert_uint_eq(rte_ring_count(d->tx), 0);

    /* a and c also got b's first frame. */
    struct dp_stats st;
    dp_port_get_stats(a->port, &st);
    ck_assert_uint_eq(st.rx_packets, 2);
    ck_assert_uint_eq(st.tx_packets, 1);
    dp_port_get_stats(c->port, &st);
    ck_assert_uint_eq(st.rx_packets, 0);
    ck_assert_uint_eq(st.tx_packets, 3);
    dp_port_get_stats(d->port, &st);
    ck_assert_uint_eq(st.rx_packets, 0);
    ck_assert_uint_eq(st.tx_packets, 2);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

static Suite *
datapath_suite(void)
{
    Suite *s = suite_create("datapath");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_flood_chained_mbuf);
    tcase_add_test(tc, test_stale_fdb_entry);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char *argv[])
{
    (void) argc;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "test-datapath-%ld", (long) getpid());
    char *eal_argv[] = {
        argv[0], "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
        "--no-telemetry", "--file-prefix", prefix,
        "--log-level", "lib.*:error", "-l", "0,1",
    };
    int eal_argc = (int) (sizeof eal_argv / sizeof eal_argv[0]);

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "test-datapath: rte_eal_init failed: %s\n",
                rte_strerror(rte_errno));
        return EXIT_FAILURE;
    }
    if (rte_lcore_count() < 2) {
        fprintf(stderr, "test-datapath: needs a second lcore for the PMD\n");
        rte_eal_cleanup();
        return EXIT_FAILURE;
    }

    SRunner *sr = srunner_create(datapath_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    /* EAL leaves its (empty, with --no-shconf) runtime directory behind. */
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
