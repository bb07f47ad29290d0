/* vlog - see vlog.h. */
#include "lib/vlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int vlog_level = VLL_INFO;

/* Where messages go (see vlog.h).  'log_fd' keeps its number for the whole
 * run: vlog_reopen() dup2()s the new file onto it, so a thread writing
 * while the file is reopened writes to the old file or to the new one,
 * never to a closed or reused descriptor.  The flags are atomics; the
 * path is only touched by the main thread (vlog_set_file, vlog_reopen). */
static int log_fd = -1;
static char log_path[PATH_MAX];
static bool console_on = true;     /* Write to stderr. */
static bool console_is_file;        /* stderr is the log file itself. */
static bool syslog_on;
static bool detached;
static bool journal;                /* stderr is a journald stream. */
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* True if stderr is the journald stream named by $JOURNAL_STREAM
 * ("DEV:INO", set by systemd for services): lines then get a "<N>" syslog
 * priority prefix and no timestamp of ours (journald adds its own). */
static void
detect_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st)
        && (unsigned long long) st.st_dev == dev
        && (unsigned long long) st.st_ino == ino) {
        journal = true;
    }
}

/* Opens 'log_path' for appending.  Returns the descriptor or -errno. */
static int
open_log(void)
{
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    return fd < 0 ? -errno : fd;
}

/* True if descriptors 'a' and 'b' are the same file. */
static bool
same_file(int a, int b)
{
    struct stat sa, sb;
    return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev
           && sa.st_ino == sb.st_ino;
}

int
vlog_set_file(const char *path)
{
    char cwd[PATH_MAX];
    int n;

    if (path[0] == '/') {
        n = snprintf(log_path, sizeof log_path, "%s", path);
    } else if (getcwd(cwd, sizeof cwd)) {
        /* Absolute, so that reopening does not depend on the cwd. */
        n = snprintf(log_path, sizeof log_path, "%s/%s", cwd, path);
    } else {
        return -errno;
    }
    if (!path[0] || n < 0 || (size_t) n >= sizeof log_path) {
        return -ENAMETOOLONG;
    }
    int fd = open_log();
    if (fd < 0) {
        return fd;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if (log_fd >= 0) {
        close(log_fd);
    }
    __atomic_store_n(&log_fd, fd, __ATOMIC_RELAXED);
    __atomic_store_n(&console_is_file, same_file(STDERR_FILENO, fd), __ATOMIC_RELAXED);
    return 0;
}

int
vlog_reopen(void)
{
    if (log_fd < 0) {
        return 0;
    }
    int fd = open_log();
    if (fd < 0) {
        return fd;
    }
    if (dup2(fd, log_fd) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    close(fd);
    if (__atomic_load_n(&detached, __ATOMIC_RELAXED)) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
    }
    return 0;
}

void
vlog_detach(const char *ident)
{
    int fd = log_fd;
    int null = -1;

    if (fd < 0) {
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        fd = null;
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        __atomic_store_n(&syslog_on, true, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&console_on, false, __ATOMIC_RELAXED);
    __atomic_store_n(&detached, true, __ATOMIC_RELAXED);
    if (fd >= 0) {
        /* Whatever still writes to stdout/stderr directly (a library's
         * fprintf) ends in the log file, or nowhere: never on the
         * terminal the daemon was started from. */
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
    }
    if (null >= 0) {
        close(null);
    }
}

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

static void vlog_emit(enum vlog_level, const char *line, size_t len, size_t ts_len);

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
    vlog_emit(level, line, len, (size_t) n - strlen(level_names[level])
                                 - strlen(module) - 2);
}

/* Writes one formatted 'line' ('len' bytes, ending in a newline, whose
 * first 'ts_len' bytes are the timestamp and its '|') to every
 * destination.  Each destination gets it in a single write.  journald and
 * syslog get "module|text" with the level as their priority. */
static void
vlog_emit(enum vlog_level level, const char *line, size_t len, size_t ts_len)
{
    size_t skip = ts_len + strlen(level_names[level]) + 1;
    ssize_t r;

    if (__atomic_load_n(&console_on, __ATOMIC_RELAXED)
        && !__atomic_load_n(&console_is_file, __ATOMIC_RELAXED)) {
        pthread_once(&journal_once, detect_journal);
        if (journal) {
            char prio[4] = { '<', (char) ('0' + syslog_prio[level]), '>', 0 };
            struct iovec iov[2] = {
                { .iov_base = prio, .iov_len = 3 },
                { .iov_base = (char *) line + skip, .iov_len = len - skip },
            };
            r = writev(STDERR_FILENO, iov, 2);
        } else {
            r = write(STDERR_FILENO, line, len);
        }
    }
    int fd = __atomic_load_n(&log_fd, __ATOMIC_RELAXED);
    if (fd >= 0) {
        r = write(fd, line, len);
    }
    if (__atomic_load_n(&syslog_on, __ATOMIC_RELAXED)) {
        syslog(syslog_prio[level], "%.*s", (int) (len - skip - 1), line + skip);
    }
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
