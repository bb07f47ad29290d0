/* bridge - bridges and ports as configured by users.  See bridge.h.
 *
 * Main thread only.  Everything the PMDs see goes through datapath.c; this
 * file never touches a packet. */
#include "vswitchd/bridge.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VLOG_MODULE "bridge"
#include "lib/vlog.h"
#include "vswitchd/config.h"
#include "datapath/datapath.h"
#include "datapath/fdb.h"
#include "datapath/port-provider.h"

/* A configured port.  Normally it runs: 'dev' is its provider's instance and
 * 'dp' its datapath port.  A port whose saved configuration could not be
 * brought back at start (e.g. its device is gone) is kept, not running
 * ('dev' and 'dp' NULL), with the reason in 'error', until port.set
 * succeeds in creating it. */
struct port {
    char name[DP_NAME_MAX];
    const struct port_class *cls;
    struct bridge *br;
    struct json_object *options;        /* Object of strings, as configured. */
    struct dp_port *dp;
    void *dev;
    char error[PORT_ERRLEN];
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
    const struct port_class *const *classes;
    char *conf_path;
    bool quiet;                         /* Replaying: no saves, no events. */
    bool batch;                         /* In a batch: save at its end. */
    bool batch_dirty;                   /* Something to save at its end. */
    bool batch_probed;                  /* The batch's first change wrote. */
    int batch_save_err;                 /* ...and failed with this errno. */
    void (*notify)(void *, const char *, const char *, const char *);
    void *notify_aux;
    unsigned n_bridges;
    struct bridge *bridges[DP_MAX_BRIDGES];
};

bool
bridge_name_valid(const char *name)
{
    return port_name_valid(name);
}

static const struct port_class *
class_find(const struct bridge_set *bs, const char *type)
{
    for (const struct port_class *const *c = bs->classes; *c; c++) {
        if (!strcmp((*c)->type, type)) {
            return *c;
        }
    }
    return NULL;
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
port_find_by_fdb_id(const struct bridge *br, int fdb_id)
{
    for (unsigned j = 0; j < br->n_ports; j++) {
        if (br->ports[j]->dp && br->ports[j]->dp->fdb_id == fdb_id) {
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
            json_object_object_add(po, "type", json_object_new_string(p->cls->type));
            json_object_object_add(po, "options", json_object_get(p->options));
            json_object_array_add(ports, po);
        }
        json_object_object_add(b, "ports", ports);
        json_object_array_add(bridges, b);
    }
    return conf;
}

/* A change is saved in two steps around applying it, so that memory and
 * disk never disagree (config_save_prepare()):
 *
 *   1. the model is made to look as it will after the change (an object
 *      added or unlinked, new options in place) and bridge_set_prepare()
 *      writes that configuration to the temp file.  This is where a full
 *      disk, a read-only statedir or an I/O error shows up: the caller then
 *      undoes its model change and the request fails with nothing changed
 *      and the real errno (-ENOSPC, -EROFS, -EIO, ...);
 *   2. the caller applies the change; if that fails, bridge_set_abort()
 *      drops the temp file, else bridge_set_commit() renames it into place.
 *
 * While replaying a saved configuration (bs->quiet) nothing is saved. */
static int
bridge_set_prepare(struct bridge_set *bs, char *err)
{
    if (!bs->conf_path || bs->quiet) {
        return 0;
    }
    /* In a batch only the first change writes (a probe: the batch is saved
     * once, at its end); if that fails, it and every later change of the
     * batch are refused, so a read-only or full statedir changes nothing
     * in a batch either. */
    int rc;
    if (bs->batch && bs->batch_probed) {
        rc = bs->batch_save_err;
    } else {
        struct json_object *conf = bridge_set_to_json(bs);
        rc = config_save_prepare(bs->conf_path, conf);
        json_object_put(conf);
        if (bs->batch) {
            bs->batch_probed = true;
            bs->batch_save_err = rc;
        }
    }
    if (rc) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
        VLOG_ERR_RL(&rl, "cannot save configuration to %s: %s; change refused",
                    bs->conf_path, strerror(-rc));
        return port_fail(err, rc, "the configuration could not be saved to %s: %s; "
                         "nothing was changed", bs->conf_path, strerror(-rc));
    }
    return 0;
}

