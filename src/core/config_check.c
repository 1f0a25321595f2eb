/* config_check.c - the value rules of the config schema (docs/config.md),
 * shared by the JSON parser (config.c) and by configurations built
 * elsewhere: a snapshot's saved configuration, the overrides of a restore.
 * No file system access here: paths are the caller's to check. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "arch/x86/layout.h"
#include "core/log.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Each virtio device takes the next IRQ from IRQ_VIRTIO_FIRST to IRQ_MAX
 * (the arch's layout.h; arch_alloc_virtio_mmio() gives them out) and one
 * of LAYOUT_VIRTIO_MAX windows. */
#define MAX_VIRTIO                                                             \
    (IRQ_MAX - IRQ_VIRTIO_FIRST + 1 < LAYOUT_VIRTIO_MAX                        \
         ? IRQ_MAX - IRQ_VIRTIO_FIRST + 1                                      \
         : LAYOUT_VIRTIO_MAX)

unsigned int config_max_virtio(void)
{
    return MAX_VIRTIO;
}

/* No control bytes, spaces or DEL.  The kernel reads PARTUUID from
 * "root=PARTUUID=..." on the command line, where a space would smuggle in
 * another parameter; names appear in one-line messages. */
static bool str_is_token(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

static bool str_len_in(const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);

    return n >= min && n <= max;
}

/* '=' would end the name early in an "ID=VALUE" restore override. */
static bool name_valid(const char *s, size_t max)
{
    return s && str_len_in(s, 1, max) && str_is_token(s) && !strchr(s, '=');
}

#define NAME_RULE(max)                                                         \
    "a name of 1.." STR(max) " bytes without spaces, control characters "      \
                             "or '='"

const char *config_check_drive_id(const char *s)
{
    if (name_valid(s, CONFIG_DRIVE_ID_MAX))
        return NULL;
    return NAME_RULE(CONFIG_DRIVE_ID_MAX);
}

const char *config_check_iface_id(const char *s)
{
    if (name_valid(s, CONFIG_IFACE_ID_MAX))
        return NULL;
    return NAME_RULE(CONFIG_IFACE_ID_MAX);
}

/* The rules of the kernel's dev_valid_name(): IFNAMSIZ, no '/', ':' or
 * white space, not "." or "..". */
const char *config_check_tap(const char *s)
{
    static const char rule[] = "an interface name (1.." STR(
        CONFIG_TAP_MAX) " bytes, no '/', ':' or white space, not '.' or '..')";

    if (s && str_len_in(s, 1, CONFIG_TAP_MAX) && str_is_token(s) &&
        !strpbrk(s, "/:") && strcmp(s, ".") != 0 && strcmp(s, "..") != 0)
        return NULL;
    return rule;
}

const char *config_check_partuuid(const char *s)
{
    if (s && str_len_in(s, 1, CONFIG_PARTUUID_MAX) && str_is_token(s))
        return NULL;
    return "1.." STR(CONFIG_PARTUUID_MAX) " bytes without spaces or control "
                                          "characters";
}

const char *config_check_abs_path(const char *s)
{
    if (s && s[0] == '/' && str_len_in(s, 1, PATH_MAX - 1))
        return NULL;
    return "an absolute path shorter than PATH_MAX";
}

const char *config_check_mac(const uint8_t mac[6])
{
    static const uint8_t zero[6];

    /* IEEE 802 I/G bit: a multicast source address is invalid. */
    if (mac[0] & 1)
        return "is a multicast address (the first byte must be even)";
    if (!memcmp(mac, zero, 6))
        return "is not a valid address";
    return NULL;
}

/* ---- config_check() ---- */

__attribute__((format(printf, 4, 5))) static int
check_fail(char *err, size_t err_len, const char *key, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err && err_len)
        log_escape(err, err_len, key);
    if (err && err_len > strlen(err))
        snprintf(err + strlen(err), err_len - strlen(err), ": %s", msg);
    return -EINVAL;
}

/* "expected (want), got '(value)'", the value made printable. */
static int check_fail_value(char *err, size_t err_len, const char *key,
                            const char *want, const char *value)
{
    char shown[80];

    if (!value)
        return check_fail(err, err_len, key, "missing");
    log_escape(shown, sizeof(shown), value);
    return check_fail(err, err_len, key, "expected %s, got '%s'", want, shown);
}

/* (why) of (check) on (value), as key (section)[(i)].(name). */
static int check_str(const char *section, size_t i, const char *name,
                     const char *(*check)(const char *), const char *value,
                     char *err, size_t err_len)
{
    const char *why = check(value);
    char key[96];

    if (!why)
        return 0;
    snprintf(key, sizeof(key), "%s[%zu].%s", section, i, name);
    return check_fail_value(err, err_len, key, why, value);
}

