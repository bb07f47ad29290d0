/* capture - packet capture, datapath side.  See capture.h.
 *
 * The hot-path functions (capture_rx__, capture_tx_copy__,
 * capture_tx_sent__) run on PMD threads, only for a port with a capture:
 * no malloc, no syscalls, no locks, no logging; they write only their own
 * PMD's counters, the shared count budget (atomics) and the ring
 * (multi-producer).  Everything else is for the main thread. */
#include "datapath/capture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "datapath/datapath.h"

/* The largest frame the switch forwards (MTU 9000, two tags, FCS room):
 * copy mbufs are sized for it, or for the snap length if smaller.  A larger
 * received frame is copied into a chain. */
#define CAPTURE_FRAME_MAX (DP_MTU_MAX + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN \
                           + RTE_ETHER_CRC_LEN)
/* Copies: what the ring holds, plus what PMDs hold while copying and what
 * the per-lcore caches keep. */
#define CAPTURE_POOL_SIZE  (CAPTURE_RING_SIZE + 511)
#define CAPTURE_POOL_CACHE 32

/* Counters of one PMD; only that PMD writes them. */
struct capture_pmd_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t dropped_ring_full;
    uint64_t dropped_no_mbuf;
} __rte_cache_aligned;

struct capture {
    /* Constant while attached. */
    unsigned dir;
    uint32_t snaplen;
    bool limited;               /* 'count' was given. */
    uint16_t port_no;           /* Recorded in each copy (mbuf 'port'). */
    struct rte_mempool *mp;
    struct rte_ring *ring;

    /* Main thread only. */
    struct dp_port *port;       /* NULL when detached or gone. */
    bool port_gone;

    /* Timestamps: CLOCK_REALTIME 'base_ns' was TSC 'base_tsc'. */
    uint64_t base_tsc;
    uint64_t base_ns;
    uint64_t tsc_hz;

    /* Packets still to capture, if 'limited'; PMDs reserve from it. */
    int64_t budget __rte_cache_aligned;

    struct capture_pmd_stats stats[DP_MAX_PMDS];
};

int
capture_create(const struct capture_params *p, struct capture **capp)
{
    char name[RTE_MEMPOOL_NAMESIZE];
    struct capture *c;

    *capp = NULL;
    if (!(p->dir & CAPTURE_BOTH) || p->dir & ~CAPTURE_BOTH
        || !p->snaplen || p->snaplen > CAPTURE_SNAPLEN_MAX) {
        return -EINVAL;
    }
    c = rte_zmalloc("capture", sizeof *c, RTE_CACHE_LINE_SIZE);
    if (!c) {
        return -ENOMEM;
    }
    c->dir = p->dir;
    c->snaplen = p->snaplen;
    c->limited = p->count > 0;
    c->budget = p->count > INT64_MAX ? INT64_MAX : (int64_t) p->count;

    uint32_t frame = p->snaplen < CAPTURE_FRAME_MAX ? p->snaplen : CAPTURE_FRAME_MAX;
    snprintf(name, sizeof name, "capture%u", p->id);
    c->mp = rte_pktmbuf_pool_create(name, CAPTURE_POOL_SIZE, CAPTURE_POOL_CACHE, 0,
                                    (uint16_t) rte_pcapng_mbuf_size(frame),
                                    (int) rte_socket_id());
    snprintf(name, sizeof name, "capring%u", p->id);
    c->ring = rte_ring_create(name, CAPTURE_RING_SIZE, (int) rte_socket_id(),
                              RING_F_SC_DEQ);
    if (!c->mp || !c->ring) {
        capture_destroy(c);
        return -ENOMEM;
    }

    /* Our own clock for the copies' timestamps (capture_stamp()). */
    struct timespec ts;
    c->tsc_hz = rte_get_tsc_hz();
    uint64_t t0 = rte_rdtsc();
    clock_gettime(CLOCK_REALTIME, &ts);
    c->base_tsc = (t0 + rte_rdtsc()) / 2;
    c->base_ns = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;

    /* rte_pcapng sets up its own TSC-to-time conversion on its first copy:
     * make that happen here, on the main thread, not on a PMD (with a time
     * after its set-up, see capture_stamp()). */
    struct rte_mbuf *m = rte_pktmbuf_alloc(c->mp);
    if (m) {
        if (rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN)) {
            struct rte_mbuf *cp = rte_pcapng_copy(0, 0, m, c->mp, UINT32_MAX,
                                                  rte_rdtsc() + c->tsc_hz / 10,
                                                  RTE_PCAPNG_DIRECTION_UNKNOWN);
            rte_pktmbuf_free(cp);
        }
        rte_pktmbuf_free(m);
    }
    *capp = c;
    return 0;
}

