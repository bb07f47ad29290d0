/* rpc - JSON-RPC 2.0 codec and method dispatcher, independent of transport.
 *
 * rpc-server.c puts this on a unix socket with libevent; vsctl uses the
 * decoder and rpc_make_request() on the client side; tests/unit/test-rpc.c
 * drives it directly.  Everything here runs on one thread (the main thread of
 * vswitchd); nothing is locked. */
#ifndef VSWITCH_RPC_H
#define VSWITCH_RPC_H 1

#include <stddef.h>
#include <json-c/json.h>

/* Standard JSON-RPC 2.0 error codes. */
#define RPC_ERR_PARSE            (-32700)
#define RPC_ERR_INVALID_REQUEST  (-32600)
#define RPC_ERR_METHOD_NOT_FOUND (-32601)
#define RPC_ERR_INVALID_PARAMS   (-32602)
#define RPC_ERR_INTERNAL         (-32603)

/* Application error codes (server-defined range). */
#define RPC_ERR_NOT_FOUND        (-32001) /* No such bridge/port/... */
#define RPC_ERR_EXISTS           (-32002) /* Name already in use. */
#define RPC_ERR_LIMIT            (-32003) /* A configured limit was reached. */
#define RPC_ERR_FAILED           (-32004) /* The operation failed; see data. */

/* Largest message accepted by default (1 MiB). */
#define RPC_MAX_MSG (1024 * 1024)

/* Most calls in one batch (default): a longer batch is refused whole with
 * one -32600 error, none of its calls executed. */
#define RPC_MAX_BATCH 100

/* Largest response to a batch (default; the server's output cap): once the
 * responses built so far exceed it, the rest of the batch is not executed
 * and the whole response is replaced by one -32003 error. */
#define RPC_MAX_RESPONSE (16 * 1024 * 1024)

/* An error a method reports. 'data' (may be NULL) is owned by the error and
 * is put into the response's error.data. */
struct rpc_error {
    int code;
    char message[256];
    struct json_object *data;
    /* Set by a method that succeeded inside a batch but left part of its
     * work to the batch's end hook (saving the configuration): if that hook
     * fails, this call's response becomes the hook's error. */
    int deferred;
};

/* Shortens the 'len' bytes of 's' (valid UTF-8 cut at an arbitrary byte)
 * so that they do not end inside a UTF-8 sequence: drops a trailing
 * incomplete character.  Writes a NUL at the new end (s[len] must be
 * writable) and returns the new length. */
size_t rpc_utf8_trim(char *s, size_t len);

/* Fills 'error' with 'code' and a printf-style message (a message longer
 * than error->message is cut on a UTF-8 character boundary).  Returns 'code' so a
 * method can "return rpc_error_set(err, ...)". */
