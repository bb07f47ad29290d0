/* capture - packet capture on a port, the datapath side: what the PMDs do
 * when a capture is active on a port, and the object that carries the
 * copies to the main thread.
 *
 * A capture is a pcapng-formatting copy pool plus a bounded multi-producer
 * ring.  While it is attached to a port (dp_port.capture, published with an
 * atomic store; PMDs read it once per burst), PMDs copy the packets the port
 * receives (capture_port_rx(), right after a non-empty rx burst, before the
 * switch changes anything) and those it sends (capture_port_tx_copy() before
 * the port's tx, capture_port_tx_sent() after it: only what tx actually
 * sent is kept) with rte_pcapng_copy(), which builds each copy as a pcapng
 * Enhanced Packet Block (timestamp, original length, direction, queue) cut
 * to the snap length, and enqueue them on the ring.  The main thread
 * (vswitchd/capture-ctl.c) dequeues and writes them out.  A copy that finds
 * the ring full or no mbuf is freed and counted as a capture drop; traffic
 * is never dropped or delayed beyond the copy.  Without a capture a port
 * costs one predictable branch per burst.
 *
 * A capture may stop by itself after 'count' packets: PMDs reserve from a
 * shared budget before copying and give back what they could not queue, so
 * exactly 'count' packets reach the ring unless the capture is detached
 * first.
 *
 * Life cycle (main thread): capture_create() -> capture_attach(port) ->
 * dequeue ... -> capture_detach() (waits for an RCU grace period) ->
 * capture_destroy().  When the port goes away first, datapath.c calls
 * capture_port_removed() from dp_port_destroy() (the port is unpublished by
 * then) and capture_port_gone() becomes true. */
#ifndef VSWITCH_CAPTURE_H
#define VSWITCH_CAPTURE_H 1

#include <stdbool.h>
#include <stdint.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include "datapath/dp-port-core.h"

struct capture;
struct datapath;

/* Directions, as bits. */
#define CAPTURE_RX   1u
#define CAPTURE_TX   2u
#define CAPTURE_BOTH (CAPTURE_RX | CAPTURE_TX)

#define CAPTURE_SNAPLEN_MAX   262144u   /* As tcpdump's default. */
#define CAPTURE_RING_SIZE     2048u     /* Copies in flight to main. */

struct capture_params {
    unsigned dir;               /* CAPTURE_RX, CAPTURE_TX or both. */
    uint32_t snaplen;           /* 1..CAPTURE_SNAPLEN_MAX. */
    uint64_t count;             /* Stop after this many; 0: no limit. */
    unsigned id;                /* For the pool's name; unique while alive. */
};

/* What a capture has seen so far, summed over PMDs. */
struct capture_stats {
    uint64_t packets;           /* Queued for the main thread. */
    uint64_t bytes;             /* Their original lengths. */
    uint64_t dropped_ring_full; /* The main thread fell behind. */
    uint64_t dropped_no_mbuf;   /* No copy could be made. */
};

/* Creates a capture (its copy pool and ring).  Main thread.  Returns 0 and
 * *cap, or -ENOMEM (no memory for the pool) or -EINVAL. */
int capture_create(const struct capture_params *, struct capture **cap);

/* Frees a detached capture and every copy still in its ring.  Main thread. */
void capture_destroy(struct capture *);

/* Publishes 'cap' on 'port' (attached to a bridge).  Returns 0, or -EBUSY
 * if the port already has a capture.  Main thread. */
int capture_attach(struct capture *, struct dp_port *port);

/* Unpublishes 'cap' from its port, if it still has one, and waits until no
 * PMD copies into it any more.  Afterwards only the main thread touches it.
 * Main thread. */
void capture_detach(struct datapath *, struct capture *);

/* Called by datapath.c when 'port' is about to be freed (no PMD sees it any
 * more): its capture, if any, loses its port. */
void capture_port_removed(struct dp_port *port);

/* True once the port of an attached capture was removed. */
bool capture_port_gone(const struct capture *);

/* The port 'cap' is attached to, or NULL. */
struct dp_port *capture_port(const struct capture *);

/* Dequeues up to 'n' copies (pcapng Enhanced Packet Blocks, see
 * rte_pcapng_copy()) into 'pkts'; the caller frees them.  Main thread. */
unsigned capture_dequeue(struct capture *, struct rte_mbuf **pkts, unsigned n);

void capture_get_stats(const struct capture *, struct capture_stats *);

/* Hot path (PMD threads): the out-of-line parts. */
void capture_rx__(struct capture *, unsigned pmd_id, uint16_t qid,
                  struct rte_mbuf **pkts, uint16_t n);
bool capture_tx_copy__(struct capture *, unsigned pmd_id,
                       struct rte_mbuf **pkts, uint16_t n,
                       struct rte_mbuf **copies);
void capture_tx_sent__(struct capture *, unsigned pmd_id,
                       struct rte_mbuf **copies, uint16_t n, uint16_t sent);

/* PMD 'pmd_id' received 'n' (> 0) packets on queue 'qid' of 'port'. */
static inline void
capture_port_rx(struct dp_port *port, unsigned pmd_id, uint16_t qid,
                struct rte_mbuf **pkts, uint16_t n)
{
    struct capture *cap = __atomic_load_n(&port->capture, __ATOMIC_ACQUIRE);

    if (unlikely(cap != NULL)) {
        capture_rx__(cap, pmd_id, qid, pkts, n);
    }
}

/* PMD 'pmd_id' is about to send the 'n' packets 'pkts' on 'port'.  If the
 * port's transmissions are being captured, copies them into 'copies' (room
 * for n; a NULL entry where no copy could be made) and returns the capture,
 * to be passed to capture_port_tx_sent(); otherwise returns NULL. */
static inline struct capture *
capture_port_tx_copy(struct dp_port *port, unsigned pmd_id,
                     struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **copies)
{
    struct capture *cap = __atomic_load_n(&port->capture, __ATOMIC_ACQUIRE);

    if (likely(cap == NULL)) {
        return NULL;
    }
    return capture_tx_copy__(cap, pmd_id, pkts, n, copies) ? cap : NULL;
}

/* The port's tx sent the first 'sent' of the 'n' packets copied by
 * capture_port_tx_copy(): queues their copies, frees the others. */
static inline void
capture_port_tx_sent(struct capture *cap, unsigned pmd_id,
                     struct rte_mbuf **copies, uint16_t n, uint16_t sent)
{
    capture_tx_sent__(cap, pmd_id, copies, n, sent);
}

/* Sends 'pkts[0..n-1]' (n <= DP_BURST) on 'port' with its ops->tx on behalf
 * of PMD 'pmd_id', counting in 'st', and captures what tx actually sent when
 * a capture is attached to the port.  Takes ownership of the packets, as
 * ops->tx does.  Every transmit of the data path goes through here (pmd.c
 * and offload.c), so a capture sees the frames as they leave, after any
 * software checksum or segmentation. */
static inline void
capture_port_tx(struct dp_port *port, unsigned pmd_id, struct rte_mbuf **pkts,
                uint16_t n, struct dp_stats *st)
{
    struct rte_mbuf *copies[DP_BURST];
    uint64_t before = st->tx_packets;
    struct capture *cap = capture_port_tx_copy(port, pmd_id, pkts, n, copies);

    port->ops->tx(port, pmd_id, pkts, n, st);
    if (unlikely(cap != NULL)) {
        capture_port_tx_sent(cap, pmd_id, copies, n,
                             (uint16_t) (st->tx_packets - before));
    }
}

#endif
