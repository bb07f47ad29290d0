/* test-metrics - unit tests for the Prometheus text format writer
 * (lib/promtext.c) and the --metrics-addr address handling
 * (vswitchd/metrics.c: metrics_parse_addr(), metrics_listen()). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "lib/promtext.h"
#include "vswitchd/metrics.h"
#include "vswitchd/options.h"

/* The contents of 'buf' as a string (static storage), then drained. */
static const char *
text(struct evbuffer *buf)
{
    static char s[4096];
    size_t n = evbuffer_get_length(buf);

    ck_assert_uint_lt(n, sizeof s);
    evbuffer_remove(buf, s, n);
    s[n] = '\0';
    return s;
}

START_TEST(test_names)
{
    ck_assert(promtext_metric_name_valid("vswitch_port_rx_packets_total"));
    ck_assert(promtext_metric_name_valid("a:b_c1"));
    ck_assert(promtext_metric_name_valid("_x"));
    ck_assert(!promtext_metric_name_valid(""));
    ck_assert(!promtext_metric_name_valid("1abc"));
    ck_assert(!promtext_metric_name_valid("a-b"));
    ck_assert(!promtext_metric_name_valid("a b"));
    ck_assert(!promtext_metric_name_valid("a.b"));
    ck_assert(promtext_label_name_valid("port"));
    ck_assert(promtext_label_name_valid("_x1"));
    ck_assert(!promtext_label_name_valid("__name__"));
    ck_assert(!promtext_label_name_valid("a:b"));
    ck_assert(!promtext_label_name_valid("9x"));
    ck_assert(!promtext_label_name_valid(""));
}
END_TEST

START_TEST(test_escape)
{
    struct evbuffer *buf = evbuffer_new();

    promtext_escape_label(buf, "plain");
    ck_assert_str_eq(text(buf), "plain");
    promtext_escape_label(buf, "a\\b\"c\nd");
    ck_assert_str_eq(text(buf), "a\\\\b\\\"c\\nd");
    promtext_escape_label(buf, "\"\"\\\n");
    ck_assert_str_eq(text(buf), "\\\"\\\"\\\\\\n");
    promtext_escape_label(buf, "");
    ck_assert_str_eq(text(buf), "");
    evbuffer_free(buf);
}
END_TEST

START_TEST(test_family_and_samples)
{
    struct evbuffer *buf = evbuffer_new();
    const char *labels[] = { "bridge", "br0", "port", "vhu\"0\\\n", NULL };

    ck_assert_int_eq(promtext_family(buf, PROMTEXT_004, "vswitch_x_total", "counter",
                                     "Help with \\ and\nnewline and \"quotes\"."), 0);
    ck_assert_int_eq(promtext_sample(buf, "vswitch_x_total", labels, 42), 0);
    ck_assert_int_eq(promtext_sample(buf, "vswitch_x_total", NULL, 18446744073709551615ull), 0);
    promtext_finish(buf, PROMTEXT_004);
    ck_assert_str_eq(text(buf),
                     "# HELP vswitch_x_total Help with \\\\ and\\nnewline and \"quotes\".\n"
                     "# TYPE vswitch_x_total counter\n"
                     "vswitch_x_total{bridge=\"br0\",port=\"vhu\\\"0\\\\\\n\"} 42\n"
                     "vswitch_x_total 18446744073709551615\n");

    /* OpenMetrics: the counter family drops _total, help escapes quotes,
     * the page ends with # EOF. */
    ck_assert_int_eq(promtext_family(buf, PROMTEXT_OPENMETRICS, "vswitch_x_total",
                                     "counter", "Say \"hi\"."), 0);
    ck_assert_int_eq(promtext_sample(buf, "vswitch_x_total", labels, 1), 0);
    ck_assert_int_eq(promtext_family(buf, PROMTEXT_OPENMETRICS, "vswitch_g", "gauge",
                                     "G."), 0);
    ck_assert_int_eq(promtext_sample(buf, "vswitch_g", NULL, 0), 0);
    promtext_finish(buf, PROMTEXT_OPENMETRICS);
    ck_assert_str_eq(text(buf),
                     "# HELP vswitch_x Say \\\"hi\\\".\n"
                     "# TYPE vswitch_x counter\n"
                     "vswitch_x_total{bridge=\"br0\",port=\"vhu\\\"0\\\\\\n\"} 1\n"
                     "# HELP vswitch_g G.\n"
                     "# TYPE vswitch_g gauge\n"
                     "vswitch_g 0\n"
                     "# EOF\n");

    /* Invalid names and types append nothing. */
    const char *bad_label[] = { "__x", "v", NULL };
    const char *dash_label[] = { "a-b", "v", NULL };
    for (int f = PROMTEXT_004; f <= PROMTEXT_OPENMETRICS; f++) {
        ck_assert_int_eq(promtext_family(buf, f, "bad name", "gauge", "h"), -EINVAL);
        ck_assert_int_eq(promtext_family(buf, f, "ok", "histogramm", "h"), -EINVAL);
        ck_assert_int_eq(promtext_family(buf, f, "ok", "untyped", "h"), -EINVAL);
        ck_assert_int_eq(promtext_family(buf, f, "ok", "counter", "h"), -EINVAL);
        ck_assert_int_eq(promtext_family(buf, f, "_total", "counter", "h"), -EINVAL);
        ck_assert_int_eq(promtext_family(buf, f, "ok_totals", "counter", "h"), -EINVAL);
    }
    ck_assert_int_eq(promtext_sample(buf, "1bad", NULL, 1), -EINVAL);
    ck_assert_int_eq(promtext_sample(buf, "ok", bad_label, 1), -EINVAL);
    ck_assert_int_eq(promtext_sample(buf, "ok", dash_label, 1), -EINVAL);
    ck_assert_uint_eq(evbuffer_get_length(buf), 0);

    ck_assert_int_eq(promtext_family(buf, PROMTEXT_004, "g", "gauge", ""), 0);
    ck_assert_str_eq(text(buf), "# HELP g \n# TYPE g gauge\n");
    evbuffer_free(buf);
}
END_TEST

