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
 * Cases (issue 6, "VLANs and jumbo frames"; ports get their VLAN/MTU with
 * dp_port_set_l2(), as the bridge's vlan=, trunks=, native-vlan=, mtu= do):
 *   test_vlan_push_pop         access->trunk pushes 0x8100/VID before the
 *                              original EtherType, trunk->access pops, a
 *                              VLAN's unicast and broadcast never leave it
 *   test_vlan_trunk_to_trunk   default ports are transparent: tagged and
 *                              untagged frames pass unchanged (same mbuf)
 *   test_vlan_native           native-vlan: untagged both ways
 *   test_vlan_priority_tag     VID 0 on an access port: accepted, untagged
 *   test_vlan_drops            tagged on access, VLAN not in trunks
 *                              (rx_dropped_vlan), 802.1ad and double 802.1Q
 *                              (rx_dropped_qinq)
 *   test_vlan_flood_cow[_chained]  a flood to an access and a trunk port:
 *                              the original to one, a tagged copy to the
 *                              other, byte-exact, the original intact, the
 *                              pool back to its start; unicast push/pop in
 *                              place on 1- and 3-segment frames
 *   test_mtu                   payload > MTU dropped (tx_dropped_mtu) on
 *                              flood and unicast, payload == MTU passes (the
 *                              tag does not count)
 *   test_fdb_two_vlans         one MAC learned in two VLANs on two ports
 *   test_vlan_push_no_headroom a frame without headroom that must leave
 *                              tagged is pushed into a copy (it used to be
 *                              dropped as tx_dropped_no_mbuf)
 *
 * Cases (issue 9, "The data path"):
 *   test_idle_rxq_not_polled   a queue whose port says it cannot carry
 *                              traffic is never polled; datapath_poll_refresh()
 *                              publishes changes both ways, and only those
 *   test_one_flow_bursts       32-frame bursts of one flow (the whole-burst
 *                              path): unicast and flood, same mbufs, in
 *                              order, exact counters
 *
 * EAL is initialised once in main() (no hugepages, no PCI, no shared files,
 * lcores 0 and 1: the PMD runs on lcore 1); the suite runs with CK_NOFORK
 * because EAL cannot be initialised again in a forked child.  A checked
 * fixture creates the mempool, datapath and bridge before each test and
 * frees whatever is left after it, also after a failure. */
#include "datapath/datapath.h"
#include "datapath/fdb.h"
#include "tests/unit/fake-port.h"

#include "tests/unit/eal-check.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
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

static struct {
    struct rte_mempool *mp;
    struct rte_mbuf *reserve[RESERVE];
    struct datapath *dp;
    struct dp_bridge *br;
    struct fake_port fp[N_PORTS];
    unsigned serial;            /* Unique ring and pool names. */
} T;

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

/* VLANs and MTU (issue 6). */

#define VLAN_HDR_LEN 4

/* Sets the VLAN membership and MTU of 'fp' (as the bridge's common options
 * would): 'access' 1..4094 makes an access port; otherwise a trunk of the
 * 'n_trunks' VLANs in 'trunks' (every VLAN if 0) with native VLAN 'native'
 * (always carried, as bridge.c does). */
static void
port_l2(struct fake_port *fp, uint16_t access, uint16_t native,
        const uint16_t *trunks, unsigned n_trunks, uint32_t mtu)
{
    struct dp_port_l2 l2;

    dp_port_l2_init(&l2);
    l2.access_vlan = access;
    l2.native_vlan = native;
    l2.mtu = mtu;
    if (n_trunks) {
        memset(l2.trunks, 0, sizeof l2.trunks);
        for (unsigned i = 0; i < n_trunks; i++) {
            l2.trunks[trunks[i] / 64] |= 1ULL << (trunks[i] % 64);
        }
        l2.trunks[native / 64] |= 1ULL << (native % 64);
    }
    dp_port_set_l2(T.dp, fp->port, &l2);
}

/* Writes a frame into 'b': 'dst', 'src', then the tags (TPID, TCI pairs,
 * 'n_tags' of them), EtherType ETH_TYPE_TEST and 'payload' bytes counting
 * up from 'fill'.  Returns its length. */
static size_t
frame_bytes(uint8_t *b, const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
            const uint16_t (*tags)[2], unsigned n_tags, size_t payload, uint8_t fill)
{
    size_t n = 0;

    memcpy(b + n, dst, RTE_ETHER_ADDR_LEN);
    n += RTE_ETHER_ADDR_LEN;
    memcpy(b + n, src, RTE_ETHER_ADDR_LEN);
    n += RTE_ETHER_ADDR_LEN;
    for (unsigned i = 0; i < n_tags; i++) {
        for (unsigned j = 0; j < 2; j++) {
            b[n++] = (uint8_t) (tags[i][j] >> 8);
            b[n++] = (uint8_t) tags[i][j];
        }
    }
    b[n++] = ETH_TYPE_TEST >> 8;
    b[n++] = ETH_TYPE_TEST & 0xff;
    for (size_t i = 0; i < payload; i++) {
        b[n++] = (uint8_t) (fill + i);
    }
    return n;
}

/* An mbuf (chain of segments of at most 'seg_len' bytes) holding 'b'. */
static struct rte_mbuf *
frame_from(const uint8_t *b, size_t len, uint16_t seg_len)
{
    struct rte_mbuf *head = NULL;

    for (size_t off = 0; off < len; off += seg_len) {
        size_t k = len - off < seg_len ? len - off : seg_len;
        struct rte_mbuf *m = rte_pktmbuf_alloc(T.mp);
        ck_assert_ptr_nonnull(m);
        char *p = rte_pktmbuf_append(m, (uint16_t) k);
        ck_assert_ptr_nonnull(p);
        memcpy(p, b + off, k);
        if (!head) {
            head = m;
        } else {
            ck_assert_int_eq(rte_pktmbuf_chain(head, m), 0);
        }
    }
    return head;
}

/* Asserts that 'm' holds exactly the 'len' bytes of 'b'. */
static void
assert_frame(const char *what, const struct rte_mbuf *m, const uint8_t *b, size_t len)
{
    static uint8_t buf[10000];

    ck_assert_msg(rte_pktmbuf_pkt_len(m) == len, "%s: %u bytes, expected %zu",
                  what, rte_pktmbuf_pkt_len(m), len);
    const uint8_t *p = rte_pktmbuf_read(m, 0, (uint32_t) len, buf);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++) {
        ck_assert_msg(p[i] == b[i], "%s: byte %zu is 0x%02x, expected 0x%02x",
                      what, i, p[i], b[i]);
    }
}

