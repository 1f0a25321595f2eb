/* test_snapshot_config.c - a snapshot never carries authority
 * (src/core/snapshot_config.c, docs/snapshot.md): a restore takes every drive
 * image, tap and console output file from the operator, never from the
 * state file; a resource without the operator's entry is refused with one
 * line naming it, what the file names and the option; every value of the
 * saved configuration passes the config parser's rules (hostile names,
 * MACs, enums, consoles); the operator's entries pass the checks of the
 * config keys they stand for; nothing the file names is opened or
 * created (inotify watches it); the operator's entries are looked up by
 * snap_config_resolve() alone, after snap_config_parse(). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "core/snapshot_config.h"

/* A folder per test: disk.img and disk2.img (the operator's images),
 * saved.img (an image the state file names), saved.log (a console file
 * the state file names, absent). */
static char dir[64];
static char disk[128], disk2[128], saved_img[128], saved_log[128];

static void make_file(const char *path, off_t size)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vmrun-snapcfg-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(disk, sizeof(disk), "%s/disk.img", dir);
    snprintf(disk2, sizeof(disk2), "%s/disk2.img", dir);
    snprintf(saved_img, sizeof(saved_img), "%s/saved.img", dir);
    snprintf(saved_log, sizeof(saved_log), "%s/saved.log", dir);
    make_file(disk, 1 << 20);
    make_file(disk2, 1 << 20);
    make_file(saved_img, 1 << 20);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *dup_str(const char *s)
{
    char *d = s ? strdup(s) : NULL;

    ck_assert(!s || d);
    return d;
}

/* The configuration a VM had when it was saved: a root drive naming
 * /etc/shadow, a read-only drive, an interface on tap0, the serial port
 * writing to saved.log, a virtio-console on stdout. */
static struct vmrun_config *base(void)
{
    struct vmrun_config *c = calloc(1, sizeof(*c));
    static const uint8_t mac[6] = {0x06, 0, 0xac, 0x10, 0, 0x02};

    ck_assert_ptr_nonnull(c);
    c->source = dup_str("<test>");
    c->vcpu_count = 2;
    c->mem_size_mib = 128;
    c->nr_drives = 2;
    c->drives[0] = (struct drive_config){.drive_id = dup_str("rootfs"),
                                         .path_on_host = dup_str("/etc/shadow"),
                                         .is_root_device = true,
                                         .partuuid = dup_str("0eaa91a0-01"),
                                         .cache_type = CACHE_WRITEBACK,
                                         .io_engine = IO_ENGINE_ASYNC};
    c->drives[1] = (struct drive_config){.drive_id = dup_str("data"),
                                         .path_on_host = dup_str(saved_img),
                                         .is_read_only = true};
    c->nr_nics = 1;
    c->nics[0] = (struct net_config){.iface_id = dup_str("eth0"),
                                     .host_dev_name = dup_str("tap0"),
                                     .has_mac = true,
                                     .mtu = 1500};
    memcpy(c->nics[0].guest_mac, mac, 6);
    c->has_entropy = true;
    c->serial =
        (struct console_config){CONSOLE_FILE, dup_str(saved_log), false};
    c->has_virtio_console = true;
    c->vconsole = (struct console_config){CONSOLE_STDIO, NULL, true};
    c->virtio_mmio_cmdline = true;
    return c;
}

/* Saves (c) as a state file, frees it, and loads it with (ro): the
 * result of snap_config_load(), its config in (*out), its line in
 * (err)[256]. */
static int load(struct vmrun_config *c, const struct vmrun_restore *ro,
                struct vmrun_config **out, char *err)
{
    struct snap_writer *w = calloc(1, sizeof(*w));
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_buf b;
    char perr[128];
    int ret;

