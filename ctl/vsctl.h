/* vsctl - what the command-line tool's modules share: the parsed options,
 * the connection to vswitchd, exit statuses and the call helper
 * (ctl/vsctl.c), for commands that live in their own file
 * (ctl/vsctl-capture.c). */
#ifndef VSWITCH_VSCTL_H
#define VSWITCH_VSCTL_H 1

#include <stdint.h>
#include <json-c/json.h>

#define VSCTL_EXIT_OK      0    /* Success. */
#define VSCTL_EXIT_ERROR   1    /* The daemon returned a JSON-RPC error. */
#define VSCTL_EXIT_FAILURE 2    /* Usage error, or daemon not reachable. */

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

/* Sends request 'method' with 'params' (ownership taken; may be NULL) on
 * 'ctx''s connection (connecting first if needed) and waits for its
 * response within the deadline; notifications that arrive meanwhile stay
 * in ctx->client.queue.  Returns VSCTL_EXIT_OK and a new reference to the
 * result in *result, or prints the reason and returns another exit
 * status. */
int vsctl_call(struct vsctl_ctx *, const char *method, struct json_object *params,
               struct json_object **result);

/* "capture PORT ...": ctl/vsctl-capture.c. */
int vsctl_capture(struct vsctl_ctx *, int argc, char *argv[]);

#endif
