/* test-fdb - Check suite for datapath/fdb.c.
 *
 * Needs EAL (rte_hash lives in DPDK memory), initialised once in main() with
 * no hugepages, no PCI, no shared files and two lcores (the second one runs
 * the concurrency test's "PMD").  test_bulk covers the hot path's bulk
 * forms (fdb_learn_bulk(), fdb_lookup_bulk()) and the inline hash.  The suite runs with CK_NOFORK because EAL
 * cannot be initialised again in a forked child. */
#include "datapath/fdb.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#define AGEING_MS 300000

static struct rte_ether_addr
mac_n(uint32_t n)
{
    struct rte_ether_addr mac = {
        .addr_bytes = { 0x02, 0x00, (uint8_t) (n >> 24), (uint8_t) (n >> 16),
                        (uint8_t) (n >> 8), (uint8_t) n },
    };
    return mac;
}

static struct fdb *
make_fdb(const char *name, uint32_t max_entries, struct rte_rcu_qsbr *qsbr)
{
    struct fdb_params p = {
        .name = name,
        .max_entries = max_entries,
        .ageing_ms = AGEING_MS,
        .qsbr = qsbr,
        .socket_id = SOCKET_ID_ANY,
    };
    struct fdb *fdb = NULL;
    int err = fdb_create(&p, &fdb);
    ck_assert_int_eq(err, 0);
    ck_assert_ptr_nonnull(fdb);
    return fdb;
}

static struct fdb_stats
stats(const struct fdb *fdb)
{
    struct fdb_stats st;
    fdb_get_stats(fdb, &st);
    return st;
}

START_TEST(test_learn_lookup)
{
    struct fdb *fdb = make_fdb("t_learn", 64, NULL);
    struct rte_ether_addr a = mac_n(1), b = mac_n(2);

    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), -ENOENT);
    fdb_learn(fdb, &a, 0, 3, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 3);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), -ENOENT);
    fdb_learn(fdb, &b, 0, 0, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), 0);
    fdb_learn(fdb, &b, 0, UINT16_MAX, 1000);       /* Port numbers: all 16 bits. */
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), UINT16_MAX);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_uint_eq(st.learned, 2);
    ck_assert_uint_eq(st.moved, 1);
    ck_assert_uint_eq(st.full, 0);
    fdb_destroy(fdb);
    fdb_destroy(NULL);
}
END_TEST

START_TEST(test_vlan_separation)
{
    struct fdb *fdb = make_fdb("t_vlan", 64, NULL);
    struct rte_ether_addr a = mac_n(7);

    fdb_learn(fdb, &a, 10, 1, 1000);
    fdb_learn(fdb, &a, 20, 2, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 10), 1);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 20), 2);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 30), -ENOENT);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_uint_eq(st.learned, 2);
    ck_assert_uint_eq(st.moved, 0);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_move)
{
    struct fdb *fdb = make_fdb("t_move", 64, NULL);
    struct rte_ether_addr a = mac_n(3);

    fdb_learn(fdb, &a, 5, 1, 1000);
    fdb_learn(fdb, &a, 5, 2, 1001);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 5), 2);
    fdb_learn(fdb, &a, 5, 2, 1002);                 /* No second move. */
    fdb_learn(fdb, &a, 5, 1, 1003);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 5), 1);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.learned, 1);
    ck_assert_uint_eq(st.moved, 2);
    fdb_destroy(fdb);
}
END_TEST

struct dump_ctx {
    struct fdb_entry_info e[64];
    int n;
};

static void
dump_collect(const struct fdb_entry_info *info, void *ctx_)
{
    struct dump_ctx *ctx = ctx_;
    ck_assert_int_lt(ctx->n, 64);
    ctx->e[ctx->n++] = *info;
}

static const struct fdb_entry_info *
dump_find(const struct dump_ctx *ctx, const struct rte_ether_addr *mac,
          uint16_t vlan)
{
    for (int i = 0; i < ctx->n; i++) {
        if (rte_is_same_ether_addr(&ctx->e[i].mac, mac)
            && ctx->e[i].vlan == vlan) {
            return &ctx->e[i];
        }
    }
    return NULL;
}

static uint64_t
age_of(const struct fdb *fdb, const struct rte_ether_addr *mac,
       uint16_t vlan, uint64_t now_ms)
{
    struct dump_ctx ctx = { .n = 0 };
    fdb_dump(fdb, now_ms, dump_collect, &ctx);
    const struct fdb_entry_info *e = dump_find(&ctx, mac, vlan);
    ck_assert_ptr_nonnull(e);
    return e->age_ms;
}

