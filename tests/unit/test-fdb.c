/* test-fdb - unit tests for the L2 forwarding database (datapath/fdb.c),
 * including concurrent learning on a second EAL lcore under RCU. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "datapath/fdb.h"

static int serial;

static struct fdb *
make_fdb(uint32_t max, uint64_t ageing_ms, struct rte_rcu_qsbr *qsbr)
{
    char name[32];
    struct fdb *fdb = NULL;
    snprintf(name, sizeof name, "tfdb%d", serial++);
    struct fdb_params p = { .name = name, .max_entries = max, .ageing_ms = ageing_ms,
                            .qsbr = qsbr, .socket_id = SOCKET_ID_ANY };
    ck_assert_int_eq(fdb_create(&p, &fdb), 0);
    return fdb;
}

static struct rte_ether_addr
mac(unsigned n)
{
    struct rte_ether_addr a = { { 0x02, 0, 0, (n >> 16) & 0xff, (n >> 8) & 0xff,
                                  n & 0xff } };
    return a;
}

START_TEST(test_learn_lookup)
{
    struct fdb *fdb = make_fdb(64, 300000, NULL);
    struct rte_ether_addr a = mac(1), b = mac(2);
    struct fdb_stats st;

    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), -ENOENT);
    fdb_learn(fdb, &a, 0, 3, 1000);
    fdb_learn(fdb, &b, 0, 4, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 3);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), 4);

    /* Same MAC, other VLAN: a separate entry. */
    ck_assert_int_eq(fdb_lookup(fdb, &a, 10), -ENOENT);
    fdb_learn(fdb, &a, 10, 5, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 10), 5);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 3);

    /* Seeing it again on the same port changes nothing. */
    fdb_learn(fdb, &a, 0, 3, 1500);
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_uint_eq(st.learned, 3);
    ck_assert_uint_eq(st.moved, 0);

    /* A move is counted and takes effect. */
    fdb_learn(fdb, &a, 0, 7, 2000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 7);
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.moved, 1);
    ck_assert_uint_eq(st.entries, 3);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_ignores_group_and_zero_macs)
{
    struct fdb *fdb = make_fdb(64, 300000, NULL);
    struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
    struct rte_ether_addr mcast = { { 0x01, 0x00, 0x5e, 0, 0, 1 } };
    struct rte_ether_addr zero = { { 0 } };
    struct fdb_stats st;

    fdb_learn(fdb, &bcast, 0, 1, 0);
    fdb_learn(fdb, &mcast, 0, 1, 0);
    fdb_learn(fdb, &zero, 0, 1, 0);
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.learned, 0);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_ageing)
{
    struct fdb *fdb = make_fdb(64, 10000, NULL);
    struct rte_ether_addr a = mac(1), b = mac(2);
    struct fdb_stats st;

    fdb_learn(fdb, &a, 0, 1, 1000);
    fdb_learn(fdb, &b, 0, 2, 5000);
    ck_assert_int_eq(fdb_age(fdb, 10000), 0);
    /* Traffic refreshes 'a' (more than a second later). */
    fdb_learn(fdb, &a, 0, 1, 9000);
    ck_assert_int_eq(fdb_age(fdb, 15500), 1);       /* b: idle 10.5 s */
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 1);
    ck_assert_int_eq(fdb_age(fdb, 19500), 1);
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.aged, 2);
    ck_assert_uint_eq(st.entries, 0);

    /* An aged-out MAC is learned again. */
    fdb_learn(fdb, &b, 0, 2, 20000);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), 2);
    fdb_destroy(fdb);
}
END_TEST

struct dump_ctx {
    int n;
    int found_a;
};

static void
dump_cb(const struct fdb_entry_info *e, void *aux)
{
    struct dump_ctx *ctx = aux;
    struct rte_ether_addr a = mac(1);
    ctx->n++;
    if (rte_is_same_ether_addr(&e->mac, &a) && e->vlan == 0 && e->port_no == 1) {
        ck_assert_uint_eq(e->age_ms, 4000);
        ctx->found_a = 1;
    }
}

