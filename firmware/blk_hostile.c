/* blk_hostile.c - the blk guest's malformed requests and setups: each
 * must fail alone or make the device ask for a reset, and a good request
 * must work afterwards (virtio 1.2 §2.1.2). */
#include "blk.h"
#include "fw.h"

static const char *blk_recover(struct blk *b, bool reset)
{
    const char *e;

    if (reset) {
        e = blk_init(b);
        if (e)
            return e;
    }
    e = blk_verify(b, 0, 8);
    return e ? e : 0;
}

/* The configuration-change interrupt that must follow DEVICE_NEEDS_RESET
 * (§2.1.2) shows in InterruptStatus; it may trail the status bit. */
static bool blk_config_irq(struct blk *b)
{
    for (uint64_t t0 = vio_rdtsc(); vio_rdtsc() - t0 < WAIT_LONG;)
        if (vio_read32(&b->dev, VIO_INTERRUPT_STATUS) & VIO_INT_CONFIG)
            return true;
    return false;
}

/* A malformed request must fail alone (completed with a status other than
 * OK, or none) or make the device set DEVICE_NEEDS_RESET, with a
 * configuration-change interrupt since DRIVER_OK is set (§2.1.2).  Either
 * way a good request must work afterwards (after a reset if asked). */
static const char *hostile_verdict(struct blk *b, enum vio_wait w, uint8_t st)
{
    const char *why = 0, *e;
    bool reset = w != VIO_WAIT_USED ||
                 (vio_read32(&b->dev, VIO_STATUS) & VIO_S_NEEDS_RESET);

    if (w == VIO_WAIT_TIMEOUT)
        why = "neither completed nor DEVICE_NEEDS_RESET (hang?)";
    else if (w == VIO_WAIT_USED && st == S_OK)
        why = "malformed request succeeded";
    else if (reset && !blk_config_irq(b))
        why = "DEVICE_NEEDS_RESET without a config-change interrupt";
    e = blk_recover(b, reset);
    return why ? why : e;
}

static const char *attack_chain(struct blk *b, const struct vio_seg *s,
                                unsigned int n)
{
    uint8_t st;
    uint32_t len;
    enum vio_wait w = blk_chain(b, s, n, &st, &len);

    return hostile_verdict(b, w, st);
}

/* Chain (head) of hand-written descriptors; status byte blk_status[0]. */
static const char *attack_head(struct blk *b, uint16_t head)
{
    uint32_t len;
    enum vio_wait w;

    blk_status[0] = S_UNTOUCHED;
    w = blk_submit(b, head, &len);
    return hostile_verdict(b, w, blk_status[0]);
}

/* [header][data][status] with the given addresses; the header (type,
 * HOSTILE_SECTOR) is blk_hdrs[0] unless (hdr) says otherwise. */
static const char *attack_rw(struct blk *b, uint32_t type, uint64_t hdr,
                             uint64_t buf, uint32_t len, uint64_t st)
{
    struct vio_seg s[3] = {
        {hdr ? hdr : addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
        {buf, len, type == T_OUT ? 0 : W},
        {st ? st : addr(&blk_status[0]), 1, W}};

    blk_hdrs[0] = (struct blk_hdr){.type = type, .sector = HOSTILE_SECTOR};
    return attack_chain(b, s, 3);
}

const char *check_outside_ram(struct blk *b)
{
    const char *e = attack_rw(b, T_IN, 0, DEBUG_EXIT, SECTOR, 0);

    if (!e)
        e = attack_rw(b, T_IN, 0, NO_RAM, SECTOR, 0);
    if (!e)
        e = attack_rw(b, T_OUT, 0, NO_RAM, SECTOR, 0);
    if (!e)
        e = attack_rw(b, T_IN, 0, addr(blk_data[4]), SECTOR, NO_RAM);
    if (!e)
        e = attack_rw(b, T_IN, 0xc0000000ULL, addr(blk_data[4]), SECTOR, 0);
    return e;
}

const char *check_ram_end(struct blk *b)
{
    uint64_t top = b->ram_top;
    uint8_t st;
    const char *e;

    /* Control: the last 512 bytes of RAM are a fine buffer. */
    e = blk_io(b, T_IN, 0, (void *)(uintptr_t)(top - SECTOR), SECTOR, &st);
    if (e || st != S_OK)
        return e ? e : "read into the last sector of RAM failed";
    e = attack_rw(b, T_IN, 0, top - 256, SECTOR, 0);
    if (!e)
        e = attack_rw(b, T_OUT, 0, top - 256, SECTOR, 0);
    if (!e)
        e = attack_rw(b, T_IN, 0, addr(blk_data[4]), SECTOR, top);
    if (!e)
        e = attack_rw(b, T_IN, top - 8, addr(blk_data[4]), SECTOR, 0);
    return e;
}

const char *check_wrap(struct blk *b)
{
    struct vio_seg s[4] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                           {addr(blk_data[4]), 0x80000000u, W},
                           {addr(blk_data[5]), 0x80000000u, W},
                           {addr(&blk_status[0]), 1, W}};
    const char *e = attack_rw(b, T_IN, 0, ~0ULL - 0x1ff, 0x400, 0);

    if (!e)
        e = attack_rw(b, T_IN, 0, addr(blk_data[4]), 0xffffffffu, 0);
    if (!e)
        e = attack_rw(b, T_OUT, 0, addr(blk_data[4]), 0xfffffe00u, 0);
    if (!e)
        e = attack_chain(b, s, 4); /* total length wraps 32 bits */
    return e;
}

