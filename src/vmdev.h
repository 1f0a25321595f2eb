/* vmdev.h - what a device model may ask of its VM.
 *
 * Devices include only this header (plus bus.h, event_loop.h, memory.h,
 * log.h), never vm.h, so unit tests can link them against a fake VM
 * (tests/unit/fake_vm.c) whose RAM is a malloc'd buffer. */
#ifndef VMRUN_VMDEV_H
#define VMRUN_VMDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "event_loop.h"
#include "log.h"
#include "memory.h"
#include "vmrun.h"

struct vm;

/* Host address of guest range [gpa, gpa + len) if it lies wholly in one RAM
 * region, else NULL.  Every guest pointer goes through this. */
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

/* Binds eventfd (fd) to guest MMIO writes of (len) bytes at (addr), only
 * those writing (datamatch) when (match).  The write then never exits to
 * userspace: KVM signals (fd) instead. */
int vm_ioeventfd(struct vm *vm, gpa_t addr, uint32_t len, bool match,
                 uint64_t datamatch, int fd, bool assign)
    __attribute__((warn_unused_result));

/* Ends the VM: the vCPUs stop and vmrun_run() returns (reason, status).
 * Thread-safe; the first request wins. */
void vm_request_exit(struct vm *vm, enum vmrun_exit_reason reason, int status);

#endif
