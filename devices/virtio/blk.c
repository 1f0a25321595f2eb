/* blk.c - the virtio-blk device model: request parsing and checking. */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/backend/block.h"
#include "core/metrics.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define SECTOR 512
#define HDR_SIZE 16 /* struct virtio_blk_outhdr: type, ioprio, sector */
#define SEG_SIZE 16 /* discard/write-zeroes segment: sector, num, flags */
#define MAX_IOV (VIRTIO_BLK_SEG_MAX + 2)
#define MAX_DISCARD_SECTORS (1U << 22) /* 2 GiB: fallocate is cheap */
#define MAX_WZ_SECTORS (1U << 16)      /* 32 MiB: may be written out */
#define DISCARD_ALIGN 8                /* 4 KiB: file system blocks */
#define WZ_FLAG_UNMAP 1
/* Requests popped per event-loop turn; the rest on a later turn. */
#define BLK_BUDGET VIRTIO_BLK_QUEUE_SIZE

/* What one blk_process() call may still do: requests (and empty
 * re-checks of the ring) and bytes of data moved. */
struct blk_budget {
    unsigned int reqs;
    uint64_t bytes;
};

struct blk_req {
    struct block_io io;
    struct virtq_elem elem;
    uint8_t *status; /* the chain's last writable byte, or NULL */
    uint32_t used_len;
    uint64_t t_submit_ns;       /* metrics: reads and writes */
    struct iovec iov[MAX_IOV];  /* the whole chain */
    struct iovec data[MAX_IOV]; /* the data part, for the backend */
};

struct virtio_blk {
    const struct dev_env *env;
    struct virtio_mmio *t;
    struct block_backend *be;
    bool cache_unsafe;
    char id[VIRTIO_BLK_ID_BYTES];
    uint64_t features;
    uint8_t config[VIRTIO_BLK_CFG_SIZE]; /* little-endian, immutable */

    pthread_mutex_t lock; /* everything below; taken after the transport's */
    bool active;          /* between activate and reset */
    bool starved;         /* stopped popping: no free request slot */
    struct event_source aio_src;
    struct blk_req *reqs;
    uint32_t *free_slots;
    uint32_t nfree;
    struct log_ratelimit rl;
    struct blk_metrics metrics; /* written under (lock), read lock-free */

    /* Completion coalescing (blk_irq); off when coalesce_ns is 0. */
    long coalesce_ns;
    struct event_source hold_src; /* timerfd: a held interrupt's deadline */
    bool holding;       /* an interrupt is held until hold_src fires */
    bool added_in_hold; /* requests arrived while holding */
    /* Also written by blk_used_irq_ack on a vCPU thread, without (lock):
     * an acknowledgement must never wait for a request in progress. */
    atomic_bool streaming;   /* the guest queues without waiting */
    atomic_bool raised;      /* an interrupt is raised, not yet acknowledged */
    atomic_uint raise_avail; /* the driver's avail->idx when it was raised */
    /* &avail->idx in guest RAM (mapped for the VM's life), or NULL */
    _Atomic(volatile uint16_t *) raise_idx;
};

static struct virtq *blk_vq(struct virtio_blk *blk)
{
    return virtio_mmio_queue(blk->t, 0);
}

/* Copies up to (len) bytes from the iovecs, skipping (skip) bytes. */
static size_t iov_read(const struct iovec *iov, unsigned int n, size_t skip,
                       void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned int i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        l = l - skip < len - done ? l - skip : len - done;
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, l);
        done += l;
        skip = 0;
    }
    return done;
}

/* Fills (out) with the part of (iov) that starts (skip) bytes in and is
 * (len) bytes long; returns the number of entries. */
