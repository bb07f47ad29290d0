/* test-offload - Check suite for datapath/offload.c: what the switch does
 * with checksum and TSO requests on the way out of a port.
 *
 * A fake port (dp_port_ops with a tx() that keeps what it is given and a
 * tx_offloads() the test sets) receives what offload_tx() makes of packets
 * built here byte by byte, as librte_vhost's dequeue plus
 * offload_rx_virtio() leave them: partial L4 checksum (the pseudo-header
 * sum) with RTE_MBUF_F_TX_TCP_CKSUM / RTE_MBUF_F_TX_UDP_CKSUM, and for TSO
 * RTE_MBUF_F_TX_TCP_SEG with tso_segsz.  Every test checks the exact
 * output (which mbufs, how many, their bytes and checksums, recomputed
 * independently) and that the pool is back where it started.
 *
 * Cases:
 *   test_passthrough        a port that negotiated csum/TSO gets the very
 *                           mbuf, flags and bytes untouched (no segmenting)
 *   test_csum_tcp4/udp4/tcp6  a port without offloads gets valid checksums
 *                           (fixed in place: nobody else holds the mbuf)
 *   test_csum_shared        a shared (refcnt 2) mbuf is copied, never
 *                           written: the original keeps its partial sum
 *   test_tso4 / test_tso6   a 5000-byte super-frame with MSS 1448 becomes
 *                           exactly 4 segments (1448, 1448, 1448, 656
 *                           payload bytes) with consecutive sequence
 *                           numbers, per-segment lengths, FIN/PSH on the
 *                           last only, valid checksums, and the payloads
 *                           concatenated equal the original's; also from a
 *                           shared and a multi-segment super-frame
 *   test_tso_to_csum_port   a port with checksum offload but no TSO gets
 *                           software segments
 *   test_writes_port        a port whose tx writes (ethdev, DP_TX_WRITES)
 *                           gets requests only on mbufs nobody else holds
 *   test_unfixable          headers split across segments, IPv6 extension
 *                           headers, TCP flag on UDP: dropped, counted as
 *                           tx_dropped_offload, pool intact
 *   test_no_requests        packets without requests pass untouched
 *   test_mtu_payload        the MTU judges a super-frame by its segments
 *   test_rx_virtio          vhost's compliant rx flags become requests
 *
 * EAL is initialised once in main() (no hugepages, no PCI, no shared
 * files); the suite runs with CK_NOFORK. */
#include "datapath/offload.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#define POOL_SIZE 2047
#define MAX_OUT   (OFFLOAD_MAX_SEGS + DP_BURST)
#define MSS       1448

/* The fake port. */
static struct rte_mbuf *out[MAX_OUT];
static unsigned n_out;
static uint32_t port_caps;
static struct dp_stats stats;
static struct rte_mempool *mp;
static unsigned pool_start;

