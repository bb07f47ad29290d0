/* rxq-sched - which PMD polls which rx queue.  See rxq-sched.h.
 *
 * Runs on the main thread while publishing a snapshot, which must not
 * allocate: the sort is an in-place heapsort and the per-PMD sums live on
 * the stack. */
#include "datapath/rxq-sched.h"

#include <stdbool.h>

/* True if 'a' is placed before 'b': heavier first, then lower key. */
static bool
item_before(const struct rxq_sched_item *a, const struct rxq_sched_item *b)
{
    return a->load != b->load ? a->load > b->load : a->key < b->key;
}

static void
item_swap(struct rxq_sched_item *a, struct rxq_sched_item *b)
{
    struct rxq_sched_item t = *a;
    *a = *b;
    *b = t;
}

/* Moves items[i] down the heap of 'n' items whose root is the item placed
 * last. */
static void
sift_down(struct rxq_sched_item *items, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) {
            return;
        }
        if (c + 1 < n && item_before(&items[c], &items[c + 1])) {
            c++;
        }
        if (!item_before(&items[i], &items[c])) {
            return;
        }
        item_swap(&items[i], &items[c]);
        i = c;
    }
}

/* Sorts 'items' heaviest first, then by key.  The order is total (keys are
 * unique), so the result does not depend on the input order. */
static void
sort_items(struct rxq_sched_item *items, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) {
        sift_down(items, i, n);
    }
    for (size_t end = n; end > 1; end--) {
        item_swap(&items[0], &items[end - 1]);
        sift_down(items, 0, end - 1);
    }
}

unsigned
rxq_sched_assign(struct rxq_sched_item *items, size_t n, unsigned n_pmds,
                 unsigned sticky_pct)
{
    uint64_t load[RXQ_SCHED_MAX_PMDS] = { 0 };     /* Assigned so far. */
    unsigned n_q[RXQ_SCHED_MAX_PMDS] = { 0 };      /* Queues assigned. */
    unsigned n_idle[RXQ_SCHED_MAX_PMDS] = { 0 };   /* Of which without load. */

    if (!n_pmds) {
        return 0;
    }
    if (n_pmds > RXQ_SCHED_MAX_PMDS) {
        n_pmds = RXQ_SCHED_MAX_PMDS;
    }
    sort_items(items, n);

    uint64_t total = 0;
    size_t n_loaded = 0;
    for (size_t i = 0; i < n; i++) {
        struct rxq_sched_item *it = &items[i];
        if (it->cur < 0 || (unsigned) it->cur >= n_pmds) {
            it->cur = -1;
        }
        it->pmd = -1;
        total += it->load;
        n_loaded += it->load > 0;
    }
    uint64_t slack = total / n_pmds * sticky_pct / 100;

    /* 1. Loaded queues (sorted first), greedily onto the least loaded PMD. */
    for (size_t i = 0; i < n_loaded; i++) {
        struct rxq_sched_item *it = &items[i];
        unsigned best = 0;
        for (unsigned p = 1; p < n_pmds; p++) {
            if (load[p] < load[best] || (load[p] == load[best] && n_q[p] < n_q[best])) {
                best = p;
            }
        }
        unsigned pmd = best;
        if (it->cur >= 0 && load[it->cur] <= load[best] + slack) {
            pmd = (unsigned) it->cur;
        }
        it->pmd = (int) pmd;
        load[pmd] += it->load;
        n_q[pmd]++;
    }

    /* 2. Queues without history, dealt evenly: each PMD gets 'floor' or
     * 'floor + 1' of them, and at most 'extra' PMDs get 'floor + 1'.
     * First those that may stay where they are... */
    size_t n_new = n - n_loaded;
    unsigned floor = (unsigned) (n_new / n_pmds);
    unsigned extra = (unsigned) (n_new % n_pmds);
    unsigned n_extra = 0;
    for (size_t i = n_loaded; i < n; i++) {
        struct rxq_sched_item *it = &items[i];
        if (it->cur < 0) {
            continue;
        }
        unsigned c = n_idle[it->cur];
        if (c < floor || (c == floor && n_extra < extra)) {
            n_extra += c == floor;
            it->pmd = it->cur;
            n_idle[it->cur]++;
            n_q[it->cur]++;
        }
    }
    /* ...then the rest onto the PMD with the fewest. */
    for (size_t i = n_loaded; i < n; i++) {
        struct rxq_sched_item *it = &items[i];
        if (it->pmd >= 0) {
            continue;
        }
        unsigned best = 0;
        for (unsigned p = 1; p < n_pmds; p++) {
            if (n_idle[p] < n_idle[best]
                || (n_idle[p] == n_idle[best] && load[p] < load[best])) {
                best = p;
            }
        }
        it->pmd = (int) best;
        n_idle[best]++;
        n_q[best]++;
    }

    unsigned moved = 0;
    for (size_t i = 0; i < n; i++) {
        moved += items[i].cur >= 0 && items[i].pmd != items[i].cur;
    }
    return moved;
}
