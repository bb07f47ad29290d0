/* test-capture - Check suite for datapath/capture.c with a real PMD thread
 * (datapath.c + pmd.c) switching between fake ports, as test-datapath.c
 * does: the test injects frames into a port's rx ring and reads what the
 * switch sent from its tx ring, and what the capture copied from the
 * capture's own ring (capture_dequeue(), as vswitchd's capture-ctl.c does).
 *
 * Cases:
 *   test_rx              a capture of A's rx gets exactly the frames A
 *                        received, as pcapng Enhanced Packet Blocks: cut to
 *                        the snap length, original length, inbound flag,
 *                        wall-clock timestamp; the switch still delivers
 *                        every frame; no copy or frame leaks
 *   test_tx_sent_only    a port whose tx takes only 7 of 20 frames: the tx
 *                        capture holds exactly those 7, in order (copies of
 *                        the 13 dropped ones are freed, not captured)
 *   test_count           count 5 of 20: exactly the first 5 reach the ring
 *   test_port_removed    dp_port_destroy() detaches the capture
 *                        (capture_port_gone()); it can be attached to a new
 *                        port of the same name and captures there; a port
 *                        takes one capture at a time (-EBUSY)
 *
 * EAL: no hugepages, no PCI, no shared files, lcores 0 and 1 (the PMD runs
 * on lcore 1); CK_NOFORK, since EAL cannot be initialised again in a
 * forked child. */
#include "datapath/capture.h"
#include "datapath/datapath.h"
#include "datapath/fdb.h"
#include "tests/unit/fake-port.h"

#include "tests/unit/eal-check.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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

#define N_PORTS   3
#define RING_SIZE 64
#define POOL_SIZE 1023
#define WAIT_MS   5000
#define FRAME_LEN 100
#define ETH_TYPE_TEST 0x88b5

static const struct rte_ether_addr MAC_A = {{ 0x02, 0, 0, 0, 0, 0x0a }};
static const struct rte_ether_addr MAC_B = {{ 0x02, 0, 0, 0, 0, 0x0b }};
static const struct rte_ether_addr MAC_C = {{ 0x02, 0, 0, 0, 0, 0x0c }};

static struct {
    struct rte_mempool *mp;
    unsigned mp_start;          /* In use at the start of the test. */
    struct datapath *dp;
    struct dp_bridge *br;
    struct fake_port fp[N_PORTS];
    struct capture *cap;
    unsigned serial;
} T;

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Creates fake port 'i' with a tx ring of 'tx_size' slots (usable:
 * tx_size - 1) and attaches it. */
static struct fake_port *
port_add(unsigned i, const char *name, unsigned tx_size)
{
    struct fake_port *fp = &T.fp[i];
    char rname[RTE_RING_NAMESIZE];

    snprintf(fp->name, sizeof fp->name, "%s", name);
    if (!fp->rx) {
        snprintf(rname, sizeof rname, "tcap_rx%u", T.serial++);
        fp->rx = rte_ring_create(rname, RING_SIZE, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
        snprintf(rname, sizeof rname, "tcap_tx%u", T.serial++);
        fp->tx = rte_ring_create(rname, tx_size, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
        ck_assert_ptr_nonnull(fp->rx);
        ck_assert_ptr_nonnull(fp->tx);
    }
    ck_assert_int_eq(dp_port_create(T.dp, name, &fake_ops, fp, 1, &fp->port), 0);
    dp_port_attach(T.dp, T.br, fp->port);
    return fp;
}

static void
port_del(struct fake_port *fp)
{
    dp_port_detach(T.dp, fp->port);
    dp_port_destroy(T.dp, fp->port);
    fp->port = NULL;
}

/* A FRAME_LEN-byte frame src -> dst whose payload starts with 'seq'. */
static void
inject(struct fake_port *fp, const struct rte_ether_addr *src,
       const struct rte_ether_addr *dst, uint8_t seq)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(T.mp);
    ck_assert_ptr_nonnull(m);
    char *p = rte_pktmbuf_append(m, FRAME_LEN);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, FRAME_LEN);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) p;
    rte_ether_addr_copy(dst, &eth->dst_addr);
    rte_ether_addr_copy(src, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(ETH_TYPE_TEST);
    p[sizeof *eth] = (char) seq;
    ck_assert_int_eq(rte_ring_enqueue(fp->rx, m), 0);
}

/* Waits until the switch has handled 'n' frames received on 'fp'. */
static void
wait_rx(const struct fake_port *fp, uint64_t n)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    struct dp_stats st;

    for (;;) {
        dp_port_get_stats(fp->port, &st);
        if (st.rx_packets >= n && !rte_ring_count(fp->rx)) {
            break;
        }
        ck_assert_msg(now_ms() < deadline, "%s: %"PRIu64" of %"PRIu64" received",
                      fp->name, st.rx_packets, n);
        usleep(100);
    }
    /* The PMD copies before switching and sends at the end of the
     * iteration: one more grace period and it is done with the burst. */
    datapath_synchronize(T.dp);
}

