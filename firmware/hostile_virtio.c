/* hostile_virtio.c - the hostile guest's attacks on a virtio-mmio device:
 * its register window at every offset and width, its setup (features,
 * queue sizes, ring addresses, notifications before DRIVER_OK) and its
 * rings (descriptor and indirect loops, buffers outside RAM, a reset with
 * requests in flight).  Each must leave vmrun running and the device
 * working (virtio 1.2 §2.1.2, §2.7, §4.2). */
#include "fw.h"
#include "hostile.h"

#define WINDOW 0x1000U
#define CONFIG 0x100U

/* Bytes a transport returns for nothing: all zeros or all ones. */
static bool blank(uint64_t v, int w)
{
    for (int i = 0; i < w; i++, v >>= 8)
        if ((v & 0xff) != 0 && (v & 0xff) != 0xff)
            return false;
    return true;
}

static uint32_t status(const struct hdev *d)
{
    return vio_read32(&d->dev, VIO_STATUS);
}

/* Live and well: DRIVER_OK, no NEEDS_RESET, and a good request works. */
static const char *still_live(struct hdev *d, uint32_t want)
{
    if ((status(d) & 0xff) != want)
        return "the status register changed";
    return dev_works(d);
}

/* Every offset of the window at every width: registers, config space,
 * past config space, and one read across the window's end. */
const char *check_mmio_reads(struct hdev *d)
{
    uint32_t want = status(d) & 0xff;
    uint64_t b = d->dev.base;

    for (uint32_t off = 0; off < WINDOW; off++) {
        for (int w = 1; w <= 8; w *= 2) {
            uint64_t v;
            bool in_cfg = off >= CONFIG && off + w <= CONFIG + d->cfg_len;

            if (off + w > WINDOW)
                break;
            v = vio_mmio_read(b + off, w);
            if (off >= CONFIG && !in_cfg && !blank(v, w))
                return "a read past config space returned data";
        }
    }
    /* The CPU splits an access across a page boundary in two: the high
     * half is the next window's first register. */
    if (!blank(vio_mmio_read(b + WINDOW - 4, 8), 4))
        return "a read across the window's end returned data";
    return still_live(d, want);
}

/* Reads config space byte by byte. */
static void config_snapshot(const struct hdev *d, uint8_t *out)
{
    for (uint32_t i = 0; i < d->cfg_len; i++)
        out[i] = (uint8_t)vio_mmio_read(d->dev.base + CONFIG + i, 1);
}

/* Writes of all ones: at widths the transport does not take (1, 2, 8)
 * to every register, at width 4 to every register but Status (ignored
 * or harmless while DRIVER_OK is set), to every config offset at every
 * width; config space must not change and the device must keep working.
 * Finally garbage in Status: a reset must bring the device back. */
const char *check_mmio_writes(struct hdev *d)
{
    uint32_t want = status(d) & 0xff;
    uint64_t b = d->dev.base;
    uint8_t before[64], after[64];
    const char *e;

    config_snapshot(d, before);
    for (uint32_t off = 0; off < CONFIG; off++)
        for (int w = 1; w <= 8; w *= 2)
            if (w != 4 && off + w <= CONFIG)
                vio_mmio_write(b + off, w, ~0ULL);
    e = still_live(d, want);
    if (e)
        return e;
    for (uint32_t off = 0; off < CONFIG; off += 4)
        if (off != VIO_STATUS)
            vio_write32(&d->dev, off, 0xffffffff);
    e = still_live(d, want);
    if (e)
        return e;
    for (uint32_t off = CONFIG; off < WINDOW; off++)
        for (int w = 1; w <= 8; w *= 2)
            if (off + w <= WINDOW)
                vio_mmio_write(b + off, w, ~0ULL);
    vio_mmio_write(b + WINDOW - 4, 8, ~0ULL); /* across the end */
    config_snapshot(d, after);
    for (uint32_t i = 0; i < d->cfg_len; i++)
        if (before[i] != after[i])
            return "a config write changed config space";
    e = still_live(d, want);
    if (e)
        return e;
    vio_write32(&d->dev, VIO_STATUS, 0xffffffff);
    return dev_recover(d);
}

/* FEATURES_OK with a bit never offered, and without VERSION_1 (§2.2.1,
 * §6.1), must read back clear; DRIVER_OK without FEATURES_OK must not
 * stick. */
