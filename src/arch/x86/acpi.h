/* acpi.h - ACPI tables built at boot: RSDP, XSDT, FADT (hardware-reduced),
 * MADT, DSDT.  Pure table building: no KVM, unit-tested. */
#ifndef VMRUN_X86_ACPI_H
#define VMRUN_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* One memory-mapped device in the DSDT: Device (name) with _HID (hid),
 * _UID (uid) and a _CRS of Memory32Fixed(base, len) plus, when irq >= 0,
 * an edge-triggered active-high Interrupt(irq). */
struct acpi_mmio_device {
    char name[5];    /* 4-character AML name, e.g. "VR00" */
    const char *hid; /* e.g. "LNRO0005" (virtio-mmio), "QEMU0001" */
    uint32_t uid;
    uint64_t base;
    uint32_t len;
    int irq;
};

struct acpi_params {
    uint64_t base; /* guest address where (buf) will be copied */
    uint32_t nr_cpus;
    uint64_t lapic;
    uint64_t ioapic;
    uint16_t com1_port; /* 0: no COM1 device */
    int com1_irq;
    /* FADT sleep control/status and reset registers (byte-wide, MMIO). */
    uint64_t sleep_control;
    uint64_t sleep_status;
    uint64_t reset_reg;
    uint8_t reset_value;
    const struct acpi_mmio_device *devices; /* virtio, pvpanic, ... */
    size_t nr_devices;
};

/* Builds all tables into (buf) (size bytes), RSDP at offset 0, every table
 * checksummed and pointing at (p->base + offset).  Returns the bytes used,
 * or -ENOSPC, or -EINVAL for bad parameters (no CPUs, > 254 CPUs, bad
 * names).
 *
 * Linux finds the RSDP by scanning 0xe0000-0xfffff on 16-byte boundaries,
 * so (base) is LAYOUT_ACPI unless boot_params.acpi_rsdp_addr says where.
 * The MADT has LAPIC n with APIC ID n, one IOAPIC with ID 0 (what KVM's
 * IOAPIC reports) and GSI base 0, IRQ0 -> GSI 2, NMI on LINT1.  The DSDT
 * has \_SB.COM1 (PNP0501, when com1_port != 0), one device per entry of
 * (devices) in order, and \_S5 = {ACPI_S5_SLP_TYP, 0, 0, 0}.
 *
 * Also -EINVAL: lapic/ioapic at or above 4 GiB, a device window empty or
 * not below 4 GiB, a device irq > IRQ_MAX, com1_irq outside 0..15, two
 * devices with one name (or "COM1" while COM1 is present), more than 1024
 * devices.  On any error (buf) is left untouched. */
int acpi_build(const struct acpi_params *p, uint8_t *buf, size_t size)
    __attribute__((warn_unused_result));

#endif
