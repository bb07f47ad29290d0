/* vsctl-capture - "vsctl capture PORT [--direction rx|tx|both] [--count N]
 * [--snaplen N] -w FILE|-": starts a capture with port.capture and writes
 * the pcapng bytes the daemon streams ("capture.data" notifications,
 * base64) to FILE or stdout, until "capture.end" (count reached, port
 * deleted, daemon shutting down).  Ctrl-C (SIGINT), SIGTERM or SIGHUP send
 * port.capture_stop and still write what was captured up to then, so the
 * file is complete; if the reader of stdout goes away (EPIPE), vsctl just
 * closes the connection and the daemon stops the capture.
 * Documentation/vsctl.md and Documentation/howto-capture.md describe it. */
#include "ctl/vsctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/rpc.h"

static volatile sig_atomic_t stop_signals;

static void
on_stop_signal(int sig)
{
    (void) sig;
    stop_signals++;
}

/* Parsed arguments of the command. */
struct capture_args {
    const char *port;
    const char *direction;      /* NULL: the daemon's default (both). */
    long long count;            /* -1: none. */
    long long snaplen;          /* -1: none. */
    const char *file;           /* "-" for stdout. */
};

/* Parses a positive integer option value.  Returns 0 or prints the error
 * and returns -1. */
static int
parse_count(const char *opt, const char *s, long long max, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    if (errno || end == s || *end || *v < 1 || *v > max) {
        fprintf(stderr, "vsctl: capture: %s must be a number from 1 to %lld, "
                "not \"%s\"\n", opt, max, s);
        return -1;
    }
    return 0;
}

/* Parses the command's arguments.  Returns 0 or prints why and returns -1. */
static int
parse_args(int argc, char *argv[], struct capture_args *a)
{
    memset(a, 0, sizeof *a);
    a->count = a->snaplen = -1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        char opt[32];

        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (a->port) {
                fprintf(stderr, "vsctl: capture: unexpected argument \"%s\"\n", arg);
                return -1;
            }
            a->port = arg;
            continue;
        }
        snprintf(opt, sizeof opt, "%.*s", eq && !strncmp(arg, "--", 2)
                 ? (int) (eq - arg) : (int) strlen(arg), arg);
        if (eq && !strncmp(arg, "--", 2)) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        }
        bool known = !strcmp(opt, "--direction") || !strcmp(opt, "--count")
                     || !strcmp(opt, "--snaplen") || !strcmp(opt, "-w")
                     || !strcmp(opt, "--write");
        if (!known) {
            fprintf(stderr, "vsctl: capture: unknown option \"%s\"\n", arg);
            return -1;
        }
        if (!value) {
            fprintf(stderr, "vsctl: capture: option \"%s\" needs an argument\n", opt);
            return -1;
        }
        if (!strcmp(opt, "--direction")) {
            if (strcmp(value, "rx") && strcmp(value, "tx") && strcmp(value, "both")) {
                fprintf(stderr, "vsctl: capture: --direction must be rx, tx or "
                        "both, not \"%s\"\n", value);
                return -1;
            }
            a->direction = value;
        } else if (!strcmp(opt, "--count")) {
            if (parse_count(opt, value, INT64_MAX, &a->count)) {
                return -1;
            }
        } else if (!strcmp(opt, "--snaplen")) {
            if (parse_count(opt, value, 262144, &a->snaplen)) {
                return -1;
            }
        } else {
            a->file = value;
        }
    }
    if (!a->port) {
        fprintf(stderr, "vsctl: capture: missing PORT\n");
        return -1;
    }
    if (!a->file) {
        fprintf(stderr, "vsctl: capture: missing -w FILE (- for stdout)\n");
        return -1;
    }
    return 0;
}

/* Writes all of 'buf' to 'fd'.  Returns 0 or a negative errno. */
static int
write_all(int fd, const void *buf_, size_t len)
{
    const char *buf = buf_;

    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t) n;
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Sends port.capture_stop for capture 'id' with request id 'req'.
 * Returns 0 or a negative errno. */
