/* base64 - RFC 4648 base64 (standard alphabet, '=' padding), for binary
 * data inside JSON strings: the pcapng bytes of a packet capture travel as
 * "capture.data" notifications (vswitchd/capture-ctl.c encodes, vsctl's
 * capture command decodes).  No DPDK; shared by vswitchd and vsctl. */
#ifndef VSWITCH_BASE64_H
#define VSWITCH_BASE64_H 1

#include <stddef.h>
#include <sys/types.h>

/* Length of the encoding of 'n' bytes, without a terminating NUL. */
size_t base64_encoded_len(size_t n);

/* Encodes the 'n' bytes of 'src' into 'dst', which must have room for
 * base64_encoded_len(n) + 1 bytes; writes a terminating NUL.  Returns the
 * length written (without the NUL). */
size_t base64_encode(const void *src, size_t n, char *dst);

/* Most bytes the 'len' characters of an encoding can decode to. */
size_t base64_decoded_max(size_t len);

/* Decodes the 'len' characters of 'src' into 'dst' (room for
 * base64_decoded_max(len) bytes).  The input must be canonical: a multiple
 * of 4 characters from the standard alphabet, '=' only as padding at the
 * end, unused bits zero.  Returns the number of bytes decoded, or -EINVAL
 * (then 'dst' holds garbage). */
ssize_t base64_decode(const char *src, size_t len, void *dst);

#endif
