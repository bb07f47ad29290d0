/* config - persistence of the switch configuration.  See config.h.
 *
 * Main thread only.  The file is small (bridges, ports, options; at most
 * CONFIG_MAX_SIZE); it is read whole, parsed with json-c in strict mode
 * (valid UTF-8, no trailing commas or garbage after the object) and validated
 * before anything is replayed, so a damaged file is refused with a reason
 * instead of half-applied.  It is written atomically (temp file, fsync,
 * rename, fsync of the directory) so that a crash at any point leaves either
 * the old or the new file. */
#include "vswitchd/config.h"
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_SIZE (16 * 1024 * 1024)

struct json_object *
config_new(void)
{
    struct json_object *conf = json_object_new_object();
    json_object_object_add(conf, "version", json_object_new_int(CONFIG_VERSION));
    json_object_object_add(conf, "bridges", json_object_new_array());
    return conf;
}

static int __attribute__((format(printf, 3, 4)))
invalid(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
    return -EINVAL;
}

/* Returns member 'key' of 'obj' if it has type 'type', else NULL. */
static struct json_object *
member(struct json_object *obj, const char *key, enum json_type type)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type)) {
        return NULL;
    }
    return v;
}

/* True if 'name' appears in the first 'n' entries of 'names'. */
static bool
seen(const char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], name)) {
            return true;
        }
    }
    return false;
}

int
config_validate(struct json_object *conf, char *err, size_t errlen)
{
    struct json_object *version, *bridges;
    const char **bnames = NULL, **pnames = NULL;
    size_t nb = 0, np = 0;
    int rc = 0;

    if (!json_object_is_type(conf, json_type_object)) {
        return invalid(err, errlen, "top level is not an object");
    }
    version = member(conf, "version", json_type_int);
    if (!version || json_object_get_int(version) != CONFIG_VERSION) {
        return invalid(err, errlen, "missing or unsupported \"version\" (expected %d)",
                       CONFIG_VERSION);
    }
    bridges = member(conf, "bridges", json_type_array);
    if (!bridges) {
        return invalid(err, errlen, "missing array \"bridges\"");
    }

    size_t n_bridges = json_object_array_length(bridges), total_ports = 0;
    for (size_t i = 0; i < n_bridges; i++) {
        struct json_object *ports = member(json_object_array_get_idx(bridges, i),
                                           "ports", json_type_array);
        total_ports += ports ? json_object_array_length(ports) : 0;
    }
    bnames = calloc(n_bridges + 1, sizeof *bnames);
    pnames = calloc(total_ports + 1, sizeof *pnames);
    if (!bnames || !pnames) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }

    for (size_t i = 0; i < n_bridges && !rc; i++) {
        struct json_object *b = json_object_array_get_idx(bridges, i);
        struct json_object *name, *ports;
        if (!json_object_is_type(b, json_type_object)) {
            rc = invalid(err, errlen, "bridges[%zu]: not an object", i);
            break;
        }
        if (!(name = member(b, "name", json_type_string))) {
            rc = invalid(err, errlen, "bridges[%zu]: missing string \"name\"", i);
            break;
        }
        const char *bname = json_object_get_string(name);
        if (seen(bnames, nb, bname)) {
            rc = invalid(err, errlen, "bridges[%zu]: duplicate bridge \"%s\"", i, bname);
            break;
        }
        bnames[nb++] = bname;
        struct json_object *bopts;
        if (json_object_object_get_ex(b, "options", &bopts)) {
            if (!json_object_is_type(bopts, json_type_object)) {
                rc = invalid(err, errlen, "bridges[%zu]: \"options\" is not an object", i);
                break;
            }
            json_object_object_foreach(bopts, key, val) {
                if (!json_object_is_type(val, json_type_string)) {
                    rc = invalid(err, errlen, "bridges[%zu]: option \"%s\" is not a "
                                 "string", i, key);
                    break;
                }
            }
            if (rc) {
                break;
            }
        }
        if (!(ports = member(b, "ports", json_type_array))) {
            rc = invalid(err, errlen, "bridges[%zu]: missing array \"ports\"", i);
            break;
        }
        for (size_t j = 0; j < json_object_array_length(ports); j++) {
            struct json_object *p = json_object_array_get_idx(ports, j);
            struct json_object *pname, *opts;
            if (!json_object_is_type(p, json_type_object)) {
                rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: not an object", i, j);
                break;
            }
            if (!(pname = member(p, "name", json_type_string))) {
                rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: missing string "
                             "\"name\"", i, j);
                break;
            }
            if (!member(p, "type", json_type_string)) {
                rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: missing string "
                             "\"type\"", i, j);
                break;
            }
            const char *n = json_object_get_string(pname);
            if (seen(pnames, np, n)) {
                rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: duplicate port "
                             "\"%s\"", i, j, n);
                break;
            }
            pnames[np++] = n;
            if (json_object_object_get_ex(p, "options", &opts)) {
                if (!json_object_is_type(opts, json_type_object)) {
                    rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: \"options\" is "
                                 "not an object", i, j);
                    break;
                }
                json_object_object_foreach(opts, key, val) {
                    if (!json_object_is_type(val, json_type_string)) {
                        rc = invalid(err, errlen, "bridges[%zu].ports[%zu]: option "
                                     "\"%s\" is not a string", i, j, key);
                        break;
                    }
                }
                if (rc) {
                    break;
                }
            }
        }
    }

