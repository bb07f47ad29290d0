/* offload - checksum and TCP segmentation offload through the switch: the
 * slow paths of offload.h (software checksums, segmentation, the conversion
 * of vhost's rx flags).  See offload.h for the convention.
 *
 * Everything here runs on PMD threads: no malloc (mbufs come from the
 * packet pool), no syscalls, no logging.  A packet's headers (l2_len +
 * l3_len + l4_len bytes) must be in its first segment, as librte_vhost and
 * every NIC deliver them; otherwise it is dropped as tx_dropped_offload. */
#include "datapath/offload.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#define TX_LEN_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG \
                      | RTE_MBUF_F_TX_IP_CKSUM)

/* What is being sent: a small output batch in front of the port's tx(), so
 * that segments (up to OFFLOAD_MAX_SEGS per packet) go out in bursts. */
struct offload_out {
    struct dp_port *port;
    unsigned pmd_id;
    struct dp_stats *st;
    uint16_t n;
    struct rte_mbuf *pkts[DP_BURST];
};

static void
out_flush(struct offload_out *o)
{
    if (o->n) {
        o->port->ops->tx(o->port, o->pmd_id, o->pkts, o->n, o->st);
        o->n = 0;
    }
}

static void
out_push(struct offload_out *o, struct rte_mbuf *m)
{
    o->pkts[o->n++] = m;
    if (o->n == DP_BURST) {
        out_flush(o);
    }
}

/* True if nobody else holds any segment of 'm', so it may be written. */
static bool
mbuf_writable(const struct rte_mbuf *m)
{
    for (; m; m = m->next) {
        if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) {
            return false;
        }
    }
    return true;
}

/* Checks the headers of 'm', which carries offload requests, against its
 * l3_len/l4_len, and returns its L2 header length as its frame is now (a
 * VLAN tag may have been pushed or popped since rx), or -1 if it cannot be
 * handled: headers not in the first segment, not TCP/UDP over IPv4/IPv6
 * as flagged, IPv6 extension headers. */
static int
check_headers(const struct rte_mbuf *m)
{
    uint32_t len = rte_pktmbuf_data_len(m);
    uint64_t f = m->ol_flags;

    if (len < sizeof(struct rte_ether_hdr) + sizeof(struct rte_vlan_hdr)) {
        return -1;
    }
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    uint16_t type = eth->ether_type;
    uint32_t l2 = sizeof *eth;
    if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
        type = ((const struct rte_vlan_hdr *) (eth + 1))->eth_proto;
        l2 += sizeof(struct rte_vlan_hdr);
    }
    if (l2 + m->l3_len + m->l4_len > len) {
        return -1;
    }
    const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, l2);
    uint8_t proto;
    if (f & RTE_MBUF_F_TX_IPV4) {
        const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *) l3;
        if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || m->l3_len < sizeof *ip
            || rte_ipv4_hdr_len(ip) != m->l3_len
            || rte_be_to_cpu_16(ip->total_length) + l2 > rte_pktmbuf_pkt_len(m)
            || rte_be_to_cpu_16(ip->total_length) < m->l3_len + m->l4_len) {
            return -1;
        }
        proto = ip->next_proto_id;
    } else if (f & RTE_MBUF_F_TX_IPV6) {
        const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *) l3;
        /* rte_ipv6_udptcp_cksum*() take the L4 length from payload_len,
         * which extension headers would make wrong. */
        if (type != RTE_BE16(RTE_ETHER_TYPE_IPV6) || m->l3_len != sizeof *ip
            || rte_be_to_cpu_16(ip->payload_len) + sizeof *ip + l2
               > rte_pktmbuf_pkt_len(m)
            || rte_be_to_cpu_16(ip->payload_len) < m->l4_len) {
            return -1;
        }
        proto = ip->proto;
    } else {
        return -1;
    }

    const uint8_t *l4 = l3 + m->l3_len;
    if ((f & RTE_MBUF_F_TX_TCP_SEG)
        || (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
        const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *) l4;
        if (proto != IPPROTO_TCP || m->l4_len < sizeof *th
            || (uint32_t) ((th->data_off & 0xf0) >> 2) != m->l4_len) {
            return -1;
        }
    } else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM) {
        if (proto != IPPROTO_UDP || m->l4_len != sizeof(struct rte_udp_hdr)) {
            return -1;
        }
    } else {
        return -1;          /* SCTP or a combination we never produce. */
    }
    return (int) l2;
}

