/* stats - one reading of the switch's counters, shared by every reader.
 *
 * The JSON-RPC methods port.stats, pmd.stats and fdb.show (methods.c,
 * bridge.c), the DPDK telemetry commands (telemetry.c) and the metrics
 * endpoint (metrics.c) all read counters through the functions here, so
 * that the numbers they report are computed the same way and agree:
 *   - a port's counters are the datapath's per-PMD slots summed by
 *     dp_port_get_stats() (minus the last port.stats_clear baseline),
 *     rx_dropped / tx_dropped the sums of the named drop reasons, plus the
 *     counters its port type adds (port_class.stats);
 *   - a PMD's counters come from datapath_get_pmd_stats();
 *   - a bridge's FDB counters from fdb_get_stats().
 * Reading touches the PMDs' counter cache lines exactly as port.stats and
 * pmd.stats always did: relaxed loads, no writes.
 *
 * Main thread only (the bridge model is not thread-safe): readers on other
 * threads (DPDK's telemetry thread) ask the main thread, see telemetry.c. */
#ifndef VSWITCH_STATS_H
#define VSWITCH_STATS_H 1

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "datapath/fdb.h"

struct bridge_set;
struct bridge_port_view;
struct dp_bridge;

/* The counters of one port.  Strings and 'extra' are valid only during the
 * stats_port_cb call that passes the struct. */
struct stats_port {
    const char *bridge;
    const char *name;
    const char *type;
    bool running;                   /* False: state "error", all zero. */
    uint64_t rx_packets, rx_bytes, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_dropped;
    uint64_t drops[DP_N_DROPS];     /* By enum dp_drop; names: dp_drop_name(). */
    struct json_object *extra;      /* The port type's own counters (an object
                                     * of integers, maybe empty; never NULL). */
};

/* Splits drop counter name 'name' ("rx_dropped_ring_full") into its
 * direction ("rx") and reason ("ring_full").  Returns false if it has not
 * that shape. */
bool stats_drop_split(const char *name, char direction[3], const char **reason);

typedef void stats_port_cb(const struct stats_port *, void *aux);

/* Reads the counters of port 'name', or of every port (bridge by bridge, in
 * the order they were added) if 'name' is NULL, and calls 'cb' with each.
 * Returns 0, or -ENOENT with a message in 'err' (BRIDGE_ERRLEN bytes). */
int stats_ports_read(const struct bridge_set *, const char *name,
                     stats_port_cb *cb, void *aux, char *err);

/* The port.stats object of one port: "name", the six totals, one member per
 * drop reason, then the port type's counters. */
struct json_object *stats_port_json(const struct stats_port *);

/* The port.stats result {"ports": [...]} for port 'name' or every port.
 * Returns 0 and *out, or -ENOENT with a message in 'err'. */
int stats_ports_json(const struct bridge_set *, const char *name,
                     struct json_object **out, char *err);

/* The counters of the PMDs and of the packet pool. */
struct stats_pmds {
    unsigned n;
    struct dp_pmd_stats pmd[DP_MAX_PMDS];
    unsigned mbufs_total;
    unsigned mbufs_in_use;
};

void stats_pmds_read(const struct datapath *, struct stats_pmds *);

/* Busy cycles per received packet of 'pmd' (0 if it received none). */
double stats_pmd_cycles_per_packet(const struct dp_pmd_stats *);

/* The pmd.stats result {"pmds": [...], "mbufs": {...}}. */
struct json_object *stats_pmds_json(const struct stats_pmds *);

/* The FDB counters of one bridge.  'bridge' is valid only during the
 * stats_fdb_cb call that passes the struct. */
struct stats_fdb {
    const char *bridge;
    struct fdb_stats fdb;
    uint64_t max_entries;
    uint64_t ageing_time;           /* Seconds. */
};

void stats_fdb_read(const char *bridge, const struct dp_bridge *, struct stats_fdb *);

typedef void stats_fdb_cb(const struct stats_fdb *, void *aux);

/* Reads the FDB counters of bridge 'name', or of every bridge if NULL, and
 * calls 'cb' with each.  Returns 0, or -ENOENT with a message in 'err'. */
int stats_fdbs_read(const struct bridge_set *, const char *name,
                    stats_fdb_cb *cb, void *aux, char *err);

/* The "stats" object of fdb.show: entries, learned, moved, aged, flushed,
 * full, max_entries, ageing_time. */
struct json_object *stats_fdb_json(const struct stats_fdb *);

#endif
