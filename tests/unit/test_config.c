/* test_config.c - the JSON config parser: every rejection names its key path,
 * valid Firecracker configs are read with the right values and defaults. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"

/* Per test (check forks each one): a temp folder holding the files the
 * configs name, and the last parse's result. */
static char dir[64];
static char err[512];
static struct vmrun_config *cfg;

static void file_write(const char *name, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode); /* umask may have cut it */
}

static void dir_make(const char *name)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* "<dir>/<name>" in a static buffer. */
static const char *in_dir(const char *name)
{
    static char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static void setup(void)
{
    char tmpl[] = "/tmp/vmrun-test-config-XXXXXX";

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    ck_assert_ptr_nonnull(realpath(tmpl, dir)); /* /tmp may be a link */
    file_write("vmlinuz", "kernel", 0644);
    file_write("initrd.img", "initrd", 0644);
    file_write("disk.img", "disk", 0644);
    file_write("disk2.img", "disk", 0644);
    file_write("ro.img", "disk", 0444);
    file_write("empty", "", 0644);
    dir_make("sub");
    ck_assert_int_eq(symlink("sub/x.log", in_dir("link.log")), 0);
    ck_assert_int_eq(symlink("nowhere", in_dir("dangling")), 0);
    {
        char fifo[PATH_MAX];

        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    }
    cfg = NULL;
    err[0] = '\0';
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

static void teardown(void)
{
    vmrun_config_free(cfg);
    cfg = NULL;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int parse(const char *json)
{
    vmrun_config_free(cfg);
    cfg = NULL;
    err[0] = '\0';
    return vmrun_config_parse_string(json, dir, &cfg, err, sizeof(err));
}

static void parse_ok(const char *json)
{
    int rc = parse(json);

    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_ptr_nonnull(cfg);
}

/* Every failure: -EINVAL, no config, one line starting "<string>: ". */
static void parse_fails(const char *json, const char *want)
{
    int rc = parse(json);

    ck_assert_msg(rc == -EINVAL, "rc %d for %s", rc, json);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, want), "want '%s' in '%s'", want, err);
    ck_assert_msg(!strncmp(err, "<string>: ", 10), "%s", err);
    ck_assert_msg(!strpbrk(err, "\n\r\t"), "not one line: %s", err);
}

#define BOOT "\"boot-source\": {\"kernel_image_path\": \"vmlinuz\"}"
#define MC(x) BOOT ", \"machine-config\": {" x "}"
#define DRIVES(x) BOOT ", \"drives\": [" x "]"
#define DISK(x) "{\"drive_id\": \"d\", \"path_on_host\": \"disk.img\"" x "}"
#define NICS(x) BOOT ", \"network-interfaces\": [" x "]"
#define NIC(x) "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"" x "}"
#define VMRUN(x) BOOT ", \"vmrun\": {" x "}"

struct reject {
    const char *json;
    const char *want; /* a substring of the message: key path and reason */
};

static const struct reject rejects[] = {
    /* syntax and shape */
    {"{", "<string>: line 1, column 2: invalid JSON"},
    {"{" BOOT ",\n  \"drives\": [}", "<string>: line 2, column 14: invalid "
                                     "JSON near '}'"},
    {"", "line 1, column 1: invalid JSON (unexpected end)"},
    {"{} x", "line 1, column 4: invalid JSON near 'x'"},
    /* what cJSON would read wrong without a word: \u0000 cuts a string,
     * 1e309 becomes infinity (printed as null) */
    {"{\"boot-source\": {\"kernel_image_path\": \"/k\\u0000/../etc/shadow\"}}",
     "<string>: boot-source.kernel_image_path: NUL in JSON string (\\u0000)"},
    {"{" DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"a\\u0000\"}") "}",
     "<string>: drives[0].path_on_host: NUL in JSON string"},
    {"{\"boot-source\": {\"a\\u0000\": 1}}",
     "<string>: boot-source: NUL in JSON key"},
    {"{" BOOT ", \"machine-config\": {\"vcpu_count\": 1e309}}",
     "<string>: machine-config.vcpu_count: number out of range"},
    {"{" BOOT ", \"machine-config\": {\"vcpu_count\": -1e309}}",
     "<string>: machine-config.vcpu_count: number out of range"},
    {"{" BOOT ", \"machine-config\": {\"vcpu_count\": 255}}",
     "machine-config.vcpu_count: expected an integer 1..254, got 255 (out of "
     "range)"},
    {"[]", "<string>: expected an object, got []"},
    {"{}", "<string>: boot-source: missing"},
    {"{\"boot_source\": {}}",
     "<string>: boot_source: unknown key (did you mean \"boot-source\"?)"},
    {"{" BOOT ", \"foo\": 1}", "<string>: foo: unknown key"},
    {"{" BOOT ", " BOOT "}", "<string>: boot-source: duplicate key"},
    {"{\"a\\nb\": 1}", "<string>: a?b: unknown key"},
    /* Firecracker sections vmrun does not have yet */
    {"{" BOOT ", \"vsock\": {}}", "<string>: vsock: not supported by vmrun "
                                  "yet"},
    {"{" BOOT ", \"balloon\": {}}", "<string>: balloon: not supported"},
    /* logger and metrics */
    {"{" BOOT ", \"logger\": []}", "<string>: logger: expected an object"},
    {"{" BOOT ", \"logger\": {\"level\": \"Loud\"}}",
     "<string>: logger.level: expected one of \"Error\", \"Warning\", "
     "\"Info\", \"Debug\", got \"Loud\""},
    {"{" BOOT ", \"logger\": {\"level\": 3}}", "<string>: logger.level: "
                                               "expected one of"},
    {"{" BOOT ", \"logger\": {\"show_level\": \"yes\"}}",
     "<string>: logger.show_level: expected"},
    {"{" BOOT ", \"logger\": {\"log_path\": \"nodir/x.log\"}}",
     "<string>: logger.log_path: cannot use the folder of 'nodir/x.log'"},
    {"{" BOOT ", \"logger\": {\"module\": \"x\"}}",
     "<string>: logger.module: not supported"},
    {"{" BOOT ", \"logger\": {\"colour\": true}}",
     "<string>: logger.colour: unknown key"},
    {"{" BOOT ", \"metrics\": {}}", "<string>: metrics.metrics_path: missing"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": 7}}",
     "<string>: metrics.metrics_path: expected a string"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": \"sub\"}}",
     "<string>: metrics.metrics_path: 'sub' is a directory"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": \"m\", \"period_s\": 0}}",
     "<string>: metrics.period_s: expected an integer 1..86400"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": \"m\", \"x\": 0}}",
     "<string>: metrics.x: unknown key"},
    /* open_output()'s policy, at config time (issue 22) */
    {"{" BOOT ", \"logger\": {\"log_path\": \"/proc/self/comm\"}}",
     "<string>: logger.log_path: '/proc/self/comm': on a kernel pseudo file "
     "system"},
    {"{" BOOT ", \"logger\": {\"log_path\": \"/proc/sys/kernel/hostname\"}}",
     "logger.log_path: '/proc/sys/kernel/hostname': on a kernel pseudo"},
    {"{" BOOT ", \"logger\": {\"log_path\": \"/dev/null\"}}",
     "logger.log_path: '/dev/null': not a regular file; expected a regular "
     "file or a FIFO"},
    {"{" BOOT ", \"logger\": {\"log_path\": \"link.log\"}}",
     "logger.log_path: 'link.log': is a symbolic link"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": \"dangling\"}}",
     "metrics.metrics_path: 'dangling': is a symbolic link"},
    {"{" BOOT ", \"metrics\": {\"metrics_path\": \"/sys/kernel/x\"}}",
     "metrics.metrics_path: '/sys/kernel/x': on a kernel pseudo file system"},
    {"{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": "
               "\"/dev/tty\"}") "}",
     "vmrun.serial.path: '/dev/tty': not a regular file"},
    {"{" VMRUN("\"virtio-console\": {\"output\": \"file\", \"path\": "
               "\"link.log\"}") "}",
     "vmrun.virtio-console.path: 'link.log': is a symbolic link"},
    /* inputs: a regular file (or a block device for a drive), not empty */
    {"{\"boot-source\": {\"kernel_image_path\": \"/dev/null\"}}",
     "boot-source.kernel_image_path: '/dev/null' is not a regular file"},
    {"{\"boot-source\": {\"kernel_image_path\": \"empty\"}}",
     "boot-source.kernel_image_path: '"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", "
     "\"initrd_path\": \"/dev/zero\"}}",
     "boot-source.initrd_path: '/dev/zero' is not a regular file"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", "
     "\"initrd_path\": \"empty\"}}",
     "/empty' is empty"},
    {"{" DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/dev/null\"}") "}",
     "drives[0].path_on_host: '/dev/null' is not a regular file or a block "
     "device"},
    {"{" VMRUN("\"allow-overcommit\": 1") "}",
     "vmrun.allow-overcommit: expected true or false, got 1"},
    {"{" BOOT ", \"mmds-config\": {}}", "<string>: mmds-config: not supported"},
    {"{" BOOT ", \"cpu-config\": {}}", "<string>: cpu-config: not supported"},
    {"{" BOOT ", \"pmem\": []}", "<string>: pmem: not supported"},
    /* boot-source */
    {"{\"boot-source\": []}", "<string>: boot-source: expected an object, "
                              "got []"},
    {"{\"boot-source\": {}}", "<string>: boot-source.kernel_image_path: "
                              "missing"},
    {"{\"boot-source\": {\"kernel_image_path\": null}}",
     "boot-source.kernel_image_path: missing"},
    {"{\"boot-source\": {\"kernel_image_path\": 5}}",
     "boot-source.kernel_image_path: expected a string, got 5"},
    {"{\"boot-source\": {\"kernel_image_path\": \"nope\"}}",
     "<string>: boot-source.kernel_image_path: cannot open 'nope': No such "
     "file or directory"},
    {"{\"boot-source\": {\"kernel_image_path\": \"sub\"}}",
     "boot-source.kernel_image_path: 'sub' is a directory"},
    /* opening a FIFO would block until a writer came */
    {"{\"boot-source\": {\"kernel_image_path\": \"fifo\"}}",
     "boot-source.kernel_image_path: 'fifo' is a FIFO or socket, expected a "
     "file"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", "
     "\"initrd_path\": \"fifo\"}}",
     "boot-source.initrd_path: 'fifo' is a FIFO or socket, expected a file"},
    {"{\"boot-source\": {\"kernel_image_path\": \"\"}}",
     "boot-source.kernel_image_path: expected a string of 1..4095 bytes"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", \"initrd_path\": "
     "\"missing.img\"}}",
     "boot-source.initrd_path: cannot open 'missing.img': No such file"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", \"boot_args\": "
     "[]}}",
     "boot-source.boot_args: expected a string, got []"},
    {"{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", \"x\": 1}}",
     "boot-source.x: unknown key"},
    /* machine-config */
    {"{" MC("\"vcpu_count\": \"two\", \"mem_size_mib\": 128") "}",
     "<string>: machine-config.vcpu_count: expected an integer 1..254, got "
     "\"two\""},
    {"{" MC("\"vcpu_count\": 0, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got 0"},
    {"{" MC("\"vcpu_count\": 255, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got 255"},
    {"{" MC("\"vcpu_count\": 1.5, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got 1.5"},
    {"{" MC("\"vcpu_count\": -1, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got -1"},
    {"{" MC("\"vcpu_count\": 1e300, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got 1e+300"},
    {"{" MC("\"vcpu_count\": true, \"mem_size_mib\": 128") "}",
     "machine-config.vcpu_count: expected an integer 1..254, got true"},
    {"{" MC("\"mem_size_mib\": 128") "}", "machine-config.vcpu_count: missing"},
    {"{" MC("\"vcpu_count\": 1") "}", "machine-config.mem_size_mib: missing"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 15") "}",
     "machine-config.mem_size_mib: expected an integer 16..1048576, got 15"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 1048577") "}",
     "machine-config.mem_size_mib: expected an integer 16..1048576, got "
     "1048577"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": \"yes\"") "}",
     "machine-config.smt: expected true or false, got \"yes\""},
    {"{" MC("\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true") "}",
     "machine-config.vcpu_count: must be 1 or even when smt is true"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, "
            "\"track_dirty_pages\": 0") "}",
     "machine-config.track_dirty_pages: expected true or false, got 0"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": "
            "\"T2\"") "}",
     "machine-config.cpu_template: \"T2\" is not supported by vmrun yet"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": "
            "\"X\"") "}",
     "machine-config.cpu_template: expected one of \"None\", \"C3\""},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": "
            "\"2M\"") "}",
     "machine-config.huge_pages: \"2M\" is not supported by vmrun yet"},
    {"{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"vcpu\": 1") "}",
     "machine-config.vcpu: unknown key"},
    {"{" MC("\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 64") "}",
     "machine-config.vcpu_count: duplicate key"},
    /* drives */
    {"{" BOOT ", \"drives\": {}}", "<string>: drives: expected an array, got "
                                   "{}"},
    {"{" DRIVES("1") "}", "drives[0]: expected an object, got 1"},
    {"{" DRIVES(DISK("") ", {\"foo\": 1}") "}", "drives[1].foo: unknown key"},
    {"{" DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"fifo\"}") "}",
     "drives[0].path_on_host: 'fifo' is a FIFO or socket, expected a file"},
    {"{" DRIVES("{\"path_on_host\": \"disk.img\"}") "}",
     "drives[0].drive_id: missing"},
    {"{" DRIVES("{\"drive_id\": \"\", \"path_on_host\": \"disk.img\"}") "}",
     "drives[0].drive_id: expected a string of 1..20 bytes, got \"\""},
    {"{" DRIVES("{\"drive_id\": \"root\\nfs\", \"path_on_host\": "
                "\"disk.img\"}") "}",
     "drives[0].drive_id: expected a name of 1..20 bytes without spaces, "
     "control characters or '=', got \"root\\nfs\""},
    {"{" DRIVES("{\"drive_id\": \"a=b\", \"path_on_host\": \"disk.img\"}") "}",
     "drives[0].drive_id: expected a name of 1..20 bytes"},
    {"{" DRIVES("{\"drive_id\": \"a b\", \"path_on_host\": \"disk.img\"}") "}",
     "drives[0].drive_id: expected a name of 1..20 bytes"},
    {"{" DRIVES("{\"drive_id\": \"abcdefghijklmnopqrstu\", \"path_on_host\": "
                "\"disk.img\"}") "}",
     "drives[0].drive_id: expected a string of 1..20 bytes"},
    {"{" DRIVES("{\"drive_id\": \"d\"}") "}",
     "drives[0].path_on_host: missing"},
    {"{" DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"nodisk.img\"}") "}",
     "<string>: drives[0].path_on_host: cannot open 'nodisk.img': No such "
     "file or directory"},
    {"{" DRIVES(DISK("") "," DISK("")) "}",
     "drives[1].drive_id: \"d\" is already used by drives[0]"},
    {"{" DRIVES(
         DISK(", \"is_root_device\": true") ", {\"drive_id\": \"e\", "
                                            "\"path_on_host\": \"disk2.img\", "
                                            "\"is_root_device\": "
                                            "true}") "}",
     "drives[1].is_root_device: drives[0] is already the root device"},
    {"{" DRIVES(DISK(", \"completion_coalesce_us\": 1001")) "}",
     "drives[0].completion_coalesce_us: expected an integer 0..1000, got "
     "1001"},
    {"{" DRIVES(DISK(", \"completion_coalesce_us\": \"50\"")) "}",
     "drives[0].completion_coalesce_us: expected an integer 0..1000, got "
     "\"50\""},
    {"{" DRIVES(DISK(", \"rate_limiter\": {}")) "}",
     "drives[0].rate_limiter: not supported by vmrun yet"},
    {"{" DRIVES(DISK(", \"socket\": \"/run/vhost.sock\"")) "}",
     "drives[0].socket: not supported by vmrun yet"},
    {"{" DRIVES(DISK(", \"cache_type\": \"None\"")) "}",
     "drives[0].cache_type: expected one of \"Unsafe\", \"Writeback\", got "
     "\"None\""},
    {"{" DRIVES(DISK(", \"io_engine\": \"io_uring\"")) "}",
     "drives[0].io_engine: expected one of \"Sync\", \"Async\", got "
     "\"io_uring\""},
    {"{" DRIVES(DISK(", \"partuuid\": \"a b\"")) "}",
     "drives[0].partuuid: expected 1..64 bytes without spaces or control "
     "characters, got \"a b\""},
    {"{" DRIVES(DISK(", \"partuuid\": 7")) "}",
     "drives[0].partuuid: expected a string, got 7"},
    {"{" DRIVES(DISK(", \"is_read_only\": \"yes\"")) "}",
     "drives[0].is_read_only: expected true or false"},
    {"{" DRIVES(DISK(", \"drive_id\": \"e\"")) "}",
     "drives[0].drive_id: duplicate key"},
    /* network-interfaces */
    {"{" NICS("{\"host_dev_name\": \"tap0\"}") "}",
     "network-interfaces[0].iface_id: missing"},
    {"{" NICS("{\"iface_id\": \"eth0\"}") "}",
     "network-interfaces[0].host_dev_name: missing"},
    {"{" NICS("{\"iface_id\": \"eth0\", \"host_dev_name\": "
              "\"abcdefghijklmnop\"}") "}",
     "network-interfaces[0].host_dev_name: expected a string of 1..15 bytes"},
    {"{" NICS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"a/b\"}") "}",
     "network-interfaces[0].host_dev_name: expected an interface name "
     "(1..15 bytes, no '/', ':' or white space, not '.' or '..'), got "
     "\"a/b\""},
    {"{" NICS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"a:b\"}") "}",
     "network-interfaces[0].host_dev_name: expected an interface name"},
    {"{" NICS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"a b\"}") "}",
     "network-interfaces[0].host_dev_name: expected an interface name"},
    {"{" NICS("{\"iface_id\": \"eth\\n0\", \"host_dev_name\": \"t\"}") "}",
     "network-interfaces[0].iface_id: expected a name of 1..64 bytes without "
     "spaces, control characters or '='"},
    {"{" NICS("{\"iface_id\": \"a=b\", \"host_dev_name\": \"t\"}") "}",
     "network-interfaces[0].iface_id: expected a name of 1..64 bytes"},
    {"{" NICS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"..\"}") "}",
     "network-interfaces[0].host_dev_name: expected an interface name"},
    {"{" NICS(NIC("") ", {\"iface_id\": \"eth0\", \"host_dev_name\": "
                      "\"tap1\"}") "}",
     "network-interfaces[1].iface_id: already used by network-interfaces[0]"},
    {"{" NICS(NIC("") ", {\"iface_id\": \"eth1\", \"host_dev_name\": "
                      "\"tap0\"}") "}",
     "network-interfaces[1].host_dev_name: already used by "
     "network-interfaces[0]"},
    {"{" NICS(NIC(", \"guest_mac\": \"06:00:00:00:00:01\"") ", {\"iface_id\": "
                                                            "\"eth1\", "
                                                            "\"host_dev_name\":"
                                                            " \"tap1\", "
                                                            "\"guest_mac\": "
                                                            "\"06:00:00:00:00:"
                                                            "01\"}") "}",
     "network-interfaces[1].guest_mac: already used by network-interfaces[0]"},
    {"{" NICS(NIC(", \"guest_mac\": \"aa:bb:cc:dd:ee\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address like "
     "\"06:00:ac:10:00:02\", got \"aa:bb:cc:dd:ee\""},
    {"{" NICS(NIC(", \"guest_mac\": \"aa-bb-cc-dd-ee-ff\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address"},
    {"{" NICS(NIC(", \"guest_mac\": \"aa:bb:cc:dd:ee:fg\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address"},
    {"{" NICS(NIC(", \"guest_mac\": \"aa:bb:cc:dd:ee:ff:\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address"},
    {"{" NICS(NIC(", \"guest_mac\": \"aabb:cc:dd:ee:ff:0\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address"},
    {"{" NICS(NIC(", \"guest_mac\": \" a:bb:cc:dd:ee:ff\"")) "}",
     "network-interfaces[0].guest_mac: expected a MAC address"},
    {"{" NICS(NIC(", \"guest_mac\": 6")) "}",
     "network-interfaces[0].guest_mac: expected a string, got 6"},
    {"{" NICS(NIC(", \"guest_mac\": \"01:00:5e:00:00:01\"")) "}",
     "network-interfaces[0].guest_mac: '01:00:5e:00:00:01' is a multicast "
     "address"},
    {"{" NICS(NIC(", \"guest_mac\": \"ff:ff:ff:ff:ff:ff\"")) "}",
     "network-interfaces[0].guest_mac: 'ff:ff:ff:ff:ff:ff' is a multicast"},
    {"{" NICS(NIC(", \"guest_mac\": \"00:00:00:00:00:00\"")) "}",
     "network-interfaces[0].guest_mac: '00:00:00:00:00:00' is not a valid"},
    {"{" NICS(NIC(", \"mtu\": 67")) "}",
     "network-interfaces[0].mtu: expected an integer 68..65535, got 67"},
    {"{" NICS(NIC(", \"tx_coalesce_us\": 1001")) "}",
     "network-interfaces[0].tx_coalesce_us: expected an integer 0..1000, got "
     "1001"},
    {"{" NICS(NIC(", \"tx_coalesce_us\": -1")) "}",
     "network-interfaces[0].tx_coalesce_us: expected an integer 0..1000, got "
     "-1"},
    {"{" NICS(NIC(", \"rx_rate_limiter\": {}")) "}",
     "network-interfaces[0].rx_rate_limiter: not supported by vmrun yet"},
    {"{" NICS(NIC(", \"tx_rate_limiter\": {\"bandwidth\": {}}")) "}",
     "network-interfaces[0].tx_rate_limiter: not supported by vmrun yet"},
    {"{" NICS(NIC(", \"iface\": 1")) "}",
     "network-interfaces[0].iface: unknown key"},
    /* entropy */
    {"{" BOOT ", \"entropy\": {\"rate_limiter\": {}}}",
     "<string>: entropy.rate_limiter: not supported by vmrun yet"},
    {"{" BOOT ", \"entropy\": []}", "entropy: expected an object, got []"},
    {"{" BOOT ", \"entropy\": {\"x\": 1}}", "entropy.x: unknown key"},
    /* vmrun */
    {"{" VMRUN("\"foo\": 1") "}", "<string>: vmrun.foo: unknown key"},
    {"{" VMRUN("\"serial\": {\"output\": \"pty\"}") "}",
     "vmrun.serial.output: expected one of \"stdout\", \"file\", \"none\", "
     "got \"pty\""},
    {"{" VMRUN("\"serial\": {\"output\": \"file\"}") "}",
     "vmrun.serial.path: missing"},
    {"{" VMRUN("\"serial\": {\"path\": \"out.log\"}") "}",
     "vmrun.serial.path: only valid with \"output\": \"file\""},
    {"{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": "
               "\"nodir/out.log\"}") "}",
     "vmrun.serial.path: cannot use the folder of 'nodir/out.log': No such "
     "file or directory"},
    {"{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": "
               "\"vmlinuz/out.log\"}") "}",
     "vmrun.serial.path: the folder of 'vmlinuz/out.log' is not a "
     "directory"},
    {"{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": \"sub\"}") "}",
     "vmrun.serial.path: 'sub' is a directory"},
    {"{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": \"sub/\"}") "}",
     "vmrun.serial.path: 'sub/' does not name a file"},
    {"{" VMRUN("\"serial\": {\"input\": \"yes\"}") "}",
     "vmrun.serial.input: expected true or false, got \"yes\""},
    {"{" VMRUN("\"serial\": {\"output\": \"none\", \"input\": true}") "}",
     "vmrun.serial.input: true is only valid with \"output\": \"stdout\""},
    {"{" VMRUN("\"serial\": {\"speed\": 9600}") "}",
     "vmrun.serial.speed: unknown key"},
    {"{" VMRUN("\"virtio-console\": {\"output\": \"tty\"}") "}",
     "vmrun.virtio-console.output: expected one of \"stdout\", \"file\", "
     "\"none\", \"pty\", got \"tty\""},
    {"{" VMRUN("\"virtio-console\": {\"input\": true}") "}",
     "vmrun.virtio-console.input: stdin already goes to vmrun.serial"},
    {"{" VMRUN("\"virtio-console\": true") "}",
     "vmrun.virtio-console: expected an object, got true"},
    {"{" VMRUN("\"virtio-mmio-cmdline\": 1") "}",
     "vmrun.virtio-mmio-cmdline: expected true or false, got 1"},
    {"{" VMRUN("\"crash-dump\": \"nodir/g.core\"") "}",
     "vmrun.crash-dump: cannot use the folder of 'nodir/g.core'"},
    {"{" VMRUN("\"crash-dump\": \"sub\"") "}",
     "vmrun.crash-dump: 'sub' is a directory"},
    {"{" VMRUN("\"crash-dump\": 7") "}", "vmrun.crash-dump: expected a string"},
    {"{" VMRUN("\"crash-dump\": \"\"") "}", "vmrun.crash-dump: expected a"},
};

START_TEST(test_reject)
{
    parse_fails(rejects[_i].json, rejects[_i].want);
}
END_TEST

START_TEST(test_reject_long_values)
{
    size_t n = CONFIG_MAX_CMDLINE + 200;
    char *json = malloc(n), *p;

    ck_assert_ptr_nonnull(json);
    p = json +
        sprintf(json, "{" BOOT ", \"machine-config\": {\"vcpu_count\": \"");
    memset(p, 'x', 100);
    strcpy(p + 100, "\", \"mem_size_mib\": 64}}");
    parse_fails(json, "machine-config.vcpu_count: expected an integer 1..254, "
                      "got \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...");
    ck_assert_uint_lt(strlen(err), 200);

    /* boot_args one byte over CONFIG_MAX_CMDLINE - 1 */
    p = json + sprintf(json, "{\"boot-source\": {\"kernel_image_path\": "
                             "\"vmlinuz\", \"boot_args\": \"");
    memset(p, 'a', CONFIG_MAX_CMDLINE);
    strcpy(p + CONFIG_MAX_CMDLINE, "\"}}");
    parse_fails(json, "boot-source.boot_args: expected a string of 0..4095 "
                      "bytes");
    p[CONFIG_MAX_CMDLINE - 1] = '"'; /* 4095 bytes: accepted */
    strcpy(p + CONFIG_MAX_CMDLINE, "}}");
    parse_ok(json);
    ck_assert_uint_eq(strlen(cfg->boot_args), CONFIG_MAX_CMDLINE - 1);

    /* a 1000-byte unknown key: the key path is cut, the line stays short */
    p = json + sprintf(json, "{\"");
    memset(p, 'k', 1000);
    strcpy(p + 1000, "\": 1}");
    parse_fails(json, "<string>: kkkk");
    ck_assert_ptr_nonnull(strstr(err, "...: unknown key"));
    free(json);
}
END_TEST

START_TEST(test_reject_too_many)
{
    char json[8192], *p;

    p = json + sprintf(json, "{" BOOT ", \"drives\": [");
    for (int i = 0; i <= CONFIG_MAX_DRIVES; i++)
        p += sprintf(p,
                     "%s{\"drive_id\": \"d%d\", \"path_on_host\": "
                     "\"disk.img\", \"is_read_only\": true}",
                     i ? "," : "", i);
    strcpy(p, "]}");
    parse_fails(json, "<string>: drives: at most 16 entries are supported");

    p = json + sprintf(json, "{" BOOT ", \"network-interfaces\": [");
    for (int i = 0; i <= CONFIG_MAX_NICS; i++)
        p += sprintf(p,
                     "%s{\"iface_id\": \"e%d\", \"host_dev_name\": "
                     "\"tap%d\"}",
                     i ? "," : "", i, i);
    strcpy(p, "]}");
    parse_fails(json, "network-interfaces: at most 8 entries");
}
END_TEST

/* Each virtio device takes one of the IRQs IRQ_VIRTIO_FIRST..IRQ_MAX (19
 * on x86): more is a config error, not a failure after /dev/kvm. */
/* A config with 16 read-only drives, (nics) interfaces and (extra)
 * sections, in (json). */
static void devices_json(char json[8192], int nics, const char *extra)
{
    size_t n = (size_t)snprintf(json, 8192, "{" BOOT ", \"drives\": [");

    for (int i = 0; i < CONFIG_MAX_DRIVES; i++)
        n += (size_t)snprintf(json + n, 8192 - n,
                              "%s{\"drive_id\": \"d%d\", \"path_on_host\": "
                              "\"disk.img\", \"is_read_only\": true}",
                              i ? "," : "", i);
    n += (size_t)snprintf(json + n, 8192 - n, "], \"network-interfaces\": [");
    for (int i = 0; i < nics; i++)
        n += (size_t)snprintf(json + n, 8192 - n,
                              "%s{\"iface_id\": \"e%d\", \"host_dev_name\": "
                              "\"tap%d\"}",
                              i ? "," : "", i, i);
    ck_assert_uint_lt(n, 8000);
    snprintf(json + n, 8192 - n, "]%s}", extra);
}

START_TEST(test_reject_too_many_devices)
{
    char json[8192];

    devices_json(json, 3, "");
    parse_ok(json);
    devices_json(json, 4, "");
    parse_fails(json, "<string>: drives: 16 drives, 4 network interfaces, 0 "
                      "virtio-console and 0 entropy device make 20 virtio "
                      "devices; the machine has interrupt lines for 19");
    /* The entropy device counts too. */
    devices_json(json, 3, ", \"entropy\": {}");
    parse_fails(json, "and 1 entropy device make 20 virtio devices");
}
END_TEST

/* More RAM than MemTotal is refused unless vmrun.allow-overcommit. */
START_TEST(test_overcommit)
{
    if ((uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >=
        (1ull << 40))
        return; /* a host with 1 TiB: nothing to refuse */
    parse_fails("{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 1048576") "}",
                "machine-config.mem_size_mib: 1048576 MiB is more than this "
                "host's memory");
    ck_assert_msg(strstr(err, "\"allow-overcommit\": true"), "%s", err);
    parse_ok("{" MC(
        "\"vcpu_count\": 1, \"mem_size_mib\": 1048576") ", "
                                                        "\"vmrun\": "
                                                        "{\"allow-overcommit\":"
                                                        " true}}");
    ck_assert(cfg->allow_overcommit);
    ck_assert_uint_eq(cfg->mem_size_mib, 1048576);
    parse_ok("{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 16") "}");
    ck_assert(!cfg->allow_overcommit);
}
END_TEST

/* config_parse_string() checks against the memory it is given (a caller
 * that parses often reads MemTotal once); 0 is unknown: no check. */
START_TEST(test_overcommit_given_host)
{
    static const char json[] =
        "{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 2048") "}";

    ck_assert_int_eq(
        config_parse_string(json, dir, 1024, &cfg, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "2048 MiB is more than this host's memory "
                              "(1024 MiB"),
                  "%s", err);
    ck_assert_int_eq(
        config_parse_string(json, dir, 2048, &cfg, err, sizeof(err)), 0);
    vmrun_config_free(cfg);
    cfg = NULL;
    ck_assert_int_eq(config_parse_string(json, dir, 0, &cfg, err, sizeof(err)),
                     0);
}
END_TEST

/* A FIFO is a valid log and metrics sink at config time: whether it has
 * a reader is checked when the VM opens it (open_output()). */
START_TEST(test_output_fifo_accepted)
{
    parse_ok("{" BOOT ", \"logger\": {\"log_path\": \"fifo\"}, "
             "\"metrics\": {\"metrics_path\": \"fifo\"}}");
    ck_assert_str_eq(cfg->log_path, in_dir("fifo"));
}
END_TEST

/* Hostile JSON: deep nesting must fail cleanly, not blow the stack, and
 * say why: CJ_DEPTH_MAX (32) levels pass the reader, 33 are "too deep". */
START_TEST(test_reject_deep_nesting)
{
    size_t depth = 100000;
    char *json = malloc(2 * depth + 1);
    char ok[80];

    ck_assert_ptr_nonnull(json);
    memset(json, '[', depth);
    memset(json + depth, ']', depth);
    json[2 * depth] = '\0';
    parse_fails(json, "<string>: line 1, column 33: JSON nested deeper than "
                      "32 levels (too deep)");
    /* 32 levels: the schema refuses it, the reader does not. */
    snprintf(ok, sizeof(ok), "%.32s%.32s", json, json + depth);
    parse_fails(ok, "<string>: expected an object, got [[[");
    /* Brackets inside strings do not count. */
    snprintf(ok, sizeof(ok), "{\"boot-source\": {\"x\": \"%.40s\"}}", json);
    parse_fails(ok, "boot-source.x: unknown key");
    free(json);
}
END_TEST

START_TEST(test_drive_needs_write_access)
{
    const char *json = "{" DRIVES("{\"drive_id\": \"d\", \"path_on_host\": "
                                  "\"ro.img\"}") "}";

    if (geteuid() == 0) {
        /* root passes every access(W_OK) check, as its open(O_RDWR) would */
        parse_ok(json);
        ck_assert(!cfg->drives[0].is_read_only);
        return;
    }
    parse_fails(json, "drives[0].path_on_host: cannot open 'ro.img': "
                      "Permission denied");
}
END_TEST

START_TEST(test_minimal_defaults)
{
    parse_ok("{" BOOT "}");
    ck_assert_str_eq(cfg->source, "<string>");
    ck_assert_str_eq(cfg->kernel_path, in_dir("vmlinuz"));
    ck_assert_ptr_null(cfg->initrd_path);
    ck_assert_ptr_null(cfg->boot_args);
    ck_assert_uint_eq(cfg->vcpu_count, 1);
    ck_assert_uint_eq(cfg->mem_size_mib, 128);
    ck_assert(!cfg->smt && !cfg->track_dirty_pages);
    ck_assert_uint_eq(cfg->nr_drives, 0);
    ck_assert_uint_eq(cfg->nr_nics, 0);
    ck_assert(!cfg->has_entropy);
    ck_assert_int_eq(cfg->serial.kind, CONSOLE_STDIO);
    ck_assert(cfg->serial.want_input);
    ck_assert_ptr_null(cfg->serial.path);
    ck_assert(!cfg->has_virtio_console);
    ck_assert(!cfg->virtio_mmio_cmdline);
}
END_TEST

START_TEST(test_full_values)
{
    parse_ok(
        "{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", "
        "\"initrd_path\": \"initrd.img\", \"boot_args\": \"quiet\"},"
        "\"machine-config\": {\"vcpu_count\": 254, \"mem_size_mib\": "
        "1048576, \"smt\": true, \"track_dirty_pages\": true, "
        "\"cpu_template\": \"None\", \"huge_pages\": \"None\"},"
        "\"vmrun\": {\"allow-overcommit\": true},"
        "\"drives\": [" DISK(
            ", \"is_read_only\": false, \"cache_type\": "
            "\"Writeback\", \"io_engine\": \"Async\", "
            "\"completion_coalesce_us\": 0, "
            "\"partuuid\": \"0eaa91a0-01\"") "],"
                                             "\"network-interfaces\": [" NIC(
                                                 ", \"guest_mac\": "
                                                 "\"06:00:AC:10:00:02\", "
                                                 "\"mtu\": "
                                                 "9000, "
                                                 "\"tx_coalesce_us\": "
                                                 "0") "],"
                                                      "\"entropy\": {}}");
    ck_assert_str_eq(cfg->initrd_path, in_dir("initrd.img"));
    ck_assert_str_eq(cfg->boot_args, "quiet");
    ck_assert_uint_eq(cfg->vcpu_count, 254);
    ck_assert_uint_eq(cfg->mem_size_mib, 1048576);
    ck_assert(cfg->smt && cfg->track_dirty_pages);
    ck_assert_uint_eq(cfg->nr_drives, 1);
    ck_assert_str_eq(cfg->drives[0].drive_id, "d");
    ck_assert_str_eq(cfg->drives[0].path_on_host, in_dir("disk.img"));
    ck_assert_str_eq(cfg->drives[0].partuuid, "0eaa91a0-01");
    ck_assert_int_eq(cfg->drives[0].cache_type, CACHE_WRITEBACK);
    ck_assert_int_eq(cfg->drives[0].io_engine, IO_ENGINE_ASYNC);
    ck_assert_uint_eq(cfg->drives[0].completion_coalesce_us, 0);
    ck_assert(!cfg->drives[0].is_root_device && !cfg->drives[0].is_read_only);
    ck_assert_uint_eq(cfg->nr_nics, 1);
    ck_assert_str_eq(cfg->nics[0].iface_id, "eth0");
    ck_assert_str_eq(cfg->nics[0].host_dev_name, "tap0");
    ck_assert(cfg->nics[0].has_mac);
    ck_assert_mem_eq(cfg->nics[0].guest_mac, "\x06\x00\xac\x10\x00\x02", 6);
    ck_assert_uint_eq(cfg->nics[0].mtu, 9000);
    ck_assert_uint_eq(cfg->nics[0].tx_coalesce_us, 0);
    ck_assert(cfg->has_entropy);
}
END_TEST

START_TEST(test_drive_defaults_and_root_first)
{
    parse_ok("{" DRIVES("{\"drive_id\": \"data\", \"path_on_host\": "
                        "\"ro.img\", \"is_read_only\": true},"
                        "{\"drive_id\": \"root\", \"path_on_host\": "
                        "\"disk.img\", \"is_root_device\": true}") "}");
    ck_assert_uint_eq(cfg->nr_drives, 2);
    /* the root device moves first, as Firecracker attaches it (/dev/vda) */
    ck_assert_str_eq(cfg->drives[0].drive_id, "root");
    ck_assert(cfg->drives[0].is_root_device);
    ck_assert(!cfg->drives[0].is_read_only);
    ck_assert_ptr_null(cfg->drives[0].partuuid);
    ck_assert_int_eq(cfg->drives[0].cache_type, CACHE_UNSAFE);
    ck_assert_int_eq(cfg->drives[0].io_engine, IO_ENGINE_SYNC);
    ck_assert_uint_eq(cfg->drives[0].completion_coalesce_us,
                      CONFIG_COMPLETION_COALESCE_DEFAULT_US);
    ck_assert_str_eq(cfg->drives[1].drive_id, "data");
    ck_assert_str_eq(cfg->drives[1].path_on_host, in_dir("ro.img"));
    ck_assert(cfg->drives[1].is_read_only);
}
END_TEST

START_TEST(test_integer_bounds)
{
    parse_ok("{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 16") "}");
    ck_assert_uint_eq(cfg->mem_size_mib, 16);
    parse_ok("{" MC("\"vcpu_count\": 2, \"mem_size_mib\": 1e3, \"smt\": "
                    "true") "}");
    ck_assert_uint_eq(cfg->vcpu_count, 2);
    ck_assert_uint_eq(cfg->mem_size_mib, 1000);
    parse_ok("{" MC("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": "
                    "true") "}");
    ck_assert_uint_eq(cfg->vcpu_count, 1);
}
END_TEST

START_TEST(test_mac_parsing)
{
    parse_ok("{" NICS(NIC(
        ", \"guest_mac\": \"fe:dc:ba:98:76:54\"") ","
                                                  "{\"iface_id\": \"eth1\", "
                                                  "\"host_dev_name\": "
                                                  "\"tap1\"}") "}");
    ck_assert_mem_eq(cfg->nics[0].guest_mac, "\xfe\xdc\xba\x98\x76\x54", 6);
    ck_assert(cfg->nics[0].has_mac);
    ck_assert(!cfg->nics[1].has_mac);
    ck_assert_uint_eq(cfg->nics[1].mtu, 0);
    ck_assert_uint_eq(cfg->nics[1].tx_coalesce_us,
                      CONFIG_TX_COALESCE_DEFAULT_US);
    /* 02: locally administered, unicast */
    parse_ok("{" NICS(NIC(", \"guest_mac\": \"02:00:00:00:00:00\"")) "}");
    ck_assert_uint_eq(cfg->nics[0].guest_mac[0], 2);
}
END_TEST

/* What Firecracker's GET /vm/config writes: nulls for every unset option. */
START_TEST(test_firecracker_nulls)
{
    parse_ok("{\"balloon\": null, \"drives\": [{\"drive_id\": \"rootfs\", "
             "\"partuuid\": null, \"is_root_device\": true, \"cache_type\": "
             "\"Unsafe\", \"is_read_only\": false, \"path_on_host\": "
             "\"disk.img\", \"io_engine\": \"Sync\", \"rate_limiter\": null, "
             "\"socket\": null}], \"boot-source\": {\"kernel_image_path\": "
             "\"vmlinuz\", \"initrd_path\": null, \"boot_args\": null}, "
             "\"cpu-config\": null, \"logger\": null, \"machine-config\": "
             "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false, "
             "\"track_dirty_pages\": false, \"huge_pages\": \"None\"}, "
             "\"metrics\": null, \"mmds-config\": null, "
             "\"network-interfaces\": [], \"vsock\": null, \"entropy\": "
             "null}");
    ck_assert_ptr_null(cfg->initrd_path);
    ck_assert_ptr_null(cfg->boot_args);
    ck_assert_uint_eq(cfg->vcpu_count, 2);
    ck_assert_uint_eq(cfg->nr_drives, 1);
    ck_assert(cfg->drives[0].is_root_device);
    ck_assert(!cfg->has_entropy);
}
END_TEST

/* Copies (example) from the source tree into (dir)/(name). */
static void example_copy(const char *example, const char *name)
{
    const char *src = getenv("VMRUN_SRCDIR");
    char path[PATH_MAX], text[8192];
    size_t n;
    FILE *f;

    ck_assert_ptr_nonnull(src);
    snprintf(path, sizeof(path), "%s/examples/%s", src, example);
    ck_assert_ptr_nonnull(f = fopen(path, "r"));
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    file_write(name, text, 0644);
}

START_TEST(test_example_firecracker_style)
{
    example_copy("firecracker-style.json", "sub/vm.json");
    file_write("sub/vmlinux.bin", "k", 0644);
    file_write("sub/rootfs.ext4", "r", 0644);
    file_write("sub/scratch.img", "s", 0444);
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("sub/vm.json"), &cfg, err, sizeof(err)),
        0);
    ck_assert_str_eq(cfg->source, in_dir("sub/vm.json"));
    ck_assert_str_eq(cfg->kernel_path, in_dir("sub/vmlinux.bin"));
    ck_assert_str_eq(cfg->boot_args,
                     "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw");
    ck_assert_uint_eq(cfg->vcpu_count, 2);
    ck_assert_uint_eq(cfg->mem_size_mib, 1024);
    ck_assert_uint_eq(cfg->nr_drives, 2);
    ck_assert_str_eq(cfg->drives[0].drive_id, "rootfs");
    ck_assert_str_eq(cfg->drives[0].path_on_host, in_dir("sub/rootfs.ext4"));
    ck_assert(cfg->drives[0].is_root_device);
    ck_assert_str_eq(cfg->drives[1].path_on_host, in_dir("sub/scratch.img"));
    ck_assert(cfg->drives[1].is_read_only);
    ck_assert_int_eq(cfg->drives[1].cache_type, CACHE_WRITEBACK);
    ck_assert_int_eq(cfg->drives[1].io_engine, IO_ENGINE_ASYNC);
    ck_assert_uint_eq(cfg->nr_nics, 1);
    ck_assert_str_eq(cfg->nics[0].host_dev_name, "tap0");
    ck_assert_mem_eq(cfg->nics[0].guest_mac, "\x06\x00\xac\x10\x00\x02", 6);
    ck_assert(cfg->has_entropy);
}
END_TEST

