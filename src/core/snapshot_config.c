/* snapshot_config.c - the configuration section of a state file, checked
 * with the config parser's rules, and the host resources of a restore,
 * taken from the operator only (snapshot_config.h, docs/snapshot.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/snapshot_config.h"

#define SNAP_STR_MAX 4096 /* longest string in the config section */
#define SNAP_MAX_RES (CONFIG_MAX_DRIVES + CONFIG_MAX_NICS + 2)

/* ---- writing ---- */

static void snap_put_console(struct snap_buf *b, const struct console_config *c)
{
    sb_put_u8(b, (uint8_t)c->kind);
    sb_put_str(b, c->path);
    sb_put_u8(b, c->want_input);
}

void snap_put_config(struct snap_buf *b, const struct vmrun_config *c)
{
    sb_put_u32(b, c->vcpu_count);
    sb_put_u64(b, c->mem_size_mib);
    sb_put_u8(b, c->smt);
    sb_put_u8(b, c->track_dirty_pages);
    sb_put_u32(b, (uint32_t)c->nr_drives);
    for (size_t i = 0; i < c->nr_drives; i++) {
        const struct drive_config *d = &c->drives[i];

        sb_put_str(b, d->drive_id);
        sb_put_str(b, d->path_on_host);
        sb_put_u8(b, d->is_root_device);
        sb_put_u8(b, d->is_read_only);
        sb_put_str(b, d->partuuid);
        sb_put_u8(b, (uint8_t)d->cache_type);
        sb_put_u8(b, (uint8_t)d->io_engine);
    }
    sb_put_u32(b, (uint32_t)c->nr_nics);
    for (size_t i = 0; i < c->nr_nics; i++) {
        const struct net_config *n = &c->nics[i];

        sb_put_str(b, n->iface_id);
        sb_put_str(b, n->host_dev_name);
        sb_put_u8(b, n->has_mac);
        sb_put_bytes(b, n->guest_mac, 6);
        sb_put_u16(b, n->mtu);
    }
    sb_put_u8(b, c->has_entropy);
    snap_put_console(b, &c->serial);
    sb_put_u8(b, c->has_virtio_console);
    snap_put_console(b, &c->vconsole);
    sb_put_u8(b, c->virtio_mmio_cmdline);
}

/* ---- reading: the layout; the values are config_check()'s ---- */

static bool snap_bool(struct snap_rd *r, bool *out)
{
    uint8_t v = sr_u8(r);

    *out = v == 1;
    return !r->err && v <= 1;
}

static int snap_get_console(struct snap_rd *r, struct console_config *c)
{
    uint8_t kind = sr_u8(r);
    int ret = sr_str(r, SNAP_STR_MAX, &c->path);

    c->kind = (enum console_kind)kind;
    if (ret == 0 && !snap_bool(r, &c->want_input))
        ret = -EINVAL;
    /* A file output names a file; no other output does. */
    if (ret == 0 && (kind == CONSOLE_FILE) != (c->path != NULL))
        ret = -EINVAL;
    return ret;
}

static int snap_get_drive(struct snap_rd *r, struct drive_config *d)
{
    int ret = sr_str(r, SNAP_STR_MAX, &d->drive_id);

    if (ret == 0)
        ret = sr_str(r, SNAP_STR_MAX, &d->path_on_host);
    if (ret == 0 &&
        (!snap_bool(r, &d->is_root_device) || !snap_bool(r, &d->is_read_only)))
        ret = -EINVAL;
    if (ret == 0)
        ret = sr_str(r, SNAP_STR_MAX, &d->partuuid);
    d->cache_type = (enum cache_type)sr_u8(r);
    d->io_engine = (enum io_engine)sr_u8(r);
    /* Tuning, not state: a restored VM gets today's default. */
    d->completion_coalesce_us = CONFIG_COMPLETION_COALESCE_DEFAULT_US;
    /* Every drive has an image (config_check() takes NULL as "not chosen
     * yet"). */
    if (ret == 0 && (!d->drive_id || !d->path_on_host))
        ret = -EINVAL;
    return ret;
}