static void
drain_free(struct rte_ring *r)
{
    void *m;
    while (r && rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(m);
    }
}

/* Takes every copy from T.cap into 'out' (room for 64); returns how many. */
static unsigned
take_copies(struct rte_mbuf **out)
{
    unsigned n = 0, k;
    while ((k = capture_dequeue(T.cap, out + n, 64 - n)) > 0) {
        n += k;
    }
    return n;
}

/* Checks copy 'cp': an Enhanced Packet Block of a FRAME_LEN-byte frame
 * src -> dst with sequence number 'seq', captured to 'caplen' bytes, with
 * direction flag 'flags' and a timestamp within 10 s of now. */
static void
check_copy(const struct rte_mbuf *cp, const struct rte_ether_addr *src,
           const struct rte_ether_addr *dst, uint8_t seq, uint32_t caplen,
           uint32_t flags)
{
    ck_assert_uint_eq(rte_pktmbuf_data_len(cp), rte_pktmbuf_pkt_len(cp));
    const uint32_t *w = rte_pktmbuf_mtod(cp, const uint32_t *);
    const uint8_t *data = (const uint8_t *) (w + 7);
    uint32_t padded = (caplen + 3) & ~3u;

    ck_assert_uint_eq(w[0], 6);                         /* EPB. */
    ck_assert_uint_eq(w[1], rte_pktmbuf_pkt_len(cp));   /* Block length. */
    ck_assert_uint_eq(w[5], caplen);
    ck_assert_uint_eq(w[6], FRAME_LEN);
    ck_assert(!memcmp(data, dst, 6));
    ck_assert(!memcmp(data + 6, src, 6));
    ck_assert_uint_eq(data[14], seq);
    /* First option: epb_flags (code 2, length 4). */
    const uint16_t *opt = (const uint16_t *) (data + padded);
    ck_assert_uint_eq(opt[0], 2);
    ck_assert_uint_eq(opt[1], 4);
    ck_assert_uint_eq(*(const uint32_t *) (opt + 2), flags);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t) w[3] << 32 | w[4];
    int64_t diff = (int64_t) (ns / 1000000000u) - (int64_t) ts.tv_sec;
    ck_assert_msg(diff > -10 && diff <= 1, "timestamp %"PRIu64" ns, now %ld s",
                  ns, (long) ts.tv_sec);
}

static void
new_capture(unsigned dir, uint32_t snaplen, uint64_t count, struct fake_port *fp)
{
    struct capture_params p = { .dir = dir, .snaplen = snaplen, .count = count,
                                .id = T.serial++ };
    ck_assert_int_eq(capture_create(&p, &T.cap), 0);
    ck_assert_int_eq(capture_attach(T.cap, fp->port), 0);
    ck_assert_ptr_eq(capture_port(T.cap), fp->port);
}

/* Fixture. */

