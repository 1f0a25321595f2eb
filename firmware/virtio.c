/* virtio.c - virtio-mmio v2 + split-ring driver of the freestanding guests. */
#include "virtio.h"

#define PAGE 4096ULL
#define USED_RING 4 /* bytes: flags, idx */
#define USED_ELEM 8
#define STATUS_POLL_EVERY 256 /* spins between status-register reads */

/* x86 is TSO: a compiler barrier orders stores against stores and loads
 * against loads; only store-then-load needs mfence (§2.7.13.4). */
#define compiler_barrier() __asm__ volatile("" ::: "memory")
#define full_barrier() __asm__ volatile("mfence" ::: "memory")

static uint64_t round_page(uint64_t n)
{
    return (n + PAGE - 1) & ~(PAGE - 1);
}

uint64_t vio_vq_bytes(uint16_t size)
{
    return round_page(16ULL * size) + round_page(6 + 2ULL * size) +
           round_page(6 + (uint64_t)USED_ELEM * size);
}

int vio_probe(struct vio_dev *d, uint64_t base, uint32_t device_id)
{
    *d = (struct vio_dev){.base = base};
    if (vio_read32(d, VIO_MAGIC) != VIO_MAGIC_VALUE)
        return -1;
    if (vio_read32(d, VIO_VERSION) != 2)
        return -2;
    if (vio_read32(d, VIO_DEVICE_ID) != device_id)
        return -3;
    return 0;
}

void vio_reset(struct vio_dev *d)
{
    vio_write32(d, VIO_STATUS, 0);
    d->features = 0;
}

static uint64_t vio_device_features(const struct vio_dev *d)
{
    uint64_t f;

    vio_write32(d, VIO_DEVICE_FEATURES_SEL, 1);
    f = (uint64_t)vio_read32(d, VIO_DEVICE_FEATURES) << 32;
    vio_write32(d, VIO_DEVICE_FEATURES_SEL, 0);
    return f | vio_read32(d, VIO_DEVICE_FEATURES);
}

uint32_t vio_try_features(struct vio_dev *d, uint64_t features)
{
    uint32_t status;

    vio_write32(d, VIO_DRIVER_FEATURES_SEL, 0);
    vio_write32(d, VIO_DRIVER_FEATURES, (uint32_t)features);
    vio_write32(d, VIO_DRIVER_FEATURES_SEL, 1);
    vio_write32(d, VIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    status = vio_read32(d, VIO_STATUS);
    vio_write32(d, VIO_STATUS, status | VIO_S_FEATURES_OK);
    /* §3.1.1: re-read; a device that cannot accept clears the bit. */
    status = vio_read32(d, VIO_STATUS);
    if (status & VIO_S_FEATURES_OK)
        d->features = features;
    return status;
}

int vio_negotiate(struct vio_dev *d, uint64_t wanted)
{
    vio_reset(d);
    vio_write32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE);
    vio_write32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER);
    d->offered = vio_device_features(d);
    if (!(vio_try_features(d, wanted & d->offered) & VIO_S_FEATURES_OK))
        return -1;
    return 0;
}

static void zero(volatile uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        p[i] = 0;
}

static void vio_write64(const struct vio_dev *d, uint32_t lo, uint64_t v)
{
    vio_write32(d, lo, (uint32_t)v);
    vio_write32(d, lo + 4, (uint32_t)(v >> 32));
}

void vio_vq_layout(const struct vio_dev *d, struct vio_vq *vq, uint16_t index,
                   uint16_t size, void *area)
{
    uint8_t *p = area;

    zero(p, vio_vq_bytes(size));
    *vq = (struct vio_vq){
        .index = index,
        .size = size,
        .desc = (volatile struct vring_desc *)p,
        .avail = (volatile uint16_t *)(p + round_page(16ULL * size)),
        .event_idx = d->features & VIO_BIT(VIO_F_EVENT_IDX)};
    vq->used = (volatile uint8_t *)vq->avail + round_page(6 + 2ULL * size);
}

int vio_vq_program(const struct vio_dev *d, const struct vio_vq *vq,
                   uint32_t num)
{
    vio_write32(d, VIO_QUEUE_SEL, vq->index);
    vio_write32(d, VIO_QUEUE_NUM, num);
    vio_write64(d, VIO_QUEUE_DESC_LOW, (uintptr_t)vq->desc);
    vio_write64(d, VIO_QUEUE_DRIVER_LOW, (uintptr_t)vq->avail);
    vio_write64(d, VIO_QUEUE_DEVICE_LOW, (uintptr_t)vq->used);
    vio_write32(d, VIO_QUEUE_READY, 1);
    return vio_read32(d, VIO_QUEUE_READY) == 1 ? 0 : -1;
}

int vio_vq_setup(struct vio_dev *d, struct vio_vq *vq, uint16_t index,
                 uint16_t size, void *area)
{
    vio_write32(d, VIO_QUEUE_SEL, index);
    if (vio_read32(d, VIO_QUEUE_NUM_MAX) < size)
        return -1;
    vio_vq_layout(d, vq, index, size, area);
    return vio_vq_program(d, vq, size);
}

