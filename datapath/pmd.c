/* pmd - the PMD loop: rx burst, learn, look up, batch, flush.  See pmd.h.
 *
 * Everything in this file runs on PMD threads.  The only shared state it
 * writes is its own counters, its ports' stats slot for this PMD, the load
 * counters of the rx queues it polls, and FDB entries (fdb_learn(), which
 * writes only on change).
 *
 * Cycle accounting: one TSC read per poll.  A poll that received packets
 * charges its queue from the start of the rx burst to the end of switching
 * (mid-burst flushes of full batches included); the end-of-iteration flush
 * is shared among the queues that received, by packets.  Empty polls are
 * charged to no queue.  An iteration that received anything counts as busy
 * for the PMD, otherwise as idle.
 *
 * Switching (pmd_switch()): a burst whose packets share one untagged
 * Ethernet header takes the whole-burst path (pmd_switch_burst()); any
 * other goes packet by packet with one bulk FDB learn and one bulk lookup
 * per burst (pmd_switch_each()).  Every packet passes two places: the
 * rx-burst site in pmd_iterate() and the tx site pmd_tx().  Cycles per
 * packet: Documentation/performance-profile.md; tests/bench/bench-pmd.c
 * drives this file without a thread (pmd_poll_once()). */
#include "datapath/pmd.h"

#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "datapath/fdb.h"

/* The per-port tx site: every packet the PMD sends goes out here, 'n'
 * (1..DP_BURST) packets to 'port', which takes them all (dp_port_ops.tx). */
static inline void
pmd_tx(struct pmd *pmd, struct dp_port *port, struct rte_mbuf **pkts, uint16_t n)
{
    struct dp_stats *st = &port->stats[pmd->id];
    uint64_t before = st->tx_packets;
    port->ops->tx(port, pmd->id, pkts, n, st);
    pmd->counters.tx_packets += st->tx_packets - before;
}

/* Sends the batch of port 'port_no' and empties it. */
static inline void
pmd_flush_port(struct pmd *pmd, const struct dp_snapshot *snap, uint16_t port_no)
{
    struct pmd_txbatch *b = &pmd->txb[port_no];
    struct dp_port *port = snap->ports[port_no];
    uint16_t n = b->n;

    b->n = 0;
    if (unlikely(!port)) {
        /* Cannot happen: batches refer to ports of the same snapshot. */
        rte_pktmbuf_free_bulk(b->pkts, n);
        return;
    }
    pmd_tx(pmd, port, b->pkts, n);
}

/* Flushes every non-empty batch. */
static inline void
pmd_flush(struct pmd *pmd, const struct dp_snapshot *snap)
{
    for (unsigned i = 0; i < pmd->n_dirty; i++) {
        uint16_t port_no = pmd->dirty[i];
        pmd->txb[port_no].dirty = false;
        if (pmd->txb[port_no].n) {
            pmd_flush_port(pmd, snap, port_no);
        }
    }
    pmd->n_dirty = 0;
}

/* Queues 'm' for output on 'port_no', flushing the batch when it is full. */
static inline void
pmd_enqueue(struct pmd *pmd, const struct dp_snapshot *snap, uint16_t port_no,
            struct rte_mbuf *m)
{
    struct pmd_txbatch *b = &pmd->txb[port_no];

    if (!b->dirty) {
        b->dirty = true;
        pmd->dirty[pmd->n_dirty++] = port_no;
    }
    b->pkts[b->n++] = m;
    if (b->n == DP_BURST) {
        /* Stays on the dirty list; pmd_flush() skips empty batches. */
        pmd_flush_port(pmd, snap, port_no);
    }
}

/* Queues the 'n' packets of 'pkts' for output on 'port_no'.  If the port's
 * batch is empty and 'pkts' is not used afterwards ('own'), they go to the
 * port at once, without a copy into the batch. */
static inline void
pmd_enqueue_burst(struct pmd *pmd, const struct dp_snapshot *snap, uint16_t port_no,
                  struct rte_mbuf **pkts, uint16_t n, bool own)
{
    struct pmd_txbatch *b = &pmd->txb[port_no];