const char *check_features(struct hdev *d)
{
    uint64_t want = VIO_BIT(VIO_F_VERSION_1), extra = 0;
    const char *e = 0;

    for (int bit = 63; bit >= 0 && !extra; bit--)
        if (!(d->dev.offered & VIO_BIT(bit)))
            extra = VIO_BIT(bit);
    if (!extra)
        return "the device offers every feature bit";
    for (int i = 0; i < 3 && !e; i++) {
        vio_reset(&d->dev);
        vio_write32(&d->dev, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER);
        if (i < 2 && (vio_try_features(&d->dev, i == 0 ? want | extra : 0) &
                      VIO_S_FEATURES_OK))
            e = i == 0 ? "FEATURES_OK accepted a bit never offered"
                       : "FEATURES_OK accepted without VERSION_1";
        if (!e && (vio_driver_ok(&d->dev) & VIO_S_DRIVER_OK))
            e = "DRIVER_OK accepted without FEATURES_OK";
    }
    if (!e) { /* every bit the device does not offer, one at a time */
        for (int bit = 0; bit < 64 && !e; bit++) {
            if (d->dev.offered & VIO_BIT(bit))
                continue;
            vio_reset(&d->dev);
            vio_write32(&d->dev, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER);
            if (vio_try_features(&d->dev, want | VIO_BIT(bit)) &
                VIO_S_FEATURES_OK)
                e = "FEATURES_OK accepted a bit never offered";
        }
    }
    return e ? (dev_recover(d), e) : dev_recover(d);
}

static void program_queue(const struct hdev *d, const struct vio_vq *vq,
                          uint32_t num, const uint64_t *a)
{
    static const uint32_t regs[3] = {VIO_QUEUE_DESC_LOW, VIO_QUEUE_DRIVER_LOW,
                                     VIO_QUEUE_DEVICE_LOW};

    vio_write32(&d->dev, VIO_QUEUE_SEL, vq->index);
    vio_write32(&d->dev, VIO_QUEUE_NUM, num);
    for (int k = 0; k < 3; k++) {
        vio_write32(&d->dev, regs[k], (uint32_t)a[k]);
        vio_write32(&d->dev, regs[k] + 4, (uint32_t)(a[k] >> 32));
    }
    vio_write32(&d->dev, VIO_QUEUE_READY, 1);
}

static bool queue_live(const struct hdev *d)
{
    return vio_read32(&d->dev, VIO_QUEUE_READY) == 1 &&
           !(status(d) & VIO_S_NEEDS_RESET);
}

/* QueueNum 0, not a power of two, above QueueNumMax: ignored or the queue
 * refused; if it goes live its size is one the device allows. */
const char *check_queue_size(struct hdev *d)
{
    struct vio_vq *vq = &d->vq[d->work_q];
    const char *e = 0;
    uint32_t max;

    vio_write32(&d->dev, VIO_QUEUE_SEL, d->work_q);
    max = vio_read32(&d->dev, VIO_QUEUE_NUM_MAX);
    const uint32_t bad[] = {0, 3, 100, max + 1, 2 * max, 65535, 0xffffffff};

    for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t a[3];
        uint32_t n;

        e = dev_negotiate(d);
        if (e)
            break;
        a[0] = addr(vq->desc);
        a[1] = addr(vq->avail);
        a[2] = addr(vq->used);
        program_queue(d, vq, bad[i], a);
        if (!queue_live(d))
            continue;
        n = vio_read32(&d->dev, VIO_QUEUE_NUM);
        if (n == 0 || n > max || (n & (n - 1)))
            e = "a queue went live with a size the device cannot have";
    }
    return e ? (dev_recover(d), e) : dev_recover(d);
}

/* Each ring area outside RAM, in the MMIO hole, straddling the end of RAM,
 * wrapping the address space or misaligned: QueueReady must not stick,
 * or the device must ask for a reset. */
const char *check_ring_outside_ram(struct hdev *d, uint64_t top)
{
    struct vio_vq *vq = &d->vq[d->work_q];
    const uint64_t bad[] = {NO_RAM,     DEBUG_EXIT,    top - 64,
                            ~0ULL - 15, 0xc0000000ULL, 0};
    const char *e = 0;

    for (unsigned int r = 0; !e && r < 3; r++) {
        for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
            uint64_t a[3];

            e = dev_negotiate(d);
            if (e)
                break;
            a[0] = addr(vq->desc);
            a[1] = addr(vq->avail);
            a[2] = addr(vq->used);
            /* bad[] ends with 0: the right area, misaligned. */
            a[r] = bad[i] ? bad[i] : a[r] + (r == 0 ? 8 : 1);
            program_queue(d, vq, QS, a);
            if (queue_live(d))
                e = "a ring outside RAM or misaligned was accepted";
        }
    }
    return e ? (dev_recover(d), e) : dev_recover(d);
}

