/* fsutil - see fsutil.h. */
#include "lib/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

int
fsutil_mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int) sizeof tmp) {
        return -ENAMETOOLONG;
    }
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST) {
                return -errno;
            }
            if (!c) {
                return 0;
            }
            *p = c;
        }
    }
}