START_TEST(test_refresh_without_write)
{
    struct fdb *fdb = make_fdb("t_refresh", 64, NULL);
    struct rte_ether_addr a = mac_n(4);

    fdb_learn(fdb, &a, 0, 1, 10000);
    struct fdb_stats before = stats(fdb);

    /* Within FDB_REFRESH_MS: nothing is written. */
    fdb_learn(fdb, &a, 0, 1, 10500);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 10500), 500);
    fdb_learn(fdb, &a, 0, 1, 10999);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 10999), 999);

    /* After it: the timestamp moves, nothing else. */
    fdb_learn(fdb, &a, 0, 1, 11000);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 11000), 0);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 11250), 250);

    /* A clock that goes backwards (another PMD's older timestamp) is not
     * taken. */
    fdb_learn(fdb, &a, 0, 1, 5000);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 11250), 250);

    struct fdb_stats after = stats(fdb);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 1);
    fdb_destroy(fdb);
}
END_TEST

/* fdb_learn_bulk() and fdb_lookup_bulk(): the same results as one call per
 * key (learn, move, refresh only after FDB_REFRESH_MS, invalid sources
 * skipped), and fdb_hash() agrees with rte_hash's own hash function. */
START_TEST(test_bulk)
{
    struct fdb *fdb = make_fdb("t_bulk", 256, NULL);
    enum { N = 40 };
    struct fdb_key keys[N];
    const struct fdb_key *kp[N];
    uint32_t sigs[N];
    int ports[N];

    for (unsigned i = 0; i < N; i++) {
        struct rte_ether_addr mac = mac_n(100 + i);
        fdb_key_init(&keys[i], &mac, (uint16_t) (i % 3));
        kp[i] = &keys[i];
        sigs[i] = fdb_hash(&keys[i]);
    }
    /* A broadcast source is not learned. */
    struct rte_ether_addr bcast = {{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }};
    fdb_key_init(&keys[N - 1], &bcast, 0);
    sigs[N - 1] = fdb_hash(&keys[N - 1]);

    fdb_lookup_bulk(fdb, kp, sigs, N, ports);
    for (unsigned i = 0; i < N; i++) {
        ck_assert_int_eq(ports[i], -ENOENT);
    }
    fdb_learn_bulk(fdb, kp, sigs, N, 7, 10000);
    ck_assert_uint_eq(stats(fdb).learned, N - 1);
    fdb_lookup_bulk(fdb, kp, sigs, N, ports);
    for (unsigned i = 0; i < N - 1; i++) {
        ck_assert_int_eq(ports[i], 7);
        ck_assert_int_eq(fdb_lookup(fdb, &keys[i].mac, keys[i].vlan), 7);
    }
    ck_assert_int_eq(ports[N - 1], -ENOENT);

    /* Known and fresh: nothing written; after a second: refreshed only. */
    struct fdb_stats before = stats(fdb);
    fdb_learn_bulk(fdb, kp, sigs, N, 7, 10999);
    ck_assert_uint_eq(age_of(fdb, &keys[0].mac, keys[0].vlan, 10999), 999);
    fdb_learn_bulk(fdb, kp, sigs, N, 7, 11000);
    ck_assert_uint_eq(age_of(fdb, &keys[0].mac, keys[0].vlan, 11000), 0);
    struct fdb_stats after = stats(fdb);
    ck_assert_mem_eq(&before, &after, sizeof before);

    /* Half of them move to port 9, in bulk. */
    fdb_learn_bulk(fdb, kp, sigs, N / 2, 9, 11100);
    ck_assert_uint_eq(stats(fdb).moved, N / 2);
    fdb_lookup_bulk(fdb, kp, sigs, N, ports);
    for (unsigned i = 0; i < N - 1; i++) {
        ck_assert_int_eq(ports[i], i < N / 2 ? 9 : 7);
    }
    /* And back, one by one (fdb_learn() repairs the bulk path's hints). */
    for (unsigned i = 0; i < N / 2; i++) {
        fdb_learn(fdb, &keys[i].mac, keys[i].vlan, 7, 11200);
    }
    fdb_learn_bulk(fdb, kp, sigs, N / 2, 9, 11300);
    ck_assert_uint_eq(stats(fdb).moved, 3 * N / 2);
    ck_assert_int_eq(fdb_lookup(fdb, &keys[0].mac, keys[0].vlan), 9);

    /* The inline hash is the table's hash. */
    struct rte_hash *h = rte_hash_find_existing("t_bulk");
    ck_assert_ptr_nonnull(h);
    for (unsigned i = 0; i < N; i++) {
        ck_assert_uint_eq(rte_hash_hash(h, &keys[i]), sigs[i]);
    }
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_multicast_ignored)
{
    struct fdb *fdb = make_fdb("t_mcast", 64, NULL);
    struct rte_ether_addr mcast = {{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }};
    struct rte_ether_addr bcast = {{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }};
    struct rte_ether_addr zero = {{ 0 }};

    fdb_learn(fdb, &mcast, 0, 1, 1000);
    fdb_learn(fdb, &bcast, 0, 1, 1000);
    fdb_learn(fdb, &zero, 0, 1, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &mcast, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &bcast, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &zero, 0), -ENOENT);
    ck_assert_int_eq(fdb_dump(fdb, 1000, NULL, NULL), 0);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.learned, 0);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_ageing)
{
    struct fdb *fdb = make_fdb("t_age", 64, NULL);
    struct rte_ether_addr a = mac_n(10), b = mac_n(11), c = mac_n(12);

    fdb_learn(fdb, &a, 0, 1, 1000);
    fdb_learn(fdb, &b, 0, 2, 200000);
    fdb_learn(fdb, &c, 0, 3, 1000);
    fdb_learn(fdb, &c, 0, 3, 250000);               /* Refreshed. */

    ck_assert_int_eq(fdb_age(fdb, 1000), 0);
    ck_assert_int_eq(fdb_age(fdb, 1000 + AGEING_MS), 0);   /* Not "longer". */
    ck_assert_int_eq(fdb_age(fdb, 1000 + AGEING_MS + 1), 1);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), 2);
    ck_assert_int_eq(fdb_lookup(fdb, &c, 0), 3);

    ck_assert_int_eq(fdb_age(fdb, 600000), 2);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &c, 0), -ENOENT);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.aged, 3);
    ck_assert_uint_eq(st.learned, 3);

    /* The slot of an aged entry is reused without its old timestamp. */
    fdb_learn(fdb, &a, 0, 4, 700000);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), 4);
    ck_assert_uint_eq(age_of(fdb, &a, 0, 700100), 100);
    ck_assert_int_eq(fdb_age(fdb, 700100), 0);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_flush)
{
    struct fdb *fdb = make_fdb("t_flush", 64, NULL);

    for (uint32_t i = 0; i < 40; i++) {
        struct rte_ether_addr m = mac_n(i + 100);
        fdb_learn(fdb, &m, (uint16_t) (i % 3), (uint16_t) i, 1000);
    }
    ck_assert_uint_eq(stats(fdb).entries, 40);
    ck_assert_int_eq(fdb_flush(fdb), 40);
    for (uint32_t i = 0; i < 40; i++) {
        struct rte_ether_addr m = mac_n(i + 100);
        ck_assert_int_eq(fdb_lookup(fdb, &m, (uint16_t) (i % 3)), -ENOENT);
    }
    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.flushed, 40);
    ck_assert_int_eq(fdb_dump(fdb, 1000, NULL, NULL), 0);
    ck_assert_int_eq(fdb_flush(fdb), 0);

    /* Learning works again afterwards. */
    struct rte_ether_addr m = mac_n(100);
    fdb_learn(fdb, &m, 0, 9, 2000);
    ck_assert_int_eq(fdb_lookup(fdb, &m, 0), 9);
    ck_assert_uint_eq(stats(fdb).entries, 1);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_flush_port)
{
    struct fdb *fdb = make_fdb("t_flushp", 64, NULL);
    struct rte_ether_addr a = mac_n(1), b = mac_n(2), c = mac_n(3);

    fdb_learn(fdb, &a, 0, 1, 1000);
    fdb_learn(fdb, &b, 0, 2, 1000);
    fdb_learn(fdb, &c, 7, 1, 1000);
    ck_assert_int_eq(fdb_flush_port(fdb, 3), 0);
    ck_assert_int_eq(fdb_flush_port(fdb, 1), 2);
    ck_assert_int_eq(fdb_lookup(fdb, &a, 0), -ENOENT);
    ck_assert_int_eq(fdb_lookup(fdb, &b, 0), 2);
    ck_assert_int_eq(fdb_lookup(fdb, &c, 7), -ENOENT);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.flushed, 2);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_dump)
{
    struct fdb *fdb = make_fdb("t_dump", 64, NULL);
    struct rte_ether_addr a = mac_n(21), b = mac_n(22), c = mac_n(23);

    fdb_learn(fdb, &a, 0, 1, 1000);
    fdb_learn(fdb, &b, 100, 2, 2000);
    fdb_learn(fdb, &c, 4095, 3, 3000);

    struct dump_ctx ctx = { .n = 0 };
    ck_assert_int_eq(fdb_dump(fdb, 5000, dump_collect, &ctx), 3);
    ck_assert_int_eq(ctx.n, 3);

    const struct fdb_entry_info *e = dump_find(&ctx, &a, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->port_no, 1);
    ck_assert_uint_eq(e->age_ms, 4000);
    e = dump_find(&ctx, &b, 100);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->port_no, 2);
    ck_assert_uint_eq(e->age_ms, 3000);
    e = dump_find(&ctx, &c, 4095);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->port_no, 3);
    ck_assert_uint_eq(e->age_ms, 2000);

    /* A "now" before the timestamps gives age 0, not a huge number. */
    ctx.n = 0;
    fdb_dump(fdb, 0, dump_collect, &ctx);
    for (int i = 0; i < ctx.n; i++) {
        ck_assert_uint_eq(ctx.e[i].age_ms, 0);
    }
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_bound)
{
    struct fdb *fdb = make_fdb("t_bound", 8, NULL);

    for (uint32_t i = 0; i < 8; i++) {
        struct rte_ether_addr m = mac_n(i);
        fdb_learn(fdb, &m, 0, (uint16_t) i, 1000);
    }
    struct rte_ether_addr ninth = mac_n(8);
    fdb_learn(fdb, &ninth, 0, 8, 1000);
    ck_assert_int_eq(fdb_lookup(fdb, &ninth, 0), -ENOENT);

    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 8);
    ck_assert_uint_eq(st.learned, 8);
    ck_assert_uint_eq(st.full, 1);
    for (uint32_t i = 0; i < 8; i++) {
        struct rte_ether_addr m = mac_n(i);
        ck_assert_int_eq(fdb_lookup(fdb, &m, 0), (int) i);
    }
    ck_assert_int_eq(fdb_dump(fdb, 1000, NULL, NULL), 8);

    /* A full table still follows moves. */
    struct rte_ether_addr m0 = mac_n(0);
    fdb_learn(fdb, &m0, 0, 42, 1100);
    ck_assert_int_eq(fdb_lookup(fdb, &m0, 0), 42);
    ck_assert_uint_eq(stats(fdb).moved, 1);
    ck_assert_uint_eq(stats(fdb).full, 1);

    /* Room again after a removal. */
    ck_assert_int_eq(fdb_flush_port(fdb, 42), 1);
    fdb_learn(fdb, &ninth, 0, 8, 1200);
    ck_assert_int_eq(fdb_lookup(fdb, &ninth, 0), 8);
    ck_assert_uint_eq(stats(fdb).entries, 8);
    fdb_destroy(fdb);
}
END_TEST

