/* x86_state.h - struct arch_vm on x86, the part of struct vm: how the boot CPU
 * enters the kernel and the platform devices every x86 VM has. */
#ifndef VMRUN_X86_STATE_H
#define VMRUN_X86_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/acpi.h"
#include "devices/backend/chardev.h"
#include "arch/x86/layout.h"

struct serial;
struct i8042;
struct platform;
struct kvm_cpuid2;

enum x86_entry_mode {
    X86_ENTRY_LINUX64, /* bzImage 64-bit entry: rsi = boot_params */
    X86_ENTRY_PVH,     /* 32-bit protected mode, ebx = start_info */
    X86_ENTRY_ELF64,   /* long mode at e_entry, rdi = boot_params */
};

struct arch_vm {
    enum x86_entry_mode mode;
    uint64_t entry;
    uint64_t boot_info;       /* boot_params or PVH start_info address */
    struct chardev serial_cd; /* the UART's host side ("vmrun.serial") */
    struct serial *serial;
    struct i8042 *kbd;
    struct platform *platform;
    struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
    bool tsc_deadline;        /* KVM_CAP_TSC_DEADLINE_TIMER */
    /* Memory-mapped devices for the DSDT (pvpanic, virtio-mmio, ...). */
    unsigned int nr_virtio; /* virtio-mmio slots handed out */
    unsigned int nr_acpi_devs;
    struct acpi_mmio_device acpi_devs[LAYOUT_VIRTIO_MAX + 1];
};

#endif
