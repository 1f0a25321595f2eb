/* queue.h - split virtqueues (virtio 1.2 §2.7) as seen by a device: walking
 * the driver's descriptor chains with every guest value checked, and
 * returning used buffers with the ordering the driver relies on.
 *
 * The ring lives in guest memory that a hostile driver may rewrite at any
 * moment.  Every index and descriptor is loaded once into a local before it
 * is checked and used, every address is checked to lie in one RAM region for
 * its full length (gmem_lookup()), and chains are bounded, so a malformed ring
 * ends in an error code (the device then sets DEVICE_NEEDS_RESET, virtio 1.2
 * §2.1.2), never in a crash, an access outside guest RAM or an endless loop.
 *
 * A struct virtq is not thread-safe: one thread at a time (the device's
 * lock) pops and pushes. */
#ifndef VMRUN_VIRTIO_QUEUE_H
#define VMRUN_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/memory.h"

struct dev_env;
struct snap_buf;
struct snap_rd;

/* The largest queue size virtio allows (§2.7: 32768). */
#define VIRTQ_SIZE_MAX 32768
/* The most descriptors vmrun accepts in one indirect table: tables are
 * normally no longer than the queue (Linux never builds longer ones); a
 * fixed cap bounds the walk whatever the guest writes. */
#define VIRTQ_INDIRECT_MAX 1024

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* One split virtqueue.  Fill (size) and the three guest addresses, then
 * call virtq_enable(); the rest is private to queue.c. */
struct virtq {
    uint16_t size;   /* power of two, 1..VIRTQ_SIZE_MAX */
    gpa_t desc_gpa;  /* descriptor table, 16-byte aligned */
    gpa_t avail_gpa; /* driver area, 2-byte aligned */
    gpa_t used_gpa;  /* device area, 4-byte aligned */
    bool event_idx;  /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;   /* VIRTIO_F_RING_INDIRECT_DESC negotiated */

    /* Private. */
    const struct dev_env *env;
    volatile uint8_t *desc; /* host views of the three areas */
    volatile uint16_t *avail;
    volatile uint8_t *used;
    uint16_t last_avail;     /* next avail ring slot to consume */
    uint16_t used_idx;       /* our copy of used->idx */
    uint16_t signalled_used; /* used_idx at the last notification */
    bool enabled;
    bool notify_off; /* between virtq_disable/enable_notify() */
    bool broken;     /* a malformed ring was seen: pops fail until reset */
};

/* A chain popped by virtq_pop(): iov[0, nr_rd) are device-readable,
 * iov[nr_rd, nr_rd + nr_wr) device-writable, in chain order. */
struct virtq_elem {
    uint16_t head; /* id to hand back to virtq_push() */
    unsigned int nr_rd, nr_wr;
    uint32_t rd_len; /* total bytes in the readable segments */
    uint32_t wr_len; /* total bytes in the writable segments */
};

/* Resolves the rings of (vq) (size and addresses already set) in (env)'s
 * RAM.  -EINVAL if the size is not a power of two, an area is misaligned or
 * not wholly inside one RAM region, or the device area overlaps the other
 * two.  Guest RAM must not move while the
 * queue is enabled (vmrun never remaps RAM of a running VM). */
int virtq_enable(struct virtq *vq, const struct dev_env *env)
    __attribute__((warn_unused_result));

/* Forgets everything but nothing in guest memory: back to the state after
 * zero-initialisation (driver reset, §2.1.2). */
void virtq_reset(struct virtq *vq);

/* Takes the next available chain.  Returns 1 and fills (elem) and
 * (iov)[0, max_iov) with host pointers checked for their full length;
 * 0 when the ring is empty; -EPROTO on a malformed ring (bad index, address,
 * length, flags, loop, a device-writable buffer over the descriptor table
 * or the driver area), after which the queue stays broken and every pop
 * fails until virtq_reset(); -E2BIG when the chain is well-formed so far but
 * has more than (max_iov) non-empty segments: the chain is consumed and
 * (elem->head) valid, so the device can complete it as failed.
 * Zero-length descriptors are accepted and yield no segment.  With dirty
 * tracking on, the writable segments returned (with 1 or -E2BIG) are
 * marked dirty, the readable ones and the rings' descriptor tables never. */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem, struct iovec *iov,
              unsigned int max_iov) __attribute__((warn_unused_result));

/* Returns chain (head) to the driver with (len) bytes written into it, and
 * publishes the new used index. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* virtq_push() in two halves, for chains the driver must see together
 * (one received frame in several mergeable buffers, §5.1.6.4): fill writes
 * a used element without moving used->idx, publish then moves used->idx
 * past every element filled so far, in one store. */
void virtq_fill(struct virtq *vq, uint16_t head, uint32_t len);
void virtq_publish(struct virtq *vq);

/* True when the driver wants an interrupt for the buffers pushed since the
 * last time this returned true (used_event with EVENT_IDX, §2.7.10;
 * VIRTQ_AVAIL_F_NO_INTERRUPT otherwise).  Call after a batch of pushes. */
bool virtq_should_notify(struct virtq *vq);

/* True if used buffers were pushed since the last virtq_should_notify(). */
bool virtq_unsignalled(const struct virtq *vq);

/* The driver's avail->idx as it is now in guest memory; 0 while the queue
 * is not enabled.  A hint only: the guest may change it at any time. */
uint16_t virtq_avail_idx(const struct virtq *vq);

/* Where avail->idx lives in guest RAM, NULL while the queue is not
 * enabled: for a reader on another thread that must not touch (vq). */
volatile uint16_t *virtq_avail_idx_addr(const struct virtq *vq);

/* Asks the driver not to kick while the device is already processing
 * (VIRTQ_USED_F_NO_NOTIFY; with EVENT_IDX the stale avail_event does it). */
void virtq_disable_notify(struct virtq *vq);

/* Asks for kicks again and returns true if buffers arrived meanwhile: the
 * caller must then pop again, or a kick could be lost.  The usual loop:
 * do { disable; while (pop) ...; } while (virtq_enable_notify(vq)); */
bool virtq_enable_notify(struct virtq *vq);

/* Snapshots: the ring addresses, negotiated ring features and the
 * device's indices.  virtq_load() re-checks the rings with virtq_enable()
 * when the queue was enabled (-EINVAL if they no longer lie in (env)'s RAM)
 * and then takes the saved indices. */
void virtq_save(const struct virtq *vq, struct snap_buf *b);
int virtq_load(struct virtq *vq, const struct dev_env *env, struct snap_rd *r)
    __attribute__((warn_unused_result));

/* The EVENT_IDX test of §2.7.10: true if moving an index from (old) to
 * (new) passes (event), all modulo 2^16. */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx,
                                    uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
