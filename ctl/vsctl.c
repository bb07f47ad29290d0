/* vsctl - the command-line tool of vswitch.
 *
 * vsctl talks JSON-RPC 2.0 to vswitchd's control socket (one request object
 * per line over a unix stream socket, see Documentation/jsonrpc.md) and
 * prints the results either for humans (tables, OVS-like trees, key: value
 * lines; lib/table.c does the column layout) or, with --format json, as the
 * method's result object unchanged.  The request encoder and the incremental
 * response decoder are the shared codec of lib/rpc.h.
 *
 * One command table (vsctl_commands[]) drives dispatch, argument-count
 * checks, --help and list-commands, so they cannot disagree.  The whole run
 * (connect, every request, every response) is bounded by one deadline
 * (--timeout).  Exit status: 0 success, 1 the daemon returned an error,
 * 2 usage error or the daemon could not be reached.  Documentation/vsctl.md
 * is the user reference. */
/* _GNU_SOURCE (asprintf) comes from the build. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>               /* isfinite() */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/table.h"
#include "lib/rpc.h"

#ifndef VSWITCH_VERSION
#define VSWITCH_VERSION "0.1.0"
#endif

#define OVS_UNUSED __attribute__((unused))

#define VSCTL_EXIT_OK      0    /* Success. */
#define VSCTL_EXIT_ERROR   1    /* The daemon returned a JSON-RPC error. */
#define VSCTL_EXIT_FAILURE 2    /* Usage error, or daemon not reachable. */

/* client_call() result for a "not found" error the caller handles itself. */
#define VSCTL_NOT_FOUND   (-1)

/* client_handle_message() result for a message that is not our response. */
#define VSCTL_SKIP        (-2)

/* Largest response accepted: the daemon queues at most 16 MiB per client. */
#define VSCTL_MAX_RESPONSE (64u * 1024 * 1024)

#define JSON_PRETTY  (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_COMPACT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum vsctl_format {
    VSCTL_FORMAT_TABLE,
    VSCTL_FORMAT_JSON,
};

/* The parsed command line. */
struct vsctl_options {
    char *socket;               /* Control socket path (owned). */
    enum vsctl_format format;
    double timeout;             /* Seconds; 0 = wait forever. */
};

/* A connection to vswitchd. */
struct vsctl_client {
    const char *path;
    int fd;                     /* -1 until connected. */
    struct rpc_decoder *decoder;
    struct json_object *queue;  /* Decoded, not yet examined messages. */
    int next_id;
    double timeout;             /* --timeout, for messages. */
    int64_t deadline;           /* CLOCK_MONOTONIC ms; -1 = never. */
};

/* Everything a command handler needs. */
struct vsctl_ctx {
    const struct vsctl_options *opts;
    struct vsctl_client client;
};

/* Table-format output of a method's result. */
typedef void vsctl_printer(struct json_object *result);

/* One vsctl command.  A plain command sends 'method' with params
 * {param: first argument} ('param' NULL: no params; no argument: {}) and
 * prints the result with 'print' (NULL: print nothing) or, in json format,
 * as JSON.  A command with 'run' does its own work instead: 'run' gets the
 * command's arguments (without the command name) and returns an exit
 * status. */
struct vsctl_command {
    const char *name;
    const char *args;           /* Argument synopsis, "" if none. */
    const char *help;           /* One line. */
    int min_args;
    int max_args;               /* -1: no limit. */
    const char *method;
    const char *param;
    vsctl_printer *print;
    int (*run)(struct vsctl_ctx *, int argc, char *argv[]);
};

/* ---- JSON-RPC client ---------------------------------------------------- */

/* Returns the CLOCK_MONOTONIC time in milliseconds. */
static int64_t
vsctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the poll() timeout left before 'c''s deadline: -1 for none. */
static int
client_poll_timeout(const struct vsctl_client *c)
{
    if (c->deadline < 0) {
        return -1;
    }
    int64_t left = c->deadline - vsctl_now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int) left;
}

/* Waits until 'c''s socket is ready for 'events' (or has an error or hang-up
 * the next read/send will report).  Returns 0, -ETIMEDOUT once the deadline
 * has passed, or another negative errno. */
