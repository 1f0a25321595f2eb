/* arch.h - the hooks generic code calls into the architecture folder.
 * src/arch/x86/ implements them (meson.build lists its files); nothing
 * here is x86. */
#ifndef VMRUN_ARCH_H
#define VMRUN_ARCH_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct snap_buf;
struct snap_rd;
struct vcpu;
struct kvm_run;

/* Marks the architecture's host fds as not open, before anything of the
 * VM is built (the teardown closes only those that are). */
void arch_vm_init_fds(struct vm *vm);

/* After KVM_CREATE_VM and guest RAM: irqchip, timers, per-VM setup. */
int arch_vm_init(struct vm *vm) __attribute__((warn_unused_result));

/* Builds the platform devices the architecture always has (UART, reset,
 * ...).  Called after arch_vm_init(), before the configured devices. */
int arch_vm_create_devices(struct vm *vm) __attribute__((warn_unused_result));
void arch_vm_destroy_devices(struct vm *vm);

/* Asks the guest to reboot the way its keyboard would (Ctrl+Alt+Del on
 * x86's i8042); -EINVAL if this machine has no such device. */
int arch_send_ctrl_alt_del(struct vm *vm) __attribute__((warn_unused_result));

/* Describes a memory-mapped device to the guest's firmware tables (the
 * DSDT on x86): (hid) e.g. "LNRO0005" for virtio-mmio, its window and its
 * interrupt (-1: none).  (hid) must outlive the VM.  Call before
 * arch_load_kernel(). */
int arch_add_mmio_device(struct vm *vm, const char *hid, uint64_t base,
                         uint32_t len, int irq)
    __attribute__((warn_unused_result));

/* Hands out the next virtio-mmio window and interrupt and describes them
 * to the guest (a "LNRO0005" device in the DSDT on x86).  -ENOSPC when the
 * machine has no more.  Call before arch_load_kernel(). */
int arch_alloc_virtio_mmio(struct vm *vm, uint64_t *base, uint32_t *len,
                           uint32_t *irq) __attribute__((warn_unused_result));

/* Loads the kernel and initrd from the open vm->kernel_fd and
 * vm->initrd_fd (-1: none; the caller closes both) and the command line,
 * builds the firmware tables (ACPI, e820) and records the entry state for
 * arch_vcpu_init().  It opens nothing: it may run after the caller gave
 * up its privileges. */
int arch_load_kernel(struct vm *vm) __attribute__((warn_unused_result));

/* After KVM_CREATE_VCPU: CPUID, MSRs, LAPIC, FPU and, for the boot CPU,
 * the entry registers. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
    __attribute__((warn_unused_result));

/* Handles an exit the generic loop does not know (I/O ports on x86).
 * Returns 0 to continue, -errno to stop the VM. */
int arch_vcpu_handle_exit(struct vcpu *vcpu, struct kvm_run *run);

/* Snapshots (src/snapshot.c).  The host CPU a snapshot must be restored
 * on: "vendor family F model M" into (buf). */
void arch_host_cpu(char *buf, size_t len);

/* Appends / loads one vCPU's whole state.  Save on a paused VM; load after
 * arch_vcpu_init(), before the vCPU first runs. */
int arch_snapshot_save_vcpu(struct vcpu *vcpu, struct snap_buf *b)
    __attribute__((warn_unused_result));
int arch_snapshot_load_vcpu(struct vcpu *vcpu, struct snap_rd *r)
    __attribute__((warn_unused_result));

/* The VM-wide state: interrupt controllers, timers, clock and the
 * platform devices of arch_vm_create_devices().  Load after every vCPU's
 * state. */
int arch_snapshot_save_vm(struct vm *vm, struct snap_buf *b)
    __attribute__((warn_unused_result));
int arch_snapshot_load_vm(struct vm *vm, struct snap_rd *r)
    __attribute__((warn_unused_result));

/* Logs the registers and, when (with_code), the bytes at the instruction
 * pointer: the post-mortem of a crashed guest. */
void arch_vcpu_dump(struct vcpu *vcpu, int with_code);

/* The general registers of a vCPU that does not run, for a crash dump, in
 * crashdump.h's order (enum crashdump_greg, (gregs)[CRASHDUMP_NR_GREGS]).
 * Returns 0, 1 when they are the CPU's reset values (a vCPU that never
 * started, or one KVM reset: KVM on AMD does when the guest shuts down, so
 * the faulting state is lost), or the -errno of the register read. */
int arch_vcpu_crash_regs(struct vcpu *vcpu, uint64_t *gregs)
    __attribute__((warn_unused_result));

#endif
