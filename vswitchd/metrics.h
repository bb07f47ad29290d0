/* metrics - the Prometheus metrics endpoint (--metrics-addr HOST:PORT).
 *
 * Serves the switch's counters in the Prometheus text exposition format
 * 0.0.4, or OpenMetrics 1.0.0 to clients that ask for it in their Accept
 * header (lib/promtext.h), over HTTP, with libevent's evhttp on the main
 * event loop: GET (or HEAD) /metrics answers 200 with the page, any other
 * path 404, any other method on /metrics 405.  Every scrape reads the counters
 * afresh through stats.c, the functions port.stats, pmd.stats and fdb.show
 * use, so the numbers agree with vsctl and touch the PMDs' cache lines no
 * more than those do.  Metric names: Documentation/monitoring.md.
 *
 * The listening socket is opened early (metrics_listen(), before EAL and
 * --detach), so that a bad address or a port in use stops the daemon at
 * once with a clear message; metrics_create() then serves it.  Main thread
 * only. */
#ifndef VSWITCH_METRICS_H
#define VSWITCH_METRICS_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/promtext.h"

struct bridge_set;
struct datapath;
struct evbuffer;
struct event_base;
struct metrics;

#define METRICS_HOST_MAX 256

/* Splits 'addr' ("HOST:PORT", "[IPV6]:PORT" or ":PORT" for every address)
 * into 'host' (METRICS_HOST_MAX bytes; "" for every address) and *port
 * (1..65535).  No name resolution.  Returns 0, or -EINVAL with a reason in
 * 'err' ('errlen' bytes). */
int metrics_parse_addr(const char *addr, char *host, uint16_t *port,
                       char *err, size_t errlen);

/* Resolves 'addr' (see metrics_parse_addr()) and returns a listening,
 * non-blocking, close-on-exec TCP socket bound to it.  Returns the socket,
 * or a negative errno with a reason in 'err': -EINVAL if the address is
 * malformed or does not resolve, another errno (-EADDRINUSE, -EACCES,
 * -EADDRNOTAVAIL ...) if it cannot be bound. */
int metrics_listen(const char *addr, char *err, size_t errlen);

/* Serves HTTP on the listening socket 'fd' (from metrics_listen(); owned by
 * the server from now on, even on failure) in 'base', reading 'bs' and 'dp'.
 * Returns 0 and *m, or a negative errno. */
int metrics_create(struct event_base *base, int fd, const struct bridge_set *bs,
                   const struct datapath *dp, struct metrics **m);

/* Closes the socket and every connection; NULL is a no-op. */
void metrics_destroy(struct metrics *);

/* Appends the metrics page (every family, current values) in 'fmt' to
 * 'buf'. */
void metrics_render(const struct bridge_set *, const struct datapath *,
                    enum promtext_format fmt, struct evbuffer *buf);

#endif