/* Takes the next frame sent by 'fp', asserts it is 'b', frees it. */
static void
expect_frame(const char *what, struct fake_port *fp, const uint8_t *b, size_t len)
{
    struct rte_mbuf *m = take_tx(fp);
    assert_frame(what, m, b, len);
    rte_pktmbuf_free(m);
}

/* Sends a broadcast marker from 'from' (untagged) and waits for it on 'to':
 * the PMD handles a port's frames in order, so whatever 'from' sent before
 * has been handled.  'to' must have nothing else pending. */
static void
sync_marker(struct fake_port *from, struct fake_port *to)
{
    uint8_t b[64];
    size_t len = frame_bytes(b, &MAC_BCAST, &MAC_C, NULL, 0, 46, 0xee);

    inject(from, frame_from(b, len, 2048));
    struct rte_mbuf *m = take_tx(to);
    ck_assert(rte_is_broadcast_ether_addr(&eth_of(m)->dst_addr));
    rte_pktmbuf_free(m);
}

static uint64_t
drops(const struct fake_port *fp, enum dp_drop d)
{
    struct dp_stats st;
    dp_port_get_stats(fp->port, &st);
    return st.drops[d];
}

static void
assert_idle(struct fake_port **fps, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ck_assert_msg(rte_ring_count(fps[i]->tx) == 0, "port %s sent %u unexpected frame(s)",
                      fps[i]->name, rte_ring_count(fps[i]->tx));
    }
}

