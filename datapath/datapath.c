/* datapath - control side of the data path.  See datapath.h.
 *
 * Owns the PMD threads, the bridges' runtime state and every dp_port.  Each
 * change (bridge or port added/removed) refills the spare dp_snapshot,
 * publishes it and waits for an RCU grace period, after which the other one
 * is the spare; pmd.c only ever reads the published snapshot.  Main thread only, except datapath_synchronize(). */
#include "datapath/datapath.h"

#include <errno.h>
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
};

struct datapath {
    struct rte_rcu_qsbr *qsbr;
    struct dp_snapshot *snap;           /* Published to PMDs: one of 'snaps'. */
    struct dp_snapshot *snaps[2];
    struct pmd *pmds[DP_MAX_PMDS];
    unsigned n_pmds;
    bool pmds_stopped;
    unsigned fdb_serial;                /* Makes rte_hash names unique. */
    struct dp_port_ctl *ports[DP_MAX_PORTS];
    uint8_t port_gen[DP_MAX_PORTS];     /* Generation of each port number. */
    unsigned next_port_no;              /* Where the search for a free one starts. */
    struct dp_bridge *bridges[DP_MAX_BRIDGES];
    struct rte_mempool *mp;
};

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

/* Fills 'snap' with the current bridges and attached ports.  Rx queues are
 * dealt round-robin to PMDs in port-number order. */
static void
snapshot_fill(const struct datapath *dp, struct dp_snapshot *snap)
{
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port_ctl *pc = dp->ports[i];
        snap->ports[i] = pc && pc->bridge ? &pc->port : NULL;
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
    unsigned k = 0;
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_port *port = snap->ports[i];
        for (uint16_t q = 0; port && q < port->n_rxq; q++) {
            struct dp_poll_list *pl = &snap->poll[k++ % dp->n_pmds];
            pl->rxq[pl->n].port = port;
            pl->rxq[pl->n].qid = q;
            pl->n++;
        }
    }
}

/* Publishes the current configuration to the PMDs: fills the snapshot they
 * are not using, publishes it, and waits for a grace period, after which
 * the previous one is unused and becomes the spare. */
static void
datapath_publish(struct datapath *dp)
{
    struct dp_snapshot *next = dp->snaps[dp->snap == dp->snaps[0]];

    snapshot_fill(dp, next);
    __atomic_store_n(&dp->snap, next, __ATOMIC_RELEASE);
    datapath_synchronize(dp);
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
        pmd->tsc_per_ms = tsc_per_ms;
        dp->pmds[i] = pmd;
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
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
    datapath_publish(dp);
    *brp = br;
    return 0;
}

void
dp_bridge_destroy(struct datapath *dp, struct dp_bridge *br)
{
    dp->bridges[br->idx] = NULL;
    datapath_publish(dp);
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
     * others were; with the generation that makes a stale FDB entry
     * pointing at a reused number need 65536 port creations. */
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
    dp->next_port_no = (no + 1) % DP_MAX_PORTS;
    pc->port.n_rxq = n_rxq;
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
    datapath_publish(dp);
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
    datapath_publish(dp);
    /* No PMD polls or sends to the port any more: forget what it learned.
     * (Should concurrent learning make the flush miss an entry, its stale
     * generation keeps it from matching a port that reuses the number.) */
    fdb_flush_port(br->fdb, port->fdb_id);
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
