/* lifecycle.c - the libvmrun life cycle without the vmrun command: create
 * from a JSON string, vmrun_start() (returns with the vCPUs running),
 * pause (no guest exits while paused, from vmrun_metrics_json()), resume
 * (exits go on), stop, vmrun_wait(), and the log callback's lifecycle
 * lines; pauses racing the guest's own exit; pauses between the two
 * halves of a split MMIO read; a vmrun_start() that fails
 * after some threads started, torn down by vmrun_destroy() on a thread
 * that keeps working.  Usage: lifecycle SPIN_ELF; prints "ok - ..." lines,
 * exit 0 when all pass (meson test "lifecycle"). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vmrun.h>

static int failed;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[8192];

static void check(int cond, const char *name)
{
    printf("%s - %s\n", cond ? "ok" : "not ok", name);
    failed |= !cond;
}

static void log_keep(void *opaque, enum vmrun_log_level level, const char *msg)
{
    pthread_mutex_lock(&log_lock);
    if (strlen(log_text) + strlen(msg) + 2 < sizeof(log_text)) {
        strcat(log_text, msg);
        strcat(log_text, "\n");
    }
    pthread_mutex_unlock(&log_lock);
}

static int logged(const char *what)
{
    int found;

    pthread_mutex_lock(&log_lock);
    found = strstr(log_text, what) != NULL;
    pthread_mutex_unlock(&log_lock);
    return found;
}

/* vcpus[0].exits_total of a metrics line; ~0 if absent. */
static unsigned long long exits(struct vmrun_vm *vm)
{
    char *json = NULL, *p;
    unsigned long long n = ~0ULL;

    if (vmrun_metrics_json(vm, &json) < 0)
        return n;
    p = strstr(json, "\"exits_total\":");
    if (p)
        n = strtoull(p + strlen("\"exits_total\":"), NULL, 10);
    free(json);
    return n;
}

static void run_checks(struct vmrun_vm *vm)
{
    struct vmrun_exit ex = {VMRUN_EXIT_ERROR, -1};
    unsigned long long a, b, c;

    check(vmrun_wait(vm, &ex) == -EINVAL, "vmrun_wait before start: -EINVAL");
    check(vmrun_pause(vm) == -EINVAL, "vmrun_pause before start: -EINVAL");
    check(vmrun_start(vm) == 0, "vmrun_start");
    check(vmrun_start(vm) == -EALREADY, "second vmrun_start: -EALREADY");
    check(logged("VM running"), "log callback: VM running");
    /* No retry: the vCPUs run once vmrun_start() returned. */
    check(vmrun_pause(vm) == 0, "vmrun_pause right after vmrun_start");
    check(vmrun_is_paused(vm), "vmrun_is_paused");
    check(vmrun_flush_metrics(vm) == -ENOENT,
          "vmrun_flush_metrics without a metrics section: -ENOENT");
    vmrun_resume(vm);
    usleep(300000);
    check(vmrun_pause(vm) == 0, "vmrun_pause");
    a = exits(vm);
    usleep(300000);
    b = exits(vm);
    check(a != ~0ULL && a > 0, "metrics JSON: exits counted");
    check(a == b, "no exits while paused");
    check(vmrun_resume(vm) == 0, "vmrun_resume");
    check(vmrun_resume(vm) == -EALREADY, "second vmrun_resume: -EALREADY");
    usleep(300000);
    c = exits(vm);
    check(c != ~0ULL && c > b, "exits go on after resume");
    vmrun_request_stop(vm);
    check(vmrun_wait(vm, &ex) == 0, "vmrun_wait");
    check(ex.reason == VMRUN_EXIT_STOPPED, "exit reason: stopped");
    check(vmrun_wait(vm, &ex) == -EALREADY, "second vmrun_wait: -EALREADY");
    check(logged("VM paused") && logged("VM resumed") &&
              logged("VM stopping: stopped") && logged("VM exited: stopped"),
          "log callback: the lifecycle transitions");
}

/* A VM of the spin guest (vcpus) vCPUs with (args) on its command line;
 * NULL if it cannot be created (the log is printed). */
