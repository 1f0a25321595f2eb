/* stamp: runs one VMM, time-stamps it (CLOCK_MONOTONIC) and samples its cost.
 *
 *   stamp [-m MARK] [-i MARK] [-w SEC] [-g MIB] [-t SEC] [-o FILE] [-e FILE]
 *         [-k DIR] [-T PREFIX] [-a SOCK] -- VMM ARGS...
 *
 * Used by tests/bench/run.sh inside the lab's box, where shell timing is too
 * coarse (busybox date has no sub-second clock). It records the clock just
 * before fork(), when a console line containing MARK (default
 * "VMRUN-GUEST: userspace") arrives on the VMM's stdout, and when the VMM
 * exits (its pidfd becomes readable). It prints one line of key=value pairs:
 *
 *   status         exit status, 128+N when killed by signal N
 *   marker_ms      fork to the MARK line (-1: never seen)
 *   exit_ms        fork to process exit
 *   user_ms sys_ms CPU time of the VMM (wait4 rusage, all its threads);
 *                  KVM accounts the time a vCPU spends in the guest as user
 *                  time of its thread, so user_ms includes guest_ms
 *   guest_ms       that guest time (/proc/PID/stat guest_time of the zombie,
 *                  clock-tick resolution; -1 if unreadable)
 *   maxrss_kb      peak RSS (rusage; includes guest RAM the guest touched)
 *   t0_us          the fork time itself (CLOCK_MONOTONIC, us), to relate
 *                  time stamps other programs take (tests/bench/firstrun.c)
 *   marker_cpu_ms  CPU time of the VMM (all threads, the schedstat files
 *                  of /proc/PID/task, ns resolution) when MARK arrived
 *
 * With -T PREFIX: every console line "PREFIX WORD ..." adds lt_WORD=MS (fork
 * to the line's arrival); the exit-cost guest times its loops that way.
 *
 * With -a SOCK: connects to the Unix socket SOCK (retrying every 0.2 ms),
 * sends an HTTP GET and waits for the first byte of an answer, which adds
 * api_ms and api_cpu_ms (CPU time of the VMM then); then stops the VMM as
 * -i does.  QEMU's QMP socket greets without being asked; the same works.
 *
 * With -i MARK: once a line containing MARK arrives, waits SEC seconds (-w,
 * default 2), samples /proc/PID/{status,smaps_rollup,smaps}, then stops the
 * VMM with SIGTERM (SIGKILL 5 s later). Adds hwm_kb rss_kb pss_kb and
 * guest_rss_kb guest_pss_kb guest_maps: the mappings of at least -g MIB are
 * taken as guest RAM (see docs/benchmarks.md for why that identifies it).
 *
 * KVM counters (-k DIR, default /sys/kernel/debug/kvm when it exists): KVM's
 * debugfs files at DIR sum over the VMs alive at read time, so a VM's counts
 * vanish with it. stamp therefore watches DIR (inotify) for the VM's own
 * directory "PID-FD", takes a duplicate of the VM fd with pidfd_getfd() so the
 * VM outlives the VMM, and reads that directory's counters after the exit.
 * Adds kvm_NAME=N for each counter in kvm_counters[].
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define MAX_VMS 4
#define LINE_MAX_LEN 4096

/* The per-VM counters reported; the names are KVM's debugfs file names. */
static const char *const kvm_counters[] = {
    "exits",          "io_exits",     "mmio_exits",       "halt_exits",
    "irq_exits",      "signal_exits", "irq_window_exits", "request_irq_exits",
    "insn_emulation", "hypercalls",
};
#define N_COUNTERS (sizeof(kvm_counters) / sizeof(kvm_counters[0]))

struct stamp {
    /* options */
    const char *mark, *idle_mark, *out_path, *err_path, *kvm_dir, *lt_prefix,
        *api_sock;
    double idle_wait_s, timeout_s;
    long guest_kb;
    char **argv;
    /* run state */
    pid_t pid;
    int pidfd, out_fd, ino_fd, log_fd;
    double t0, t_mark, t_idle, t_exit, t_term, t_api;
    double cpu_mark, cpu_api;
    int api_fd;
    char lt[1024];
    size_t lt_len;
    bool sampled;
    char line[LINE_MAX_LEN];
    size_t line_len;
    int n_vms, vm_fds[MAX_VMS];
    char vm_dirs[MAX_VMS][64];
    /* results */
    int status;
    double guest_ms;
    struct rusage ru;
    long hwm_kb, rss_kb, pss_kb, guest_rss_kb, guest_pss_kb, guest_maps;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "stamp: %s: %s\n", what, strerror(errno));
    exit(125);
}