void
capture_destroy(struct capture *c)
{
    if (!c) {
        return;
    }
    if (c->ring) {
        struct rte_mbuf *pkts[64];
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst(c->ring, (void **) pkts, 64, NULL))) {
            rte_pktmbuf_free_bulk(pkts, n);
        }
        rte_ring_free(c->ring);
    }
    rte_mempool_free(c->mp);
    rte_free(c);
}

int
capture_attach(struct capture *c, struct dp_port *port)
{
    if (port->capture) {
        return -EBUSY;
    }
    c->port = port;
    c->port_no = port->port_no;
    c->port_gone = false;
    __atomic_store_n(&port->capture, c, __ATOMIC_RELEASE);
    return 0;
}

void
capture_detach(struct datapath *dp, struct capture *c)
{
    if (c->port) {
        __atomic_store_n(&c->port->capture, NULL, __ATOMIC_RELEASE);
        c->port = NULL;
        datapath_synchronize(dp);
    }
}

void
capture_port_removed(struct dp_port *port)
{
    struct capture *c = port->capture;

    if (c) {
        port->capture = NULL;
        c->port = NULL;
        c->port_gone = true;
    }
}

bool
capture_port_gone(const struct capture *c)
{
    return c->port_gone;
}

struct dp_port *
capture_port(const struct capture *c)
{
    return c->port;
}

unsigned
capture_dequeue(struct capture *c, struct rte_mbuf **pkts, unsigned n)
{
    return rte_ring_sc_dequeue_burst(c->ring, (void **) pkts, n, NULL);
}

void
capture_get_stats(const struct capture *c, struct capture_stats *st)
{
    memset(st, 0, sizeof *st);
    for (unsigned i = 0; i < DP_MAX_PMDS; i++) {
        const struct capture_pmd_stats *s = &c->stats[i];
        st->packets += __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
        st->bytes += __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
        st->dropped_ring_full += __atomic_load_n(&s->dropped_ring_full,
                                                 __ATOMIC_RELAXED);
        st->dropped_no_mbuf += __atomic_load_n(&s->dropped_no_mbuf,
                                               __ATOMIC_RELAXED);
    }
}

/* Hot path. */

/* The time of TSC 'tsc' in ns since the epoch. */
static inline uint64_t
capture_ns(const struct capture *c, uint64_t tsc)
{
    uint64_t d = tsc - c->base_tsc;
    return c->base_ns + (uint64_t) ((unsigned __int128) d * 1000000000u / c->tsc_hz);
}

/* Writes time 'ns' into copy 'cp' (an Enhanced Packet Block: timestamp
 * high and low words after type, length and interface).
 *
 * DPDK 22.11's rte_pcapng_copy() converts the TSC with a shared base that
 * it moves forward from whichever thread copies, without atomics: a copy
 * whose TSC is older than the base another PMD just set (or than the base
 * its own first call sets up) moves the base by ~2^64 cycles and every
 * later timestamp is garbage (seen here: dates in the year 2251).  So the
 * timestamp is ours: a constant base per capture, no shared writes. */
static inline void
capture_stamp(struct rte_mbuf *cp, uint64_t ns)
{
    uint32_t *epb = rte_pktmbuf_mtod(cp, uint32_t *);
    epb[3] = (uint32_t) (ns >> 32);
    epb[4] = (uint32_t) ns;
}

/* Reserves up to 'n' packets of the count budget; returns how many may be
 * captured. */
static inline uint16_t
capture_reserve(struct capture *c, uint16_t n)
{
    if (!c->limited) {
        return n;
    }
    if (__atomic_load_n(&c->budget, __ATOMIC_RELAXED) <= 0) {
        return 0;               /* Used up: no shared write. */
    }
    int64_t before = __atomic_fetch_sub(&c->budget, n, __ATOMIC_RELAXED);
    if (likely(before >= n)) {
        return n;
    }
    int64_t got = before > 0 ? before : 0;
    __atomic_fetch_add(&c->budget, n - got, __ATOMIC_RELAXED);
    return (uint16_t) got;
}

/* Gives back 'n' reserved packets that were not captured after all. */
static inline void
capture_unreserve(struct capture *c, uint16_t n)
{
    if (c->limited && n) {
        __atomic_fetch_add(&c->budget, n, __ATOMIC_RELAXED);
    }
}