    if (own && !b->n) {
        pmd_tx(pmd, snap->ports[port_no], pkts, n);
        return;
    }
    if (!b->dirty) {
        b->dirty = true;
        pmd->dirty[pmd->n_dirty++] = port_no;
    }
    while (n) {
        uint16_t k = RTE_MIN(n, (uint16_t) (DP_BURST - b->n));
        memcpy(&b->pkts[b->n], pkts, k * sizeof pkts[0]);
        b->n += k;
        pkts += k;
        n -= k;
        if (b->n == DP_BURST) {
            pmd_flush_port(pmd, snap, port_no);
        }
    }
}

/* VLAN tags.  A frame is changed in place only when nobody else holds it
 * (a fresh mbuf from an rx burst); a shared one is copied first. */

static inline bool
pmd_mbuf_writable(const struct rte_mbuf *m)
{
    return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

/* Removes the 802.1Q tag of 'm' (its first segment holds the whole
 * tagged header). */
static inline void
pmd_vlan_pop(struct rte_mbuf *m)
{
    char *p = rte_pktmbuf_mtod(m, char *);

    memmove(p + sizeof(struct rte_vlan_hdr), p, 2 * RTE_ETHER_ADDR_LEN);
    rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
}

/* Inserts an 802.1Q tag with VID 'vlan' into untagged 'm'.  Returns false
 * if 'm' has no headroom for it. */
static inline bool
pmd_vlan_push(struct rte_mbuf *m, uint16_t vlan)
{
    char *p = rte_pktmbuf_prepend(m, sizeof(struct rte_vlan_hdr));

    if (unlikely(!p)) {
        return false;
    }
    memmove(p, p + sizeof(struct rte_vlan_hdr), 2 * RTE_ETHER_ADDR_LEN);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) p;
    struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *) (eth + 1);
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
    vh->vlan_tci = rte_cpu_to_be_16(vlan);
    /* vh->eth_proto: the original EtherType, already there. */
    return true;
}

/* Returns 'm' with a tag for 'vlan' ('tag') or without one: 'm' itself,
 * changed, if 'in_place' (and, for a push, 'm' has the headroom), else a
 * changed copy ('m' untouched).  NULL if no mbuf could be had (nothing
 * changed). */
static inline struct rte_mbuf *
pmd_vlan_convert(struct pmd *pmd, struct rte_mbuf *m, bool in_place, bool tag,
                 uint16_t vlan)
{
    struct rte_mbuf *c = m;

    if (!in_place) {
        c = rte_pktmbuf_copy(m, pmd->mp, 0, UINT32_MAX);
        if (unlikely(!c)) {
            return NULL;
        }
    }
    if (!tag) {
        pmd_vlan_pop(c);
    } else if (unlikely(!pmd_vlan_push(c, vlan))) {
        if (c != m) {
            rte_pktmbuf_free(c);
            return NULL;
        }
        /* No headroom in 'm' itself: a copy has RTE_PKTMBUF_HEADROOM. */
        return pmd_vlan_convert(pmd, m, false, tag, vlan);
    }
    return c;
}

/* Classifies 'm', received on 'in' and at least an Ethernet header long:
 * returns its VLAN and whether it now carries a tag (*tagged), or -1 with a
 * drop reason in *drop.  A priority tag (VID 0) is removed. */
