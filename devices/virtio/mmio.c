/* mmio.c - virtio-mmio v2 transport: registers, negotiation, kicks, IRQs. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

struct mmio_queue {
    struct virtq vq; /* written here only while DRIVER_OK is clear */
    atomic_bool ready;
    int kick_fd; /* ioeventfd for QueueNotify == index */
    struct event_source src;
    struct virtio_mmio *t;
    uint16_t index;
};

struct virtio_mmio {
    const struct dev_env *env;
    gpa_t base;
    uint32_t irq;
    const struct virtio_device_ops *ops;
    void *dev;
    uint64_t offered; /* device + transport feature bits */

    pthread_mutex_t lock; /* register state below, vCPU threads */
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint64_t driver_features;
    atomic_uint status; /* without NEEDS_RESET, which is kept apart */
    atomic_bool needs_reset;
    atomic_uint isr;
    atomic_uint config_gen;
    int irq_fd;
    bool irq_bound;
    /* The coalesced-ISR guard (virtio_mmio_signal_used_coalesced()): how
     * often the driver cleared the used-buffer bit (acknowledgement or
     * reset), and a periodic timerfd on the event loop that compares it
     * between ticks.  guard_acks and guard_seen are the timer's own: the
     * count, and whether the bit was set, at its last tick. */
    atomic_uint isr_acks;
    struct event_source guard;
    atomic_bool guard_armed;
    unsigned int guard_acks;
    bool guard_seen;
    struct log_ratelimit rl;
    struct mmio_queue q[VIRTIO_MMIO_MAX_QUEUES];
};

static void eventfd_signal(int fd)
{
    uint64_t one = 1;

    /* Only fails when the counter would overflow, i.e. already pending. */
    if (write(fd, &one, sizeof(one)) < 0)
        return;
}

void virtio_mmio_signal_used(struct virtio_mmio *t)
{
    atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_VRING);
    eventfd_signal(t->irq_fd);
}

/* The guard's timer ticks every (ns) from now; 0 stops it. */
static void mmio_guard_set(struct virtio_mmio *t, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    struct itimerspec its = {.it_interval = ts, .it_value = ts};

    /* Cannot fail on a valid timerfd and time. */
    (void)timerfd_settime(t->guard.fd, 0, &its, NULL);
}

/* Starts the guard's timer unless it runs: once per burst of interrupts,
 * not once per interrupt (it runs on while the driver acknowledges). */
static void mmio_guard_arm(struct virtio_mmio *t)
{
    if (t->guard.fd >= 0 && !atomic_exchange(&t->guard_armed, true))
        mmio_guard_set(t, VIRTIO_MMIO_ISR_GUARD_NS);
}

/* The guard's timer, on the event-loop thread.  The used-buffer bit set
 * at this tick and the last, with no acknowledgement between, has waited
 * at least one period: signal it again.  A tick that finds the bit clear
 * and nothing acknowledged since the last one stops the timer. */