    ck_assert(w && f);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_CONFIG, 0), 0);
    snap_put_config(&w->data, c);
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_MEMORY, 0), 0);
    sb_put_u64(&w->data, c->mem_size_mib << 20);
    sb_put_u32(&w->data, 4096);
    sb_put_u8(&w->data, 0);
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_finish(w, 0, "0.1.0", "TestCPU", &b), 0);
    sb_free(&w->data);
    free(w);
    vmrun_config_free(c);
    /* snap_file_parse() takes the buffer. */
    ck_assert_int_eq(snap_file_parse(f, b.data, b.len, perr, sizeof(perr)), 0);
    err[0] = '\0';
    *out = (struct vmrun_config *)&out; /* must be set either way */
    ret = snap_config_load(f, "vm.snap", ro, out, err, 256);
    snap_file_free(f);
    free(f);
    if (ret == 0) {
        ck_assert_ptr_nonnull(*out);
    } else {
        ck_assert_ptr_null(*out);
        ck_assert_msg(err[0] && !strpbrk(err, "\n\r\t"), "not one line: %s",
                      err);
    }
    return ret;
}

/* The operator's entries that make base() restorable. */
struct ops {
    const char *drives[4], *taps[4], *consoles[4];
    char d0[160], d1[160], con[160];
    struct vmrun_restore ro;
};

static void ops_full(struct ops *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->d0, sizeof(o->d0), "rootfs=%s", disk);
    snprintf(o->d1, sizeof(o->d1), "data=%s", disk2);
    snprintf(o->con, sizeof(o->con), "serial=%s/out.log", dir);
    o->drives[0] = o->d0;
    o->drives[1] = o->d1;
    o->taps[0] = "eth0=vmtap7";
    o->consoles[0] = o->con;
    o->ro = (struct vmrun_restore){.track_dirty_pages = -1,
                                   .drive_paths = o->drives,
                                   .nr_drive_paths = 2,
                                   .taps = o->taps,
                                   .nr_taps = 1,
                                   .console_paths = o->consoles,
                                   .nr_console_paths = 1};
}

static void expect_refused(struct vmrun_config *c,
                           const struct vmrun_restore *ro, const char *want)
{
    struct vmrun_config *out;
    char err[256];

    ck_assert_int_eq(load(c, ro, &out, err), -EINVAL);
    ck_assert_msg(strstr(err, want), "want '%s' in '%s'", want, err);
}

START_TEST(test_every_resource_needs_the_operator)
{
    struct vmrun_config *out;
    struct ops o;
    char err[256], want[256], real[PATH_MAX];

    ops_full(&o);
    o.ro.nr_drive_paths = o.ro.nr_taps = o.ro.nr_console_paths = 0;
    expect_refused(base(), &o.ro,
                   "--restore: drive 'rootfs' needs --drive-path rootfs=PATH "
                   "(the snapshot names '/etc/shadow')");
    ck_assert_int_eq(load(base(), &o.ro, &out, err), -EINVAL);
    ck_assert_str_eq(err, "--restore: drive 'rootfs' needs --drive-path "
                          "rootfs=PATH (the snapshot names '/etc/shadow')");
    o.ro.names = VMRUN_RESTORE_NAMES_API;
    expect_refused(base(), &o.ro,
                   "drive 'rootfs' needs a drive_overrides entry with "
                   "drive_id 'rootfs' and a path_on_host (the snapshot "
                   "names '/etc/shadow')");
    o.ro.names = VMRUN_RESTORE_NAMES_CLI;
    o.ro.nr_drive_paths = 1;
    snprintf(want, sizeof(want),
             "--restore: drive 'data' needs --drive-path data=PATH (the "
             "snapshot names '%s')",
             saved_img);
    expect_refused(base(), &o.ro, want);
    o.ro.nr_drive_paths = 2;
    expect_refused(base(), &o.ro,
                   "--restore: network interface 'eth0' needs --tap eth0=TAP "
                   "(the snapshot names 'tap0')");
    o.ro.names = VMRUN_RESTORE_NAMES_API;
    expect_refused(base(), &o.ro,
                   "network interface 'eth0' needs a network_overrides entry "
                   "with iface_id 'eth0' and a host_dev_name (the snapshot "
                   "names 'tap0')");
    o.ro.names = VMRUN_RESTORE_NAMES_CLI;
    o.ro.nr_taps = 1;
    snprintf(want, sizeof(want),
             "--restore: console 'serial' needs --console-path serial=PATH "
             "(the snapshot names '%s')",
             saved_log);
    expect_refused(base(), &o.ro, want);
    o.ro.nr_console_paths = 1;
    ck_assert_int_eq(load(base(), &o.ro, &out, err), 0);
    ck_assert_ptr_nonnull(realpath(disk, real));
    ck_assert_str_eq(out->drives[0].path_on_host, real);
    ck_assert_ptr_nonnull(realpath(disk2, real));
    ck_assert_str_eq(out->drives[1].path_on_host, real);
    ck_assert_str_eq(out->nics[0].host_dev_name, "vmtap7");
    ck_assert_ptr_nonnull(realpath(dir, real));
    ck_assert_str_eq(out->serial.path, strcat(real, "/out.log"));
    ck_assert_ptr_null(out->vconsole.path);
    vmrun_config_free(out);
}
END_TEST