static void
fake_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts, uint16_t n,
        struct dp_stats *st)
{
    (void) port;
    (void) pmd_id;
    for (uint16_t i = 0; i < n; i++) {
        ck_assert_uint_lt(n_out, MAX_OUT);
        out[n_out++] = pkts[i];
        st->tx_packets++;
        st->tx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
}

static uint32_t
fake_tx_offloads(const struct dp_port *port)
{
    (void) port;
    return port_caps;
}

static const struct dp_port_ops fake_ops = {
    .tx = fake_tx,
    .tx_offloads = fake_tx_offloads,
};
static struct dp_port fake_port = { .ops = &fake_ops, .name = "fake" };

static void
setup(void)
{
    n_out = 0;
    port_caps = 0;
    memset(&stats, 0, sizeof stats);
    pool_start = rte_mempool_avail_count(mp);
}

static void
free_out(void)
{
    for (unsigned i = 0; i < n_out; i++) {
        rte_pktmbuf_free(out[i]);
    }
    n_out = 0;
}

static void
teardown(void)
{
    free_out();
}

/* Adds 'n' holders to every segment of 'm' (as flooding does). */
static void
hold(struct rte_mbuf *m, int16_t n)
{
    rte_pktmbuf_refcnt_update(m, n);
}

static void
check_pool(void)
{
    ck_assert_uint_eq(rte_mempool_avail_count(mp), pool_start);
}

static void
send1(struct rte_mbuf *m)
{
    offload_tx(&fake_port, 0, mp, &m, 1, &stats);
}

/* ---- Building frames ---------------------------------------------------- */

enum l4 { TCP, UDP };

struct frame {
    uint8_t buf[70000];
    uint32_t len;
    uint32_t l2, l3, l4;            /* Header lengths. */
    bool v6;
    enum l4 proto;
};

static uint8_t
pattern(uint32_t i)
{
    return (uint8_t) (i * 7 + (i >> 8) * 13 + 1);
}

/* Builds an Ethernet/IPv4-or-IPv6/TCP-or-UDP frame with 'payload' bytes
 * (a pattern) and a partial L4 checksum, as a virtio driver sends it. */
static void
frame_build(struct frame *f, bool v6, enum l4 proto, uint32_t payload, bool vlan)
{
    memset(f, 0, sizeof *f);
    f->v6 = v6;
    f->proto = proto;
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) f->buf;
    static const struct rte_ether_addr dst = { { 0x02, 0, 0, 0, 0, 2 } };
    static const struct rte_ether_addr src = { { 0x02, 0, 0, 0, 0, 1 } };
    rte_ether_addr_copy(&dst, &eth->dst_addr);
    rte_ether_addr_copy(&src, &eth->src_addr);
    uint16_t type = v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
    f->l2 = sizeof *eth;
    if (vlan) {
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
        struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *) (eth + 1);
        vh->vlan_tci = RTE_BE16(10);
        vh->eth_proto = rte_cpu_to_be_16(type);
        f->l2 += sizeof *vh;
    } else {
        eth->ether_type = rte_cpu_to_be_16(type);
    }
    f->l3 = v6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
    f->l4 = proto == TCP ? 32 : sizeof(struct rte_udp_hdr);
    uint32_t l4_total = f->l4 + payload;
    void *l3 = f->buf + f->l2;
    uint8_t *l4 = f->buf + f->l2 + f->l3;

    if (v6) {
        struct rte_ipv6_hdr *ip = l3;
        ip->vtc_flow = RTE_BE32(0x60000000);
        ip->payload_len = rte_cpu_to_be_16((uint16_t) l4_total);
        ip->proto = proto == TCP ? IPPROTO_TCP : IPPROTO_UDP;
        ip->hop_limits = 64;
        ip->src_addr[0] = 0xfd, ip->src_addr[15] = 1;
        ip->dst_addr[0] = 0xfd, ip->dst_addr[15] = 2;
    } else {
        struct rte_ipv4_hdr *ip = l3;
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = rte_cpu_to_be_16((uint16_t) (f->l3 + l4_total));
        ip->packet_id = RTE_BE16(1000);
        ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
        ip->time_to_live = 64;
        ip->next_proto_id = proto == TCP ? IPPROTO_TCP : IPPROTO_UDP;
        ip->src_addr = RTE_BE32(RTE_IPV4(10, 0, 0, 1));
        ip->dst_addr = RTE_BE32(RTE_IPV4(10, 0, 0, 2));
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    if (proto == TCP) {
        struct rte_tcp_hdr *th = (struct rte_tcp_hdr *) l4;
        th->src_port = RTE_BE16(40000);
        th->dst_port = RTE_BE16(5201);
        th->sent_seq = RTE_BE32(0xfffff000u);     /* Wraps during a TSO. */
        th->recv_ack = RTE_BE32(77);
        th->data_off = (uint8_t) ((f->l4 / 4) << 4);
        th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
        th->rx_win = RTE_BE16(512);
        l4[20] = 1, l4[21] = 1, l4[22] = 8, l4[23] = 10;   /* NOP NOP TS */
    } else {
        struct rte_udp_hdr *uh = (struct rte_udp_hdr *) l4;
        uh->src_port = RTE_BE16(40000);
        uh->dst_port = RTE_BE16(4789);
        uh->dgram_len = rte_cpu_to_be_16((uint16_t) l4_total);
    }
    for (uint32_t i = 0; i < payload; i++) {
        l4[f->l4 + i] = pattern(i);
    }
    f->len = f->l2 + f->l3 + l4_total;

    /* The partial checksum: the pseudo-header sum, not inverted. */
    uint16_t phdr = v6 ? rte_ipv6_phdr_cksum(l3, 0) : rte_ipv4_phdr_cksum(l3, 0);
    if (proto == TCP) {
        ((struct rte_tcp_hdr *) l4)->cksum = phdr;
    } else {
        ((struct rte_udp_hdr *) l4)->dgram_cksum = phdr;
    }
}

