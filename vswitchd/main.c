/* vswitchd - the vswitch daemon.
 *
 * Parses options, sets up DPDK (EAL with a per-instance file prefix,
 * hugepages or --no-huge, the mbuf pool), starts the datapath's PMD threads,
 * restores the saved configuration, serves JSON-RPC on the control socket
 * from a libevent loop, and tears everything down on SIGTERM/SIGINT or
 * system.shutdown.  The daemon object 'struct vswitchd' holds every piece of
 * state; nothing else is global except what DPDK's callbacks force on
 * the port providers.  Port types are registered in port_classes[]. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#define VLOG_MODULE "vswitchd"
#include "lib/vlog.h"
#include "vswitchd/bridge.h"
#include "vswitchd/config.h"
#include "lib/fsutil.h"
#include "vswitchd/methods.h"
#include "vswitchd/options.h"
#include "lib/rpc.h"
#include "lib/rpc-server.h"
#include "datapath/datapath.h"
#include "datapath/port-provider.h"
#include "vhost/vhost-port.h"
#include "ethdev/ethdev-port.h"

/* Every port type: one line each. */
static const struct port_class *const port_classes[] = {
    &vhost_user_class,
    &vhost_user_client_class,
    &dpdk_port_class,
    &internal_port_class,
    NULL,
};

/* A port event (vhost device connected, link down, ...), queued by a
 * provider's thread for the main loop, which turns it into an event
 * notification. */
struct link_event {
    char port[DP_NAME_MAX];
    char type[24];
};

#define MAX_LINK_EVENTS 256

struct vswitchd {
    struct vswitchd_options opts;
    int ready_fd;                   /* --detach: tells the parent we're up. */
    bool eal_up;
    struct rte_mempool *mp;
    struct datapath *dp;
    unsigned n_classes_up;          /* port_classes[0..n-1] init()ed. */
    struct bridge_set *bs;
    struct event_base *base;
    struct rpc_dispatcher *dispatcher;
    struct rpc_server *server;
    struct methods_ctx methods;
    struct event *sigterm, *sigint, *ageing, *link_wake;
    bool run_requested;             /* Atomic: run the providers soon. */
    bool pidfile_written;
    int vhost_sock_gid;             /* --vhost-sock-group, or -1. */
    int ctl_sock_gid;               /* --ctl-socket-group, or -1. */
    int pidfile_fd;                 /* Locked (flock) while we run, or -1. */

    /* Link events from the vhost thread: 'link_mutex' guards the queue,
     * 'link_pipe' wakes the main loop. */
    pthread_mutex_t link_mutex;
    struct link_event link_events[MAX_LINK_EVENTS];
    unsigned n_link_events;
    unsigned link_events_lost;
    int link_pipe[2];
};

/* True if something accepts connections on unix socket 'path'. */
static bool
socket_in_use(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sun.sun_path) {
        return false;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    bool in_use = !connect(fd, (struct sockaddr *) &sun, sizeof sun);
    close(fd);
    return in_use;
}

/* Takes the exclusive flock() on "<dir>/vswitchd.lock" (created if
 * missing, never removed) that marks 'dir' as one running vswitchd's: the
 * rundir (whose name also gives EAL's --file-prefix) and the statedir (whose
 * conf.json two daemons must not both write).  The lock belongs to the open
 * file, so it survives --detach's fork, is held until the process exits and
 * cannot go stale after a crash.  The file is opened read-only: flock() does
 * not need write access, and a file open for writing would keep the file
 * system from being remounted read-only.  'what' and 'option' name the
 * directory for messages.  Returns the descriptor (kept open for the
 * daemon's lifetime), or -1 after printing the reason to stderr. */