uint32_t vio_driver_ok(struct vio_dev *d)
{
    vio_write32(d, VIO_STATUS, vio_read32(d, VIO_STATUS) | VIO_S_DRIVER_OK);
    return vio_read32(d, VIO_STATUS);
}

void vio_vq_add(struct vio_vq *vq, uint16_t head)
{
    vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = head;
    vq->avail_idx++;
}

void vio_vq_publish(struct vio_vq *vq)
{
    /* Ring slots and descriptors before the index (§2.7.13.3); pairs with
     * the device's acquire load of avail->idx. */
    compiler_barrier();
    vq->avail[1] = vq->avail_idx;
}

/* §2.7.10: does moving from (old) to (new_idx) pass (event)? */
static bool vio_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void vio_vq_kick(const struct vio_dev *d, const struct vio_vq *vq, uint16_t old,
                 bool force)
{
    uint16_t event, flags;

    /* Publish avail->idx before reading the device's suppression fields;
     * pairs with the device's full barrier in virtq_enable_notify(). */
    full_barrier();
    if (!force && vq->event_idx) {
        event =
            *(volatile uint16_t *)(vq->used + USED_RING + USED_ELEM * vq->size);
        if (!vio_need_event(event, vq->avail_idx, old))
            return;
    } else if (!force) {
        flags = *(volatile uint16_t *)vq->used;
        if (flags & VRING_USED_F_NO_NOTIFY)
            return;
    }
    vio_write32(d, VIO_QUEUE_NOTIFY, vq->index);
}

uint16_t vio_vq_used_idx(const struct vio_vq *vq)
{
    return *(volatile uint16_t *)(vq->used + 2);
}

int vio_vq_get_used(struct vio_vq *vq, uint32_t *id, uint32_t *len)
{
    volatile uint32_t *e;

    if (vio_vq_used_idx(vq) == vq->last_used)
        return 0;
    /* used->idx before the element (§2.7.14): loads are ordered on x86. */
    compiler_barrier();
    e = (volatile uint32_t *)(vq->used + USED_RING +
                              USED_ELEM * (vq->last_used & (vq->size - 1)));
    *id = e[0];
    *len = e[1];
    vq->last_used++;
    if (vq->event_idx) /* used_event: interrupts stay off anyway */
        vq->avail[2 + vq->size] = vq->last_used;
    return 1;
}

enum vio_wait vio_vq_wait(const struct vio_dev *d, struct vio_vq *vq,
                          uint64_t cycles, uint32_t *id, uint32_t *len)
{
    uint64_t start = vio_rdtsc();

    for (uint32_t spin = 1;; spin++) {
        if (vio_vq_get_used(vq, id, len))
            return VIO_WAIT_USED;
        if (spin % STATUS_POLL_EVERY == 0) {
            if (vio_read32(d, VIO_STATUS) & VIO_S_NEEDS_RESET)
                return VIO_WAIT_NEEDS_RESET;
            if (vio_rdtsc() - start > cycles)
                return VIO_WAIT_TIMEOUT;
        }
        __asm__ volatile("pause");
    }
}

/* ---- descriptors and raw register access ---- */

void vio_desc_set(volatile struct vring_desc *t, uint16_t i, uint64_t a,
                  uint32_t len, uint16_t flags, uint16_t next)
{
    t[i].addr = a;
    t[i].len = len;
    t[i].flags = flags;
    t[i].next = next;
}

/* Writes (n) segments as a chain into table (t) from index 0. */
void vio_chain_set(volatile struct vring_desc *t, const struct vio_seg *s,
                   unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        vio_desc_set(
            t, (uint16_t)i, s[i].addr, s[i].len,
            (uint16_t)(s[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
            (uint16_t)(i + 1));
}

uint64_t vio_mmio_read(uint64_t a, int width)
{
    switch (width) {
    case 1:
        return *(volatile uint8_t *)(uintptr_t)a;
    case 2:
        return *(volatile uint16_t *)(uintptr_t)a;
    case 4:
        return *(volatile uint32_t *)(uintptr_t)a;
    }
    return *(volatile uint64_t *)(uintptr_t)a;
}

void vio_mmio_write(uint64_t a, int width, uint64_t v)
{
    switch (width) {
    case 1:
        *(volatile uint8_t *)(uintptr_t)a = (uint8_t)v;
        break;
    case 2:
        *(volatile uint16_t *)(uintptr_t)a = (uint16_t)v;
        break;
    case 4:
        *(volatile uint32_t *)(uintptr_t)a = (uint32_t)v;
        break;
    default:
        *(volatile uint64_t *)(uintptr_t)a = v;
    }
}

/* The four functions a freestanding C environment must still provide: gcc
 * and clang emit calls to them for struct copies and initialisers (clang
 * does so for blk.c).  They live here because every guest links this
 * file; string instructions keep the compiler from turning them back into
 * calls to themselves. */
void *memset(void *dst, int c, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;

    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}
