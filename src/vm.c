/* vm.c - one VM: opens KVM, owns RAM, buses, event loop and vCPUs, and runs
 * them until the guest or the embedder ends it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "sandbox.h"
#include "core/util.h"
#include "vcpu.h"
#include "vcpu_crashdump.h"
#include "vm.h"

/* The accessors of vm.h, and the irq_ops of the VM's dev_env. */

void *vm_gpa_ptr(struct vm *vm, gpa_t gpa, uint64_t len)
{
    return gmem_ptr(&vm->mem, gpa, len);
}

const struct guest_mem *vm_guest_mem(struct vm *vm)
{
    return &vm->mem;
}

const struct logger *vm_logger(struct vm *vm)
{
    return &vm->log;
}

struct bus *vm_pio_bus(struct vm *vm)
{
    return &vm->pio;
}

struct bus *vm_mmio_bus(struct vm *vm)
{
    return &vm->mmio;
}

struct event_loop *vm_event_loop(struct vm *vm)
{
    return vm->loop;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};

    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        return -errno;
    return 0;
}

int vm_irqfd(struct vm *vm, uint32_t gsi, int fd, bool assign)
{
    struct kvm_irqfd req = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };

    if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0)
        return -errno;
    return 0;
}

int vm_ioeventfd(struct vm *vm, gpa_t addr, uint32_t len, bool match,
                 uint64_t datamatch, int fd, bool assign)
{
    struct kvm_ioeventfd req = {
        .datamatch = datamatch,
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };

    if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &req) < 0)
        return -errno;
    return 0;
}

void vm_request_exit(struct vm *vm, enum vmrun_exit_reason reason, int status)
{
    int expected = 0;
    uint64_t one = 1;

    if (!atomic_compare_exchange_strong(&vm->exit_state, &expected, 1))
        return;
    vm->exit_reason = reason;
    vm->exit_status = status;
    /* Pairs with the acquire load in vm_wait_exit(): reason and status are
     * visible once exit_state reads 2. */
    atomic_store_explicit(&vm->exit_state, 2, memory_order_release);
    if (write(vm->exit_fd, &one, sizeof(one)) < 0) {
        /* Only fails on counter overflow, which cannot happen here. */
    }
}

static int kvm_set_line(void *ctx, uint32_t gsi, int level)
{
    return vm_irq_line(ctx, gsi, level);
}

static int kvm_irqfd(void *ctx, uint32_t gsi, int fd, bool assign)
{
    return vm_irqfd(ctx, gsi, fd, assign);
}

static int kvm_ioeventfd(void *ctx, gpa_t addr, uint32_t len, bool match,
                         uint64_t datamatch, int fd, bool assign)
{
    return vm_ioeventfd(ctx, addr, len, match, datamatch, fd, assign);
}

static void kvm_request_exit(void *ctx, enum vmrun_exit_reason reason,
                             int status)
{
    vm_request_exit(ctx, reason, status);
}

static const struct irq_ops kvm_irq_ops = {
    .set_line = kvm_set_line,
    .irqfd = kvm_irqfd,
    .ioeventfd = kvm_ioeventfd,
    .request_exit = kvm_request_exit,
};

bool vm_exit_requested(struct vm *vm)
{
    return atomic_load_explicit(&vm->exit_state, memory_order_relaxed) != 0;
}

int vm_add_memslot(struct vm *vm, uint32_t slot, gpa_t gpa, uint64_t size,
                   void *host)
{
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
        /* Diff snapshots write only the pages KVM saw the guest dirty. */
        .flags = vm->cfg->track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
    };
    int ret = gmem_add(&vm->mem, gpa, size, host);

    if (ret < 0)
        return ret;
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return -errno;
    return 0;
}

/* kvm_pvm runs a guest's CPL0 code through KVM's instruction emulator: warn
 * before booting a stock kernel there (see README, "Hosts without hardware
 * virtualization"). */
static bool host_is_pvm(void)
{
    return access("/sys/module/kvm_pvm", F_OK) == 0 &&
           access("/sys/module/kvm_intel", F_OK) != 0 &&
           access("/sys/module/kvm_amd", F_OK) != 0;
}

int vm_load_stopped(struct vm *vm)
{
    struct pollfd pfd = {.fd = vm->load_stop_fd, .events = POLLIN};

    if (vm->load_stop_fd < 0 || poll(&pfd, 1, 0) <= 0)
        return 0;
    vm_log(vm, VMRUN_LOG_INFO, "stopped while loading the VM");
    return -EINTR;
}

