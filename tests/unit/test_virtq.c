/* test_virtq.c - the split-virtqueue walker against hostile rings. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/queue.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define QSIZE 8

static struct fake_env *vm;
static struct tdrv drv;
static struct virtq vq;
static struct virtq_elem elem;
static struct iovec iov[16];

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, QSIZE);
    vq = (struct virtq){.size = QSIZE,
                        .desc_gpa = drv.desc,
                        .avail_gpa = drv.avail,
                        .used_gpa = drv.used,
                        .indirect = true};
    ck_assert_int_eq(virtq_enable(&vq, &vm->env), 0);
}

static void teardown(void)
{
    fake_env_destroy(vm);
}

static int pop(void)
{
    return virtq_pop(&vq, &elem, iov, 16);
}

/* Publishes a one-descriptor chain at index 0 and expects a broken ring. */
static void expect_bad_desc(uint64_t addr, uint32_t len, uint16_t flags)
{
    tdrv_desc(&drv, 0, addr, len, flags, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), -EPROTO);
    ck_assert(vq.broken);
    ck_assert_int_eq(pop(), -EPROTO); /* stays broken until reset */
}

START_TEST(test_good_chain)
{
    gpa_t hdr = tdrv_alloc(&drv, 16), data = tdrv_alloc(&drv, 512);
    gpa_t st = tdrv_alloc(&drv, 1);
    struct tbuf b[] = {{hdr, 16, false}, {data, 512, true}, {st, 1, true}};
    uint32_t id, len;

    ck_assert_int_eq(pop(), 0);
    tdrv_publish(&drv, tdrv_chain(&drv, 2, b, 3));
    ck_assert_int_eq(pop(), 1);
    ck_assert_uint_eq(elem.head, 2);
    ck_assert_uint_eq(elem.nr_rd, 1);
    ck_assert_uint_eq(elem.nr_wr, 2);
    ck_assert_uint_eq(elem.rd_len, 16);
    ck_assert_uint_eq(elem.wr_len, 513);
    ck_assert_ptr_eq(iov[0].iov_base, tdrv_ptr(&drv, hdr));
    ck_assert_ptr_eq(iov[1].iov_base, tdrv_ptr(&drv, data));
    ck_assert_uint_eq(iov[2].iov_len, 1);
    ck_assert_int_eq(pop(), 0);
    virtq_push(&vq, elem.head, 513);
    ck_assert(tdrv_used(&drv, &id, &len));
    ck_assert_uint_eq(id, 2);
    ck_assert_uint_eq(len, 513);
}
END_TEST

/* virtq_fill() writes used elements but moves used->idx only when
 * virtq_publish() says so, past all of them at once. */
START_TEST(test_fill_then_publish)
{
    uint32_t id, len;

    for (uint16_t i = 0; i < 3; i++) {
        tdrv_desc(&drv, i, tdrv_alloc(&drv, 64), 64, VIRTQ_DESC_F_WRITE, 0);
        tdrv_publish(&drv, i);
    }
    for (uint16_t i = 0; i < 3; i++) {
        ck_assert_int_eq(pop(), 1);
        virtq_fill(&vq, elem.head, 10 + i);
        ck_assert_uint_eq(tdrv_used_idx(&drv), 0);
    }
    virtq_publish(&vq);
    ck_assert_uint_eq(tdrv_used_idx(&drv), 3);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert(tdrv_used(&drv, &id, &len));
        ck_assert_uint_eq(id, i);
        ck_assert_uint_eq(len, 10 + i);
    }
    virtq_publish(&vq); /* nothing new: used->idx stays */
    ck_assert_uint_eq(tdrv_used_idx(&drv), 3);
}
END_TEST

START_TEST(test_enable_checks)
{
    struct virtq q = vq;

    q.size = 6; /* not a power of two */
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
    q = vq;
    q.desc_gpa += 8; /* descriptor table must be 16-byte aligned */
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
    q = vq;
    q.used_gpa = RAM_END - 16; /* used ring runs past RAM */
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
    q = vq;
    q.avail_gpa = 0xfffffffffffffff0ULL;
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
}
END_TEST

/* Fuzzer finding: a used ring laid over the avail ring lets the device's
 * own flag writes look like new buffers (an endless notify loop). */
START_TEST(test_used_overlaps_rings)
{
    struct virtq q = vq;

    q.used_gpa = vq.avail_gpa; /* used->flags aliases avail->flags/idx */
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
    q = vq;
    q.used_gpa = vq.avail_gpa + 2;
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
    q = vq;
    q.used_gpa = vq.desc_gpa + 16; /* inside the descriptor table */
    ck_assert_int_eq(virtq_enable(&q, &vm->env), -EINVAL);
}
END_TEST

