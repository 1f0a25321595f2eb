/* fuzz_snapshot.c - libFuzzer harness for a snapshot's state file up to
 * the restore's choice of host resources, the part that needs no KVM:
 * snap_file_parse() (src/core/snapshot_file.c) and snap_config_load()
 * (src/core/snapshot_config.c, with config_check() and the operator entries'
 * path checks).
 *
 * The input: two option bytes, then the state file.  Option byte 0 picks
 * which of the operator's entries (OPS below) the restore gets, one bit
 * each; byte 1: bit 0 the API's names in messages, bit 1 the state file
 * as it is (else its size field and CRC are fixed up first, so mutations
 * reach the sections), bits 2..3 dirty tracking absent, off or on.
 *
 * Checked beyond the sanitizers, after every load: a refusal is -errno
 * with one non-empty printable line and no configuration; a configuration
 * holds no host resource the operator did not give -- each drive's
 * path_on_host is the (resolved) path of the operator's entry for its
 * drive_id, each interface's host_dev_name the operator's tap for its
 * iface_id, each console's path the operator's entry for it (none for a
 * console that writes no file), no kernel, initrd, log, metrics or crash
 * dump path -- and it passes config_check().  A violation aborts
 * (FUZZ_CHECK), so libFuzzer keeps the input. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "core/snapshot_config.h"

/* The operator's folder: two images in it, console outputs (not created:
 * a new file is fine) and its realpath, which resolved entries start
 * with. */
static char op_dir[PATH_MAX];

enum { OP_DRIVE, OP_TAP, OP_CONSOLE };

/* The operator's possible entries: (id) of (kind), (value) relative to
 * op_dir when it does not start with '/'. */
static const struct op {
    int kind;
    const char *id, *value;
} OPS[8] = {
    {OP_DRIVE, "rootfs", "op0.img"},
    {OP_DRIVE, "data", "op1.img"},
    {OP_DRIVE, "d0", "/dev/null"}, /* refused: not a file or block device */
    {OP_TAP, "eth0", "vmfz0"},
    {OP_TAP, "eth1", "vmfz1"},
    {OP_CONSOLE, "serial", "serial.log"},
    {OP_CONSOLE, "virtio-console", "vcon.log"},
    {OP_TAP, "e", "vmfz0"}, /* eth0's tap: a clash when both are taken */
};

/* OPS[i] as the library gets it ("ID=VALUE"), and the value it must end
 * up with when accepted. */
static char op_spec[8][PATH_MAX + 32], op_want[8][PATH_MAX + 16];

