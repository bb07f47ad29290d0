/* port-provider - helpers shared by port providers.  See port-provider.h. */
#include "datapath/port-provider.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int
port_parse_uint(const char *port, const char *key, const char *value,
                unsigned min, unsigned max, unsigned *out, char *err)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || value[0] == '-' || value[0] == '+'
        || v < min || v > max) {
        snprintf(err, PORT_ERRLEN, "port \"%s\": option %s=\"%s\" must be an "
                 "integer between %u and %u", port, key, value, min, max);
        return -EINVAL;
    }
    *out = (unsigned) v;
    return 0;
}
