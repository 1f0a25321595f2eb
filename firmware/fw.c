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
