/* fdb - per-bridge L2 forwarding database, (MAC, VLAN) -> port number, on top
 * of DPDK's rte_hash.  See fdb.h for the contract: datapath.c creates one per
 * bridge and ages/flushes/dumps it from the main thread; pmd.c calls
 * fdb_lookup() and fdb_learn() from any number of PMD threads at once.
 *
 * The table is an rte_hash in lock-free read/write mode with multi-writer
 * add (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | MULTI_WRITER_ADD).  Lookups
 * take no lock.  Adds, updates and deletes take rte_hash's internal writer
 * lock, which is the only lock on the hot path and is taken only when the
 * table changes (new MAC, MAC move).  When the datapath gives us its QSBR
 * variable, a deleted key's position is recycled only after every PMD has
 * gone through a quiescent state (see "Recycling positions").
 *
 * Publication of entry data.  A key's position (the index rte_hash returns)
 * is reused after the key is deleted, so a parallel array indexed by position
 * and written after rte_hash_add_key() returns would let a concurrent reader
 * find the new key and read the previous occupant's port.  Instead the port
 * lives in rte_hash's per-key data word itself, used as a value and not as a
 * pointer: bits 0-15 hold the port number and bits 16-63 the time (ms) the
 * entry was created or last moved, its 'stamp'.  rte_hash stores that word
 * before the release-store that makes a new key visible, updates it with a
 * release store, and lock-free readers load it with acquire after matching
 * the key; so whoever finds a key reads the port written with it.
 *
 * Refresh without writing to rte_hash.  The parallel array 'slots', indexed
 * by position, holds the last time a known (MAC, VLAN) was seen on its port,
 * updated with a relaxed atomic store at most every FDB_REFRESH_MS, as Linux
 * br_fdb.c does.  An entry's last-seen time is max(stamp, slot.last_seen_ms).
 * The slot is reset to 0 when its position is recycled (see below), so a new
 * key never inherits its predecessor's time.
 *
 * Recycling positions.  In lock-free mode rte_hash does not recycle a deleted
 * key's position by itself (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF implies
 * NO_FREE_ON_DEL): we delete the key, then hand its position back with
 * rte_hash_free_key_with_position().  With a QSBR variable, the position goes
 * through our own defer queue (rte_rcu_qsbr_dq) on that variable and is
 * handed back only after every PMD has reported a quiescent state, i.e. when
 * no PMD can still be looking at the old key or its slot.  We do not use
 * rte_hash's integrated defer queue (rte_hash_rcu_qsbr_add(),
 * RTE_HASH_QSBR_MODE_DQ), which does the same thing internally, because its
 * callback receives only the key's data word, not its position, and we must
 * reset the per-position slot at exactly that moment (see next paragraph).
 * Without a QSBR (single-threaded use) positions are handed back at once.
 *
 * Bounding the size.  In multi-writer mode rte_hash keeps per-lcore caches
 * of free slots and has more slots than 'entries'; we give it 1.25 times
 * 'max_entries' so that cuckoo insertion does not fail early (filled to
 * the bound at the worst rounding, 80 % of the buckets' slots, no add was
 * refused: bench-pmd --flows 104857), yet the buckets of 200,000 MACs fit
 * in 2 MiB (twice the entries measured 2.46 L2 misses per packet at
 * 100,000 flows, 1.25 times 1.89, and 5-10 % fewer cycles).  The bound is
 * ours: 'n_entries' counts reservations.  A writer reserves one (refused and
 * counted 'full' at max_entries) before adding a key, and keeps it only if
 * it created the key.  rte_hash does not tell whether an add created or
 * updated a key, and two PMDs may add the same new MAC at once, so each slot
 * has a 'state': FREE, COUNTED or DYING.  After adding, the writer looks the
 * key up and compare-and-swaps its slot from FREE to COUNTED; only the
 * winner keeps its reservation.  A deleter swaps the state to DYING (giving
 * the reservation back if it was COUNTED), deletes the key and defers the
 * position; a writer that finds DYING lets its reservation go.  The state
 * returns to FREE only when the position is recycled, after the grace
 * period, so no writer can see a stale state.  Hence n_entries equals the
 * number of keys plus reservations in flight, and never exceeds max_entries
 * for long (a reservation refused at the bound is returned at once;
 * fdb_get_stats() clamps).
 *
 * Threads.  rte_hash's multi-writer add and its slot recycling index the
 * per-lcore caches with rte_lcore_id(), so every writer (PMDs via
 * fdb_learn(), the main thread via age/flush) must be an EAL lcore or a
 * registered thread.  Iterations (age, flush, dump) run on the main thread
 * while PMDs may add keys: rte_hash_iterate() may then miss or repeat a key
 * that a concurrent cuckoo displacement moves, which only delays its ageing
 * or repeats it in a dump. */
