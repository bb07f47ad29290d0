/* options - vswitchd's command line (DESIGN.md §5).
 *
 * Parses argv into 'struct vswitchd_options', applying the defaults and the
 * VSWITCH_RUNDIR / VSWITCH_STATEDIR environment variables, and builds the
 * argument vector for rte_eal_init().  No side effects: no files are touched,
 * nothing is started. */
#ifndef VSWITCH_OPTIONS_H
#define VSWITCH_OPTIONS_H 1

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPT_MAX_PMDS   16
#define OPT_MAX_EAL_ARGS 64

enum opt_huge {
    OPT_HUGE_AUTO,      /* Hugepages if free ones exist, else --no-huge. */
    OPT_HUGE_ON,        /* --huge */
    OPT_HUGE_OFF,       /* --no-huge */
};

struct vswitchd_options {
    char rundir[PATH_MAX - 64];     /* Room for the names appended. */
    char statedir[PATH_MAX - 64];
    char conf_path[PATH_MAX];       /* <statedir>/conf.json */
    char ctl_socket[PATH_MAX];
    char vhost_sock_dir[PATH_MAX];
    char pidfile[PATH_MAX];         /* Empty: none. */
    char log_file[PATH_MAX];        /* --log-file; empty: none. */
    char vhost_sock_group[64];      /* Empty: none (the daemon's group). */
    char ctl_socket_group[64];      /* Empty: none (the daemon's group). */
    char metrics_addr[300];         /* --metrics-addr HOST:PORT; empty: off. */
    unsigned pmd_cores[OPT_MAX_PMDS];
    unsigned n_pmd_cores;
    unsigned mbufs;
    enum opt_huge huge;
    int log_level;                  /* enum vlog_level */
    bool detach;
    bool help;
    bool version;
    int n_extra;                    /* Arguments after "--", for EAL. */
    char **extra;
};

/* Parses 'argv'.  Returns 0, or -EINVAL after writing a one-line reason to
 * 'err' ('errlen' bytes). */
int options_parse(int argc, char *argv[], struct vswitchd_options *,
                  char *err, size_t errlen);

/* The FNV-1a hash of 'rundir' (as given, not canonicalised) that names the
 * instance: EAL's --file-prefix=vswitchd-HASH and, when neither --statedir
 * nor $VSWITCH_STATEDIR is given and the rundir is not the default one, the
 * statedir /var/lib/vswitch/instance-HASH, so that daemons with different
 * rundirs never share a conf.json. */
uint32_t options_rundir_hash(const char *rundir);

/* Parses a CPU list such as "1", "1,3" or "2-5,7" into 'cpus' (at most
 * 'max'), sorted and without duplicates.  Returns the count, or -EINVAL. */
int options_parse_cpu_list(const char *s, unsigned *cpus, unsigned max);

/* Prints the usage text to stdout. */
void options_usage(const char *prog);

/* The EAL argument vector: storage owned by the struct. */
struct eal_args {
    int argc;
    char *argv[OPT_MAX_EAL_ARGS];
    char buf[4096];
    size_t used;
};

/* Builds EAL arguments: per-instance --file-prefix derived from the rundir,
 * --lcores mapping lcore 0 (main) to the CPUs not used by PMDs and lcores
 * 1..n to the PMD cores, memory options ('use_huge' decides --no-huge -m N
 * vs. hugepages), log level, then the extra arguments.  Returns 0 or -E2BIG. */
int options_eal_args(const struct vswitchd_options *, bool use_huge,
                     unsigned n_cpus, struct eal_args *);

#endif
