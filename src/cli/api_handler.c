/* api_handler.c - Firecracker API requests turned into config edits and VM
 * actions, independent of HTTP (see api_handler.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/api_doc.h"
#include "cli/api_handler.h"
#include "core/config_json.h"
#include "core/util.h"

#define FAULT_MAX 512

/* One request being handled. */
struct req {
    struct api_handler *h;
    const char *method;
    const char *path;
    const char *id; /* the {drive_id} or {iface_id} of the path */
    cJSON *body;    /* parsed body of a PUT or PATCH, NULL otherwise */
    struct api_response *out;
    char fault[FAULT_MAX];
};

typedef int (*route_fn)(struct req *r);

struct route {
    const char *method;
    const char *path; /* ending in '/': an {id} follows */
    route_fn fn;
    bool pre_boot; /* refused once the VM has started */
};

/* ---- answers ---- */

static int reply_json(struct req *r, unsigned int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

    cJSON_Delete(obj);
    if (!text)
        return -ENOMEM;
    r->out->status = status;
    r->out->body = text;
    return 0;
}

static int reply_none(struct req *r)
{
    r->out->status = 204;
    r->out->body = NULL;
    return 0;
}

/* Request text (a path, a method, a body's key) echoed into a message or
 * the log must not start a new line there: control bytes become '?'. */
static void text_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* HTTP 400 with {"fault_message": ...}; the message is kept for the log. */
__attribute__((format(printf, 2, 3))) static int fault(struct req *r,
                                                       const char *fmt, ...)
{
    cJSON *obj = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->fault, sizeof(r->fault), fmt, ap);
    va_end(ap);
    text_printable(r->fault);
    if (!obj || !cJSON_AddStringToObject(obj, "fault_message", r->fault)) {
        cJSON_Delete(obj);
        return -ENOMEM;
    }
    return reply_json(r, 400, obj);
}

/* ---- the config document ---- */

/* Validates (doc) and makes it the current document (taking it), or
 * answers 400 naming the field and frees it. */
static int doc_commit(struct req *r, cJSON *doc)
{
    struct vmrun_config *cfg = NULL;
    char err[FAULT_MAX];
    int rc = doc ? api_doc_parse(doc, true, r->h->host_mem_mib, &cfg, err,
                                 sizeof(err))
                 : -ENOMEM;

    vmrun_config_free(cfg);
    if (rc < 0) {
        cJSON_Delete(doc);
        return rc == -EINVAL ? fault(r, "%s", err) : rc;
    }
    cJSON_Delete(r->h->doc);
    r->h->doc = doc;
    return reply_none(r);
}

/* The current document with (key) replaced by the request body. */
static int put_section(struct req *r, const char *key)
{
    cJSON *doc = cJSON_Duplicate(r->h->doc, 1);
    cJSON *val = cJSON_Duplicate(r->body, 1);

    if (!doc || !val) {
        cJSON_Delete(doc);
        cJSON_Delete(val);
        return -ENOMEM;
    }
    api_doc_set(doc, key, val);
    return doc_commit(r, doc);
}

/* PUT /drives/{drive_id}: the body's (id_key), when given, must be the
 * path's id. */
static int put_entry(struct req *r, const char *key, const char *id_key)
{
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(r->body, id_key);
    cJSON *doc, *val;

    if (given && !cJSON_IsString(given))
        return fault(r, "%s: expected a string", id_key);
    if (given && strcmp(given->valuestring, r->id) != 0)
        return fault(r, "%s: '%s' in the body does not match '%s' in the path",
                     id_key, given->valuestring, r->id);
    doc = cJSON_Duplicate(r->h->doc, 1);
    val = cJSON_Duplicate(r->body, 1);
    if (!doc || !val ||
        (!given && !cJSON_AddStringToObject(val, id_key, r->id)) ||
        api_doc_put_entry(doc, key, id_key, r->id, val) < 0) {
        cJSON_Delete(doc);
        cJSON_Delete(val);
        return -ENOMEM;
    }
    return doc_commit(r, doc);
}

