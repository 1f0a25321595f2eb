/* cpuid.h - the CPUID each vCPU sees. */
#ifndef VMRUN_X86_CPUID_H
#define VMRUN_X86_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;
struct kvm_cpuid_entry2;

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/* What one vCPU's CPUID says beyond KVM_GET_SUPPORTED_CPUID. */
struct cpuid_vcpu {
    uint32_t apic_id;
    uint32_t nr_vcpus; /* a one-package topology of single-thread cores */
    bool tsc_deadline; /* KVM_CAP_TSC_DEADLINE_TIMER: CPUID.1:ECX[24] */
};

/* KVM_GET_SUPPORTED_CPUID on (kvm_fd) into a new allocation (*out). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
    __attribute__((warn_unused_result));

/* Rewrites one entry of the supported table for the vCPU (v): APIC ID,
 * topology leaves, the hypervisor and TSC-deadline bits.  No KVM call
 * (the unit tests drive it). */
void cpuid_patch_entry(struct kvm_cpuid_entry2 *e, const struct cpuid_vcpu *v);

/* KVM_SET_CPUID2 on (vcpu_fd): (supported), each entry patched for (v). */
int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
                   const struct cpuid_vcpu *v)
    __attribute__((warn_unused_result));

#endif
