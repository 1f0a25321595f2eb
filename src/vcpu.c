/* vcpu.c - one thread per vCPU running KVM_RUN; exits go to the buses. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "sandbox.h"
#include "vcpu.h"
#include "vcpu_crashdump.h"
#include "vm.h"

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int index)
{
    void *run;

    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0) {
        int ret = -errno;

        vm_log(vm, VMRUN_LOG_ERROR, "KVM_CREATE_VCPU %u: %s", index,
               strerror(-ret));
        return ret;
    }
    run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
               0);
    if (run == MAP_FAILED) {
        int ret = -errno;

        close(vcpu->fd);
        vcpu->fd = -1;
        return ret;
    }
    vcpu->run = run;
    return 0;
}

static void vcpu_kick_handler(int sig)
{
    (void)sig;
}

int vcpu_signal_setup(struct vm *vm)
{
    struct sigaction sa;

    vm->kick_signal = SIGRTMIN;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = vcpu_kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(vm->kick_signal, &sa, NULL) < 0)
        return -errno;
    return 0;
}

static int vcpu_handle_mmio(struct vcpu *vcpu, struct kvm_run *run)
{
    uint32_t len = run->mmio.len;

    if (len == 0 || len > sizeof(run->mmio.data))
        return 0;
    bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
               run->mmio.is_write);
    return 0;
}

static void vcpu_crash(struct vcpu *vcpu, const char *what, int with_code)
{
    struct vm *vm = vcpu->vm;

    /* One fixed prefix for every crash, which scripts match on. */
    vm_log(vm, VMRUN_LOG_ERROR, "vcpu%u: guest crash: %s", vcpu->index, what);
    arch_vcpu_dump(vcpu, with_code);
    vcpu_crashdump_note(vcpu, what);
    vm_request_exit(vm, VMRUN_EXIT_CRASH, VMRUN_STATUS_CRASH);
}

static void vcpu_internal_error(struct vcpu *vcpu, struct kvm_run *run)
{
    char what[96];

    snprintf(what, sizeof(what), "KVM internal error, suberror %u%s",
             run->internal.suberror,
             run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                 ? " (instruction emulation failed)"
                 : "");
    vcpu_crash(vcpu, what, 1);
}

static void vcpu_system_event(struct vcpu *vcpu, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_request_exit(vcpu->vm, VMRUN_EXIT_POWEROFF, 0);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        vm_request_exit(vcpu->vm, VMRUN_EXIT_REBOOT, 0);
        break;
    default: {
        char what[48];

        snprintf(what, sizeof(what), "system event %u (%s)",
                 run->system_event.type,
                 run->system_event.type == KVM_SYSTEM_EVENT_CRASH ? "crash"
                                                                  : "unknown");
        vcpu_crash(vcpu, what, 0);
        break;
    }
    }
}

