/* cpuid.h - the CPUID each vCPU sees. */
#ifndef VMRUN_X86_CPUID_H
#define VMRUN_X86_CPUID_H

#include <stdint.h>

struct kvm_cpuid2;

/* KVM_GET_SUPPORTED_CPUID on (kvm_fd) into a new allocation (*out). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
    __attribute__((warn_unused_result));

/* KVM_SET_CPUID2 on (vcpu_fd): (supported) with APIC ID (apic_id) and a
 * one-package topology of (nr_vcpus) single-thread cores. */
int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
                   uint32_t apic_id, uint32_t nr_vcpus)
    __attribute__((warn_unused_result));

#endif
