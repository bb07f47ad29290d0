/* options - vswitchd's command line.  See options.h. */
#include "vswitchd/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/vlog.h"
#include "vswitchd/metrics.h"

#define DEFAULT_RUNDIR   "/run/vswitch"
#define DEFAULT_STATEDIR "/var/lib/vswitch"
#define DEFAULT_MBUFS    16384

enum {
    OPT_RUNDIR = 256, OPT_STATEDIR, OPT_CTL_SOCKET, OPT_VHOST_SOCK_DIR,
    OPT_PMD_CORES, OPT_MBUFS, OPT_NO_HUGE, OPT_HUGE, OPT_LOG_LEVEL,
    OPT_DETACH, OPT_PIDFILE, OPT_VERSION, OPT_VHOST_SOCK_GROUP,
    OPT_CTL_SOCKET_GROUP,
    OPT_METRICS_ADDR,
    OPT_LOG_FILE,
};

static const struct option long_options[] = {
    { "rundir", required_argument, NULL, OPT_RUNDIR },
    { "statedir", required_argument, NULL, OPT_STATEDIR },
    { "ctl-socket", required_argument, NULL, OPT_CTL_SOCKET },
    { "vhost-sock-dir", required_argument, NULL, OPT_VHOST_SOCK_DIR },
    { "pmd-cores", required_argument, NULL, OPT_PMD_CORES },
    { "mbufs", required_argument, NULL, OPT_MBUFS },
    { "no-huge", no_argument, NULL, OPT_NO_HUGE },
    { "huge", no_argument, NULL, OPT_HUGE },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "log-file", required_argument, NULL, OPT_LOG_FILE },
    { "detach", no_argument, NULL, OPT_DETACH },
    { "pidfile", required_argument, NULL, OPT_PIDFILE },
    { "vhost-sock-group", required_argument, NULL, OPT_VHOST_SOCK_GROUP },
    { "ctl-socket-group", required_argument, NULL, OPT_CTL_SOCKET_GROUP },
    { "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

void
options_usage(const char *prog)
{
    printf("usage: %s [OPTIONS] [-- EAL-ARGS]\n"
           "  --rundir DIR          runtime dir (default $VSWITCH_RUNDIR or %s)\n"
           "  --statedir DIR        saved configuration dir (default $VSWITCH_STATEDIR,\n"
           "                        else %s with the default rundir, else\n"
           "                        %s/instance-HASH: one per rundir; HASH as\n"
           "                        in EAL's --file-prefix=vswitchd-HASH)\n"
           "  --ctl-socket PATH     JSON-RPC socket (default RUNDIR/vswitchd.sock)\n"
           "  --ctl-socket-group G  group owning the control socket (mode 0660): its\n"
           "                        members can run vsctl without root\n"
           "  --vhost-sock-dir DIR  vhost-user sockets (default RUNDIR/vhost)\n"
           "  --vhost-sock-group G  group owning the vhost-user sockets (mode 0660)\n"
           "  --pmd-cores LIST      CPUs for PMD threads, e.g. 1 or 2-3 (default: last CPU)\n"
           "  --mbufs N             mbufs in the packet pool (default %d)\n"
           "  --no-huge | --huge    force 4 KiB pages / hugepages (default: hugepages if free)\n"
           "  --log-level LVL       err, warn, info (default) or debug\n"
           "  --log-file FILE       also log to FILE (reopened on SIGHUP); after\n"
           "                        --detach, log only there (default: syslog)\n"
           "  --detach              run in the background; returns once ready\n"
           "  --pidfile FILE        write the daemon's pid to FILE\n"
           "  --metrics-addr HOST:PORT\n"
           "                        serve Prometheus metrics at http://HOST:PORT/metrics\n"
           "                        (e.g. 127.0.0.1:9100, [::1]:9100, :9100; default off)\n"
           "  --version, -h/--help\n",
           prog, DEFAULT_RUNDIR, DEFAULT_STATEDIR, DEFAULT_STATEDIR, DEFAULT_MBUFS);
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
    return -EINVAL;
}

static int
copy_path(char *dst, size_t size, const char *src, char *err, size_t errlen,
          const char *what)
{
    if (!src[0]) {
        return fail(err, errlen, "%s must not be empty", what);
    }
    if (strlen(src) >= size) {
        return fail(err, errlen, "%s is too long", what);
    }
    strcpy(dst, src);
    return 0;
}

int
options_parse_cpu_list(const char *s, unsigned *cpus, unsigned max)
{
    bool set[1024] = { false };
    const char *p = s;

    if (!*p) {
        return -EINVAL;
    }
    while (*p) {
        char *end;
        errno = 0;
        unsigned long a = strtoul(p, &end, 10);
        if (end == p || errno || a >= 1024 || *p == '-' || *p == '+') {
            return -EINVAL;
        }
        unsigned long b = a;
        p = end;
        if (*p == '-') {
            p++;
            b = strtoul(p, &end, 10);
            if (end == p || errno || b >= 1024 || b < a || *p == '-' || *p == '+') {
                return -EINVAL;
            }
            p = end;
        }
        for (unsigned long c = a; c <= b; c++) {
            set[c] = true;
        }
        if (*p == ',') {
            p++;
            if (!*p) {
                return -EINVAL;
            }
        } else if (*p) {
            return -EINVAL;
        }
    }
    unsigned n = 0;
    for (unsigned c = 0; c < 1024; c++) {
        if (set[c]) {
            if (n == max) {
                return -EINVAL;
            }
            cpus[n++] = c;
        }
    }
    return (int) n;
}

uint32_t
options_rundir_hash(const char *rundir)
{
    uint32_t h = 2166136261u;           /* FNV-1a */
    for (const char *p = rundir; *p; p++) {
        h = (h ^ (uint8_t) *p) * 16777619u;
    }
    return h;
}

int
options_parse(int argc, char *argv[], struct vswitchd_options *o,
              char *err, size_t errlen)
{
    const char *env;
    bool ctl_set = false, vhost_set = false;
    int c, n;

    memset(o, 0, sizeof *o);
    env = getenv("VSWITCH_RUNDIR");
    snprintf(o->rundir, sizeof o->rundir, "%s", env && *env ? env : DEFAULT_RUNDIR);
    env = getenv("VSWITCH_STATEDIR");
    bool statedir_set = env && *env;
    snprintf(o->statedir, sizeof o->statedir, "%s", statedir_set ? env : DEFAULT_STATEDIR);
    o->mbufs = DEFAULT_MBUFS;
    o->huge = OPT_HUGE_AUTO;
    o->log_level = VLL_INFO;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
        int err2 = 0;
        switch (c) {
        case OPT_RUNDIR:
            err2 = copy_path(o->rundir, sizeof o->rundir, optarg, err, errlen, "--rundir");
            break;
        case OPT_STATEDIR:
            err2 = copy_path(o->statedir, sizeof o->statedir, optarg, err, errlen, "--statedir");
            statedir_set = true;
            break;
        case OPT_CTL_SOCKET:
            err2 = copy_path(o->ctl_socket, sizeof o->ctl_socket, optarg, err, errlen, "--ctl-socket");
            ctl_set = true;
            break;
        case OPT_VHOST_SOCK_DIR:
            err2 = copy_path(o->vhost_sock_dir, sizeof o->vhost_sock_dir, optarg, err, errlen, "--vhost-sock-dir");
            vhost_set = true;
            break;
        case OPT_PMD_CORES:
            n = options_parse_cpu_list(optarg, o->pmd_cores, OPT_MAX_PMDS);
            if (n <= 0) {
                return fail(err, errlen, "--pmd-cores: invalid CPU list \"%s\" "
                            "(e.g. 1 or 1,3 or 2-5; at most %d CPUs)", optarg, OPT_MAX_PMDS);
            }
            o->n_pmd_cores = (unsigned) n;
            break;
        case OPT_MBUFS: {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || end == optarg || errno || v < 1024 || v > 4 * 1024 * 1024
                || optarg[0] == '-') {
                return fail(err, errlen, "--mbufs: \"%s\" is not a number between "
                            "1024 and 4194304", optarg);
            }
            o->mbufs = (unsigned) v;
            break;
        }
        case OPT_NO_HUGE:
            o->huge = OPT_HUGE_OFF;
            break;
        case OPT_HUGE:
            o->huge = OPT_HUGE_ON;
            break;
        case OPT_LOG_LEVEL: {
            enum vlog_level lvl;
            if (vlog_parse_level(optarg, &lvl)) {
                return fail(err, errlen, "--log-level: unknown level \"%s\" "
                            "(err, warn, info, debug)", optarg);
            }
            o->log_level = lvl;
            break;
        }
        case OPT_LOG_FILE:
            err2 = copy_path(o->log_file, sizeof o->log_file, optarg, err, errlen, "--log-file");
            break;
        case OPT_DETACH:
            o->detach = true;
            break;
        case OPT_PIDFILE:
            err2 = copy_path(o->pidfile, sizeof o->pidfile, optarg, err, errlen, "--pidfile");
            break;
        case OPT_VHOST_SOCK_GROUP:
            err2 = copy_path(o->vhost_sock_group, sizeof o->vhost_sock_group, optarg,
                             err, errlen, "--vhost-sock-group");
            break;
        case OPT_CTL_SOCKET_GROUP:
            err2 = copy_path(o->ctl_socket_group, sizeof o->ctl_socket_group, optarg,
                             err, errlen, "--ctl-socket-group");
            break;
        case OPT_METRICS_ADDR: {
            char host[METRICS_HOST_MAX], why[256];
            uint16_t port;
            if (metrics_parse_addr(optarg, host, &port, why, sizeof why)) {
                return fail(err, errlen, "--metrics-addr: %s", why);
            }
            err2 = copy_path(o->metrics_addr, sizeof o->metrics_addr, optarg, err, errlen,
                             "--metrics-addr");
            break;
        }
        case OPT_VERSION:
            o->version = true;
            break;
        case 'h':
            o->help = true;
            break;
        case ':':
            return fail(err, errlen, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail(err, errlen, "unknown option %s", argv[optind - 1]);
        }
        if (err2) {
            return err2;
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind - 1], "--")) {
            return fail(err, errlen, "unexpected argument \"%s\" (EAL arguments go "
                        "after --)", argv[optind]);
        }
        o->n_extra = argc - optind;
        o->extra = &argv[optind];
    }

    if (!ctl_set) {
        snprintf(o->ctl_socket, sizeof o->ctl_socket, "%s/vswitchd.sock", o->rundir);
    }
    if (!vhost_set) {
        snprintf(o->vhost_sock_dir, sizeof o->vhost_sock_dir, "%s/vhost", o->rundir);
    }
    if (!statedir_set && strcmp(o->rundir, DEFAULT_RUNDIR)) {
        /* Another instance than the default one: its own configuration,
         * named like its EAL --file-prefix, rather than the default
         * instance's conf.json. */
        snprintf(o->statedir, sizeof o->statedir, "%s/instance-%08x", DEFAULT_STATEDIR,
                 options_rundir_hash(o->rundir));
    }
    snprintf(o->conf_path, sizeof o->conf_path, "%s/conf.json", o->statedir);
    return 0;
}

