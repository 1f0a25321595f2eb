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
 * names). */
int acpi_build(const struct acpi_params *p, uint8_t *buf, size_t size);

#endif
