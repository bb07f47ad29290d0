/* fdb - per-bridge L2 forwarding database: (MAC, VLAN) -> port number.
 *
 * Built on rte_hash in lock-free read/write-concurrency mode
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | MULTI_WRITER_ADD); deleted keys'
 * slots are recycled through an rte_rcu_qsbr defer queue on the datapath's
 * QSBR variable (see fdb.c for why not rte_hash_rcu_qsbr_add()), so:
 *   - fdb_lookup() and fdb_learn() are called by PMD threads (any number,
 *     concurrently), never block and never allocate;
 *   - every other function is for the main thread.
 * fdb_learn() writes only when something changes (new entry, port move, or
 * the entry's timestamp older than 1 s), as in Linux net/bridge br_fdb.c.
 * Entries are bounded by 'max_entries'; when full, new MACs are not learned
 * (counted in 'full') and traffic to them floods. */
#ifndef VSWITCH_FDB_H
#define VSWITCH_FDB_H 1

#include <stdint.h>
#include <string.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

#define FDB_DEFAULT_MAX_ENTRIES 8192
#define FDB_DEFAULT_AGEING_MS   (300 * 1000)
#define FDB_NAME_MAX            16      /* Name length limit, with the NUL. */
/* Largest mac-table-size.  With the rte_hash sized for twice the entries,
 * it and the slot array cost about 96 bytes per entry, measured with
 * rte_malloc_get_socket_stats(): 8192 entries 1 MiB, 1 M entries 96 MiB,
 * 4 M entries 384 MiB.  Sized for 1.25 times (fdb.c), the same parts add
 * up to about 66 bytes per entry (buckets rounded to a power of two).  The
 * old limit (16 M) meant 1.5 GiB per bridge. */
#define FDB_MAX_ENTRIES_LIMIT   (1u << 20)
#define FDB_REFRESH_MS          1000    /* fdb_learn() rewrites a timestamp
                                         * at most this often. */

struct fdb;

/* Hash key of an entry, built by fdb_key_init() (in the hot path too, so
 * it is here).  16 bytes, so that rte_hash compares keys with its vector
 * compare (rte_hash_k16_cmp_eq) instead of memcmp(); the hash covers only
 * the first 8 bytes, the rest is zero. */
struct fdb_key {
    struct rte_ether_addr mac;
    uint16_t vlan;
    uint64_t zero;
};
_Static_assert(sizeof(struct fdb_key) == 16, "fdb_key must have no padding");
_Static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "fdb_key_init_word");

static inline void
fdb_key_init(struct fdb_key *key, const struct rte_ether_addr *mac, uint16_t vlan)
{
    memcpy(&key->mac, mac, sizeof *mac);
    key->vlan = vlan;
    key->zero = 0;
}

/* Fills 'key' from 'w', the 6 bytes of a MAC (in memory order) in the low
 * 48 bits of a little-endian word, whatever is above, and 'vlan': what
 * the hot path has after one 8-byte load of a header. */
static inline void
fdb_key_init_word(struct fdb_key *key, uint64_t w, uint16_t vlan)
{
    w = (w & UINT64_C(0x0000ffffffffffff)) | ((uint64_t) vlan << 48);
    memcpy(key, &w, sizeof w);
    key->zero = 0;
}

/* The key's hash, as the FDB's rte_hash computes it: one CRC32C
 * instruction.  Hot path callers compute it once per packet and pass it to
 * the bulk functions below. */
static inline uint32_t
fdb_hash(const struct fdb_key *key)
{
    uint64_t w;
    memcpy(&w, key, sizeof w);
    return rte_hash_crc_8byte(w, 0);
}

struct fdb_params {
    const char *name;            /* Unique among live FDBs (rte_hash name),
                                  * 1 to FDB_NAME_MAX - 1 characters. */
    uint32_t max_entries;        /* 8 to FDB_MAX_ENTRIES_LIMIT. */
    uint64_t ageing_ms;          /* Entries idle longer than this age out
                                  * (> 0). */
    struct rte_rcu_qsbr *qsbr;   /* Readers' QSBR variable; may be NULL for
                                  * single-threaded use (unit tests). */
    int socket_id;
};