/* Copies 'f' into a new mbuf chain of segments of at most 'seg' bytes and
 * sets the requests ('mss' > 0: TSO). */
static struct rte_mbuf *
frame_mbuf(const struct frame *f, uint32_t seg, uint16_t mss)
{
    struct rte_mbuf *head = NULL, *tail = NULL;

    for (uint32_t off = 0; off < f->len; off += seg) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
        ck_assert_ptr_nonnull(m);
        seg = RTE_MIN(seg, rte_pktmbuf_tailroom(m));
        uint32_t k = RTE_MIN(seg, f->len - off);
        char *p = rte_pktmbuf_append(m, (uint16_t) k);
        ck_assert_ptr_nonnull(p);
        memcpy(p, f->buf + off, k);
        if (!head) {
            head = tail = m;
        } else {
            ck_assert_int_eq(rte_pktmbuf_chain(head, m), 0);
            tail = m;
        }
    }
    (void) tail;
    head->l2_len = f->l2;
    head->l3_len = f->l3;
    head->l4_len = f->l4;
    head->ol_flags = (f->v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4)
                     | (f->proto == TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
    if (mss) {
        head->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
        head->tso_segsz = mss;
    }
    return head;
}

/* Copies the bytes of 'm' into 'buf' (size 'cap'); returns the length. */
static uint32_t
mbuf_bytes(const struct rte_mbuf *m, uint8_t *buf, uint32_t cap)
{
    uint32_t len = rte_pktmbuf_pkt_len(m);

    ck_assert_uint_le(len, cap);
    const void *p = rte_pktmbuf_read(m, 0, len, buf);
    ck_assert_ptr_nonnull(p);
    if (p != buf) {
        memcpy(buf, p, len);
    }
    return len;
}

/* Checks that frame 'b' ('len' bytes, headers as in 'f') carries a valid IP
 * header and a valid full L4 checksum, computed here from the bytes. */
static void
check_csums(const struct frame *f, const uint8_t *b, uint32_t len)
{
    const void *l3 = b + f->l2;
    const void *l4 = b + f->l2 + f->l3;

    if (f->v6) {
        const struct rte_ipv6_hdr *ip = l3;
        ck_assert_uint_eq(rte_be_to_cpu_16(ip->payload_len) + f->l2 + f->l3, len);
        ck_assert_uint_eq(rte_ipv6_udptcp_cksum_verify(ip, l4), 0);
    } else {
        const struct rte_ipv4_hdr *ip = l3;
        ck_assert_uint_eq(rte_be_to_cpu_16(ip->total_length) + f->l2, len);
        ck_assert_uint_eq(rte_ipv4_cksum(ip), 0);     /* Valid: sums to 0. */
        ck_assert_uint_eq(rte_ipv4_udptcp_cksum_verify(ip, l4), 0);
    }
}

/* ---- Cases -------------------------------------------------------------- */

static struct frame fr, fr2;
static uint8_t bytes[70000];

START_TEST(test_passthrough)
{
    port_caps = DP_TX_CSUM | DP_TX_TSO4 | DP_TX_TSO6;
    for (int v6 = 0; v6 < 2; v6++) {
        frame_build(&fr, v6, TCP, 5000, false);
        struct rte_mbuf *m = frame_mbuf(&fr, 2000, MSS);
        hold(m, 1);                           /* Flooded: held twice. */
        uint64_t flags = m->ol_flags;
        send1(m);
        ck_assert_uint_eq(n_out, 1);
        ck_assert_ptr_eq(out[0], m);
        ck_assert_uint_eq(m->ol_flags, flags);
        ck_assert_uint_eq(m->tso_segsz, MSS);
        ck_assert_uint_eq(mbuf_bytes(m, bytes, sizeof bytes), fr.len);
        ck_assert_int_eq(memcmp(bytes, fr.buf, fr.len), 0);
        ck_assert_uint_eq(stats.tx_packets, (unsigned) v6 + 1);
        free_out();
        rte_pktmbuf_free(m);
    }
    check_pool();
}
END_TEST