static int
client_wait(struct vsctl_client *c, short events)
{
    for (;;) {
        struct pollfd pfd = { .fd = c->fd, .events = events };
        int n = poll(&pfd, 1, client_poll_timeout(c));
        if (n > 0) {
            return 0;
        } else if (n == 0) {
            if (c->deadline >= 0 && vsctl_now_ms() >= c->deadline) {
                return -ETIMEDOUT;
            }
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

/* Connects 'c' to its socket.  Returns 0 or a negative errno. */
static int
client_connect__(struct vsctl_client *c)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(c->path) >= sizeof sun.sun_path) {
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, c->path);

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return -errno;
    }
    for (;;) {
        if (!connect(c->fd, (struct sockaddr *) &sun, sizeof sun)) {
            return 0;
        } else if (errno == EAGAIN) {
            /* Listen backlog full: retry shortly, within the deadline. */
            int timeout = client_poll_timeout(c);
            if (!timeout) {
                return -ETIMEDOUT;
            }
            poll(NULL, 0, timeout < 0 || timeout > 10 ? 10 : timeout);
        } else if (errno == EINPROGRESS) {
            int error = client_wait(c, POLLOUT);
            socklen_t len = sizeof error;
            if (!error && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len)) {
                error = errno;
            }
            return error > 0 ? -error : error;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

/* Connects 'c' if it is not connected yet.  Returns an exit status, after
 * printing the reason on failure. */
static int
client_connect(struct vsctl_client *c)
{
    if (c->fd >= 0) {
        return VSCTL_EXIT_OK;
    }
    int error = client_connect__(c);
    if (error) {
        fprintf(stderr, "vsctl: cannot connect to %s: %s\n", c->path,
                strerror(-error));
        if (c->fd >= 0) {
            close(c->fd);
            c->fd = -1;
        }
        return VSCTL_EXIT_FAILURE;
    }
    return VSCTL_EXIT_OK;
}

/* Prints why talking to the daemon failed ('error' is a negative errno, or 0
 * for end of stream) and returns VSCTL_EXIT_FAILURE. */
static int
client_io_error(const struct vsctl_client *c, int error)
{
    if (error == -ETIMEDOUT) {
        fprintf(stderr, "vsctl: %s: no answer from vswitchd within %g s\n",
                c->path, c->timeout);
    } else if (!error) {
        fprintf(stderr, "vsctl: %s: connection closed by vswitchd\n", c->path);
    } else {
        fprintf(stderr, "vsctl: %s: %s\n", c->path, strerror(-error));
    }
    return VSCTL_EXIT_FAILURE;
}

/* Writes all of 'buf' to 'c''s socket.  Returns 0 or a negative errno. */
static int
client_send(struct vsctl_client *c, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            buf += n;
            len -= n;
        } else if (errno == EAGAIN) {
            int error = client_wait(c, POLLOUT);
            if (error) {
                return error;
            }
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* rpc_decoder callback: queues 'value' (ownership passes to the queue). */
static void
client_queue_value(struct json_object *value, void *c_)
{
    struct vsctl_client *c = c_;
    json_object_array_add(c->queue, value);
}

/* Examines one decoded message 'msg' while waiting for the response with
 * 'id'.  Returns VSCTL_SKIP if 'msg' is not that response (a notification),
 * else an exit status (or VSCTL_NOT_FOUND if 'allow_not_found' and the error
 * is "not found"), storing the result as a new reference in *result on
 * success. */
static int
client_handle_message(const struct vsctl_client *c, struct json_object *msg,
                      int id, int allow_not_found, struct json_object **result)
{
    struct json_object *msg_id, *error, *value;

    if (!json_object_is_type(msg, json_type_object)) {
        fprintf(stderr, "vsctl: %s: response is not a JSON object\n", c->path);
        return VSCTL_EXIT_FAILURE;
    }
    if (!json_object_object_get_ex(msg, "id", &msg_id)) {
        if (json_object_object_get_ex(msg, "method", NULL)) {
            return VSCTL_SKIP;  /* A notification: not for us. */
        }
        fprintf(stderr, "vsctl: %s: response without id\n", c->path);
        return VSCTL_EXIT_FAILURE;
    }
    if (json_object_object_get_ex(msg, "error", &error)) {
        /* Errors about the stream itself come back with a null id. */
        if (msg_id && (!json_object_is_type(msg_id, json_type_int)
                       || json_object_get_int(msg_id) != id)) {
            fprintf(stderr, "vsctl: %s: response id mismatch\n", c->path);
            return VSCTL_EXIT_FAILURE;
        }
        struct json_object *code, *message, *data;
        if (allow_not_found && json_object_object_get_ex(error, "code", &code)
            && json_object_get_int(code) == RPC_ERR_NOT_FOUND) {
            return VSCTL_NOT_FOUND;
        }
        json_object_object_get_ex(error, "message", &message);
        fprintf(stderr, "vsctl: %s", message ? json_object_get_string(message)
                                             : "unknown error");
        if (json_object_object_get_ex(error, "data", &data) && data) {
            fprintf(stderr, " (%s)",
                    json_object_to_json_string_ext(data, JSON_COMPACT));
        }
        fputc('\n', stderr);
        return VSCTL_EXIT_ERROR;
    }
    if (!json_object_is_type(msg_id, json_type_int)
        || json_object_get_int(msg_id) != id) {
        fprintf(stderr, "vsctl: %s: response id mismatch\n", c->path);
        return VSCTL_EXIT_FAILURE;
    }
    if (!json_object_object_get_ex(msg, "result", &value)) {
        fprintf(stderr, "vsctl: %s: response without result\n", c->path);
        return VSCTL_EXIT_FAILURE;
    }
    *result = json_object_get(value);
    return VSCTL_EXIT_OK;
}

/* Waits for input on 'c' (within its deadline) and decodes what arrives
 * into c->queue.  Returns 0, or prints the reason and returns an exit
 * status. */
static int
client_receive(struct vsctl_client *c)
{
    char buf[65536];
    int error = client_wait(c, POLLIN);
    if (error) {
        return client_io_error(c, error);
    }
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    } else if (n <= 0) {
        return client_io_error(c, n ? -errno : 0);
    }
    if (rpc_decoder_feed(c->decoder, buf, n, client_queue_value, c) < 0) {
        fprintf(stderr, "vsctl: %s: invalid response: %s\n", c->path,
                rpc_decoder_error(c->decoder));
        return VSCTL_EXIT_FAILURE;
    }
    return 0;
}

/* Sends request 'method' with 'params' (ownership taken; may be NULL) and
 * waits for its response, within the deadline.  Returns VSCTL_EXIT_OK and a
 * new reference to the result in *result (NULL for JSON null), or prints
 * the reason and returns another exit status; with 'allow_not_found', a
 * "not found" error returns VSCTL_NOT_FOUND silently. */
static int
client_call(struct vsctl_client *c, const char *method,
            struct json_object *params, int allow_not_found,
            struct json_object **result)
{
    int status, error;

    *result = NULL;
    status = client_connect(c);
    if (status) {
        json_object_put(params);
        return status;
    }

    int id = c->next_id++;
    struct json_object *request = rpc_make_request(method, params, id);
    const char *text = json_object_to_json_string_ext(request, JSON_COMPACT);
    /* One write: the daemon may act on the request (system.shutdown) and
     * close before a second write would arrive. */
    char *line = NULL;
    error = asprintf(&line, "%s\n", text) < 0 ? -ENOMEM
            : client_send(c, line, strlen(line));
    free(line);
    json_object_put(request);
    if (error) {
        return client_io_error(c, error);
    }

    for (;;) {
        while (json_object_array_length(c->queue) > 0) {
            struct json_object *msg = json_object_get(
                json_object_array_get_idx(c->queue, 0));
            json_object_array_del_idx(c->queue, 0, 1);
            status = client_handle_message(c, msg, id, allow_not_found, result);
            json_object_put(msg);
            if (status != VSCTL_SKIP) {
                return status;
            }
        }

        status = client_receive(c);
        if (status) {
            return status;
        }
    }
}

/* client_call() on 'ctx''s client, where every error is fatal to the
 * command. */
static int
vsctl_call(struct vsctl_ctx *ctx, const char *method, struct json_object *params,
           struct json_object **result)
{
    return client_call(&ctx->client, method, params, 0, result);
}

/* ---- Output helpers ----------------------------------------------------- */

/* Prints 'value' as pretty JSON on stdout, newline-terminated.  An empty
 * object or array prints as "{}" or "[]" (json-c would spread it over two
 * lines). */
static void
print_json(struct json_object *value)
{
    if (json_object_is_type(value, json_type_object)
        && !json_object_object_length(value)) {
        printf("{}\n");
    } else if (json_object_is_type(value, json_type_array)
               && !json_object_array_length(value)) {
        printf("[]\n");
    } else {
        printf("%s\n", json_object_to_json_string_ext(value, JSON_PRETTY));
    }
}

/* Returns member 'key' of 'obj', or NULL if 'obj' is not an object or has no
 * such member. */
static struct json_object *
jget(struct json_object *obj, const char *key)
{
    struct json_object *value = NULL;
    if (json_object_is_type(obj, json_type_object)) {
        json_object_object_get_ex(obj, key, &value);
    }
    return value;
}

/* Returns 'value' as text for humans: strings without quotes, "-" for a
 * missing member, anything else as compact JSON.  The string is owned by
 * 'value' (or static). */
static const char *
jtext(struct json_object *value)
{
    if (!value) {
        return "-";
    } else if (json_object_is_type(value, json_type_string)) {
        return json_object_get_string(value);
    }
    return json_object_to_json_string_ext(value, JSON_COMPACT);
}

/* jtext() of member 'key' of 'obj'. */
static const char *
jstr(struct json_object *obj, const char *key)
{
    return jtext(jget(obj, key));
}

/* Returns the number of elements of array member 'key' of 'obj' (0 if it is
 * missing or not an array). */
static size_t
jlen(struct json_object *obj, const char *key)
{
    struct json_object *array = jget(obj, key);
    return json_object_is_type(array, json_type_array)
           ? json_object_array_length(array) : 0;
}

/* Returns element 'i' of array member 'key' of 'obj'. */
static struct json_object *
jidx(struct json_object *obj, const char *key, size_t i)
{
    return json_object_array_get_idx(jget(obj, key), i);
}

/* Prints the members of object 'obj' as "key: value" lines indented by
 * 'indent' spaces; non-empty objects nest, indented two more spaces. */
/* True if 'v' is a non-empty array of strings. */
static int
is_string_array(struct json_object *v)
{
    if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v)) {
        return 0;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
            return 0;
        }
    }
    return 1;
}

