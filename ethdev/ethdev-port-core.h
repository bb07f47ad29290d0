/* ethdev-port-core - what the PMDs see of an rte_ethdev-backed port.
 *
 * Shared by the control side (ethdev-dev.c, which fills it in before the port
 * is attached and never changes it afterwards) and the hot path
 * (ethdev-rxtx.c, the rx/tx bursts).  It is in a header, not hidden in a .c,
 * only because both files need its layout; nothing outside ethdev/ includes
 * it.
 *
 * Tx queues (DESIGN.md §2): PMD 'pmd_id' transmits on queue
 * pmd_id % n_txq.  When there are at least as many queues as PMDs each PMD
 * has its own queue and no lock is taken; otherwise the queues that more
 * than one PMD maps to are 'shared' and serialised by the queue's spinlock,
 * whose trylock failures are counted in 'lock_contended'. */
#ifndef VSWITCH_ETHDEV_PORT_CORE_H
#define VSWITCH_ETHDEV_PORT_CORE_H 1

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_spinlock.h>

#include "datapath/dp-port-core.h"

/* Tx queues per port: more than one per PMD would never be used. */
#define ETHDEV_MAX_TXQ DP_MAX_PMDS

/* Further rte_eth_tx_burst() calls after a partial send before the rest is
 * dropped.  A call that sends nothing ends the retries at once. */
#define ETHDEV_TX_RETRIES 8

/* One tx queue; own cache line, since the PMDs sharing it write the lock. */
struct ethdev_txq {
    rte_spinlock_t lock;        /* Taken only if 'shared'. */
    bool shared;                /* Constant: more than one PMD maps here. */
    uint64_t lock_contended;    /* Atomic: trylock failures. */
} __rte_cache_aligned;

/* The hot part of a port: first member of the control side's struct, so the
 * dp_port's 'priv' points at both.  Constant while the port is attached,
 * except the two flags the link reporting writes (ethdev-dev.c). */
struct ethdev_dp {
    uint16_t port_id;           /* rte_ethdev port id. */
    uint16_t n_rxq;
    uint16_t n_txq;             /* 1..ETHDEV_MAX_TXQ. */
    bool link_up;               /* Atomic: link as last reported; while
                                 * down, tx drops (DP_DROP_TX_LINK_DOWN). */
    bool removed;               /* Atomic: the device was unplugged under
                                 * us; rx and tx no longer touch it. */
    uint32_t tx_offloads;       /* DP_TX_* enabled on the device (always
                                 * with DP_TX_WRITES: tx_prepare writes). */
    struct ethdev_txq txq[ETHDEV_MAX_TXQ];
};

/* rx = rte_eth_rx_burst, tx = rte_eth_tx_burst (with the queue lock when
 * shared); see ethdev-rxtx.c. */
extern const struct dp_port_ops ethdev_dp_ops;

#endif