static int check_machine(const struct vmrun_config *c, char *err,
                         size_t err_len)
{
    if (c->vcpu_count < 1 || c->vcpu_count > CONFIG_MAX_VCPUS)
        return check_fail(err, err_len, "machine-config.vcpu_count",
                          "expected an integer 1..%d, got %u", CONFIG_MAX_VCPUS,
                          c->vcpu_count);
    if (c->mem_size_mib < CONFIG_MEM_MIN_MIB ||
        c->mem_size_mib > CONFIG_MEM_MAX_MIB)
        return check_fail(err, err_len, "machine-config.mem_size_mib",
                          "expected an integer %u..%u, got %llu",
                          CONFIG_MEM_MIN_MIB, CONFIG_MEM_MAX_MIB,
                          (unsigned long long)c->mem_size_mib);
    /* Two threads per core: an odd count would leave half a core. */
    if (c->smt && c->vcpu_count > 1 && c->vcpu_count % 2)
        return check_fail(err, err_len, "machine-config.vcpu_count",
                          "must be 1 or even when smt is true, got %u",
                          c->vcpu_count);
    return 0;
}

static int check_drive(const struct vmrun_config *c, size_t i, char *err,
                       size_t err_len)
{
    const struct drive_config *d = &c->drives[i];
    char key[96];
    int rc;

    if ((rc = check_str("drives", i, "drive_id", config_check_drive_id,
                        d->drive_id, err, err_len)) ||
        (d->path_on_host &&
         (rc = check_str("drives", i, "path_on_host", config_check_abs_path,
                         d->path_on_host, err, err_len))) ||
        (d->partuuid &&
         (rc = check_str("drives", i, "partuuid", config_check_partuuid,
                         d->partuuid, err, err_len))))
        return rc;
    snprintf(key, sizeof(key), "drives[%zu].cache_type", i);
    if ((unsigned int)d->cache_type > CACHE_WRITEBACK)
        return check_fail(err, err_len, key,
                          "expected 0 (Unsafe) or 1 (Writeback), got %u",
                          (unsigned int)d->cache_type);
    snprintf(key, sizeof(key), "drives[%zu].io_engine", i);
    if ((unsigned int)d->io_engine > IO_ENGINE_ASYNC)
        return check_fail(err, err_len, key,
                          "expected 0 (Sync) or 1 (Async), got %u",
                          (unsigned int)d->io_engine);
    snprintf(key, sizeof(key), "drives[%zu]", i);
    if (d->completion_coalesce_us > CONFIG_COMPLETION_COALESCE_MAX_US)
        return check_fail(
            err, err_len, key, "completion_coalesce_us %u is more than %d",
            d->completion_coalesce_us, CONFIG_COMPLETION_COALESCE_MAX_US);
    for (size_t k = 0; k < i; k++) {
        const struct drive_config *e = &c->drives[k];

        if (!strcmp(d->drive_id, e->drive_id)) {
            snprintf(key, sizeof(key), "drives[%zu].drive_id", i);
            return check_fail(err, err_len, key,
                              "\"%s\" is already used by drives[%zu]",
                              d->drive_id, k);
        }
        if (d->is_root_device && e->is_root_device) {
            snprintf(key, sizeof(key), "drives[%zu].is_root_device", i);
            return check_fail(err, err_len, key,
                              "drives[%zu] is already the root device", k);
        }
    }
    return 0;
}

/* Which key of (a) repeats one of (b), NULL when none does: two
 * interfaces on one tap or with one MAC cannot both work. */
static const char *nic_clash(const struct net_config *a,
                             const struct net_config *b)
{
    if (!strcmp(a->iface_id, b->iface_id))
        return "iface_id";
    if (a->host_dev_name && b->host_dev_name &&
        !strcmp(a->host_dev_name, b->host_dev_name))
        return "host_dev_name";
    if (a->has_mac && b->has_mac && !memcmp(a->guest_mac, b->guest_mac, 6))
        return "guest_mac";
    return NULL;
}

