/* datapath - control side of the data path: PMD threads, bridges' runtime
 * state (FDB, flood lists), the port table and rx-queue assignment.
 *
 * The main thread fills an immutable snapshot (port table, per-bridge port
 * lists, one poll list per PMD), publishes it with an atomic pointer store
 * and waits on the RCU QSBR variable, after which the previous snapshot is
 * unused and is the one refilled next time (two fixed-size snapshots, so
 * publishing never allocates); PMDs
 * (pmd.c) read the snapshot without locks and report a quiescent state once
 * per loop iteration.  All functions here are for the main thread, except
 * datapath_synchronize() which any non-PMD thread may call. */
#ifndef VSWITCH_DATAPATH_H
#define VSWITCH_DATAPATH_H 1

#include <stdbool.h>
#include <stdint.h>
#include "datapath/dp-port-core.h"

struct datapath;
struct dp_bridge;
struct fdb;
struct rte_mempool;
struct rte_rcu_qsbr;

struct datapath_params {
    struct rte_mempool *mp;       /* Packet buffers (created by the daemon). */
    const unsigned *pmd_lcores;   /* EAL lcore ids of the PMD threads. */
    const unsigned *pmd_cores;    /* Their CPU numbers, for display. */
    unsigned n_pmds;              /* 1..DP_MAX_PMDS. */
    bool no_threads;              /* Launch no PMD threads: the caller runs
                                   * their loops with datapath_pmd_poll()
                                   * (benchmarks, deterministic tests). */
    unsigned clock_slowdown;      /* Benchmarks only (0 = 1): the PMDs' FDB
                                   * clock runs this many times slower, so
                                   * that a run under valgrind sees the
                                   * refresh rate of a real-time run.  FDB
                                   * ageing must not run then. */
};

/* Creates the datapath and launches one PMD thread per lcore.  Returns 0 and
 * *dp, or a negative errno. */
int datapath_create(const struct datapath_params *, struct datapath **dp);

/* Stops and joins the PMD threads, frees everything.  Bridges and ports must
 * have been removed, or are freed with it. */
void datapath_destroy(struct datapath *);

/* With 'no_threads': runs one iteration of PMD 'pmd_id's loop on the
 * calling thread, which must be the only one to do so.  Returns the number
 * of packets received. */
uint64_t datapath_pmd_poll(struct datapath *, unsigned pmd_id);

/* Stops the PMD threads (idempotent).  After this no PMD touches any port. */
void datapath_stop_pmds(struct datapath *);

/* Waits until every PMD has passed a quiescent state: afterwards, no PMD
 * still uses anything it could see before the call.  Must not be called by a
 * PMD or while holding a lock a PMD takes. */
void datapath_synchronize(struct datapath *);

/* The packet pool given at creation. */
struct rte_mempool *datapath_mempool(const struct datapath *);
/* Size of the packet pool and mbufs currently taken from it. */
void datapath_get_mbuf_usage(const struct datapath *, unsigned *total, unsigned *in_use);

/* Milliseconds of the clock PMDs use for FDB timestamps. */
uint64_t datapath_now_ms(void);

/* Bridges. */
/* Creates a bridge whose FDB holds at most 'fdb_max_entries' MACs and ages
 * them out after 'fdb_ageing_ms' (see fdb.h for the limits). */
int dp_bridge_create(struct datapath *, const char *name, uint32_t fdb_max_entries,
                     uint64_t fdb_ageing_ms, struct dp_bridge **);
/* The bridge must have no ports. */
void dp_bridge_destroy(struct datapath *, struct dp_bridge *);
struct fdb *dp_bridge_fdb(const struct dp_bridge *);
uint32_t dp_bridge_fdb_max(const struct dp_bridge *);
uint64_t dp_bridge_fdb_ageing_ms(const struct dp_bridge *);

/* Ages every bridge's FDB; called periodically by the main loop. */
void datapath_run_ageing(struct datapath *);

/* Ports.  dp_port_create() allocates a port with a free port number (not yet
 * visible to PMDs); dp_port_attach() publishes it on 'br' and polls its
 * 'n_rxq' queues; dp_port_detach() unpublishes it, waits for the PMDs, and
 * flushes its FDB entries; dp_port_destroy() frees a detached port.
 * Port numbers are handed out round-robin; 'fdb_id' (what the FDB stores)
 * adds a generation, so no two ports ever have the same one in practice.
 * dp_port_create() returns 0 or a negative errno (-ENOSPC: no free port
 * number); the others cannot fail. */
int dp_port_create(struct datapath *, const char *name,
                   const struct dp_port_ops *, void *priv, uint16_t n_rxq,
                   struct dp_port **);