/* The same through a buffer: a device-writable descriptor over the avail
 * ring (or the table) would let the device publish chains to itself. */
START_TEST(test_writable_buffer_over_rings)
{
    expect_bad_desc(vq.avail_gpa, 8, VIRTQ_DESC_F_WRITE);
}
END_TEST

START_TEST(test_writable_buffer_over_table)
{
    expect_bad_desc(vq.desc_gpa, 16, VIRTQ_DESC_F_WRITE);
}
END_TEST

START_TEST(test_out_of_range)
{
    expect_bad_desc(0x1000, 16, 0); /* below RAM */
}
END_TEST

START_TEST(test_past_ram)
{
    expect_bad_desc(RAM_END, 16, 0);
}
END_TEST

START_TEST(test_wrapping_length)
{
    expect_bad_desc(0xfffffffffffffff0ULL, 0x20, 0);
}
END_TEST

START_TEST(test_wrapping_huge_length)
{
    expect_bad_desc(RAM_BASE + 0x10000, 0xffffffffU, VIRTQ_DESC_F_WRITE);
}
END_TEST

START_TEST(test_straddles_ram_end)
{
    expect_bad_desc(RAM_END - 8, 16, VIRTQ_DESC_F_WRITE);
}
END_TEST

START_TEST(test_loop)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 0, b, 16, VIRTQ_DESC_F_NEXT, 1);
    tdrv_desc(&drv, 1, b, 16, VIRTQ_DESC_F_NEXT, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_self_loop)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 3, b, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    tdrv_publish(&drv, 3);
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_chain_longer_than_queue)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    /* A full-length chain is fine; the walk never exceeds the size. */
    for (uint16_t i = 0; i < QSIZE; i++)
        tdrv_desc(&drv, i, b, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), 1);
    ck_assert_uint_eq(elem.nr_rd, QSIZE);
    /* Same chain with the last one pointing back into the middle. */
    tdrv_desc(&drv, QSIZE - 1, b, 16, VIRTQ_DESC_F_NEXT, 4);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_next_out_of_table)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 0, b, 16, VIRTQ_DESC_F_NEXT, QSIZE);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_head_out_of_table)
{
    tdrv_publish(&drv, QSIZE + 1);
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_readable_after_writable)
{
    gpa_t b = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{b, 16, false}, {b, 16, true}, {b, 16, false}};

    tdrv_publish(&drv, tdrv_chain(&drv, 0, c, 3));
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_zero_length)
{
    gpa_t b = tdrv_alloc(&drv, 16);
    /* An empty buffer is not accessed, whatever its address. */
    struct tbuf c[] = {{b, 16, false},
                       {0xdead00000000ULL, 0, false},
                       {0xffffffffffffffffULL, 0, true},
                       {b, 1, true}};

    tdrv_publish(&drv, tdrv_chain(&drv, 0, c, 4));
    ck_assert_int_eq(pop(), 1);
    ck_assert_uint_eq(elem.nr_rd, 1);
    ck_assert_uint_eq(elem.nr_wr, 1);
    ck_assert_uint_eq(elem.wr_len, 1);
}
END_TEST

START_TEST(test_avail_jump)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 0, b, 16, 0, 0);
    tdrv_set_avail_idx(&drv, QSIZE); /* exactly a full ring: fine */
    ck_assert_int_eq(pop(), 1);
    tdrv_set_avail_idx(&drv, 1 + QSIZE + 1); /* 9 pending of 8 */
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_avail_backwards)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 0, b, 16, 0, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), 1);
    tdrv_set_avail_idx(&drv, 0); /* 65535 "pending" */
    ck_assert_int_eq(pop(), -EPROTO);
}
END_TEST

START_TEST(test_too_many_segments)
{
    gpa_t b = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{b, 16, false}, {b, 16, false}, {b, 16, false}};
    uint16_t head = tdrv_chain(&drv, 0, c, 3);

    tdrv_publish(&drv, head);
    tdrv_desc(&drv, 5, b, 16, 0, 0);
    tdrv_publish(&drv, 5);
    ck_assert_int_eq(virtq_pop(&vq, &elem, iov, 2), -E2BIG);
    ck_assert_uint_eq(elem.head, head);
    ck_assert(!vq.broken);
    ck_assert_int_eq(virtq_pop(&vq, &elem, iov, 2), 1);
    ck_assert_uint_eq(elem.head, 5);
}
END_TEST

