/* promtext - a writer for the Prometheus text exposition format (0.0.4).
 *
 * Pure formatting, no I/O: metric families ("# HELP" and "# TYPE" lines)
 * and their samples are appended to a libevent evbuffer, which the metrics
 * endpoint (vswitchd/metrics.c) sends as the body of its HTTP answer.
 * Names are checked against the format's grammar, label values and help
 * texts are escaped as the format requires (backslash, double quote and
 * newline in label values; backslash and newline in help texts), so that
 * no value can break the page.  The caller emits each family's samples
 * right after its promtext_family() line, as the format wants them
 * grouped.  Any thread, no global state. */
#ifndef VSWITCH_PROMTEXT_H
#define VSWITCH_PROMTEXT_H 1

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

/* The content type of a page in this format. */
#define PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* True if 'name' is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool promtext_metric_name_valid(const char *name);

/* True if 'name' is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__" (reserved for Prometheus itself). */
bool promtext_label_name_valid(const char *name);

/* Appends 'value' escaped for use between the double quotes of a label
 * value: \ becomes \\, " becomes \", a newline becomes \n. */
void promtext_escape_label(struct evbuffer *, const char *value);

/* Appends the "# HELP NAME HELP" and "# TYPE NAME TYPE" lines of a metric
 * family.  'type' is "counter", "gauge" or "untyped"; 'help' is escaped
 * (\ and newline).  Returns 0, or -EINVAL (nothing appended) if 'name' or
 * 'type' is invalid. */
int promtext_family(struct evbuffer *, const char *name, const char *type,
                    const char *help);

/* Appends one sample line: NAME{L1="V1",L2="V2"} VALUE.  'labels' holds
 * label name / value pairs followed by a NULL (may be NULL: no labels).
 * Returns 0, or -EINVAL (nothing appended) if the metric or a label name is
 * invalid. */
int promtext_sample(struct evbuffer *, const char *name,
                    const char *const *labels, uint64_t value);

#endif
