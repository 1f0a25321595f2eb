/* fake_vm.c - the device-facing VM API of vmdev.h without KVM, for tests. */
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"

static void fake_log(void *opaque, enum vmrun_log_level level, const char *msg)
{
    struct vm *vm = opaque;

    (void)msg;
    if (level <= VMRUN_LOG_WARN)
        vm->log_lines++;
}

struct vm *fake_vm_create(uint64_t ram_base, uint64_t ram_size)
{
    struct vm *vm = calloc(1, sizeof(*vm));

    if (!vm)
        return NULL;
    vm->log = (struct logger){fake_log, vm, VMRUN_LOG_DEBUG, false};
    vm->ram = calloc(1, ram_size);
    vm->ram_size = ram_size;
    if (!vm->ram || gmem_add(&vm->mem, ram_base, ram_size, vm->ram) < 0 ||
        event_loop_create(&vm->log, &vm->loop) < 0) {
        free(vm->ram);
        free(vm);
        return NULL;
    }
    bus_init(&vm->pio, "pio", &vm->log);
    bus_init(&vm->mmio, "mmio", &vm->log);
    for (int i = 0; i < FAKE_VM_MAX_IRQ; i++)
        vm->irqfd[i] = -1;
    return vm;
}

void fake_vm_destroy(struct vm *vm)
{
    event_loop_destroy(vm->loop);
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    free(vm->ram);
    free(vm);
}

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
    if (gsi >= FAKE_VM_MAX_IRQ)
        return -22;
    if (level && !vm->irq_level[gsi])
        vm->irq_raises[gsi]++;
    vm->irq_level[gsi] = level;
    return 0;
}

int vm_irqfd(struct vm *vm, uint32_t gsi, int fd, bool assign)
{
    if (gsi >= FAKE_VM_MAX_IRQ)
        return -22;
    vm->irqfd[gsi] = assign ? fd : -1;
    return 0;
}

int vm_ioeventfd(struct vm *vm, gpa_t addr, uint32_t len, bool match,
                 uint64_t datamatch, int fd, bool assign)
{
    (void)vm, (void)addr, (void)len, (void)match, (void)datamatch;
    (void)fd, (void)assign;
    return 0;
}

void vm_request_exit(struct vm *vm, enum vmrun_exit_reason reason, int status)
{
    if (vm->exit_requested)
        return;
    vm->exit_requested = true;
    vm->exit_reason = reason;
    vm->exit_status = status;
}
