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

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "datapath/fdb.h"

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
    port->ops->tx(port, pmd->id, b->pkts, n, st);
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

/* Sends 'm' (received on 'in') to every other port of its bridge. */
static inline void
pmd_flood(struct pmd *pmd, const struct dp_snapshot *snap,
          const struct dp_port *in, struct rte_mbuf *m, struct dp_stats *in_st)
{
    const struct dp_port_list *list = &snap->bridge_ports[in->bridge_idx];
    unsigned n_out = list->n ? list->n - 1 : 0;

    if (unlikely(n_out == 0)) {
        in_st->drops[DP_DROP_RX_NO_DEST]++;
        rte_pktmbuf_free(m);
        return;
    }
    if (n_out > 1) {
        /* Every segment: each output frees the whole chain. */
        rte_pktmbuf_refcnt_update(m, (int16_t) (n_out - 1));
    }
    for (unsigned i = 0; i < list->n; i++) {
        uint16_t port_no = list->port_no[i];
        if (port_no != in->port_no) {
            pmd_enqueue(pmd, snap, port_no, m);
        }
    }
}

/* Switches 'n' packets received on 'in'.
 *
 * A burst usually comes from one guest MAC and goes to one destination, so
 * the last source learned and the last destination looked up are remembered
 * for the rest of the burst: typically two FDB operations per burst instead
 * of two per packet.  (Another PMD moving a MAC during a burst is seen from
 * the next burst on.) */
static inline void
pmd_switch(struct pmd *pmd, const struct dp_snapshot *snap, struct dp_port *in,
           struct rte_mbuf **pkts, uint16_t n, uint64_t now_ms)
{
    struct dp_stats *st = &in->stats[pmd->id];
    struct fdb *fdb = in->fdb;
    struct rte_ether_addr last_src, last_dst;
    bool have_src = false, have_dst = false;
    int last_out = -ENOENT;

    for (uint16_t i = 0; i < n; i++) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    }

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];

        st->rx_packets++;
        st->rx_bytes += rte_pktmbuf_pkt_len(m);
        if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr))) {
            st->drops[DP_DROP_RX_RUNT]++;
            rte_pktmbuf_free(m);
            continue;
        }

        const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        if (!have_src || !rte_is_same_ether_addr(&eth->src_addr, &last_src)) {
            fdb_learn(fdb, &eth->src_addr, 0, in->fdb_id, now_ms);
            rte_ether_addr_copy(&eth->src_addr, &last_src);
            have_src = true;
        }

        if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
            if (!have_dst || !rte_is_same_ether_addr(&eth->dst_addr, &last_dst)) {
                last_out = fdb_lookup(fdb, &eth->dst_addr, 0);
                rte_ether_addr_copy(&eth->dst_addr, &last_dst);
                have_dst = true;
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
                const struct dp_port *outp = snap->ports[out_no];
                if (likely(outp && outp->fdb_id == out
                           && outp->bridge_idx == in->bridge_idx)) {
                    pmd_enqueue(pmd, snap, out_no, m);
                    continue;
                }
            }
        }
        pmd_flood(pmd, snap, in, m, st);
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