void dp_port_attach(struct datapath *, struct dp_bridge *, struct dp_port *);
void dp_port_detach(struct datapath *, struct dp_port *);
void dp_port_destroy(struct datapath *, struct dp_port *);

/* Changes the VLAN membership and MTU of 'port' (defaults at creation: see
 * dp_port_l2_init()).  An attached port is unpublished for two grace
 * periods (its queues keep their packets), forgets what it learned (a new
 * FDB generation, so not even an entry a flush missed survives), and comes
 * back on its bridge. */
void dp_port_set_l2(struct datapath *, struct dp_port *, const struct dp_port_l2 *);

/* Sums the port's counters over all PMDs, minus the baseline recorded by the
 * last dp_port_clear_stats(). */
void dp_port_get_stats(const struct dp_port *, struct dp_stats *);
void dp_port_clear_stats(struct dp_port *);
const char *dp_drop_name(enum dp_drop);

/* PMD statistics. */
struct dp_pmd_stats {
    unsigned pmd_id;
    unsigned core;
    unsigned lcore;
    uint64_t iterations;
    uint64_t rx_packets;
    uint64_t tx_packets;
    uint64_t busy_cycles;
    uint64_t idle_cycles;
};
unsigned datapath_n_pmds(const struct datapath *);
void datapath_get_pmd_stats(const struct datapath *, unsigned pmd_id,
                            struct dp_pmd_stats *);
void datapath_clear_pmd_stats(struct datapath *);

/* Calls 'cb' for every (port, queue) polled by PMD 'pmd_id'. */
typedef void dp_rxq_cb(const struct dp_port *, uint16_t qid, void *aux);
void datapath_foreach_rxq(const struct datapath *, unsigned pmd_id,
                          dp_rxq_cb *cb, void *aux);

/* True if rx queue 'qid' of 'port' currently carries traffic, as its port
 * type says (e.g. a vhost frontend enabled the vring). */
bool dp_port_rxq_enabled(const struct dp_port *, uint16_t qid);

/* Rx queue assignment and load.
 *
 * PMDs measure the cycles they spend on each rx queue over a window of the
 * last DP_LOAD_INTERVALS intervals of DP_LOAD_INTERVAL_MS plus the current
 * one (dp-port-core.h).  Every change that publishes a snapshot (bridges or
 * ports added or removed) re-assigns queues to PMDs by those loads
 * (rxq-sched.h), and so does datapath_rxq_rebalance(). */

/* Cycles of PMD 'pmd_id' over the window. */
struct dp_pmd_load {
    uint64_t cycles;            /* All: busy + idle. */
    uint64_t busy_cycles;       /* In iterations that received packets. */
};
void datapath_get_pmd_load(const struct datapath *, unsigned pmd_id,
                           struct dp_pmd_load *);

/* One rx queue as pmd.rxq_show reports it. */
struct dp_rxq_info {
    const char *port;           /* Port name. */
    uint16_t qid;
    bool enabled;               /* dp_port_rxq_enabled(). */
    uint64_t cycles;            /* Processing cycles over the window. */
};
/* Calls 'cb' for every rx queue polled by PMD 'pmd_id', in polling order. */
typedef void dp_rxq_info_cb(const struct dp_rxq_info *, void *aux);
void datapath_foreach_rxq_info(const struct datapath *, unsigned pmd_id,
                               dp_rxq_info_cb *cb, void *aux);

/* Batches of changes.  Between datapath_defer_begin() and the matching
 * datapath_defer_end() (they nest), bridges created and ports attached are
 * published to the PMDs once, at the end, instead of each waiting for an
 * RCU grace period: 1,000 ports added in one JSON-RPC batch cost one
 * publication.  Changes that take something away (detach, destroy,
 * dp_port_set_l2) still publish at once, with everything pending. */
void datapath_defer_begin(struct datapath *);
void datapath_defer_end(struct datapath *);

/* PMDs poll only the rx queues that can carry traffic (dp_port_rxq_enabled())
 * as of the last publication.  This re-publishes the poll lists if that set
 * changed: the daemon calls it whenever a port provider reports a change of
 * device or queue state (and once a second).  Returns true if it published.
 * Does nothing inside datapath_defer_begin()/end(). */
bool datapath_poll_refresh(struct datapath *);

/* Re-assigns every rx queue to a PMD by measured load, now.  Returns how
 * many queues moved to another PMD and, if 'n_rxqs' is nonnull, stores the
 * number of rx queues polled.  Waits for up to two RCU grace periods. */
unsigned datapath_rxq_rebalance(struct datapath *, unsigned *n_rxqs);

#endif
