/* vlog - see vlog.h. */
#include "lib/vlog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int vlog_level = VLL_INFO;

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DBG" };

void
vlog_set_level(enum vlog_level level)
{
    __atomic_store_n(&vlog_level, level, __ATOMIC_RELAXED);
}

enum vlog_level
vlog_get_level(void)
{
    return __atomic_load_n(&vlog_level, __ATOMIC_RELAXED);
}

int
vlog_parse_level(const char *s, enum vlog_level *level)
{
    static const struct { const char *name; enum vlog_level level; } map[] = {
        { "err", VLL_ERR }, { "error", VLL_ERR },
        { "warn", VLL_WARN }, { "warning", VLL_WARN },
        { "info", VLL_INFO },
        { "dbg", VLL_DBG }, { "debug", VLL_DBG },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!strcasecmp(s, map[i].name)) {
            *level = map[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void
vlog(enum vlog_level level, const char *module, const char *fmt, ...)
{
    if ((int) level > (int) vlog_get_level()) {
        return;
    }

    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ|%s|%s|",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level], module);
    if (n < 0 || (size_t) n >= sizeof line) {
        return;
    }

    va_list args;
    va_start(args, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, args);
    va_end(args);
    if (m < 0) {
        return;
    }
    size_t len = (size_t) n + ((size_t) m < sizeof line - n - 1 ? (size_t) m
                                                                : sizeof line - n - 2);
    line[len++] = '\n';
    ssize_t r = write(STDERR_FILENO, line, len);
    (void) r;
}

bool
vlog_should_drop(struct vlog_rate_limit *rl)
{
    struct timespec ts;
    bool drop;
    unsigned suppressed = 0;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    while (__atomic_exchange_n(&rl->lock, 1, __ATOMIC_ACQUIRE)) {
        continue;
    }
    if (!rl->n || ts.tv_sec - rl->window >= (long) rl->interval_s) {
        rl->window = ts.tv_sec;
        rl->n = 0;
    }
    drop = rl->n >= rl->burst;
    if (drop) {
        rl->suppressed++;
    } else {
        rl->n++;
        suppressed = rl->suppressed;
        rl->suppressed = 0;
    }
    __atomic_store_n(&rl->lock, 0, __ATOMIC_RELEASE);
    if (suppressed) {
        vlog(VLL_WARN, "vlog", "%u messages like the next one were suppressed "
             "(rate limit)", suppressed);
    }
    return drop;
}
