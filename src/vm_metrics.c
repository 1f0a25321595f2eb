/* vm_metrics.c - one VM's metrics line: its counters gathered into a
 * struct metrics_snapshot, written as JSON (src/metrics.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/blk.h"
#include "virtio/net.h"
#include "vm.h"

static void vm_metrics_net(struct vm *vm, struct metrics_net *out)
{
    for (unsigned int i = 0; i < vm->nr_net; i++) {
        struct virtio_net_stats st;

        virtio_net_get_stats(vm->net[i], &st);
        out[i] = (struct metrics_net){
            .id = vm->cfg->nics[i].iface_id,
            .rx_bytes = st.rx_bytes,
            .rx_packets = st.rx_packets,
            .rx_dropped = st.rx_dropped,
            .tx_bytes = st.tx_bytes,
            .tx_packets = st.tx_packets,
            .tx_dropped = st.tx_dropped,
            .tx_errors = st.tx_errors,
        };
    }
}

/* The extra members of the embedder (vmrun_set_metrics_extra()). */
static int vm_metrics_extra(struct vm *vm, cJSON *root)
{
    vmrun_metrics_extra_fn fn;
    void *opaque;
    char *extra;
    int ret;

    pthread_mutex_lock(&vm->lock);
    fn = vm->metrics_extra;
    opaque = vm->metrics_extra_opaque;
    pthread_mutex_unlock(&vm->lock);
    if (!fn)
        return 0;
    extra = fn(opaque);
    ret = metrics_merge(root, extra);
    free(extra);
    return ret;
}

cJSON *vm_metrics(struct vm *vm)
{
    struct metrics_snapshot s = {
        .nr_vcpus = vm->nr_vcpus,
        .nr_drives = vm->nr_blk,
        .nr_nets = vm->nr_net,
        .uptime_ms = (metrics_now_ns() - vm->created_ns) / 1000000,
    };
    struct metrics_vcpu *vcpus = calloc(vm->nr_vcpus + 1, sizeof(*vcpus));
    struct metrics_drive drives[CONFIG_MAX_DRIVES] = {{0}};
    struct metrics_net nets[CONFIG_MAX_NICS] = {{0}};
    cJSON *root = NULL;

    if (!vcpus)
        return NULL;
    for (unsigned int i = 0; i < vm->nr_vcpus; i++)
        metrics_vcpu_read(&vm->vcpus[i].metrics, &vcpus[i]);
    for (unsigned int i = 0; i < vm->nr_blk; i++) {
        virtio_blk_get_metrics(vm->blk[i], &drives[i]);
        drives[i].id = vm->cfg->drives[i].drive_id;
    }
    vm_metrics_net(vm, nets);
    s.vcpus = vcpus;
    s.drives = drives;
    s.nets = nets;
    metrics_snapshot_clock_rss(&s);
    root = metrics_to_json(&s);
    free(vcpus);
    if (root && vm_metrics_extra(vm, root) < 0) {
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