static void usage(void)
{
    fprintf(stderr, "usage: stamp [-m MARK] [-i MARK] [-w SEC] [-g MIB] "
                    "[-t SEC] [-o FILE] [-e FILE] [-k DIR] [-T PREFIX] "
                    "[-a SOCK] -- VMM ARGS...\n");
    exit(125);
}

static void stamp_parse_args(struct stamp *s, int argc, char **argv)
{
    int c;

    s->mark = "VMRUN-GUEST: userspace";
    s->idle_wait_s = 2;
    s->timeout_s = 300;
    s->err_path = "/dev/null";
    s->kvm_dir = "/sys/kernel/debug/kvm";
    while ((c = getopt(argc, argv, "m:i:w:g:t:o:e:k:T:a:")) != -1) {
        switch (c) {
        case 'm':
            s->mark = optarg;
            break;
        case 'i':
            s->idle_mark = optarg;
            break;
        case 'w':
            s->idle_wait_s = atof(optarg);
            break;
        case 'g':
            s->guest_kb = atol(optarg) * 1024;
            break;
        case 't':
            s->timeout_s = atof(optarg);
            break;
        case 'o':
            s->out_path = optarg;
            break;
        case 'e':
            s->err_path = optarg;
            break;
        case 'k':
            s->kvm_dir = optarg;
            break;
        case 'T':
            s->lt_prefix = optarg;
            break;
        case 'a':
            s->api_sock = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();
    s->argv = argv + optind;
}

/* The child: stdout into the pipe, stderr to err_path, no stdin. */
static void stamp_exec_child(struct stamp *s, int pipe_w)
{
    int err = open(s->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = open("/dev/null", O_RDONLY);

    if (err < 0 || nul < 0 || dup2(pipe_w, 1) < 0 || dup2(err, 2) < 0 ||
        dup2(nul, 0) < 0)
        _exit(126);
    execvp(s->argv[0], s->argv);
    _exit(127);
}

static void stamp_spawn(struct stamp *s)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe");
    s->t0 = now_ms();
    s->pid = fork();
    if (s->pid < 0)
        die("fork");
    if (s->pid == 0)
        stamp_exec_child(s, p[1]);
    close(p[1]);
    s->out_fd = p[0];
    s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    if (s->pidfd < 0)
        die("pidfd_open");
}

/* Watch the KVM debugfs directory before the VMM can create its VM. */
static void stamp_watch_kvm(struct stamp *s)
{
    s->ino_fd = -1;
    if (access(s->kvm_dir, R_OK) != 0)
        return;
    s->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (s->ino_fd < 0)
        return;
    if (inotify_add_watch(s->ino_fd, s->kvm_dir, IN_CREATE) < 0) {
        close(s->ino_fd);
        s->ino_fd = -1;
    }
}

/* Keep VM (PID-FD) alive: a dup of its fd. The directory appears just
 * before the fd is installed in the VMM's table, hence the short retry. */
static void stamp_hold_vm(struct stamp *s, const char *name)
{
    int pid, fd, vmfd = -1;

    if (sscanf(name, "%d-%d", &pid, &fd) != 2 || pid != s->pid ||
        s->n_vms == MAX_VMS)
        return;
    for (int i = 0; i < 2000 && vmfd < 0; i++) {
        vmfd = (int)syscall(SYS_pidfd_getfd, s->pidfd, fd, 0);
        if (vmfd < 0 && errno != EBADF)
            break;
        if (vmfd < 0)
            usleep(50);
    }
    if (vmfd < 0)
        return;
    s->vm_fds[s->n_vms] = vmfd;
    snprintf(s->vm_dirs[s->n_vms], sizeof(s->vm_dirs[0]), "%s", name);
    s->n_vms++;
}

static void stamp_read_inotify(struct stamp *s)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;

            if (ev->len)
                stamp_hold_vm(s, ev->name);
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* CPU time of all threads of (pid) in ms: the first field of each
 * /proc/PID/task/TID/schedstat (ns on the CPU); -1 if unreadable. */
static double proc_cpu_ms(pid_t pid)
{
    char path[64];
    unsigned long long ns, sum = 0;
    struct dirent *d;
    DIR *dir;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    dir = opendir(path);
    if (!dir)
        return -1;
    while ((d = readdir(dir))) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", pid,
                 d->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(dir);
    return (double)sum / 1e6;
}

/* "PREFIX WORD ...": remembers " lt_WORD=MS" for the result line. */
static void stamp_line_time(struct stamp *s, double t)
{
    size_t plen = strlen(s->lt_prefix);
    const char *w = s->line + plen;
    int n;

    if (strncmp(s->line, s->lt_prefix, plen) != 0 || *w != ' ')
        return;
    w++;
    n = snprintf(s->lt + s->lt_len, sizeof(s->lt) - s->lt_len, " lt_%.*s=%.3f",
                 (int)strcspn(w, " \r"), w, t - s->t0);
    if (n > 0 && (size_t)n < sizeof(s->lt) - s->lt_len)
        s->lt_len += (size_t)n;
}

static void stamp_on_line(struct stamp *s)
{
    s->line[s->line_len] = 0;
    if (s->lt_prefix)
        stamp_line_time(s, now_ms());
    if (s->t_mark < 0 && strstr(s->line, s->mark)) {
        s->t_mark = now_ms();
        s->cpu_mark = proc_cpu_ms(s->pid);
    }
    if (s->idle_mark && s->t_idle < 0 && strstr(s->line, s->idle_mark))
        s->t_idle = now_ms();
    s->line_len = 0;
}

/* Returns false at end of file. */
static bool stamp_read_console(struct stamp *s)
{
    char buf[4096];
    ssize_t n = read(s->out_fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    if (s->log_fd >= 0 && write(s->log_fd, buf, (size_t)n) != n)
        s->log_fd = -1;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || s->line_len == LINE_MAX_LEN - 1)
            stamp_on_line(s);
        else if (buf[i] != 0)
            s->line[s->line_len++] = buf[i];
    }
    return true;
}

/* "Key:   123 kB" lines of a /proc file: the value of KEY, summed. */
static long proc_field_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t klen = strlen(key);
    long sum = -1, v;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
            sscanf(line + klen + 1, "%ld", &v) == 1)
            sum = (sum < 0 ? 0 : sum) + v;
    }
    fclose(f);
    return sum;
}

