/* x86_regs.h - initial vCPU register state and the crash dump. */
#ifndef VMRUN_X86_REGS_H
#define VMRUN_X86_REGS_H

struct vm;
struct vcpu;

/* MSRs, LAPIC LINT0/1, FPU for every vCPU; the boot CPU also gets the entry
 * registers recorded by arch_load_kernel() in vm->arch. */
int x86_regs_init(struct vm *vm, struct vcpu *vcpu)
    __attribute__((warn_unused_result));

/* GDT entries vmrun writes at LAYOUT_GDT (selectors are index * 8). */
#define GDT_CODE32 1
#define GDT_CODE64 2
#define GDT_DATA 3
#define GDT_TSS 4
#define GDT_ENTRIES 5

#endif
