/* fake_env.h - a device environment for unit tests and fuzz targets: RAM
 * is a malloc'd buffer, IRQ lines and irqfd bindings are recorded, exit
 * requests are kept, no KVM. */
#ifndef VMRUN_FAKE_ENV_H
#define VMRUN_FAKE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dev_env.h"

#define FAKE_ENV_MAX_IRQ 32

struct fake_env {
    struct dev_env env; /* what devices get: &fake->env */
    struct logger log;
    struct guest_mem mem;
    struct bus pio, mmio;
    struct event_loop *loop; /* created but not started */
    uint8_t *ram;
    uint64_t ram_size;
    int irq_level[FAKE_ENV_MAX_IRQ];  /* last level set per GSI */
    int irq_raises[FAKE_ENV_MAX_IRQ]; /* 0->1 transitions seen */
    int irqfd[FAKE_ENV_MAX_IRQ];      /* bound eventfd per GSI or -1 */
    bool exit_requested;
    enum vmrun_exit_reason exit_reason;
    int exit_status;
    unsigned int log_lines; /* messages logged at WARN or worse */
};

/* An environment with (ram_size) bytes of zeroed RAM at guest address
 * (ram_base). */
struct fake_env *fake_env_create(uint64_t ram_base, uint64_t ram_size);
void fake_env_destroy(struct fake_env *fe);

#endif