const char *check_loop(struct blk *b)
{
    volatile struct vring_desc *t = b->vq.desc;
    const char *e;

    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    vio_desc_set(t, 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT, 1);
    vio_desc_set(t, 1, addr(blk_data[4]), SECTOR, W | VRING_DESC_F_NEXT, 2);
    vio_desc_set(t, 2, addr(&blk_status[0]), 1, W | VRING_DESC_F_NEXT, 0);
    e = attack_head(b, 0);
    if (!e) {
        vio_desc_set(b->vq.desc, 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT,
                     0);
        e = attack_head(b, 0); /* a descriptor pointing at itself */
    }
    if (!e) {
        vio_desc_set(b->vq.desc, 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT,
                     QSIZE + 5); /* next beyond the table */
        e = attack_head(b, 0);
    }
    if (!e) { /* a loop inside an indirect table */
        vio_desc_set(blk_itab[0], 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT,
                     1);
        vio_desc_set(blk_itab[0], 1, addr(blk_data[4]), SECTOR,
                     W | VRING_DESC_F_NEXT, 0);
        vio_desc_set(b->vq.desc, 0, addr(blk_itab[0]), 2 * 16,
                     VRING_DESC_F_INDIRECT, 0);
        e = attack_head(b, 0);
    }
    return e;
}

