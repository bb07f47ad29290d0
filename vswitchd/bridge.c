/* bridge - bridges and ports as configured by users.  See bridge.h.
 *
 * Main thread only.  Everything the PMDs see goes through datapath.c; this
 * file never touches a packet. */
#include "vswitchd/bridge.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VLOG_MODULE "bridge"
#include "lib/vlog.h"
#include "vswitchd/config.h"
#include "datapath/datapath.h"
#include "datapath/fdb.h"
#include "vhost/vhost-port.h"

#define DEFAULT_TX_RETRIES 8
#define MAX_TX_RETRIES     32

const char *const bridge_port_types[] = { "vhost-user", "vhost-user-client", NULL };

struct port {
    char name[DP_NAME_MAX];
    char type[24];
    struct bridge *br;
    struct json_object *options;        /* Object of strings, as configured. */
    char path[PATH_MAX];                /* vhost socket. */
    struct dp_port *dp;
    struct vhost_port *vhost;
};

struct bridge {
    char name[DP_NAME_MAX];
    struct json_object *options;        /* Object of strings, as configured. */
    struct dp_bridge *dp;
    unsigned n_ports;
    struct port *ports[DP_MAX_PORTS];   /* In the order they were added. */
};

struct bridge_set {
    struct datapath *dp;
    char vhost_sock_dir[PATH_MAX];      /* realpath() of the configured dir. */
    char *conf_path;
    bool quiet;                         /* Replaying: no saves, no events. */
    void (*notify)(void *, const char *, const char *, const char *);
    void *notify_aux;
    int vhost_sock_gid;
    unsigned n_bridges;
    struct bridge *bridges[DP_MAX_BRIDGES];
};

static int __attribute__((format(printf, 3, 4)))
fail(char *err, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, BRIDGE_ERRLEN, fmt, args);
    va_end(args);
    return code;
}

bool
bridge_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len >= DP_NAME_MAX || name[0] == '.' || name[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

static struct bridge *
bridge_find(const struct bridge_set *bs, const char *name)
{
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        if (!strcmp(bs->bridges[i]->name, name)) {
            return bs->bridges[i];
        }
    }
    return NULL;
}

static struct port *
port_find(const struct bridge_set *bs, const char *name)
{
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        const struct bridge *br = bs->bridges[i];
        for (unsigned j = 0; j < br->n_ports; j++) {
            if (!strcmp(br->ports[j]->name, name)) {
                return br->ports[j];
            }
        }
    }
    return NULL;
}

static const struct port *
port_find_by_no(const struct bridge *br, int port_no)
{
    for (unsigned j = 0; j < br->n_ports; j++) {
        if (br->ports[j]->dp->fdb_id == port_no) {
            return br->ports[j];
        }
    }
    return NULL;
}

/* Builds the configuration object from the running model. */
static struct json_object *
bridge_set_to_json(const struct bridge_set *bs)
{
    struct json_object *conf = config_new();
    struct json_object *bridges = json_object_object_get(conf, "bridges");

    for (unsigned i = 0; i < bs->n_bridges; i++) {
        const struct bridge *br = bs->bridges[i];
        struct json_object *b = json_object_new_object();
        struct json_object *ports = json_object_new_array();
        json_object_object_add(b, "name", json_object_new_string(br->name));
        json_object_object_add(b, "options", json_object_get(br->options));
        for (unsigned j = 0; j < br->n_ports; j++) {
            const struct port *p = br->ports[j];
            struct json_object *po = json_object_new_object();
            json_object_object_add(po, "name", json_object_new_string(p->name));
            json_object_object_add(po, "type", json_object_new_string(p->type));
            json_object_object_add(po, "options", json_object_get(p->options));
            json_object_array_add(ports, po);
        }
        json_object_object_add(b, "ports", ports);
        json_object_array_add(bridges, b);
    }
    return conf;
}

/* Saves the configuration after a change.  Returns 0 or a negative errno
 * with a reason in 'err'. */