static void
bridge_set_abort(struct bridge_set *bs)
{
    if (bs->conf_path && !bs->quiet && !bs->batch) {
        config_save_abort(bs->conf_path);
    }
}

/* Step 2 after a successful change.  A failure here (the rename, or the
 * fsync of the directory after it) cannot be undone any more: it is
 * reported as "applied but not saved". */
static int
bridge_set_commit(struct bridge_set *bs, char *err)
{
    if (bs->batch) {
        bs->batch_dirty = true;         /* Saved by bridge_set_batch_end(). */
        return 0;
    }
    if (!bs->conf_path || bs->quiet) {
        return 0;
    }
    int rc = config_save_commit(bs->conf_path);
    if (rc) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
        VLOG_ERR_RL(&rl, "cannot save configuration to %s: %s", bs->conf_path, strerror(-rc));
        return port_fail(err, rc, "change applied but the configuration could not be "
                    "saved to %s: %s", bs->conf_path, strerror(-rc));
    }
    return 0;
}

void
bridge_set_batch_begin(struct bridge_set *bs)
{
    bs->batch = true;
    bs->batch_dirty = false;
    if (bs->dp) {
        datapath_defer_begin(bs->dp);   /* One RCU publication per batch. */
    }
    bs->batch_probed = false;
    bs->batch_save_err = 0;
}

bool
bridge_set_in_batch(const struct bridge_set *bs)
{
    return bs->batch;
}

int
bridge_set_batch_end(struct bridge_set *bs, char *err)
{
    bool dirty = bs->batch_dirty;

    if (bs->dp) {
        datapath_defer_end(bs->dp);
    }
    bs->batch = bs->batch_dirty = false;
    if (!dirty) {
        if (bs->batch_probed && !bs->batch_save_err) {
            config_save_abort(bs->conf_path);       /* The probe's temp file. */
        }
        return 0;
    }
    int rc = bridge_set_prepare(bs, err);
    if (rc) {
        /* The changes are applied: say so (prepare's message says nothing
         * was changed, which is true of no change of this batch). */
        return port_fail(err, rc, "change applied but the configuration could not "
                         "be saved to %s at the end of the batch: %s",
                         bs->conf_path, strerror(-rc));
    }
    return bridge_set_commit(bs, err);
}

