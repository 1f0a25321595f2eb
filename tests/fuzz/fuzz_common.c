/* fuzz_common.c - input cursor and virtio-mmio driver for the harnesses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "devices/virtio/mmio.h"

size_t fz_take(struct fz *f, size_t len, const uint8_t **out)
{
    if (len > f->n)
        len = f->n;
    *out = f->p;
    f->p += len;
    f->n -= len;
    return len;
}

static uint64_t fz_le(struct fz *f, size_t len)
{
    const uint8_t *p;
    size_t got = fz_take(f, len, &p);
    uint64_t v = 0;

    for (size_t i = 0; i < got; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t fz_u8(struct fz *f)
{
    return (uint8_t)fz_le(f, 1);
}

uint16_t fz_u16(struct fz *f)
{
    return (uint16_t)fz_le(f, 2);
}

uint32_t fz_u32(struct fz *f)
{
    return (uint32_t)fz_le(f, 4);
}

uint64_t fz_u64(struct fz *f)
{
    return fz_le(f, 8);
}

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "==FUZZ== %s:%d: check failed: %s\n", file, line, what);
    abort(); /* a test harness, not library code */
}

uint32_t fuzz_mmio_read(struct fake_env *vm, gpa_t base, uint32_t off)
{
    uint32_t v = 0;

    bus_access(&vm->mmio, base + off, (uint8_t *)&v, 4, false);
    return v;
}

void fuzz_mmio_write(struct fake_env *vm, gpa_t base, uint32_t off, uint32_t v)
{
    bus_access(&vm->mmio, base + off, (uint8_t *)&v, 4, true);
}

static void mmio_write64(struct fake_env *vm, gpa_t base, uint32_t off,
                         uint64_t v)
{
    fuzz_mmio_write(vm, base, off, (uint32_t)v);
    fuzz_mmio_write(vm, base, off + 4, (uint32_t)(v >> 32));
}

static uint64_t mmio_offered(struct fake_env *vm, gpa_t base)
{
    uint64_t f;

    fuzz_mmio_write(vm, base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = fuzz_mmio_read(vm, base, VIRTIO_MMIO_DEVICE_FEATURES);
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)fuzz_mmio_read(vm, base, VIRTIO_MMIO_DEVICE_FEATURES)
                   << 32;
}

uint32_t fuzz_mmio_start(struct fake_env *vm, gpa_t base, uint64_t features,
                         int raw, const struct fuzz_queue *q, unsigned int nq)
{
    if (!raw)
        features = (features & mmio_offered(vm, base)) |
                   VIRTIO_BIT(VIRTIO_F_VERSION_1);
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_STATUS, 0);
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_STATUS, 1);
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_STATUS, 3);
    for (uint32_t sel = 0; sel < 2; sel++) {
        fuzz_mmio_write(vm, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        fuzz_mmio_write(vm, base, VIRTIO_MMIO_DRIVER_FEATURES,
                        (uint32_t)(features >> (32 * sel)));
    }
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_STATUS, 11);
    for (uint32_t i = 0; i < nq; i++) {
        fuzz_mmio_write(vm, base, VIRTIO_MMIO_QUEUE_SEL, i);
        fuzz_mmio_write(vm, base, VIRTIO_MMIO_QUEUE_NUM, q[i].size);
        mmio_write64(vm, base, VIRTIO_MMIO_QUEUE_DESC_LOW, q[i].desc);
        mmio_write64(vm, base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q[i].avail);
        mmio_write64(vm, base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q[i].used);
        fuzz_mmio_write(vm, base, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    fuzz_mmio_write(vm, base, VIRTIO_MMIO_STATUS, 15);
    return fuzz_mmio_read(vm, base, VIRTIO_MMIO_STATUS);
}

/* An offset into RAM, aligned to (align) unless the input's top bit asks
 * for a misaligned one (which virtq_enable must refuse). */
static gpa_t queue_area(struct fz *f, uint64_t ram_size, uint64_t align)
{
    uint32_t v = fz_u32(f);
    uint64_t off = v % ram_size;

    return v >> 31 ? off : off & ~(align - 1);
}

void fuzz_queue_from_input(struct fz *f, struct fuzz_queue *q, gpa_t ram_base,
                           uint64_t ram_size, uint16_t max)
{
    uint8_t s = fz_u8(f);
    uint16_t raw = fz_u16(f);

    /* Mostly valid sizes, so the walk itself gets the mutations; 0xff
     * lets any 16-bit value through. */
    if (s == 0xff)
        q->size = raw;
    else
        q->size = (uint16_t)(1U << (s % 16));
    if (q->size > max && s != 0xff)
        q->size = max;
    q->desc = ram_base + queue_area(f, ram_size, 16);
    q->avail = ram_base + queue_area(f, ram_size, 2);
    q->used = ram_base + queue_area(f, ram_size, 4);
}

void fuzz_bump_avail(struct fake_env *vm, gpa_t avail, uint8_t n)
{
    uint8_t *ring = gmem_ptr(&vm->mem, avail, 4); /* flags, idx */
    uint16_t idx;

    if (!ring)
        return;
    memcpy(&idx, ring + 2, 2);
    idx = (uint16_t)(idx + n);
    memcpy(ring + 2, &idx, 2);
}