START_TEST(test_example_hello)
{
    dir_make("examples");
    dir_make("build");
    dir_make("build/guest");
    example_copy("hello.json", "examples/hello.json");
    ck_assert_int_eq(vmrun_config_parse_file(in_dir("examples/hello.json"),
                                             &cfg, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "boot-source.kernel_image_path: cannot "
                                      "open '../build/guest/vmlinuz'"));
    file_write("build/guest/vmlinuz", "k", 0644);
    file_write("build/guest/initramfs.cpio.gz", "i", 0644);
    ck_assert_int_eq(vmrun_config_parse_file(in_dir("examples/hello.json"),
                                             &cfg, err, sizeof(err)),
                     0);
    ck_assert_str_eq(cfg->kernel_path, in_dir("build/guest/vmlinuz"));
    ck_assert_str_eq(cfg->initrd_path, in_dir("build/guest/initramfs.cpio.gz"));
    ck_assert_uint_eq(cfg->vcpu_count, 2);
    ck_assert_uint_eq(cfg->mem_size_mib, 256);
    ck_assert_ptr_null(cfg->boot_args);
}
END_TEST

START_TEST(test_relative_paths)
{
    /* base_dir resolves, ".." and "." fold away, absolute paths stay */
    parse_ok("{\"boot-source\": {\"kernel_image_path\": \"sub/../vmlinuz\", "
             "\"initrd_path\": \"./initrd.img\"}}");
    ck_assert_str_eq(cfg->kernel_path, in_dir("vmlinuz"));
    ck_assert_str_eq(cfg->initrd_path, in_dir("initrd.img"));

    char json[PATH_MAX + 100];
    snprintf(json, sizeof(json),
             "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}",
             in_dir("vmlinuz"));
    vmrun_config_free(cfg);
    cfg = NULL;
    ck_assert_int_eq(
        vmrun_config_parse_string(json, "/nonexistent", &cfg, err, sizeof(err)),
        0);
    ck_assert_str_eq(cfg->kernel_path, in_dir("vmlinuz"));
    vmrun_config_free(cfg);

    /* NULL base_dir: the current directory */
    ck_assert_int_eq(chdir(in_dir("sub")), 0);
    cfg = NULL;
    ck_assert_int_eq(
        vmrun_config_parse_string("{\"boot-source\": {\"kernel_image_path\": "
                                  "\"../vmlinuz\"}}",
                                  NULL, &cfg, err, sizeof(err)),
        0);
    ck_assert_str_eq(cfg->kernel_path, in_dir("vmlinuz"));
    vmrun_config_free(cfg);

    /* parse_file with a relative config path: its folder, not the cwd */
    ck_assert_int_eq(chdir(dir), 0);
    file_write("sub/c.json",
               "{\"boot-source\": {\"kernel_image_path\": "
               "\"../vmlinuz\"}, \"vmrun\": {\"serial\": "
               "{\"output\": \"file\", \"path\": \"out.log\"}}}",
               0644);
    cfg = NULL;
    ck_assert_int_eq(
        vmrun_config_parse_file("sub/c.json", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(cfg->source, "sub/c.json");
    ck_assert_str_eq(cfg->kernel_path, in_dir("vmlinuz"));
    ck_assert_str_eq(cfg->serial.path, in_dir("sub/out.log"));
    ck_assert_int_eq(access(cfg->serial.path, F_OK), -1); /* not created */
}
END_TEST

START_TEST(test_consoles)
{
    parse_ok("{" VMRUN("\"serial\": {\"output\": \"file\", \"path\": "
                       "\"sub/serial.log\"}, \"virtio-console\": {}, "
                       "\"virtio-mmio-cmdline\": true") "}");
    ck_assert_int_eq(cfg->serial.kind, CONSOLE_FILE);
    ck_assert_str_eq(cfg->serial.path, in_dir("sub/serial.log"));
    ck_assert(!cfg->serial.want_input);
    ck_assert(cfg->has_virtio_console);
    ck_assert_int_eq(cfg->vconsole.kind, CONSOLE_STDIO);
    ck_assert(cfg->vconsole.want_input); /* serial does not read stdin */
    ck_assert(cfg->virtio_mmio_cmdline);

    /* both on stdout: stdin stays with the serial port */
    parse_ok("{" VMRUN("\"virtio-console\": {\"output\": \"stdout\"}") "}");
    ck_assert(cfg->serial.want_input);
    ck_assert(!cfg->vconsole.want_input);

    parse_ok("{" VMRUN("\"serial\": {\"input\": false}, \"virtio-console\": "
                       "{\"input\": true}") "}");
    ck_assert_int_eq(cfg->serial.kind, CONSOLE_STDIO);
    ck_assert(!cfg->serial.want_input);
    ck_assert(cfg->vconsole.want_input);

    parse_ok("{" VMRUN("\"serial\": {\"output\": \"none\", \"input\": false}, "
                       "\"virtio-console\": {\"output\": \"pty\"}") "}");
    ck_assert_int_eq(cfg->serial.kind, CONSOLE_NONE);
    ck_assert_int_eq(cfg->vconsole.kind, CONSOLE_PTY);
    ck_assert_ptr_null(cfg->vconsole.path);

    /* an existing file is fine: it is appended to */
    parse_ok("{" VMRUN("\"virtio-console\": {\"output\": \"file\", \"path\": "
                       "\"disk.img\"}") "}");
    ck_assert_str_eq(cfg->vconsole.path, in_dir("disk.img"));
}
END_TEST

/* vmrun.crash-dump: only the folder must exist; nothing is created. */
START_TEST(test_crash_dump)
{
    parse_ok("{" BOOT "}");
    ck_assert_ptr_null(cfg->crash_dump_path);
    parse_ok("{" VMRUN("\"crash-dump\": \"sub/g.core\"") "}");
    ck_assert_str_eq(cfg->crash_dump_path, in_dir("sub/g.core"));
    ck_assert_int_eq(access(cfg->crash_dump_path, F_OK), -1);
}
END_TEST

START_TEST(test_logger_metrics)
{
    parse_ok("{" BOOT "}");
    ck_assert(!cfg->has_logger);
    ck_assert_ptr_null(cfg->metrics_path);
    parse_ok("{" BOOT ", \"logger\": {}}");
    ck_assert(cfg->has_logger);
    ck_assert_int_eq(cfg->log_level, VMRUN_LOG_INFO);
    ck_assert_ptr_null(cfg->log_path);
    /* Firecracker's level names, any case */
    parse_ok("{" BOOT ", \"logger\": {\"level\": \"wARNING\", \"log_path\": "
             "\"sub/vm.log\", \"show_level\": true, \"show_log_origin\": "
             "true}, \"metrics\": {\"metrics_path\": \"sub/m.json\"}}");
    ck_assert_int_eq(cfg->log_level, VMRUN_LOG_WARN);
    ck_assert_str_eq(cfg->log_path, in_dir("sub/vm.log"));
    ck_assert(cfg->log_show_level && cfg->log_show_origin);
    ck_assert_str_eq(cfg->metrics_path, in_dir("sub/m.json"));
    ck_assert_uint_eq(cfg->metrics_period_ms, 60000);
    ck_assert_int_eq(access(cfg->metrics_path, F_OK), -1); /* not created */
    parse_ok("{" BOOT ", \"logger\": {\"level\": \"debug\"}, \"metrics\": "
             "{\"metrics_path\": \"disk.img\", \"period_s\": 2}}");
    ck_assert_int_eq(cfg->log_level, VMRUN_LOG_DEBUG);
    ck_assert_uint_eq(cfg->metrics_period_ms, 2000);
    parse_ok("{" BOOT ", \"logger\": {\"level\": \"Error\"}}");
    ck_assert_int_eq(cfg->log_level, VMRUN_LOG_ERROR);
}
END_TEST

START_TEST(test_parse_file_errors)
{
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("none.json"), &cfg, err, sizeof(err)),
        -ENOENT);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err + strlen(dir),
                     "/none.json: cannot read: No such file or directory");

    /* Only a regular file: a directory, a device or a FIFO (which would
     * block in open() until a writer came) is refused at once. */
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("sub"), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_str_eq(err + strlen(dir),
                     "/sub: cannot read: not a regular file");
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("fifo"), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_str_eq(err + strlen(dir),
                     "/fifo: cannot read: not a regular file");
    ck_assert_int_eq(
        vmrun_config_parse_file("/dev/zero", &cfg, err, sizeof(err)), -EINVAL);

    file_write("nul.json", "{}", 0644);
    int fd = open(in_dir("nul.json"), O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "\0 ", 2), 2);
    close(fd);
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("nul.json"), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "nul.json: contains a NUL byte"));

    file_write("bad.json", "{\n  \"boot-source\": {\n    x\n}", 0644);
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("bad.json"), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_str_eq(err + strlen(dir),
                     "/bad.json: line 3, column 6: invalid JSON near 'x'");

    file_write("key.json", "{\"drives\": []}", 0644);
    ck_assert_int_eq(
        vmrun_config_parse_file(in_dir("key.json"), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_str_eq(err + strlen(dir), "/key.json: boot-source: missing");
}
END_TEST

START_TEST(test_bad_arguments)
{
    char small[16];

    ck_assert_int_eq(vmrun_config_parse_string(NULL, NULL, &cfg, err, 8),
                     -EINVAL);
    ck_assert_int_eq(vmrun_config_parse_string("{}", NULL, NULL, err, 8),
                     -EINVAL);
    ck_assert_int_eq(vmrun_config_parse_file(NULL, &cfg, err, 8), -EINVAL);
    /* no error buffer, or a short one: still fails cleanly */
    ck_assert_int_eq(vmrun_config_parse_string("{}", dir, &cfg, NULL, 0),
                     -EINVAL);
    ck_assert_int_eq(
        vmrun_config_parse_string("{}", dir, &cfg, small, sizeof(small)),
        -EINVAL);
    ck_assert_str_eq(small, "<string>: boot-");
    ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_dup_free)
{
    struct vmrun_config *copy;

    vmrun_config_free(NULL);
    ck_assert_ptr_null(config_dup(NULL));
    parse_ok(
        "{\"boot-source\": {\"kernel_image_path\": \"vmlinuz\", "
        "\"initrd_path\": \"initrd.img\", \"boot_args\": \"quiet\"}, "
        "\"drives\": [" DISK(
            ", \"partuuid\": \"1234\"") "], "
                                        "\"network-interfaces\": [" NIC(
                                            "") "], \"vmrun\": {\"serial\": "
                                                "{\"output\": \"file\", "
                                                "\"path\": \"s.log\"}, "
                                                "\"virtio-console\": "
                                                "{\"output\": \"file\", "
                                                "\"path\": \"v.log\"}}}");
    copy = config_dup(cfg);
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy->kernel_path, cfg->kernel_path);
    ck_assert_ptr_ne(copy->drives[0].partuuid, cfg->drives[0].partuuid);
    ck_assert_ptr_ne(copy->vconsole.path, cfg->vconsole.path);
    vmrun_config_free(cfg); /* ASan: the copy must not share anything */
    cfg = NULL;
    ck_assert_str_eq(copy->source, "<string>");
    ck_assert_str_eq(copy->kernel_path, in_dir("vmlinuz"));
    ck_assert_str_eq(copy->initrd_path, in_dir("initrd.img"));
    ck_assert_str_eq(copy->boot_args, "quiet");
    ck_assert_str_eq(copy->drives[0].drive_id, "d");
    ck_assert_str_eq(copy->drives[0].path_on_host, in_dir("disk.img"));
    ck_assert_str_eq(copy->drives[0].partuuid, "1234");
    ck_assert_str_eq(copy->nics[0].iface_id, "eth0");
    ck_assert_str_eq(copy->nics[0].host_dev_name, "tap0");
    ck_assert_str_eq(copy->serial.path, in_dir("s.log"));
    ck_assert_str_eq(copy->vconsole.path, in_dir("v.log"));
    ck_assert_uint_eq(copy->nr_drives, 1);
    cfg = copy; /* teardown frees it */
}
END_TEST