static int
bridge_set_save(struct bridge_set *bs, char *err)
{
    if (!bs->conf_path || bs->quiet) {
        return 0;
    }
    struct json_object *conf = bridge_set_to_json(bs);
    int rc = config_save(bs->conf_path, conf);
    json_object_put(conf);
    if (rc) {
        VLOG_ERR("cannot save configuration to %s: %s", bs->conf_path, strerror(-rc));
        return fail(err, rc, "change applied but the configuration could not be "
                    "saved to %s: %s", bs->conf_path, strerror(-rc));
    }
    return 0;
}

int
bridge_set_create(const struct bridge_set_params *p, struct bridge_set **bsp)
{
    struct bridge_set *bs = calloc(1, sizeof *bs);
    if (!bs) {
        return -ENOMEM;
    }
    if (!realpath(p->vhost_sock_dir, bs->vhost_sock_dir)) {
        int err = -errno;
        free(bs);
        return err;
    }
    bs->dp = p->dp;
    bs->vhost_sock_gid = p->vhost_sock_gid;
    bs->notify = p->notify;
    bs->notify_aux = p->notify_aux;
    if (p->conf_path && !(bs->conf_path = strdup(p->conf_path))) {
        free(bs);
        return -ENOMEM;
    }
    *bsp = bs;
    return 0;
}

static void port_destroy(struct bridge_set *, struct port *);

/* Reports a change made by a request to bs->notify. */
static void
bridge_notify(const struct bridge_set *bs, const char *type, const char *port,
              const char *bridge)
{
    if (bs->notify && !bs->quiet) {
        bs->notify(bs->notify_aux, type, port, bridge);
    }
}

static void
bridge_destroy(struct bridge_set *bs, struct bridge *br)
{
    while (br->n_ports) {
        port_destroy(bs, br->ports[br->n_ports - 1]);
    }
    dp_bridge_destroy(bs->dp, br->dp);
    json_object_put(br->options);
    free(br);
}

void
bridge_set_destroy(struct bridge_set *bs)
{
    if (!bs) {
        return;
    }
    while (bs->n_bridges) {
        bridge_destroy(bs, bs->bridges[--bs->n_bridges]);
    }
    free(bs->conf_path);
    free(bs);
}

static int parse_uint_option(const char *kind, const char *owner, const char *key,
                             const char *value, unsigned min, unsigned max,
                             unsigned *out, char *err);

#define MAX_AGING_TIME (24 * 3600)

int
bridge_add(struct bridge_set *bs, const char *name, struct json_object *options,
           char *err)
{
    unsigned fdb_max = FDB_DEFAULT_MAX_ENTRIES;
    unsigned aging_s = FDB_DEFAULT_AGEING_MS / 1000;

    if (!bridge_name_valid(name)) {
        return fail(err, -EINVAL, "invalid bridge name \"%s\": use 1-%d characters "
                    "of A-Z a-z 0-9 _ . - not starting with . or -", name,
                    DP_NAME_MAX - 1);
    }
    if (bridge_find(bs, name)) {
        return fail(err, -EEXIST, "bridge \"%s\" already exists", name);
    }
    if (options) {
        json_object_object_foreach(options, key, val) {
            const char *v = json_object_get_string(val);
            int rc;
            if (!json_object_is_type(val, json_type_string)) {
                return fail(err, -EINVAL, "bridge \"%s\": option %s must be a string",
                            name, key);
            }
            if (!strcmp(key, "mac-table-size")) {
                rc = parse_uint_option("bridge", name, key, v, 8, FDB_MAX_ENTRIES_LIMIT,
                                       &fdb_max, err);
            } else if (!strcmp(key, "mac-aging-time")) {
                rc = parse_uint_option("bridge", name, key, v, 1, MAX_AGING_TIME, &aging_s, err);
            } else {
                rc = fail(err, -EINVAL, "bridge \"%s\": unknown option \"%s\" (known: "
                          "mac-table-size, mac-aging-time)", name, key);
            }
            if (rc) {
                return rc;
            }
        }
    }
    if (bs->n_bridges == DP_MAX_BRIDGES) {
        return fail(err, -ENOSPC, "too many bridges (at most %d)", DP_MAX_BRIDGES);
    }
    struct bridge *br = calloc(1, sizeof *br);
    if (!br) {
        return fail(err, -ENOMEM, "out of memory");
    }
    snprintf(br->name, sizeof br->name, "%s", name);
    int rc = dp_bridge_create(bs->dp, name, fdb_max, (uint64_t) aging_s * 1000, &br->dp);
    if (rc) {
        free(br);
        return fail(err, rc == -ENOSPC ? -ENOSPC : rc, "cannot create bridge \"%s\": %s",
                    name, strerror(-rc));
    }
    /* Keep bridges sorted by name. */
    unsigned i = bs->n_bridges;
    while (i > 0 && strcmp(bs->bridges[i - 1]->name, name) > 0) {
        bs->bridges[i] = bs->bridges[i - 1];
        i--;
    }
    bs->bridges[i] = br;
    bs->n_bridges++;
    br->options = options ? json_object_get(options) : json_object_new_object();
    VLOG_INFO("bridge %s added", name);
    bridge_notify(bs, "bridge_added", NULL, name);
    return bridge_set_save(bs, err);
}

