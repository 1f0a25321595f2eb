/* lifecycle.c - the libvmrun life cycle without the vmrun command: create
 * from a JSON string, vmrun_start() (returns with the vCPUs running),
 * pause (no guest exits while paused, from vmrun_metrics_json()), resume
 * (exits go on), stop, vmrun_wait(), and the log callback's lifecycle
 * lines.  Usage: lifecycle SPIN_ELF; prints "ok - ..." lines, exit 0 when
 * all pass (meson test "lifecycle"). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    struct vmrun_create_opts opts = {log_keep, NULL, VMRUN_LOG_INFO};
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
    return failed;
}
