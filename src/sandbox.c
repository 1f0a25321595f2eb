/* sandbox.c - the allowlist of each thread role, built with libseccomp.
 *
 * A list is made of groups (what every thread does, what device callbacks
 * do, ...); adding what a role needs is one line in one group.  The lists
 * are in docs/security.md: keep both in step. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "syscall_names.h"

/* Allowed when argument (arg) masked with (mask) equals (val), or with any
 * arguments when (arg) < 0.  (err) nonzero: the call fails with that errno
 * instead of running. */
struct sc_rule {
    int nr;
    int arg;
    uint64_t mask;
    uint64_t val;
    int err;
};

/* One-line macros (clang-format would spread each over four lines). */
/* clang-format off */
#define ANY(name) {SCMP_SYS(name), -1, 0, 0, 0}
#define ARG(name, i, v) {SCMP_SYS(name), i, UINT64_MAX, v, 0}
#define FAIL(name, e) {SCMP_SYS(name), -1, 0, 0, e}
/* The request is an unsigned int in the kernel; glibc passes a long. */
#define IOCTL(req) {SCMP_SYS(ioctl), 1, 0xffffffffu, req, 0}
/* No new executable memory: code injection needs it. */
#define NO_EXEC(name) {SCMP_SYS(name), 2, PROT_EXEC, 0, 0}
#define END {-1, 0, 0, 0, 0}
/* clang-format on */

/* Every thread: its own memory, locks, signals, the clock, logging to fds
 * that are open already (stderr, a log or metrics file), exit. */
static const struct sc_rule common_rules[] = {
    ANY(read),           ANY(write),
    ANY(readv),          ANY(writev),
    ANY(close),          ANY(fstat),
    ANY(newfstatat),     ANY(lseek),
    ANY(futex),          ANY(brk),
    NO_EXEC(mmap),       NO_EXEC(mprotect),
    ANY(munmap),         ANY(mremap),
    ANY(madvise),        ANY(rt_sigreturn),
    ANY(rt_sigprocmask), ANY(restart_syscall),
    ANY(clock_gettime),  ANY(clock_nanosleep),
    ANY(nanosleep),      ANY(sched_yield),
    ANY(getpid),         ANY(gettid),
    ANY(getrandom),      ANY(exit),
    ANY(exit_group),     END,
};

/* Device callbacks (register writes on vCPU threads, queue kicks and
 * backend events on the event loop): interrupts, watching fds, offloads,
 * and the block backends (sync and libaio; tap and console I/O is
 * read/write/readv/writev, with a bounded poll() when output stalls).  A device
 * reset is a register write, and it drains the disk's requests in flight: vCPU
 * threads need the block calls too. */
static const struct sc_rule device_rules[] = {
    ANY(epoll_ctl),
    ANY(timerfd_settime), /* virtio-net's next transmit pass, a held disk irq */
    ANY(poll),            /* a stalled UART or console output waits a moment */
    /* Writes to a pipe consume the SIGPIPE they raise (serial, console). */
    ANY(rt_sigpending),
    ANY(rt_sigtimedwait),
    IOCTL(KVM_IRQ_LINE),
    IOCTL(KVM_IRQFD),
    IOCTL(KVM_IOEVENTFD),
    IOCTL(FIONREAD),
    IOCTL(TUNSETOFFLOAD),
    ANY(pread64),
    ANY(pwrite64),
    ANY(preadv),
    ANY(pwritev),
    ANY(preadv2),
    ANY(pwritev2),
    ANY(io_submit),
    ANY(io_getevents),
    ANY(io_pgetevents),
    ANY(fdatasync),
    ANY(fsync),
    ANY(fallocate),
    END,
};

/* vCPU: KVM_RUN (added per vCPU fd in sandbox_enter()) and the exit
 * handlers' register reads (the crash dump). */
static const struct sc_rule vcpu_rules[] = {
    IOCTL(KVM_GET_REGS),
    IOCTL(KVM_GET_SREGS),
    IOCTL(KVM_TRANSLATE),
    END,
};