static inline int
pmd_vlan_in(struct pmd *pmd, const struct dp_port *in, struct rte_mbuf **mp,
            bool *tagged, enum dp_drop *drop)
{
    const struct dp_port_l2 *l2 = &in->l2;
    struct rte_mbuf *m = *mp;
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    uint16_t type = eth->ether_type;

    if (likely(type != RTE_BE16(RTE_ETHER_TYPE_VLAN))) {
        if (unlikely(type == RTE_BE16(RTE_ETHER_TYPE_QINQ)
                     || type == RTE_BE16(RTE_ETHER_TYPE_QINQ1)
                     || type == RTE_BE16(RTE_ETHER_TYPE_QINQ2))) {
            *drop = DP_DROP_RX_QINQ;
            return -1;
        }
untagged:
        *tagged = false;
        if (l2->access_vlan) {
            return l2->access_vlan;
        }
        if (unlikely(!dp_port_l2_carries(l2, l2->native_vlan))) {
            *drop = DP_DROP_RX_VLAN;
            return -1;
        }
        return l2->native_vlan;
    }

    if (unlikely(rte_pktmbuf_data_len(m)
                 < sizeof(struct rte_ether_hdr) + sizeof(struct rte_vlan_hdr))) {
        *drop = DP_DROP_RX_RUNT;
        return -1;
    }
    const struct rte_vlan_hdr *vh = (const struct rte_vlan_hdr *) (eth + 1);
    uint16_t inner = vh->eth_proto;
    if (unlikely(inner == RTE_BE16(RTE_ETHER_TYPE_VLAN)
                 || inner == RTE_BE16(RTE_ETHER_TYPE_QINQ))) {
        *drop = DP_DROP_RX_QINQ;
        return -1;
    }
    uint16_t vid = rte_be_to_cpu_16(vh->vlan_tci) & RTE_VLAN_ID_MASK;
    if (vid == 0) {
        /* Priority-tagged: an untagged frame with a priority. */
        struct rte_mbuf *c = pmd_vlan_convert(pmd, m, pmd_mbuf_writable(m), false, 0);
        if (unlikely(!c)) {
            *drop = DP_DROP_RX_VLAN;
            return -1;
        }
        if (c != m) {
            rte_pktmbuf_free(m);
            *mp = c;
        }
        goto untagged;
    }
    if (unlikely(l2->access_vlan || vid > DP_VLAN_MAX || !dp_port_l2_carries(l2, vid))) {
        *drop = DP_DROP_RX_VLAN;
        return -1;
    }
    *tagged = true;
    return vid;
}

/* Sends 'm' (received on 'in', in VLAN 'vlan', tagged or not, with an L2
 * payload of 'payload' bytes) to every other port of its bridge in that
 * VLAN: the ports that want it as it is share 'm', the others share one
 * copy with the tag pushed or popped. */
static inline void
pmd_flood(struct pmd *pmd, const struct dp_snapshot *snap, const struct dp_port *in,
          struct rte_mbuf *m, struct dp_stats *in_st, uint16_t vlan, bool tagged,
          uint32_t payload)
{
    const struct dp_port_list *list = &snap->bridge_ports[in->bridge_idx];
    uint16_t *same = pmd->flood_same, *other = pmd->flood_other;
    unsigned n_same = 0, n_other = 0, n_too_big = 0;

    for (unsigned i = 0; i < list->n; i++) {
        uint16_t port_no = list->port_no[i];
        struct dp_port *p = snap->ports[port_no];
        if (port_no == in->port_no || !dp_port_l2_carries(&p->l2, vlan)) {
            continue;
        }
        if (unlikely(payload > p->l2.mtu)) {
            p->stats[pmd->id].drops[DP_DROP_TX_MTU]++;
            n_too_big++;
        } else if (dp_port_l2_tags(&p->l2, vlan) == tagged) {
            same[n_same++] = port_no;
        } else {
            other[n_other++] = port_no;
        }
    }

    struct rte_mbuf *conv = NULL;
    if (n_other) {
        conv = pmd_vlan_convert(pmd, m, !n_same && pmd_mbuf_writable(m), !tagged, vlan);
        if (unlikely(!conv)) {
            for (unsigned i = 0; i < n_other; i++) {
                snap->ports[other[i]]->stats[pmd->id].drops[DP_DROP_TX_NO_MBUF]++;
            }
            n_other = 0;
        }
    }
    if (!n_same) {
        if (!n_other && !n_too_big) {
            in_st->drops[DP_DROP_RX_NO_DEST]++;
        }
        if (conv != m) {
            rte_pktmbuf_free(m);
        }
    } else if (n_same > 1) {
        /* Every segment: each output frees the whole chain. */
        rte_pktmbuf_refcnt_update(m, (int16_t) (n_same - 1));
    }
    if (n_other > 1) {
        rte_pktmbuf_refcnt_update(conv, (int16_t) (n_other - 1));
    }
    for (unsigned i = 0; i < n_same; i++) {
        pmd_enqueue(pmd, snap, same[i], m);
    }
    for (unsigned i = 0; i < n_other; i++) {
        pmd_enqueue(pmd, snap, other[i], conv);
    }
}

