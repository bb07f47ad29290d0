/* test-rxq-sched - Check suite for datapath/rxq-sched.c, the assignment of
 * rx queues to PMDs by measured load.  Pure function: no EAL needed. */
#include "datapath/rxq-sched.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXQ 256

/* Queues under test, indexed by key. */
struct queues {
    size_t n;
    uint64_t load[MAXQ];
    int cur[MAXQ];
    int pmd[MAXQ];          /* Result, by key. */
};

static void
queues_init(struct queues *qs, size_t n)
{
    memset(qs, 0, sizeof *qs);
    qs->n = n;
    for (size_t i = 0; i < n; i++) {
        qs->cur[i] = -1;
        qs->pmd[i] = -1;
    }
}

/* Runs rxq_sched_assign() on 'qs' (items given in a shuffled order, which
 * must not matter), checks that every queue got exactly one valid PMD, and
 * returns the number moved.  (Checks per item are gathered into one
 * assertion: Check reports every assertion to its parent process.) */
static unsigned
run(struct queues *qs, unsigned n_pmds, unsigned sticky_pct)
{
    struct rxq_sched_item items[MAXQ];
    bool seen[MAXQ] = { false };
    bool ok = true;

    for (size_t i = 0; i < qs->n; i++) {
        size_t k = (i * 7 + 3) % qs->n;     /* Not in key order. */
        items[i].load = qs->load[k];
        items[i].key = (uint32_t) k;
        items[i].cur = qs->cur[k];
        items[i].pmd = -2;
        ok = ok && !seen[k];            /* A permutation: n % 7 != 0. */
        seen[k] = true;
    }
    ck_assert(ok);
    memset(seen, 0, sizeof seen);

    unsigned moved = rxq_sched_assign(items, qs->n, n_pmds, sticky_pct);
    unsigned count = 0;
    for (size_t i = 0; i < qs->n && ok; i++) {
        uint32_t k = items[i].key;
        ok = k < qs->n && !seen[k]
             && items[i].pmd >= 0 && items[i].pmd < (int) n_pmds
             && items[i].load == qs->load[k];
        if (!ok) {
            break;
        }
        seen[k] = true;
        qs->pmd[k] = items[i].pmd;
        int cur = qs->cur[k] >= 0 && qs->cur[k] < (int) n_pmds ? qs->cur[k] : -1;
        count += cur >= 0 && cur != items[i].pmd;
        /* Heaviest first, then by key. */
        ok = i == 0 || items[i - 1].load > items[i].load
             || (items[i - 1].load == items[i].load && items[i - 1].key < items[i].key);
    }
    ck_assert_msg(ok, "invalid assignment or order");
    ck_assert_uint_eq(moved, count);
    return moved;
}

/* The result becomes the current assignment. */
static void
commit(struct queues *qs)
{
    memcpy(qs->cur, qs->pmd, sizeof qs->cur);
}

static uint64_t
pmd_load(const struct queues *qs, int pmd)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < qs->n; i++) {
        sum += qs->pmd[i] == pmd ? qs->load[i] : 0;
    }
    return sum;
}

/* Number of queues without load on 'pmd'. */
static unsigned
pmd_idle(const struct queues *qs, int pmd)
{
    unsigned n = 0;
    for (size_t i = 0; i < qs->n; i++) {
        n += qs->pmd[i] == pmd && !qs->load[i];
    }
    return n;
}

static void
assert_idle_balanced(const struct queues *qs, unsigned n_pmds)
{
    unsigned lo = UINT32_MAX, hi = 0;
    for (unsigned p = 0; p < n_pmds; p++) {
        unsigned c = pmd_idle(qs, (int) p);
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
    }
    ck_assert_uint_le(hi - lo, 1);
}

START_TEST(test_empty)
{
    ck_assert_uint_eq(rxq_sched_assign(NULL, 0, 2, RXQ_SCHED_STICKY_PCT), 0);
    struct rxq_sched_item it = { .load = 5, .key = 0, .cur = 1 };
    ck_assert_uint_eq(rxq_sched_assign(&it, 1, 0, RXQ_SCHED_STICKY_PCT), 0);
}
END_TEST

/* New queues without history are dealt round-robin in key order. */
START_TEST(test_new_round_robin)
{
    struct queues qs;
    queues_init(&qs, 5);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);
    int want[] = { 0, 1, 0, 1, 0 };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(qs.pmd[i], want[i]);
    }
    queues_init(&qs, 5);
    run(&qs, 3, RXQ_SCHED_STICKY_PCT);
    int want3[] = { 0, 1, 2, 0, 1 };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(qs.pmd[i], want3[i]);
    }
}
END_TEST

/* Adding a queue leaves the others where they are; removing some re-deals
 * only as much as needed to even the counts out. */
START_TEST(test_idle_stable)
{
    struct queues qs;

    /* Balanced but not interleaved: stays. */
    queues_init(&qs, 4);
    int cur[] = { 0, 0, 1, 1 };
    memcpy(qs.cur, cur, sizeof cur);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);

    /* One more: goes where there are fewer, nothing else moves. */
    queues_init(&qs, 5);
    int cur5[] = { 0, 0, 1, -1, 1 };
    memcpy(qs.cur, cur5, sizeof cur5);
    ck_assert_uint_eq(run(&qs, 3, RXQ_SCHED_STICKY_PCT), 0);
    ck_assert_int_eq(qs.pmd[3], 2);

    /* All on PMD 0 (the others' queues were deleted): half of them move. */
    queues_init(&qs, 5);
    for (size_t i = 0; i < 5; i++) {
        qs.cur[i] = 0;
    }
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 2);
    assert_idle_balanced(&qs, 2);
    ck_assert_int_eq(qs.pmd[0], 0);
    ck_assert_int_eq(qs.pmd[1], 0);
    ck_assert_int_eq(qs.pmd[2], 0);
}
END_TEST