/* A vCPU thread with a crash dump path (docs/crash-dump.md): the last
 * vCPU to stop after a guest crash creates the dump with open_output_at()
 * (newfstatat, openat, fstat, fstatfs, ftruncate, fcntl F_GETFL/F_SETFL)
 * and writes it with pwrite64 (device_rules) and ftruncate.  openat is
 * added in build(), for the dump's folder only (vm->crash_dir_fd). */
static const struct sc_rule crash_dump_rules[] = {
    ANY(fstatfs),
    ANY(ftruncate),
    ARG(fcntl, 1, F_GETFL),
    ARG(fcntl, 1, F_SETFL),
    END,
};

/* Event loop: waits on epoll; its callbacks are device_rules. */
static const struct sc_rule event_loop_rules[] = {
    ANY(epoll_wait),
    ANY(epoll_pwait),
    END,
};

/* Starting a thread under a filter: the API thread restarts the event loop
 * on resume.  clone only for threads; clone3 (whose flags a filter cannot
 * see) fails, and glibc falls back to clone. */
static const struct sc_rule thread_rules[] = {
    {SCMP_SYS(clone), 0, CLONE_THREAD, CLONE_THREAD, 0},
    FAIL(clone3, ENOSYS),
    ANY(set_robust_list),
    ANY(rseq),
    ANY(sigaltstack),
    ARG(seccomp, 0, SECCOMP_SET_MODE_FILTER),
    ARG(prctl, 0, PR_SET_NO_NEW_PRIVS),
    END,
};

/* API: libmicrohttpd on the listening Unix socket, and what requests do:
 * pause (kicks, kvmclock), resume, Ctrl-Alt-Del (an IRQ line). */
static const struct sc_rule api_rules[] = {
    ANY(accept),
    ANY(accept4),
    ANY(poll),
    ANY(ppoll),
    ANY(recvfrom),
    ANY(recvmsg),
    ANY(sendto),
    ANY(sendmsg),
    ANY(shutdown),
    ANY(setsockopt),
    ANY(getsockopt),
    ANY(getsockname),
    ANY(getpeername),
    ANY(fcntl),
    ANY(tgkill),
    IOCTL(KVM_KVMCLOCK_CTRL),
    END,
};

/* Snapshots (docs/snapshot.md): PUT /snapshot/create on the API thread,
 * with the VM paused, creates the state and memory files (open_output():
 * lstat, openat, fstat, fstatfs, fcntl; flock of the memory file) and
 * reads the VM's state.  openat cannot be narrowed to those files: the
 * API role may open files. */
static const struct sc_rule snapshot_rules[] = {
    ANY(openat),
    ANY(fstatfs),
    ANY(flock),
    ANY(ftruncate),
    IOCTL(KVM_GET_REGS),
    IOCTL(KVM_GET_SREGS),
    IOCTL(KVM_GET_XCRS),
    IOCTL(KVM_GET_DEBUGREGS),
    IOCTL(KVM_GET_LAPIC),
    IOCTL(KVM_GET_MSRS),
    IOCTL(KVM_GET_MP_STATE),
    IOCTL(KVM_GET_VCPU_EVENTS),
    IOCTL(KVM_GET_XSAVE),
    IOCTL(KVM_GET_XSAVE2),
    IOCTL(KVM_GET_CPUID2),
    IOCTL(KVM_GET_TSC_KHZ),
    IOCTL(KVM_GET_MSR_INDEX_LIST),
    IOCTL(KVM_CHECK_EXTENSION),
    IOCTL(KVM_GET_IRQCHIP),
    IOCTL(KVM_GET_PIT2),
    IOCTL(KVM_GET_CLOCK),
    IOCTL(KVM_GET_DIRTY_LOG),
    END,
};

/* Restore (docs/snapshot.md): a sandbox_run() thread parses the state
 * file (already open: pread64 of device_rules) and loads the saved vCPU,
 * VM and device state into the new VM (device_rules: a device the guest
 * had activated is activated again).  Nothing is opened. */
