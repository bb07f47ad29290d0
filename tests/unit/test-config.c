/* test-config - Check suite for vswitchd/config.c: saving, loading and
 * validating the persistent configuration file.  Each test works in its own
 * mkdtemp() directory, removed afterwards. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vswitchd/config.h"

static char dir[64];
static char path[160];
static char err[256];

static void
setup(void)
{
    umask(022);
    snprintf(dir, sizeof dir, "/tmp/test-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state/conf.json", dir);
}

static int
remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(p);
}

static void
teardown(void)
{
    ck_assert_int_eq(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void
write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Returns the contents of 'p' (malloc'd), or NULL if it cannot be read. */
static char *
read_file(const char *p)
{
    FILE *f = fopen(p, "r");
    if (!f) {
        return NULL;
    }
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static struct json_object *
sample(void)
{
    struct json_object *conf = json_tokener_parse(
        "{\"version\":1,\"bridges\":["
        "{\"name\":\"br0\",\"ports\":["
        "{\"name\":\"vhu0\",\"type\":\"vhost-user\",\"options\":{\"queues\":\"2\","
        "\"path\":\"/run/vswitch/vhost/vhu0\",\"note\":\"caf\\u00e9 \\\"q\\\"\"}},"
        "{\"name\":\"vhu1\",\"type\":\"vhost-user-client\"}]},"
        "{\"name\":\"br1\",\"ports\":[{\"name\":\"dpdk0\",\"type\":\"dpdk\","
        "\"options\":{}}]},"
        "{\"name\":\"br2\",\"ports\":[]}]}");
    ck_assert_ptr_nonnull(conf);
    return conf;
}

static void
assert_load_equals(const char *p, struct json_object *expected)
{
    struct json_object *loaded = NULL;
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), 0);
    ck_assert_ptr_nonnull(loaded);
    ck_assert_msg(json_object_equal(expected, loaded), "loaded %s",
                  json_object_to_json_string(loaded));
    json_object_put(loaded);
}

/* Returns the number of entries in directory 'd', without "." and "..". */
static int
count_entries(const char *d)
{
    DIR *dp = opendir(d);
    ck_assert_ptr_nonnull(dp);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    }
    closedir(dp);
    return n;
}

START_TEST(test_new)
{
    struct json_object *conf = config_new();
    ck_assert_int_eq(config_validate(conf, err, sizeof err), 0);
    struct json_object *expected =
        json_tokener_parse("{\"version\":1,\"bridges\":[]}");
    ck_assert(json_object_equal(conf, expected));
    json_object_put(expected);
    json_object_put(conf);
}
END_TEST

