/* fake_env.c - the dev_env of fake_env.h, without KVM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_env.h"

static void fake_log(void *opaque, enum vmrun_log_level level, const char *msg)
{
    struct fake_env *fe = opaque;

    (void)msg;
    if (level <= VMRUN_LOG_WARN)
        fe->log_lines++;
}

static int fake_set_line(void *ctx, uint32_t gsi, int level)
{
    struct fake_env *fe = ctx;

    if (gsi >= FAKE_ENV_MAX_IRQ)
        return -EINVAL;
    if (level && !fe->irq_level[gsi])
        fe->irq_raises[gsi]++;
    fe->irq_level[gsi] = level;
    return 0;
}

static int fake_irqfd(void *ctx, uint32_t gsi, int fd, bool assign)
{
    struct fake_env *fe = ctx;

    if (gsi >= FAKE_ENV_MAX_IRQ)
        return -EINVAL;
    fe->irqfd[gsi] = assign ? fd : -1;
    return 0;
}

static int fake_ioeventfd(void *ctx, gpa_t addr, uint32_t len, bool match,
                          uint64_t datamatch, int fd, bool assign)
{
    (void)ctx, (void)addr, (void)len, (void)match, (void)datamatch;
    (void)fd, (void)assign;
    return 0;
}

static void fake_request_exit(void *ctx, enum vmrun_exit_reason reason,
                              int status)
{
    struct fake_env *fe = ctx;

    if (fe->exit_requested)
        return;
    fe->exit_requested = true;
    fe->exit_reason = reason;
    fe->exit_status = status;
}

static const struct irq_ops fake_irq_ops = {
    .set_line = fake_set_line,
    .irqfd = fake_irqfd,
    .ioeventfd = fake_ioeventfd,
    .request_exit = fake_request_exit,
};

struct fake_env *fake_env_create(uint64_t ram_base, uint64_t ram_size)
{
    struct fake_env *fe = calloc(1, sizeof(*fe));

    if (!fe)
        return NULL;
    fe->log = (struct logger){fake_log, fe, VMRUN_LOG_DEBUG, false};
    fe->ram = calloc(1, ram_size);
    fe->ram_size = ram_size;
    if (!fe->ram || gmem_add(&fe->mem, ram_base, ram_size, fe->ram) < 0 ||
        event_loop_create(&fe->log, &fe->loop) < 0) {
        free(fe->ram);
        free(fe);
        return NULL;
    }
    bus_init(&fe->pio, "pio", &fe->log);
    bus_init(&fe->mmio, "mmio", &fe->log);
    for (int i = 0; i < FAKE_ENV_MAX_IRQ; i++)
        fe->irqfd[i] = -1;
    fe->env = (struct dev_env){&fe->log, &fe->mem,      &fe->pio, &fe->mmio,
                               fe->loop, &fake_irq_ops, fe};
    return fe;
}

void fake_env_destroy(struct fake_env *fe)
{
    event_loop_destroy(fe->loop);
    bus_destroy(&fe->pio);
    bus_destroy(&fe->mmio);
    free(fe->ram);
    free(fe);
}