static int
lock_dir(const char *dir, const char *what, const char *option)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/vswitchd.lock", dir) >= (int) sizeof path) {
        fprintf(stderr, "vswitchd: %s %s: name too long\n", what, dir);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "vswitchd: cannot create the lock file %s: %s (the %s %s "
                "must be a writable directory)\n", path, strerror(errno), what, dir);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno == EWOULDBLOCK) {
            fprintf(stderr, "vswitchd: another vswitchd is already running with %s %s "
                    "(it holds %s): stop it first, or give this instance its own %s\n",
                    what, dir, path, option);
        } else {
            fprintf(stderr, "vswitchd: cannot lock %s: %s\n", path, strerror(errno));
        }
        close(fd);
        return -1;
    }
    return fd;
}

/* True if hugepages are free and hugetlbfs is mounted. */
static bool
hugepages_available(void)
{
    char line[256];
    long free_pages = 0;
    bool mounted = false;

    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            sscanf(line, "HugePages_Free: %ld", &free_pages);
        }
        fclose(f);
    }
    f = fopen("/proc/mounts", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strstr(line, " hugetlbfs ")) {
                mounted = true;
            }
        }
        fclose(f);
    }
    return free_pages > 0 && mounted;
}

/* Fills the default PMD core (the last CPU we may run on) and checks the
 * configured ones.  Returns the number of CPUs (highest allowed + 1) or
 * -EINVAL. */
static int
check_cpus(struct vswitchd_options *o)
{
    cpu_set_t set;
    int last = -1;

    if (sched_getaffinity(0, sizeof set, &set)) {
        return -errno;
    }
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set)) {
            last = c;
        }
    }
    if (last < 0) {
        return -EINVAL;
    }
    if (!o->n_pmd_cores) {
        o->pmd_cores[0] = (unsigned) last;
        o->n_pmd_cores = 1;
    }
    for (unsigned i = 0; i < o->n_pmd_cores; i++) {
        if (o->pmd_cores[i] >= CPU_SETSIZE || !CPU_ISSET(o->pmd_cores[i], &set)) {
            fprintf(stderr, "vswitchd: --pmd-cores: CPU %u is not available\n",
                    o->pmd_cores[i]);
            return -EINVAL;
        }
    }
    return last + 1;
}

/* --detach: forks; the parent waits until the child reports readiness and
 * exits with 0 (ready) or 1 (the child failed).  Returns in the child. */
static void
daemonize(struct vswitchd *vs)
{
    int fds[2];
    if (pipe(fds)) {
        perror("vswitchd: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("vswitchd: fork");
        exit(1);
    }
    if (pid > 0) {
        char c;
        close(fds[1]);
        ssize_t n;
        do {
            n = read(fds[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == 'R' ? 0 : 1);
    }
    close(fds[0]);
    vs->ready_fd = fds[1];
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
}

static void
notify_ready(struct vswitchd *vs)
{
    if (vs->ready_fd >= 0) {
        ssize_t n = write(vs->ready_fd, "R", 1);
        (void) n;
        close(vs->ready_fd);
        vs->ready_fd = -1;
    }
}

/* Writes our pid to --pidfile and keeps it locked (flock(), on the
 * descriptor kept in vs->pidfile_fd) for as long as we run.  An existing
 * pidfile that someone holds the lock on belongs to a running vswitchd: we
 * refuse (-EEXIST).  One nobody locks is stale (its daemon is gone) and is
 * replaced.  The new file gets a fresh name (O_CREAT|O_EXCL: never through a
 * planted symlink, never an existing file), is locked and written, then
 * renamed into place, so a reader never sees it empty.  This lock is ours
 * alone; the rundir/statedir locks are separate.  Returns 0 or a negative
 * errno (logged). */
static int
write_pidfile(struct vswitchd *vs)
{
    const char *path = vs->opts.pidfile;
    char tmp[PATH_MAX + 16];
    struct stat st;
    if (!path[0]) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        char buf[32] = "";
        bool locked = false;
        if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            buf[n > 0 ? n : 0] = '\0';
            locked = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
        }
        close(fd);
        long pid = strtol(buf, NULL, 10);
        if (locked) {
            VLOG_ERR("pidfile %s is locked by a running vswitchd (pid %ld)", path, pid);
            return -EEXIST;
        }
        VLOG_INFO("%s: replacing a stale pidfile (pid %ld holds no lock on it)", path, pid);
    }
    fd = fsutil_create_tmp(path, 0644, tmp, sizeof tmp);
    if (fd < 0) {
        return fd;
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long) getpid());
    errno = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) || write(fd, line, (size_t) len) != len
        || rename(tmp, path)) {
        int err = errno ? -errno : -EIO;
        close(fd);
        unlink(tmp);
        return err;
    }
    vs->pidfile_fd = fd;
    vs->pidfile_written = true;
    return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *aux)
{
    struct vswitchd *vs = aux;
    (void) what;
    VLOG_INFO("caught signal %d, exiting", (int) sig);
    event_base_loopexit(vs->base, NULL);
}

