/* hostile_platform.c - the hostile guest's sweeps of the platform devices:
 * every serial register with many values, every i8042 command, the port
 * space around them, and the MMIO pages of debug-exit, pvpanic and the
 * ACPI registers at every offset and width, leaving out only the accesses
 * that end the VM by design (a debug-exit write, a pvpanic "panicked", an
 * ACPI S5 or reset value, an i8042 reset pulse).  Then the notification
 * storm whose cost the host measures. */
#include "fw.h"
#include "hostile.h"

#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define KBD_DATA 0x60
#define KBD_CMD 0x64

static void outb(uint16_t p, uint8_t v)
{
    fw_pio(0, p, v);
}

static uint8_t inb(uint16_t p)
{
    return (uint8_t)fw_pio(1, p, 0);
}

static void outw(uint16_t p, uint16_t v)
{
    fw_pio(6, p, v);
}

static uint16_t inw(uint16_t p)
{
    return (uint16_t)fw_pio(7, p, 0);
}

static void outl(uint16_t p, uint32_t v)
{
    fw_pio(2, p, v);
}

static uint32_t inl(uint16_t p)
{
    return fw_pio(3, p, 0);
}

static const char *sweep_serial(void)
{
    static const uint8_t vals[] = {0x00, 0x5a, 0xa5, 0xff, 0x80, 0x10};

    for (uint16_t r = 0; r < 8; r++) { /* every width, also across */
        (void)inb(FW_COM1 + r);
        (void)inw(FW_COM1 + r);
        (void)inl(FW_COM1 + r);
    }
    for (uint16_t r = 1; r < 8; r++) {
        for (unsigned int i = 0; i < sizeof(vals); i++) {
            outb(FW_COM1 + r, vals[i]);
            for (uint16_t k = 0; k < 8; k++)
                (void)inb(FW_COM1 + k);
        }
    }
    outb(FW_COM1 + UART_LCR, 0x80); /* DLAB: the divisor latch */
    outb(FW_COM1, 0);
    outb(FW_COM1 + 1, 0);
    outw(FW_COM1, 0xffff);
    outw(FW_COM1 + 7, 0xffff);
    outl(FW_COM1, 0xffffffff);
    outl(FW_COM1 + 4, 0xffffffff);
    outl(FW_COM1 + 6, 0xffffffff);
    /* Back to 8N1, no loopback: the rest of the run prints through it. */
    outb(FW_COM1 + UART_LCR, 0x80);
    outb(FW_COM1, 1);
    outb(FW_COM1 + 1, 0);
    outb(FW_COM1 + UART_LCR, 0x03);
    outb(FW_COM1 + 1, 0);
    outb(FW_COM1 + 2, 0);
    outb(FW_COM1 + UART_MCR, 0x03);
    for (int i = 0; i < 1000; i++)
        if (inb(FW_COM1 + UART_LSR) & UART_LSR_THRE)
            return 0;
    return "the UART's transmitter stays busy";
}

static void kbd_drain(void)
{
    for (int i = 0; i < 64 && (inb(KBD_CMD) & 1); i++)
        (void)inb(KBD_DATA);
}

/* Every controller command but the reset pulses (0xf0..0xfe even), the
 * data byte after the commands that take one (bit 0 set: 0xd1 with bit 0
 * clear holds the CPU in reset), every keyboard byte, wide accesses. */
static const char *sweep_i8042(void)
{
    kbd_drain();
    for (unsigned int cmd = 0; cmd < 256; cmd++) {
        if ((cmd & 0xf0) == 0xf0 && !(cmd & 1))
            continue;
        outb(KBD_CMD, (uint8_t)cmd);
        if (cmd == 0x60 || (cmd >= 0xd1 && cmd <= 0xd4))
            outb(KBD_DATA, cmd == 0x60 ? 0x47 : 0x01);
        kbd_drain();
    }
    for (unsigned int v = 0; v < 256; v++) {
        outb(KBD_DATA, (uint8_t)v);
        kbd_drain();
    }
    outw(KBD_DATA, 0x0101);
    (void)inw(KBD_DATA);
    outw(KBD_CMD, 0xffaa);
    (void)inw(KBD_CMD);
    outl(KBD_DATA, 0x01010101);
    (void)inl(KBD_DATA);
    outl(KBD_CMD, 0xffffffaa); /* low byte: self test */
    (void)inl(KBD_CMD);
    kbd_drain();
    /* Still a controller: its self test answers 0x55. */
    outb(KBD_CMD, 0xaa);
    for (int i = 0; i < 1000; i++)
        if (inb(KBD_CMD) & 1)
            return inb(KBD_DATA) == 0x55 ? 0 : "i8042 self test failed";
    return "i8042 does not answer its self test";
}

/* Reads of the low port space and a sample of the rest; writes of all
 * ones to the low ports nothing here owns (unknown ports are ignored),
 * the POST port, never the debug-exit port. */
static void sweep_ports(void)
{
    for (uint32_t p = 0; p < 0x10000; p += p < 0x400 ? 1 : 0x3f) {
        (void)inb((uint16_t)p);
        if (p < 0x400 && (p & 1) == 0)
            (void)inw((uint16_t)p);
        if (p < 0x400 && (p & 3) == 0)
            (void)inl((uint16_t)p);
    }
    (void)inb(FW_DEBUG_EXIT_PORT);
    (void)inw(FW_DEBUG_EXIT_PORT);
    (void)inl(FW_DEBUG_EXIT_PORT - 1);
    for (uint32_t p = 0; p < 0x400; p++) {
        if ((p >= KBD_DATA && p <= KBD_CMD) ||
            (p >= FW_COM1 && p < FW_COM1 + 8) || p == 0x20 || p == 0x21 ||
            p == 0xa0 || p == 0xa1 || (p >= 0x40 && p <= 0x43))
            continue; /* i8042, UART: above; PIC/PIT: the kernel's */
        outb((uint16_t)p, 0xff);
        if ((p & 1) == 0 && p + 1 < 0x400 && p + 1 != KBD_DATA &&
            p + 1 != FW_COM1)
            outw((uint16_t)p, 0xffff);
    }
    outw(0x80, 0xffff);
    outl(0x80, 0xffffffff);
}

