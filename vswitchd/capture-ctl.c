/* capture-ctl - packet capture, control side.  See capture-ctl.h.
 *
 * Each capture is a session: a datapath capture (datapath/capture.h)
 * attached to the port, the connection of the client that asked for it,
 * and an output buffer of pcapng bytes.  A libevent timer runs every
 * CAPTURE_CTL_TICK_MS while any session exists: it dequeues the copies
 * PMDs made (each already a pcapng Enhanced Packet Block, built by
 * rte_pcapng_copy()), appends them to the buffer and sends the buffer to
 * the client, base64-encoded, as "capture.data" notifications.
 *
 * The stream is a complete pcapng file: a Section Header Block and one
 * Interface Description Block (the port: name, Ethernet, snap length,
 * nanosecond timestamps) first, the packets, and at the end an Interface
 * Statistics Block with the packets seen and dropped by the capture.  The
 * two header blocks are written here rather than by rte_pcapng_fdopen():
 * DPDK 22.11's writer describes every ethdev port and maps each packet to
 * one of them, and most of our ports (vhost-user) are not ethdevs.
 *
 * Flow control: while more than CAPTURE_CTL_MAX_PENDING bytes wait in the
 * client's output queue, the session's ring is not drained; the PMDs then
 * find it full and count capture drops.  Traffic is never slowed down. */
#include "vswitchd/capture-ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <rte_version.h>

#define VLOG_MODULE "capture"
#include "lib/vlog.h"
#include "lib/base64.h"
#include "lib/rpc.h"
#include "lib/rpc-server.h"
#include "datapath/capture.h"
#include "datapath/datapath.h"

#define CAPTURE_CTL_MAX_SESSIONS 16
#define CAPTURE_CTL_TICK_MS      2
/* Stop draining a session while its client has this much unread. */
#define CAPTURE_CTL_MAX_PENDING  (4u * 1024 * 1024)
/* Largest chunk of pcapng bytes in one capture.data notification. */
#define CAPTURE_CTL_CHUNK        (256u * 1024)
/* Most copies taken from one ring per tick. */
#define CAPTURE_CTL_MAX_DRAIN    4096
#define CAPTURE_CTL_BURST        64

/* pcapng block types and options (draft-tuexen-opsawg-pcapng). */
#define PCAPNG_SHB          0x0A0D0D0Au
#define PCAPNG_IDB          0x00000001u
#define PCAPNG_ISB          0x00000005u
#define PCAPNG_EPB          0x00000006u
#define PCAPNG_BOM          0x1A2B3C4Du
#define PCAPNG_OPT_END      0
#define PCAPNG_SHB_HARDWARE 2
#define PCAPNG_SHB_OS       3
#define PCAPNG_SHB_USERAPPL 4
#define PCAPNG_IF_NAME      2
#define PCAPNG_IF_DESCR     3
#define PCAPNG_IF_TSRESOL   9
#define PCAPNG_ISB_START    2
#define PCAPNG_ISB_END      3
#define PCAPNG_ISB_IFRECV   4
#define PCAPNG_ISB_IFDROP   5
#define PCAPNG_LINKTYPE_ETHERNET 1

struct capture_session {
    struct capture_session *next;
    unsigned id;
    char port[DP_NAME_MAX];
    unsigned dir;
    uint32_t snaplen;
    uint64_t count;             /* 0: no limit. */
    void *conn;                 /* NULL once the client is gone. */
    struct capture *cap;
    struct evbuffer *out;       /* pcapng bytes not yet sent. */
    uint64_t written;           /* Packets put into the stream. */
    uint64_t written_bytes;     /* Their original lengths. */
    uint64_t start_ns;          /* CLOCK_REALTIME. */
};

struct capture_ctl {
    struct datapath *dp;
    struct rpc_server *server;
    struct event *timer;
    struct capture_session *sessions;
    unsigned n_sessions;
    unsigned next_id;
    bool pdump;                 /* rte_pdump_init() succeeded. */
};

static const char *const dir_names[] = {
    [CAPTURE_RX] = "rx", [CAPTURE_TX] = "tx", [CAPTURE_BOTH] = "both",
};

static uint64_t
realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- pcapng header and trailer blocks ------------------------------------ */

/* A block being built: body bytes after type and length. */
struct pcapng_block {
    uint8_t buf[1024];
    size_t len;
};

