/* datapath - control side of the data path.  See datapath.h.
 *
 * Owns the PMD threads, the bridges' runtime state and every dp_port.  Each
 * change (bridge or port added/removed) re-assigns rx queues to PMDs
 * (rxq-sched.c, by the loads pmd.c measures), refills the spare dp_snapshot,
 * publishes it and waits for an RCU grace period, after which the other one
 * is the spare; pmd.c only ever reads the published snapshot.  A queue that
 * moves to another PMD is first published on no PMD at all, so that no two
 * PMDs ever poll it (or write its load counter) at once.  Main thread only,
 * except datapath_synchronize(). */
#include "datapath/datapath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#define VLOG_MODULE "datapath"
#include "lib/vlog.h"
#include "datapath/fdb.h"
#include "datapath/pmd.h"
#include "datapath/rxq-sched.h"

struct dp_bridge {
    unsigned idx;
    char name[DP_NAME_MAX];
    struct fdb *fdb;
    uint32_t fdb_max_entries;
    uint64_t fdb_ageing_ms;
    unsigned n_ports;
    uint16_t port_no[DP_MAX_PORTS];     /* In the order they were attached. */
};

/* A dp_port plus what only the control plane needs. */
struct dp_port_ctl {
    struct dp_port port;                /* First: PMDs see only this. */
    struct dp_stats baseline;           /* Subtracted by dp_port_get_stats. */
    struct dp_bridge *bridge;           /* NULL while detached. */
    int8_t rxq_pmd[DP_MAX_QUEUES];      /* PMD polling each queue, or -1. */
    int8_t rxq_next[DP_MAX_QUEUES];     /* Being assigned (datapath_publish). */
    uint8_t rxq_active;                 /* Bit q: queue q polled (enabled) in
                                         * the published snapshot. */
};
_Static_assert(DP_MAX_QUEUES <= 8, "rxq_active is a byte");

struct datapath {
    struct rte_rcu_qsbr *qsbr;
    struct dp_snapshot *snap;           /* Published to PMDs: one of 'snaps'. */
    struct dp_snapshot *snaps[2];
    struct pmd *pmds[DP_MAX_PMDS];
    unsigned n_pmds;
    bool pmds_stopped;
    unsigned fdb_serial;                /* Makes rte_hash names unique. */
    unsigned defer_depth;               /* datapath_defer_begin() nesting. */
    bool publish_pending;               /* A deferred publication. */
    struct dp_port_ctl *ports[DP_MAX_PORTS];
    uint8_t port_gen[DP_MAX_PORTS];     /* Generation of each port number. */
    unsigned next_port_no;              /* Where the search for a free one starts. */
    struct dp_bridge *bridges[DP_MAX_BRIDGES];
    struct rte_mempool *mp;
    uint64_t tsc_per_interval;          /* DP_LOAD_INTERVAL_MS in TSC. */
    struct rxq_sched_item sched[DP_MAX_PORTS * DP_MAX_QUEUES];  /* Scratch. */
};

_Static_assert(DP_MAX_PMDS <= RXQ_SCHED_MAX_PMDS && DP_MAX_PMDS <= INT8_MAX,
               "PMD ids fit the scheduler and rxq_pmd[]");

static const char *const drop_names[DP_N_DROPS] = {
#define DP_DROP(ENUM, NAME) [DP_DROP_##ENUM] = NAME,
    DP_DROP_REASONS
#undef DP_DROP
};

const char *
dp_drop_name(enum dp_drop d)
{
    return d < DP_N_DROPS ? drop_names[d] : "?";
}

static struct dp_port_ctl *
port_ctl(const struct dp_port *port)
{
    return (struct dp_port_ctl *) port;
}

uint64_t
datapath_now_ms(void)
{
    return rte_rdtsc() / (rte_get_tsc_hz() / 1000);
}

