/* test-base64 - Check suite for lib/base64.c: the RFC 4648 test vectors,
 * every length and byte value round-tripping, and the decoder refusing
 * non-canonical input. */
#include "lib/base64.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4648 section 10. */
static const struct {
    const char *plain, *encoded;
} vectors[] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};

START_TEST(test_rfc4648_vectors)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *p = vectors[i].plain, *e = vectors[i].encoded;
        char enc[32];
        uint8_t dec[32];

        ck_assert_uint_eq(base64_encoded_len(strlen(p)), strlen(e));
        ck_assert_uint_eq(base64_encode(p, strlen(p), enc), strlen(e));
        ck_assert_str_eq(enc, e);
        ck_assert_int_eq(base64_decode(e, strlen(e), dec), (ssize_t) strlen(p));
        ck_assert(!memcmp(dec, p, strlen(p)));
    }
}
END_TEST

START_TEST(test_roundtrip_all_bytes)
{
    uint8_t src[600], dec[600];
    char enc[801];

    for (size_t i = 0; i < sizeof src; i++) {
        src[i] = (uint8_t) (i * 7 + 3);     /* Every byte value occurs. */
    }
    for (size_t n = 0; n <= sizeof src; n++) {
        size_t len = base64_encode(src, n, enc);
        ck_assert_uint_eq(len, base64_encoded_len(n));
        ck_assert_uint_eq(strlen(enc), len);
        ck_assert_uint_ge(base64_decoded_max(len), n);
        ssize_t got = base64_decode(enc, len, dec);
        ck_assert_int_eq(got, (ssize_t) n);
        ck_assert(!memcmp(dec, src, n));
    }
}
END_TEST

START_TEST(test_decode_refuses)
{
    static const char *const bad[] = {
        "Zg=",          /* Not a multiple of 4. */
        "Zg",
        "Z===",         /* Too much padding. */
        "Zg==Zg==",     /* Padding before the end. */
        "Zh==",         /* Unused bits set. */
        "Zm9=",
        "Zm9v\n",
        "Zm 9",         /* Not in the alphabet. */
        "Zm-_",         /* base64url, not base64. */
        "=Zm9",
        "Zm=v",
    };
    uint8_t dec[16];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), dec) == -EINVAL,
                      "accepted \"%s\"", bad[i]);
    }
}
END_TEST

static Suite *
base64_suite(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rfc4648_vectors);
    tcase_add_test(tc, test_roundtrip_all_bytes);
    tcase_add_test(tc, test_decode_refuses);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(base64_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
