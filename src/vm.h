/* vm.h - one virtual machine: memory, buses, vCPUs, devices, lifecycle.
 * Internal to libvmrun: devices use dev_env.h instead. */
#ifndef VMRUN_VM_H
#define VMRUN_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/crashdump.h"
#include "core/metrics.h"
#include "core/dev_env.h"
#include "arch/arch_state.h"

struct kvm_run;

/* At most one device per virtio slot the config may ask for. */
#define VM_MAX_DEVICES (CONFIG_MAX_DRIVES + CONFIG_MAX_NICS + 2)

/* One device of the VM's list: its model's ops, the device, and the
 * config's id for it (drive_id, iface_id; NULL for the others). */
struct vm_device {
    const struct device_ops *ops;
    void *dev;
    const char *id;
};

struct vcpu {
    struct vm *vm;
    unsigned int index;
    int fd;
    struct kvm_run *run; /* mmap'd, vm->run_size bytes */
    pthread_t thread;
    bool started;
    struct vcpu_metrics metrics; /* written by the vCPU thread only */
    /* Crash dump (vcpu_crashdump.c): this vCPU's registers as its thread
     * ends, why there are none (-ENODATA: KVM reset the vCPU), and whether
     * this vCPU is one that crashed. */
    struct crashdump_cpu dump;
    int dump_err;
    bool crashed;
};

struct vm {
    struct logger log;
    struct vmrun_config *cfg; /* owned copy */
    int kvm_fd;
    int vm_fd;
    int run_size;
    bool host_is_pvm; /* /dev/kvm is kvm_pvm, not VT-x/AMD-V */

    /* The kernel and initrd (-1: none), open from vm_init() until
     * arch_load_kernel() has read them. */
    int kernel_fd, initrd_fd;
    int load_stop_fd; /* vmrun_create_opts.stop_fd, -1: none */

    uint8_t *ram; /* one mapping for all guest RAM */
    int mem_fd;   /* restored VMs: the memory file mapped privately; -1 */
    uint64_t ram_size;
    struct guest_mem mem;
    struct bus pio;
    struct bus mmio;
    struct event_loop *loop;
    /* What the devices see of this VM: the fields above and the KVM
     * interrupt hooks of vm.c; filled once the event loop exists. */
    struct dev_env env;

    unsigned int nr_vcpus;
    struct vcpu *vcpus;
    int kick_signal;            /* sent with immediate_exit to leave KVM_RUN */
    enum vmrun_seccomp seccomp; /* filters on the VM's threads */

    struct arch_vm arch;

    /* Devices from the config, in creation (virtio slot) order. */
    unsigned int nr_devices;
    struct vm_device devices[VM_MAX_DEVICES];
    /* Appended to the kernel command line (root=, virtio_mmio.device=). */
    char cmdline_extra[1024];

    /* Pause: vCPUs that see (pause_requested) park on (cond) and count
     * themselves in (nr_parked); resume clears it and broadcasts. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_int pause_requested;
    unsigned int nr_parked;
    unsigned int nr_running; /* vCPU threads started by vm_start() */
    bool paused;
    bool start_paused; /* vm_start() parks the vCPUs before they run */

    /* Metrics ("metrics" section): lines go to (metrics_file) every
     * (cfg->metrics_period_ms) from the thread in vm_wait(), and on
     * vmrun_flush_metrics() from the caller's thread. */
    bool has_metrics;
    struct metrics_file metrics_file;
    int statm_fd; /* /proc/self/statm, for the RSS in metrics lines */
    struct metrics_extra metrics_extra; /* vmrun_set_metrics_extra() */
    uint64_t created_ns;
    struct log_file *log_file; /* logger.log_path, NULL: the callback */

    bool started, waited; /* vm_start() and vm_wait() ran (vmrun_ API) */
    /* Exit: the first request wins (exit_state 0 -> 1), sets reason and
     * status, then publishes them (1 -> 2, release); exit_fd wakes
     * vm_wait().  Async-signal-safe. */
    atomic_int exit_state;
    enum vmrun_exit_reason exit_reason;
    int exit_status;
    int exit_fd;
    int stop_fd; /* vmrun_set_stop_fd(): polled by vm_wait(), -1: none */

    /* Crash dump (vcpu_crashdump.c): the first crash's words (under
     * (lock)), and how many vCPU threads saved their registers; the one
     * that makes it nr_vcpus writes the dump. */
    char crash_what[96];
    atomic_uint crash_stopped;
    /* The dump's folder, opened by vm_crashdump_setup() (-1: no dump
     * path), and the file's name in it: the vcpu-dump filter allows
     * openat in that folder only. */
    int crash_dir_fd;
    const char *crash_name;
};

/* The VMM's accessors: the same as a device's dev_env, for the code of
 * src/ that holds the VM itself. */
void *vm_gpa_ptr(struct vm *vm, gpa_t gpa, uint64_t len);
const struct guest_mem *vm_guest_mem(struct vm *vm);
const struct logger *vm_logger(struct vm *vm);
struct bus *vm_pio_bus(struct vm *vm);
struct bus *vm_mmio_bus(struct vm *vm);
struct event_loop *vm_event_loop(struct vm *vm);

#define vm_log(vm, level, ...) log_msg(vm_logger(vm), (level), __VA_ARGS__)

/* Sets interrupt line (gsi) to (level) on the in-kernel irqchip. */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
    __attribute__((warn_unused_result));