/* An indirect table of (n) entries: header, (n - 2) sectors, status. */
static void itab_long(unsigned int n)
{
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    vio_desc_set(blk_itab[0], 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT, 1);
    for (unsigned int i = 1; i + 1 < n; i++)
        vio_desc_set(blk_itab[0], (uint16_t)i,
                     addr(blk_data[0]) + (i - 1) * SECTOR, SECTOR,
                     W | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    vio_desc_set(blk_itab[0], (uint16_t)(n - 1), addr(&blk_status[0]), 1, W, 0);
}

const char *check_long_chain(struct blk *b)
{
    volatile struct vring_desc *t = b->vq.desc;
    const char *e;

    /* Every descriptor of the queue in one chain: more than seg_max. */
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    vio_desc_set(t, 0, addr(&blk_hdrs[0]), 16, VRING_DESC_F_NEXT, 1);
    for (uint16_t i = 1; i + 1 < QSIZE; i++)
        vio_desc_set(t, i, addr(blk_data[0]) + (i - 1) * SECTOR, SECTOR,
                     W | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    vio_desc_set(t, QSIZE - 1, addr(&blk_status[0]), 1, W, 0);
    e = attack_head(b, 0);
    if (!e) { /* an indirect chain longer than the queue */
        itab_long(QSIZE + 44);
        vio_desc_set(b->vq.desc, 0, addr(blk_itab[0]), (QSIZE + 44) * 16,
                     VRING_DESC_F_INDIRECT, 0);
        e = attack_head(b, 0);
    }
    if (!e) { /* an indirect table longer than vmrun walks */
        itab_long(ITAB);
        vio_desc_set(b->vq.desc, 0, addr(blk_itab[0]), ITAB * 16,
                     VRING_DESC_F_INDIRECT, 0);
        e = attack_head(b, 0);
    }
    return e;
}

const char *check_nested_indirect(struct blk *b)
{
    struct vio_seg s[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                           {addr(blk_data[4]), SECTOR, W},
                           {addr(&blk_status[0]), 1, W}};
    const struct {
        uint64_t a;
        uint32_t len;
        uint16_t flags;
    } bad[] = {
        {addr(blk_itab[0]), 16, VRING_DESC_F_INDIRECT}, /* table in table */
        {addr(blk_itab[1]), 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT},
        {addr(blk_itab[1]), 40, VRING_DESC_F_INDIRECT}, /* not n * 16 */
        {addr(blk_itab[1]), 0, VRING_DESC_F_INDIRECT},
        {NO_RAM, 48, VRING_DESC_F_INDIRECT},
        {b->ram_top - 16, 48, VRING_DESC_F_INDIRECT}};
    const char *e = 0;

    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
        vio_chain_set(blk_itab[1], s, 3);
        vio_desc_set(blk_itab[0], 0, addr(blk_itab[1]), 48,
                     VRING_DESC_F_INDIRECT, 0);
        vio_desc_set(b->vq.desc, 0, bad[i].a, bad[i].len, bad[i].flags, 1);
        vio_desc_set(b->vq.desc, 1, addr(&blk_status[1]), 1, W, 0);
        e = attack_head(b, 0);
    }
    return e;
}

const char *check_status_readable(struct blk *b)
{
    struct vio_seg in[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                            {addr(blk_data[4]), SECTOR, W},
                            {addr(&blk_status[0]), 1, 0}};
    struct vio_seg out[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                             {addr(blk_data[4]), SECTOR, 0},
                             {addr(&blk_status[0]), 1, 0}};
    struct vio_seg hdr_w[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), W},
                               {addr(blk_data[4]), SECTOR, W},
                               {addr(&blk_status[0]), 1, W}};
    const char *e;

    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    e = attack_chain(b, in, 3);
    if (!e) { /* a write with nothing writable: must not reach the disk */
        fill_bytes(blk_data[4], SECTOR, 0x5a);
        blk_hdrs[0] = (struct blk_hdr){.type = T_OUT, .sector = HOSTILE_SECTOR};
        e = attack_chain(b, out, 3);
    }
    if (!e) {
        blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
        e = attack_chain(b, hdr_w, 3);
    }
    return e;
}

const char *check_short_header(struct blk *b)
{
    struct vio_seg s8[2] = {{addr(&blk_hdrs[0]), 8, 0},
                            {addr(&blk_status[0]), 1, W}};
    struct vio_seg s0[2] = {{addr(&blk_hdrs[0]), 0, 0},
                            {addr(&blk_status[0]), 1, W}};
    struct vio_seg split[4] = {{addr(&blk_hdrs[0]), 8, 0},
                               {addr(&blk_hdrs[0]) + 8, 8, 0},
                               {addr(blk_scratch), SECTOR, W},
                               {addr(&blk_status[0]), 1, W}};
    uint32_t len;
    uint8_t st;
    const char *e;

    blk_hdrs[0] = (struct blk_hdr){.type = T_OUT, .sector = HOSTILE_SECTOR};
    e = attack_chain(b, s8, 2);
    if (!e)
        e = attack_chain(b, s0, 2);
    if (!e) /* data that is not a whole number of sectors */
        e = attack_rw(b, T_OUT, 0, addr(blk_data[4]), 100, 0);
    if (e)
        return e;
    /* Control: a header split over two descriptors is legal (§2.6.4). */
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 1000};
    if (blk_chain(b, split, 4, &st, &len) != VIO_WAIT_USED || st != S_OK)
        return "header split over two descriptors failed";
    return pattern_check(blk_scratch, 1000, 1) ? "data differs" : 0;
}

/* avail->idx moves by more than the queue size: a ring no driver can
 * have written (§2.7.6). */
