/* pmd - the poll-mode driver threads: the hot path.
 *
 * Internal to datapath/: datapath.c (control) creates the 'struct pmd's,
 * publishes snapshots and launches pmd_main() on each PMD lcore; pmd.c runs
 * the loop: poll every (port, queue) of this PMD's poll list in bursts,
 * learn source MACs, look up destinations, batch per output port, flush the
 * batches once per iteration, report an RCU quiescent state.  It also
 * measures the cycles spent on each rx queue (struct dp_rxq_load), from which
 * datapath.c assigns queues to PMDs.
 * No malloc, no syscalls, no locks, no logging per packet. */
#ifndef VSWITCH_PMD_H
#define VSWITCH_PMD_H 1

#include <stdbool.h>
#include <stdint.h>
#include <rte_common.h>
#include <rte_rcu_qsbr.h>
#include "datapath/dp-port-core.h"

/* One (port, queue) a PMD polls. */
struct dp_rxq {
    struct dp_port *port;
    struct dp_rxq_load *load;           /* &port->rxq_load[qid]. */
    uint16_t qid;
};

/* The rx queues assigned to one PMD: the first 'n_active' can carry
 * traffic (dp_port_rxq_enabled() when published) and are polled; the rest
 * (e.g. vhost queues with no frontend) are only listed, for pmd.rxq_show
 * and the load history, so idle ports cost no polling time. */
struct dp_poll_list {
    unsigned n;
    unsigned n_active;
    struct dp_rxq rxq[DP_MAX_PORTS * DP_MAX_QUEUES];
};

struct dp_port_list {
    unsigned n;
    uint16_t port_no[DP_MAX_PORTS];
};

/* What PMDs see; immutable while published.  Fixed size (about 0.5 MiB), so
 * that publishing never allocates and cannot fail: datapath.c keeps two and
 * refills the unpublished one. */
struct dp_snapshot {
    struct dp_port *ports[DP_MAX_PORTS];               /* By port number. */
    struct dp_port_list bridge_ports[DP_MAX_BRIDGES];  /* By bridge index. */
    struct dp_poll_list poll[DP_MAX_PMDS];             /* By PMD id. */
};

/* Counters of one PMD; only that PMD writes them. */
struct pmd_counters {
    uint64_t iterations;
    uint64_t rx_packets;
    uint64_t tx_packets;
    uint64_t busy_cycles;
    uint64_t idle_cycles;
};

/* A queue that received packets in the current iteration. */
struct pmd_busy_rxq {
    uint16_t idx;                       /* In the poll list. */
    uint16_t n;                         /* Packets received. */
};

struct pmd_txbatch {
    uint16_t n;
    bool dirty;                 /* On the PMD's dirty list. */
    struct rte_mbuf *pkts[DP_BURST];
};

struct pmd {
    /* Set by datapath.c before launch; constant afterwards. */
    unsigned id;                        /* 0..n_pmds-1, also the QSBR id. */
    unsigned lcore;
    unsigned core;
    struct dp_snapshot **snap;          /* Published snapshot pointer. */
    struct rte_rcu_qsbr *qsbr;
    struct rte_mempool *mp;             /* For copies of frames re-tagged. */
    uint64_t tsc_per_ms;
    uint64_t tsc_per_interval;          /* DP_LOAD_INTERVAL_MS in TSC. */
    bool stop;                          /* Set by main (atomic store). */
    bool running;

    /* Written by the PMD only. */
    struct pmd_counters counters __rte_cache_aligned;
    struct dp_load_hist busy_hist;      /* Of counters.busy_cycles. */
    struct dp_load_hist total_hist;     /* Of busy_cycles + idle_cycles. */

    struct pmd_counters baseline __rte_cache_aligned;   /* Main thread's. */

    /* Private to the PMD thread. */
    uint64_t next_interval_tsc __rte_cache_aligned;
    uint64_t prev_tsc;                  /* End of the last iteration. */
    uint64_t now_ms;                    /* FDB clock, updated every ms. */
    uint64_t next_ms_tsc;               /* When now_ms is next updated. */
    uint16_t n_dirty;
    uint16_t dirty[DP_MAX_PORTS];
    struct pmd_txbatch txb[DP_MAX_PORTS];
    uint16_t flood_same[DP_MAX_PORTS];  /* pmd_flood()'s scratch lists. */
    uint16_t flood_other[DP_MAX_PORTS];
    struct pmd_busy_rxq busy[DP_MAX_PORTS * DP_MAX_QUEUES];
};

/* The PMD thread's main function (rte_eal_remote_launch); 'arg' is its
 * struct pmd.  Returns 0 when pmd->stop is set. */
int pmd_main(void *arg);

/* Runs one iteration of the loop of 'pmd', which has no thread of its own
 * (datapath_params.no_threads), on the calling thread.  Returns how many
 * packets it received.  For benchmarks and tests that need determinism. */
uint64_t pmd_poll_once(struct pmd *pmd);

#endif