/* Sends unicast 'm' (in VLAN 'vlan', tagged or not, 'payload' bytes of L2
 * payload) to port 'out' of the same bridge, which carries that VLAN. */
static inline void
pmd_unicast(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *out,
            struct rte_mbuf *m, uint16_t vlan, bool tagged, uint32_t payload)
{
    if (unlikely(payload > out->l2.mtu)) {
        out->stats[pmd->id].drops[DP_DROP_TX_MTU]++;
        rte_pktmbuf_free(m);
        return;
    }
    if (unlikely(dp_port_l2_tags(&out->l2, vlan) != tagged)) {
        struct rte_mbuf *c = pmd_vlan_convert(pmd, m, pmd_mbuf_writable(m), !tagged, vlan);
        if (unlikely(!c)) {
            out->stats[pmd->id].drops[DP_DROP_TX_NO_MBUF]++;
            rte_pktmbuf_free(m);
            return;
        }
        if (c != m) {
            rte_pktmbuf_free(m);
            m = c;
        }
    }
    pmd_enqueue(pmd, snap, out->port_no, m);
}

/* Returns the output port for unicast to FDB id 'out' from 'in' in 'vlan',
 * or NULL if the entry is stale: learned by a port that is gone (even one
 * whose number was reused since: its generation differs), or by a port no
 * longer in the bridge or the VLAN. */
static inline struct dp_port *
pmd_unicast_port(const struct dp_snapshot *snap, const struct dp_port *in, int out,
                 uint16_t vlan)
{
    struct dp_port *outp = snap->ports[DP_FDB_ID_PORT_NO(out)];

    if (likely(outp && outp->fdb_id == out && outp->bridge_idx == in->bridge_idx
               && dp_port_l2_carries(&outp->l2, vlan))) {
        return outp;
    }
    return NULL;
}

/* The whole-burst fast path.  If all 'n' packets of 'pkts' have the same
 * untagged Ethernet header (destination, source, EtherType), switches them
 * as one: one learn, one lookup, one output decision, the burst handed to
 * the output port as it is when that port's batch is empty.  Returns false,
 * having done nothing, if the burst does not qualify or needs per-packet
 * work (VLAN push, MTU drops, a flood needing a re-tagged copy); then
 * pmd_switch_each() handles it. */
