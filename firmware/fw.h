/* fw.h - the little runtime of the freestanding test guests: port I/O,
 * UART output, the debug-exit register, boot_params access. */
#ifndef VMRUN_FW_H
#define VMRUN_FW_H

#include <stddef.h>
#include <stdint.h>

#define FW_COM1 0x3f8
#define FW_DEBUG_EXIT_PORT 0x501
#define FW_DEBUG_EXIT_MMIO 0xd0000000ULL /* vmrun's debug-exit register */

/* Port I/O through the CPL0 gate of start.S (ud2, see there). */
static inline uint32_t fw_pio(uint32_t op, uint16_t port, uint32_t v)
{
    uint32_t ret;

    __asm__ volatile("ud2"
                     : "=a"(ret)
                     : "D"(op), "S"((uint32_t)port), "d"(v)
                     : "r11", "memory");
    return ret;
}

static inline void fw_outb(uint16_t port, uint8_t v)
{
    fw_pio(0, port, v);
}

static inline uint8_t fw_inb(uint16_t port)
{
    return (uint8_t)fw_pio(1, port, 0);
}

static inline void fw_mmio_write8(uint64_t addr, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)addr = v;
}

void fw_putc(char c);
void fw_puts(const char *s);
void fw_put_hex(uint64_t v);
void fw_put_dec(uint64_t v);
__attribute__((noreturn)) void fw_exit(uint8_t status);

/* The checks of a test firmware: each prints "vmrun-firmware: PROG: [DEV: ]
 * NAME: ok" or ": FAILED WHY"; the first failure decides the exit status. */
struct fw_tally {
    const char *prog;
    unsigned int check, first_failed;
};

void fw_report(struct fw_tally *t, const char *dev, const char *name,
               const char *why);
/* Prints "vmrun-firmware: PROG: exit status=N" and returns N: 0 when every
 * check passed, else 10 + the first failed check's number modulo 200 (never
 * 0, whatever the number of checks). */
uint8_t fw_tally_status(const struct fw_tally *t);
/* Ends the VM with (status): the debug-exit MMIO register (written from
 * CPL3), then the port as a fallback. */
__attribute__((noreturn)) void fw_finish(uint8_t status);

/* The value of "key=" on the kernel command line, or (def). */
uint64_t fw_cmdline_u64(const uint8_t *boot_params, const char *key,
                        uint64_t def);

/* Highest RAM address + 1 below 4 GiB according to the e820 map. */
uint64_t fw_ram_top(const uint8_t *boot_params);

#endif
