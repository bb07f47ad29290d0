/* telemetry - vswitchd's counters as DPDK telemetry commands.
 *
 * Registers the /vswitch/... commands with librte_telemetry, so that the stock
 * dpdk-telemetry.py (and any client of the telemetry socket
 * <runtime dir>/dpdk/<file-prefix>/dpdk_telemetry.v2) reads the port, PMD
 * and FDB counters:
 *   /vswitch/ports           port names (array)
 *   /vswitch/port,NAME       one port's port.stats counters, plus "bridge"
 *                            and "type" (dict)
 *   /vswitch/bridges         bridge names (array)
 *   /vswitch/fdb,BRIDGE      one bridge's FDB counters, as fdb.show "stats"
 *   /vswitch/pmds            every PMD's pmd.stats counters, one array per
 *                            counter indexed by PMD, plus the mbuf pool
 *   /vswitch/pmd,ID          one PMD's counters (dict)
 * (Documentation/monitoring.md.)
 *
 * DPDK runs the command callbacks on its telemetry threads (one per client
 * connection), while the bridge model belongs to the main thread.  A
 * callback therefore never reads the model itself: it queues its request
 * for the main thread, wakes the main loop through a pipe and waits, up to
 * TELEMETRY_TIMEOUT_MS, for the answer, which the main thread computes with
 * the functions of stats.c (the same as port.stats, pmd.stats, fdb.show)
 * and hands back as a JSON object; the callback converts it to the
 * telemetry reply.  A request the main thread does not answer in time gets
 * an error (null) reply, and the main thread never sees it afterwards.
 *
 * librte_telemetry's callbacks take no user pointer and cannot be
 * unregistered, so this module's state is a file-scope singleton that
 * outlives telemetry_stop() (which makes later requests fail at once). */
#ifndef VSWITCH_TELEMETRY_H
#define VSWITCH_TELEMETRY_H 1

struct bridge_set;
struct datapath;
struct event_base;

/* How long a telemetry request waits for the main thread. */
#define TELEMETRY_TIMEOUT_MS 5000

/* Starts answering telemetry requests from the main loop 'base', reading
 * 'bs' and 'dp'; registers the commands the first time.  Main thread, after
 * rte_eal_init().  Returns 0 or a negative errno. */
int telemetry_start(struct event_base *base, const struct bridge_set *bs,
                    const struct datapath *dp);

/* Stops answering: pending and later requests fail at once.  Main thread,
 * before 'bs', 'dp' or 'base' are destroyed.  Idempotent. */
void telemetry_stop(void);

#endif
