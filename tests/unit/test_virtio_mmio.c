/* test_virtio_mmio.c - virtio-mmio v2 register semantics with a fake
 * device behind the transport. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/mmio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (1ULL << 20)
#define BASE 0xd0100000ULL
#define IRQ 5
#define DEV_FEATURES (VIRTIO_BIT(0) | VIRTIO_BIT(5))
#define ALL_FEATURES                                                           \
    (DEV_FEATURES | VIRTIO_BIT(VIRTIO_F_VERSION_1) |                           \
     VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |                                 \
     VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

struct fake_dev {
    uint8_t config[10];
    int activated, resets;
    uint64_t features;
    atomic_int notified;
};

static uint64_t fake_features(void *dev)
{
    return DEV_FEATURES;
}

static void fake_config_read(void *dev, uint32_t off, uint8_t *data,
                             uint32_t size)
{
    struct fake_dev *f = dev;

    ck_assert_uint_le(off + size, sizeof(f->config));
    memcpy(data, f->config + off, size);
}

static int fake_activate(void *dev, uint64_t features)
{
    struct fake_dev *f = dev;

    f->activated++;
    f->features = features;
    return 0;
}

static void fake_notify(void *dev, uint16_t q)
{
    struct fake_dev *f = dev;

    atomic_fetch_add(&f->notified, 1);
}

static void fake_reset(void *dev)
{
    struct fake_dev *f = dev;

    f->resets++;
}

static const struct virtio_device_ops fake_ops = {
    .device_id = 42,
    .num_queues = 2,
    .queue_max = 64,
    .config_len = 10,
    .features = fake_features,
    .config_read = fake_config_read,
    .activate = fake_activate,
    .queue_notify = fake_notify,
    .reset = fake_reset,
};

static struct fake_env *vm;
static struct tdrv drv;
static struct fake_dev dev;
static struct virtio_mmio *t;

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    memset(&dev, 0, sizeof(dev));
    for (int i = 0; i < 10; i++)
        dev.config[i] = 0xa0 + i;
    ck_assert_int_eq(
        virtio_mmio_create(&vm->env, BASE, IRQ, &fake_ops, &dev, &t), 0);
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, 16);
    drv.mmio = BASE;
}

static void teardown(void)
{
    event_loop_stop(vm->loop);
    virtio_mmio_destroy(t);
    fake_env_destroy(vm);
}

static uint32_t rd(uint32_t off)
{
    return tdrv_mmio_read(&drv, off);
}

static void wr(uint32_t off, uint32_t v)
{
    tdrv_mmio_write(&drv, off, v);
}

START_TEST(test_ids)
{
    ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC), 0x74726976);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), 42);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR), VIRTIO_MMIO_VENDOR_ID);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
    ck_assert_int_eq(vm->irqfd[IRQ] >= 0, 1); /* irqfd bound */
    /* Registers are 32-bit: a byte read gives 0, not part of the magic. */
    uint8_t b = 0xff;
    bus_access(&vm->mmio, BASE, &b, 1, false);
    ck_assert_uint_eq(b, 0);
}
END_TEST

START_TEST(test_features)
{
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)ALL_FEATURES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), ALL_FEATURES >> 32);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(test_features_ok_refused_unoffered)
{
    uint32_t st = tdrv_mmio_start(&drv, BASE, ALL_FEATURES | VIRTIO_BIT(3));

    ck_assert_uint_eq(st & VIRTIO_STATUS_FEATURES_OK, 0);
    ck_assert_int_eq(dev.activated, 0);
}
END_TEST

START_TEST(test_features_ok_refused_legacy)
{
    uint32_t st = tdrv_mmio_start(&drv, BASE, DEV_FEATURES);

    ck_assert_uint_eq(st & VIRTIO_STATUS_FEATURES_OK, 0);
}
END_TEST