START_TEST(test_roundtrip)
{
    struct json_object *conf = sample();

    ck_assert_int_eq(config_validate(conf, err, sizeof err), 0);
    ck_assert_int_eq(config_save(path, conf), 0);       /* Creates state/. */
    assert_load_equals(path, conf);

    /* No temporary file left: the directory holds conf.json only. */
    char tmp[200], sdir[100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    ck_assert_int_eq(count_entries(sdir), 1);

    /* Pretty-printed, newline-terminated, mode 0644, directory 0755. */
    char *text = read_file(path);
    ck_assert_ptr_nonnull(text);
    size_t len = strlen(text);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(text[len - 1], '\n');
    ck_assert_ptr_nonnull(strstr(text, "\n  \"bridges\""));
    ck_assert_ptr_nonnull(strstr(text, "/run/vswitch/vhost/vhu0"));  /* No "\/". */
    free(text);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert_int_eq(stat(sdir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0755);
    json_object_put(conf);
}
END_TEST

START_TEST(test_save_replaces)
{
    struct json_object *conf = sample(), *empty = config_new();
    struct stat before, after;

    ck_assert_int_eq(config_save(path, conf), 0);
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_eq(config_save(path, empty), 0);
    ck_assert_int_eq(stat(path, &after), 0);
    assert_load_equals(path, empty);
    ck_assert_uint_ne(before.st_ino, after.st_ino);     /* Renamed over. */

    /* A stale temp file from a crash is simply overwritten. */
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_file(tmp, "garbage from a crash");
    ck_assert_int_eq(config_save(path, conf), 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    assert_load_equals(path, conf);
    json_object_put(empty);
    json_object_put(conf);
}
END_TEST

START_TEST(test_nested_dirs)
{
    struct json_object *conf = sample();
    char deep[200];

    snprintf(deep, sizeof deep, "%s/a/b/c/conf.json", dir);
    ck_assert_int_eq(config_save(deep, conf), 0);
    assert_load_equals(deep, conf);

    /* A relative path (no directory part) works too. */
    char cwd[256];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(config_save("rel.json", conf), 0);
    assert_load_equals("rel.json", conf);
    ck_assert_int_eq(chdir(cwd), 0);
    json_object_put(conf);
}
END_TEST

START_TEST(test_missing_file)
{
    struct json_object *empty = config_new();
    char p[200];

    assert_load_equals(path, empty);                   /* Missing dir too. */
    snprintf(p, sizeof p, "%s/none.json", dir);
    assert_load_equals(p, empty);
    json_object_put(empty);
}
END_TEST

START_TEST(test_invalid_json)
{
    static const char *bad[] = {
        "",
        "{\"version\": 1, \"bridges\": [",
        "{\"version\":1,\"bridges\":[]} trailing",
        "{\"version\":1,\"bridges\":[]}{}",
        "{\"version\":1,\"bridges\":[],}",               /* Trailing comma. */
        "{\"version\":1,\"bridges\":[],\"x\":'y'}",
        "{\"version\":1,\"bridges\":[],\"x\":\"\xff\"}",  /* Not UTF-8. */
        "null",
    };
    char p[200];
    snprintf(p, sizeof p, "%s/bad.json", dir);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json_object *loaded = (struct json_object *) 1;
        write_file(p, bad[i]);
        ck_assert_msg(config_load(p, &loaded, err, sizeof err) == -EINVAL,
                      "case %zu accepted", i);
        ck_assert_ptr_null(loaded);
        ck_assert_uint_gt(strlen(err), 0);
        ck_assert_ptr_null(strchr(err, '\n'));
        if (i < 7) {
            ck_assert_msg(strstr(err, "JSON"), "case %zu: %s", i, err);
        }
    }

    /* Surrounding whitespace is fine. */
    write_file(p, "\n  {\"version\":1,\"bridges\":[]}\n\n");
    struct json_object *empty = config_new();
    assert_load_equals(p, empty);
    json_object_put(empty);
}
END_TEST

START_TEST(test_load_errors)
{
    struct json_object *loaded = (struct json_object *) 1;
    char p[200];

    /* Too big: refused before reading (sparse file). */
    snprintf(p, sizeof p, "%s/big.json", dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
    close(fd);
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -EFBIG);
    ck_assert_ptr_null(loaded);

    /* A directory. */
    ck_assert_int_eq(config_load(dir, &loaded, err, sizeof err), -EISDIR);
    ck_assert_ptr_null(loaded);

    /* Under a regular file. */
    snprintf(p, sizeof p, "%s/big.json/conf.json", dir);
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -ENOTDIR);
    ck_assert_ptr_null(loaded);
}
END_TEST

/* Not a regular file: refused without reading.  A FIFO must not block
 * (nobody will ever write to it): vswitchd would hang at start. */
START_TEST(test_load_not_regular)
{
    struct json_object *loaded = (struct json_object *) 1;
    char p[200];

    snprintf(p, sizeof p, "%s/fifo.json", dir);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -ENOTSUP);
    ck_assert_ptr_null(loaded);
    ck_assert_str_eq(err, "not a regular file");
    ck_assert_int_eq(config_load(dir, &loaded, err, sizeof err), -EISDIR);
    ck_assert_str_eq(err, "not a regular file");
}
END_TEST

/* The two-step save bridge.c wraps around a change: prepare writes the temp
 * file only; abort drops it; commit puts it in place. */
