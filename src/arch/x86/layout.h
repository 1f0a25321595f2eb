/* layout.h - every fixed guest-physical address of a vmrun x86 guest.
 *
 *   0x0000_0500  GDT (boot segments)
 *   0x0000_6000  PVH start info + its memory map
 *   0x0000_7000  boot_params ("zero page")
 *   0x0000_8000  initial stack for ELF guests (grows down from 0x9000)
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000..0xefff four PDs: the first
 *                4 GiB identity-mapped with 2 MiB pages (U/S set so that
 *                freestanding guests may drop to CPL3)
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x0009_fc00  end of low RAM in the e820 map (EBDA-style hole above)
 *   0x000e_0000  ACPI tables (RSDP first, where Linux scans for it)
 *   0x0010_0000  kernel (1 MiB), or its preferred address if relocatable
 *   ...          RAM up to min(mem, 3 GiB); initrd at its top
 *   0xc000_0000  MMIO hole (no RAM here up to 4 GiB):
 *   0xd000_0000    debug-exit register (1 byte, write = exit status)
 *   0xd000_1000    pvpanic (QEMU0001), 1 byte
 *   0xd000_2000    ACPI sleep control (+0), sleep status (+1), reset (+2)
 *   0xd010_0000    virtio-mmio windows, 4 KiB each
 *   0xfec0_0000    IOAPIC
 *   0xfee0_0000    LAPIC
 *   0x1_0000_0000  RAM above 3 GiB continues here
 */
#ifndef VMRUN_X86_LAYOUT_H
#define VMRUN_X86_LAYOUT_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_PVH_INFO 0x6000ULL
#define LAYOUT_BOOT_PARAMS 0x7000ULL
#define LAYOUT_STACK_TOP 0x9000ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* four pages */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_LOW_RAM_END 0x9fc00ULL
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_SIZE 0x20000ULL
#define LAYOUT_KERNEL 0x100000ULL

#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_HIGH_RAM 0x100000000ULL

#define LAYOUT_DEBUG_EXIT 0xd0000000ULL
#define LAYOUT_PVPANIC 0xd0001000ULL
#define LAYOUT_ACPI_REGS 0xd0002000ULL
#define LAYOUT_SLEEP_CONTROL (LAYOUT_ACPI_REGS + 0)
#define LAYOUT_SLEEP_STATUS (LAYOUT_ACPI_REGS + 1)
#define LAYOUT_RESET_REG (LAYOUT_ACPI_REGS + 2)
#define LAYOUT_RESET_VALUE 0x42
#define LAYOUT_VIRTIO_MMIO 0xd0100000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_MAX 32
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL

/* I/O ports. */
#define PORT_COM1 0x3f8
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_DEBUG_EXIT 0x501
#define PORT_POST 0x80

/* Interrupt lines (IOAPIC pins / GSIs). */
#define IRQ_COM1 4
#define IRQ_VIRTIO_FIRST 5 /* virtio device n gets IRQ_VIRTIO_FIRST + n */
#define IRQ_MAX 23

/* The ACPI S5 sleep type vmrun advertises in \_S5 and acts on. */
#define ACPI_S5_SLP_TYP 5

#endif
