/* virtio.h - a tiny virtio-mmio v2 driver for the freestanding test guests
 * (virtio 1.2 §4.2 transport, §2.7 split virtqueues).  Runs at CPL3: the
 * MMIO windows are user-mapped, so register accesses need no gate.
 *
 * It is deliberately a driver that can also misbehave: the rings are plain
 * memory the caller may scribble on (hostile-guest tests), and every wait
 * ends on a used buffer, on DEVICE_NEEDS_RESET or on a timeout, so a device
 * that hangs or breaks shows up as a failed check, not a stuck guest.
 *
 * Guest addresses equal guest-physical ones (identity map).  No
 * interrupts: completions are found by polling the used ring. */
#ifndef VMRUN_FW_VIRTIO_H
#define VMRUN_FW_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register offsets (§4.2.2). */
#define VIO_MAGIC 0x000
#define VIO_VERSION 0x004
#define VIO_DEVICE_ID 0x008
#define VIO_VENDOR 0x00c
#define VIO_DEVICE_FEATURES 0x010
#define VIO_DEVICE_FEATURES_SEL 0x014
#define VIO_DRIVER_FEATURES 0x020
#define VIO_DRIVER_FEATURES_SEL 0x024
#define VIO_QUEUE_SEL 0x030
#define VIO_QUEUE_NUM_MAX 0x034
#define VIO_QUEUE_NUM 0x038
#define VIO_QUEUE_READY 0x044
#define VIO_QUEUE_NOTIFY 0x050
#define VIO_INTERRUPT_STATUS 0x060
#define VIO_INTERRUPT_ACK 0x064
#define VIO_STATUS 0x070
#define VIO_QUEUE_DESC_LOW 0x080
#define VIO_QUEUE_DESC_HIGH 0x084
#define VIO_QUEUE_DRIVER_LOW 0x090
#define VIO_QUEUE_DRIVER_HIGH 0x094
#define VIO_QUEUE_DEVICE_LOW 0x0a0
#define VIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIO_CONFIG_GENERATION 0x0fc
#define VIO_CONFIG 0x100
#define VIO_WINDOW 0x1000

#define VIO_MAGIC_VALUE 0x74726976 /* "virt" */
#define VIO_INT_VRING 1
#define VIO_INT_CONFIG 2

/* Device status bits (§2.1). */
#define VIO_S_ACKNOWLEDGE 1
#define VIO_S_DRIVER 2
#define VIO_S_DRIVER_OK 4
#define VIO_S_FEATURES_OK 8
#define VIO_S_NEEDS_RESET 0x40
#define VIO_S_FAILED 0x80

/* Reserved feature bits (§6). */
#define VIO_F_INDIRECT_DESC 28
#define VIO_F_EVENT_IDX 29
#define VIO_F_VERSION_1 32
#define VIO_BIT(n) (1ULL << (n))

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_USED_F_NO_NOTIFY 1

/* One descriptor as it lies in guest memory (§2.7.5). */
struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* One buffer of a chain for vio_chain_set(): (flags) without NEXT. */
struct vio_seg {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
};

/* A device window. */
struct vio_dev {
    uint64_t base;     /* guest-physical base of the 4 KiB window */
    uint64_t offered;  /* DeviceFeatures, both halves */
    uint64_t features; /* what FEATURES_OK accepted */
};

/* One split virtqueue in guest memory.  desc/avail/used point into the
 * caller's area; avail_idx and last_used are the driver's private
 * indices. */
struct vio_vq {
    uint16_t index, size;
    volatile struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint8_t *used; /* flags, idx, ring[size] {id, len}, avail_event */
    uint16_t avail_idx;     /* next avail->idx to publish */
    uint16_t last_used;     /* next used->idx we have not consumed */
    bool event_idx;
};

/* What a wait ended with. */
enum vio_wait {
    VIO_WAIT_USED = 1,        /* a used element was consumed */
    VIO_WAIT_NEEDS_RESET = 2, /* the device set DEVICE_NEEDS_RESET */
    VIO_WAIT_TIMEOUT = 3,     /* neither within the time limit */
};

