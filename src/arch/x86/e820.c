/* e820.c - the guest's BIOS-style memory map (Linux boot protocol e820). */
#include "arch/x86/e820.h"

#include <errno.h>
#include <stdbool.h>

#include "arch/x86/layout.h"

#define E820_MIN_MEM (2ULL << 20)
#define E820_EXT_MEM (1ULL << 20) /* RAM above the legacy 1 MiB */

void e820_ram_split(uint64_t mem_size, uint64_t *low, uint64_t *high)
{
    *low = mem_size < LAYOUT_MMIO_HOLE ? mem_size : LAYOUT_MMIO_HOLE;
    *high = mem_size - *low;
}

/* Appends one entry; false when (max) entries are already used. */
static bool e820_add(struct e820_entry *out, unsigned int max, unsigned int *n,
                     uint64_t addr, uint64_t end, uint32_t type)
{
    if (*n >= max)
        return false;
    out[*n] =
        (struct e820_entry){.addr = addr, .size = end - addr, .type = type};
    (*n)++;
    return true;
}

/* The area between low RAM and 1 MiB (EBDA, VGA window, BIOS area, and
 * the ACPI tables at LAYOUT_ACPI) is reserved so the guest never
 * allocates over its ACPI tables. */
int e820_build(uint64_t mem_size, struct e820_entry *out, unsigned int max)
{
    uint64_t low, high;
    unsigned int n = 0;

    if (mem_size < E820_MIN_MEM)
        return -EINVAL;
    e820_ram_split(mem_size, &low, &high);
    if (high > UINT64_MAX - LAYOUT_HIGH_RAM)
        return -EINVAL;
    if (!e820_add(out, max, &n, 0, LAYOUT_LOW_RAM_END, E820_RAM) ||
        !e820_add(out, max, &n, LAYOUT_LOW_RAM_END, E820_EXT_MEM,
                  E820_RESERVED) ||
        !e820_add(out, max, &n, E820_EXT_MEM, low, E820_RAM))
        return -ENOSPC;
    if (high && !e820_add(out, max, &n, LAYOUT_HIGH_RAM, LAYOUT_HIGH_RAM + high,
                          E820_RAM))
        return -ENOSPC;
    return (int)n;
}
