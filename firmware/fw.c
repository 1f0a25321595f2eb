/* fw.c - runtime of the freestanding test guests (runs at CPL3, IOPL 3). */
#include "fw.h"

#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void fw_putc(char c)
{
    while (!(fw_inb(FW_COM1 + UART_LSR) & UART_LSR_THRE))
        ;
    fw_outb(FW_COM1, (uint8_t)c);
}

void fw_puts(const char *s)
{
    while (*s)
        fw_putc(*s++);
}

void fw_put_hex(uint64_t v)
{
    fw_puts("0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        fw_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

void fw_put_dec(uint64_t v)
{
    char buf[21];
    int i = 20;

    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fw_puts(buf + i);
}

void fw_exit(uint8_t status)
{
    fw_outb(FW_DEBUG_EXIT_PORT, status);
    for (;;)
        ;
}

void fw_report(struct fw_tally *t, const char *dev, const char *name,
               const char *why)
{
    t->check++;
    fw_puts("vmrun-firmware: ");
    fw_puts(t->prog);
    fw_puts(": ");
    if (dev) {
        fw_puts(dev);
        fw_puts(": ");
    }
    fw_puts(name);
    if (!why) {
        fw_puts(": ok\n");
        return;
    }
    fw_puts(": FAILED ");
    fw_puts(why);
    fw_putc('\n');
    if (!t->first_failed)
        t->first_failed = t->check;
}

uint8_t fw_tally_status(const struct fw_tally *t)
{
    uint8_t status =
        (uint8_t)(t->first_failed ? 10 + t->first_failed % 200 : 0);

    fw_puts("vmrun-firmware: ");
    fw_puts(t->prog);
    fw_puts(": exit status=");
    fw_put_dec(status);
    fw_putc('\n');
    return status;
}

void fw_finish(uint8_t status)
{
    fw_mmio_write8(FW_DEBUG_EXIT_MMIO, status);
    fw_exit(status);
}

static const char *fw_find(const char *s, const char *key)
{
    for (; *s; s++) {
        const char *a = s, *k = key;

        while (*k && *a == *k)
            a++, k++;
        if (!*k && *a == '=')
            return a + 1;
    }
    return 0;
}

uint64_t fw_cmdline_u64(const uint8_t *bp, const char *key, uint64_t def)
{
    uint32_t ptr = *(const uint32_t *)(bp + BP_CMD_LINE_PTR);
    const char *v;
    uint64_t n = 0;

    if (!ptr)
        return def;
    v = fw_find((const char *)(uintptr_t)ptr, key);
    if (!v || *v < '0' || *v > '9')
        return def;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (uint64_t)(*v++ - '0');
    return n;
}

uint64_t fw_ram_top(const uint8_t *bp)
{
    uint8_t n = bp[BP_E820_ENTRIES];
    uint64_t top = 0;

    for (uint8_t i = 0; i < n && i < 128; i++) {
        const uint8_t *e = bp + BP_E820_TABLE + i * 20;
        uint64_t addr = *(const uint64_t *)e, size = *(const uint64_t *)(e + 8);
        uint32_t type = *(const uint32_t *)(e + 16);

        if (type == 1 && addr + size <= (1ULL << 32) && addr + size > top)
            top = addr + size;
    }
    return top;
}
