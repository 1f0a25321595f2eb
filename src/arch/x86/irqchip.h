/* irqchip.h - the state a HW-reduced ACPI machine's firmware leaves in the
 * legacy interrupt path: both 8259s initialised and fully masked, every
 * LAPIC's LINT0 masked.  Pure builders on KVM's structures; the ioctls
 * are x86.c's and x86_regs.c's. */
#ifndef VMRUN_X86_IRQCHIP_H
#define VMRUN_X86_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_pic_state;
struct kvm_lapic_state;

#define IRQCHIP_PIC_MASTER_BASE 0x20 /* vectors of IRQ 0-7 */
#define IRQCHIP_PIC_SLAVE_BASE 0x28  /* vectors of IRQ 8-15 */

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_MASKED (1u << 16)
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* (s), as read from KVM_GET_IRQCHIP, after the ICW1-ICW4 + OCW1 sequence
 * an OS's 8259 driver writes: vectors from IRQCHIP_PIC_*_BASE, edge,
 * normal EOI, every line masked, nothing pending or in service.  (master)
 * is the PIC at port 0x20. */
void irqchip_pic_init(struct kvm_pic_state *s, bool master);

/* LINT0 ExtINT masked, LINT1 NMI (mask bit kept) in (l), as read from
 * KVM_GET_LAPIC. */
void irqchip_lapic_lint_init(struct kvm_lapic_state *l);

/* The 32-bit LAPIC register at (reg) in (l). */
uint32_t irqchip_lapic_reg(const struct kvm_lapic_state *l, int reg);

#endif