static void run_providers(void);

/* Once a second: FDB ageing, providers' periodic work. */
static void
on_ageing(evutil_socket_t fd, short what, void *aux)
{
    struct vswitchd *vs = aux;
    (void) fd; (void) what;
    datapath_run_ageing(vs->dp);
    run_providers();
    datapath_poll_refresh(vs->dp);      /* Safety net; see on_link_wake(). */
}

/* port_env.event: runs on a provider's thread (DPDK's vhost or interrupt
 * thread) or on the main thread; queues the event and wakes the main loop.
 * Never blocks: a full queue drops the event (counted, logged). */
static void
on_port_event(void *aux, const char *port, const char *type)
{
    struct vswitchd *vs = aux;

    pthread_mutex_lock(&vs->link_mutex);
    if (vs->n_link_events < MAX_LINK_EVENTS) {
        struct link_event *e = &vs->link_events[vs->n_link_events++];
        snprintf(e->port, sizeof e->port, "%s", port);
        snprintf(e->type, sizeof e->type, "%s", type);
    } else {
        vs->link_events_lost++;
    }
    pthread_mutex_unlock(&vs->link_mutex);
    ssize_t n = write(vs->link_pipe[1], "", 1);   /* EAGAIN: already awake. */
    (void) n;
}

/* port_env.request_run: any thread. */
static void
on_request_run(void *aux)
{
    struct vswitchd *vs = aux;

    __atomic_store_n(&vs->run_requested, true, __ATOMIC_RELEASE);
    ssize_t n = write(vs->link_pipe[1], "", 1);
    (void) n;
}

static void
run_providers(void)
{
    for (const struct port_class *const *c = port_classes; *c; c++) {
        if ((*c)->run) {
            (*c)->run();
        }
    }
}

static void
on_link_wake(evutil_socket_t fd, short what, void *aux)
{
    struct vswitchd *vs = aux;
    struct link_event events[MAX_LINK_EVENTS];
    char buf[256];
    (void) what;

    while (read(fd, buf, sizeof buf) > 0) {
        continue;
    }
    if (__atomic_exchange_n(&vs->run_requested, false, __ATOMIC_ACQ_REL)) {
        run_providers();
        /* A device connected, went or changed its queues: poll what can
         * carry traffic now, and only that. */
        datapath_poll_refresh(vs->dp);
    }
    pthread_mutex_lock(&vs->link_mutex);
    unsigned n = vs->n_link_events, lost = vs->link_events_lost;
    memcpy(events, vs->link_events, n * sizeof events[0]);
    vs->n_link_events = 0;
    vs->link_events_lost = 0;
    pthread_mutex_unlock(&vs->link_mutex);

    if (lost) {
        VLOG_WARN("%u port events were dropped (queue full)", lost);
    }
    for (unsigned i = 0; i < n; i++) {
        methods_notify(&vs->methods, events[i].type, events[i].port, NULL);
    }
}

/* bridge_set_params.notify: configuration changes become events. */
static void
on_bridge_change(void *aux, const char *type, const char *port, const char *bridge)
{
    struct vswitchd *vs = aux;
    methods_notify(&vs->methods, type, port, bridge);
}