static void
print_members(struct json_object *obj, int indent)
{
    json_object_object_foreach(obj, key, value) {
        if (json_object_is_type(value, json_type_object)
            && json_object_object_length(value) > 0) {
            printf("%*s%s:\n", indent, "", key);
            print_members(value, indent + 2);
        } else if (is_string_array(value)) {
            /* E.g. a vhost port's negotiated "features": one line. */
            printf("%*s%s:", indent, "", key);
            for (size_t i = 0; i < json_object_array_length(value); i++) {
                printf(" %s", json_object_get_string(json_object_array_get_idx(value, i)));
            }
            printf("\n");
        } else {
            printf("%*s%s: %s\n", indent, "", key,
                   value ? jtext(value) : "null");
        }
    }
}

/* Returns a new params object {key: value}. */
static struct json_object *
params1(const char *key, const char *value)
{
    struct json_object *params = json_object_new_object();
    json_object_object_add(params, key, json_object_new_string(value));
    return params;
}

/* ---- Result printers (table format) ------------------------------------ */

static void
print_version(struct json_object *result)
{
    printf("vswitchd %s (%s)\nvsctl %s\n", jstr(result, "version"),
           jstr(result, "dpdk"), VSWITCH_VERSION);
}

/* Prints member "name" of every element of array member 'key' of 'result',
 * one per line. */
static void
print_names(struct json_object *result, const char *key)
{
    for (size_t i = 0; i < jlen(result, key); i++) {
        printf("%s\n", jstr(jidx(result, key, i), "name"));
    }
}

static void
print_bridge_names(struct json_object *result)
{
    print_names(result, "bridges");
}

static void
print_port_names(struct json_object *result)
{
    print_names(result, "ports");
}

static void
print_port_show(struct json_object *result)
{
    if (json_object_is_type(result, json_type_object)) {
        print_members(result, 0);
    }
}

/* The per-port counters shown as port-stats columns; every other non-zero
 * integer member is a named drop reason printed below the table. */
static const struct {
    const char *key;
    const char *heading;
} port_stats_columns[] = {
    { "rx_packets", "RX_PKTS" }, { "rx_bytes", "RX_BYTES" },
    { "rx_dropped", "RX_DROP" }, { "tx_packets", "TX_PKTS" },
    { "tx_bytes", "TX_BYTES" }, { "tx_dropped", "TX_DROP" },
};
#define N_STATS_COLUMNS (sizeof port_stats_columns / sizeof port_stats_columns[0])

