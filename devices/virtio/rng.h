/* rng.h - virtio-rng (virtio 1.2 §5.4): an entropy source for the guest
 * (Firecracker's "entropy" section), filled from the host's getrandom().
 *
 * One request queue of VIRTIO_RNG_QUEUE_SIZE.  Each device-writable buffer
 * is filled in place, at most VIRTIO_RNG_MAX_REQ bytes per chain (the used
 * length says how many: §5.4.6.1 lets the device return fewer bytes than
 * the buffer holds), so a guest cannot make vmrun allocate or block in
 * proportion to the lengths it posts.  Device-readable parts of a chain
 * are ignored; a malformed ring sets DEVICE_NEEDS_RESET.  One kick is
 * served VIRTIO_RNG_BUDGET chains at a time, other devices in between. */
#ifndef VMRUN_VIRTIO_RNG_H
#define VMRUN_VIRTIO_RNG_H

#include <stdint.h>

#include "core/memory.h"

struct dev_env;
struct snap_buf;
struct snap_rd;
struct virtio_rng;

#define VIRTIO_RNG_QUEUE_SIZE 64
#define VIRTIO_RNG_MAX_REQ (64U << 10) /* bytes per request */
/* Chains served per event-loop turn (so at most 1 MiB of getrandom()),
 * then the device yields and resumes on a later turn. */
#define VIRTIO_RNG_BUDGET 16

/* Registers a virtio-mmio device at [base, base + 4 KiB) with GSI (irq).
 * Call after the irqchip and the event loop exist, before the vCPUs
 * start. */
int virtio_rng_create(const struct dev_env *env, gpa_t base, uint32_t irq,
                      struct virtio_rng **out)
    __attribute__((warn_unused_result));

/* Frees.  Call after the vCPUs and the event loop have stopped, before
 * guest RAM is unmapped.  NULL is a no-op. */
void virtio_rng_destroy(struct virtio_rng *rng);

/* Bytes of entropy handed to the guest so far (for tests and metrics). */
uint64_t virtio_rng_bytes(struct virtio_rng *rng);

/* The VM's entry points into this device (dev_env.h).  Snapshots (see
 * virtio_mmio_save()): the transport and its queues.  Call on a
 * stopped VM. */
struct device_ops;
extern const struct device_ops virtio_rng_device_ops;

#endif