int
bridge_del(struct bridge_set *bs, const char *name, char *err)
{
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        struct bridge *br = bs->bridges[i];
        if (!strcmp(br->name, name)) {
            memmove(&bs->bridges[i], &bs->bridges[i + 1],
                    (bs->n_bridges - i - 1) * sizeof bs->bridges[0]);
            bs->n_bridges--;
            for (unsigned j = 0; j < br->n_ports; j++) {
                bridge_notify(bs, "port_removed", br->ports[j]->name, NULL);
            }
            bridge_destroy(bs, br);
            VLOG_INFO("bridge %s deleted", name);
            bridge_notify(bs, "bridge_removed", NULL, name);
            return bridge_set_save(bs, err);
        }
    }
    return fail(err, -ENOENT, "no bridge \"%s\"", name);
}

/* Parses a decimal option value in [min, max]. */
static int
parse_uint_option(const char *kind, const char *owner, const char *key,
                  const char *value, unsigned min, unsigned max, unsigned *out,
                  char *err)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || value[0] == '-' || value[0] == '+'
        || v < min || v > max) {
        return fail(err, -EINVAL, "%s \"%s\": option %s=\"%s\" must be an integer "
                    "between %u and %u", kind, owner, key, value, min, max);
    }
    *out = (unsigned) v;
    return 0;
}

/* Resolves the socket path of vhost port 'name' from option 'path' (NULL if
 * absent) into 'out'.  The socket must be directly inside the vhost socket
 * directory. */
static int
vhost_path(const struct bridge_set *bs, const char *name, const char *path,
           bool required, char *out, char *err)
{
    char dir[PATH_MAX], resolved[PATH_MAX];

    if (!path) {
        if (required) {
            return fail(err, -EINVAL, "port \"%s\": option path= is required for "
                        "type vhost-user-client", name);
        }
        path = name;
    }
    if (!path[0] || strlen(path) >= PATH_MAX - 1) {
        return fail(err, -EINVAL, "port \"%s\": invalid path", name);
    }
    if (!strchr(path, '/')) {
        if (!bridge_name_valid(path)) {
            return fail(err, -EINVAL, "port \"%s\": invalid socket name \"%s\"", name, path);
        }
        if (snprintf(out, PATH_MAX, "%s/%s", bs->vhost_sock_dir, path) >= PATH_MAX) {
            return fail(err, -EINVAL, "port \"%s\": socket path too long", name);
        }
        return 0;
    }
    if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./")
        || strstr(path, "//")) {
        return fail(err, -EINVAL, "port \"%s\": path \"%s\" must be an absolute, "
                    "normalized path inside %s", name, path, bs->vhost_sock_dir);
    }
    snprintf(dir, sizeof dir, "%s", path);
    const char *base = strrchr(path, '/') + 1;
    dir[base - path - 1] = '\0';
    if (!bridge_name_valid(base) || !realpath(dir[0] ? dir : "/", resolved)
        || strcmp(resolved, bs->vhost_sock_dir)) {
        return fail(err, -EINVAL, "port \"%s\": path \"%s\" is not a valid socket name "
                    "inside the vhost socket directory %s", name, path,
                    bs->vhost_sock_dir);
    }
    if (snprintf(out, PATH_MAX, "%s/%s", bs->vhost_sock_dir, base) >= PATH_MAX) {
        return fail(err, -EINVAL, "port \"%s\": socket path too long", name);
    }
    return 0;
}

