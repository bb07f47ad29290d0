/* offload - checksum and TCP segmentation offload through the switch.
 *
 * The datapath's convention: a packet that carries RTE_MBUF_F_TX_TCP_CKSUM
 * or RTE_MBUF_F_TX_UDP_CKSUM has a partial L4 checksum (the pseudo-header
 * sum, as a virtio driver sends it with VIRTIO_NET_HDR_F_NEEDS_CSUM), and
 * one that carries RTE_MBUF_F_TX_TCP_SEG is a TCP "super-frame" to be cut
 * into segments of 'tso_segsz' payload bytes; either way RTE_MBUF_F_TX_IPV4
 * or RTE_MBUF_F_TX_IPV6 and l2_len, l3_len, l4_len describe its headers.
 * Providers produce such packets on rx (vhost: offload_rx_virtio()); no
 * other packet carries these flags.
 *
 * On output (offload_tx(), called by pmd.c for every batch), a port that can
 * take the requests (dp_port_ops.tx_offloads) gets the packets untouched;
 * for any other port the checksums are computed and the segmentation done
 * in software into new mbufs (rte_net checksum helpers, rte_gso for TCP/IPv4,
 * a small copying segmenter for TCP/IPv6, which DPDK 22.11's rte_gso lacks).
 * A shared packet (refcnt > 1, e.g. flooded) is never written: it is
 * copied or segmented.  Packets that cannot be fixed up (headers not in the
 * first segment, IPv6 extension headers, more than OFFLOAD_MAX_SEGS
 * segments, ...) are dropped as tx_dropped_offload.
 *
 * Hot path: PMD threads only; no malloc beyond the packet pool, no
 * syscalls, no logging. */
#ifndef VSWITCH_OFFLOAD_H
#define VSWITCH_OFFLOAD_H 1

#include <stdint.h>
#include <rte_common.h>
#include <rte_mbuf.h>

#include "datapath/dp-port-core.h"

/* Most segments one packet is cut into (a 64 KiB super-frame with an MSS
 * of 536 makes 123). */
#define OFFLOAD_MAX_SEGS 256

/* The offload requests a packet may carry. */
#define OFFLOAD_TX_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)

/* Slow path of offload_tx(). */
void offload_tx_fixup(struct dp_port *, unsigned pmd_id, struct rte_mempool *mp,
                      struct rte_mbuf **pkts, uint16_t n, struct dp_stats *st);

/* Sends 'pkts[0..n-1]' on 'port' (its ops->tx, on behalf of PMD 'pmd_id',
 * counting in 'st'), after doing in software what the port cannot take of
 * their offload requests; new mbufs (copies, segments) come from 'mp'.
 * Takes ownership of every packet, as ops->tx does. */
static inline void
offload_tx(struct dp_port *port, unsigned pmd_id, struct rte_mempool *mp,
           struct rte_mbuf **pkts, uint16_t n, struct dp_stats *st)
{
    uint64_t any = 0;

    for (uint16_t i = 0; i < n; i++) {
        any |= pkts[i]->ol_flags;
    }
    if (likely(!(any & OFFLOAD_TX_FLAGS))) {
        port->ops->tx(port, pmd_id, pkts, n, st);
        return;
    }
    offload_tx_fixup(port, pmd_id, mp, pkts, n, st);
}

/* The L2 payload that an MTU check should see for 'm', whose whole L2
 * payload is 'payload' bytes: a TCP super-frame leaves as segments of at
 * most l3_len + l4_len + tso_segsz bytes. */
static inline uint32_t
offload_mtu_payload(const struct rte_mbuf *m, uint32_t payload)
{
    if (unlikely(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) {
        uint32_t seg = (uint32_t) m->l3_len + m->l4_len + m->tso_segsz;
        return RTE_MIN(seg, payload);
    }
    return payload;
}

/* Turns what librte_vhost's dequeue reports with
 * RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS (RTE_MBUF_F_RX_L4_CKSUM_NONE: the
 * L4 checksum is partial; RTE_MBUF_F_RX_LRO + tso_segsz: a GSO frame) into
 * the requests above, with l2/l3/l4_len.  Called by the vhost provider on
 * the packets it received, which nobody else holds yet. */
void offload_rx_virtio_slow(struct rte_mbuf *m);

static inline void
offload_rx_virtio(struct rte_mbuf **pkts, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (unlikely((pkts[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK)
                     == RTE_MBUF_F_RX_L4_CKSUM_NONE)) {
            offload_rx_virtio_slow(pkts[i]);
        }
    }
}

#endif
