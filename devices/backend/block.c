/* block.c - raw image files: Sync (preadv/pwritev) and Async (libaio,
 * O_DIRECT) engines, OFD locking, fallocate for discard/write-zeroes. */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/falloc.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/backend/block.h"

#define SECTOR 512
#define ZERO_CHUNK 4096
#define ZERO_IOV 16 /* one pwritev writes up to 64 KiB of zeros */

struct file_backend {
    struct block_backend be;
    const struct logger *log;
    char *path; /* for messages and the O_DIRECT open */
    int fd;     /* buffered, holds the OFD lock */
    int dfd;    /* O_DIRECT, or -1 */
    uint32_t dio_align;
    bool no_zero_range; /* FALLOC_FL_ZERO_RANGE said EOPNOTSUPP */
    unsigned int max_inflight;
    io_context_t ctx;
    struct iocb *iocbs;    /* [max_inflight], by slot */
    struct iocb **pending; /* queued by submit, sent by unplug */
    struct io_event *events;
    unsigned int npending, inflight;
    uint8_t *zero; /* ZERO_CHUNK zero bytes */
};

static struct file_backend *to_fb(struct block_backend *be)
{
    return (struct file_backend *)be;
}

/* Finishes a transfer that preadv/pwritev left short, one segment at a
 * time from byte (done) on. */
