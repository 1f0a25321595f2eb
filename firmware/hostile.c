/* hostile.c - freestanding guest that attacks every virtio-mmio device it
 * finds (net, blk, console, rng) through registers and rings, then the
 * platform's ports and MMIO registers, from CPL3.  After each attack the
 * attacked device must still work; at the end the console echoes what the
 * host typed.  One UART line per check ("vmrun-firmware: hostile: DEV:
 * CHECK: ok" or "FAILED why"); the exit status (debug-exit register) is 0,
 * or 10 + the number of the first failed check.
 *
 * Command line: storm=N (notifications of the storm check, default
 * 1000000; 0 skips it). */
#include "fw.h"
#include "hostile.h"

/* The memory devices see. */
uint8_t h_buf[NBUF][BUFSZ] __attribute__((aligned(4096)));
struct vring_desc h_itab[2][QS] __attribute__((aligned(16)));
static uint8_t h_rings[NDEV][2][2][3 * 4096] __attribute__((aligned(4096)));
static struct {
    uint32_t type, ioprio;
    uint64_t sector;
} h_blk_hdr __attribute__((aligned(16)));
static uint8_t h_blk_status;

static const char console_line[] = "vmrun-firmware: hostile: console works\n";

/* ---- a driver for each device ---- */

static void *ring_area(struct hdev *d, struct hdev *base, uint16_t q)
{
    return h_rings[d - base][d->ring][q];
}

static struct hostile *g_h; /* set once in fw_main; read-only after */

static const char *dev_setup(struct hdev *d, bool driver_ok)
{
    if (vio_negotiate(&d->dev, VIO_BIT(VIO_F_VERSION_1) |
                                   VIO_BIT(VIO_F_INDIRECT_DESC)) < 0)
        return "FEATURES_OK refused";
    for (uint16_t q = 0; q < d->nq; q++) {
        vio_vq_layout(&d->dev, &d->vq[q], q, QS, ring_area(d, g_h->dev, q));
        if (driver_ok && vio_vq_program(&d->dev, &d->vq[q], QS) < 0)
            return "QueueReady refused";
    }
    if (driver_ok && !(vio_driver_ok(&d->dev) & VIO_S_DRIVER_OK))
        return "DRIVER_OK refused";
    return 0;
}

const char *dev_init(struct hdev *d)
{
    return dev_setup(d, true);
}

const char *dev_negotiate(struct hdev *d)
{
    return dev_setup(d, false);
}

enum vio_wait dev_submit(struct hdev *d, uint16_t head)
{
    struct vio_vq *vq = &d->vq[d->work_q];
    uint32_t id, len;

    vio_vq_add(vq, head);
    vio_vq_publish(vq);
    vio_vq_kick(&d->dev, vq, 0, true);
    return vio_vq_wait(&d->dev, vq, WAIT_LONG, &id, &len);
}

unsigned int dev_work_chain(struct hdev *d, struct vio_seg *s)
{
    uint8_t *b = h_buf[0];

    switch (d->id) {
    case 1: /* net: a 12-byte header, then a broadcast frame */
        for (int i = 0; i < 72; i++)
            b[i] = i >= 12 && i < 18 ? 0xff : (uint8_t)i;
        s[0] = (struct vio_seg){addr(b), 12, 0};
        s[1] = (struct vio_seg){addr(b + 12), 60, 0};
        return 2;
    case 2: /* blk: read sector 0 */
        h_blk_hdr.type = 0;
        h_blk_hdr.sector = 0;
        h_blk_status = 0xee;
        s[0] = (struct vio_seg){addr(&h_blk_hdr), 16, 0};
        s[1] = (struct vio_seg){addr(b), 512, W};
        s[2] = (struct vio_seg){addr(&h_blk_status), 1, W};
        return 3;
    case 3: /* console: a line on its output */
        s[0] =
            (struct vio_seg){addr(console_line), sizeof(console_line) - 1, 0};
        return 1;
    default: /* rng: 64 bytes */
        for (int i = 0; i < 64; i++)
            b[i] = 0;
        s[0] = (struct vio_seg){addr(b), 64, W};
        return 1;
    }
}