static const struct sc_rule restore_rules[] = {
    IOCTL(KVM_SET_CPUID2),      IOCTL(KVM_GET_TSC_KHZ),
    IOCTL(KVM_SET_TSC_KHZ),     IOCTL(KVM_SET_SREGS),
    IOCTL(KVM_SET_REGS),        IOCTL(KVM_CHECK_EXTENSION),
    IOCTL(KVM_SET_XSAVE),       IOCTL(KVM_SET_XCRS),
    IOCTL(KVM_SET_DEBUGREGS),   IOCTL(KVM_SET_LAPIC),
    IOCTL(KVM_SET_MSRS),        IOCTL(KVM_SET_MP_STATE),
    IOCTL(KVM_SET_VCPU_EVENTS), IOCTL(KVM_SET_IRQCHIP),
    IOCTL(KVM_SET_PIT2),        IOCTL(KVM_SET_CLOCK),
    IOCTL(KVM_KVMCLOCK_CTRL),   END,
};

/* Main: waits for the exit request, kicks and joins the other threads,
 * tears the VM down (device_rules: the disks drain their requests, irqfds
 * and ioeventfds are deassigned; then the aio context goes, the terminal
 * is restored, the API server stopped and its socket removed). */
static const struct sc_rule main_rules[] = {
    ANY(poll),   ANY(ppoll),    ANY(tgkill),   ANY(shutdown), ANY(io_destroy),
    ANY(unlink), IOCTL(TCGETS), IOCTL(TCSETS), END,
};

/* ASan/LSan builds only (never the shipped vmrun): the leak check at exit
 * stops the world from a helper task that ptraces the threads and lists
 * /proc/self/task with the legacy open and getdents; it blocks SIGSYS, so
 * a trap there kills silently and the main thread waits for it forever.
 * A report runs llvm-symbolizer (fork, pipes, execve) for its stacks. */
#if defined(__SANITIZE_ADDRESS__)
#define VMRUN_SANITIZER_RULES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMRUN_SANITIZER_RULES 1
#endif
#endif
#ifdef VMRUN_SANITIZER_RULES
static const struct sc_rule sanitizer_rules[] = {
    ANY(clone),   ANY(ptrace),       ANY(wait4),       ANY(prctl),
    ANY(open),    ANY(openat),       ANY(getdents),    ANY(getdents64),
    ANY(getppid), ANY(rt_sigaction), ANY(sigaltstack), ANY(sched_getaffinity),
    ANY(fork),    ANY(execve),       ANY(pipe),        ANY(pipe2),
    ANY(dup2),    ANY(dup3),         ANY(kill),        END,
};
#define SANITIZER_GROUP sanitizer_rules,
#else
#define SANITIZER_GROUP
#endif

static const struct sc_rule *const role_groups[SANDBOX_NR_ROLES][8] = {
    [SANDBOX_ROLE_VCPU] = {common_rules, device_rules, vcpu_rules,
                           SANITIZER_GROUP NULL},
    [SANDBOX_ROLE_VCPU_DUMP] = {common_rules, device_rules, vcpu_rules,
                                crash_dump_rules, SANITIZER_GROUP NULL},
    [SANDBOX_ROLE_EVENT_LOOP] = {common_rules, device_rules, event_loop_rules,
                                 SANITIZER_GROUP NULL},
    [SANDBOX_ROLE_API] = {common_rules, api_rules, thread_rules, device_rules,
                          event_loop_rules, snapshot_rules,
                          SANITIZER_GROUP NULL},
    [SANDBOX_ROLE_MAIN] = {common_rules, main_rules, device_rules,
                           SANITIZER_GROUP NULL},
    [SANDBOX_ROLE_RESTORE] = {common_rules, device_rules, restore_rules,
                              SANITIZER_GROUP NULL},
};

