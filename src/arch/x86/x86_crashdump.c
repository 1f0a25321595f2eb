/* x86_crashdump.c - a vCPU's registers for the crash dump (arch.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "core/crashdump.h"
#include "vm.h"

/* The state of an x86 CPU after RESET: real mode at f000:fff0 (SDM vol. 3,
 * 9.1.4).  KVM on AMD leaves a vCPU so after a shutdown intercept. */
static int x86_is_reset_state(const struct kvm_regs *r,
                              const struct kvm_sregs *s)
{
    return r->rip == 0xfff0 && s->cs.selector == 0xf000 && !(s->cr0 & 1);
}

int arch_vcpu_crash_regs(struct vcpu *vcpu, uint64_t *g)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
        ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    g[CRASHDUMP_R15] = r.r15;
    g[CRASHDUMP_R14] = r.r14;
    g[CRASHDUMP_R13] = r.r13;
    g[CRASHDUMP_R12] = r.r12;
    g[CRASHDUMP_RBP] = r.rbp;
    g[CRASHDUMP_RBX] = r.rbx;
    g[CRASHDUMP_R11] = r.r11;
    g[CRASHDUMP_R10] = r.r10;
    g[CRASHDUMP_R9] = r.r9;
    g[CRASHDUMP_R8] = r.r8;
    g[CRASHDUMP_RAX] = r.rax;
    g[CRASHDUMP_RCX] = r.rcx;
    g[CRASHDUMP_RDX] = r.rdx;
    g[CRASHDUMP_RSI] = r.rsi;
    g[CRASHDUMP_RDI] = r.rdi;
    g[CRASHDUMP_ORIG_RAX] = (uint64_t)-1; /* not inside a system call */
    g[CRASHDUMP_RIP] = r.rip;
    g[CRASHDUMP_CS] = s.cs.selector;
    g[CRASHDUMP_EFLAGS] = r.rflags;
    g[CRASHDUMP_RSP] = r.rsp;
    g[CRASHDUMP_SS] = s.ss.selector;
    g[CRASHDUMP_FS_BASE] = s.fs.base;
    g[CRASHDUMP_GS_BASE] = s.gs.base;
    g[CRASHDUMP_DS] = s.ds.selector;
    g[CRASHDUMP_ES] = s.es.selector;
    g[CRASHDUMP_FS] = s.fs.selector;
    g[CRASHDUMP_GS] = s.gs.selector;
    return x86_is_reset_state(&r, &s);
}