static int rw_rest(int fd, const struct block_io *io, uint64_t done)
{
    uint64_t pos = 0;

    for (unsigned int i = 0; i < io->niov; i++) {
        uint8_t *base = io->iov[i].iov_base;
        uint64_t len = io->iov[i].iov_len, skip;

        skip = done > pos ? (done - pos < len ? done - pos : len) : 0;
        for (uint64_t off = skip; off < len;) {
            ssize_t n =
                io->op == BLOCK_READ
                    ? pread(fd, base + off, len - off, io->offset + pos + off)
                    : pwrite(fd, base + off, len - off, io->offset + pos + off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EIO; /* EOF: file shrank */
            off += n;
        }
        pos += len;
    }
    return 0;
}

static int rw_sync(int fd, const struct block_io *io)
{
    ssize_t n;

    do {
        n = io->op == BLOCK_READ ? preadv(fd, io->iov, io->niov, io->offset)
                                 : pwritev(fd, io->iov, io->niov, io->offset);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (uint64_t)n == io->len ? 0 : rw_rest(fd, io, n);
}

static int write_zeroes_slow(struct file_backend *fb, uint64_t off,
                             uint64_t len)
{
    struct iovec iov[ZERO_IOV];

    for (int i = 0; i < ZERO_IOV; i++)
        iov[i] = (struct iovec){fb->zero, ZERO_CHUNK};
    while (len) {
        uint64_t chunk =
            len < ZERO_CHUNK * ZERO_IOV ? len : ZERO_CHUNK * ZERO_IOV;
        struct block_io io = {.op = BLOCK_WRITE,
                              .offset = off,
                              .len = chunk,
                              .iov = iov,
                              .niov = ZERO_IOV};
        unsigned int full = chunk / ZERO_CHUNK;
        int ret;

        /* The last iovec carries the remainder (chunk % ZERO_CHUNK). */
        io.niov = full + (chunk % ZERO_CHUNK ? 1 : 0);
        if (chunk % ZERO_CHUNK)
            iov[full].iov_len = chunk % ZERO_CHUNK;
        ret = rw_sync(fb->fd, &io);
        if (ret < 0)
            return ret;
        off += chunk;
        len -= chunk;
    }
    return 0;
}

static int write_zeroes(struct file_backend *fb, const struct block_io *io)
{
    int mode = FALLOC_FL_KEEP_SIZE;

    if (io->unmap && fb->be.can_discard)
        mode |= FALLOC_FL_PUNCH_HOLE; /* reads back as zeros too */
    else if (!fb->no_zero_range)
        mode |= FALLOC_FL_ZERO_RANGE;
    else
        return write_zeroes_slow(fb, io->offset, io->len);
    if (fallocate(fb->fd, mode, io->offset, io->len) == 0)
        return 0;
    if (errno != EOPNOTSUPP)
        return -errno;
    if (mode & FALLOC_FL_ZERO_RANGE)
        fb->no_zero_range = true; /* e.g. tmpfs, btrfs: remember */
    return write_zeroes_slow(fb, io->offset, io->len);
}

/* Runs (io) to completion on the calling thread. */
static int exec_sync(struct file_backend *fb, const struct block_io *io)
{
    switch (io->op) {
    case BLOCK_READ:
    case BLOCK_WRITE:
        return rw_sync(fb->fd, io);
    case BLOCK_FLUSH:
        return fdatasync(fb->fd) < 0 ? -errno : 0;
    case BLOCK_DISCARD:
        if (fallocate(fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      io->offset, io->len) < 0)
            return -errno;
        return 0;
    case BLOCK_WRITE_ZEROES:
        return write_zeroes(fb, io);
    }
    return -EOPNOTSUPP;
}

static int sync_submit(struct block_backend *be, struct block_io *io)
{
    struct file_backend *fb = to_fb(be);

    if (io->op != BLOCK_READ && be->read_only)
        return -EROFS;
    be->complete(be->opaque, io, exec_sync(fb, io));
    return 0;
}

static void nop(struct block_backend *be)
{
    (void)be;
}

/* O_DIRECT needs buffers, lengths and the offset aligned (open(2)). */
static bool dio_aligned(const struct file_backend *fb,
                        const struct block_io *io)
{
    uint64_t mask = fb->dio_align - 1;

    if (io->offset & mask)
        return false;
    for (unsigned int i = 0; i < io->niov; i++)
        if (((uintptr_t)io->iov[i].iov_base | io->iov[i].iov_len) & mask)
            return false;
    return true;
}

static int aio_submit(struct block_backend *be, struct block_io *io)
{
    struct file_backend *fb = to_fb(be);
    struct iocb *cb;

    if (io->op != BLOCK_READ && be->read_only)
        return -EROFS;
    if (io->slot >= fb->max_inflight)
        return -EINVAL;
    /* Hostile or unusual alignment: the buffered fd, right here. */
    if ((io->op != BLOCK_READ && io->op != BLOCK_WRITE) || fb->dfd < 0 ||
        !dio_aligned(fb, io))
        return sync_submit(be, io);
    cb = &fb->iocbs[io->slot];
    if (io->op == BLOCK_READ)
        io_prep_preadv(cb, fb->dfd, io->iov, io->niov, io->offset);
    else
        io_prep_pwritev(cb, fb->dfd, io->iov, io->niov, io->offset);
    cb->data = io;
    io_set_eventfd(cb, be->event_fd);
    fb->pending[fb->npending++] = cb;
    return 0;
}

static void aio_collect(struct file_backend *fb, long min_nr);

/* Completions that are already there (a RAM disk or the page cache often
 * finishes an O_DIRECT request inside io_submit): handled now, which saves
 * the event loop a wake-up and an interrupt later.  The eventfd is cleared
 * after a first harvest and the ring looked at once more, so a completion
 * that arrives in between is either taken here or signalled again. */
static void aio_collect_ready(struct file_backend *fb)
{
    unsigned int before = fb->inflight;
    uint64_t count;

    aio_collect(fb, 0);
    if (fb->inflight == before)
        return;
    if (read(fb->be.event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return;
    aio_collect(fb, 0);
}

static void aio_unplug(struct block_backend *be)
{
    struct file_backend *fb = to_fb(be);
    unsigned int done = 0;
    bool submitted = fb->npending > 0;

    while (done < fb->npending) {
        int n = io_submit(fb->ctx, fb->npending - done, fb->pending + done);

        if (n == -EINTR)
            continue;
        if (n <= 0) {
            /* Never expected (the context has a slot per request): fail
             * what is left rather than retry forever. */
            struct block_io *io = fb->pending[done++]->data;

            be->complete(be->opaque, io, n < 0 ? n : -EIO);
            continue;
        }
        fb->inflight += n;
        done += n;
    }
    fb->npending = 0;
    if (submitted && fb->inflight)
        aio_collect_ready(fb);
}

static void aio_finish(struct file_backend *fb, const struct io_event *ev)
{
    struct block_io *io = ev->data;
    long res = (long)ev->res;
    int ret = 0;

    fb->inflight--;
    if (res == -EINVAL) {
        /* The O_DIRECT alignment guess was wrong for this file: stop
         * using it and redo the request buffered. */
        log_msg(fb->log, VMRUN_LOG_WARN,
                "'%s': O_DIRECT refused a request, using buffered I/O",
                fb->path);
        close(fb->dfd);
        fb->dfd = -1;
        fb->be.direct = false;
        ret = exec_sync(fb, io);
    } else if (res < 0) {
        ret = res;
    } else if ((uint64_t)res != io->len) {
        ret = rw_rest(fb->fd, io, res);
    }
    fb->be.complete(fb->be.opaque, io, ret);
}

static void aio_collect(struct file_backend *fb, long min_nr)
{
    struct timespec zero = {0, 0};
    int n;

    do {
        n = io_getevents(fb->ctx, min_nr, fb->max_inflight, fb->events,
                         min_nr ? NULL : &zero);
        for (int i = 0; i < n; i++)
            aio_finish(fb, &fb->events[i]);
    } while (n > 0 && !min_nr);
}

static void aio_reap(struct block_backend *be)
{
    struct file_backend *fb = to_fb(be);
    uint64_t count;

    if (read(be->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return;
    aio_collect(fb, 0);
}

static void aio_drain(struct block_backend *be)
{
    struct file_backend *fb = to_fb(be);

    aio_unplug(be);
    while (fb->inflight)
        aio_collect(fb, 1);
}

static void file_destroy(struct block_backend *be)
{
    struct file_backend *fb = to_fb(be);

    if (fb->ctx) {
        aio_drain(be);
        io_destroy(fb->ctx);
    }
    if (be->event_fd >= 0)
        close(be->event_fd);
    if (fb->dfd >= 0)
        close(fb->dfd);
    if (fb->fd >= 0)
        close(fb->fd); /* drops the OFD lock */
    free(fb->iocbs);
    free(fb->pending);
    free(fb->events);
    free(fb->zero);
    free(fb->path);
    free(fb);
}

static const struct block_backend_ops sync_ops = {
    .submit = sync_submit,
    .unplug = nop,
    .reap = nop,
    .drain = nop,
    .destroy = file_destroy,
};

static const struct block_backend_ops aio_ops = {
    .submit = aio_submit,
    .unplug = aio_unplug,
    .reap = aio_reap,
    .drain = aio_drain,
    .destroy = file_destroy,
};

/* Shared lock for read-only drives, exclusive otherwise, on the whole
 * file.  OFD locks belong to this open file, not the process, so a second
 * drive on the same image in this vmrun conflicts too. */
static int file_lock(struct file_backend *fb, bool ro)
{
    struct flock fl = {.l_type = ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};

    if (fcntl(fb->fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

/* Size and capabilities; a punch-hole past the end changes nothing but
 * tells whether the file system supports it. */
/* The image must be a regular file or a block device; then the fd is made
 * blocking again (the engines expect blocking reads and writes). */
static int file_check_type(struct file_backend *fb)
{
    struct stat st;
    int fl;

    if (fstat(fb->fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        log_msg(fb->log, VMRUN_LOG_ERROR,
                "'%s' is not a regular file or block device", fb->path);
        return -EINVAL;
    }
    fl = fcntl(fb->fd, F_GETFL);
    if (fl < 0 || fcntl(fb->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static int file_probe(struct file_backend *fb)
{
    off_t end = lseek(fb->fd, 0, SEEK_END);

    if (end < 0)
        return -errno;
    if (end % SECTOR)
        log_msg(fb->log, VMRUN_LOG_WARN,
                "'%s': size %lld is not a multiple of 512; the last %lld "
                "bytes are not visible to the guest",
                fb->path, (long long)end, (long long)(end % SECTOR));
    fb->be.size = end - end % SECTOR;
    if (!fb->be.read_only)
        fb->be.can_discard =
            fallocate(fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      end + SECTOR, SECTOR) == 0;
    return 0;
}

static uint32_t dio_alignment(int fd)
{
    struct statx stx;

    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align)
        return stx.stx_dio_offset_align > stx.stx_dio_mem_align
                   ? stx.stx_dio_offset_align
                   : stx.stx_dio_mem_align;
    return SECTOR; /* a wrong guess is caught by EINVAL in aio_finish */
}

/* A second descriptor of the image with O_DIRECT, for the Async engine.
 * It must be the file fb->fd checked and locked, not whatever the path
 * names now: it is reopened through /proc/self/fd/N (no path lookup), and
 * its device and inode are compared with fb->fd's either way.  -1 with
 * (*err) 0 when O_DIRECT is not supported (the engine stays buffered),
 * or with (*err) -ESTALE when the file differs. */
static int dio_reopen(struct file_backend *fb, int flags, int *err)
{
    struct stat a, b;
    char self[40];
    int fd;

    *err = 0;
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fb->fd);
    fd = open(self, flags | O_DIRECT);
    if (fd < 0 && errno == ENOENT) /* no /proc: by path, then compared */
        fd = open(fb->path, flags | O_DIRECT | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fb->fd, &a) < 0 || fstat(fd, &b) < 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        log_msg(fb->log, VMRUN_LOG_ERROR,
                "'%s' was replaced while vmrun opened it; not using it",
                fb->path);
        close(fd);
        *err = -ESTALE;
        return -1;
    }
    if ((flags = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        *err = -errno;
        close(fd);
        return -1;
    }
    return fd;
}

static int aio_setup(struct file_backend *fb, int flags)
{
    unsigned int n = fb->max_inflight;
    int ret;

    fb->iocbs = calloc(n, sizeof(*fb->iocbs));
    fb->pending = calloc(n, sizeof(*fb->pending));
    fb->events = calloc(n, sizeof(*fb->events));
    if (!fb->iocbs || !fb->pending || !fb->events)
        return -ENOMEM;
    ret = io_setup(n, &fb->ctx);
    if (ret < 0)
        return ret;
    fb->be.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fb->be.event_fd < 0)
        return -errno;
    fb->dfd = dio_reopen(fb, flags, &ret);
    if (ret < 0)
        return ret;
    if (fb->dfd >= 0) {
        fb->dio_align = dio_alignment(fb->dfd);
        fb->be.direct = true;
    }
    fb->be.ops = &aio_ops;
    return 0;
}

static int file_open(struct file_backend *fb, const struct drive_config *cfg)
{
    int flags = (cfg->is_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    int ret;

    /* O_NONBLOCK only for the open: a FIFO put at the path since the
     * config was read would block it until a writer came. */
    fb->fd = open(fb->path, flags | O_NONBLOCK);
    if (fb->fd < 0)
        return -errno;
    ret = file_check_type(fb);
    if (ret < 0)
        return ret;
    ret = file_lock(fb, cfg->is_read_only);
    if (ret < 0)
        return ret;
    ret = file_probe(fb);
    if (ret < 0)
        return ret;
    fb->zero = calloc(1, ZERO_CHUNK);
    if (!fb->zero)
        return -ENOMEM;
    if (cfg->io_engine == IO_ENGINE_ASYNC)
        return aio_setup(fb, flags);
    return 0;
}

int block_open(const struct drive_config *cfg, const struct logger *log,
               unsigned int max_inflight, struct block_backend **out)
{
    struct file_backend *fb = calloc(1, sizeof(*fb));
    int ret;

    if (!fb)
        return -ENOMEM;
    fb->be = (struct block_backend){
        .ops = &sync_ops, .read_only = cfg->is_read_only, .event_fd = -1};
    fb->log = log;
    fb->fd = fb->dfd = -1;
    fb->max_inflight = max_inflight;
    fb->path = strdup(cfg->path_on_host);
    ret = fb->path ? file_open(fb, cfg) : -ENOMEM;
    if (ret < 0) {
        file_destroy(&fb->be);
        return ret;
    }
    *out = &fb->be;
    return 0;
}