/* An indirect table of (n) entries at (t); returns its guest address. */
static gpa_t indirect_table(unsigned int n, const struct tbuf *bufs)
{
    gpa_t t = tdrv_alloc(&drv, 16 * n);
    uint8_t *p = tdrv_ptr(&drv, t);

    for (unsigned int i = 0; i < n; i++) {
        uint16_t fl = (bufs[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);
        uint16_t next = i + 1;

        memcpy(p + 16 * i, &bufs[i].gpa, 8);
        memcpy(p + 16 * i + 8, &bufs[i].len, 4);
        memcpy(p + 16 * i + 12, &fl, 2);
        memcpy(p + 16 * i + 14, &next, 2);
    }
    return t;
}

static void set_indirect_entry(gpa_t t, unsigned int i, uint16_t flags,
                               uint16_t next)
{
    uint8_t *p = tdrv_ptr(&drv, t + 16 * i);

    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

START_TEST(test_indirect_good)
{
    gpa_t h = tdrv_alloc(&drv, 16), d = tdrv_alloc(&drv, 4096);
    struct tbuf c[] = {{h, 16, false}, {d, 4096, true}, {d, 1, true}};
    gpa_t t = indirect_table(3, c);

    tdrv_desc(&drv, 1, t, 48, VIRTQ_DESC_F_INDIRECT, 0);
    tdrv_publish(&drv, 1);
    ck_assert_int_eq(pop(), 1);
    ck_assert_uint_eq(elem.head, 1);
    ck_assert_uint_eq(elem.nr_rd, 1);
    ck_assert_uint_eq(elem.nr_wr, 2);
    ck_assert_uint_eq(elem.wr_len, 4097);
}
END_TEST

/* (n) pages of zeroed RAM starting on a page boundary. */
static gpa_t page_alloc(unsigned int n)
{
    return (tdrv_alloc(&drv, (n + 1) * 4096) + 4095) & ~4095ULL;
}

/* True if page (gpa) is set in the fake environment's dirty bits (taken). */
static bool dirty(const uint64_t *bits, gpa_t gpa)
{
    uint64_t pg = (gpa - RAM_BASE) / 4096;

    return bits[pg / 64] >> (pg % 64) & 1;
}

/* With dirty tracking on, a popped chain marks its writable buffers only:
 * not its readable ones, not the indirect table, not a rejected chain's
 * buffers. */
START_TEST(test_dirty_writable_only)
{
    static uint64_t bits[RAM_SIZE / 4096 / 64 + 1];
    gpa_t t = page_alloc(1), h = page_alloc(1), d = page_alloc(2);
    gpa_t st = page_alloc(1), w = page_alloc(1), r = page_alloc(1);
    struct tbuf c[] = {{h, 16, false}, {d, 8192, true}, {st, 1, true}};
    struct tbuf bad[] = {{w, 16, true}, {r, 16, false}};
    uint8_t *tp = tdrv_ptr(&drv, t);

    memcpy(tp, tdrv_ptr(&drv, indirect_table(3, c)), 48);
    ck_assert_int_eq(gmem_dirty_enable(&vm->mem), 0);
    tdrv_desc(&drv, 1, t, 48, VIRTQ_DESC_F_INDIRECT, 0);
    tdrv_publish(&drv, 1);
    gmem_dirty_take(&vm->mem, 0, bits); /* the test driver's own writes */
    memset(bits, 0, sizeof(bits));
    ck_assert_int_eq(pop(), 1);
    gmem_dirty_take(&vm->mem, 0, bits);
    ck_assert(dirty(bits, d) && dirty(bits, d + 4096) && dirty(bits, st));
    ck_assert(!dirty(bits, h) && !dirty(bits, t) && !dirty(bits, drv.desc));
    ck_assert(!dirty(bits, drv.avail));
    /* A chain rejected (readable after writable) marks nothing. */
    tdrv_publish(&drv, tdrv_chain(&drv, 2, bad, 2));
    gmem_dirty_take(&vm->mem, 0, bits);
    memset(bits, 0, sizeof(bits));
    ck_assert_int_eq(pop(), -EPROTO);
    gmem_dirty_take(&vm->mem, 0, bits);
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        ck_assert_uint_eq(bits[i], 0);
    gmem_dirty_free(&vm->mem);
}
END_TEST

START_TEST(test_indirect_not_negotiated)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}};

    vq.indirect = false;
    expect_bad_desc(indirect_table(1, c), 16, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_nested)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}, {0, 16, false}};
    gpa_t t = indirect_table(2, c);

    /* Entry 1 points to the table itself, as an indirect descriptor. */
    memcpy(tdrv_ptr(&drv, t + 16), &t, 8);
    set_indirect_entry(t, 1, VIRTQ_DESC_F_INDIRECT, 0);
    expect_bad_desc(t, 32, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_bad_length)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}, {h, 16, false}};

    expect_bad_desc(indirect_table(2, c), 24, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_zero_length)
{
    expect_bad_desc(tdrv_alloc(&drv, 16), 0, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_out_of_ram)
{
    expect_bad_desc(RAM_END - 32, 64, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_too_long)
{
    expect_bad_desc(RAM_BASE, 16 * (VIRTQ_INDIRECT_MAX + 1),
                    VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_with_next)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}};

    expect_bad_desc(indirect_table(1, c), 16,
                    VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT);
}
END_TEST

