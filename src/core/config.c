/* config.c - JSON config (Firecracker's config-file schema + "vmrun") parsed
 * with cJSON and validated into struct vmrun_config; errors name the key. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config_json.h"
#include "core/util.h"

#define CONFIG_FILE_MAX (1 << 20) /* a config is a few hundred bytes */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CONFIG_MAX_STRINGS (9 + 3 * CONFIG_MAX_DRIVES + 2 * CONFIG_MAX_NICS)
#define METRICS_PERIOD_DEFAULT_S 60 /* Firecracker's */
#define METRICS_PERIOD_MAX_S 86400

/* One string, split per parameter so each can say why it is there; the
 * reasons are spelled out in docs/config.md. */
const char config_default_cmdline[] =
    "console=ttyS0 "             /* kernel messages on the COM1 8250 */
    "reboot=k "                  /* reboot via the i8042 reset line */
    "panic=-1 "                  /* reboot at once after pvpanic */
    "pci=off "                   /* there is no PCI bus to probe */
    "nomodeset "                 /* no display hardware */
    "i8042.noaux i8042.nomux "   /* skip the slow aux/mux probes */
    "i8042.nopnp i8042.dumbkbd " /* no PnP lookup, no keyboard commands */
    "io_delay=none "             /* no port 0x80 writes (VM exits) */
    "tsc=reliable "              /* no clocksource watchdog on the TSC */
    "no_timer_check "            /* no IO-APIC timer sanity check */
    "8250.nr_uarts=1";           /* only COM1 exists */

enum { BOOT_KERNEL, BOOT_INITRD, BOOT_ARGS, BOOT_NKEYS };
static const struct cj_key boot_keys[BOOT_NKEYS] = {
    [BOOT_KERNEL] = {.name = "kernel_image_path"},
    [BOOT_INITRD] = {.name = "initrd_path"},
    [BOOT_ARGS] = {.name = "boot_args"},
};

/* An input file vmrun reads, checked now rather than after /dev/kvm is
 * open: a regular file (or a block device when (allow_blk)) of at least
 * (min_size) bytes.  (path) is the resolved value of (key). */
static int config_check_input(struct cj_parser *p, const char *key,
                              const char *path, bool allow_blk, off_t min_size)
{
    int rc = check_input(path, allow_blk, min_size);

    if (rc == 0)
        return 0;
    if (rc == -EINVAL)
        return cj_fail(p, key, "'%s' is not a regular file%s", path,
                       allow_blk ? " or a block device" : "");
    if (rc == -ENODATA)
        return cj_fail(p, key, "'%s' is empty", path);
    return cj_fail(p, key, "cannot open '%s': %s", path, strerror(-rc));
}

/* config_check_input() for key (i) of (o). */
static int config_obj_input(const struct cj_obj *o, size_t i, const char *path,
                            bool allow_blk, off_t min_size)
{
    char key[CJ_KEY_MAX];

    cj_obj_key(o, i, key);
    return config_check_input(o->p, key, path, allow_blk, min_size);
}

static int parse_boot(struct cj_parser *p, const cJSON *json)
{
    struct vmrun_config *cfg = p->cfg;
    const char *args = NULL;
    struct cj_obj o;
    int rc;

    if (!json)
        return cj_fail(p, "boot-source", "missing");
    if ((rc = cj_obj_open(p, &o, json, "boot-source", boot_keys, BOOT_NKEYS)) ||
        (rc = cj_obj_file(&o, BOOT_KERNEL, true, R_OK, &cfg->kernel_path)) ||
        (rc = cj_obj_file(&o, BOOT_INITRD, false, R_OK, &cfg->initrd_path)) ||
        (rc = cj_obj_str(&o, BOOT_ARGS, false, 0, CONFIG_MAX_CMDLINE - 1,
                         &args)))
        return rc;
    rc = config_obj_input(&o, BOOT_KERNEL, cfg->kernel_path, false, 1);
    if (rc == 0 && cfg->initrd_path)
        rc = config_obj_input(&o, BOOT_INITRD, cfg->initrd_path, false, 1);
    return rc ? rc : cj_strdup(p, args, &cfg->boot_args);
}

enum { MC_VCPUS, MC_MEM, MC_SMT, MC_DIRTY, MC_TEMPLATE, MC_HUGE, MC_NKEYS };
static const struct cj_key machine_keys[MC_NKEYS] = {
    [MC_VCPUS] = {.name = "vcpu_count"},
    [MC_MEM] = {.name = "mem_size_mib"},
    [MC_SMT] = {.name = "smt"},
    [MC_DIRTY] = {.name = "track_dirty_pages"},
    [MC_TEMPLATE] = {.name = "cpu_template"},
    [MC_HUGE] = {.name = "huge_pages"},
};
/* Firecracker's enums: index 0 ("None") is the only one vmrun implements. */
static const char *const cpu_templates[] = {"None", "C3",  "T2",  "T2S",
                                            "T2CL", "T2A", "V1N1"};
