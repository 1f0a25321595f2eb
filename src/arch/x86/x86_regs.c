/* x86_regs.c - initial MSRs, LAPIC, FPU and entry registers of a vCPU,
 * and the register dump printed when a guest crashes. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/layout.h"
#include "vm.h"
#include "arch/x86/x86_regs.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MISC_ENABLE_FAST_STRING 0x1
#define MTRR_DEF_ENABLE_WB 0x806 /* MTRRs enabled, default write-back */

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static int x86_set_msrs(struct vm *vm, struct vcpu *vcpu)
{
    static const struct kvm_msr_entry want[] = {
        {.index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING},
        {.index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_ENABLE_WB},
    };
    /* struct kvm_msrs ends in a flexible array: build it in a buffer. */
    uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(want)) / 8 + 1] = {0};
    struct kvm_msrs *msrs = (struct kvm_msrs *)buf;
    int n;

    msrs->nmsrs = 2;
    memcpy(msrs->entries, want, sizeof(want));
    n = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
    if (n < 0)
        return -errno;
    if (n != 2)
        vm_log(vm, VMRUN_LOG_DEBUG, "vcpu%u: KVM set %d of 2 MSRs", vcpu->index,
               n);
    return 0;
}

/* LINT0 takes the 8259's ExtINT but is masked, LINT1 NMIs (irqchip.c):
 * KVM's reset value leaves the boot CPU's LINT0 open to an 8259 that a
 * HW-reduced OS never programs. */
static int x86_set_lapic(struct vcpu *vcpu)
{
    struct kvm_lapic_state lapic;

    if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
        return -errno;
    irqchip_lapic_lint_init(&lapic);
    if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
        return -errno;
    return 0;
}

static int x86_set_fpu(struct vcpu *vcpu)
{
    struct kvm_fpu fpu;

    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;    /* FNINIT state */
    fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
    if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
        return -errno;
    return 0;
}

static struct kvm_segment x86_segment(uint16_t index, uint8_t type, bool l,
                                      bool db)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = (uint16_t)(index * 8),
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = db,
        .s = 1,
        .l = l,
        .g = 1,
    };
}

static void x86_entry_sregs(struct vm *vm, struct kvm_sregs *s)
{
    bool long_mode = vm->arch.mode != X86_ENTRY_PVH;
    struct kvm_segment data = x86_segment(GDT_DATA, 3, false, true);

    s->cs = long_mode ? x86_segment(GDT_CODE64, 11, true, false)
                      : x86_segment(GDT_CODE32, 11, false, true);
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    s->tr = (struct kvm_segment){
        .selector = GDT_TSS * 8, .limit = 0x67, .type = 11, .present = 1};
    s->gdt.base = LAYOUT_GDT;
    s->gdt.limit = GDT_ENTRIES * 8 - 1;
    if (long_mode) {
        s->cr0 = CR0_PE | CR0_ET | CR0_PG;
        s->cr3 = LAYOUT_PML4;
        s->cr4 = CR4_PAE;
        s->efer = EFER_LME | EFER_LMA;
    } else {
        s->cr0 = CR0_PE | CR0_ET;
        s->cr4 = 0;
        s->efer = 0;
    }
}

static int x86_set_entry(struct vm *vm, struct vcpu *vcpu)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    x86_entry_sregs(vm, &sregs);
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return -errno;
    memset(&regs, 0, sizeof(regs));
    regs.rflags = 0x2;
    regs.rip = vm->arch.entry;
    switch (vm->arch.mode) {
    case X86_ENTRY_LINUX64:
        regs.rsi = vm->arch.boot_info; /* boot protocol: rsi = zero page */
        break;
    case X86_ENTRY_PVH:
        regs.rbx = vm->arch.boot_info; /* PVH: ebx = hvm_start_info */
        break;
    case X86_ENTRY_ELF64:
        regs.rdi = vm->arch.boot_info;
        regs.rsp = LAYOUT_STACK_TOP;
        break;
    }
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

int x86_regs_init(struct vm *vm, struct vcpu *vcpu)
{
    int ret = x86_set_msrs(vm, vcpu);

    if (ret == 0)
        ret = x86_set_lapic(vcpu);
    if (ret == 0)
        ret = x86_set_fpu(vcpu);
    /* Application processors wait for INIT/SIPI from the guest. */
    if (ret == 0 && vcpu->index == 0)
        ret = x86_set_entry(vm, vcpu);
    return ret;
}

static void x86_dump_code(struct vcpu *vcpu, uint64_t rip)
{
    struct kvm_translation tr = {.linear_address = rip};
    char hex[16 * 3 + 1] = "";
    const uint8_t *code;

    if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
        return;
    code = vm_gpa_ptr(vcpu->vm, tr.physical_address, 16);
    if (!code)
        return;
    for (int i = 0; i < 16; i++)
        snprintf(hex + i * 3, 4, "%02x ", code[i]);
    vm_log(vcpu->vm, VMRUN_LOG_ERROR, "vcpu%u: code at rip (gpa 0x%llx): %s",
           vcpu->index, (unsigned long long)tr.physical_address, hex);
}

void arch_vcpu_dump(struct vcpu *vcpu, int with_code)
{
    struct vm *vm = vcpu->vm;
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
        ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
        return;
    vm_log(vm, VMRUN_LOG_ERROR,
           "vcpu%u: rip=%016llx rsp=%016llx rflags=%08llx cs=%04x "
           "cr0=%llx cr3=%llx cr4=%llx efer=%llx",
           vcpu->index, r.rip, r.rsp, r.rflags, s.cs.selector, s.cr0, s.cr3,
           s.cr4, s.efer);
    vm_log(vm, VMRUN_LOG_ERROR,
           "vcpu%u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx "
           "rsi=%016llx rdi=%016llx rbp=%016llx",
           vcpu->index, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp);
    /* KVM on AMD SVM reinitializes a vCPU when the guest shuts down (the
     * VMCB is undefined after a shutdown intercept): what is left to read
     * is the reset state, not the state that faulted. */
    if (r.rip == 0xfff0 && s.cs.selector == 0xf000 && !(s.cr0 & 1))
        vm_log(vm, VMRUN_LOG_ERROR,
               "vcpu%u: these are the CPU's reset values: KVM reset the vCPU "
               "(AMD SVM does on a shutdown), the faulting state is lost",
               vcpu->index);
    else if (with_code)
        x86_dump_code(vcpu, r.rip);
}
