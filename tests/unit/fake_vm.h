/* fake_vm.h - a struct vm for unit tests: RAM is a malloc'd buffer, IRQ
 * lines and irqfd/ioeventfd bindings are recorded, no KVM. */
#ifndef VMRUN_FAKE_VM_H
#define VMRUN_FAKE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmdev.h"

#define FAKE_VM_MAX_IRQ 32

struct vm {
    struct logger log;
    struct guest_mem mem;
    struct bus pio, mmio;
    struct event_loop *loop; /* created but not started */
    uint8_t *ram;
    uint64_t ram_size;
    int irq_level[FAKE_VM_MAX_IRQ];  /* last level set per GSI */
    int irq_raises[FAKE_VM_MAX_IRQ]; /* 0->1 transitions seen */
    int irqfd[FAKE_VM_MAX_IRQ];      /* bound eventfd per GSI or -1 */
    bool exit_requested;
    enum vmrun_exit_reason exit_reason;
    int exit_status;
    unsigned int log_lines; /* messages logged at WARN or worse */
};

/* A VM with (ram_size) bytes of zeroed RAM at guest address (ram_base). */
struct vm *fake_vm_create(uint64_t ram_base, uint64_t ram_size);
void fake_vm_destroy(struct vm *vm);

#endif