START_TEST(test_vlan_push_pop)
{
    static const uint16_t t_vlans[] = { 10, 20 };
    struct fake_port *a = port_add(0, "a"), *t = port_add(1, "t"), *b = port_add(2, "b");
    struct fake_port *all[] = { a, t, b };
    port_l2(a, 10, 0, NULL, 0, 1500);
    port_l2(t, 0, 0, t_vlans, 2, 1500);
    port_l2(b, 20, 0, NULL, 0, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256], out[256];
    size_t n_in, n_out;

    /* Trunk -> access: VID 10 broadcast from t reaches a untagged (the tag
     * popped), not b. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 1);
    n_out = frame_bytes(out, &MAC_BCAST, &MAC_B, NULL, 0, 60, 1);
    ck_assert_uint_eq(n_out, n_in - VLAN_HDR_LEN);
    inject(t, frame_from(in, n_in, 2048));
    expect_frame("trunk->access pop", a, out, n_out);

    /* Access -> trunk: a unicast to MAC_B (learned on t in VLAN 10) leaves t
     * with 0x8100, TCI = 10, then the original EtherType. */
    n_in = frame_bytes(in, &MAC_B, &MAC_A, NULL, 0, 60, 2);
    n_out = frame_bytes(out, &MAC_B, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 2);
    inject(a, frame_from(in, n_in, 2048));
    struct rte_mbuf *m = take_tx(t);
    assert_frame("access->trunk push", m, out, n_out);
    ck_assert_uint_eq(out[12], 0x81);
    ck_assert_uint_eq(out[13], 0x00);
    ck_assert_uint_eq(out[14], 0);
    ck_assert_uint_eq(out[15], 10);
    ck_assert_uint_eq(out[16], ETH_TYPE_TEST >> 8);
    rte_pktmbuf_free(m);

    /* VID 20 from t to MAC_A (known in VLAN 10 only): flooded in VLAN 20,
     * to b untagged; a never sees it. */
    n_in = frame_bytes(in, &MAC_A, &MAC_B, (const uint16_t[][2]) { { 0x8100, 20 } }, 1, 60, 3);
    n_out = frame_bytes(out, &MAC_A, &MAC_B, NULL, 0, 60, 3);
    inject(t, frame_from(in, n_in, 2048));
    expect_frame("VLAN 20 to b", b, out, n_out);

    /* b's broadcast stays in VLAN 20: t gets it tagged 20. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_C, NULL, 0, 60, 4);
    n_out = frame_bytes(out, &MAC_BCAST, &MAC_C, (const uint16_t[][2]) { { 0x8100, 20 } }, 1, 60, 4);
    inject(b, frame_from(in, n_in, 2048));
    expect_frame("access 20 -> trunk", t, out, n_out);
    sync_marker(a, t);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

START_TEST(test_vlan_trunk_to_trunk)
{
    struct fake_port *t1 = port_add(0, "t1"), *t2 = port_add(1, "t2");
    struct fake_port *all[] = { t1, t2 };
    unsigned start = pool_in_use();
    uint8_t in[256];

    /* Default ports (no VLAN option): transparent.  A VID 30 frame and an
     * untagged one (native VLAN 0) pass unchanged, the same mbuf. */
    size_t n = frame_bytes(in, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 0x2000 | 30 } },
                           1, 60, 5);
    struct rte_mbuf *m = frame_from(in, n, 2048);
    inject(t1, m);
    struct rte_mbuf *got = take_tx(t2);
    ck_assert_ptr_eq(got, m);
    assert_frame("trunk->trunk tagged", got, in, n);
    rte_pktmbuf_free(got);

    n = frame_bytes(in, &MAC_A, &MAC_B, NULL, 0, 60, 6);
    m = frame_from(in, n, 2048);
    inject(t1, m);
    got = take_tx(t2);
    ck_assert_ptr_eq(got, m);
    assert_frame("trunk->trunk untagged", got, in, n);
    rte_pktmbuf_free(got);
    assert_idle(all, 2);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

