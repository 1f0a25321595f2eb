/* x86_snapshot.c - the x86 part of a snapshot: each vCPU's registers, FPU
 * (XSAVE), XCRs, debug registers, LAPIC, MSRs, events, MP state and CPUID;
 * the VM's PIC, IOAPIC, PIT and kvmclock; the UART and i8042.
 *
 * Every structure is the kernel's own (linux/kvm.h is a stable ABI), stored
 * as a length-prefixed blob whose length is checked on load.  Restore order
 * follows KVM's dependencies (Documentation/virt/kvm/api.rst): CPUID before
 * anything that depends on the CPU model; special registers (APIC base)
 * before the LAPIC; the LAPIC before the MSRs (TSC_DEADLINE only means
 * something in TSC-deadline mode, and MSR_IA32_TSC comes first in the
 * list); events and MP state last, so nothing above resets them.  Saving
 * reads the MP state first (see arch_snapshot_save_vcpu()).  A restore is
 * whole or fails: a refused MSR fails it, and a pending NMI and the SIPI
 * vector are restored too. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "devices/i8042.h"
#include "devices/serial8250.h"
#include "core/snapshot_file.h"
#include "vm.h"

#define X86_MAX_CPUID 256
#define X86_MAX_MSRS 1024

/* The host's own CPUID (<cpuid.h> is shadowed by this folder's). */
static void host_cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(0));
}

void arch_host_cpu(char *buf, size_t len)
{
    uint32_t r[4], a, family, model;
    char vendor[13];

    host_cpuid(0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = '\0';
    host_cpuid(1, r);
    a = r[0];
    /* SDM vol. 2A, CPUID leaf 1 EAX: display family and model. */
    family = (a >> 8) & 0xf;
    model = (a >> 4) & 0xf;
    if (family == 0xf)
        family += (a >> 20) & 0xff;
    if (family == 0x6 || family >= 0xf)
        model |= ((a >> 16) & 0xf) << 4;
    snprintf(buf, len, "%s family %u model %u", vendor, family, model);
}

/* ---- one vCPU ---- */

static int x86_get(struct vcpu *vcpu, unsigned long req, void *p, size_t n,
                   struct snap_buf *b)
{
    if (ioctl(vcpu->fd, req, p) < 0)
        return -errno;
    sb_put_blob(b, p, n);
    return 0;
}

static int x86_save_xsave(struct vm *vm, struct vcpu *vcpu, struct snap_buf *b)
{
    int size = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    unsigned long req = KVM_GET_XSAVE2;
    void *x;
    int ret;

    /* KVM_CAP_XSAVE2 gives the size of the whole XSAVE area (AMX makes it
     * larger than struct kvm_xsave); without it, the 4 KiB legacy call. */
    if (size < (int)sizeof(struct kvm_xsave)) {
        size = sizeof(struct kvm_xsave);
        req = KVM_GET_XSAVE;
    }
    x = calloc(1, size);
    if (!x)
        return -ENOMEM;
    ret = x86_get(vcpu, req, x, size, b);
    free(x);
    return ret;
}

static int x86_msr_list(struct vm *vm, struct kvm_msr_list **out)
{
    struct kvm_msr_list probe = {.nmsrs = 0}, *l;

    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return -errno;
    if (probe.nmsrs > X86_MAX_MSRS)
        return -E2BIG;
    l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
    if (!l)
        return -ENOMEM;
    l->nmsrs = probe.nmsrs;
    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        int ret = -errno;

        free(l);
        return ret;
    }
    *out = l;
    return 0;
}

/* KVM_GET_MSRS or KVM_SET_MSRS (req) on (e)[0, n): how many it did, or
 * -errno.  Both stop at the first MSR KVM cannot read or refuses. */
static int x86_msrs_ioctl(struct vcpu *vcpu, unsigned long req,
                          struct kvm_msr_entry *e, uint32_t n)
{
    struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(*e));
    int ret;

    if (!m)
        return -ENOMEM;
    m->nmsrs = n;
    memcpy(m->entries, e, n * sizeof(*e));
    ret = ioctl(vcpu->fd, req, m);
    if (ret < 0)
        ret = -errno;
    else
        memcpy(e, m->entries, n * sizeof(*e));
    free(m);
    return ret > (int)n ? -EIO : ret;
}