/* Sum of the completed intervals of 'h' plus the current one, whose
 * counter is the sum of '*a' and (if nonnull) '*b'.  Reads the slots, then
 * the mark, then the counter, as pmd.c writes them in the other order. */
static uint64_t
load_window(const struct dp_load_hist *h, const uint64_t *a, const uint64_t *b)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < DP_LOAD_INTERVALS; i++) {
        sum += __atomic_load_n(&h->past[i], __ATOMIC_ACQUIRE);
    }
    uint64_t mark = __atomic_load_n(&h->mark, __ATOMIC_ACQUIRE);
    uint64_t now = __atomic_load_n(a, __ATOMIC_RELAXED)
                   + (b ? __atomic_load_n(b, __ATOMIC_RELAXED) : 0);
    return sum + (now > mark ? now - mark : 0);
}

/* Measured load of rx queue 'qid' of 'port': cycles over the window. */
static uint64_t
rxq_load(const struct dp_port *port, uint16_t qid)
{
    const struct dp_rxq_load *ql = &port->rxq_load[qid];
    return load_window(&ql->hist, &ql->cycles, NULL);
}

/* Computes the PMD of every rx queue of every attached port into
 * rxq_next[] (rxq-sched.c).  Returns how many queues move from one PMD to
 * another, and the number of queues in *n_rxqs. */
static unsigned
datapath_assign(struct datapath *dp, unsigned *n_rxqs)
{
    size_t n = 0;
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port_ctl *pc = dp->ports[i];
        for (uint16_t q = 0; pc && pc->bridge && q < pc->port.n_rxq; q++) {
            struct rxq_sched_item *it = &dp->sched[n++];
            it->load = rxq_load(&pc->port, q);
            it->key = i * DP_MAX_QUEUES + q;
            it->cur = pc->rxq_pmd[q];
        }
    }
    unsigned moved = rxq_sched_assign(dp->sched, n, dp->n_pmds, RXQ_SCHED_STICKY_PCT);
    for (size_t k = 0; k < n; k++) {
        const struct rxq_sched_item *it = &dp->sched[k];
        dp->ports[it->key / DP_MAX_QUEUES]->rxq_next[it->key % DP_MAX_QUEUES]
            = (int8_t) it->pmd;
    }
    *n_rxqs = (unsigned) n;
    return moved;
}

/* Bitmap of the rx queues of 'port' that can carry traffic now. */
static uint8_t
rxq_enabled_mask(const struct dp_port *port)
{
    uint8_t mask = 0;
    for (uint16_t q = 0; q < port->n_rxq; q++) {
        if (dp_port_rxq_enabled(port, q)) {
            mask |= (uint8_t) (1u << q);
        }
    }
    return mask;
}

/* Fills 'snap' with the current bridges and attached ports; every rx queue
 * goes to the PMD in rxq_next[], except, if 'hold_moving', queues that some
 * other PMD polls now: those are polled by nobody.  In each poll list the
 * queues that can carry traffic come first (dp_poll_list.n_active); records
 * which those are in rxq_active. */
static void
snapshot_fill(struct datapath *dp, struct dp_snapshot *snap, bool hold_moving)
{
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port_ctl *pc = dp->ports[i];
        snap->ports[i] = pc && pc->bridge ? &pc->port : NULL;
        if (pc) {
            pc->rxq_active = pc->bridge ? rxq_enabled_mask(&pc->port) : 0;
        }
    }
    for (unsigned b = 0; b < DP_MAX_BRIDGES; b++) {
        const struct dp_bridge *br = dp->bridges[b];
        struct dp_port_list *list = &snap->bridge_ports[b];
        list->n = br ? br->n_ports : 0;
        if (br) {
            memcpy(list->port_no, br->port_no, br->n_ports * sizeof br->port_no[0]);
        }
    }
    for (unsigned p = 0; p < DP_MAX_PMDS; p++) {
        snap->poll[p].n = 0;
    }
    /* Two passes: the active queues, then the others. */
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
            struct dp_port *port = snap->ports[i];
            const struct dp_port_ctl *pc = dp->ports[i];
            for (uint16_t q = 0; port && q < port->n_rxq; q++) {
                int pmd = pc->rxq_next[q];
                if (hold_moving && pc->rxq_pmd[q] >= 0 && pc->rxq_pmd[q] != pmd) {
                    continue;
                }
                if (((pc->rxq_active >> q) & 1) == pass) {
                    continue;           /* Pass 0: active only; 1: the rest. */
                }
                struct dp_poll_list *pl = &snap->poll[pmd];
                pl->rxq[pl->n].port = port;
                pl->rxq[pl->n].load = &port->rxq_load[q];
                pl->rxq[pl->n].qid = q;
                pl->n++;
            }
        }
        if (pass == 0) {
            for (unsigned p = 0; p < DP_MAX_PMDS; p++) {
                snap->poll[p].n_active = snap->poll[p].n;
            }
        }
    }
}