static const char *const huge_pages[] = {"None", "Transparent", "2M"};

static int fail_only_none(const struct cj_obj *o, size_t i, const char *value)
{
    char key[CJ_KEY_MAX];

    cj_obj_key(o, i, key);
    return cj_fail(o->p, key,
                   "\"%s\" is not supported by vmrun yet (only \"None\" is)",
                   value);
}

static int parse_machine(struct cj_parser *p, const cJSON *json)
{
    struct vmrun_config *cfg = p->cfg;
    uint64_t vcpus = 0, mem = 0;
    int tmpl = 0, huge = 0, rc;
    struct cj_obj o;

    if (!json)
        return 0; /* Firecracker's defaults, set in config_new() */
    if ((rc = cj_obj_open(p, &o, json, "machine-config", machine_keys,
                          MC_NKEYS)) ||
        (rc = cj_obj_uint(&o, MC_VCPUS, true, 1, CONFIG_MAX_VCPUS, &vcpus)) ||
        (rc = cj_obj_uint(&o, MC_MEM, true, CONFIG_MEM_MIN_MIB,
                          CONFIG_MEM_MAX_MIB, &mem)) ||
        (rc = cj_obj_bool(&o, MC_SMT, &cfg->smt)) ||
        (rc = cj_obj_bool(&o, MC_DIRTY, &cfg->track_dirty_pages)) ||
        (rc = cj_obj_enum(&o, MC_TEMPLATE, cpu_templates,
                          ARRAY_SIZE(cpu_templates), &tmpl)) ||
        (rc = cj_obj_enum(&o, MC_HUGE, huge_pages, ARRAY_SIZE(huge_pages),
                          &huge)))
        return rc;
    if (tmpl)
        return fail_only_none(&o, MC_TEMPLATE, cpu_templates[tmpl]);
    if (huge)
        return fail_only_none(&o, MC_HUGE, huge_pages[huge]);
    cfg->vcpu_count = (uint32_t)vcpus;
    cfg->mem_size_mib = mem;
    return 0;
}

enum {
    DRV_ID,
    DRV_PATH,
    DRV_ROOT,
    DRV_RO,
    DRV_PARTUUID,
    DRV_CACHE,
    DRV_ENGINE,
    DRV_COALESCE,
    DRV_RATE,
    DRV_SOCKET,
    DRV_NKEYS
};
static const struct cj_key drive_keys[DRV_NKEYS] = {
    [DRV_ID] = {.name = "drive_id"},
    [DRV_PATH] = {.name = "path_on_host"},
    [DRV_ROOT] = {.name = "is_root_device"},
    [DRV_RO] = {.name = "is_read_only"},
    [DRV_PARTUUID] = {.name = "partuuid"},
    [DRV_CACHE] = {.name = "cache_type"},
    [DRV_ENGINE] = {.name = "io_engine"},
    [DRV_COALESCE] = {.name = "completion_coalesce_us"},
    [DRV_RATE] = {"rate_limiter", CJ_KEY_UNSUPPORTED},
    [DRV_SOCKET] = {"socket", CJ_KEY_UNSUPPORTED}, /* vhost-user-blk */
};
static const char *const cache_types[] = {"Unsafe", "Writeback"};
static const char *const io_engines[] = {"Sync", "Async"};

/* (value) at key (i) of (o) against (check), a config_check_*() rule. */
static int config_obj_rule(const struct cj_obj *o, size_t i,
                           const char *(*check)(const char *),
                           const char *value)
{
    const char *why = check(value);
    char key[CJ_KEY_MAX];

    if (!why)
        return 0;
    cj_obj_key(o, i, key);
    return cj_fail_type(o->p, key, why, o->val[i]);
}

