/* eal-log - see eal-log.h. */
#include "vswitchd/eal-log.h"

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>

#include <rte_log.h>

#include "lib/vlog.h"

/* DPDK's level -> ours.  EAL runs one notch quieter than vswitchd (see
 * options_eal_args()): NOTICE is our INFO, INFO and DEBUG are our DBG. */
static enum vlog_level
map_level(int rte_level)
{
    if (rte_level <= (int) RTE_LOG_ERR) {
        return VLL_ERR;
    } else if (rte_level == (int) RTE_LOG_WARNING) {
        return VLL_WARN;
    } else if (rte_level == (int) RTE_LOG_NOTICE) {
        return VLL_INFO;
    }
    return VLL_DBG;
}

/* fopencookie write function: 'buf' holds one or more lines of one DPDK
 * message (rte_vlog() flushes after each message).  Each line becomes one
 * vlog message; empty lines are dropped.  Returns 'size': never fails, so
 * that DPDK never sees an error from its log stream. */
static ssize_t
eal_log_write(void *cookie, const char *buf, size_t size)
{
    enum vlog_level level = map_level(rte_log_cur_msg_loglevel());
    size_t start = 0;

    (void) cookie;
    while (start < size) {
        size_t end = start;
        while (end < size && buf[end] != '\n') {
            end++;
        }
        if (end > start) {
            vlog(level, "dpdk", "%.*s", (int) (end - start), buf + start);
        }
        start = end + 1;
    }
    return (ssize_t) size;
}

int
eal_log_redirect(void)
{
    static const cookie_io_functions_t io = { .write = eal_log_write };
    FILE *f = fopencookie(NULL, "w", io);

    if (!f) {
        return -errno;
    }
    /* Line by line at most: a message longer than the buffer must not be
     * held back until the next one. */
    setvbuf(f, NULL, _IOLBF, 0);
    if (rte_openlog_stream(f)) {
        fclose(f);
        return -EINVAL;
    }
    return 0;
}
