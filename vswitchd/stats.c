/* stats - the one place the switch's counters are read.  See stats.h. */
#include "vswitchd/stats.h"

#include <errno.h>
#include <string.h>

#include "vswitchd/bridge.h"
#include "datapath/port-provider.h"

bool
stats_drop_split(const char *name, char direction[3], const char **reason)
{
    static const char infix[] = "_dropped_";

    if ((strncmp(name, "rx", 2) && strncmp(name, "tx", 2))
        || strncmp(name + 2, infix, sizeof infix - 1)
        || !name[2 + sizeof infix - 1]) {
        return false;
    }
    memcpy(direction, name, 2);
    direction[2] = '\0';
    *reason = name + 2 + sizeof infix - 1;
    return true;
}

/* Fills 'sp' from the running port 'v' (the one function that reads a
 * port's counters).  The caller frees sp->extra. */
static void
read_port(const struct bridge_port_view *v, struct stats_port *sp)
{
    struct dp_stats st;

    memset(&st, 0, sizeof st);
    memset(sp, 0, sizeof *sp);
    sp->bridge = v->bridge;
    sp->name = v->name;
    sp->type = v->cls->type;
    sp->running = v->dp != NULL;
    if (v->dp) {
        dp_port_get_stats(v->dp, &st);
    }
    sp->rx_packets = st.rx_packets;
    sp->rx_bytes = st.rx_bytes;
    sp->tx_packets = st.tx_packets;
    sp->tx_bytes = st.tx_bytes;
    for (unsigned d = 0; d < DP_N_DROPS; d++) {
        sp->drops[d] = st.drops[d];
        if (!strncmp(dp_drop_name(d), "rx_", 3)) {
            sp->rx_dropped += st.drops[d];
        } else {
            sp->tx_dropped += st.drops[d];
        }
    }
    sp->extra = json_object_new_object();
    if (v->dev && v->cls->stats) {
        v->cls->stats(v->dev, sp->extra);
    }
}

struct ports_read_ctx {
    stats_port_cb *cb;
    void *aux;
};

static void
ports_read_one(const struct bridge_port_view *v, void *aux)
{
    struct ports_read_ctx *ctx = aux;
    struct stats_port sp;

    read_port(v, &sp);
    ctx->cb(&sp, ctx->aux);
    json_object_put(sp.extra);
}

int
stats_ports_read(const struct bridge_set *bs, const char *name, stats_port_cb *cb,
                 void *aux, char *err)
{
    struct ports_read_ctx ctx = { .cb = cb, .aux = aux };

    return bridge_visit_ports(bs, name, ports_read_one, &ctx, err);
}

struct json_object *
stats_port_json(const struct stats_port *sp)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(sp->name));
    json_object_object_add(o, "rx_packets", json_object_new_uint64(sp->rx_packets));
    json_object_object_add(o, "rx_bytes", json_object_new_uint64(sp->rx_bytes));
    json_object_object_add(o, "rx_dropped", json_object_new_uint64(sp->rx_dropped));
    json_object_object_add(o, "tx_packets", json_object_new_uint64(sp->tx_packets));
    json_object_object_add(o, "tx_bytes", json_object_new_uint64(sp->tx_bytes));
    json_object_object_add(o, "tx_dropped", json_object_new_uint64(sp->tx_dropped));
    for (unsigned d = 0; d < DP_N_DROPS; d++) {
        json_object_object_add(o, dp_drop_name(d), json_object_new_uint64(sp->drops[d]));
    }
    json_object_object_foreach(sp->extra, key, val) {
        json_object_object_add(o, key, json_object_get(val));
    }
    return o;
}

static void
ports_json_one(const struct stats_port *sp, void *list)
{
    json_object_array_add(list, stats_port_json(sp));
}

int
stats_ports_json(const struct bridge_set *bs, const char *name,
                 struct json_object **out, char *err)
{
    struct json_object *list = json_object_new_array();
    int rc = stats_ports_read(bs, name, ports_json_one, list, err);

    if (rc) {
        json_object_put(list);
        return rc;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "ports", list);
    return 0;
}