START_TEST(test_negotiate)
{
    /* What Prometheus 2.x sends. */
    ck_assert_int_eq(promtext_negotiate("application/openmetrics-text;version=1.0.0,"
                                        "application/openmetrics-text;version=0.0.1;q=0.75,"
                                        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     PROMTEXT_OPENMETRICS);
    ck_assert_int_eq(promtext_negotiate("application/openmetrics-text"), PROMTEXT_OPENMETRICS);
    ck_assert_int_eq(promtext_negotiate("text/plain, application/openmetrics-text; q=0.5"),
                     PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate("application/openmetrics-text;q=0"), PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate(NULL), PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate(""), PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate("*/*"), PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate("text/plain;version=0.0.4"), PROMTEXT_004);
    ck_assert_int_eq(promtext_negotiate("*/*;q=0.1, Application/OpenMetrics-Text;q=0.2"),
                     PROMTEXT_OPENMETRICS);
    ck_assert_str_eq(promtext_content_type(PROMTEXT_004),
                     "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_str_eq(promtext_content_type(PROMTEXT_OPENMETRICS),
                     "application/openmetrics-text; version=1.0.0; charset=utf-8");
}
END_TEST

START_TEST(test_parse_addr)
{
    char host[METRICS_HOST_MAX], err[256];
    uint16_t port;

    ck_assert_int_eq(metrics_parse_addr("127.0.0.1:9100", host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 9100);
    ck_assert_int_eq(metrics_parse_addr("[::1]:1", host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 1);
    ck_assert_int_eq(metrics_parse_addr(":65535", host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "");
    ck_assert_uint_eq(port, 65535);
    ck_assert_int_eq(metrics_parse_addr("localhost:80", host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "localhost");

    static const char *const bad[] = {
        "", "9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1: 80",
        "::1:9100", "[::1]9100", "[::1:9100", "[]:9100", "a b:80", "a/b:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(metrics_parse_addr(bad[i], host, &port, err, sizeof err) == -EINVAL,
                      "accepted \"%s\"", bad[i]);
        ck_assert_msg(err[0], "no reason for \"%s\"", bad[i]);
    }
}
END_TEST

START_TEST(test_option)
{
    struct vswitchd_options o;
    char err[256];
    char *good[] = { "vswitchd", "--metrics-addr", "127.0.0.1:9100", NULL };
    char *bad[] = { "vswitchd", "--metrics-addr", "127.0.0.1", NULL };
    char *none[] = { "vswitchd", NULL };

    ck_assert_int_eq(options_parse(1, none, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.metrics_addr, "");
    ck_assert_int_eq(options_parse(3, good, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.metrics_addr, "127.0.0.1:9100");
    ck_assert_int_eq(options_parse(3, bad, &o, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "--metrics-addr") && strstr(err, "HOST:PORT"), "%s", err);
}
END_TEST

START_TEST(test_listen)
{
    char err[256], addr[64];
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;

    /* A port some socket listens on: metrics_listen() says it is in use. */
    int busy = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(busy, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(busy, (struct sockaddr *) &sin, sizeof sin), 0);
    ck_assert_int_eq(listen(busy, 1), 0);
    ck_assert_int_eq(getsockname(busy, (struct sockaddr *) &sin, &len), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sin.sin_port));
    ck_assert_int_eq(metrics_listen(addr, err, sizeof err), -EADDRINUSE);
    ck_assert_msg(strstr(err, addr) && strstr(err, "in use"), "%s", err);
    close(busy);

    /* Free again: listens. */
    int fd = metrics_listen(addr, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    close(fd);

    /* ":PORT" listens on every address: reachable over IPv4 loopback. */
    snprintf(addr, sizeof addr, ":%u", ntohs(sin.sin_port));
    fd = metrics_listen(addr, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *) &sin, sizeof sin), 0);
    close(c);
    close(fd);

    ck_assert_int_eq(metrics_listen("no-such-host.invalid:9100", err, sizeof err),
                     -EINVAL);
    ck_assert_msg(strstr(err, "cannot resolve"), "%s", err);
    ck_assert_int_eq(metrics_listen("127.0.0.1:0", err, sizeof err), -EINVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("promtext");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_family_and_samples);
    tcase_add_test(tc, test_negotiate);
    suite_add_tcase(s, tc);
    tc = tcase_create("address");
    tcase_add_test(tc, test_parse_addr);
    tcase_add_test(tc, test_option);
    tcase_add_test(tc, test_listen);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
