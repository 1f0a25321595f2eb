/* block.h - the host side of a disk: a raw image file read and written
 * with preadv/pwritev (the "Sync" engine) or libaio (the "Async" engine),
 * behind a small const ops table so device tests can plug a fake.
 *
 * Every function runs on one thread at a time: the device calls them under
 * its own lock (from the event-loop thread, or from a vCPU thread during
 * reset). */
#ifndef VMRUN_BACKEND_BLOCK_H
#define VMRUN_BACKEND_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/config.h"
#include "core/log.h"

enum block_op {
    BLOCK_READ,
    BLOCK_WRITE,
    BLOCK_FLUSH,        /* make completed writes durable */
    BLOCK_DISCARD,      /* the range may read back as anything; we zero */
    BLOCK_WRITE_ZEROES, /* the range reads back as zeros */
};

/* One request.  The device owns it (a preallocated slot) from submit until
 * the complete callback; (slot) is unique among requests in flight and
 * below the backend's max_inflight. */
struct block_io {
    enum block_op op;
    uint32_t slot;
    uint64_t offset; /* bytes */
    uint64_t len;    /* bytes: sum of iov for READ/WRITE */
    const struct iovec *iov;
    unsigned int niov;
    bool unmap; /* WRITE_ZEROES may deallocate (punch a hole) */
};

/* Called exactly once per accepted request with 0 or -errno, possibly
 * before submit() returns. */
typedef void (*block_complete_fn)(void *opaque, struct block_io *io,
                                  int result);

struct block_backend;

struct block_backend_ops {
    /* Starts (io).  0: accepted, complete will be called; -errno: refused,
     * complete will not be called. */
    int (*submit)(struct block_backend *be, struct block_io *io);
    /* Sends what submit() queued (one io_submit per batch). */
    void (*unplug)(struct block_backend *be);
    /* Handles readiness of (event_fd): calls complete for finished I/O. */
    void (*reap)(struct block_backend *be);
    /* Waits until every accepted request has completed. */
    void (*drain)(struct block_backend *be);
    /* Drains, unlocks and closes the file, frees (be). */
    void (*destroy)(struct block_backend *be);
};

/* The common part; a backend embeds it first. */
struct block_backend {
    const struct block_backend_ops *ops;
    uint64_t size; /* usable bytes: the file size rounded down to 512 */
    bool read_only;
    bool can_discard; /* FALLOC_FL_PUNCH_HOLE works on this file */
    bool direct;      /* Async engine with O_DIRECT */
    int event_fd;     /* watch for EPOLLIN and call reap; -1: none */
    block_complete_fn complete;
    void *opaque;
};

/* Opens (cfg->path_on_host) with the engine (cfg->io_engine): O_RDONLY and
 * a shared OFD lock for read-only drives, O_RDWR and an exclusive lock
 * otherwise; -EBUSY when another open file (another process, or another
 * drive on the same image) holds a conflicting lock.  Logs nothing on
 * failure: the caller names the drive.  Up to (max_inflight) requests may be
 * in flight.  The caller sets (complete) and (opaque) in the result before
 * its first submit.  (log) must outlive the backend; (cfg) is copied. */
int block_open(const struct drive_config *cfg, const struct logger *log,
               unsigned int max_inflight, struct block_backend **out)
    __attribute__((warn_unused_result));

#endif
