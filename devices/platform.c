/* platform.c - debug-exit, pvpanic and ACPI sleep/reset registers. */
#include <errno.h>
#include <stdlib.h>

#include "devices/platform.h"
#include "core/dev_env.h"

#define PLATFORM_PAGE 0x1000

struct platform {
    const struct dev_env *env;
    struct platform_config cfg;
    struct log_ratelimit pvpanic_rl; /* a guest may write it in a loop */
};

static void debug_exit_write(void *opaque, uint64_t off, const uint8_t *data,
                             uint32_t size)
{
    struct platform *p = opaque;

    if (off != 0)
        return;
    dev_log(p->env, VMRUN_LOG_INFO, "guest wrote %u to the debug-exit register",
            data[0]);
    dev_request_exit(p->env, VMRUN_EXIT_DEBUG, data[0]);
}

static const struct bus_ops debug_exit_ops = {
    .write = debug_exit_write,
};

static void pvpanic_read(void *opaque, uint64_t off, uint8_t *data,
                         uint32_t size)
{
    for (uint32_t i = 0; i < size; i++)
        data[i] = 0;
    if (off == 0)
        data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *opaque, uint64_t off, const uint8_t *data,
                          uint32_t size)
{
    struct platform *p = opaque;

    if (off != 0 || !(data[0] & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)))
        return;
    /* One line per event, but a guest writing in a loop (every vCPU until
     * the exit below stops them; CRASH_LOADED forever) must not flood the
     * host's log: a few lines, then one in 4096. */
    if (data[0] & PVPANIC_PANICKED) {
        if (log_ratelimit_ok(&p->pvpanic_rl, 4))
            dev_log(p->env, VMRUN_LOG_ERROR, "guest kernel panicked (pvpanic)");
        dev_request_exit(p->env, VMRUN_EXIT_PANIC, VMRUN_STATUS_PANIC);
    } else if (log_ratelimit_ok(&p->pvpanic_rl, 4)) {
        dev_log(p->env, VMRUN_LOG_WARN,
                "guest kernel crashed and loads a crash kernel (pvpanic)");
    }
}

static const struct bus_ops pvpanic_ops = {
    .read = pvpanic_read,
    .write = pvpanic_write,
};

static void acpi_regs_read(void *opaque, uint64_t off, uint8_t *data,
                           uint32_t size)
{
    /* Sleep status reads 0 (not waking); the others read 0 too. */
    for (uint32_t i = 0; i < size; i++)
        data[i] = 0;
}

static void acpi_regs_write(void *opaque, uint64_t off, const uint8_t *data,
                            uint32_t size)
{
    struct platform *p = opaque;
    uint8_t v = data[0];

    if (off == 0 && (v & ACPI_SLP_EN) &&
        ((v >> ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK) == p->cfg.s5_slp_typ) {
        dev_log(p->env, VMRUN_LOG_INFO, "guest powered off (ACPI S5)");
        dev_request_exit(p->env, VMRUN_EXIT_POWEROFF, 0);
    } else if (off == 2 && v == p->cfg.reset_value) {
        dev_log(p->env, VMRUN_LOG_INFO, "guest rebooted (ACPI reset register)");
        dev_request_exit(p->env, VMRUN_EXIT_REBOOT, 0);
    }
}

static const struct bus_ops acpi_regs_ops = {
    .read = acpi_regs_read,
    .write = acpi_regs_write,
};

static void sink_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++)
        data[i] = 0xff;
}

static const struct bus_ops sink_ops = {
    .read = sink_read,
};

static int platform_register(struct platform *p)
{
    struct bus *mmio = p->env->mmio, *pio = p->env->pio;
    const struct platform_config *c = &p->cfg;
    int ret;

    ret = bus_register(mmio, c->debug_exit_mmio, PLATFORM_PAGE, &debug_exit_ops,
                       p);
    if (ret == 0 && c->debug_exit_port)
        ret = bus_register(pio, c->debug_exit_port, 1, &debug_exit_ops, p);
    if (ret == 0)
        ret =
            bus_register(mmio, c->pvpanic_mmio, PLATFORM_PAGE, &pvpanic_ops, p);
    if (ret == 0)
        ret =
            bus_register(mmio, c->acpi_regs, PLATFORM_PAGE, &acpi_regs_ops, p);
    if (ret == 0 && c->sink_port)
        ret = bus_register(pio, c->sink_port, 1, &sink_ops, p);
    return ret;
}

int platform_create(const struct dev_env *env,
                    const struct platform_config *cfg, struct platform **out)
{
    struct platform *p = calloc(1, sizeof(*p));
    int ret;

    if (!p)
        return -ENOMEM;
    p->env = env;
    p->cfg = *cfg;
    ret = platform_register(p);
    if (ret < 0) {
        free(p);
        return ret;
    }
    *out = p;
    return 0;
}

void platform_destroy(struct platform *p)
{
    free(p);
}
