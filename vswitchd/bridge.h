/* bridge - the switch's configuration model: bridges and their ports.
 *
 * Owns the names, types and options users configure and turns them into
 * running objects: a dp_bridge per bridge, and per port an instance of its
 * port type's provider (datapath/port-provider.h: the only way this module
 * knows port types) plus a dp_port.  Saves the configuration (config.c) after every
 * successful change and replays it at start.  JSON-RPC methods (methods.c)
 * call in here.  Main thread only.
 *
 * Functions that can fail return 0 or a negative errno and write a
 * one-line, user-facing reason into 'err' (ERRLEN bytes):
 *   -EINVAL  bad name, type or option     -ENOENT  no such bridge/port
 *   -EEXIST  name or socket in use        BRIDGE_ELIMIT  a limit was reached
 *   other    the operation failed (e.g. -EIO from the vhost library, or
 *            -ENOSPC / -EROFS / -EIO: the configuration could not be saved,
 *            and then nothing was changed).
 * A limit is not -ENOSPC, so that a full disk is never reported as one. */
#ifndef VSWITCH_BRIDGE_H
#define VSWITCH_BRIDGE_H 1

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct datapath;
struct bridge_set;
struct port_class;

#define BRIDGE_ERRLEN 256           /* Same as PORT_ERRLEN. */
#define BRIDGE_ELIMIT (-EMLINK)     /* Too many bridges, ports, ... */

struct bridge_set_params {
    struct datapath *dp;
    const struct port_class *const *classes;   /* NULL-terminated; init()ed. */
    const char *conf_path;          /* NULL: do not persist. */
    /* Called after a bridge or port was added or removed by a request
     * ("bridge_added", "bridge_removed", "port_added", "port_removed";
     * 'port' or 'bridge' NULL when not applicable).  May be NULL. */
    void (*notify)(void *aux, const char *type, const char *port,
                   const char *bridge);
    void *notify_aux;
};

int bridge_set_create(const struct bridge_set_params *, struct bridge_set **);

/* Removes every port and bridge from the running switch (vhost sockets are
 * unregistered and removed) without touching the saved configuration. */
void bridge_set_destroy(struct bridge_set *);

/* Replays a configuration loaded by config_load().  Objects that fail are
 * logged and skipped, except ports whose options are valid but that could
 * not be created (e.g. their device is gone): those are kept in state
 * "error" with the reason, and port.set retries them.  Returns the number
 * of objects skipped. */
int bridge_set_restore(struct bridge_set *, struct json_object *conf);

/* Batches (a JSON-RPC batch of calls): between bridge_set_batch_begin() and
 * bridge_set_batch_end(), changes are applied and announced as usual but
 * the configuration is saved once, by bridge_set_batch_end(), instead of
 * once per change (each save is a write, fsync and rename).  The batch's
 * first change still writes the temp file before it is applied (a probe):
 * if that fails (read-only statedir, disk full, ...) it and every later
 * change of the batch are refused, nothing changed.  Only if the final
 * save fails after a successful probe (the disk filled up meanwhile) does
 * bridge_set_batch_end() return the error ("applied but not saved"), and
 * the next change saves the whole configuration again.  Returns 0 or a
 * negative errno with a reason in 'err'. */
void bridge_set_batch_begin(struct bridge_set *);
int bridge_set_batch_end(struct bridge_set *, char *err);
bool bridge_set_in_batch(const struct bridge_set *);

/* True if 'name' is a valid bridge or port name. */
bool bridge_name_valid(const char *name);

/* 'options' (object of strings, may be NULL): "mac-table-size" (FDB bound,
 * default 8192) and "mac-aging-time" (seconds, default 300). */
int bridge_add(struct bridge_set *, const char *name, struct json_object *options,
               char *err);
int bridge_del(struct bridge_set *, const char *name, char *err);

/* 'options' is an object whose values are strings (may be NULL). */
int bridge_port_add(struct bridge_set *, const char *bridge, const char *name,
                    const char *type, struct json_object *options, char *err);
int bridge_port_del(struct bridge_set *, const char *name, char *err);

/* Changes options of port 'name': 'changes' is an object of strings; an
 * empty value removes the option (back to its default).  What the provider
 * can change in place (reconfigure()) changes in place; anything else
 * re-creates the port (a connected frontend is disconnected and
 * reconnects).  On failure nothing changes.  A port in state "error" is
 * created again (with the changes, which may be empty). */
int bridge_port_set(struct bridge_set *, const char *name,
                    struct json_object *changes, char *err);

/* Query functions store a new JSON object in *out (shapes: see
 * Documentation/jsonrpc.md). */
struct json_object *bridge_list_json(const struct bridge_set *);
int bridge_port_list_json(const struct bridge_set *, const char *bridge,
                          struct json_object **out, char *err);
int bridge_port_show_json(const struct bridge_set *, const char *name,
                          struct json_object **out, char *err);
int bridge_port_stats_clear(struct bridge_set *, const char *name, char *err);
int bridge_fdb_show_json(const struct bridge_set *, const char *bridge,
                         struct json_object **out, char *err);
int bridge_fdb_flush(struct bridge_set *, const char *bridge, int *n_flushed,
                     char *err);

/* Read-only visits for the counter readers (vswitchd/stats.c).  A view is
 * valid only during the callback, which must not change the model. */
struct dp_bridge;
struct dp_port;
struct bridge_port_view {
    const char *bridge;             /* The port's bridge. */
    const char *name;
    const struct port_class *cls;
    const struct dp_port *dp;       /* NULL if not running (state "error"). */
    const void *dev;                /* The provider's instance, or NULL. */
};
typedef void bridge_port_visit_cb(const struct bridge_port_view *, void *aux);
typedef void bridge_visit_cb(const char *name, const struct dp_bridge *, void *aux);

/* Calls 'cb' for port 'name', or for every port (bridge by bridge, in the
 * order they were added) if 'name' is NULL.  Returns 0, or -ENOENT. */
int bridge_visit_ports(const struct bridge_set *, const char *name,
                       bridge_port_visit_cb *cb, void *aux, char *err);

/* Calls 'cb' for bridge 'name', or for every bridge if 'name' is NULL.
 * Returns 0, or -ENOENT. */
int bridge_visit_bridges(const struct bridge_set *, const char *name,
                         bridge_visit_cb *cb, void *aux, char *err);

#endif
