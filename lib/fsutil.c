/* fsutil - see fsutil.h. */
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
fsutil_mkdir_p(const char *dir)
{
    return fsutil_mkdir_p_mode(dir, 0755);
}

int
fsutil_mkdir_p_mode(const char *dir, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int) sizeof tmp) {
        return -ENAMETOOLONG;
    }
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            mode_t m = c ? 0755 : mode;
            if (!mkdir(tmp, m)) {
                /* mkdir() applied the umask: set the mode we were asked
                 * for, on the directory we just made (O_NOFOLLOW: never on
                 * a symlink someone put in its place). */
                int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                    return -errno;
                }
                int rc = fchmod(fd, m) ? -errno : 0;
                close(fd);
                if (rc) {
                    return rc;
                }
            } else if (errno != EEXIST) {
                return -errno;
            }
            if (!c) {
                return 0;
            }
            *p = c;
        }
    }
}

static int __attribute__((format(printf, 4, 5)))
dir_fail(int error, char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
    return error;
}

static bool
trusted_uid(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

int
fsutil_check_dir(const char *dir, bool allow_sticky, char *err, size_t errlen)
{
    char p[PATH_MAX], real[PATH_MAX];
    struct stat st;

    if (!*dir || snprintf(p, sizeof p, "%s", dir) >= (int) sizeof p) {
        return dir_fail(-ENAMETOOLONG, err, errlen, "%s: invalid directory name", dir);
    }
    /* Symlinks on the way, as written: whoever owns one can point it
     * elsewhere at any time. */
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = '\0';
            if (!lstat(p, &st) && S_ISLNK(st.st_mode) && !trusted_uid(st.st_uid)) {
                return dir_fail(-EPERM, err, errlen, "%s is a symlink owned by uid %u "
                                "(neither root nor us)", p, (unsigned) st.st_uid);
            }
            if (!c) {
                break;
            }
            *s = c;
        }
    }
    if (!realpath(dir, real)) {
        int error = -errno;
        return dir_fail(error, err, errlen, "%s: %s", dir, strerror(-error));
    }
    /* Every directory from "/" down to 'real'. */
    size_t len = strlen(real);
    for (size_t i = 0; i <= len; i++) {
        if (i < len && real[i] != '/') {
            continue;
        }
        bool leaf = i == len;
        size_t n = i ? i : 1;
        memcpy(p, real, n);
        p[n] = '\0';
        int rc = stat(p, &st) ? -errno : 0;
        if (!rc && !S_ISDIR(st.st_mode)) {
            rc = -ENOTDIR;
        }
        if (rc) {
            return dir_fail(rc, err, errlen, "%s: %s", p, strerror(-rc));
        }
        if (!trusted_uid(st.st_uid)) {
            return dir_fail(-EPERM, err, errlen, "%s is owned by uid %u (neither "
                            "root nor us)", p, (unsigned) st.st_uid);
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH))
            && (!(st.st_mode & S_ISVTX) || (leaf && !allow_sticky))) {
            return dir_fail(-EPERM, err, errlen, "%s is writable by %s (mode %04o)%s",
                            p, st.st_mode & S_IWOTH ? "others" : "its group",
                            (unsigned) (st.st_mode & 07777),
                            leaf && !allow_sticky ? "" : " and has no sticky bit");
        }
    }
    return 0;
}

int
fsutil_create_tmp(const char *path, mode_t mode, char *tmp, size_t tmpsize)
{
    if (snprintf(tmp, tmpsize, "%s.tmp.XXXXXX", path) >= (int) tmpsize) {
        return -ENAMETOOLONG;
    }
    /* mkostemp() opens with O_CREAT|O_EXCL: a planted symlink or file of
     * that name makes it try another name, it never opens one. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fchmod(fd, mode)) {
        int error = -errno;
        close(fd);
        unlink(tmp);
        return error;
    }
    return fd;
}

int
fsutil_secure_socket(const char *path, mode_t mode, int gid)
{
    struct stat st;
    int fd, rc = 0;

    /* With O_NOFOLLOW, O_PATH opens a symlink itself rather than failing. */
    fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st)) {
        rc = -errno;
    } else if (S_ISLNK(st.st_mode)) {
        rc = -ELOOP;
    } else if (!S_ISSOCK(st.st_mode)) {
        rc = -ENOTSOCK;
    } else if (st.st_uid != geteuid()) {
        rc = -EEXIST;
    }
    if (!rc && gid >= 0 && st.st_gid != (gid_t) gid
        && fchownat(fd, "", (uid_t) -1, (gid_t) gid, AT_EMPTY_PATH)) {
        rc = -errno;
    }
    if (!rc && (st.st_mode & 07777) != mode) {
        /* fchmod() does not take an O_PATH descriptor; its /proc magic link
         * names exactly the inode we checked. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (chmod(proc, mode)) {
            rc = -errno;
        }
    }
    close(fd);
    return rc;
}

bool
fsutil_socket_in_use(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sun.sun_path) {
        return false;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int rc = connect(fd, (struct sockaddr *) &sun, sizeof sun) ? errno : 0;
    close(fd);
    return !rc || rc == EAGAIN || rc == EINPROGRESS;
}