START_TEST(test_vlan_native)
{
    static const uint16_t t_vlans[] = { 10 };
    struct fake_port *t = port_add(0, "t"), *a = port_add(1, "a"), *c = port_add(2, "c");
    struct fake_port *all[] = { t, a, c };
    port_l2(t, 0, 20, t_vlans, 1, 1500);        /* trunks=10 native-vlan=20 */
    port_l2(a, 20, 0, NULL, 0, 1500);
    port_l2(c, 10, 0, NULL, 0, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256], out[256];
    size_t n_in, n_out;

    /* Untagged on t is VLAN 20: to a, untagged, not to c. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_B, NULL, 0, 60, 7);
    inject(t, frame_from(in, n_in, 2048));
    expect_frame("native in", a, in, n_in);

    /* VLAN 20 leaves t untagged. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, 60, 8);
    inject(a, frame_from(in, n_in, 2048));
    expect_frame("native out", t, in, n_in);

    /* VLAN 10 leaves t tagged; tagged 10 on t reaches c untagged. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_C, NULL, 0, 60, 9);
    n_out = frame_bytes(out, &MAC_BCAST, &MAC_C, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 9);
    inject(c, frame_from(in, n_in, 2048));
    expect_frame("VLAN 10 out of t", t, out, n_out);
    inject(t, frame_from(out, n_out, 2048));
    expect_frame("VLAN 10 into c", c, in, n_in);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

START_TEST(test_vlan_priority_tag)
{
    struct fake_port *a = port_add(0, "a"), *c = port_add(1, "c");
    struct fake_port *all[] = { a, c };
    port_l2(a, 10, 0, NULL, 0, 1500);
    port_l2(c, 10, 0, NULL, 0, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256], out[256];

    /* VID 0 with priority 5 on an access port: accepted, untagged. */
    size_t n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 0xa000 } },
                              1, 60, 10);
    size_t n_out = frame_bytes(out, &MAC_BCAST, &MAC_A, NULL, 0, 60, 10);
    inject(a, frame_from(in, n_in, 2048));
    expect_frame("priority-tagged", c, out, n_out);
    ck_assert_uint_eq(drops(a, DP_DROP_RX_VLAN), 0);
    assert_idle(all, 2);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

START_TEST(test_vlan_drops)
{
    static const uint16_t t_vlans[] = { 10 };
    struct fake_port *a = port_add(0, "a"), *t = port_add(1, "t"), *c = port_add(2, "c");
    struct fake_port *all[] = { a, t, c };
    port_l2(a, 10, 0, NULL, 0, 1500);
    port_l2(t, 0, 0, t_vlans, 1, 1500);
    port_l2(c, 10, 0, NULL, 0, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256];
    size_t n;

    /* Tagged on an access port (even with its own VLAN). */
    n = frame_bytes(in, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 11);
    inject(a, frame_from(in, n, 2048));
    /* A VLAN the trunk does not carry. */
    n = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x8100, 20 } }, 1, 60, 12);
    inject(t, frame_from(in, n, 2048));
    /* 802.1ad, and 802.1Q in 802.1Q. */
    n = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x88a8, 10 }, { 0x8100, 10 } },
                    2, 60, 13);
    inject(t, frame_from(in, n, 2048));
    n = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x8100, 10 }, { 0x8100, 10 } },
                    2, 60, 14);
    inject(t, frame_from(in, n, 2048));
    n = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x88a8, 10 } }, 1, 60, 15);
    inject(a, frame_from(in, n, 2048));

    sync_marker(a, c);          /* a's frames are handled... */
    n = frame_bytes(in, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 16);
    inject(t, frame_from(in, n, 2048));  /* ...and t's (a valid frame, to a and c). */
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(c));
    ck_assert_uint_eq(drops(a, DP_DROP_RX_VLAN), 1);
    ck_assert_uint_eq(drops(a, DP_DROP_RX_QINQ), 1);
    ck_assert_uint_eq(drops(t, DP_DROP_RX_VLAN), 1);
    ck_assert_uint_eq(drops(t, DP_DROP_RX_QINQ), 2);
    ck_assert_uint_eq(drops(c, DP_DROP_RX_VLAN), 0);
    /* The marker from a reached t tagged; nothing else went anywhere. */
    rte_pktmbuf_free(take_tx(t));
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

/* One frame of 'segs' segments of 'seg_len' flooded from access port a to
 * access port c and trunk t: c gets the original, t a tagged copy, the
 * original is untouched, and the pool returns to its start. */