/* ---- request bodies ---- */

/* Answers a fault and returns 1 (or -ENOMEM): for helpers whose 0 means
 * "go on". */
#define ANSWERED(call) ((call) < 0 ? -ENOMEM : 1)

/* The body must hold only (keys)[0..n), each once; 1: answered. */
static int body_check_keys(struct req *r, const char *const *keys, size_t n)
{
    const cJSON *it, *prev;

    cJSON_ArrayForEach(it, r->body)
    {
        size_t i = 0;

        while (i < n && strcmp(keys[i], it->string) != 0)
            i++;
        if (i == n)
            return ANSWERED(fault(r, "%s: unknown key", it->string));
        for (prev = r->body->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0)
                return ANSWERED(fault(r, "%s: repeated key", it->string));
    }
    return 0;
}

/* The one string member (key) of a body that has only it, as an index
 * into (names)[0..n); a fault answer otherwise (returns 1). */
static int body_enum(struct req *r, const char *key, const char *const *names,
                     size_t n, size_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, key);
    char list[128] = "";
    int rc = body_check_keys(r, &key, 1);

    if (rc)
        return rc;
    for (*out = 0; *out < n; (*out)++) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, names[*out]) == 0)
            return 0;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                 *out ? ", " : "", names[*out]);
    }
    if (!v || cJSON_IsNull(v))
        return ANSWERED(fault(r, "%s: missing", key));
    return ANSWERED(fault(r, "%s: expected one of %s", key, list));
}

/* ---- endpoints ---- */

static int get_instance(struct req *r)
{
    cJSON *o = cJSON_CreateObject();
    const char *state = "Not started";

    if (r->h->started)
        state = r->h->ops->is_paused(r->h->opaque) ? "Paused" : "Running";
    if (!o || !cJSON_AddStringToObject(o, "id", "anonymous-instance") ||
        !cJSON_AddStringToObject(o, "state", state) ||
        !cJSON_AddStringToObject(o, "vmm_version", VMRUN_VERSION) ||
        !cJSON_AddStringToObject(o, "app_name", "vmrun")) {
        cJSON_Delete(o);
        return -ENOMEM;
    }
    return reply_json(r, 200, o);
}

static int get_version(struct req *r)
{
    cJSON *o = cJSON_CreateObject();

    if (o && !cJSON_AddStringToObject(o, "firecracker_version", VMRUN_VERSION))
        return cJSON_Delete(o), -ENOMEM;
    return reply_json(r, 200, o);
}

static int get_vm_config(struct req *r)
{
    return reply_json(r, 200, api_doc_view(r->h->doc));
}

static int get_machine_config(struct req *r)
{
    return reply_json(r, 200, api_doc_machine_config(r->h->doc));
}

static int put_machine_config(struct req *r)
{
    return put_section(r, "machine-config");
}

/* Merges the body into the section; Firecracker's defaults stand in for
 * the required keys not set yet. */
static int patch_machine_config(struct req *r)
{
    const cJSON *cur =
        cJSON_GetObjectItemCaseSensitive(r->h->doc, "machine-config");
    cJSON *doc = cJSON_Duplicate(r->h->doc, 1);
    cJSON *mc = cur ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();

    if (!doc || !mc ||
        (!cur && (!cJSON_AddNumberToObject(mc, "vcpu_count", 1) ||
                  !cJSON_AddNumberToObject(mc, "mem_size_mib", 128))) ||
        api_doc_overlay(mc, r->body) < 0) {
        cJSON_Delete(doc);
        cJSON_Delete(mc);
        return -ENOMEM;
    }
    api_doc_set(doc, "machine-config", mc);
    return doc_commit(r, doc);
}

static int put_boot_source(struct req *r)
{
    return put_section(r, "boot-source");
}

static int put_entropy(struct req *r)
{
    return put_section(r, "entropy");
}

static int put_drive(struct req *r)
{
    return put_entry(r, "drives", "drive_id");
}

static int put_iface(struct req *r)
{
    return put_entry(r, "network-interfaces", "iface_id");
}