const char *check_pio_sweep(void)
{
    const char *e = sweep_serial(), *k = sweep_i8042();

    sweep_ports();
    if (!e)
        e = k;
    return e ? e : sweep_serial();
}

/* Every offset and width of a platform page, reads only. */
static const char *read_page(uint64_t base, bool ones)
{
    for (uint32_t off = 0; off < 0x1000; off++)
        for (int w = 1; w <= 8; w *= 2) {
            uint64_t v, want;

            if (off + w > 0x1000)
                break;
            v = vio_mmio_read(base + off, w);
            want = w == 8 ? ~0ULL : (1ULL << (8 * w)) - 1;
            if (ones && v != want)
                return "an unassigned address did not read as all ones";
        }
    return 0;
}

/* Writes of every width at every offset whose low byte (what the
 * registers act on) is (low), but only where (ok) allows. */
static void write_page(uint64_t base, uint32_t from, uint32_t to, uint8_t low)
{
    for (uint32_t off = from; off < to; off++)
        for (int w = 1; w <= 8; w *= 2)
            if (off + w <= 0x1000)
                vio_mmio_write(base + off, w, ~0xffULL | low);
}

const char *check_mmio_sweep(void)
{
    static const uint64_t unassigned[] = {0xc0000000ULL, 0xd0003000ULL,
                                          VIRTIO_FIRST + 0x1f000, 0xd0200000ULL,
                                          0xfe000000ULL};
    static const uint8_t acpi0[] = {0x00, 0x1f, 0xdf, 0x2c, 0x24, 0xc0};
    static const uint8_t acpi2[] = {0x00, 0x41, 0x43, 0xff};
    const char *e = read_page(DEBUG_EXIT, false);

    if (!e)
        e = read_page(PVPANIC, false);
    if (!e)
        e = read_page(ACPI_REGS, false);
    if (!e && vio_mmio_read(PVPANIC, 1) != 3)
        return "pvpanic does not offer PANICKED | CRASH_LOADED";
    if (!e && vio_mmio_read(ACPI_REGS, 4) != 0)
        return "ACPI registers do not read as 0";
    for (unsigned int i = 0; !e && i < sizeof(unassigned) / 8; i++) {
        e = read_page(unassigned[i], true);
        write_page(unassigned[i], 0, 0x1000, 0xff);
    }
    write_page(PVPANIC, 0, 1, 0x00); /* no event bit: nothing happens */
    /* "Crash loaded" in a loop: a warning each, rate-limited, so vmrun's
     * log stays short (hostile.sh counts its lines). */
    for (int i = 0; i < 10000; i++)
        vio_mmio_write(PVPANIC, 1, 0x02);
    write_page(PVPANIC, 1, 0x1000, 0xff);
    for (unsigned int i = 0; i < sizeof(acpi0); i++) /* never S5 */
        write_page(ACPI_REGS, 0, 1, acpi0[i]);
    write_page(ACPI_REGS, 1, 2, 0xff);
    for (unsigned int i = 0; i < sizeof(acpi2); i++) /* never 0x42 */
        write_page(ACPI_REGS, 2, 3, acpi2[i]);
    write_page(ACPI_REGS, 3, 0x1000, 0xff);
    return e;
}

/* Waits for a line from the host on the console's receive queue: the
 * storm's handshake, so the host samples vmrun's threads exactly before
 * and after it however late it gets to run. */
static const char *host_sync(struct hdev *con)
{
    struct vio_vq *rx = &con->vq[0];
    uint32_t id, len;

    vio_desc_set(rx->desc, 0, addr(h_buf[3]), 64, W, 0);
    vio_vq_add(rx, 0);
    vio_vq_publish(rx);
    vio_vq_kick(&con->dev, rx, 0, true);
    for (int i = 0; i < 40; i++) {
        switch (vio_vq_wait(&con->dev, rx, WAIT_LONG, &id, &len)) {
        case VIO_WAIT_USED:
            return 0;
        case VIO_WAIT_NEEDS_RESET:
            return "the console asked for a reset";
        default:
            break;
        }
    }
    return "no word from the host on the console";
}

const char *check_notify_storm(struct hdev *rng, struct hdev *con, uint64_t n)
{
    uint64_t t0, t1;
    const char *e;

    fw_puts("vmrun-firmware: hostile: storm: ready\n");
    if (con->found && (e = host_sync(con)) != 0)
        return e;
    t0 = vio_rdtsc();
    for (uint64_t i = 0; i < n; i++)
        vio_write32(&rng->dev, VIO_QUEUE_NOTIFY, 0);
    t1 = vio_rdtsc();
    fw_puts("vmrun-firmware: hostile: storm: end kicks=");
    fw_put_dec(n);
    fw_puts(" cycles=");
    fw_put_dec(t1 - t0);
    fw_putc('\n');
    if (con->found && (e = host_sync(con)) != 0)
        return e;
    return dev_works(rng);
}