#include "datapath/fdb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

/* rte_hash's hash function: the same as fdb_hash() (fdb.h), which the hot
 * path computes inline and passes to the *_with_hash functions.  'len' is
 * always sizeof(struct fdb_key). */
static uint32_t
fdb_hash_func(const void *key, uint32_t len __rte_unused, uint32_t init __rte_unused)
{
    return fdb_hash(key);
}

/* Slot states, see "Bounding the size" above. */
enum {
    FDB_SLOT_FREE,      /* Just recycled, or its key is not counted yet. */
    FDB_SLOT_COUNTED,   /* Its key holds one reservation of n_entries. */
    FDB_SLOT_DYING,     /* Its key is being deleted. */
};

/* Per-position state, beside rte_hash's key store.  Accessed atomically.
 * 'port_hint' is 1 + the port the key was last written with by fdb_write(),
 * 0 when recycled: fdb_learn_bulk() compares it with the learning port to
 * skip the data lookup; it is a hint only (two PMDs moving one MAC at once
 * may leave it off), checked against the hash data at each refresh, so it
 * is at most FDB_REFRESH_MS stale. */
struct fdb_slot {
    uint64_t last_seen_ms;      /* Last refresh; 0 when recycled. */
    uint32_t state;             /* FDB_SLOT_*. */
    uint32_t port_hint;         /* 1 + port number, or 0. */
};

struct fdb {
    /* Read-mostly after fdb_create(). */
    struct rte_hash *h;
    struct fdb_slot *slots;     /* rte_hash_max_key_id() of them. */
    uint32_t n_slots;
    uint32_t max_entries;
    uint64_t ageing_ms;
    struct rte_rcu_qsbr *qsbr;
    struct rte_rcu_qsbr_dq *dq; /* Deleted positions; NULL without qsbr. */
    bool destroying;            /* fdb_destroy() is emptying 'dq'. */
    char name[FDB_NAME_MAX];

    /* Written by PMD threads: on their own cache line. */
    struct {
        uint64_t n_entries;     /* Reservations, see top of file. */
        uint64_t learned;
        uint64_t moved;
        uint64_t full;
        uint64_t aged;
        uint64_t flushed;
    } c __rte_cache_aligned;
};

#define FDB_STAMP_BITS 48
#define FDB_STAMP_MASK ((UINT64_C(1) << FDB_STAMP_BITS) - 1)

/* Entries removed per pass of fdb_remove_matching(). */
#define FDB_BATCH 64

/* Positions recycled per defer-queue enqueue. */
#define FDB_DQ_RECLAIM 32

static inline void *
fdb_data_encode(uint16_t port_no, uint64_t stamp_ms)
{
    return (void *) (uintptr_t) (((stamp_ms & FDB_STAMP_MASK) << 16)
                                 | port_no);
}

static inline uint16_t
fdb_data_port(const void *data)
{
    return (uint16_t) (uintptr_t) data;
}

static inline uint64_t
fdb_data_stamp(const void *data)
{
    return (uint64_t) (uintptr_t) data >> 16;
}

/* Returns the last time the entry at 'pos' with hash data 'data' was seen. */
static inline uint64_t
fdb_last_seen(const struct fdb *fdb, int32_t pos, const void *data)
{
    uint64_t seen = __atomic_load_n(&fdb->slots[pos].last_seen_ms,
                                    __ATOMIC_RELAXED);
    return RTE_MAX(seen, fdb_data_stamp(data));
}

