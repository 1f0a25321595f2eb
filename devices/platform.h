/* platform.h - the small registers every vmrun VM has: debug-exit (a byte
 * written becomes vmrun's exit status), pvpanic, and the ACPI sleep and
 * reset registers that turn a guest poweroff or reboot into a VM exit. */
#ifndef VMRUN_PLATFORM_H
#define VMRUN_PLATFORM_H

#include <stdint.h>

struct dev_env;
struct platform;

struct platform_config {
    uint64_t debug_exit_mmio; /* 4 KiB page; a byte write at offset 0 */
    uint16_t debug_exit_port; /* I/O port; 0: none */
    uint64_t pvpanic_mmio;    /* 4 KiB page, pvpanic register at 0 */
    uint64_t acpi_regs;       /* 4 KiB page: +0 sleep control, +1 sleep
                                 status, +2 reset */
    uint8_t s5_slp_typ;       /* SLP_TYP the DSDT's \_S5 advertises */
    uint8_t reset_value;      /* the FADT's RESET_VALUE */
    uint16_t sink_port;       /* a port whose writes are ignored (0x80);
                                 0: none */
};

/* Registers the ranges on the VM's buses.  Call before the vCPUs start. */
int platform_create(const struct dev_env *env,
                    const struct platform_config *cfg, struct platform **out)
    __attribute__((warn_unused_result));

void platform_destroy(struct platform *p);

/* pvpanic event bits (QEMU's pvpanic specification, docs/specs/pvpanic). */
#define PVPANIC_PANICKED 0x1
#define PVPANIC_CRASH_LOADED 0x2

/* ACPI 6.4 §4.8.3.7: sleep control register fields. */
#define ACPI_SLP_EN 0x20
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x7

#endif