static inline bool
pmd_switch_burst(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *in,
                 struct rte_mbuf **pkts, uint16_t n, uint64_t now_ms,
                 struct dp_stats *st)
{
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[0], struct rte_ether_hdr *);
    uint32_t max_len = 0;
    uint64_t w0, w1;

    if (unlikely(n < 2)) {
        return false;
    }
    /* The 14 header bytes as two overlapping 8-byte words. */
    memcpy(&w0, eth, 8);
    memcpy(&w1, (const char *) eth + 6, 8);
    for (uint16_t i = 0; i < n; i++) {
        const struct rte_mbuf *m = pkts[i];
        const char *h = rte_pktmbuf_mtod(m, const char *);
        uint64_t v0, v1;
        if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr))) {
            return false;
        }
        memcpy(&v0, h, 8);
        memcpy(&v1, h + 6, 8);
        if ((v0 ^ w0) | (v1 ^ w1)) {
            return false;
        }
        max_len = RTE_MAX(max_len, rte_pktmbuf_pkt_len(m));
    }
    uint16_t type = eth->ether_type;
    if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN) || type == RTE_BE16(RTE_ETHER_TYPE_QINQ)
        || type == RTE_BE16(RTE_ETHER_TYPE_QINQ1)
        || type == RTE_BE16(RTE_ETHER_TYPE_QINQ2)) {
        return false;
    }

    const struct dp_port_l2 *l2 = &in->l2;
    uint16_t vlan = l2->access_vlan ? l2->access_vlan : l2->native_vlan;
    if (!l2->access_vlan && unlikely(!dp_port_l2_carries(l2, vlan))) {
        return false;
    }
    uint32_t payload = max_len - sizeof(struct rte_ether_hdr);
    const struct dp_snapshot *s = snap;

    /* Learn first, as packet by packet: a burst to its own source is a
     * hairpin from its first packet.  (If we fall back below,
     * pmd_switch_each() learns again: a lookup, no write.) */
    fdb_learn(in->fdb, &eth->src_addr, vlan, in->fdb_id, now_ms);
    if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
        int out = fdb_lookup(in->fdb, &eth->dst_addr, vlan);
        if (out >= 0) {
            if (unlikely(out == in->fdb_id)) {
                st->drops[DP_DROP_RX_HAIRPIN] += n;
                rte_pktmbuf_free_bulk(pkts, n);
                return true;
            }
            struct dp_port *outp = pmd_unicast_port(s, in, out, vlan);
            if (outp) {
                if (dp_port_l2_tags(&outp->l2, vlan) || payload > outp->l2.mtu) {
                    return false;
                }
                pmd_enqueue_burst(pmd, s, outp->port_no, pkts, n, true);
                return true;
            }
        }
    }

    /* Flood: only when every member port takes the frames as they are. */
    const struct dp_port_list *list = &s->bridge_ports[in->bridge_idx];
    uint16_t *same = pmd->flood_same;
    unsigned n_same = 0;
    for (unsigned i = 0; i < list->n; i++) {
        uint16_t port_no = list->port_no[i];
        struct dp_port *p = s->ports[port_no];
        if (port_no == in->port_no || !dp_port_l2_carries(&p->l2, vlan)) {
            continue;
        }
        if (payload > p->l2.mtu || dp_port_l2_tags(&p->l2, vlan)) {
            return false;
        }
        same[n_same++] = port_no;
    }
    if (!n_same) {
        st->drops[DP_DROP_RX_NO_DEST] += n;
        rte_pktmbuf_free_bulk(pkts, n);
        return true;
    }
    if (n_same > 1) {
        for (uint16_t i = 0; i < n; i++) {
            /* Every segment: each output frees the whole chain. */
            rte_pktmbuf_refcnt_update(pkts[i], (int16_t) (n_same - 1));
        }
    }
    for (unsigned i = 0; i < n_same; i++) {
        pmd_enqueue_burst(pmd, s, same[i], pkts, n, i == n_same - 1);
    }
    return true;
}

/* Switches 'n' packets received on 'in', one by one, in two passes: the
 * first classifies every packet (runts, VLAN) and builds its source and
 * destination FDB keys with their hashes (one per packet; consecutive
 * packets with the same key share one), then the FDB learns all sources
 * and looks up all destinations in one bulk operation each, so that the
 * cache misses of a burst of different MACs overlap; the second pass
 * forwards. */
static inline void
pmd_switch_each(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *in,
                struct rte_mbuf **pkts, uint16_t n, uint64_t now_ms,
                struct dp_stats *st)
{
    struct fdb *fdb = in->fdb;
    struct fdb_key src[DP_BURST], dst[DP_BURST];
    const struct fdb_key *src_p[DP_BURST], *dst_p[DP_BURST];
    uint32_t src_sig[DP_BURST], dst_sig[DP_BURST];
    int dst_out[DP_BURST];
    int8_t dst_of[DP_BURST];            /* Packet -> dst key, -1: none. */
    uint16_t vlans[DP_BURST];
    bool tags[DP_BURST];
    unsigned n_src = 0, n_dst = 0, n_ok = 0;
    uint64_t last_src = 0, last_dst = 0;

