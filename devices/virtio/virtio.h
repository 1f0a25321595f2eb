/* virtio.h - what every virtio device model shares with its transport:
 * status and feature bits (virtio 1.2 §2.1, §6) and the const ops table a
 * device hands to the transport. */
#ifndef VMRUN_VIRTIO_H
#define VMRUN_VIRTIO_H

#include <stdint.h>

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Reserved feature bits (§6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_BIT(n) (1ULL << (n))

/* Device IDs (§5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* What a device model gives its transport.  The table is the device's
 * `static const`; the transport only reads it.  features, activate and
 * reset are called from a vCPU thread with the transport's register lock
 * held (features also once at creation); config_read/config_write from
 * vCPU threads without it; queue_notify from the event-loop thread without
 * it.  So devices keep their own lock for queue processing, and take it
 * after the transport's (the one lock order). */
struct virtio_device_ops {
    uint32_t device_id;  /* VIRTIO_ID_* */
    uint16_t num_queues; /* 1..VIRTIO_MMIO_MAX_QUEUES */
    uint16_t queue_max;  /* QueueNumMax: power of two, <= 32768 */
    uint32_t config_len; /* bytes of device config space */

    /* Device-specific feature bits (the transport adds VERSION_1, INDIRECT
     * and EVENT_IDX, which it and queue.c implement for every device). */
    uint64_t (*features)(void *dev);

    /* Config space access: (offset + size) <= config_len, size 1..8,
     * little-endian in (data).  config_write may be NULL (read-only). */
    void (*config_read)(void *dev, uint32_t offset, uint8_t *data,
                        uint32_t size);
    void (*config_write)(void *dev, uint32_t offset, const uint8_t *data,
                         uint32_t size);

    /* DRIVER_OK was set: (features) are final, every queue the driver
     * readied is enabled.  From here the device may process its queues.
     * A negative return makes the transport set DEVICE_NEEDS_RESET. */
    int (*activate)(void *dev, uint64_t features);

    /* The driver kicked queue (q) (ioeventfd).  Event-loop thread; called
     * only between activate and reset, but the device must check its own
     * "active" state under its lock because a reset may race. */
    void (*queue_notify)(void *dev, uint16_t q);

    /* Driver reset (Status = 0, §2.4): stop processing, wait for or cancel
     * every in-flight request without touching the rings again, and go
     * back to the pre-activate state.  When this returns the transport
     * forgets the queues. */
    void (*reset)(void *dev);

    /* The driver acknowledged a used-buffer interrupt (InterruptStatus
     * write with bit 0).  vCPU thread, without the transport's lock; must
     * not block (every acknowledgement goes through it); may be NULL. */
    void (*used_irq_ack)(void *dev);
};

#endif