/* A port without offloads: the checksum of a writable 'fr' is completed in
 * place. */
static void
check_csum_fixup(bool v6, enum l4 proto, bool vlan)
{
    frame_build(&fr, v6, proto, 700, vlan);
    struct rte_mbuf *m = frame_mbuf(&fr, 400, 0);     /* 2 segments. */
    send1(m);
    ck_assert_uint_eq(n_out, 1);
    ck_assert_ptr_eq(out[0], m);                      /* In place. */
    ck_assert_uint_eq(m->ol_flags & OFFLOAD_TX_FLAGS, 0);
    uint32_t len = mbuf_bytes(m, bytes, sizeof bytes);
    ck_assert_uint_eq(len, fr.len);
    check_csums(&fr, bytes, len);
    /* Only the checksum changed. */
    uint32_t ck_off = fr.l2 + fr.l3 + (proto == TCP ? 16 : 6);
    ck_assert_int_eq(memcmp(bytes, fr.buf, ck_off), 0);
    ck_assert_int_eq(memcmp(bytes + ck_off + 2, fr.buf + ck_off + 2, len - ck_off - 2), 0);
    ck_assert_uint_eq(stats.drops[DP_DROP_TX_OFFLOAD], 0);
    free_out();
    check_pool();
}

START_TEST(test_csum_tcp4) { check_csum_fixup(false, TCP, false); check_csum_fixup(false, TCP, true); }
END_TEST
START_TEST(test_csum_udp4) { check_csum_fixup(false, UDP, false); }
END_TEST
START_TEST(test_csum_tcp6) { check_csum_fixup(true, TCP, false); check_csum_fixup(true, UDP, true); }
END_TEST

START_TEST(test_csum_shared)
{
    frame_build(&fr, false, TCP, 1000, false);
    struct rte_mbuf *m = frame_mbuf(&fr, 600, 0);
    hold(m, 1);
    uint64_t flags = m->ol_flags;
    send1(m);
    ck_assert_uint_eq(n_out, 1);
    ck_assert_ptr_ne(out[0], m);
    /* The original: untouched, still held once (by us). */
    ck_assert_uint_eq(rte_mbuf_refcnt_read(m), 1);
    ck_assert_uint_eq(m->ol_flags, flags);
    ck_assert_uint_eq(mbuf_bytes(m, bytes, sizeof bytes), fr.len);
    ck_assert_int_eq(memcmp(bytes, fr.buf, fr.len), 0);
    /* The copy: valid. */
    uint32_t len = mbuf_bytes(out[0], bytes, sizeof bytes);
    ck_assert_uint_eq(len, fr.len);
    check_csums(&fr, bytes, len);
    rte_pktmbuf_free(m);
    free_out();
    check_pool();
}
END_TEST

/* Checks that out[0..n_out-1] are the segments of 'fr' (a TSO super-frame
 * with 'payload' bytes, MSS 'mss'). */
static void
check_segments(const struct frame *f, uint32_t payload, uint32_t mss)
{
    uint32_t n = (payload + mss - 1) / mss;
    uint32_t hdr = f->l2 + f->l3 + f->l4;
    const struct rte_tcp_hdr *th0 = (const struct rte_tcp_hdr *) (f->buf + f->l2 + f->l3);
    static uint8_t cat[70000];
    uint32_t cat_len = 0;

    ck_assert_uint_eq(n_out, n);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t want = RTE_MIN(mss, payload - k * mss);
        uint32_t len = mbuf_bytes(out[k], bytes, sizeof bytes);
        ck_assert_uint_eq(out[k]->ol_flags & OFFLOAD_TX_FLAGS, 0);
        ck_assert_uint_eq(len, hdr + want);
        check_csums(f, bytes, len);
        /* Ethernet header as it was. */
        ck_assert_int_eq(memcmp(bytes, f->buf, f->l2), 0);
        const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *) (bytes + f->l2 + f->l3);
        ck_assert_uint_eq(rte_be_to_cpu_32(th->sent_seq),
                          (uint32_t) (rte_be_to_cpu_32(th0->sent_seq) + k * mss));
        ck_assert_uint_eq(th->recv_ack, th0->recv_ack);
        uint8_t fl = th0->tcp_flags;
        if (k + 1 < n) {
            fl &= (uint8_t) ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
        }
        ck_assert_uint_eq(th->tcp_flags, fl);
        /* TCP options as they were. */
        ck_assert_int_eq(memcmp(bytes + f->l2 + f->l3 + 20,
                                f->buf + f->l2 + f->l3 + 20, f->l4 - 20), 0);
        if (!f->v6) {
            const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *) (bytes + f->l2);
            ck_assert_uint_eq(rte_be_to_cpu_16(ip->packet_id), 1000 + k);
        }
        memcpy(cat + cat_len, bytes + hdr, want);
        cat_len += want;
    }
    ck_assert_uint_eq(cat_len, payload);
    ck_assert_int_eq(memcmp(cat, f->buf + hdr, payload), 0);
}