static void
block_put(struct pcapng_block *b, const void *data, size_t len)
{
    if (len && b->len + len <= sizeof b->buf) {
        memcpy(b->buf + b->len, data, len);
        b->len += len;
    }
}

static void
block_u16(struct pcapng_block *b, uint16_t v)
{
    block_put(b, &v, sizeof v);
}

static void
block_u32(struct pcapng_block *b, uint32_t v)
{
    block_put(b, &v, sizeof v);
}

/* Adds option 'code' with 'len' bytes of 'data', padded to 32 bits. */
static void
block_opt(struct pcapng_block *b, uint16_t code, const void *data, uint16_t len)
{
    static const uint8_t zero[4];

    block_u16(b, code);
    block_u16(b, len);
    block_put(b, data, len);
    block_put(b, zero, (4 - len % 4) % 4);
}

static void
block_opt_str(struct pcapng_block *b, uint16_t code, const char *s)
{
    block_opt(b, code, s, (uint16_t) strlen(s));
}

/* A 64-bit timestamp as pcapng stores it: high word, then low word. */
static void
block_opt_ts(struct pcapng_block *b, uint16_t code, uint64_t ns)
{
    uint32_t v[2] = { (uint32_t) (ns >> 32), (uint32_t) ns };
    block_opt(b, code, v, sizeof v);
}

/* Appends block 'type' with body 'b' (options ended) to 'out'. */
static void
block_emit(struct evbuffer *out, uint32_t type, struct pcapng_block *b)
{
    block_opt(b, PCAPNG_OPT_END, NULL, 0);
    uint32_t total = (uint32_t) (b->len + 12);
    evbuffer_add(out, &type, 4);
    evbuffer_add(out, &total, 4);
    evbuffer_add(out, b->buf, b->len);
    evbuffer_add(out, &total, 4);
}

/* The Section Header Block and the Interface Description Block of 's'. */
static void
write_header(struct capture_session *s)
{
    struct pcapng_block b = { .len = 0 };
    char text[128];

    block_u32(&b, PCAPNG_BOM);
    block_u16(&b, 1);                       /* Version 1.0. */
    block_u16(&b, 0);
    block_u32(&b, UINT32_MAX);              /* Section length unknown. */
    block_u32(&b, UINT32_MAX);
    snprintf(text, sizeof text, "vswitchd %s (%s)", VSWITCH_VERSION, rte_version());
    block_opt_str(&b, PCAPNG_SHB_USERAPPL, text);
    block_emit(s->out, PCAPNG_SHB, &b);

    b.len = 0;
    block_u16(&b, PCAPNG_LINKTYPE_ETHERNET);
    block_u16(&b, 0);
    block_u32(&b, s->snaplen);
    block_opt_str(&b, PCAPNG_IF_NAME, s->port);
    snprintf(text, sizeof text, "vswitch port %s, direction %s", s->port,
             dir_names[s->dir]);
    block_opt_str(&b, PCAPNG_IF_DESCR, text);
    uint8_t tsresol = 9;                    /* Nanoseconds, as rte_pcapng. */
    block_opt(&b, PCAPNG_IF_TSRESOL, &tsresol, 1);
    block_emit(s->out, PCAPNG_IDB, &b);
}

/* The Interface Statistics Block that ends the stream of 's'. */
static void
write_trailer(struct capture_session *s, const struct capture_stats *st)
{
    struct pcapng_block b = { .len = 0 };
    uint64_t now = realtime_ns();
    uint64_t dropped = st->dropped_ring_full + st->dropped_no_mbuf;
    uint64_t recv = s->written + dropped;

    block_u32(&b, 0);                       /* Interface 0. */
    block_u32(&b, (uint32_t) (now >> 32));
    block_u32(&b, (uint32_t) now);
    block_opt_ts(&b, PCAPNG_ISB_START, s->start_ns);
    block_opt_ts(&b, PCAPNG_ISB_END, now);
    block_opt(&b, PCAPNG_ISB_IFRECV, &recv, sizeof recv);
    block_opt(&b, PCAPNG_ISB_IFDROP, &dropped, sizeof dropped);
    block_emit(s->out, PCAPNG_ISB, &b);
}

/* ---- sessions ------------------------------------------------------------ */

/* Appends copy 'm' (an Enhanced Packet Block from rte_pcapng_copy()) to the
 * stream of 's' as a packet of interface 0, and frees it. */
