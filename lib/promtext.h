/* promtext - a writer for the Prometheus text exposition formats: the
 * classic text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * Pure formatting, no I/O: metric families ("# HELP" and "# TYPE" lines)
 * and their samples are appended to a libevent evbuffer, which the metrics
 * endpoint (vswitchd/metrics.c) sends as the body of its HTTP answer.
 * Names are checked against the format's grammar, label values and help
 * texts are escaped as the format requires (backslash, double quote and
 * newline in label values; backslash and newline, and in OpenMetrics
 * double quotes, in help texts), so that no value can break the page.  The
 * caller emits each family's samples right after its promtext_family()
 * line, as the formats want them grouped, and ends the page with
 * promtext_finish().  The two formats differ only where this module hides
 * it: a counter's samples are NAME_total in both, its family (HELP, TYPE)
 * is NAME_total in 0.0.4 and NAME in OpenMetrics, and an OpenMetrics page
 * ends with "# EOF".  Any thread, no global state. */
#ifndef VSWITCH_PROMTEXT_H
#define VSWITCH_PROMTEXT_H 1

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

enum promtext_format {
    PROMTEXT_004,               /* text/plain; version=0.0.4 */
    PROMTEXT_OPENMETRICS,       /* application/openmetrics-text; version=1.0.0 */
};

/* The format to answer an HTTP request whose Accept header is 'accept'
 * (NULL: none): OpenMetrics if the client accepts
 * application/openmetrics-text with a quality (q=) at least that of
 * text/plain, as Prometheus does; otherwise 0.0.4. */
enum promtext_format promtext_negotiate(const char *accept);

/* The Content-Type of a page in 'format'. */
const char *promtext_content_type(enum promtext_format);

/* True if 'name' is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool promtext_metric_name_valid(const char *name);

/* True if 'name' is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__" (reserved for Prometheus itself). */
bool promtext_label_name_valid(const char *name);

/* Appends 'value' escaped for use between the double quotes of a label
 * value: \ becomes \\, " becomes \", a newline becomes \n. */
void promtext_escape_label(struct evbuffer *, const char *value);

/* Appends the "# HELP" and "# TYPE" lines of the metric family whose
 * samples are called 'name'.  'type' is "counter" ('name' must then end in
 * "_total") or "gauge"; 'help' is escaped.  Returns 0, or -EINVAL (nothing
 * appended) if 'name' or 'type' is invalid. */
int promtext_family(struct evbuffer *, enum promtext_format, const char *name,
                    const char *type, const char *help);

/* Appends one sample line: NAME{L1="V1",L2="V2"} VALUE.  'labels' holds
 * label name / value pairs followed by a NULL (may be NULL: no labels).
 * Returns 0, or -EINVAL (nothing appended) if the metric or a label name is
 * invalid. */
int promtext_sample(struct evbuffer *, const char *name,
                    const char *const *labels, uint64_t value);

/* Ends the page ("# EOF" in OpenMetrics, nothing in 0.0.4). */
void promtext_finish(struct evbuffer *, enum promtext_format);

#endif