/* Reads what it can: an MSR KVM cannot read is dropped, the rest go on. */
static int x86_read_msrs(struct vcpu *vcpu, struct kvm_msrs *m)
{
    uint32_t done = 0, n = m->nmsrs;

    while (done < n) {
        int got =
            x86_msrs_ioctl(vcpu, KVM_GET_MSRS, m->entries + done, n - done);

        if (got < 0)
            return got;
        done += (uint32_t)got;
        if (done < n) {
            vm_log(vcpu->vm, VMRUN_LOG_DEBUG, "vcpu%u: MSR 0x%x not readable",
                   vcpu->index, m->entries[done].index);
            memmove(m->entries + done, m->entries + done + 1,
                    (n - done - 1) * sizeof(m->entries[0]));
            n--;
        }
    }
    m->nmsrs = n;
    return 0;
}

static int x86_save_msrs(struct vcpu *vcpu, struct snap_buf *b)
{
    struct kvm_msr_list *l = NULL;
    struct kvm_msrs *m;
    int ret = x86_msr_list(vcpu->vm, &l);

    if (ret < 0)
        return ret;
    m = calloc(1, sizeof(*m) + l->nmsrs * sizeof(m->entries[0]));
    if (!m) {
        free(l);
        return -ENOMEM;
    }
    m->nmsrs = l->nmsrs;
    for (uint32_t i = 0; i < l->nmsrs; i++)
        m->entries[i].index = l->indices[i];
    free(l);
    ret = x86_read_msrs(vcpu, m);
    if (ret == 0) {
        sb_put_u32(b, m->nmsrs);
        for (uint32_t i = 0; i < m->nmsrs; i++) {
            sb_put_u32(b, m->entries[i].index);
            sb_put_u64(b, m->entries[i].data);
        }
    }
    free(m);
    return ret;
}

static int x86_save_cpuid(struct vcpu *vcpu, struct snap_buf *b)
{
    struct kvm_cpuid2 *c =
        calloc(1, sizeof(*c) + X86_MAX_CPUID * sizeof(c->entries[0]));
    int ret = 0;

    if (!c)
        return -ENOMEM;
    c->nent = X86_MAX_CPUID;
    if (ioctl(vcpu->fd, KVM_GET_CPUID2, c) < 0)
        ret = -errno;
    else
        sb_put_blob(b, c->entries, c->nent * sizeof(c->entries[0]));
    free(c);
    return ret;
}

int arch_snapshot_save_vcpu(struct vcpu *vcpu, struct snap_buf *b)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xcrs xcrs;
    struct kvm_debugregs dregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    int khz, ret = 0;

    /* The MP state is read first, as Firecracker and Cloud Hypervisor do:
     * KVM_GET_MP_STATE runs kvm_apic_accept_events(), which acts on a
     * pending INIT (resets the registers, LAPIC and MSRs) or SIPI (sets
     * CS:IP).  Read after them, it would describe a vCPU other than the
     * one saved.  Its record keeps its place in the file. */
    if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
        return -errno;
    khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
    ret = x86_save_cpuid(vcpu, b);
    sb_put_u32(b, khz > 0 ? (uint32_t)khz : 0);
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_SREGS, &sregs, sizeof(sregs), b);
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_REGS, &regs, sizeof(regs), b);
    if (ret == 0)
        ret = x86_save_xsave(vcpu->vm, vcpu, b);
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_XCRS, &xcrs, sizeof(xcrs), b);
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_DEBUGREGS, &dregs, sizeof(dregs), b);
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_LAPIC, &lapic, sizeof(lapic), b);
    if (ret == 0)
        ret = x86_save_msrs(vcpu, b);
    if (ret == 0)
        sb_put_blob(b, &mp, sizeof(mp));
    if (ret == 0)
        ret = x86_get(vcpu, KVM_GET_VCPU_EVENTS, &events, sizeof(events), b);
    return ret;
}

/* A fixed-size kernel structure from the file: its length must match. */
static int x86_blob(struct snap_rd *r, void *dst, size_t n)
{
    size_t len;
    const void *p = sr_blob(r, &len);

    if (!p || len != n)
        return -EINVAL;
    memcpy(dst, p, n);
    return 0;
}