static int
send_stop(struct vsctl_client *c, int64_t id, int req)
{
    struct json_object *params = json_object_new_object();
    json_object_object_add(params, "id", json_object_new_int64(id));
    struct json_object *msg = rpc_make_request("port.capture_stop", params, req);
    const char *text = json_object_to_json_string_ext(msg, JSON_COMPACT);
    char *line = NULL;
    int error = 0;

    if (asprintf(&line, "%s\n", text) < 0) {
        error = -ENOMEM;
    } else {
        /* A short request on a socket that is otherwise only read: one
         * blocking-free send normally takes it all. */
        size_t len = strlen(line), off = 0;
        while (off < len) {
            ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += (size_t) n;
            } else if (n < 0 && errno == EAGAIN) {
                struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
                poll(&pfd, 1, 1000);
            } else if (n < 0 && errno != EINTR) {
                error = -errno;
                break;
            }
        }
    }
    free(line);
    json_object_put(msg);
    return error;
}

/* rpc_decoder callback: queues 'value' on the client. */
static void
queue_value(struct json_object *value, void *c_)
{
    struct vsctl_client *c = c_;
    json_object_array_add(c->queue, value);
}

/* Prints the summary of a finished capture (capture.end params) on
 * stderr. */
static void
print_end(const struct vsctl_ctx *ctx, struct json_object *end)
{
    if (ctx->opts->format == VSCTL_FORMAT_JSON) {
        fprintf(stderr, "%s\n", json_object_to_json_string_ext(end, JSON_COMPACT));
        return;
    }
    struct json_object *v;
    const char *reason = json_object_object_get_ex(end, "reason", &v)
                         ? json_object_get_string(v) : "?";
    const char *port = json_object_object_get_ex(end, "port", &v)
                       ? json_object_get_string(v) : "?";
    int64_t packets = json_object_object_get_ex(end, "packets", &v)
                      ? json_object_get_int64(v) : 0;
    int64_t dropped = json_object_object_get_ex(end, "dropped", &v)
                      ? json_object_get_int64(v) : 0;
    fprintf(stderr, "vsctl: capture on %s ended (%s): %"PRId64" packets, "
            "%"PRId64" dropped by the capture\n", port, reason, packets, dropped);
}

