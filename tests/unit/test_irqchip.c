/* test_irqchip.c - the legacy interrupt path as vmrun leaves it for a
 * HW-reduced OS (src/arch/x86/irqchip.c): both 8259s initialised and
 * fully masked, LINT0 masked, starting from KVM's creation state. */
#include <check.h>

#include "check_main.h"
#include <linux/kvm.h>
#include <string.h>

#include "arch/x86/irqchip.h"

/* A PIC as KVM_CREATE_IRQCHIP leaves it (i8259.c): everything 0 but the
 * ELCR mask; a line pulsed once (IRR bit 5, a virtio GSI). */
static struct kvm_pic_state kvm_pic(bool master)
{
    return (struct kvm_pic_state){.irr = 1u << 5,
                                  .elcr_mask = master ? 0xf8 : 0xde};
}

START_TEST(test_pic_master)
{
    struct kvm_pic_state s = kvm_pic(true);

    irqchip_pic_init(&s, true);
    ck_assert_uint_eq(s.imr, 0xff);
    ck_assert_uint_eq(s.irq_base, 0x20);
    ck_assert_uint_eq(s.init_state, 0); /* the ICW sequence is over */
    ck_assert_uint_eq(s.init4, 1);
    ck_assert_uint_eq(s.isr, 0);
    ck_assert_uint_eq(s.auto_eoi, 0);
    ck_assert_uint_eq(s.irr, 0); /* edge: ICW1 forgets it */
    ck_assert_uint_eq(s.elcr_mask, 0xf8);
}
END_TEST

START_TEST(test_pic_slave)
{
    struct kvm_pic_state s = kvm_pic(false);

    irqchip_pic_init(&s, false);
    ck_assert_uint_eq(s.imr, 0xff);
    ck_assert_uint_eq(s.irq_base, 0x28);
    ck_assert_uint_eq(s.elcr_mask, 0xde);
}
END_TEST

/* A level-triggered line (ELCR) keeps its request, as on an 8259. */
START_TEST(test_pic_level_kept)
{
    struct kvm_pic_state s = kvm_pic(true);

    s.elcr = 1u << 5;
    irqchip_pic_init(&s, true);
    ck_assert_uint_eq(s.irr, 1u << 5);
    ck_assert_uint_eq(s.imr, 0xff);
}
END_TEST

static void set_reg(struct kvm_lapic_state *l, int reg, uint32_t v)
{
    memcpy(l->regs + reg, &v, 4);
}

/* The boot CPU after reset: LINT0 ExtINT unmasked
 * (KVM_X86_QUIRK_LINT0_REENABLED), LINT1 masked. */
START_TEST(test_lint_bsp)
{
    struct kvm_lapic_state l;

    memset(&l, 0, sizeof(l));
    set_reg(&l, APIC_LVT_LINT0, APIC_MODE_EXTINT << 8);
    set_reg(&l, APIC_LVT_LINT1, APIC_LVT_MASKED);
    irqchip_lapic_lint_init(&l);
    ck_assert_uint_eq(irqchip_lapic_reg(&l, APIC_LVT_LINT0),
                      APIC_LVT_MASKED | APIC_MODE_EXTINT << 8);
    ck_assert_uint_eq(irqchip_lapic_reg(&l, APIC_LVT_LINT1),
                      APIC_LVT_MASKED | APIC_MODE_NMI << 8);
}
END_TEST

/* An application processor after reset: every LVT masked. */
START_TEST(test_lint_ap)
{
    struct kvm_lapic_state l;

    memset(&l, 0, sizeof(l));
    set_reg(&l, APIC_LVT_LINT0, APIC_LVT_MASKED);
    set_reg(&l, APIC_LVT_LINT1, APIC_LVT_MASKED);
    irqchip_lapic_lint_init(&l);
    ck_assert_uint_eq(irqchip_lapic_reg(&l, APIC_LVT_LINT0),
                      APIC_LVT_MASKED | APIC_MODE_EXTINT << 8);
    ck_assert_uint_eq(irqchip_lapic_reg(&l, APIC_LVT_LINT1),
                      APIC_LVT_MASKED | APIC_MODE_NMI << 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("irqchip");
    TCase *tc = tcase_create("legacy");

    tcase_add_test(tc, test_pic_master);
    tcase_add_test(tc, test_pic_slave);
    tcase_add_test(tc, test_pic_level_kept);
    tcase_add_test(tc, test_lint_bsp);
    tcase_add_test(tc, test_lint_ap);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