static const char *const role_names[SANDBOX_NR_ROLES] = {
    [SANDBOX_ROLE_VCPU] = "vcpu",
    [SANDBOX_ROLE_EVENT_LOOP] = "event-loop",
    [SANDBOX_ROLE_API] = "api",
    [SANDBOX_ROLE_MAIN] = "main",
    [SANDBOX_ROLE_API_PREBOOT] = "api-preboot",
    [SANDBOX_ROLE_VCPU_DUMP] = "vcpu-dump",
    [SANDBOX_ROLE_RESTORE] = "restore",
};

/* The API thread before InstanceStart serves requests from clients while
 * it may still have to create the VM (open /dev/kvm, images and taps, map
 * memory, start threads): an allowlist cannot foresee every configuration,
 * so it runs under this denylist of what vmrun never does, then adds the
 * API role's allowlist on top once the VM exists.  Also denied: clone
 * without CLONE_THREAD (a new process), clone3 (fails with ENOSYS: glibc
 * falls back to clone, whose flags a filter can see) and socket() outside
 * AF_UNIX.  Sanitizer builds keep exec, fork and ptrace (see below). */
static const int preboot_denied[] = {
#ifndef VMRUN_SANITIZER_RULES
    SCMP_SYS(execve),
    SCMP_SYS(execveat),
    SCMP_SYS(fork),
    SCMP_SYS(vfork),
    SCMP_SYS(ptrace),
#endif
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(connect),
    SCMP_SYS(bind),
    SCMP_SYS(listen),
    SCMP_SYS(mount),
    SCMP_SYS(umount2),
    SCMP_SYS(pivot_root),
    SCMP_SYS(chroot),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
    SCMP_SYS(kexec_load),
    SCMP_SYS(kexec_file_load),
    SCMP_SYS(init_module),
    SCMP_SYS(finit_module),
    SCMP_SYS(delete_module),
    SCMP_SYS(bpf),
    SCMP_SYS(perf_event_open),
    SCMP_SYS(keyctl),
    SCMP_SYS(add_key),
    SCMP_SYS(request_key),
    SCMP_SYS(reboot),
    SCMP_SYS(swapon),
    SCMP_SYS(swapoff),
    SCMP_SYS(acct),
    SCMP_SYS(iopl),
    SCMP_SYS(ioperm),
    SCMP_SYS(open_by_handle_at),
    SCMP_SYS(personality),
    SCMP_SYS(syslog),
    SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime),
    SCMP_SYS(adjtimex),
    SCMP_SYS(userfaultfd),
    SCMP_SYS(mknod),
    SCMP_SYS(mknodat),
    SCMP_SYS(uselib), /* the SIGSYS handler's second call must trap too */
};

/* The calling thread's role, for the SIGSYS handler: a signal handler has
 * no other way to its thread's context.  Per thread, so not shared
 * between VMs. */
static __thread int thread_role = -1;

const char *sandbox_role_name(enum sandbox_role role)
{
    return role < SANDBOX_NR_ROLES ? role_names[role] : "unknown";
}

/* ---- the SIGSYS handler: async-signal-safe, no libc formatting ---- */

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    while (*s && pos < cap)
        buf[pos++] = *s++;
    return pos;
}

static size_t put_uint(char *buf, size_t pos, size_t cap, unsigned int v)
{
    char digits[12];
    int n = 0;

    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < 12);
    while (n && pos < cap)
        buf[pos++] = digits[--n];
    return pos;
}

/* SCMP_ACT_TRAP lands here instead of SCMP_ACT_KILL_PROCESS so that the
 * user learns which thread made which call (KILL_PROCESS would only leave
 * an audit record in the kernel log).  The call never ran.  Then the
 * process dies by SIGSYS all the same: a second trapped call while SIGSYS
 * is blocked (it is, inside its own handler) makes the kernel reset the
 * handler to the default action, which kills every thread with a core
 * dump, exactly like KILL_PROCESS.  That second call is uselib: in no
 * allowlist, and named in the pre-boot denylist.  So the library never
 * ends the process itself: the kernel does. */