/* Returns true if 'key' is "name" or one of port_stats_columns[]. */
static int
port_stats_is_column(const char *key)
{
    for (size_t i = 0; i < N_STATS_COLUMNS; i++) {
        if (!strcmp(key, port_stats_columns[i].key)) {
            return 1;
        }
    }
    return !strcmp(key, "name");
}

static void
print_port_stats(struct json_object *result)
{
    struct table *t = table_create();
    table_add_column(t, "PORT", TABLE_LEFT);
    for (size_t i = 0; i < N_STATS_COLUMNS; i++) {
        table_add_column(t, port_stats_columns[i].heading, TABLE_RIGHT);
    }
    for (size_t p = 0; p < jlen(result, "ports"); p++) {
        struct json_object *port = jidx(result, "ports", p);
        table_add_row(t);
        table_add_cell(t, "%s", jstr(port, "name"));
        for (size_t i = 0; i < N_STATS_COLUMNS; i++) {
            table_add_cell(t, "%s", jstr(port, port_stats_columns[i].key));
        }
    }
    table_print(t, stdout);
    table_destroy(t);

    for (size_t p = 0; p < jlen(result, "ports"); p++) {
        struct json_object *port = jidx(result, "ports", p);
        json_object_object_foreach(port, key, value) {
            if (!port_stats_is_column(key)
                && json_object_is_type(value, json_type_int)
                && (json_object_get_int64(value) || json_object_get_uint64(value))) {
                printf("  %s %s: %s\n", jstr(port, "name"), key, jtext(value));
            }
        }
    }
}

/* Like ovs-appctl fdb/show. */
static void
print_fdb(struct json_object *result)
{
    struct table *t = table_create();
    table_add_column(t, "PORT", TABLE_LEFT);
    table_add_column(t, "VLAN", TABLE_RIGHT);
    table_add_column(t, "MAC", TABLE_LEFT);
    table_add_column(t, "AGE", TABLE_RIGHT);
    for (size_t i = 0; i < jlen(result, "entries"); i++) {
        struct json_object *e = jidx(result, "entries", i);
        table_add_row(t);
        table_add_cell(t, "%s", jstr(e, "port"));
        table_add_cell(t, "%s", jstr(e, "vlan"));
        table_add_cell(t, "%s", jstr(e, "mac"));
        table_add_cell(t, "%s", jstr(e, "age"));
    }
    table_print(t, stdout);
    table_destroy(t);
}

static void
print_fdb_flush(struct json_object *result)
{
    printf("flushed %s entries\n", jstr(result, "flushed"));
}

/* Like ovs-appctl dpif-netdev/pmd-stats-show. */
static void
print_pmd_stats(struct json_object *result)
{
    for (size_t i = 0; i < jlen(result, "pmds"); i++) {
        struct json_object *pmd = jidx(result, "pmds", i);
        double busy = json_object_get_double(jget(pmd, "busy_cycles"));
        double idle = json_object_get_double(jget(pmd, "idle_cycles"));
        double total = busy + idle;

        printf("pmd thread id %s core_id %s:\n", jstr(pmd, "pmd"),
               jstr(pmd, "core"));
        printf("  packets received: %s\n", jstr(pmd, "rx_packets"));
        printf("  packets sent: %s\n", jstr(pmd, "tx_packets"));
        printf("  iterations: %s\n", jstr(pmd, "iterations"));
        printf("  idle cycles: %s (%.2f%%)\n", jstr(pmd, "idle_cycles"),
               total > 0 ? 100.0 * idle / total : 0.0);
        printf("  processing cycles: %s (%.2f%%)\n", jstr(pmd, "busy_cycles"),
               total > 0 ? 100.0 * busy / total : 0.0);
        printf("  avg cycles per packet: %.2f\n",
               json_object_get_double(jget(pmd, "cycles_per_packet")));
    }

    struct json_object *mbufs = jget(result, "mbufs");
    if (mbufs) {
        printf("mbufs: %s in use of %s\n", jstr(mbufs, "in_use"),
               jstr(mbufs, "total"));
    }
}

/* Prints a percentage member 'key' of 'obj' as OVS does ("42 %", whole
 * percents), or "NOT AVAIL" when the daemon has no measurement (null). */
static void
print_pct(struct json_object *obj, const char *key)
{
    struct json_object *v = jget(obj, key);
    if (v && (json_object_is_type(v, json_type_double)
              || json_object_is_type(v, json_type_int))) {
        printf("%2d %%", (int) json_object_get_double(v));
    } else {
        printf("NOT AVAIL");
    }
}

/* Like ovs-appctl dpif-netdev/pmd-rxq-show: per PMD, each rx queue with its
 * share of the PMD's cycles over the measurement window, then the PMD's
 * busy cycles no queue accounts for ("overhead"). */