START_TEST(test_bound_not_power_of_two)
{
    struct fdb *fdb = make_fdb("t_bound1000", 1000, NULL);

    for (uint32_t i = 0; i < 1500; i++) {
        struct rte_ether_addr m = mac_n(i);
        fdb_learn(fdb, &m, 0, 1, 1000);
    }
    struct fdb_stats st = stats(fdb);
    ck_assert_uint_eq(st.entries, 1000);
    ck_assert_uint_eq(st.learned, 1000);
    ck_assert_uint_eq(st.full, 500);
    ck_assert_int_eq(fdb_dump(fdb, 1000, NULL, NULL), 1000);
    fdb_destroy(fdb);
}
END_TEST

/* Slots of deleted keys are recycled, with and without a QSBR: far more
 * add/delete cycles than rte_hash has slots. */
START_TEST(test_slot_recycling)
{
    size_t sz = rte_rcu_qsbr_get_memsize(1);
    struct rte_rcu_qsbr *qsbr = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
    ck_assert_ptr_nonnull(qsbr);
    ck_assert_int_eq(rte_rcu_qsbr_init(qsbr, 1), 0);

    struct fdb *plain = make_fdb("t_recycle", 8, NULL);
    struct fdb *rcu = make_fdb("t_recycle_q", 8, qsbr);
    struct fdb *fdbs[] = { plain, rcu };

    for (int f = 0; f < 2; f++) {
        for (uint32_t round = 0; round < 3000; round++) {
            for (uint32_t i = 0; i < 8; i++) {
                struct rte_ether_addr m = mac_n(round * 8 + i);
                fdb_learn(fdbs[f], &m, 0, 1, 1000);
            }
            ck_assert_int_eq(fdb_flush(fdbs[f]), 8);
        }
        struct fdb_stats st = stats(fdbs[f]);
        ck_assert_uint_eq(st.learned, 3000 * 8);
        ck_assert_uint_eq(st.full, 0);
        ck_assert_uint_eq(st.entries, 0);
    }
    fdb_destroy(plain);
    fdb_destroy(rcu);
    rte_free(qsbr);
}
END_TEST