static void
write_packet(struct capture_session *s, struct rte_mbuf *m)
{
    uint32_t *epb = rte_pktmbuf_mtod(m, uint32_t *);

    if (rte_pktmbuf_data_len(m) < 28 || epb[0] != PCAPNG_EPB
        || epb[1] != rte_pktmbuf_pkt_len(m)) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
        VLOG_WARN_RL(&rl, "capture %u: malformed copy skipped", s->id);
        rte_pktmbuf_free(m);
        return;
    }
    epb[2] = 0;                             /* Our only interface. */
    s->written++;
    s->written_bytes += epb[6];             /* Original length. */
    for (struct rte_mbuf *seg = m; seg; seg = seg->next) {
        evbuffer_add(s->out, rte_pktmbuf_mtod(seg, void *), rte_pktmbuf_data_len(seg));
    }
    rte_pktmbuf_free(m);
}

/* Sends what the buffer of 's' holds as capture.data notifications. */
static void
flush_session(struct capture_ctl *ctl, struct capture_session *s)
{
    size_t left;

    while (s->conn && (left = evbuffer_get_length(s->out)) > 0) {
        size_t n = left < CAPTURE_CTL_CHUNK ? left : CAPTURE_CTL_CHUNK;
        unsigned char *raw = evbuffer_pullup(s->out, (ssize_t) n);
        char *text = malloc(base64_encoded_len(n) + 1);
        if (!raw || !text) {
            free(text);
            VLOG_WARN("capture %u: out of memory, dropping its client", s->id);
            s->conn = NULL;
            break;
        }
        size_t len = base64_encode(raw, n, text);
        evbuffer_drain(s->out, n);
        struct json_object *params = json_object_new_object();
        json_object_object_add(params, "id", json_object_new_int((int) s->id));
        json_object_object_add(params, "data", json_object_new_string_len(text, (int) len));
        free(text);
        if (rpc_server_send(ctl->server, s->conn, "capture.data", params)) {
            s->conn = NULL;
        }
    }
    if (!s->conn) {
        evbuffer_drain(s->out, evbuffer_get_length(s->out));
    }
}

/* Moves up to 'max' copies from the ring of 's' into its buffer, stopping
 * at the count limit.  Returns how many were taken. */
static unsigned
drain_session(struct capture_session *s, unsigned max)
{
    struct rte_mbuf *pkts[CAPTURE_CTL_BURST];
    unsigned total = 0, n;

    while (total < max
           && (n = capture_dequeue(s->cap, pkts, CAPTURE_CTL_BURST)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            if (s->count && s->written >= s->count) {
                rte_pktmbuf_free(pkts[i]);  /* Cannot happen: budgeted. */
            } else {
                write_packet(s, pkts[i]);
            }
        }
        total += n;
    }
    return total;
}

/* Stats of 's' as JSON (port.capture_list entries, capture.end params). */
static struct json_object *
session_json(const struct capture_session *s)
{
    struct capture_stats st;
    struct json_object *o = json_object_new_object();

    capture_get_stats(s->cap, &st);
    json_object_object_add(o, "id", json_object_new_int((int) s->id));
    json_object_object_add(o, "port", json_object_new_string(s->port));
    json_object_object_add(o, "direction", json_object_new_string(dir_names[s->dir]));
    json_object_object_add(o, "snaplen", json_object_new_int64(s->snaplen));
    json_object_object_add(o, "count", json_object_new_uint64(s->count));
    json_object_object_add(o, "packets", json_object_new_uint64(s->written));
    json_object_object_add(o, "bytes", json_object_new_uint64(s->written_bytes));
    json_object_object_add(o, "dropped", json_object_new_uint64(
                               st.dropped_ring_full + st.dropped_no_mbuf));
    json_object_object_add(o, "dropped_ring_full",
                           json_object_new_uint64(st.dropped_ring_full));
    json_object_object_add(o, "dropped_no_mbuf",
                           json_object_new_uint64(st.dropped_no_mbuf));
    return o;
}