/* A TSO super-frame of 5000 bytes of payload to a port without TSO, held
 * 'refs' times, in segments of 'seg' bytes. */
static void
check_tso(bool v6, unsigned refs, uint32_t seg, uint32_t caps)
{
    port_caps = caps;
    memset(&stats, 0, sizeof stats);
    frame_build(&fr, v6, TCP, 5000, false);
    struct rte_mbuf *m = frame_mbuf(&fr, seg, MSS);
    hold(m, (int16_t) (refs - 1));
    uint64_t flags = m->ol_flags;
    send1(m);
    check_segments(&fr, 5000, MSS);
    ck_assert_uint_eq(stats.tx_packets, 4);
    ck_assert_uint_eq(stats.drops[DP_DROP_TX_OFFLOAD], 0);
    ck_assert_uint_eq(stats.drops[DP_DROP_TX_NO_MBUF], 0);
    if (refs > 1) {
        /* The other holder's frame: bytes and flags as before. */
        ck_assert_uint_eq(m->ol_flags, flags);
        ck_assert_uint_eq(mbuf_bytes(m, bytes, sizeof bytes), fr.len);
        ck_assert_int_eq(memcmp(bytes, fr.buf, fr.len), 0);
        free_out();
        ck_assert_uint_eq(rte_mbuf_refcnt_read(m), refs - 1);
        for (unsigned i = 1; i < refs; i++) {
            rte_pktmbuf_free(m);
        }
    }
    free_out();
    check_pool();
}

START_TEST(test_tso4)
{
    check_tso(false, 1, 8000, 0);
    check_tso(false, 2, 8000, 0);
    check_tso(false, 1, 1000, 0);       /* Multi-segment super-frame. */
    check_tso(false, 3, 700, 0);
}
END_TEST

START_TEST(test_tso6)
{
    check_tso(true, 1, 8000, 0);
    check_tso(true, 2, 8000, 0);
    check_tso(true, 1, 1000, 0);
    check_tso(true, 3, 700, 0);
}
END_TEST

START_TEST(test_tso_to_csum_port)
{
    check_tso(false, 1, 8000, DP_TX_CSUM);
    check_tso(true, 2, 8000, DP_TX_CSUM | DP_TX_TSO4);
}
END_TEST

START_TEST(test_tso_one_segment)
{
    /* A super-frame no larger than one segment: just the checksum. */
    frame_build(&fr, false, TCP, MSS, false);
    struct rte_mbuf *m = frame_mbuf(&fr, 8000, MSS);
    send1(m);
    ck_assert_uint_eq(n_out, 1);
    ck_assert_uint_eq(out[0]->ol_flags & OFFLOAD_TX_FLAGS, 0);
    uint32_t len = mbuf_bytes(out[0], bytes, sizeof bytes);
    ck_assert_uint_eq(len, fr.len);
    check_csums(&fr, bytes, len);
    free_out();
    check_pool();
}
END_TEST