static void
print_pmd_rxqs(struct json_object *result)
{
    int window_s = json_object_get_int(jget(result, "intervals"))
                   * json_object_get_int(jget(result, "interval_s"));
    if (window_s > 0) {
        printf("Displaying last %d seconds pmd usage %%\n", window_s);
    }
    for (size_t i = 0; i < jlen(result, "pmds"); i++) {
        struct json_object *pmd = jidx(result, "pmds", i);
        int width = 16;

        for (size_t q = 0; q < jlen(pmd, "rxqs"); q++) {
            int len = strlen(jstr(jidx(pmd, "rxqs", q), "port"));
            width = len > width ? len : width;
        }
        printf("pmd thread id %s core_id %s:\n", jstr(pmd, "pmd"),
               jstr(pmd, "core"));
        if (!jlen(pmd, "rxqs")) {
            printf("  (no rx queues)\n");
            continue;
        }
        for (size_t q = 0; q < jlen(pmd, "rxqs"); q++) {
            struct json_object *rxq = jidx(pmd, "rxqs", q);
            printf("  port: %-*s  queue-id: %2s %s  pmd usage: ", width,
                   jstr(rxq, "port"), jstr(rxq, "queue"),
                   json_object_get_boolean(jget(rxq, "enabled"))
                   ? "(enabled) " : "(disabled)");
            print_pct(rxq, "pmd_usage");
            printf("\n");
        }
        printf("  overhead: ");
        print_pct(pmd, "overhead");
        printf("\n");
    }
}

static void
print_pmd_rebalance(struct json_object *result)
{
    printf("moved %s of %s rx queues\n", jstr(result, "moved"), jstr(result, "rxqs"));
}

/* ---- Commands with their own handler ------------------------------------ */

/* Prints one "Port" entry of "show": 'port' is the port.show result or, if
 * the port vanished meanwhile, its port.list entry. */
static void
show_port(struct json_object *port)
{
    struct json_object *socket = jget(port, "socket");
    struct json_object *options = jget(port, "options");

    printf("    Port %s\n", jstr(port, "name"));
    printf("      type: %s  state: %s", jstr(port, "type"), jstr(port, "state"));
    if (socket) {
        printf("  socket: %s", jtext(socket));
    }
    putchar('\n');
    if (jget(port, "error")) {
        printf("      error: %s\n", jstr(port, "error"));
    }
    if (json_object_is_type(options, json_type_object)
        && json_object_object_length(options) > 0) {
        const char *sep = "";
        printf("      options: {");
        json_object_object_foreach(options, key, value) {
            printf("%s%s=%s", sep, key, value ? jtext(value) : "null");
            sep = ", ";
        }
        printf("}\n");
    }
}

/* "show": system.version, bridge.list, port.list, then port.show per port;
 * in json format only bridge.list and port.list, combined. */
static int
cmd_show(struct vsctl_ctx *ctx, int argc OVS_UNUSED, char *argv[] OVS_UNUSED)
{
    struct json_object *version = NULL, *bridges = NULL, *ports = NULL;
    int json = ctx->opts->format == VSCTL_FORMAT_JSON;
    int status;

    status = json ? 0 : vsctl_call(ctx, "system.version", NULL, &version);
    if (!status) {
        status = vsctl_call(ctx, "bridge.list", NULL, &bridges);
    }
    if (!status) {
        status = vsctl_call(ctx, "port.list", NULL, &ports);
    }
    if (status) {
        goto out;
    }

    if (json) {
        struct json_object *combined = json_object_new_object();
        json_object_object_add(combined, "bridges",
                               json_object_get(jget(bridges, "bridges")));
        json_object_object_add(combined, "ports",
                               json_object_get(jget(ports, "ports")));
        print_json(combined);
        json_object_put(combined);
        goto out;
    }

    printf("vswitchd %s (%s)\n", jstr(version, "version"), jstr(version, "dpdk"));
    for (size_t b = 0; b < jlen(bridges, "bridges"); b++) {
        struct json_object *bridge = jidx(bridges, "bridges", b);
        printf("  Bridge %s\n", jstr(bridge, "name"));
        for (size_t p = 0; p < jlen(bridge, "ports"); p++) {
            const char *name = jtext(jidx(bridge, "ports", p));
            struct json_object *port = NULL;

            status = client_call(&ctx->client, "port.show",
                                 params1("name", name), 1, &port);
            if (status == VSCTL_NOT_FOUND) {
                for (size_t i = 0; i < jlen(ports, "ports"); i++) {
                    struct json_object *entry = jidx(ports, "ports", i);
                    if (!port && !strcmp(jstr(entry, "name"), name)) {
                        port = json_object_get(entry);
                    }
                }
                if (!port) {
                    continue;   /* Deleted since bridge.list. */
                }
            } else if (status) {
                goto out;
            }
            show_port(port);
            json_object_put(port);
        }
    }
    status = VSCTL_EXIT_OK;

out:
    json_object_put(version);
    json_object_put(bridges);
    json_object_put(ports);
    return status;
}

/* "add-port BR PORT type=TYPE [key=value...]" -> port.add. */
/* Parses key=value arguments argv[0..argc-1] of command 'cmd' into a new
 * object of strings, except "type" (stored in *type when 'type' is not
 * NULL; refused otherwise).  Returns NULL after printing a usage error. */
static struct json_object *
parse_kv_args(const char *cmd, int argc, char *argv[], const char **type)
{
    struct json_object *options = json_object_new_object();

    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "vsctl: %s: \"%s\" is not key=value\n", cmd, argv[i]);
            goto usage;
        }
        *eq = '\0';
        const char *key = argv[i], *value = eq + 1;
        if (!strcmp(key, "type") && !type) {
            fprintf(stderr, "vsctl: %s: type= is not accepted here (the type of a "
                    "port cannot be changed)\n", cmd);
            goto usage;
        }
        if (!strcmp(key, "type") ? *type != NULL
            : json_object_object_get_ex(options, key, NULL)) {
            fprintf(stderr, "vsctl: %s: \"%s\" given twice\n", cmd, key);
            goto usage;
        } else if (!strcmp(key, "type")) {
            *type = value;
        } else {
            json_object_object_add(options, key, json_object_new_string(value));
        }
    }
    return options;

usage:
    json_object_put(options);
    return NULL;
}

/* Calls 'method' with 'params' (ownership taken); prints the result only in
 * json format.  Returns an exit status. */
