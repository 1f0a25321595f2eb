/* vmrun.h - public API of libvmrun, an embeddable KVM virtual machine monitor.
 *
 * Every function returns 0 (or a non-negative value) on success and -errno
 * on failure.  The library never exits the process and never writes to
 * stdout: diagnostics go to the log callback given at creation time.  All
 * state lives in the handles, so several VMs may run in one process.
 */
#ifndef VMRUN_H
#define VMRUN_H

#include <errno.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMRUN_VERSION "0.1.0"

/* A parsed and validated configuration (Firecracker's config-file schema
 * plus a "vmrun" section, see README.md). */
struct vmrun_config;

/* One virtual machine. */
struct vmrun_vm;

enum vmrun_log_level {
    VMRUN_LOG_ERROR = 0,
    VMRUN_LOG_WARN = 1,
    VMRUN_LOG_INFO = 2,
    VMRUN_LOG_DEBUG = 3,
};

/* Receives one message (no trailing newline).  May be called from any of the
 * VM's threads, so it must be thread-safe.  A message is one printable line:
 * control characters in it (from configs, API requests, snapshot files or
 * the guest) arrive escaped as \n, \r, \t or \xHH, and so do bytes that
 * are not well-formed UTF-8. */
typedef void (*vmrun_log_fn)(void *opaque, enum vmrun_log_level level,
                             const char *msg);

/* Parses the JSON file at (path).  Relative paths inside it resolve against
 * the file's folder.  On failure returns -EINVAL (or -errno of the read) and
 * writes one line naming the key path into (err), e.g.
 * "machine-config.vcpu_count: expected an integer 1..254, got \"two\"". */
int vmrun_config_parse_file(const char *path, struct vmrun_config **out,
                            char *err, size_t err_len);

/* Same for a JSON text; (base_dir) resolves relative paths (NULL: cwd). */
int vmrun_config_parse_string(const char *json, const char *base_dir,
                              struct vmrun_config **out, char *err,
                              size_t err_len);

void vmrun_config_free(struct vmrun_config *cfg);

/* seccomp-bpf allowlists on the VM's threads (docs/security.md).  Not OFF:
 * each vCPU and event-loop thread filters itself before it serves the
 * guest, and so does the thread in vmrun_run() once the VM runs: from then
 * on it may only wait, tear the VM down, write to open fds and exit. */
enum vmrun_seccomp {
    VMRUN_SECCOMP_OFF = 0, /* no filters (the library's default) */
    VMRUN_SECCOMP_LOG,     /* forbidden calls run; the kernel logs them */
    VMRUN_SECCOMP_KILL,    /* forbidden calls kill the process, logged
                              on stderr (the vmrun command's default) */
};

/* Gives up the caller's privileges (setuid() and the like); 0 or -errno.
 * See vmrun_create_opts.drop_fn. */
typedef int (*vmrun_drop_fn)(void *opaque);

struct vmrun_create_opts {
    vmrun_log_fn log_fn; /* NULL: messages are dropped */
    void *log_opaque;
    enum vmrun_log_level log_level; /* most verbose level delivered */
    enum vmrun_seccomp seccomp;
    /* NULL, or where an ELF core file of guest RAM and vCPU registers is
     * written when the guest crashes or panics (docs/crash-dump.md); it
     * replaces the config's "vmrun.crash-dump".  Its folder must exist. */
    const char *crash_dump_path;
    /* NULL, or called once with (drop_opaque) on the calling thread,
     * before the VM has a thread of its own, when every file the call
     * opens with the caller's rights is open and no untrusted file has
     * been parsed yet: the place to give up root (docs/security.md,
     * "Privilege order").  vmrun_create() calls it with /dev/kvm, the log
     * and metrics files, the drives, taps, consoles, the kernel and the
     * initrd open, before it reads the kernel and the initrd;
     * vmrun_restore() with the state file open and the memory file and
     * /dev/kvm open (or found not to open), before it reads the state
     * file (so the paths the caller gives for the snapshot's disks and
     * console files are looked up and opened after it, with the rights
     * left).  A nonzero return (-errno) fails the call with that value. */
    vmrun_drop_fn drop_fn;
    void *drop_opaque;
    /* Greater than 0: vmrun_create() and vmrun_restore() give up with
     * -EINTR once this fd is readable (a signalfd, an eventfd; polled,
     * never read), checked between 1 MiB pieces of the initrd and of the
     * snapshot state file.  0 (as zeroed options have it: stdin is never
     * a stop fd) or negative: never. */
    int stop_fd;
};