static void
port_destroy(struct bridge_set *bs, struct port *p)
{
    struct bridge *br = p->br;

    for (unsigned i = 0; i < br->n_ports; i++) {
        if (br->ports[i] == p) {
            memmove(&br->ports[i], &br->ports[i + 1],
                    (br->n_ports - i - 1) * sizeof br->ports[0]);
            br->n_ports--;
            break;
        }
    }
    if (p->dp) {
        dp_port_detach(bs->dp, p->dp);
    }
    vhost_port_destroy(p->vhost);
    if (p->dp) {
        dp_port_destroy(bs->dp, p->dp);
    }
    json_object_put(p->options);
    free(p);
}

/* Checks 'type' and 'options' (an object of strings, may be NULL) of port
 * 'name' and fills 'vpp' and the socket path 'path' (PATH_MAX bytes).  The
 * path must not be used by another port than 'self' (may be NULL).  Returns
 * 0 or a negative errno with a reason in 'err'. */
static int
parse_port_options(const struct bridge_set *bs, const char *name, const char *type,
                   struct json_object *options, const struct port *self,
                   struct vhost_port_params *vpp, char *path, char *err)
{
    const char *path_opt = NULL;
    unsigned v;
    int rc;

    *vpp = (struct vhost_port_params) { .name = name, .queues = 1,
                                        .tx_retries = DEFAULT_TX_RETRIES,
                                        .sock_gid = bs->vhost_sock_gid };
    if (strcmp(type, "vhost-user") && strcmp(type, "vhost-user-client")) {
        return fail(err, -EINVAL, "port \"%s\": unknown type \"%s\" (supported: "
                    "vhost-user, vhost-user-client)", name, type);
    }
    vpp->client = !strcmp(type, "vhost-user-client");

    if (options) {
        json_object_object_foreach(options, key, val) {
            const char *s = json_object_get_string(val);
            if (!json_object_is_type(val, json_type_string)) {
                return fail(err, -EINVAL, "port \"%s\": option %s must be a string",
                            name, key);
            }
            if (!strcmp(key, "path")) {
                path_opt = s;
            } else if (!strcmp(key, "queues")) {
                if ((rc = parse_uint_option("port", name, key, s, 1, DP_MAX_QUEUES, &v, err))) {
                    return rc;
                }
                vpp->queues = (uint16_t) v;
            } else if (!strcmp(key, "tx-retries")) {
                if ((rc = parse_uint_option("port", name, key, s, 0, MAX_TX_RETRIES, &v, err))) {
                    return rc;
                }
                vpp->tx_retries = v;
            } else {
                return fail(err, -EINVAL, "port \"%s\": unknown option \"%s\" for type "
                            "%s (known: path, queues, tx-retries)", name, key, type);
            }
        }
    }
    if ((rc = vhost_path(bs, name, path_opt, vpp->client, path, err))) {
        return rc;
    }
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        for (unsigned j = 0; j < bs->bridges[i]->n_ports; j++) {
            const struct port *o = bs->bridges[i]->ports[j];
            if (o != self && !strcmp(o->path, path)) {
                return fail(err, -EEXIST, "port \"%s\": socket %s is already used by "
                            "port \"%s\"", name, o->path, o->name);
            }
        }
    }
    return 0;
}