static int
call_quiet(struct vsctl_ctx *ctx, const char *method, struct json_object *params)
{
    struct json_object *result;
    int status = vsctl_call(ctx, method, params, &result);
    if (!status && ctx->opts->format == VSCTL_FORMAT_JSON) {
        print_json(result);
    }
    json_object_put(result);
    return status;
}

/* add-port BR PORT type=TYPE [key=value...] */
static int
cmd_add_port(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *type = NULL;
    struct json_object *options = parse_kv_args("add-port", argc - 2, argv + 2, &type);

    if (!options) {
        return VSCTL_EXIT_FAILURE;
    }
    if (!type || !*type) {
        fprintf(stderr, "vsctl: add-port: type=TYPE is required\n");
        json_object_put(options);
        return VSCTL_EXIT_FAILURE;
    }

    struct json_object *params = json_object_new_object();
    json_object_object_add(params, "bridge", json_object_new_string(argv[0]));
    json_object_object_add(params, "name", json_object_new_string(argv[1]));
    json_object_object_add(params, "type", json_object_new_string(type));
    json_object_object_add(params, "options", options);
    return call_quiet(ctx, "port.add", params);
}

/* Sends 'method' with {"name": argv[0], "options": {key=value arguments}}:
 * add-br BR [key=value...] and set-port PORT [key=value...] */
static int
call_name_options(struct vsctl_ctx *ctx, const char *cmd, const char *method,
                  int argc, char *argv[])
{
    struct json_object *options = parse_kv_args(cmd, argc - 1, argv + 1, NULL);

    if (!options) {
        return VSCTL_EXIT_FAILURE;
    }
    struct json_object *params = json_object_new_object();
    json_object_object_add(params, "name", json_object_new_string(argv[0]));
    json_object_object_add(params, "options", options);
    return call_quiet(ctx, method, params);
}

static int
cmd_add_br(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    return call_name_options(ctx, "add-br", "bridge.add", argc, argv);
}

static int
cmd_set_port(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    return call_name_options(ctx, "set-port", "port.set", argc, argv);
}

/* Parses 'text' as exactly one strict JSON value into *value (NULL for JSON
 * null).  Returns 0, or -EINVAL after printing why. */
static int
parse_json_arg(const char *text, struct json_object **value)
{
    struct json_tokener *tok = json_tokener_new();
    size_t len = strlen(text);
    int error = 0;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* Including the terminating NUL lets a bare number end. */
    *value = json_tokener_parse_ex(tok, text, len + 1);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (jerr != json_tokener_success) {
        fprintf(stderr, "vsctl: call: invalid JSON params: %s\n",
                json_tokener_error_desc(jerr));
        error = -EINVAL;
    } else if (json_tokener_get_parse_end(tok) < len) {
        fprintf(stderr, "vsctl: call: invalid JSON params: trailing data\n");
        error = -EINVAL;
    }
    if (error) {
        json_object_put(*value);
        *value = NULL;
    }
    json_tokener_free(tok);
    return error;
}

/* "call METHOD [JSON-PARAMS]": prints the result as JSON in any format. */
static int
cmd_call(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct json_object *params = NULL, *result;

    if (argc > 1 && parse_json_arg(argv[1], &params)) {
        return VSCTL_EXIT_FAILURE;
    }
    int status = vsctl_call(ctx, argv[0], params, &result);
    if (!status) {
        print_json(result);
    }
    json_object_put(result);
    return status;
}

/* Prints one "event" notification: a line "TIME TYPE key=value..." or, in
 * json format, its params as one line of JSON. */
static void
print_event(const struct vsctl_ctx *ctx, struct json_object *params)
{
    if (ctx->opts->format == VSCTL_FORMAT_JSON) {
        printf("%s\n", json_object_to_json_string_ext(params, JSON_COMPACT));
    } else {
        struct json_object *v;
        printf("%s %s", json_object_object_get_ex(params, "time", &v)
                        ? json_object_get_string(v) : "-",
               json_object_object_get_ex(params, "type", &v)
               ? json_object_get_string(v) : "?");
        json_object_object_foreach(params, key, val) {
            if (strcmp(key, "time") && strcmp(key, "type")) {
                printf(" %s=%s", key, json_object_get_string(val));
            }
        }
        putchar('\n');
    }
    fflush(stdout);
}

/* monitor: subscribes to events and prints them as they arrive, until the
 * daemon closes the connection (exit 2) or vsctl is interrupted.  --timeout
 * applies to the subscription only. */
static int
cmd_monitor(struct vsctl_ctx *ctx, int argc OVS_UNUSED, char *argv[] OVS_UNUSED)
{
    struct vsctl_client *c = &ctx->client;
    struct json_object *result;

    int status = vsctl_call(ctx, "events.subscribe", NULL, &result);
    if (status) {
        return status;
    }
    json_object_put(result);
    fprintf(stderr, "vsctl: monitoring %s\n", c->path);
    c->deadline = -1;
    for (;;) {
        while (json_object_array_length(c->queue) > 0) {
            struct json_object *msg = json_object_get(
                json_object_array_get_idx(c->queue, 0));
            struct json_object *method, *params;
            json_object_array_del_idx(c->queue, 0, 1);
            if (json_object_object_get_ex(msg, "method", &method)
                && !strcmp(json_object_get_string(method), "event")
                && json_object_object_get_ex(msg, "params", &params)) {
                print_event(ctx, params);
            }
            json_object_put(msg);
        }
        status = client_receive(c);
        if (status) {
            return status;
        }
    }
}

static int cmd_list_commands(struct vsctl_ctx *, int argc, char *argv[]);

/* ---- The command table --------------------------------------------------- */

