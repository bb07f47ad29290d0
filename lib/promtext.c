/* promtext - Prometheus text exposition format writer.  See promtext.h. */
#include "lib/promtext.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

static bool
name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        return true;
    }
    if (colon && c == ':') {
        return true;
    }
    return !first && c >= '0' && c <= '9';
}

static bool
name_valid(const char *name, bool colon)
{
    if (!name || !name[0]) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!name_char(*p, p == name, colon)) {
            return false;
        }
    }
    return true;
}

bool
promtext_metric_name_valid(const char *name)
{
    return name_valid(name, true);
}

bool
promtext_label_name_valid(const char *name)
{
    return name_valid(name, false) && strncmp(name, "__", 2);
}

/* Appends 's' with backslash and newline escaped, and double quotes too if
 * 'quote'. */
static void
escape(struct evbuffer *buf, const char *s, bool quote)
{
    const char *run = s;

    for (const char *p = s; *p; p++) {
        const char *esc = NULL;
        if (*p == '\\') {
            esc = "\\\\";
        } else if (*p == '\n') {
            esc = "\\n";
        } else if (quote && *p == '"') {
            esc = "\\\"";
        }
        if (esc) {
            evbuffer_add(buf, run, (size_t) (p - run));
            evbuffer_add(buf, esc, 2);
            run = p + 1;
        }
    }
    evbuffer_add(buf, run, strlen(run));
}

void
promtext_escape_label(struct evbuffer *buf, const char *value)
{
    escape(buf, value, true);
}

int
promtext_family(struct evbuffer *buf, const char *name, const char *type,
                const char *help)
{
    if (!promtext_metric_name_valid(name)
        || (strcmp(type, "counter") && strcmp(type, "gauge")
            && strcmp(type, "untyped"))) {
        return -EINVAL;
    }
    evbuffer_add_printf(buf, "# HELP %s ", name);
    escape(buf, help, false);
    evbuffer_add_printf(buf, "\n# TYPE %s %s\n", name, type);
    return 0;
}

int
promtext_sample(struct evbuffer *buf, const char *name, const char *const *labels,
                uint64_t value)
{
    if (!promtext_metric_name_valid(name)) {
        return -EINVAL;
    }
    for (const char *const *l = labels; l && *l; l += 2) {
        if (!promtext_label_name_valid(l[0]) || !l[1]) {
            return -EINVAL;
        }
    }
    evbuffer_add(buf, name, strlen(name));
    if (labels && labels[0]) {
        for (const char *const *l = labels; *l; l += 2) {
            evbuffer_add_printf(buf, "%s%s=\"", l == labels ? "{" : ",", l[0]);
            escape(buf, l[1], true);
            evbuffer_add(buf, "\"", 1);
        }
        evbuffer_add(buf, "}", 1);
    }
    evbuffer_add_printf(buf, " %" PRIu64 "\n", value);
    return 0;
}
