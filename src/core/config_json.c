/* config_json.c - typed, key-path-aware readers of cJSON objects and the
 * path checks behind the config parser (see config_json.h). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config_json.h"

const char *cj_strerror(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant: thread-safe */
}

/* Messages are one line: control bytes from the JSON become '?'. */
static void cj_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static int cj_vfail(struct cj_parser *p, int rc, const char *key,
                    const char *fmt, va_list ap)
{
    char msg[512];

    if (!p->err || !p->err_len)
        return rc;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (key && *key)
        snprintf(p->err, p->err_len, "%s: %s: %s", p->source, key, msg);
    else
        snprintf(p->err, p->err_len, "%s: %s", p->source, msg);
    cj_sanitize(p->err);
    return rc;
}

/* Writes "<source>: <key>: <message>" and returns -EINVAL. */
int cj_fail(struct cj_parser *p, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cj_vfail(p, -EINVAL, key, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int cj_fail_rc(struct cj_parser *p, int rc, const char *key, const char *fmt,
               ...)
{
    va_list ap;

    va_start(ap, fmt);
    cj_vfail(p, rc, key, fmt, ap);
    va_end(ap);
    return rc;
}

int cj_fail_nomem(struct cj_parser *p)
{
    if (p->err && p->err_len)
        snprintf(p->err, p->err_len, "%s: out of memory", p->source);
    return -ENOMEM;
}

/* The JSON text of (v), compact and cut at CJ_SHOW_MAX bytes. */
static void value_show(const cJSON *v, char *buf, size_t len)
{
    char *s;

    /* cJSON reads 1e309 as infinity, which it prints as null. */
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
        snprintf(buf, len, "a number out of range");
        return;
    }
    s = cJSON_PrintUnformatted(v);
    if (!s)
        snprintf(buf, len, "a JSON value");
    else if (strlen(s) > CJ_SHOW_MAX)
        snprintf(buf, len, "%.*s...", CJ_SHOW_MAX, s);
    else
        snprintf(buf, len, "%s", s);
    cJSON_free(s);
}

int cj_fail_type(struct cj_parser *p, const char *key, const char *want,
                 const cJSON *v)
{
    char shown[CJ_SHOW_MAX + 8];

    value_show(v, shown, sizeof(shown));
    return cj_fail(p, key, "expected %s, got %s", want, shown);
}

void cj_key_child(char *dst, const char *parent, const char *name)
{
    if (snprintf(dst, CJ_KEY_MAX, "%s%s%s", parent, *parent ? "." : "", name) >=
        CJ_KEY_MAX)
        strcpy(dst + CJ_KEY_MAX - 4, "...");
}

void cj_key_index(char *dst, const char *parent, int i)
{
    if (snprintf(dst, CJ_KEY_MAX, "%s[%d]", parent, i) >= CJ_KEY_MAX)
        strcpy(dst + CJ_KEY_MAX - 4, "...");
}

/* "boot_source" for "boot-source": the same name but for '-'/'_' or case,
 * the commonest slip when writing a config by hand. */
static char key_fold(char c)
{
    if (c == '_')
        return '-';
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int cj_key_similar(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (key_fold(*a) != key_fold(*b))
            return 0;
    return !*a && !*b;
}

static int cj_fail_unknown(struct cj_parser *p, const char *key,
                           const struct cj_key *keys, size_t n,
                           const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (cj_key_similar(name, keys[i].name))
            return cj_fail(p, key, "unknown key (did you mean \"%s\"?)",
                           keys[i].name);
    return cj_fail(p, key, "unknown key");
}

/* Opens (json) as the object at (path) whose keys are (keys)[0..n): rejects
 * anything else, unknown keys, duplicate keys and unsupported options. */
int cj_obj_open(struct cj_parser *p, struct cj_obj *o, const cJSON *json,
                const char *path, const struct cj_key *keys, size_t n)
{
    char key[CJ_KEY_MAX];
    uint32_t seen = 0;
    size_t i;

    assert(n <= CJ_OBJ_MAX_KEYS && n <= 32); /* val[] and seen */
    memset(o, 0, sizeof(*o));
    o->p = p;
    o->keys = keys;
    snprintf(o->path, sizeof(o->path), "%s", path);
    if (!cJSON_IsObject(json))
        return cj_fail_type(p, path, "an object", json);
    for (const cJSON *c = json->child; c; c = c->next) {
        cj_key_child(key, path, c->string);
        for (i = 0; i < n && strcmp(c->string, keys[i].name); i++)
            ;
        if (i == n)
            return cj_fail_unknown(p, key, keys, n, c->string);
        if (seen & (1u << i))
            return cj_fail(p, key, "duplicate key");
        seen |= 1u << i;
        if (cJSON_IsNull(c))
            continue;
        if (keys[i].kind == CJ_KEY_UNSUPPORTED)
            return cj_fail(p, key, "not supported by vmrun yet");
        o->val[i] = c;
    }
    return 0;
}

void cj_obj_key(const struct cj_obj *o, size_t i, char *key)
{
    cj_key_child(key, o->path, o->keys[i].name);
}

static int cj_obj_missing(const struct cj_obj *o, size_t i)
{
    char key[CJ_KEY_MAX];

    cj_obj_key(o, i, key);
    return cj_fail(o->p, key, "missing");
}

/* Optional boolean: (out) is left alone when the key is absent. */
int cj_obj_bool(const struct cj_obj *o, size_t i, bool *out)
{
    char key[CJ_KEY_MAX];

    if (!o->val[i])
        return 0;
    if (!cJSON_IsBool(o->val[i])) {
        cj_obj_key(o, i, key);
        return cj_fail_type(o->p, key, "true or false", o->val[i]);
    }
    *out = cJSON_IsTrue(o->val[i]);
    return 0;
}

/* Integer in [min, max]; 1.5, 1e300 and -1 are all rejected.  (max) stays
 * below 2^53, where doubles hold every integer exactly. */
int cj_obj_uint(const struct cj_obj *o, size_t i, bool required, uint64_t min,
                uint64_t max, uint64_t *out)
{
    const cJSON *v = o->val[i];
    char key[CJ_KEY_MAX], want[64];
    double d;

    if (!v)
        return required ? cj_obj_missing(o, i) : 0;
    d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (d >= (double)min && d <= (double)max && d == (double)(uint64_t)d) {
        *out = (uint64_t)d;
        return 0;
    }
    cj_obj_key(o, i, key);
    snprintf(want, sizeof(want), "an integer %llu..%llu",
             (unsigned long long)min, (unsigned long long)max);
    /* Doubles beyond 2^63 are all integers. */
    if (cJSON_IsNumber(v) && isfinite(d) &&
        (d >= 9.2e18 || d <= -9.2e18 || d == (double)(long long)d)) {
        char shown[CJ_SHOW_MAX + 8];

        value_show(v, shown, sizeof(shown));
        return cj_fail(o->p, key, "expected %s, got %s (out of range)", want,
                       shown);
    }
    return cj_fail_type(o->p, key, want, v);
}

/* String of min..max bytes; (*out) points into the JSON tree. */
int cj_obj_str(const struct cj_obj *o, size_t i, bool required, size_t min,
               size_t max, const char **out)
{
    const cJSON *v = o->val[i];
    char key[CJ_KEY_MAX], want[64];
    size_t len;

    if (!v)
        return required ? cj_obj_missing(o, i) : 0;
    len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if (cJSON_IsString(v) && len >= min && len <= max) {
        *out = v->valuestring;
        return 0;
    }
    cj_obj_key(o, i, key);
    if (!cJSON_IsString(v))
        return cj_fail_type(o->p, key, "a string", v);
    snprintf(want, sizeof(want), "a string of %zu..%zu bytes", min, max);
    return cj_fail_type(o->p, key, want, v);
}

/* Optional string among (names)[0..n); (*out) gets its index. */
int cj_obj_enum(const struct cj_obj *o, size_t i, const char *const *names,
                size_t n, int *out)
{
    const cJSON *v = o->val[i];
    char key[CJ_KEY_MAX], want[128] = "one of";
    size_t k;

    if (!v)
        return 0;
    for (k = 0; cJSON_IsString(v) && k < n; k++)
        if (!strcmp(v->valuestring, names[k])) {
            *out = (int)k;
            return 0;
        }
    for (k = 0; k < n; k++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s \"%s\"",
                 k ? "," : "", names[k]);
    cj_obj_key(o, i, key);
    return cj_fail_type(o->p, key, want, v);
}

int cj_strdup(struct cj_parser *p, const char *s, char **out)
{
    *out = s ? strdup(s) : NULL;
    return s && !*out ? cj_fail_nomem(p) : 0;
}

/* (rel) against the config's folder unless it is absolute. */
static char *cj_path_join(const struct cj_parser *p, const char *rel)
{
    char *s;

    if (rel[0] == '/' || !p->base_dir)
        return strdup(rel);
    return asprintf(&s, "%s/%s", p->base_dir, rel) < 0 ? NULL : s;
}

/* An existing file the VM opens with (amode) (R_OK or R_OK|W_OK); stored as
 * its realpath() so the VM does not depend on vmrun's cwd. */
int cj_path_existing(struct cj_parser *p, const char *key, const char *given,
                     int amode, char **out)
{
    char *joined = cj_path_join(p, given), ebuf[128];
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (!joined)
        return cj_fail_nomem(p);
    if (access(joined, amode) || stat(joined, &st) ||
        !(*out = realpath(joined, NULL)))
        rc = cj_fail(p, key, "cannot open '%s': %s", given,
                     cj_strerror(errno, ebuf, sizeof(ebuf)));
    else if (S_ISDIR(st.st_mode))
        rc = cj_fail(p, key, "'%s' is a directory, expected a file", given);
    else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        /* A FIFO would block vmrun in open() until a writer came. */
        rc =
            cj_fail(p, key, "'%s' is a FIFO or socket, expected a file", given);
    free(joined);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* A file vmrun creates: only its folder must exist. */
int cj_path_new_file(struct cj_parser *p, const char *key, const char *given,
                     char **out)
{
    char *joined = cj_path_join(p, given), *slash, *dir = NULL, ebuf[128];
    const char *base;
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (!joined)
        return cj_fail_nomem(p);
    slash = strrchr(joined, '/');
    base = slash ? slash + 1 : joined;
    if (slash)
        *slash = '\0'; /* joined is now the folder, "" for "/" */
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        rc = cj_fail(p, key, "'%s' does not name a file", given);
    else if (!(dir = realpath(!slash ? "." : *joined ? joined : "/", NULL)))
        rc = cj_fail(p, key, "cannot use the folder of '%s': %s", given,
                     cj_strerror(errno, ebuf, sizeof(ebuf)));
    else if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        rc = cj_fail(p, key, "the folder of '%s' is not a directory", given);
    else if (asprintf(out, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
        rc = cj_fail_nomem(p), *out = NULL;
    else if (!stat(*out, &st) && S_ISDIR(st.st_mode))
        rc = cj_fail(p, key, "'%s' is a directory, expected a file", given);
    if (rc && *out) {
        free(*out);
        *out = NULL;
    }
    free(dir);
    free(joined);
    return rc;
}

/* A path key of (o) naming an existing file, opened later with (amode). */
int cj_obj_file(const struct cj_obj *o, size_t i, bool required, int amode,
                char **out)
{
    const char *given = NULL;
    char key[CJ_KEY_MAX];
    int rc = cj_obj_str(o, i, required, 1, PATH_MAX - 1, &given);

    if (rc || !given)
        return rc;
    cj_obj_key(o, i, key);
    return cj_path_existing(o->p, key, given, amode, out);
}

/* Line and column (1-based, in bytes) of (at) in (text). */
/* Up to 16 bytes of [from, to) inside one line, blanks trimmed. */
static void text_excerpt(char *dst, const char *from, const char *to)
{
    while (from < to && (*from == ' ' || *from == '\t'))
        from++;
    while (to > from && (to[-1] == ' ' || to[-1] == '\t'))
        to--;
    snprintf(dst, 17, "%.*s", (int)(to - from < 16 ? to - from : 16), from);
}

int cj_fail_syntax(struct cj_parser *p, const char *text, const char *at)
{
    const char *bol = text, *eol;
    unsigned int line = 1;
    char near[17];

    for (const char *c = text; c < at && *c; c++)
        if (*c == '\n')
            line++, bol = c + 1;
    eol = at + strcspn(at, "\r\n");
    /* cJSON stops at or just past the bad byte: show what follows, or
     * what precedes when the line ends there. */
    text_excerpt(near, at, eol);
    if (!near[0])
        text_excerpt(near, at - bol > 16 ? at - 16 : bol, at);
    if (!*at)
        return cj_fail(p, NULL,
                       "line %u, column %u: invalid JSON (unexpected end)",
                       line, (unsigned int)(at - bol) + 1);
    return cj_fail(p, NULL, "line %u, column %u: invalid JSON near '%s'", line,
                   (unsigned int)(at - bol) + 1, near);
}

/* ---- the JSON text before cJSON reads it ---- */

/* One open object or array while scanning: for the key path of a
 * message. */
struct scan_level {
    char type;       /* '{' or '[' */
    int index;       /* of the current array element */
    const char *key; /* of the current object member (raw JSON text) */
    size_t key_len;
};

/* The key path of the string being scanned at (depth): "(a key)" when
 * the string is a key itself. */
static void scan_path(char *dst, const struct scan_level *lv, int depth,
                      bool in_key)
{
    char name[CJ_KEY_MAX], tmp[CJ_KEY_MAX];

    dst[0] = '\0';
    for (int i = 0; i < depth; i++) {
        if (i == depth - 1 && in_key)
            break;
        strcpy(tmp, dst);
        if (lv[i].type == '[') {
            cj_key_index(dst, tmp, lv[i].index);
        } else if (lv[i].key) {
            snprintf(name, sizeof(name), "%.*s", (int)lv[i].key_len, lv[i].key);
            cj_key_child(dst, tmp, name);
        }
    }
}

/* Line and column (1-based) of (at) in (text), for a message. */
static int scan_fail_at(struct cj_parser *p, const char *text, const char *at,
                        const char *what)
{
    unsigned int line = 1, col = 1;

    for (const char *c = text; c < at; c++, col++)
        if (*c == '\n')
            line++, col = 0;
    return cj_fail(p, NULL, "line %u, column %u: %s", line, col, what);
}

/* What cJSON gets wrong silently: nesting deeper than CJ_DEPTH_MAX (it
 * recurses, and its own limit says only "invalid JSON"), and \u0000 in a
 * string (it keeps the string up to the NUL, so "/k\u0000/x" would read
 * as "/k").  Other syntax is left to cJSON. */
static int cj_scan(struct cj_parser *p, const char *text)
{
    struct scan_level lv[CJ_DEPTH_MAX];
    const char *str = NULL; /* start of the string being read */
    bool want_key = false, in_key = false;
    char path[CJ_KEY_MAX], what[64];
    int depth = 0, max = p->depth_max > 0 && p->depth_max < CJ_DEPTH_MAX
                             ? p->depth_max
                             : CJ_DEPTH_MAX;

    for (const char *c = text; *c; c++) {
        if (str) {
            if (*c == '\\' && c[1]) {
                if (strncmp(c + 1, "u0000", 5) != 0) {
                    c++;
                    continue;
                }
                scan_path(path, lv, depth, in_key);
                return cj_fail(p, path, "NUL in JSON %s (\\u0000)",
                               in_key ? "key" : "string");
            }
            if (*c == '"') {
                if (in_key)
                    lv[depth - 1].key = str, lv[depth - 1].key_len = c - str;
                str = NULL;
            }
            continue;
        }
        switch (*c) {
        case '{':
        case '[':
            if (depth == max) {
                snprintf(what, sizeof(what),
                         "JSON nested deeper than %d levels (too deep)", max);
                return scan_fail_at(p, text, c, what);
            }
            lv[depth++] = (struct scan_level){.type = *c};
            want_key = *c == '{';
            break;
        case '}':
        case ']':
            depth -= depth > 0;
            want_key = false;
            break;
        case ',':
            if (depth && lv[depth - 1].type == '[')
                lv[depth - 1].index++;
            want_key = depth && lv[depth - 1].type == '{';
            break;
        case '"':
            str = c + 1;
            in_key = want_key;
            want_key = false;
            break;
        }
    }
    return 0;
}

/* A number too large for a double: cJSON reads it as infinity, which it
 * would print as null (the API server prints documents it parsed). */
static int cj_check_numbers(struct cj_parser *p, const cJSON *v,
                            const char *path)
{
    char key[CJ_KEY_MAX];
    int i = 0, rc;

    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
        return cj_fail(p, path, "number out of range");
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        if (cJSON_IsObject(v))
            cj_key_child(key, path, c->string);
        else
            cj_key_index(key, path, i);
        rc = cj_check_numbers(p, c, key);
        if (rc)
            return rc;
    }
    return 0;
}

int cj_parse(struct cj_parser *p, const char *text, cJSON **out)
{
    const char *end = NULL;
    int rc = cj_scan(p, text);

    *out = NULL;
    if (rc)
        return rc;
    /* The parse end, unlike cJSON_GetErrorPtr(), is not a global. */
    *out = cJSON_ParseWithOpts(text, &end, 1);
    if (!*out)
        return cj_fail_syntax(p, text, end ? end : text);
    rc = cj_check_numbers(p, *out, ""); /* depth bounded by cj_scan() */
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}