/* Fills the snapshot PMDs are not using, publishes it, and waits for a
 * grace period, after which the previous one is unused and becomes the
 * spare. */
static void
snapshot_publish(struct datapath *dp, bool hold_moving)
{
    struct dp_snapshot *next = dp->snaps[dp->snap == dp->snaps[0]];

    snapshot_fill(dp, next, hold_moving);
    __atomic_store_n(&dp->snap, next, __ATOMIC_RELEASE);
    datapath_synchronize(dp);
}

/* Publishes the current configuration to the PMDs, with rx queues
 * re-assigned by load.  Queues that move are first unpolled for a grace
 * period (a first snapshot without them), so their old PMD is done with
 * them before the new one starts.  Returns how many queues moved, and the
 * number of queues in *n_rxqs (if nonnull). */
static unsigned
datapath_publish(struct datapath *dp, unsigned *n_rxqs)
{
    unsigned n;
    unsigned moved = datapath_assign(dp, &n);

    dp->publish_pending = false;        /* This publishes everything. */
    if (moved) {
        snapshot_publish(dp, true);
    }
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port_ctl *pc = dp->ports[i];
        if (!pc) {
            continue;
        }
        for (uint16_t q = 0; q < DP_MAX_QUEUES; q++) {
            int8_t next = pc->bridge && q < pc->port.n_rxq ? pc->rxq_next[q] : -1;
            if (pc->rxq_pmd[q] >= 0 && next >= 0 && next != pc->rxq_pmd[q]) {
                VLOG_INFO("port %s rx queue %u: moved from PMD %d (core %u) to "
                          "PMD %d (core %u), load %"PRIu64" cycles",
                          pc->port.name, q, pc->rxq_pmd[q],
                          dp->pmds[pc->rxq_pmd[q]]->core, next,
                          dp->pmds[next]->core, rxq_load(&pc->port, q));
            }
            pc->rxq_pmd[q] = next;
            pc->rxq_next[q] = next;
        }
    }
    snapshot_publish(dp, false);
    if (n_rxqs) {
        *n_rxqs = n;
    }
    return moved;
}

/* Publishes the configuration, or only notes that it must be published if
 * inside datapath_defer_begin()/end().  For changes that add things (a
 * bridge, an attached port): nothing is freed after them, so PMDs may go on
 * with the old snapshot for a while. */
static void
datapath_publish_or_defer(struct datapath *dp)
{
    if (dp->defer_depth) {
        dp->publish_pending = true;
        return;
    }
    datapath_publish(dp, NULL);
}

unsigned
datapath_rxq_rebalance(struct datapath *dp, unsigned *n_rxqs)
{
    return datapath_publish(dp, n_rxqs);
}

void
datapath_defer_begin(struct datapath *dp)
{
    dp->defer_depth++;
}

void
datapath_defer_end(struct datapath *dp)
{
    if (dp->defer_depth && !--dp->defer_depth && dp->publish_pending) {
        dp->publish_pending = false;
        datapath_publish(dp, NULL);
    }
}