static const struct vsctl_command vsctl_commands[] = {
    { "show", "", "overview of bridges and ports",
      0, 0, NULL, NULL, NULL, cmd_show },
    { "version", "", "versions of vswitchd, DPDK and vsctl",
      0, 0, "system.version", NULL, print_version, NULL },
    { "list-commands", "", "list the commands with their usage",
      0, 0, NULL, NULL, NULL, cmd_list_commands },
    { "add-br", "BR [key=value...]",
      "create bridge BR (options mac-table-size, mac-aging-time)",
      1, -1, NULL, NULL, NULL, cmd_add_br },
    { "del-br", "BR", "delete bridge BR and all its ports",
      1, 1, "bridge.del", "name", NULL, NULL },
    { "list-br", "", "print the names of all bridges",
      0, 0, "bridge.list", NULL, print_bridge_names, NULL },
    { "add-port", "BR PORT type=TYPE [key=value...]",
      "add PORT of TYPE to bridge BR, with options",
      3, -1, NULL, NULL, NULL, cmd_add_port },
    { "set-port", "PORT [key=value...]",
      "change options of PORT (key= restores a default); with none, retry a "
      "port in state error",
      1, -1, NULL, NULL, NULL, cmd_set_port },
    { "del-port", "PORT", "delete PORT",
      1, 1, "port.del", "name", NULL, NULL },
    { "list-ports", "[BR]", "print the names of all ports (of BR)",
      0, 1, "port.list", "bridge", print_port_names, NULL },
    { "port-show", "PORT", "print the configuration and state of PORT",
      1, 1, "port.show", "name", print_port_show, NULL },
    { "port-stats", "[PORT]", "print port counters and drop reasons",
      0, 1, "port.stats", "name", print_port_stats, NULL },
    { "port-stats-clear", "[PORT]", "zero the counters of PORT (or all ports)",
      0, 1, "port.stats_clear", "name", NULL, NULL },
    { "fdb-show", "BR", "print the MAC learning table of BR",
      1, 1, "fdb.show", "bridge", print_fdb, NULL },
    { "fdb-flush", "BR", "remove all learned MACs of BR",
      1, 1, "fdb.flush", "bridge", print_fdb_flush, NULL },
    { "pmd-stats-show", "", "print PMD thread statistics",
      0, 0, "pmd.stats", NULL, print_pmd_stats, NULL },
    { "pmd-stats-clear", "", "zero the PMD thread statistics",
      0, 0, "pmd.stats_clear", NULL, NULL, NULL },
    { "pmd-rxq-show", "", "print the rx queues polled by each PMD thread "
      "and their load",
      0, 0, "pmd.rxq_show", NULL, print_pmd_rxqs, NULL },
    { "pmd-rxq-rebalance", "", "re-assign rx queues to PMD threads by "
      "measured load",
      0, 0, "pmd.rxq_rebalance", NULL, print_pmd_rebalance, NULL },
    { "monitor", "", "print events (ports added/removed, frontends "
      "(dis)connecting) as they happen",
      0, 0, NULL, NULL, NULL, cmd_monitor },
    { "call", "METHOD [JSON-PARAMS]", "send a raw JSON-RPC request, print the result",
      1, 2, NULL, NULL, NULL, cmd_call },
};

#define N_COMMANDS (sizeof vsctl_commands / sizeof vsctl_commands[0])

/* Runs plain command 'cmd' (see struct vsctl_command) with its 'argc'
 * arguments 'argv'.  Returns an exit status. */
static int
run_method(struct vsctl_ctx *ctx, const struct vsctl_command *cmd,
           int argc, char *argv[])
{
    struct json_object *params = NULL, *result;

    if (cmd->param) {
        params = argc > 0 ? params1(cmd->param, argv[0])
                          : json_object_new_object();
    }
    int status = vsctl_call(ctx, cmd->method, params, &result);
    if (!status) {
        if (ctx->opts->format == VSCTL_FORMAT_JSON) {
            print_json(result);
        } else if (cmd->print) {
            cmd->print(result);
        }
    }
    json_object_put(result);
    return status;
}

/* Returns "NAME ARGS" for 'cmd' as a new string. */
static char *
command_usage(const struct vsctl_command *cmd)
{
    char *s;
    if (asprintf(&s, "%s%s%s", cmd->name, *cmd->args ? " " : "", cmd->args) < 0) {
        fputs("vsctl: out of memory\n", stderr);
        abort();
    }
    return s;
}

/* Prints every command's usage and help, one per line, indented by 'indent'
 * spaces, to 'stream'. */
static void
print_commands(FILE *stream, int indent)
{
    int width = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char *usage = command_usage(&vsctl_commands[i]);
        width = (int) strlen(usage) > width ? (int) strlen(usage) : width;
        free(usage);
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char *usage = command_usage(&vsctl_commands[i]);
        fprintf(stream, "%*s%-*s  %s\n", indent, "", width, usage,
                vsctl_commands[i].help);
        free(usage);
    }
}

/* "list-commands": the command table, as text or as {"commands": [...]}. */
static int
cmd_list_commands(struct vsctl_ctx *ctx, int argc OVS_UNUSED,
                  char *argv[] OVS_UNUSED)
{
    if (ctx->opts->format == VSCTL_FORMAT_TABLE) {
        print_commands(stdout, 0);
        return VSCTL_EXIT_OK;
    }

    struct json_object *commands = json_object_new_array();
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct vsctl_command *cmd = &vsctl_commands[i];
        struct json_object *entry = json_object_new_object();
        json_object_object_add(entry, "name", json_object_new_string(cmd->name));
        char *usage = command_usage(cmd);
        json_object_object_add(entry, "usage", json_object_new_string(usage));
        free(usage);
        json_object_object_add(entry, "help", json_object_new_string(cmd->help));
        json_object_array_add(commands, entry);
    }
    struct json_object *result = json_object_new_object();
    json_object_object_add(result, "commands", commands);
    print_json(result);
    json_object_put(result);
    return VSCTL_EXIT_OK;
}