int vm_kvm_open(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    return fd >= 0 ? fd : -errno;
}

/* /dev/kvm (unless the caller opened it: a restore) and the VM. */
static int vm_open_kvm(struct vm *vm)
{
    int ret;

    if (vm->kvm_fd < 0) {
        ret = vm_kvm_open();
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR, "cannot open /dev/kvm: %s",
                   strerror(-ret));
            /* Told apart from a missing image or tap (vmrun.h). */
            return ret == -ENOENT ? -VMRUN_ENOKVM : ret;
        }
        vm->kvm_fd = ret;
    }
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        vm_log(vm, VMRUN_LOG_ERROR, "/dev/kvm: unsupported KVM API version");
        return -ENOTSUP;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        ret = -errno;
        vm_log(vm, VMRUN_LOG_ERROR, "KVM_CREATE_VM: %s", strerror(-ret));
        return ret;
    }
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size < (int)sizeof(struct kvm_run))
        return -ENOTSUP;
    vm->host_is_pvm = host_is_pvm();
    if (vm->host_is_pvm)
        vm_log(vm, VMRUN_LOG_WARN,
               "/dev/kvm is kvm_pvm (no VT-x/AMD-V): guest kernel code "
               "without PVM support runs under instruction emulation and "
               "may stop with an emulation failure");
    return 0;
}

#define RAM_HUGE_ALIGN (2ULL << 20)

/* A mapping of (size) bytes of guest RAM whose start is 2 MiB aligned, or
 * MAP_FAILED.  KVM maps guest memory with huge nested pages only where the
 * guest-physical and the host-virtual address agree modulo 2 MiB; Linux
 * before 6.7 does not align large anonymous mappings by itself, and an
 * unaligned RAM gets 4 KiB nested pages throughout (measured in the lab
 * box: 34,000 nested page faults per network test boot instead of 7,900).
 * With (fd) >= 0 the RAM is that file mapped copy-on-write over the aligned
 * reservation (a restored guest's memory file: pages load lazily). */