/* Firecracker's SerialDevice is vmrun's "vmrun.serial" with a file. */
static int put_serial(struct req *r)
{
    static const char *const keys[] = {"serial_out_path"};
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r->body, keys[0]);
    cJSON *doc, *vm, *serial;
    int rc = body_check_keys(r, keys, 1);

    if (rc)
        return rc;
    if (!cJSON_IsString(p))
        return fault(r, "serial_out_path: expected a string");
    doc = cJSON_Duplicate(r->h->doc, 1);
    vm = doc ? cJSON_GetObjectItemCaseSensitive(doc, "vmrun") : NULL;
    if (doc && !vm)
        vm = cJSON_AddObjectToObject(doc, "vmrun");
    serial = cJSON_CreateObject();
    if (!vm || !serial || !cJSON_AddStringToObject(serial, "output", "file") ||
        !cJSON_AddStringToObject(serial, "path", p->valuestring)) {
        cJSON_Delete(doc);
        cJSON_Delete(serial);
        return -ENOMEM;
    }
    api_doc_set(vm, "serial", serial);
    return doc_commit(r, doc);
}

/* vmrun's PUT /crash-dump {"crash_dump_path": PATH} is the config's
 * "vmrun.crash-dump" (docs/crash-dump.md). */
static int put_crash_dump(struct req *r)
{
    static const char *const keys[] = {"crash_dump_path"};
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r->body, keys[0]);
    cJSON *doc, *vm;
    int rc = body_check_keys(r, keys, 1);

    if (rc)
        return rc;
    if (!cJSON_IsString(p))
        return fault(r, "crash_dump_path: expected a string");
    doc = cJSON_Duplicate(r->h->doc, 1);
    vm = doc ? cJSON_GetObjectItemCaseSensitive(doc, "vmrun") : NULL;
    if (doc && !vm)
        vm = cJSON_AddObjectToObject(doc, "vmrun");
    if (!vm) {
        cJSON_Delete(doc);
        return -ENOMEM;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(vm, "crash-dump");
    if (!cJSON_AddStringToObject(vm, "crash-dump", p->valuestring)) {
        cJSON_Delete(doc);
        return -ENOMEM;
    }
    return doc_commit(r, doc);
}

static int put_metrics(struct req *r)
{
    return put_section(r, "metrics");
}

/* Validated like any section, then applied at once to the API server's
 * own messages (the VM opens the log itself at InstanceStart); if the
 * file cannot be opened after all, the old document stays. */
static int put_logger(struct req *r)
{
    struct vmrun_config *cfg = NULL;
    char err[FAULT_MAX];
    cJSON *old = cJSON_Duplicate(r->h->doc, 1);
    int rc = old ? put_section(r, "logger") : -ENOMEM;

    if (rc < 0 || r->out->status != 204 || !r->h->ops->set_logger) {
        cJSON_Delete(old);
        return rc;
    }
    rc = api_doc_parse(r->h->doc, true, r->h->host_mem_mib, &cfg, err,
                       sizeof(err));
    if (rc == 0)
        rc = r->h->ops->set_logger(r->h->opaque, cfg);
    vmrun_config_free(cfg);
    if (rc == 0) {
        cJSON_Delete(old);
        return 0;
    }
    cJSON_Delete(r->h->doc);
    r->h->doc = old;
    return fault(r, "logger.log_path: cannot open: %s",
                 open_output_strerror(rc));
}

static int not_supported(struct req *r)
{
    return fault(r, "%s %s: not supported by vmrun yet", r->method, r->path);
}

static int action_start(struct req *r)
{
    struct vmrun_config *cfg = NULL;
    char ebuf[128], err[FAULT_MAX];
    int rc;

    if (r->h->started)
        return fault(r, "InstanceStart: the VM is already running");
    rc = api_doc_parse(r->h->doc, false, r->h->host_mem_mib, &cfg, err,
                       sizeof(err));
    if (rc < 0)
        return rc == -EINVAL ? fault(r, "%s", err) : rc;
    rc = r->h->ops->start(r->h->opaque, cfg);
    vmrun_config_free(cfg);
    if (rc < 0)
        return fault(r, "InstanceStart: cannot create the VM: %s",
                     vmrun_strerror(rc, ebuf, sizeof(ebuf)));
    r->h->started = true;
    return reply_none(r);
}