static void
request_shutdown(void *aux)
{
    struct vswitchd *vs = aux;
    VLOG_INFO("shutdown requested over JSON-RPC");
    event_base_loopexit(vs->base, NULL);
}

/* Loads and replays the saved configuration.  A file that cannot be parsed
 * is moved aside (never overwritten) and the daemon starts empty.  A file
 * that cannot be read (permissions, I/O error, too large, not a regular
 * file) is never overwritten either: the daemon refuses to start, since its
 * first change would replace a configuration it never saw.  Returns 0 or a
 * negative errno (logged). */
static int
restore_config(struct vswitchd *vs)
{
    char err[256];
    struct json_object *conf = NULL;
    int rc = config_load(vs->opts.conf_path, &conf, err, sizeof err);

    if (rc == -EINVAL) {
        char aside[PATH_MAX + 32];
        snprintf(aside, sizeof aside, "%s.corrupt-%ld", vs->opts.conf_path,
                 (long) time(NULL));
        VLOG_ERR("%s: %s; moved to %s, starting with an empty configuration",
                 vs->opts.conf_path, err, aside);
        if (rename(vs->opts.conf_path, aside)) {
            rc = -errno;
            VLOG_ERR("cannot move %s aside: %s; not starting, so as not to "
                     "overwrite it", vs->opts.conf_path, strerror(-rc));
            return rc;
        }
        return 0;
    }
    if (rc) {
        VLOG_ERR("cannot read the saved configuration %s: %s; not starting, so as "
                 "not to overwrite it: fix or move the file (or use another "
                 "--statedir)", vs->opts.conf_path, err);
        return rc;
    }
    if (bridge_set_restore(vs->bs, conf)) {
        /* What could not be restored would vanish from the file at the next
         * save: keep the whole configuration as it was. */
        char aside[PATH_MAX + 32];
        snprintf(aside, sizeof aside, "%s.unrestored-%ld", vs->opts.conf_path,
                 (long) time(NULL));
        rc = config_save(aside, conf);
        if (rc) {
            /* The first change would drop what was not restored. */
            VLOG_ERR("cannot keep the configuration that could not be fully "
                     "restored in %s: %s; not starting", aside, strerror(-rc));
            json_object_put(conf);
            return rc;
        } else {
            VLOG_WARN("some bridges or ports could not be restored; the configuration "
                      "as it was is kept in %s", aside);
        }
    }
    json_object_put(conf);
    return 0;
}