static int x86_set(struct vcpu *vcpu, struct snap_rd *r, unsigned long req,
                   void *p, size_t n, const char *what)
{
    int ret = x86_blob(r, p, n);

    if (ret < 0) {
        vm_log(vcpu->vm, VMRUN_LOG_ERROR, "snapshot: vcpu%u: bad %s record",
               vcpu->index, what);
        return ret;
    }
    if (ioctl(vcpu->fd, req, p) < 0) {
        ret = -errno;
        vm_log(vcpu->vm, VMRUN_LOG_ERROR, "snapshot: vcpu%u: setting %s: %s",
               vcpu->index, what, strerror(-ret));
    }
    return ret;
}

static int x86_load_cpuid(struct vcpu *vcpu, struct snap_rd *r)
{
    size_t len;
    const void *p = sr_blob(r, &len);
    struct kvm_cpuid2 *c;
    int ret = 0;

    if (!p || len % sizeof(c->entries[0]) ||
        len / sizeof(c->entries[0]) > X86_MAX_CPUID)
        return -EINVAL;
    c = calloc(1, sizeof(*c) + len);
    if (!c)
        return -ENOMEM;
    c->nent = len / sizeof(c->entries[0]);
    memcpy(c->entries, p, len);
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
        ret = -errno;
        vm_log(vcpu->vm, VMRUN_LOG_ERROR,
               "snapshot: vcpu%u: this host refuses the saved CPUID: %s",
               vcpu->index, strerror(-ret));
    }
    free(c);
    return ret;
}

static int x86_load_xsave(struct vcpu *vcpu, struct snap_rd *r)
{
    int size = ioctl(vcpu->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    size_t len;
    const void *p = sr_blob(r, &len);
    void *x;
    int ret = 0;

    if (size < (int)sizeof(struct kvm_xsave))
        size = sizeof(struct kvm_xsave);
    if (!p || len < sizeof(struct kvm_xsave) || len > (size_t)size) {
        vm_log(vcpu->vm, VMRUN_LOG_ERROR,
               "snapshot: vcpu%u: XSAVE area of %zu bytes; this host's is %d",
               vcpu->index, len, size);
        return -EINVAL;
    }
    x = calloc(1, size);
    if (!x)
        return -ENOMEM;
    memcpy(x, p, len);
    if (ioctl(vcpu->fd, KVM_SET_XSAVE, x) < 0)
        ret = -errno;
    free(x);
    return ret;
}

/* Every saved MSR or none: KVM_SET_MSRS stops at the first MSR it
 * refuses, and a guest resumed without it (kvmclock, async PF, a PMU or
 * speculation control) runs on a state it never had, with nothing to show
 * for it.  The save side keeps only MSRs KVM_GET_MSR_INDEX_LIST lists and
 * KVM_GET_MSRS reads, so a refusal means another host (or kernel): the
 * restore fails, naming the MSR (Firecracker's VcpuSetMsrsIncomplete). */
static int x86_load_msrs(struct vcpu *vcpu, struct snap_rd *r)
{
    uint32_t n = sr_u32(r), done = 0;
    struct kvm_msr_entry *e;
    int ret = 0;

    if (r->err || n > X86_MAX_MSRS)
        return -EINVAL;
    e = calloc(n ? n : 1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        e[i].index = sr_u32(r);
        e[i].data = sr_u64(r);
    }
    while (!r->err && ret == 0 && done < n) {
        ret = x86_msrs_ioctl(vcpu, KVM_SET_MSRS, e + done, n - done);
        if (ret < 0)
            break;
        done += (uint32_t)ret;
        ret = 0;
        if (done < n) {
            vm_log(vcpu->vm, VMRUN_LOG_ERROR,
                   "snapshot: vcpu%u: KVM refused MSR 0x%x (value 0x%llx, "
                   "%u of %u set): this host cannot restore the saved state",
                   vcpu->index, e[done].index, (unsigned long long)e[done].data,
                   done, n);
            ret = -EINVAL;
        }
    }
    free(e);
    return r->err ? -EINVAL : ret;
}

static void x86_set_tsc_khz(struct vcpu *vcpu, uint32_t khz)
{
    int now = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

    if (!khz || now <= 0 || (uint32_t)now == khz)
        return;
    if (ioctl(vcpu->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
        vm_log(vcpu->vm, VMRUN_LOG_WARN,
               "vcpu%u: the snapshot's TSC ran at %u kHz, this host's at %d "
               "kHz and KVM cannot scale it: guest time may drift",
               vcpu->index, khz, now);
}

/* KVM_GET_VCPU_EVENTS always fills nmi.pending and sipi_vector, but
 * KVM_SET_VCPU_EVENTS only takes them with their VALID flags, which GET
 * does not return: without them a pending NMI is dropped (QEMU sets
 * both).  Snapshots of older vmrun versions carry the same fields. */
static int x86_load_events(struct vcpu *vcpu, struct snap_rd *r,
                           struct kvm_vcpu_events *ev)
{
    int ret = x86_blob(r, ev, sizeof(*ev));

    if (ret < 0) {
        vm_log(vcpu->vm, VMRUN_LOG_ERROR, "snapshot: vcpu%u: bad events record",
               vcpu->index);
        return ret;
    }
    ev->flags |=
        KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, ev) < 0) {
        ret = -errno;
        vm_log(vcpu->vm, VMRUN_LOG_ERROR,
               "snapshot: vcpu%u: setting events: %s", vcpu->index,
               strerror(-ret));
    }
    return ret;
}

int arch_snapshot_load_vcpu(struct vcpu *vcpu, struct snap_rd *r)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xcrs xcrs;
    struct kvm_debugregs dregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    int ret = x86_load_cpuid(vcpu, r);

    if (ret == 0)
        x86_set_tsc_khz(vcpu, sr_u32(r));
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_SREGS, &sregs, sizeof(sregs), "sregs");
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_REGS, &regs, sizeof(regs), "regs");
    if (ret == 0)
        ret = x86_load_xsave(vcpu, r);
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_XCRS, &xcrs, sizeof(xcrs), "XCRs");
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_DEBUGREGS, &dregs, sizeof(dregs),
                      "debug registers");
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_LAPIC, &lapic, sizeof(lapic), "LAPIC");
    if (ret == 0)
        ret = x86_load_msrs(vcpu, r);
    if (ret == 0)
        ret = x86_set(vcpu, r, KVM_SET_MP_STATE, &mp, sizeof(mp), "MP state");
    if (ret == 0)
        ret = x86_load_events(vcpu, r, &events);
    if (ret == 0)
        ret = sr_done(r);
    return ret;
}

