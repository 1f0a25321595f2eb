/* metrics.c - metrics lines: counters to JSON, JSON to the metrics file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/metrics.h"
#include "core/util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const exit_names[METRICS_EXIT_NR] = {
    [METRICS_EXIT_IO] = "io",
    [METRICS_EXIT_MMIO] = "mmio",
    [METRICS_EXIT_HLT] = "hlt",
    [METRICS_EXIT_INTR] = "intr",
    [METRICS_EXIT_SYSTEM_EVENT] = "system_event",
    [METRICS_EXIT_SHUTDOWN] = "shutdown",
    [METRICS_EXIT_INTERNAL_ERROR] = "internal_error",
    [METRICS_EXIT_FAIL_ENTRY] = "fail_entry",
    [METRICS_EXIT_OTHER] = "other",
};

uint64_t metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum metrics_exit metrics_exit_kind(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_IO:
        return METRICS_EXIT_IO;
    case KVM_EXIT_MMIO:
        return METRICS_EXIT_MMIO;
    case KVM_EXIT_HLT:
        return METRICS_EXIT_HLT;
    case KVM_EXIT_INTR:
        return METRICS_EXIT_INTR;
    case KVM_EXIT_SYSTEM_EVENT:
        return METRICS_EXIT_SYSTEM_EVENT;
    case KVM_EXIT_SHUTDOWN:
        return METRICS_EXIT_SHUTDOWN;
    case KVM_EXIT_INTERNAL_ERROR:
        return METRICS_EXIT_INTERNAL_ERROR;
    case KVM_EXIT_FAIL_ENTRY:
        return METRICS_EXIT_FAIL_ENTRY;
    default:
        return METRICS_EXIT_OTHER;
    }
}

void metrics_vcpu_read(const struct vcpu_metrics *m, struct metrics_vcpu *out)
{
    for (int i = 0; i < METRICS_EXIT_NR; i++)
        out->exits[i] = metrics_read(&m->exits[i]);
    out->run_ns = metrics_read(&m->run_ns);
}

void metrics_blk_read(const struct blk_metrics *m, struct metrics_drive *out)
{
    out->read_ops = metrics_read(&m->read_ops);
    out->read_bytes = metrics_read(&m->read_bytes);
    out->write_ops = metrics_read(&m->write_ops);
    out->write_bytes = metrics_read(&m->write_bytes);
    out->flush_ops = metrics_read(&m->flush_ops);
    out->errors = metrics_read(&m->errors);
    out->read_lat_us = metrics_read(&m->read_lat_us);
    out->read_lat_max_us = metrics_read(&m->read_lat_max_us);
    out->write_lat_us = metrics_read(&m->write_lat_us);
    out->write_lat_max_us = metrics_read(&m->write_lat_max_us);
}

/* statm's second field is resident pages.  Read through an fd opened
 * during setup: a seccomp-filtered thread may not open files. */
static uint64_t rss_bytes(int statm_fd)
{
    unsigned long long size = 0, rss = 0;
    char buf[128];
    ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct metrics_drive *metrics_add_drive(struct metrics_devices *m,
                                        const char *id)
{
    struct metrics_drive *d;

    if (m->nr_drives >= m->max_drives)
        return NULL;
    d = &m->drives[m->nr_drives++];
    *d = (struct metrics_drive){.id = id};
    return d;
}

struct metrics_net *metrics_add_net(struct metrics_devices *m, const char *id)
{
    struct metrics_net *n;

    if (m->nr_nets >= m->max_nets)
        return NULL;
    n = &m->nets[m->nr_nets++];
    *n = (struct metrics_net){.id = id};
    return n;
}

void metrics_snapshot_clock_rss(struct metrics_snapshot *s, int statm_fd)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    s->utc_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    s->rss_bytes = rss_bytes(statm_fd);
}

/* ---- JSON ---- */

struct field {
    const char *name;
    uint64_t value;
};

/* Adds {name: value, ...} as object (key) of (parent); false on ENOMEM.
 * Counters stay below 2^53 for centuries, so doubles hold them exactly. */
static cJSON *add_fields(cJSON *parent, const char *key, const struct field *f,
                         size_t n)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);

    for (size_t i = 0; o && i < n; i++)
        if (!cJSON_AddNumberToObject(o, f[i].name, (double)f[i].value))
            return NULL;
    return o;
}

static bool add_vcpu(cJSON *arr, const struct metrics_vcpu *v)
{
    cJSON *o = cJSON_CreateObject();
    struct field exits[METRICS_EXIT_NR];
    uint64_t total = 0;

    if (!o || !cJSON_AddItemToArray(arr, o))
        return cJSON_Delete(o), false;
    for (int i = 0; i < METRICS_EXIT_NR; i++) {
        exits[i] = (struct field){exit_names[i], v->exits[i]};
        total += v->exits[i];
    }
    return cJSON_AddNumberToObject(o, "exits_total", (double)total) &&
           cJSON_AddNumberToObject(o, "run_ns", (double)v->run_ns) &&
           add_fields(o, "exits", exits, METRICS_EXIT_NR) != NULL;
}

