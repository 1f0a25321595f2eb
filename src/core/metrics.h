/* metrics.h - the counters a VM keeps for its metrics lines (Firecracker
 * style: one JSON object per line, appended to metrics.metrics_path), the
 * JSON writer and the metrics file.
 *
 * Counters live in the objects that own them (a vCPU, a virtio-blk
 * device) as relaxed atomics.  Each has one writer at a time: the owning
 * thread, or whoever holds the owner's existing lock; the writer adds with
 * a plain load and store (no locked instruction, no new lock on the hot
 * path), and the metrics writer reads them with atomic loads from any
 * thread, so a line may mix counts from slightly different moments but
 * never a torn value.  No KVM in here: tests/unit/test_metrics.c feeds the
 * writer known values. */
#ifndef VMRUN_METRICS_H
#define VMRUN_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vmrun.h"

typedef atomic_uint_fast64_t metrics_counter;

/* (*c) += (v), by the counter's one writer (see above). */
static inline void metrics_add(metrics_counter *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* (*c) = max(*c, v), by the counter's one writer. */
static inline void metrics_max(metrics_counter *c, uint64_t v)
{
    if (v > atomic_load_explicit(c, memory_order_relaxed))
        atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t metrics_read(const metrics_counter *c)
{
    return atomic_load_explicit((metrics_counter *)c, memory_order_relaxed);
}

/* CLOCK_MONOTONIC in ns (vDSO: no system call). */
uint64_t metrics_now_ns(void);

/* ---- vCPUs ---- */

/* Exits to userspace by reason, the names of the JSON keys. */
enum metrics_exit {
    METRICS_EXIT_IO,
    METRICS_EXIT_MMIO,
    METRICS_EXIT_HLT,
    METRICS_EXIT_INTR, /* KVM_RUN interrupted: kick, pause, signal */
    METRICS_EXIT_SYSTEM_EVENT,
    METRICS_EXIT_SHUTDOWN,
    METRICS_EXIT_INTERNAL_ERROR,
    METRICS_EXIT_FAIL_ENTRY,
    METRICS_EXIT_OTHER,
    METRICS_EXIT_NR
};

/* Embedded in struct vcpu; written by the vCPU thread only. */
struct vcpu_metrics {
    metrics_counter exits[METRICS_EXIT_NR];
    metrics_counter run_ns; /* wall time inside KVM_RUN */
};

/* KVM's exit_reason number to the key above. */
enum metrics_exit metrics_exit_kind(uint32_t kvm_exit_reason);

/* ---- drives ---- */

/* Embedded in struct virtio_blk; written under the device's lock. */
struct blk_metrics {
    metrics_counter read_ops, read_bytes, write_ops, write_bytes;
    metrics_counter flush_ops, errors; /* errors: requests that failed */
    /* Submission to completion, successful reads and writes only. */
    metrics_counter read_lat_us, read_lat_max_us;
    metrics_counter write_lat_us, write_lat_max_us;
};

/* ---- a whole VM, as plain numbers ---- */

struct metrics_vcpu {
    uint64_t exits[METRICS_EXIT_NR];
    uint64_t run_ns;
};

struct metrics_drive {
    const char *id;
    uint64_t read_ops, read_bytes, write_ops, write_bytes, flush_ops, errors;
    uint64_t read_lat_us, read_lat_max_us, write_lat_us, write_lat_max_us;
};

struct metrics_net {
    const char *id;
    uint64_t rx_bytes, rx_packets, rx_dropped;
    uint64_t tx_bytes, tx_packets, tx_dropped, tx_errors;
};

struct metrics_snapshot {
    uint64_t utc_ms; /* wall clock, ms since the epoch */
    uint64_t uptime_ms;
    uint64_t rss_bytes; /* the VMM process's resident set */
    unsigned int nr_vcpus, nr_drives, nr_nets;
    const struct metrics_vcpu *vcpus;
    const struct metrics_drive *drives;
    const struct metrics_net *nets;
};

/* Where the devices of one VM add their counters for one line: room for
 * (max_drives) drives and (max_nets) NICs (device_ops.metrics). */
struct metrics_devices {
    struct metrics_drive *drives;
    struct metrics_net *nets;
    unsigned int nr_drives, max_drives;
    unsigned int nr_nets, max_nets;
};

/* The next free entry of (m), zeroed, with (id); NULL when it is full. */
struct metrics_drive *metrics_add_drive(struct metrics_devices *m,
                                        const char *id);
struct metrics_net *metrics_add_net(struct metrics_devices *m, const char *id);

/* Copies (m)'s counters into (out). */
void metrics_vcpu_read(const struct vcpu_metrics *m, struct metrics_vcpu *out);
void metrics_blk_read(const struct blk_metrics *m, struct metrics_drive *out);

/* Fills utc_ms and rss_bytes (from (statm_fd), /proc/self/statm opened
 * by the caller; 0 if unreadable). */
void metrics_snapshot_clock_rss(struct metrics_snapshot *s, int statm_fd);

/* The line's JSON object (schema in docs/api.md); NULL on ENOMEM. */
cJSON *metrics_to_json(const struct metrics_snapshot *s);

/* Appends the members of the JSON object text (extra) to (obj); text that
 * is not an object is ignored.  0 or -ENOMEM. */
int metrics_merge(cJSON *obj, const char *extra)
    __attribute__((warn_unused_result));

/* The embedder's extra members (vmrun_set_metrics_extra()).  The callback
 * runs with (lock) held, so once metrics_extra_set() returns no call with
 * the old (opaque) is still in flight and the embedder may free it. */
struct metrics_extra {
    pthread_mutex_t lock;
    vmrun_metrics_extra_fn fn; /* NULL: none */
    void *opaque;
};

void metrics_extra_init(struct metrics_extra *x);
void metrics_extra_fini(struct metrics_extra *x);

/* Installs (fn, opaque); waits for a call of the old one to return.  Not
 * from inside the callback (it would deadlock).  Any thread. */
void metrics_extra_set(struct metrics_extra *x, vmrun_metrics_extra_fn fn,
                       void *opaque);

/* Calls the callback, if any, and merges its object into (obj) (see
 * metrics_merge()).  0 or -ENOMEM.  Any thread. */
int metrics_extra_merge(struct metrics_extra *x, cJSON *obj)
    __attribute__((warn_unused_result));

/* ---- the metrics file ---- */

struct metrics_file {
    int fd;
    pthread_mutex_t lock; /* one line at a time from any thread */
};

/* Opens (path) for appending (created 0600, O_CLOEXEC).  -errno. */
int metrics_file_open(struct metrics_file *f, const char *path)
    __attribute__((warn_unused_result));

/* Appends (json) and a newline with one write().  -errno. */
int metrics_file_write(struct metrics_file *f, const char *json)
    __attribute__((warn_unused_result));

/* Closes; safe on a file that never opened (fd -1). */
void metrics_file_close(struct metrics_file *f);

#endif