/* Builds the VM described by (cfg): memory, vCPUs, devices, loaded kernel.
 * (cfg) is copied; the caller may free it afterwards.  Nothing runs yet.
 * Every file is opened first, then (opts)->drop_fn runs (if any), then the
 * kernel and initrd are read; -EINTR once (opts)->stop_fd is readable.
 * A "logger" section in (cfg) overrides (opts): its level replaces
 * log_level, and with a log_path the VM's messages go to that file instead
 * of log_fn.  A "metrics" section opens metrics_path (-errno if it cannot
 * be opened, logged naming metrics.metrics_path). */
int vmrun_create(const struct vmrun_config *cfg,
                 const struct vmrun_create_opts *opts, struct vmrun_vm **out);

enum vmrun_exit_reason {
    VMRUN_EXIT_POWEROFF = 0, /* guest powered off (ACPI S5) */
    VMRUN_EXIT_REBOOT,       /* guest asked for a reset */
    VMRUN_EXIT_DEBUG,        /* guest wrote the debug-exit register */
    VMRUN_EXIT_PANIC,        /* guest kernel panicked (pvpanic) */
    VMRUN_EXIT_CRASH,        /* triple fault, KVM internal error */
    VMRUN_EXIT_STOPPED,      /* vmrun_request_stop() */
    VMRUN_EXIT_ERROR,        /* the VMM failed (see the log) */
};

/* Suggested process exit statuses, used by the vmrun command. */
#define VMRUN_STATUS_ERROR 1
#define VMRUN_STATUS_USAGE 2
#define VMRUN_STATUS_PANIC 3
#define VMRUN_STATUS_CRASH 4

struct vmrun_exit {
    enum vmrun_exit_reason reason;
    int status; /* suggested exit status: 0, the debug-exit byte, ... */
};

/* vmrun_wait() (and so vmrun_run()) also stops the VM, with reason
 * VMRUN_EXIT_STOPPED, once (fd) is readable; the fd is polled, never read.
 * The vmrun command passes a signalfd of SIGINT, SIGTERM and SIGHUP, so a
 * signal stops the VM without a handler or any process-wide state.  -1 (the
 * default): none.  Call before vmrun_wait(). */
void vmrun_set_stop_fd(struct vmrun_vm *vm, int fd);

/* Starts the device event loop and the vCPU threads and returns once
 * they run: from then on vmrun_pause() works.  Call once, from any thread;
 * -EALREADY the second time.  A failure to start is also reported by
 * vmrun_wait() (VMRUN_EXIT_ERROR), which must still be called. */
int vmrun_start(struct vmrun_vm *vm);

/* Blocks until the VM stops (the guest ends it, vmrun_request_stop(), an
 * error), stops its threads and fills (out).  Call once, after
 * vmrun_start(), on one thread; that thread also writes the periodic
 * metrics lines ("metrics" config section) while it waits. */
int vmrun_wait(struct vmrun_vm *vm, struct vmrun_exit *out);

/* vmrun_start() then vmrun_wait(). */
int vmrun_run(struct vmrun_vm *vm, struct vmrun_exit *out);

/* Asks a running VM to stop (reason VMRUN_EXIT_STOPPED).  Safe from any
 * thread and from a signal handler. */
void vmrun_request_stop(struct vmrun_vm *vm);

/* Stops every vCPU (signal + immediate_exit, threads stay alive) and the
 * device event loop, and tells the guest's kvmclock it was paused so it
 * does not report soft lockups.  Returns once the VM is quiescent; -EALREADY
 * if it is paused, -EINVAL if it is not running, -ESHUTDOWN if it is
 * stopping (the guest exited, even while the vCPUs were being stopped:
 * the VM is then not paused).  Thread-safe. */
