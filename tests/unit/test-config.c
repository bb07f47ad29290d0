/* test-config - unit tests for saving, loading and validating the
 * configuration file (vswitchd/config.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vswitchd/config.h"

static char dir[64];
static char path[128];
static char err[256];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state/conf.json", dir);
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static struct json_object *
sample(void)
{
    return json_tokener_parse(
        "{\"version\":1,\"bridges\":["
        "{\"name\":\"br0\",\"ports\":[{\"name\":\"vhu0\",\"type\":\"vhost-user\","
        "\"options\":{\"queues\":\"2\"}},{\"name\":\"vhu1\",\"type\":\"vhost-user\"}]},"
        "{\"name\":\"br1\",\"ports\":[]}]}");
}

START_TEST(test_roundtrip)
{
    struct json_object *conf = sample(), *loaded = NULL;
    char tmp[160];

    ck_assert_int_eq(config_save(path, conf), 0);   /* Creates state/. */
    ck_assert_int_eq(config_load(path, &loaded, err, sizeof err), 0);
    ck_assert(json_object_equal(conf, loaded));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1);

    /* Saving again replaces the file. */
    json_object_put(loaded);
    struct json_object *empty = config_new();
    ck_assert_int_eq(config_save(path, empty), 0);
    ck_assert_int_eq(config_load(path, &loaded, err, sizeof err), 0);
    ck_assert(json_object_equal(empty, loaded));
    json_object_put(loaded);
    json_object_put(empty);
    json_object_put(conf);
}
END_TEST

START_TEST(test_missing_file)
{
    struct json_object *loaded = NULL, *empty = config_new();
    ck_assert_int_eq(config_load(path, &loaded, err, sizeof err), 0);
    ck_assert(json_object_equal(empty, loaded));
    json_object_put(loaded);
    json_object_put(empty);
}
END_TEST

START_TEST(test_invalid_json)
{
    struct json_object *loaded = (void *) 1;
    char p[160];
    snprintf(p, sizeof p, "%s/bad.json", dir);
    write_file(p, "{\"version\": 1, \"bridges\": [");
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -EINVAL);
    ck_assert_ptr_null(loaded);
    ck_assert_ptr_nonnull(strstr(err, "JSON"));
    write_file(p, "");
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -EINVAL);
    write_file(p, "{\"version\":1,\"bridges\":[]} trailing");
    ck_assert_int_eq(config_load(p, &loaded, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(test_schema)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        { "[]", "object" },
        { "{\"bridges\":[]}", "version" },
        { "{\"version\":2,\"bridges\":[]}", "version" },
        { "{\"version\":1,\"bridges\":{}}", "bridges" },
        { "{\"version\":1,\"bridges\":[5]}", "bridges[0]" },
        { "{\"version\":1,\"bridges\":[{\"ports\":[]}]}", "\"name\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\"}]}", "\"ports\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\"}]}]}",
          "bridges[0].ports[0]: missing string \"type\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\",\"options\":{\"queues\":2}}]}]}", "option \"queues\"" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[]},"
          "{\"name\":\"b\",\"ports\":[]}]}", "duplicate bridge" },
        { "{\"version\":1,\"bridges\":[{\"name\":\"b\",\"ports\":[{\"name\":\"p\","
          "\"type\":\"t\"}]},{\"name\":\"c\",\"ports\":[{\"name\":\"p\",\"type\":\"t\"}]}]}",
          "bridges[1].ports[0]: duplicate port" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *conf = json_tokener_parse(cases[i].text);
        ck_assert_ptr_nonnull(conf);
        ck_assert_int_eq(config_validate(conf, err, sizeof err), -EINVAL);
        ck_assert_msg(strstr(err, cases[i].reason), "case %zu: \"%s\" lacks \"%s\"",
                      i, err, cases[i].reason);
        json_object_put(conf);
    }
    struct json_object *good = sample();
    ck_assert_int_eq(config_validate(good, err, sizeof err), 0);
    json_object_put(good);
}
END_TEST

START_TEST(test_save_failure_keeps_old_file)
{
    struct json_object *conf = sample(), *loaded = NULL;
    char file[160], under[200];

    /* A path whose "directory" is a regular file cannot be written. */
    snprintf(file, sizeof file, "%s/plainfile", dir);
    write_file(file, "x");
    snprintf(under, sizeof under, "%s/conf.json", file);
    ck_assert_int_lt(config_save(under, conf), 0);

    /* An unwritable target leaves the old content. */
    ck_assert_int_eq(config_save(path, conf), 0);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(mkdir(tmp, 0755), 0);     /* Blocks the temp file. */
    struct json_object *empty = config_new();
    ck_assert_int_lt(config_save(path, empty), 0);
    ck_assert_int_eq(config_load(path, &loaded, err, sizeof err), 0);
    ck_assert(json_object_equal(conf, loaded));
    rmdir(tmp);
    json_object_put(loaded);
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
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_invalid_json);
    tcase_add_test(tc, test_schema);
    tcase_add_test(tc, test_save_failure_keeps_old_file);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
