/* metrics - the Prometheus metrics endpoint.  See metrics.h. */
#include "vswitchd/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <rte_version.h>

#define VLOG_MODULE "metrics"
#include "lib/vlog.h"
#include "lib/promtext.h"
#include "vswitchd/stats.h"

/* HTTP limits: a scrape is one small GET. */
#define METRICS_MAX_HEADERS 8192
#define METRICS_MAX_BODY    4096
#define METRICS_TIMEOUT_S   10

struct metrics {
    struct evhttp *http;
    const struct bridge_set *bs;
    const struct datapath *dp;
};

/* ---- Address ------------------------------------------------------------ */

int
metrics_parse_addr(const char *addr, char *host, uint16_t *port, char *err,
                   size_t errlen)
{
    const char *colon, *h = addr;
    size_t hlen;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "\"%s\": expected [IPV6-ADDRESS]:PORT", addr);
            return -EINVAL;
        }
        h = addr + 1;
        hlen = (size_t) (close - h);
        colon = close + 1;
        if (!hlen) {
            snprintf(err, errlen, "\"%s\": empty IPv6 address", addr);
            return -EINVAL;
        }
    } else {
        colon = strrchr(addr, ':');
        if (!colon) {
            snprintf(err, errlen, "\"%s\": expected HOST:PORT (e.g. 127.0.0.1:9100, "
                     "[::1]:9100, or :9100 for every address)", addr);
            return -EINVAL;
        }
        hlen = (size_t) (colon - addr);
        if (memchr(addr, ':', hlen)) {
            snprintf(err, errlen, "\"%s\": write an IPv6 address in brackets, "
                     "e.g. [::1]:9100", addr);
            return -EINVAL;
        }
    }
    if (hlen >= METRICS_HOST_MAX) {
        snprintf(err, errlen, "\"%s\": host name too long", addr);
        return -EINVAL;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char) h[i];
        if (c <= ' ' || c >= 127 || c == '/' || c == '[' || c == ']') {
            snprintf(err, errlen, "\"%s\": invalid character in host", addr);
            return -EINVAL;
        }
    }
    const char *p = colon + 1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (!*p || *p < '0' || *p > '9' || *end || errno || v < 1 || v > 65535) {
        snprintf(err, errlen, "\"%s\": port must be a number from 1 to 65535", addr);
        return -EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t) v;
    return 0;
}

/* Returns a socket listening on the first address of 'res' that takes it,
 * or the negative errno of the last failure.  'wildcard': IPv6 sockets
 * take IPv4 too. */
static int
listen_first(const struct addrinfo *res, bool wildcard)
{
    int rc = -EADDRNOTAVAIL;

    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6 && wildcard) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        }
        if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64)) {
            return fd;
        }
        rc = -errno;
        close(fd);
    }
    return rc;
}

int
metrics_listen(const char *addr, char *err, size_t errlen)
{
    char host[METRICS_HOST_MAX], service[8];
    uint16_t port;
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    }, *res;
    int rc = metrics_parse_addr(addr, host, &port, err, errlen);

    if (rc) {
        return rc;
    }
    snprintf(service, sizeof service, "%u", port);
    if (!host[0]) {
        /* Every address: IPv6 with IPv4 mapped, or IPv4 alone where the
         * kernel has no IPv6. */
        static const int families[] = { AF_INET6, AF_INET };
        rc = -EAFNOSUPPORT;
        for (size_t i = 0; i < 2 && rc == -EAFNOSUPPORT; i++) {
            hints.ai_family = families[i];
            if (!getaddrinfo(NULL, service, &hints, &res)) {
                rc = listen_first(res, true);
                freeaddrinfo(res);
            }
        }
    } else {
        hints.ai_family = AF_UNSPEC;
        hints.ai_flags |= AI_ADDRCONFIG;
        int gai = getaddrinfo(host, service, &hints, &res);
        if (gai) {
            snprintf(err, errlen, "\"%s\": cannot resolve \"%s\": %s", addr, host,
                     gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
            return -EINVAL;
        }
        rc = listen_first(res, false);
        freeaddrinfo(res);
    }
    if (rc >= 0) {
        return rc;
    }
    snprintf(err, errlen, "cannot listen on %s: %s%s", addr, strerror(-rc),
             rc == -EADDRINUSE ? " (another process uses that port: choose "
             "another one)" : "");
    return rc;
}

/* ---- The page ----------------------------------------------------------- */