START_TEST(test_negotiation)
{
    uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5) |
                 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
    uint32_t st = tdrv_mmio_start(&drv, BASE, f);

    ck_assert_uint_eq(st, 1 | 2 | 4 | 8);
    ck_assert_int_eq(dev.activated, 1);
    ck_assert_uint_eq(dev.features, f);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    ck_assert(virtio_mmio_queue(t, 0)->event_idx);
    ck_assert(!virtio_mmio_queue(t, 0)->indirect);
    ck_assert_ptr_null(virtio_mmio_queue(t, 2));
    /* Features are frozen after FEATURES_OK. */
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    ck_assert_uint_eq(dev.features, f);
}
END_TEST

START_TEST(test_queue_regs)
{
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
    wr(VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 8); /* ignored, no crash */
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 16);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 16);
    wr(VIRTIO_MMIO_QUEUE_NUM, 24); /* not a power of two: ignored */
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 16);
    wr(VIRTIO_MMIO_QUEUE_NUM, 128); /* above QueueNumMax: ignored */
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 16);
    wr(VIRTIO_MMIO_QUEUE_NUM, 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 16);
}
END_TEST

START_TEST(test_queue_outside_ram)
{
    uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

    drv.desc = RAM_BASE + RAM_SIZE - 64; /* table runs past RAM */
    tdrv_mmio_start(&drv, BASE, f);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(test_config_space)
{
    uint8_t buf[8];
    uint32_t v;

    memset(buf, 0xee, sizeof(buf));
    bus_access(&vm->mmio, BASE + 0x100 + 2, buf, 2, false);
    ck_assert_uint_eq(buf[0], 0xa2);
    ck_assert_uint_eq(buf[1], 0xa3);
    v = rd(0x100 + 8 - 0); /* bytes 8..11: runs past the 10-byte end */
    ck_assert_uint_eq(v, 0);
    memset(buf, 0xee, sizeof(buf));
    bus_access(&vm->mmio, BASE + 0x100 + 9, buf, 1, false);
    ck_assert_uint_eq(buf[0], 0xa9);
    bus_access(&vm->mmio, BASE + 0xfff, buf, 1, false); /* far past end */
    ck_assert_uint_eq(buf[0], 0);
    bus_access(&vm->mmio, BASE + 0x100, buf, 4, true); /* no write op */
    ck_assert_uint_eq(dev.config[0], 0xa0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
    virtio_mmio_signal_config(t);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
}
END_TEST

START_TEST(test_interrupts)
{
    uint64_t n = 0;

    virtio_mmio_signal_used(t);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    ck_assert_int_eq(read(vm->irqfd[IRQ], &n, sizeof(n)), 8);
    ck_assert_uint_eq(n, 1);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(test_notify_reaches_event_loop)
{
    tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    /* DRIVER_OK itself kicks ready queues once; wait for it. */
    for (int i = 0; i < 5000 && atomic_load(&dev.notified) < 1; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&dev.notified), 1);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    for (int i = 0; i < 5000 && atomic_load(&dev.notified) < 2; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&dev.notified), 2);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);  /* queue 1 is not ready: dropped */
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 99); /* no such queue: dropped */
    usleep(20000);
    ck_assert_int_eq(atomic_load(&dev.notified), 2);
}
END_TEST

START_TEST(test_reset)
{
    int resets;

    tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtio_mmio_signal_used(t);
    resets = dev.resets;
    wr(VIRTIO_MMIO_STATUS, 0);
    ck_assert_int_eq(dev.resets, resets + 1);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 64);
    ck_assert(!virtio_mmio_queue(t, 0)->enabled);
    /* And the device comes back. */
    ck_assert_uint_eq(
        tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    ck_assert_int_eq(dev.activated, 2);
}
END_TEST

START_TEST(test_driver_ok_without_features_ok)
{
    wr(VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_DRIVER_OK);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 1 | 2);
    ck_assert_int_eq(dev.activated, 0);
}
END_TEST