START_TEST(test_default_cmdline)
{
    ck_assert_str_eq(config_default_cmdline,
                     "console=ttyS0 reboot=k panic=-1 pci=off nomodeset "
                     "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd "
                     "io_delay=none tsc=reliable no_timer_check "
                     "8250.nr_uarts=1");
    ck_assert_uint_lt(strlen(config_default_cmdline), CONFIG_MAX_CMDLINE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_reject, 0,
                        (int)(sizeof(rejects) / sizeof(rejects[0])));
    tcase_add_test(tc, test_reject_long_values);
    tcase_add_test(tc, test_reject_too_many);
    tcase_add_test(tc, test_reject_deep_nesting);
    tcase_add_test(tc, test_reject_too_many_devices);
    tcase_add_test(tc, test_overcommit);
    tcase_add_test(tc, test_overcommit_given_host);
    tcase_add_test(tc, test_output_fifo_accepted);
    tcase_add_test(tc, test_drive_needs_write_access);
    tcase_add_test(tc, test_minimal_defaults);
    tcase_add_test(tc, test_full_values);
    tcase_add_test(tc, test_drive_defaults_and_root_first);
    tcase_add_test(tc, test_integer_bounds);
    tcase_add_test(tc, test_mac_parsing);
    tcase_add_test(tc, test_firecracker_nulls);
    tcase_add_test(tc, test_example_firecracker_style);
    tcase_add_test(tc, test_example_hello);
    tcase_add_test(tc, test_relative_paths);
    tcase_add_test(tc, test_consoles);
    tcase_add_test(tc, test_crash_dump);
    tcase_add_test(tc, test_logger_metrics);
    tcase_add_test(tc, test_parse_file_errors);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_dup_free);
    tcase_add_test(tc, test_default_cmdline);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