void
stats_pmds_read(const struct datapath *dp, struct stats_pmds *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->n = datapath_n_pmds(dp);
    if (sp->n > DP_MAX_PMDS) {
        sp->n = DP_MAX_PMDS;
    }
    for (unsigned i = 0; i < sp->n; i++) {
        datapath_get_pmd_stats(dp, i, &sp->pmd[i]);
    }
    datapath_get_mbuf_usage(dp, &sp->mbufs_total, &sp->mbufs_in_use);
}

double
stats_pmd_cycles_per_packet(const struct dp_pmd_stats *st)
{
    return st->rx_packets ? (double) st->busy_cycles / st->rx_packets : 0.0;
}

struct json_object *
stats_pmds_json(const struct stats_pmds *sp)
{
    struct json_object *pmds = json_object_new_array();

    for (unsigned i = 0; i < sp->n; i++) {
        const struct dp_pmd_stats *st = &sp->pmd[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "pmd", json_object_new_int((int) st->pmd_id));
        json_object_object_add(o, "core", json_object_new_int((int) st->core));
        json_object_object_add(o, "rx_packets", json_object_new_uint64(st->rx_packets));
        json_object_object_add(o, "tx_packets", json_object_new_uint64(st->tx_packets));
        json_object_object_add(o, "iterations", json_object_new_uint64(st->iterations));
        json_object_object_add(o, "busy_cycles", json_object_new_uint64(st->busy_cycles));
        json_object_object_add(o, "idle_cycles", json_object_new_uint64(st->idle_cycles));
        json_object_object_add(o, "cycles_per_packet",
                               json_object_new_double(stats_pmd_cycles_per_packet(st)));
        json_object_array_add(pmds, o);
    }
    struct json_object *mbufs = json_object_new_object();
    json_object_object_add(mbufs, "total", json_object_new_uint64(sp->mbufs_total));
    json_object_object_add(mbufs, "in_use", json_object_new_uint64(sp->mbufs_in_use));
    struct json_object *result = json_object_new_object();
    json_object_object_add(result, "pmds", pmds);
    json_object_object_add(result, "mbufs", mbufs);
    return result;
}

void
stats_fdb_read(const char *bridge, const struct dp_bridge *br, struct stats_fdb *sf)
{
    memset(sf, 0, sizeof *sf);
    sf->bridge = bridge;
    fdb_get_stats(dp_bridge_fdb(br), &sf->fdb);
    sf->max_entries = dp_bridge_fdb_max(br);
    sf->ageing_time = dp_bridge_fdb_ageing_ms(br) / 1000;
}

struct fdbs_read_ctx {
    stats_fdb_cb *cb;
    void *aux;
};

static void
fdbs_read_one(const char *name, const struct dp_bridge *br, void *aux)
{
    struct fdbs_read_ctx *ctx = aux;
    struct stats_fdb sf;

    stats_fdb_read(name, br, &sf);
    ctx->cb(&sf, ctx->aux);
}

int
stats_fdbs_read(const struct bridge_set *bs, const char *name, stats_fdb_cb *cb,
                void *aux, char *err)
{
    struct fdbs_read_ctx ctx = { .cb = cb, .aux = aux };

    return bridge_visit_bridges(bs, name, fdbs_read_one, &ctx, err);
}

struct json_object *
stats_fdb_json(const struct stats_fdb *sf)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "entries", json_object_new_uint64(sf->fdb.entries));
    json_object_object_add(o, "learned", json_object_new_uint64(sf->fdb.learned));
    json_object_object_add(o, "moved", json_object_new_uint64(sf->fdb.moved));
    json_object_object_add(o, "aged", json_object_new_uint64(sf->fdb.aged));
    json_object_object_add(o, "flushed", json_object_new_uint64(sf->fdb.flushed));
    json_object_object_add(o, "full", json_object_new_uint64(sf->fdb.full));
    json_object_object_add(o, "max_entries", json_object_new_uint64(sf->max_entries));
    json_object_object_add(o, "ageing_time", json_object_new_uint64(sf->ageing_time));
    return o;
}
