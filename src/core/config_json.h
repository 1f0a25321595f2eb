/* config_json.h - typed readers for the config parser: JSON objects checked
 * against a key table, values checked against a type and range, files
 * resolved against the config's folder; every error names its key path.
 * Internal to src/core/config.c and src/core/config_json.c. */
#ifndef VMRUN_CONFIG_JSON_H
#define VMRUN_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/config.h"

#define CJ_KEY_MAX 192     /* longest key path kept for messages */
#define CJ_SHOW_MAX 40     /* longest JSON value echoed in a message */
#define CJ_OBJ_MAX_KEYS 16 /* most keys any schema object has */
/* Deepest nesting of objects and arrays in a config or an API request
 * body (docs/config.md); the schema itself needs 4. */
#define CJ_DEPTH_MAX 32

/* State of one parse: where messages go and how relative paths resolve. */
struct cj_parser {
    struct vmrun_config *cfg; /* being filled */
    const char *source;       /* file path or "<string>", for messages */
    const char *base_dir;     /* NULL: the current directory */
    char *err;
    size_t err_len;
    int depth_max;         /* cj_parse()'s nesting limit; 0: CJ_DEPTH_MAX */
    uint64_t host_mem_mib; /* config_host_mem_mib() of the caller; 0: unknown */
};

/* Keys vmrun knows in one JSON object; unsupported ones are rejected unless
 * their value is null (Firecracker writes nulls for unset options). */
enum cj_key_kind { CJ_KEY_OK = 0, CJ_KEY_UNSUPPORTED };

struct cj_key {
    const char *name;
    enum cj_key_kind kind;
};

/* One schema object being read: its key path and the value of each key
 * (NULL when absent or null). */
struct cj_obj {
    struct cj_parser *p;
    char path[CJ_KEY_MAX];
    const struct cj_key *keys;
    const cJSON *val[CJ_OBJ_MAX_KEYS];
};

/* All error helpers write "<source>: <key>: <message>" (one line: control
 * bytes become '?') into (p)'s buffer and return the error code. */
int cj_fail(struct cj_parser *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with (rc) returned instead of -EINVAL. */
int cj_fail_rc(struct cj_parser *p, int rc, const char *key, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
/* "expected (want), got <compact JSON of v>"; returns -EINVAL. */
int cj_fail_type(struct cj_parser *p, const char *key, const char *want,
                 const cJSON *v);
/* Returns -ENOMEM. */
int cj_fail_nomem(struct cj_parser *p);
/* A JSON syntax error at (at) inside (text), as a line and column. */
int cj_fail_syntax(struct cj_parser *p, const char *text, const char *at);
/* Parses the NUL-terminated (text) into (*out) (the caller deletes it).
 * Refuses, naming the line and column or the key path: invalid JSON,
 * nesting deeper than (p->depth_max) ("too deep"), \u0000 in a string or key,
 * which cJSON would silently cut there, and numbers beyond a double's
 * range ("number out of range"; cJSON would make them infinite).  (p) needs
 * only source, err and err_len. */
int cj_parse(struct cj_parser *p, const char *text, cJSON **out)
    __attribute__((warn_unused_result));
/* strerror_r() that always returns the text. */
const char *cj_strerror(int e, char *buf, size_t len);

/* (dst)[CJ_KEY_MAX] = "(parent).(name)" or "(parent)[(i)]". */
void cj_key_child(char *dst, const char *parent, const char *name);
void cj_key_index(char *dst, const char *parent, int i);

/* Opens (json) as the object at key path (path) with keys (keys)[0..n),
 * n <= CJ_OBJ_MAX_KEYS; rejects non-objects, unknown keys, duplicate keys
 * and non-null unsupported keys.  (o) keeps pointers into (json) and
 * (keys). */
int cj_obj_open(struct cj_parser *p, struct cj_obj *o, const cJSON *json,
                const char *path, const struct cj_key *keys, size_t n);
/* (key)[CJ_KEY_MAX] = full key path of key (i) of (o). */
void cj_obj_key(const struct cj_obj *o, size_t i, char *key);

/* Readers of key (i) of (o).  An absent key leaves (*out) alone and returns
 * 0, or fails with "missing" when (required). */
int cj_obj_bool(const struct cj_obj *o, size_t i, bool *out);
/* An exact integer in [min, max]: 1.5, 1e300 and -1 are rejected. */
int cj_obj_uint(const struct cj_obj *o, size_t i, bool required, uint64_t min,
                uint64_t max, uint64_t *out);
/* A string of min..max bytes; (*out) points into the JSON tree. */
int cj_obj_str(const struct cj_obj *o, size_t i, bool required, size_t min,
               size_t max, const char **out);
/* One of (names)[0..n); (*out) gets its index. */
int cj_obj_enum(const struct cj_obj *o, size_t i, const char *const *names,
                size_t n, int *out);
/* A path to an existing file, checked with access(amode) and stored in
 * (*out) as a new realpath() string. */
int cj_obj_file(const struct cj_obj *o, size_t i, bool required, int amode,
                char **out);

/* (*out) = strdup(s), NULL for NULL. */
int cj_strdup(struct cj_parser *p, const char *s, char **out);
/* As cj_obj_file() for a path (given) found at (key). */
int cj_path_existing(struct cj_parser *p, const char *key, const char *given,
                     int amode, char **out);
/* A file vmrun will create: its folder must exist; (*out) is absolute. */
int cj_path_new_file(struct cj_parser *p, const char *key, const char *given,
                     char **out);

#endif