/* Brings everything up.  Returns 0 or a negative errno (already logged). */
static int
vswitchd_start(struct vswitchd *vs, char *argv0)
{
    struct vswitchd_options *o = &vs->opts;
    int rc;

    bool use_huge = o->huge == OPT_HUGE_ON
                    || (o->huge == OPT_HUGE_AUTO && hugepages_available());
    if (!use_huge && o->huge == OPT_HUGE_AUTO) {
        VLOG_WARN("no free hugepages: running with --no-huge (fine for tests, "
                  "slow for benchmarks; see utilities/hugepages.sh)");
    }
    int n_cpus = check_cpus(o);
    if (n_cpus < 0) {
        return n_cpus;
    }
    struct eal_args ea;
    if (options_eal_args(o, use_huge, (unsigned) n_cpus, &ea)) {
        VLOG_ERR("too many EAL arguments");
        return -E2BIG;
    }
    ea.argv[0] = argv0;
    if (rte_eal_init(ea.argc, ea.argv) < 0) {
        /* rte_eal_init() does not always set rte_errno (e.g. when another
         * process holds the EAL lock of our --file-prefix): the EAL's own
         * lines above say why.  Never report errno's "Success". */
        int err = rte_errno;
        VLOG_ERR("DPDK EAL initialisation failed: %s; see the EAL messages above "
                 "(another DPDK process with the same --file-prefix, bad EAL "
                 "arguments after --, no memory?)",
                 err ? rte_strerror(err) : "no reason given");
        return err > 0 ? -err : -EIO;
    }
    vs->eal_up = true;
    VLOG_INFO("%s, %u PMD thread(s), %s", rte_version(), o->n_pmd_cores,
              use_huge ? "hugepages" : "no hugepages");

    vs->mp = rte_pktmbuf_pool_create("vs_mbufs", o->mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, (int) rte_socket_id());
    if (!vs->mp) {
        VLOG_ERR("cannot create a pool of %u mbufs: %s (lower --mbufs, or free "
                 "hugepages / memory)", o->mbufs,
                 rte_errno ? rte_strerror(rte_errno) : "out of memory");
        return -ENOMEM;
    }

    unsigned lcores[OPT_MAX_PMDS];
    for (unsigned i = 0; i < o->n_pmd_cores; i++) {
        lcores[i] = i + 1;
    }
    struct datapath_params dpp = {
        .mp = vs->mp,
        .pmd_lcores = lcores,
        .pmd_cores = o->pmd_cores,
        .n_pmds = o->n_pmd_cores,
    };
    if ((rc = datapath_create(&dpp, &vs->dp))) {
        VLOG_ERR("cannot start the datapath: %s", strerror(-rc));
        return rc;
    }
    if (pipe2(vs->link_pipe, O_NONBLOCK | O_CLOEXEC)) {
        rc = -errno;
        VLOG_ERR("cannot create a pipe: %s", strerror(-rc));
        return rc;
    }
    char sock_dir[PATH_MAX];
    if (!realpath(o->vhost_sock_dir, sock_dir)) {
        rc = -errno;
        VLOG_ERR("vhost socket directory %s: %s", o->vhost_sock_dir, strerror(-rc));
        return rc;
    }
    struct port_env env = {
        .dp = vs->dp,
        .mp = vs->mp,
        .n_pmds = o->n_pmd_cores,
        .vhost_sock_dir = sock_dir,
        .vhost_sock_gid = vs->vhost_sock_gid,
        .event = on_port_event,
        .event_aux = vs,
        .request_run = on_request_run,
    };
    for (const struct port_class *const *c = port_classes; *c; c++) {
        if ((*c)->init && (rc = (*c)->init(&env))) {
            VLOG_ERR("cannot set up %s ports: %s", (*c)->type, strerror(-rc));
            return rc;
        }
        vs->n_classes_up++;
    }

    struct bridge_set_params bsp = {
        .dp = vs->dp,
        .classes = port_classes,
        .conf_path = o->conf_path,
        .notify = on_bridge_change,
        .notify_aux = vs,
    };
    if ((rc = bridge_set_create(&bsp, &vs->bs))) {
        VLOG_ERR("cannot set up bridges: %s", strerror(-rc));
        return rc;
    }
    if ((rc = restore_config(vs))) {
        return rc;
    }

    vs->base = event_base_new();
    vs->dispatcher = rpc_dispatcher_create();
    if (!vs->base || !vs->dispatcher) {
        VLOG_ERR("cannot set up the control loop: out of memory");
        return -ENOMEM;
    }
    vs->methods = (struct methods_ctx) {
        .bs = vs->bs, .dp = vs->dp,
        .shutdown = request_shutdown, .shutdown_aux = vs,
    };
    if ((rc = methods_register(vs->dispatcher, &vs->methods))) {
        VLOG_ERR("cannot register the JSON-RPC methods: %s", strerror(-rc));
        return rc;
    }
    if ((rc = rpc_server_create(vs->base, o->ctl_socket, vs->ctl_sock_gid, vs->dispatcher,
                                &vs->server))) {
        VLOG_ERR("cannot listen on %s: %s", o->ctl_socket, strerror(-rc));
        return rc;
    }
    vs->methods.server = vs->server;

    vs->sigterm = evsignal_new(vs->base, SIGTERM, on_signal, vs);
    vs->sigint = evsignal_new(vs->base, SIGINT, on_signal, vs);
    vs->ageing = event_new(vs->base, -1, EV_PERSIST, on_ageing, vs);
    vs->link_wake = event_new(vs->base, vs->link_pipe[0], EV_READ | EV_PERSIST,
                              on_link_wake, vs);
    struct timeval one_sec = { 1, 0 };
    if (!vs->sigterm || !vs->sigint || !vs->ageing || !vs->link_wake
        || event_add(vs->sigterm, NULL) || event_add(vs->sigint, NULL)
        || event_add(vs->ageing, &one_sec) || event_add(vs->link_wake, NULL)) {
        VLOG_ERR("cannot set up the control loop's events");
        return -ENOMEM;
    }
    if ((rc = write_pidfile(vs))) {
        VLOG_ERR("cannot write pidfile %s: %s", o->pidfile, strerror(-rc));
        return rc;
    }
    VLOG_INFO("vswitchd %s ready, control socket %s", VSWITCH_VERSION, o->ctl_socket);
    return 0;
}

