/* dp-port-core - the port as the hot path sees it.
 *
 * This struct is in a header (not hidden in a .c) because the PMD loop in
 * pmd.c inlines access to it.  Every port type (vhost-user today; DPDK
 * ethdev and internal ports later) provides a 'struct dp_port_ops' with
 * burst rx/tx functions; the PMD polls whatever the type through them.
 *
 * Ownership: the control plane (datapath.c) allocates and frees dp_ports; a
 * port is freed only after every PMD has passed an RCU quiescent state since
 * the port was unpublished.  PMD i writes only stats[i]; the main thread
 * reads all slots and sums them (relaxed 64-bit loads).  rxq_load[q] is
 * written by the one PMD that polls queue q. */
#ifndef VSWITCH_DP_PORT_CORE_H
#define VSWITCH_DP_PORT_CORE_H 1

#include <stdbool.h>
#include <stdint.h>
#include <rte_common.h>
#include <rte_mbuf.h>

#define DP_MAX_PORTS   2048     /* Port numbers are 0..DP_MAX_PORTS-1. */
#define DP_MAX_BRIDGES 64
#define DP_MAX_PMDS    16
#define DP_MAX_QUEUES  8        /* Rx queues per port. */
#define DP_BURST       32
#define DP_NAME_MAX    16       /* Port/bridge names: 15 chars + NUL. */

/* What the FDB stores for a port: its number in the low 11 bits and, in the
 * 5 above, a generation that changes each time the number is given to a new
 * port, so that an entry a flush missed never sends a deleted port's
 * traffic to the port that reuses its number. */
#define DP_FDB_ID_PORT_BITS 11
#define DP_FDB_ID_GEN_MASK  ((1u << (16 - DP_FDB_ID_PORT_BITS)) - 1)
#define DP_FDB_ID(PORT_NO, GEN) \
    ((uint16_t) ((PORT_NO) | (((GEN) & DP_FDB_ID_GEN_MASK) << DP_FDB_ID_PORT_BITS)))
#define DP_FDB_ID_PORT_NO(ID)   ((uint16_t) ((ID) & (DP_MAX_PORTS - 1)))

/* Every drop reason, as (enum suffix, counter name).  The counter name is the
 * JSON key in port.stats; names starting with "rx_" add up to rx_dropped,
 * "tx_" to tx_dropped. */
#define DP_DROP_REASONS                                  \
    DP_DROP(RX_RUNT,       "rx_dropped_runt")            \
    DP_DROP(RX_HAIRPIN,    "rx_dropped_hairpin")         \
    DP_DROP(RX_NO_DEST,    "rx_dropped_no_dest")         \
    DP_DROP(RX_VLAN,       "rx_dropped_vlan")            \
    DP_DROP(RX_QINQ,       "rx_dropped_qinq")            \
    DP_DROP(TX_RING_FULL,  "tx_dropped_ring_full")       \
    DP_DROP(TX_LINK_DOWN,  "tx_dropped_link_down")       \
    DP_DROP(TX_MTU,        "tx_dropped_mtu")             \
    DP_DROP(TX_NO_MBUF,    "tx_dropped_no_mbuf")

enum dp_drop {
#define DP_DROP(ENUM, NAME) DP_DROP_##ENUM,
    DP_DROP_REASONS
#undef DP_DROP
    DP_N_DROPS
};

/* Counters of one port as seen by one PMD. */
struct dp_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t drops[DP_N_DROPS];
} __rte_cache_aligned;

/* Rx queue load measurement (as OVS's pmd-rxq-assign=cycles): the PMD
 * counts the TSC cycles it spends on each rx queue and keeps the sums of the
 * last DP_LOAD_INTERVALS intervals of DP_LOAD_INTERVAL_MS each.  Intervals
 * are numbered by the TSC ('epoch' = tsc / interval), so every PMD's
 * intervals begin at the same moments.  The measured load of a queue (and
 * the cycles of a PMD, in struct pmd) is the sum over the completed
 * intervals plus the current one: the last 60 to 70 seconds. */
#define DP_LOAD_INTERVALS   6
#define DP_LOAD_INTERVAL_MS 10000

/* The interval history of a cumulative counter.  Written only by the PMD
 * that owns the counter (pmd.c, at each interval boundary); read by the
 * main thread with relaxed loads (datapath.c), which may be off by one
 * interval at a boundary: a load estimate, not an exact counter. */
struct dp_load_hist {
    uint64_t epoch;                     /* Number of the current interval. */
    uint64_t mark;                      /* Counter at its start. */
    uint64_t past[DP_LOAD_INTERVALS];   /* Completed ones, by epoch % N. */
};

/* Processing cycles of one rx queue: from its rx burst to the end of
 * switching what it received, plus its share (by packets) of the iteration's
 * output flush.  Empty polls are not charged (they are the PMD's idle or
 * overhead time).  Written only by the PMD that polls the queue: a queue
 * moving between PMDs is first unpolled for a grace period (datapath.c), so
 * two PMDs never write it at once.  Kept in the port, so it survives
 * snapshot publication and queue moves. */
