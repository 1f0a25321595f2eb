/* rng.c - virtio-rng: guest buffers filled from getrandom(). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define RNG_MAX_IOV 16

struct virtio_rng {
    const struct dev_env *env;
    struct virtio_mmio *t;

    pthread_mutex_t lock; /* below; taken after the transport's */
    bool active;          /* between activate and reset */
    uint64_t bytes;       /* handed out since creation */
    struct log_ratelimit rl;
    struct iovec iov[RNG_MAX_IOV];
};

/* Fills up to (len) bytes of (buf); returns the count, 0 on failure. */
static size_t rng_fill(struct virtio_rng *rng, void *buf, size_t len)
{
    ssize_t n;

    /* Flags 0: blocks only until the host pool is initialised (early
     * host boot); at most 256 bytes are guaranteed per call, so loop. */
    do
        n = getrandom(buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (log_ratelimit_ok(&rng->rl, 4))
            dev_log(rng->env, VMRUN_LOG_WARN, "virtio-rng: getrandom: %s",
                    strerror(errno));
        return 0;
    }
    return (size_t)n;
}

/* Fills the writable segments of one chain, up to VIRTIO_RNG_MAX_REQ. */
static uint32_t rng_fill_chain(struct virtio_rng *rng,
                               const struct virtq_elem *e)
{
    size_t done = 0;

    for (unsigned int i = e->nr_rd; i < e->nr_rd + e->nr_wr; i++) {
        uint8_t *p = rng->iov[i].iov_base;
        size_t len = rng->iov[i].iov_len, off = 0;

        if (len > VIRTIO_RNG_MAX_REQ - done)
            len = VIRTIO_RNG_MAX_REQ - done;
        while (off < len) {
            size_t n = rng_fill(rng, p + off, len - off);

            if (!n)
                return (uint32_t)(done + off);
            off += n;
        }
        done += len;
        if (done == VIRTIO_RNG_MAX_REQ)
            break;
    }
    return (uint32_t)done;
}

/* Serves the chains available, at most VIRTIO_RNG_BUDGET per call (each
 * chain or empty re-check of the ring counts): a guest that keeps the ring
 * full from another vCPU gets the rest on a later event-loop turn. */
static void rng_process(struct virtio_rng *rng)
{
    struct virtq *vq = virtio_mmio_queue(rng->t, 0);
    unsigned int budget = VIRTIO_RNG_BUDGET;
    struct virtq_elem e;
    uint32_t len;
    int ret;

    for (;;) {
        virtq_disable_notify(vq);
        while (budget && (ret = virtq_pop(vq, &e, rng->iov, RNG_MAX_IOV))) {
            if (ret == -EPROTO) {
                virtio_mmio_set_needs_reset(rng->t);
                goto out;
            }
            len = ret == -E2BIG ? 0 : rng_fill_chain(rng, &e);
            rng->bytes += len;
            virtq_push(vq, e.head, len);
            budget--;
        }
        if (!budget) {
            virtio_mmio_notify_again(rng->t, 0); /* notifications stay off */
            break;
        }
        if (!virtq_enable_notify(vq))
            break;
        budget--;
    }
out:
    if (virtq_should_notify(vq))
        virtio_mmio_signal_used(rng->t);
}

static void rng_queue_notify(void *dev, uint16_t q)
{
    struct virtio_rng *rng = dev;

    pthread_mutex_lock(&rng->lock);
    if (rng->active && q == 0)
        rng_process(rng);
    pthread_mutex_unlock(&rng->lock);
}

static uint64_t rng_features(void *dev)
{
    (void)dev;
    return 0; /* §5.4.3: none */
}

static void rng_config_read(void *dev, uint32_t off, uint8_t *data,
                            uint32_t size)
{
    (void)dev, (void)off, (void)data, (void)size; /* config_len is 0 */
}

static int rng_activate(void *dev, uint64_t features)
{
    struct virtio_rng *rng = dev;

    (void)features;
    pthread_mutex_lock(&rng->lock);
    rng->active = true;
    pthread_mutex_unlock(&rng->lock);
    return 0;
}

static void rng_reset(void *dev)
{
    struct virtio_rng *rng = dev;

    pthread_mutex_lock(&rng->lock);
    rng->active = false;
    pthread_mutex_unlock(&rng->lock);
}

static const struct virtio_device_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_SIZE,
    .config_len = 0,
    .features = rng_features,
    .config_read = rng_config_read,
    .config_write = NULL,
    .activate = rng_activate,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
};

int virtio_rng_create(const struct dev_env *env, gpa_t base, uint32_t irq,
                      struct virtio_rng **out)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    int ret;

    if (!rng)
        return -ENOMEM;
    rng->env = env;
    pthread_mutex_init(&rng->lock, NULL);
    ret = virtio_mmio_create(env, base, irq, &rng_ops, rng, &rng->t);
    if (ret < 0) {
        pthread_mutex_destroy(&rng->lock);
        free(rng);
        return ret;
    }
    *out = rng;
    return 0;
}

uint64_t virtio_rng_bytes(struct virtio_rng *rng)
{
    uint64_t n;

    pthread_mutex_lock(&rng->lock);
    n = rng->bytes;
    pthread_mutex_unlock(&rng->lock);
    return n;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
    if (!rng)
        return;
    virtio_mmio_destroy(rng->t);
    pthread_mutex_destroy(&rng->lock);
    free(rng);
}

/* ---- snapshots ---- */

static int rng_ops_save(void *dev, struct snap_buf *b)
{
    struct virtio_rng *rng = dev;

    return virtio_mmio_save(rng->t, b);
}

static int rng_ops_load(void *dev, struct snap_rd *r)
{
    struct virtio_rng *rng = dev;

    return virtio_mmio_load(rng->t, r);
}

/* ---- the VM's view: device_ops ---- */

static void rng_ops_destroy(void *dev)
{
    virtio_rng_destroy(dev);
}

const struct device_ops virtio_rng_device_ops = {
    .name = "virtio-rng",
    .save = rng_ops_save,
    .load = rng_ops_load,
    .destroy = rng_ops_destroy,
};