    /* The VLAN of untagged frames on this port, or -1 if it drops them. */
    const struct dp_port_l2 *l2 = &in->l2;
    int untagged_vlan = l2->access_vlan ? l2->access_vlan
                        : dp_port_l2_carries(l2, l2->native_vlan) ? l2->native_vlan
                        : -1;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        enum dp_drop drop;
        bool tagged = false;
        int vlan;

        if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr))) {
            st->drops[DP_DROP_RX_RUNT]++;
            rte_pktmbuf_free(m);
            continue;
        }
        const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        uint16_t type = eth->ether_type;
        if (likely(untagged_vlan >= 0 && type != RTE_BE16(RTE_ETHER_TYPE_VLAN)
                   && type != RTE_BE16(RTE_ETHER_TYPE_QINQ)
                   && type != RTE_BE16(RTE_ETHER_TYPE_QINQ1)
                   && type != RTE_BE16(RTE_ETHER_TYPE_QINQ2))) {
            vlan = untagged_vlan;
        } else {
            vlan = pmd_vlan_in(pmd, in, &m, &tagged, &drop);
            if (unlikely(vlan < 0)) {
                st->drops[drop]++;
                rte_pktmbuf_free(m);
                continue;
            }
            eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        }

        /* Both keys from two 8-byte loads of the header. */
        uint64_t w_dst, w_src;
        memcpy(&w_dst, eth, 8);
        memcpy(&w_src, (const char *) eth + 6, 8);
        w_src = (w_src & UINT64_C(0x0000ffffffffffff)) | ((uint64_t) vlan << 48);
        w_dst = (w_dst & UINT64_C(0x0000ffffffffffff)) | ((uint64_t) vlan << 48);
        if (!n_src || w_src != last_src) {
            fdb_key_init_word(&src[n_src], w_src, (uint16_t) vlan);
            src_p[n_src] = &src[n_src];
            src_sig[n_src] = fdb_hash(&src[n_src]);
            last_src = w_src;
            n_src++;
        }
        dst_of[n_ok] = -1;
        if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
            if (!n_dst || w_dst != last_dst) {
                fdb_key_init_word(&dst[n_dst], w_dst, (uint16_t) vlan);
                dst_p[n_dst] = &dst[n_dst];
                dst_sig[n_dst] = fdb_hash(&dst[n_dst]);
                last_dst = w_dst;
                n_dst++;
            }
            dst_of[n_ok] = (int8_t) (n_dst - 1);
        }
        pkts[n_ok] = m;
        vlans[n_ok] = (uint16_t) vlan;
        tags[n_ok] = tagged;
        n_ok++;
    }

    fdb_learn_bulk(fdb, src_p, src_sig, n_src, in->fdb_id, now_ms);
    fdb_lookup_bulk(fdb, dst_p, dst_sig, n_dst, dst_out);

    /* The last unicast output resolved, with the VLAN it was for. */
    int last_out = -1;
    int last_vlan = -1;
    struct dp_port *last_outp = NULL;
    for (unsigned i = 0; i < n_ok; i++) {
        struct rte_mbuf *m = pkts[i];
        uint16_t vlan = vlans[i];
        bool tagged = tags[i];
        uint32_t payload = rte_pktmbuf_pkt_len(m) - sizeof(struct rte_ether_hdr)
                           - (tagged ? sizeof(struct rte_vlan_hdr) : 0);
        if (dst_of[i] >= 0) {
            int out = dst_out[dst_of[i]];
            if (out >= 0) {
                if (unlikely(out == in->fdb_id)) {
                    st->drops[DP_DROP_RX_HAIRPIN]++;
                    rte_pktmbuf_free(m);
                    continue;
                }
                if (out != last_out || vlan != last_vlan) {
                    last_outp = pmd_unicast_port(snap, in, out, vlan);
                    last_out = out;
                    last_vlan = vlan;
                }
                if (likely(last_outp)) {
                    pmd_unicast(pmd, snap, last_outp, m, vlan, tagged, payload);
                    continue;
                }
            }
        }
        pmd_flood(pmd, snap, in, m, st, vlan, tagged, payload);
    }
}

