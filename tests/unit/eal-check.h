/* eal-check.h - main() of the Check suites that need DPDK's EAL.
 *
 * test-fdb, test-datapath, test-capture and test-offload run their suite in
 * an EAL of their own: no hugepages, no PCI, no shared config, no
 * telemetry, a file prefix of their own ("NAME-PID"), library logs at error
 * level only.  eal_check_main() initialises it, runs the suite in this
 * process (CK_NOFORK: the EAL cannot be forked), cleans up and removes the
 * (empty) runtime directory EAL leaves behind. */
#ifndef VSWITCH_EAL_CHECK_H
#define VSWITCH_EAL_CHECK_H 1

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

struct eal_check {
    const char *name;           /* "test-fdb": file prefix and messages. */
    const char *mem_mb;         /* EAL -m, e.g. "128". */
    const char *lcores;         /* EAL -l: "0", or "0,1" for a PMD lcore. */
    Suite *(*suite)(void);
    int (*setup)(void);         /* After EAL init, or NULL; non-zero fails. */
    void (*teardown)(void);     /* Before EAL cleanup, or NULL. */
};

/* Runs 'c->suite' in an EAL set up as described above; 'argv0' is the
 * program's argv[0].  Returns the process exit status: EXIT_SUCCESS when
 * every test passed, EXIT_FAILURE otherwise (or when the EAL, the setup or
 * a second lcore that 'c->lcores' asks for is missing). */
static inline int
eal_check_main(char *argv0, const struct eal_check *c)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s-%ld", c->name, (long) getpid());
    char *eal_argv[] = {
        argv0, "--no-huge", "-m", (char *) c->mem_mb, "--no-pci", "--no-shconf",
        "--no-telemetry", "--file-prefix", prefix,
        "--log-level", "lib.*:error", "-l", (char *) c->lcores,
    };
    int eal_argc = (int) (sizeof eal_argv / sizeof eal_argv[0]);

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "%s: rte_eal_init failed: %s\n", c->name,
                rte_strerror(rte_errno));
        return EXIT_FAILURE;
    }
    int failed = 1;
    unsigned want = c->lcores[1] == ',' ? 2 : 1;
    if (rte_lcore_count() < want) {
        fprintf(stderr, "%s: needs a second lcore for the PMD\n", c->name);
    } else if (c->setup && c->setup()) {
        fprintf(stderr, "%s: set-up failed: %s\n", c->name, rte_strerror(rte_errno));
    } else {
        SRunner *sr = srunner_create(c->suite());
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        if (c->teardown) {
            c->teardown();
        }
    }

    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
