/* vhost-tx-probe - LD_PRELOAD library for the system tests: watches which
 * threads call rte_vhost_enqueue_burst() on each vring, and whether two of
 * them are ever inside it for the same vring at the same time.
 *
 * DESIGN.md section 2: several PMDs transmitting on one queue must take a
 * lock of ours on that queue, never rely on librte_vhost's internal locking.
 * librte_vhost 22.11 does serialise enqueues itself, so missing locking
 * changes nothing a frontend can see; this probe makes it visible.  Each
 * call waits inside, before calling the real function, until another thread
 * walks in (an overlap) or HOLD_NS have passed.  A PMD with a backlog for
 * the vring is then inside nearly all the time, so a second PMD that the
 * switch does not serialise is caught on its first calls rather than by
 * timing luck, even when the two PMDs share their CPUs with frontends.
 *
 * The counters live in a file the test creates (zero-filled, sizeof(struct
 * probe_map) bytes) and names in $VSTEST_VHOST_PROBE; the probe maps it
 * shared, so the test reads the counters while the daemon runs, and the
 * hot path makes no system call (clock_gettime is a vDSO call).  Without
 * that variable, or if the file cannot be mapped, the probe only forwards.
 *
 * Layout (all little-endian uint64, read by test_datapath_bugs.py):
 *   magic, n_threads, then slot[PROBE_MAX_VID][PROBE_MAX_VRING] of
 *   { calls, overlaps, inflight, 0, by_thread[PROBE_MAX_THREADS] }. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_pause.h>
#include <rte_vhost.h>

#define PROBE_MAGIC      0x31626f7270786876ULL     /* "vhxprob1" */
#define PROBE_MAX_VID    64
#define PROBE_MAX_VRING  16
#define PROBE_MAX_THREADS 8
#define HOLD_NS          20000000                   /* 20 ms */

struct probe_slot {
    uint64_t calls;          /* rte_vhost_enqueue_burst() calls. */
    uint64_t overlaps;       /* Calls entered while another was inside. */
    uint64_t inflight;       /* Threads inside right now. */
    uint64_t pad;
    uint64_t by_thread[PROBE_MAX_THREADS];  /* Calls by thread i (numbered
                                             * in order of first call). */
};

struct probe_map {
    uint64_t magic;
    uint64_t n_threads;
    struct probe_slot slot[PROBE_MAX_VID][PROBE_MAX_VRING];
};

typedef uint16_t enqueue_fn(int vid, uint16_t queue_id, struct rte_mbuf **pkts,
                            uint16_t count);

static enqueue_fn *real_enqueue;
static struct probe_map *map;
static __thread int thread_idx = -1;

__attribute__((constructor)) static void
probe_init(void)
{
    real_enqueue = (enqueue_fn *) dlsym(RTLD_NEXT, "rte_vhost_enqueue_burst");

    const char *path = getenv("VSTEST_VHOST_PROBE");
    if (!path) {
        return;
    }
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        return;
    }
    void *p = mmap(NULL, sizeof *map, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        return;
    }
    map = p;
    __atomic_store_n(&map->magic, PROBE_MAGIC, __ATOMIC_RELEASE);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint16_t
rte_vhost_enqueue_burst(int vid, uint16_t queue_id, struct rte_mbuf **pkts,
                        uint16_t count)
{
    if (!real_enqueue) {
        abort();
    }
    if (!map || vid < 0 || vid >= PROBE_MAX_VID || queue_id >= PROBE_MAX_VRING) {
        return real_enqueue(vid, queue_id, pkts, count);
    }

    struct probe_slot *s = &map->slot[vid][queue_id];
    if (thread_idx < 0) {
        thread_idx = (int) (__atomic_fetch_add(&map->n_threads, 1, __ATOMIC_RELAXED)
                            % PROBE_MAX_THREADS);
    }
    __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->by_thread[thread_idx], 1, __ATOMIC_RELAXED);
    if (__atomic_fetch_add(&s->inflight, 1, __ATOMIC_SEQ_CST) > 0) {
        __atomic_fetch_add(&s->overlaps, 1, __ATOMIC_RELAXED);
    }
    /* Hold the vring for a while, or until someone else walks in. */
    uint64_t until = now_ns() + HOLD_NS;
    while (__atomic_load_n(&s->inflight, __ATOMIC_SEQ_CST) < 2 && now_ns() < until) {
        rte_pause();
    }
    uint16_t n = real_enqueue(vid, queue_id, pkts, count);
    __atomic_fetch_sub(&s->inflight, 1, __ATOMIC_SEQ_CST);
    return n;
}