static int check_nic(const struct vmrun_config *c, size_t i, char *err,
                     size_t err_len)
{
    const struct net_config *n = &c->nics[i];
    const char *why;
    char key[96];
    int rc;

    if ((rc = check_str("network-interfaces", i, "iface_id",
                        config_check_iface_id, n->iface_id, err, err_len)) ||
        (n->host_dev_name &&
         (rc = check_str("network-interfaces", i, "host_dev_name",
                         config_check_tap, n->host_dev_name, err, err_len))))
        return rc;
    snprintf(key, sizeof(key), "network-interfaces[%zu].guest_mac", i);
    if (n->has_mac && (why = config_check_mac(n->guest_mac)))
        return check_fail(err, err_len, key,
                          "'%02x:%02x:%02x:%02x:%02x:%02x' %s", n->guest_mac[0],
                          n->guest_mac[1], n->guest_mac[2], n->guest_mac[3],
                          n->guest_mac[4], n->guest_mac[5], why);
    snprintf(key, sizeof(key), "network-interfaces[%zu]", i);
    if (n->mtu && n->mtu < CONFIG_MTU_MIN)
        return check_fail(err, err_len, key, "mtu %u is less than %d", n->mtu,
                          CONFIG_MTU_MIN);
    if (n->tx_coalesce_us > CONFIG_TX_COALESCE_MAX_US)
        return check_fail(err, err_len, key,
                          "tx_coalesce_us %u is more than %d",
                          n->tx_coalesce_us, CONFIG_TX_COALESCE_MAX_US);
    for (size_t k = 0; k < i; k++) {
        const char *clash = nic_clash(n, &c->nics[k]);

        if (clash) {
            snprintf(key, sizeof(key), "network-interfaces[%zu].%s", i, clash);
            return check_fail(err, err_len, key,
                              "already used by network-interfaces[%zu]", k);
        }
    }
    return 0;
}

/* One console: (kind) among the outputs (key) allows (the serial port has
 * no pty), "path" only with a file output, "input" only with stdout. */
static int check_console(const struct console_config *con, const char *key,
                         bool pty_ok, char *err, size_t err_len)
{
    const char *why;
    char k[64];

    snprintf(k, sizeof(k), "%s.output", key);
    if ((unsigned int)con->kind > CONSOLE_NONE ||
        (con->kind == CONSOLE_PTY && !pty_ok))
        return check_fail(err, err_len, k, "expected %s, got %u",
                          pty_ok ? "0 (stdout), 1 (file), 2 (pty) or 3 (none)"
                                 : "0 (stdout), 1 (file) or 3 (none)",
                          (unsigned int)con->kind);
    snprintf(k, sizeof(k), "%s.path", key);
    if (con->path && con->kind != CONSOLE_FILE)
        return check_fail(err, err_len, k,
                          "only valid with \"output\": \"file\"");
    if (con->path && (why = config_check_abs_path(con->path)))
        return check_fail_value(err, err_len, k, why, con->path);
    snprintf(k, sizeof(k), "%s.input", key);
    if (con->want_input && con->kind != CONSOLE_STDIO)
        return check_fail(err, err_len, k,
                          "true is only valid with \"output\": \"stdout\"");
    return 0;
}

static int check_consoles(const struct vmrun_config *c, char *err,
                          size_t err_len)
{
    const struct console_config *v = &c->vconsole;
    int rc;

    if ((rc = check_console(&c->serial, "vmrun.serial", false, err, err_len)) ||
        (rc = check_console(v, "vmrun.virtio-console", true, err, err_len)))
        return rc;
    if (!c->has_virtio_console &&
        (v->kind != CONSOLE_STDIO || v->path || v->want_input))
        return check_fail(err, err_len, "vmrun.virtio-console",
                          "set up, but the VM has no virtio-console");
    /* stdin has one reader. */
    if (c->serial.want_input && v->want_input)
        return check_fail(err, err_len, "vmrun.virtio-console.input",
                          "stdin already goes to vmrun.serial; set \"input\": "
                          "false in one of them");
    return 0;
}

int config_check(const struct vmrun_config *c, char *err, size_t err_len)
{
    size_t nr;
    int rc;

    if ((rc = check_machine(c, err, err_len)))
        return rc;
    if (c->nr_drives > CONFIG_MAX_DRIVES)
        return check_fail(err, err_len, "drives",
                          "at most %d entries are supported",
                          CONFIG_MAX_DRIVES);
    if (c->nr_nics > CONFIG_MAX_NICS)
        return check_fail(err, err_len, "network-interfaces",
                          "at most %d entries are supported", CONFIG_MAX_NICS);
    for (size_t i = 0; i < c->nr_drives; i++)
        if ((rc = check_drive(c, i, err, err_len)))
            return rc;
    for (size_t i = 0; i < c->nr_nics; i++)
        if ((rc = check_nic(c, i, err, err_len)))
            return rc;
    if ((rc = check_consoles(c, err, err_len)))
        return rc;
    nr = c->nr_drives + c->nr_nics + c->has_virtio_console + c->has_entropy;
    if (nr > MAX_VIRTIO)
        return check_fail(err, err_len, "drives",
                          "%zu drives, %zu network interfaces, %d "
                          "virtio-console and %d entropy device make %zu "
                          "virtio devices; the machine has interrupt lines "
                          "for %d",
                          c->nr_drives, c->nr_nics, (int)c->has_virtio_console,
                          (int)c->has_entropy, nr, MAX_VIRTIO);
    return 0;
}