static void cleanup(void)
{
    char p[PATH_MAX + 16];

    snprintf(p, sizeof(p), "%s/op0.img", op_dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/op1.img", op_dir);
    unlink(p);
    rmdir(op_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char tmpl[] = "/tmp/vmrun-fuzz-snapshot-XXXXXX";
    char p[PATH_MAX + 16];

    (void)argc;
    (void)argv;
    if (!mkdtemp(tmpl) || !realpath(tmpl, op_dir))
        abort();
    atexit(cleanup);
    for (int i = 0; i < 2; i++) {
        FILE *f;

        snprintf(p, sizeof(p), "%s/op%d.img", op_dir, i);
        if (!(f = fopen(p, "we")))
            abort();
        fclose(f);
    }
    for (int i = 0; i < 8; i++) {
        const char *v = OPS[i].value;

        snprintf(op_want[i], sizeof(op_want[i]), "%s%s%s",
                 v[0] == '/' ? "" : op_dir, v[0] == '/' ? "" : "/", v);
        snprintf(op_spec[i], sizeof(op_spec[i]), "%s=%s", OPS[i].id,
                 OPS[i].kind == OP_TAP ? v : op_want[i]);
        if (OPS[i].kind == OP_TAP)
            snprintf(op_want[i], sizeof(op_want[i]), "%s", v);
    }
    return 0;
}

/* The value the operator gave for (id) of (kind) in the entries
 * (mask) picks; NULL when none. */
static const char *op_value(unsigned int mask, int kind, const char *id)
{
    for (int i = 0; i < 8; i++)
        if ((mask & (1u << i)) && OPS[i].kind == kind && !strcmp(OPS[i].id, id))
            return op_want[i];
    return NULL;
}

static void check_console(unsigned int mask, const char *id,
                          const struct console_config *c)
{
    const char *want = op_value(mask, OP_CONSOLE, id);

    if (c->kind != CONSOLE_FILE) {
        FUZZ_CHECK(c->path == NULL);
        return;
    }
    FUZZ_CHECK(c->path && want && !strcmp(c->path, want));
}

/* What a restore may build from: only the operator's resources. */
static void check_config(unsigned int mask, const struct vmrun_config *c)
{
    char err[512];

    for (size_t i = 0; i < c->nr_drives; i++) {
        const char *want = op_value(mask, OP_DRIVE, c->drives[i].drive_id);

        FUZZ_CHECK(c->drives[i].path_on_host && want &&
                   !strcmp(c->drives[i].path_on_host, want));
    }
    for (size_t i = 0; i < c->nr_nics; i++) {
        const char *want = op_value(mask, OP_TAP, c->nics[i].iface_id);

        FUZZ_CHECK(c->nics[i].host_dev_name && want &&
                   !strcmp(c->nics[i].host_dev_name, want));
    }
    check_console(mask, "serial", &c->serial);
    if (c->has_virtio_console)
        check_console(mask, "virtio-console", &c->vconsole);
    else
        FUZZ_CHECK(c->vconsole.path == NULL);
    FUZZ_CHECK(!c->kernel_path && !c->initrd_path && !c->log_path &&
               !c->metrics_path && !c->crash_dump_path && !c->boot_args);
    FUZZ_CHECK(config_check(c, err, sizeof(err)) == 0);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The header's file size and the trailing CRC made right for (len). */
static void fix_up(uint8_t *buf, size_t len)
{
    if (len < SNAP_HEADER_SIZE + 4)
        return;
    put_le(buf + 16, len, 8);
    put_le(buf + len - 4, snap_crc32(0, buf, len - 4), 4);
}

static void load(unsigned int mask, uint8_t opts, const uint8_t *data,
                 size_t len)
{
    static const int dirty[] = {-1, 0, 1, -1};
    const char *drives[8], *taps[8], *consoles[8];
    struct vmrun_restore ro = {.track_dirty_pages = dirty[(opts >> 2) & 3],
                               .drive_paths = drives,
                               .taps = taps,
                               .console_paths = consoles,
                               .names = opts & 1};
    struct snap_file *f = calloc(1, sizeof(*f));
    uint8_t *buf = malloc(len ? len : 1);
    struct vmrun_config *cfg = (struct vmrun_config *)&cfg;
    char err[256] = "";
    int ret;

    if (!f || !buf)
        abort();
    for (int i = 0; i < 8; i++) {
        size_t *n = OPS[i].kind == OP_DRIVE ? &ro.nr_drive_paths
                    : OPS[i].kind == OP_TAP ? &ro.nr_taps
                                            : &ro.nr_console_paths;
        const char **list = OPS[i].kind == OP_DRIVE ? drives
                            : OPS[i].kind == OP_TAP ? taps
                                                    : consoles;

        if (mask & (1u << i))
            list[(*n)++] = op_spec[i];
    }
    memcpy(buf, data, len);
    if (!(opts & 2))
        fix_up(buf, len);
    if (snap_file_parse(f, buf, len, err, sizeof(err)) < 0) {
        snap_file_free(f); /* it took (buf) */
        free(f);
        return;
    }
    ret = snap_config_load(f, "fuzz.snap", &ro, &cfg, err, sizeof(err));
    if (ret == 0) {
        FUZZ_CHECK(cfg != NULL);
        check_config(mask, cfg);
        vmrun_config_free(cfg);
    } else {
        FUZZ_CHECK(ret < 0 && ret > -4096 && cfg == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        FUZZ_CHECK(ret == -ENOMEM || (err[0] && !strpbrk(err, "\n\r\t")));
    }
    snap_file_free(f);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    load(data[0], data[1], data + 2, size - 2);
    return 0;
}
