/* queue.c - split virtqueue walker and used-ring writer (virtio 1.2 §2.7). */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "devices/virtio/queue.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

/* Byte offsets inside the three areas (§2.7.5, §2.7.6, §2.7.8). */
#define DESC_SIZE 16
#define AVAIL_RING 2 /* in uint16_t units: flags, idx, ring[] */
#define USED_IDX 2   /* bytes */
#define USED_RING 4  /* bytes; 8 per element */
#define USED_ELEM_SIZE 8

/* A descriptor after its single load from guest memory. */
struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Guest-shared words are read and written exactly once each, untorn:
 * relaxed atomics, with explicit fences or acquire/release where ordering
 * matters. */
static uint16_t shared_load16(volatile uint16_t *p)
{
    return le16toh(__atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED));
}

static void shared_store16(volatile void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static void shared_store32(volatile void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

static bool host_aligned(const void *p, uintptr_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

/* [a, a + alen) and [b, b + blen) share a byte (both already checked to
 * lie in RAM, so the sums do not wrap). */
static bool gpa_overlap(gpa_t a, uint64_t alen, gpa_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int virtq_enable(struct virtq *vq, const struct dev_env *env)
{
    uint64_t n = vq->size;
    void *desc, *avail, *used;

    if (n == 0 || n > VIRTQ_SIZE_MAX || (n & (n - 1)))
        return -EINVAL;
    if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
        return -EINVAL; /* §2.7: alignment of the three areas */
    /* The device only reads the first two (gmem_lookup: not marked
     * dirty); the used ring is marked here and again by each snapshot
     * (virtio_mmio_save()). */
    desc = gmem_lookup(env->mem, vq->desc_gpa, DESC_SIZE * n);
    avail = gmem_lookup(env->mem, vq->avail_gpa, 6 + 2 * n);
    used = dev_gpa_ptr(env, vq->used_gpa, 6 + USED_ELEM_SIZE * n);
    if (!desc || !avail || !used)
        return -EINVAL;
    /* The device area must not alias what the driver writes: our own
     * used->flags or avail_event store would then move avail->idx, and
     * virtq_enable_notify() could report new buffers forever (a device
     * loop spinning with no guest action, found by tests/fuzz). */
    if (gpa_overlap(vq->used_gpa, 6 + USED_ELEM_SIZE * n, vq->desc_gpa,
                    DESC_SIZE * n) ||
        gpa_overlap(vq->used_gpa, 6 + USED_ELEM_SIZE * n, vq->avail_gpa,
                    6 + 2 * n))
        return -EINVAL;
    /* The atomics below need naturally aligned host addresses too. */
    if (!host_aligned(desc, 8) || !host_aligned(avail, 2) ||
        !host_aligned(used, 4))
        return -EINVAL;
    vq->env = env;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->notify_off = false;
    vq->broken = false;
    vq->enabled = true;
    return 0;
}

void virtq_reset(struct virtq *vq)
{
    memset(vq, 0, sizeof(*vq));
}

static int virtq_fail(struct virtq *vq)
{
    vq->broken = true;
    return -EPROTO;
}

static void desc_load(const volatile uint8_t *table, uint32_t i,
                      struct vdesc *d)
{
    const volatile uint8_t *p = table + (uint64_t)i * DESC_SIZE;

    d->addr = le64toh(__atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED));
    d->len = le32toh(__atomic_load_n((uint32_t *)(p + 8), __ATOMIC_RELAXED));
    d->flags = shared_load16((volatile uint16_t *)(p + 12));
    d->next = shared_load16((volatile uint16_t *)(p + 14));
}

/* True if the device writing [gpa, gpa + len) (in RAM, so no wrap) would
 * rewrite the descriptor table or the driver area.  A device that writes
 * into avail->idx publishes chains to itself: one kick could keep it
 * popping forever (a read whose data also rewrites the next request's
 * header).  No sane driver does this; it is a malformed chain. */
static bool vq_writes_driver_area(const struct virtq *vq, gpa_t gpa,
                                  uint64_t len)
{
    return gpa_overlap(gpa, len, vq->desc_gpa, DESC_SIZE * vq->size) ||
           gpa_overlap(gpa, len, vq->avail_gpa, 6 + 2 * (uint64_t)vq->size);
}

/* Appends the buffer of (d) to (elem): readable segments must all come
 * before writable ones (§2.7.4.2), totals fit in 32 bits (§2.7.5). */
static int elem_add(struct virtq *vq, const struct vdesc *d,
                    struct virtq_elem *elem, struct iovec *iov,
                    unsigned int max_iov)
{
    bool wr = d->flags & VIRTQ_DESC_F_WRITE;
    unsigned int n = elem->nr_rd + elem->nr_wr;
    void *p;

    if (d->len == 0)
        return 0; /* nothing to access; not worth failing a driver for */
    /* Not marked dirty yet: virtq_pop() marks the writable segments once
     * the chain is accepted, and never marks the readable ones. */
    p = gmem_lookup(vq->env->mem, d->addr, d->len);
    if (!p || (!wr && elem->nr_wr) ||
        (wr && vq_writes_driver_area(vq, d->addr, d->len)))
        return -EPROTO;
    if (__builtin_add_overflow(wr ? elem->wr_len : elem->rd_len, d->len,
                               wr ? &elem->wr_len : &elem->rd_len))
        return -EPROTO;
    if (n >= max_iov)
        return -E2BIG;
    iov[n] = (struct iovec){p, d->len};
    if (wr)
        elem->nr_wr++;
    else
        elem->nr_rd++;
    return 0;
}

/* Validates an indirect descriptor (§2.7.5.3) and returns its table. */
static const volatile uint8_t *
indirect_table(struct virtq *vq, const struct vdesc *d, uint32_t *n)
{
    if (!vq->indirect || (d->flags & VIRTQ_DESC_F_NEXT))
        return NULL; /* §2.7.5.3.1: INDIRECT and NEXT are exclusive */
    if (d->len == 0 || d->len % DESC_SIZE ||
        d->len / DESC_SIZE > VIRTQ_INDIRECT_MAX)
        return NULL;
    *n = d->len / DESC_SIZE;
    return gmem_lookup(vq->env->mem, d->addr, d->len); /* only read */
}

/* Follows the chain from (head), through at most one indirect table.  Each
 * table bounds its own walk by its length, so a loop ends with -EPROTO. */
static int chain_walk(struct virtq *vq, uint16_t head, struct virtq_elem *elem,
                      struct iovec *iov, unsigned int max_iov)
{
    const volatile uint8_t *table = vq->desc;
    uint32_t n = vq->size, budget = vq->size, i = head;
    bool indirect = false;
    struct vdesc d;
    int ret;

    for (;;) {
        if (i >= n || budget-- == 0)
            return -EPROTO;
        desc_load(table, i, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            /* A nested table is forbidden (§2.7.5.3.1). */
            table = indirect ? NULL : indirect_table(vq, &d, &n);
            if (!table)
                return -EPROTO;
            indirect = true;
            budget = n;
            i = 0;
            continue;
        }
        ret = elem_add(vq, &d, elem, iov, max_iov);
        if (ret)
            return ret;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        i = d.next;
    }
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem, struct iovec *iov,
              unsigned int max_iov)
{
    uint16_t avail_idx, pending, head;
    int ret;

    if (!vq->enabled)
        return 0;
    if (vq->broken)
        return -EPROTO;
    /* Acquire pairs with the driver's write barrier between filling the
     * ring slot and publishing avail->idx (§2.7.13.3). */
    avail_idx =
        le16toh(__atomic_load_n((uint16_t *)&vq->avail[1], __ATOMIC_ACQUIRE));
    pending = avail_idx - vq->last_avail;
    if (pending == 0)
        return 0;
    if (pending > vq->size)
        return virtq_fail(vq); /* the driver cannot have > size chains */
    head = shared_load16(
        &vq->avail[AVAIL_RING + (vq->last_avail & (vq->size - 1))]);
    vq->last_avail++;
    if (vq->event_idx && !vq->notify_off)
        shared_store16(&vq->used[USED_RING + USED_ELEM_SIZE * vq->size],
                       vq->last_avail); /* avail_event: kick me for more */
    *elem = (struct virtq_elem){.head = head};
    ret = chain_walk(vq, head, elem, iov, max_iov);
    if (ret == -EPROTO)
        return virtq_fail(vq);
    /* The device may write what it was handed (also an -E2BIG chain's
     * segments): dirty for a Diff snapshot before it does. */
    for (unsigned int i = elem->nr_rd; i < elem->nr_rd + elem->nr_wr; i++)
        gmem_mark_dirty(vq->env->mem, iov[i].iov_base, iov[i].iov_len);
    return ret < 0 ? ret : 1;
}

void virtq_fill(struct virtq *vq, uint16_t head, uint32_t len)
{
    volatile uint8_t *e;

    if (!vq->enabled)
        return;
    e = vq->used + USED_RING + USED_ELEM_SIZE * (vq->used_idx & (vq->size - 1));
    shared_store32(e, head);
    shared_store32(e + 4, len);
    vq->used_idx++;
}

void virtq_publish(struct virtq *vq)
{
    if (!vq->enabled)
        return;
    /* Release pairs with the driver's read barrier between reading
     * used->idx and reading the ring element (§2.7.14). */
    __atomic_store_n((uint16_t *)(vq->used + USED_IDX), htole16(vq->used_idx),
                     __ATOMIC_RELEASE);
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
    virtq_fill(vq, head, len);
    virtq_publish(vq);
}

bool virtq_should_notify(struct virtq *vq)
{
    uint16_t old = vq->signalled_used, event;
    bool notify;

    if (!vq->enabled || old == vq->used_idx)
        return false;
    /* Full barrier: our used->idx store must be visible before we read
     * used_event/flags.  Pairs with the driver's full barrier between
     * writing used_event (or clearing NO_INTERRUPT) and re-reading
     * used->idx (§2.7.10, virtio_mb in Linux's virtqueue_enable_cb). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        event = shared_load16(&vq->avail[AVAIL_RING + vq->size]);
        notify = virtq_need_event(event, vq->used_idx, old);
    } else {
        notify = !(shared_load16(&vq->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    vq->signalled_used = vq->used_idx;
    return notify;
}

bool virtq_unsignalled(const struct virtq *vq)
{
    return vq->enabled && vq->signalled_used != vq->used_idx;
}

uint16_t virtq_avail_idx(const struct virtq *vq)
{
    return vq->enabled ? shared_load16(&vq->avail[1]) : 0;
}

volatile uint16_t *virtq_avail_idx_addr(const struct virtq *vq)
{
    return vq->enabled ? &vq->avail[1] : NULL;
}

void virtq_disable_notify(struct virtq *vq)
{
    if (!vq->enabled)
        return;
    vq->notify_off = true;
    if (!vq->event_idx)
        shared_store16(vq->used, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *vq)
{
    uint16_t avail_idx;

    if (!vq->enabled || vq->broken)
        return false;
    vq->notify_off = false;
    if (vq->event_idx)
        shared_store16(vq->used + USED_RING + USED_ELEM_SIZE * vq->size,
                       vq->last_avail);
    else
        shared_store16(vq->used, 0);
    /* Full barrier: publish avail_event / the cleared flag before looking
     * for new buffers.  Pairs with the driver's full barrier between
     * writing avail->idx and reading avail_event/flags (§2.7.13.4). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail_idx = shared_load16(&vq->avail[1]);
    return avail_idx != vq->last_avail;
}

/* ---- snapshots ---- */

void virtq_save(const struct virtq *vq, struct snap_buf *b)
{
    sb_put_u16(b, vq->size);
    sb_put_u64(b, vq->desc_gpa);
    sb_put_u64(b, vq->avail_gpa);
    sb_put_u64(b, vq->used_gpa);
    sb_put_u8(b, vq->event_idx);
    sb_put_u8(b, vq->indirect);
    sb_put_u8(b, vq->enabled);
    sb_put_u8(b, vq->notify_off);
    sb_put_u8(b, vq->broken);
    sb_put_u16(b, vq->last_avail);
    sb_put_u16(b, vq->used_idx);
    sb_put_u16(b, vq->signalled_used);
}

int virtq_load(struct virtq *vq, const struct dev_env *env, struct snap_rd *r)
{
    struct virtq q = {0};
    uint8_t flags[5];
    int ret;

    q.size = sr_u16(r);
    q.desc_gpa = sr_u64(r);
    q.avail_gpa = sr_u64(r);
    q.used_gpa = sr_u64(r);
    sr_bytes(r, flags, sizeof(flags));
    q.event_idx = flags[0];
    q.indirect = flags[1];
    if (r->err || flags[0] > 1 || flags[1] > 1 || flags[2] > 1 ||
        flags[3] > 1 || flags[4] > 1)
        return -EINVAL;
    if (flags[2]) {
        ret = virtq_enable(&q, env);
        if (ret < 0)
            return ret;
    }
    q.notify_off = flags[3];
    q.broken = flags[4];
    q.last_avail = sr_u16(r);
    q.used_idx = sr_u16(r);
    q.signalled_used = sr_u16(r);
    if (r->err)
        return -EINVAL;
    *vq = q;
    return 0;
}