/* Enqueues the 'n' copies 'cp' (original lengths 'len') of a reservation
 * of 'n' for PMD 'pmd_id'; frees and counts what does not fit. */
static inline void
capture_enqueue(struct capture *c, unsigned pmd_id, struct rte_mbuf **cp,
                const uint32_t *len, uint16_t n)
{
    struct capture_pmd_stats *st = &c->stats[pmd_id];
    unsigned q = n ? rte_ring_mp_enqueue_burst(c->ring, (void **) cp, n, NULL) : 0;
    uint64_t bytes = 0;

    for (unsigned i = 0; i < q; i++) {
        bytes += len[i];
    }
    st->packets += q;
    st->bytes += bytes;
    if (unlikely(q < n)) {
        st->dropped_ring_full += n - q;
        rte_pktmbuf_free_bulk(cp + q, n - q);
        capture_unreserve(c, (uint16_t) (n - q));
    }
}

void
capture_rx__(struct capture *c, unsigned pmd_id, uint16_t qid,
             struct rte_mbuf **pkts, uint16_t n)
{
    struct rte_mbuf *cp[DP_BURST];
    uint32_t len[DP_BURST];
    uint16_t k, m = 0;

    if (!(c->dir & CAPTURE_RX)) {
        return;
    }
    k = capture_reserve(c, n > DP_BURST ? DP_BURST : n);
    if (!k) {
        return;
    }
    uint64_t tsc = rte_rdtsc();
    uint64_t ns = capture_ns(c, tsc);
    for (uint16_t i = 0; i < k; i++) {
        struct rte_mbuf *x = rte_pcapng_copy(c->port_no, qid, pkts[i], c->mp,
                                             c->snaplen, tsc,
                                             RTE_PCAPNG_DIRECTION_IN);
        if (likely(x != NULL)) {
            capture_stamp(x, ns);
            len[m] = rte_pktmbuf_pkt_len(pkts[i]);
            cp[m++] = x;
        }
    }
    if (unlikely(m < k)) {
        c->stats[pmd_id].dropped_no_mbuf += k - m;
        capture_unreserve(c, (uint16_t) (k - m));
    }
    capture_enqueue(c, pmd_id, cp, len, m);
}

bool
capture_tx_copy__(struct capture *c, unsigned pmd_id, struct rte_mbuf **pkts,
                  uint16_t n, struct rte_mbuf **copies)
{
    if (!(c->dir & CAPTURE_TX)
        || (c->limited && __atomic_load_n(&c->budget, __ATOMIC_RELAXED) <= 0)) {
        return false;
    }
    uint64_t tsc = rte_rdtsc();
    uint64_t ns = capture_ns(c, tsc);
    for (uint16_t i = 0; i < n; i++) {
        copies[i] = rte_pcapng_copy(c->port_no, pmd_id, pkts[i], c->mp,
                                    c->snaplen, tsc, RTE_PCAPNG_DIRECTION_OUT);
        if (likely(copies[i] != NULL)) {
            capture_stamp(copies[i], ns);
        }
    }
    return true;
}

/* Original length of copy 'cp' (a pcapng Enhanced Packet Block). */
static inline uint32_t
capture_orig_len(const struct rte_mbuf *cp)
{
    /* Block type, length, interface, timestamp (2), captured length,
     * original length: 32-bit words in host order. */
    const uint32_t *epb = rte_pktmbuf_mtod(cp, const uint32_t *);
    return epb[6];
}

void
capture_tx_sent__(struct capture *c, unsigned pmd_id, struct rte_mbuf **copies,
                  uint16_t n, uint16_t sent)
{
    struct rte_mbuf *cp[DP_BURST];
    uint32_t len[DP_BURST];
    uint16_t m = 0, missing = 0;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *x = copies[i];
        if (i >= sent) {
            rte_pktmbuf_free(x);        /* Not sent: not captured. */
        } else if (unlikely(!x)) {
            missing++;
        } else if (m < DP_BURST) {
            len[m] = capture_orig_len(x);
            cp[m++] = x;
        } else {
            rte_pktmbuf_free(x);
        }
    }
    c->stats[pmd_id].dropped_no_mbuf += missing;

    uint16_t k = capture_reserve(c, m);
    if (k < m) {
        rte_pktmbuf_free_bulk(cp + k, m - k);
    }
    capture_enqueue(c, pmd_id, cp, len, k);
}