/* One port's counters, copied out of the stats_port_cb call. */
struct port_row {
    char bridge[DP_NAME_MAX];
    char name[DP_NAME_MAX];
    char type[32];
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t drops[DP_N_DROPS];
    struct json_object *extra;      /* Reference. */
};

struct port_rows {
    unsigned n;
    struct port_row *rows;          /* DP_MAX_PORTS of them. */
};

static void
copy_port(const struct stats_port *sp, void *aux)
{
    struct port_rows *pr = aux;

    if (pr->n >= DP_MAX_PORTS) {
        return;
    }
    struct port_row *r = &pr->rows[pr->n++];
    snprintf(r->bridge, sizeof r->bridge, "%s", sp->bridge);
    snprintf(r->name, sizeof r->name, "%s", sp->name);
    snprintf(r->type, sizeof r->type, "%s", sp->type);
    r->rx_packets = sp->rx_packets;
    r->rx_bytes = sp->rx_bytes;
    r->tx_packets = sp->tx_packets;
    r->tx_bytes = sp->tx_bytes;
    memcpy(r->drops, sp->drops, sizeof r->drops);
    r->extra = json_object_get(sp->extra);
}

/* The per-port families whose value is a member of struct port_row. */
static const struct {
    const char *name;
    const char *help;
    size_t offset;
} port_counters[] = {
    { "vswitch_port_rx_packets_total",
      "Packets the switch received from the port (what its frontend sent).",
      offsetof(struct port_row, rx_packets) },
    { "vswitch_port_rx_bytes_total", "Bytes the switch received from the port.",
      offsetof(struct port_row, rx_bytes) },
    { "vswitch_port_tx_packets_total",
      "Packets the switch sent to the port (what its frontend received).",
      offsetof(struct port_row, tx_packets) },
    { "vswitch_port_tx_bytes_total", "Bytes the switch sent to the port.",
      offsetof(struct port_row, tx_bytes) },
};

static void
render_ports(struct port_rows *pr, enum promtext_format fmt, struct evbuffer *buf)
{
    promtext_family(buf, fmt, "vswitch_port_info", "gauge",
                    "Every configured port, with its bridge and type; always 1.");
    for (unsigned i = 0; i < pr->n; i++) {
        const struct port_row *r = &pr->rows[i];
        const char *labels[] = { "bridge", r->bridge, "port", r->name,
                                 "type", r->type, NULL };
        promtext_sample(buf, "vswitch_port_info", labels, 1);
    }
    for (size_t c = 0; c < sizeof port_counters / sizeof port_counters[0]; c++) {
        promtext_family(buf, fmt, port_counters[c].name, "counter", port_counters[c].help);
        for (unsigned i = 0; i < pr->n; i++) {
            const struct port_row *r = &pr->rows[i];
            const char *labels[] = { "bridge", r->bridge, "port", r->name, NULL };
            uint64_t v;
            memcpy(&v, (const char *) r + port_counters[c].offset, sizeof v);
            promtext_sample(buf, port_counters[c].name, labels, v);
        }
    }
    promtext_family(buf, fmt, "vswitch_port_dropped_packets_total", "counter",
                    "Packets dropped, by direction (rx: received from the port, "
                    "tx: to be sent to it) and reason (see port.stats).");
    for (unsigned i = 0; i < pr->n; i++) {
        const struct port_row *r = &pr->rows[i];
        for (unsigned d = 0; d < DP_N_DROPS; d++) {
            char dir[3];
            const char *reason;
            if (!stats_drop_split(dp_drop_name(d), dir, &reason)) {
                continue;
            }
            const char *labels[] = { "bridge", r->bridge, "port", r->name,
                                     "direction", dir, "reason", reason, NULL };
            promtext_sample(buf, "vswitch_port_dropped_packets_total", labels,
                            r->drops[d]);
        }
    }

    /* The port types' own counters (e.g. a dpdk port's rx_missed), one
     * family per name, in the order they first appear. */
    struct json_object *done = json_object_new_object();
    for (unsigned i = 0; i < pr->n; i++) {
        json_object_object_foreach(pr->rows[i].extra, key, val) {
            char name[128], help[192];
            if (!json_object_is_type(val, json_type_int)
                || json_object_object_get_ex(done, key, NULL)) {
                continue;
            }
            json_object_object_add(done, key, NULL);
            snprintf(name, sizeof name, "vswitch_port_%s_total", key);
            if (!promtext_metric_name_valid(name)) {
                continue;
            }
            snprintf(help, sizeof help, "Port type counter %s (port.stats member "
                     "\"%s\"; only ports whose type has it).", key, key);
            promtext_family(buf, fmt, name, "counter", help);
            for (unsigned j = i; j < pr->n; j++) {
                struct json_object *v;
                if (json_object_object_get_ex(pr->rows[j].extra, key, &v)
                    && json_object_is_type(v, json_type_int)) {
                    const char *labels[] = { "bridge", pr->rows[j].bridge,
                                             "port", pr->rows[j].name, NULL };
                    promtext_sample(buf, name, labels, json_object_get_uint64(v));
                }
            }
        }
    }
    json_object_put(done);
}

