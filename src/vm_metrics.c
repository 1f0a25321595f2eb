/* vm_metrics.c - one VM's metrics line: its counters gathered into a
 * struct metrics_snapshot, written as JSON (src/core/metrics.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

cJSON *vm_metrics(struct vm *vm)
{
    struct metrics_snapshot s = {
        .nr_vcpus = vm->nr_vcpus,
        .uptime_ms = (metrics_now_ns() - vm->created_ns) / 1000000,
    };
    struct metrics_vcpu *vcpus = calloc(vm->nr_vcpus + 1, sizeof(*vcpus));
    struct metrics_drive drives[CONFIG_MAX_DRIVES];
    struct metrics_net nets[CONFIG_MAX_NICS];
    struct metrics_devices devs = {drives, nets,           0, CONFIG_MAX_DRIVES,
                                   0,      CONFIG_MAX_NICS};
    cJSON *root = NULL;

    if (!vcpus)
        return NULL;
    for (unsigned int i = 0; i < vm->nr_vcpus; i++)
        metrics_vcpu_read(&vm->vcpus[i].metrics, &vcpus[i]);
    for (unsigned int i = 0; i < vm->nr_devices; i++) {
        const struct vm_device *d = &vm->devices[i];

        if (d->ops->metrics)
            d->ops->metrics(d->dev, d->id, &devs);
    }
    s.vcpus = vcpus;
    s.drives = drives;
    s.nr_drives = devs.nr_drives;
    s.nets = nets;
    s.nr_nets = devs.nr_nets;
    metrics_snapshot_clock_rss(&s, vm->statm_fd);
    root = metrics_to_json(&s);
    free(vcpus);
    if (root && metrics_extra_merge(&vm->metrics_extra, root) < 0) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

int vm_flush_metrics(struct vm *vm)
{
    cJSON *root;
    char *text;
    int ret;

    if (!vm->has_metrics)
        return -ENOENT;
    root = vm_metrics(vm);
    text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return -ENOMEM;
    ret = metrics_file_write(&vm->metrics_file, text);
    free(text);
    return ret;
}