START_TEST(test_needs_reset)
{
    uint64_t n;

    tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtio_mmio_set_needs_reset(t);
    ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    ck_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    ck_assert_int_eq(read(vm->irqfd[IRQ], &n, sizeof(n)), 8);
    wr(VIRTIO_MMIO_STATUS, 0);
    ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

/* The coalesced-ISR guard.  Its timer counts real time. */
#define MS 1000000ULL

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Interrupts signalled on the irqfd since the last call. */
static uint64_t irq_count(void)
{
    uint64_t n = 0;

    if (read(vm->irqfd[IRQ], &n, sizeof(n)) != sizeof(n))
        return 0;
    return n;
}

/* A coalesced signal raises the line on 0->1 only; an acknowledged bit
 * makes the next one a new edge at once. */
START_TEST(test_isr_coalesced)
{
    virtio_mmio_signal_used_coalesced(t);
    ck_assert_uint_eq(irq_count(), 1);
    virtio_mmio_signal_used_coalesced(t);
    ck_assert_uint_eq(irq_count(), 0); /* coalesced: the bit is set */
    ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    virtio_mmio_signal_used_coalesced(t);
    ck_assert_uint_eq(irq_count(), 1);
}
END_TEST

/* One edge the guest never got, and the bit stays set: without the guard
 * no coalesced signal would ever raise the line again.  Its timer does,
 * one to two periods after the edge, whether or not more signals come. */
START_TEST(test_isr_guard_timer)
{
    uint64_t n = 0, t0, waited;

    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    t0 = now_ns();
    virtio_mmio_signal_used_coalesced(t);
    ck_assert_uint_eq(irq_count(), 1);
    for (int i = 0; i < 3000 && !(n = irq_count()); i++) {
        virtio_mmio_signal_used_coalesced(t); /* no new edge */
        usleep(1000);
    }
    waited = now_ns() - t0;
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_ge(waited, VIRTIO_MMIO_ISR_GUARD_NS);
}
END_TEST

/* A driver that acknowledges every interrupt gets no extra one from the
 * guard, though its timer finds the bit set at every tick: the
 * acknowledgements between ticks tell it the edges arrived. */
START_TEST(test_isr_guard_quiet)
{
    uint64_t irqs = 0, signals = 0, last, gap = 0, end;

    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    last = now_ns();
    end = last + 350 * MS;
    while (now_ns() < end) {
        uint64_t now;

        wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
        virtio_mmio_signal_used_coalesced(t);
        signals++;
        irqs += irq_count();
        usleep(2000);
        now = now_ns();
        if (now - last > gap)
            gap = now - last;
        last = now;
    }
    irqs += irq_count();
    /* A test thread kept off the CPU for a whole period left the bit set
     * that long: the guard was right to signal, and nothing is judged. */
    if (gap < VIRTIO_MMIO_ISR_GUARD_NS)
        ck_assert_uint_eq(irqs, signals);
    /* Acknowledged and left alone: the timer stops, and signals nothing. */
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    usleep(250000);
    ck_assert_uint_eq(irq_count(), 0);
}
END_TEST

START_TEST(test_bad_create)
{
    struct virtio_device_ops bad = fake_ops;
    struct virtio_mmio *t2;

    bad.queue_max = 48;
    ck_assert_int_eq(
        virtio_mmio_create(&vm->env, BASE + 0x1000, 6, &bad, &dev, &t2),
        -EINVAL);
    /* Overlapping window: the bus refuses, nothing leaks. */
    ck_assert_int_eq(
        virtio_mmio_create(&vm->env, BASE + 0x800, 6, &fake_ops, &dev, &t2),
        -EEXIST);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio_mmio");
    TCase *tc = tcase_create("registers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_ids);
    tcase_add_test(tc, test_features);
    tcase_add_test(tc, test_features_ok_refused_unoffered);
    tcase_add_test(tc, test_features_ok_refused_legacy);
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_queue_regs);
    tcase_add_test(tc, test_queue_outside_ram);
    tcase_add_test(tc, test_config_space);
    tcase_add_test(tc, test_interrupts);
    tcase_add_test(tc, test_notify_reaches_event_loop);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_driver_ok_without_features_ok);
    tcase_add_test(tc, test_needs_reset);
    tcase_add_test(tc, test_isr_coalesced);
    tcase_add_test(tc, test_isr_guard_timer);
    tcase_add_test(tc, test_isr_guard_quiet);
    tcase_add_test(tc, test_bad_create);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