static int put_actions(struct req *r)
{
    static const char *const names[] = {"InstanceStart", "SendCtrlAltDel",
                                        "FlushMetrics"};
    char ebuf[128];
    size_t i;
    int rc = body_enum(r, "action_type", names, 3, &i);

    if (rc)
        return rc;
    if (i == 0)
        return action_start(r);
    if (!r->h->started)
        return fault(r, "%s: the VM is not running (InstanceStart first)",
                     names[i]);
    rc = i == 1 ? r->h->ops->ctrl_alt_del(r->h->opaque)
                : r->h->ops->flush_metrics(r->h->opaque);
    if (rc == -ENOENT && i == 2)
        return fault(r, "FlushMetrics: metrics: not configured (PUT /metrics "
                        "before InstanceStart)");
    if (rc < 0)
        return fault(r, "%s: %s", names[i],
                     strerror_r(-rc, ebuf, sizeof(ebuf)));
    return reply_none(r);
}

/* Paused/Resumed is a desired state: asking for the current one is not an
 * error. */
static int patch_vm(struct req *r)
{
    static const char *const names[] = {"Paused", "Resumed"};
    char ebuf[128];
    size_t i;
    int rc = body_enum(r, "state", names, 2, &i);

    if (rc)
        return rc;
    if (!r->h->started)
        return fault(r, "state: the VM is not running (InstanceStart first)");
    rc = i == 0 ? r->h->ops->pause(r->h->opaque)
                : r->h->ops->resume(r->h->opaque);
    if (rc == -ESHUTDOWN) /* vmrun_pause(): it exited meanwhile */
        return fault(r, "state: cannot set %s: the guest has stopped",
                     names[i]);
    if (rc < 0 && rc != -EALREADY)
        return fault(r, "state: cannot set %s: %s", names[i],
                     strerror_r(-rc, ebuf, sizeof(ebuf)));
    return reply_none(r);
}

/* ---- snapshots (docs/snapshot.md) ---- */

/* (key) of the body as a string, or absent (NULL) when optional; 1 after a
 * fault answer. */
static int body_str(struct req *r, const cJSON *obj, const char *key,
                    bool required, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if ((!v || cJSON_IsNull(v)) && !required)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return ANSWERED(fault(r, "%s: %s", key,
                              v ? "expected a non-empty string" : "missing"));
    *out = v->valuestring;
    return 0;
}

static int body_bool(struct req *r, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, key);

    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return ANSWERED(fault(r, "%s: expected true or false", key));
    *out = cJSON_IsTrue(v);
    return 0;
}

static int put_snapshot_create(struct req *r)
{
    static const char *const keys[] = {"snapshot_type", "snapshot_path",
                                       "mem_file_path", "version"};
    static const char *const types[] = {"Full", "Diff"};
    const char *type = NULL, *state, *mem;
    char ebuf[128];
    int rc = body_check_keys(r, keys, 4), t = -1;

    if (rc == 0)
        rc = body_str(r, r->body, "snapshot_type", false, &type);
    if (rc == 0)
        rc = body_str(r, r->body, "snapshot_path", true, &state);
    if (rc == 0)
        rc = body_str(r, r->body, "mem_file_path", true, &mem);
    if (rc)
        return rc;
    for (int i = 0; i < 2; i++)
        if (!type || strcmp(type, types[i]) == 0)
            t = t < 0 ? i : t;
    if (t < 0)
        return fault(r, "snapshot_type: expected Full or Diff");
    if (!r->h->started)
        return fault(r, "snapshot/create: the VM is not running");
    if (!r->h->ops->is_paused(r->h->opaque))
        return fault(r, "snapshot/create: the VM must be paused first "
                        "(PATCH /vm {\"state\": \"Paused\"})");
    rc = r->h->ops->snapshot_create(r->h->opaque, (enum vmrun_snapshot_type)t,
                                    state, mem);
    if (rc < 0)
        return fault(r, "snapshot/create: %s (see the log)",
                     strerror_r(-rc, ebuf, sizeof(ebuf)));
    return reply_none(r);
}

