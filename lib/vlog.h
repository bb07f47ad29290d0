/* vlog - the daemon's logging.
 *
 * One line per message: "<time>|<level>|<module>|<text>".  Usable from any
 * thread (each message is a single write per destination).  Never use it per
 * packet: the hot path counts instead of logging.  Modules define
 * VLOG_MODULE before including this header to name themselves.
 *
 * Destinations:
 *  - stderr, until vlog_detach(); when stderr is a journald stream
 *    ($JOURNAL_STREAM, a systemd service), lines carry a "<N>" priority
 *    prefix instead of our timestamp.  Skipped when stderr is the log file
 *    itself (no line twice).
 *  - the log file, from vlog_set_file() on (--log-file); vlog_reopen()
 *    reopens it by name (logrotate + SIGHUP).
 *  - syslog (facility daemon), after vlog_detach() when there is no log
 *    file, so that a detached daemon's messages still reach journald or
 *    syslogd. */
#ifndef VSWITCH_VLOG_H
#define VSWITCH_VLOG_H 1

#include <stdarg.h>
#include <stdbool.h>

enum vlog_level {
    VLL_ERR,
    VLL_WARN,
    VLL_INFO,
    VLL_DBG,
};

/* Sets the highest level that is printed (default VLL_INFO). */
void vlog_set_level(enum vlog_level);
enum vlog_level vlog_get_level(void);

/* Parses "err", "warn"/"warning", "info", "dbg"/"debug".  Returns 0 and sets
 * *level, or -EINVAL. */
int vlog_parse_level(const char *s, enum vlog_level *level);

void vlog(enum vlog_level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Also writes every message to 'path' (appended; created with mode 0640; a
 * relative path is made absolute against the current directory so that
 * vlog_reopen() finds it).  Main thread, before other threads log.
 * Returns 0, or a negative errno (-EINVAL: not a regular file). */
int vlog_set_file(const char *path);

/* Reopens the log file by name (after logrotate moved it): the new file
 * replaces the old one atomically for every thread.  No-op without a log
 * file.  Main thread only (call it from the event loop on SIGHUP, not from
 * a signal handler).  Returns 0, or a negative errno: the old file is then
 * kept. */
int vlog_reopen(void);

/* The daemon detached (--detach, ready): stops writing to stderr and points
 * stdout and stderr (descriptors 1 and 2) at the log file, or at /dev/null
 * with messages going to syslog under 'ident' when there is no log file.
 * Main thread. */
void vlog_detach(const char *ident);

#ifndef VLOG_MODULE
#define VLOG_MODULE "vswitch"
#endif

#define VLOG_ERR(...)  vlog(VLL_ERR, VLOG_MODULE, __VA_ARGS__)
#define VLOG_WARN(...) vlog(VLL_WARN, VLOG_MODULE, __VA_ARGS__)
#define VLOG_INFO(...) vlog(VLL_INFO, VLOG_MODULE, __VA_ARGS__)
#define VLOG_DBG(...)  vlog(VLL_DBG, VLOG_MODULE, __VA_ARGS__)

/* Rate limiting, as Open vSwitch's VLOG_RL: every log site that something
 * outside the daemon can trigger (a client, a guest, a device) gets its own
 *     static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
 * and logs with VLOG_WARN_RL(&rl, ...): at most 'burst' messages per
 * 'interval_s' seconds; how many were suppressed is logged with the next
 * message that gets through.  Thread-safe. */
struct vlog_rate_limit {
    unsigned burst;
    unsigned interval_s;
    long window;            /* Start of the current window (monotonic s). */
    unsigned n;             /* Messages in this window. */
    unsigned suppressed;    /* Dropped since the last one printed. */
    int lock;
};
#define VLOG_RATE_LIMIT_INIT(BURST, INTERVAL_S) { (BURST), (INTERVAL_S), 0, 0, 0, 0 }

/* True if a message at this site must be dropped now. */
bool vlog_should_drop(struct vlog_rate_limit *);

#define VLOG_RL(RL, LEVEL, ...)                                 \
    do {                                                        \
        if ((int) (LEVEL) <= (int) vlog_get_level()             \
            && !vlog_should_drop(RL)) {                         \
            vlog(LEVEL, VLOG_MODULE, __VA_ARGS__);              \
        }                                                       \
    } while (0)
#define VLOG_ERR_RL(RL, ...)  VLOG_RL(RL, VLL_ERR, __VA_ARGS__)
#define VLOG_WARN_RL(RL, ...) VLOG_RL(RL, VLL_WARN, __VA_ARGS__)
#define VLOG_INFO_RL(RL, ...) VLOG_RL(RL, VLL_INFO, __VA_ARGS__)

#endif
