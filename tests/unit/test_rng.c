/* test_rng.c - virtio-rng end to end: driver rings -> virtio-mmio ->
 * getrandom() into the guest's buffers, with hostile chains. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define BASE 0xd0100000ULL
#define IRQ 5

static struct fake_env *vm;
static struct tdrv drv;
static struct virtio_rng *rng;
static uint16_t next_desc;

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, 64);
    ck_assert_int_eq(virtio_rng_create(&vm->env, BASE, IRQ, &rng), 0);
    ck_assert_uint_eq(tdrv_mmio_start(&drv, BASE,
                                      VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                                          VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)),
                      15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    next_desc = 0;
}

static void teardown(void)
{
    event_loop_stop(vm->loop);
    virtio_rng_destroy(rng);
    fake_env_destroy(vm);
}

/* Sends chain (bufs), waits for it, returns the used length. */
static uint32_t send(const struct tbuf *bufs, unsigned int n)
{
    uint32_t id, len;
    uint16_t head = tdrv_chain(&drv, next_desc, bufs, n);

    next_desc = (uint16_t)((next_desc + n) % 32);
    tdrv_set_used_event(&drv, drv.avail_idx);
    tdrv_publish(&drv, head);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&drv, drv.avail_idx));
    ck_assert(tdrv_used(&drv, &id, &len));
    ck_assert_uint_eq(id, head);
    return len;
}

static gpa_t filled(uint32_t len, uint8_t v)
{
    gpa_t g = tdrv_alloc(&drv, len);

    memset(tdrv_ptr(&drv, g), v, len);
    return g;
}

static bool all(gpa_t g, uint32_t len, uint8_t v)
{
    const uint8_t *p = tdrv_ptr(&drv, g);

    for (uint32_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

START_TEST(test_identity)
{
    ck_assert_uint_eq(tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_ID),
                      VIRTIO_ID_RNG);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    /* No device-specific bits, only the transport's ring features. */
    ck_assert_uint_eq(tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES),
                      VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
                          VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
    ck_assert_uint_eq(tdrv_mmio_read(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX),
                      VIRTIO_RNG_QUEUE_SIZE);
}
END_TEST

START_TEST(test_fill)
{
    gpa_t a = filled(64, 0), b = filled(64, 0);
    struct tbuf ba = {a, 64, true}, bb = {b, 64, true};

    ck_assert_uint_eq(send(&ba, 1), 64);
    ck_assert_uint_eq(send(&bb, 1), 64);
    /* 512 random bits each: all-zero or equal only by a 2^-512 chance. */
    ck_assert(!all(a, 64, 0));
    ck_assert(memcmp(tdrv_ptr(&drv, a), tdrv_ptr(&drv, b), 64) != 0);
    ck_assert_uint_eq(virtio_rng_bytes(rng), 128);
    ck_assert_int_ge(vm->irq_raises[IRQ] + (vm->irqfd[IRQ] >= 0), 1);
}
END_TEST

START_TEST(test_multi_segment)
{
    gpa_t a = filled(100, 0), b = filled(1, 0xaa), c = filled(4000, 0);
    gpa_t guard = filled(16, 0x5a);
    struct tbuf bufs[] = {{a, 100, true}, {b, 1, true}, {c, 4000, true}};

    ck_assert_uint_eq(send(bufs, 3), 4101);
    ck_assert(!all(a, 100, 0));
    ck_assert(!all(c, 4000, 0));
    ck_assert(all(guard, 16, 0x5a)); /* nothing past the buffers */
}
END_TEST

/* A guest posting a huge buffer gets at most 64 KiB per request, and the
 * device writes nothing past what the used length says. */
START_TEST(test_capped)
{
    uint32_t big = 2 * VIRTIO_RNG_MAX_REQ;
    gpa_t g = filled(big, 0x77);
    struct tbuf b = {g, big, true};

    ck_assert_uint_eq(send(&b, 1), VIRTIO_RNG_MAX_REQ);
    ck_assert(!all(g, VIRTIO_RNG_MAX_REQ, 0x77));
    ck_assert(all(g + VIRTIO_RNG_MAX_REQ, big - VIRTIO_RNG_MAX_REQ, 0x77));
}
END_TEST

/* Readable-only chains, readable parts and chains with more segments than
 * the device takes complete without touching readable memory. */
START_TEST(test_odd_chains)
{
    gpa_t r = filled(32, 0x11), w = filled(32, 0);
    struct tbuf ro = {r, 32, false};
    struct tbuf mixed[] = {{r, 32, false}, {w, 32, true}};
    struct tbuf many[20];

    ck_assert_uint_eq(send(&ro, 1), 0);
    ck_assert(all(r, 32, 0x11));
    ck_assert_uint_eq(send(mixed, 2), 32);
    ck_assert(all(r, 32, 0x11));
    for (int i = 0; i < 20; i++)
        many[i] = (struct tbuf){filled(8, 0x22), 8, true};
    ck_assert_uint_eq(send(many, 20), 0);
    for (int i = 0; i < 20; i++)
        ck_assert(all(many[i].gpa, 8, 0x22));
}
END_TEST

START_TEST(test_hostile_ring_needs_reset)
{
    struct tbuf ok = {filled(16, 0), 16, true};

    /* A descriptor pointing outside guest RAM. */
    tdrv_desc(&drv, 40, RAM_BASE + RAM_SIZE - 8, 64, 2, 0);
    tdrv_publish(&drv, 40);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    for (int i = 0; i < 5000 && !(tdrv_mmio_read(&drv, VIRTIO_MMIO_STATUS) &
                                  VIRTIO_STATUS_NEEDS_RESET);
         i++)
        usleep(1000);
    ck_assert(tdrv_mmio_read(&drv, VIRTIO_MMIO_STATUS) &
              VIRTIO_STATUS_NEEDS_RESET);
    ck_assert_uint_eq(tdrv_used_idx(&drv), 0);
    /* A driver reset (the loop keeps running, as in a VM) brings the
     * device back. */
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, 64);
    ck_assert_uint_eq(
        tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    next_desc = 0;
    ok.gpa = filled(16, 0);
    ck_assert_uint_eq(send(&ok, 1), 16);
    ck_assert(!all(ok.gpa, 16, 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("rng");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_fill);
    tcase_add_test(tc, test_multi_segment);
    tcase_add_test(tc, test_capped);
    tcase_add_test(tc, test_odd_chains);
    tcase_add_test(tc, test_hostile_ring_needs_reset);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