int
bridge_port_add(struct bridge_set *bs, const char *bridge, const char *name,
                const char *type, struct json_object *options, char *err)
{
    struct vhost_port_params vpp;
    int rc;

    if (!bridge_name_valid(name)) {
        return fail(err, -EINVAL, "invalid port name \"%s\": use 1-%d characters "
                    "of A-Z a-z 0-9 _ . - not starting with . or -", name,
                    DP_NAME_MAX - 1);
    }
    struct bridge *br = bridge_find(bs, bridge);
    if (!br) {
        return fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    if (port_find(bs, name)) {
        return fail(err, -EEXIST, "port \"%s\" already exists", name);
    }
    if (br->n_ports == DP_MAX_PORTS) {
        return fail(err, -ENOSPC, "bridge \"%s\" has too many ports", bridge);
    }
    struct port *p = calloc(1, sizeof *p);
    if (!p) {
        return fail(err, -ENOMEM, "out of memory");
    }
    if ((rc = parse_port_options(bs, name, type, options, NULL, &vpp, p->path, err))) {
        free(p);
        return rc;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->type, sizeof p->type, "%s", type);
    p->br = br;
    p->options = options ? json_object_get(options) : json_object_new_object();
    vpp.path = p->path;

    rc = vhost_port_create(&vpp, &p->vhost);
    if (rc) {
        fail(err, rc, "port \"%s\": cannot register vhost-user socket %s: %s",
             name, p->path, strerror(-rc));
        goto error;
    }
    rc = dp_port_create(bs->dp, name, &vhost_port_ops, p->vhost, vpp.queues, &p->dp);
    if (rc) {
        fail(err, rc == -ENOSPC ? -ENOSPC : rc, "port \"%s\": %s", name,
             rc == -ENOSPC ? "too many ports" : strerror(-rc));
        goto error;
    }
    dp_port_attach(bs->dp, br->dp, p->dp);
    br->ports[br->n_ports++] = p;
    rc = vhost_port_start(p->vhost);
    if (rc) {
        fail(err, rc, "port \"%s\": cannot start vhost-user socket %s", name, p->path);
        port_destroy(bs, p);
        return rc;
    }
    VLOG_INFO("port %s (%s) added to bridge %s", name, type, bridge);
    bridge_notify(bs, "port_added", name, bridge);
    return bridge_set_save(bs, err);

error:
    if (p->dp) {
        dp_port_destroy(bs->dp, p->dp);
    }
    vhost_port_destroy(p->vhost);
    json_object_put(p->options);
    free(p);
    return rc;
}

int
bridge_port_del(struct bridge_set *bs, const char *name, char *err)
{
    struct port *p = port_find(bs, name);
    if (!p) {
        return fail(err, -ENOENT, "no port \"%s\"", name);
    }
    port_destroy(bs, p);
    VLOG_INFO("port %s deleted", name);
    bridge_notify(bs, "port_removed", name, NULL);
    return bridge_set_save(bs, err);
}

/* Returns true if objects 'a' and 'b' (of strings) differ only in 'key'. */
static bool
differ_only_in(struct json_object *a, struct json_object *b, const char *key)
{
    struct json_object *a2 = NULL, *b2 = NULL;
    bool same;

    json_object_deep_copy(a, &a2, NULL);
    json_object_deep_copy(b, &b2, NULL);
    json_object_object_del(a2, key);
    json_object_object_del(b2, key);
    same = json_object_equal(a2, b2);
    json_object_put(a2);
    json_object_put(b2);
    return same;
}

int
bridge_port_set(struct bridge_set *bs, const char *name, struct json_object *changes,
                char *err)
{
    struct vhost_port_params vpp;
    char path[PATH_MAX];
    int rc;

    struct port *p = port_find(bs, name);
    if (!p) {
        return fail(err, -ENOENT, "no port \"%s\"", name);
    }
    struct json_object *merged = NULL;
    json_object_deep_copy(p->options, &merged, NULL);
    json_object_object_foreach(changes, key, val) {
        if (!json_object_is_type(val, json_type_string)) {
            json_object_put(merged);
            return fail(err, -EINVAL, "port \"%s\": option %s must be a string",
                        name, key);
        }
        if (!json_object_get_string_len(val)) {
            json_object_object_del(merged, key);        /* key= removes it. */
        } else {
            json_object_object_add(merged, key, json_object_get(val));
        }
    }
    rc = parse_port_options(bs, name, p->type, merged, p, &vpp, path, err);
    if (rc || json_object_equal(merged, p->options)) {
        json_object_put(merged);
        return rc;
    }

    if (differ_only_in(merged, p->options, "tx-retries")) {
        /* Takes effect on the next burst; nothing is torn down. */
        vhost_port_set_tx_retries(p->vhost, vpp.tx_retries);
        json_object_put(p->options);
        p->options = merged;
        VLOG_INFO("port %s: tx-retries=%u", name, vpp.tx_retries);
        return bridge_set_save(bs, err);
    }

    /* Anything else re-creates the port: its frontend is disconnected and
     * reconnects (client mode, or the frontend's own reconnect logic). */
    char bridge[DP_NAME_MAX], type[sizeof p->type], err2[BRIDGE_ERRLEN];
    struct json_object *old = json_object_get(p->options);
    snprintf(bridge, sizeof bridge, "%s", p->br->name);
    snprintf(type, sizeof type, "%s", p->type);
    bool quiet = bs->quiet;
    bs->quiet = true;
    port_destroy(bs, p);
    rc = bridge_port_add(bs, bridge, name, type, merged, err);
    if (rc && bridge_port_add(bs, bridge, name, type, old, err2)) {
        VLOG_ERR("port %s: could not restore its previous configuration: %s",
                 name, err2);
    }
    bs->quiet = quiet;
    json_object_put(old);
    json_object_put(merged);
    if (!rc) {
        VLOG_INFO("port %s re-created with new options", name);
    }
    int save = bridge_set_save(bs, rc ? err2 : err);
    return rc ? rc : save;
}

int
bridge_set_restore(struct bridge_set *bs, struct json_object *conf)
{
    struct json_object *bridges = json_object_object_get(conf, "bridges");
    char err[BRIDGE_ERRLEN];
    int failures = 0;

    bs->quiet = true;
    for (size_t i = 0; i < json_object_array_length(bridges); i++) {
        struct json_object *b = json_object_array_get_idx(bridges, i);
        const char *bname = json_object_get_string(json_object_object_get(b, "name"));
        if (bridge_add(bs, bname, json_object_object_get(b, "options"), err)) {
            VLOG_ERR("restoring bridge %s: %s", bname, err);
            failures++;
            continue;
        }
        struct json_object *ports = json_object_object_get(b, "ports");
        for (size_t j = 0; j < json_object_array_length(ports); j++) {
            struct json_object *po = json_object_array_get_idx(ports, j);
            const char *pname = json_object_get_string(json_object_object_get(po, "name"));
            const char *type = json_object_get_string(json_object_object_get(po, "type"));
            struct json_object *opts = json_object_object_get(po, "options");
            if (bridge_port_add(bs, bname, pname, type, opts, err)) {
                VLOG_ERR("restoring port %s: %s", pname, err);
                failures++;
            }
        }
    }
    bs->quiet = false;
    VLOG_INFO("configuration restored: %u bridges%s", bs->n_bridges,
              failures ? " (with errors)" : "");
    return failures;
}

struct json_object *
bridge_list_json(const struct bridge_set *bs)
{
    struct json_object *list = json_object_new_array();
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        const struct bridge *br = bs->bridges[i];
        struct json_object *b = json_object_new_object();
        struct json_object *ports = json_object_new_array();
        json_object_object_add(b, "name", json_object_new_string(br->name));
        json_object_object_add(b, "options", json_object_get(br->options));
        for (unsigned j = 0; j < br->n_ports; j++) {
            json_object_array_add(ports, json_object_new_string(br->ports[j]->name));
        }
        json_object_object_add(b, "ports", ports);
        json_object_array_add(list, b);
    }
    struct json_object *res = json_object_new_object();
    json_object_object_add(res, "bridges", list);
    return res;
}