START_TEST(test_name_collision)
{
    struct fdb *fdb = make_fdb("t_dup", 8, NULL);
    struct fdb_params p = {
        .name = "t_dup", .max_entries = 8, .ageing_ms = AGEING_MS,
        .socket_id = SOCKET_ID_ANY,
    };
    struct fdb *other = (struct fdb *) 1;

    ck_assert_int_eq(fdb_create(&p, &other), -EEXIST);
    ck_assert_ptr_null(other);
    fdb_destroy(fdb);

    /* The name is free again once destroyed. */
    ck_assert_int_eq(fdb_create(&p, &other), 0);
    fdb_destroy(other);
}
END_TEST

START_TEST(test_bad_params)
{
    struct fdb *fdb;
    struct fdb_params good = {
        .name = "t_bad", .max_entries = 8, .ageing_ms = AGEING_MS,
        .socket_id = SOCKET_ID_ANY,
    };
    struct fdb_params p;

    ck_assert_int_eq(fdb_create(NULL, &fdb), -EINVAL);
    ck_assert_int_eq(fdb_create(&good, NULL), -EINVAL);

    p = good;
    p.name = NULL;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    p.name = "";
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    p.name = "a_name_that_is_much_too_long";
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);

    p = good;
    p.max_entries = 7;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    p.max_entries = FDB_MAX_ENTRIES_LIMIT + 1;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);

    p = good;
    p.ageing_ms = 0;
    ck_assert_int_eq(fdb_create(&p, &fdb), -EINVAL);
    ck_assert_ptr_null(fdb);

    /* None of that left anything behind. */
    ck_assert_ptr_null(rte_hash_find_existing("t_bad"));
    ck_assert_int_eq(fdb_create(&good, &fdb), 0);
    fdb_destroy(fdb);
}
END_TEST