/* Everything else comes back as saved. */
START_TEST(test_round_trip)
{
    struct vmrun_config *out;
    struct ops o;
    char err[256];

    ops_full(&o);
    ck_assert_int_eq(load(base(), &o.ro, &out, err), 0);
    ck_assert_uint_eq(out->vcpu_count, 2);
    ck_assert_uint_eq(out->mem_size_mib, 128);
    ck_assert_uint_eq(out->nr_drives, 2);
    ck_assert_str_eq(out->drives[0].drive_id, "rootfs");
    ck_assert(out->drives[0].is_root_device && !out->drives[0].is_read_only);
    ck_assert_str_eq(out->drives[0].partuuid, "0eaa91a0-01");
    ck_assert_int_eq(out->drives[0].cache_type, CACHE_WRITEBACK);
    ck_assert_int_eq(out->drives[0].io_engine, IO_ENGINE_ASYNC);
    ck_assert(out->drives[1].is_read_only);
    ck_assert_str_eq(out->nics[0].iface_id, "eth0");
    ck_assert(out->nics[0].has_mac && out->nics[0].guest_mac[2] == 0xac);
    ck_assert_uint_eq(out->nics[0].mtu, 1500);
    ck_assert(out->has_entropy && out->has_virtio_console);
    ck_assert_int_eq(out->serial.kind, CONSOLE_FILE);
    ck_assert_int_eq(out->vconsole.kind, CONSOLE_STDIO);
    ck_assert(out->vconsole.want_input && out->virtio_mmio_cmdline);
    ck_assert(!out->track_dirty_pages);
    vmrun_config_free(out);
    o.ro.track_dirty_pages = 1;
    ck_assert_int_eq(load(base(), &o.ro, &out, err), 0);
    ck_assert(out->track_dirty_pages);
    vmrun_config_free(out);
}
END_TEST