/* One exit; returns nonzero when this vCPU must stop. */
static int vcpu_handle_exit(struct vcpu *vcpu, struct kvm_run *run)
{
    char what[64];

    metrics_add(&vcpu->metrics.exits[metrics_exit_kind(run->exit_reason)], 1);
    switch (run->exit_reason) {
    case KVM_EXIT_MMIO:
        return vcpu_handle_mmio(vcpu, run);
    case KVM_EXIT_HLT:
    case KVM_EXIT_INTR:
        return 0;
    case KVM_EXIT_SHUTDOWN:
        vcpu_crash(vcpu, "triple fault (KVM_EXIT_SHUTDOWN)", 0);
        return 1;
    case KVM_EXIT_INTERNAL_ERROR:
        vcpu_internal_error(vcpu, run);
        return 1;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(
            what, sizeof(what), "VM entry failed, reason 0x%llx",
            (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_crash(vcpu, what, 0);
        return 1;
    case KVM_EXIT_SYSTEM_EVENT:
        vcpu_system_event(vcpu, run);
        return 1;
    default:
        if (arch_vcpu_handle_exit(vcpu, run) == 0)
            return 0;
        snprintf(what, sizeof(what), "unhandled exit reason %u",
                 run->exit_reason);
        vcpu_crash(vcpu, what, 0);
        return 1;
    }
}

/* KVM_RUN, timed for the metrics (two vDSO clock reads per exit, which
 * costs far less than the exit itself).  errno is KVM_RUN's. */
static int vcpu_run(struct vcpu *vcpu)
{
    uint64_t t0 = metrics_now_ns();
    int ret = ioctl(vcpu->fd, KVM_RUN, 0), err = errno;

    metrics_add(&vcpu->metrics.run_ns, metrics_now_ns() - t0);
    errno = err;
    return ret;
}

/* An MMIO or PIO read that exited to us completes (its data lands in the
 * guest's register) only when KVM_RUN is entered again: do that with
 * immediate_exit before parking, so a paused vCPU's state is whole and can
 * be saved (api.rst, KVM_RUN / immediate_exit).  Completing one exit may
 * start the next one of the same instruction: the next fragment of an
 * MMIO access KVM splits (wider than 8 bytes, or across a page), or the
 * next access of an emulated instruction.  KVM_RUN then returns 0 with
 * that exit, which is handled like any other before entering again; only
 * -EINTR/-EAGAIN mean nothing is left half done (vcpu_park_next()).
 * Nonzero when the vCPU must stop (an exit handled here ended the VM). */
static int vcpu_complete_io(struct vcpu *vcpu)
{
    int stop = 0;

    vcpu->run->immediate_exit = 1;
    for (;;) {
        int ret = vcpu_run(vcpu), err = errno;
        enum vcpu_park_step step = vcpu_park_next(ret, err);

        if (step == VCPU_PARK_EXIT) {
            stop = vcpu_handle_exit(vcpu, vcpu->run);
            if (!stop)
                continue;
        } else if (step == VCPU_PARK_ERROR) {
            /* The loop meets the same error once resumed, and says so. */
            vm_log(vcpu->vm, VMRUN_LOG_DEBUG, "vcpu%u: KVM_RUN to park: %s",
                   vcpu->index, strerror(err));
        }
        break;
    }
    vcpu->run->immediate_exit = 0;
    return stop;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, vm->kick_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (sandbox_enter(vm->seccomp,
                      vm->cfg->crash_dump_path ? SANDBOX_ROLE_VCPU_DUMP
                                               : SANDBOX_ROLE_VCPU,
                      vcpu->fd, vm->crash_dir_fd, &vm->log) < 0)
        vm_request_exit(vm, VMRUN_EXIT_ERROR, VMRUN_STATUS_ERROR);
    while (!vm_exit_requested(vm)) {
        if (atomic_load(&vm->pause_requested)) {
            if (vcpu_complete_io(vcpu))
                break;
            vm_vcpu_park(vm);
            continue;
        }
        if (vcpu_run(vcpu) < 0) {
            int err = errno;

            if (err == EINTR || err == EAGAIN) {
                metrics_add(&vcpu->metrics.exits[METRICS_EXIT_INTR], 1);
                vcpu->run->immediate_exit = 0;
                continue;
            }
            vm_log(vm, VMRUN_LOG_ERROR, "vcpu%u: KVM_RUN: %s", vcpu->index,
                   strerror(err));
            vm_request_exit(vm, VMRUN_EXIT_ERROR, VMRUN_STATUS_ERROR);
            break;
        }
        if (vcpu_handle_exit(vcpu, vcpu->run))
            break;
    }
    vcpu_crashdump_stop(vcpu);
    vm_vcpu_gone(vm);
    return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
    sigset_t all, old;
    int ret;

    /* The thread inherits this mask: only the kick signal gets through,
     * so SIGINT and friends reach the embedder's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret)
        return -ret;
    vcpu->started = true;
    return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
    if (!vcpu->started)
        return;
    /* immediate_exit covers a kick that lands before the thread re-enters
     * KVM_RUN; the signal covers one already inside it. */
    vcpu->run->immediate_exit = 1;
    pthread_kill(vcpu->thread, vcpu->vm->kick_signal);
}

void vcpu_join(struct vcpu *vcpu)
{
    if (!vcpu->started)
        return;
    pthread_join(vcpu->thread, NULL);
    vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, vcpu->vm->run_size);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    vcpu->run = NULL;
    vcpu->fd = -1;
}