static const char *
port_state(const struct port *p)
{
    return vhost_port_is_up(p->vhost) ? "up" : "down";
}

int
bridge_port_list_json(const struct bridge_set *bs, const char *bridge,
                      struct json_object **out, char *err)
{
    if (bridge && !bridge_find(bs, bridge)) {
        return fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    struct json_object *list = json_object_new_array();
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        const struct bridge *br = bs->bridges[i];
        if (bridge && strcmp(br->name, bridge)) {
            continue;
        }
        for (unsigned j = 0; j < br->n_ports; j++) {
            const struct port *p = br->ports[j];
            struct json_object *po = json_object_new_object();
            json_object_object_add(po, "name", json_object_new_string(p->name));
            json_object_object_add(po, "bridge", json_object_new_string(br->name));
            json_object_object_add(po, "type", json_object_new_string(p->type));
            json_object_object_add(po, "state", json_object_new_string(port_state(p)));
            json_object_array_add(list, po);
        }
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "ports", list);
    return 0;
}

/* vhost_vring_stat_cb: appends to an array of {"vring": N, name: value...}
 * objects, one per vring. */
static void
vring_stat_json(unsigned vring, const char *name, uint64_t value, void *aux)
{
    struct json_object *vrings = aux;
    size_t n = json_object_array_length(vrings);
    struct json_object *last = n ? json_object_array_get_idx(vrings, n - 1) : NULL;
    struct json_object *id;

    if (!last || !json_object_object_get_ex(last, "vring", &id)
        || (unsigned) json_object_get_int(id) != vring) {
        last = json_object_new_object();
        json_object_object_add(last, "vring", json_object_new_int((int) vring));
        json_object_object_add(last, "direction", json_object_new_string(
                                   vring % 2 ? "from_guest" : "to_guest"));
        json_object_array_add(vrings, last);
    }
    json_object_object_add(last, name, json_object_new_uint64(value));
}

