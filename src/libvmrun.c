/* libvmrun.c - the public libvmrun API (include/vmrun.h) over struct vm. */
#include <errno.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "snapshot.h"
#include "vm.h"
#include "vmrun.h"

struct vmrun_vm {
    struct vm vm;
};

int vmrun_create(const struct vmrun_config *cfg,
                 const struct vmrun_create_opts *opts, struct vmrun_vm **out)
{
    struct vmrun_vm *v;
    int ret;

    if (!cfg || !out)
        return -EINVAL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    ret = vm_init(&v->vm, cfg, opts);
    if (ret < 0) {
        vm_fini(&v->vm);
        free(v);
        return ret;
    }
    *out = v;
    return 0;
}

/* Sets (*flag) under the VM's lock; false when it was set already. */
static bool vm_claim(struct vm *vm, bool *flag)
{
    bool was;

    pthread_mutex_lock(&vm->lock);
    was = *flag;
    *flag = true;
    pthread_mutex_unlock(&vm->lock);
    return !was;
}

int vmrun_start(struct vmrun_vm *v)
{
    if (!v)
        return -EINVAL;
    if (!vm_claim(&v->vm, &v->vm.started))
        return -EALREADY;
    return vm_start(&v->vm);
}

int vmrun_wait(struct vmrun_vm *v, struct vmrun_exit *out)
{
    bool started;

    if (!v || !out)
        return -EINVAL;
    pthread_mutex_lock(&v->vm.lock);
    started = v->vm.started;
    pthread_mutex_unlock(&v->vm.lock);
    if (!started)
        return -EINVAL;
    if (!vm_claim(&v->vm, &v->vm.waited))
        return -EALREADY;
    return vm_wait(&v->vm, true, out);
}

int vmrun_run(struct vmrun_vm *v, struct vmrun_exit *out)
{
    int ret;

    if (!v || !out)
        return -EINVAL;
    ret = vmrun_start(v);
    if (ret < 0 && ret != -EALREADY && !vm_exit_requested(&v->vm))
        return ret;
    /* A failed start left an exit request: vmrun_wait() reports it. */
    return vmrun_wait(v, out);
}

int vmrun_metrics_json(struct vmrun_vm *v, char **json_out)
{
    cJSON *root;

    if (!v || !json_out)
        return -EINVAL;
    root = vm_metrics(&v->vm);
    *json_out = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return *json_out ? 0 : -ENOMEM;
}

int vmrun_flush_metrics(struct vmrun_vm *v)
{
    return v ? vm_flush_metrics(&v->vm) : -EINVAL;
}

void vmrun_set_metrics_extra(struct vmrun_vm *v, vmrun_metrics_extra_fn fn,
                             void *opaque)
{
    if (v)
        metrics_extra_set(&v->vm.metrics_extra, fn, opaque);
}

int vmrun_log_open(const struct vmrun_config *cfg,
                   struct vmrun_create_opts *opts)
{
    struct log_file *f;
    int ret;

    if (!cfg || !opts)
        return -EINVAL;
    if (!cfg->has_logger)
        return 0;
    opts->log_level = cfg->log_level;
    if (!cfg->log_path)
        return 0;
    ret = log_file_open(cfg->log_path, cfg->log_show_level, &f);
    if (ret < 0)
        return ret;
    opts->log_fn = log_file_write;
    opts->log_opaque = f;
    return 0;
}

void vmrun_log_close(struct vmrun_create_opts *opts)
{
    if (!opts || opts->log_fn != log_file_write)
        return;
    log_file_close(opts->log_opaque);
    opts->log_fn = NULL;
    opts->log_opaque = NULL;
}

void vmrun_set_stop_fd(struct vmrun_vm *v, int fd)
{
    if (v)
        v->vm.stop_fd = fd;
}

void vmrun_request_stop(struct vmrun_vm *v)
{
    vm_request_exit(&v->vm, VMRUN_EXIT_STOPPED, VMRUN_STATUS_ERROR);
}

int vmrun_pause(struct vmrun_vm *v)
{
    return v ? vm_pause(&v->vm) : -EINVAL;
}

int vmrun_resume(struct vmrun_vm *v)
{
    return v ? vm_resume(&v->vm) : -EINVAL;
}

int vmrun_is_paused(struct vmrun_vm *v)
{
    int paused;

    pthread_mutex_lock(&v->vm.lock);
    paused = v->vm.paused;
    pthread_mutex_unlock(&v->vm.lock);
    return paused;
}

int vmrun_send_ctrl_alt_del(struct vmrun_vm *v)
{
    if (!v)
        return -EINVAL;
    return arch_send_ctrl_alt_del(&v->vm);
}

int vmrun_snapshot_create(struct vmrun_vm *v, enum vmrun_snapshot_type type,
                          const char *state_path, const char *mem_path)
{
    if (!v || !state_path || !mem_path ||
        (type != VMRUN_SNAPSHOT_FULL && type != VMRUN_SNAPSHOT_DIFF))
        return -EINVAL;
    return snapshot_create(&v->vm, type == VMRUN_SNAPSHOT_DIFF, state_path,
                           mem_path);
}

int vmrun_restore(const struct vmrun_restore *r,
                  const struct vmrun_create_opts *opts, struct vmrun_vm **out,
                  char *err, size_t err_len)
{
    struct vmrun_vm *v;
    int ret;

    if (!r || !r->snapshot_path || !r->mem_path || !out)
        return -EINVAL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    ret = snapshot_restore(&v->vm, r, opts, err, err_len);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    return 0;
}

int vmrun_snapshot_merge(const char *full, const char *const *diffs, size_t n,
                         const char *out, char *err, size_t err_len)
{
    return vmrun_snapshot_merge_fd(full, diffs, n, out, -1, err, err_len);
}

int vmrun_snapshot_merge_fd(const char *full, const char *const *diffs,
                            size_t n, const char *out, int stop_fd, char *err,
                            size_t err_len)
{
    if (!full || (n && !diffs) || !out)
        return -EINVAL;
    return snapshot_merge(full, diffs, n, out, stop_fd, err, err_len);
}

void vmrun_destroy(struct vmrun_vm *v)
{
    struct vmrun_exit ex;

    if (!v)
        return;
    /* Not vmrun_wait(): its seccomp filter is the main thread's, and this
     * thread may be another (the API's, after a failed start). */
    if (v->vm.started && vm_claim(&v->vm, &v->vm.waited)) {
        vmrun_request_stop(v);
        vm_wait(&v->vm, false, &ex);
    }
    vm_fini(&v->vm);
    free(v);
}

const char *vmrun_exit_reason_name(enum vmrun_exit_reason reason)
{
    switch (reason) {
    case VMRUN_EXIT_POWEROFF:
        return "poweroff";
    case VMRUN_EXIT_REBOOT:
        return "reboot";
    case VMRUN_EXIT_DEBUG:
        return "debug-exit";
    case VMRUN_EXIT_PANIC:
        return "panic";
    case VMRUN_EXIT_CRASH:
        return "crash";
    case VMRUN_EXIT_STOPPED:
        return "stopped";
    case VMRUN_EXIT_ERROR:
        return "error";
    }
    return "unknown";
}