out:
    free(bnames);
    free(pnames);
    return rc;
}

int
config_load(const char *path, struct json_object **confp, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO planted as conf.json must not hang the start. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    int rc;

    *confp = NULL;
    snprintf(err, errlen, "no error");
    if (fd < 0) {
        if (errno == ENOENT) {
            *confp = config_new();
            return 0;
        }
        rc = -errno;
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return rc;
    }
    if (fstat(fd, &st)) {
        rc = -errno;
        snprintf(err, errlen, "cannot stat: %s", strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTSUP;
    }
    if (st.st_size > CONFIG_MAX_SIZE) {
        snprintf(err, errlen, "file is larger than %d bytes", CONFIG_MAX_SIZE);
        close(fd);
        return -EFBIG;
    }

    size_t size = (size_t) st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            snprintf(err, errlen, "cannot read: %s", strerror(-rc));
            free(buf);
            close(fd);
            return rc;
        }
        got += (size_t) n;
    }
    close(fd);
    buf[size] = '\0';

    /* Strict (no trailing commas, single quotes, ...) and valid UTF-8: the
     * file is ours, anything else means it was damaged.  The length includes
     * the terminating NUL, which tells json-c that the input ends there. */
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        free(buf);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *conf = json_tokener_parse_ex(tok, buf, (int) size + 1);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    size_t extra = end;
    while (jerr == json_tokener_success && extra < size
           && buf[extra] && strchr(" \t\r\n", buf[extra])) {
        extra++;
    }
    free(buf);
    if (jerr != json_tokener_success) {
        json_object_put(conf);
        return invalid(err, errlen, "not valid JSON (near byte %zu): %s", end,
                       json_tokener_error_desc(jerr));
    }
    if (extra < size) {
        json_object_put(conf);
        return invalid(err, errlen,
                       "not valid JSON (near byte %zu): data after the end", extra);
    }
    if ((rc = config_validate(conf, err, errlen))) {
        json_object_put(conf);
        return rc;
    }
    *confp = conf;
    return 0;
}

/* Writes all of 'buf' to 'fd'.  Returns 0 or -errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        buf += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Puts the directory part of 'path' in 'dir' (PATH_MAX bytes) and
 * "<path>.tmp" in 'tmp' (PATH_MAX bytes).  Returns 0 or -ENAMETOOLONG. */
static int
save_names(const char *path, char *dir, char *tmp)
{
    if (snprintf(tmp, PATH_MAX, "%s.tmp", path) >= PATH_MAX
        || snprintf(dir, PATH_MAX, "%s", path) >= PATH_MAX) {
        return -ENAMETOOLONG;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir) {
        dir[1] = '\0';
    } else if (slash) {
        *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    return 0;
}

int
config_save_prepare(const char *path, struct json_object *conf)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    int rc;

    if ((rc = save_names(path, dir, tmp))) {
        return rc;
    }
    if ((rc = fsutil_mkdir_p(dir))) {
        return rc;
    }

    const char *text = json_object_to_json_string_ext(
        conf, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text) {
        return -ENOMEM;
    }
    /* Never open an existing temp file: one planted there (a symlink to
     * /etc/shadow, say) would be truncated and written as root.  A leftover
     * of ours is removed (unlink() removes a symlink, not its target) and
     * the name created afresh with O_EXCL, which fails rather than follow a
     * symlink planted in between; fchmod() because open() applies the
     * umask. */
    if (unlink(tmp) && errno != ENOENT) {
        return -errno;
    }
    int fd = open(tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    if (fchmod(fd, 0644)) {
        rc = -errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    rc = write_all(fd, text, strlen(text));
    if (!rc) {
        rc = write_all(fd, "\n", 1);
    }
    if (!rc && fsync(fd)) {
        rc = -errno;
    }
    if (close(fd) && !rc) {
        rc = -errno;
    }
    if (rc) {
        unlink(tmp);
    }
    return rc;
}

int
config_save_commit(const char *path)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    int rc;

    if ((rc = save_names(path, dir, tmp))) {
        return rc;
    }
    if (rename(tmp, path)) {
        rc = -errno;
        unlink(tmp);
        return rc;
    }
    /* Make the rename durable.  The new file is in place already, so a
     * failure here is reported but cannot be undone. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -errno;
    }
    rc = fsync(dfd) ? -errno : 0;
    close(dfd);
    return rc;
}

void
config_save_abort(const char *path)
{
    char dir[PATH_MAX], tmp[PATH_MAX];

    if (!save_names(path, dir, tmp)) {
        unlink(tmp);
    }
}

int
config_save(const char *path, struct json_object *conf)
{
    int rc = config_save_prepare(path, conf);
    return rc ? rc : config_save_commit(path);
}