/* Computes the L4 checksum of 'm' (writable; headers checked, l2_len
 * right) in place and clears its offload requests. */
static void
csum_in_place(struct rte_mbuf *m)
{
    uint32_t l4_off = (uint32_t) m->l2_len + m->l3_len;
    void *l3 = rte_pktmbuf_mtod_offset(m, void *, m->l2_len);
    void *l4 = rte_pktmbuf_mtod_offset(m, void *, l4_off);
    bool tcp = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
               || (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
    uint16_t *ck = tcp ? &((struct rte_tcp_hdr *) l4)->cksum
                       : &((struct rte_udp_hdr *) l4)->dgram_cksum;

    *ck = 0;
    if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
        *ck = rte_ipv4_udptcp_cksum_mbuf(m, l3, (uint16_t) l4_off);
    } else {
        *ck = rte_ipv6_udptcp_cksum_mbuf(m, l3, (uint16_t) l4_off);
    }
    m->ol_flags &= ~TX_LEN_FLAGS;
}

/* Completes the IPv4 header checksum and the TCP checksum of segment 's'
 * (headers in its first segment, which is ours). */
static void
seg_csum(struct rte_mbuf *s)
{
    uint32_t l4_off = (uint32_t) s->l2_len + s->l3_len;
    struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(s, struct rte_tcp_hdr *, l4_off);

    th->cksum = 0;
    if (s->ol_flags & RTE_MBUF_F_TX_IPV4) {
        struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *,
                                                          s->l2_len);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        th->cksum = rte_ipv4_udptcp_cksum_mbuf(s, ip, (uint16_t) l4_off);
    } else {
        struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(s, struct rte_ipv6_hdr *,
                                                          s->l2_len);
        th->cksum = rte_ipv6_udptcp_cksum_mbuf(s, ip, (uint16_t) l4_off);
    }
    s->ol_flags &= ~TX_LEN_FLAGS;
}

/* Appends 'len' bytes of 'src' from offset 'off' to the chain 'head' whose
 * last segment is *tail, adding segments from 'mp' as needed.  Returns 0 or
 * -ENOMEM (the chain keeps what was added; the caller frees it). */
static int
append_copy(struct rte_mempool *mp, struct rte_mbuf *head, struct rte_mbuf **tail,
            const struct rte_mbuf *src, uint32_t off, uint32_t len)
{
    while (len) {
        struct rte_mbuf *t = *tail;
        uint32_t room = rte_pktmbuf_tailroom(t);
        if (!room) {
            struct rte_mbuf *n = rte_pktmbuf_alloc(mp);
            if (!n) {
                return -ENOMEM;
            }
            t->next = n;
            head->nb_segs++;
            *tail = t = n;
            room = rte_pktmbuf_tailroom(t);
        }
        uint32_t k = RTE_MIN(room, len);
        uint8_t *dst = rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len);
        const void *p = rte_pktmbuf_read(src, off, k, dst);
        if (p != dst) {
            memcpy(dst, p, k);
        }
        t->data_len = (uint16_t) (t->data_len + k);
        head->pkt_len += k;
        off += k;
        len -= k;
    }
    return 0;
}

/* Cuts TCP/IPv6 super-frame 'm' (headers checked, no extension headers)
 * into copies of at most tso_segsz payload bytes each, with their own
 * payload length, sequence number, flags and checksum, stored in 'segs'
 * (room for OFFLOAD_MAX_SEGS).  'm' is only read.  Returns the number of
 * segments, -ENOMEM (nothing left allocated) or -EINVAL. */
