/* fleet: starts N copies of one VMM at once and times them to userspace.
 *
 *   fleet -n N [-m MARK] [-w SEC] [-t SEC] [-o DIR] -- VMM ARGS...
 *
 * The density row of tests/bench/run.sh. Takes MemAvailable (/proc/meminfo),
 * records CLOCK_MONOTONIC, forks N children that all exec VMM ARGS (stdout
 * into a pipe each, stderr to DIR/err-I when -o is given, else /dev/null),
 * and watches their consoles for a line containing MARK (default
 * "VMRUN-GUEST: userspace"). Once every child has printed it (or has died,
 * or -t SEC, default 1200, has passed), it waits -w SEC (default 3), samples
 * the memory of all children, stops them (SIGTERM, SIGKILL 10 s later) and
 * prints one line:
 *
 *   n=N reached=K first_ms= median_ms= all_ms=   fork of the first child to
 *                  the first, the median and the last MARK (-1: not all came)
 *   pss_kb=        sum of the children's Pss (smaps_rollup): what they use
 *                  together, shared pages (the VMM's libraries) split among
 *                  them, guest RAM they touched included
 *   rss_kb=        sum of their Rss (counts shared pages N times)
 *   memavail_kb=   drop of MemAvailable from before the start to the sample:
 *                  also counts what the kernel holds for them (page tables,
 *                  KVM's per-VM and per-vCPU state)
 *   cpu_ms=        user + system time of all children (wait4 rusage)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 256
#define LINE_LEN 512

struct child {
    pid_t pid;
    int fd;
    double t_mark;
    char line[LINE_LEN];
    size_t len;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long meminfo_kb(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0 &&
            sscanf(line + strlen(key), ": %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* The sum of "KEY: N kB" lines of /proc/PID/smaps_rollup. */
static long rollup_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    long v, sum = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':' &&
            sscanf(line + strlen(key) + 1, "%ld", &v) == 1)
            sum += v;
    fclose(f);
    return sum;
}

static void spawn(struct child *c, char **argv, const char *dir, int i)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0) {
        perror("fleet: pipe");
        exit(125);
    }
    c->pid = fork();
    if (c->pid < 0) {
        perror("fleet: fork");
        exit(125);
    }
    if (c->pid == 0) {
        char path[512] = "/dev/null";
        int err, nul = open("/dev/null", O_RDONLY);

        if (dir)
            snprintf(path, sizeof(path), "%s/err-%d", dir, i);
        err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err < 0 || nul < 0 || dup2(p[1], 1) < 0 || dup2(err, 2) < 0 ||
            dup2(nul, 0) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    c->fd = p[0];
    c->t_mark = -1;
}

/* Reads what the child wrote; false at end of file. */
static bool read_child(struct child *c, const char *mark)
{
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->len == LINE_LEN - 1) {
            c->line[c->len] = 0;
            if (c->t_mark < 0 && strstr(c->line, mark))
                c->t_mark = now_ms();
            c->len = 0;
        } else if (buf[i]) {
            c->line[c->len++] = buf[i];
        }
    }
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static struct child kids[MAX_N];
    static struct pollfd pf[MAX_N];
    static double marks[MAX_N];
    const char *mark = "VMRUN-GUEST: userspace", *dir = NULL;
    double wait_s = 3, timeout_s = 1200, t0, cpu = 0;
    int n = 0, c, reached = 0, open_fds;
    long avail0, avail1, pss = 0, rss = 0;
    struct rusage ru;

    while ((c = getopt(argc, argv, "n:m:w:t:o:")) != -1) {
        switch (c) {
        case 'n':
            n = atoi(optarg);
            break;
        case 'm':
            mark = optarg;
            break;
        case 'w':
            wait_s = atof(optarg);
            break;
        case 't':
            timeout_s = atof(optarg);
            break;
        case 'o':
            dir = optarg;
            break;
        default:
            n = -1;
        }
    }
    if (n < 1 || n > MAX_N || optind >= argc) {
        fprintf(stderr,
                "usage: fleet -n N(1-%d) [-m MARK] [-w SEC] [-t SEC] "
                "[-o DIR] -- VMM ARGS...\n",
                MAX_N);
        return 125;
    }
    avail0 = meminfo_kb("MemAvailable");
    t0 = now_ms();
    for (int i = 0; i < n; i++)
        spawn(&kids[i], argv + optind, dir, i);
    open_fds = n;
    while (reached < n && open_fds > 0 && now_ms() < t0 + timeout_s * 1e3) {
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){.fd = kids[i].fd, .events = POLLIN};
        if (poll(pf, n, 1000) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP)))
                continue;
            bool had = kids[i].t_mark >= 0;

            if (!read_child(&kids[i], mark)) {
                close(kids[i].fd);
                kids[i].fd = -1;
                open_fds--;
            }
            if (!had && kids[i].t_mark >= 0)
                reached++;
        }
    }
    if (reached == n)
        usleep((useconds_t)(wait_s * 1e6));
    for (int i = 0; i < n; i++) {
        pss += rollup_kb(kids[i].pid, "Pss");
        rss += rollup_kb(kids[i].pid, "Rss");
    }
    avail1 = meminfo_kb("MemAvailable");
    for (int i = 0; i < n; i++)
        kill(kids[i].pid, SIGTERM);
    for (int i = 0, k = 0; i < n; i++) {
        int st;

        while (waitpid(kids[i].pid, &st, WNOHANG) == 0 && k < 1000) {
            usleep(10000);
            k++;
        }
        if (k >= 1000)
            kill(kids[i].pid, SIGKILL);
    }
    while (wait4(-1, NULL, 0, &ru) > 0)
        ;
    getrusage(RUSAGE_CHILDREN, &ru);
    cpu = (double)ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
          (double)ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    for (int i = 0, k = 0; i < n; i++)
        if (kids[i].t_mark >= 0)
            marks[k++] = kids[i].t_mark - t0;
    qsort(marks, (size_t)reached, sizeof(double), cmp_double);
    printf("n=%d reached=%d first_ms=%.0f median_ms=%.0f all_ms=%.0f "
           "pss_kb=%ld rss_kb=%ld memavail_kb=%ld cpu_ms=%.0f\n",
           n, reached, reached ? marks[0] : -1,
           reached ? marks[reached / 2] : -1, reached == n ? marks[n - 1] : -1,
           pss, rss, avail0 - avail1, cpu);
    return 0;
}