static int parse_drive(struct cj_parser *p, const cJSON *json, size_t n)
{
    struct drive_config *d = &p->cfg->drives[n];
    const char *id = NULL, *partuuid = NULL;
    int cache = 0, engine = 0, rc;
    uint64_t coalesce = CONFIG_COMPLETION_COALESCE_DEFAULT_US;
    char path[CJ_KEY_MAX];
    struct cj_obj o;

    cj_key_index(path, "drives", (int)n);
    if ((rc = cj_obj_open(p, &o, json, path, drive_keys, DRV_NKEYS)) ||
        (rc = cj_obj_str(&o, DRV_ID, true, 1, CONFIG_DRIVE_ID_MAX, &id)) ||
        (rc = config_obj_rule(&o, DRV_ID, config_check_drive_id, id)) ||
        (rc = cj_strdup(p, id, &d->drive_id)) ||
        (rc = cj_obj_bool(&o, DRV_ROOT, &d->is_root_device)) ||
        (rc = cj_obj_bool(&o, DRV_RO, &d->is_read_only)) ||
        (rc = cj_obj_file(&o, DRV_PATH, true,
                          d->is_read_only ? R_OK : R_OK | W_OK,
                          &d->path_on_host)) ||
        (rc = config_obj_input(&o, DRV_PATH, d->path_on_host, true, 0)) ||
        (rc = cj_obj_str(&o, DRV_PARTUUID, false, 1, CONFIG_PARTUUID_MAX,
                         &partuuid)) ||
        (partuuid && (rc = config_obj_rule(&o, DRV_PARTUUID,
                                           config_check_partuuid, partuuid))) ||
        (rc = cj_obj_enum(&o, DRV_CACHE, cache_types, ARRAY_SIZE(cache_types),
                          &cache)) ||
        (rc = cj_obj_enum(&o, DRV_ENGINE, io_engines, ARRAY_SIZE(io_engines),
                          &engine)) ||
        (rc = cj_obj_uint(&o, DRV_COALESCE, false, 0,
                          CONFIG_COMPLETION_COALESCE_MAX_US, &coalesce)))
        return rc;
    d->cache_type = cache ? CACHE_WRITEBACK : CACHE_UNSAFE;
    d->io_engine = engine ? IO_ENGINE_ASYNC : IO_ENGINE_SYNC;
    d->completion_coalesce_us = (uint16_t)coalesce;
    return cj_strdup(p, partuuid, &d->partuuid);
}

/* Firecracker attaches the root device first, so it is /dev/vda whatever
 * its place in the file; vmrun keeps that promise. */