const char *check_avail_jump(struct blk *b)
{
    struct vio_seg s[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                           {addr(blk_data[4]), SECTOR, W},
                           {addr(&blk_status[0]), 1, W}};
    uint32_t id, len;
    enum vio_wait w;

    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    vio_chain_set(b->vq.desc, s, 3);
    blk_status[0] = S_UNTOUCHED;
    vio_vq_add(&b->vq, 0);
    b->vq.avail_idx += QSIZE + 1;
    vio_vq_publish(&b->vq);
    vio_vq_kick(&b->dev, &b->vq, 0, true);
    w = vio_vq_wait(&b->dev, &b->vq, WAIT_LONG, &id, &len);
    return hostile_verdict(b, w, blk_status[0]);
}

/* ---- malformed setup and register accesses ---- */

/* Reset, ACKNOWLEDGE, DRIVER, our features, FEATURES_OK; the queue is
 * laid out in blk_rings[b->ring] but not yet given to the device. */
static const char *blk_negotiate_only(struct blk *b)
{
    if (vio_negotiate(&b->dev, b->wanted) < 0)
        return "FEATURES_OK refused";
    vio_vq_layout(&b->dev, &b->vq, 0, QSIZE, blk_rings[b->ring]);
    return 0;
}

/* A request made available and notified before DRIVER_OK: the device must
 * not touch it (§3.1.2: no used buffers before DRIVER_OK); after DRIVER_OK
 * and a kick it is served. */
const char *check_notify_early(struct blk *b)
{
    struct vio_seg s[3] = {{addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0},
                           {addr(blk_scratch), 8 * SECTOR, W},
                           {addr(&blk_status[0]), 1, W}};
    uint32_t id, len;
    const char *e = blk_negotiate_only(b);

    if (e || vio_vq_program(&b->dev, &b->vq, QSIZE) < 0)
        return e ? e : "queue 0 setup refused";
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 8};
    fill_bytes(blk_scratch, 8 * SECTOR, 0);
    vio_chain_set(b->vq.desc, s, 3);
    blk_status[0] = S_UNTOUCHED;
    vio_vq_add(&b->vq, 0);
    vio_vq_publish(&b->vq);
    vio_vq_kick(&b->dev, &b->vq, 0, true);
    if (vio_vq_wait(&b->dev, &b->vq, WAIT_SHORT, &id, &len) != VIO_WAIT_TIMEOUT)
        e = "device acted before DRIVER_OK";
    vio_write32(&b->dev, VIO_QUEUE_NOTIFY, 0); /* and again */
    if (!e && vio_vq_used_idx(&b->vq) != 0)
        e = "device used a buffer before DRIVER_OK";
    if (!e && !(vio_driver_ok(&b->dev) & VIO_S_DRIVER_OK))
        e = "DRIVER_OK refused";
    vio_vq_kick(&b->dev, &b->vq, 0, true);
    if (!e &&
        (vio_vq_wait(&b->dev, &b->vq, WAIT_LONG, &id, &len) != VIO_WAIT_USED ||
         blk_status[0] != S_OK || pattern_check(blk_scratch, 8, 8)))
        e = "request not served after DRIVER_OK";
    return e ? (blk_recover(b, true), e) : blk_recover(b, false);
}

/* QueueNum values that are not a power of two or exceed QueueNumMax.  The
 * device may ignore the write or refuse the queue; if the queue goes live
 * anyway it must be usable with the size the rings were laid out for. */
const char *check_queue_size(struct blk *b)
{
    const uint32_t bad[] = {100, 0, 3, QSIZE + 1, 2 * QSIZE, 65535};
    const char *e = 0;

    for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
        e = blk_negotiate_only(b);
        if (e)
            break;
        vio_write32(&b->dev, VIO_QUEUE_SEL, 0);
        vio_write32(&b->dev, VIO_QUEUE_NUM, bad[i]);
        vio_write32(&b->dev, VIO_QUEUE_DESC_LOW, (uint32_t)addr(b->vq.desc));
        vio_write32(&b->dev, VIO_QUEUE_DRIVER_LOW, (uint32_t)addr(b->vq.avail));
        vio_write32(&b->dev, VIO_QUEUE_DEVICE_LOW, (uint32_t)addr(b->vq.used));
        vio_write32(&b->dev, VIO_QUEUE_READY, 1);
        if (vio_read32(&b->dev, VIO_QUEUE_READY) != 1 ||
            (vio_read32(&b->dev, VIO_STATUS) & VIO_S_NEEDS_RESET))
            continue; /* refused: fine */
        /* Live: wrap the ring once to see that it works at QSIZE. */
        vio_driver_ok(&b->dev);
        for (unsigned int k = 0; !e && k < QSIZE + 8; k++)
            e = blk_verify(b, 0, 1);
    }
    return e ? e : blk_recover(b, true);
}