START_TEST(test_save_two_steps)
{
    struct json_object *conf = sample(), *empty = config_new();
    char tmp[200];

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(config_save(path, empty), 0);

    ck_assert_int_eq(config_save_prepare(path, conf), 0);
    ck_assert_int_eq(access(tmp, F_OK), 0);
    assert_load_equals(path, empty);            /* Not yet. */
    config_save_abort(path);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    assert_load_equals(path, empty);

    ck_assert_int_eq(config_save_prepare(path, conf), 0);
    ck_assert_int_eq(config_save_commit(path), 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    assert_load_equals(path, conf);

    /* Nothing prepared: commit fails and changes nothing. */
    ck_assert_int_eq(config_save_commit(path), -ENOENT);
    assert_load_equals(path, conf);
    json_object_put(empty);
    json_object_put(conf);
}
END_TEST

START_TEST(test_schema)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        { "[]", "object" },
        { "{\"bridges\":[]}", "\"version\"" },
        { "{\"version\":2,\"bridges\":[]}", "\"version\"" },
        { "{\"version\":\"1\",\"bridges\":[]}", "\"version\"" },
        { "{\"version\":1.0,\"bridges\":[]}", "\"version\"" },
        { "{\"version\":1}", "\"bridges\"" },
        { "{\"version\":1,\"bridges\":{}}", "\"bridges\"" },
        { "{\"version\":1,\"bridges\":[5]}", "bridges[0]" },
        { "{\"version\":1,\"bridges\":[{\"ports\":[]}]}",
          "bridges[0]: missing string \"name\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":7,\"ports\":[]}]}",
          "bridges[0]: missing string \"name\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\"}]}",
          "bridges[0]: missing array \"ports\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[[]]}]}",
          "bridges[0].ports[0]" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"a\",\"ports\":[]},"
          "{\"name\":\"b\",\"ports\":[{\"type\":\"t\"}]}]}",
          "bridges[1].ports[0]: missing string \"name\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\"}]}]}",
          "bridges[0].ports[0]: missing string \"type\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\",\"options\":[]}]}]}", "\"options\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\",\"options\":{\"queues\":2}}]}]}",
          "bridges[0].ports[0]: option \"queues\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\",\"options\":{\"a\":\"1\",\"b\":null}}]}]}", "option \"b\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[]},"
          "{\"name\":\"b\",\"ports\":[]}]}", "bridges[1]: duplicate bridge \"b\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\"},{\"name\":\"p\",\"type\":\"t\"}]}]}",
          "bridges[0].ports[1]: duplicate port \"p\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\"}]},{\"name\":\"c\",\"ports\":[{\"name\":\"p\",\"type\":\"t\"}]}]}",
          "bridges[1].ports[0]: duplicate port \"p\"" },
    };
    char p[200];
    snprintf(p, sizeof p, "%s/schema.json", dir);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *conf = json_tokener_parse(cases[i].text);
        ck_assert_ptr_nonnull(conf);
        ck_assert_int_eq(config_validate(conf, err, sizeof err), -EINVAL);
        ck_assert_msg(strstr(err, cases[i].reason), "case %zu: \"%s\" lacks \"%s\"",
                      i, err, cases[i].reason);
        json_object_put(conf);

        /* config_load() applies the same checks. */
        struct json_object *loaded = (struct json_object *) 1;
        write_file(p, cases[i].text);
        ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -EINVAL);
        ck_assert_ptr_null(loaded);
        ck_assert_msg(strstr(err, cases[i].reason), "load case %zu: \"%s\"", i, err);
    }

    struct json_object *good = sample();
    ck_assert_int_eq(config_validate(good, err, sizeof err), 0);
    json_object_put(good);

    /* Extra members are tolerated (forward compatibility). */
    good = json_tokener_parse("{\"version\":1,\"bridges\":[{\"name\":\"b\","
                              "\"ports\":[],\"other\":true}],\"extra\":{}}");
    ck_assert_int_eq(config_validate(good, err, sizeof err), 0);
    json_object_put(good);
}
END_TEST

START_TEST(test_error_buffer)
{
    struct json_object *conf = json_tokener_parse("{\"version\":3,\"bridges\":[]}");
    char small[8];

    memset(small, 'x', sizeof small);
    ck_assert_int_eq(config_validate(conf, small, sizeof small), -EINVAL);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);    /* Truncated, NUL. */
    ck_assert_int_eq(config_validate(conf, NULL, 0), -EINVAL);
    json_object_put(conf);
}
END_TEST

START_TEST(test_save_failure_keeps_old_file)
{
    struct json_object *conf = sample(), *empty = config_new();
    char file[160], under[200], tmp[240];

    /* A path whose "directory" is a regular file cannot be written, and the
     * file is left alone. */
    snprintf(file, sizeof file, "%s/plainfile", dir);
    write_file(file, "x");
    snprintf(under, sizeof under, "%s/conf.json", file);
    ck_assert_int_eq(config_save(under, conf), -ENOTDIR);
    snprintf(under, sizeof under, "%s/sub/conf.json", file);
    ck_assert_int_lt(config_save(under, conf), 0);
    char *text = read_file(file);
    ck_assert_str_eq(text, "x");
    free(text);

    /* An unwritable temp file leaves the old content and nothing else. */
    ck_assert_int_eq(config_save(path, conf), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(mkdir(tmp, 0755), 0);              /* Blocks the temp file. */
    ck_assert_int_eq(config_save(path, empty), -EISDIR);
    assert_load_equals(path, conf);
    ck_assert_int_eq(rmdir(tmp), 0);

    /* A target that cannot be renamed over (a non-empty directory): the temp
     * file is removed again. */
    char target[200], inside[220];
    snprintf(target, sizeof target, "%s/target", dir);
    ck_assert_int_eq(mkdir(target, 0755), 0);
    snprintf(inside, sizeof inside, "%s/keep", target);
    write_file(inside, "keep");
    ck_assert_int_lt(config_save(target, conf), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", target);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ck_assert_int_eq(access(inside, F_OK), 0);
    json_object_put(empty);
    json_object_put(conf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_new);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_save_replaces);
    tcase_add_test(tc, test_nested_dirs);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_invalid_json);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_load_not_regular);
    tcase_add_test(tc, test_save_two_steps);
    tcase_add_test(tc, test_schema);
    tcase_add_test(tc, test_error_buffer);
    tcase_add_test(tc, test_save_failure_keeps_old_file);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
