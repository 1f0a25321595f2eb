/* test_budget.c - one busy queue cannot keep the event loop to itself: the
 * per-call budgets of virtio-blk, virtio-rng and virtio-console's receive
 * path, observed deterministically.
 *
 * blk: a block backend that, like a guest on another vCPU refilling the
 * ring as fast as requests complete, reposts a request from inside each
 * synchronous submit.  Without the budget one kick would never return;
 * with it no call takes more than a queue's worth and a request to another
 * device on the same loop is served meanwhile.
 * rng, console and net receive: a full ring and one kick; the device must yield
 * (and signal) once per budget rather than serve everything in one call (the
 * transport signals only when used->idx moved, so the interrupt count is
 * the number of calls that returned buffers). */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/backend/block.h"
#include "devices/backend/chardev.h"
#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define BUSY_BASE 0xd0000000ULL
#define BUSY_IRQ 5
#define VICTIM_BASE 0xd0001000ULL
#define VICTIM_IRQ 6
#define QSIZE 64
#define REFILLS 20000 /* requests the refilling guest posts in all */

static struct fake_env *vm;
static struct tdrv busy, busy_rx, victim; /* busy_rx: receive queues */

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    tdrv_init(&busy_rx, vm, RAM_BASE, 2 << 20, VIRTIO_NET_QUEUE_SIZE);
    tdrv_init(&busy, vm, RAM_BASE + (2 << 20), 2 << 20, QSIZE);
    tdrv_init(&victim, vm, RAM_BASE + (4 << 20), 2 << 20, QSIZE);
}

static void teardown(void)
{
    event_loop_stop(vm->loop);
    fake_env_destroy(vm);
}

/* Interrupts signalled on (gsi) since the last call (the irqfd's count). */
static uint64_t irqs(uint32_t gsi)
{
    uint64_t n = 0;

    if (read(vm->irqfd[gsi], &n, sizeof(n)) < 0)
        ck_assert_int_eq(errno, EAGAIN);
    return n;
}

/* ---- blk with a guest that refills the ring from another vCPU ---- */

struct refill_disk {
    struct block_backend be;
    unsigned int submits, since_unplug, max_per_call, unplugs;
    unsigned int victim_seen_at; /* submits when the victim was served */
};

static int refill_submit(struct block_backend *be, struct block_io *io)
{
    struct refill_disk *d = (struct refill_disk *)be;

    __atomic_store_n(&d->submits, d->submits + 1, __ATOMIC_RELEASE);
    d->since_unplug++;
    if (!d->victim_seen_at && tdrv_used_idx(&victim) == 1)
        d->victim_seen_at = d->submits;
    /* The other vCPU: the same request again, at once. */
    if (d->submits < REFILLS)
        tdrv_publish(&busy, 0);
    be->complete(be->opaque, io, 0);
    return 0;
}

static void refill_unplug(struct block_backend *be)
{
    struct refill_disk *d = (struct refill_disk *)be;

    if (d->since_unplug > d->max_per_call)
        d->max_per_call = d->since_unplug;
    d->since_unplug = 0;
    d->unplugs++;
}

static void refill_none(struct block_backend *be)
{
    (void)be;
}

static void refill_destroy(struct block_backend *be)
{
    free(be);
}

static const struct block_backend_ops refill_ops = {
    .submit = refill_submit,
    .unplug = refill_unplug,
    .reap = refill_none,
    .drain = refill_none,
    .destroy = refill_destroy,
};

/* The victim: a virtio-rng on the same loop, and one 16-byte request to
 * it, published but not kicked when (publish). */
