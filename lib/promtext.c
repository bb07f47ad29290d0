/* promtext - Prometheus text exposition format writer.  See promtext.h. */
#include "lib/promtext.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
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
promtext_family(struct evbuffer *buf, enum promtext_format format, const char *name,
                const char *type, const char *help)
{
    static const char total[] = "_total";
    size_t len = strlen(name);
    bool counter = !strcmp(type, "counter");

    if (!promtext_metric_name_valid(name) || (!counter && strcmp(type, "gauge"))
        || (counter && (len <= sizeof total - 1
                        || strcmp(name + len - (sizeof total - 1), total)))) {
        return -EINVAL;
    }
    if (counter && format == PROMTEXT_OPENMETRICS) {
        len -= sizeof total - 1;
    }
    evbuffer_add(buf, "# HELP ", 7);
    evbuffer_add(buf, name, len);
    evbuffer_add(buf, " ", 1);
    escape(buf, help, format == PROMTEXT_OPENMETRICS);
    evbuffer_add(buf, "\n# TYPE ", 8);
    evbuffer_add(buf, name, len);
    evbuffer_add_printf(buf, " %s\n", type);
    return 0;
}

void
promtext_finish(struct evbuffer *buf, enum promtext_format format)
{
    if (format == PROMTEXT_OPENMETRICS) {
        evbuffer_add(buf, "# EOF\n", 6);
    }
}

/* The quality the media range list 'accept' gives 'type' (an exact
 * "type/subtype"), or -1 if it names it not; "*" + "/" + "*" counts for
 * 'dflt'. */
static double
accept_quality(const char *accept, const char *type, double *dflt)
{
    double q_type = -1;
    const char *p = accept;

    *dflt = -1;
    while (*p) {
        size_t n = strcspn(p, ",");
        char range[256];
        snprintf(range, sizeof range, "%.*s", (int) (n < sizeof range ? n : sizeof range - 1), p);
        p += n + (p[n] == ',');

        /* "type/subtype" up to ';' or space, then parameters. */
        char *r = range + strspn(range, " \t");
        size_t tlen = strcspn(r, "; \t");
        double q = 1.0;
        for (char *param = strchr(r, ';'); param; param = strchr(param + 1, ';')) {
            char *v = param + 1 + strspn(param + 1, " \t");
            if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                q = strtod(v + 2, NULL);
            }
        }
        if (tlen == strlen(type) && !strncasecmp(r, type, tlen)) {
            q_type = q > q_type ? q : q_type;
        } else if (tlen == 3 && !strncmp(r, "*/*", 3)) {
            *dflt = q > *dflt ? q : *dflt;
        }
    }
    return q_type;
}

enum promtext_format
promtext_negotiate(const char *accept)
{
    double any, q_om, q_text;

    if (!accept) {
        return PROMTEXT_004;
    }
    q_om = accept_quality(accept, "application/openmetrics-text", &any);
    q_text = accept_quality(accept, "text/plain", &any);
    if (q_text < 0) {
        q_text = any;
    }
    return q_om > 0 && q_om >= q_text ? PROMTEXT_OPENMETRICS : PROMTEXT_004;
}

const char *
promtext_content_type(enum promtext_format format)
{
    return format == PROMTEXT_OPENMETRICS
           ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
           : "text/plain; version=0.0.4; charset=utf-8";
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