static void seccomp_sigsys(int sig, siginfo_t *si, void *uc)
{
    char msg[256];
    size_t n = 0, cap = sizeof(msg) - 1;
    unsigned int nr = (unsigned int)si->si_syscall;

    (void)sig;
    (void)uc;
    if (si->si_code != 1) /* SYS_SECCOMP, which glibc does not define */
        return;
    n = put_str(msg, n, cap, "vmrun: seccomp: the ");
    n = put_str(msg, n, cap,
                thread_role >= 0 ? role_names[thread_role] : "unfiltered");
    n = put_str(msg, n, cap, " thread made a forbidden system call: ");
    n = put_str(msg, n, cap,
                nr < SECCOMP_MAX_NR && seccomp_names[nr] ? seccomp_names[nr]
                                                         : "?");
    n = put_str(msg, n, cap, " (");
    n = put_uint(msg, n, cap, nr);
    n = put_str(msg, n, cap,
                "); vmrun is killed (--no-seccomp turns the "
                "filters off)\n");
    if (write(STDERR_FILENO, msg, n) < 0) {
        /* nowhere else to say it */
    }
    /* The kernel ends the process here: no list allows uselib. */
    syscall(SYS_uselib, NULL);
}

int sandbox_setup(enum vmrun_seccomp mode, const struct logger *log)
{
    struct sigaction sa;

    if (mode == VMRUN_SECCOMP_OFF)
        return 0;
    /* Probes what the kernel supports now, while nothing is filtered:
     * libseccomp caches the answer for later filters.  Level 3: the LOG
     * action. */
    if (seccomp_api_get() < 3) {
        log_msg(log, VMRUN_LOG_ERROR,
                "seccomp: filters are not available here (valgrind does "
                "not run them); --no-seccomp runs without");
        return -ENOSYS;
    }
    /* The first gmtime()/localtime() reads /etc/localtime (libmicrohttpd
     * dates its replies): load it now, before openat is forbidden. */
    tzset();
    if (mode != VMRUN_SECCOMP_KILL)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = seccomp_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r)
{
    uint32_t action = r->err ? SCMP_ACT_ERRNO(r->err) : SCMP_ACT_ALLOW;
    int ret;

    if (r->arg < 0)
        ret = seccomp_rule_add(ctx, action, r->nr, 0);
    else
        ret = seccomp_rule_add(ctx, action, r->nr, 1,
                               SCMP_CMP((unsigned int)r->arg,
                                        SCMP_CMP_MASKED_EQ, r->mask, r->val));
    /* A call two groups allow the same way is added twice: fine. */
    return ret == -EEXIST ? 0 : ret;
}

static int build(scmp_filter_ctx ctx, enum sandbox_role role, int vcpu_fd,
                 int dump_dir_fd)
{
    int ret = 0;

    for (int g = 0; role_groups[role][g] && ret == 0; g++)
        for (const struct sc_rule *r = role_groups[role][g];
             r->nr >= 0 && ret == 0; r++)
            ret = add_rule(ctx, r);
    /* fd and request are 32-bit in the kernel: compare the low halves. */
    if (ret == 0 &&
        (role == SANDBOX_ROLE_VCPU || role == SANDBOX_ROLE_VCPU_DUMP))
        ret = seccomp_rule_add(
            ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
            SCMP_CMP(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint64_t)vcpu_fd),
            SCMP_CMP(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint64_t)KVM_RUN));
    if (ret == 0 && role == SANDBOX_ROLE_VCPU_DUMP)
        ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                               SCMP_CMP(0, SCMP_CMP_MASKED_EQ, 0xffffffffu,
                                        (uint64_t)dump_dir_fd));
    return ret;
}

#ifdef VMRUN_SECCOMP_TEST
/* The test build (vmrun-seccomp-test, never installed) proves the filter
 * holds: VMRUN_SECCOMP_TEST=ROLE makes that role's thread open a socket
 * right after its filter is on, ROLE:openat open "/" instead (outside the
 * crash dump's folder). */