int vmrun_pause(struct vmrun_vm *vm);

/* Continues a paused VM where it stopped; returns once every vCPU is back
 * in its run loop.  -EALREADY if it is running.  Thread-safe. */
int vmrun_resume(struct vmrun_vm *vm);

/* Nonzero while the VM is paused. */
int vmrun_is_paused(struct vmrun_vm *vm);

/* Presses Ctrl-Alt-Del on the guest's i8042 keyboard. */
int vmrun_send_ctrl_alt_del(struct vmrun_vm *vm);

/* ---- snapshots (docs/snapshot.md) ---- */

enum vmrun_snapshot_type {
    VMRUN_SNAPSHOT_FULL = 0, /* every page of guest RAM */
    VMRUN_SNAPSHOT_DIFF,     /* pages written since the last snapshot or
                                restore (needs track_dirty_pages) */
};

/* Saves a paused VM: its state to (state_path), its RAM to (mem_path)
 * (both created or truncated, mode 0600).  -EINVAL if the VM is not
 * paused, or for a Diff without machine-config.track_dirty_pages.  The
 * VM stays paused; it may be resumed or destroyed afterwards.  Once the
 * VM is asked to stop (vmrun_request_stop(), its stop fd) the RAM being
 * written is left within 2 MiB: -EINTR, and (state_path) is emptied. */
int vmrun_snapshot_create(struct vmrun_vm *vm, enum vmrun_snapshot_type type,
                          const char *state_path, const char *mem_path);

/* What vmrun_restore() builds a VM from. */
struct vmrun_restore {
    const char *snapshot_path; /* the state file */
    const char *mem_path;      /* a Full memory file (merge Diffs first) */
    int track_dirty_pages;     /* 1: on (for later Diffs), 0: off,
                                  -1: as when the snapshot was taken */
    int resume;                /* 0: vmrun_run() starts paused */
    /* The VM's host resources come from the caller, never from the state
     * file (which names them only to say what it expects): every drive
     * needs "DRIVE_ID=PATH" in (drive_paths), every network interface
     * "IFACE_ID=TAP_NAME" in (taps), every console writing to a file
     * "CONSOLE_ID=PATH" in (console_paths), CONSOLE_ID "serial" or
     * "virtio-console".  Each value passes the checks of the config key
     * it stands for (path_on_host, host_dev_name, the console's path). */
    const char *const *drive_paths;
    size_t nr_drive_paths;
    const char *const *taps;
    size_t nr_taps;
    const char *const *console_paths;
    size_t nr_console_paths;
    /* How messages name those lists: VMRUN_RESTORE_NAMES_CLI (0, the
     * vmrun command's --drive-path, --tap, --console-path) or
     * VMRUN_RESTORE_NAMES_API (drive_overrides, network_overrides,
     * console_overrides of PUT /snapshot/load). */
    int names;
};

#define VMRUN_RESTORE_NAMES_CLI 0
#define VMRUN_RESTORE_NAMES_API 1

/* Builds a VM from a snapshot; run it with vmrun_run().  The state file,
 * the memory file and /dev/kvm are opened first, then (opts)->drop_fn runs
 * (if any), then the state is read and parsed (on a thread of its own
 * under the restore allowlist unless (opts)->seccomp is
 * VMRUN_SECCOMP_OFF); then, with the rights left, the entries of (r) are
 * checked, the disks, taps and consoles opened and the saved state loaded
 * (on such a thread again); -EINTR once (opts)->stop_fd is readable.  The
 * memory file is mapped copy-on-write (never written; pages load as the
 * guest touches them).  A bad, corrupted, truncated or incompatible
 * snapshot (other format version, other host CPU), a drive, interface or
 * console file output without its entry in (r), or a bad entry gives
 * -EINVAL, -ENOENT or -ENOTSUP with one line in (err), before any disk,
 * tap or console is opened; a memory file or /dev/kvm that could not be
 * opened is reported after those checks, so a host without /dev/kvm
 * still refuses a bad snapshot for what it is.  Other errors also write
 * (err). */