/* Rss and Pss of the mappings at least guest_kb large: the guest's RAM. */
static void stamp_sample_guest_maps(struct stamp *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    long v;
    bool in_guest = false;

    if (!f)
        return;
    s->guest_rss_kb = s->guest_pss_kb = s->guest_maps = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Size: %ld", &v) == 1) {
            in_guest = s->guest_kb > 0 && v >= s->guest_kb;
            s->guest_maps += in_guest;
        } else if (in_guest && sscanf(line, "Rss: %ld", &v) == 1) {
            s->guest_rss_kb += v;
        } else if (in_guest && sscanf(line, "Pss: %ld", &v) == 1) {
            s->guest_pss_kb += v;
        }
    }
    fclose(f);
}

static void stamp_sample_memory(struct stamp *s)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/status", s->pid);
    s->hwm_kb = proc_field_kb(path, "VmHWM");
    s->rss_kb = proc_field_kb(path, "VmRSS");
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", s->pid);
    s->pss_kb = proc_field_kb(path, "Pss");
    snprintf(path, sizeof(path), "/proc/%d/smaps", s->pid);
    stamp_sample_guest_maps(s, path);
    s->sampled = true;
}

/* -a: one connection attempt, or the answer on the connected socket. */
static void stamp_api_poll(struct stamp *s, bool readable)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char buf[256];

    if (s->api_fd >= 0 && readable) {
        if (read(s->api_fd, buf, sizeof(buf)) > 0) {
            s->t_api = now_ms();
            s->cpu_api = proc_cpu_ms(s->pid);
            s->t_idle = s->t_api; /* stop the VMM as -i does, at once */
            s->idle_wait_s = 0;
        }
        close(s->api_fd);
        s->api_fd = -1;
        return;
    }
    if (s->api_fd >= 0)
        return;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->api_sock);
    s->api_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->api_fd < 0)
        die("socket");
    if (connect(s->api_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        write(s->api_fd, req, sizeof(req) - 1) < 0) {
        close(s->api_fd);
        s->api_fd = -1;
    }
}

/* Poll timeout in ms until the next deadline (idle sample or time-out). */
static int stamp_next_timeout(struct stamp *s, double t)
{
    double next = s->t0 + s->timeout_s * 1e3;

    if (s->t_term >= 0)
        next = s->t_term + 5e3;
    if (s->t_idle >= 0 && !s->sampled)
        next = s->t_idle + s->idle_wait_s * 1e3;
    if (s->api_sock && s->t_api < 0 && s->api_fd < 0)
        return 0; /* retry the connection soon: 0.2 ms sleep in the loop */
    return next <= t ? 0 : (int)(next - t) + 1;
}

static void stamp_deadlines(struct stamp *s, double t)
{
    if (s->t_idle >= 0 && !s->sampled &&
        t >= s->t_idle + s->idle_wait_s * 1e3) {
        stamp_sample_memory(s);
        kill(s->pid, SIGTERM);
        s->t_term = t;
    } else if (s->t_term >= 0 && t >= s->t_term + 5e3) {
        kill(s->pid, SIGKILL);
    } else if (t >= s->t0 + s->timeout_s * 1e3) {
        fprintf(stderr, "stamp: %s: timed out, killed\n", s->argv[0]);
        kill(s->pid, SIGKILL);
        s->timeout_s = 1e9;
    }
}