/* Switches 'n' packets received on 'in': the whole-burst fast path when
 * the burst is one flow, else packet by packet.  The port's rx counters
 * are added once per burst. */
static inline void
pmd_switch(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *in,
           struct rte_mbuf **pkts, uint16_t n, uint64_t now_ms)
{
    struct dp_stats *st = &in->stats[pmd->id];
    uint64_t bytes = 0;

    for (uint16_t i = 0; i < n; i++) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    st->rx_packets += n;
    st->rx_bytes += bytes;

    if (!pmd_switch_burst(pmd, snap, in, pkts, n, now_ms, st)) {
        pmd_switch_each(pmd, snap, in, pkts, n, now_ms, st);
    }
}

/* Closes the intervals of 'h' before 'epoch', the counter being 'counter'
 * now.  Intervals nobody closed in time (the counter's queue was not polled
 * at a boundary) count as empty, except the first, which gets everything
 * since the last mark.  The mark is stored before the slots so that a
 * reader that sees a new slot also sees the new mark (datapath.c). */
static void
pmd_hist_advance(struct dp_load_hist *h, uint64_t counter, uint64_t epoch)
{
    uint64_t from = h->epoch;

    if (from >= epoch) {
        return;
    }
    uint64_t done = counter - h->mark;
    __atomic_store_n(&h->mark, counter, __ATOMIC_RELAXED);
    __atomic_store_n(&h->epoch, epoch, __ATOMIC_RELAXED);
    if (epoch - from >= DP_LOAD_INTERVALS) {
        for (unsigned i = 0; i < DP_LOAD_INTERVALS; i++) {
            __atomic_store_n(&h->past[i], 0, __ATOMIC_RELAXED);
        }
        from = epoch - 1;
    } else {
        for (uint64_t e = from + 1; e < epoch; e++) {
            __atomic_store_n(&h->past[e % DP_LOAD_INTERVALS], 0, __ATOMIC_RELAXED);
        }
    }
    __atomic_store_n(&h->past[from % DP_LOAD_INTERVALS], done, __ATOMIC_RELEASE);
}

/* At an interval boundary ('now' >= pmd->next_interval_tsc): closes the
 * interval of this PMD's counters and of every queue it polls. */
static void
pmd_next_interval(struct pmd *pmd, const struct dp_poll_list *poll, uint64_t now)
{
    uint64_t epoch = now / pmd->tsc_per_interval;
    const struct pmd_counters *c = &pmd->counters;

    pmd_hist_advance(&pmd->busy_hist, c->busy_cycles, epoch);
    pmd_hist_advance(&pmd->total_hist, c->busy_cycles + c->idle_cycles, epoch);
    for (unsigned i = 0; i < poll->n; i++) {
        struct dp_rxq_load *ql = poll->rxq[i].load;
        pmd_hist_advance(&ql->hist, ql->cycles, epoch);
    }
    pmd->next_interval_tsc = (epoch + 1) * pmd->tsc_per_interval;
}

/* Charges the 'cycles' of this iteration's output flush to the 'n_busy'
 * queues that received the 'got' packets, in proportion to their packets. */
static inline void
pmd_charge_flush(struct pmd *pmd, const struct dp_poll_list *poll,
                 unsigned n_busy, uint64_t got, uint64_t cycles)
{
    if (n_busy == 1) {
        /* The usual case: no division. */
        struct dp_rxq_load *ql = poll->rxq[pmd->busy[0].idx].load;
        __atomic_store_n(&ql->cycles, ql->cycles + cycles, __ATOMIC_RELAXED);
        return;
    }
    for (unsigned i = 0; i < n_busy; i++) {
        const struct pmd_busy_rxq *b = &pmd->busy[i];
        struct dp_rxq_load *ql = poll->rxq[b->idx].load;
        __atomic_store_n(&ql->cycles, ql->cycles + cycles * b->n / got,
                         __ATOMIC_RELAXED);
    }
}

