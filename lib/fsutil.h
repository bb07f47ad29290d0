/* fsutil - small file-system helpers shared by the daemon's modules.
 *
 * Several of them exist because vswitchd runs as root in directories that
 * other local users may be able to write to: they never follow a symlink in
 * the last component, never change a file's mode or owner through a path
 * that someone else could swap between the check and the change, and never
 * reuse a fixed temporary name.  See Documentation/security.md. */
#ifndef VSWITCH_FSUTIL_H
#define VSWITCH_FSUTIL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates directory 'dir' and any missing parents, mode 0755 (existing ones
 * are left as they are).  Returns 0 or a negative errno. */
int fsutil_mkdir_p(const char *dir);

/* As fsutil_mkdir_p(), but if it creates 'dir' itself, 'dir' gets exactly
 * 'mode' (set with fchmod() on the new directory, so the umask does not
 * matter); missing parents get exactly 0755. */
int fsutil_mkdir_p_mode(const char *dir, mode_t mode);

/* Checks that directory 'dir' is safe for root to create files, sockets and
 * temporary files in: it and every directory above it (after resolving
 * symlinks) are owned by root or by the effective user, and none is
 * writable by group or others unless it has the sticky bit; a symlink on the
 * way is owned by root or the effective user.  'dir' itself may be writable
 * by group or others (with the sticky bit) only if 'allow_sticky'.
 * Returns 0, or a negative errno after writing a one-line reason to 'err'
 * ('errlen' bytes). */
int fsutil_check_dir(const char *dir, bool allow_sticky, char *err,
                     size_t errlen);

/* Creates a new temporary file next to 'path', named "<path>.tmp.XXXXXX",
 * with O_CREAT|O_EXCL (so never through a symlink, never an existing file)
 * and mode exactly 'mode'.  Writes the name to 'tmp' ('tmpsize' bytes).
 * Returns the open (O_RDWR, O_CLOEXEC) fd, or a negative errno. */
int fsutil_create_tmp(const char *path, mode_t mode, char *tmp,
                      size_t tmpsize);

/* Makes the unix socket file 'path', just bound by us, mode 'mode' and (if
 * 'gid' >= 0) group 'gid', without following a path someone could swap:
 * the file is opened with O_PATH|O_NOFOLLOW, must be a socket owned by our
 * effective uid, and is changed through that descriptor.  Returns 0,
 * -ELOOP (a symlink), -ENOTSOCK (not a socket), -EEXIST (a socket owned by
 * someone else): 'path' is no longer the socket we bound; or another
 * negative errno (e.g. -EPERM: we may not give the file group 'gid'). */
int fsutil_secure_socket(const char *path, mode_t mode, int gid);

/* Returns true if something accepts connections on unix socket 'path'
 * (connect() succeeds or would block). */
bool fsutil_socket_in_use(const char *path);

#endif