static inline void
fdb_count(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void
fdb_unreserve(struct fdb *fdb)
{
    __atomic_fetch_sub(&fdb->c.n_entries, 1, __ATOMIC_RELAXED);
}

static inline bool
fdb_on_lcore(void)
{
    return rte_lcore_id() < RTE_MAX_LCORE;
}

/* Hands position 'pos' back to rte_hash after resetting its slot.  Called
 * when no reader can see the old key any more: directly without a QSBR, or
 * from the defer queue after a grace period (then 'fdb_' is the fdb, 'e'
 * points to the position and n == 1). */
static void
fdb_recycle(void *fdb_, void *e, unsigned int n)
{
    struct fdb *fdb = fdb_;
    const uint32_t *pos = e;

    for (unsigned int i = 0; i < n; i++) {
        struct fdb_slot *slot = &fdb->slots[pos[i]];
        __atomic_store_n(&slot->last_seen_ms, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->port_hint, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->state, FDB_SLOT_FREE, __ATOMIC_RELEASE);
        if (!fdb->destroying) {
            rte_hash_free_key_with_position(fdb->h, (int32_t) pos[i]);
        }
    }
}

/* Deletes 'key', found at position 'pos', unless someone else is already
 * deleting it.  Gives back the key's reservation if it held one.  Returns
 * true if this call deleted the key. */
static bool
fdb_kill(struct fdb *fdb, const struct fdb_key *key, hash_sig_t sig,
         int32_t pos)
{
    uint32_t old = __atomic_exchange_n(&fdb->slots[pos].state, FDB_SLOT_DYING,
                                       __ATOMIC_ACQ_REL);
    if (old == FDB_SLOT_DYING) {
        return false;
    }
    if (old == FDB_SLOT_COUNTED) {
        fdb_unreserve(fdb);
    }

    int32_t del = rte_hash_del_key_with_hash(fdb->h, key, sig);
    if (del < 0) {
        return false;                   /* Cannot happen: we own 'pos'. */
    }
    uint32_t p = (uint32_t) del;
    if (!fdb->dq) {
        fdb_recycle(fdb, &p, 1);
    } else {
        /* Cannot fail: the queue has room for every position.  If it did,
         * leaking the position would be the only safe choice. */
        (void) rte_rcu_qsbr_dq_enqueue(fdb->dq, &p);
    }
    return true;
}

/* Slow part of fdb_learn(): adds 'key' -> 'port_no', or changes the port of
 * an existing key if 'move'.  See "Bounding the size" at the top. */
static void __rte_noinline
fdb_write(struct fdb *fdb, const struct fdb_key *key, hash_sig_t sig,
          uint16_t port_no, uint64_t now_ms, bool move)
{
    if (unlikely(!fdb_on_lcore())) {
        return;
    }

    /* A move of an existing key does not grow the table, so it may not be
     * refused; 'over' remembers that we reserved beyond the bound. */
    uint64_t old = __atomic_fetch_add(&fdb->c.n_entries, 1, __ATOMIC_RELAXED);
    bool over = old >= fdb->max_entries;
    if (over && !move) {
        fdb_unreserve(fdb);
        fdb_count(&fdb->c.full, 1);
        return;
    }

    int err = rte_hash_add_key_with_hash_data(fdb->h, key, sig,
                                              fdb_data_encode(port_no, now_ms));
    if (err) {
        fdb_unreserve(fdb);
        if (err == -ENOSPC) {
            fdb_count(&fdb->c.full, 1);
        }
        return;
    }

    int32_t pos = rte_hash_lookup_with_hash(fdb->h, key, sig);
    if (pos < 0) {
        fdb_unreserve(fdb);             /* Deleted meanwhile. */
        return;
    }
    /* Hints for fdb_learn_bulk(): we hold 'pos' until a grace period
     * after a delete, so these cannot land on another key's slot. */
    __atomic_store_n(&fdb->slots[pos].port_hint, (uint32_t) port_no + 1,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&fdb->slots[pos].last_seen_ms, now_ms, __ATOMIC_RELAXED);

    uint32_t state = FDB_SLOT_FREE;
    if (!__atomic_compare_exchange_n(&fdb->slots[pos].state, &state,
                                     FDB_SLOT_COUNTED, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* COUNTED: we updated a key someone had added (a move, or another
         * PMD learning the same new MAC).  DYING: it is being deleted. */
        fdb_unreserve(fdb);
        if (move && state == FDB_SLOT_COUNTED) {
            fdb_count(&fdb->c.moved, 1);
        }
        return;
    }

    /* We created the key.  If it is a moving MAC that was deleted under us
     * while the table is full, take it out again. */
    if (unlikely(over)) {
        fdb_kill(fdb, key, sig, pos);
        fdb_count(&fdb->c.full, 1);
        return;
    }
    fdb_count(&fdb->c.learned, 1);
}

int
fdb_create(const struct fdb_params *params, struct fdb **fdbp)
{
    if (!fdbp) {
        return -EINVAL;
    }
    *fdbp = NULL;
    if (!params || !params->name) {
        return -EINVAL;
    }
    size_t len = strnlen(params->name, FDB_NAME_MAX);
    if (len == 0 || len >= FDB_NAME_MAX
        || params->max_entries < 8
        || params->max_entries > FDB_MAX_ENTRIES_LIMIT
        || params->ageing_ms == 0) {
        return -EINVAL;
    }
    if (rte_hash_find_existing(params->name)) {
        return -EEXIST;
    }

    struct fdb *fdb = rte_zmalloc_socket("fdb", sizeof *fdb,
                                         RTE_CACHE_LINE_SIZE,
                                         params->socket_id);
    if (!fdb) {
        return -ENOMEM;
    }
    memcpy(fdb->name, params->name, len + 1);
    fdb->max_entries = params->max_entries;
    fdb->ageing_ms = params->ageing_ms;
    fdb->qsbr = params->qsbr;

    struct rte_hash_parameters hp = {
        .name = fdb->name,
        .entries = params->max_entries + params->max_entries / 4,
        .key_len = sizeof(struct fdb_key),
        .hash_func = fdb_hash_func,
        .hash_func_init_val = 0,
        .socket_id = params->socket_id,
        .extra_flag = (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
                       | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD),
    };
    int err;
    rte_errno = 0;
    fdb->h = rte_hash_create(&hp);
    if (!fdb->h) {
        err = (rte_errno == EEXIST ? -EEXIST
               : rte_errno == EINVAL ? -EINVAL
               : -ENOMEM);
        goto error;
    }

    /* Positions run from 0 to rte_hash_max_key_id() - 1. */
    int32_t max_id = rte_hash_max_key_id(fdb->h);
    if (max_id <= 0) {
        err = -EINVAL;
        goto error;
    }
    fdb->n_slots = max_id;
    fdb->slots = rte_zmalloc_socket("fdb_slots",
                                    sizeof *fdb->slots * fdb->n_slots,
                                    RTE_CACHE_LINE_SIZE, params->socket_id);
    if (!fdb->slots) {
        err = -ENOMEM;
        goto error;
    }

    if (params->qsbr) {
        char dq_name[RTE_RCU_QSBR_DQ_NAMESIZE];
        snprintf(dq_name, sizeof dq_name, "FDB_%s", fdb->name);
        struct rte_rcu_qsbr_dq_parameters dqp = {
            .name = dq_name,
            .size = fdb->n_slots,       /* Never full. */
            .esize = sizeof(uint32_t),
            .trigger_reclaim_limit = 0,
            .max_reclaim_size = FDB_DQ_RECLAIM,
            .free_fn = fdb_recycle,
            .p = fdb,
            .v = params->qsbr,
        };
        rte_errno = 0;
        fdb->dq = rte_rcu_qsbr_dq_create(&dqp);
        if (!fdb->dq) {
            err = (rte_errno == EEXIST ? -EEXIST
                   : rte_errno == EINVAL ? -EINVAL
                   : -ENOMEM);
            goto error;
        }
    }

    *fdbp = fdb;
    return 0;

error:
    rte_hash_free(fdb->h);
    rte_free(fdb->slots);
    rte_free(fdb);
    return err;
}

void
fdb_destroy(struct fdb *fdb)
{
    if (!fdb) {
        return;
    }
    if (fdb->dq) {
        /* No PMD uses this FDB any more, so this returns quickly; then every
         * deferred position has had its grace period and the queue can go. */
        rte_rcu_qsbr_synchronize(fdb->qsbr, RTE_QSBR_THRID_INVALID);
        /* rte_hash goes too: do not hand positions back to it, which would
         * need an lcore id and is pointless. */
        fdb->destroying = true;
        rte_rcu_qsbr_dq_delete(fdb->dq);
    }
    rte_hash_free(fdb->h);
    rte_free(fdb->slots);
    rte_free(fdb);
}

int
fdb_lookup(const struct fdb *fdb, const struct rte_ether_addr *mac,
           uint16_t vlan)
{
    struct fdb_key key;
    void *data;

    fdb_key_init(&key, mac, vlan);
    if (rte_hash_lookup_with_hash_data(fdb->h, &key, fdb_hash(&key), &data) < 0) {
        return -ENOENT;
    }
    return fdb_data_port(data);
}

void
fdb_lookup_bulk(const struct fdb *fdb, const struct fdb_key **keys,
                uint32_t *sigs, unsigned n, int *ports)
{
    void *data[RTE_HASH_LOOKUP_BULK_MAX];
    uint64_t hits = 0;

    if (unlikely(!n)) {
        return;
    }
    /* rte_hash prefetches the buckets and the keys of the whole batch
     * before comparing any, so the cache misses of 'n' lookups overlap. */
    rte_hash_lookup_with_hash_bulk_data(fdb->h, (const void **) keys, sigs, n,
                                        &hits, data);
    for (unsigned i = 0; i < n; i++) {
        ports[i] = (hits >> i) & 1 ? fdb_data_port(data[i]) : -ENOENT;
    }
}

/* The authoritative part of learning: looks the key up with its data,
 * refreshes a correct entry (if its last refresh is old) and repairs the
 * slot's port hint, or writes the entry. */
static void
fdb_learn_key(struct fdb *fdb, const struct fdb_key *key, hash_sig_t sig,
              uint16_t port_no, uint64_t now_ms)
{
    void *data;
    int32_t pos = rte_hash_lookup_with_hash_data(fdb->h, key, sig, &data);

    if (likely(pos >= 0)) {
        if (likely(fdb_data_port(data) == port_no)) {
            struct fdb_slot *slot = &fdb->slots[pos];
            uint64_t last = fdb_last_seen(fdb, pos, data);
            if (unlikely(now_ms > last && now_ms - last >= FDB_REFRESH_MS)) {
                __atomic_store_n(&slot->last_seen_ms, now_ms, __ATOMIC_RELAXED);
            }
            if (unlikely(__atomic_load_n(&slot->port_hint, __ATOMIC_RELAXED)
                         != (uint32_t) port_no + 1u)) {
                __atomic_store_n(&slot->port_hint, (uint32_t) port_no + 1u,
                                 __ATOMIC_RELAXED);
            }
            return;
        }
        fdb_write(fdb, key, sig, port_no, now_ms, true);
        return;
    }
    fdb_write(fdb, key, sig, port_no, now_ms, false);
}

void
fdb_learn(struct fdb *fdb, const struct rte_ether_addr *mac, uint16_t vlan,
          uint16_t port_no, uint64_t now_ms)
{
    if (unlikely(!rte_is_valid_assigned_ether_addr(mac))) {
        return;                         /* Multicast, broadcast or zero. */
    }

    struct fdb_key key;
    fdb_key_init(&key, mac, vlan);
    fdb_learn_key(fdb, &key, fdb_hash(&key), port_no, now_ms);
}

void
fdb_learn_bulk(struct fdb *fdb, const struct fdb_key **keys,
               uint32_t *sigs, unsigned n, uint16_t port_no, uint64_t now_ms)
{
    int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
    const uint32_t hint = (uint32_t) port_no + 1u;

    if (unlikely(!n)) {
        return;
    }
    rte_hash_lookup_with_hash_bulk(fdb->h, (const void **) keys, sigs, n, pos);
    for (unsigned i = 0; i < n; i++) {
        if (pos[i] >= 0) {
            rte_prefetch0(&fdb->slots[pos[i]]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        const struct fdb_key *key = keys[i];
        if (unlikely(!rte_is_valid_assigned_ether_addr(&key->mac))) {
            continue;
        }
        if (likely(pos[i] >= 0)) {
            /* Known on this port and refreshed less than FDB_REFRESH_MS
             * ago: nothing to write, as in br_fdb.c. */
            const struct fdb_slot *slot = &fdb->slots[pos[i]];
            uint64_t last = __atomic_load_n(&slot->last_seen_ms, __ATOMIC_RELAXED);
            if (likely(__atomic_load_n(&slot->port_hint, __ATOMIC_RELAXED) == hint
                       && (now_ms <= last || now_ms - last < FDB_REFRESH_MS))) {
                continue;
            }
        }
        fdb_learn_key(fdb, key, sigs[i], port_no, now_ms);
    }
}

/* Selects entries for fdb_remove_matching(). */
typedef bool fdb_match_cb(const struct fdb *, int32_t pos, const void *data,
                          const void *aux);

/* Removes 'key' if it is still in the table and, when 'match' is given,
 * still matches (an entry may be refreshed between selection and removal).
 * Returns true if it removed it. */
static bool
fdb_remove(struct fdb *fdb, const struct fdb_key *key, fdb_match_cb *match,
           const void *aux)
{
    hash_sig_t sig = fdb_hash(key);
    void *data;
    int32_t pos = rte_hash_lookup_with_hash_data(fdb->h, key, sig, &data);

    if (pos < 0 || (match && !match(fdb, pos, data, aux))) {
        return false;
    }
    return fdb_kill(fdb, key, sig, pos);
}

/* Removes every entry for which 'match' (NULL: all) returns true and adds
 * the number to '*counter'.  Main thread.  Returns the number or -EPERM.
 *
 * Keys are collected in batches and removed after each batch, then the
 * iteration goes on from where it was.  That is correct because a deletion
 * only empties the bucket entry it frees and never moves other entries
 * (rte_hash moves entries on delete only with RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
 * which we do not use), so the entries not yet visited stay where the
 * iterator will find them. */
static int
fdb_remove_matching(struct fdb *fdb, fdb_match_cb *match, const void *aux,
                    uint64_t *counter)
{
    if (!fdb_on_lcore()) {
        return -EPERM;
    }
    if (fdb->dq) {
        /* Recycle what earlier removals deferred, even if nothing goes now. */
        rte_rcu_qsbr_dq_reclaim(fdb->dq, fdb->n_slots, NULL, NULL, NULL);
    }

    struct fdb_key batch[FDB_BATCH];
    uint32_t next = 0;
    int removed = 0;
    bool done = false;

    while (!done) {
        unsigned n = 0;
        while (n < FDB_BATCH) {
            const void *key;
            void *data;
            int32_t pos = rte_hash_iterate(fdb->h, &key, &data, &next);
            if (pos < 0) {
                done = true;
                break;
            }
            if (!match || match(fdb, pos, data, aux)) {
                memcpy(&batch[n++], key, sizeof batch[0]);
            }
        }
        for (unsigned i = 0; i < n; i++) {
            removed += fdb_remove(fdb, &batch[i], match, aux);
        }
    }
    fdb_count(counter, removed);
    return removed;
}

static bool
fdb_match_aged(const struct fdb *fdb, int32_t pos, const void *data,
               const void *now_ms_)
{
    uint64_t now_ms = *(const uint64_t *) now_ms_;
    uint64_t last = fdb_last_seen(fdb, pos, data);

    return now_ms > last && now_ms - last > fdb->ageing_ms;
}

int
fdb_age(struct fdb *fdb, uint64_t now_ms)
{
    return fdb_remove_matching(fdb, fdb_match_aged, &now_ms, &fdb->c.aged);
}

int
fdb_flush(struct fdb *fdb)
{
    return fdb_remove_matching(fdb, NULL, NULL, &fdb->c.flushed);
}

static bool
fdb_match_port(const struct fdb *fdb __rte_unused, int32_t pos __rte_unused,
               const void *data, const void *port_no)
{
    return fdb_data_port(data) == *(const uint16_t *) port_no;
}

int
fdb_flush_port(struct fdb *fdb, uint16_t port_no)
{
    return fdb_remove_matching(fdb, fdb_match_port, &port_no,
                               &fdb->c.flushed);
}

int
fdb_dump(const struct fdb *fdb, uint64_t now_ms, fdb_dump_cb *cb, void *aux)
{
    uint32_t next = 0;
    const void *key;
    void *data;
    int32_t pos;
    int n = 0;

    while ((pos = rte_hash_iterate(fdb->h, &key, &data, &next)) >= 0) {
        const struct fdb_key *k = key;
        uint64_t last = fdb_last_seen(fdb, pos, data);
        struct fdb_entry_info info = {
            .mac = k->mac,
            .vlan = k->vlan,
            .port_no = fdb_data_port(data),
            .age_ms = now_ms > last ? now_ms - last : 0,
        };
        if (cb) {
            cb(&info, aux);
        }
        n++;
    }
    return n;
}

void
fdb_get_stats(const struct fdb *fdb, struct fdb_stats *st)
{
    uint64_t n = __atomic_load_n(&fdb->c.n_entries, __ATOMIC_RELAXED);

    st->entries = RTE_MIN(n, (uint64_t) fdb->max_entries);
    st->learned = __atomic_load_n(&fdb->c.learned, __ATOMIC_RELAXED);
    st->moved = __atomic_load_n(&fdb->c.moved, __ATOMIC_RELAXED);
    st->full = __atomic_load_n(&fdb->c.full, __ATOMIC_RELAXED);
    st->aged = __atomic_load_n(&fdb->c.aged, __ATOMIC_RELAXED);
    st->flushed = __atomic_load_n(&fdb->c.flushed, __ATOMIC_RELAXED);
}