int
bridge_port_show_json(const struct bridge_set *bs, const char *name,
                      struct json_object **out, char *err)
{
    const struct port *p = port_find(bs, name);
    if (!p) {
        return fail(err, -ENOENT, "no port \"%s\"", name);
    }
    struct vhost_port_info info;
    vhost_port_get_info(p->vhost, &info);

    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "bridge", json_object_new_string(p->br->name));
    json_object_object_add(o, "type", json_object_new_string(p->type));
    json_object_object_add(o, "port_no", json_object_new_int(p->dp->port_no));
    json_object_object_add(o, "options", json_object_get(p->options));
    json_object_object_add(o, "state", json_object_new_string(port_state(p)));
    json_object_object_add(o, "socket", json_object_new_string(p->path));
    json_object_object_add(o, "n_rxq", json_object_new_int(p->dp->n_rxq));

    struct json_object *vh = json_object_new_object();
    json_object_object_add(vh, "mode", json_object_new_string(
                               strcmp(p->type, "vhost-user") ? "client" : "server"));
    json_object_object_add(vh, "connected", json_object_new_boolean(info.connected));
    json_object_object_add(vh, "vid", json_object_new_int(info.vid));
    json_object_object_add(vh, "ifname", json_object_new_string(info.ifname));
    json_object_object_add(vh, "n_vrings", json_object_new_int((int) info.n_vrings));
    json_object_object_add(vh, "rx_queues_enabled", json_object_new_int((int) info.rx_enabled));
    json_object_object_add(vh, "tx_queues_enabled", json_object_new_int((int) info.tx_enabled));
    if (info.mtu >= 0) {
        json_object_object_add(vh, "mtu", json_object_new_int(info.mtu));
    }
    struct json_object *vrings = json_object_new_array();
    vhost_port_vring_stats(p->vhost, vring_stat_json, vrings);
    json_object_object_add(vh, "vrings", vrings);
    json_object_object_add(o, "vhost", vh);
    *out = o;
    return 0;
}

static struct json_object *
port_stats_json(const struct port *p)
{
    struct dp_stats st;
    uint64_t rx_dropped = 0, tx_dropped = 0;

    dp_port_get_stats(p->dp, &st);
    for (unsigned d = 0; d < DP_N_DROPS; d++) {
        if (!strncmp(dp_drop_name(d), "rx_", 3)) {
            rx_dropped += st.drops[d];
        } else {
            tx_dropped += st.drops[d];
        }
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "rx_packets", json_object_new_uint64(st.rx_packets));
    json_object_object_add(o, "rx_bytes", json_object_new_uint64(st.rx_bytes));
    json_object_object_add(o, "rx_dropped", json_object_new_uint64(rx_dropped));
    json_object_object_add(o, "tx_packets", json_object_new_uint64(st.tx_packets));
    json_object_object_add(o, "tx_bytes", json_object_new_uint64(st.tx_bytes));
    json_object_object_add(o, "tx_dropped", json_object_new_uint64(tx_dropped));
    for (unsigned d = 0; d < DP_N_DROPS; d++) {
        json_object_object_add(o, dp_drop_name(d), json_object_new_uint64(st.drops[d]));
    }
    return o;
}