bool
datapath_poll_refresh(struct datapath *dp)
{
    if (dp->defer_depth) {
        return false;
    }
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port_ctl *pc = dp->ports[i];
        if (pc && pc->bridge && rxq_enabled_mask(&pc->port) != pc->rxq_active) {
            snapshot_publish(dp, false);
            return true;
        }
    }
    return false;
}

void
datapath_synchronize(struct datapath *dp)
{
    rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
}

int
datapath_create(const struct datapath_params *params, struct datapath **dpp)
{
    if (!params->n_pmds || params->n_pmds > DP_MAX_PMDS) {
        return -EINVAL;
    }

    struct datapath *dp = calloc(1, sizeof *dp);
    if (!dp) {
        return -ENOMEM;
    }
    dp->n_pmds = params->n_pmds;
    dp->mp = params->mp;
    dp->tsc_per_interval = rte_get_tsc_hz() / 1000 * DP_LOAD_INTERVAL_MS;

    size_t sz = rte_rcu_qsbr_get_memsize(DP_MAX_PMDS);
    dp->qsbr = rte_zmalloc("dp_qsbr", sz, RTE_CACHE_LINE_SIZE);
    if (!dp->qsbr || rte_rcu_qsbr_init(dp->qsbr, DP_MAX_PMDS)) {
        rte_free(dp->qsbr);
        free(dp);
        return -ENOMEM;
    }
    dp->snaps[0] = calloc(1, sizeof *dp->snaps[0]);
    dp->snaps[1] = calloc(1, sizeof *dp->snaps[1]);
    if (!dp->snaps[0] || !dp->snaps[1]) {
        free(dp->snaps[0]);
        free(dp->snaps[1]);
        rte_free(dp->qsbr);
        free(dp);
        return -ENOMEM;
    }
    dp->snap = dp->snaps[0];

    uint64_t tsc_per_ms = rte_get_tsc_hz() / 1000;
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct pmd *pmd = rte_zmalloc_socket("pmd", sizeof *pmd, RTE_CACHE_LINE_SIZE,
                                             rte_lcore_to_socket_id(params->pmd_lcores[i]));
        if (!pmd) {
            datapath_destroy(dp);
            return -ENOMEM;
        }
        pmd->id = i;
        pmd->lcore = params->pmd_lcores[i];
        pmd->core = params->pmd_cores[i];
        pmd->snap = &dp->snap;
        pmd->qsbr = dp->qsbr;
        pmd->mp = dp->mp;
        pmd->tsc_per_ms = tsc_per_ms * RTE_MAX(params->clock_slowdown, 1u);
        pmd->tsc_per_interval = dp->tsc_per_interval;
        dp->pmds[i] = pmd;
    }
    for (unsigned i = 0; i < dp->n_pmds && !params->no_threads; i++) {
        struct pmd *pmd = dp->pmds[i];
        int err = rte_eal_remote_launch(pmd_main, pmd, pmd->lcore);
        if (err) {
            VLOG_ERR("cannot launch PMD on lcore %u: %s", pmd->lcore, strerror(-err));
            datapath_destroy(dp);
            return err;
        }
        pmd->running = true;
        VLOG_INFO("PMD %u started on core %u (lcore %u)", i, pmd->core, pmd->lcore);
    }
    *dpp = dp;
    return 0;
}

uint64_t
datapath_pmd_poll(struct datapath *dp, unsigned pmd_id)
{
    return pmd_poll_once(dp->pmds[pmd_id]);
}

void
datapath_stop_pmds(struct datapath *dp)
{
    if (dp->pmds_stopped) {
        return;
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        if (dp->pmds[i]) {
            __atomic_store_n(&dp->pmds[i]->stop, true, __ATOMIC_RELAXED);
        }
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct pmd *pmd = dp->pmds[i];
        if (pmd && pmd->running) {
            rte_eal_wait_lcore(pmd->lcore);
            pmd->running = false;
            /* Batches are flushed every iteration, so nothing is left. */
        }
    }
    dp->pmds_stopped = true;
}