/* Unlinks and frees 's' (its capture detached first). */
static void
free_session(struct capture_ctl *ctl, struct capture_session *s)
{
    for (struct capture_session **p = &ctl->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    ctl->n_sessions--;
    if (s->conn) {
        /* Its client may be timed out for idleness again, unless it has
         * another capture. */
        bool more = false;
        for (struct capture_session *o = ctl->sessions; o; o = o->next) {
            more |= o->conn == s->conn;
        }
        if (!more) {
            rpc_server_keep_open(ctl->server, s->conn, false);
        }
    }
    capture_detach(ctl->dp, s->cap);
    capture_destroy(s->cap);
    evbuffer_free(s->out);
    free(s);
    if (!ctl->sessions) {
        evtimer_del(ctl->timer);
    }
}

/* Ends 's' for 'reason': stops the copies, sends the client everything
 * captured, the statistics block and "capture.end", and frees 's'.  Returns
 * the capture.end params as a new reference if 'result', else NULL. */
static struct json_object *
end_session(struct capture_ctl *ctl, struct capture_session *s,
            const char *reason, bool result)
{
    struct capture_stats st;

    capture_detach(ctl->dp, s->cap);
    drain_session(s, UINT32_MAX);
    capture_get_stats(s->cap, &st);
    write_trailer(s, &st);
    flush_session(ctl, s);

    struct json_object *end = session_json(s);
    json_object_object_add(end, "reason", json_object_new_string(reason));
    VLOG_INFO("capture %u on %s ended (%s): %"PRIu64" packets, %"PRIu64
              " dropped", s->id, s->port, reason, s->written,
              st.dropped_ring_full + st.dropped_no_mbuf);
    struct json_object *ret = result ? json_object_get(end) : NULL;
    if (s->conn) {
        rpc_server_send(ctl->server, s->conn, "capture.end", end);
    } else {
        json_object_put(end);
    }
    free_session(ctl, s);
    return ret;
}

/* The timer: moves copies to clients, follows ports, ends sessions. */
static void
on_tick(evutil_socket_t fd, short what, void *ctl_)
{
    struct capture_ctl *ctl = ctl_;
    struct capture_session *s, *next;
    (void) fd;
    (void) what;

    for (s = ctl->sessions; s; s = next) {
        next = s->next;
        if (!s->conn) {
            VLOG_INFO("capture %u on %s: client gone, stopping", s->id, s->port);
            free_session(ctl, s);
            continue;
        }
        if (rpc_server_output_pending(ctl->server, s->conn) < CAPTURE_CTL_MAX_PENDING) {
            drain_session(s, CAPTURE_CTL_MAX_DRAIN);
            flush_session(ctl, s);
        }
        if (s->conn && s->count && s->written >= s->count) {
            end_session(ctl, s, "count", false);
        } else if (s->conn && capture_port_gone(s->cap)) {
            /* Re-created under the same name (port.set): follow it. */
            struct dp_port *p = datapath_find_port(ctl->dp, s->port);
            if (p && !capture_attach(s->cap, p)) {
                VLOG_INFO("capture %u: port %s was re-created, capturing on",
                          s->id, s->port);
            } else {
                end_session(ctl, s, "port deleted", false);
            }
        }
    }
}

/* rpc_server close callback: sessions of 'conn' lose their client; the
 * next tick frees them (not here: this may run inside a send). */
static void
on_conn_close(void *conn, void *ctl_)
{
    struct capture_ctl *ctl = ctl_;

    for (struct capture_session *s = ctl->sessions; s; s = s->next) {
        if (s->conn == conn) {
            s->conn = NULL;
        }
    }
}

/* ---- JSON-RPC methods ---------------------------------------------------- */

/* Integer member 'key' of 'params' in [min, max] into *v (unchanged if
 * absent; required: an error). */
static int
get_uint(struct json_object *params, const char *key, bool required,
         uint64_t min, uint64_t max, uint64_t *v, struct rpc_error *error)
{
    struct json_object *o = params ? json_object_object_get(params, key) : NULL;

    if (!o) {
        return required ? rpc_error_set(error, RPC_ERR_INVALID_PARAMS,
                                        "missing parameter \"%s\"", key) : 0;
    }
    errno = 0;
    int64_t x = json_object_get_int64(o);
    if (!json_object_is_type(o, json_type_int) || errno || x < 0
        || (uint64_t) x < min || (uint64_t) x > max) {
        return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "parameter \"%s\" must "
                             "be an integer from %"PRIu64" to %"PRIu64, key, min, max);
    }
    *v = (uint64_t) x;
    return 0;
}

