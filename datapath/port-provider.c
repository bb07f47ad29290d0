/* port-provider - helpers shared by port providers.  See port-provider.h. */
#include "datapath/port-provider.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/rpc.h"

int
port_fail(char *err, int code, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    int n = vsnprintf(err, PORT_ERRLEN, fmt, args);
    va_end(args);
    if (n >= PORT_ERRLEN) {
        /* Cut by bytes: never end inside a UTF-8 sequence (a client would
         * rightly refuse the whole response as invalid UTF-8). */
        rpc_utf8_trim(err, PORT_ERRLEN - 1);
    }
    return code;
}

int
port_parse_uint(const char *port, const char *key, const char *value,
                unsigned min, unsigned max, unsigned *out, char *err)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || value[0] == '-' || value[0] == '+'
        || v < min || v > max) {
        return port_fail(err, -EINVAL, "port \"%s\": option %s=\"%s\" must be an "
                         "integer between %u and %u", port, key, value, min, max);
    }
    *out = (unsigned) v;
    return 0;
}