int
vsctl_capture(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct vsctl_client *c = &ctx->client;
    struct capture_args a;
    struct json_object *result = NULL;
    int status, out = -1;

    if (parse_args(argc, argv, &a)) {
        return VSCTL_EXIT_FAILURE;
    }

    /* Signals before the capture starts: a Ctrl-C from then on stops it
     * cleanly.  No SA_RESTART, so that poll() returns. */
    struct sigaction sa = { .sa_handler = on_stop_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct json_object *params = json_object_new_object();
    json_object_object_add(params, "name", json_object_new_string(a.port));
    if (a.direction) {
        json_object_object_add(params, "direction", json_object_new_string(a.direction));
    }
    if (a.count > 0) {
        json_object_object_add(params, "count", json_object_new_int64(a.count));
    }
    if (a.snaplen > 0) {
        json_object_object_add(params, "snaplen", json_object_new_int64(a.snaplen));
    }
    status = vsctl_call(ctx, "port.capture", params, &result);
    if (status) {
        return status;
    }
    struct json_object *v;
    int64_t id = json_object_object_get_ex(result, "id", &v) ? json_object_get_int64(v) : -1;
    json_object_put(result);

    if (!strcmp(a.file, "-")) {
        out = STDOUT_FILENO;
    } else {
        out = open(a.file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
            fprintf(stderr, "vsctl: capture: cannot open %s: %s\n", a.file,
                    strerror(errno));
            return VSCTL_EXIT_FAILURE;  /* Closing the socket stops it. */
        }
    }
    if (ctx->opts->format == VSCTL_FORMAT_TABLE) {
        fprintf(stderr, "vsctl: capturing on %s (capture %"PRId64"), Ctrl-C to stop\n",
                a.port, id);
    }

    bool stop_sent = false;
    int64_t stop_deadline = -1;
    status = -1;
    while (status < 0) {
        while (status < 0 && json_object_array_length(c->queue) > 0) {
            struct json_object *msg = json_object_get(json_object_array_get_idx(c->queue, 0));
            struct json_object *method, *p, *mid;
            json_object_array_del_idx(c->queue, 0, 1);
            if (json_object_object_get_ex(msg, "method", &method)
                && json_object_object_get_ex(msg, "params", &p)
                && json_object_object_get_ex(p, "id", &mid)
                && json_object_get_int64(mid) == id) {
                const char *m = json_object_get_string(method);
                struct json_object *data;
                if (!strcmp(m, "capture.data")
                    && json_object_object_get_ex(p, "data", &data)) {
                    const char *text = json_object_get_string(data);
                    size_t len = (size_t) json_object_get_string_len(data);
                    unsigned char *bytes = malloc(base64_decoded_max(len) + 1);
                    ssize_t n = bytes ? base64_decode(text, len, bytes) : -ENOMEM;
                    int error = n < 0 ? 0 : write_all(out, bytes, (size_t) n);
                    free(bytes);
                    if (n < 0) {
                        fprintf(stderr, "vsctl: capture: bad capture.data from "
                                "vswitchd\n");
                        status = VSCTL_EXIT_FAILURE;
                    } else if (error == -EPIPE) {
                        status = VSCTL_EXIT_OK;     /* The reader is done. */
                    } else if (error) {
                        fprintf(stderr, "vsctl: capture: writing %s: %s\n",
                                a.file, strerror(-error));
                        status = VSCTL_EXIT_FAILURE;
                    }
                } else if (!strcmp(m, "capture.end")) {
                    print_end(ctx, p);
                    status = VSCTL_EXIT_OK;
                }
            }
            json_object_put(msg);
        }
        if (status >= 0) {
            break;
        }
        if (stop_signals > 1) {
            fprintf(stderr, "vsctl: capture: interrupted again, not waiting\n");
            status = VSCTL_EXIT_FAILURE;
            break;
        }
        if (stop_signals && !stop_sent) {
            int error = send_stop(c, id, c->next_id++);
            if (error) {
                fprintf(stderr, "vsctl: %s: %s\n", c->path, strerror(-error));
                status = VSCTL_EXIT_FAILURE;
                break;
            }
            stop_sent = true;
            if (ctx->opts->timeout > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                stop_deadline = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000
                                + (int64_t) (ctx->opts->timeout * 1000);
            }
        }

        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int timeout = -1;
        if (stop_deadline >= 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t left = stop_deadline - ((int64_t) ts.tv_sec * 1000
                                            + ts.tv_nsec / 1000000);
            if (left <= 0) {
                fprintf(stderr, "vsctl: capture: no end from vswitchd within "
                        "%g s of stopping\n", ctx->opts->timeout);
                status = VSCTL_EXIT_FAILURE;
                break;
            }
            timeout = left > 1000 ? 1000 : (int) left;
        }
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "vsctl: %s: %s\n", c->path, strerror(errno));
            status = VSCTL_EXIT_FAILURE;
        } else if (n > 0) {
            char buf[65536];
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                fprintf(stderr, "vsctl: %s: %s before the capture ended\n", c->path,
                        r ? strerror(errno) : "connection closed by vswitchd");
                status = VSCTL_EXIT_FAILURE;
            } else if (r > 0 && rpc_decoder_feed(c->decoder, buf, (size_t) r,
                                                 queue_value, c) < 0) {
                fprintf(stderr, "vsctl: %s: invalid message: %s\n", c->path,
                        rpc_decoder_error(c->decoder));
                status = VSCTL_EXIT_FAILURE;
            }
        }
    }
    if (out >= 0 && out != STDOUT_FILENO && close(out) && status == VSCTL_EXIT_OK) {
        fprintf(stderr, "vsctl: capture: closing %s: %s\n", a.file, strerror(errno));
        status = VSCTL_EXIT_FAILURE;
    }
    return status;
}
