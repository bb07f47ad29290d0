/* fake-port.h - a ring-backed port for the unit suites that run the real
 * datapath (test-datapath, test-capture).
 *
 * It implements the dp_port_ops contract (datapath/dp-port-core.h): the
 * PMD's rx dequeues what the test put on 'rx', its tx enqueues what fits on
 * 'tx' (a prefix of the batch, counted) and drops the rest as
 * tx_dropped_ring_full.  Each suite creates the rings and the dp_port
 * itself (dp_port_create(..., &fake_ops, fp, ...)). */
#ifndef VSWITCH_FAKE_PORT_H
#define VSWITCH_FAKE_PORT_H 1

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "datapath/dp-port-core.h"

/* A fake port: the PMD's rx reads 'rx', its tx writes 'tx'. */
struct fake_port {
    char name[DP_NAME_MAX];
    struct rte_ring *rx;        /* Test -> PMD (single producer/consumer). */
    struct rte_ring *tx;        /* PMD -> test (one PMD: single producer). */
    struct dp_port *port;       /* NULL when not created. */
    bool disabled;              /* rxq_enabled() says no (atomic). */
    uint64_t rx_calls;          /* Polls of its rx queue (atomic). */
};

static uint16_t
fake_rx(struct dp_port *port, uint16_t qid, struct rte_mbuf **pkts, uint16_t n)
{
    struct fake_port *fp = port->priv;

    (void) qid;
    __atomic_fetch_add(&fp->rx_calls, 1, __ATOMIC_RELAXED);
    return (uint16_t) rte_ring_dequeue_burst(fp->rx, (void **) pkts, n, NULL);
}

/* Sends what fits in the tx ring (a prefix), drops the rest. */
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
    const struct fake_port *fp = port->priv;

    (void) qid;
    return !__atomic_load_n(&fp->disabled, __ATOMIC_RELAXED);
}

static const struct dp_port_ops fake_ops = {
    .rx = fake_rx,
    .tx = fake_tx,
    .rxq_enabled = fake_rxq_enabled,
};

#endif
