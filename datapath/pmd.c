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
 * for the PMD, otherwise as idle. */
#include "datapath/pmd.h"

#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "datapath/fdb.h"
#include "datapath/offload.h"

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
    struct dp_stats *st = &port->stats[pmd->id];
    uint64_t before = st->tx_packets;
    offload_tx(port, pmd->id, pmd->mp, b->pkts, n, st);  /* Software csum/TSO. */
    pmd->counters.tx_packets += st->tx_packets - before;
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

/* Switches 'n' packets received on 'in'.
 *
 * A burst usually comes from one guest MAC and goes to one destination, so
 * the last source learned and the last destination looked up (with their
 * VLAN) are remembered for the rest of the burst: typically two FDB
 * operations per burst instead of two per packet.  (Another PMD moving a
 * MAC during a burst is seen from the next burst on.) */
static inline void
pmd_switch(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *in,
           struct rte_mbuf **pkts, uint16_t n, uint64_t now_ms)
{
    struct dp_stats *st = &in->stats[pmd->id];
    struct fdb *fdb = in->fdb;
    struct rte_ether_addr last_src = { { 0 } }, last_dst = { { 0 } };
    int last_src_vlan = -1, last_dst_vlan = -1;     /* -1: nothing cached. */
    int last_out = -ENOENT;

    for (uint16_t i = 0; i < n; i++) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    }

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        enum dp_drop drop;
        bool tagged;

        st->rx_packets++;
        st->rx_bytes += rte_pktmbuf_pkt_len(m);
        if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr))) {
            st->drops[DP_DROP_RX_RUNT]++;
            rte_pktmbuf_free(m);
            continue;
        }
        int vlan = pmd_vlan_in(pmd, in, &m, &tagged, &drop);
        if (unlikely(vlan < 0)) {
            st->drops[drop]++;
            rte_pktmbuf_free(m);
            continue;
        }
        uint32_t payload = rte_pktmbuf_pkt_len(m) - sizeof(struct rte_ether_hdr)
                           - (tagged ? sizeof(struct rte_vlan_hdr) : 0);
        payload = offload_mtu_payload(m, payload);     /* TSO: a segment's. */

        const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        if (vlan != last_src_vlan || !rte_is_same_ether_addr(&eth->src_addr, &last_src)) {
            fdb_learn(fdb, &eth->src_addr, (uint16_t) vlan, in->fdb_id, now_ms);
            rte_ether_addr_copy(&eth->src_addr, &last_src);
            last_src_vlan = vlan;
        }

        if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
            if (vlan != last_dst_vlan || !rte_is_same_ether_addr(&eth->dst_addr, &last_dst)) {
                last_out = fdb_lookup(fdb, &eth->dst_addr, (uint16_t) vlan);
                rte_ether_addr_copy(&eth->dst_addr, &last_dst);
                last_dst_vlan = vlan;
            }
            int out = last_out;
            if (out >= 0) {
                if (unlikely(out == in->fdb_id)) {
                    st->drops[DP_DROP_RX_HAIRPIN]++;
                    rte_pktmbuf_free(m);
                    continue;
                }
                /* An entry learned by a port that is gone, even one whose
                 * number was reused since, has a stale generation: flood. */
                uint16_t out_no = DP_FDB_ID_PORT_NO(out);
                struct dp_port *outp = snap->ports[out_no];
                if (likely(outp && outp->fdb_id == out
                           && outp->bridge_idx == in->bridge_idx
                           && dp_port_l2_carries(&outp->l2, (uint16_t) vlan))) {
                    pmd_unicast(pmd, snap, outp, m, (uint16_t) vlan, tagged, payload);
                    continue;
                }
            }
        }
        pmd_flood(pmd, snap, in, m, st, (uint16_t) vlan, tagged, payload);
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
    for (unsigned i = 0; i < n_busy; i++) {
        const struct pmd_busy_rxq *b = &pmd->busy[i];
        struct dp_rxq_load *ql = poll->rxq[b->idx].load;
        __atomic_store_n(&ql->cycles, ql->cycles + cycles * b->n / got,
                         __ATOMIC_RELAXED);
    }
}

int
pmd_main(void *arg)
{
    struct pmd *pmd = arg;
    struct rte_mbuf *pkts[DP_BURST];

    rte_rcu_qsbr_thread_register(pmd->qsbr, pmd->id);
    rte_rcu_qsbr_thread_online(pmd->qsbr, pmd->id);

    uint64_t prev = rte_rdtsc();
    pmd->next_interval_tsc = prev;      /* Starts the history at once. */
    while (!__atomic_load_n(&pmd->stop, __ATOMIC_RELAXED)) {
        const struct dp_snapshot *snap = __atomic_load_n(pmd->snap, __ATOMIC_ACQUIRE);
        const struct dp_poll_list *poll = &snap->poll[pmd->id];
        uint64_t now_ms = prev / pmd->tsc_per_ms;
        uint64_t got = 0;
        unsigned n_busy = 0;

        /* One TSC read per poll: 't' is when the current poll began. */
        uint64_t t = prev;
        for (unsigned i = 0; i < poll->n; i++) {
            const struct dp_rxq *rxq = &poll->rxq[i];
            struct dp_port *port = rxq->port;
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
        /* Nothing of 'snap' is used after this. */
        rte_rcu_qsbr_quiescent(pmd->qsbr, pmd->id);
        prev = now;
    }

    rte_rcu_qsbr_thread_offline(pmd->qsbr, pmd->id);
    rte_rcu_qsbr_thread_unregister(pmd->qsbr, pmd->id);
    return 0;
}