static int snap_get_nic(struct snap_rd *r, struct net_config *n)
{
    int ret = sr_str(r, SNAP_STR_MAX, &n->iface_id);

    if (ret == 0)
        ret = sr_str(r, SNAP_STR_MAX, &n->host_dev_name);
    if (ret == 0 && !snap_bool(r, &n->has_mac))
        ret = -EINVAL;
    sr_bytes(r, n->guest_mac, 6);
    n->mtu = sr_u16(r);
    n->tx_coalesce_us = CONFIG_TX_COALESCE_DEFAULT_US; /* as for drives */
    if (ret == 0 && (!n->iface_id || !n->host_dev_name))
        ret = -EINVAL;
    return ret;
}

static int snap_get_devices(struct snap_rd *r, struct vmrun_config *c)
{
    int ret = 0;

    c->nr_drives = sr_u32(r);
    if (r->err || c->nr_drives > CONFIG_MAX_DRIVES)
        return -EINVAL;
    for (size_t i = 0; i < c->nr_drives && ret == 0; i++)
        ret = snap_get_drive(r, &c->drives[i]);
    if (ret < 0)
        return ret;
    c->nr_nics = sr_u32(r);
    if (r->err || c->nr_nics > CONFIG_MAX_NICS)
        return -EINVAL;
    for (size_t i = 0; i < c->nr_nics && ret == 0; i++)
        ret = snap_get_nic(r, &c->nics[i]);
    return ret;
}

/* The section's layout into (c): -EINVAL when it is not one. */
static int snap_get_config(struct snap_rd *r, struct vmrun_config *c)
{
    int ret;

    c->vcpu_count = sr_u32(r);
    c->mem_size_mib = sr_u64(r);
    ret = snap_bool(r, &c->smt) && snap_bool(r, &c->track_dirty_pages)
              ? 0
              : -EINVAL;
    if (ret == 0)
        ret = snap_get_devices(r, c);
    if (ret == 0 && !snap_bool(r, &c->has_entropy))
        ret = -EINVAL;
    if (ret == 0)
        ret = snap_get_console(r, &c->serial);
    if (ret == 0 && !snap_bool(r, &c->has_virtio_console))
        ret = -EINVAL;
    if (ret == 0)
        ret = snap_get_console(r, &c->vconsole);
    if (ret == 0 && !snap_bool(r, &c->virtio_mmio_cmdline))
        ret = -EINVAL;
    return ret == 0 ? sr_done(r) : ret;
}

/* ---- the host resources ---- */

enum snap_res_kind { RES_DRIVE, RES_NIC, RES_CONSOLE };

/* How each kind of resource is named, by the command and by the API. */
static const struct snap_res_names {
    const char *what;   /* in messages */
    const char *option; /* the command's, "--drive-path ID=VALUE" */
    const char *list;   /* the API's, an array of {id_key, val_key} */
    const char *id_key, *val_key;
    const char *val; /* the value in the command's synopsis */
} snap_res_names[] = {
    [RES_DRIVE] = {"drive", "--drive-path", "drive_overrides", "drive_id",
                   "path_on_host", "PATH"},
    [RES_NIC] = {"network interface", "--tap", "network_overrides", "iface_id",
                 "host_dev_name", "TAP"},
    [RES_CONSOLE] = {"console", "--console-path", "console_overrides",
                     "console_id", "path", "PATH"},
};

/* One host resource of the restored VM. */
struct snap_res {
    enum snap_res_kind kind;
    const char *id;
    char **value;     /* the config's field, filled from the operator only */
    char *saved;      /* what the state file names; NULL: needs nothing */
    bool read_only;   /* a drive: no write access needed */
    const char *from; /* the entry that gave (*value), for messages */
};

/* Takes the host resources (the names the file gives them) out of (c)
 * into (res); returns how many.  From here on, (c) holds none. */
