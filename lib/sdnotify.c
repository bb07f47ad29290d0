/* sdnotify - see sdnotify.h. */
#include "lib/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
sdnotify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t len;

    if (!name || !name[0]) {
        return 0;
    }
    len = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || len < 2 || len >= sizeof sun.sun_path) {
        return -EINVAL;
    }
    memcpy(sun.sun_path, name, len);
    if (name[0] == '@') {
        sun.sun_path[0] = '\0';         /* Abstract namespace. */
    }
    socklen_t addrlen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len
                                     + (name[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                       (struct sockaddr *) &sun, addrlen);
    int err = n < 0 ? -errno : 1;
    close(fd);
    return err;
}