/* ---- main ---------------------------------------------------------------- */

/* Prints the usage message to 'stream'. */
static void
usage(FILE *stream)
{
    fprintf(stream,
            "vsctl - control vswitchd\n"
            "usage: vsctl [OPTIONS] COMMAND [ARG...]\n"
            "\n"
            "Options:\n"
            "  --socket PATH        control socket (default "
            "$VSWITCH_RUNDIR/vswitchd.sock\n"
            "                       or /run/vswitch/vswitchd.sock)\n"
            "  --format table|json  output format (default table)\n"
            "  --timeout S          give up after S seconds (default 10, "
            "0 = never)\n"
            "  -h, --help           print this message and exit\n"
            "  -V, --version        print vsctl's version and exit\n"
            "\n"
            "Commands:\n");
    print_commands(stream, 2);
    fprintf(stream,
            "\n"
            "Exit status: 0 success, 1 vswitchd returned an error, "
            "2 usage error or\nvswitchd not reachable.\n");
}

/* Returns the command named 'name', or NULL. */
static const struct vsctl_command *
find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (!strcmp(vsctl_commands[i].name, name)) {
            return &vsctl_commands[i];
        }
    }
    return NULL;
}

/* Parses the options in 'argv' into 'opts'.  Returns -1 to go on with the
 * command at argv[optind], or an exit status to exit with now. */
static int
parse_options(int argc, char *argv[], struct vsctl_options *opts)
{
    static const struct option long_options[] = {
        { "socket", required_argument, NULL, 's' },
        { "format", required_argument, NULL, 'f' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *rundir = getenv("VSWITCH_RUNDIR");
    char *end;

    opts->format = VSCTL_FORMAT_TABLE;
    opts->timeout = 10;
    if (asprintf(&opts->socket, "%s/vswitchd.sock",
                 rundir && *rundir ? rundir : "/run/vswitch") < 0) {
        abort();
    }

    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:hV", long_options, NULL);
        switch (c) {
        case -1:
            return -1;
        case 's':
            free(opts->socket);
            opts->socket = strdup(optarg);
            if (!opts->socket) {
                abort();
            }
            break;
        case 'f':
            if (!strcmp(optarg, "table")) {
                opts->format = VSCTL_FORMAT_TABLE;
            } else if (!strcmp(optarg, "json")) {
                opts->format = VSCTL_FORMAT_JSON;
            } else {
                fprintf(stderr, "vsctl: --format must be table or json, "
                        "not \"%s\"\n", optarg);
                return VSCTL_EXIT_FAILURE;
            }
            break;
        case 't':
            errno = 0;
            opts->timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(opts->timeout)
                || opts->timeout < 0 || opts->timeout > 1e9) {
                fprintf(stderr, "vsctl: --timeout: \"%s\" is not a number of "
                        "seconds\n", optarg);
                return VSCTL_EXIT_FAILURE;
            }
            break;
        case 'h':
            usage(stdout);
            return VSCTL_EXIT_OK;
        case 'V':
            printf("vsctl %s\n", VSWITCH_VERSION);
            return VSCTL_EXIT_OK;
        case ':':
            fprintf(stderr, "vsctl: option \"%s\" needs an argument\n",
                    argv[optind - 1]);
            return VSCTL_EXIT_FAILURE;
        default:
            fprintf(stderr, "vsctl: unknown option \"%s\" (try --help)\n",
                    argv[optind - 1]);
            return VSCTL_EXIT_FAILURE;
        }
    }
}

int
main(int argc, char *argv[])
{
    struct vsctl_options opts;
    int status = parse_options(argc, argv, &opts);
    if (status >= 0) {
        goto out;
    }

    status = VSCTL_EXIT_FAILURE;
    if (optind >= argc) {
        fprintf(stderr, "vsctl: missing command (try --help)\n");
        goto out;
    }
    const struct vsctl_command *cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "vsctl: unknown command \"%s\" (try list-commands)\n",
                argv[optind]);
        goto out;
    }
    int n_args = argc - optind - 1;
    if (n_args < cmd->min_args || (cmd->max_args >= 0 && n_args > cmd->max_args)) {
        char *usage_line = command_usage(cmd);
        fprintf(stderr, "vsctl: %s: wrong number of arguments\n"
                "usage: vsctl %s\n", cmd->name, usage_line);
        free(usage_line);
        goto out;
    }

    struct vsctl_ctx ctx = {
        .opts = &opts,
        .client = {
            .path = opts.socket,
            .fd = -1,
            .decoder = rpc_decoder_create(VSCTL_MAX_RESPONSE),
            .queue = json_object_new_array(),
            .next_id = 1,
            .timeout = opts.timeout,
            .deadline = opts.timeout > 0
                        ? vsctl_now_ms() + (int64_t) (opts.timeout * 1000 + 0.999)
                        : -1,
        },
    };
    if (!ctx.client.decoder || !ctx.client.queue) {
        fputs("vsctl: out of memory\n", stderr);
        abort();
    }
    status = (cmd->run ? cmd->run(&ctx, n_args, &argv[optind + 1])
              : run_method(&ctx, cmd, n_args, &argv[optind + 1]));
    if (ctx.client.fd >= 0) {
        close(ctx.client.fd);
    }
    rpc_decoder_destroy(ctx.client.decoder);
    json_object_put(ctx.client.queue);

out:
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "vsctl: error writing output: %s\n", strerror(errno));
        status = VSCTL_EXIT_FAILURE;
    }
    free(opts.socket);
    return status;
}
