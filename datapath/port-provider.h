/* port-provider - the interface between the bridge model and port types.
 *
 * In the spirit of Open vSwitch's lib/netdev-provider.h: every port type
 * ("vhost-user", "dpdk", ...) is one 'struct port_class' of function
 * pointers, defined by its provider module (vhost/, ethdev/) and registered
 * with one line in vswitchd/main.c.  The bridge model (vswitchd/bridge.c) is
 * the only caller: it knows ports only through this interface, never by
 * type name, and turns each running port into a datapath port
 * (dp_port_create() with the class's 'dp_ops' and the instance as 'priv').
 *
 * Every member runs on the main thread, unless it says otherwise.  Members
 * marked optional may be NULL.  Functions that can fail return 0 or a
 * negative errno and write one user-facing line (naming the port and the
 * cause, no trailing period) into 'err', PORT_ERRLEN bytes.
 *
 * Options are a JSON object whose values are all strings (the bridge has
 * checked that), never NULL; an absent key means the option's default.
 * The options every port has (vlan, trunks, native-vlan, mtu) are the
 * bridge's: providers never see them (mtu reaches them through set_mtu). */
#ifndef VSWITCH_PORT_PROVIDER_H
#define VSWITCH_PORT_PROVIDER_H 1

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

#include "datapath/dp-port-core.h"

#define PORT_ERRLEN 256

/* True if 'name' is a valid bridge, port or socket name: 1 to
 * DP_NAME_MAX - 1 characters of A-Z a-z 0-9 _ . - not starting with . or -
 * (so also a valid Linux interface name). */
static inline bool
port_name_valid(const char *name)
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

/* Writes a printf-formatted message into 'err' (PORT_ERRLEN bytes) and
 * returns 'code': the way providers (and the bridge) report an error. */
int port_fail(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses option 'key' = 'value' of port 'port' as a decimal integer in
 * [min, max].  Returns 0 and *out, or -EINVAL with a message in 'err'. */
int port_parse_uint(const char *port, const char *key, const char *value,
                    unsigned min, unsigned max, unsigned *out, char *err);

struct datapath;
struct rte_mempool;

/* What the daemon gives every provider once, at start. */
struct port_env {
    struct datapath *dp;           /* For dp_port_*, datapath_synchronize(). */
    struct rte_mempool *mp;        /* Pool for packets received from ports. */
    unsigned n_pmds;               /* PMD ids passed to tx() are below this. */
    const char *vhost_sock_dir;    /* realpath() of --vhost-sock-dir. */
    int vhost_sock_gid;            /* --vhost-sock-group, or -1. */

    /* Reports an event of port 'port' ("vhost_connected",
     * "vhost_disconnected", "link_up", "link_down") to events.subscribe'd
     * clients.  May be called from any thread (DPDK's vhost or interrupt
     * thread included); never blocks, never calls back into a provider. */
    void (*event)(void *aux, const char *port, const char *type);
    void *event_aux;

    /* Asks the main thread to call every class's run() soon (e.g. to
     * finish, where it may wait for the PMDs, what a callback on another
     * thread started).  Any thread; never blocks. */
    void (*request_run)(void *aux);
};

struct port_class {
    /* The port type as users write it (type=...). */
    const char *type;

    /* Options this type knows, comma-separated, for error messages. */
    const char *options_help;

    /* Optional.  Called once at start, before any other member.  The
     * struct and its strings are valid only during the call: copy what you
     * keep (the datapath and the pool it points to outlive every port).
     * Returns 0 or a negative errno (the daemon then fails to start). */
    int (*init)(const struct port_env *);

    /* Optional.  Called once at exit, after every port of the type was
     * destroyed. */
    void (*fini)(void);

    /* Optional.  Called on the main thread about once a second while the
     * daemon runs (e.g. to poll link state of devices without link-state
     * interrupts), and soon after any env->request_run().  May wait for the
     * PMDs (datapath_synchronize()); must not block otherwise. */
    void (*run)(void);

    /* Validates 'options' for a port called 'name', without side effects
     * and without looking at other ports (create() checks conflicts such as
     * a socket or device already in use).  Unknown options are errors. */
    int (*check)(const char *name, struct json_object *options, char *err);

    /* Creates port 'name' from 'options' (already check()ed) and stores the
     * instance in *devp.  The port may already carry traffic when this
     * returns, but PMDs see it only after the bridge attaches it.  On
     * failure nothing is left behind: no socket, no probed device. */
    int (*create)(const char *name, struct json_object *options, void **devp,
                  char *err);

    /* Optional.  Called once the port is attached to the datapath (PMDs poll
     * it): e.g. vhost starts listening here, so that a frontend connecting at
     * once finds its port polled.  On failure the bridge destroys it. */
    int (*start)(void *dev, char *err);

    /* Destroys an instance: disconnects frontends, removes sockets,
     * unplugs devices, frees it.  The dp_port using it has been detached
     * (no PMD touches the instance any more).  Cannot fail. */
    void (*destroy)(void *dev);

    /* Optional.  Applies 'options' (check()ed, different from 'old') in
     * place, without disturbing traffic.  Returns 0 if done, -EAGAIN if the
     * change needs the port to be re-created (the bridge then destroys and
     * creates it), or another negative errno (nothing changed).  NULL: every
     * change re-creates the port. */
    int (*reconfigure)(void *dev, struct json_object *old,
                       struct json_object *options, char *err);

    /* Optional.  Makes the device take frames with an L2 payload of up to
     * 'mtu' bytes (DP_MTU_MIN..DP_MTU_MAX; the common option mtu=, which
     * the bridge parses): e.g. rte_eth_dev_set_mtu().  Called after
     * create() and before start(), and again when the option changes.  The
     * datapath drops larger frames on output to the port whatever this
     * does.  Returns 0, or a negative errno if the device cannot take it
     * (port.add / port.set then fail). */
    int (*set_mtu)(void *dev, unsigned mtu, char *err);

    /* The datapath side: rx/tx bursts for the PMDs (see dp-port-core.h). */
    const struct dp_port_ops *dp_ops;

    /* Number of rx queues PMDs poll (1..DP_MAX_QUEUES); constant for the
     * instance's lifetime. */
    uint16_t (*n_rxq)(const void *dev);

    /* True if the port can carry traffic now (frontend connected with a
     * queue enabled, link up). */
    bool (*is_up)(const void *dev);

    /* Optional.  Adds type-specific members to the port.show object 'out'
     * (e.g. "socket", "vhost": {...}, "dpdk": {...}). */
    void (*show)(const void *dev, struct json_object *out);

    /* Optional.  Adds type-specific counters (uint64 members, names in
     * Linux/DPDK style) to the port.stats object 'out'. */
    void (*stats)(const void *dev, struct json_object *out);
};

#endif
