/* test-options - unit tests for vswitchd's command-line parsing and the EAL
 * argument vector built from it (vswitchd/options.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswitchd/options.h"
#include "lib/vlog.h"

#define PARSE(o, ...)                                                        \
    ({                                                                       \
        char *argv_[] = { "vswitchd", __VA_ARGS__, NULL };                   \
        options_parse((int) (sizeof argv_ / sizeof argv_[0]) - 1, argv_, (o), \
                      err, sizeof err);                                      \
    })

static char err[256];

static void
clear_env(void)
{
    unsetenv("VSWITCH_RUNDIR");
    unsetenv("VSWITCH_STATEDIR");
}

START_TEST(test_defaults)
{
    struct vswitchd_options o;
    char *argv[] = { "vswitchd", NULL };

    clear_env();
    ck_assert_int_eq(options_parse(1, argv, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.rundir, "/run/vswitch");
    ck_assert_str_eq(o.ctl_socket, "/run/vswitch/vswitchd.sock");
    ck_assert_str_eq(o.vhost_sock_dir, "/run/vswitch/vhost");
    ck_assert_str_eq(o.conf_path, "/var/lib/vswitch/conf.json");
    ck_assert_int_eq(o.huge, OPT_HUGE_AUTO);
    ck_assert_uint_eq(o.n_pmd_cores, 0);
    ck_assert_uint_eq(o.mbufs, 16384);
    ck_assert_int_eq(o.log_level, VLL_INFO);
    ck_assert(!o.detach);
    ck_assert_str_eq(o.pidfile, "");
}
END_TEST

START_TEST(test_env)
{
    struct vswitchd_options o;
    char *argv[] = { "vswitchd", NULL };

    setenv("VSWITCH_RUNDIR", "/tmp/r", 1);
    setenv("VSWITCH_STATEDIR", "/tmp/s", 1);
    ck_assert_int_eq(options_parse(1, argv, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.ctl_socket, "/tmp/r/vswitchd.sock");
    ck_assert_str_eq(o.vhost_sock_dir, "/tmp/r/vhost");
    ck_assert_str_eq(o.conf_path, "/tmp/s/conf.json");
    /* The command line wins over the environment. */
    ck_assert_int_eq(PARSE(&o, "--rundir", "/x"), 0);
    ck_assert_str_eq(o.ctl_socket, "/x/vswitchd.sock");
    clear_env();
}
END_TEST

static const char *find_arg(const struct eal_args *, const char *prefix);

/* Daemons with different rundirs never share a conf.json: without
 * --statedir or $VSWITCH_STATEDIR, a non-default rundir gets its own
 * statedir, named by the same hash as its EAL --file-prefix. */
START_TEST(test_statedir_per_rundir)
{
    struct vswitchd_options o, o2;
    struct eal_args ea;
    char want[128], prefix[64];

    clear_env();
    ck_assert_int_eq(PARSE(&o, "--rundir", "/run/vswitch"), 0);
    ck_assert_str_eq(o.conf_path, "/var/lib/vswitch/conf.json");
    ck_assert_int_eq(PARSE(&o, "--rundir", "/tmp/vs1"), 0);
    ck_assert_int_eq(PARSE(&o2, "--rundir", "/tmp/vs2"), 0);
    ck_assert_str_ne(o.conf_path, o2.conf_path);
    snprintf(want, sizeof want, "/var/lib/vswitch/instance-%08x/conf.json",
             options_rundir_hash("/tmp/vs1"));
    ck_assert_str_eq(o.conf_path, want);
    ck_assert_int_eq(options_eal_args(&o, false, 2, &ea), 0);
    snprintf(prefix, sizeof prefix, "--file-prefix=vswitchd-%08x",
             options_rundir_hash("/tmp/vs1"));
    ck_assert_str_eq(find_arg(&ea, "--file-prefix="), prefix);
    /* Same through the environment. */
    setenv("VSWITCH_RUNDIR", "/tmp/vs1", 1);
    ck_assert_int_eq(PARSE(&o2, "--log-level", "info"), 0);
    ck_assert_str_eq(o2.conf_path, want);
    /* An explicit statedir always wins. */
    ck_assert_int_eq(PARSE(&o2, "--statedir", "/s"), 0);
    ck_assert_str_eq(o2.conf_path, "/s/conf.json");
    setenv("VSWITCH_STATEDIR", "/t", 1);
    ck_assert_int_eq(PARSE(&o2, "--log-level", "info"), 0);
    ck_assert_str_eq(o2.conf_path, "/t/conf.json");
    clear_env();
}
END_TEST