static struct capture_session *
find_session(struct capture_ctl *ctl, uint64_t id)
{
    for (struct capture_session *s = ctl->sessions; s; s = s->next) {
        if (s->id == id) {
            return s;
        }
    }
    return NULL;
}

static int
m_capture(void *conn, struct json_object *params, void *aux,
          struct json_object **result, struct rpc_error *error)
{
    static const char *const allowed[] = { "name", "direction", "count",
                                           "snaplen", NULL };
    struct capture_ctl *ctl = aux;
    struct json_object *o;
    uint64_t count = 0, snaplen = CAPTURE_SNAPLEN_MAX;
    unsigned dir = CAPTURE_BOTH;
    const char *name;

    if (rpc_params_check(params, allowed, error)) {
        return error->code;
    }
    o = params ? json_object_object_get(params, "name") : NULL;
    if (!o || !json_object_is_type(o, json_type_string)) {
        return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "parameter \"name\" "
                             "(a port name string) is required");
    }
    name = json_object_get_string(o);
    o = params ? json_object_object_get(params, "direction") : NULL;
    if (o) {
        const char *d = json_object_is_type(o, json_type_string)
                        ? json_object_get_string(o) : "";
        dir = !strcmp(d, "rx") ? CAPTURE_RX : !strcmp(d, "tx") ? CAPTURE_TX
              : !strcmp(d, "both") ? CAPTURE_BOTH : 0;
        if (!dir) {
            return rpc_error_set(error, RPC_ERR_INVALID_PARAMS, "parameter "
                                 "\"direction\" must be \"rx\", \"tx\" or \"both\"");
        }
    }
    if (get_uint(params, "count", false, 0, INT64_MAX, &count, error)
        || get_uint(params, "snaplen", false, 1, CAPTURE_SNAPLEN_MAX, &snaplen, error)) {
        return error->code;
    }
    if (!conn || !ctl->server) {
        return rpc_error_set(error, RPC_ERR_INVALID_REQUEST,
                             "port.capture needs a connection to stream to");
    }
    struct dp_port *port = datapath_find_port(ctl->dp, name);
    if (!port) {
        return rpc_error_set(error, RPC_ERR_NOT_FOUND, "no running port \"%s\"", name);
    }
    for (struct capture_session *s = ctl->sessions; s; s = s->next) {
        if (capture_port(s->cap) == port) {
            rpc_error_set(error, RPC_ERR_FAILED, "port %s is already being "
                          "captured (capture %u)", name, s->id);
            error->data = json_object_new_object();
            json_object_object_add(error->data, "errno", json_object_new_string("EBUSY"));
            return error->code;
        }
    }
    if (ctl->n_sessions >= CAPTURE_CTL_MAX_SESSIONS) {
        return rpc_error_set(error, RPC_ERR_LIMIT, "at most %d captures at a time",
                             CAPTURE_CTL_MAX_SESSIONS);
    }

    struct capture_session *s = calloc(1, sizeof *s);
    if (!s || !(s->out = evbuffer_new())) {
        free(s);
        return rpc_error_set(error, RPC_ERR_FAILED, "out of memory");
    }
    s->id = ctl->next_id++;
    snprintf(s->port, sizeof s->port, "%s", name);
    s->dir = dir;
    s->snaplen = (uint32_t) snaplen;
    s->count = count;
    s->conn = conn;
    s->start_ns = realtime_ns();
    struct capture_params cp = {
        .dir = dir, .snaplen = (uint32_t) snaplen, .count = count, .id = s->id,
    };
    int rc = capture_create(&cp, &s->cap);
    if (rc) {
        evbuffer_free(s->out);
        free(s);
        rpc_error_set(error, RPC_ERR_FAILED, "cannot set up the capture's "
                      "buffers: %s", strerror(-rc));
        error->data = json_object_new_object();
        json_object_object_add(error->data, "errno", json_object_new_string(
                                   strerrorname_np(-rc) ? strerrorname_np(-rc) : "?"));
        return error->code;
    }
    write_header(s);
    capture_attach(s->cap, port);       /* Cannot fail: checked above. */
    s->next = ctl->sessions;
    ctl->sessions = s;
    ctl->n_sessions++;
    rpc_server_keep_open(ctl->server, conn, true);
    if (!evtimer_pending(ctl->timer, NULL)) {
        struct timeval tv = { 0, CAPTURE_CTL_TICK_MS * 1000 };
        evtimer_add(ctl->timer, &tv);
    }
    VLOG_INFO("capture %u on %s started (direction %s, snaplen %"PRIu64", "
              "count %"PRIu64")", s->id, name, dir_names[dir], snaplen, count);

    *result = json_object_new_object();
    json_object_object_add(*result, "id", json_object_new_int((int) s->id));
    json_object_object_add(*result, "port", json_object_new_string(name));
    json_object_object_add(*result, "direction", json_object_new_string(dir_names[dir]));
    json_object_object_add(*result, "snaplen", json_object_new_int64((int64_t) snaplen));
    json_object_object_add(*result, "count", json_object_new_uint64(count));
    return 0;
}