static void *vm_map_aligned(size_t size, int fd)
{
    size_t extra = RAM_HUGE_ALIGN, head;
    uint8_t *p;

    /* MAP_NORESERVE: a guest that touches little costs little. */
    p = mmap(NULL, size + extra, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return p;
    head = (RAM_HUGE_ALIGN - (uintptr_t)p % RAM_HUGE_ALIGN) % RAM_HUGE_ALIGN;
    if (head)
        munmap(p, head);
    if (extra - head)
        munmap(p + head + size, extra - head);
    if (fd >= 0 &&
        mmap(p + head, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0) == MAP_FAILED) {
        int err = errno;

        munmap(p + head, size);
        errno = err;
        return MAP_FAILED;
    }
    return p + head;
}

static int vm_alloc_ram(struct vm *vm)
{
    vm->ram_size = vm->cfg->mem_size_mib << 20;
    vm->ram = vm_map_aligned(vm->ram_size, vm->mem_fd);
    if (vm->ram == MAP_FAILED) {
        int ret = -errno;

        vm->ram = NULL;
        vm_log(vm, VMRUN_LOG_ERROR, "cannot map %llu MiB of guest RAM: %s",
               (unsigned long long)vm->cfg->mem_size_mib, strerror(-ret));
        return ret;
    }
    madvise(vm->ram, vm->ram_size, MADV_DONTFORK);
    /* Transparent huge pages: one nested page fault per 2 MiB instead of
     * per 4 KiB (measured: ~25,000 fewer exits per Linux boot, for ~7%
     * more guest RAM touched).  Advisory; ignored where THP is off. */
    madvise(vm->ram, vm->ram_size, MADV_HUGEPAGE);
    return 0;
}

static int vm_create_vcpus(struct vm *vm)
{
    vm->vcpus = calloc(vm->cfg->vcpu_count, sizeof(*vm->vcpus));
    if (!vm->vcpus)
        return -ENOMEM;
    for (unsigned int i = 0; i < vm->cfg->vcpu_count; i++) {
        int ret = vcpu_create(vm, &vm->vcpus[i], i);

        if (ret < 0)
            return ret;
        vm->nr_vcpus++;
        ret = arch_vcpu_init(vm, &vm->vcpus[i]);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* The event loop's thread filters itself before it serves a device. */
static int vm_event_loop_init(void *opaque)
{
    struct vm *vm = opaque;
    int ret =
        sandbox_enter(vm->seccomp, SANDBOX_ROLE_EVENT_LOOP, -1, -1, &vm->log);

    if (ret < 0)
        vm_request_exit(vm, VMRUN_EXIT_ERROR, VMRUN_STATUS_ERROR);
    return ret;
}

static void vm_fds_init(struct vm *vm)
{
    vm->kvm_fd = vm->vm_fd = vm->exit_fd = vm->metrics_file.fd = vm->mem_fd =
        -1;
    vm->statm_fd = -1;
    vm->stop_fd = -1;
    vm->kernel_fd = vm->initrd_fd = vm->load_stop_fd = -1;
    vm->crash_dir_fd = -1;
    arch_vm_init_fds(vm);
}

/* The "logger" and "metrics" sections: the log file replaces the
 * embedder's callback; both files open before anything else is built, so
 * a bad path fails early and the rest of the build is logged there. */
static int vm_open_outputs(struct vm *vm)
{
    const struct vmrun_config *c = vm->cfg;
    int ret;

    if (c->has_logger) {
        vm->log.level = c->log_level;
        vm->log.show_origin = c->log_show_origin;
    }
    if (c->log_path) {
        ret = log_file_open(c->log_path, c->log_show_level, &vm->log_file);
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR, "logger.log_path: cannot open '%s': %s",
                   c->log_path, open_output_strerror(ret));
            return ret;
        }
        vm->log.fn = log_file_write;
        vm->log.opaque = vm->log_file;
    }
    /* Kept open: the filtered threads that write metrics lines may not
     * open files (docs/security.md). */
    vm->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (!c->metrics_path)
        return 0;
    ret = metrics_file_open(&vm->metrics_file, c->metrics_path);
    if (ret < 0) {
        vm_log(vm, VMRUN_LOG_ERROR,
               "metrics.metrics_path: cannot open '%s': %s", c->metrics_path,
               open_output_strerror(ret));
        return ret;
    }
    vm->has_metrics = true;
    return 0;
}

/* A boot file (path), the config's (key): open_regular(), as a FIFO put
 * there since the config was read must not block the boot. */
static int vm_open_input(struct vm *vm, const char *path, const char *key,
                         int *out)
{
    int fd = open_regular(path, O_RDONLY | O_CLOEXEC, 0);

    if (fd < 0) {
        vm_log(vm, VMRUN_LOG_ERROR, "%s: cannot open '%s': %s", key, path,
               fd == -EINVAL ? "not a regular file" : strerror(-fd));
        return fd;
    }
    *out = fd;
    return 0;
}

static void vm_close_boot_files(struct vm *vm)
{
    if (vm->kernel_fd >= 0)
        close(vm->kernel_fd);
    if (vm->initrd_fd >= 0)
        close(vm->initrd_fd);
    vm->kernel_fd = vm->initrd_fd = -1;
}

/* The kernel and initrd are untrusted input: they are opened with the
 * caller's rights like every other file of the config, then the caller
 * gives those rights up ((opts)->drop_fn), and only then are they read
 * and parsed, from the open descriptors. */
static int vm_load_boot_files(struct vm *vm,
                              const struct vmrun_create_opts *opts)
{
    const struct vmrun_config *c = vm->cfg;
    int ret = vm_open_input(vm, c->kernel_path, "boot-source.kernel_image_path",
                            &vm->kernel_fd);

    if (ret == 0 && c->initrd_path)
        ret = vm_open_input(vm, c->initrd_path, "boot-source.initrd_path",
                            &vm->initrd_fd);
    if (ret == 0 && opts && opts->drop_fn)
        ret = opts->drop_fn(opts->drop_opaque);
    if (ret < 0)
        return ret;
    vm_log(vm, VMRUN_LOG_INFO, "reading the kernel%s as uid %u, gid %u",
           c->initrd_path ? " and the initrd" : "", (unsigned int)getuid(),
           (unsigned int)getgid());
    ret = arch_load_kernel(vm);
    vm_close_boot_files(vm);
    return ret;
}

static int vm_build(struct vm *vm, const struct vmrun_config *cfg,
                    const struct vmrun_create_opts *opts, int kvm_fd,
                    int mem_fd)
{
    int ret;

    memset(vm, 0, sizeof(*vm));
    vm_fds_init(vm);
    vm->kvm_fd = kvm_fd;
    vm->mem_fd = mem_fd;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    metrics_extra_init(&vm->metrics_extra);
    vm->created_ns = metrics_now_ns();
    if (opts) {
        vm->log = (struct logger){opts->log_fn, opts->log_opaque,
                                  opts->log_level, false};
        vm->seccomp = opts->seccomp;
        if (opts->stop_fd > 0)
            vm->load_stop_fd = opts->stop_fd;
    }
    bus_init(&vm->pio, "pio", &vm->log);
    bus_init(&vm->mmio, "mmio", &vm->log);
    vm->cfg = config_dup(cfg);
    if (!vm->cfg)
        return -ENOMEM;
    /* The outputs first: the log file gets every line of the build. */
    ret = vm_open_outputs(vm);
    if (ret < 0)
        return ret;
    ret = vm_crashdump_setup(vm, opts);
    if (ret < 0)
        return ret;
    vm->exit_fd = eventfd(0, EFD_CLOEXEC);
    if (vm->exit_fd < 0)
        return -errno;
    ret = event_loop_create(&vm->log, &vm->loop);
    if (ret < 0)
        return ret;
    event_loop_set_init(vm->loop, vm_event_loop_init, vm);
    vm->env = (struct dev_env){&vm->log, &vm->mem,     &vm->pio, &vm->mmio,
                               vm->loop, &kvm_irq_ops, vm};
    ret = sandbox_setup(vm->seccomp, &vm->log);
    if (ret < 0)
        return ret;
    ret = vm_open_kvm(vm);
    if (ret < 0)
        return ret;
    ret = vm_alloc_ram(vm);
    if (ret < 0)
        return ret;
    ret = arch_vm_init(vm);
    if (ret < 0)
        return ret;
    if (vm->cfg->track_dirty_pages) {
        ret = gmem_dirty_enable(&vm->mem);
        if (ret < 0)
            return ret;
    }
    ret = arch_vm_create_devices(vm);
    if (ret < 0)
        return ret;
    ret = vm_create_devices(vm);
    if (ret < 0)
        return ret;
    if (mem_fd < 0) {
        ret = vm_load_boot_files(vm, opts);
        if (ret < 0)
            return ret;
    }
    ret = vm_create_vcpus(vm);
    if (ret == 0)
        vm_log(vm, VMRUN_LOG_INFO,
               "VM created: %u vCPUs, %llu MiB, %u drives, %u network "
               "interfaces%s",
               vm->nr_vcpus, (unsigned long long)vm->cfg->mem_size_mib,
               (unsigned int)vm->cfg->nr_drives, (unsigned int)vm->cfg->nr_nics,
               mem_fd >= 0 ? " (for a restore)" : "");
    return ret;
}

int vm_init(struct vm *vm, const struct vmrun_config *cfg,
            const struct vmrun_create_opts *opts)
{
    return vm_build(vm, cfg, opts, -1, -1);
}

int vm_init_restore(struct vm *vm, const struct vmrun_config *cfg,
                    const struct vmrun_create_opts *opts, int kvm_fd,
                    int mem_fd)
{
    return vm_build(vm, cfg, opts, kvm_fd, mem_fd);
}

/* Undoes vm_init() in reverse; safe on a partly built VM. */
void vm_fini(struct vm *vm)
{
    for (unsigned int i = vm->nr_vcpus; i-- > 0;)
        vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    if (vm->loop)
        event_loop_stop(vm->loop);
    vm_destroy_devices(vm);
    arch_vm_destroy_devices(vm);
    event_loop_destroy(vm->loop);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    if (vm->mem_fd >= 0)
        close(vm->mem_fd);
    vm_close_boot_files(vm);
    gmem_dirty_free(&vm->mem);
    if (vm->exit_fd >= 0)
        close(vm->exit_fd);
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    metrics_file_close(&vm->metrics_file);
    if (vm->statm_fd >= 0)
        close(vm->statm_fd);
    if (vm->crash_dir_fd >= 0)
        close(vm->crash_dir_fd);
    log_file_close(vm->log_file);
    vmrun_config_free(vm->cfg);
    metrics_extra_fini(&vm->metrics_extra);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    memset(vm, 0, sizeof(*vm));
}

/* A vCPU thread ends: whoever waits for the vCPUs to park (vm_start() of a
 * paused restore, vm_pause()) sees the exit request instead of waiting for
 * a vCPU that will never park. */
void vm_vcpu_gone(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

void vm_vcpu_park(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->nr_parked++;
    pthread_cond_broadcast(&vm->cond);
    while (atomic_load(&vm->pause_requested) && !vm_exit_requested(vm))
        pthread_cond_wait(&vm->cond, &vm->lock);
    vm->nr_parked--;
    pthread_cond_broadcast(&vm->cond); /* vm_resume() waits for 0 */
    pthread_mutex_unlock(&vm->lock);
}

int vm_kvmclock_stopped(struct vm *vm, unsigned int n)
{
    int told = 0;

    for (unsigned int i = 0; i < n; i++) {
        if (ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) == 0)
            told++;
        else
            vm_log(vm, VMRUN_LOG_DEBUG, "vcpu%u: KVM_KVMCLOCK_CTRL: %s%s", i,
                   strerror(errno),
                   errno == EINVAL ? " (the guest has no kvmclock)" : "");
    }
    return told;
}

int vm_pause(struct vm *vm)
{
    uint64_t t0 = metrics_now_ns();
    unsigned int n;

    pthread_mutex_lock(&vm->lock);
    if (vm->paused || vm->nr_running == 0 || vm_exit_requested(vm)) {
        int ret = vm->paused              ? -EALREADY
                  : vm_exit_requested(vm) ? -ESHUTDOWN
                                          : -EINVAL;

        pthread_mutex_unlock(&vm->lock);
        return ret;
    }
    atomic_store(&vm->pause_requested, 1);
    for (unsigned int i = 0; i < vm->nr_running; i++)
        vcpu_kick(&vm->vcpus[i]);
    while (vm->nr_parked < vm->nr_running && !vm_exit_requested(vm))
        pthread_cond_wait(&vm->cond, &vm->lock);
    /* The guest stopped (poweroff, panic, a stop request) while the vCPUs
     * were parking: the thread in vm_wait() owns the teardown, and a VM
     * that exited is not "paused". */
    if (vm_exit_requested(vm)) {
        atomic_store(&vm->pause_requested, 0);
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        return -ESHUTDOWN;
    }
    vm->paused = true;
    n = vm->nr_running;
    pthread_mutex_unlock(&vm->lock);
    /* Devices stop too: no completions or interrupts while paused.  An exit
     * requested from here on makes vm_wait() stop the loop as well, which
     * event_loop_stop() allows. */
    event_loop_stop(vm->loop);
    (void)vm_kvmclock_stopped(vm, n);
    vm_log(vm, VMRUN_LOG_INFO, "VM paused: %u vCPUs stopped in %llu us", n,
           (unsigned long long)(metrics_now_ns() - t0) / 1000);
    return 0;
}

/* Returns once every vCPU has left vm_vcpu_park() (is back in its KVM_RUN
 * loop), so the time logged is the whole way from call to running. */
int vm_resume(struct vm *vm)
{
    uint64_t t0 = metrics_now_ns();
    int ret;

    pthread_mutex_lock(&vm->lock);
    if (!vm->paused) {
        pthread_mutex_unlock(&vm->lock);
        return -EALREADY;
    }
    if (vm->start_paused && vm->nr_running == 0) {
        /* Restored paused, resumed before vm_start(): it runs at once. */
        vm->start_paused = false;
        vm->paused = false;
        pthread_mutex_unlock(&vm->lock);
        return 0;
    }
    ret = event_loop_start(vm->loop);
    if (ret == 0) {
        vm->paused = false;
        atomic_store(&vm->pause_requested, 0);
        pthread_cond_broadcast(&vm->cond);
        while (vm->nr_parked > 0 && !atomic_load(&vm->pause_requested))
            pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
    if (ret == 0)
        vm_log(vm, VMRUN_LOG_INFO,
               "VM resumed: %u vCPUs running again in %llu us", vm->nr_running,
               (unsigned long long)(metrics_now_ns() - t0) / 1000);
    return ret;
}

/* The metrics period is the poll timeout of the thread in vm_wait(): no
 * timer thread, and it runs while the VM is paused too. */
static void vm_wait_exit(struct vm *vm)
{
    struct pollfd pfd[2] = {{.fd = vm->exit_fd, .events = POLLIN},
                            {.fd = vm->stop_fd, .events = POLLIN}};
    uint64_t period = vm->has_metrics ? vm->cfg->metrics_period_ms : 0;
    uint64_t next = metrics_now_ns() / 1000000 + period;

    while (atomic_load_explicit(&vm->exit_state, memory_order_acquire) != 2) {
        uint64_t now = metrics_now_ns() / 1000000;

        if (period && now >= next) {
            if (vm_flush_metrics(vm) < 0)
                vm_log(vm, VMRUN_LOG_WARN, "metrics: cannot write a line");
            next = now + period;
        }
        /* A negative fd is skipped by poll(). */
        poll(pfd, 2, period && next - now < 1000 ? (int)(next - now) : 1000);
        if (pfd[1].revents)
            vm_request_exit(vm, VMRUN_EXIT_STOPPED, VMRUN_STATUS_ERROR);
    }
}

static void vm_stop_vcpus(struct vm *vm, unsigned int started)
{
    /* Parked vCPUs wake up, see the exit request and return. */
    pthread_mutex_lock(&vm->lock);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    for (unsigned int i = 0; i < started; i++)
        vcpu_kick(&vm->vcpus[i]);
    for (unsigned int i = 0; i < started; i++)
        vcpu_join(&vm->vcpus[i]);
}

/* The number of exits to userspace is the cost that matters most on hosts
 * where an exit is expensive (nested virtualization, kvm_pvm). */
static void vm_log_exits(struct vm *vm)
{
    uint64_t total = 0;

    for (unsigned int i = 0; i < vm->nr_vcpus; i++)
        for (int k = 0; k < METRICS_EXIT_NR; k++)
            total += metrics_read(&vm->vcpus[i].metrics.exits[k]);
    vm_log(vm, VMRUN_LOG_INFO, "%llu exits to userspace over %u vCPUs",
           (unsigned long long)total, vm->nr_vcpus);
}

int vm_start(struct vm *vm)
{
    int ret = vcpu_signal_setup(vm);
    bool start_paused;

    vm_log(vm, VMRUN_LOG_INFO, "VM booting: starting %u vCPUs", vm->nr_vcpus);
    /* A restored VM may start paused (vm->paused already set): its vCPUs
     * park at once and vm_resume() starts the device loop.  The lock
     * orders this with a vm_resume() that came first. */
    pthread_mutex_lock(&vm->lock);
    start_paused = vm->start_paused;
    if (start_paused)
        atomic_store(&vm->pause_requested, 1);
    else if (ret == 0)
        ret = event_loop_start(vm->loop);
    for (unsigned int i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
        ret = vcpu_start(&vm->vcpus[i]);
        if (ret == 0)
            vm->nr_running++;
    }
    if (ret == 0 && start_paused) {
        while (vm->nr_parked < vm->nr_running && !vm_exit_requested(vm))
            pthread_cond_wait(&vm->cond, &vm->lock);
        vm->start_paused = false;
    }
    pthread_mutex_unlock(&vm->lock);
    if (ret < 0) {
        vm_log(vm, VMRUN_LOG_ERROR, "cannot start the VM: %s", strerror(-ret));
        vm_request_exit(vm, VMRUN_EXIT_ERROR, VMRUN_STATUS_ERROR);
        return ret;
    }
    vm_log(vm, VMRUN_LOG_INFO, start_paused ? "VM paused" : "VM running");
    return 0;
}

int vm_wait(struct vm *vm, bool filter, struct vmrun_exit *out)
{
    /* The waiting thread: vm_start() ran, on it or on another (the API's
     * InstanceStart), so the threads it started do not inherit this. */
    if (filter &&
        sandbox_enter(vm->seccomp, SANDBOX_ROLE_MAIN, -1, -1, &vm->log) < 0)
        vm_request_exit(vm, VMRUN_EXIT_ERROR, VMRUN_STATUS_ERROR);
    vm_wait_exit(vm);
    vm_log(vm, VMRUN_LOG_INFO, "VM stopping: %s",
           vmrun_exit_reason_name(vm->exit_reason));
    vm_stop_vcpus(vm, vm->nr_running);
    pthread_mutex_lock(&vm->lock);
    vm->nr_running = 0;
    vm->paused = false;
    pthread_mutex_unlock(&vm->lock);
    event_loop_stop(vm->loop);
    vm_log_exits(vm);
    /* The last line covers the whole run (Firecracker writes one at exit
     * too). */
    if (vm->has_metrics && vm_flush_metrics(vm) < 0)
        vm_log(vm, VMRUN_LOG_WARN, "metrics: cannot write the last line");
    vm_log(vm, VMRUN_LOG_INFO, "VM exited: %s, status %d",
           vmrun_exit_reason_name(vm->exit_reason), vm->exit_status);
    out->reason = vm->exit_reason;
    out->status = vm->exit_status;
    return 0;
}