static void mmio_guard_fire(void *opaque, uint32_t events)
{
    struct virtio_mmio *t = opaque;
    unsigned int acks = atomic_load(&t->isr_acks);
    bool set = atomic_load(&t->isr) & VIRTIO_MMIO_INT_VRING;
    bool idle = !set && acks == t->guard_acks;
    uint64_t n;

    if (read(t->guard.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    if (set && t->guard_seen && acks == t->guard_acks) {
        if (log_ratelimit_ok(&t->rl, 8))
            dev_log(t->env, VMRUN_LOG_DEBUG,
                    "virtio-mmio@0x%llx: used-buffer interrupt not "
                    "acknowledged for %llu ms: signalling it again",
                    (unsigned long long)t->base,
                    VIRTIO_MMIO_ISR_GUARD_NS / 1000000u);
        eventfd_signal(t->irq_fd);
    }
    t->guard_acks = acks;
    t->guard_seen = set;
    if (!idle)
        return;
    /* Stop, then look again: a 0->1 that saw the timer still running did
     * not start it.  Stopped before guard_armed clears, so a start from
     * another thread after the clear is not undone here. */
    mmio_guard_set(t, 0);
    atomic_store(&t->guard_armed, false);
    if (atomic_load(&t->isr) & VIRTIO_MMIO_INT_VRING)
        mmio_guard_arm(t);
}

void virtio_mmio_signal_used_coalesced(struct virtio_mmio *t)
{
    /* The fetch_or orders after the caller's used->idx store (release);
     * the driver's acknowledgement (mmio_write) clears the bit with an
     * atomic RMW on the same word after it, so the driver's ring reads
     * that follow its acknowledgement see our buffers (mmio_write runs
     * before the vCPU re-enters the guest).
     *
     * Signalling only on 0->1 leaves one lost edge (the guest had the pin
     * masked, an emulated CPU dropped it) a stall for good: the bit stays
     * set and no interrupt comes again.  So the guard's timer signals a
     * bit that stayed set for a whole period without an acknowledgement
     * again (mmio_guard_fire); this path only starts the timer.  A
     * spurious interrupt is harmless: the driver reads InterruptStatus
     * first (Linux's vm_interrupt()). */
    if (atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_VRING) & VIRTIO_MMIO_INT_VRING)
        return;
    eventfd_signal(t->irq_fd);
    mmio_guard_arm(t);
}

void virtio_mmio_signal_config(struct virtio_mmio *t)
{
    atomic_fetch_add(&t->config_gen, 1);
    atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_CONFIG);
    eventfd_signal(t->irq_fd);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t)
{
    if (atomic_exchange(&t->needs_reset, true))
        return;
    /* Rate-limited: a guest can break and reset its queues in a loop. */
    if (log_ratelimit_ok(&t->rl, 8))
        dev_log(t->env, VMRUN_LOG_WARN,
                "virtio-mmio@0x%llx: malformed queue, device needs reset",
                (unsigned long long)t->base);
    /* §2.1.2: with DRIVER_OK, tell the driver by a config change. */
    if (atomic_load(&t->status) & VIRTIO_STATUS_DRIVER_OK) {
        atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_CONFIG);
        eventfd_signal(t->irq_fd);
    }
}

void virtio_mmio_notify_again(struct virtio_mmio *t, uint16_t q)
{
    if (q < t->ops->num_queues)
        eventfd_signal(t->q[q].kick_fd);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t q)
{
    return q < t->ops->num_queues ? &t->q[q].vq : NULL;
}

uint32_t virtio_mmio_irq(const struct virtio_mmio *t)
{
    return t->irq;
}

/* A kick on the event-loop thread.  The status test is only a filter: a
 * reset may follow it at once, so the device re-checks under its lock. */
