/* test-sdnotify - unit tests for lib/sdnotify.c (the sd_notify protocol
 * spoken to systemd) and for lib/vlog.c's log file (--log-file, reopen on
 * SIGHUP), against real sockets and files in a temporary directory. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/sdnotify.h"
#include "lib/vlog.h"

static char tmpdir[64];

static void
setup(void)
{
    strcpy(tmpdir, "/tmp/test-sdnotify-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A unix datagram socket bound to 'name' ("@..." = abstract). */
static int
bind_dgram(const char *name, struct sockaddr_un *sun, socklen_t *len)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    strcpy(sun->sun_path, name);
    *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(name));
    if (name[0] == '@') {
        sun->sun_path[0] = '\0';
    } else {
        (*len)++;
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *) sun, *len), 0);
    return fd;
}

/* Receives one datagram on 'fd' (1 s at most) into 'buf'. */
static ssize_t
recv_one(int fd, char *buf, size_t size)
{
    struct timeval tv = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

START_TEST(test_unset_is_noop)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(sdnotify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    ck_assert_int_eq(sdnotify("READY=1"), 0);
}
END_TEST

START_TEST(test_path_socket)
{
    char path[128], buf[256];
    struct sockaddr_un sun;
    socklen_t len;

    snprintf(path, sizeof path, "%s/notify", tmpdir);
    int fd = bind_dgram(path, &sun, &len);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(sdnotify("READY=1\nSTATUS=control socket /run/x"), 1);
    ck_assert_int_eq(recv_one(fd, buf, sizeof buf), 36);
    ck_assert_str_eq(buf, "READY=1\nSTATUS=control socket /run/x");
    ck_assert_int_eq(sdnotify("STOPPING=1"), 1);
    recv_one(fd, buf, sizeof buf);
    ck_assert_str_eq(buf, "STOPPING=1");
    close(fd);
    /* Nobody listening any more: the error, not a hang or a crash. */
    ck_assert_int_eq(sdnotify("READY=1"), -ECONNREFUSED);
    unlink(path);
    ck_assert_int_eq(sdnotify("READY=1"), -ENOENT);
}
END_TEST

START_TEST(test_abstract_socket)
{
    char name[128], buf[64];
    struct sockaddr_un sun;
    socklen_t len;

    snprintf(name, sizeof name, "@vswitch-test-sdnotify-%ld", (long) getpid());
    int fd = bind_dgram(name, &sun, &len);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(sdnotify("READY=1"), 1);
    ck_assert_int_eq(recv_one(fd, buf, sizeof buf), 7);
    ck_assert_str_eq(buf, "READY=1");
    close(fd);
}
END_TEST

START_TEST(test_bad_names)
{
    char longname[200];

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert_int_eq(sdnotify("READY=1"), -EINVAL);
    setenv("NOTIFY_SOCKET", "@", 1);
    ck_assert_int_eq(sdnotify("READY=1"), -EINVAL);
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    ck_assert_int_eq(sdnotify("READY=1"), -EINVAL);
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

/* Reads 'path' into 'buf'; returns its length or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

START_TEST(test_log_file_reopen)
{
    char path[128], moved[128], buf[4096];
    struct stat st;

    snprintf(path, sizeof path, "%s/vswitchd.log", tmpdir);
    snprintf(moved, sizeof moved, "%s/vswitchd.log.1", tmpdir);
    ck_assert_int_eq(vlog_set_file(path), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    vlog(VLL_INFO, "test", "first %d", 1);
    vlog(VLL_DBG, "test", "not printed at level info");
    ck_assert_int_gt(slurp(path, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "|INFO|test|first 1\n"));
    ck_assert_ptr_null(strstr(buf, "not printed"));

    /* logrotate: move it, then reopen; the old file keeps what it had. */
    ck_assert_int_eq(rename(path, moved), 0);
    vlog(VLL_WARN, "test", "second, still into the moved file");
    ck_assert_int_eq(vlog_reopen(), 0);
    vlog(VLL_ERR, "test", "third, into the new file");
    slurp(moved, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "|WARN|test|second, still into the moved file\n"));
    ck_assert_ptr_null(strstr(buf, "third"));
    slurp(path, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "|ERR|test|third, into the new file\n"));
    ck_assert_ptr_null(strstr(buf, "first"));

    /* A reopen that fails keeps the file it had. */
    char moved2[160];
    snprintf(moved2, sizeof moved2, "%s/vswitchd.log.2", tmpdir);
    ck_assert_int_eq(rename(path, moved2), 0);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(vlog_reopen(), -EISDIR);
    vlog(VLL_INFO, "test", "fourth, after a failed reopen");
    slurp(moved2, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "|INFO|test|fourth, after a failed reopen\n"));
}
END_TEST

START_TEST(test_log_file_errors)
{
    ck_assert_int_eq(vlog_set_file("/nonexistent-dir-vswitch/x.log"), -ENOENT);
    ck_assert_int_eq(vlog_set_file(tmpdir), -EISDIR);
    ck_assert_int_eq(vlog_set_file("/dev/null"), -EINVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sdnotify");
    TCase *tc = tcase_create("sdnotify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_unset_is_noop);
    tcase_add_test(tc, test_path_socket);
    tcase_add_test(tc, test_abstract_socket);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_log_file_reopen);
    tcase_add_test(tc, test_log_file_errors);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