int
bridge_set_create(const struct bridge_set_params *p, struct bridge_set **bsp)
{
    struct bridge_set *bs = calloc(1, sizeof *bs);
    if (!bs) {
        return -ENOMEM;
    }
    bs->dp = p->dp;
    bs->classes = p->classes;
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

/* The limit on mac-table-size before it was capped at FDB_MAX_ENTRIES_LIMIT:
 * a saved configuration may still have such a value. */
#define OLD_FDB_MAX_ENTRIES_LIMIT (1u << 24)

/* Parses option mac-table-size = 'value' of bridge 'name' into *out.  Values
 * above FDB_MAX_ENTRIES_LIMIT are refused, except when restoring a saved
 * configuration (written before the cap): those are lowered to the cap, with
 * a warning, rather than losing the bridge and its ports. */
static int
parse_mac_table_size(const struct bridge_set *bs, const char *name, const char *value,
                     unsigned *out, char *err)
{
    unsigned v = 0;         /* gcc 12 -O3 cannot see parse_uint_option() set it. */
    int rc = parse_uint_option("bridge", name, "mac-table-size", value, 8,
                               OLD_FDB_MAX_ENTRIES_LIMIT, &v, err);
    if (rc) {
        return rc;
    }
    if (v > FDB_MAX_ENTRIES_LIMIT) {
        if (!bs->quiet) {
            return port_fail(err, -EINVAL, "bridge \"%s\": mac-table-size=%u is over "
                             "the limit of %u entries (each entry costs about 96 "
                             "bytes of DPDK memory)", name, v, FDB_MAX_ENTRIES_LIMIT);
        }
        VLOG_WARN("bridge %s: saved mac-table-size=%u is over the limit, using %u",
                  name, v, FDB_MAX_ENTRIES_LIMIT);
        v = FDB_MAX_ENTRIES_LIMIT;
    }
    *out = v;
    return 0;
}

int
bridge_add(struct bridge_set *bs, const char *name, struct json_object *options,
           char *err)
{
    unsigned fdb_max = FDB_DEFAULT_MAX_ENTRIES;
    unsigned aging_s = FDB_DEFAULT_AGEING_MS / 1000;

    if (!bridge_name_valid(name)) {
        return port_fail(err, -EINVAL, "invalid bridge name \"%s\": use 1-%d characters "
                    "of A-Z a-z 0-9 _ . - not starting with . or -", name,
                    DP_NAME_MAX - 1);
    }
    if (bridge_find(bs, name)) {
        return port_fail(err, -EEXIST, "bridge \"%s\" already exists", name);
    }
    if (options) {
        json_object_object_foreach(options, key, val) {
            const char *v = json_object_get_string(val);
            int rc;
            if (!json_object_is_type(val, json_type_string)) {
                return port_fail(err, -EINVAL, "bridge \"%s\": option %s must be a string",
                            name, key);
            }
            if (!strcmp(key, "mac-table-size")) {
                rc = parse_mac_table_size(bs, name, v, &fdb_max, err);
            } else if (!strcmp(key, "mac-aging-time")) {
                rc = parse_uint_option("bridge", name, key, v, 1, MAX_AGING_TIME, &aging_s, err);
            } else {
                rc = port_fail(err, -EINVAL, "bridge \"%s\": unknown option \"%s\" (known: "
                          "mac-table-size, mac-aging-time)", name, key);
            }
            if (rc) {
                return rc;
            }
        }
    }
    if (bs->n_bridges == DP_MAX_BRIDGES) {
        return port_fail(err, BRIDGE_ELIMIT, "too many bridges (at most %d)", DP_MAX_BRIDGES);
    }
    struct bridge *br = calloc(1, sizeof *br);
    if (!br) {
        return port_fail(err, -ENOMEM, "out of memory");
    }
    snprintf(br->name, sizeof br->name, "%s", name);
    int rc = dp_bridge_create(bs->dp, name, fdb_max, (uint64_t) aging_s * 1000, &br->dp);
    if (rc) {
        free(br);
        return port_fail(err, rc == -ENOSPC ? BRIDGE_ELIMIT : rc, "cannot create bridge \"%s\": %s",
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
    if ((rc = bridge_set_prepare(bs, err))) {
        /* Not saved: take it out again (it has no ports, nobody saw it). */
        memmove(&bs->bridges[i], &bs->bridges[i + 1],
                (bs->n_bridges - i - 1) * sizeof bs->bridges[0]);
        bs->n_bridges--;
        bridge_destroy(bs, br);
        return rc;
    }
    rc = bridge_set_commit(bs, err);
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
    VLOG_INFO_RL(&rl, "bridge %s added", name);
    bridge_notify(bs, "bridge_added", NULL, name);
    return rc;
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
            int rc = bridge_set_prepare(bs, err);
            if (rc) {
                /* Not saved: put it back, nothing was touched. */
                memmove(&bs->bridges[i + 1], &bs->bridges[i],
                        (bs->n_bridges - i) * sizeof bs->bridges[0]);
                bs->bridges[i] = br;
                bs->n_bridges++;
                return rc;
            }
            for (unsigned j = 0; j < br->n_ports; j++) {
                bridge_notify(bs, "port_removed", br->ports[j]->name, NULL);
            }
            bridge_destroy(bs, br);
            rc = bridge_set_commit(bs, err);
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
            VLOG_INFO_RL(&rl, "bridge %s deleted", name);
            bridge_notify(bs, "bridge_removed", NULL, name);
            return rc;
        }
    }
    return port_fail(err, -ENOENT, "no bridge \"%s\"", name);
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
        return port_fail(err, -EINVAL, "%s \"%s\": option %s=\"%s\" must be an integer "
                    "between %u and %u", kind, owner, key, value, min, max);
    }
    *out = (unsigned) v;
    return 0;
}