static void drives_root_first(struct vmrun_config *cfg)
{
    for (size_t i = 1; i < cfg->nr_drives; i++) {
        if (cfg->drives[i].is_root_device) {
            struct drive_config root = cfg->drives[i];

            memmove(&cfg->drives[1], &cfg->drives[0],
                    i * sizeof(cfg->drives[0]));
            cfg->drives[0] = root;
            return;
        }
    }
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff" exactly: six pairs of hex digits. */
static int mac_parse(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

enum {
    NIC_ID,
    NIC_DEV,
    NIC_MAC,
    NIC_MTU,
    NIC_TX_COALESCE,
    NIC_RX_RATE,
    NIC_TX_RATE,
    NIC_NKEYS
};
static const struct cj_key nic_keys[NIC_NKEYS] = {
    [NIC_ID] = {.name = "iface_id"},
    [NIC_DEV] = {.name = "host_dev_name"},
    [NIC_MAC] = {.name = "guest_mac"},
    [NIC_MTU] = {.name = "mtu"},
    [NIC_TX_COALESCE] = {.name = "tx_coalesce_us"},
    [NIC_RX_RATE] = {"rx_rate_limiter", CJ_KEY_UNSUPPORTED},
    [NIC_TX_RATE] = {"tx_rate_limiter", CJ_KEY_UNSUPPORTED},
};

static int nic_set_mac(const struct cj_obj *o, struct net_config *nic,
                       const char *mac)
{
    char key[CJ_KEY_MAX];
    const char *why;

    cj_obj_key(o, NIC_MAC, key);
    if (mac_parse(mac, nic->guest_mac))
        return cj_fail_type(o->p, key,
                            "a MAC address like \"06:00:ac:10:00:02\"",
                            o->val[NIC_MAC]);
    if ((why = config_check_mac(nic->guest_mac)))
        return cj_fail(o->p, key, "'%s' %s", mac, why);
    nic->has_mac = true;
    return 0;
}

static int parse_nic(struct cj_parser *p, const cJSON *json, size_t n)
{
    struct net_config *nic = &p->cfg->nics[n];
    const char *id = NULL, *dev = NULL, *mac = NULL;
    char path[CJ_KEY_MAX];
    uint64_t mtu = 0, coalesce = CONFIG_TX_COALESCE_DEFAULT_US;
    struct cj_obj o;
    int rc;

    cj_key_index(path, "network-interfaces", (int)n);
    if ((rc = cj_obj_open(p, &o, json, path, nic_keys, NIC_NKEYS)) ||
        (rc = cj_obj_str(&o, NIC_ID, true, 1, CONFIG_IFACE_ID_MAX, &id)) ||
        (rc = config_obj_rule(&o, NIC_ID, config_check_iface_id, id)) ||
        (rc = cj_strdup(p, id, &nic->iface_id)) ||
        (rc = cj_obj_str(&o, NIC_DEV, true, 1, CONFIG_TAP_MAX, &dev)) ||
        (rc = config_obj_rule(&o, NIC_DEV, config_check_tap, dev)) ||
        (rc = cj_obj_str(&o, NIC_MAC, false, 0, 64, &mac)) ||
        (rc = cj_obj_uint(&o, NIC_MTU, false, CONFIG_MTU_MIN, 65535, &mtu)) ||
        (rc = cj_obj_uint(&o, NIC_TX_COALESCE, false, 0,
                          CONFIG_TX_COALESCE_MAX_US, &coalesce)))
        return rc;
    if ((rc = cj_strdup(p, dev, &nic->host_dev_name)) ||
        (mac && (rc = nic_set_mac(&o, nic, mac))))
        return rc;
    nic->mtu = (uint16_t)mtu;
    nic->tx_coalesce_us = (uint16_t)coalesce;
    return 0;
}

/* A JSON array at (key) of at most (max) entries, each read by (fn). */
static int parse_array(struct cj_parser *p, const cJSON *json, const char *key,
                       size_t max, size_t *nr,
                       int (*fn)(struct cj_parser *, const cJSON *, size_t))
{
    size_t n = 0;
    int rc;

    if (!json)
        return 0;
    if (!cJSON_IsArray(json))
        return cj_fail_type(p, key, "an array", json);
    for (const cJSON *c = json->child; c; c = c->next, n++) {
        if (n == max)
            return cj_fail(p, key, "at most %zu entries are supported", max);
        if ((rc = fn(p, c, n)))
            return rc;
        *nr = n + 1;
    }
    return 0;
}

static const struct cj_key entropy_keys[] = {
    {"rate_limiter", CJ_KEY_UNSUPPORTED},
};

static int parse_entropy(struct cj_parser *p, const cJSON *json)
{
    struct cj_obj o;
    int rc;

    if (!json)
        return 0;
    rc = cj_obj_open(p, &o, json, "entropy", entropy_keys,
                     ARRAY_SIZE(entropy_keys));
    p->cfg->has_entropy = !rc;
    return rc;
}

enum { CON_OUTPUT, CON_PATH, CON_INPUT, CON_NKEYS };
static const struct cj_key console_keys[CON_NKEYS] = {
    [CON_OUTPUT] = {.name = "output"},
    [CON_PATH] = {.name = "path"},
    [CON_INPUT] = {.name = "input"},
};
/* "pty" comes last so the serial port can leave it out. */
static const char *const console_outputs[] = {"stdout", "file", "none", "pty"};
static const enum console_kind console_kinds[] = {CONSOLE_STDIO, CONSOLE_FILE,
                                                  CONSOLE_NONE, CONSOLE_PTY};

/* Keys that only make sense with one "output" value. */
static int console_check_keys(const struct cj_obj *o, enum console_kind kind,
                              bool input)
{
    char key[CJ_KEY_MAX];

    if (kind == CONSOLE_FILE && !o->val[CON_PATH]) {
        cj_obj_key(o, CON_PATH, key);
        return cj_fail(o->p, key, "missing (\"output\": \"file\" needs it)");
    }
    if (kind != CONSOLE_FILE && o->val[CON_PATH]) {
        cj_obj_key(o, CON_PATH, key);
        return cj_fail(o->p, key, "only valid with \"output\": \"file\"");
    }
    if (kind != CONSOLE_STDIO && o->val[CON_INPUT] && input) {
        cj_obj_key(o, CON_INPUT, key);
        return cj_fail(o->p, key,
                       "true is only valid with \"output\": \"stdout\"");
    }
    return 0;
}

/* open_output()'s policy for (resolved), the output of (key) given as
 * (given), checked now so that a refusal is a config error; a FIFO is
 * accepted (its reader is checked at the open). */
static int config_check_output(struct cj_parser *p, const char *key,
                               const char *given, char *resolved)
{
    int rc = check_output(resolved, OUTPUT_ALLOW_FIFO);

    if (rc == 0)
        return 0;
    return cj_fail(p, key, "'%s': %s; expected a regular file or a FIFO", given,
                   open_output_strerror(rc));
}

int config_drive_path(const char *label, const char *given, bool read_only,
                      char **out, char *err, size_t err_len)
{
    struct cj_parser p = {.source = label, .err = err, .err_len = err_len};
    int rc =
        cj_path_existing(&p, NULL, given, read_only ? R_OK : R_OK | W_OK, out);

    if (rc == 0 && (rc = config_check_input(&p, NULL, *out, true, 0))) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int config_output_path(const char *label, const char *given, char **out,
                       char *err, size_t err_len)
{
    struct cj_parser p = {.source = label, .err = err, .err_len = err_len};
    int rc = cj_path_new_file(&p, NULL, given, out);

    if (rc == 0 && (rc = config_check_output(&p, NULL, given, *out))) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int parse_console(struct cj_parser *p, const cJSON *json,
                         const char *path, size_t nr_outputs,
                         struct console_config *con)
{
    const char *file = NULL;
    bool input = con->want_input;
    char key[CJ_KEY_MAX];
    int out = 0, rc;
    struct cj_obj o;

    if ((rc = cj_obj_open(p, &o, json, path, console_keys, CON_NKEYS)) ||
        (rc = cj_obj_enum(&o, CON_OUTPUT, console_outputs, nr_outputs, &out)) ||
        (rc = cj_obj_str(&o, CON_PATH, false, 1, PATH_MAX - 1, &file)) ||
        (rc = cj_obj_bool(&o, CON_INPUT, &input)) ||
        (rc = console_check_keys(&o, console_kinds[out], input)))
        return rc;
    con->kind = console_kinds[out];
    con->want_input = con->kind == CONSOLE_STDIO && input;
    if (!file)
        return 0;
    cj_obj_key(&o, CON_PATH, key);
    if ((rc = cj_path_new_file(p, key, file, &con->path)))
        return rc;
    return config_check_output(p, key, file, con->path);
}

enum {
    VM_SERIAL,
    VM_VCONSOLE,
    VM_MMIO_CMDLINE,
    VM_CRASH_DUMP,
    VM_OVERCOMMIT,
    VM_NKEYS
};
static const struct cj_key vmrun_keys[VM_NKEYS] = {
    [VM_SERIAL] = {.name = "serial"},
    [VM_VCONSOLE] = {.name = "virtio-console"},
    [VM_MMIO_CMDLINE] = {.name = "virtio-mmio-cmdline"},
    [VM_CRASH_DUMP] = {.name = "crash-dump"},
    [VM_OVERCOMMIT] = {.name = "allow-overcommit"},
};

static int parse_out_file(struct cj_parser *p, const struct cj_obj *o, size_t i,
                          char **out);

static int parse_vmrun(struct cj_parser *p, const cJSON *json)
{
    struct vmrun_config *cfg = p->cfg;
    struct cj_obj o;
    int rc;

    if (!json)
        return 0;
    if ((rc = cj_obj_open(p, &o, json, "vmrun", vmrun_keys, VM_NKEYS)) ||
        (rc = cj_obj_bool(&o, VM_MMIO_CMDLINE, &cfg->virtio_mmio_cmdline)) ||
        (rc = cj_obj_bool(&o, VM_OVERCOMMIT, &cfg->allow_overcommit)) ||
        (o.val[VM_CRASH_DUMP] &&
         (rc = parse_out_file(p, &o, VM_CRASH_DUMP, &cfg->crash_dump_path))) ||
        (o.val[VM_SERIAL] &&
         (rc = parse_console(p, o.val[VM_SERIAL], "vmrun.serial",
                             ARRAY_SIZE(console_outputs) - 1, &cfg->serial))))
        return rc;
    if (!o.val[VM_VCONSOLE])
        return 0;
    /* stdin has one reader: by default it stays with the serial port. */
    cfg->has_virtio_console = true;
    cfg->vconsole.want_input = !cfg->serial.want_input;
    return parse_console(p, o.val[VM_VCONSOLE], "vmrun.virtio-console",
                         ARRAY_SIZE(console_outputs), &cfg->vconsole);
}

/* A file vmrun appends to: its folder must exist, and the file (or the
 * folder, for a new file) must be writable. */
static int parse_out_file(struct cj_parser *p, const struct cj_obj *o, size_t i,
                          char **out)
{
    const char *given = NULL;
    char key[CJ_KEY_MAX], ebuf[64], *slash;
    int rc;

    cj_obj_key(o, i, key);
    if ((rc = cj_obj_str(o, i, true, 1, PATH_MAX - 1, &given)) ||
        (rc = cj_path_new_file(p, key, given, out)))
        return rc;
    if ((rc = config_check_output(p, key, given, *out))) {
        free(*out);
        *out = NULL;
        return rc;
    }
    if (access(*out, F_OK) == 0) {
        rc = access(*out, W_OK);
    } else {
        slash = strrchr(*out, '/');
        *slash = '\0';
        rc = access(slash == *out ? "/" : *out, W_OK | X_OK);
        *slash = '/';
    }
    if (rc == 0)
        return 0;
    rc = cj_fail(p, key, "cannot write '%s': %s", given,
                 cj_strerror(errno, ebuf, sizeof(ebuf)));
    free(*out);
    *out = NULL;
    return rc;
}

enum {
    LOG_PATH,
    LOG_LEVEL,
    LOG_SHOW_LEVEL,
    LOG_SHOW_ORIGIN,
    LOG_MODULE,
    LOG_NKEYS
};
static const struct cj_key logger_keys[LOG_NKEYS] = {
    [LOG_PATH] = {.name = "log_path"},
    [LOG_LEVEL] = {.name = "level"},
    [LOG_SHOW_LEVEL] = {.name = "show_level"},
    [LOG_SHOW_ORIGIN] = {.name = "show_log_origin"},
    [LOG_MODULE] = {"module", CJ_KEY_UNSUPPORTED},
};

/* Firecracker's level names, compared without case; "Warn" and "Trace"
 * (= Debug) are accepted too. */
static int parse_log_level(const struct cj_obj *o, enum vmrun_log_level *out)
{
    static const struct {
        const char *name;
        enum vmrun_log_level level;
    } levels[] = {{"error", VMRUN_LOG_ERROR}, {"warning", VMRUN_LOG_WARN},
                  {"warn", VMRUN_LOG_WARN},   {"info", VMRUN_LOG_INFO},
                  {"debug", VMRUN_LOG_DEBUG}, {"trace", VMRUN_LOG_DEBUG}};
    const cJSON *v = o->val[LOG_LEVEL];
    char key[CJ_KEY_MAX];

    if (!v)
        return 0;
    for (size_t k = 0; cJSON_IsString(v) && k < ARRAY_SIZE(levels); k++)
        if (!strcasecmp(v->valuestring, levels[k].name)) {
            *out = levels[k].level;
            return 0;
        }
    cj_obj_key(o, LOG_LEVEL, key);
    return cj_fail_type(
        o->p, key, "one of \"Error\", \"Warning\", \"Info\", \"Debug\"", v);
}

static int parse_logger(struct cj_parser *p, const cJSON *json)
{
    struct vmrun_config *cfg = p->cfg;
    struct cj_obj o;
    int rc;

    if (!json)
        return 0;
    cfg->has_logger = true;
    cfg->log_level = VMRUN_LOG_INFO; /* Firecracker's default */
    if ((rc = cj_obj_open(p, &o, json, "logger", logger_keys, LOG_NKEYS)) ||
        (rc = parse_log_level(&o, &cfg->log_level)) ||
        (rc = cj_obj_bool(&o, LOG_SHOW_LEVEL, &cfg->log_show_level)) ||
        (rc = cj_obj_bool(&o, LOG_SHOW_ORIGIN, &cfg->log_show_origin)))
        return rc;
    return o.val[LOG_PATH] ? parse_out_file(p, &o, LOG_PATH, &cfg->log_path)
                           : 0;
}

enum { MET_PATH, MET_PERIOD, MET_NKEYS };
static const struct cj_key metrics_keys[MET_NKEYS] = {
    [MET_PATH] = {.name = "metrics_path"},
    [MET_PERIOD] = {.name = "period_s"}, /* vmrun's, docs/api.md */
};

static int parse_metrics(struct cj_parser *p, const cJSON *json)
{
    uint64_t period = METRICS_PERIOD_DEFAULT_S;
    struct cj_obj o;
    int rc;

    if (!json)
        return 0;
    if ((rc = cj_obj_open(p, &o, json, "metrics", metrics_keys, MET_NKEYS)) ||
        (rc = cj_obj_uint(&o, MET_PERIOD, false, 1, METRICS_PERIOD_MAX_S,
                          &period)) ||
        (rc = parse_out_file(p, &o, MET_PATH, &p->cfg->metrics_path)))
        return rc;
    p->cfg->metrics_period_ms = (uint32_t)(period * 1000);
    return 0;
}

enum {
    TOP_BOOT,
    TOP_MACHINE,
    TOP_DRIVES,
    TOP_NICS,
    TOP_ENTROPY,
    TOP_VMRUN,
    TOP_LOGGER,
    TOP_METRICS,
    TOP_NKEYS = 14
};
static const struct cj_key top_keys[TOP_NKEYS] = {
    [TOP_BOOT] = {.name = "boot-source"},
    [TOP_MACHINE] = {.name = "machine-config"},
    [TOP_DRIVES] = {.name = "drives"},
    [TOP_NICS] = {.name = "network-interfaces"},
    [TOP_ENTROPY] = {.name = "entropy"},
    [TOP_VMRUN] = {.name = "vmrun"},
    [TOP_LOGGER] = {.name = "logger"},
    [TOP_METRICS] = {.name = "metrics"},
    {"vsock", CJ_KEY_UNSUPPORTED},
    {"balloon", CJ_KEY_UNSUPPORTED},
    {"mmds-config", CJ_KEY_UNSUPPORTED},
    {"cpu-config", CJ_KEY_UNSUPPORTED},
    {"memory-hotplug", CJ_KEY_UNSUPPORTED},
    {"pmem", CJ_KEY_UNSUPPORTED},
};

uint64_t config_host_mem_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    unsigned long long kib = 0;
    char line[128];

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib >> 10;
}

/* What the sections allow one by one but not together (config_check():
 * unique ids, taps and MACs, the number of virtio devices, ...), or not
 * on this host: refused here, before /dev/kvm is opened. */
static int config_check_machine(struct cj_parser *p)
{
    const struct vmrun_config *c = p->cfg;
    uint64_t host = p->host_mem_mib;
    char msg[512];

    if (config_check(c, msg, sizeof(msg)))
        return cj_fail(p, NULL, "%s", msg);
    if (host && c->mem_size_mib > host && !c->allow_overcommit)
        return cj_fail(p, "machine-config.mem_size_mib",
                       "%llu MiB is more than this host's memory (%llu MiB, "
                       "MemTotal in /proc/meminfo); set \"vmrun\": "
                       "{\"allow-overcommit\": true} to allow it",
                       (unsigned long long)c->mem_size_mib,
                       (unsigned long long)host);
    return 0;
}

static int parse_root(struct cj_parser *p, const cJSON *json)
{
    struct vmrun_config *cfg = p->cfg;
    struct cj_obj o;
    int rc;

    if ((rc = cj_obj_open(p, &o, json, "", top_keys, TOP_NKEYS)) ||
        (rc = parse_boot(p, o.val[TOP_BOOT])) ||
        (rc = parse_machine(p, o.val[TOP_MACHINE])) ||
        (rc = parse_array(p, o.val[TOP_DRIVES], "drives", CONFIG_MAX_DRIVES,
                          &cfg->nr_drives, parse_drive)) ||
        (rc = parse_array(p, o.val[TOP_NICS], "network-interfaces",
                          CONFIG_MAX_NICS, &cfg->nr_nics, parse_nic)) ||
        (rc = parse_entropy(p, o.val[TOP_ENTROPY])) ||
        (rc = parse_vmrun(p, o.val[TOP_VMRUN])) ||
        (rc = parse_logger(p, o.val[TOP_LOGGER])) ||
        (rc = parse_metrics(p, o.val[TOP_METRICS])) ||
        (rc = config_check_machine(p)))
        return rc;
    drives_root_first(cfg);
    return 0;
}

/* Every heap string of (c), so free and dup cannot miss one. */
static size_t config_string_slots(struct vmrun_config *c, char **slots[])
{
    size_t n = 0;

    slots[n++] = &c->source;
    slots[n++] = &c->kernel_path;
    slots[n++] = &c->initrd_path;
    slots[n++] = &c->boot_args;
    slots[n++] = &c->serial.path;
    slots[n++] = &c->vconsole.path;
    slots[n++] = &c->log_path;
    slots[n++] = &c->metrics_path;
    slots[n++] = &c->crash_dump_path;
    for (size_t i = 0; i < CONFIG_MAX_DRIVES; i++) {
        slots[n++] = &c->drives[i].drive_id;
        slots[n++] = &c->drives[i].path_on_host;
        slots[n++] = &c->drives[i].partuuid;
    }
    for (size_t i = 0; i < CONFIG_MAX_NICS; i++) {
        slots[n++] = &c->nics[i].iface_id;
        slots[n++] = &c->nics[i].host_dev_name;
    }
    return n;
}

void vmrun_config_free(struct vmrun_config *cfg)
{
    char **slots[CONFIG_MAX_STRINGS];
    size_t n;

    if (!cfg)
        return;
    n = config_string_slots(cfg, slots);
    for (size_t i = 0; i < n; i++)
        free(*slots[i]);
    free(cfg);
}

struct vmrun_config *config_dup(const struct vmrun_config *src)
{
    char **slots[CONFIG_MAX_STRINGS];
    struct vmrun_config *c;
    size_t n, i;

    if (!src || !(c = malloc(sizeof(*c))))
        return NULL;
    memcpy(c, src, sizeof(*c));
    n = config_string_slots(c, slots);
    for (i = 0; i < n; i++)
        if (*slots[i] && !(*slots[i] = strdup(*slots[i])))
            break;
    if (i == n)
        return c;
    for (; i < n; i++) /* still pointing into (src) */
        *slots[i] = NULL;
    vmrun_config_free(c);
    return NULL;
}

/* Defaults are Firecracker's where it has one (1 vCPU, 128 MiB). */
static struct vmrun_config *config_new(const char *source)
{
    struct vmrun_config *cfg = calloc(1, sizeof(*cfg));

    if (!cfg || !(cfg->source = strdup(source))) {
        free(cfg);
        return NULL;
    }
    cfg->vcpu_count = 1;
    cfg->mem_size_mib = 128;
    cfg->serial.kind = CONSOLE_STDIO;
    cfg->serial.want_input = true;
    return cfg;
}

static int config_parse(const char *text, const char *source,
                        const char *base_dir, uint64_t host_mem_mib,
                        struct vmrun_config **out, char *err, size_t err_len)
{
    struct cj_parser p = {.source = source,
                          .base_dir = base_dir,
                          .err = err,
                          .err_len = err_len,
                          .host_mem_mib = host_mem_mib};
    cJSON *root;
    int rc;

    if (!(p.cfg = config_new(source)))
        return cj_fail_nomem(&p);
    rc = cj_parse(&p, text, &root);
    if (rc == 0)
        rc = parse_root(&p, root);
    cJSON_Delete(root);
    if (rc) {
        vmrun_config_free(p.cfg);
        return rc;
    }
    *out = p.cfg;
    return 0;
}

int config_parse_string(const char *json, const char *base_dir,
                        uint64_t host_mem_mib, struct vmrun_config **out,
                        char *err, size_t err_len)
{
    if (out)
        *out = NULL;
    if (!json || !out)
        return -EINVAL;
    return config_parse(json, "<string>", base_dir, host_mem_mib, out, err,
                        err_len);
}

int vmrun_config_parse_string(const char *json, const char *base_dir,
                              struct vmrun_config **out, char *err,
                              size_t err_len)
{
    return config_parse_string(json, base_dir, config_host_mem_mib(), out, err,
                               err_len);
}

/* Reads all of (fd), up to CONFIG_FILE_MAX bytes, NUL-terminated. */
static int fd_read_all(int fd, char **out, size_t *len)
{
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    size_t n = 0;
    ssize_t r;

    if (!buf)
        return -ENOMEM;
    while (n <= CONFIG_FILE_MAX &&
           (r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n)) != 0) {
        if (r < 0 && errno != EINTR) {
            free(buf);
            return -errno;
        }
        n += r > 0 ? (size_t)r : 0;
    }
    if (n > CONFIG_FILE_MAX) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int file_read(struct cj_parser *p, const char *path, char **out)
{
    char ebuf[64];
    size_t len = 0;
    int fd, rc;

    /* A FIFO or a device would block or never end: a regular file only. */
    fd = open_regular(path, O_RDONLY | O_CLOEXEC, 0);
    rc = fd < 0 ? fd : fd_read_all(fd, out, &len);
    if (fd >= 0)
        close(fd);
    if (rc == -EFBIG)
        return cj_fail_rc(p, rc, NULL, "cannot read: larger than %d bytes",
                          CONFIG_FILE_MAX);
    if (rc == -EINVAL)
        return cj_fail_rc(p, rc, NULL, "cannot read: not a regular file");
    if (rc)
        return cj_fail_rc(p, rc, NULL, "cannot read: %s",
                          cj_strerror(-rc, ebuf, sizeof(ebuf)));
    if (memchr(*out, '\0', len)) {
        free(*out);
        return cj_fail(p, NULL, "contains a NUL byte: not a JSON text");
    }
    return 0;
}

int vmrun_config_parse_file(const char *path, struct vmrun_config **out,
                            char *err, size_t err_len)
{
    struct cj_parser p = {.source = path, .err = err, .err_len = err_len};
    const char *slash;
    char *text = NULL, *dir = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!path || !out)
        return -EINVAL;
    if ((rc = file_read(&p, path, &text)))
        return rc;
    /* Relative paths inside resolve against the file's own folder. */
    slash = strrchr(path, '/');
    if (slash && !(dir = strndup(path, slash == path ? 1 : slash - path))) {
        free(text);
        return -ENOMEM;
    }
    rc =
        config_parse(text, path, dir, config_host_mem_mib(), out, err, err_len);
    free(dir);
    free(text);
    return rc;
}