/* network_overrides (Firecracker), drive_overrides and console_overrides
 * (vmrun): arrays of {id_key, val_key} objects, as "ID=VALUE" strings in
 * (out), in the order of the array (the library's messages name entries
 * by their index).  An id holding '=' names no device. */
static int body_overrides(struct req *r, const char *key, const char *id_key,
                          const char *val_key, char ***out, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->body, key), *it;
    int count = cJSON_GetArraySize(arr);

    *out = NULL;
    *n = 0;
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr) || count > 64)
        return ANSWERED(fault(r, "%s: expected an array of objects", key));
    *out = calloc(count + 1, sizeof(char *));
    if (!*out)
        return -ENOMEM;
    cJSON_ArrayForEach(it, arr)
    {
        const char *id, *val;
        int rc = body_str(r, it, id_key, true, &id);

        if (rc == 0)
            rc = body_str(r, it, val_key, true, &val);
        if (rc)
            return rc;
        if (strchr(id, '='))
            return ANSWERED(
                fault(r, "%s[%zu].%s: must not contain '='", key, *n, id_key));
        if (asprintf(&(*out)[(*n)++], "%s=%s", id, val) < 0) {
            (*out)[--(*n)] = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int snapshot_load_mem(struct req *r, const char **mem)
{
    const cJSON *be = cJSON_GetObjectItemCaseSensitive(r->body, "mem_backend");
    const char *type;
    int rc;

    if (!be || cJSON_IsNull(be))
        return body_str(r, r->body, "mem_file_path", true, mem);
    if (!cJSON_IsObject(be))
        return ANSWERED(fault(r, "mem_backend: expected an object"));
    rc = body_str(r, be, "backend_type", true, &type);
    if (rc == 0 && strcmp(type, "File") != 0)
        return ANSWERED(fault(r, "mem_backend.backend_type: only \"File\" is "
                                 "supported"));
    return rc ? rc : body_str(r, be, "backend_path", true, mem);
}

static int snapshot_load_call(struct req *r, struct vmrun_restore *ro)
{
    char err[FAULT_MAX] = "";
    int rc;

    rc = r->h->ops->snapshot_load(r->h->opaque, ro, err, sizeof(err));
    if (rc < 0)
        return fault(r, "snapshot/load: %s",
                     err[0] ? err : strerror_r(-rc, err, sizeof(err)));
    r->h->started = true;
    return reply_none(r);
}

static int put_snapshot_load(struct req *r)
{
    static const char *const keys[] = {
        "snapshot_path",     "mem_backend",           "mem_file_path",
        "track_dirty_pages", "enable_diff_snapshots", "resume_vm",
        "network_overrides", "drive_overrides",       "console_overrides"};
    struct vmrun_restore ro = {.track_dirty_pages = -1,
                               .names = VMRUN_RESTORE_NAMES_API};
    char **taps = NULL, **drives = NULL, **consoles = NULL;
    int rc = body_check_keys(r, keys, 9);

    if (rc == 0 && (r->h->started || r->h->doc->child))
        return fault(r, "snapshot/load: only on a fresh vmrun (nothing "
                        "configured, not started)");
    if (rc == 0)
        rc = body_str(r, r->body, "snapshot_path", true, &ro.snapshot_path);
    if (rc == 0)
        rc = snapshot_load_mem(r, &ro.mem_path);
    if (rc == 0)
        rc = body_bool(r, "enable_diff_snapshots", &ro.track_dirty_pages);
    if (rc == 0)
        rc = body_bool(r, "track_dirty_pages", &ro.track_dirty_pages);
    if (rc == 0)
        rc = body_bool(r, "resume_vm", &ro.resume);
    if (rc == 0)
        rc = body_overrides(r, "network_overrides", "iface_id", "host_dev_name",
                            &taps, &ro.nr_taps);
    if (rc == 0)
        rc = body_overrides(r, "drive_overrides", "drive_id", "path_on_host",
                            &drives, &ro.nr_drive_paths);
    if (rc == 0)
        rc = body_overrides(r, "console_overrides", "console_id", "path",
                            &consoles, &ro.nr_console_paths);
    ro.taps = (const char *const *)taps;
    ro.drive_paths = (const char *const *)drives;
    ro.console_paths = (const char *const *)consoles;
    if (rc == 0)
        rc = snapshot_load_call(r, &ro);
    free_strv(taps, ro.nr_taps);
    free_strv(drives, ro.nr_drive_paths);
    free_strv(consoles, ro.nr_console_paths);
    return rc;
}

static int put_snapshot(struct req *r)
{
    if (!r->h->ops->snapshot_create || !r->h->ops->snapshot_load)
        return not_supported(r);
    return strcmp(r->path, "/snapshot/create") == 0 ? put_snapshot_create(r)
                                                    : put_snapshot_load(r);
}

/* ---- routing ---- */

static const struct route routes[] = {
    {"GET", "/", get_instance, false},
    {"GET", "/version", get_version, false},
    {"GET", "/vm/config", get_vm_config, false},
    {"GET", "/machine-config", get_machine_config, false},
    {"PUT", "/machine-config", put_machine_config, true},
    {"PATCH", "/machine-config", patch_machine_config, true},
    {"PUT", "/boot-source", put_boot_source, true},
    {"PUT", "/drives/", put_drive, true},
    {"PUT", "/network-interfaces/", put_iface, true},
    {"PUT", "/entropy", put_entropy, true},
    {"PUT", "/serial", put_serial, true},
    {"PUT", "/logger", put_logger, true},
    {"PUT", "/metrics", put_metrics, true},
    {"PUT", "/crash-dump", put_crash_dump, true},
    {"PUT", "/actions", put_actions, false},
    {"PATCH", "/vm", patch_vm, false},
    /* Snapshots. */
    {"PUT", "/snapshot/create", put_snapshot, false},
    {"PUT", "/snapshot/load", put_snapshot, false},
    /* In the spec, not in vmrun yet. */
    {"PATCH", "/drives/", not_supported, false},
    {"PATCH", "/network-interfaces/", not_supported, false},
};

/* Resources of the spec vmrun does not implement, any method, any
 * sub-path. */
static const char *const unsupported[] = {
    "/balloon",    "/vsock", "/mmds",    "/snapshot",
    "/cpu-config", "/pmem",  "/hotplug",
};

/* (path) is (prefix), or (prefix) ends in '/' and a non-empty id without
 * '/' follows; (*id) points at it. */
static bool path_match(const char *prefix, const char *path, const char **id)
{
    size_t n = strlen(prefix);

    if (strncmp(prefix, path, n) != 0)
        return false;
    if (n > 1 && prefix[n - 1] == '/') {
        *id = path + n;
        return **id && !strchr(*id, '/');
    }
    return path[n] == '\0';
}

static bool path_unsupported(const char *path)
{
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++) {
        size_t n = strlen(unsupported[i]);

        if (strncmp(unsupported[i], path, n) == 0 &&
            (path[n] == '\0' || path[n] == '/'))
            return true;
    }
    return false;
}

static int route_request(struct req *r)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];

        if (strcmp(rt->method, r->method) != 0 ||
            !path_match(rt->path, r->path, &r->id))
            continue;
        if (rt->pre_boot && r->h->started)
            return fault(r, "%s %s: pre-boot only; the VM is already running",
                         r->method, r->path);
        return rt->fn(r);
    }
    if (path_unsupported(r->path))
        return not_supported(r);
    return fault(r, "invalid request method and/or path: %s %s", r->method,
                 r->path);
}

