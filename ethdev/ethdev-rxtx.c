/* ethdev-rxtx - the hot path of `dpdk` and `internal` ports: rx/tx bursts
 * called by the PMD threads through 'ethdev_dp_ops' (see dp-port-core.h for
 * the contract and ethdev-port-core.h for the queue layout).
 *
 * No allocation, system call, logging or lock here, except the spinlock of a
 * tx queue that several PMDs share. */
#include "ethdev/ethdev-port-core.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string.h>

/* Receives up to 'n' packets from rx queue 'qid' of the port's ethdev.  Only
 * the PMD that polls (port, qid) calls it.  Returns how many. */
static uint16_t
ethdev_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    const struct ethdev_dp *d = port->priv;

    if (__atomic_load_n(&d->removed, __ATOMIC_RELAXED)) {
        return 0;
    }
    return rte_eth_rx_burst(d->port_id, qid, pkts, n);
}

/* Runs rte_eth_tx_prepare() over 'pkts[0..n-1]' (the driver's fix-ups for
 * the offloads it was asked for, e.g. pseudo-header checksums; offload.c
 * hands offload requests only to writable packets).  A packet it refuses
 * is dropped as DP_DROP_TX_OFFLOAD and the rest prepared again.  Returns
 * the number of packets left at the front of 'pkts'. */
static uint16_t
tx_prepare(const struct ethdev_dp *d, uint16_t qid, struct rte_mbuf **pkts,
           uint16_t n, struct dp_stats *st)
{
    uint16_t done = 0;

    while (done < n) {
        done += rte_eth_tx_prepare(d->port_id, qid, pkts + done, (uint16_t) (n - done));
        if (done < n) {
            rte_pktmbuf_free(pkts[done]);
            st->drops[DP_DROP_TX_OFFLOAD]++;
            memmove(pkts + done, pkts + done + 1, (size_t) (n - done - 1) * sizeof *pkts);
            n--;
        }
    }
    return n;
}

/* Sends 'pkts[0..n-1]' on behalf of PMD 'pmd_id' and takes ownership of all
 * of them.  While the link is reported down (or the device was removed)
 * they are dropped as DP_DROP_TX_LINK_DOWN.  The queue is pmd_id % n_txq; if other PMDs map to it too, its
 * spinlock is held around the bursts (a failed trylock is counted before
 * waiting).  After a partial send the rest is retried up to
 * ETHDEV_TX_RETRIES times; a burst that sends nothing ends it.  What is left
 * is freed and counted as DP_DROP_TX_RING_FULL.
 *
 * The device owns (and may already have freed) every packet it accepted
 * once rte_eth_tx_burst() returns, so the bytes are summed beforehand and
 * the unsent ones subtracted.  Drivers write only into packets with tx
 * offload requests (rte_eth_tx_prepare() first, if the device has offloads
 * enabled), and offload.c hands such requests only to packets nobody else
 * holds. */
static void
ethdev_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts,
          uint16_t n, struct dp_stats *st)
{
    struct ethdev_dp *d = port->priv;
    uint16_t qid = (uint16_t) (pmd_id < d->n_txq ? pmd_id : pmd_id % d->n_txq);
    struct ethdev_txq *q = &d->txq[qid];
    uint64_t bytes = 0;

    if (!__atomic_load_n(&d->link_up, __ATOMIC_RELAXED)) {
        st->drops[DP_DROP_TX_LINK_DOWN] += n;
        rte_pktmbuf_free_bulk(pkts, n);
        return;
    }
    if (d->tx_offloads) {
        n = tx_prepare(d, qid, pkts, n, st);
    }
    for (uint16_t i = 0; i < n; i++) {
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }

    if (q->shared && !rte_spinlock_trylock(&q->lock)) {
        __atomic_fetch_add(&q->lock_contended, 1, __ATOMIC_RELAXED);
        rte_spinlock_lock(&q->lock);
    }
    uint16_t sent = 0;
    for (unsigned tries = 0; sent < n && tries <= ETHDEV_TX_RETRIES; tries++) {
        uint16_t k = rte_eth_tx_burst(d->port_id, qid, pkts + sent, n - sent);
        if (!k) {
            break;
        }
        sent += k;
    }
    if (q->shared) {
        rte_spinlock_unlock(&q->lock);
    }

    if (sent < n) {
        for (uint16_t i = sent; i < n; i++) {
            bytes -= rte_pktmbuf_pkt_len(pkts[i]);
        }
        st->drops[DP_DROP_TX_RING_FULL] += n - sent;
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    }
    st->tx_packets += sent;
    st->tx_bytes += bytes;
}

/* Control plane: every rx queue of a started ethdev can carry traffic. */
static bool
ethdev_rxq_enabled(const struct dp_port *port, uint16_t qid)
{
    const struct ethdev_dp *d = port->priv;

    return qid < d->n_rxq;
}

/* The DP_TX_* offloads enabled on the device (constant). */
static uint32_t
ethdev_tx_offloads(const struct dp_port *port)
{
    const struct ethdev_dp *d = port->priv;

    return d->tx_offloads;
}

const struct dp_port_ops ethdev_dp_ops = {
    .rx = ethdev_rx,
    .tx = ethdev_tx,
    .rxq_enabled = ethdev_rxq_enabled,
    .tx_offloads = ethdev_tx_offloads,
};