static void mmio_kick(void *opaque, uint32_t events)
{
    struct mmio_queue *mq = opaque;
    struct virtio_mmio *t = mq->t;
    uint64_t n;

    if (read(mq->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    if ((atomic_load(&t->status) & VIRTIO_STATUS_DRIVER_OK) &&
        !atomic_load(&t->needs_reset) && atomic_load(&mq->ready))
        t->ops->queue_notify(t->dev, mq->index);
}

/* Status 0 (§2.4, §4.2.3.1): the device first stops, then we forget. */
static void mmio_reset(struct virtio_mmio *t)
{
    atomic_store(&t->status, 0);
    t->ops->reset(t->dev);
    for (unsigned int i = 0; i < t->ops->num_queues; i++) {
        atomic_store(&t->q[i].ready, false);
        virtq_reset(&t->q[i].vq);
        t->q[i].vq.size = t->ops->queue_max;
    }
    t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
    t->driver_features = 0;
    atomic_store(&t->needs_reset, false);
    atomic_store(&t->isr, 0);
    atomic_fetch_add(&t->isr_acks, 1);
}

/* §2.2.2: accept only offered bits, and require VERSION_1 (no legacy). */
static bool mmio_features_ok(const struct virtio_mmio *t)
{
    if (t->driver_features & ~t->offered)
        return false;
    return t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

static void mmio_driver_ok(struct virtio_mmio *t, uint32_t status)
{
    if (t->ops->activate(t->dev, t->driver_features) < 0) {
        atomic_store(&t->status, status & ~VIRTIO_STATUS_DRIVER_OK);
        virtio_mmio_set_needs_reset(t);
        return;
    }
    atomic_store(&t->status, status);
    /* Buffers made available before DRIVER_OK got no kick we acted on. */
    for (unsigned int i = 0; i < t->ops->num_queues; i++)
        if (atomic_load(&t->q[i].ready))
            eventfd_signal(t->q[i].kick_fd);
}

static void mmio_status_write(struct virtio_mmio *t, uint32_t v)
{
    uint32_t old = atomic_load(&t->status);

    if (v == 0) {
        mmio_reset(t);
        return;
    }
    /* The driver never clears bits (§2.1.2); NEEDS_RESET is ours. */
    v = (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET) | old;
    if ((v & ~old & VIRTIO_STATUS_FEATURES_OK) && !mmio_features_ok(t))
        v &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back */
    if (v & ~old & VIRTIO_STATUS_DRIVER_OK) {
        if (v & VIRTIO_STATUS_FEATURES_OK) {
            mmio_driver_ok(t, v);
            return;
        }
        v &= ~VIRTIO_STATUS_DRIVER_OK;
    }
    atomic_store(&t->status, v);
}

static void mmio_queue_ready(struct virtio_mmio *t, struct mmio_queue *mq,
                             uint32_t v)
{
    if (!v || atomic_load(&mq->ready))
        return; /* clearing ready needs VIRTIO_F_RING_RESET: not offered */
    mq->vq.event_idx = t->driver_features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
    mq->vq.indirect =
        t->driver_features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
    if (!(atomic_load(&t->status) & VIRTIO_STATUS_FEATURES_OK) ||
        virtq_enable(&mq->vq, t->env) < 0) {
        if (log_ratelimit_ok(&t->rl, 8))
            dev_log(t->env, VMRUN_LOG_WARN,
                    "virtio-mmio@0x%llx: queue %u: bad ring setup",
                    (unsigned long long)t->base, mq->index);
        virtio_mmio_set_needs_reset(t);
        return;
    }
    atomic_store(&mq->ready, true);
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
    if (high)
        *v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
    else
        *v = (*v & ~0xffffffffULL) | val;
}

/* Queue registers; only while the queue is not ready (§4.2.2.3). */
static void mmio_queue_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct mmio_queue *mq;

    if (t->queue_sel >= t->ops->num_queues)
        return;
    mq = &t->q[t->queue_sel];
    if (off == VIRTIO_MMIO_QUEUE_READY) {
        mmio_queue_ready(t, mq, v);
        return;
    }
    if (atomic_load(&mq->ready))
        return;
    if (off == VIRTIO_MMIO_QUEUE_NUM) {
        if (v && v <= t->ops->queue_max && !(v & (v - 1)))
            mq->vq.size = v;
        else if (log_ratelimit_ok(&t->rl, 8))
            dev_log(t->env, VMRUN_LOG_WARN,
                    "virtio-mmio@0x%llx: ignoring queue size %u",
                    (unsigned long long)t->base, v);
        return;
    }
    bool high = off & 4;
    switch (off & ~4ULL) {
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        set_half(&mq->vq.desc_gpa, high, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        set_half(&mq->vq.avail_gpa, high, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        set_half(&mq->vq.used_gpa, high, v);
        break;
    }
}

static void mmio_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    uint32_t status = atomic_load(&t->status);

    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        /* Fixed once FEATURES_OK is set (§3.1.1). */
        if (t->drv_features_sel < 2 && !(status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&t->driver_features, t->drv_features_sel, v);
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VIRTIO_MMIO_STATUS:
        mmio_status_write(t, v);
        break;
    default:
        if (!(status & VIRTIO_STATUS_DRIVER_OK))
            mmio_queue_write(t, off, v);
    }
}

static uint32_t mmio_queue_read(struct virtio_mmio *t, uint64_t off)
{
    struct mmio_queue *mq;

    if (t->queue_sel >= t->ops->num_queues)
        return 0; /* QueueNumMax 0: no such queue (§4.2.2) */
    mq = &t->q[t->queue_sel];
    switch (off) {
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return t->ops->queue_max;
    case VIRTIO_MMIO_QUEUE_READY:
        return atomic_load(&mq->ready);
    case VIRTIO_MMIO_QUEUE_NUM:
        return mq->vq.size;
    }
    return 0; /* the address registers are write-only */
}

static uint32_t mmio_reg_read(struct virtio_mmio *t, uint64_t off)
{
    switch (off) {
    case VIRTIO_MMIO_MAGIC:
        return 0x74726976; /* "virt" */
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return t->ops->device_id;
    case VIRTIO_MMIO_VENDOR:
        return VIRTIO_MMIO_VENDOR_ID;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return t->dev_features_sel < 2
                   ? (uint32_t)(t->offered >> (32 * t->dev_features_sel))
                   : 0;
    case VIRTIO_MMIO_STATUS:
        return atomic_load(&t->status) |
               (atomic_load(&t->needs_reset) ? VIRTIO_STATUS_NEEDS_RESET : 0);
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xffffffff; /* no shared memory regions */
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return atomic_load(&t->config_gen);
    }
    return mmio_queue_read(t, off);
}

/* Config space: out-of-range reads give zeros, writes are dropped. */
static bool config_in_range(const struct virtio_mmio *t, uint64_t off,
                            uint32_t size)
{
    return off >= VIRTIO_MMIO_CONFIG &&
           off - VIRTIO_MMIO_CONFIG + size <= t->ops->config_len;
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
    struct virtio_mmio *t = opaque;
    uint32_t v;

    memset(data, 0, size);
    if (off >= VIRTIO_MMIO_CONFIG) {
        if (config_in_range(t, off, size))
            t->ops->config_read(t->dev, off - VIRTIO_MMIO_CONFIG, data, size);
        return;
    }
    if (size != 4 || (off & 3))
        return; /* §4.2.2.2: registers are 32-bit aligned words */
    if (off == VIRTIO_MMIO_INTERRUPT_STATUS) {
        v = atomic_load(&t->isr); /* hot path: no lock */
    } else {
        pthread_mutex_lock(&t->lock);
        v = mmio_reg_read(t, off);
        pthread_mutex_unlock(&t->lock);
    }
    memcpy(data, &v, 4);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data,
                       uint32_t size)
{
    struct virtio_mmio *t = opaque;
    uint32_t v;

    if (off >= VIRTIO_MMIO_CONFIG) {
        if (config_in_range(t, off, size) && t->ops->config_write)
            t->ops->config_write(t->dev, off - VIRTIO_MMIO_CONFIG, data, size);
        return;
    }
    if (size != 4 || (off & 3))
        return;
    memcpy(&v, data, 4);
    if (off == VIRTIO_MMIO_INTERRUPT_ACK) {
        atomic_fetch_and(&t->isr, ~v);
        if (v & VIRTIO_MMIO_INT_VRING)
            atomic_fetch_add(&t->isr_acks, 1);
        if ((v & VIRTIO_MMIO_INT_VRING) && t->ops->used_irq_ack)
            t->ops->used_irq_ack(t->dev);
    } else if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
        /* No ioeventfd caught this write: go through the same path. */
        if (v < t->ops->num_queues)
            eventfd_signal(t->q[v].kick_fd);
    } else {
        pthread_mutex_lock(&t->lock);
        mmio_reg_write(t, off, v);
        pthread_mutex_unlock(&t->lock);
    }
}

static const struct bus_ops mmio_bus_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

static int mmio_queue_setup(struct virtio_mmio *t, uint16_t i)
{
    struct mmio_queue *mq = &t->q[i];
    int ret;

    mq->t = t;
    mq->index = i;
    mq->vq.size = t->ops->queue_max;
    mq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mq->kick_fd < 0)
        return -errno;
    ret = dev_ioeventfd(t->env, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true, i,
                        mq->kick_fd, true);
    if (ret < 0)
        return ret;
    mq->src = (struct event_source){mq->kick_fd, mmio_kick, mq};
    ret = event_loop_add(t->env->loop, &mq->src, EPOLLIN);
    if (ret < 0) {
        mq->src.fn = NULL;
        (void)!dev_ioeventfd(t->env, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                             true, i, mq->kick_fd, false);
    }
    return ret;
}

static void mmio_queue_teardown(struct virtio_mmio *t, uint16_t i)
{
    struct mmio_queue *mq = &t->q[i];

    if (mq->kick_fd < 0)
        return;
    if (mq->src.fn) {
        event_loop_del(t->env->loop, &mq->src);
        (void)!dev_ioeventfd(t->env, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                             true, i, mq->kick_fd, false);
    }
    close(mq->kick_fd);
}

static int mmio_guard_setup(struct virtio_mmio *t)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    int ret;

    if (fd < 0)
        return -errno;
    t->guard = (struct event_source){fd, mmio_guard_fire, t};
    ret = event_loop_add(t->env->loop, &t->guard, EPOLLIN);
    if (ret < 0) {
        close(fd);
        t->guard.fd = -1;
    }
    return ret;
}

