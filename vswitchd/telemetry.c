/* telemetry - vswitchd's counters as DPDK telemetry commands.  See
 * telemetry.h for the commands and the threading. */
#include "vswitchd/telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <rte_telemetry.h>

#define VLOG_MODULE "telemetry"
#include "lib/vlog.h"
#include "vswitchd/bridge.h"
#include "vswitchd/stats.h"

/* One command being answered: lives on the stack of the telemetry thread
 * that waits for it, linked into the queue while the main thread has not
 * answered it.  Guarded by tel.mutex. */
struct tel_request {
    const char *cmd;
    const char *params;             /* NULL or "": none. */
    struct json_object *result;     /* Set by the main thread. */
    int rc;                         /* 0 or a negative errno. */
    bool done;
    struct tel_request *next;
};

/* The module's state: a singleton, because librte_telemetry's callbacks
 * take no user pointer (see telemetry.h). */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;            /* Signalled when requests are answered
                                     * or serving stops (CLOCK_MONOTONIC). */
    bool registered;                /* Commands registered, cond set up. */

    /* Guarded by 'mutex'. */
    bool serving;
    struct tel_request *head;       /* Queue of unanswered requests. */
    int wake_fd;                    /* Write end of the wake-up pipe. */

    /* Main thread only. */
    int read_fd;
    struct event *wake;
    const struct bridge_set *bs;
    const struct datapath *dp;
} tel = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .wake_fd = -1,
    .read_fd = -1,
};

/* ---- Answers, computed on the main thread ----------------------------- */

static bool
no_params(const char *params)
{
    return !params || !params[0];
}

static void
add_port_name(const struct bridge_port_view *v, void *list)
{
    json_object_array_add(list, json_object_new_string(v->name));
}

/* /vswitch/ports */
static int
answer_ports(const char *params, struct json_object **out)
{
    char err[BRIDGE_ERRLEN];

    if (!no_params(params)) {
        return -EINVAL;
    }
    *out = json_object_new_array();
    return bridge_visit_ports(tel.bs, NULL, add_port_name, *out, err);
}

static void
port_counters(const struct stats_port *sp, void *out)
{
    struct json_object *o = stats_port_json(sp);

    json_object_object_add(o, "bridge", json_object_new_string(sp->bridge));
    json_object_object_add(o, "type", json_object_new_string(sp->type));
    *(struct json_object **) out = o;
}

/* /vswitch/port,NAME */
static int
answer_port(const char *params, struct json_object **out)
{
    char err[BRIDGE_ERRLEN];

    if (no_params(params)) {
        return -EINVAL;
    }
    return stats_ports_read(tel.bs, params, port_counters, out, err) ? -EINVAL : 0;
}

static void
add_bridge_name(const char *name, const struct dp_bridge *br, void *list)
{
    (void) br;
    json_object_array_add(list, json_object_new_string(name));
}

/* /vswitch/bridges */
static int
answer_bridges(const char *params, struct json_object **out)
{
    char err[BRIDGE_ERRLEN];

    if (!no_params(params)) {
        return -EINVAL;
    }
    *out = json_object_new_array();
    return bridge_visit_bridges(tel.bs, NULL, add_bridge_name, *out, err);
}

static void
fdb_counters(const struct stats_fdb *sf, void *out)
{
    struct json_object *o = stats_fdb_json(sf);

    json_object_object_add(o, "bridge", json_object_new_string(sf->bridge));
    *(struct json_object **) out = o;
}

/* /vswitch/fdb,BRIDGE */
static int
answer_fdb(const char *params, struct json_object **out)
{
    char err[BRIDGE_ERRLEN];

    if (no_params(params)) {
        return -EINVAL;
    }
    return stats_fdbs_read(tel.bs, params, fdb_counters, out, err) ? -EINVAL : 0;
}

/* The counters of one PMD, in the order of pmd.stats (without
 * cycles_per_packet: telemetry in DPDK 22.11 has no floating point). */
#define PMD_COUNTERS                                \
    PMD_COUNTER(pmd, pmd_id)                        \
    PMD_COUNTER(core, core)                         \
    PMD_COUNTER(rx_packets, rx_packets)             \
    PMD_COUNTER(tx_packets, tx_packets)             \
    PMD_COUNTER(iterations, iterations)             \
    PMD_COUNTER(busy_cycles, busy_cycles)           \
    PMD_COUNTER(idle_cycles, idle_cycles)