/* The PCI allow-list entry EAL gets unless the user gave a device policy of
 * their own: an address no machine has (domain ffff, bus ff, device 1f,
 * function 7).  With an allow list, EAL scans and probes only the listed
 * devices at start, so it grabs no NIC that no port names; rte_dev_probe()
 * of a PCI address later still works (the hot-plugged address gets its own
 * allow entry), which --no-pci would make impossible. */
#define EAL_ALLOW_NOTHING "ffff:ff:1f.7"

/* True if the extra EAL arguments choose a --huge-unlink mode themselves:
 * "-- --huge-unlink=never" keeps the hugepage files, so that DPDK secondary
 * processes (dpdk-dumpcap, dpdk-proc-info) can attach
 * (Documentation/howto-capture.md). */
static bool
extra_sets_huge_unlink(const struct vswitchd_options *o)
{
    for (int i = 0; i < o->n_extra; i++) {
        if (!strncmp(o->extra[i], "--huge-unlink", 13)) {
            return true;
        }
    }
    return false;
}

/* True if the extra EAL arguments set a PCI device policy themselves
 * (-a/--allow, -b/--block or --no-pci); EAL refuses an allow list together
 * with a block list. */
static bool
extra_sets_pci_policy(const struct vswitchd_options *o)
{
    static const char *const opts[] = { "-a", "--allow", "-b", "--block",
                                         "--no-pci" };

    for (int i = 0; i < o->n_extra; i++) {
        const char *a = o->extra[i];
        for (size_t j = 0; j < sizeof opts / sizeof opts[0]; j++) {
            size_t len = strlen(opts[j]);
            /* "-a X", "-aX", "--allow X", "--allow=X". */
            if (!strncmp(a, opts[j], len)
                && (!a[len] || a[len] == '=' || opts[j][1] != '-')) {
                return true;
            }
        }
    }
    return false;
}