/* Concurrency smoke test: lcore 1 plays a PMD (learn + lookup, quiescent
 * every burst) while the main lcore ages, flushes and dumps. */
struct conc {
    struct fdb *fdb;
    struct rte_rcu_qsbr *qsbr;
    uint64_t now_ms;            /* Shared synthetic clock, atomic. */
    bool stop;                  /* Atomic. */
    uint64_t ops;               /* Written by the worker only. */
    uint64_t bad;               /* Lookups that returned a port never used. */
};

#define CONC_MACS  512
#define CONC_PORTS 4

static int
conc_worker(void *c_)
{
    struct conc *c = c_;
    uint32_t i = 0;

    rte_rcu_qsbr_thread_register(c->qsbr, 0);
    rte_rcu_qsbr_thread_online(c->qsbr, 0);
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = __atomic_load_n(&c->now_ms, __ATOMIC_RELAXED);
        for (int burst = 0; burst < 32; burst++, i++) {
            struct rte_ether_addr m = mac_n(i % CONC_MACS);
            uint16_t port = (uint16_t) ((i / 7) % CONC_PORTS);
            fdb_learn(c->fdb, &m, (uint16_t) (i % 2), port, now);
            struct rte_ether_addr d = mac_n((i * 31) % CONC_MACS);
            int out = fdb_lookup(c->fdb, &d, (uint16_t) (i % 2));
            if (out != -ENOENT && (out < 0 || out >= CONC_PORTS)) {
                c->bad++;
            }
        }
        c->ops += 32;
        rte_rcu_qsbr_quiescent(c->qsbr, 0);
    }
    rte_rcu_qsbr_thread_offline(c->qsbr, 0);
    rte_rcu_qsbr_thread_unregister(c->qsbr, 0);
    return 0;
}

static void
dump_count(const struct fdb_entry_info *info, void *n_)
{
    int *n = n_;
    ck_assert_uint_lt(info->port_no, CONC_PORTS);
    (*n)++;
}

