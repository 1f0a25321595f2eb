/* vcpu_crashdump.h - a crashed guest's ELF core file, from its vCPU threads
 * (docs/crash-dump.md; the file format is crashdump.h's). */
#ifndef VMRUN_VCPU_CRASHDUMP_H
#define VMRUN_VCPU_CRASHDUMP_H

#include "vmrun.h"

struct vm;
struct vcpu;

/* Applies (opts)->crash_dump_path over the config's "vmrun.crash-dump"
 * in vm->cfg and, with a dump path, opens its folder (vm->crash_dir_fd):
 * the dump is made there, whatever the folder is called by then.  Call
 * once vm->cfg is the VM's own copy; -ENOMEM or open's -errno (logged). */
int vm_crashdump_setup(struct vm *vm, const struct vmrun_create_opts *opts)
    __attribute__((warn_unused_result));

/* The crash path of (vcpu): records (what) as the dump's reason when it is
 * the VM's first crash. */
void vcpu_crashdump_note(struct vcpu *vcpu, const char *what);

/* Called by each vCPU thread as it ends.  When the VM exits with a guest
 * crash or panic and a dump path is set: saves the vCPU's registers (or
 * why they are lost), and the thread that saves the last vCPU's writes the
 * dump, so the dump is written once and no vCPU runs meanwhile. */
void vcpu_crashdump_stop(struct vcpu *vcpu);

#endif