static void
render_pmds(const struct datapath *dp, enum promtext_format fmt, struct evbuffer *buf)
{
    static const struct {
        const char *name;
        const char *help;
        size_t offset;
    } counters[] = {
        { "vswitch_pmd_rx_packets_total", "Packets the PMD thread received.",
          offsetof(struct dp_pmd_stats, rx_packets) },
        { "vswitch_pmd_tx_packets_total", "Packets the PMD thread sent.",
          offsetof(struct dp_pmd_stats, tx_packets) },
        { "vswitch_pmd_iterations_total", "Iterations of the PMD thread's loop.",
          offsetof(struct dp_pmd_stats, iterations) },
        { "vswitch_pmd_busy_cycles_total",
          "TSC cycles of the PMD thread spent in iterations that received packets.",
          offsetof(struct dp_pmd_stats, busy_cycles) },
        { "vswitch_pmd_idle_cycles_total",
          "TSC cycles of the PMD thread spent in iterations that received nothing.",
          offsetof(struct dp_pmd_stats, idle_cycles) },
    };
    struct stats_pmds sp;

    stats_pmds_read(dp, &sp);
    for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
        promtext_family(buf, fmt, counters[c].name, "counter", counters[c].help);
        for (unsigned i = 0; i < sp.n; i++) {
            char pmd[16], core[16];
            snprintf(pmd, sizeof pmd, "%u", sp.pmd[i].pmd_id);
            snprintf(core, sizeof core, "%u", sp.pmd[i].core);
            const char *labels[] = { "pmd", pmd, "core", core, NULL };
            uint64_t v;
            memcpy(&v, (const char *) &sp.pmd[i] + counters[c].offset, sizeof v);
            promtext_sample(buf, counters[c].name, labels, v);
        }
    }
    promtext_family(buf, fmt, "vswitch_mbuf_pool_size", "gauge",
                    "Packet buffers (mbufs) in the switch's pool.");
    promtext_sample(buf, "vswitch_mbuf_pool_size", NULL, sp.mbufs_total);
    promtext_family(buf, fmt, "vswitch_mbuf_pool_in_use", "gauge",
                    "Packet buffers taken from the pool.");
    promtext_sample(buf, "vswitch_mbuf_pool_in_use", NULL, sp.mbufs_in_use);
}

/* FDB counters of up to DP_MAX_BRIDGES bridges. */
struct fdb_rows {
    unsigned n;
    char bridge[DP_MAX_BRIDGES][DP_NAME_MAX];
    struct stats_fdb sf[DP_MAX_BRIDGES];
};

static void
copy_fdb(const struct stats_fdb *sf, void *aux)
{
    struct fdb_rows *fr = aux;

    if (fr->n < DP_MAX_BRIDGES) {
        snprintf(fr->bridge[fr->n], DP_NAME_MAX, "%s", sf->bridge);
        fr->sf[fr->n] = *sf;
        fr->sf[fr->n].bridge = fr->bridge[fr->n];
        fr->n++;
    }
}

