/* cpuid.c - per-vCPU CPUID from KVM_GET_SUPPORTED_CPUID: APIC IDs, a
 * one-package topology with one core per vCPU, the hypervisor bit, the
 * TSC-deadline timer. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"

#define CPUID_MAX_ENTRIES 256

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
    struct kvm_cpuid2 *c;
    size_t size = sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]);

    c = calloc(1, size);
    if (!c)
        return -ENOMEM;
    c->nent = CPUID_MAX_ENTRIES;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        int ret = -errno;

        free(c);
        return ret;
    }
    *out = c;
    return 0;
}

/* Bits needed to number (n) cores: ceil(log2(n)). */
static uint32_t cpuid_shift(uint32_t n)
{
    uint32_t s = 0;

    while ((1u << s) < n)
        s++;
    return s;
}

/* SDM vol. 2A, CPUID leaf 0BH/1FH: level 0 = SMT (one thread per core),
 * level 1 = core (n cores), then invalid levels. */
static void cpuid_topology(struct kvm_cpuid_entry2 *e, uint32_t id, uint32_t n)
{
    uint32_t level = e->index;

    e->edx = id;
    if (level == 0) {
        e->eax = 0;
        e->ebx = 1;
        e->ecx = 0 | (1u << 8);
    } else if (level == 1) {
        e->eax = cpuid_shift(n);
        e->ebx = n;
        e->ecx = 1 | (2u << 8);
    } else {
        e->eax = e->ebx = 0;
        e->ecx = level;
    }
}

void cpuid_patch_entry(struct kvm_cpuid_entry2 *e, const struct cpuid_vcpu *v)
{
    uint32_t id = v->apic_id, n = v->nr_vcpus;
    uint32_t logical = n > 255 ? 255 : n;

    switch (e->function) {
    case 0x1:
        e->ebx = (e->ebx & 0xffff) | (logical << 16) | (id << 24);
        e->ecx |= CPUID_1_ECX_HYPERVISOR;
        /* KVM_GET_SUPPORTED_CPUID always reports TSC-deadline clear: it
         * needs the in-kernel LAPIC, so api.rst has userspace set it when
         * KVM_CAP_TSC_DEADLINE_TIMER is there (QEMU, Firecracker and
         * Cloud Hypervisor do).  Without it Linux runs the LAPIC timer
         * in one-shot mode. */
        if (v->tsc_deadline)
            e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
        if (n > 1)
            e->edx |= 1u << 28; /* HTT: the package field is valid */
        break;
    case 0x4:
        /* Cores per package - 1; no cache shared between vCPUs. */
        e->eax = (e->eax & 0x3fff) | ((n - 1 > 63 ? 63 : n - 1) << 26);
        break;
    case 0xb:
    case 0x1f:
        cpuid_topology(e, id, n);
        break;
    case 0x80000008:
        e->ecx =
            (e->ecx & ~0xf0ffu) | (cpuid_shift(n) << 12) | ((n - 1) & 0xff);
        break;
    case 0x8000001e:
        e->eax = id;
        e->ebx = id & 0xff; /* compute unit id, one thread each */
        e->ecx = 0;
        break;
    default:
        break;
    }
}

int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
                   const struct cpuid_vcpu *v)
{
    size_t size =
        sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
    struct kvm_cpuid2 *c = malloc(size);
    int ret = 0;

    if (!c)
        return -ENOMEM;
    memcpy(c, supported, size);
    for (uint32_t i = 0; i < c->nent; i++)
        cpuid_patch_entry(&c->entries[i], v);
    if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
        ret = -errno;
    free(c);
    return ret;
}