/* Appends one printf-formatted argument.  Returns 0 or -E2BIG. */
static int __attribute__((format(printf, 2, 3)))
eal_push(struct eal_args *ea, const char *fmt, ...)
{
    if (ea->argc >= OPT_MAX_EAL_ARGS - 1) {
        return -E2BIG;
    }
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(ea->buf + ea->used, sizeof ea->buf - ea->used, fmt, args);
    va_end(args);
    if (n < 0 || (size_t) n >= sizeof ea->buf - ea->used) {
        return -E2BIG;
    }
    ea->argv[ea->argc++] = ea->buf + ea->used;
    ea->argv[ea->argc] = NULL;
    ea->used += (size_t) n + 1;
    return 0;
}

int
options_eal_args(const struct vswitchd_options *o, bool use_huge, unsigned n_cpus,
                 struct eal_args *ea)
{
    char lcores[1024];
    size_t len = 0;
    bool used[1024] = { false };
    int err = 0;

    memset(ea, 0, sizeof *ea);

    /* A stable prefix per rundir: a restarted daemon reuses (and cleans) its
     * own files, two daemons with different rundirs never collide. */
    uint32_t h = options_rundir_hash(o->rundir);

    /* lcore 0 = main (control) thread, floating over the non-PMD CPUs. */
    for (unsigned i = 0; i < o->n_pmd_cores; i++) {
        if (o->pmd_cores[i] < 1024) {
            used[o->pmd_cores[i]] = true;
        }
    }
    len += snprintf(lcores + len, sizeof lcores - len, "0@(");
    bool any = false;
    for (unsigned c = 0; c < n_cpus && c < 1024 && len < sizeof lcores - 16; c++) {
        if (!used[c]) {
            len += snprintf(lcores + len, sizeof lcores - len, "%s%u", any ? "," : "", c);
            any = true;
        }
    }
    if (!any) {
        /* Every CPU polls: the main thread shares them. */
        len += snprintf(lcores + len, sizeof lcores - len, "0-%u", n_cpus ? n_cpus - 1 : 0);
    }
    len += snprintf(lcores + len, sizeof lcores - len, ")");
    for (unsigned i = 0; i < o->n_pmd_cores && len < sizeof lcores - 16; i++) {
        len += snprintf(lcores + len, sizeof lcores - len, ",%u@%u", i + 1, o->pmd_cores[i]);
    }
    if (len >= sizeof lcores - 16) {
        return -E2BIG;
    }