START_TEST(test_concurrency)
{
    unsigned worker = rte_get_next_lcore(-1, 1, 0);
    ck_assert_uint_lt(worker, RTE_MAX_LCORE);

    struct conc c = { .now_ms = 1000 };
    size_t sz = rte_rcu_qsbr_get_memsize(1);
    c.qsbr = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
    ck_assert_ptr_nonnull(c.qsbr);
    ck_assert_int_eq(rte_rcu_qsbr_init(c.qsbr, 1), 0);
    /* Smaller than the working set, so "full" is exercised too. */
    c.fdb = make_fdb("t_conc", 256, c.qsbr);

    ck_assert_int_eq(rte_eal_remote_launch(conc_worker, &c, worker), 0);

    uint64_t removed = 0;
    for (int iter = 0; iter < 3000; iter++) {
        uint64_t now = __atomic_add_fetch(&c.now_ms, 50, __ATOMIC_RELAXED);
        int n;
        switch (iter % 4) {
        case 0:
            n = fdb_age(c.fdb, now + (iter % 8 ? 0 : AGEING_MS));
            break;
        case 1:
            n = fdb_flush_port(c.fdb, (uint16_t) (iter % CONC_PORTS));
            break;
        case 2:
            n = fdb_flush(c.fdb);
            break;
        default:
            n = 0;
            int dumped = 0;
            fdb_dump(c.fdb, now, dump_count, &dumped);
            break;
        }
        ck_assert_int_ge(n, 0);
        removed += n;
        ck_assert_uint_le(stats(c.fdb).entries, 256);
        if (iter % 64 == 0) {
            usleep(100);
        }
    }

    __atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
    ck_assert_int_eq(rte_eal_wait_lcore(worker), 0);

    ck_assert_uint_gt(c.ops, 0);
    ck_assert_uint_eq(c.bad, 0);

    /* Quiescent now: the counter matches the table exactly. */
    struct fdb_stats st = stats(c.fdb);
    int present = fdb_dump(c.fdb, c.now_ms, NULL, NULL);
    ck_assert_int_le(present, 256);
    ck_assert_uint_eq(st.entries, (uint64_t) present);
    ck_assert_uint_eq(st.aged + st.flushed, removed);
    /* Every key that went was learned first, except for a moving MAC that
     * the worker re-added to a full table (counted in 'full') and that the
     * main thread removed before the worker took it out again. */
    ck_assert_uint_le(st.learned, removed + (uint64_t) present);
    ck_assert_uint_le(removed + (uint64_t) present, st.learned + st.full);

    ck_assert_int_eq(fdb_flush(c.fdb), present);
    ck_assert_uint_eq(stats(c.fdb).entries, 0);

    /* And the table still works, up to its bound. */
    for (uint32_t i = 0; i < 300; i++) {
        struct rte_ether_addr m = mac_n(i + 100000);
        fdb_learn(c.fdb, &m, 0, 1, c.now_ms);
    }
    ck_assert_uint_eq(stats(c.fdb).entries, 256);
    ck_assert_int_eq(fdb_dump(c.fdb, c.now_ms, NULL, NULL), 256);

    fdb_destroy(c.fdb);
    rte_free(c.qsbr);
}
END_TEST

static Suite *
fdb_suite(void)
{
    Suite *s = suite_create("fdb");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_learn_lookup);
    tcase_add_test(tc, test_vlan_separation);
    tcase_add_test(tc, test_move);
    tcase_add_test(tc, test_refresh_without_write);
    tcase_add_test(tc, test_multicast_ignored);
    tcase_add_test(tc, test_bulk);
    tcase_add_test(tc, test_ageing);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_flush_port);
    tcase_add_test(tc, test_dump);
    tcase_add_test(tc, test_bound);
    tcase_add_test(tc, test_bound_not_power_of_two);
    tcase_add_test(tc, test_slot_recycling);
    tcase_add_test(tc, test_name_collision);
    tcase_add_test(tc, test_bad_params);
    tcase_add_test(tc, test_concurrency);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char *argv[])
{
    (void) argc;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "test-fdb-%ld", (long) getpid());
    char *eal_argv[] = {
        argv[0], "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
        "--no-telemetry", "--file-prefix", prefix,
        "--log-level", "lib.*:error", "-l", "0,1",
    };
    int eal_argc = (int) (sizeof eal_argv / sizeof eal_argv[0]);

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "test-fdb: rte_eal_init failed: %s\n",
                rte_strerror(rte_errno));
        return EXIT_FAILURE;
    }

    SRunner *sr = srunner_create(fdb_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    /* EAL leaves its (empty, with --no-shconf) runtime directory behind. */
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