/* Loaded queues: heaviest first onto the least loaded PMD. */
START_TEST(test_greedy)
{
    struct queues qs;
    queues_init(&qs, 4);
    uint64_t load[] = { 100, 90, 50, 40 };
    memcpy(qs.load, load, sizeof load);
    ck_assert_uint_eq(run(&qs, 2, 0), 0);
    ck_assert_int_eq(qs.pmd[0], 0);
    ck_assert_int_eq(qs.pmd[1], 1);
    ck_assert_int_eq(qs.pmd[2], 1);
    ck_assert_int_eq(qs.pmd[3], 0);
    ck_assert_uint_eq(pmd_load(&qs, 0), 140);
    ck_assert_uint_eq(pmd_load(&qs, 1), 140);

    /* Same by load order, whatever the keys. */
    queues_init(&qs, 4);
    uint64_t load2[] = { 40, 50, 90, 100 };
    memcpy(qs.load, load2, sizeof load2);
    run(&qs, 2, 0);
    ck_assert_int_eq(qs.pmd[3], 0);
    ck_assert_int_eq(qs.pmd[2], 1);
    ck_assert_int_eq(qs.pmd[1], 1);
    ck_assert_int_eq(qs.pmd[0], 0);
}
END_TEST

/* Two busy queues on one PMD and an idle PMD: one of them moves. */
START_TEST(test_imbalance_undone)
{
    struct queues qs;
    queues_init(&qs, 3);
    uint64_t load[] = { 1000, 0, 900 };
    int cur[] = { 0, 1, 0 };
    memcpy(qs.load, load, sizeof load);
    memcpy(qs.cur, cur, sizeof cur);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 1);
    ck_assert_int_eq(qs.pmd[0], 0);
    ck_assert_int_eq(qs.pmd[2], 1);
    ck_assert_int_eq(qs.pmd[1], 1);     /* The idle one stays. */
    commit(&qs);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);
}
END_TEST

/* Measurement noise within the slack moves nothing; beyond it, it does. */
START_TEST(test_sticky)
{
    struct queues qs;
    queues_init(&qs, 4);
    uint64_t load[] = { 100, 99, 50, 48 };
    int cur[] = { 0, 1, 1, 0 };
    memcpy(qs.load, load, sizeof load);
    memcpy(qs.cur, cur, sizeof cur);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);

    /* Queue 3 now slightly heavier than queue 2: a fresh greedy pass would
     * swap them; with the slack nothing moves. */
    qs.load[3] = 52;
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);
    ck_assert_uint_eq(run(&qs, 2, 0), 2);

    /* A real change (queues 1 and 2 busy, both on PMD 1) is undone by
     * moving the lighter of them. */
    qs.load[0] = 10;
    qs.load[3] = 10;
    qs.load[1] = 500;
    qs.load[2] = 400;
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 1);
    ck_assert_int_eq(qs.pmd[1], 1);
    ck_assert_int_eq(qs.pmd[2], 0);
}
END_TEST

/* PMD ids out of range (fewer PMDs than before) count as none. */
START_TEST(test_bad_cur)
{
    struct queues qs;
    queues_init(&qs, 3);
    int cur[] = { 5, -7, 1 };
    memcpy(qs.cur, cur, sizeof cur);
    ck_assert_uint_eq(run(&qs, 2, RXQ_SCHED_STICKY_PCT), 0);
    ck_assert_int_eq(qs.pmd[2], 1);
    assert_idle_balanced(&qs, 2);
}
END_TEST

/* Random inputs: a valid assignment, idle queues balanced, the busiest PMD
 * within the greedy bound, and applying the result again moves nothing. */
START_TEST(test_random)
{
    unsigned seed = 12345;
    for (int round = 0; round < 500; round++) {
        struct queues qs;
        size_t n = 1 + (size_t) (rand_r(&seed) % (MAXQ - 1));
        if (n % 7 == 0) {
            n++;
        }
        unsigned n_pmds = 1 + (unsigned) (rand_r(&seed) % 8);
        queues_init(&qs, n);
        uint64_t total = 0, max = 0;
        for (size_t i = 0; i < n; i++) {
            qs.load[i] = rand_r(&seed) % 3 ? (uint64_t) (rand_r(&seed) % 100000) : 0;
            qs.cur[i] = (int) (rand_r(&seed) % (n_pmds + 1)) - 1;
            total += qs.load[i];
            max = qs.load[i] > max ? qs.load[i] : max;
        }
        unsigned sticky = round % 2 ? RXQ_SCHED_STICKY_PCT : 0;
        run(&qs, n_pmds, sticky);
        assert_idle_balanced(&qs, n_pmds);
        /* Greedy bound: no PMD above average + heaviest queue + slack. */
        for (unsigned p = 0; p < n_pmds; p++) {
            uint64_t avg = total / n_pmds;
            ck_assert_uint_le(pmd_load(&qs, (int) p),
                              avg + max + avg * sticky / 100 + 1);
        }
        commit(&qs);
        ck_assert_uint_eq(run(&qs, n_pmds, sticky), 0);
    }
}
END_TEST

static Suite *
rxq_sched_suite(void)
{
    Suite *s = suite_create("rxq-sched");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_new_round_robin);
    tcase_add_test(tc, test_idle_stable);
    tcase_add_test(tc, test_greedy);
    tcase_add_test(tc, test_imbalance_undone);
    tcase_add_test(tc, test_sticky);
    tcase_add_test(tc, test_bad_cur);
    tcase_add_test(tc, test_random);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rxq_sched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