int
bridge_port_stats_json(const struct bridge_set *bs, const char *name,
                       struct json_object **out, char *err)
{
    struct json_object *list = json_object_new_array();

    if (name) {
        const struct port *p = port_find(bs, name);
        if (!p) {
            json_object_put(list);
            return fail(err, -ENOENT, "no port \"%s\"", name);
        }
        json_object_array_add(list, port_stats_json(p));
    } else {
        for (unsigned i = 0; i < bs->n_bridges; i++) {
            for (unsigned j = 0; j < bs->bridges[i]->n_ports; j++) {
                json_object_array_add(list, port_stats_json(bs->bridges[i]->ports[j]));
            }
        }
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "ports", list);
    return 0;
}

int
bridge_port_stats_clear(struct bridge_set *bs, const char *name, char *err)
{
    if (name) {
        struct port *p = port_find(bs, name);
        if (!p) {
            return fail(err, -ENOENT, "no port \"%s\"", name);
        }
        dp_port_clear_stats(p->dp);
        return 0;
    }
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        for (unsigned j = 0; j < bs->bridges[i]->n_ports; j++) {
            dp_port_clear_stats(bs->bridges[i]->ports[j]->dp);
        }
    }
    return 0;
}

struct fdb_dump_ctx {
    const struct bridge *br;
    struct json_object *entries;
};

static void
fdb_dump_one(const struct fdb_entry_info *e, void *aux)
{
    struct fdb_dump_ctx *ctx = aux;
    const struct port *p = port_find_by_no(ctx->br, e->port_no);
    const uint8_t *b = e->mac.addr_bytes;
    char mac[RTE_ETHER_ADDR_FMT_SIZE];

    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x",
             b[0], b[1], b[2], b[3], b[4], b[5]);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "mac", json_object_new_string(mac));
    json_object_object_add(o, "vlan", json_object_new_int(e->vlan));
    json_object_object_add(o, "port", json_object_new_string(p ? p->name : "?"));
    json_object_object_add(o, "age", json_object_new_uint64(e->age_ms / 1000));
    json_object_array_add(ctx->entries, o);
}

int
bridge_fdb_show_json(const struct bridge_set *bs, const char *bridge,
                     struct json_object **out, char *err)
{
    const struct bridge *br = bridge_find(bs, bridge);
    if (!br) {
        return fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    struct fdb *fdb = dp_bridge_fdb(br->dp);
    struct fdb_dump_ctx ctx = { .br = br, .entries = json_object_new_array() };
    fdb_dump(fdb, datapath_now_ms(), fdb_dump_one, &ctx);

    struct fdb_stats fs;
    fdb_get_stats(fdb, &fs);
    struct json_object *stats = json_object_new_object();
    json_object_object_add(stats, "entries", json_object_new_uint64(fs.entries));
    json_object_object_add(stats, "learned", json_object_new_uint64(fs.learned));
    json_object_object_add(stats, "moved", json_object_new_uint64(fs.moved));
    json_object_object_add(stats, "aged", json_object_new_uint64(fs.aged));
    json_object_object_add(stats, "flushed", json_object_new_uint64(fs.flushed));
    json_object_object_add(stats, "full", json_object_new_uint64(fs.full));
    json_object_object_add(stats, "max_entries",
                           json_object_new_uint64(dp_bridge_fdb_max(br->dp)));
    json_object_object_add(stats, "ageing_time",
                           json_object_new_uint64(dp_bridge_fdb_ageing_ms(br->dp) / 1000));

    *out = json_object_new_object();
    json_object_object_add(*out, "bridge", json_object_new_string(br->name));
    json_object_object_add(*out, "entries", ctx.entries);
    json_object_object_add(*out, "stats", stats);
    return 0;
}

int
bridge_fdb_flush(struct bridge_set *bs, const char *bridge, int *n_flushed, char *err)
{
    const struct bridge *br = bridge_find(bs, bridge);
    if (!br) {
        return fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    *n_flushed = fdb_flush(dp_bridge_fdb(br->dp));
    return 0;
}