/* The options every port has (DESIGN.md section 4: VLAN membership and
 * MTU), handled here and in the datapath; providers never see them. */
static const char *const common_options[] = { "vlan", "trunks", "native-vlan", "mtu",
                                              NULL };

static bool
is_common_option(const char *key)
{
    for (const char *const *c = common_options; *c; c++) {
        if (!strcmp(key, *c)) {
            return true;
        }
    }
    return false;
}

/* Parses trunks="10,20-30" of port 'name' into the bitmap of 'l2'. */
static int
parse_trunks(const char *name, const char *s, struct dp_port_l2 *l2, char *err)
{
    memset(l2->trunks, 0, sizeof l2->trunks);
    for (const char *p = s; ; p++) {
        char *end;
        errno = 0;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        bool ok = end != p && isdigit((unsigned char) *p) && !errno;
        if (ok && *end == '-') {
            p = end + 1;
            hi = strtoul(p, &end, 10);
            ok = end != p && isdigit((unsigned char) *p) && !errno;
        }
        if (!ok || lo > hi || hi > DP_VLAN_MAX || (*end && *end != ',')) {
            return port_fail(err, -EINVAL, "port \"%s\": trunks=\"%s\" must be a list "
                             "of VLANs and ranges between 0 and %d, e.g. 10,20-30",
                             name, s, DP_VLAN_MAX);
        }
        for (unsigned long v = lo; v <= hi; v++) {
            l2->trunks[v / 64] |= 1ULL << (v % 64);
        }
        if (!*end) {
            return 0;
        }
        p = end;
    }
}

/* Splits 'options' of port 'name': the common options are parsed into *l2,
 * the others are returned in *provider (a new object; NULL to only check).
 * Returns 0 or a negative errno with a reason in 'err'. */
static int
port_split_options(const char *name, struct json_object *options,
                   struct dp_port_l2 *l2, struct json_object **provider, char *err)
{
    struct json_object *vlan = NULL, *trunks = NULL, *native = NULL, *mtu = NULL;
    unsigned v;
    int rc;

    dp_port_l2_init(l2);
    json_object_object_get_ex(options, "vlan", &vlan);
    json_object_object_get_ex(options, "trunks", &trunks);
    json_object_object_get_ex(options, "native-vlan", &native);
    json_object_object_get_ex(options, "mtu", &mtu);
    if (vlan && (trunks || native)) {
        return port_fail(err, -EINVAL, "port \"%s\": an access port (vlan=) cannot "
                         "have trunks= or native-vlan=", name);
    }
    if (vlan) {
        if ((rc = port_parse_uint(name, "vlan", json_object_get_string(vlan), 1,
                                  DP_VLAN_MAX, &v, err))) {
            return rc;
        }
        l2->access_vlan = (uint16_t) v;
    }
    if (trunks && (rc = parse_trunks(name, json_object_get_string(trunks), l2, err))) {
        return rc;
    }
    if (native) {
        if ((rc = port_parse_uint(name, "native-vlan", json_object_get_string(native), 0,
                                  DP_VLAN_MAX, &v, err))) {
            return rc;
        }
        l2->native_vlan = (uint16_t) v;
        l2->trunks[v / 64] |= 1ULL << (v % 64);     /* Always carried. */
    }
    if (mtu && (rc = port_parse_uint(name, "mtu", json_object_get_string(mtu),
                                     DP_MTU_MIN, DP_MTU_MAX, &v, err))) {
        return rc;
    }
    if (mtu) {
        l2->mtu = v;
    }
    if (provider) {
        *provider = json_object_new_object();
        json_object_object_foreach(options, key, val) {
            if (!is_common_option(key)) {
                json_object_object_add(*provider, key, json_object_get(val));
            }
        }
    }
    return 0;
}

