/* fuzz_rng.c - libFuzzer harness for virtio-rng (devices/virtio/rng.c over
 * virtio-mmio and the queue walker).
 *
 * The input: options, the features the driver accepts, the queue, a script
 * of driver actions (kicks, new avail entries, resets, kicks of a queue
 * that does not exist, config-space accesses) and the contents of guest
 * RAM.
 *
 * Checked beyond the sanitizers: one event-loop pass never hands out more
 * than two budgets of entropy (the guest kick and the device's own
 * resumption, VIRTIO_RNG_BUDGET chains of at most VIRTIO_RNG_MAX_REQ bytes
 * each), config space (it has none) reads as zeros, and every byte handed
 * out lies in guest RAM (the sanitizers: RAM is a heap buffer). */
#include <string.h>

#include "fuzz_common.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x10000ULL
#define BASE 0xd0000000ULL
#define IRQ 5
#define NOPS 16

struct rng_run {
    struct fake_env *vm;
    struct virtio_rng *rng;
    struct fuzz_queue q;
    uint64_t features;
    int raw;
};

static void rng_start(struct rng_run *r)
{
    (void)fuzz_mmio_start(r->vm, BASE, r->features, r->raw, &r->q, 1);
}

/* Config space is empty: any access there reads zeros, at any width. */
static void rng_config(struct rng_run *r, uint8_t arg)
{
    static const uint32_t width[4] = {1, 2, 4, 8};
    uint8_t v[8];
    uint32_t w = width[arg & 3];

    memset(v, 0xa5, sizeof(v));
    bus_access(&r->vm->mmio, BASE + VIRTIO_MMIO_CONFIG + (arg >> 2), v, w,
               false);
    for (uint32_t i = 0; i < w; i++)
        FUZZ_CHECK(v[i] == 0);
    bus_access(&r->vm->mmio, BASE + VIRTIO_MMIO_CONFIG + (arg >> 2), v, w,
               true);
}

/* One pass of the loop: the guest's kick and the device's resumption. */
static void rng_pass(struct rng_run *r)
{
    uint64_t before = virtio_rng_bytes(r->rng);

    fuzz_loop_run(r->vm->loop, 1);
    FUZZ_CHECK(virtio_rng_bytes(r->rng) - before <=
               2ULL * VIRTIO_RNG_BUDGET * VIRTIO_RNG_MAX_REQ);
}

static void rng_op(struct rng_run *r, uint8_t op)
{
    uint8_t arg = op >> 3;

    switch (op & 7) {
    case 0:
    case 1:
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        break;
    case 2:
        fuzz_bump_avail(r->vm, r->q.avail, arg);
        break;
    case 3: /* reset, maybe with chains half-served */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_STATUS, 0);
        if (arg & 1)
            rng_start(r);
        break;
    case 4: /* queues that do not exist */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1U + arg);
        break;
    case 5:
        rng_config(r, arg);
        break;
    case 6:
        fuzz_mmio_write(
            r->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
            fuzz_mmio_read(r->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS));
        break;
    default:
        rng_start(r);
    }
    for (int i = 0; i < 4; i++)
        rng_pass(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct rng_run r = {.vm = fake_env_create(RAM_BASE, RAM_SIZE)};
    uint8_t ops[NOPS];
    const uint8_t *img;
    size_t n;

    if (!r.vm)
        return 0;
    r.raw = fz_u8(&f) & 1;
    r.features = fz_u64(&f);
    fuzz_queue_from_input(&f, &r.q, RAM_BASE, RAM_SIZE, VIRTIO_RNG_QUEUE_SIZE);
    for (int i = 0; i < NOPS; i++)
        ops[i] = fz_u8(&f);
    n = fz_take(&f, RAM_SIZE, &img);
    memcpy(r.vm->ram, img, n);
    if (virtio_rng_create(&r.vm->env, BASE, IRQ, &r.rng) == 0) {
        rng_start(&r);
        for (int i = 0; i < NOPS; i++)
            rng_op(&r, ops[i]);
        virtio_rng_destroy(r.rng);
    }
    fake_env_destroy(r.vm);
    return 0;
}