static size_t snap_res_collect(struct vmrun_config *c, struct snap_res *res)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nr_drives; i++)
        res[n++] = (struct snap_res){.kind = RES_DRIVE,
                                     .id = c->drives[i].drive_id,
                                     .value = &c->drives[i].path_on_host,
                                     .read_only = c->drives[i].is_read_only};
    for (size_t i = 0; i < c->nr_nics; i++)
        res[n++] = (struct snap_res){.kind = RES_NIC,
                                     .id = c->nics[i].iface_id,
                                     .value = &c->nics[i].host_dev_name};
    res[n++] = (struct snap_res){
        .kind = RES_CONSOLE, .id = "serial", .value = &c->serial.path};
    /* Without the device, config_check() has made sure it names no file. */
    if (c->has_virtio_console)
        res[n++] = (struct snap_res){.kind = RES_CONSOLE,
                                     .id = "virtio-console",
                                     .value = &c->vconsole.path};
    for (size_t i = 0; i < n; i++) {
        res[i].saved = *res[i].value;
        *res[i].value = NULL;
    }
    return n;
}

static void snap_res_free(struct snap_res *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(res[i].saved);
}

/* (spec)'s entry (ID=VALUE) of kind (kind), as messages name it. */
static void snap_label(char *buf, size_t len, int names,
                       enum snap_res_kind kind, size_t i, const char *spec)
{
    char shown[160];

    if (names == VMRUN_RESTORE_NAMES_API) {
        snprintf(buf, len, "%s[%zu]", snap_res_names[kind].list, i);
        return;
    }
    log_escape(shown, sizeof(shown), spec);
    snprintf(buf, len, "%s %s", snap_res_names[kind].option, shown);
}

/* The resource of (kind) whose id is (id)[0..n). */
static struct snap_res *snap_res_find(struct snap_res *res, size_t nr,
                                      enum snap_res_kind kind, const char *id,
                                      size_t n)
{
    for (size_t i = 0; i < nr; i++)
        if (res[i].kind == kind && strlen(res[i].id) == n &&
            !strncmp(res[i].id, id, n))
            return &res[i];
    return NULL;
}

/* (value), the operator's, into (r) after the checks of its config key. */
static int snap_res_set(struct snap_res *r, const char *label,
                        const char *value, char *err, size_t err_len)
{
    const char *why;
    char shown[160];

    switch (r->kind) {
    case RES_DRIVE:
        return config_drive_path(label, value, r->read_only, r->value, err,
                                 err_len);
    case RES_CONSOLE:
        return config_output_path(label, value, r->value, err, err_len);
    case RES_NIC:
        break;
    }
    if ((why = config_check_tap(value))) {
        log_escape(shown, sizeof(shown), value);
        return snap_fail(err, err_len, "%s: expected %s, got '%s'", label, why,
                         shown);
    }
    *r->value = strdup(value);
    return *r->value ? 0 : -ENOMEM;
}

/* The entries (list)[0..n) of (kind), "ID=VALUE" each. */
static int snap_res_take(struct snap_res *res, size_t nr,
                         enum snap_res_kind kind, const char *const *list,
                         size_t n, int names, char *err, size_t err_len)
{
    const struct snap_res_names *rn = &snap_res_names[kind];
    char label[256];

    for (size_t i = 0; i < n; i++) {
        const char *spec = list[i] ? list[i] : "";
        const char *eq = strchr(spec, '=');
        size_t id_len = eq ? (size_t)(eq - spec) : 0;
        char id[64], shown[80];
        struct snap_res *r;
        int ret;

        snap_label(label, sizeof(label), names, kind, i, spec);
        if (!id_len || !eq[1])
            return snap_fail(err, err_len, "%s: expected ID=%s", label,
                             rn->val);
        if (!(r = snap_res_find(res, nr, kind, spec, id_len))) {
            snprintf(id, sizeof(id), "%.*s",
                     (int)(id_len < sizeof(id) ? id_len : sizeof(id)), spec);
            log_escape(shown, sizeof(shown), id);
            return snap_fail(err, err_len, "%s: the snapshot has no %s '%s'",
                             label, rn->what, shown);
        }
        if (r->from)
            return snap_fail(err, err_len, "%s: %s '%s' is given twice", label,
                             rn->what, r->id);
        if (!r->saved)
            return snap_fail(err, err_len,
                             "%s: the snapshot's %s '%s' writes to no file",
                             label, rn->what, r->id);
        if ((ret = snap_res_set(r, label, eq + 1, err, err_len)))
            return ret;
        r->from = list[i];
    }
    return 0;
}