START_TEST(test_writes_port)
{
    port_caps = DP_TX_CSUM | DP_TX_TSO4 | DP_TX_TSO6 | DP_TX_WRITES;
    frame_build(&fr, false, TCP, 5000, false);

    /* Nobody else holds it: the device gets the request (and the IPv4
     * checksum request NIC TSO needs). */
    struct rte_mbuf *m = frame_mbuf(&fr, 8000, MSS);
    send1(m);
    ck_assert_uint_eq(n_out, 1);
    ck_assert_ptr_eq(out[0], m);
    ck_assert(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    ck_assert(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
    free_out();

    /* Shared: segmented in software instead. */
    m = frame_mbuf(&fr, 8000, MSS);
    hold(m, 1);
    send1(m);
    check_segments(&fr, 5000, MSS);
    free_out();
    ck_assert_uint_eq(rte_mbuf_refcnt_read(m), 1);
    ck_assert(!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM));
    rte_pktmbuf_free(m);
    check_pool();
}
END_TEST

START_TEST(test_unfixable)
{
    /* Headers split across segments. */
    frame_build(&fr, false, TCP, 3000, false);
    struct rte_mbuf *m = frame_mbuf(&fr, 40, MSS);
    send1(m);
    /* IPv6 with an extension header (l3_len 48). */
    frame_build(&fr2, true, TCP, 3000, false);
    m = frame_mbuf(&fr2, 8000, MSS);
    m->l3_len = 48;
    send1(m);
    /* A TCP request on a UDP packet. */
    frame_build(&fr, false, UDP, 300, false);
    m = frame_mbuf(&fr, 8000, 0);
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    send1(m);
    /* More than OFFLOAD_MAX_SEGS segments. */
    frame_build(&fr2, true, TCP, 60000, false);
    m = frame_mbuf(&fr2, 8000, 200);
    send1(m);

    ck_assert_uint_eq(n_out, 0);
    ck_assert_uint_eq(stats.drops[DP_DROP_TX_OFFLOAD], 4);
    ck_assert_uint_eq(stats.tx_packets, 0);
    check_pool();
}
END_TEST

START_TEST(test_no_requests)
{
    struct rte_mbuf *pkts[3];

    frame_build(&fr, false, TCP, 100, false);
    for (int i = 0; i < 3; i++) {
        pkts[i] = frame_mbuf(&fr, 8000, 0);
        pkts[i]->ol_flags = 0;
    }
    uint32_t len = mbuf_bytes(pkts[1], bytes, sizeof bytes);
    offload_tx(&fake_port, 0, mp, pkts, 3, &stats);
    ck_assert_uint_eq(n_out, 3);
    uint8_t after[2000];
    ck_assert_uint_eq(mbuf_bytes(out[1], after, sizeof after), len);
    ck_assert_int_eq(memcmp(bytes, after, len), 0);   /* Partial sum left. */
    free_out();
    check_pool();
}
END_TEST

START_TEST(test_mixed_batch)
{
    /* A batch of 30: 10 super-frames (4 segments each) among 20 plain
     * frames, order kept, more than one burst out. */
    struct rte_mbuf *pkts[30];

    frame_build(&fr, false, TCP, 5000, false);
    frame_build(&fr2, false, UDP, 64, false);
    for (int i = 0; i < 30; i++) {
        if (i % 3 == 0) {
            pkts[i] = frame_mbuf(&fr, 8000, MSS);
        } else {
            pkts[i] = frame_mbuf(&fr2, 8000, 0);
            pkts[i]->ol_flags = 0;
        }
    }
    offload_tx(&fake_port, 0, mp, pkts, 30, &stats);
    ck_assert_uint_eq(n_out, 60);
    ck_assert_uint_eq(stats.tx_packets, 60);
    unsigned k = 0;
    for (int i = 0; i < 30; i++) {
        if (i % 3 == 0) {
            for (int s = 0; s < 4; s++) {
                ck_assert_uint_eq(rte_pktmbuf_pkt_len(out[k++]),
                                  fr.l2 + fr.l3 + fr.l4 + (s < 3 ? MSS : 656));
            }
        } else {
            ck_assert_ptr_eq(out[k++], pkts[i]);
        }
    }
    free_out();
    check_pool();
}
END_TEST

START_TEST(test_mtu_payload)
{
    frame_build(&fr, false, TCP, 5000, false);
    struct rte_mbuf *m = frame_mbuf(&fr, 8000, MSS);
    uint32_t payload = fr.len - fr.l2;
    ck_assert_uint_eq(offload_mtu_payload(m, payload), 20 + 32 + MSS);
    m->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG;
    ck_assert_uint_eq(offload_mtu_payload(m, payload), payload);
    m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
    ck_assert_uint_eq(offload_mtu_payload(m, 100), 100);
    rte_pktmbuf_free(m);
    check_pool();
}
END_TEST

START_TEST(test_rx_virtio)
{
    struct rte_mbuf *pkts[3];

    /* TCP/IPv6 GSO behind a VLAN tag, as vhost's dequeue reports it. */
    frame_build(&fr, true, TCP, 3000, true);
    pkts[0] = frame_mbuf(&fr, 8000, 0);
    pkts[0]->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
    pkts[0]->tx_offload = 0;
    pkts[0]->tso_segsz = MSS;
    /* UDP/IPv4 with a partial checksum. */
    frame_build(&fr2, false, UDP, 100, false);
    pkts[1] = frame_mbuf(&fr2, 8000, 0);
    pkts[1]->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
    pkts[1]->tx_offload = 0;
    /* Checksum known good: nothing to do. */
    pkts[2] = frame_mbuf(&fr2, 8000, 0);
    pkts[2]->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    pkts[2]->tx_offload = 0;

    offload_rx_virtio(pkts, 3);
    ck_assert_uint_eq(pkts[0]->ol_flags, RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM
                                         | RTE_MBUF_F_TX_TCP_SEG);
    ck_assert_uint_eq(pkts[0]->l2_len, 18);
    ck_assert_uint_eq(pkts[0]->l3_len, 40);
    ck_assert_uint_eq(pkts[0]->l4_len, 32);
    ck_assert_uint_eq(pkts[0]->tso_segsz, MSS);
    ck_assert_uint_eq(pkts[1]->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM);
    ck_assert_uint_eq(pkts[1]->l2_len, 14);
    ck_assert_uint_eq(pkts[1]->l3_len, 20);
    ck_assert_uint_eq(pkts[1]->l4_len, 8);
    ck_assert_uint_eq(pkts[2]->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_GOOD);

    /* And the converted super-frame segments correctly. */
    send1(pkts[0]);
    check_segments(&fr, 3000, MSS);
    free_out();
    rte_pktmbuf_free(pkts[1]);
    rte_pktmbuf_free(pkts[2]);
    check_pool();
}
END_TEST

static Suite *
offload_suite(void)
{
    Suite *s = suite_create("offload");
    TCase *tc = tcase_create("offload");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_passthrough);
    tcase_add_test(tc, test_csum_tcp4);
    tcase_add_test(tc, test_csum_udp4);
    tcase_add_test(tc, test_csum_tcp6);
    tcase_add_test(tc, test_csum_shared);
    tcase_add_test(tc, test_tso4);
    tcase_add_test(tc, test_tso6);
    tcase_add_test(tc, test_tso_to_csum_port);
    tcase_add_test(tc, test_tso_one_segment);
    tcase_add_test(tc, test_writes_port);
    tcase_add_test(tc, test_unfixable);
    tcase_add_test(tc, test_no_requests);
    tcase_add_test(tc, test_mixed_batch);
    tcase_add_test(tc, test_mtu_payload);
    tcase_add_test(tc, test_rx_virtio);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char *argv[])
{
    (void) argc;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "test-offload-%ld", (long) getpid());
    char *eal_argv[] = {
        argv[0], "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
        "--no-telemetry", "--file-prefix", prefix,
        "--log-level", "lib.*:error", "-l", "0",
    };
    int eal_argc = (int) (sizeof eal_argv / sizeof eal_argv[0]);

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "test-offload: rte_eal_init failed: %s\n",
                rte_strerror(rte_errno));
        return EXIT_FAILURE;
    }
    /* No per-lcore cache, so the free count is exact. */
    mp = rte_pktmbuf_pool_create("test_offload", POOL_SIZE, 0, 0,
                                 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!mp) {
        fprintf(stderr, "test-offload: cannot create the pool: %s\n",
                rte_strerror(rte_errno));
        rte_eal_cleanup();
        return EXIT_FAILURE;
    }

    SRunner *sr = srunner_create(offload_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    rte_mempool_free(mp);
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
