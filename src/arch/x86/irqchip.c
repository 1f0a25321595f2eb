/* irqchip.c - the legacy interrupt path as HW-reduced firmware leaves it.
 *
 * KVM creates the 8259 pair in its power-on state (IMR 0: every line
 * unmasked, vector base 0) and the boot CPU's LINT0 in unmasked ExtINT
 * mode (KVM_X86_QUIRK_LINT0_REENABLED).  Every GSI 0-15 pulse also reaches
 * the 8259 (KVM's default routing), so without this an OS that never
 * touches the 8259 - any HW-reduced ACPI OS, and vmrun's firmware guests -
 * has an ExtINT pending on vCPU0 from its first device interrupt on, with
 * an exception vector (the IRQ number), and KVM keeps an interrupt window
 * armed at every entry while the guest runs with IF = 0. */
#include <linux/kvm.h>
#include <string.h>

#include "arch/x86/irqchip.h"

void irqchip_pic_init(struct kvm_pic_state *s, bool master)
{
    /* ICW1 (0x11: edge, cascade, ICW4), ICW2 (the base), ICW3, ICW4
     * (0x01: 8086 mode, normal EOI), OCW1 (0xff), as the 8259 datasheet
     * and KVM's i8259.c apply them.  ELCR and its mask are KVM's. */
    s->last_irr = 0;
    s->irr &= s->elcr;
    s->imr = 0xff;
    s->isr = 0;
    s->priority_add = 0;
    s->irq_base = master ? IRQCHIP_PIC_MASTER_BASE : IRQCHIP_PIC_SLAVE_BASE;
    s->read_reg_select = 0;
    s->poll = 0;
    s->special_mask = 0;
    s->init_state = 0;
    s->auto_eoi = 0;
    s->rotate_on_auto_eoi = 0;
    s->special_fully_nested_mode = 0;
    s->init4 = 1;
}

uint32_t irqchip_lapic_reg(const struct kvm_lapic_state *l, int reg)
{
    uint32_t v;

    memcpy(&v, l->regs + reg, 4);
    return v;
}

static void lapic_set_lvt(struct kvm_lapic_state *l, int reg, uint32_t mode,
                          uint32_t set)
{
    uint32_t v = irqchip_lapic_reg(l, reg);

    v = (v & ~0x700u) | (mode << 8) | set;
    memcpy(l->regs + reg, &v, 4);
}

void irqchip_lapic_lint_init(struct kvm_lapic_state *l)
{
    /* MP spec §5.1's wiring (LINT0 the 8259's ExtINT, LINT1 NMI), with
     * LINT0 masked as a HW-reduced machine has no 8259 user. */
    lapic_set_lvt(l, APIC_LVT_LINT0, APIC_MODE_EXTINT, APIC_LVT_MASKED);
    lapic_set_lvt(l, APIC_LVT_LINT1, APIC_MODE_NMI, 0);
}