static int mmio_setup(struct virtio_mmio *t)
{
    int ret;

    t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->irq_fd < 0)
        return -errno;
    ret = dev_irqfd(t->env, t->irq, t->irq_fd, true);
    if (ret < 0)
        return ret;
    t->irq_bound = true;
    ret = mmio_guard_setup(t);
    if (ret < 0)
        return ret;
    for (uint16_t i = 0; i < t->ops->num_queues; i++) {
        ret = mmio_queue_setup(t, i);
        if (ret < 0)
            return ret;
    }
    return bus_register(t->env->mmio, t->base, VIRTIO_MMIO_SIZE, &mmio_bus_ops,
                        t);
}

int virtio_mmio_create(const struct dev_env *env, gpa_t base, uint32_t irq,
                       const struct virtio_device_ops *ops, void *dev,
                       struct virtio_mmio **out)
{
    struct virtio_mmio *t;
    int ret;

    if (!ops->num_queues || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES ||
        !ops->queue_max || ops->queue_max > VIRTQ_SIZE_MAX ||
        (ops->queue_max & (ops->queue_max - 1)) ||
        ops->config_len > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
        return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    *t = (struct virtio_mmio){.env = env,
                              .base = base,
                              .irq = irq,
                              .ops = ops,
                              .dev = dev,
                              .irq_fd = -1,
                              .guard = {.fd = -1}};
    t->offered = ops->features(dev) | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                 VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
                 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
    pthread_mutex_init(&t->lock, NULL);
    for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        t->q[i].kick_fd = -1;
    ret = mmio_setup(t);
    if (ret < 0) {
        virtio_mmio_destroy(t);
        return ret;
    }
    *out = t;
    return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
    if (!t)
        return;
    for (uint16_t i = 0; i < t->ops->num_queues; i++)
        mmio_queue_teardown(t, i);
    if (t->guard.fd >= 0) {
        event_loop_del(t->env->loop, &t->guard);
        close(t->guard.fd);
    }
    if (t->irq_bound)
        (void)!dev_irqfd(t->env, t->irq, t->irq_fd, false);
    if (t->irq_fd >= 0)
        close(t->irq_fd);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* ---- snapshots ---- */

int virtio_mmio_save(struct virtio_mmio *t, struct snap_buf *b)
{
    pthread_mutex_lock(&t->lock);
    sb_put_u32(b, t->ops->device_id);
    sb_put_u64(b, t->offered);
    sb_put_u32(b, atomic_load(&t->status));
    sb_put_u8(b, atomic_load(&t->needs_reset));
    sb_put_u32(b, atomic_load(&t->isr));
    sb_put_u32(b, atomic_load(&t->config_gen));
    sb_put_u32(b, t->dev_features_sel);
    sb_put_u32(b, t->drv_features_sel);
    sb_put_u32(b, t->queue_sel);
    sb_put_u64(b, t->driver_features);
    sb_put_u16(b, t->ops->num_queues);
    for (unsigned int i = 0; i < t->ops->num_queues; i++) {
        struct virtq *vq = &t->q[i].vq;

        sb_put_u8(b, atomic_load(&t->q[i].ready));
        virtq_save(vq, b);
        /* Marks the used ring dirty for a Diff snapshot (see mmio.h). */
        if (vq->enabled)
            (void)dev_gpa_ptr(t->env, vq->used_gpa, 6 + 8 * (uint64_t)vq->size);
    }
    pthread_mutex_unlock(&t->lock);
    return b->err;
}

static int mmio_load_queues(struct virtio_mmio *t, struct snap_rd *r)
{
    for (unsigned int i = 0; i < t->ops->num_queues; i++) {
        struct mmio_queue *mq = &t->q[i];
        uint8_t ready = sr_u8(r);
        int ret = virtq_load(&mq->vq, t->env, r);

        if (ret < 0 || ready > 1 || (ready && !mq->vq.enabled) ||
            mq->vq.size > t->ops->queue_max ||
            (mq->vq.size & (mq->vq.size - 1)))
            return -EINVAL;
        atomic_store(&mq->ready, ready);
    }
    return 0;
}

static int mmio_load_regs(struct virtio_mmio *t, struct snap_rd *r)
{
    uint32_t id = sr_u32(r), status, isr;
    uint64_t offered = sr_u64(r);
    uint8_t needs_reset;

    status = sr_u32(r);
    needs_reset = sr_u8(r);
    isr = sr_u32(r);
    atomic_store(&t->config_gen, sr_u32(r));
    t->dev_features_sel = sr_u32(r);
    t->drv_features_sel = sr_u32(r);
    t->queue_sel = sr_u32(r);
    t->driver_features = sr_u64(r);
    if (r->err || id != t->ops->device_id || status > 0xff ||
        (status & VIRTIO_STATUS_NEEDS_RESET) || needs_reset > 1 || isr > 3 ||
        sr_u16(r) != t->ops->num_queues)
        return -EINVAL;
    /* The driver negotiated against the old offer: what it uses must
     * still be offered (a new host may lack e.g. discard). */
    if (t->driver_features & ~t->offered) {
        dev_log(t->env, VMRUN_LOG_ERROR,
                "virtio-mmio@0x%llx: the guest uses features 0x%llx this "
                "host's device does not offer (saved offer 0x%llx)",
                (unsigned long long)t->base,
                (unsigned long long)(t->driver_features & ~t->offered),
                (unsigned long long)offered);
        return -EINVAL;
    }
    atomic_store(&t->status, status);
    atomic_store(&t->needs_reset, needs_reset);
    atomic_store(&t->isr, isr);
    return 0;
}

int virtio_mmio_load(struct virtio_mmio *t, struct snap_rd *r)
{
    uint32_t status;
    int ret;

    pthread_mutex_lock(&t->lock);
    ret = mmio_load_regs(t, r);
    if (ret == 0)
        ret = mmio_load_queues(t, r);
    status = atomic_load(&t->status);
    if (ret == 0 && (status & VIRTIO_STATUS_DRIVER_OK) &&
        t->ops->activate(t->dev, t->driver_features) < 0)
        ret = -EIO;
    pthread_mutex_unlock(&t->lock);
    if (ret < 0)
        return ret;
    /* A spurious interrupt is harmless (the driver reads InterruptStatus);
     * a lost one would stall the guest's driver.  The guard watches the
     * used-buffer bit from now on, as for a fresh signal. */
    if (atomic_load(&t->isr)) {
        eventfd_signal(t->irq_fd);
        if (atomic_load(&t->isr) & VIRTIO_MMIO_INT_VRING)
            mmio_guard_arm(t);
    }
    if (status & VIRTIO_STATUS_DRIVER_OK)
        for (unsigned int i = 0; i < t->ops->num_queues; i++)
            if (atomic_load(&t->q[i].ready))
                eventfd_signal(t->q[i].kick_fd);
    return 0;
}