static void stamp_loop(struct stamp *s)
{
    bool out_open = true;

    while (s->t_exit < 0) {
        struct pollfd pf[4] = {
            {.fd = s->pidfd, .events = POLLIN},
            {.fd = out_open ? s->out_fd : -1, .events = POLLIN},
            {.fd = s->ino_fd, .events = POLLIN},
            {.fd = s->api_fd, .events = POLLIN}};
        int n = poll(pf, 4, stamp_next_timeout(s, now_ms()));

        if (s->api_sock && s->t_api < 0) {
            stamp_api_poll(s, n > 0 && (pf[3].revents & (POLLIN | POLLHUP)));
            if (s->api_fd < 0 && s->t_api < 0)
                usleep(200);
        }
        if (n < 0 && errno != EINTR)
            die("poll");
        if (n > 0 && (pf[1].revents & (POLLIN | POLLHUP)))
            out_open = stamp_read_console(s);
        if (n > 0 && (pf[2].revents & POLLIN))
            stamp_read_inotify(s);
        if (n > 0 && (pf[0].revents & POLLIN))
            s->t_exit = now_ms();
        else
            stamp_deadlines(s, now_ms());
    }
    while (out_open)
        out_open = stamp_read_console(s);
}

/* Guest time of the exited, not yet reaped VMM: field 43 of
 * /proc/PID/stat, counted from field 3 (state) after the ")" of the name. */
static double stamp_guest_ms(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long long gt;
    int field = 3;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strrchr(buf, ')');
    for (p = p ? p + 1 : NULL; p && field < 43; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", &gt) != 1)
        return -1;
    return (double)gt * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static void stamp_reap(struct stamp *s)
{
    int st;

    s->guest_ms = stamp_guest_ms(s->pid);
    if (wait4(s->pid, &st, 0, &s->ru) < 0)
        die("wait4");
    s->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static long kvm_counter(const char *dir, const char *vm, const char *name)
{
    char path[256];
    long v = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, vm, name);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

static void stamp_print_kvm(struct stamp *s)
{
    for (size_t c = 0; c < N_COUNTERS && s->n_vms > 0; c++) {
        long sum = 0, v;

        for (int i = 0; i < s->n_vms; i++) {
            v = kvm_counter(s->kvm_dir, s->vm_dirs[i], kvm_counters[c]);
            sum = (v < 0 || sum < 0) ? -1 : sum + v;
        }
        if (sum >= 0)
            printf(" kvm_%s=%ld", kvm_counters[c], sum);
    }
    printf(" kvm_vms=%d", s->n_vms);
    for (int i = 0; i < s->n_vms; i++)
        close(s->vm_fds[i]);
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static void stamp_print(struct stamp *s)
{
    printf("status=%d marker_ms=%.3f exit_ms=%.3f user_ms=%.3f sys_ms=%.3f "
           "guest_ms=%.0f maxrss_kb=%ld t0_us=%.0f",
           s->status, s->t_mark < 0 ? -1 : s->t_mark - s->t0, s->t_exit - s->t0,
           tv_ms(s->ru.ru_utime), tv_ms(s->ru.ru_stime), s->guest_ms,
           s->ru.ru_maxrss, s->t0 * 1e3);
    if (s->t_mark >= 0 && s->cpu_mark >= 0)
        printf(" marker_cpu_ms=%.3f", s->cpu_mark);
    if (s->t_api >= 0)
        printf(" api_ms=%.3f api_cpu_ms=%.3f", s->t_api - s->t0, s->cpu_api);
    printf("%s", s->lt);
    if (s->sampled)
        printf(" hwm_kb=%ld rss_kb=%ld pss_kb=%ld guest_rss_kb=%ld "
               "guest_pss_kb=%ld guest_maps=%ld",
               s->hwm_kb, s->rss_kb, s->pss_kb, s->guest_rss_kb,
               s->guest_pss_kb, s->guest_maps);
    stamp_print_kvm(s);
    printf("\n");
}

int main(int argc, char **argv)
{
    struct stamp s = {.t_mark = -1,
                      .t_idle = -1,
                      .t_exit = -1,
                      .t_term = -1,
                      .t_api = -1,
                      .api_fd = -1,
                      .log_fd = -1};

    stamp_parse_args(&s, argc, argv);
    if (s.out_path) {
        s.log_fd =
            open(s.out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s.log_fd < 0)
            die(s.out_path);
    }
    stamp_watch_kvm(&s);
    stamp_spawn(&s);
    stamp_loop(&s);
    stamp_reap(&s);
    stamp_print(&s);
    return 0;
}