/* FEATURES_OK with a bit never offered, and without VERSION_1 (§2.2.1,
 * §6.1: no legacy interface), must be refused; DRIVER_OK without
 * FEATURES_OK must not stick. */
const char *check_bad_features(struct blk *b)
{
    uint64_t extra = 0;
    const char *e = 0;

    for (int bit = 63; bit >= 0 && !extra; bit--)
        if (!(b->dev.offered & VIO_BIT(bit)))
            extra = VIO_BIT(bit);
    for (int i = 0; i < 3 && !e; i++) {
        vio_reset(&b->dev);
        vio_write32(&b->dev, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER);
        if (i < 2) {
            uint64_t f = i == 0 ? b->wanted | extra
                                : b->wanted & ~VIO_BIT(VIO_F_VERSION_1);
            if (vio_try_features(&b->dev, f) & VIO_S_FEATURES_OK)
                e = i == 0 ? "FEATURES_OK accepted a bit never offered"
                           : "FEATURES_OK accepted without VERSION_1";
        }
        if (!e && (vio_driver_ok(&b->dev) & VIO_S_DRIVER_OK))
            e = "DRIVER_OK accepted without FEATURES_OK";
    }
    return e ? (blk_recover(b, true), e) : blk_recover(b, true);
}

static bool bytes_blank(uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        if ((v & 0xff) != 0 && (v & 0xff) != 0xff)
            return false;
    return true;
}

/* Config space has CFG_LEN bytes: reads past them (or straddling the
 * end, or the window's end) must not leak anything, writes there and to
 * the read-only fields must change nothing. */
const char *check_config_past_end(struct blk *b)
{
    uint64_t cfg = BLK_BASE + VIO_CONFIG;
    uint32_t gen = vio_read32(&b->dev, VIO_CONFIG_GENERATION);

    for (int w = 1; w <= 8; w *= 2) {
        for (uint32_t off = CFG_LEN - w + 1; off < 0x200; off++)
            if (!bytes_blank(vio_mmio_read(cfg + off, w), w))
                return "config read past the end returned data";
        for (uint32_t off = 0x200; off + w <= VIO_WINDOW - VIO_CONFIG;
             off += 61)
            if (!bytes_blank(vio_mmio_read(cfg + off, w), w))
                return "config read past the end returned data";
        if (!bytes_blank(vio_mmio_read(BLK_BASE + VIO_WINDOW - w / 2, w), w))
            return "read across the window's end returned data";
        vio_mmio_write(cfg + CFG_LEN - w / 2, w, ~0ULL);
        vio_mmio_write(cfg + 0x800, w, ~0ULL);
        vio_mmio_write(cfg + CFG_CAPACITY, w, 0x1234);
        vio_mmio_write(BLK_BASE + VIO_WINDOW - w / 2, w, ~0ULL);
    }
    if (*(volatile uint64_t *)(uintptr_t)(cfg + CFG_CAPACITY) != b->capacity)
        return "a config write changed the capacity";
    if (vio_read32(&b->dev, VIO_CONFIG_GENERATION) != gen)
        return "config generation changed";
    return blk_recover(b, false);
}

/* Rings outside RAM, straddling its end, or misaligned (§2.7): QueueReady
 * must not stick, or the device must ask for a reset. */