struct dp_rxq_load {
    uint64_t cycles;                    /* Cumulative. */
    struct dp_load_hist hist;
} __rte_cache_aligned;

struct dp_port;

struct dp_port_ops {
    /* Receives up to 'n' packets from rx queue 'qid' into 'pkts'.  Returns
     * how many.  Called only by the PMD that owns (port, qid). */
    uint16_t (*rx)(struct dp_port *, uint16_t qid, struct rte_mbuf **pkts,
                   uint16_t n);

    /* Sends 'n' packets on behalf of PMD 'pmd_id' and takes ownership of all
     * of them: what cannot be sent is freed and counted as a named drop in
     * 'stats'; what is sent is counted in stats->tx_packets/tx_bytes.  Packets
     * may be shared (refcnt > 1) and must not be modified.  Any number of
     * PMDs may call this concurrently: the port type serialises its tx queues
     * as it needs. */
    void (*tx)(struct dp_port *, unsigned pmd_id, struct rte_mbuf **pkts,
               uint16_t n, struct dp_stats *stats);

    /* Optional (NULL: always true).  Control plane only, called through
     * dp_port_rxq_enabled(): true if rx queue 'qid' currently carries
     * traffic (e.g. a vhost frontend is connected and enabled that vring). */
    bool (*rxq_enabled)(const struct dp_port *, uint16_t qid);
};

/* VLANs and MTU (DESIGN.md section 3; the model of Open vSwitch's tag,
 * trunks and vlan_mode=native-untagged).  Inside a bridge every frame is in
 * one VLAN, 0..4095:
 *   - an access port ('access_vlan' 1..4094) takes untagged frames (and
 *     priority-tagged ones, VID 0) into its VLAN and sends untagged; tagged
 *     frames are dropped (rx_dropped_vlan);
 *   - a trunk port ('access_vlan' 0) takes tagged frames into their VLAN if
 *     it carries it ('trunks' bitmap; rx_dropped_vlan otherwise) and
 *     untagged ones into 'native_vlan' (0 unless native-vlan= is set); it
 *     sends frames of 'native_vlan' untagged and the others tagged.
 *   - 802.1ad and double-tagged frames are dropped (rx_dropped_qinq).
 * A port with no VLAN option is a trunk of every VLAN with native VLAN 0:
 * transparent to tags, as before VLANs existed.
 * 'mtu' bounds the L2 payload of frames sent to the port (frame length minus
 * the Ethernet header and any 802.1Q tag); larger ones are dropped
 * (tx_dropped_mtu), never truncated. */
#define DP_VLAN_MAX     4094
#define DP_MTU_MIN      68
#define DP_MTU_MAX      9000
#define DP_MTU_DEFAULT  1500

struct dp_port_l2 {
    uint16_t access_vlan;              /* 1..4094, or 0 for a trunk. */
    uint16_t native_vlan;              /* Trunk: VLAN of untagged frames. */
    uint32_t mtu;                      /* DP_MTU_MIN..DP_MTU_MAX. */
    uint64_t trunks[4096 / 64];        /* Trunk: bit v set = carries VLAN v. */
};

/* Fills 'l2' with the defaults: trunk of every VLAN, native VLAN 0, MTU
 * 1500. */
static inline void
dp_port_l2_init(struct dp_port_l2 *l2)
{
    l2->access_vlan = 0;
    l2->native_vlan = 0;
    l2->mtu = DP_MTU_DEFAULT;
    for (unsigned i = 0; i < RTE_DIM(l2->trunks); i++) {
        l2->trunks[i] = UINT64_MAX;
    }
}

/* True if a port with 'l2' is a member of VLAN 'vlan'. */
static inline bool
dp_port_l2_carries(const struct dp_port_l2 *l2, uint16_t vlan)
{
    if (l2->access_vlan) {
        return vlan == l2->access_vlan;
    }
    return (l2->trunks[vlan / 64] >> (vlan % 64)) & 1;
}

/* True if frames of 'vlan' leave a port with 'l2' with an 802.1Q tag. */
static inline bool
dp_port_l2_tags(const struct dp_port_l2 *l2, uint16_t vlan)
{
    return !l2->access_vlan && vlan != l2->native_vlan;
}

struct fdb;

_Static_assert(DP_MAX_PORTS == 1 << DP_FDB_ID_PORT_BITS, "FDB ids pack port numbers");

struct dp_port {
    /* Read-mostly, set before publication and constant afterwards. */
    const struct dp_port_ops *ops;
    void *priv;                  /* Port type's state. */
    struct fdb *fdb;             /* Owning bridge's FDB. */
    uint16_t port_no;
    uint16_t fdb_id;             /* DP_FDB_ID(port_no, generation). */
    uint16_t bridge_idx;
    uint16_t n_rxq;
    char name[DP_NAME_MAX];
    struct dp_port_l2 l2;        /* Changed only while detached. */

    /* Per-PMD counters, one cache line (or more) each. */
    struct dp_stats stats[DP_MAX_PMDS];

    /* Per rx queue load, one cache line (or more) each: the queues of one
     * port may be polled by different PMDs. */
    struct dp_rxq_load rxq_load[DP_MAX_QUEUES];
};

#endif