/* Tears down whatever vswitchd_start() brought up, in reverse order: the
 * control socket, the PMDs, the ports (sockets removed), DPDK. */
static void
vswitchd_stop(struct vswitchd *vs)
{
    if (vs->server) {
        vs->methods.server = NULL;
        rpc_server_destroy(vs->server);
    }
    if (vs->dp) {
        datapath_stop_pmds(vs->dp);
    }
    bridge_set_destroy(vs->bs);
    /* Only the classes whose init() succeeded, last first. */
    while (vs->n_classes_up) {
        const struct port_class *c = port_classes[--vs->n_classes_up];
        if (c->fini) {
            c->fini();
        }
    }
    datapath_destroy(vs->dp);
    if (vs->sigterm) event_free(vs->sigterm);
    if (vs->sigint) event_free(vs->sigint);
    if (vs->ageing) event_free(vs->ageing);
    if (vs->link_wake) event_free(vs->link_wake);
    if (vs->dispatcher) rpc_dispatcher_destroy(vs->dispatcher);
    if (vs->base) event_base_free(vs->base);
    if (vs->mp) rte_mempool_free(vs->mp);
    if (vs->eal_up) rte_eal_cleanup();
    if (vs->pidfile_written) unlink(vs->opts.pidfile);
    for (int i = 0; i < 2; i++) {
        if (vs->link_pipe[i] >= 0) {
            close(vs->link_pipe[i]);
        }
    }
}

/* Raises the soft limit on open files to the hard limit: every vhost-user
 * port holds a listening socket and a connection, so the usual soft limit
 * of 1,024 would stop a daemon with many ports early (with an EMFILE deep
 * inside librte_vhost). */
static void
raise_nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max) {
        return;
    }
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl)) {
        VLOG_WARN("cannot raise the open files limit from %llu to %llu: %s",
                  (unsigned long long) old, (unsigned long long) rl.rlim_max,
                  strerror(errno));
    }
}

