/* mmio.h - the virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): one
 * 4 KiB register window and one interrupt per device.
 *
 * Threads: register accesses come from vCPU threads and are serialised by
 * the transport's lock.  Queue kicks arrive as ioeventfds watched on
 * env->loop and reach the device's queue_notify op on the
 * event-loop thread.  Interrupts leave through an irqfd. */
#ifndef VMRUN_VIRTIO_MMIO_H
#define VMRUN_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/memory.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"

struct dev_env;
struct virtio_mmio;
struct snap_buf;
struct snap_rd;

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_VENDOR_ID 0x4e524d56 /* "VMRN" */

/* Register offsets (§4.2.2). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

/* Registers [base, base + VIRTIO_MMIO_SIZE) on env->mmio, creates an
 * irqfd for GSI (irq) and one ioeventfd per queue (watched on
 * env->loop).  (ops) and (dev) must outlive the transport; (ops)
 * is never written.  Call before the vCPUs start; -errno on failure with
 * nothing left registered. */
int virtio_mmio_create(const struct dev_env *env, gpa_t base, uint32_t irq,
                       const struct virtio_device_ops *ops, void *dev,
                       struct virtio_mmio **out)
    __attribute__((warn_unused_result));

/* Unbinds the eventfds and frees.  Call after the vCPUs and the event
 * loop have stopped.  The bus range stays registered (buses cannot
 * unregister); it must not be accessed afterwards.  NULL is a no-op. */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Queue (q) of the device, or NULL if q >= num_queues.  The device may
 * pop/push it between its activate and reset ops, under its own lock. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t q);

/* Raises the used-buffer interrupt (InterruptStatus bit 0 + irqfd).
 * Lock-free; any thread. */
void virtio_mmio_signal_used(struct virtio_mmio *t);

/* The same, but no new interrupt while the driver has not yet acknowledged
 * an earlier used-buffer interrupt (InterruptStatus bit 0 still set): its
 * handler reads the status, acknowledges, and only then looks at every
 * used ring, so it will see these buffers too.  That is what a
 * level-triggered line gives (QEMU's virtio-mmio); on vmrun's edge-
 * triggered GSI it saves an injection and two register exits per
 * coalesced notification.  A bit left set with no acknowledgement (an
 * edge the guest never got) is signalled again by a timer on
 * env->loop that ticks every VIRTIO_MMIO_ISR_GUARD_NS while
 * interrupts come: a bit set at two ticks with no acknowledgement between
 * is.  This call reads no clock; it starts the timer when it is stopped.
 * Lock-free; any thread. */
void virtio_mmio_signal_used_coalesced(struct virtio_mmio *t);

/* The period of the coalesced-interrupt guard's timer: an unacknowledged
 * used-buffer interrupt is signalled again after one to two periods
 * (100 ms, CLOCK_MONOTONIC). */
#define VIRTIO_MMIO_ISR_GUARD_NS 100000000ULL

/* Bumps ConfigGeneration and raises the configuration-change interrupt.
 * Any thread. */
void virtio_mmio_signal_config(struct virtio_mmio *t);

/* The device stopped serving queue (q) early, at the end of its per-call
 * budget: the event loop calls its queue_notify(q) again on a later turn,
 * after the other ready sources (unless DRIVER_OK is gone by then), so one
 * busy queue cannot monopolise the loop.  Any thread, lock-free. */
void virtio_mmio_notify_again(struct virtio_mmio *t, uint16_t q);

/* Sets DEVICE_NEEDS_RESET (§2.1.2) after the device met a malformed queue;
 * with DRIVER_OK also raises the configuration-change interrupt.  Any
 * thread, lock-free. */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);

/* Snapshots: status, features both ways, selectors, interrupt status,
 * config generation and every queue.  Call on a stopped VM (vCPUs parked,
 * event loop stopped) after the device finished its in-flight requests.
 * Saving also marks each ready queue's used ring dirty (the device writes
 * it through a pointer taken at enable time, which dirty tracking cannot
 * see).  virtio_mmio_load() checks everything against this transport's
 * device (same type, queue count, offered features), re-activates a device
 * that had DRIVER_OK, and re-signals a pending interrupt and every ready
 * queue so nothing in flight at save time waits forever.  -EINVAL on a
 * state that does not fit. */
int virtio_mmio_save(struct virtio_mmio *t, struct snap_buf *b)
    __attribute__((warn_unused_result));
int virtio_mmio_load(struct virtio_mmio *t, struct snap_rd *r)
    __attribute__((warn_unused_result));

/* The GSI given at creation; for ACPI/DT descriptions. */
uint32_t virtio_mmio_irq(const struct virtio_mmio *t);

#endif