static void
flood_cow(unsigned segs, uint16_t seg_len)
{
    static const uint16_t t_vlans[] = { 10 };
    static uint8_t in[10000], out[10000];
    struct fake_port *a = port_add(0, "a"), *t = port_add(1, "t"), *c = port_add(2, "c");
    struct fake_port *all[] = { a, t, c };
    port_l2(a, 10, 0, NULL, 0, 9000);
    port_l2(t, 0, 0, t_vlans, 1, 9000);
    port_l2(c, 10, 0, NULL, 0, 9000);
    unsigned start = pool_in_use();
    size_t payload = (size_t) segs * seg_len - RTE_ETHER_HDR_LEN;

    size_t n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, payload, 17);
    size_t n_out = frame_bytes(out, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } },
                               1, payload, 17);
    struct rte_mbuf *m = frame_from(in, n_in, seg_len);
    ck_assert_uint_eq(m->nb_segs, segs);
    inject(a, m);
    struct rte_mbuf *got_c = take_tx(c), *got_t = take_tx(t);
    ck_assert_ptr_eq(got_c, m);
    ck_assert_ptr_ne(got_t, m);
    assert_frame("flood: untagged copy", got_c, in, n_in);
    assert_frame("flood: tagged copy", got_t, out, n_out);
    rte_pktmbuf_free(got_t);
    assert_frame("flood: original after the copy is freed", got_c, in, n_in);
    rte_pktmbuf_free(got_c);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);

    /* Unicast, one output: changed in place, the chain kept (t learns
     * MAC_B in VLAN 10, then a sends to it; then t answers back). */
    size_t n_tb = frame_bytes(out, &MAC_BCAST, &MAC_B, (const uint16_t[][2]) { { 0x8100, 10 } },
                              1, 46, 18);
    inject(t, frame_from(out, n_tb, 2048));
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(c));
    n_in = frame_bytes(in, &MAC_B, &MAC_A, NULL, 0, payload, 19);
    n_out = frame_bytes(out, &MAC_B, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, payload, 19);
    m = frame_from(in, n_in, seg_len);
    inject(a, m);
    struct rte_mbuf *got = take_tx(t);
    ck_assert_uint_eq(got->nb_segs, segs);
    assert_frame("unicast push", got, out, n_out);
    rte_pktmbuf_free(got);
    /* t -> a (MAC_A learned on a in VLAN 10): popped. */
    n_out = frame_bytes(out, &MAC_A, &MAC_B, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, payload, 20);
    n_in = frame_bytes(in, &MAC_A, &MAC_B, NULL, 0, payload, 20);
    inject(t, frame_from(out, n_out, seg_len));
    got = take_tx(a);
    assert_frame("unicast pop", got, in, n_in);
    rte_pktmbuf_free(got);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}

START_TEST(test_vlan_flood_cow)
{
    flood_cow(1, 200);
}
END_TEST

START_TEST(test_vlan_flood_cow_chained)
{
    flood_cow(3, 1000);
}
END_TEST