static void
render_fdbs(const struct bridge_set *bs, enum promtext_format fmt,
            struct evbuffer *buf)
{
#define FDB_OFF(M) offsetof(struct stats_fdb, M)
    static const struct {
        const char *name;
        const char *type;
        const char *help;
        size_t offset;
    } counters[] = {
        { "vswitch_fdb_entries", "gauge", "MAC addresses in the bridge's FDB.",
          FDB_OFF(fdb.entries) },
        { "vswitch_fdb_max_entries", "gauge", "Size limit of the FDB (mac-table-size).",
          FDB_OFF(max_entries) },
        { "vswitch_fdb_ageing_seconds", "gauge",
          "Idle time after which FDB entries age out (mac-aging-time).",
          FDB_OFF(ageing_time) },
        { "vswitch_fdb_learned_total", "counter", "FDB entries learned.",
          FDB_OFF(fdb.learned) },
        { "vswitch_fdb_moved_total", "counter",
          "FDB entries whose port changed (MAC moves).", FDB_OFF(fdb.moved) },
        { "vswitch_fdb_aged_total", "counter", "FDB entries aged out.",
          FDB_OFF(fdb.aged) },
        { "vswitch_fdb_flushed_total", "counter",
          "FDB entries removed by flushes (fdb-flush, port removal, VLAN changes).",
          FDB_OFF(fdb.flushed) },
        { "vswitch_fdb_full_total", "counter",
          "MAC addresses not learned because the FDB was full.", FDB_OFF(fdb.full) },
    };
#undef FDB_OFF
    struct fdb_rows *fr = calloc(1, sizeof *fr);
    char err[256];

    if (!fr) {
        return;
    }
    stats_fdbs_read(bs, NULL, copy_fdb, fr, err);
    for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
        promtext_family(buf, fmt, counters[c].name, counters[c].type, counters[c].help);
        for (unsigned i = 0; i < fr->n; i++) {
            const char *labels[] = { "bridge", fr->bridge[i], NULL };
            uint64_t v;
            memcpy(&v, (const char *) &fr->sf[i] + counters[c].offset, sizeof v);
            promtext_sample(buf, counters[c].name, labels, v);
        }
    }
    free(fr);
}

void
metrics_render(const struct bridge_set *bs, const struct datapath *dp,
               enum promtext_format fmt, struct evbuffer *buf)
{
    struct port_rows pr = { .rows = calloc(DP_MAX_PORTS, sizeof *pr.rows) };
    char err[256];

    promtext_family(buf, fmt, "vswitch_build_info", "gauge",
                    "vswitchd's version and the DPDK it runs on; always 1.");
    const char *labels[] = { "version", VSWITCH_VERSION, "dpdk", rte_version(), NULL };
    promtext_sample(buf, "vswitch_build_info", labels, 1);
    if (pr.rows) {
        stats_ports_read(bs, NULL, copy_port, &pr, err);
        render_ports(&pr, fmt, buf);
        for (unsigned i = 0; i < pr.n; i++) {
            json_object_put(pr.rows[i].extra);
        }
        free(pr.rows);
    }
    render_pmds(dp, fmt, buf);
    render_fdbs(bs, fmt, buf);
    promtext_finish(buf, fmt);
}

/* ---- HTTP --------------------------------------------------------------- */

static void
send_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evbuffer *body = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body) {
        evbuffer_add(body, text, strlen(text));
    }
    evhttp_send_reply(req, code, reason, body);
    if (body) {
        evbuffer_free(body);
    }
}

static void
on_request(struct evhttp_request *req, void *aux)
{
    struct metrics *m = aux;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    if (!path || strcmp(path, "/metrics")) {
        send_text(req, HTTP_NOTFOUND, "Not Found",
                  "404 not found: the metrics are at /metrics\n");
        return;
    }
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        send_text(req, 405, "Method Not Allowed",
                  "405 method not allowed: use GET\n");
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        send_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    enum promtext_format fmt = promtext_negotiate(
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"));
    metrics_render(m->bs, m->dp, fmt, body);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      promtext_content_type(fmt));
    evhttp_send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

int
metrics_create(struct event_base *base, int fd, const struct bridge_set *bs,
               const struct datapath *dp, struct metrics **mp)
{
    struct metrics *m = calloc(1, sizeof *m);

    if (!m || !(m->http = evhttp_new(base))) {
        free(m);
        close(fd);
        return -ENOMEM;
    }
    m->bs = bs;
    m->dp = dp;
    /* Every method reaches on_request(), which answers 405 itself. */
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST
                               | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                               | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE
                               | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
    evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
    evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
    evhttp_set_gencb(m->http, on_request, m);
    if (!evhttp_accept_socket_with_handle(m->http, fd)) {
        evhttp_free(m->http);
        free(m);
        close(fd);
        return -ENOMEM;
    }
    *mp = m;
    return 0;
}

void
metrics_destroy(struct metrics *m)
{
    if (m) {
        evhttp_free(m->http);
        free(m);
    }
}
