/* fuzz_blk.c - libFuzzer harness for the virtio-blk request path
 * (devices/virtio/blk.c over virtio-mmio and the queue walker) with an
 * in-memory disk in place of the image file.
 *
 * The input: device options (read-only, discard, deferred or immediate
 * completion, failing I/O, cache mode, completion coalescing with a 1 us
 * hold, which the loop's next pass usually finds expired), the features the
 * driver accepts, the queue, a disk size, a script of driver actions (kicks,
 * completions, resets, config reads, new avail entries) and the contents of
 * guest RAM.
 *
 * The fake backend checks the promises block.h makes to a backend: slots
 * unique and in range, READ/WRITE lengths equal to their segments, ranges
 * inside the disk, no write to a read-only disk, segments inside guest RAM.
 * It really copies the data, so ASan sees every segment used. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/backend/block.h"
#include "fuzz_common.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x10000ULL
#define BASE 0xd0000000ULL
#define IRQ 5
#define NOPS 12
#define SLOTS VIRTIO_BLK_QUEUE_SIZE

enum {
    OPT_RO = 1,
    OPT_DISCARD = 2,
    OPT_DEFER = 4,
    OPT_UNSAFE = 8,
    OPT_RAW_FEATURES = 16,
    OPT_FAIL_IO = 32,
    OPT_COALESCE = 64,
};

struct mem_disk {
    struct block_backend be;
    struct fake_env *vm;
    uint8_t *data;
    bool defer, fail;
    struct block_io *queued[SLOTS];
    unsigned int nqueued;
    bool inflight[SLOTS];
};

static void disk_check_iov(struct mem_disk *d, const struct block_io *io)
{
    uint64_t sum = 0;

    FUZZ_CHECK(io->niov <= VIRTIO_BLK_SEG_MAX + 2);
    for (unsigned int i = 0; i < io->niov; i++) {
        const uint8_t *p = io->iov[i].iov_base;
        size_t len = io->iov[i].iov_len;

        FUZZ_CHECK(p >= d->vm->ram && len <= RAM_SIZE &&
                   (size_t)(p - d->vm->ram) <= RAM_SIZE - len);
        sum += len;
    }
    FUZZ_CHECK(sum == io->len);
}

/* Does what (io) asks, on the disk in memory. */
static void disk_do(struct mem_disk *d, struct block_io *io)
{
    uint64_t off = io->offset;

    for (unsigned int i = 0; i < io->niov && io->op <= BLOCK_WRITE; i++) {
        if (io->op == BLOCK_READ)
            memcpy(io->iov[i].iov_base, d->data + off, io->iov[i].iov_len);
        else
            memcpy(d->data + off, io->iov[i].iov_base, io->iov[i].iov_len);
        off += io->iov[i].iov_len;
    }
    if (io->op == BLOCK_DISCARD || io->op == BLOCK_WRITE_ZEROES)
        memset(d->data + io->offset, 0, io->len);
}

static void disk_complete(struct mem_disk *d, struct block_io *io)
{
    disk_do(d, io);
    d->inflight[io->slot] = false;
    d->be.complete(d->be.opaque, io, d->fail ? -EIO : 0);
}

static int disk_submit(struct block_backend *be, struct block_io *io)
{
    struct mem_disk *d = (struct mem_disk *)be;
    uint64_t one = 1;

    FUZZ_CHECK(io->slot < SLOTS && !d->inflight[io->slot]);
    FUZZ_CHECK(io->offset <= be->size && io->len <= be->size - io->offset);
    FUZZ_CHECK(!be->read_only || io->op == BLOCK_READ || io->op == BLOCK_FLUSH);
    if (io->op == BLOCK_READ || io->op == BLOCK_WRITE)
        disk_check_iov(d, io);
    if (io->op == BLOCK_DISCARD)
        FUZZ_CHECK(be->can_discard);
    d->inflight[io->slot] = true;
    if (!d->defer) {
        disk_complete(d, io); /* allowed: "possibly before submit returns" */
        return 0;
    }
    d->queued[d->nqueued++] = io;
    if (write(be->event_fd, &one, sizeof(one)) < 0)
        return -errno;
    return 0;
}

static void disk_unplug(struct block_backend *be)
{
    (void)be;
}