/* /vswitch/pmds */
static int
answer_pmds(const char *params, struct json_object **out)
{
    struct stats_pmds sp;

    if (!no_params(params)) {
        return -EINVAL;
    }
    stats_pmds_read(tel.dp, &sp);
    *out = json_object_new_object();
#define PMD_COUNTER(KEY, MEMBER)                                                  \
    {                                                                             \
        struct json_object *a = json_object_new_array();                          \
        for (unsigned i = 0; i < sp.n; i++) {                                     \
            json_object_array_add(a, json_object_new_uint64(sp.pmd[i].MEMBER));   \
        }                                                                         \
        json_object_object_add(*out, #KEY, a);                                    \
    }
    PMD_COUNTERS
#undef PMD_COUNTER
    json_object_object_add(*out, "mbufs_total", json_object_new_uint64(sp.mbufs_total));
    json_object_object_add(*out, "mbufs_in_use", json_object_new_uint64(sp.mbufs_in_use));
    return 0;
}

/* /vswitch/pmd,ID */
static int
answer_pmd(const char *params, struct json_object **out)
{
    struct stats_pmds sp;
    char *end;

    if (no_params(params) || params[0] < '0' || params[0] > '9') {
        return -EINVAL;
    }
    errno = 0;
    unsigned long id = strtoul(params, &end, 10);
    stats_pmds_read(tel.dp, &sp);
    if (*end || errno || id >= sp.n) {
        return -EINVAL;
    }
    *out = json_object_new_object();
#define PMD_COUNTER(KEY, MEMBER) \
    json_object_object_add(*out, #KEY, json_object_new_uint64(sp.pmd[id].MEMBER));
    PMD_COUNTERS
#undef PMD_COUNTER
    return 0;
}

static const struct tel_command {
    const char *name;
    int (*answer)(const char *params, struct json_object **out);
    const char *help;
} commands[] = {
    { "/vswitch/ports", answer_ports,
      "Names of the switch's ports. Takes no parameters" },
    { "/vswitch/port", answer_port,
      "Counters of one port, as port.stats, with its bridge and type. "
      "Parameters: port name" },
    { "/vswitch/bridges", answer_bridges,
      "Names of the switch's bridges. Takes no parameters" },
    { "/vswitch/fdb", answer_fdb,
      "MAC learning table counters of one bridge. Parameters: bridge name" },
    { "/vswitch/pmds", answer_pmds,
      "Counters of every PMD thread, one array per counter, and the mbuf pool. "
      "Takes no parameters" },
    { "/vswitch/pmd", answer_pmd,
      "Counters of one PMD thread. Parameters: PMD id" },
};

/* Main loop: answers every queued request. */
static void
on_wake(evutil_socket_t fd, short what, void *aux)
{
    char buf[64];
    (void) what; (void) aux;

    while (read(fd, buf, sizeof buf) > 0) {
        continue;
    }
    pthread_mutex_lock(&tel.mutex);
    while (tel.head) {
        struct tel_request *req = tel.head;
        tel.head = req->next;
        req->rc = -EINVAL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (!strcmp(req->cmd, commands[i].name)) {
                req->rc = commands[i].answer(req->params, &req->result);
                break;
            }
        }
        if (req->rc && req->result) {
            json_object_put(req->result);
            req->result = NULL;
        }
        req->done = true;
    }
    pthread_cond_broadcast(&tel.cond);
    pthread_mutex_unlock(&tel.mutex);
}

/* ---- The telemetry threads' side -------------------------------------- */

/* Queues 'req' for the main thread and waits for its answer.  Returns 0 or
 * a negative errno (-ENODEV: not serving; -ETIMEDOUT). */
static int
ask_main(struct tel_request *req)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
    struct timespec deadline;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += TELEMETRY_TIMEOUT_MS / 1000;
    deadline.tv_nsec += (TELEMETRY_TIMEOUT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&tel.mutex);
    if (!tel.serving) {
        pthread_mutex_unlock(&tel.mutex);
        return -ENODEV;
    }
    struct tel_request **tail = &tel.head;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = req;
    ssize_t n = write(tel.wake_fd, "", 1);      /* EAGAIN: already awake. */
    (void) n;
    while (!req->done && tel.serving) {
        if (pthread_cond_timedwait(&tel.cond, &tel.mutex, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    if (req->done) {
        rc = req->rc;
    } else {
        /* Not answered: take it back out of the queue, so that the main
         * thread never touches it after we return. */
        for (struct tel_request **p = &tel.head; *p; p = &(*p)->next) {
            if (*p == req) {
                *p = req->next;
                break;
            }
        }
        rc = tel.serving ? -ETIMEDOUT : -ENODEV;
    }
    pthread_mutex_unlock(&tel.mutex);
    if (rc == -ETIMEDOUT) {
        VLOG_WARN_RL(&rl, "telemetry request %s: no answer from the main thread "
                     "within %d ms", req->cmd, TELEMETRY_TIMEOUT_MS);
    }
    return rc;
}

/* Converts the main thread's answer 'j' (an array of strings or integers,
 * or an object of strings, integers and arrays of integers) into 'd'.
 * Other members (none today) are left out. */
static int
to_tel_data(struct json_object *j, struct rte_tel_data *d)
{
    if (json_object_is_type(j, json_type_array)) {
        size_t n = json_object_array_length(j);
        bool strings = n && json_object_is_type(json_object_array_get_idx(j, 0),
                                                json_type_string);
        rte_tel_data_start_array(d, strings ? RTE_TEL_STRING_VAL : RTE_TEL_U64_VAL);
        for (size_t i = 0; i < n; i++) {
            struct json_object *v = json_object_array_get_idx(j, i);
            if (strings) {
                rte_tel_data_add_array_string(d, json_object_get_string(v));
            } else {
                rte_tel_data_add_array_u64(d, json_object_get_uint64(v));
            }
        }
        return 0;
    }
    if (!json_object_is_type(j, json_type_object)) {
        return -EINVAL;
    }
    rte_tel_data_start_dict(d);
    json_object_object_foreach(j, key, v) {
        switch (json_object_get_type(v)) {
        case json_type_string:
            rte_tel_data_add_dict_string(d, key, json_object_get_string(v));
            break;
        case json_type_int:
            if (json_object_get_int64(v) < 0) {
                rte_tel_data_add_dict_int(d, key, json_object_get_int(v));
            } else {
                rte_tel_data_add_dict_u64(d, key, json_object_get_uint64(v));
            }
            break;
        case json_type_array: {
            struct rte_tel_data *c = rte_tel_data_alloc();
            if (!c) {
                return -ENOMEM;
            }
            rte_tel_data_start_array(c, RTE_TEL_U64_VAL);
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                rte_tel_data_add_array_u64(c, json_object_get_uint64(
                                               json_object_array_get_idx(v, i)));
            }
            if (rte_tel_data_add_dict_container(d, key, c, 0)) {
                rte_tel_data_free(c);
            }
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* The callback of every /vswitch/ command: a telemetry thread. */
static int
on_command(const char *cmd, const char *params, struct rte_tel_data *d)
{
    struct tel_request req = { .cmd = cmd, .params = params };
    int rc = ask_main(&req);

    if (!rc) {
        rc = to_tel_data(req.result, d);
    }
    json_object_put(req.result);
    return rc;
}

/* ---- Start and stop (main thread) ------------------------------------- */

/* Registers the commands and sets up the condition variable, once per
 * process. */
static int
register_commands(void)
{
    pthread_condattr_t attr;

    if (tel.registered) {
        return 0;
    }
    if (pthread_condattr_init(&attr)
        || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        || pthread_cond_init(&tel.cond, &attr)) {
        return -ENOMEM;
    }
    pthread_condattr_destroy(&attr);
    tel.registered = true;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        int rc = rte_telemetry_register_cmd(commands[i].name, on_command,
                                            commands[i].help);
        if (rc) {
            VLOG_ERR("cannot register telemetry command %s: %s", commands[i].name,
                     strerror(rc < 0 ? -rc : rc));
            return rc < 0 ? rc : -rc;
        }
    }
    return 0;
}

int
telemetry_start(struct event_base *base, const struct bridge_set *bs,
                const struct datapath *dp)
{
    int fds[2];
    int rc;

    if (tel.wake) {
        return -EALREADY;
    }
    if ((rc = register_commands())) {
        return rc;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC)) {
        return -errno;
    }
    tel.wake = event_new(base, fds[0], EV_READ | EV_PERSIST, on_wake, NULL);
    if (!tel.wake || event_add(tel.wake, NULL)) {
        if (tel.wake) {
            event_free(tel.wake);
            tel.wake = NULL;
        }
        close(fds[0]);
        close(fds[1]);
        return -ENOMEM;
    }
    tel.read_fd = fds[0];
    tel.bs = bs;
    tel.dp = dp;
    pthread_mutex_lock(&tel.mutex);
    tel.wake_fd = fds[1];
    tel.serving = true;
    pthread_mutex_unlock(&tel.mutex);
    return 0;
}

void
telemetry_stop(void)
{
    if (!tel.wake) {
        return;
    }
    pthread_mutex_lock(&tel.mutex);
    tel.serving = false;
    close(tel.wake_fd);
    tel.wake_fd = -1;
    /* Waiters take their requests back out of the queue themselves. */
    pthread_cond_broadcast(&tel.cond);
    pthread_mutex_unlock(&tel.mutex);
    event_free(tel.wake);
    tel.wake = NULL;
    close(tel.read_fd);
    tel.read_fd = -1;
    tel.bs = NULL;
    tel.dp = NULL;
}
