/* test_cpuid.c - what each vCPU's CPUID says beyond KVM's supported table
 * (src/arch/x86/cpuid.c, cpuid_patch_entry()): the TSC-deadline bit with
 * KVM_CAP_TSC_DEADLINE_TIMER, the hypervisor bit, APIC IDs, topology. */
#include <check.h>

#include "check_main.h"
#include <linux/kvm.h>
#include <string.h>

#include "arch/x86/cpuid.h"

/* Leaf 1 as KVM_GET_SUPPORTED_CPUID returns it: TSC-deadline clear
 * (api.rst), x2APIC and SSE3 set, say. */
static struct kvm_cpuid_entry2 leaf1(void)
{
    return (struct kvm_cpuid_entry2){.function = 1,
                                     .eax = 0x00a20f12,
                                     .ebx = 0x00000800,
                                     .ecx = (1u << 21) | 1u,
                                     .edx = 0x178bfbff};
}

START_TEST(test_tsc_deadline_with_cap)
{
    struct kvm_cpuid_entry2 e = leaf1();
    struct cpuid_vcpu v = {.apic_id = 0, .nr_vcpus = 1, .tsc_deadline = true};

    cpuid_patch_entry(&e, &v);
    ck_assert_uint_eq(e.ecx & CPUID_1_ECX_TSC_DEADLINE,
                      CPUID_1_ECX_TSC_DEADLINE);
    /* The supported bits stay, the hypervisor bit joins them. */
    ck_assert_uint_eq(e.ecx & ((1u << 21) | 1u), (1u << 21) | 1u);
    ck_assert_uint_eq(e.ecx & CPUID_1_ECX_HYPERVISOR, CPUID_1_ECX_HYPERVISOR);
}
END_TEST

START_TEST(test_no_tsc_deadline_without_cap)
{
    struct kvm_cpuid_entry2 e = leaf1();
    struct cpuid_vcpu v = {.apic_id = 0, .nr_vcpus = 1, .tsc_deadline = false};

    cpuid_patch_entry(&e, &v);
    ck_assert_uint_eq(e.ecx & CPUID_1_ECX_TSC_DEADLINE, 0);
}
END_TEST

/* Only leaf 1 ECX bit 24 means TSC-deadline. */
START_TEST(test_tsc_deadline_only_leaf1)
{
    struct kvm_cpuid_entry2 e = {.function = 0x80000001, .ecx = 0x1};
    struct cpuid_vcpu v = {.apic_id = 0, .nr_vcpus = 1, .tsc_deadline = true};

    cpuid_patch_entry(&e, &v);
    ck_assert_uint_eq(e.ecx, 0x1);
}
END_TEST

START_TEST(test_apic_id_and_count)
{
    struct kvm_cpuid_entry2 e = leaf1();
    struct cpuid_vcpu v = {.apic_id = 3, .nr_vcpus = 4, .tsc_deadline = true};

    cpuid_patch_entry(&e, &v);
    ck_assert_uint_eq(e.ebx >> 24, 3);
    ck_assert_uint_eq((e.ebx >> 16) & 0xff, 4);
    ck_assert_uint_eq(e.ebx & 0xffff, 0x0800);       /* brand, CLFLUSH size */
    ck_assert_uint_eq(e.edx & (1u << 28), 1u << 28); /* HTT */
}
END_TEST

START_TEST(test_topology_leaf)
{
    struct kvm_cpuid_entry2 e = {.function = 0xb, .index = 1};
    struct cpuid_vcpu v = {.apic_id = 2, .nr_vcpus = 3};

    cpuid_patch_entry(&e, &v);
    ck_assert_uint_eq(e.eax, 2); /* ceil(log2(3)) */
    ck_assert_uint_eq(e.ebx, 3);
    ck_assert_uint_eq(e.ecx, 1 | (2u << 8));
    ck_assert_uint_eq(e.edx, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpuid");
    TCase *tc = tcase_create("patch");

    tcase_add_test(tc, test_tsc_deadline_with_cap);
    tcase_add_test(tc, test_no_tsc_deadline_without_cap);
    tcase_add_test(tc, test_tsc_deadline_only_leaf1);
    tcase_add_test(tc, test_apic_id_and_count);
    tcase_add_test(tc, test_topology_leaf);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