static int
segment_tcp6(struct rte_mbuf *m, struct rte_mempool *mp, struct rte_mbuf **segs)
{
    uint32_t hdr = (uint32_t) m->l2_len + m->l3_len + m->l4_len;
    const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *,
                                                            m->l2_len);
    uint32_t total = rte_be_to_cpu_16(ip->payload_len) - m->l4_len;  /* TCP payload. */
    uint32_t mss = m->tso_segsz;
    uint32_t n = (total + mss - 1) / mss;

    if (n > OFFLOAD_MAX_SEGS) {
        return -EINVAL;
    }
    const struct rte_tcp_hdr *th0 = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
                                                           m->l2_len + m->l3_len);
    uint32_t seq0 = rte_be_to_cpu_32(th0->sent_seq);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t len = RTE_MIN(mss, total - k * mss);
        struct rte_mbuf *s = rte_pktmbuf_alloc(mp), *tail = s;
        if (!s || append_copy(mp, s, &tail, m, 0, hdr)
            || append_copy(mp, s, &tail, m, hdr + k * mss, len)) {
            rte_pktmbuf_free(s);
            rte_pktmbuf_free_bulk(segs, k);
            return -ENOMEM;
        }
        s->tx_offload = m->tx_offload;
        s->ol_flags = m->ol_flags & ~RTE_MBUF_F_TX_TCP_SEG;
        s->packet_type = m->packet_type;

        /* Headers are in the first segment: hdr < the data room. */
        struct rte_ipv6_hdr *sip = rte_pktmbuf_mtod_offset(s, struct rte_ipv6_hdr *,
                                                           s->l2_len);
        struct rte_tcp_hdr *sth = rte_pktmbuf_mtod_offset(s, struct rte_tcp_hdr *,
                                                          s->l2_len + s->l3_len);
        sip->payload_len = rte_cpu_to_be_16((uint16_t) (m->l4_len + len));
        sth->sent_seq = rte_cpu_to_be_32(seq0 + k * mss);
        if (k + 1 < n) {
            sth->tcp_flags &= (uint8_t) ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
        }
        if (k > 0) {
            sth->tcp_flags &= (uint8_t) ~RTE_TCP_CWR_FLAG;
        }
        seg_csum(s);
        segs[k] = s;
    }
    return (int) n;
}

/* Cuts TCP/IPv4 super-frame 'm' with rte_gso (headers copied into new
 * mbufs, payload attached by indirect mbufs, so 'm' is only read; its
 * ol_flags, which rte_gso_segment() clears, are put back) and checksums
 * the segments.  Returns as segment_tcp6(). */