static void victim_start(struct virtio_rng **rng, bool publish)
{
    struct tbuf b = {tdrv_alloc(&victim, 16), 16, true};

    ck_assert_int_eq(virtio_rng_create(&vm->env, VICTIM_BASE, VICTIM_IRQ, rng),
                     0);
    ck_assert_uint_eq(
        tdrv_mmio_start(&victim, VICTIM_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
        15);
    tdrv_chain(&victim, 0, &b, 1);
    if (publish)
        tdrv_publish(&victim, 0);
}

START_TEST(blk_refilling_guest_yields)
{
    struct drive_config cfg = {.drive_id = "d", .path_on_host = "/dev/null"};
    struct refill_disk *d = calloc(1, sizeof(*d));
    struct virtio_blk *blk;
    struct virtio_rng *rng;
    struct tbuf b[3];
    uint32_t type = 0; /* IN: sector 0 */

    ck_assert_ptr_nonnull(d);
    d->be = (struct block_backend){
        .ops = &refill_ops, .size = 1 << 20, .event_fd = -1};
    ck_assert_int_eq(virtio_blk_create_backend(&vm->env, &cfg, &d->be,
                                               BUSY_BASE, BUSY_IRQ, &blk),
                     0);
    victim_start(&rng, true);
    b[0] = (struct tbuf){tdrv_alloc(&busy, 16), 16, false};
    memcpy(tdrv_ptr(&busy, b[0].gpa), &type, 4);
    b[1] = (struct tbuf){tdrv_alloc(&busy, 512), 512, true};
    b[2] = (struct tbuf){tdrv_alloc(&busy, 1), 1, true};
    tdrv_chain(&busy, 0, b, 3);
    for (int i = 0; i < QSIZE / 2; i++)
        tdrv_publish(&busy, 0);
    ck_assert_uint_eq(
        tdrv_mmio_start(&busy, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    tdrv_mmio_write(&victim, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    for (int i = 0;
         i < 1000 && __atomic_load_n(&d->submits, __ATOMIC_ACQUIRE) < REFILLS;
         i++)
        usleep(10000);
    ck_assert(tdrv_wait_used(&busy, REFILLS + QSIZE / 2 - 1));
    ck_assert(tdrv_wait_used(&victim, 1));
    event_loop_stop(vm->loop);
    ck_assert_uint_ge(d->submits, REFILLS);
    ck_assert_uint_le(d->max_per_call, VIRTIO_BLK_QUEUE_SIZE);
    ck_assert_uint_ge(d->unplugs, REFILLS / VIRTIO_BLK_QUEUE_SIZE);
    /* Served while the busy queue was still being refilled. */
    ck_assert_uint_gt(d->victim_seen_at, 0);
    ck_assert_uint_lt(d->victim_seen_at, REFILLS / 2);
    virtio_blk_destroy(blk);
    virtio_rng_destroy(rng);
}
END_TEST

/* ---- blk: requests that move many bytes ---- */

#define BIG_REQS 40
#define BIG_SEGS 7 /* of 1 MiB over one buffer: 7 MiB, under the cap */

struct big_disk {
    struct block_backend be;
    uint64_t bytes, since_unplug, max_per_call;
    unsigned int unplugs;
};

static int big_submit(struct block_backend *be, struct block_io *io)
{
    struct big_disk *d = (struct big_disk *)be;

    d->bytes += io->len; /* "read" at once: the Sync engine's cost */
    d->since_unplug += io->len;
    be->complete(be->opaque, io, 0);
    return 0;
}

static void big_unplug(struct block_backend *be)
{
    struct big_disk *d = (struct big_disk *)be;

    if (d->since_unplug > d->max_per_call)
        d->max_per_call = d->since_unplug;
    d->since_unplug = 0;
    d->unplugs++;
}

static const struct block_backend_ops big_ops = {
    .submit = big_submit,
    .unplug = big_unplug,
    .reap = refill_none,
    .drain = refill_none,
    .destroy = refill_destroy,
};

/* 40 reads of 7 MiB each, one kick: no call moves much more than
 * VIRTIO_BLK_BUDGET_BYTES; the rest follows on later turns and all
 * complete. */
START_TEST(blk_byte_budget_yields)
{
    struct drive_config cfg = {.drive_id = "d", .path_on_host = "/dev/null"};
    struct big_disk *d = calloc(1, sizeof(*d));
    struct virtio_blk *blk;
    struct tbuf b[BIG_SEGS + 2];
    gpa_t data = tdrv_alloc(&busy, 1 << 20);
    uint32_t type = 0; /* IN: sector 0 */

    ck_assert_ptr_nonnull(d);
    d->be = (struct block_backend){
        .ops = &big_ops, .size = 1ULL << 30, .event_fd = -1};
    ck_assert_int_eq(virtio_blk_create_backend(&vm->env, &cfg, &d->be,
                                               BUSY_BASE, BUSY_IRQ, &blk),
                     0);
    b[0] = (struct tbuf){tdrv_alloc(&busy, 16), 16, false};
    memcpy(tdrv_ptr(&busy, b[0].gpa), &type, 4);
    for (int i = 1; i <= BIG_SEGS; i++)
        b[i] = (struct tbuf){data, 1 << 20, true};
    b[BIG_SEGS + 1] = (struct tbuf){tdrv_alloc(&busy, 1), 1, true};
    tdrv_chain(&busy, 0, b, BIG_SEGS + 2);
    for (int i = 0; i < BIG_REQS; i++)
        tdrv_publish(&busy, 0);
    ck_assert_uint_eq(
        tdrv_mmio_start(&busy, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    tdrv_mmio_write(&busy, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&busy, BIG_REQS));
    event_loop_stop(vm->loop);
    ck_assert_uint_eq(d->bytes, (uint64_t)BIG_REQS * BIG_SEGS << 20);
    ck_assert_uint_le(d->max_per_call,
                      VIRTIO_BLK_BUDGET_BYTES + VIRTIO_BLK_REQ_MAX);
    ck_assert_uint_ge(
        d->unplugs, d->bytes / (VIRTIO_BLK_BUDGET_BYTES + VIRTIO_BLK_REQ_MAX));
    virtio_blk_destroy(blk);
}
END_TEST

/* ---- rng and console: a full ring, one kick ---- */

START_TEST(rng_full_ring_yields)
{
    struct virtio_rng *rng;
    uint64_t n;

    ck_assert_int_eq(virtio_rng_create(&vm->env, BUSY_BASE, BUSY_IRQ, &rng), 0);
    for (uint16_t i = 0; i < QSIZE; i++) {
        struct tbuf b = {tdrv_alloc(&busy, 4096), 4096, true};

        tdrv_publish(&busy, tdrv_chain(&busy, i, &b, 1));
    }
    ck_assert_uint_eq(
        tdrv_mmio_start(&busy, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    (void)irqs(BUSY_IRQ);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    ck_assert(tdrv_wait_used(&busy, QSIZE));
    event_loop_stop(vm->loop);
    n = irqs(BUSY_IRQ);
    /* One call (and interrupt) per VIRTIO_RNG_BUDGET chains. */
    ck_assert_uint_lt(VIRTIO_RNG_BUDGET, QSIZE);
    ck_assert_uint_ge(n, QSIZE / VIRTIO_RNG_BUDGET);
    ck_assert_uint_eq(virtio_rng_bytes(rng), QSIZE * 4096ULL);
    virtio_rng_destroy(rng);
}
END_TEST

/* Transmit chains of 64 MiB each (64 descriptors over one 1 MiB buffer),
 * one kick: the console writes a bounded amount per call, holding a chain
 * it has not finished, so a request to another device on the loop is
 * served long before the output is done; and all of it is written. */
#define CON_CHAINS 8

START_TEST(console_tx_byte_budget_yields)
{
    struct tdrv *q[2] = {&busy_rx, &busy};
    struct virtio_console *con;
    struct virtio_rng *rng;
    struct tbuf b[64];
    struct chardev cd;
    gpa_t data = tdrv_alloc(&busy, 1 << 20);
    int out = open("/dev/null", O_WRONLY);
    uint16_t used_then;

    ck_assert_int_ge(out, 0);
    tdrv_init(&busy_rx, vm, RAM_BASE, 2 << 20, VIRTIO_CONSOLE_QUEUE_SIZE);
    chardev_init_fds(&cd, -1, out);
    cd.own_out = true;
    ck_assert_int_eq(
        virtio_console_create_chardev(&vm->env, &cd, BUSY_BASE, BUSY_IRQ, &con),
        0);
    victim_start(&rng, false);
    for (int i = 0; i < 64; i++)
        b[i] = (struct tbuf){data, 1 << 20, false};
    tdrv_chain(&busy, 0, b, 64);
    for (int i = 0; i < CON_CHAINS; i++)
        tdrv_publish(&busy, 0);
    ck_assert_uint_eq(
        tdrv_mmio_start_queues(q, 2, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
        15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    tdrv_mmio_write(&busy, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    usleep(20000); /* the loop is writing the output by now */
    tdrv_publish(&victim, 0);
    tdrv_mmio_write(&victim, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&victim, 1));
    used_then = tdrv_used_idx(&busy);
    ck_assert(tdrv_wait_used(&busy, CON_CHAINS));
    event_loop_stop(vm->loop);
    /* Without the byte budget all 512 MiB went out in the first call. */
    ck_assert_uint_lt(used_then, CON_CHAINS);
    ck_assert_uint_eq(virtio_console_dropped(con), 0);
    virtio_console_destroy(con);
    virtio_rng_destroy(rng);
}
END_TEST

/* Receive chains with no writable room take no input: a guest reposting
 * them must not keep the delivery loop going. */
START_TEST(console_rx_without_room_yields)
{
    struct tdrv *q[2] = {&busy_rx, &busy};
    struct virtio_console *con;
    struct chardev cd;
    int sv[2];
    uint64_t n;

    tdrv_init(&busy_rx, vm, RAM_BASE, 2 << 20, VIRTIO_CONSOLE_QUEUE_SIZE);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    chardev_init_fds(&cd, sv[0], -1);
    cd.own_in = true;
    ck_assert_int_eq(
        virtio_console_create_chardev(&vm->env, &cd, BUSY_BASE, BUSY_IRQ, &con),
        0);
    for (uint16_t i = 0; i < VIRTIO_CONSOLE_QUEUE_SIZE; i++) {
        struct tbuf b = {tdrv_alloc(&busy_rx, 8), 8, false};

        tdrv_publish(&busy_rx, tdrv_chain(&busy_rx, i, &b, 1));
    }
    ck_assert_uint_eq(
        tdrv_mmio_start_queues(q, 2, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
        15);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    (void)irqs(BUSY_IRQ);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    tdrv_mmio_write(&busy_rx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&busy_rx, VIRTIO_CONSOLE_QUEUE_SIZE));
    event_loop_stop(vm->loop);
    /* 128 chains, CON_RX_BUDGET (64) a call: two calls returned buffers
     * (an interrupt is signalled only when used->idx moved). */
    n = irqs(BUSY_IRQ);
    ck_assert_uint_ge(n, 2);
    virtio_console_destroy(con);
    close(sv[1]);
}
END_TEST

/* Receive chains with readable parts are returned unused (§5.1.6.3): a
 * guest reposting them must not keep net's gathering loop going. */
START_TEST(net_rx_unusable_chains_yield)
{
    struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "t0"};
    struct tdrv *q[2] = {&busy_rx, &busy};
    struct virtio_net *net;
    struct virtio_net_stats st;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    ck_assert_int_eq(virtio_net_create_fd(&vm->env, &cfg, sv[0], false,
                                          BUSY_BASE, BUSY_IRQ, &net),
                     0);
    for (uint16_t i = 0; i < VIRTIO_NET_QUEUE_SIZE; i++) {
        struct tbuf b = {tdrv_alloc(&busy_rx, 16), 16, false};

        tdrv_publish(&busy_rx, tdrv_chain(&busy_rx, i, &b, 1));
    }
    ck_assert_uint_eq(
        tdrv_mmio_start_queues(q, 2, BUSY_BASE, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
        15);
    (void)irqs(BUSY_IRQ);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    tdrv_mmio_write(&busy_rx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&busy_rx, VIRTIO_NET_QUEUE_SIZE));
    event_loop_stop(vm->loop);
    /* 256 unusable chains, 64 (RX_BUDGET) a call: the first three calls
     * (at least) ran out of budget and yielded.  (Interrupts cannot count
     * the calls: net coalesces them until the driver acknowledges.) */
    virtio_net_get_stats(net, &st);
    ck_assert_uint_ge(st.rx_yields, 3);
    virtio_net_destroy(net);
    close(sv[1]);
}
END_TEST

static Suite *budget_suite(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("yield");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, blk_refilling_guest_yields);
    tcase_add_test(tc, blk_byte_budget_yields);
    tcase_add_test(tc, rng_full_ring_yields);
    tcase_add_test(tc, console_rx_without_room_yields);
    tcase_add_test(tc, console_tx_byte_budget_yields);
    tcase_add_test(tc, net_rx_unusable_chains_yield);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(budget_suite());
}