/* ---- the VM ---- */

int arch_snapshot_save_vm(struct vm *vm, struct snap_buf *b)
{
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock = {0};
    int ret = 0;

    /* PIC master, PIC slave, IOAPIC (KVM_IRQCHIP_*). */
    for (uint32_t chip = 0; chip < 3 && ret == 0; chip++) {
        struct kvm_irqchip ic = {.chip_id = chip};

        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &ic) < 0)
            ret = -errno;
        sb_put_blob(b, &ic, sizeof(ic));
    }
    if (ret == 0 && ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
        ret = -errno;
    sb_put_blob(b, &pit, sizeof(pit));
    if (ret == 0 && ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
        ret = -errno;
    sb_put_blob(b, &clock, sizeof(clock));
    if (ret == 0)
        ret = serial_save(vm->arch.serial, b);
    if (ret == 0)
        ret = i8042_save(vm->arch.kbd, b);
    return ret;
}

int arch_snapshot_load_vm(struct vm *vm, struct snap_rd *r)
{
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    int ret = 0;

    for (uint32_t chip = 0; chip < 3 && ret == 0; chip++) {
        struct kvm_irqchip ic;

        ret = x86_blob(r, &ic, sizeof(ic));
        if (ret == 0 && ic.chip_id != chip)
            ret = -EINVAL;
        if (ret == 0 && ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &ic) < 0)
            ret = -errno;
    }
    if (ret == 0)
        ret = x86_blob(r, &pit, sizeof(pit));
    if (ret == 0 && ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
        ret = -errno;
    if (ret == 0)
        ret = x86_blob(r, &clock, sizeof(clock));
    /* The guest's clock continues from the saved value: time stood still
     * while the VM was saved (KVM_CLOCK_REALTIME would make it jump). */
    clock.flags = 0;
    if (ret == 0 && ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
        ret = -errno;
    if (ret == 0)
        ret = serial_load(vm->arch.serial, r);
    if (ret == 0)
        ret = i8042_load(vm->arch.kbd, r);
    if (ret == 0)
        ret = sr_done(r);
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR,
               "snapshot: cannot restore the irqchip, PIT, clock or "
               "platform devices: %s",
               strerror(-ret));
    return ret;
}