const char *dev_works(struct hdev *d)
{
    struct vio_vq *vq = &d->vq[d->work_q];
    struct vio_seg s[3];
    unsigned int n = dev_work_chain(d, s);
    uint32_t id, len;
    uint8_t any = 0;

    vio_chain_set(vq->desc, s, n);
    vio_vq_add(vq, 0);
    vio_vq_publish(vq);
    vio_vq_kick(&d->dev, vq, 0, true);
    switch (vio_vq_wait(&d->dev, vq, WAIT_LONG, &id, &len)) {
    case VIO_WAIT_TIMEOUT:
        return "a good request did not complete";
    case VIO_WAIT_NEEDS_RESET:
        return "a good request made the device ask for a reset";
    default:
        break;
    }
    if (id != 0)
        return "used element names another chain";
    if (d->id == 2 && (h_blk_status != 0 || len != 513))
        return "a good read failed";
    if (d->id == 4) {
        for (int i = 0; i < 64; i++)
            any |= h_buf[0][i];
        if (len == 0 || len > 64 || !any)
            return "rng gave no bytes";
    }
    return 0;
}

/* The configuration-change interrupt that must follow DEVICE_NEEDS_RESET
 * (§2.1.2); it may trail the status bit. */
static bool config_irq(struct hdev *d)
{
    for (uint64_t t0 = vio_rdtsc(); vio_rdtsc() - t0 < WAIT_LONG;)
        if (vio_read32(&d->dev, VIO_INTERRUPT_STATUS) & VIO_INT_CONFIG)
            return true;
    return false;
}

const char *dev_recover(struct hdev *d)
{
    const char *e;

    vio_reset(&d->dev);
    d->ring ^= 1; /* the old rings may still be scribbled on: leave them */
    e = dev_init(d);
    return e ? e : dev_works(d);
}

const char *dev_verdict(struct hdev *d, enum vio_wait w)
{
    bool reset = w != VIO_WAIT_USED ||
                 (vio_read32(&d->dev, VIO_STATUS) & VIO_S_NEEDS_RESET);
    const char *why = 0, *e;

    if (w == VIO_WAIT_TIMEOUT)
        why = "neither completed nor DEVICE_NEEDS_RESET (hang?)";
    else if (reset && !config_irq(d))
        why = "DEVICE_NEEDS_RESET without a config-change interrupt";
    e = reset ? dev_recover(d) : dev_works(d);
    return why ? why : e;
}

/* ---- the console echo ---- */

/* What the host typed arrives in a receive buffer and goes back out. */
static const char *check_echo(struct hdev *d)
{
    static const char pre[] = "vmrun-firmware: hostile: echo: ";
    struct vio_vq *rx = &d->vq[0], *tx = &d->vq[1];
    struct vio_seg s[2] = {{addr(pre), sizeof(pre) - 1, 0}, {0, 0, 0}};
    uint32_t id, len;

    for (int i = 0; i < 256; i++)
        h_buf[1][i] = 0;
    vio_desc_set(rx->desc, 0, addr(h_buf[1]), 256, W, 0);
    vio_vq_add(rx, 0);
    vio_vq_publish(rx);
    vio_vq_kick(&d->dev, rx, 0, true);
    if (vio_vq_wait(&d->dev, rx, WAIT_LONG, &id, &len) != VIO_WAIT_USED)
        return "no input arrived";
    if (len == 0 || len > 256)
        return "input length out of range";
    s[1] = (struct vio_seg){addr(h_buf[1]), len, 0};
    vio_chain_set(tx->desc, s, 2);
    vio_vq_add(tx, 0);
    vio_vq_publish(tx);
    vio_vq_kick(&d->dev, tx, 0, true);
    if (vio_vq_wait(&d->dev, tx, WAIT_LONG, &id, &len) != VIO_WAIT_USED)
        return "the echo was not sent";
    return 0;
}