static void sandbox_test_hook(enum sandbox_role role)
{
    const char *want = getenv("VMRUN_SECCOMP_TEST");
    size_t n = strlen(role_names[role]);
    int fd;

    if (!want || strncmp(want, role_names[role], n) != 0)
        return;
    if (!want[n])
        fd = socket(AF_INET, SOCK_STREAM, 0);
    else if (strcmp(want + n, ":openat") == 0)
        fd = open("/", O_PATH | O_CLOEXEC);
    else
        return;
    if (fd >= 0)
        close(fd);
}
#else
#define sandbox_test_hook(role)                                                \
    do {                                                                       \
    } while (0)
#endif

static int build_denylist(scmp_filter_ctx ctx, uint32_t deny)
{
    static const int domains[] = {AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
    size_t n = sizeof(preboot_denied) / sizeof(preboot_denied[0]);
    int ret = 0;

    for (size_t i = 0; i < n && ret == 0; i++)
        ret = seccomp_rule_add(ctx, deny, preboot_denied[i], 0);
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]) && ret == 0;
         i++)
        ret = seccomp_rule_add(
            ctx, deny, SCMP_SYS(socket), 1,
            SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint64_t)domains[i]));
#ifndef VMRUN_SANITIZER_RULES
    if (ret == 0) /* a new process, not a thread */
        ret = seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
#endif
    if (ret == 0)
        ret =
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return ret;
}

int sandbox_enter(enum vmrun_seccomp mode, enum sandbox_role role, int vcpu_fd,
                  int dump_dir_fd, const struct logger *log)
{
    scmp_filter_ctx ctx;
    sigset_t sys;
    uint32_t deny;
    bool preboot;
    int ret;

    if (mode == VMRUN_SECCOMP_OFF)
        return 0;
    if (role >= SANDBOX_NR_ROLES ||
        (role == SANDBOX_ROLE_VCPU_DUMP && dump_dir_fd < 0))
        return -EINVAL;
    /* A blocked SIGSYS kills without a word (vCPU threads block all but
     * their kick signal): let the handler run. */
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
    deny = mode == VMRUN_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
    preboot = role == SANDBOX_ROLE_API_PREBOOT;
    ctx = seccomp_init(preboot ? SCMP_ACT_ALLOW : deny);
    if (!ctx)
        return -ENOMEM;
    ret = preboot ? build_denylist(ctx, deny)
                  : build(ctx, role, vcpu_fd, dump_dir_fd);
    if (ret == 0)
        ret = seccomp_load(ctx);
    seccomp_release(ctx);
    if (ret < 0) {
        log_msg(log, VMRUN_LOG_ERROR,
                "seccomp: cannot filter the %s thread: %s", role_names[role],
                strerror(-ret));
        return ret;
    }
    thread_role = (int)role;
    sandbox_test_hook(role);
    return 0;
}

/* One sandbox_run() call, shared with its thread. */
struct sandbox_job {
    enum vmrun_seccomp mode;
    enum sandbox_role role;
    const struct logger *log;
    sandbox_job_fn fn;
    void *arg;
    int ret;
};

static void *sandbox_job_thread(void *opaque)
{
    struct sandbox_job *j = opaque;

    j->ret = sandbox_enter(j->mode, j->role, -1, -1, j->log);
    if (j->ret == 0)
        j->ret = j->fn(j->arg);
    return NULL;
}

int sandbox_run(enum vmrun_seccomp mode, enum sandbox_role role,
                const struct logger *log, sandbox_job_fn fn, void *arg)
{
    struct sandbox_job j = {mode, role, log, fn, arg, 0};
    pthread_t t;
    int ret;

    if (mode == VMRUN_SECCOMP_OFF)
        return fn(arg);
    ret = -pthread_create(&t, NULL, sandbox_job_thread, &j);
    if (ret < 0) {
        log_msg(log, VMRUN_LOG_ERROR, "seccomp: cannot start the %s thread: %s",
                role_names[role], strerror(-ret));
        return ret;
    }
    pthread_join(t, NULL);
    return j.ret;
}
