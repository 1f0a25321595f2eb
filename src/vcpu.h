/* vcpu.h - vCPU threads and the KVM_RUN loop. */
#ifndef VMRUN_VCPU_H
#define VMRUN_VCPU_H

#include <errno.h>

struct vm;
struct vcpu;

/* While a vCPU parks, it re-enters KVM_RUN with immediate_exit until KVM
 * has nothing half done (vcpu.c, vcpu_complete_io()). */
enum vcpu_park_step {
    VCPU_PARK_DONE,  /* -EINTR/-EAGAIN: every exit completed, park */
    VCPU_PARK_EXIT,  /* 0: completing one exit started another: handle it */
    VCPU_PARK_ERROR, /* another failure: park anyway, the loop reports it */
};

/* What the immediate-exit KVM_RUN's result (ret, with errno (err)) means. */
static inline enum vcpu_park_step vcpu_park_next(int ret, int err)
{
    if (ret >= 0)
        return VCPU_PARK_EXIT;
    return err == EINTR || err == EAGAIN ? VCPU_PARK_DONE : VCPU_PARK_ERROR;
}

/* KVM_CREATE_VCPU (index) and maps its kvm_run. */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int index)
    __attribute__((warn_unused_result));

/* Installs the no-op handler of the signal that kicks vCPUs out of
 * KVM_RUN (idempotent; the handler is process-wide but stateless). */
int vcpu_signal_setup(struct vm *vm) __attribute__((warn_unused_result));

/* Starts the vCPU's thread with every other signal blocked. */
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));

/* Makes a running vCPU leave KVM_RUN at once (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);

void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

#endif
