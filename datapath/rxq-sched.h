/* rxq-sched - which PMD polls which rx queue.
 *
 * A pure function (no DPDK, no allocation, no global state) from the rx
 * queues' measured loads and their current PMDs to a new assignment, in the
 * spirit of Open vSwitch's pmd-rxq-assign=cycles.  datapath.c calls it each
 * time it publishes a snapshot (ports or bridges added or removed) and on
 * pmd.rxq_rebalance; tests/unit/test-rxq-sched.c tests it alone.
 *
 * The rules, in order:
 *  1. Queues with a measured load (load > 0), heaviest first, each go to the
 *     PMD with the least load assigned so far (ties: fewer queues, then the
 *     lower PMD id) -- unless the PMD that polls the queue now has at most
 *     'sticky_pct' percent of an average PMD's load (total / n_pmds) more
 *     than that one: then the queue stays.  So measurement noise does not
 *     shuffle queues, but a real imbalance is undone.
 *  2. Queues with no history (load 0: new, or idle over the whole window)
 *     are dealt round-robin: every PMD gets the same number of them, give
 *     or take one.  A queue keeps its current PMD while that PMD has fewer
 *     than its share; the others go to the PMD with the fewest history-less
 *     queues (ties: the least loaded, then the lower id).
 * With nothing changed (same loads, same queues), the result is the current
 * assignment: nothing moves. */
#ifndef VSWITCH_RXQ_SCHED_H
#define VSWITCH_RXQ_SCHED_H 1

#include <stddef.h>
#include <stdint.h>

/* Default for 'sticky_pct'. */
#define RXQ_SCHED_STICKY_PCT 10

/* The most PMDs rxq_sched_assign() handles. */
#define RXQ_SCHED_MAX_PMDS 64

struct rxq_sched_item {
    uint64_t load;      /* In: cycles measured over the window; 0: none. */
    uint32_t key;       /* In: the caller's id of the queue; also the order
                         * in which equally loaded queues are placed. */
    int cur;            /* In: PMD polling the queue now, or -1 (none). */
    int pmd;            /* Out: PMD that polls it from now on. */
};

/* Assigns each of the 'n' queues in 'items' to one of PMDs 0..n_pmds-1
 * (1 <= n_pmds <= RXQ_SCHED_MAX_PMDS) by the rules above, writing 'pmd' of
 * every item.  'items' is reordered (heaviest first, then by key): find
 * queues by 'key'.  A 'cur' outside 0..n_pmds-1 counts as -1.  Returns how
 * many queues move from one PMD to another (cur >= 0 and pmd != cur). */
unsigned rxq_sched_assign(struct rxq_sched_item *items, size_t n,
                          unsigned n_pmds, unsigned sticky_pct);

#endif