static inline uint32_t vio_read32(const struct vio_dev *d, uint32_t off)
{
    return *(volatile uint32_t *)(uintptr_t)(d->base + off);
}

static inline void vio_write32(const struct vio_dev *d, uint32_t off,
                               uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(d->base + off) = v;
}

static inline uint64_t vio_rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Bytes a queue of (size) needs in vio_vq_setup()'s area (4 KiB aligned
 * sections: descriptors, driver area, device area). */
uint64_t vio_vq_bytes(uint16_t size);

/* Checks magic, version 2 and (device_id) at (base); fills (d).  0 or a
 * negative number naming what did not match (-1 magic, -2 version, -3
 * device id). */
int vio_probe(struct vio_dev *d, uint64_t base, uint32_t device_id);

/* Reset, ACKNOWLEDGE, DRIVER, then offers (wanted) & DeviceFeatures and
 * sets FEATURES_OK.  0, or -1 if the device refused FEATURES_OK. */
int vio_negotiate(struct vio_dev *d, uint64_t wanted);

/* Writes (features) as DriverFeatures verbatim and sets FEATURES_OK;
 * returns the status read back (hostile tests: bits never offered). */
uint32_t vio_try_features(struct vio_dev *d, uint64_t features);

/* Zeroes (area) (vio_vq_bytes(size) bytes, 4 KiB aligned) and lays out
 * queue (index) of (size) entries there; nothing reaches the device. */
void vio_vq_layout(const struct vio_dev *d, struct vio_vq *vq, uint16_t index,
                   uint16_t size, void *area);

/* Hands the laid-out (vq) to the device with QueueNum = (num) (normally
 * vq->size; hostile tests pass others) and sets QueueReady.  0, or -1 if
 * QueueReady did not stick. */
int vio_vq_program(const struct vio_dev *d, const struct vio_vq *vq,
                   uint32_t num);

/* vio_vq_layout() then vio_vq_program() with (size); -1 also when
 * QueueNumMax is smaller than (size). */
int vio_vq_setup(struct vio_dev *d, struct vio_vq *vq, uint16_t index,
                 uint16_t size, void *area);

/* Sets DRIVER_OK; returns the status read back. */
uint32_t vio_driver_ok(struct vio_dev *d);

/* Status 0: the device forgets every queue (§2.4). */
void vio_reset(struct vio_dev *d);

/* Puts chain (head) in the next avail slot without publishing it. */
void vio_vq_add(struct vio_vq *vq, uint16_t head);

/* Publishes every chain added since the last call (avail->idx). */
void vio_vq_publish(struct vio_vq *vq);

/* Notifies the device if it asked for it (§2.7.13.4: avail_event with
 * EVENT_IDX, else the used ring's NO_NOTIFY flag), or always if (force).
 * (old) is avail->idx before the last publish. */
void vio_vq_kick(const struct vio_dev *d, const struct vio_vq *vq, uint16_t old,
                 bool force);

/* Consumes one used element if there is one: 1 with (id) and (len). */
int vio_vq_get_used(struct vio_vq *vq, uint32_t *id, uint32_t *len);

/* Polls the used ring (and every so often the status register) until a
 * used element arrives, DEVICE_NEEDS_RESET appears or (cycles) TSC cycles
 * pass. */
enum vio_wait vio_vq_wait(const struct vio_dev *d, struct vio_vq *vq,
                          uint64_t cycles, uint32_t *id, uint32_t *len);

/* used->idx as the device last wrote it. */
uint16_t vio_vq_used_idx(const struct vio_vq *vq);

/* Descriptor (i) of table (t), written field by field. */
void vio_desc_set(volatile struct vring_desc *t, uint16_t i, uint64_t a,
                  uint32_t len, uint16_t flags, uint16_t next);

/* Writes (n) segments as one chain into (t) from index 0 (NEXT added). */
void vio_chain_set(volatile struct vring_desc *t, const struct vio_seg *s,
                   unsigned int n);

/* An MMIO access of (width) 1, 2, 4 or 8 bytes at (a), for tests of the
 * widths a transport must tolerate. */
uint64_t vio_mmio_read(uint64_t a, int width);
void vio_mmio_write(uint64_t a, int width, uint64_t v);

#endif
