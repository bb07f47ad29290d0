/* vlog - the daemon's logging.
 *
 * One line per message on stderr: "<time>|<level>|<module>|<text>".  Usable
 * from any thread (each message is a single write).  Never use it per packet:
 * the hot path counts instead of logging.  Modules define VLOG_MODULE before
 * including this header to name themselves. */
#ifndef VSWITCH_VLOG_H
#define VSWITCH_VLOG_H 1

#include <stdarg.h>

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

#ifndef VLOG_MODULE
#define VLOG_MODULE "vswitch"
#endif

#define VLOG_ERR(...)  vlog(VLL_ERR, VLOG_MODULE, __VA_ARGS__)
#define VLOG_WARN(...) vlog(VLL_WARN, VLOG_MODULE, __VA_ARGS__)
#define VLOG_INFO(...) vlog(VLL_INFO, VLOG_MODULE, __VA_ARGS__)
#define VLOG_DBG(...)  vlog(VLL_DBG, VLOG_MODULE, __VA_ARGS__)

#endif