/* The one line for a resource the operator did not give. */
static int snap_res_missing(const struct snap_res *r, int names, char *err,
                            size_t err_len)
{
    const struct snap_res_names *rn = &snap_res_names[r->kind];
    char saved[160];

    log_escape(saved, sizeof(saved), r->saved);
    if (names == VMRUN_RESTORE_NAMES_API)
        return snap_fail(err, err_len,
                         "%s '%s' needs a %s entry with %s '%s' and a %s (the "
                         "snapshot names '%s')",
                         rn->what, r->id, rn->list, rn->id_key, r->id,
                         rn->val_key, saved);
    return snap_fail(err, err_len,
                     "--restore: %s '%s' needs %s %s=%s (the snapshot names "
                     "'%s')",
                     rn->what, r->id, rn->option, r->id, rn->val, saved);
}

static int snap_res_resolve(struct snap_res *res, size_t nr,
                            const struct vmrun_restore *ro, char *err,
                            size_t err_len)
{
    int ret;

    if ((ret = snap_res_take(res, nr, RES_DRIVE, ro->drive_paths,
                             ro->nr_drive_paths, ro->names, err, err_len)) ||
        (ret = snap_res_take(res, nr, RES_NIC, ro->taps, ro->nr_taps, ro->names,
                             err, err_len)) ||
        (ret = snap_res_take(res, nr, RES_CONSOLE, ro->console_paths,
                             ro->nr_console_paths, ro->names, err, err_len)))
        return ret;
    for (size_t i = 0; i < nr; i++)
        if (res[i].saved && !res[i].from)
            return snap_res_missing(&res[i], ro->names, err, err_len);
    return 0;
}

/* ---- the whole ---- */

int snap_config_parse(const struct snap_file *f, const char *path,
                      struct vmrun_config **out, char *err, size_t err_len)
{
    struct vmrun_config *c = calloc(1, sizeof(*c));
    char msg[512];
    struct snap_rd r;
    int ret;

    *out = NULL;
    if (!c || !(c->source = strdup("<snapshot>"))) {
        free(c);
        return -ENOMEM;
    }
    if (!snap_file_section(f, SNAP_SEC_CONFIG, 0, &r))
        ret = snap_fail(err, err_len, "%s: no configuration section", path);
    else if ((ret = snap_get_config(&r, c)) == -EINVAL)
        snap_fail(err, err_len, "%s: bad configuration section", path);
    else if (ret == 0 && config_check(c, msg, sizeof(msg)))
        ret = snap_fail(err, err_len, "%s: the saved configuration: %s", path,
                        msg);
    if (ret < 0) {
        vmrun_config_free(c);
        return ret;
    }
    *out = c;
    return 0;
}

int snap_config_resolve(struct vmrun_config *c, const struct vmrun_restore *ro,
                        char *err, size_t err_len)
{
    struct snap_res res[SNAP_MAX_RES];
    const char *pfx = ro->names == VMRUN_RESTORE_NAMES_API ? "" : "--restore: ";
    char msg[512];
    size_t nr = snap_res_collect(c, res);
    int ret = snap_res_resolve(res, nr, ro, err, err_len);

    /* Two interfaces the operator put on one tap, say. */
    if (ret == 0 && config_check(c, msg, sizeof(msg)))
        ret = snap_fail(err, err_len, "%s%s", pfx, msg);
    snap_res_free(res, nr);
    if (ret == 0 && ro->track_dirty_pages >= 0)
        c->track_dirty_pages = ro->track_dirty_pages;
    return ret;
}

int snap_config_load(const struct snap_file *f, const char *path,
                     const struct vmrun_restore *ro, struct vmrun_config **out,
                     char *err, size_t err_len)
{
    int ret = snap_config_parse(f, path, out, err, err_len);

    if (ret == 0 && (ret = snap_config_resolve(*out, ro, err, err_len)) < 0) {
        vmrun_config_free(*out);
        *out = NULL;
    }
    return ret;
}
