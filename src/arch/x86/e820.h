/* e820.h - the guest's BIOS memory map, derived from layout.h. */
#ifndef VMRUN_X86_E820_H
#define VMRUN_X86_E820_H

#include <stdint.h>

#define E820_RAM 1
#define E820_RESERVED 2

/* The boot protocol's layout (struct boot_e820_entry). */
struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* Splits (mem_size) bytes of RAM into the part below the MMIO hole
 * (starting at 0) and the part above 4 GiB. */
void e820_ram_split(uint64_t mem_size, uint64_t *low, uint64_t *high);

/* Writes the map for (mem_size) bytes of RAM into (out): low RAM up to
 * LAYOUT_LOW_RAM_END, the ACPI area reserved, RAM from 1 MiB to the hole,
 * RAM above 4 GiB.  Returns the number of entries, or -ENOSPC if (max) is
 * too small, -EINVAL if (mem_size) is under 2 MiB. */
int e820_build(uint64_t mem_size, struct e820_entry *out, unsigned int max)
    __attribute__((warn_unused_result));

#endif
