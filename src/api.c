/* api.c - the public libvmrun API (include/vmrun.h) over struct vm. */
#include <errno.h>
#include <stdlib.h>

#include "i8042.h"
#include "snapshot.h"
#include "vm.h"
#include "vmrun.h"

struct vmrun_vm {
    struct vm vm;
    bool ran;
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

int vmrun_run(struct vmrun_vm *v, struct vmrun_exit *out)
{
    if (!v || !out)
        return -EINVAL;
    if (v->ran)
        return -EALREADY;
    v->ran = true;
    return vm_run(&v->vm, out);
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
    if (!v || !v->vm.arch.kbd)
        return -EINVAL;
    return i8042_send_ctrl_alt_del(v->vm.arch.kbd);
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
    if (!full || (n && !diffs) || !out)
        return -EINVAL;
    return snapshot_merge(full, diffs, n, out, err, err_len);
}

void vmrun_destroy(struct vmrun_vm *v)
{
    if (!v)
        return;
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