/* A PUT or PATCH body: a JSON object, at most API_BODY_MAX bytes, read by
 * the config parser's reader (no \u0000 in strings, no infinite numbers).
 * A body becomes one section of the config document, one level down: it
 * may nest one level less than a config file. */
static int body_parse(struct req *r, const char *body, size_t len)
{
    char *text, err[FAULT_MAX];
    struct cj_parser p = {.source = "request body",
                          .err = err,
                          .err_len = sizeof(err),
                          .depth_max = CJ_DEPTH_MAX - 1};

    if (len == 0)
        return ANSWERED(fault(r, "request body: missing (expected a JSON "
                                 "object)"));
    if (len > API_BODY_MAX)
        return ANSWERED(
            fault(r, "request body: larger than %d bytes", API_BODY_MAX));
    if (memchr(body, '\0', len))
        return ANSWERED(fault(r, "request body: contains a NUL byte"));
    if (!(text = strndup(body, len)))
        return -ENOMEM;
    if (cj_parse(&p, text, &r->body) < 0) {
        free(text);
        return ANSWERED(fault(r, "%s", err));
    }
    free(text);
    if (!cJSON_IsObject(r->body))
        return ANSWERED(fault(r, "request body: expected a JSON object"));
    return 0;
}

static enum api_method method_index(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return API_GET;
    if (strcmp(m, "PUT") == 0)
        return API_PUT;
    return strcmp(m, "PATCH") == 0 ? API_PATCH : API_OTHER;
}

