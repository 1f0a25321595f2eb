/* vcpu.h - vCPU threads and the KVM_RUN loop. */
#ifndef VMRUN_VCPU_H
#define VMRUN_VCPU_H

struct vm;
struct vcpu;

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