void
datapath_destroy(struct datapath *dp)
{
    if (!dp) {
        return;
    }
    datapath_stop_pmds(dp);
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        if (dp->ports[i]) {
            rte_free(dp->ports[i]);
        }
    }
    for (unsigned i = 0; i < DP_MAX_BRIDGES; i++) {
        if (dp->bridges[i]) {
            fdb_destroy(dp->bridges[i]->fdb);
            free(dp->bridges[i]);
        }
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        rte_free(dp->pmds[i]);
    }
    free(dp->snaps[0]);
    free(dp->snaps[1]);
    rte_free(dp->qsbr);
    free(dp);
}

int
dp_bridge_create(struct datapath *dp, const char *name, uint32_t fdb_max_entries,
                 uint64_t fdb_ageing_ms, struct dp_bridge **brp)
{
    unsigned idx;
    for (idx = 0; idx < DP_MAX_BRIDGES && dp->bridges[idx]; idx++) {
        continue;
    }
    if (idx == DP_MAX_BRIDGES) {
        return -ENOSPC;
    }

    struct dp_bridge *br = calloc(1, sizeof *br);
    if (!br) {
        return -ENOMEM;
    }
    char hname[32];
    snprintf(hname, sizeof hname, "fdb%u", dp->fdb_serial++);
    struct fdb_params fp = {
        .name = hname,
        .max_entries = fdb_max_entries,
        .ageing_ms = fdb_ageing_ms,
        .qsbr = dp->qsbr,
        .socket_id = (int) rte_socket_id(),
    };
    int err = fdb_create(&fp, &br->fdb);
    if (err) {
        free(br);
        return err;
    }
    br->idx = idx;
    br->fdb_max_entries = fdb_max_entries;
    br->fdb_ageing_ms = fdb_ageing_ms;
    snprintf(br->name, sizeof br->name, "%s", name);
    dp->bridges[idx] = br;
    datapath_publish_or_defer(dp);
    *brp = br;
    return 0;
}

void
dp_bridge_destroy(struct datapath *dp, struct dp_bridge *br)
{
    dp->bridges[br->idx] = NULL;
    datapath_publish(dp, NULL);
    fdb_destroy(br->fdb);
    free(br);
}

struct fdb *
dp_bridge_fdb(const struct dp_bridge *br)
{
    return br->fdb;
}

uint32_t
dp_bridge_fdb_max(const struct dp_bridge *br)
{
    return br->fdb_max_entries;
}

uint64_t
dp_bridge_fdb_ageing_ms(const struct dp_bridge *br)
{
    return br->fdb_ageing_ms;
}

void
datapath_run_ageing(struct datapath *dp)
{
    uint64_t now = datapath_now_ms();
    for (unsigned i = 0; i < DP_MAX_BRIDGES; i++) {
        if (dp->bridges[i]) {
            fdb_age(dp->bridges[i]->fdb, now);
        }
    }
}

int
dp_port_create(struct datapath *dp, const char *name, const struct dp_port_ops *ops,
               void *priv, uint16_t n_rxq, struct dp_port **portp)
{
    if (!n_rxq || n_rxq > DP_MAX_QUEUES) {
        return -EINVAL;
    }
    /* Numbers are handed out round-robin, so one is reused only after all
     * others were; with the generation (5 bits) that makes a stale FDB
     * entry pointing at a reused number need 65536 port creations. */
    unsigned no = DP_MAX_PORTS;
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        unsigned cand = (dp->next_port_no + i) % DP_MAX_PORTS;
        if (!dp->ports[cand]) {
            no = cand;
            break;
        }
    }
    if (no == DP_MAX_PORTS) {
        return -ENOSPC;
    }
    struct dp_port_ctl *pc = rte_zmalloc("dp_port", sizeof *pc, RTE_CACHE_LINE_SIZE);
    if (!pc) {
        return -ENOMEM;
    }
    pc->port.ops = ops;
    pc->port.priv = priv;
    pc->port.port_no = (uint16_t) no;
    pc->port.fdb_id = DP_FDB_ID(no, ++dp->port_gen[no]);
    dp_port_l2_init(&pc->port.l2);
    dp->next_port_no = (no + 1) % DP_MAX_PORTS;
    pc->port.n_rxq = n_rxq;
    memset(pc->rxq_pmd, -1, sizeof pc->rxq_pmd);
    memset(pc->rxq_next, -1, sizeof pc->rxq_next);
    snprintf(pc->port.name, sizeof pc->port.name, "%s", name);
    dp->ports[no] = pc;
    *portp = &pc->port;
    return 0;
}

