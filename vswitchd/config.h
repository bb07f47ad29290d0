/* config - persistence of the switch configuration (bridges, ports and their
 * options) as one JSON file.
 *
 * The file looks like:
 *   {"version": 1,
 *    "bridges": [{"name": "br0", "options": {"mac-aging-time": "60"},
 *                 "ports": [{"name": "vhu0", "type": "vhost-user",
 *                            "options": {"queues": "2"}}]}]}
 * Option values are always strings.  The bridge module builds this object
 * after every change and calls config_save(); at start vswitchd calls
 * config_load() and replays it.  Main thread only. */
#ifndef VSWITCH_CONFIG_H
#define VSWITCH_CONFIG_H 1

#include <stddef.h>
#include <json-c/json.h>

#define CONFIG_VERSION 1

/* Returns a new, empty configuration {"version":1,"bridges":[]}. */
struct json_object *config_new(void);

/* Checks that 'conf' follows the schema above: object with integer "version"
 * == CONFIG_VERSION, array "bridges" of objects with string "name", optional
 * object "options" whose values are strings, and array "ports" of objects
 * with string "name", string "type" and optional object
 * "options" whose values are strings; no duplicate bridge names, no duplicate
 * port names across all bridges.  Returns 0, or -EINVAL with a one-line reason
 * in 'err' (at most 'errlen' bytes, always NUL-terminated). */
int config_validate(struct json_object *conf, char *err, size_t errlen);

/* Reads and validates the file 'path'.  Returns 0 with a new reference in
 * *conf; a missing file is not an error (empty configuration).  Returns
 * -EINVAL if the file is not valid JSON or fails config_validate() (reason in
 * 'err'), or another negative errno if it cannot be read (reason in 'err'):
 * -EISDIR or -ENOTSUP if it is not a regular file (opened non-blocking, so
 * a FIFO cannot hang the start), -EFBIG if it is too large, -EACCES, -EIO,
 * ... */
int config_load(const char *path, struct json_object **conf, char *err,
                size_t errlen);

/* Writes 'conf' to 'path' atomically: writes "<path>.tmp" in the same
 * directory, fsync()s it, renames it over 'path' and fsync()s the directory.
 * Creates the directory (and parents, mode 0755) if missing.  On failure the
 * old file is untouched and the temp file removed (except if only the final
 * fsync() of the directory fails: the new file is in place, the error is
 * still returned).  Returns 0 or a negative errno. */
int config_save(const char *path, struct json_object *conf);

/* config_save() in two steps, for a change that must not be applied unless
 * it can be saved (bridge.c):  config_save_prepare() writes and fsync()s
 * "<path>.tmp" (this is where a full disk, a read-only or unwritable
 * directory or an I/O error shows up; on failure nothing is left behind);
 * then the caller applies the change and calls config_save_commit(), which
 * renames the temp file over 'path' and fsync()s the directory, or, if
 * applying failed, config_save_abort(), which removes the temp file.
 * prepare and commit return 0 or a negative errno. */
int config_save_prepare(const char *path, struct json_object *conf);
int config_save_commit(const char *path);
void config_save_abort(const char *path);

#endif