struct fdb_stats {
    uint64_t entries;   /* Current number of entries. */
    uint64_t learned;   /* New entries added. */
    uint64_t moved;     /* Entries whose port changed (MAC moves). */
    uint64_t aged;      /* Entries removed by fdb_age(). */
    uint64_t flushed;   /* Entries removed by fdb_flush*(). */
    uint64_t full;      /* Learning attempts refused because the table is full. */
};

/* Creates an FDB.  Returns 0 and *fdb, or a negative errno (-EINVAL bad
 * params, -ENOMEM, -EEXIST name in use). */
int fdb_create(const struct fdb_params *, struct fdb **fdb);
/* Frees 'fdb' (NULL is a no-op).  No PMD may still use it: callers unpublish
 * it and wait for an RCU grace period first.  With a QSBR it waits for one
 * more grace period, so it must not be called by a thread that is an online
 * reader of that QSBR. */
void fdb_destroy(struct fdb *);

/* Hot path.  Returns the port number for (mac, vlan), or -ENOENT. */
int fdb_lookup(const struct fdb *, const struct rte_ether_addr *mac,
               uint16_t vlan);

/* Hot path.  Records that 'mac' on 'vlan' was seen on 'port_no' at 'now_ms'
 * (a monotonic millisecond clock).  Adds, moves (counted) or refreshes the
 * entry.  Multicast/broadcast (and all-zero) source MACs are ignored. */
void fdb_learn(struct fdb *, const struct rte_ether_addr *mac, uint16_t vlan,
               uint16_t port_no, uint64_t now_ms);

/* Hot path, bulk forms (up to 64 keys, RTE_HASH_LOOKUP_BULK_MAX): 'sigs[i]'
 * is fdb_hash(keys[i]).  fdb_lookup_bulk() stores in ports[i] the port
 * number of keys[i] or -ENOENT.  fdb_learn_bulk() learns every key on
 * 'port_no' as fdb_learn() does (invalid source MACs are skipped), but
 * first looks all of them up at once and writes nothing for entries that
 * are already right and were refreshed less than FDB_REFRESH_MS ago. */
void fdb_lookup_bulk(const struct fdb *, const struct fdb_key **keys,
                     uint32_t *sigs, unsigned n, int *ports);
void fdb_learn_bulk(struct fdb *, const struct fdb_key **keys,
                    uint32_t *sigs, unsigned n, uint16_t port_no, uint64_t now_ms);

/* fdb_learn(), fdb_age(), fdb_flush() and fdb_flush_port() must run on an
 * EAL lcore or a thread registered with rte_thread_register(): rte_hash's
 * multi-writer mode keeps per-lcore caches of free slots, indexed by
 * rte_lcore_id().  fdb_learn() silently does nothing elsewhere; the others
 * return -EPERM. */

/* Removes entries idle for longer than the ageing time.  Returns how many. */
int fdb_age(struct fdb *, uint64_t now_ms);

/* Removes every entry.  Returns how many. */
int fdb_flush(struct fdb *);

/* Removes every entry that points to 'port_no'.  Returns how many. */
int fdb_flush_port(struct fdb *, uint16_t port_no);

struct fdb_entry_info {
    struct rte_ether_addr mac;
    uint16_t vlan;
    uint16_t port_no;
    uint64_t age_ms;    /* now_ms - last seen. */
};

typedef void fdb_dump_cb(const struct fdb_entry_info *, void *aux);

/* Calls 'cb' for every entry, in unspecified order. Returns the count. */
int fdb_dump(const struct fdb *, uint64_t now_ms, fdb_dump_cb *cb, void *aux);

void fdb_get_stats(const struct fdb *, struct fdb_stats *);

#endif