/* A good request made available and notified before DRIVER_OK is not
 * touched (§3.1.2); notifications of queues that do not exist change
 * nothing; after DRIVER_OK the request is served. */
const char *check_notify_early(struct hdev *d)
{
    const uint32_t missing[] = {d->nq, 7, 8, 0xffff, 0x10000, 0xffffffff};
    struct vio_vq *vq = &d->vq[d->work_q];
    struct vio_seg s[3];
    unsigned int n;
    uint32_t id, len;
    const char *e = dev_negotiate(d);

    for (uint16_t q = 0; !e && q < d->nq; q++)
        if (vio_vq_program(&d->dev, &d->vq[q], QS) < 0)
            e = "QueueReady refused";
    if (e)
        return e;
    n = dev_work_chain(d, s);
    vio_chain_set(vq->desc, s, n);
    vio_vq_add(vq, 0);
    vio_vq_publish(vq);
    vio_vq_kick(&d->dev, vq, 0, true);
    for (unsigned int i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        vio_write32(&d->dev, VIO_QUEUE_NOTIFY, missing[i]);
    if (vio_vq_wait(&d->dev, vq, WAIT_SHORT, &id, &len) != VIO_WAIT_TIMEOUT)
        e = "the device acted before DRIVER_OK";
    if (!e && !(vio_driver_ok(&d->dev) & VIO_S_DRIVER_OK))
        e = "DRIVER_OK refused";
    for (unsigned int i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        vio_write32(&d->dev, VIO_QUEUE_NOTIFY, missing[i]);
    vio_vq_kick(&d->dev, vq, 0, true);
    if (!e && vio_vq_wait(&d->dev, vq, WAIT_LONG, &id, &len) != VIO_WAIT_USED)
        e = "the request was not served after DRIVER_OK";
    return e ? (dev_recover(d), e) : dev_works(d);
}

/* The first segment of the good request, for malformed chains. */
static struct vio_seg work_seg(struct hdev *d)
{
    struct vio_seg s[3];

    dev_work_chain(d, s);
    return s[0];
}

/* Descriptor loops: two descriptors pointing at each other, one at
 * itself, a next index beyond the table, every descriptor in one chain
 * that ends by pointing back at the first. */
const char *check_desc_loop(struct hdev *d)
{
    volatile struct vring_desc *t = d->vq[d->work_q].desc;
    struct vio_seg s = work_seg(d);
    const uint16_t nf = VRING_DESC_F_NEXT;
    const char *e;

    vio_desc_set(t, 0, s.addr, s.len, s.flags | nf, 1);
    vio_desc_set(t, 1, s.addr, s.len, s.flags | nf, 0);
    e = dev_verdict(d, dev_submit(d, 0));
    t = d->vq[d->work_q].desc; /* the rings may have moved */
    if (!e) {
        vio_desc_set(t, 0, s.addr, s.len, s.flags | nf, 0);
        e = dev_verdict(d, dev_submit(d, 0));
        t = d->vq[d->work_q].desc;
    }
    if (!e) {
        vio_desc_set(t, 0, s.addr, s.len, s.flags | nf, QS + 5);
        e = dev_verdict(d, dev_submit(d, 0));
        t = d->vq[d->work_q].desc;
    }
    if (!e) {
        for (uint16_t i = 0; i < QS; i++)
            vio_desc_set(t, i, s.addr, s.len, s.flags | nf,
                         (uint16_t)((i + 1) % QS));
        e = dev_verdict(d, dev_submit(d, 0));
    }
    return e;
}

/* Indirect tables (§2.7.5.3): one whose entry is the table itself
 * (nested), a loop inside a table, a nested table, INDIRECT with NEXT,
 * lengths that are not a multiple of 16 or zero, tables outside RAM or
 * straddling its end, a next index beyond the table. */
const char *check_indirect(struct hdev *d, uint64_t top)
{
    struct vio_seg s = work_seg(d);
    const uint16_t nf = VRING_DESC_F_NEXT, ind = VRING_DESC_F_INDIRECT;
    const uint64_t t0 = addr(h_itab[0]), t1 = addr(h_itab[1]);
    const struct {
        uint64_t a;
        uint32_t len;
        uint16_t flags;
    } bad[] = {{t0, 16, ind},        {t0, 32, ind},       {t0, 16, ind},
               {t1, 16, ind | nf},   {t1, 40, ind},       {t1, 0, ind},
               {NO_RAM, 32, ind},    {top - 16, 48, ind}, {t0, 32, ind},
               {DEBUG_EXIT, 16, ind}};
    const char *e = 0;

    if (!(d->dev.features & VIO_BIT(VIO_F_INDIRECT_DESC)))
        return "INDIRECT_DESC not negotiated";
    for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
        volatile struct vring_desc *t = d->vq[d->work_q].desc;

        vio_desc_set(h_itab[1], 0, s.addr, s.len, s.flags, 0);
        switch (i) {
        case 0: /* the table's entry is the table */
            vio_desc_set(h_itab[0], 0, t0, 16, ind, 0);
            break;
        case 1: /* 0 -> 1 -> 0 */
            vio_desc_set(h_itab[0], 0, s.addr, s.len, s.flags | nf, 1);
            vio_desc_set(h_itab[0], 1, s.addr, s.len, s.flags | nf, 0);
            break;
        case 2: /* a good table inside a table */
            vio_desc_set(h_itab[0], 0, t1, 16, ind, 0);
            break;
        case 8: /* next beyond the table's two entries */
            vio_desc_set(h_itab[0], 0, s.addr, s.len, s.flags | nf, 5);
            vio_desc_set(h_itab[0], 1, s.addr, s.len, s.flags, 0);
            break;
        }
        vio_desc_set(t, 0, bad[i].a, bad[i].len, bad[i].flags, 1);
        vio_desc_set(t, 1, s.addr, s.len, s.flags, 0);
        e = dev_verdict(d, dev_submit(d, 0));
    }
    return e;
}

/* One-segment chains whose buffer is outside RAM, in the MMIO hole, over
 * the debug-exit register, straddling the end of RAM, wrapping the
 * address space, running from RAM to far past its end, or empty. */
const char *check_buffers_outside_ram(struct hdev *d, uint64_t top)
{
    struct vio_seg s = work_seg(d);
    const struct {
        uint64_t a;
        uint32_t len;
    } bad[] = {{NO_RAM, 64},           {DEBUG_EXIT, 1},
               {0xc0000000ULL, 64},    {top - 8, 64},
               {~0ULL - 0xff, 0x1000}, {addr(h_buf[2]), 0xffffffffu},
               {addr(h_buf[2]), 0}};
    const char *e = 0;

    for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
        vio_desc_set(d->vq[d->work_q].desc, 0, bad[i].a, bad[i].len, s.flags,
                     0);
        e = dev_verdict(d, dev_submit(d, 0));
    }
    return e;
}