const char *check_ring_outside_ram(struct blk *b)
{
    const uint64_t top = b->ram_top;
    const uint32_t regs[] = {VIO_QUEUE_DESC_LOW, VIO_QUEUE_DRIVER_LOW,
                             VIO_QUEUE_DEVICE_LOW};
    const uint64_t bad[] = {NO_RAM, DEBUG_EXIT, top - 64, ~0ULL - 15, 0};
    const char *e = 0;

    for (unsigned int r = 0; !e && r < 3; r++) {
        for (unsigned int i = 0; !e && i < sizeof(bad) / sizeof(bad[0]); i++) {
            uint64_t a[3];

            e = blk_negotiate_only(b);
            if (e)
                break;
            a[0] = addr(b->vq.desc);
            a[1] = addr(b->vq.avail);
            a[2] = addr(b->vq.used);
            /* bad[] ends with 0: the right area, misaligned. */
            a[r] = bad[i] ? bad[i] : a[r] + (r == 0 ? 8 : 1);
            vio_write32(&b->dev, VIO_QUEUE_SEL, 0);
            vio_write32(&b->dev, VIO_QUEUE_NUM, QSIZE);
            for (int k = 0; k < 3; k++) {
                vio_write32(&b->dev, regs[k], (uint32_t)a[k]);
                vio_write32(&b->dev, regs[k] + 4, (uint32_t)(a[k] >> 32));
            }
            vio_write32(&b->dev, VIO_QUEUE_READY, 1);
            if (vio_read32(&b->dev, VIO_QUEUE_READY) == 1 &&
                !(vio_read32(&b->dev, VIO_STATUS) & VIO_S_NEEDS_RESET))
                e = "a ring outside RAM or misaligned was accepted";
        }
    }
    return e ? (blk_recover(b, true), e) : blk_recover(b, true);
}

/* Every register with every width, notifications of queues that do not
 * exist, writes to read-only registers: the device ignores what it does
 * not understand and keeps working without a reset. */