/* The audit trail: every request that may change state, with its answer;
 * and the request counts of the metrics line. */
static void audit(struct req *r)
{
    atomic_uint_fast64_t *n =
        &r->h->requests[method_index(r->method)][r->out->status >= 400];
    char line[FAULT_MAX + 96];

    /* One writer (the handler's thread): no locked add needed. */
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (strcmp(r->method, "GET") == 0 || !r->h->ops->log)
        return;
    snprintf(line, sizeof(line), "api: %s %s: %u%s%s", r->method, r->path,
             r->out->status, r->out->status >= 400 ? " " : "",
             r->out->status >= 400 ? r->fault : "");
    text_printable(line);
    r->h->ops->log(r->h->opaque, VMRUN_LOG_INFO, line);
}

int api_handler_request(struct api_handler *h, const char *method,
                        const char *path, const char *body, size_t len,
                        struct api_response *out)
{
    struct req r = {.h = h, .method = method, .path = path, .out = out};
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0)
        rc = body_parse(&r, body, len);
    if (rc == 0)
        rc = route_request(&r);
    cJSON_Delete(r.body);
    if (rc < 0) {
        free(out->body);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    audit(&r);
    return 0;
}

int api_handler_init(struct api_handler *h, const struct api_ops *ops,
                     void *opaque)
{
    memset(h, 0, sizeof(*h));
    h->ops = ops;
    h->opaque = opaque;
    h->host_mem_mib = config_host_mem_mib();
    h->doc = cJSON_CreateObject();
    return h->doc ? 0 : -ENOMEM;
}

void api_handler_fini(struct api_handler *h)
{
    cJSON_Delete(h->doc);
    h->doc = NULL;
}

int api_handler_set_booted(struct api_handler *h, const char *json)
{
    cJSON *doc = json ? cJSON_Parse(json) : NULL;

    h->started = true;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return 0;
    }
    cJSON_Delete(h->doc);
    h->doc = doc;
    return 0;
}

char *api_handler_metrics(void *opaque)
{
    static const char *const names[API_NR_METHODS] = {"GET", "PUT", "PATCH",
                                                      "other"};
    struct api_handler *h = opaque;
    cJSON *root = cJSON_CreateObject();
    cJSON *api = root ? cJSON_AddObjectToObject(root, "api_server") : NULL;
    char *text = NULL;
    bool ok = api != NULL;

    for (int i = 0; ok && i < API_NR_METHODS; i++) {
        cJSON *m = cJSON_AddObjectToObject(api, names[i]);

        ok = m &&
             cJSON_AddNumberToObject(m, "ok",
                                     (double)atomic_load(&h->requests[i][0])) &&
             cJSON_AddNumberToObject(m, "failed",
                                     (double)atomic_load(&h->requests[i][1]));
    }
    if (ok)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}