static unsigned int iov_slice(const struct iovec *iov, unsigned int n,
                              size_t skip, size_t len, struct iovec *out)
{
    unsigned int k = 0;

    for (unsigned int i = 0; i < n && len; i++) {
        size_t l = iov[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        l -= skip;
        if (l > len)
            l = len;
        out[k++] = (struct iovec){(uint8_t *)iov[i].iov_base + skip, l};
        len -= l;
        skip = 0;
    }
    return k;
}

static void blk_slot_free(struct virtio_blk *blk, struct blk_req *req)
{
    blk->free_slots[blk->nfree++] = req - blk->reqs;
}

/* Returns the chain with (status) in its last writable byte (§5.2.6). */
static void blk_finish(struct virtio_blk *blk, struct blk_req *req,
                       uint8_t status)
{
    uint32_t len = 0;

    if (status != VIRTIO_BLK_S_OK)
        metrics_add(&blk->metrics.errors, 1);
    if (req->status) {
        *req->status = status;
        len = (status == VIRTIO_BLK_S_OK ? req->used_len : 0) + 1;
    }
    virtq_push(blk_vq(blk), req->elem.head, len);
    blk_slot_free(blk, req);
}

/* Metrics of one successful request, under blk->lock. */
static void blk_account(struct virtio_blk *blk, const struct blk_req *req)
{
    struct blk_metrics *m = &blk->metrics;
    uint64_t us;

    if (req->io.op == BLOCK_FLUSH) {
        metrics_add(&m->flush_ops, 1);
        return;
    }
    if (req->io.op != BLOCK_READ && req->io.op != BLOCK_WRITE)
        return;
    us = (metrics_now_ns() - req->t_submit_ns) / 1000;
    if (req->io.op == BLOCK_READ) {
        metrics_add(&m->read_ops, 1);
        metrics_add(&m->read_bytes, req->io.len);
        metrics_add(&m->read_lat_us, us);
        metrics_max(&m->read_lat_max_us, us);
    } else {
        metrics_add(&m->write_ops, 1);
        metrics_add(&m->write_bytes, req->io.len);
        metrics_add(&m->write_lat_us, us);
        metrics_max(&m->write_lat_max_us, us);
    }
}

static void blk_complete(void *opaque, struct block_io *io, int result)
{
    struct virtio_blk *blk = opaque;
    struct blk_req *req =
        (struct blk_req *)((uint8_t *)io - offsetof(struct blk_req, io));

    if (!blk->active) {
        blk_slot_free(blk, req); /* drained during reset: rings are gone */
        return;
    }
    if (result >= 0)
        blk_account(blk, req);
    if (result < 0 && log_ratelimit_ok(&blk->rl, 8))
        dev_log(blk->env, VMRUN_LOG_WARN, "virtio-blk '%s': I/O error: %s",
                blk->id, strerror(-result));
    blk_finish(blk, req, result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* True if [sector, sector + bytes / 512) lies inside the disk. */
static bool blk_range_ok(const struct virtio_blk *blk, uint64_t sector,
                         uint64_t bytes)
{
    uint64_t cap = blk->be->size / SECTOR;

    return sector <= cap && bytes / SECTOR <= cap - sector;
}

static uint8_t blk_submit(struct virtio_blk *blk, struct blk_req *req)
{
    int ret = blk->be->ops->submit(blk->be, &req->io);

    return ret < 0 ? VIRTIO_BLK_S_IOERR : 0xff; /* 0xff: in flight */
}

/* IN and OUT: the data is the writable part before the status byte (IN)
 * or the readable part after the header (OUT). */
static uint8_t blk_rw(struct virtio_blk *blk, struct blk_req *req, bool write,
                      uint64_t sector)
{
    const struct virtq_elem *e = &req->elem;
    size_t len = write ? e->rd_len - HDR_SIZE : e->wr_len - 1;

    if (len % SECTOR || len > VIRTIO_BLK_REQ_MAX ||
        !blk_range_ok(blk, sector, len) || (write && blk->be->read_only))
        return VIRTIO_BLK_S_IOERR;
    req->io = (struct block_io){
        .op = write ? BLOCK_WRITE : BLOCK_READ,
        .slot = req - blk->reqs,
        .offset = sector * SECTOR,
        .len = len,
        .iov = req->data,
        .niov = write ? iov_slice(req->iov, e->nr_rd, HDR_SIZE, len, req->data)
                      : iov_slice(req->iov + e->nr_rd, e->nr_wr, 0, len,
                                  req->data)};
    req->used_len = write ? 0 : len;
    req->t_submit_ns = metrics_now_ns();
    return len ? blk_submit(blk, req) : VIRTIO_BLK_S_OK;
}

static uint8_t blk_get_id(struct virtio_blk *blk, struct blk_req *req)
{
    const struct virtq_elem *e = &req->elem;
    size_t len = e->wr_len - 1, n;
    struct iovec *data = req->data;
    unsigned int k;

    if (len > VIRTIO_BLK_ID_BYTES)
        len = VIRTIO_BLK_ID_BYTES;
    k = iov_slice(req->iov + e->nr_rd, e->nr_wr, 0, len, data);
    n = 0;
    for (unsigned int i = 0; i < k; i++) {
        memcpy(data[i].iov_base, blk->id + n, data[i].iov_len);
        n += data[i].iov_len;
    }
    req->used_len = n;
    return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one segment (max_*_seg = 1, §5.2.6.2). */
static uint8_t blk_zero(struct virtio_blk *blk, struct blk_req *req,
                        bool discard)
{
    uint64_t feat = discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
    uint8_t seg[SEG_SIZE];
    uint64_t sector;
    uint32_t num, flags;

    if (!(blk->features & VIRTIO_BIT(feat)))
        return VIRTIO_BLK_S_UNSUPP;
    if (req->elem.rd_len != HDR_SIZE + SEG_SIZE)
        return VIRTIO_BLK_S_IOERR;
    iov_read(req->iov, req->elem.nr_rd, HDR_SIZE, seg, SEG_SIZE);
    memcpy(&sector, seg, 8);
    memcpy(&num, seg + 8, 4);
    memcpy(&flags, seg + 12, 4);
    sector = le64toh(sector);
    num = le32toh(num);
    flags = le32toh(flags);
    /* Unknown flags, or unmap on a discard: UNSUPP (§5.2.6.2). */
    if (flags & ~(discard ? 0U : (uint32_t)WZ_FLAG_UNMAP))
        return VIRTIO_BLK_S_UNSUPP;
    if (num > (discard ? MAX_DISCARD_SECTORS : MAX_WZ_SECTORS) ||
        !blk_range_ok(blk, sector, (uint64_t)num * SECTOR) ||
        blk->be->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (num == 0)
        return VIRTIO_BLK_S_OK;
    req->io =
        (struct block_io){.op = discard ? BLOCK_DISCARD : BLOCK_WRITE_ZEROES,
                          .slot = req - blk->reqs,
                          .offset = sector * SECTOR,
                          .len = (uint64_t)num * SECTOR,
                          .unmap = flags & WZ_FLAG_UNMAP};
    return blk_submit(blk, req);
}

static uint8_t blk_flush(struct virtio_blk *blk, struct blk_req *req)
{
    if (blk->cache_unsafe)
        return VIRTIO_BLK_S_OK; /* as Firecracker: the host decides */
    req->io = (struct block_io){.op = BLOCK_FLUSH, .slot = req - blk->reqs};
    return blk_submit(blk, req);
}

/* Parses one popped chain.  A malformed request fails alone; only a
 * malformed ring (virtq_pop) stops the queue.  Returns the bytes of data
 * it moves (reads, writes, write-zeroes, which may be written out), for
 * the budget of the call. */
static uint64_t blk_handle(struct virtio_blk *blk, struct blk_req *req)
{
    const struct virtq_elem *e = &req->elem;
    uint8_t hdr[HDR_SIZE], status;
    const struct iovec *last;
    uint32_t type;
    uint64_t sector, moved;

    req->status = NULL;
    req->used_len = 0;
    req->io = (struct block_io){.op = BLOCK_FLUSH}; /* moves nothing */
    if (e->nr_wr) {
        last = &req->iov[e->nr_rd + e->nr_wr - 1];
        req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    }
    if (!req->status || e->rd_len < HDR_SIZE) {
        blk_finish(blk, req, VIRTIO_BLK_S_IOERR);
        return 0;
    }
    iov_read(req->iov, e->nr_rd, 0, hdr, HDR_SIZE);
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    switch (le32toh(type)) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        status = blk_rw(blk, req, le32toh(type) == VIRTIO_BLK_T_OUT,
                        le64toh(sector));
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = blk_flush(blk, req);
        break;
    case VIRTIO_BLK_T_GET_ID:
        status = blk_get_id(blk, req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = blk_zero(blk, req, le32toh(type) == VIRTIO_BLK_T_DISCARD);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
    }
    /* Read before blk_finish() frees the slot (a synchronous completion
     * may have freed it already; nothing reuses it before the next pop). */
    moved = req->io.op == BLOCK_DISCARD ? 0 : req->io.len;
    if (status != 0xff)
        blk_finish(blk, req, status);
    return moved;
}

/* Raises the used-buffer interrupt now, if the driver wants one. */
static void blk_signal(struct virtio_blk *blk)
{
    struct virtq *vq = blk_vq(blk);

    if (!virtq_should_notify(vq))
        return;
    atomic_store(&blk->raise_idx, virtq_avail_idx_addr(vq));
    atomic_store(&blk->raise_avail, virtq_avail_idx(vq));
    atomic_store(&blk->raised, true);
    virtio_mmio_signal_used(blk->t);
}

static void blk_hold_cancel(struct virtio_blk *blk)
{
    struct itimerspec off = {{0, 0}, {0, 0}};

    if (blk->holding)
        (void)timerfd_settime(blk->hold_src.fd, 0, &off, NULL);
    blk->holding = false;
}

/* Tells the driver about completed requests: at once, or, while the guest
 * is streaming, up to coalesce_ns later.
 *
 * A guest that keeps a deep queue (fio at QD32, a database) resubmits
 * while earlier requests complete; an interrupt for each completion
 * breaks into that work (an injection and two register exits each), while
 * one interrupt for a batch costs it once.  A guest that waits for each
 * completion (QD1, a 1 MiB read split into a few requests sent together)
 * must not wait longer.  The two are told apart by what the guest does
 * between an interrupt and its acknowledgement (blk_used_irq_ack): adding
 * requests there means it was not waiting.  From then on the interrupt is
 * held for coalesce_ns after the first completion, and the holding goes
 * on as long as requests keep coming in a hold; a hold in which none came
 * means the guest sat waiting, and the next completion is signalled at
 * once again.  So a waiting guest loses at most one hold. */
static void blk_irq(struct virtio_blk *blk)
{
    struct itimerspec t = {.it_value = {0, blk->coalesce_ns}};

    if (blk->holding || !virtq_unsignalled(blk_vq(blk)))
        return;
    if (!atomic_load(&blk->streaming) || blk->coalesce_ns <= 0 ||
        blk->hold_src.fd < 0) {
        blk_signal(blk);
        return;
    }
    /* Cannot fail on a valid timerfd and time. */
    (void)timerfd_settime(blk->hold_src.fd, 0, &t, NULL);
    blk->holding = true;
    blk->added_in_hold = false;
}

/* The hold is over: signal what it gathered. */
static void blk_hold_event(void *opaque, uint32_t events)
{
    struct virtio_blk *blk = opaque;
    uint64_t n;

    (void)events;
    if (read(blk->hold_src.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&blk->lock);
    if (blk->holding) {
        blk->holding = false;
        atomic_store(&blk->streaming, blk->added_in_hold);
        if (blk->active)
            blk_signal(blk);
    }
    pthread_mutex_unlock(&blk->lock);
}

/* vCPU thread: the driver took our interrupt.  Requests it added after
 * the interrupt was raised went in without waiting for those completions.
 * Lock-free: the Sync engine may be in the middle of a request under
 * (lock).  The ring address was valid when the interrupt was raised and
 * stays inside guest RAM; a reset racing with this costs one hold at most. */
static void blk_used_irq_ack(void *dev)
{
    struct virtio_blk *blk = dev;
    volatile uint16_t *idx;

    if (!atomic_exchange(&blk->raised, false))
        return;
    idx = atomic_load(&blk->raise_idx);
    if (idx && __atomic_load_n(idx, __ATOMIC_ACQUIRE) !=
                   (uint16_t)atomic_load(&blk->raise_avail))
        atomic_store(&blk->streaming, true);
}

static bool blk_budget_left(const struct blk_budget *b)
{
    return b->reqs && b->bytes;
}

/* Pops until the ring is empty, every slot is in flight or the budget is
 * spent: synchronous completions free their slot at once, so without
 * BLK_BUDGET a guest refilling the ring from another vCPU would keep this
 * call (and the event loop) to itself; and one request may move up to
 * VIRTIO_BLK_REQ_MAX bytes, which the Sync engine (and the Async one for
 * misaligned buffers) reads or writes right here, so the bytes are
 * counted too.  Returns false when the ring is malformed (the device then
 * needs a reset). */
static bool blk_pop_all(struct virtio_blk *blk, struct blk_budget *budget)
{
    struct virtq *vq = blk_vq(blk);
    struct blk_req *req;
    uint64_t moved;
    int ret;

    blk->starved = false;
    for (;;) {
        virtq_disable_notify(vq);
        while (blk->nfree && blk_budget_left(budget)) {
            req = &blk->reqs[blk->free_slots[--blk->nfree]];
            ret = virtq_pop(vq, &req->elem, req->iov, MAX_IOV);
            if (ret <= 0)
                blk_slot_free(blk, req);
            if (ret == 0)
                break;
            if (ret == -EPROTO) {
                virtio_mmio_set_needs_reset(blk->t);
                return false;
            }
            budget->reqs--;
            blk->added_in_hold |= blk->holding;
            if (ret == -E2BIG) { /* more segments than SEG_MAX promised */
                virtq_push(vq, req->elem.head, 0);
                continue;
            }
            moved = blk_handle(blk, req);
            budget->bytes -= moved < budget->bytes ? moved : budget->bytes;
        }
        if (!blk_budget_left(budget)) {
            virtio_mmio_notify_again(blk->t, 0); /* notifications stay off */
            break;
        }
        if (!blk->nfree) {
            blk->starved = true; /* resumed by the next completion */
            break;
        }
        if (!virtq_enable_notify(vq))
            break;
        budget->reqs--; /* an empty round counts too */
    }
    return true;
}

/* Pops and submits; the engine may complete requests while it sends them
 * (unplug), freeing slots that a starved ring is waiting for: then pop
 * again, as no later completion may come to resume it. */
static void blk_process(struct virtio_blk *blk)
{
    struct blk_budget budget = {BLK_BUDGET, VIRTIO_BLK_BUDGET_BYTES};
    bool ok;

    do {
        ok = blk_pop_all(blk, &budget);
        blk->be->ops->unplug(blk->be);
    } while (ok && blk_budget_left(&budget) && blk->starved && blk->nfree);
    blk_irq(blk);
}

static void blk_queue_notify(void *dev, uint16_t q)
{
    struct virtio_blk *blk = dev;

    pthread_mutex_lock(&blk->lock);
    if (blk->active && q == 0)
        blk_process(blk);
    pthread_mutex_unlock(&blk->lock);
}

/* Async completions, on the event-loop thread. */
static void blk_aio_event(void *opaque, uint32_t events)
{
    struct virtio_blk *blk = opaque;

    pthread_mutex_lock(&blk->lock);
    blk->be->ops->reap(blk->be);
    if (blk->active) {
        if (blk->starved)
            blk_process(blk);
        else
            blk_irq(blk);
    }
    pthread_mutex_unlock(&blk->lock);
}

static uint64_t blk_features(void *dev)
{
    const struct virtio_blk *blk = dev;
    uint64_t f =
        VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

    if (blk->be->read_only)
        return f | VIRTIO_BIT(VIRTIO_BLK_F_RO);
    f |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    if (blk->be->can_discard)
        f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
    return f;
}

static void blk_config_read(void *dev, uint32_t off, uint8_t *data,
                            uint32_t size)
{
    const struct virtio_blk *blk = dev;

    memcpy(data, blk->config + off, size); /* bounds: the transport */
}

static int blk_activate(void *dev, uint64_t features)
{
    struct virtio_blk *blk = dev;

    pthread_mutex_lock(&blk->lock);
    blk->features = features;
    blk->active = true;
    pthread_mutex_unlock(&blk->lock);
    return 0;
}

static void blk_reset(void *dev)
{
    struct virtio_blk *blk = dev;

    pthread_mutex_lock(&blk->lock);
    blk->active = false; /* completions now only free their slot */
    blk->be->ops->drain(blk->be);
    blk->features = 0;
    blk->starved = false;
    blk_hold_cancel(blk);
    atomic_store(&blk->streaming, false);
    atomic_store(&blk->raised, false);
    pthread_mutex_unlock(&blk->lock);
}

static const struct virtio_device_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_SIZE,
    .config_len = VIRTIO_BLK_CFG_SIZE,
    .features = blk_features,
    .config_read = blk_config_read,
    .config_write = NULL,
    .activate = blk_activate,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
    .used_irq_ack = blk_used_irq_ack,
};

static void put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void blk_config_init(struct virtio_blk *blk)
{
    uint64_t cap = htole64(blk->be->size / SECTOR);
    uint8_t *c = blk->config;

    memcpy(c + VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
    put32(c + VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX);
    put32(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
    put32(c + VIRTIO_BLK_CFG_BLK_SIZE, SECTOR);
    c[VIRTIO_BLK_CFG_NUM_QUEUES] = 1;
    put32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS);
    put32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    put32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, DISCARD_ALIGN);
    put32(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, MAX_WZ_SECTORS);
    put32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
    c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = blk->be->can_discard;
}

static int blk_init(struct virtio_blk *blk, const struct drive_config *cfg)
{
    blk->reqs = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*blk->reqs));
    blk->free_slots = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(uint32_t));
    if (!blk->reqs || !blk->free_slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
        blk->free_slots[blk->nfree++] = VIRTIO_BLK_QUEUE_SIZE - 1 - i;
    /* GET_ID: up to 20 bytes, NUL-padded, not necessarily terminated. */
    if (cfg->drive_id)
        memcpy(blk->id, cfg->drive_id, strnlen(cfg->drive_id, sizeof(blk->id)));
    blk->cache_unsafe = cfg->cache_type == CACHE_UNSAFE;
    blk->coalesce_ns = cfg->completion_coalesce_us * 1000L;
    blk->be->complete = blk_complete;
    blk->be->opaque = blk;
    blk_config_init(blk);
    return 0;
}

static int blk_hold_init(struct virtio_blk *blk)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    int ret;

    if (fd < 0)
        return -errno;
    blk->hold_src = (struct event_source){fd, blk_hold_event, blk};
    ret = event_loop_add(blk->env->loop, &blk->hold_src, EPOLLIN);
    if (ret < 0) {
        close(fd);
        blk->hold_src.fd = -1;
    }
    return ret;
}

int virtio_blk_create_backend(const struct dev_env *env,
                              const struct drive_config *cfg,
                              struct block_backend *be, gpa_t base,
                              uint32_t irq, struct virtio_blk **out)
{
    struct virtio_blk *blk = calloc(1, sizeof(*blk));
    int ret;

    if (!blk) {
        be->ops->destroy(be);
        return -ENOMEM;
    }
    blk->env = env;
    blk->be = be;
    blk->aio_src.fd = -1;
    blk->hold_src.fd = -1;
    pthread_mutex_init(&blk->lock, NULL);
    ret = blk_init(blk, cfg);
    if (ret == 0)
        ret = virtio_mmio_create(env, base, irq, &blk_ops, blk, &blk->t);
    if (ret == 0 && be->event_fd >= 0) {
        blk->aio_src = (struct event_source){be->event_fd, blk_aio_event, blk};
        ret = event_loop_add(env->loop, &blk->aio_src, EPOLLIN);
        if (ret < 0)
            blk->aio_src.fd = -1;
    }
    if (ret == 0 && blk->coalesce_ns > 0)
        ret = blk_hold_init(blk);
    if (ret < 0) {
        virtio_blk_destroy(blk);
        return ret;
    }
    *out = blk;
    return 0;
}

int virtio_blk_create(const struct dev_env *env, const struct drive_config *cfg,
                      gpa_t base, uint32_t irq, struct virtio_blk **out)
{
    struct block_backend *be;
    int ret = block_open(cfg, env->log, VIRTIO_BLK_QUEUE_SIZE, &be);

    if (ret == -EBUSY)
        dev_log(env, VMRUN_LOG_ERROR,
                "drive '%s': '%s' is locked by another process (is another "
                "vmrun using it?)",
                cfg->drive_id ? cfg->drive_id : "", cfg->path_on_host);
    else if (ret < 0)
        dev_log(env, VMRUN_LOG_ERROR, "drive '%s': cannot open '%s': %s",
                cfg->drive_id ? cfg->drive_id : "", cfg->path_on_host,
                strerror(-ret));
    if (ret < 0)
        return ret;
    return virtio_blk_create_backend(env, cfg, be, base, irq, out);
}

void virtio_blk_get_metrics(const struct virtio_blk *blk,
                            struct metrics_drive *out)
{
    metrics_blk_read(&blk->metrics, out);
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
    if (!blk)
        return;
    if (blk->aio_src.fd >= 0)
        event_loop_del(blk->env->loop, &blk->aio_src);
    if (blk->hold_src.fd >= 0) {
        event_loop_del(blk->env->loop, &blk->hold_src);
        close(blk->hold_src.fd);
    }
    blk->active = false; /* the drain below only frees slots */
    blk->be->ops->drain(blk->be);
    virtio_mmio_destroy(blk->t);
    blk->be->ops->destroy(blk->be);
    pthread_mutex_destroy(&blk->lock);
    free(blk->reqs);
    free(blk->free_slots);
    free(blk);
}

/* ---- snapshots ---- */

static int blk_ops_save(void *dev, struct snap_buf *b)
{
    struct virtio_blk *blk = dev;

    /* Requests in flight complete now, into the used ring, so the
     * snapshot holds none: the guest sees them done. */
    pthread_mutex_lock(&blk->lock);
    blk->be->ops->unplug(blk->be);
    blk->be->ops->drain(blk->be);
    blk_hold_cancel(blk);
    if (blk->active)
        blk_signal(blk);
    pthread_mutex_unlock(&blk->lock);
    return virtio_mmio_save(blk->t, b);
}

static int blk_ops_load(void *dev, struct snap_rd *r)
{
    struct virtio_blk *blk = dev;

    return virtio_mmio_load(blk->t, r);
}

/* ---- the VM's view: device_ops ---- */

static void blk_ops_metrics(void *dev, const char *id,
                            struct metrics_devices *out)
{
    struct metrics_drive *d = metrics_add_drive(out, id);

    if (d)
        virtio_blk_get_metrics(dev, d);
}

static void blk_ops_destroy(void *dev)
{
    virtio_blk_destroy(dev);
}

const struct device_ops virtio_blk_device_ops = {
    .name = "virtio-blk",
    .save = blk_ops_save,
    .load = blk_ops_load,
    .metrics = blk_ops_metrics,
    .destroy = blk_ops_destroy,
};