/* The requests of check_reset_in_flight: the whole queue's worth. */
static uint16_t fill_queue(struct hdev *d, struct vio_vq *vq)
{
    uint16_t n = 0;

    for (uint16_t k = 0; k < QS && k < NBUF; k++) {
        uint8_t *b = h_buf[k];

        if (d->id == 1) { /* net: header and frame in one buffer */
            for (int i = 0; i < 72; i++)
                b[i] = i >= 12 && i < 18 ? 0xff : (uint8_t)k;
            vio_desc_set(vq->desc, k, addr(b), 72, 0, 0);
        } else if (d->id == 3) { /* console: a 256-byte line */
            for (int i = 0; i < 255; i++)
                b[i] = 'r';
            b[255] = '\n';
            vio_desc_set(vq->desc, k, addr(b), 256, 0, 0);
        } else { /* rng: 4 KiB each */
            vio_desc_set(vq->desc, k, addr(b), BUFSZ, W, 0);
        }
        vio_vq_add(vq, k);
        n++;
    }
    return n;
}

/* Status 0 with a full queue in flight (§2.4): the device stops and never
 * writes the old rings again; the driver starts afresh on new rings. */
const char *check_reset_in_flight(struct hdev *d)
{
    struct vio_vq old = d->vq[d->work_q];
    uint16_t idx, n = fill_queue(d, &old);
    const char *e;

    vio_vq_publish(&old);
    vio_vq_kick(&d->dev, &old, (uint16_t)(old.avail_idx - n), true);
    vio_reset(&d->dev);
    if (status(d) != 0)
        return "status not 0 after reset";
    idx = vio_vq_used_idx(&old);
    for (uint64_t t0 = vio_rdtsc(); vio_rdtsc() - t0 < WAIT_SHORT;)
        __asm__ volatile("pause");
    if (vio_vq_used_idx(&old) != idx)
        return "the device wrote the used ring after reset";
    d->ring ^= 1;
    e = dev_init(d);
    if (!e)
        e = dev_works(d);
    if (!e && vio_vq_used_idx(&old) != idx)
        e = "the device wrote the old used ring after re-initialisation";
    fw_puts("vmrun-firmware: hostile: ");
    fw_puts(d->name);
    fw_puts(": reset-in-flight: ");
    fw_put_dec((uint16_t)(idx - old.last_used));
    fw_puts(" of ");
    fw_put_dec(n);
    fw_puts(" completed before the reset\n");
    return e;
}
