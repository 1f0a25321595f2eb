/* config.h - the VM configuration: Firecracker's config-file schema plus a
 * "vmrun" section, parsed from JSON and validated before any VM exists. */
#ifndef VMRUN_CONFIG_H
#define VMRUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmrun.h"

#define CONFIG_MAX_VCPUS 254
#define CONFIG_MAX_DRIVES 16
#define CONFIG_MAX_NICS 8
#define CONFIG_MAX_CMDLINE 4096

/* Where a character device (serial console, virtio-console) goes. */
enum console_kind {
    CONSOLE_STDIO = 0, /* stdout; stdin too when it is a terminal or pipe */
    CONSOLE_FILE,      /* output appended to (path); no input */
    CONSOLE_PTY,       /* a new pseudo-terminal whose path vmrun logs */
    CONSOLE_NONE,      /* output dropped, no input */
};

struct console_config {
    enum console_kind kind;
    char *path;      /* CONSOLE_FILE: absolute path */
    bool want_input; /* CONSOLE_STDIO: wire stdin ("input": true) */
};

enum cache_type { CACHE_UNSAFE = 0, CACHE_WRITEBACK };
enum io_engine { IO_ENGINE_SYNC = 0, IO_ENGINE_ASYNC };

struct drive_config {
    char *drive_id;     /* 1..20 bytes: virtio-blk GET_ID returns it */
    char *path_on_host; /* absolute, exists */
    bool is_root_device;
    bool is_read_only;
    char *partuuid; /* NULL or the root partition's PARTUUID */
    enum cache_type cache_type;
    enum io_engine io_engine;
    /* "completion_coalesce_us" 0..CONFIG_COMPLETION_COALESCE_MAX_US: while the
     * guest streams requests, its interrupt waits this long for more */
    uint16_t completion_coalesce_us;
};

struct net_config {
    char *iface_id;
    char *host_dev_name; /* tap name, < IFNAMSIZ */
    bool has_mac;
    uint8_t guest_mac[6];
    uint16_t mtu; /* "mtu" 68..65535; 0: absent, VIRTIO_NET_F_MTU not offered */
    /* "tx_coalesce_us" 0..CONFIG_TX_COALESCE_MAX_US: after a transmit pass
     * that sent frames, the guest's kicks stay off this long */
    uint16_t tx_coalesce_us;
};

#define CONFIG_TX_COALESCE_DEFAULT_US 50
#define CONFIG_TX_COALESCE_MAX_US 1000
#define CONFIG_COMPLETION_COALESCE_DEFAULT_US 50
#define CONFIG_COMPLETION_COALESCE_MAX_US 1000

struct vmrun_config {
    char *source; /* config file path or "<string>", for messages */

    /* "boot-source" */
    char *kernel_path; /* absolute, exists, readable */
    char *initrd_path; /* NULL or absolute, exists */
    char *boot_args;   /* NULL: vmrun's default command line */

    /* "machine-config" */
    uint32_t vcpu_count;   /* 1..CONFIG_MAX_VCPUS */
    uint64_t mem_size_mib; /* 16..(1 << 20) */
    bool smt;
    bool track_dirty_pages;

    /* "drives", "network-interfaces", "entropy" */
    size_t nr_drives;
    struct drive_config drives[CONFIG_MAX_DRIVES];
    size_t nr_nics;
    struct net_config nics[CONFIG_MAX_NICS];
    bool has_entropy;

    /* "logger" (has_logger: the section is present) */
    bool has_logger;
    char *log_path; /* NULL: the embedder's callback (stderr for vmrun) */
    enum vmrun_log_level log_level;
    bool log_show_level;  /* "show_level": the level name on each line */
    bool log_show_origin; /* "show_log_origin": file:line of each line */

    /* "metrics" */
    char *metrics_path;         /* NULL: no metrics lines */
    uint32_t metrics_period_ms; /* "period_s" (vmrun's): default 60 s */