static int
segment_tcp4(struct rte_mbuf *m, struct rte_mempool *mp, struct rte_mbuf **segs)
{
    struct rte_gso_ctx ctx = {
        .direct_pool = mp,
        .indirect_pool = mp,
        .gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
        .gso_size = (uint16_t) (m->l2_len + m->l3_len + m->l4_len + m->tso_segsz),
        .flag = 0,                      /* IP ids increase, as Linux's GSO. */
    };
    uint64_t flags = m->ol_flags;

    if ((uint32_t) m->l2_len + m->l3_len + m->l4_len + m->tso_segsz > UINT16_MAX) {
        return -EINVAL;
    }
    /* rte_gso reads only the TX_IPV4/TCP_SEG bits of the flags. */
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG;
    int n = rte_gso_segment(m, &ctx, segs, OFFLOAD_MAX_SEGS);
    m->ol_flags = flags;
    if (n <= 0) {
        return n == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    for (int k = 0; k < n; k++) {
        segs[k]->ol_flags = flags & ~RTE_MBUF_F_TX_TCP_SEG;
        segs[k]->tx_offload = m->tx_offload;
        seg_csum(segs[k]);
    }
    return n;
}

/* Does to packet 'm' (with offload requests) what 'port', which takes
 * 'caps', cannot, and pushes the result to 'o'.  'm' is consumed. */
static void
fixup_one(struct offload_out *o, struct rte_mempool *mp, uint32_t caps,
          struct rte_mbuf *m)
{
    struct dp_stats *st = o->st;
    int l2 = check_headers(m);

    if (l2 < 0) {
        st->drops[DP_DROP_TX_OFFLOAD]++;
        rte_pktmbuf_free(m);
        return;
    }
    /* Metadata only, and the same value for every holder of 'm' (they all
     * see the same frame); the frame itself is not touched. */
    m->l2_len = (uint8_t) l2;

    uint64_t f = m->ol_flags;
    bool v4 = (f & RTE_MBUF_F_TX_IPV4) != 0;
    bool seg_flag = (f & RTE_MBUF_F_TX_TCP_SEG) != 0;
    uint32_t need = DP_TX_CSUM | (seg_flag ? (v4 ? DP_TX_TSO4 : DP_TX_TSO6) : 0);
    bool writable = mbuf_writable(m);

    if ((caps & need) == need && (!(caps & DP_TX_WRITES) || writable)) {
        if (seg_flag && v4 && (caps & DP_TX_WRITES)) {
            m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;  /* NIC TSO rewrites it. */
        }
        out_push(o, m);
        return;
    }

    uint32_t payload = rte_pktmbuf_pkt_len(m) - (uint32_t) l2 - m->l3_len - m->l4_len;
    if (!seg_flag || !m->tso_segsz || payload <= m->tso_segsz) {
        /* Only the checksum to do (a super-frame of one segment included):
         * in place if nobody else holds 'm', else in a copy. */
        if (!writable) {
            struct rte_mbuf *c = rte_pktmbuf_copy(m, mp, 0, UINT32_MAX);
            rte_pktmbuf_free(m);
            if (!c) {
                st->drops[DP_DROP_TX_NO_MBUF]++;
                return;
            }
            m = c;
        }
        csum_in_place(m);
        out_push(o, m);
        return;
    }

    struct rte_mbuf *segs[OFFLOAD_MAX_SEGS];
    int n = v4 ? segment_tcp4(m, mp, segs) : segment_tcp6(m, mp, segs);
    rte_pktmbuf_free(m);
    if (n < 0) {
        st->drops[n == -ENOMEM ? DP_DROP_TX_NO_MBUF : DP_DROP_TX_OFFLOAD]++;
        return;
    }
    for (int k = 0; k < n; k++) {
        out_push(o, segs[k]);
    }
}

void
offload_tx_fixup(struct dp_port *port, unsigned pmd_id, struct rte_mempool *mp,
                 struct rte_mbuf **pkts, uint16_t n, struct dp_stats *st)
{
    struct offload_out o = { .port = port, .pmd_id = pmd_id, .st = st, .n = 0 };
    uint32_t caps = port->ops->tx_offloads ? port->ops->tx_offloads(port) : 0;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        if (!(m->ol_flags & OFFLOAD_TX_FLAGS)) {
            out_push(&o, m);
        } else {
            fixup_one(&o, mp, caps, m);
        }
    }
    out_flush(&o);
}

void
offload_rx_virtio_slow(struct rte_mbuf *m)
{
    struct rte_net_hdr_lens hl;
    uint32_t pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK
                                            | RTE_PTYPE_L4_MASK);
    uint64_t f = m->ol_flags & ~(RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_LRO);
    uint64_t req = 0;

    if (RTE_ETH_IS_IPV4_HDR(pt)) {
        req |= RTE_MBUF_F_TX_IPV4;
    } else if (RTE_ETH_IS_IPV6_HDR(pt)) {
        req |= RTE_MBUF_F_TX_IPV6;
    }
    if ((pt & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP) {
        req |= RTE_MBUF_F_TX_TCP_CKSUM;
        if ((m->ol_flags & RTE_MBUF_F_RX_LRO) && m->tso_segsz) {
            req |= RTE_MBUF_F_TX_TCP_SEG;
        }
    } else if ((pt & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_UDP) {
        req |= RTE_MBUF_F_TX_UDP_CKSUM;
    }
    if (!(req & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6))
        || !(req & RTE_MBUF_F_TX_L4_MASK)) {
        /* librte_vhost reports a partial checksum only for TCP, UDP and
         * SCTP; SCTP (a CRC) is left as it came, flagged "unknown". */
        m->ol_flags = f | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
        return;
    }
    m->l2_len = hl.l2_len;
    m->l3_len = hl.l3_len;
    m->l4_len = hl.l4_len;
    m->ol_flags = f | req;
}
