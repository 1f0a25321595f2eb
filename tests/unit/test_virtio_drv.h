/* test_virtio_drv.h - a minimal virtio driver for unit tests: builds split
 * rings in a fake environment's RAM and pokes virtio-mmio registers, as a guest
 * would (or as a hostile guest would, descriptor by descriptor). */
#ifndef VMRUN_TEST_VIRTIO_DRV_H
#define VMRUN_TEST_VIRTIO_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_env.h"

struct tdrv {
    struct fake_env *vm;
    uint16_t size;
    gpa_t desc, avail, used; /* ring areas */
    uint16_t avail_idx;      /* next avail->idx to publish */
    uint16_t used_seen;      /* used elements consumed by tdrv_used() */
    gpa_t heap, heap_end;    /* bump allocator for buffers */
    gpa_t mmio;              /* transport base, for tdrv_mmio_* */
};

struct tbuf {
    gpa_t gpa;
    uint32_t len;
    bool write; /* device-writable */
};

/* Rings for a queue of (size) at (area) in RAM; buffers come after them,
 * up to (area + span). */
void tdrv_init(struct tdrv *d, struct fake_env *vm, gpa_t area, uint64_t span,
               uint16_t size);
/* (len) bytes of zeroed guest memory, 16-byte aligned. */
gpa_t tdrv_alloc(struct tdrv *d, uint32_t len);
/* Host view of guest address (gpa); asserts it is RAM. */
void *tdrv_ptr(struct tdrv *d, gpa_t gpa);
void tdrv_desc(struct tdrv *d, uint16_t i, uint64_t addr, uint32_t len,
               uint16_t flags, uint16_t next);
/* Descriptors [first, first + n) chained in order over (bufs). */
uint16_t tdrv_chain(struct tdrv *d, uint16_t first, const struct tbuf *bufs,
                    unsigned int n);
/* Puts (head) in the avail ring and bumps avail->idx. */
void tdrv_publish(struct tdrv *d, uint16_t head);
void tdrv_set_avail_idx(struct tdrv *d, uint16_t idx);
uint16_t tdrv_used_idx(struct tdrv *d);
/* The next used element, if the device returned one. */
bool tdrv_used(struct tdrv *d, uint32_t *id, uint32_t *len);
/* Waits (running event loop) up to 5 s for used->idx to reach (idx). */
bool tdrv_wait_used(struct tdrv *d, uint16_t idx);
void tdrv_set_used_event(struct tdrv *d, uint16_t v);
uint16_t tdrv_avail_event(struct tdrv *d);

uint32_t tdrv_mmio_read(struct tdrv *d, uint32_t off);
void tdrv_mmio_write(struct tdrv *d, uint32_t off, uint32_t v);
/* The §3.1.1 sequence up to DRIVER_OK, accepting (features), queue 0 of
 * the rings above.  Returns the status read back at the end. */
uint32_t tdrv_mmio_start(struct tdrv *d, gpa_t base, uint64_t features);

/* The same with queue i on the rings of (q[i]), for i < (n). */
uint32_t tdrv_mmio_start_queues(struct tdrv *const *q, uint32_t n, gpa_t base,
                                uint64_t features);

#endif