void
dp_port_attach(struct datapath *dp, struct dp_bridge *br, struct dp_port *port)
{
    struct dp_port_ctl *pc = port_ctl(port);

    port->fdb = br->fdb;
    port->bridge_idx = (uint16_t) br->idx;
    pc->bridge = br;
    br->port_no[br->n_ports++] = port->port_no;
    datapath_publish_or_defer(dp);
}

void
dp_port_detach(struct datapath *dp, struct dp_port *port)
{
    struct dp_port_ctl *pc = port_ctl(port);
    struct dp_bridge *br = pc->bridge;

    if (!br) {
        return;
    }
    for (unsigned i = 0; i < br->n_ports; i++) {
        if (br->port_no[i] == port->port_no) {
            memmove(&br->port_no[i], &br->port_no[i + 1],
                    (br->n_ports - i - 1) * sizeof br->port_no[0]);
            br->n_ports--;
            break;
        }
    }
    pc->bridge = NULL;
    datapath_publish(dp, NULL);
    /* No PMD polls or sends to the port any more: forget what it learned.
     * (Should concurrent learning make the flush miss an entry, its stale
     * generation keeps it from matching a port that reuses the number.) */
    fdb_flush_port(br->fdb, port->fdb_id);
}

void
dp_port_set_l2(struct datapath *dp, struct dp_port *port, const struct dp_port_l2 *l2)
{
    struct dp_bridge *br = port_ctl(port)->bridge;

    if (br) {
        dp_port_detach(dp, port);
    }
    port->l2 = *l2;
    port->fdb_id = DP_FDB_ID(port->port_no, ++dp->port_gen[port->port_no]);
    if (br) {
        dp_port_attach(dp, br, port);
    }
}

void
dp_port_destroy(struct datapath *dp, struct dp_port *port)
{
    struct dp_port_ctl *pc = port_ctl(port);

    if (pc->bridge) {
        dp_port_detach(dp, port);
    }
    dp->ports[port->port_no] = NULL;
    rte_free(pc);
}

static void
stats_sum(const struct dp_port *port, struct dp_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < DP_MAX_PMDS; i++) {
        const struct dp_stats *s = &port->stats[i];
        sum->rx_packets += __atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED);
        sum->rx_bytes += __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
        sum->tx_packets += __atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED);
        sum->tx_bytes += __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
        for (unsigned d = 0; d < DP_N_DROPS; d++) {
            sum->drops[d] += __atomic_load_n(&s->drops[d], __ATOMIC_RELAXED);
        }
    }
}

void
dp_port_get_stats(const struct dp_port *port, struct dp_stats *st)
{
    const struct dp_stats *base = &port_ctl(port)->baseline;

    stats_sum(port, st);
    st->rx_packets -= base->rx_packets;
    st->rx_bytes -= base->rx_bytes;
    st->tx_packets -= base->tx_packets;
    st->tx_bytes -= base->tx_bytes;
    for (unsigned d = 0; d < DP_N_DROPS; d++) {
        st->drops[d] -= base->drops[d];
    }
}