/* Applies VLAN membership and MTU 'l2' to running port 'p' (also to its
 * device, through the provider's set_mtu, when 'set_mtu'). */
static int
port_apply_l2(struct bridge_set *bs, struct port *p, const struct dp_port_l2 *l2,
              bool set_mtu, char *err)
{
    int rc;

    if (set_mtu && p->cls->set_mtu && (rc = p->cls->set_mtu(p->dev, l2->mtu, err))) {
        return rc;
    }
    dp_port_set_l2(bs->dp, p->dp, l2);
    return 0;
}

/* Stops port 'p' running, if it does: unpublishes and frees its datapath
 * port, then destroys the provider's instance. */
static void
port_stop(struct bridge_set *bs, struct port *p)
{
    if (p->dp) {
        dp_port_detach(bs->dp, p->dp);
    }
    if (p->dev) {
        p->cls->destroy(p->dev);
        p->dev = NULL;
    }
    if (p->dp) {
        dp_port_destroy(bs->dp, p->dp);
        p->dp = NULL;
    }
}

/* Brings port 'p' (not running) up with 'options': the provider's instance,
 * a datapath port polled on its bridge, then the provider's start().
 * Returns 0, or a negative errno with the reason in 'err' and 'p' still not
 * running (nothing left behind). */
static int
port_run(struct bridge_set *bs, struct port *p, struct json_object *options, char *err)
{
    const struct port_class *cls = p->cls;
    struct json_object *provider;
    struct dp_port_l2 l2;
    int rc;

    if ((rc = port_split_options(p->name, options, &l2, &provider, err))) {
        return rc;
    }
    rc = cls->create(p->name, provider, &p->dev, err);
    json_object_put(provider);
    if (rc) {
        p->dev = NULL;
        return rc;
    }
    rc = dp_port_create(bs->dp, p->name, cls->dp_ops, p->dev, cls->n_rxq(p->dev), &p->dp);
    if (rc) {
        cls->destroy(p->dev);
        p->dev = NULL;
        p->dp = NULL;
        return port_fail(err, rc == -ENOSPC ? BRIDGE_ELIMIT : rc, "port \"%s\": %s", p->name,
                    rc == -ENOSPC ? "too many ports" : strerror(-rc));
    }
    if ((rc = port_apply_l2(bs, p, &l2, true, err))) {
        dp_port_destroy(bs->dp, p->dp);
        p->dp = NULL;
        cls->destroy(p->dev);
        p->dev = NULL;
        return rc;
    }
    dp_port_attach(bs->dp, p->br->dp, p->dp);
    if (cls->start && (rc = cls->start(p->dev, err))) {
        port_stop(bs, p);
        return rc;
    }
    p->error[0] = '\0';
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
    port_stop(bs, p);
    json_object_put(p->options);
    free(p);
}

/* Checks that 'options' (may be NULL) is an object of strings, and the
 * provider's check().  Returns 0 or a negative errno with a reason in 'err'. */
static int
port_check_options(const struct port_class *cls, const char *name,
                   struct json_object *options, char *err)
{
    json_object_object_foreach(options, key, val) {
        if (!json_object_is_type(val, json_type_string)) {
            return port_fail(err, -EINVAL, "port \"%s\": option %s must be a string",
                        name, key);
        }
    }
    struct json_object *provider;
    struct dp_port_l2 l2;
    int rc = port_split_options(name, options, &l2, &provider, err);
    if (!rc) {
        rc = cls->check(name, provider, err);
        json_object_put(provider);
    }
    return rc;
}