static bool add_drive(cJSON *obj, const struct metrics_drive *d)
{
    const struct field f[] = {
        {"read_ops", d->read_ops},
        {"read_bytes", d->read_bytes},
        {"write_ops", d->write_ops},
        {"write_bytes", d->write_bytes},
        {"flush_ops", d->flush_ops},
        {"errors", d->errors},
        {"read_latency_total_us", d->read_lat_us},
        {"read_latency_max_us", d->read_lat_max_us},
        {"write_latency_total_us", d->write_lat_us},
        {"write_latency_max_us", d->write_lat_max_us},
    };

    return add_fields(obj, d->id ? d->id : "", f, ARRAY_SIZE(f)) != NULL;
}

static bool add_net(cJSON *obj, const struct metrics_net *n)
{
    const struct field f[] = {
        {"rx_bytes", n->rx_bytes},     {"rx_packets", n->rx_packets},
        {"rx_dropped", n->rx_dropped}, {"tx_bytes", n->tx_bytes},
        {"tx_packets", n->tx_packets}, {"tx_dropped", n->tx_dropped},
        {"tx_errors", n->tx_errors},
    };

    return add_fields(obj, n->id ? n->id : "", f, ARRAY_SIZE(f)) != NULL;
}

static bool add_devices(cJSON *root, const struct metrics_snapshot *s)
{
    cJSON *vcpus = cJSON_AddArrayToObject(root, "vcpus");
    cJSON *drives = cJSON_AddObjectToObject(root, "drives");
    cJSON *nets = cJSON_AddObjectToObject(root, "network-interfaces");

    if (!vcpus || !drives || !nets)
        return false;
    for (unsigned int i = 0; i < s->nr_vcpus; i++)
        if (!add_vcpu(vcpus, &s->vcpus[i]))
            return false;
    for (unsigned int i = 0; i < s->nr_drives; i++)
        if (!add_drive(drives, &s->drives[i]))
            return false;
    for (unsigned int i = 0; i < s->nr_nets; i++)
        if (!add_net(nets, &s->nets[i]))
            return false;
    return true;
}

cJSON *metrics_to_json(const struct metrics_snapshot *s)
{
    cJSON *root = cJSON_CreateObject();

    if (!root ||
        !cJSON_AddNumberToObject(root, "utc_timestamp_ms", (double)s->utc_ms) ||
        !cJSON_AddNumberToObject(root, "uptime_ms", (double)s->uptime_ms) ||
        !cJSON_AddNumberToObject(root, "vmm_rss_bytes", (double)s->rss_bytes) ||
        !add_devices(root, s)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int metrics_merge(cJSON *obj, const char *extra)
{
    cJSON *e = extra ? cJSON_Parse(extra) : NULL;

    if (!cJSON_IsObject(e)) {
        cJSON_Delete(e);
        return 0;
    }
    while (e->child) {
        cJSON *it = cJSON_DetachItemViaPointer(e, e->child);

        cJSON_DeleteItemFromObjectCaseSensitive(obj, it->string);
        if (!cJSON_AddItemToObject(obj, it->string, it)) {
            cJSON_Delete(it);
            cJSON_Delete(e);
            return -ENOMEM;
        }
    }
    cJSON_Delete(e);
    return 0;
}

void metrics_extra_init(struct metrics_extra *x)
{
    pthread_mutex_init(&x->lock, NULL);
    x->fn = NULL;
    x->opaque = NULL;
}

void metrics_extra_fini(struct metrics_extra *x)
{
    pthread_mutex_destroy(&x->lock);
}

void metrics_extra_set(struct metrics_extra *x, vmrun_metrics_extra_fn fn,
                       void *opaque)
{
    pthread_mutex_lock(&x->lock);
    x->fn = fn;
    x->opaque = opaque;
    pthread_mutex_unlock(&x->lock);
}

int metrics_extra_merge(struct metrics_extra *x, cJSON *obj)
{
    char *text = NULL;
    int ret;

    /* Held across the call: see struct metrics_extra. */
    pthread_mutex_lock(&x->lock);
    if (x->fn)
        text = x->fn(x->opaque);
    pthread_mutex_unlock(&x->lock);
    ret = metrics_merge(obj, text);
    free(text);
    return ret;
}

/* ---- the file ---- */

int metrics_file_open(struct metrics_file *f, const char *path)
{
    f->fd = open_output(path, O_WRONLY | O_CREAT | O_APPEND, 0600,
                        OUTPUT_ALLOW_FIFO);
    if (f->fd < 0)
        return f->fd;
    pthread_mutex_init(&f->lock, NULL);
    return 0;
}

int metrics_file_write(struct metrics_file *f, const char *json)
{
    struct iovec iov[2] = {{(void *)json, strlen(json)}, {"\n", 1}};
    size_t want = iov[0].iov_len + 1;
    ssize_t n;

    if (f->fd < 0)
        return -EBADF;
    /* One writev() per line: O_APPEND keeps each line whole even with
     * another writer on the same file. */
    pthread_mutex_lock(&f->lock);
    do
        n = writev(f->fd, iov, 2);
    while (n < 0 && errno == EINTR);
    pthread_mutex_unlock(&f->lock);
    if (n < 0)
        return -errno;
    return (size_t)n == want ? 0 : -EIO;
}

void metrics_file_close(struct metrics_file *f)
{
    if (f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
    pthread_mutex_destroy(&f->lock);
}