    err |= eal_push(ea, "vswitchd");
    err |= eal_push(ea, "--file-prefix=vswitchd-%08x", h);
    err |= eal_push(ea, "--lcores=%s", lcores);
    err |= eal_push(ea, "--main-lcore=0");
    if (use_huge && !extra_sets_huge_unlink(o)) {
        /* Unlink each hugepage file as soon as it is mapped, so that not even
         * a crash leaves <hugetlbfs>/<prefix>map_* files holding hugepages.
         * vhost-user does not need them: the backend maps the frontend's
         * memory, never the other way round.  What it costs: DPDK secondary
         * processes (dpdk-proc-info, ...) cannot attach to vswitchd. */
        err |= eal_push(ea, "--huge-unlink");
    } else if (!use_huge) {
        /* Packet pool (~2.5 KiB per mbuf) plus room for hash tables etc. */
        unsigned mb = 256 + (unsigned) ((uint64_t) o->mbufs * 3 / 1024);
        err |= eal_push(ea, "--no-huge");
        err |= eal_push(ea, "-m");
        err |= eal_push(ea, "%u", mb);
    }
    /* DPDK's own messages: one notch quieter than ours. */
    static const char *const eal_levels[] = { "error", "warning", "notice", "info" };
    int lvl = o->log_level < 0 ? 0 : o->log_level > 3 ? 3 : o->log_level;
    err |= eal_push(ea, "--log-level=%s", eal_levels[lvl]);
    if (!extra_sets_pci_policy(o)) {
        err |= eal_push(ea, "--allow=%s", EAL_ALLOW_NOTHING);
    }
    for (int i = 0; i < o->n_extra; i++) {
        err |= eal_push(ea, "%s", o->extra[i]);
    }
    return err ? -E2BIG : 0;
}