int
main(int argc, char *argv[])
{
    struct vswitchd vs = { .ready_fd = -1, .link_pipe = { -1, -1 },
                           .pidfile_fd = -1,
                           .link_mutex = PTHREAD_MUTEX_INITIALIZER };
    char err[512];
    int rc;

    if (options_parse(argc, argv, &vs.opts, err, sizeof err)) {
        fprintf(stderr, "vswitchd: %s (try --help)\n", err);
        return 2;
    }
    if (vs.opts.help) {
        options_usage(argv[0]);
        return 0;
    }
    if (vs.opts.version) {
        printf("vswitchd %s (%s)\n", VSWITCH_VERSION, rte_version());
        return 0;
    }
    vlog_set_level(vs.opts.log_level);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();

    vs.vhost_sock_gid = -1;
    if (vs.opts.vhost_sock_group[0]) {
        struct group *gr = getgrnam(vs.opts.vhost_sock_group);
        if (!gr) {
            fprintf(stderr, "vswitchd: --vhost-sock-group: no group \"%s\"\n",
                    vs.opts.vhost_sock_group);
            return 2;
        }
        vs.vhost_sock_gid = (int) gr->gr_gid;
    }
    vs.ctl_sock_gid = -1;
    if (vs.opts.ctl_socket_group[0]) {
        struct group *gr = getgrnam(vs.opts.ctl_socket_group);
        if (!gr) {
            fprintf(stderr, "vswitchd: --ctl-socket-group: no group \"%s\"\n",
                    vs.opts.ctl_socket_group);
            return 2;
        }
        vs.ctl_sock_gid = (int) gr->gr_gid;
    }
    /* Directories we create get explicit modes; existing ones must not let
     * another user swap or plant files in them (Documentation/security.md).
     * The vhost dir may be group/other-writable with the sticky bit, for
     * frontends that create client-mode sockets there. */
    if ((rc = fsutil_mkdir_p_mode(vs.opts.rundir, 0755))
        || (rc = fsutil_mkdir_p_mode(vs.opts.vhost_sock_dir, 0755))) {
        fprintf(stderr, "vswitchd: cannot create runtime directories under %s: %s\n",
                vs.opts.rundir, strerror(-rc));
        return 1;
    }
    if (fsutil_check_dir(vs.opts.rundir, false, err, sizeof err)) {
        fprintf(stderr, "vswitchd: refusing --rundir %s: %s\n", vs.opts.rundir, err);
        return 1;
    }
    if (fsutil_check_dir(vs.opts.vhost_sock_dir, true, err, sizeof err)) {
        fprintf(stderr, "vswitchd: refusing --vhost-sock-dir %s: %s\n",
                vs.opts.vhost_sock_dir, err);
        return 1;
    }
    /* One daemon per rundir and per statedir, refused before EAL starts
     * (EAL's own lock on its --file-prefix would make it fail later, less
     * clearly).  The descriptors stay open until exit. */
    if ((rc = fsutil_mkdir_p_mode(vs.opts.statedir, 0750))) {
        fprintf(stderr, "vswitchd: cannot create the state directory %s: %s\n",
                vs.opts.statedir, strerror(-rc));
        return 1;
    }
    if (fsutil_check_dir(vs.opts.statedir, false, err, sizeof err)) {
        fprintf(stderr, "vswitchd: refusing --statedir %s: %s\n", vs.opts.statedir, err);
        return 1;
    }
    /* The control socket and the pidfile may live elsewhere: their
     * directories must at least keep others from renaming our entries (a
     * sticky /tmp is fine; the files themselves are never opened through a
     * planted name). */
    const char *files[][2] = { { "--ctl-socket", vs.opts.ctl_socket },
                               { "--pidfile", vs.opts.pidfile } };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char dir[PATH_MAX];
        if (!files[i][1][0]) {
            continue;
        }
        snprintf(dir, sizeof dir, "%s", files[i][1]);
        char *slash = strrchr(dir, '/');
        if (!slash) {
            strcpy(dir, ".");
        } else if (slash == dir) {
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
        /* A directory that does not exist is left to bind()/open() to
         * report, with the errors vswitchd_start() gives. */
        int crc = fsutil_check_dir(dir, true, err, sizeof err);
        if (crc && crc != -ENOENT) {
            fprintf(stderr, "vswitchd: refusing %s %s: %s\n", files[i][0], files[i][1], err);
            return 1;
        }
    }
    if (lock_dir(vs.opts.rundir, "rundir", "--rundir") < 0
        || lock_dir(vs.opts.statedir, "statedir", "--statedir") < 0) {
        return 1;
    }
    if (socket_in_use(vs.opts.ctl_socket)) {
        fprintf(stderr, "vswitchd: another vswitchd is already serving %s\n",
                vs.opts.ctl_socket);
        return 1;
    }
    if (vs.opts.detach) {
        daemonize(&vs);
    }

    rc = vswitchd_start(&vs, argv[0]);
    if (!rc) {
        notify_ready(&vs);
        event_base_dispatch(vs.base);
    }
    vswitchd_stop(&vs);
    if (rc) {
        VLOG_ERR("vswitchd failed to start");
        return 1;
    }
    VLOG_INFO("vswitchd stopped");
    return 0;
}