void
dp_port_clear_stats(struct dp_port *port)
{
    stats_sum(port, &port_ctl(port)->baseline);
}

struct rte_mempool *
datapath_mempool(const struct datapath *dp)
{
    return dp->mp;
}

void
datapath_get_mbuf_usage(const struct datapath *dp, unsigned *total, unsigned *in_use)
{
    *total = dp->mp ? dp->mp->size : 0;
    *in_use = dp->mp ? rte_mempool_in_use_count(dp->mp) : 0;
}

unsigned
datapath_n_pmds(const struct datapath *dp)
{
    return dp->n_pmds;
}

static void
pmd_counters_read(const struct pmd *pmd, struct pmd_counters *c)
{
    c->iterations = __atomic_load_n(&pmd->counters.iterations, __ATOMIC_RELAXED);
    c->rx_packets = __atomic_load_n(&pmd->counters.rx_packets, __ATOMIC_RELAXED);
    c->tx_packets = __atomic_load_n(&pmd->counters.tx_packets, __ATOMIC_RELAXED);
    c->busy_cycles = __atomic_load_n(&pmd->counters.busy_cycles, __ATOMIC_RELAXED);
    c->idle_cycles = __atomic_load_n(&pmd->counters.idle_cycles, __ATOMIC_RELAXED);
}

void
datapath_get_pmd_stats(const struct datapath *dp, unsigned pmd_id,
                       struct dp_pmd_stats *st)
{
    const struct pmd *pmd = dp->pmds[pmd_id];
    struct pmd_counters c;

    pmd_counters_read(pmd, &c);
    st->pmd_id = pmd_id;
    st->core = pmd->core;
    st->lcore = pmd->lcore;
    st->iterations = c.iterations - pmd->baseline.iterations;
    st->rx_packets = c.rx_packets - pmd->baseline.rx_packets;
    st->tx_packets = c.tx_packets - pmd->baseline.tx_packets;
    st->busy_cycles = c.busy_cycles - pmd->baseline.busy_cycles;
    st->idle_cycles = c.idle_cycles - pmd->baseline.idle_cycles;
}

void
datapath_clear_pmd_stats(struct datapath *dp)
{
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        pmd_counters_read(dp->pmds[i], &dp->pmds[i]->baseline);
    }
}

void
datapath_foreach_rxq(const struct datapath *dp, unsigned pmd_id, dp_rxq_cb *cb,
                     void *aux)
{
    const struct dp_poll_list *pl = &dp->snap->poll[pmd_id];
    for (unsigned i = 0; i < pl->n; i++) {
        cb(pl->rxq[i].port, pl->rxq[i].qid, aux);
    }
}

bool
dp_port_rxq_enabled(const struct dp_port *port, uint16_t qid)
{
    return !port->ops->rxq_enabled || port->ops->rxq_enabled(port, qid);
}

void
datapath_get_pmd_load(const struct datapath *dp, unsigned pmd_id,
                      struct dp_pmd_load *load)
{
    const struct pmd *pmd = dp->pmds[pmd_id];
    const struct pmd_counters *c = &pmd->counters;

    load->busy_cycles = load_window(&pmd->busy_hist, &c->busy_cycles, NULL);
    load->cycles = load_window(&pmd->total_hist, &c->busy_cycles, &c->idle_cycles);
}

void
datapath_foreach_rxq_info(const struct datapath *dp, unsigned pmd_id,
                          dp_rxq_info_cb *cb, void *aux)
{
    const struct dp_poll_list *pl = &dp->snap->poll[pmd_id];
    for (unsigned i = 0; i < pl->n; i++) {
        const struct dp_port *port = pl->rxq[i].port;
        uint16_t qid = pl->rxq[i].qid;
        struct dp_rxq_info info = {
            .port = port->name,
            .qid = qid,
            .enabled = dp_port_rxq_enabled(port, qid),
            .cycles = rxq_load(port, qid),
        };
        cb(&info, aux);
    }
}
