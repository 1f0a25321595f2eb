/* fuzz_api.c - libFuzzer harness for the REST API request handlers
 * (src/cli/api_handler.c, src/cli/api_doc.c and, through them, the config
 * validator) without a VM or HTTP: a sequence of requests fed to
 * api_handler_request() on one handler, as src/cli/api_server.c does.
 *
 * The input: one options byte (what the fake VM's start, pause and resume
 * return; whether the handler starts as "booted from a file"), then
 * requests until the input ends (at most 24): a method selector, a path
 * selector (one of the spec's paths, possibly with an input-chosen id or
 * suffix, or raw bytes), a body length and the body.
 *
 * Checked beyond the sanitizers: every request is answered (0, never
 * -ENOMEM here) with 200 and a JSON body, 204 and none, or 400 and
 * {"fault_message": one line}; the VM is started at most once and only
 * by an InstanceStart answered 204; after a start every pre-boot PUT is
 * refused; a state-changing request leaves one audit line; GET /vm/config
 * always answers a JSON object.
 *
 * The same input is also a raw request head for api_http_check_head()
 * (src/cli/api_http.c): a head it accepts ends in CRLF CRLF and holds no NUL,
 * no bare LF and one Content-Length at most, its request line no "%00"; a
 * prefix of it is never accepted, a refused prefix stays refused, and a
 * head checked in two pieces (api_http_check_head_more()) gets the answer
 * it gets in one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/api_handler.h"
#include "cli/api_http.h"
#include "fuzz_common.h"

#define MAX_REQS 24
#define PATH_MAX_LEN 96

struct api_run {
    struct api_handler h;
    int start_rc, pause_rc, resume_rc;
    int starts, logs, paused;
};

static int fake_start(void *opaque, const struct vmrun_config *cfg)
{
    struct api_run *r = opaque;

    FUZZ_CHECK(cfg != NULL);
    if (r->start_rc == 0)
        r->starts++;
    return r->start_rc;
}

static int fake_pause(void *opaque)
{
    struct api_run *r = opaque;

    if (r->pause_rc == 0 && r->paused)
        return -EALREADY;
    r->paused |= r->pause_rc == 0;
    return r->pause_rc;
}

static int fake_resume(void *opaque)
{
    struct api_run *r = opaque;

    if (r->resume_rc == 0 && !r->paused)
        return -EALREADY;
    r->paused &= r->resume_rc != 0;
    return r->resume_rc;
}

static int fake_is_paused(void *opaque)
{
    return ((struct api_run *)opaque)->paused;
}

static int fake_cad(void *opaque)
{
    (void)opaque;
    return 0;
}

static void fake_log(void *opaque, enum vmrun_log_level level, const char *msg)
{
    struct api_run *r = opaque;

    (void)level;
    FUZZ_CHECK(msg && !strchr(msg, '\n'));
    r->logs++;
}

static const struct api_ops fake_ops = {
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_resume,
    .is_paused = fake_is_paused,
    .ctrl_alt_del = fake_cad,
    .log = fake_log,
};

static const char *const methods[] = {"GET",  "PUT", "PATCH", "DELETE", "POST",
                                      "HEAD", "put", "",      "OPTIONS"};

static const char *const paths[] = {
    "/",
    "/version",
    "/vm/config",
    "/machine-config",
    "/boot-source",
    "/drives/",
    "/network-interfaces/",
    "/entropy",
    "/serial",
    "/actions",
    "/vm",
    "/logger",
    "/metrics",
    "/balloon",
    "/balloon/statistics",
    "/vsock",
    "/mmds",
    "/snapshot/create",
    "/cpu-config",
    "/drives",
    "",
    "/drives//x",
    "//",
    "/vm/",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The path of one request: a known one, maybe followed by input bytes
 * (an id), or only input bytes.  NUL-terminated in (buf). */
static void read_path(struct fz *f, char *buf)
{
    uint8_t sel = fz_u8(f), n = fz_u8(f) % (PATH_MAX_LEN - 40);
    const uint8_t *p;
    size_t len = 0;

    if (sel < 0xf0) {
        const char *known = paths[sel % NELEM(paths)];

        len = strlen(known);
        memcpy(buf, known, len);
        if (!(sel & 0x80))
            n = 0;
    }
    n = (uint8_t)fz_take(f, n, &p);
    for (size_t i = 0; i < n; i++)
        buf[len + i] = p[i] ? (char)p[i] : 'x'; /* paths have no NUL */
    buf[len + n] = '\0';
}

static bool is_pre_boot_put(const char *method, const char *path)
{
    static const char *const pre[] = {"/machine-config", "/boot-source",
                                      "/entropy", "/serial"};

    if (strcmp(method, "PUT") && strcmp(method, "PATCH"))
        return false;
    for (size_t i = 0; i < NELEM(pre); i++)
        if (strcmp(path, pre[i]) == 0)
            return !strcmp(method, "PUT") || i == 0;
    return !strcmp(method, "PUT") &&
           (!strncmp(path, "/drives/", 8) ||
            !strncmp(path, "/network-interfaces/", 20));
}

