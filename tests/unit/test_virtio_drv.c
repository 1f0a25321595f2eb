/* test_virtio_drv.c - the unit tests' stand-in for a guest virtio driver. */
#include <check.h>
#include <string.h>
#include <time.h>

#include "test_virtio_drv.h"
#include "devices/virtio/mmio.h"

void tdrv_init(struct tdrv *d, struct fake_env *vm, gpa_t area, uint64_t span,
               uint16_t size)
{
    *d = (struct tdrv){.vm = vm, .size = size};
    d->desc = area;
    d->avail = area + 16ULL * size;
    d->used = (d->avail + 6 + 2ULL * size + 3) & ~3ULL;
    d->heap = (d->used + 6 + 8ULL * size + 4095) & ~4095ULL;
    d->heap_end = area + span;
    memset(tdrv_ptr(d, area), 0, d->heap - area);
}

gpa_t tdrv_alloc(struct tdrv *d, uint32_t len)
{
    gpa_t g = d->heap;

    d->heap = (d->heap + len + 15) & ~15ULL;
    ck_assert_uint_le(d->heap, d->heap_end);
    memset(tdrv_ptr(d, g), 0, len ? len : 1);
    return g;
}

void *tdrv_ptr(struct tdrv *d, gpa_t gpa)
{
    void *p = gmem_ptr(&d->vm->mem, gpa, 1);

    ck_assert_ptr_nonnull(p);
    return p;
}

void tdrv_desc(struct tdrv *d, uint16_t i, uint64_t addr, uint32_t len,
               uint16_t flags, uint16_t next)
{
    uint8_t *p = tdrv_ptr(d, d->desc + 16ULL * i);

    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

uint16_t tdrv_chain(struct tdrv *d, uint16_t first, const struct tbuf *bufs,
                    unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        tdrv_desc(d, first + i, bufs[i].gpa, bufs[i].len,
                  (bufs[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0), first + i + 1);
    return first;
}

void tdrv_set_avail_idx(struct tdrv *d, uint16_t idx)
{
    uint16_t *p = tdrv_ptr(d, d->avail + 2);

    __atomic_store_n(p, idx, __ATOMIC_RELEASE);
}

void tdrv_publish(struct tdrv *d, uint16_t head)
{
    uint16_t *ring = tdrv_ptr(d, d->avail + 4);

    ring[d->avail_idx % d->size] = head;
    tdrv_set_avail_idx(d, ++d->avail_idx);
}

uint16_t tdrv_used_idx(struct tdrv *d)
{
    return __atomic_load_n((uint16_t *)tdrv_ptr(d, d->used + 2),
                           __ATOMIC_ACQUIRE);
}

bool tdrv_used(struct tdrv *d, uint32_t *id, uint32_t *len)
{
    uint8_t *e;

    if (tdrv_used_idx(d) == d->used_seen)
        return false;
    e = tdrv_ptr(d, d->used + 4 + 8ULL * (d->used_seen++ % d->size));
    memcpy(id, e, 4);
    memcpy(len, e + 4, 4);
    return true;
}

bool tdrv_wait_used(struct tdrv *d, uint16_t idx)
{
    struct timespec ms = {0, 1000000};

    for (int i = 0; i < 5000; i++) {
        if (tdrv_used_idx(d) == idx)
            return true;
        nanosleep(&ms, NULL);
    }
    return false;
}

void tdrv_set_used_event(struct tdrv *d, uint16_t v)
{
    memcpy(tdrv_ptr(d, d->avail + 4 + 2ULL * d->size), &v, 2);
}

uint16_t tdrv_avail_event(struct tdrv *d)
{
    uint16_t v;

    memcpy(&v, tdrv_ptr(d, d->used + 4 + 8ULL * d->size), 2);
    return v;
}

uint32_t tdrv_mmio_read(struct tdrv *d, uint32_t off)
{
    uint32_t v = 0;

    bus_access(&d->vm->mmio, d->mmio + off, (uint8_t *)&v, 4, false);
    return v;
}

void tdrv_mmio_write(struct tdrv *d, uint32_t off, uint32_t v)
{
    bus_access(&d->vm->mmio, d->mmio + off, (uint8_t *)&v, 4, true);
}

static void tdrv_write64(struct tdrv *d, uint32_t off, uint64_t v)
{
    tdrv_mmio_write(d, off, (uint32_t)v);
    tdrv_mmio_write(d, off + 4, (uint32_t)(v >> 32));
}

uint32_t tdrv_mmio_start_queues(struct tdrv *const *q, uint32_t n, gpa_t base,
                                uint64_t features)
{
    struct tdrv *d = q[0];

    for (uint32_t i = 0; i < n; i++)
        q[i]->mmio = base;
    tdrv_mmio_write(d, VIRTIO_MMIO_STATUS, 0);
    tdrv_mmio_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    tdrv_mmio_write(d, VIRTIO_MMIO_STATUS,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (uint32_t sel = 0; sel < 2; sel++) {
        tdrv_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        tdrv_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES,
                        (uint32_t)(features >> (32 * sel)));
    }
    tdrv_mmio_write(d, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_FEATURES_OK);
    if (!(tdrv_mmio_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return tdrv_mmio_read(d, VIRTIO_MMIO_STATUS);
    for (uint32_t i = 0; i < n; i++) {
        tdrv_mmio_write(d, VIRTIO_MMIO_QUEUE_SEL, i);
        tdrv_mmio_write(d, VIRTIO_MMIO_QUEUE_NUM, q[i]->size);
        tdrv_write64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, q[i]->desc);
        tdrv_write64(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q[i]->avail);
        tdrv_write64(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q[i]->used);
        tdrv_mmio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    tdrv_mmio_write(d, VIRTIO_MMIO_STATUS,
                    1 | 2 | VIRTIO_STATUS_FEATURES_OK |
                        VIRTIO_STATUS_DRIVER_OK);
    return tdrv_mmio_read(d, VIRTIO_MMIO_STATUS);
}

uint32_t tdrv_mmio_start(struct tdrv *d, gpa_t base, uint64_t features)
{
    return tdrv_mmio_start_queues(&d, 1, base, features);
}