/* One iteration of the PMD loop: polls every queue of the poll list once,
 * switches what arrived, flushes the output batches, accounts the cycles.
 * Returns the number of packets received.  The caller reports the RCU
 * quiescent state afterwards. */
static inline uint64_t
pmd_iterate(struct pmd *pmd, struct rte_mbuf **pkts)
{
    const struct dp_snapshot *snap = __atomic_load_n(pmd->snap, __ATOMIC_ACQUIRE);
    const struct dp_poll_list *poll = &snap->poll[pmd->id];
    uint64_t prev = pmd->prev_tsc;
    uint64_t got = 0;
    unsigned n_busy = 0;

    if (unlikely(prev >= pmd->next_ms_tsc)) {
        /* The millisecond clock for FDB timestamps: one division per ms,
         * not one per iteration. */
        pmd->now_ms = prev / pmd->tsc_per_ms;
        pmd->next_ms_tsc = (pmd->now_ms + 1) * pmd->tsc_per_ms;
    }
    uint64_t now_ms = pmd->now_ms;

    /* One TSC read per poll: 't' is when the current poll began. */
    uint64_t t = prev;
    for (unsigned i = 0; i < poll->n_active; i++) {
        const struct dp_rxq *rxq = &poll->rxq[i];
        struct dp_port *port = rxq->port;
        /* The rx-burst site: every received burst goes through here. */
        uint16_t n = port->ops->rx(port, rxq->qid, pkts, DP_BURST);
        uint64_t after;
        if (n) {
            got += n;
            pmd_switch(pmd, snap, port, pkts, n, now_ms);
            after = rte_rdtsc();
            __atomic_store_n(&rxq->load->cycles, rxq->load->cycles + (after - t),
                             __ATOMIC_RELAXED);
            pmd->busy[n_busy].idx = (uint16_t) i;
            pmd->busy[n_busy].n = n;
            n_busy++;
        } else {
            after = rte_rdtsc();
        }
        t = after;
    }
    pmd_flush(pmd, snap);

    uint64_t now = rte_rdtsc();
    struct pmd_counters *c = &pmd->counters;
    c->iterations++;
    if (got) {
        pmd_charge_flush(pmd, poll, n_busy, got, now - t);
        c->rx_packets += got;
        c->busy_cycles += now - prev;
    } else {
        c->idle_cycles += now - prev;
    }
    if (unlikely(now >= pmd->next_interval_tsc)) {
        pmd_next_interval(pmd, poll, now);
    }
    pmd->prev_tsc = now;
    return got;
}

int
pmd_main(void *arg)
{
    struct pmd *pmd = arg;
    struct rte_mbuf *pkts[DP_BURST];

    rte_rcu_qsbr_thread_register(pmd->qsbr, pmd->id);
    rte_rcu_qsbr_thread_online(pmd->qsbr, pmd->id);

    pmd->prev_tsc = rte_rdtsc();
    pmd->next_interval_tsc = pmd->prev_tsc;     /* Starts the history at once. */
    pmd->next_ms_tsc = 0;
    while (!__atomic_load_n(&pmd->stop, __ATOMIC_RELAXED)) {
        pmd_iterate(pmd, pkts);
        /* Nothing of the snapshot is used after this. */
        rte_rcu_qsbr_quiescent(pmd->qsbr, pmd->id);
    }

    rte_rcu_qsbr_thread_offline(pmd->qsbr, pmd->id);
    rte_rcu_qsbr_thread_unregister(pmd->qsbr, pmd->id);
    return 0;
}

uint64_t
pmd_poll_once(struct pmd *pmd)
{
    struct rte_mbuf *pkts[DP_BURST];

    if (!pmd->prev_tsc) {
        pmd->prev_tsc = rte_rdtsc();
        pmd->next_interval_tsc = pmd->prev_tsc;
        pmd->next_ms_tsc = 0;
    }
    return pmd_iterate(pmd, pkts);
}