    /* "vmrun" section */
    struct console_config serial;   /* "vmrun.serial"; default stdio */
    bool has_virtio_console;        /* "vmrun.virtio-console" present */
    struct console_config vconsole; /* "vmrun.virtio-console" */
    bool virtio_mmio_cmdline;       /* "vmrun.virtio-mmio-cmdline" */
    bool allow_overcommit; /* "vmrun.allow-overcommit": RAM > MemTotal */
    char *crash_dump_path; /* "vmrun.crash-dump": absolute, NULL: none */
};

/* The host's MemTotal in MiB (/proc/meminfo), 0 when unknown: what
 * machine-config.mem_size_mib may not exceed without
 * "vmrun.allow-overcommit".  Reads the file: a caller that parses many
 * configs reads it once and passes it to config_parse_string(). */
uint64_t config_host_mem_mib(void);

/* vmrun_config_parse_string() with the host's memory given: (host_mem_mib)
 * from config_host_mem_mib(), 0 for unknown (no check). */
int config_parse_string(const char *json, const char *base_dir,
                        uint64_t host_mem_mib, struct vmrun_config **out,
                        char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Limits of the schema (docs/config.md). */
#define CONFIG_MEM_MIN_MIB 16
#define CONFIG_MEM_MAX_MIB (1u << 20) /* 1 TiB */
#define CONFIG_DRIVE_ID_MAX 20        /* virtio-blk GET_ID's 20 bytes */
#define CONFIG_IFACE_ID_MAX 64
#define CONFIG_TAP_MAX 15 /* IFNAMSIZ - 1 */
#define CONFIG_PARTUUID_MAX 64
#define CONFIG_MTU_MIN 68

/* The value rules of the schema (src/core/config_check.c), shared by the JSON
 * parser and by configurations that come from elsewhere: a snapshot's
 * saved configuration and the overrides of a restore.  Each returns NULL
 * when (s) is valid (NULL never is), else what is expected instead,
 * worded to follow "expected ". */
const char *config_check_drive_id(const char *s);
const char *config_check_iface_id(const char *s);
const char *config_check_tap(const char *s);
const char *config_check_partuuid(const char *s);
/* An absolute path of 1..PATH_MAX - 1 bytes: what the parser stores for a
 * drive image or a file output, not checked against the file system. */
const char *config_check_abs_path(const char *s);

/* NULL when (mac) may be a guest's address, else why not, worded to
 * follow the address: "is a multicast address (...)". */
const char *config_check_mac(const uint8_t mac[6]);

/* Virtio devices the machine has windows and interrupt lines for. */
unsigned int config_max_virtio(void);

/* Every rule the JSON parser applies to the values of (c), for a config
 * built elsewhere (a snapshot's): ranges, names, MACs, enums, the
 * consoles' combinations, unique drive ids, interface ids, taps and MACs,
 * one root device, the number of virtio devices.  File paths and tap
 * names may be NULL (not chosen yet); paths are not looked up (whoever
 * takes one from the operator checks it, config_drive_path() and
 * config_output_path()).  0, or -EINVAL with "KEY: what is wrong" in
 * (err), KEY as in the JSON ("drives[1].drive_id"), one printable line. */
int config_check(const struct vmrun_config *c, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The checks of drives[].path_on_host for (given), a path from elsewhere
 * (a restore override): an existing regular file or block device,
 * readable, and writable unless (read_only).  (*out) gets its realpath().
 * 0, or -errno with "(label): what is wrong" in (err). */
int config_drive_path(const char *label, const char *given, bool read_only,
                      char **out, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The checks of a console's "path" (open_output()'s policy: a regular
 * file, new or not, or a FIFO, off the kernel's pseudo file systems; its
 * folder exists) for (given), a path from elsewhere; (*out) absolute.
 * 0, or -errno with "(label): what is wrong" in (err). */
int config_output_path(const char *label, const char *given, char **out,
                       char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Deep copy of (src) into a new allocation; NULL on ENOMEM. */
struct vmrun_config *config_dup(const struct vmrun_config *src);

/* The built-in command line used when boot-source.boot_args is absent. */
extern const char config_default_cmdline[];

#endif
