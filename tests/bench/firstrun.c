/* firstrun.so: an LD_PRELOAD shim that time-stamps a VMM's first KVM_RUN.
 *
 *   VMRUN_BENCH_FIRSTRUN=FILE LD_PRELOAD=firstrun.so VMM ARGS...
 *
 * Used by tests/bench/inner.sh for the start-up row: it wraps ioctl(2), and
 * on the first KVM_RUN of the process writes one line to FILE:
 *
 *   first_run_us=T cpu_us=C
 *
 * T is CLOCK_MONOTONIC in microseconds (stamp prints its fork time, t0_us,
 * on the same clock), C the CPU time of the whole process so far
 * (CLOCK_PROCESS_CPUTIME_ID: all threads, user and system). With
 * VMRUN_BENCH_FIRSTRUN_STOP=1 the process then ends (exit_group): the
 * start-up row needs nothing after that point. Works for any
 * VMM that calls ioctl through libc (vmrun and QEMU both do). Costs one
 * compare per ioctl after that.
 *
 * FILE is opened when the shim loads, before the VMM runs: vmrun's vCPU
 * thread is under its seccomp filter by its first KVM_RUN, and that filter
 * allows write() and exit_group() but neither openat() nor kill().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

static atomic_int done;
static int out_fd = -1;

__attribute__((constructor)) static void firstrun_open(void)
{
    const char *path = getenv("VMRUN_BENCH_FIRSTRUN");

    if (path)
        out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static long long clock_us(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void note_first_run(void)
{
    long long t = clock_us(CLOCK_MONOTONIC);
    long long cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
    char line[96];
    int n;

    if (out_fd < 0 || atomic_exchange(&done, 1))
        return;
    n = snprintf(line, sizeof(line), "first_run_us=%lld cpu_us=%lld\n", t, cpu);
    if (write(out_fd, line, (size_t)n) != n)
        n = -1;
    if (getenv("VMRUN_BENCH_FIRSTRUN_STOP"))
        _exit(0);
}

int ioctl(int fd, unsigned long req, ...)
{
    static ioctl_fn real;
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real)
        real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    if (req == KVM_RUN && !atomic_load_explicit(&done, memory_order_relaxed))
        note_first_run();
    return real(fd, req, arg);
}
