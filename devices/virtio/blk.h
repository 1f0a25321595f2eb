/* blk.h - virtio-blk (virtio 1.2 §5.2) over virtio-mmio, backed by a raw
 * image file (devices/backend/block.h).
 *
 * Offers VERSION_1, RING_INDIRECT_DESC, RING_EVENT_IDX, BLK_F_SEG_MAX,
 * BLK_F_SIZE_MAX, BLK_F_BLK_SIZE (512), BLK_F_FLUSH, BLK_F_RO for
 * read-only drives, BLK_F_WRITE_ZEROES on writable drives (fallocate
 * ZERO_RANGE, else PUNCH_HOLE when the driver allows unmapping, else
 * written zeros) and BLK_F_DISCARD where the file system can punch holes.
 * One queue of VIRTIO_BLK_QUEUE_SIZE; up to that many requests in flight,
 * in preallocated slots (no allocation per request).
 *
 * Decisions: SIZE_MAX is offered so that a driver keeps every request
 * within VIRTIO_BLK_REQ_MAX; the device checks that total (not each
 * segment) and fails longer reads and writes with IOERR.  One queue
 * notification moves at most VIRTIO_BLK_BUDGET_BYTES plus one request (and
 * 256 requests), then yields the event loop and resumes on a later turn.
 * READ/WRITE go through the engine; FLUSH (fdatasync, a no-op with
 * cache_type Unsafe), DISCARD and WRITE_ZEROES run on the event-loop
 * thread with both engines.  A request that breaks the virtio-blk rules
 * (no status byte, short header, bad length or range) fails alone with
 * IOERR/UNSUPP, or with used length 0 when it has no writable status byte;
 * a malformed ring sets DEVICE_NEEDS_RESET. */
#ifndef VMRUN_VIRTIO_BLK_H
#define VMRUN_VIRTIO_BLK_H

#include <stdint.h>

#include "core/config.h"
#include "core/memory.h"

struct dev_env;
struct snap_buf;
struct snap_rd;
struct virtio_blk;
struct block_backend;

#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX 126 /* data segments per request */
/* size_max (VIRTIO_BLK_F_SIZE_MAX): the longest data segment a driver may
 * send.  Drivers honour seg_max and size_max (Linux sets its queue's
 * max_segments and max_segment_size from them), so no request of theirs
 * carries more than VIRTIO_BLK_REQ_MAX bytes of data. */
#define VIRTIO_BLK_SIZE_MAX (64U << 10)
/* The most data one read or write may move (7.875 MiB); longer ones fail
 * with IOERR.  Descriptors may overlap in guest RAM, so without it 126
 * segments over one 32 MiB buffer make a 4 GiB read in any guest. */
#define VIRTIO_BLK_REQ_MAX (VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX)
/* Data one queue notification may move (reads, writes, write-zeroes)
 * before the device yields to the rest of the event loop and carries on
 * in a later turn. */
#define VIRTIO_BLK_BUDGET_BYTES (64U << 20)

/* Request types and status values (§5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config space offsets (struct virtio_blk_config, §5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_NUM_QUEUES 34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56
#define VIRTIO_BLK_CFG_SIZE 60

/* Opens and locks (cfg->path_on_host) (see block_open(); -EBUSY when
 * another process holds the image, with the drive and file named in the
 * log) and registers a virtio-mmio device at [base, base + 4 KiB) with
 * GSI (irq).  (cfg) is copied.  Call before the vCPUs and the event loop
 * start. */
int virtio_blk_create(const struct dev_env *env, const struct drive_config *cfg,
                      gpa_t base, uint32_t irq, struct virtio_blk **out)
    __attribute__((warn_unused_result));

/* The same on a backend the caller opened (tests plug a fake here); the
 * device owns (be) from now on, also on failure. */
int virtio_blk_create_backend(const struct dev_env *env,
                              const struct drive_config *cfg,
                              struct block_backend *be, gpa_t base,
                              uint32_t irq, struct virtio_blk **out)
    __attribute__((warn_unused_result));

/* Waits for in-flight I/O, closes and unlocks the file, frees.  Call after
 * the vCPUs and the event loop have stopped.  NULL is a no-op. */
void virtio_blk_destroy(struct virtio_blk *blk);

/* The counters of src/core/metrics.h (ops, bytes, latency of completed
 * requests); lock-free, any thread.  (out->id) is left alone. */
struct metrics_drive;
void virtio_blk_get_metrics(const struct virtio_blk *blk,
                            struct metrics_drive *out);

/* The VM's entry points into this device (dev_env.h).  Snapshots (see
 * virtio_mmio_save()): saving first waits for every request in
 * flight and completes it in the used ring.  Call on a stopped VM. */
struct device_ops;
extern const struct device_ops virtio_blk_device_ops;

#endif