/* inotify events so far on (fd), 0 when none. */
static int events(int fd)
{
    char buf[4096] __attribute__((aligned(8)));
    int n = 0;
    ssize_t len;

    while ((len = read(fd, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + len;
             p +=
             sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
            n++;
    return n;
}

/* Refused or restored, the files the state file names are never opened
 * (saved.img) or created (saved.log), and the operator's are only looked
 * at (stat, access: no inotify event). */
START_TEST(test_saved_resources_never_opened)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    struct vmrun_config *out;
    struct ops o;
    char err[256];
    struct stat st;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(inotify_add_watch(fd, dir, IN_ALL_EVENTS), 0);
    ck_assert_int_ge(inotify_add_watch(fd, saved_img, IN_ALL_EVENTS), 0);
    ops_full(&o);
    o.ro.nr_console_paths = 0;
    ck_assert_int_eq(load(base(), &o.ro, &out, err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "console 'serial' needs"));
    ck_assert_int_eq(events(fd), 0);
    o.ro.nr_console_paths = 1;
    ck_assert_int_eq(load(base(), &o.ro, &out, err), 0);
    vmrun_config_free(out);
    ck_assert_int_eq(events(fd), 0);
    ck_assert_int_eq(stat(saved_log, &st), -1);
    close(fd);
}
END_TEST

/* One change to base() that the config parser would refuse. */
struct hostile {
    const char *name;
    void (*change)(struct vmrun_config *c);
    const char *want;
};

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = dup_str(v);
}

static void tap_slash(struct vmrun_config *c)
{
    set_str(&c->nics[0].host_dev_name, "a/b");
}

static void tap_colon(struct vmrun_config *c)
{
    set_str(&c->nics[0].host_dev_name, "eth0:1");
}

static void tap_space(struct vmrun_config *c)
{
    set_str(&c->nics[0].host_dev_name, "tap 0");
}

static void tap_dotdot(struct vmrun_config *c)
{
    set_str(&c->nics[0].host_dev_name, "..");
}

static void tap_long(struct vmrun_config *c)
{
    set_str(&c->nics[0].host_dev_name, "0123456789abcdef");
}

static void mac_multicast(struct vmrun_config *c)
{
    c->nics[0].guest_mac[0] = 0x01;
}

static void mac_zero(struct vmrun_config *c)
{
    memset(c->nics[0].guest_mac, 0, 6);
}

static void mtu_small(struct vmrun_config *c)
{
    c->nics[0].mtu = 10;
}

static void id_newline(struct vmrun_config *c)
{
    set_str(&c->drives[0].drive_id, "root\nfs");
}

static void id_equals(struct vmrun_config *c)
{
    set_str(&c->drives[0].drive_id, "a=b");
}

static void id_empty(struct vmrun_config *c)
{
    set_str(&c->drives[0].drive_id, "");
}

static void id_long(struct vmrun_config *c)
{
    set_str(&c->drives[0].drive_id, "abcdefghijklmnopqrstu");
}

static void iface_space(struct vmrun_config *c)
{
    set_str(&c->nics[0].iface_id, "eth 0");
}

static void partuuid_space(struct vmrun_config *c)
{
    set_str(&c->drives[0].partuuid, "a b");
}

static void cache_bad(struct vmrun_config *c)
{
    c->drives[0].cache_type = (enum cache_type)2;
}

static void engine_bad(struct vmrun_config *c)
{
    c->drives[0].io_engine = (enum io_engine)9;
}

static void serial_pty(struct vmrun_config *c)
{
    set_str(&c->serial.path, NULL);
    c->serial.kind = CONSOLE_PTY;
}

static void vconsole_kind(struct vmrun_config *c)
{
    c->vconsole.kind = (enum console_kind)7;
    c->vconsole.want_input = false;
}

static void file_with_input(struct vmrun_config *c)
{
    c->serial.want_input = true;
}

static void two_stdin(struct vmrun_config *c)
{
    set_str(&c->serial.path, NULL);
    c->serial.kind = CONSOLE_STDIO;
    c->serial.want_input = true;
}

static void no_vconsole_but_file(struct vmrun_config *c)
{
    c->has_virtio_console = false;
    c->vconsole =
        (struct console_config){CONSOLE_FILE, dup_str(saved_log), false};
}

static void file_without_path(struct vmrun_config *c)
{
    set_str(&c->serial.path, NULL);
}

static void drive_without_path(struct vmrun_config *c)
{
    set_str(&c->drives[1].path_on_host, NULL);
}

static void drive_relative(struct vmrun_config *c)
{
    set_str(&c->drives[0].path_on_host, "disk.img");
}

static void console_relative(struct vmrun_config *c)
{
    set_str(&c->serial.path, "out.log");
}

static void dup_drive(struct vmrun_config *c)
{
    set_str(&c->drives[1].drive_id, "rootfs");
}

static void two_roots(struct vmrun_config *c)
{
    c->drives[1].is_root_device = true;
}

static void dup_tap(struct vmrun_config *c)
{
    c->nr_nics = 2;
    c->nics[1] = (struct net_config){.iface_id = dup_str("eth1"),
                                     .host_dev_name = dup_str("tap0")};
}

static void no_vcpu(struct vmrun_config *c)
{
    c->vcpu_count = 0;
}

static void small_ram(struct vmrun_config *c)
{
    c->mem_size_mib = 8;
}

static void smt_odd(struct vmrun_config *c)
{
    c->smt = true;
    c->vcpu_count = 3;
}

static const struct hostile hostile[] = {
    {"tap with '/'", tap_slash,
     "vm.snap: the saved configuration: network-interfaces[0].host_dev_name: "
     "expected an interface name (1..15 bytes, no '/', ':' or white space, "
     "not '.' or '..'), got 'a/b'"},
    {"tap with ':'", tap_colon, "host_dev_name: expected an interface name"},
    {"tap with a space", tap_space,
     "host_dev_name: expected an interface name"},
    {"tap '..'", tap_dotdot, "host_dev_name: expected an interface name"},
    {"tap of 16 bytes", tap_long, "host_dev_name: expected an interface name"},
    {"multicast MAC", mac_multicast,
     "network-interfaces[0].guest_mac: '01:00:ac:10:00:02' is a multicast "
     "address"},
    {"zero MAC", mac_zero, "guest_mac: '00:00:00:00:00:00' is not a valid"},
    {"MTU 10", mtu_small, "network-interfaces[0]: mtu 10 is less than 68"},
    {"drive_id with a newline", id_newline,
     "vm.snap: the saved configuration: drives[0].drive_id: expected a name "
     "of 1..20 bytes without spaces, control characters or '=', got "
     "'root\\nfs'"},
    {"drive_id with '='", id_equals, "drives[0].drive_id: expected a name"},
    {"empty drive_id", id_empty, "drives[0].drive_id: expected a name"},
    {"drive_id of 21 bytes", id_long, "drives[0].drive_id: expected a name"},
    {"iface_id with a space", iface_space,
     "network-interfaces[0].iface_id: expected a name of 1..64 bytes"},
    {"partuuid with a space", partuuid_space,
     "drives[0].partuuid: expected 1..64 bytes without spaces"},
    {"cache_type 2", cache_bad,
     "drives[0].cache_type: expected 0 (Unsafe) or 1 (Writeback), got 2"},
    {"io_engine 9", engine_bad,
     "drives[0].io_engine: expected 0 (Sync) or 1 (Async), got 9"},
    {"serial port on a pty", serial_pty,
     "vmrun.serial.output: expected 0 (stdout), 1 (file) or 3 (none), got "
     "2"},
    {"virtio-console output 7", vconsole_kind,
     "vmrun.virtio-console.output: expected 0 (stdout), 1 (file), 2 (pty) "
     "or 3 (none), got 7"},
    {"stdin for a file output", file_with_input,
     "vmrun.serial.input: true is only valid with \"output\": \"stdout\""},
    {"stdin twice", two_stdin,
     "vmrun.virtio-console.input: stdin already goes to vmrun.serial"},
    {"console file without the device", no_vconsole_but_file,
     "vmrun.virtio-console: set up, but the VM has no virtio-console"},
    {"file output without a path", file_without_path,
     "vm.snap: bad configuration section"},
    {"drive without a path", drive_without_path,
     "vm.snap: bad configuration section"},
    {"relative drive path", drive_relative,
     "drives[0].path_on_host: expected an absolute path shorter than "
     "PATH_MAX, got 'disk.img'"},
    {"relative console path", console_relative,
     "vmrun.serial.path: expected an absolute path"},
    {"one drive_id twice", dup_drive,
     "drives[1].drive_id: \"rootfs\" is already used by drives[0]"},
    {"two root devices", two_roots,
     "drives[1].is_root_device: drives[0] is already the root device"},
    {"one tap twice", dup_tap,
     "network-interfaces[1].host_dev_name: already used by "
     "network-interfaces[0]"},
    {"no vCPU", no_vcpu, "machine-config.vcpu_count: expected an integer"},
    {"8 MiB of RAM", small_ram, "machine-config.mem_size_mib: expected"},
    {"3 vCPUs with smt", smt_odd, "must be 1 or even when smt is true"},
};

/* Refused even with every entry of the operator given. */
START_TEST(test_hostile_saved_values)
{
    const struct hostile *h = &hostile[_i];
    struct vmrun_config *c = base();
    struct ops o;

    ops_full(&o);
    h->change(c);
    expect_refused(c, &o.ro, h->want);
}
END_TEST

/* One of the operator's entries replaced by (spec) (of kind (which):
 * 'd'rive, 't'ap, 'c'onsole); (api): the API's names. */
static void expect_entry_refused(char which, const char *spec, bool api,
                                 const char *want)
{
    struct ops o;

    ops_full(&o);
    if (which == 'd')
        o.drives[0] = spec;
    else if (which == 't')
        o.taps[0] = spec;
    else
        o.consoles[0] = spec;
    o.ro.names = api ? VMRUN_RESTORE_NAMES_API : VMRUN_RESTORE_NAMES_CLI;
    expect_refused(base(), &o.ro, want);
}

/* The operator's entries pass the checks of the keys they stand for. */
START_TEST(test_operator_entries_checked)
{
    char spec[256], want[512], link[160];

    expect_entry_refused('d', "rootfs=/dev/null", false,
                         "--drive-path rootfs=/dev/null: '/dev/null' is not a "
                         "regular file or a block device");
    expect_entry_refused('d', "rootfs=/dev/null", true,
                         "drive_overrides[0]: '/dev/null' is not a regular "
                         "file or a block device");
    snprintf(spec, sizeof(spec), "rootfs=%s/nope.img", dir);
    expect_entry_refused('d', spec, false, "cannot open");
    snprintf(spec, sizeof(spec), "rootfs=%s", dir);
    expect_entry_refused('d', spec, false, "is a directory");
    expect_entry_refused('d', "nope=/tmp", false,
                         "--drive-path nope=/tmp: the snapshot has no drive "
                         "'nope'");
    expect_entry_refused('d', "=/tmp", false, "expected ID=PATH");
    expect_entry_refused('d', "rootfs=", false, "expected ID=PATH");
    expect_entry_refused('d', "rootfs", false, "expected ID=PATH");
    expect_entry_refused('d', "root\nfs=/x", false,
                         "--drive-path root\\nfs=/x: the snapshot has no "
                         "drive 'root\\nfs'");
    expect_entry_refused('t', "eth0=a/b", false,
                         "--tap eth0=a/b: expected an interface name");
    expect_entry_refused('t', "eth0=0123456789abcdef", true,
                         "network_overrides[0]: expected an interface name");
    expect_entry_refused('t', "eth1=tap1", false,
                         "the snapshot has no network interface 'eth1'");
    snprintf(link, sizeof(link), "%s/link", dir);
    ck_assert_int_eq(symlink(saved_log, link), 0);
    snprintf(spec, sizeof(spec), "serial=%s", link);
    snprintf(want, sizeof(want),
             "--console-path serial=%s: '%s': is a "
             "symbolic link",
             link, link);
    expect_entry_refused('c', spec, false, want);
    expect_entry_refused('c', "serial=/proc/self/x", false,
                         "on a kernel pseudo file system");
    snprintf(spec, sizeof(spec), "serial=%s/nodir/x.log", dir);
    expect_entry_refused('c', spec, false, "cannot use the folder");
    snprintf(spec, sizeof(spec), "virtio-console=%s/v.log", dir);
    expect_entry_refused('c', spec, false,
                         "the snapshot's console 'virtio-console' writes to "
                         "no file");
    expect_entry_refused('c', "console=/tmp/x", true,
                         "console_overrides[0]: the snapshot has no console "
                         "'console'");
}
END_TEST

/* One entry twice, and two interfaces the operator puts on one tap. */
START_TEST(test_operator_entries_together)
{
    struct vmrun_config *c = base();
    struct ops o;

    ops_full(&o);
    o.drives[1] = o.drives[0];
    expect_refused(base(), &o.ro, "drive 'rootfs' is given twice");
    ops_full(&o);
    c->nr_nics = 2;
    c->nics[1] = (struct net_config){.iface_id = dup_str("eth1"),
                                     .host_dev_name = dup_str("tap1")};
    o.taps[1] = "eth1=vmtap7";
    o.ro.nr_taps = 2;
    expect_refused(c, &o.ro,
                   "--restore: network-interfaces[1].host_dev_name: already "
                   "used by network-interfaces[0]");
}
END_TEST

/* A relative path is the operator's working folder's, stored absolute. */
START_TEST(test_relative_entries)
{
    struct vmrun_config *out;
    struct ops o;
    char err[256], real[PATH_MAX], cwd[PATH_MAX];

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(chdir(dir), 0);
    ops_full(&o);
    o.drives[0] = "rootfs=disk.img";
    o.consoles[0] = "serial=out.log";
    ck_assert_int_eq(load(base(), &o.ro, &out, err), 0);
    ck_assert_ptr_nonnull(realpath(disk, real));
    ck_assert_str_eq(out->drives[0].path_on_host, real);
    ck_assert_ptr_nonnull(realpath(dir, real));
    ck_assert_str_eq(out->serial.path, strcat(real, "/out.log"));
    vmrun_config_free(out);
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* The two steps of a restore: snap_config_parse() reads the file and
 * keeps its names (it looks up no path: a restore runs it under the
 * restore role's filter), snap_config_resolve() alone looks up the
 * operator's entries, at the time it runs. */
START_TEST(test_parse_then_resolve)
{
    struct snap_writer *w = calloc(1, sizeof(*w));
    struct snap_file *f = calloc(1, sizeof(*f));
    struct vmrun_config *c = base(), *out;
    struct snap_buf b;
    struct ops o;
    char err[256], want[512];

    ck_assert(w && f);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_CONFIG, 0), 0);
    snap_put_config(&w->data, c);
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_finish(w, 0, "0.1.0", "TestCPU", &b), 0);
    sb_free(&w->data);
    free(w);
    vmrun_config_free(c);
    ck_assert_int_eq(snap_file_parse(f, b.data, b.len, err, sizeof(err)), 0);
    ck_assert_int_eq(snap_config_parse(f, "vm.snap", &out, err, sizeof(err)),
                     0);
    ck_assert_str_eq(out->drives[0].path_on_host, "/etc/shadow");
    ck_assert_str_eq(out->nics[0].host_dev_name, "tap0");
    ck_assert_str_eq(out->serial.path, saved_log);
    ops_full(&o);
    ck_assert_int_eq(unlink(disk), 0);
    ck_assert_int_eq(snap_config_resolve(out, &o.ro, err, sizeof(err)),
                     -EINVAL);
    snprintf(want, sizeof(want), "--drive-path %s: cannot open '%s'", o.d0,
             disk);
    ck_assert_msg(strstr(err, want), "want '%s' in '%s'", want, err);
    ck_assert_ptr_null(out->drives[0].path_on_host);
    ck_assert_ptr_null(out->nics[0].host_dev_name);
    vmrun_config_free(out);
    ck_assert_int_eq(snap_config_parse(f, "vm.snap", &out, err, sizeof(err)),
                     0);
    make_file(disk, 1 << 20);
    ck_assert_int_eq(snap_config_resolve(out, &o.ro, err, sizeof(err)), 0);
    ck_assert_str_eq(out->nics[0].host_dev_name, "vmtap7");
    vmrun_config_free(out);
    snap_file_free(f);
    free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot_config");
    TCase *tc = tcase_create("snapshot_config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_resource_needs_the_operator);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_saved_resources_never_opened);
    tcase_add_loop_test(tc, test_hostile_saved_values, 0,
                        sizeof(hostile) / sizeof(hostile[0]));
    tcase_add_test(tc, test_operator_entries_checked);
    tcase_add_test(tc, test_operator_entries_together);
    tcase_add_test(tc, test_relative_entries);
    tcase_add_test(tc, test_parse_then_resolve);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