static void disk_reap(struct block_backend *be)
{
    struct mem_disk *d = (struct mem_disk *)be;
    uint64_t n;
    unsigned int i;

    if (read(be->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    /* Completions may submit again (a starved queue resumes): take the
     * current batch first. */
    while ((i = d->nqueued) > 0) {
        d->nqueued = 0;
        for (unsigned int k = 0; k < i; k++)
            disk_complete(d, d->queued[k]);
    }
}

static void disk_destroy(struct block_backend *be)
{
    struct mem_disk *d = (struct mem_disk *)be;

    disk_reap(be);
    close(be->event_fd);
    free(d->data);
    free(d);
}

static const struct block_backend_ops disk_ops = {
    .submit = disk_submit,
    .unplug = disk_unplug,
    .reap = disk_reap,
    .drain = disk_reap,
    .destroy = disk_destroy,
};

static struct mem_disk *disk_create(struct fake_env *vm, uint8_t opts,
                                    uint64_t size)
{
    struct mem_disk *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->data = calloc(1, size);
    d->be.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!d->data || d->be.event_fd < 0) {
        if (d->be.event_fd >= 0)
            close(d->be.event_fd);
        free(d->data);
        free(d);
        return NULL;
    }
    d->be.ops = &disk_ops;
    d->be.size = size;
    d->be.read_only = opts & OPT_RO;
    d->be.can_discard = opts & OPT_DISCARD;
    d->vm = vm;
    d->defer = opts & OPT_DEFER;
    d->fail = opts & OPT_FAIL_IO;
    return d;
}

struct blk_run {
    struct fake_env *vm;
    struct fuzz_queue q;
    uint64_t features;
    int raw;
};

static void blk_start(struct blk_run *r)
{
    (void)fuzz_mmio_start(r->vm, BASE, r->features, r->raw, &r->q, 1);
}

static void blk_op(struct blk_run *r, uint8_t op)
{
    uint8_t arg = op >> 3, cfg[8];
    uint64_t avail = r->q.avail - RAM_BASE;
    uint16_t idx;

    switch (op & 7) {
    case 0:
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        fuzz_loop_run(r->vm->loop, 8);
        break;
    case 1:
        fuzz_loop_run(r->vm->loop, 8);
        break;
    case 2: /* the driver publishes (arg) more entries */
        if (avail > RAM_SIZE - 4)
            break;
        memcpy(&idx, r->vm->ram + avail + 2, 2);
        idx = (uint16_t)(idx + arg);
        memcpy(r->vm->ram + avail + 2, &idx, 2);
        break;
    case 3: /* reset with requests possibly in flight, then start again */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_STATUS, 0);
        if (arg & 1)
            blk_start(r);
        break;
    case 4:
        bus_access(&r->vm->mmio, BASE + VIRTIO_MMIO_CONFIG + arg * 2, cfg,
                   1U << (arg & 3), false);
        break;
    case 5:
        fuzz_mmio_write(
            r->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
            fuzz_mmio_read(r->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS));
        break;
    case 6: /* a kick that is served later, with others */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        break;
    default:
        blk_start(r);
    }
}

static void blk_fuzz(struct fake_env *vm, struct fz *f)
{
    uint8_t opts = fz_u8(f), ops[NOPS];
    uint64_t sectors = 1 + fz_u8(f) % 64;
    struct blk_run r = {.vm = vm, .features = fz_u64(f)};
    struct drive_config cfg = {.drive_id = "fuzz-disk-0123456789",
                               .path_on_host = "/nonexistent"};
    struct virtio_blk *blk;
    struct mem_disk *d;
    const uint8_t *img;
    size_t n;

    r.raw = opts & OPT_RAW_FEATURES;
    fuzz_queue_from_input(f, &r.q, RAM_BASE, RAM_SIZE, VIRTIO_BLK_QUEUE_SIZE);
    for (int i = 0; i < NOPS; i++)
        ops[i] = fz_u8(f);
    n = fz_take(f, RAM_SIZE, &img);
    memcpy(vm->ram, img, n);
    cfg.is_read_only = opts & OPT_RO;
    cfg.cache_type = opts & OPT_UNSAFE ? CACHE_UNSAFE : CACHE_WRITEBACK;
    cfg.completion_coalesce_us = opts & OPT_COALESCE ? 1 : 0;
    d = disk_create(vm, opts, sectors * 512);
    if (!d)
        return;
    if (virtio_blk_create_backend(&vm->env, &cfg, &d->be, BASE, IRQ, &blk) < 0)
        return; /* the device destroyed (d) */
    blk_start(&r);
    for (int i = 0; i < NOPS; i++)
        blk_op(&r, ops[i]);
    blk_op(&r, 0);
    virtio_blk_destroy(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct fake_env *vm = fake_env_create(RAM_BASE, RAM_SIZE);

    if (!vm)
        return 0;
    blk_fuzz(vm, &f);
    fake_env_destroy(vm);
    return 0;
}