const char *check_registers(struct blk *b)
{
    const uint32_t notify[] = {1, 7, 8, 0xffff, 0x10000, 0xffffffff};

    for (uint32_t off = 0; off < VIO_CONFIG; off += 4) {
        for (int w = 1; w <= 8; w *= 2) {
            if (w != 4)
                (void)vio_mmio_read(b->dev.base + off + (w == 1 ? 3 : 0), w);
            else
                (void)vio_mmio_read(b->dev.base + off, w);
        }
        if (off == VIO_STATUS || off == VIO_QUEUE_READY ||
            off == VIO_QUEUE_SEL ||
            (off >= VIO_QUEUE_NUM && off <= VIO_QUEUE_DEVICE_HIGH))
            continue; /* would legitimately change the device */
        if (off == VIO_DRIVER_FEATURES || off == VIO_QUEUE_NOTIFY)
            continue;
        vio_write32(&b->dev, off, 0xffffffff);
    }
    for (int w = 1; w <= 8; w *= 2) { /* odd widths on live registers */
        if (w == 4)
            continue;
        vio_mmio_write(b->dev.base + VIO_STATUS, w, 0);
        vio_mmio_write(b->dev.base + VIO_QUEUE_READY, w, 0);
        vio_mmio_write(b->dev.base + VIO_QUEUE_NOTIFY, w, 0);
        vio_mmio_write(b->dev.base + VIO_QUEUE_DESC_LOW, w, 0);
        vio_mmio_write(b->dev.base + VIO_STATUS + 1, w, 0);
    }
    for (unsigned int i = 0; i < sizeof(notify) / sizeof(notify[0]); i++)
        vio_write32(&b->dev, VIO_QUEUE_NOTIFY, notify[i]);
    vio_write32(&b->dev, VIO_QUEUE_SEL, 5); /* a queue that does not exist */
    if (vio_read32(&b->dev, VIO_QUEUE_NUM_MAX) != 0)
        return "QueueNumMax of a missing queue is not 0";
    vio_write32(&b->dev, VIO_QUEUE_READY, 1);
    vio_write32(&b->dev, VIO_QUEUE_SEL, 0);
    if (vio_read32(&b->dev, VIO_MAGIC) != VIO_MAGIC_VALUE ||
        vio_read32(&b->dev, VIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
        return "read-only registers changed";
    if ((vio_read32(&b->dev, VIO_STATUS) & 0x7f) !=
        (VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FEATURES_OK |
         VIO_S_DRIVER_OK))
        return "status changed by writes of other widths";
    return blk_recover(b, false);
}

/* Status 0 while requests are in flight (§2.4): the device must stop and
 * never write the old rings again; the driver then starts afresh. */
/* Descriptors may overlap in guest RAM, so a chain's length is not bounded
 * by the guest's: 126 segments over one 128 KiB buffer make a 15.75 MiB
 * read (over a 32 MiB one, 4 GiB on a disk that large).  vmrun offers
 * seg_max = 126 and size_max = 64 KiB: a read at that bound works, one
 * beyond it must fail alone.  Nothing is written to the disk. */
#define HUGE_SEGS 126
#define HUGE_SEG_MAX CHUNK /* vmrun's size_max */

const char *check_huge_request(struct blk *b)
{
    static struct vio_seg s[HUGE_SEGS + 2];
    uint32_t len;
    uint8_t st;
    enum vio_wait w;

    if (b->capacity * SECTOR < 2ULL * HUGE_SEGS * HUGE_SEG_MAX)
        return "disk smaller than 16 MiB";
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    s[0] = (struct vio_seg){addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0};
    for (int i = 1; i <= HUGE_SEGS; i++)
        s[i] = (struct vio_seg){addr(blk_data[0]), HUGE_SEG_MAX, W};
    s[HUGE_SEGS + 1] = (struct vio_seg){addr(&blk_status[0]), 1, W};
    w = blk_chain(b, s, HUGE_SEGS + 2, &st, &len);
    if (w != VIO_WAIT_USED || st != S_OK || len != HUGE_SEGS * HUGE_SEG_MAX + 1)
        return "a read of seg_max segments of size_max bytes failed";
    for (int i = 1; i <= HUGE_SEGS; i++)
        s[i].len = 2 * HUGE_SEG_MAX; /* blk_data[0] and [1] */
    return attack_chain(b, s, HUGE_SEGS + 2);
}

const char *check_reset_in_flight(struct blk *b)
{
    struct vio_vq old = b->vq;
    uint16_t idx;
    const char *e;

    for (uint16_t k = 0; k < DEPTH; k++) {
        struct vio_seg s[3] = {{addr(&blk_hdrs[k]), sizeof(blk_hdrs[k]), 0},
                               {addr(blk_data[k]), CHUNK, W},
                               {addr(&blk_status[k]), 1, W}};

        blk_hdrs[k] = (struct blk_hdr){.type = T_IN, .sector = 128ULL * k};
        vio_chain_set(old.desc + 3 * k, s, 3);
        for (int i = 0; i < 2; i++)
            old.desc[3 * k + i].next = (uint16_t)(3 * k + i + 1);
        vio_vq_add(&old, (uint16_t)(3 * k));
    }
    vio_vq_publish(&old);
    vio_vq_kick(&b->dev, &old, old.avail_idx - DEPTH, true);
    vio_reset(&b->dev);
    if (vio_read32(&b->dev, VIO_STATUS) != 0)
        return "status not 0 after reset";
    idx = vio_vq_used_idx(&old);
    for (uint64_t t0 = vio_rdtsc(); vio_rdtsc() - t0 < WAIT_SHORT;)
        __asm__ volatile("pause");
    if (vio_vq_used_idx(&old) != idx)
        return "the device wrote the used ring after reset";
    b->ring ^= 1; /* leave the old rings alone */
    e = blk_recover(b, true);
    if (!e && vio_vq_used_idx(&old) != idx)
        e = "the device wrote the old used ring after re-initialisation";
    fw_puts("vmrun-firmware: blk: reset-in-flight: ");
    fw_put_dec((uint16_t)(idx - old.last_used));
    fw_puts(" of 32 completed before the reset\n");
    return e;
}

/* The pattern is intact and the hostile writes left no trace. */
const char *check_pattern(struct blk *b)
{
    const char *e = blk_verify(b, 0, 128);
    uint8_t st;

    if (!e)
        e = blk_verify(b, 1000, 1);
    if (!e)
        e = blk_verify(b, b->capacity - 1, 1);
    if (e)
        return e;
    fill_bytes(blk_scratch, 16 * SECTOR, 0xee);
    e = blk_io(b, T_IN, HOSTILE_SECTOR, blk_scratch, 16 * SECTOR, &st);
    if (e || st != S_OK)
        return e ? e : "read failed";
    for (int i = 0; i < 16 * SECTOR; i++)
        if (blk_scratch[i])
            return "a malformed write reached the disk";
    return 0;
}