/* What every answer must look like. */
static void check_answer(const struct api_response *out)
{
    cJSON *j, *msg;

    if (out->status == 204) {
        FUZZ_CHECK(out->body == NULL);
        return;
    }
    FUZZ_CHECK(out->status == 200 || out->status == 400);
    FUZZ_CHECK(out->body != NULL);
    j = cJSON_Parse(out->body);
    FUZZ_CHECK(cJSON_IsObject(j));
    if (out->status == 400) {
        msg = cJSON_GetObjectItemCaseSensitive(j, "fault_message");
        FUZZ_CHECK(cJSON_IsString(msg) && msg->valuestring[0] &&
                   !strchr(msg->valuestring, '\n'));
    }
    cJSON_Delete(j);
}

static void one_request(struct api_run *r, struct fz *f)
{
    static char big[API_BODY_MAX + 2];
    const char *method = methods[fz_u8(f) % NELEM(methods)];
    char path[PATH_MAX_LEN];
    struct api_response out;
    uint16_t blen;
    const uint8_t *body;
    size_t len;
    bool was_started = r->h.started, stateful = strcmp(method, "GET") != 0;
    int starts = r->starts, logs = r->logs;

    read_path(f, path);
    blen = fz_u16(f);
    if (blen == 0xffff) { /* past the body limit */
        memset(big, ' ', sizeof(big));
        big[0] = '{';
        big[sizeof(big) - 1] = '}';
        body = (const uint8_t *)big;
        len = sizeof(big);
    } else {
        len = fz_take(f, blen % 4096, &body);
    }
    FUZZ_CHECK(api_handler_request(&r->h, method, path, (const char *)body, len,
                                   &out) == 0);
    check_answer(&out);
    FUZZ_CHECK(r->starts <= 1);
    if (r->starts > starts)
        FUZZ_CHECK(out.status == 204 && !was_started && r->h.started);
    if (was_started && is_pre_boot_put(method, path))
        FUZZ_CHECK(out.status == 400);
    FUZZ_CHECK(r->logs == logs + (stateful ? 1 : 0));
    free(out.body);
}

static void check_config_view(struct api_run *r)
{
    struct api_response out;

    FUZZ_CHECK(api_handler_request(&r->h, "GET", "/vm/config", NULL, 0, &out) ==
               0);
    FUZZ_CHECK(out.status == 200);
    check_answer(&out);
    free(out.body);
}

static size_t count(const char *s, size_t n, const char *what)
{
    size_t k = 0, w = strlen(what);

    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(s + i, what, w) == 0)
            k++;
    return k;
}

static void check_head(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *why = NULL;
    int n = api_http_check_head(s, size, API_BODY_MAX, &why), half;
    struct api_http_scan sc = {0};

    FUZZ_CHECK(n >= -1 && (size_t)(n < 0 ? 0 : n) <= size);
    FUZZ_CHECK(n != -1 || why != NULL);
    if (n > 0) {
        const char *eol = memmem(s, (size_t)n, "\r\n", 2);
        /* The target lies between the line's two spaces; the method is a
         * token and may hold "%00" (it is never decoded). */
        const char *target = memchr(s, ' ', (size_t)(eol - s));

        FUZZ_CHECK(n >= 4 && memcmp(s + n - 4, "\r\n\r\n", 4) == 0);
        FUZZ_CHECK(!memchr(s, '\0', (size_t)n));
        FUZZ_CHECK(target != NULL);
        FUZZ_CHECK(count(target, (size_t)(eol - target), "%00") == 0);
        FUZZ_CHECK(count(s, (size_t)n, "\r\n") == count(s, (size_t)n, "\n"));
        FUZZ_CHECK(count(s, (size_t)n, "\ncontent-length:") <= 1);
    }
    half = api_http_check_head_more(&sc, s, size / 2, API_BODY_MAX, &why);
    if (n > 0 && (size_t)n > size / 2)
        FUZZ_CHECK(half == 0);
    if (half < 0)
        FUZZ_CHECK(n < 0);
    /* Resumed after the first half: the same answer as in one go. */
    if (half == 0)
        FUZZ_CHECK(api_http_check_head_more(&sc, s, size, API_BODY_MAX, &why) ==
                   n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int rcs[4] = {0, -EINVAL, -ENOMEM, -EALREADY};
    struct fz f = {data, size};
    struct api_run r = {0};
    uint8_t opts;

    check_head(data, size);
    opts = fz_u8(&f);

    r.start_rc = rcs[opts & 3];
    r.pause_rc = rcs[(opts >> 2) & 3];
    r.resume_rc = rcs[(opts >> 4) & 3];
    if (api_handler_init(&r.h, &fake_ops, &r) < 0)
        return 0;
    if (opts & 0x40)
        FUZZ_CHECK(api_handler_set_booted(&r.h, opts & 0x80 ? "{\"drives\": []}"
                                                            : NULL) == 0);
    for (int i = 0; i < MAX_REQS && f.n; i++)
        one_request(&r, &f);
    check_config_view(&r);
    api_handler_fini(&r.h);
    return 0;
}