/* Binds eventfd (fd) so that a write to it pulses (gsi) (edge). */
int vm_irqfd(struct vm *vm, uint32_t gsi, int fd, bool assign)
    __attribute__((warn_unused_result));

/* Binds eventfd (fd) to guest MMIO writes (see irq_ops.ioeventfd). */
int vm_ioeventfd(struct vm *vm, gpa_t addr, uint32_t len, bool match,
                 uint64_t datamatch, int fd, bool assign)
    __attribute__((warn_unused_result));

/* Ends the VM: the vCPUs stop and vm_wait() returns (reason, status).
 * Thread-safe and async-signal-safe; the first request wins. */
void vm_request_exit(struct vm *vm, enum vmrun_exit_reason reason, int status);

/* Builds the whole VM from (cfg) (copied) in (vm); on failure the caller
 * still calls vm_fini(), which undoes whatever was built.  Everything the
 * config names is opened first, with the caller's rights; then
 * (opts)->drop_fn runs, if any; only then are the kernel and initrd read
 * and parsed. */
int vm_init(struct vm *vm, const struct vmrun_config *cfg,
            const struct vmrun_create_opts *opts)
    __attribute__((warn_unused_result));

/* vm_init() for a snapshot restore (src/snapshot.c): (kvm_fd) is
 * /dev/kvm (vm_kvm_open()), or -1 when the caller could not open it (it
 * is opened again here, and a failure reported as vm_init() reports it);
 * guest RAM is (mem_fd) mapped MAP_PRIVATE (pages load lazily; the file
 * is never written), no kernel is loaded, (opts)->drop_fn is not called
 * (the caller did, before it parsed the state file that (cfg) comes
 * from), and the vCPUs keep their reset state until the caller loads the
 * saved state.  Both fds are taken, also on failure. */
int vm_init_restore(struct vm *vm, const struct vmrun_config *cfg,
                    const struct vmrun_create_opts *opts, int kvm_fd,
                    int mem_fd) __attribute__((warn_unused_result));

/* -EINTR once the caller of vmrun_create() or vmrun_restore() asked it
 * to give up (vmrun_create_opts.stop_fd is readable), else 0: loaders
 * check it between pieces of large files. */
int vm_load_stopped(struct vm *vm) __attribute__((warn_unused_result));

/* Opens /dev/kvm; the fd, or -errno (nothing logged: vm_init() and
 * vm_init_restore() report a failure). */
int vm_kvm_open(void) __attribute__((warn_unused_result));

/* Starts the event loop and the vCPU threads; on return they run (or an
 * exit is pending after a failure, which vm_wait() reports). */
int vm_start(struct vm *vm) __attribute__((warn_unused_result));

/* Blocks until an exit request, writing the periodic metrics lines while
 * it waits; stops the vCPUs and the event loop; fills (out).  (filter):
 * the calling thread enters the main thread's seccomp filter first
 * (vmrun_wait()); false for vmrun_destroy() of a VM nobody waited for,
 * which may run on a thread that still needs other calls (the API thread
 * after a failed InstanceStart must still send its reply). */
int vm_wait(struct vm *vm, bool filter, struct vmrun_exit *out);

/* The metrics line's JSON object, with the embedder's extra members; NULL
 * on ENOMEM.  Any thread. */
cJSON *vm_metrics(struct vm *vm);

/* Appends one line to the metrics file; -ENOENT without "metrics". */
int vm_flush_metrics(struct vm *vm) __attribute__((warn_unused_result));

void vm_fini(struct vm *vm);

/* Registers guest RAM [gpa, gpa + size) backed by (host) as KVM slot (slot)
 * and in vm->mem. */
int vm_add_memslot(struct vm *vm, uint32_t slot, gpa_t gpa, uint64_t size,
                   void *host) __attribute__((warn_unused_result));

/* Creates the config's devices in order (drives, NICs, virtio-console,
 * virtio-rng; vm_devices.c).  Call after the irqchip and event loop exist,
 * before arch_load_kernel(): they add DSDT entries and command-line words. */
int vm_create_devices(struct vm *vm) __attribute__((warn_unused_result));

/* After the vCPUs and the event loop stopped, before RAM is unmapped:
 * each device's destroy op, last created first. */
void vm_destroy_devices(struct vm *vm);

/* Pause/resume (see vmrun_pause()); -errno. */
int vm_pause(struct vm *vm) __attribute__((warn_unused_result));
int vm_resume(struct vm *vm) __attribute__((warn_unused_result));

/* Tells the kvmclock of vCPUs 0..(n)-1 that the guest was stopped
 * (KVM_KVMCLOCK_CTRL): vm_pause() after the vCPUs parked, and a restore
 * once every vCPU's state (its kvmclock MSRs) is loaded.  KVM sets
 * PVCLOCK_GUEST_STOPPED at each vCPU's next entry, so the guest's
 * soft-lockup and RCU watchdogs do not take the pause, or the time a
 * snapshot sat on disk, for a hang.  Returns how many vCPUs took it (those
 * of a guest without kvmclock do not: -EINVAL, logged at debug level). */
int vm_kvmclock_stopped(struct vm *vm, unsigned int n);

/* Called by a vCPU thread that saw pause_requested: waits until resumed or
 * the VM exits. */
void vm_vcpu_park(struct vm *vm);
/* Called by a vCPU thread as it ends: wakes the waiters for parked vCPUs. */
void vm_vcpu_gone(struct vm *vm);

/* True once any exit was requested; vCPU loops poll it. */
bool vm_exit_requested(struct vm *vm);
#endif