int rpc_error_set(struct rpc_error *error, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks a method's 'params': absent (NULL), or an object whose members are
 * all named in 'allowed' (NULL-terminated).  Returns 0, or fills 'error'
 * (RPC_ERR_INVALID_PARAMS: not an object, or the first unknown member) and
 * returns its code. */
int rpc_params_check(struct json_object *params, const char *const *allowed,
                     struct rpc_error *error);

/* A method.  'conn' identifies the caller's connection (opaque; NULL when not
 * called through a connection), 'params' is the request's params (NULL if
 * absent; may be an object or an array: the method checks), 'aux' is what was
 * given to rpc_register().  On success returns 0 and stores a new reference
 * in *result (NULL means an empty object {}).  On failure returns nonzero
 * after filling 'error' (rpc_error_set). */
typedef int rpc_method_fn(void *conn, struct json_object *params, void *aux,
                          struct json_object **result, struct rpc_error *error);

struct rpc_dispatcher;

struct rpc_dispatcher *rpc_dispatcher_create(void);
void rpc_dispatcher_destroy(struct rpc_dispatcher *);

/* Registers 'name'.  Returns 0, or -EEXIST if already registered. */
int rpc_register(struct rpc_dispatcher *, const char *name, rpc_method_fn *fn,
                 void *aux);

/* Batch hooks: 'begin' runs before the first call of a batch (a JSON array
 * of requests), 'end' after its last call, e.g. to save once what the calls
 * changed.  'end' returns 0, or nonzero after filling 'error': then every
 * call of the batch that succeeded with error->deferred set gets that error
 * as its response instead.  Single requests do not run the hooks. */
typedef void rpc_batch_begin_fn(void *aux);
typedef int rpc_batch_end_fn(void *aux, struct rpc_error *error);
void rpc_set_batch_hooks(struct rpc_dispatcher *, rpc_batch_begin_fn *begin,
                         rpc_batch_end_fn *end, void *aux);

/* Changes the batch limits (defaults RPC_MAX_BATCH, RPC_MAX_RESPONSE). */
void rpc_set_limits(struct rpc_dispatcher *, size_t max_batch,
                    size_t max_response);

/* Returns a new JSON array of the registered method names, sorted. */
struct json_object *rpc_list_methods(const struct rpc_dispatcher *);

/* Handles one parsed JSON message: a request, a notification or a batch.
 * Returns the response to send (an object, or an array for a batch) as a new
 * reference, or NULL when nothing is to be sent (only notifications, or an
 * empty result for an all-notification batch).  An empty batch array, or one
 * of more than the maximum number of calls, gets an invalid-request error;
 * a batch whose responses grow past the maximum response size stops there
 * and gets one limit error (see RPC_MAX_BATCH, RPC_MAX_RESPONSE).  Does not
 * take ownership of 'msg'. */
struct json_object *rpc_dispatch(struct rpc_dispatcher *, struct json_object *msg,
                                 void *conn);

/* Builds an error response {"jsonrpc":"2.0","error":{...},"id":id}.  'id' may
 * be NULL (JSON null); a new reference to it is taken.  'data' may be NULL;
 * ownership of it passes to the response. */
struct json_object *rpc_make_error(struct json_object *id, int code,
                                   const char *message, struct json_object *data);

/* Builds a request {"jsonrpc":"2.0","method":m,"params":p,"id":id}; takes
 * ownership of 'params' (may be NULL: omitted). */
struct json_object *rpc_make_request(const char *method, struct json_object *params,
                                     int id);

/* Builds a notification {"jsonrpc":"2.0","method":m,"params":p}; takes
 * ownership of 'params'. */
struct json_object *rpc_make_notification(const char *method,
                                          struct json_object *params);

/* Incremental stream decoder: turns a byte stream of concatenated or
 * whitespace/newline-separated JSON texts into values. */
struct rpc_decoder;

/* 'max_msg' is the largest single JSON text accepted, in bytes. */
struct rpc_decoder *rpc_decoder_create(size_t max_msg);
void rpc_decoder_destroy(struct rpc_decoder *);

typedef void rpc_decoder_cb(struct json_object *value, void *aux);

/* Feeds 'len' bytes.  Calls 'cb' once per complete JSON value, in order,
 * passing ownership of the value (NULL for a JSON null).  Returns 0 when all
 * bytes were consumed (a partial value is kept for the next call), -EMSGSIZE
 * when the value being parsed exceeds 'max_msg', -EINVAL on a JSON syntax
 * error or invalid UTF-8.  Values before the offending byte are still passed
 * to 'cb'.  Whitespace between values counts towards no value's size.  A
 * top-level number, true or false is only complete once the next byte is
 * seen (objects and arrays complete at their closing bracket).
 * After a negative return the decoder is poisoned: every later call returns
 * the same error.  rpc_decoder_error() gives a human-readable reason ("no
 * error" before any). */
int rpc_decoder_feed(struct rpc_decoder *, const char *buf, size_t len,
                     rpc_decoder_cb *cb, void *aux);
const char *rpc_decoder_error(const struct rpc_decoder *);

/* True if part of a value has been fed but not completed. */
int rpc_decoder_pending(const struct rpc_decoder *);

#endif
