/* sandbox.h - per-thread seccomp-bpf allowlists, one per thread role.
 *
 * Each vmrun thread installs the filter of its role on itself once its
 * setup is done (docs/security.md lists what each role may call).  A
 * filter is inherited by the threads a filtered thread starts, and filters
 * stack (the strictest action wins), so a role that starts threads after
 * its filter is on allows what the started role needs: the API thread
 * restarts the event loop on resume, so its list includes the event
 * loop's. */
#ifndef VMRUN_SANDBOX_H
#define VMRUN_SANDBOX_H

#include "core/log.h"
#include "vmrun.h"

enum sandbox_role {
    SANDBOX_ROLE_VCPU,
    SANDBOX_ROLE_EVENT_LOOP,
    SANDBOX_ROLE_API,
    SANDBOX_ROLE_MAIN,        /* the thread in vmrun_run(), once it started the
                                 others: waits, then tears the VM down */
    SANDBOX_ROLE_API_PREBOOT, /* the API thread before InstanceStart: it may
                                 still create the VM, so a denylist */
    SANDBOX_ROLE_VCPU_DUMP,   /* a vCPU thread of a VM with a crash dump
                                 path: it may create and write the dump,
                                 in the dump's folder only */
    SANDBOX_ROLE_RESTORE,     /* a thread of sandbox_run() that parses a
                                 snapshot state file and loads it into a
                                 new VM: no open, no new thread */
    SANDBOX_NR_ROLES,
};

/* Installs the SIGSYS handler that reports a forbidden system call (mode
 * VMRUN_SECCOMP_KILL) and kills the process.  Process-wide but stateless
 * and idempotent; call during setup, before any filter is on.  Does
 * nothing for other modes.  -ENOSYS (logged) where filters cannot be
 * used (a kernel without seccomp-bpf, or under valgrind). */
int sandbox_setup(enum vmrun_seccomp mode, const struct logger *log)
    __attribute__((warn_unused_result));

/* Puts the calling thread under (role)'s allowlist, for good.  (vcpu_fd):
 * the vCPU whose KVM_RUN a vCPU thread may call; (dump_dir_fd): the only
 * folder a vcpu-dump thread may openat in (both ignored, -1, for roles
 * that do not use them).
 * VMRUN_SECCOMP_OFF does nothing; VMRUN_SECCOMP_LOG lets forbidden calls
 * through and has the kernel log them (audit type 1326).  Returns 0 or
 * -errno (logged in (log)). */
int sandbox_enter(enum vmrun_seccomp mode, enum sandbox_role role, int vcpu_fd,
                  int dump_dir_fd, const struct logger *log)
    __attribute__((warn_unused_result));

/* "vcpu", "event-loop", "api", "main", "api-preboot", "vcpu-dump",
 * "restore". */
const char *sandbox_role_name(enum sandbox_role role);

/* Work for sandbox_run(): 0 or -errno. */
typedef int (*sandbox_job_fn)(void *arg);

/* Runs (fn)(arg) on a new thread that first puts itself under (role)'s
 * filter, and returns once that thread has ended (its filter ends with
 * it): for work on untrusted input that the calling thread cannot do
 * under a filter of its own, because it needs other calls afterwards (a
 * restore parses the state file, then looks up and opens the disks the
 * operator gives for it).  The
 * thread inherits the caller's filters and signal mask.  With
 * VMRUN_SECCOMP_OFF (fn) runs on the calling thread.  Returns (fn)'s
 * result, or the -errno of the thread's creation or of its filter
 * (logged in (log)). */
int sandbox_run(enum vmrun_seccomp mode, enum sandbox_role role,
                const struct logger *log, sandbox_job_fn fn, void *arg)
    __attribute__((warn_unused_result));

#endif