int vmrun_restore(const struct vmrun_restore *r,
                  const struct vmrun_create_opts *opts, struct vmrun_vm **out,
                  char *err, size_t err_len);

/* Lays the Diff memory files (diffs)[0..n) over the Full memory file
 * (full), in order, into (out) ((out) may be (full)). */
int vmrun_snapshot_merge(const char *full, const char *const *diffs, size_t n,
                         const char *out, char *err, size_t err_len);

/* vmrun_snapshot_merge() that stops once (stop_fd) is readable (a
 * signalfd of SIGTERM, an eventfd): it checks between 1 MiB pieces,
 * removes its new file, leaves (out) untouched and returns -EINTR.
 * (stop_fd) -1: never stops early. */
int vmrun_snapshot_merge_fd(const char *full, const char *const *diffs,
                            size_t n, const char *out, int stop_fd, char *err,
                            size_t err_len);

/* ---- metrics (docs/api.md: the line's schema) ---- */

/* (*json_out): a new NUL-terminated JSON object, one line, with the VM's
 * counters now (vCPU exits and KVM_RUN time, drives, network interfaces,
 * VMM RSS, UTC timestamp) and the extra members (see below); the caller
 * frees it with free().  Any thread, any time between vmrun_create() and
 * vmrun_destroy(); counters are read without stopping the VM. */
int vmrun_metrics_json(struct vmrun_vm *vm, char **json_out);

/* Appends that line to the config's metrics.metrics_path now (Firecracker's
 * FlushMetrics); -ENOENT when the config has no "metrics" section, or the
 * -errno of the write.  Any thread.  Lines are also written every
 * metrics.period_s (60 s) by the vmrun_wait() thread and once when the VM
 * stops. */
int vmrun_flush_metrics(struct vmrun_vm *vm);

/* Returns a JSON object text, allocated with malloc() and freed by the
 * caller, whose members are added to every metrics line (the vmrun
 * command adds "api_server"), or NULL.  Called from the thread writing
 * the line; must be thread-safe. */
typedef char *(*vmrun_metrics_extra_fn)(void *opaque);

/* Installs (fn) (NULL removes it).  Thread-safe; (opaque) must stay valid
 * until vmrun_destroy() or the next call, which waits for a call of the
 * old (fn) in flight to return (so (fn) must not call this). */
void vmrun_set_metrics_extra(struct vmrun_vm *vm, vmrun_metrics_extra_fn fn,
                             void *opaque);

/* ---- logging for the embedder's own messages ---- */

/* Applies (cfg)'s "logger" section to (opts): its level and, with a
 * log_path, a log_fn that appends to that file (opened 0600, O_APPEND |
 * O_CLOEXEC, one line per message).  vmrun_create() does the same for the
 * VM's own messages; this is for an embedder's (the vmrun command's API
 * audit trail).  0 (and (opts) unchanged without the section) or -errno of
 * the open.  Undo with vmrun_log_close(). */
int vmrun_log_open(const struct vmrun_config *cfg,
                   struct vmrun_create_opts *opts);

/* Closes the file vmrun_log_open() put into (opts), if any, and clears
 * log_fn; (opts) must no longer be in use by another thread. */
void vmrun_log_close(struct vmrun_create_opts *opts);

/* Frees everything.  A VM started and not waited for is stopped and
 * waited for first, on the calling thread but without the seccomp filter
 * vmrun_wait() puts on its caller: any thread may call it. */
void vmrun_destroy(struct vmrun_vm *vm);

const char *vmrun_exit_reason_name(enum vmrun_exit_reason reason);

/* vmrun_create() and vmrun_restore() fail with -VMRUN_ENOKVM, and with no
 * other failure, when the host has no /dev/kvm. */
#define VMRUN_ENOKVM ENOPKG

/* What (err), a -errno of this library, means, for a person: for
 * -VMRUN_ENOKVM that /dev/kvm does not exist and why, else strerror()'s
 * text.  Returns (buf), or a constant string; thread-safe. */
const char *vmrun_strerror(int err, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