static struct vmrun_vm *spin_vm(const char *elf, const char *args,
                                unsigned int vcpus,
                                const struct vmrun_create_opts *opts)
{
    struct vmrun_config *cfg;
    struct vmrun_vm *vm = NULL;
    char json[1024], err[256];

    snprintf(json, sizeof(json),
             "{\"boot-source\": {\"kernel_image_path\": \"%s\", "
             "\"boot_args\": \"%s\"}, \"machine-config\": "
             "{\"vcpu_count\": %u, \"mem_size_mib\": 32}, \"vmrun\": "
             "{\"serial\": {\"output\": \"none\"}}}",
             elf, args, vcpus);
    if (vmrun_config_parse_string(json, NULL, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    if (vmrun_create(cfg, opts, &vm) < 0)
        fprintf(stderr, "cannot create the VM:\n%s", log_text);
    vmrun_config_free(cfg);
    return vm;
}

struct waiter {
    struct vmrun_vm *vm;
    struct vmrun_exit ex;
    int ret;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;

    w->ret = vmrun_wait(w->vm, &w->ex);
    return NULL;
}

/* Pause and resume in a loop while the guest ends itself (spin ticks=N):
 * vmrun_wait() on another thread tears the VM down while a pause may be
 * parking the vCPUs.  Each pause either succeeds (the VM reads paused,
 * and resumes) or sees the exit (-ESHUTDOWN); the guest's exit is
 * reported intact and the stopped VM never reads paused. */
static void pause_races_exit(const char *elf)
{
    struct vmrun_create_opts opts = {.log_fn = log_keep,
                                     .log_level = VMRUN_LOG_WARN};
    int rounds = 12, paused = 0, refused = 0, bad = 0, incoherent = 0;

    for (int i = 0; i < rounds; i++) {
        struct waiter w = {.ret = -1};
        time_t t0 = time(NULL);
        pthread_t t;
        char args[64];
        int rc = 0;

        /* Few lines (each is ~25 UART exits, slow in a nested box), and an
         * exit some milliseconds of TSC time in, varying per round. */
        snprintf(args, sizeof(args), "delay=%d ticks=%d", 2000000 + i * 400000,
                 2 + i % 3);
        w.vm = spin_vm(elf, args, 2, &opts);
        if (!w.vm || vmrun_start(w.vm) < 0 ||
            pthread_create(&t, NULL, wait_thread, &w) != 0) {
            vmrun_destroy(w.vm);
            bad++;
            break;
        }
        for (int n = 0; rc != -ESHUTDOWN; n++) {
            if (time(NULL) - t0 > 60) { /* the guest never got to run */
                fprintf(stderr, "round %d: no exit after 60 s\n", i);
                vmrun_request_stop(w.vm);
                bad++;
                break;
            }
            rc = vmrun_pause(w.vm);
            if (rc == 0) {
                paused++;
                incoherent += !vmrun_is_paused(w.vm);
                incoherent += vmrun_resume(w.vm) != 0;
                /* Some guest time between a resume and the next pause: a
                 * kick right after the resume can keep the vCPU from
                 * running a single instruction. */
                usleep(500 + 250 * (n % 8));
            } else if (rc == -ESHUTDOWN) {
                refused++;
            } else {
                fprintf(stderr, "round %d: vmrun_pause: %s\n", i,
                        strerror(-rc));
                bad++;
                break;
            }
        }
        pthread_join(t, NULL);
        incoherent += w.ret != 0 || w.ex.reason != VMRUN_EXIT_DEBUG ||
                      w.ex.status != 0 || vmrun_is_paused(w.vm);
        incoherent += vmrun_pause(w.vm) != -ESHUTDOWN;
        vmrun_destroy(w.vm);
        printf("# round %d: %d pauses so far, %lld s\n", i, paused,
               (long long)(time(NULL) - t0));
        fflush(stdout);
    }
    printf("# %d pauses, %d refused after the guest's exit\n", paused, refused);
    check(bad == 0, "pause racing the guest's exit: 0 or -ESHUTDOWN");
    check(incoherent == 0 && refused == rounds,
          "pause racing the guest's exit: paused only while it runs, exit "
          "status intact");
}

/* Pause and resume in a loop while the guest does nothing but 8-byte MMIO
 * reads that straddle two pages (spin split=1), which KVM splits into two
 * exits to userspace.  A pause that lands between the halves must handle
 * the second one before the vCPU parks (vcpu.c, vcpu_complete_io()): had
 * it been dropped, the resumed read would get the first half's bytes
 * twice, and the guest ends itself with status 3. */
static void pause_splits_mmio(const char *elf)
{
    struct vmrun_create_opts opts = {.log_fn = log_keep,
                                     .log_level = VMRUN_LOG_WARN};
    struct waiter w = {.ret = -1};
    int rounds = 400, paused = 0, bad = 0;
    unsigned long long before, after;
    pthread_t t;

    w.vm = spin_vm(elf, "split=1 delay=20000000", 1, &opts);
    if (!w.vm || vmrun_start(w.vm) < 0 ||
        pthread_create(&t, NULL, wait_thread, &w) != 0) {
        vmrun_destroy(w.vm);
        check(0, "split MMIO across pauses: VM started");
        return;
    }
    usleep(100000);
    before = exits(w.vm);
    for (int n = 0; n < rounds; n++) {
        int rc = vmrun_pause(w.vm);

        if (rc != 0) { /* -ESHUTDOWN: the guest ended itself */
            bad = rc;
            break;
        }
        paused++;
        if (vmrun_resume(w.vm) != 0) {
            bad = -EIO;
            break;
        }
        usleep(100 + 50 * (n % 8));
    }
    after = exits(w.vm);
    vmrun_request_stop(w.vm);
    pthread_join(t, NULL);
    printf("# %d pauses over %llu exits\n", paused, after - before);
    check(bad == 0 && paused == rounds && after > before + rounds,
          "split MMIO across pauses: every pause succeeded, reads went on");
    check(w.ret == 0 && w.ex.reason == VMRUN_EXIT_STOPPED,
          "split MMIO across pauses: the guest never saw a torn read "
          "(no exit status 3)");
    vmrun_destroy(w.vm);
}

/* The stack size of a new thread (from RLIMIT_STACK at start). */
static size_t default_stack(void)
{
    pthread_attr_t attr;
    size_t stack = 0;

    if (pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
    }
    return stack;
}

/* The address space a start may use: two more thread stacks and a half
 * (glibc reuses up to 40 MiB of stacks of threads that ended, for free). */
static int limit_address_space(struct rlimit *old)
{
    size_t stack = default_stack();
    unsigned long long kib = 0;
    struct rlimit lim;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmSize: %llu kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (!kib || stack < (1 << 20) || getrlimit(RLIMIT_AS, old) < 0)
        return -1;
    lim = *old;
    lim.rlim_cur = (rlim_t)(kib << 10) + 2 * stack + stack / 2;
    return setrlimit(RLIMIT_AS, &lim);
}

struct failed_start {
    const char *elf;
    int created, start_rc, socket_ok;
};

/* On its own thread: the seccomp filter vmrun_wait() would give it is the
 * thing to avoid. */
static void *failed_start_thread(void *arg)
{
    struct vmrun_create_opts opts = {.log_fn = log_keep,
                                     .log_level = VMRUN_LOG_INFO,
                                     .seccomp = VMRUN_SECCOMP_KILL};
    struct failed_start *f = arg;
    size_t stack = default_stack();
    /* More threads than the stack cache and the limit's room hold. */
    unsigned int vcpus = stack ? (40u << 20) / stack + 4 : 8;
    struct vmrun_vm *vm;
    struct rlimit old;
    int fd;

    vcpus = vcpus < 8 ? 8 : vcpus > 32 ? 32 : vcpus;
    vm = spin_vm(f->elf, "delay=1000000", vcpus, &opts);
    if (!vm || limit_address_space(&old) < 0) {
        vmrun_destroy(vm);
        return NULL;
    }
    f->created = 1;
    f->start_rc = vmrun_start(vm);
    setrlimit(RLIMIT_AS, &old);
    vmrun_destroy(vm);
    /* What the API thread does next (its 400 reply): socket calls that
     * the main thread's filter does not allow. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    f->socket_ok = fd >= 0;
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void failed_start(const char *elf)
{
    struct failed_start f = {.elf = elf};
    const char *san = getenv("VMRUN_SANITIZED");
    pthread_t t;

    if (san && strcmp(san, "1") == 0) {
        printf("ok - failed start # skip: an address-space limit and the "
               "sanitizers' shadow memory do not mix\n");
        return;
    }
    if (pthread_create(&t, NULL, failed_start_thread, &f) != 0) {
        check(0, "failed start: thread");
        return;
    }
    pthread_join(t, NULL);
    check(f.created, "failed start: VM created under the limit");
    check(f.start_rc == -EAGAIN && logged("cannot start the VM"),
          "failed start: vmrun_start -EAGAIN (no room for a vCPU thread)");
    check(f.socket_ok, "failed start: vmrun_destroy() leaves the thread "
                       "unfiltered (socket() after it)");
}

int main(int argc, char **argv)
{
    struct vmrun_create_opts opts = {.log_fn = log_keep,
                                     .log_level = VMRUN_LOG_INFO};
    struct vmrun_config *cfg;
    struct vmrun_vm *vm;
    char json[1024], err[256];

    if (argc != 2) {
        fprintf(stderr, "usage: lifecycle SPIN_ELF\n");
        return 2;
    }
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("skip: no usable /dev/kvm\n");
        return 77;
    }
    snprintf(json, sizeof(json),
             "{\"boot-source\": {\"kernel_image_path\": \"%s\", "
             "\"boot_args\": \"delay=2000000\"}, \"machine-config\": "
             "{\"vcpu_count\": 2, \"mem_size_mib\": 32}, \"vmrun\": "
             "{\"serial\": {\"output\": \"none\"}}}",
             argv[1]);
    if (vmrun_config_parse_string(json, NULL, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (vmrun_create(cfg, &opts, &vm) < 0) {
        vmrun_config_free(cfg);
        fprintf(stderr, "cannot create the VM:\n%s", log_text);
        return 1;
    }
    vmrun_config_free(cfg);
    check(logged("VM created: 2 vCPUs"), "log callback: VM created");
    run_checks(vm);
    vmrun_destroy(vm);
    pause_races_exit(argv[1]);
    pause_splits_mmio(argv[1]);
    failed_start(argv[1]); /* last: it installs the SIGSYS handler */
    return failed;
}