/* Adds port 'name' to 'bridge'.  With 'keep_failed' (restoring a saved
 * configuration), a port whose options are valid but that cannot be created
 * is kept, not running, with the reason; the return value is still the
 * error. */
static int
port_add(struct bridge_set *bs, const char *bridge, const char *name,
         const char *type, struct json_object *options, bool keep_failed, char *err)
{
    int rc;

    if (!bridge_name_valid(name)) {
        return port_fail(err, -EINVAL, "invalid port name \"%s\": use 1-%d characters "
                    "of A-Z a-z 0-9 _ . - not starting with . or -", name,
                    DP_NAME_MAX - 1);
    }
    struct bridge *br = bridge_find(bs, bridge);
    if (!br) {
        return port_fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    if (port_find(bs, name)) {
        return port_fail(err, -EEXIST, "port \"%s\" already exists", name);
    }
    if (br->n_ports == DP_MAX_PORTS) {
        return port_fail(err, BRIDGE_ELIMIT, "bridge \"%s\" has too many ports", bridge);
    }
    const struct port_class *cls = class_find(bs, type);
    if (!cls) {
        char known[256] = "";
        for (const struct port_class *const *c = bs->classes; *c; c++) {
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "",
                     (*c)->type);
        }
        return port_fail(err, -EINVAL, "port \"%s\": unknown type \"%s\" (supported: %s)",
                    name, type, known);
    }
    struct json_object *opts = options ? json_object_get(options) : json_object_new_object();
    if ((rc = port_check_options(cls, name, opts, err))) {
        json_object_put(opts);
        return rc;
    }
    struct port *p = calloc(1, sizeof *p);
    if (!p) {
        json_object_put(opts);
        return port_fail(err, -ENOMEM, "out of memory");
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    p->cls = cls;
    p->br = br;
    p->options = opts;
    br->ports[br->n_ports++] = p;
    if ((rc = bridge_set_prepare(bs, err))) {
        port_destroy(bs, p);            /* Not running yet: nothing to undo. */
        return rc;
    }
    if ((rc = port_run(bs, p, opts, err))) {
        bridge_set_abort(bs);
        if (!keep_failed) {
            port_destroy(bs, p);
            return rc;
        }
        snprintf(p->error, sizeof p->error, "%s", err);
        return rc;
    }
    rc = bridge_set_commit(bs, err);
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
    VLOG_INFO_RL(&rl, "port %s (%s) added to bridge %s", name, type, bridge);
    bridge_notify(bs, "port_added", name, bridge);
    return rc;
}

int
bridge_port_add(struct bridge_set *bs, const char *bridge, const char *name,
                const char *type, struct json_object *options, char *err)
{
    return port_add(bs, bridge, name, type, options, false, err);
}

int
bridge_port_del(struct bridge_set *bs, const char *name, char *err)
{
    struct port *p = port_find(bs, name);
    if (!p) {
        return port_fail(err, -ENOENT, "no port \"%s\"", name);
    }
    /* Unlinked from its bridge while the configuration without it is
     * written; put back if that fails. */
    struct bridge *br = p->br;
    unsigned idx = 0;
    while (br->ports[idx] != p) {
        idx++;
    }
    memmove(&br->ports[idx], &br->ports[idx + 1],
            (br->n_ports - idx - 1) * sizeof br->ports[0]);
    br->n_ports--;
    int rc = bridge_set_prepare(bs, err);
    if (rc) {
        memmove(&br->ports[idx + 1], &br->ports[idx],
                (br->n_ports - idx) * sizeof br->ports[0]);
        br->ports[idx] = p;
        br->n_ports++;
        return rc;
    }
    port_destroy(bs, p);
    rc = bridge_set_commit(bs, err);
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
    VLOG_INFO_RL(&rl, "port %s deleted", name);
    bridge_notify(bs, "port_removed", name, NULL);
    return rc;
}

int
bridge_port_set(struct bridge_set *bs, const char *name, struct json_object *changes,
                char *err)
{
    int rc;

    struct port *p = port_find(bs, name);
    if (!p) {
        return port_fail(err, -ENOENT, "no port \"%s\"", name);
    }
    struct json_object *merged = NULL;
    json_object_deep_copy(p->options, &merged, NULL);
    json_object_object_foreach(changes, key, val) {
        if (!json_object_is_type(val, json_type_string)) {
            json_object_put(merged);
            return port_fail(err, -EINVAL, "port \"%s\": option %s must be a string",
                        name, key);
        }
        if (!json_object_get_string_len(val)) {
            json_object_object_del(merged, key);        /* key= removes it. */
        } else {
            json_object_object_add(merged, key, json_object_get(val));
        }
    }
    rc = port_check_options(p->cls, name, merged, err);
    if (rc || (p->dev && json_object_equal(merged, p->options))) {
        json_object_put(merged);
        return rc;
    }

    /* Write the configuration with the new options first: if it cannot be
     * saved, nothing changes. */
    struct json_object *old = p->options;
    p->options = merged;
    rc = bridge_set_prepare(bs, err);
    p->options = old;
    if (rc) {
        json_object_put(merged);
        return rc;
    }

    if (!p->dev) {
        /* Not running (restored with an error): try again, with the new
         * options if any. */
        if ((rc = port_run(bs, p, merged, err))) {
            bridge_set_abort(bs);
            snprintf(p->error, sizeof p->error, "%s", err);
            json_object_put(merged);
            return rc;
        }
        json_object_put(p->options);
        p->options = merged;
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
        VLOG_INFO_RL(&rl, "port %s is running again", name);
        return bridge_set_commit(bs, err);
    }

    /* Only the common options changed: VLAN and MTU change in place (the
     * port's frontend or device stays; what it learned is forgotten). */
    struct json_object *prov_old, *prov_new;
    struct dp_port_l2 l2_old, l2_new;
    port_split_options(name, p->options, &l2_old, &prov_old, err);
    port_split_options(name, merged, &l2_new, &prov_new, err);
    bool same_provider = json_object_equal(prov_old, prov_new);
    if (same_provider) {
        json_object_put(prov_old);
        json_object_put(prov_new);
        rc = port_apply_l2(bs, p, &l2_new, l2_new.mtu != l2_old.mtu, err);
        if (rc) {
            bridge_set_abort(bs);
            json_object_put(merged);
            return rc;
        }
        json_object_put(p->options);
        p->options = merged;
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
        VLOG_INFO_RL(&rl, "port %s: VLAN/MTU options changed", name);
        return bridge_set_commit(bs, err);
    }
    rc = -EAGAIN;
    if (p->cls->reconfigure) {
        rc = p->cls->reconfigure(p->dev, prov_old, prov_new, err);
        if (!rc && memcmp(&l2_old, &l2_new, sizeof l2_old)) {
            rc = port_apply_l2(bs, p, &l2_new, l2_new.mtu != l2_old.mtu, err);
        }
    }
    json_object_put(prov_old);
    json_object_put(prov_new);
    if (rc != -EAGAIN) {
        if (!rc) {
            json_object_put(p->options);
            p->options = merged;
            return bridge_set_commit(bs, err);
        }
        bridge_set_abort(bs);
        json_object_put(merged);
        return rc;
    }

    /* Anything else re-creates the port (a connected frontend is
     * disconnected and reconnects); on failure the old options come back.
     * If they cannot either (the device went away meanwhile, say), the port
     * stays configured with its old options -- which is what stays on disk --
     * in state "error" with the reason, as a port that could not be restored
     * at start; that is never silent: a WARN, a "port_error" event and the
     * reply's message say so, and port.set tries again. */
    char err2[BRIDGE_ERRLEN];
    port_stop(bs, p);
    rc = port_run(bs, p, merged, err);
    if (rc) {
        bridge_set_abort(bs);
        if (port_run(bs, p, p->options, err2)) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
            VLOG_WARN_RL(&rl, "port %s is not running: its new options failed (%s) and "
                         "its previous configuration could not be restored: %s; it "
                         "stays configured in state error until port.set succeeds",
                         name, err, err2);
            snprintf(p->error, sizeof p->error, "%s", err2);
            size_t len = strlen(err);
            snprintf(err + len, BRIDGE_ERRLEN - len, "; the previous configuration could "
                     "not be restored either, the port is in state error");
            bridge_notify(bs, "port_error", name, p->br->name);
        }
        json_object_put(merged);
        return rc;
    }
    json_object_put(p->options);
    p->options = merged;
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(60, 60);
    VLOG_INFO_RL(&rl, "port %s re-created with new options", name);
    return bridge_set_commit(bs, err);
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
            if (port_add(bs, bname, pname, type, opts, true, err)) {
                VLOG_ERR("restoring port %s: %s", pname, err);
                /* Kept (not running) when only its creation failed: it
                 * stays in the configuration and port.set retries it. */
                if (!port_find(bs, pname)) {
                    failures++;
                }
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
    if (!p->dev) {
        return "error";
    }
    return p->cls->is_up(p->dev) ? "up" : "down";
}

int
bridge_port_list_json(const struct bridge_set *bs, const char *bridge,
                      struct json_object **out, char *err)
{
    if (bridge && !bridge_find(bs, bridge)) {
        return port_fail(err, -ENOENT, "no bridge \"%s\"", bridge);
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
            json_object_object_add(po, "type", json_object_new_string(p->cls->type));
            json_object_object_add(po, "state", json_object_new_string(port_state(p)));
            json_object_array_add(list, po);
        }
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "ports", list);
    return 0;
}