START_TEST(test_flush_and_dump)
{
    struct fdb *fdb = make_fdb(64, 300000, NULL);
    struct fdb_stats st;

    for (unsigned i = 1; i <= 6; i++) {
        struct rte_ether_addr m = mac(i);
        fdb_learn(fdb, &m, 0, (uint16_t) (i % 2), 1000);
    }
    struct dump_ctx ctx = { 0, 0 };
    ck_assert_int_eq(fdb_dump(fdb, 5000, dump_cb, &ctx), 6);
    ck_assert_int_eq(ctx.n, 6);
    ck_assert(ctx.found_a);

    ck_assert_int_eq(fdb_flush_port(fdb, 1), 3);
    for (unsigned i = 1; i <= 6; i++) {
        struct rte_ether_addr m = mac(i);
        ck_assert_int_eq(fdb_lookup(fdb, &m, 0), i % 2 ? -ENOENT : 0);
    }
    ck_assert_int_eq(fdb_flush(fdb), 3);
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.flushed, 6);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_bound)
{
    struct fdb *fdb = make_fdb(8, 300000, NULL);
    struct fdb_stats st;

    for (unsigned i = 0; i < 9; i++) {
        struct rte_ether_addr m = mac(i + 1);
        fdb_learn(fdb, &m, 0, 1, 0);
    }
    fdb_get_stats(fdb, &st);
    ck_assert_uint_eq(st.entries, 8);
    ck_assert_uint_eq(st.full, 1);
    for (unsigned i = 0; i < 8; i++) {
        struct rte_ether_addr m = mac(i + 1);
        ck_assert_int_eq(fdb_lookup(fdb, &m, 0), 1);
    }
    struct rte_ether_addr ninth = mac(9);
    ck_assert_int_eq(fdb_lookup(fdb, &ninth, 0), -ENOENT);

    /* Room again after a flush; deleted slots are reusable. */
    ck_assert_int_eq(fdb_flush(fdb), 8);
    fdb_learn(fdb, &ninth, 0, 2, 0);
    ck_assert_int_eq(fdb_lookup(fdb, &ninth, 0), 2);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_params)
{
    struct fdb *fdb = NULL, *other = NULL;
    struct fdb_params p = { .name = "tfdb-dup", .max_entries = 64, .ageing_ms = 1000,
                            .socket_id = SOCKET_ID_ANY };

    ck_assert_int_eq(fdb_create(&p, &fdb), 0);
    ck_assert_int_eq(fdb_create(&p, &other), -EEXIST);
    fdb_destroy(fdb);
    ck_assert_int_eq(fdb_create(&p, &fdb), 0);  /* Name free again. */
    fdb_destroy(fdb);

    p.max_entries = 4;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    p.max_entries = 64;
    p.name = "";
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    p.name = "tfdb-x";
    p.ageing_ms = 0;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
}
END_TEST

/* Concurrency: a worker lcore learns, moves and looks up while the main
 * thread ages and flushes, with deleted slots recycled through RCU. */
struct worker {
    struct fdb *fdb;
    struct rte_rcu_qsbr *qsbr;
    volatile int stop;      /* Test-only stop flag, set once by main. */
    uint64_t lookups;
    uint64_t bad;
};

static int
worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t now = 0;

    rte_rcu_qsbr_thread_register(w->qsbr, 0);
    rte_rcu_qsbr_thread_online(w->qsbr, 0);
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i < 256; i++) {
            struct rte_ether_addr m = mac(i);
            uint16_t port = (uint16_t) ((i + now / 4096) % 4);
            fdb_learn(w->fdb, &m, 0, port, now);
            int got = fdb_lookup(w->fdb, &m, 0);
            if (got >= 4) {
                w->bad++;       /* A port nobody ever learned. */
            }
            w->lookups++;
        }
        now += 10;
        rte_rcu_qsbr_quiescent(w->qsbr, 0);
    }
    rte_rcu_qsbr_thread_offline(w->qsbr, 0);
    rte_rcu_qsbr_thread_unregister(w->qsbr, 0);
    return 0;
}

START_TEST(test_concurrent)
{
    unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);
    ck_assert_uint_lt(worker_lcore, RTE_MAX_LCORE);

    size_t sz = rte_rcu_qsbr_get_memsize(1);
    struct rte_rcu_qsbr *qsbr = rte_zmalloc("tqsbr", sz, RTE_CACHE_LINE_SIZE);
    ck_assert_ptr_nonnull(qsbr);
    ck_assert_int_eq(rte_rcu_qsbr_init(qsbr, 1), 0);

    struct worker w = { .fdb = make_fdb(128, 50, qsbr), .qsbr = qsbr };
    ck_assert_int_eq(rte_eal_remote_launch(worker_main, &w, worker_lcore), 0);
    for (unsigned i = 0; i < 300; i++) {
        fdb_age(w.fdb, i * 10);
        if (i % 7 == 0) {
            fdb_flush(w.fdb);
        }
        if (i % 5 == 0) {
            fdb_flush_port(w.fdb, (uint16_t) (i % 4));
        }
        usleep(1000);
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(rte_eal_wait_lcore(worker_lcore), 0);

    struct fdb_stats st;
    fdb_get_stats(w.fdb, &st);
    ck_assert_uint_eq(w.bad, 0);
    ck_assert_uint_gt(w.lookups, 0);
    ck_assert_uint_le(st.entries, 128 + 1);
    ck_assert_uint_gt(st.learned, 0);
    /* Quiet now: flushing empties it completely. */
    fdb_flush(w.fdb);
    fdb_get_stats(w.fdb, &st);
    ck_assert_uint_eq(st.entries, 0);
    fdb_destroy(w.fdb);
    rte_free(qsbr);
}
END_TEST

int
main(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=test-fdb-%d", (int) getpid());
    char *eal_argv[] = { "test-fdb", "--no-huge", "-m", "256", "--no-pci",
                         "--no-shconf", "--no-telemetry", prefix,
                         "--log-level=lib.*:error", "-l", "0,1", NULL };
    if (rte_eal_init(11, eal_argv) < 0) {
        fprintf(stderr, "test-fdb: EAL initialisation failed\n");
        return EXIT_FAILURE;
    }

    Suite *s = suite_create("fdb");
    TCase *tc = tcase_create("fdb");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_learn_lookup);
    tcase_add_test(tc, test_ignores_group_and_zero_macs);
    tcase_add_test(tc, test_ageing);
    tcase_add_test(tc, test_flush_and_dump);
    tcase_add_test(tc, test_bound);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_concurrent);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rte_eal_cleanup();
    /* EAL leaves its (empty) runtime directory behind. */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf /var/run/dpdk/test-fdb-%d", (int) getpid());
    if (system(cmd)) {
        fprintf(stderr, "test-fdb: could not remove the EAL runtime dir\n");
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
