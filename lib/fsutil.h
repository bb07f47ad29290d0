/* fsutil - small file-system helpers shared by the daemon's modules. */
#ifndef VSWITCH_FSUTIL_H
#define VSWITCH_FSUTIL_H 1

/* Creates directory 'dir' and any missing parents, mode 0755 (existing ones
 * are left as they are).  Returns 0 or a negative errno. */
int fsutil_mkdir_p(const char *dir);

#endif