START_TEST(test_all_options)
{
    struct vswitchd_options o;

    /* o.extra points into argv: it must outlive the checks. */
    char *argv[] = { "vswitchd", "--rundir", "/r", "--statedir", "/s", "--ctl-socket",
                     "/c.sock", "--vhost-sock-dir", "/v", "--pmd-cores", "1,3",
                     "--mbufs", "4096", "--no-huge", "--log-level", "debug",
                     "--detach", "--pidfile", "/p.pid", "--", "--no-pci", "-d",
                     "x", NULL };

    clear_env();
    ck_assert_int_eq(options_parse(23, argv, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.ctl_socket, "/c.sock");
    ck_assert_str_eq(o.vhost_sock_dir, "/v");
    ck_assert_str_eq(o.conf_path, "/s/conf.json");
    ck_assert_uint_eq(o.n_pmd_cores, 2);
    ck_assert_uint_eq(o.pmd_cores[0], 1);
    ck_assert_uint_eq(o.pmd_cores[1], 3);
    ck_assert_uint_eq(o.mbufs, 4096);
    ck_assert_int_eq(o.huge, OPT_HUGE_OFF);
    ck_assert_int_eq(o.log_level, VLL_DBG);
    ck_assert(o.detach);
    ck_assert_str_eq(o.pidfile, "/p.pid");
    ck_assert_int_eq(o.n_extra, 3);
    ck_assert_str_eq(o.extra[0], "--no-pci");
    ck_assert_str_eq(o.extra[2], "x");
}
END_TEST

START_TEST(test_log_file)
{
    struct vswitchd_options o;

    clear_env();
    ck_assert_int_eq(PARSE(&o, "--log-file", "/var/log/vswitch/vswitchd.log"), 0);
    ck_assert_str_eq(o.log_file, "/var/log/vswitch/vswitchd.log");
    ck_assert_int_eq(PARSE(&o, "--detach"), 0);
    ck_assert_str_eq(o.log_file, "");
    ck_assert_int_eq(PARSE(&o, "--log-file", ""), -EINVAL);
    ck_assert_str_eq(err, "--log-file must not be empty");
}
END_TEST

START_TEST(test_socket_groups)
{
    struct vswitchd_options o;

    ck_assert_int_eq(PARSE(&o, "--no-huge"), 0);
    ck_assert_str_eq(o.ctl_socket_group, "");
    ck_assert_str_eq(o.vhost_sock_group, "");
    ck_assert_int_eq(PARSE(&o, "--ctl-socket-group", "vsadmin", "--vhost-sock-group",
                           "kvm"), 0);
    ck_assert_str_eq(o.ctl_socket_group, "vsadmin");
    ck_assert_str_eq(o.vhost_sock_group, "kvm");
    ck_assert_int_eq(PARSE(&o, "--ctl-socket-group", ""), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--ctl-socket-group"));
    ck_assert_int_eq(PARSE(&o, "--ctl-socket-group"), -EINVAL);
    char long_name[200];
    memset(long_name, 'g', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_int_eq(PARSE(&o, "--ctl-socket-group", long_name), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

START_TEST(test_errors)
{
    struct vswitchd_options o;

    ck_assert_int_eq(PARSE(&o, "--bogus"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--bogus"));
    ck_assert_int_eq(PARSE(&o, "--mbufs", "12x"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--mbufs"));
    ck_assert_int_eq(PARSE(&o, "--mbufs", "-5"), -EINVAL);
    ck_assert_int_eq(PARSE(&o, "--mbufs", "10"), -EINVAL);
    ck_assert_int_eq(PARSE(&o, "--log-level", "loud"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "loud"));
    ck_assert_int_eq(PARSE(&o, "--pmd-cores", "a"), -EINVAL);
    ck_assert_int_eq(PARSE(&o, "--rundir", ""), -EINVAL);
    ck_assert_int_eq(PARSE(&o, "stray"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "stray"));
    ck_assert_int_eq(PARSE(&o, "--rundir"), -EINVAL);
}
END_TEST

START_TEST(test_cpu_list)
{
    unsigned cpus[16];

    ck_assert_int_eq(options_parse_cpu_list("1", cpus, 16), 1);
    ck_assert_uint_eq(cpus[0], 1);
    ck_assert_int_eq(options_parse_cpu_list("3,1,2-4", cpus, 16), 4);
    ck_assert_uint_eq(cpus[0], 1);
    ck_assert_uint_eq(cpus[3], 4);
    ck_assert_int_eq(options_parse_cpu_list("", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("1,", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("4-2", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("-1", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("1-", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("0-99", cpus, 16), -EINVAL);
    ck_assert_int_eq(options_parse_cpu_list("5000", cpus, 16), -EINVAL);
}
END_TEST

static const char *
find_arg(const struct eal_args *ea, const char *prefix)
{
    for (int i = 0; i < ea->argc; i++) {
        if (!strncmp(ea->argv[i], prefix, strlen(prefix))) {
            return ea->argv[i];
        }
    }
    return NULL;
}

START_TEST(test_eal_args)
{
    struct vswitchd_options o, o2;
    struct eal_args ea, ea2;

    char *argv[] = { "vswitchd", "--rundir", "/a", "--pmd-cores", "1", "--",
                     "--no-pci", NULL };

    clear_env();
    ck_assert_int_eq(options_parse(7, argv, &o, err, sizeof err), 0);
    ck_assert_int_eq(options_eal_args(&o, false, 2, &ea), 0);
    ck_assert_str_eq(find_arg(&ea, "--lcores="), "--lcores=0@(0),1@1");
    ck_assert_str_eq(find_arg(&ea, "--main-lcore"), "--main-lcore=0");
    ck_assert_ptr_nonnull(find_arg(&ea, "--no-huge"));
    ck_assert_ptr_nonnull(find_arg(&ea, "-m"));
    ck_assert_str_eq(ea.argv[ea.argc - 1], "--no-pci");
    ck_assert_ptr_null(ea.argv[ea.argc]);
    /* The user's --no-pci replaces our allow list. */
    ck_assert_ptr_null(find_arg(&ea, "--allow"));

    /* Same rundir -> same prefix; different rundir -> different prefix. */
    ck_assert_int_eq(options_eal_args(&o, true, 2, &ea2), 0);
    ck_assert_str_eq(find_arg(&ea, "--file-prefix="), find_arg(&ea2, "--file-prefix="));
    ck_assert_ptr_null(find_arg(&ea2, "--no-huge"));
    /* Hugepage files are unlinked once mapped (none left after a crash). */
    ck_assert_ptr_nonnull(find_arg(&ea2, "--huge-unlink"));
    ck_assert_ptr_null(find_arg(&ea, "--huge-unlink"));
    ck_assert_int_eq(PARSE(&o2, "--rundir", "/b", "--pmd-cores", "0-1"), 0);
    ck_assert_int_eq(options_eal_args(&o2, true, 2, &ea2), 0);
    ck_assert_str_ne(find_arg(&ea, "--file-prefix="), find_arg(&ea2, "--file-prefix="));
    /* All CPUs poll: the main lcore floats over all of them. */
    ck_assert_str_eq(find_arg(&ea2, "--lcores="), "--lcores=0@(0-1),1@0,2@1");
}
END_TEST

/* Without a PCI policy of the user's, EAL gets an allow list that matches
 * no device, so it probes nothing at start; the user's own -a/--allow,
 * -b/--block or --no-pci replace it (EAL refuses -a with -b). */
START_TEST(test_eal_allow_nothing)
{
    struct vswitchd_options o;
    struct eal_args ea;

    clear_env();
    ck_assert_int_eq(PARSE(&o, "--rundir", "/a"), 0);
    ck_assert_int_eq(options_eal_args(&o, true, 2, &ea), 0);
    ck_assert_str_eq(find_arg(&ea, "--allow"), "--allow=ffff:ff:1f.7");
    ck_assert_ptr_null(find_arg(&ea, "--no-pci"));

    static const char *const policies[][2] = {
        { "-a", "0000:00:09.0" }, { "-a0000:00:09.0", NULL },
        { "--allow", "0000:00:09.0" }, { "--allow=0000:00:09.0", NULL },
        { "-b", "0000:00:09.0" }, { "--block=0000:00:09.0", NULL },
        { "--no-pci", NULL },
    };
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        char *argv[] = { "vswitchd", "--rundir", "/a", "--", (char *) policies[i][0],
                         (char *) policies[i][1], NULL };
        int argc = policies[i][1] ? 6 : 5;
        ck_assert_int_eq(options_parse(argc, argv, &o, err, sizeof err), 0);
        ck_assert_int_eq(options_eal_args(&o, true, 2, &ea), 0);
        ck_assert_msg(!find_arg(&ea, "--allow=ffff"), "allow list added despite %s",
                      policies[i][0]);
        ck_assert_str_eq(ea.argv[ea.argc - (policies[i][1] ? 2 : 1)], policies[i][0]);
    }

    /* Other extra arguments keep it. */
    char *argv[] = { "vswitchd", "--", "--vdev", "net_null0", "--allocate", NULL };
    ck_assert_int_eq(options_parse(5, argv, &o, err, sizeof err), 0);
    ck_assert_int_eq(options_eal_args(&o, true, 2, &ea), 0);
    ck_assert_str_eq(find_arg(&ea, "--allow"), "--allow=ffff:ff:1f.7");
}
END_TEST

/* A --huge-unlink mode among the extra arguments replaces ours (so that
 * "-- --huge-unlink=never" lets DPDK secondary processes such as
 * dpdk-dumpcap attach); without hugepages there is none either way. */
START_TEST(test_eal_huge_unlink)
{
    struct vswitchd_options o;
    struct eal_args ea;
    char *argv[] = { "vswitchd", "--rundir", "/a", "--", "--huge-unlink=never", NULL };

    clear_env();
    ck_assert_int_eq(options_parse(5, argv, &o, err, sizeof err), 0);
    ck_assert_int_eq(options_eal_args(&o, true, 2, &ea), 0);
    int n = 0;
    for (int i = 0; i < ea.argc; i++) {
        n += !strncmp(ea.argv[i], "--huge-unlink", 13);
    }
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(find_arg(&ea, "--huge-unlink"), "--huge-unlink=never");
    ck_assert_int_eq(options_eal_args(&o, false, 2, &ea), 0);
    ck_assert_ptr_nonnull(find_arg(&ea, "--no-huge"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_env);
    tcase_add_test(tc, test_statedir_per_rundir);
    tcase_add_test(tc, test_all_options);
    tcase_add_test(tc, test_socket_groups);
    tcase_add_test(tc, test_log_file);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_cpu_list);
    tcase_add_test(tc, test_eal_args);
    tcase_add_test(tc, test_eal_allow_nothing);
    tcase_add_test(tc, test_eal_huge_unlink);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