START_TEST(test_indirect_loop)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}, {h, 16, false}, {h, 16, false}};
    gpa_t t = indirect_table(3, c);

    set_indirect_entry(t, 2, VIRTQ_DESC_F_NEXT, 0);
    expect_bad_desc(t, 48, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_indirect_next_out_of_table)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    struct tbuf c[] = {{h, 16, false}, {h, 16, false}};
    gpa_t t = indirect_table(2, c);

    set_indirect_entry(t, 1, VIRTQ_DESC_F_NEXT, 2);
    expect_bad_desc(t, 32, VIRTQ_DESC_F_INDIRECT);
}
END_TEST

START_TEST(test_total_length_overflow)
{
    /* 1024 writable 4 MiB buffers: 4 GiB, more than a u32 (§2.7.5). */
    static struct tbuf c[VIRTQ_INDIRECT_MAX];
    struct iovec big[VIRTQ_INDIRECT_MAX];
    gpa_t t;

    for (unsigned int i = 0; i < VIRTQ_INDIRECT_MAX; i++)
        c[i] = (struct tbuf){RAM_BASE + (2ULL << 20), 4U << 20, true};
    t = indirect_table(VIRTQ_INDIRECT_MAX, c);
    tdrv_desc(&drv, 0, t, 16 * VIRTQ_INDIRECT_MAX, VIRTQ_DESC_F_INDIRECT, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(virtq_pop(&vq, &elem, big, VIRTQ_INDIRECT_MAX), -EPROTO);
}
END_TEST

START_TEST(test_reset_recovers)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    expect_bad_desc(0x10, 16, 0);
    virtq_reset(&vq);
    ck_assert_int_eq(pop(), 0); /* not enabled: nothing */
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, QSIZE);
    b = tdrv_alloc(&drv, 16);
    vq = (struct virtq){.size = QSIZE,
                        .desc_gpa = drv.desc,
                        .avail_gpa = drv.avail,
                        .used_gpa = drv.used};
    ck_assert_int_eq(virtq_enable(&vq, &vm->env), 0);
    tdrv_desc(&drv, 0, b, 16, 0, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), 1);
}
END_TEST

START_TEST(test_need_event_math)
{
    ck_assert(virtq_need_event(0, 1, 0));
    ck_assert(!virtq_need_event(1, 1, 0));
    ck_assert(virtq_need_event(5, 10, 6 - 1));
    ck_assert(!virtq_need_event(10, 8, 3));
    /* Wraparound: old 0xfff0 -> new 0x0002 passes 0xfffe and 0x0001. */
    ck_assert(virtq_need_event(0xfffe, 0x0002, 0xfff0));
    ck_assert(virtq_need_event(0x0001, 0x0002, 0xfff0));
    ck_assert(!virtq_need_event(0x0002, 0x0002, 0xfff0));
    ck_assert(!virtq_need_event(0xffe0, 0x0002, 0xfff0));
    ck_assert(virtq_need_event(0xffff, 0x0000, 0xffff));
}
END_TEST

static void push_one(void)
{
    gpa_t b = tdrv_alloc(&drv, 16);

    tdrv_desc(&drv, 0, b, 16, VIRTQ_DESC_F_WRITE, 0);
    tdrv_publish(&drv, 0);
    ck_assert_int_eq(pop(), 1);
    virtq_push(&vq, 0, 16);
}