int
bridge_port_show_json(const struct bridge_set *bs, const char *name,
                      struct json_object **out, char *err)
{
    const struct port *p = port_find(bs, name);
    if (!p) {
        return port_fail(err, -ENOENT, "no port \"%s\"", name);
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "bridge", json_object_new_string(p->br->name));
    json_object_object_add(o, "type", json_object_new_string(p->cls->type));
    json_object_object_add(o, "options", json_object_get(p->options));
    json_object_object_add(o, "state", json_object_new_string(port_state(p)));
    if (p->dev) {
        json_object_object_add(o, "port_no", json_object_new_int(p->dp->port_no));
        json_object_object_add(o, "n_rxq", json_object_new_int(p->dp->n_rxq));
        if (p->cls->show) {
            p->cls->show(p->dev, o);
        }
    } else {
        json_object_object_add(o, "error", json_object_new_string(p->error));
    }
    *out = o;
    return 0;
}

static struct json_object *
port_stats_json(const struct port *p)
{
    struct dp_stats st;
    uint64_t rx_dropped = 0, tx_dropped = 0;

    memset(&st, 0, sizeof st);
    if (p->dp) {
        dp_port_get_stats(p->dp, &st);
    }
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
    if (p->dev && p->cls->stats) {
        p->cls->stats(p->dev, o);
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
            return port_fail(err, -ENOENT, "no port \"%s\"", name);
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
            return port_fail(err, -ENOENT, "no port \"%s\"", name);
        }
        if (p->dp) {
            dp_port_clear_stats(p->dp);
        }
        return 0;
    }
    for (unsigned i = 0; i < bs->n_bridges; i++) {
        for (unsigned j = 0; j < bs->bridges[i]->n_ports; j++) {
            if (bs->bridges[i]->ports[j]->dp) {
                dp_port_clear_stats(bs->bridges[i]->ports[j]->dp);
            }
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
    const struct port *p = port_find_by_fdb_id(ctx->br, e->port_no);
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
        return port_fail(err, -ENOENT, "no bridge \"%s\"", bridge);
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
        return port_fail(err, -ENOENT, "no bridge \"%s\"", bridge);
    }
    *n_flushed = fdb_flush(dp_bridge_fdb(br->dp));
    return 0;
}