START_TEST(test_mtu)
{
    static const uint16_t t_vlans[] = { 10 };
    static uint8_t in[10000], out[10000];
    struct fake_port *a = port_add(0, "a"), *b = port_add(1, "b"), *t = port_add(2, "t");
    struct fake_port *all[] = { a, b, t };
    port_l2(a, 10, 0, NULL, 0, 9000);
    port_l2(b, 10, 0, NULL, 0, 1500);
    port_l2(t, 0, 0, t_vlans, 1, 1500);
    unsigned start = pool_in_use();
    size_t n_in, n_out;

    /* b and t learned (b: MAC_B untagged, t: MAC_C tagged). */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_B, NULL, 0, 46, 21);
    inject(b, frame_from(in, n_in, 2048));
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(t));
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_C, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 46, 22);
    inject(t, frame_from(in, n_in, 2048));
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(b));

    /* Flood: payload 1501 dropped toward b and t, counted on each. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, 1501, 23);
    inject(a, frame_from(in, n_in, 1000));
    /* Unicast: payload 1501 to b and to t, dropped. */
    n_in = frame_bytes(in, &MAC_B, &MAC_A, NULL, 0, 1501, 24);
    inject(a, frame_from(in, n_in, 1000));
    n_in = frame_bytes(in, &MAC_C, &MAC_A, NULL, 0, 1501, 25);
    inject(a, frame_from(in, n_in, 1000));

    /* Payload == MTU passes, the tag not counted. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, 1500, 26);
    n_out = frame_bytes(out, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } },
                        1, 1500, 26);
    inject(a, frame_from(in, n_in, 1000));
    expect_frame("flood 1500 to b", b, in, n_in);
    expect_frame("flood 1500 to t", t, out, n_out);
    n_in = frame_bytes(in, &MAC_B, &MAC_A, NULL, 0, 1500, 27);
    inject(a, frame_from(in, n_in, 1000));
    expect_frame("unicast 1500 to b", b, in, n_in);
    n_in = frame_bytes(in, &MAC_C, &MAC_A, NULL, 0, 1500, 28);
    n_out = frame_bytes(out, &MAC_C, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 1500, 28);
    inject(a, frame_from(in, n_in, 1000));
    expect_frame("unicast 1500 to t", t, out, n_out);

    /* A tagged 1500-byte payload from t (1518 bytes) fits b's MTU 1500. */
    n_in = frame_bytes(in, &MAC_B, &MAC_C, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 1500, 29);
    n_out = frame_bytes(out, &MAC_B, &MAC_C, NULL, 0, 1500, 29);
    inject(t, frame_from(in, n_in, 1000));
    expect_frame("tagged 1500 from t to b", b, out, n_out);

    ck_assert_uint_eq(drops(b, DP_DROP_TX_MTU), 2);
    ck_assert_uint_eq(drops(t, DP_DROP_TX_MTU), 2);
    ck_assert_uint_eq(drops(a, DP_DROP_TX_MTU), 0);
    ck_assert_uint_eq(drops(a, DP_DROP_RX_NO_DEST), 0);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

struct fdb_seen {
    unsigned n;
    struct fdb_entry_info e[8];
};

static void
fdb_seen_cb(const struct fdb_entry_info *info, void *aux)
{
    struct fdb_seen *s = aux;

    if (s->n < 8) {
        s->e[s->n] = *info;
    }
    s->n++;
}

START_TEST(test_fdb_two_vlans)
{
    static const uint16_t t_vlans[] = { 10, 20 };
    struct fake_port *a = port_add(0, "a"), *b = port_add(1, "b"), *t = port_add(2, "t");
    struct fake_port *all[] = { a, b, t };
    port_l2(a, 10, 0, NULL, 0, 1500);
    port_l2(b, 20, 0, NULL, 0, 1500);
    port_l2(t, 0, 0, t_vlans, 2, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256], out[256];
    size_t n_in, n_out;

    /* The same MAC speaks in VLAN 10 on a and in VLAN 20 on b. */
    n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, 46, 30);
    inject(a, frame_from(in, n_in, 2048));
    rte_pktmbuf_free(take_tx(t));
    inject(b, frame_from(in, n_in, 2048));
    rte_pktmbuf_free(take_tx(t));

    struct fdb_seen s = { 0 };
    ck_assert_int_eq(fdb_dump(dp_bridge_fdb(T.br), datapath_now_ms(), fdb_seen_cb, &s), 2);
    ck_assert_uint_eq(s.n, 2);
    bool seen10 = false, seen20 = false;
    for (unsigned i = 0; i < 2; i++) {
        ck_assert(rte_is_same_ether_addr(&s.e[i].mac, &MAC_A));
        if (s.e[i].vlan == 10) {
            ck_assert_uint_eq(s.e[i].port_no, a->port->fdb_id);
            seen10 = true;
        } else {
            ck_assert_uint_eq(s.e[i].vlan, 20);
            ck_assert_uint_eq(s.e[i].port_no, b->port->fdb_id);
            seen20 = true;
        }
    }
    ck_assert(seen10 && seen20);

    /* Unicast from t to MAC_A goes to a in VLAN 10 and to b in VLAN 20. */
    n_in = frame_bytes(in, &MAC_A, &MAC_C, (const uint16_t[][2]) { { 0x8100, 20 } }, 1, 60, 31);
    n_out = frame_bytes(out, &MAC_A, &MAC_C, NULL, 0, 60, 31);
    inject(t, frame_from(in, n_in, 2048));
    expect_frame("VLAN 20 to b", b, out, n_out);
    n_in = frame_bytes(in, &MAC_A, &MAC_C, (const uint16_t[][2]) { { 0x8100, 10 } }, 1, 60, 32);
    n_out = frame_bytes(out, &MAC_A, &MAC_C, NULL, 0, 60, 32);
    inject(t, frame_from(in, n_in, 2048));
    expect_frame("VLAN 10 to a", a, out, n_out);
    assert_idle(all, 3);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