START_TEST(test_event_idx_notify)
{
    vq.event_idx = true;
    ck_assert(!virtq_should_notify(&vq)); /* nothing pushed yet */
    tdrv_set_used_event(&drv, 0);
    push_one(); /* used 0 -> 1 passes used_event 0 */
    ck_assert(virtq_should_notify(&vq));
    ck_assert_uint_eq(tdrv_avail_event(&drv), 1); /* kick me at 1 */
    push_one();                                   /* 1 -> 2 does not pass 0 */
    ck_assert(!virtq_should_notify(&vq));
    tdrv_set_used_event(&drv, 4);
    push_one(); /* 2 -> 3 */
    ck_assert(!virtq_should_notify(&vq));
    push_one(); /* 3 -> 4 */
    push_one(); /* 4 -> 5 passes 4 */
    ck_assert(virtq_should_notify(&vq));
}
END_TEST

START_TEST(test_event_idx_wrap)
{
    vq.event_idx = true;
    /* Start both rings just below the 16-bit wrap. */
    vq.last_avail = vq.used_idx = vq.signalled_used = 0xfffe;
    drv.avail_idx = drv.used_seen = 0xfffe;
    tdrv_set_used_event(&drv, 0xffff);
    push_one(); /* 0xfffe -> 0xffff: not past 0xffff yet */
    ck_assert(!virtq_should_notify(&vq));
    push_one(); /* 0xffff -> 0x0000 passes it */
    ck_assert(virtq_should_notify(&vq));
    ck_assert_uint_eq(tdrv_avail_event(&drv), 0);
}
END_TEST

START_TEST(test_no_interrupt_flag)
{
    uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

    push_one();
    ck_assert(virtq_should_notify(&vq));
    memcpy(tdrv_ptr(&drv, drv.avail), &no_irq, 2);
    push_one();
    ck_assert(!virtq_should_notify(&vq));
}
END_TEST

START_TEST(test_enable_notify_race)
{
    uint16_t flags;
    gpa_t b = tdrv_alloc(&drv, 16);

    virtq_disable_notify(&vq);
    memcpy(&flags, tdrv_ptr(&drv, drv.used), 2);
    ck_assert_uint_eq(flags, VIRTQ_USED_F_NO_NOTIFY);
    ck_assert(!virtq_enable_notify(&vq));
    memcpy(&flags, tdrv_ptr(&drv, drv.used), 2);
    ck_assert_uint_eq(flags, 0);
    /* A buffer added while notifications were off must be noticed. */
    virtq_disable_notify(&vq);
    tdrv_desc(&drv, 0, b, 16, 0, 0);
    tdrv_publish(&drv, 0);
    ck_assert(virtq_enable_notify(&vq));
    ck_assert_int_eq(pop(), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtq");
    TCase *tc = tcase_create("hostile");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_good_chain);
    tcase_add_test(tc, test_fill_then_publish);
    tcase_add_test(tc, test_enable_checks);
    tcase_add_test(tc, test_used_overlaps_rings);
    tcase_add_test(tc, test_writable_buffer_over_rings);
    tcase_add_test(tc, test_writable_buffer_over_table);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_past_ram);
    tcase_add_test(tc, test_wrapping_length);
    tcase_add_test(tc, test_wrapping_huge_length);
    tcase_add_test(tc, test_straddles_ram_end);
    tcase_add_test(tc, test_loop);
    tcase_add_test(tc, test_self_loop);
    tcase_add_test(tc, test_chain_longer_than_queue);
    tcase_add_test(tc, test_next_out_of_table);
    tcase_add_test(tc, test_head_out_of_table);
    tcase_add_test(tc, test_readable_after_writable);
    tcase_add_test(tc, test_zero_length);
    tcase_add_test(tc, test_avail_jump);
    tcase_add_test(tc, test_avail_backwards);
    tcase_add_test(tc, test_too_many_segments);
    tcase_add_test(tc, test_indirect_good);
    tcase_add_test(tc, test_dirty_writable_only);
    tcase_add_test(tc, test_indirect_not_negotiated);
    tcase_add_test(tc, test_indirect_nested);
    tcase_add_test(tc, test_indirect_bad_length);
    tcase_add_test(tc, test_indirect_zero_length);
    tcase_add_test(tc, test_indirect_out_of_ram);
    tcase_add_test(tc, test_indirect_too_long);
    tcase_add_test(tc, test_indirect_with_next);
    tcase_add_test(tc, test_indirect_loop);
    tcase_add_test(tc, test_indirect_next_out_of_table);
    tcase_add_test(tc, test_total_length_overflow);
    tcase_add_test(tc, test_reset_recovers);
    tcase_add_test(tc, test_need_event_math);
    tcase_add_test(tc, test_event_idx_notify);
    tcase_add_test(tc, test_event_idx_wrap);
    tcase_add_test(tc, test_no_interrupt_flag);
    tcase_add_test(tc, test_enable_notify_race);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
