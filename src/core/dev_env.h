/* dev_env.h - everything a device model may use of the machine it sits in.
 *
 * A device gets a (const struct dev_env *) when it is created and keeps it
 * for its life: the logger, guest RAM, the two buses, the event loop, and
 * the interrupt and exit hooks of irq_ops.  Devices include this header
 * (with the core headers it names), never the VMM's: the VM fills one
 * dev_env from KVM (src/vm.c), unit tests fill one from a malloc'd buffer
 * (tests/unit/fake_env.c). */
#ifndef VMRUN_DEV_ENV_H
#define VMRUN_DEV_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/event_loop.h"
#include "core/log.h"
#include "core/memory.h"
#include "vmrun.h"

/* The hooks a device uses to reach the CPUs.  (ctx) is dev_env.ctx.  The
 * int functions return 0 or -errno. */
struct irq_ops {
    /* Sets interrupt line (gsi) to (level) on the irqchip. */
    int (*set_line)(void *ctx, uint32_t gsi, int level);
    /* Binds eventfd (fd) so that a write to it pulses (gsi) (edge); unbinds
     * it when (assign) is false. */
    int (*irqfd)(void *ctx, uint32_t gsi, int fd, bool assign);
    /* Binds eventfd (fd) to guest MMIO writes of (len) bytes at (addr),
     * only those writing (datamatch) when (match).  The write then never
     * exits to userspace: (fd) is signalled instead. */
    int (*ioeventfd)(void *ctx, gpa_t addr, uint32_t len, bool match,
                     uint64_t datamatch, int fd, bool assign);
    /* Ends the VM with (reason, status).  Thread-safe and async-signal-safe;
     * the first request wins. */
    void (*request_exit)(void *ctx, enum vmrun_exit_reason reason, int status);
};

struct dev_env {
    const struct logger *log;
    const struct guest_mem *mem; /* every guest pointer goes through it */
    struct bus *pio, *mmio;
    struct event_loop *loop;
    const struct irq_ops *irq;
    void *ctx; /* the first argument of every irq_ops function */
};

struct snap_buf;
struct snap_rd;
struct metrics_devices;

/* One device model's entry points for the VM: each device has one static
 * const table, and the VM keeps a list of (ops, device, id) in creation
 * order, which is the order of the snapshot's device sections.  (dev) is
 * the device the model's create function returned.  Every member is
 * required but metrics, NULL for a device without counters. */
struct device_ops {
    const char *name; /* the model, for log lines: "virtio-blk" */
    /* Appends the device's state to (b) / restores it from (r) (0 or
     * -errno; see virtio_mmio_save()).  Called on a stopped VM. */
    int (*save)(void *dev, struct snap_buf *b);
    int (*load)(void *dev, struct snap_rd *r);
    /* Adds the device's counters to (out) under (id) (src/core/metrics.h).
     * Any thread. */
    void (*metrics)(void *dev, const char *id, struct metrics_devices *out);
    /* Frees the device.  Called after the vCPUs and the event loop
     * stopped, before guest RAM is unmapped, in reverse creation order. */
    void (*destroy)(void *dev);
};

#define dev_log(env, level, ...) log_msg((env)->log, (level), __VA_ARGS__)

/* Host address of guest range [gpa, gpa + len) if it lies wholly in one RAM
 * region, else NULL. */
static inline void *dev_gpa_ptr(const struct dev_env *env, gpa_t gpa,
                                uint64_t len)
{
    return gmem_ptr(env->mem, gpa, len);
}

static inline __attribute__((warn_unused_result)) int
dev_irq_line(const struct dev_env *env, uint32_t gsi, int level)
{
    return env->irq->set_line(env->ctx, gsi, level);
}

static inline __attribute__((warn_unused_result)) int
dev_irqfd(const struct dev_env *env, uint32_t gsi, int fd, bool assign)
{
    return env->irq->irqfd(env->ctx, gsi, fd, assign);
}

static inline __attribute__((warn_unused_result)) int
dev_ioeventfd(const struct dev_env *env, gpa_t addr, uint32_t len, bool match,
              uint64_t datamatch, int fd, bool assign)
{
    return env->irq->ioeventfd(env->ctx, addr, len, match, datamatch, fd,
                               assign);
}

static inline void dev_request_exit(const struct dev_env *env,
                                    enum vmrun_exit_reason reason, int status)
{
    env->irq->request_exit(env->ctx, reason, status);
}

#endif