static void
setup(void)
{
    char name[RTE_MEMPOOL_NAMESIZE];

    memset(&T.fp, 0, sizeof T.fp);
    T.cap = NULL;
    snprintf(name, sizeof name, "tcap_mp%u", T.serial++);
    T.mp = rte_pktmbuf_pool_create(name, POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    ck_assert_msg(T.mp != NULL, "mempool: %s", rte_strerror(rte_errno));
    T.mp_start = rte_mempool_in_use_count(T.mp);

    unsigned lcore = 1, core = 1;
    struct datapath_params p = {
        .mp = T.mp, .pmd_lcores = &lcore, .pmd_cores = &core, .n_pmds = 1,
    };
    ck_assert_int_eq(datapath_create(&p, &T.dp), 0);
    ck_assert_int_eq(dp_bridge_create(T.dp, "br0", FDB_DEFAULT_MAX_ENTRIES,
                                      FDB_DEFAULT_AGEING_MS, &T.br), 0);
}

static void
teardown(void)
{
    if (T.cap) {
        capture_detach(T.dp, T.cap);
        capture_destroy(T.cap);
        T.cap = NULL;
    }
    for (unsigned i = 0; i < N_PORTS; i++) {
        if (T.fp[i].port) {
            port_del(&T.fp[i]);
        }
    }
    dp_bridge_destroy(T.dp, T.br);
    datapath_destroy(T.dp);
    for (unsigned i = 0; i < N_PORTS; i++) {
        drain_free(T.fp[i].rx);
        drain_free(T.fp[i].tx);
        rte_ring_free(T.fp[i].rx);
        rte_ring_free(T.fp[i].tx);
    }
    ck_assert_uint_eq(rte_mempool_in_use_count(T.mp), T.mp_start);
    rte_mempool_free(T.mp);
}

/* Tests. */

START_TEST(test_rx)
{
    struct fake_port *a = port_add(0, "a", RING_SIZE);
    struct fake_port *b = port_add(1, "b", RING_SIZE);
    struct rte_mbuf *cp[64];

    new_capture(CAPTURE_RX, 60, 0, a);
    for (uint8_t i = 0; i < 10; i++) {
        inject(a, &MAC_A, &MAC_B, i);
    }
    wait_rx(a, 10);
    ck_assert_uint_eq(rte_ring_count(b->tx), 10);       /* Delivered, all. */
    ck_assert_uint_eq(take_copies(cp), 10);
    for (uint8_t i = 0; i < 10; i++) {
        check_copy(cp[i], &MAC_A, &MAC_B, i, 60, 1);
    }
    rte_pktmbuf_free_bulk(cp, 10);

    /* B answers: B's rx is not A's rx, nothing is captured. */
    inject(b, &MAC_B, &MAC_A, 99);
    wait_rx(b, 1);
    ck_assert_uint_eq(rte_ring_count(a->tx), 1);
    ck_assert_uint_eq(take_copies(cp), 0);

    struct capture_stats st;
    capture_get_stats(T.cap, &st);
    ck_assert_uint_eq(st.packets, 10);
    ck_assert_uint_eq(st.bytes, 10 * FRAME_LEN);
    ck_assert_uint_eq(st.dropped_ring_full + st.dropped_no_mbuf, 0);
}
END_TEST

START_TEST(test_tx_sent_only)
{
    struct fake_port *a = port_add(0, "a", RING_SIZE);
    struct fake_port *c = port_add(2, "c", 8);          /* Takes 7. */
    struct rte_mbuf *cp[64];
    struct dp_stats st;

    new_capture(CAPTURE_TX, CAPTURE_SNAPLEN_MAX, 0, c);
    for (uint8_t i = 0; i < 20; i++) {
        inject(a, &MAC_A, &MAC_C, i);
    }
    wait_rx(a, 20);
    dp_port_get_stats(c->port, &st);
    ck_assert_uint_eq(st.tx_packets, 7);
    ck_assert_uint_eq(st.drops[DP_DROP_TX_RING_FULL], 13);
    ck_assert_uint_eq(take_copies(cp), 7);
    for (uint8_t i = 0; i < 7; i++) {
        check_copy(cp[i], &MAC_A, &MAC_C, i, FRAME_LEN, 2);
    }
    rte_pktmbuf_free_bulk(cp, 7);
}
END_TEST

START_TEST(test_count)
{
    struct fake_port *a = port_add(0, "a", RING_SIZE);
    struct fake_port *b = port_add(1, "b", RING_SIZE);
    struct rte_mbuf *cp[64];

    new_capture(CAPTURE_BOTH, 64, 5, a);
    for (uint8_t i = 0; i < 20; i++) {
        inject(a, &MAC_A, &MAC_B, i);
    }
    wait_rx(a, 20);
    ck_assert_uint_eq(rte_ring_count(b->tx), 20);
    ck_assert_uint_eq(take_copies(cp), 5);
    for (uint8_t i = 0; i < 5; i++) {
        check_copy(cp[i], &MAC_A, &MAC_B, i, 64, 1);
    }
    rte_pktmbuf_free_bulk(cp, 5);
    /* Nothing more, either way. */
    inject(b, &MAC_B, &MAC_A, 50);
    wait_rx(b, 1);
    ck_assert_uint_eq(take_copies(cp), 0);
}
END_TEST

START_TEST(test_port_removed)
{
    struct fake_port *a = port_add(0, "a", RING_SIZE);
    struct fake_port *b = port_add(1, "b", RING_SIZE);
    struct rte_mbuf *cp[64];

    new_capture(CAPTURE_RX, 128, 0, a);
    struct capture_params p = { .dir = CAPTURE_TX, .snaplen = 1, .id = T.serial++ };
    struct capture *other;
    ck_assert_int_eq(capture_create(&p, &other), 0);
    ck_assert_int_eq(capture_attach(other, a->port), -EBUSY);
    capture_destroy(other);

    ck_assert(!capture_port_gone(T.cap));
    port_del(a);
    ck_assert(capture_port_gone(T.cap));
    ck_assert_ptr_null(capture_port(T.cap));

    a = port_add(0, "a", RING_SIZE);
    ck_assert_ptr_null(a->port->capture);
    ck_assert_int_eq(capture_attach(T.cap, a->port), 0);
    ck_assert(!capture_port_gone(T.cap));
    inject(a, &MAC_A, &MAC_B, 7);
    wait_rx(a, 1);
    ck_assert_uint_eq(rte_ring_count(b->tx), 1);
    ck_assert_uint_eq(take_copies(cp), 1);
    check_copy(cp[0], &MAC_A, &MAC_B, 7, FRAME_LEN, 1);
    rte_pktmbuf_free(cp[0]);

    capture_detach(T.dp, T.cap);
    ck_assert_ptr_null(a->port->capture);
    inject(a, &MAC_A, &MAC_B, 8);
    wait_rx(a, 2);
    ck_assert_uint_eq(take_copies(cp), 0);
}
END_TEST

static Suite *
capture_suite(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rx);
    tcase_add_test(tc, test_tx_sent_only);
    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_port_removed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char *argv[])
{
    (void) argc;
    static const struct eal_check c = {
        .name = "test-capture", .mem_mb = "256", .lcores = "0,1",
        .suite = capture_suite,
    };
    return eal_check_main(argv[0], &c);
}