START_TEST(test_vlan_push_no_headroom)
{
    static const uint16_t t_vlans[] = { 10 };
    struct fake_port *a = port_add(0, "a"), *t = port_add(1, "t");
    struct fake_port *all[] = { a, t };
    port_l2(a, 10, 0, NULL, 0, 1500);
    port_l2(t, 0, 0, t_vlans, 1, 1500);
    unsigned start = pool_in_use();
    uint8_t in[256], out[256];

    /* A frame with no headroom (its data at the start of the buffer) that
     * must leave tagged: pushed into a copy, not dropped as "no mbuf". */
    size_t n_in = frame_bytes(in, &MAC_BCAST, &MAC_A, NULL, 0, 60, 40);
    size_t n_out = frame_bytes(out, &MAC_BCAST, &MAC_A, (const uint16_t[][2]) { { 0x8100, 10 } },
                               1, 60, 40);
    struct rte_mbuf *m = rte_pktmbuf_alloc(T.mp);
    ck_assert_ptr_nonnull(m);
    m->data_off = 0;
    memcpy(rte_pktmbuf_append(m, (uint16_t) n_in), in, n_in);
    ck_assert_uint_eq(rte_pktmbuf_headroom(m), 0);
    inject(a, m);
    struct rte_mbuf *got = take_tx(t);
    ck_assert_ptr_ne(got, m);
    assert_frame("pushed without headroom", got, out, n_out);
    rte_pktmbuf_free(got);
    ck_assert_uint_eq(drops(t, DP_DROP_TX_NO_MBUF), 0);
    assert_idle(all, 2);
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

/* Waits until the PMD has run 'n' more iterations. */
static void
wait_iterations(uint64_t n)
{
    struct dp_pmd_stats st;
    uint64_t deadline = now_ms() + WAIT_MS;

    datapath_get_pmd_stats(T.dp, 0, &st);
    uint64_t target = st.iterations + n;
    do {
        ck_assert_msg(now_ms() < deadline, "PMD did not run %"PRIu64" iterations", n);
        usleep(100);
        datapath_get_pmd_stats(T.dp, 0, &st);
    } while (st.iterations < target);
}

/* A queue that cannot carry traffic is not polled at all (it used to be
 * polled every iteration); datapath_poll_refresh() publishes the change
 * both ways, and only when there is one. */
START_TEST(test_idle_rxq_not_polled)
{
    struct fake_port *a = port_add(0, "a");
    struct fake_port *b = port_add(1, "b");
    unsigned start = pool_in_use();

    ck_assert(!datapath_poll_refresh(T.dp));            /* Nothing changed. */
    __atomic_store_n(&b->disabled, true, __ATOMIC_RELAXED);
    ck_assert(datapath_poll_refresh(T.dp));
    ck_assert(!datapath_poll_refresh(T.dp));

    /* After the grace period the PMD never calls b's rx: a frame waiting
     * in its ring stays there. */
    uint64_t calls = __atomic_load_n(&b->rx_calls, __ATOMIC_RELAXED);
    inject(b, make_frame(&MAC_B, &MAC_BCAST, 1, 64, 1));
    wait_iterations(1000);
    ck_assert_uint_eq(__atomic_load_n(&b->rx_calls, __ATOMIC_RELAXED), calls);
    ck_assert_uint_eq(rte_ring_count(b->rx), 1);
    ck_assert_uint_eq(rte_ring_count(a->tx), 0);

    /* Enabled again: polled, and the frame floods to a. */
    __atomic_store_n(&b->disabled, false, __ATOMIC_RELAXED);
    ck_assert(datapath_poll_refresh(T.dp));
    rte_pktmbuf_free(take_tx(a));
    ck_assert_uint_eq(pool_in_use(), start);
}
END_TEST

/* Bursts of one flow take the whole-burst path (pmd_switch_burst()):
 * unicast and flood deliver every frame once, in order, the same mbufs,
 * with exact counters, as packet by packet. */
START_TEST(test_one_flow_bursts)
{
    enum { N = 32 };
    struct fake_port *a = port_add(0, "a");
    struct fake_port *b = port_add(1, "b");
    struct fake_port *c = port_add(2, "c");
    unsigned start = pool_in_use();
    struct rte_mbuf *m[N];

    /* b speaks first, so MAC_B is known. */
    inject(b, make_frame(&MAC_B, &MAC_BCAST, 1, 64, 1));
    rte_pktmbuf_free(take_tx(a));
    rte_pktmbuf_free(take_tx(c));

    /* 32 frames a -> b in one ring operation: one rx burst. */
    for (unsigned i = 0; i < N; i++) {
        m[i] = make_frame(&MAC_A, &MAC_B, 1, 64 + i, (uint8_t) i);
    }
    ck_assert_uint_eq(rte_ring_enqueue_bulk(a->rx, (void **) m, N, NULL), N);
    for (unsigned i = 0; i < N; i++) {
        struct rte_mbuf *got = take_tx(b);
        ck_assert_ptr_eq(got, m[i]);
        rte_pktmbuf_free(got);
    }
    ck_assert_uint_eq(rte_ring_count(c->tx), 0);

    /* 32 broadcasts from a: b and c get each one, the same mbuf. */
    for (unsigned i = 0; i < N; i++) {
        m[i] = make_frame(&MAC_A, &MAC_BCAST, 1, 64, (uint8_t) i);
    }
    ck_assert_uint_eq(rte_ring_enqueue_bulk(a->rx, (void **) m, N, NULL), N);
    for (unsigned i = 0; i < N; i++) {
        struct rte_mbuf *gb = take_tx(b), *gc = take_tx(c);
        ck_assert_ptr_eq(gb, m[i]);
        ck_assert_ptr_eq(gc, m[i]);
        ck_assert_uint_eq(rte_mbuf_refcnt_read(m[i]), 2);
        rte_pktmbuf_free(gb);
        rte_pktmbuf_free(gc);
    }
    ck_assert_uint_eq(rte_ring_count(a->tx), 0);

    struct dp_stats st;
    dp_port_get_stats(a->port, &st);
    ck_assert_uint_eq(st.rx_packets, 2 * N);
    ck_assert_uint_eq(st.rx_bytes, N * 64 + N * (N - 1) / 2 + N * 64);
    dp_port_get_stats(b->port, &st);
    ck_assert_uint_eq(st.tx_packets, 2 * N);
    dp_port_get_stats(c->port, &st);
    ck_assert_uint_eq(st.tx_packets, N + 1);
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
    tcase_add_test(tc, test_vlan_push_pop);
    tcase_add_test(tc, test_vlan_trunk_to_trunk);
    tcase_add_test(tc, test_vlan_native);
    tcase_add_test(tc, test_vlan_priority_tag);
    tcase_add_test(tc, test_vlan_drops);
    tcase_add_test(tc, test_vlan_flood_cow);
    tcase_add_test(tc, test_vlan_flood_cow_chained);
    tcase_add_test(tc, test_mtu);
    tcase_add_test(tc, test_fdb_two_vlans);
    tcase_add_test(tc, test_vlan_push_no_headroom);
    tcase_add_test(tc, test_idle_rxq_not_polled);
    tcase_add_test(tc, test_one_flow_bursts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char *argv[])
{
    (void) argc;
    static const struct eal_check c = {
        .name = "test-datapath", .mem_mb = "128", .lcores = "0,1",
        .suite = datapath_suite,
    };
    return eal_check_main(argv[0], &c);
}
