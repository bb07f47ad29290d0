/* base64 - RFC 4648 base64 encoding and strict decoding.  See base64.h. */
#include "lib/base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t
base64_encode(const void *src_, size_t n, char *dst)
{
    const uint8_t *src = src_;
    char *p = dst;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t) src[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t) src[i + 1] << 8;
        }
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p = '\0';
    return (size_t) (p - dst);
}

size_t
base64_decoded_max(size_t len)
{
    return len / 4 * 3;
}

/* Value of base64 character 'c', or -1. */
static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    } else if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    } else if (c == '+') {
        return 62;
    } else if (c == '/') {
        return 63;
    }
    return -1;
}

ssize_t
base64_decode(const char *src, size_t len, void *dst_)
{
    uint8_t *dst = dst_;
    size_t out = 0;

    if (len % 4) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = 0;
        uint32_t v = 0;

        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char) src[i + k];
            int x;
            if (c == '=' && last && k >= 2) {
                pad++;
                x = 0;
            } else if (pad || (x = b64_value(c)) < 0) {
                /* A character after padding, or not in the alphabet. */
                return -EINVAL;
            }
            v = v << 6 | (uint32_t) x;
        }
        if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))) {
            return -EINVAL;         /* Non-zero unused bits. */
        }
        dst[out++] = (uint8_t) (v >> 16);
        if (pad < 2) {
            dst[out++] = (uint8_t) (v >> 8);
        }
        if (pad < 1) {
            dst[out++] = (uint8_t) v;
        }
    }
    return (ssize_t) out;
}