static int
m_capture_stop(void *conn, struct json_object *params, void *aux,
               struct json_object **result, struct rpc_error *error)
{
    static const char *const allowed[] = { "id", NULL };
    struct capture_ctl *ctl = aux;
    uint64_t id = 0;
    (void) conn;

    if (rpc_params_check(params, allowed, error)
        || get_uint(params, "id", true, 0, UINT32_MAX, &id, error)) {
        return error->code;
    }
    struct capture_session *s = find_session(ctl, id);
    if (!s || !s->conn) {
        return rpc_error_set(error, RPC_ERR_NOT_FOUND, "no capture %"PRIu64, id);
    }
    *result = end_session(ctl, s, "stopped", true);
    return 0;
}

static int
m_capture_list(void *conn, struct json_object *params, void *aux,
               struct json_object **result, struct rpc_error *error)
{
    static const char *const allowed[] = { NULL };
    struct capture_ctl *ctl = aux;
    (void) conn;

    if (rpc_params_check(params, allowed, error)) {
        return error->code;
    }
    struct json_object *list = json_object_new_array();
    for (struct capture_session *s = ctl->sessions; s; s = s->next) {
        if (s->conn) {
            json_object_array_add(list, session_json(s));
        }
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "captures", list);
    return 0;
}

int
capture_ctl_create(struct datapath *dp, struct event_base *base,
                   struct rpc_server *server, struct rpc_dispatcher *d,
                   struct capture_ctl **ctlp)
{
    struct capture_ctl *ctl = calloc(1, sizeof *ctl);
    int rc;

    *ctlp = NULL;
    if (!ctl) {
        return -ENOMEM;
    }
    ctl->dp = dp;
    ctl->server = server;
    ctl->next_id = 1;
    ctl->timer = event_new(base, -1, EV_PERSIST, on_tick, ctl);
    if (!ctl->timer) {
        free(ctl);
        return -ENOMEM;
    }
    if ((rc = rpc_register(d, "port.capture", m_capture, ctl))
        || (rc = rpc_register(d, "port.capture_stop", m_capture_stop, ctl))
        || (rc = rpc_register(d, "port.capture_list", m_capture_list, ctl))) {
        event_free(ctl->timer);
        free(ctl);
        return rc;
    }
    rpc_server_set_close_cb(server, on_conn_close, ctl);

    /* dpdk-dumpcap (a secondary process) asks for captures on ethdev ports
     * through this; see Documentation/howto-capture.md for when it can
     * attach at all. */
    if (rte_pdump_init() == 0) {
        const char *dir = rte_eal_get_runtime_dir();
        const char *prefix = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        ctl->pdump = true;
        if (rte_eal_has_hugepages()) {
            VLOG_INFO("dpdk-dumpcap --file-prefix=%s can capture on dpdk ports "
                      "if vswitchd was started with -- --huge-unlink=never", prefix);
        } else {
            VLOG_INFO("dpdk-dumpcap cannot attach without hugepages (EAL file "
                      "prefix %s); vsctl capture works on every port", prefix);
        }
    } else {
        VLOG_WARN("rte_pdump_init failed: dpdk-dumpcap will not work");
    }
    *ctlp = ctl;
    return 0;
}

void
capture_ctl_destroy(struct capture_ctl *ctl)
{
    if (!ctl) {
        return;
    }
    while (ctl->sessions) {
        struct capture_session *s = ctl->sessions;
        if (s->conn) {
            end_session(ctl, s, "shutdown", false);
        } else {
            free_session(ctl, s);
        }
    }
    rpc_server_set_close_cb(ctl->server, NULL, NULL);
    if (ctl->pdump) {
        rte_pdump_uninit();
    }
    event_free(ctl->timer);
    free(ctl);
}