/* ---- main ---- */

static void report(struct hostile *h, const char *dev, const char *check,
                   const char *why)
{
    fw_report(&h->tally, dev, check, why);
}

static void discover(struct hostile *h)
{
    for (int slot = 0; slot < VIRTIO_SLOTS; slot++) {
        uint64_t base = VIRTIO_FIRST + 0x1000ULL * slot;
        struct vio_dev probe = {.base = base};
        uint32_t id;

        if (vio_read32(&probe, VIO_MAGIC) != VIO_MAGIC_VALUE)
            continue;
        id = vio_read32(&probe, VIO_DEVICE_ID);
        for (int i = 0; i < NDEV; i++)
            if (h->dev[i].id == id && !h->dev[i].found) {
                h->dev[i].found = true;
                h->dev[i].dev.base = base;
                break;
            }
    }
}

typedef const char *(*dev_check_fn)(struct hdev *d);

static void device_checks(struct hostile *h, struct hdev *d)
{
    static const struct {
        const char *name;
        dev_check_fn fn;
        bool rings; /* the ring attacks: net, console, rng */
    } checks[] = {
        {"mmio-reads", check_mmio_reads, false},
        {"mmio-writes", check_mmio_writes, false},
        {"features-never-offered", check_features, false},
        {"queue-size", check_queue_size, false},
        {"notify-early", check_notify_early, false},
        {"desc-loop", check_desc_loop, true},
        {"reset-in-flight", check_reset_in_flight, true},
    };
    const char *e;

    if (!d->found) {
        report(h, d->name, "found", "no such device");
        return;
    }
    e = dev_init(d);
    report(h, d->name, "works", e ? e : dev_works(d));
    for (unsigned int i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        if (!checks[i].rings || d->id != 2)
            report(h, d->name, checks[i].name, checks[i].fn(d));
    report(h, d->name, "ring-outside-ram",
           check_ring_outside_ram(d, h->ram_top));
    if (d->id != 2) {
        report(h, d->name, "indirect", check_indirect(d, h->ram_top));
        report(h, d->name, "buffers-outside-ram",
               check_buffers_outside_ram(d, h->ram_top));
    }
}

void fw_main(const uint8_t *boot_params)
{
    static struct hostile h = {
        .dev = {[DEV_NET] = {"net", 1, 2, 1, 12, false, {0}, {{0}}, 0},
                [DEV_BLK] = {"blk", 2, 1, 0, 60, false, {0}, {{0}}, 0},
                [DEV_CONSOLE] = {"console", 3, 2, 1, 12, false, {0}, {{0}}, 0},
                [DEV_RNG] = {"rng", 4, 1, 0, 0, false, {0}, {{0}}, 0}},
        .tally = {.prog = "hostile"}};
    uint64_t storm = fw_cmdline_u64(boot_params, "storm", 1000000);

    g_h = &h;
    h.ram_top = fw_ram_top(boot_params);
    discover(&h);
    for (int i = 0; i < NDEV; i++)
        device_checks(&h, &h.dev[i]);
    report(&h, 0, "pio-sweep", check_pio_sweep());
    report(&h, 0, "mmio-sweep", check_mmio_sweep());
    for (int i = 0; i < NDEV; i++)
        if (h.dev[i].found)
            report(&h, h.dev[i].name, "works-after-sweeps",
                   dev_works(&h.dev[i]));
    if (storm && h.dev[DEV_RNG].found)
        report(&h, "rng", "notify-storm",
               check_notify_storm(&h.dev[DEV_RNG], &h.dev[DEV_CONSOLE], storm));
    if (h.dev[DEV_CONSOLE].found)
        report(&h, "console", "echo", check_echo(&h.dev[DEV_CONSOLE]));
    fw_finish(fw_tally_status(&h.tally));
}
