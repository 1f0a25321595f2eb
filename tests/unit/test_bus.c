/* test_bus.c - bus registration (overlap, zero length, edges) and dispatch. */
#include <errno.h>
#include <string.h>

#include "core/bus.h"
#include "check_main.h"

struct probe {
    uint64_t last_off;
    uint32_t last_size;
    int writes, reads;
};

static void probe_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
    struct probe *p = opaque;

    p->reads++;
    p->last_off = off;
    p->last_size = size;
    memset(data, 0x5a, size);
}

static void probe_write(void *opaque, uint64_t off, const uint8_t *data,
                        uint32_t size)
{
    struct probe *p = opaque;

    p->writes++;
    p->last_off = off;
    p->last_size = size;
}

static const struct bus_ops probe_ops = {probe_read, probe_write};

START_TEST(test_register_rejects_bad_ranges)
{
    struct logger log = {0};
    struct bus bus;
    struct probe p = {0};

    bus_init(&bus, "test", &log);
    ck_assert_int_eq(bus_register(&bus, 0x1000, 0, &probe_ops, &p), -EINVAL);
    ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 2, &probe_ops, &p),
                     -EINVAL);
    ck_assert_int_eq(bus_register(&bus, 0x1000, 0x100, NULL, &p), -EINVAL);
    ck_assert_int_eq(bus_register(&bus, 0x1000, 0x100, &probe_ops, &p), 0);
    /* Overlaps at the start, the end, inside and around. */
    ck_assert_int_eq(bus_register(&bus, 0xf00, 0x101, &probe_ops, &p), -EEXIST);
    ck_assert_int_eq(bus_register(&bus, 0x10ff, 1, &probe_ops, &p), -EEXIST);
    ck_assert_int_eq(bus_register(&bus, 0x1010, 4, &probe_ops, &p), -EEXIST);
    ck_assert_int_eq(bus_register(&bus, 0x0, 0x10000, &probe_ops, &p), -EEXIST);
    /* Adjacent on both sides is fine; so is the very top of the space. */
    ck_assert_int_eq(bus_register(&bus, 0xf00, 0x100, &probe_ops, &p), 0);
    ck_assert_int_eq(bus_register(&bus, 0x1100, 0x100, &probe_ops, &p), 0);
    ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 1, &probe_ops, &p), 0);
    ck_assert_uint_eq(bus.nr, 4);
    bus_destroy(&bus);
}
END_TEST

START_TEST(test_dispatch_offsets_and_edges)
{
    struct logger log = {0};
    struct bus bus;
    struct probe a = {0}, b = {0};
    uint8_t data[8];

    bus_init(&bus, "test", &log);
    for (int i = 0; i < 40; i++) /* force several reallocations */
        ck_assert_int_eq(
            bus_register(&bus, 0x100000 + i * 0x1000, 0x10, &probe_ops, &b), 0);
    ck_assert_int_eq(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);
    ck_assert(bus_access(&bus, 0x3fd, data, 1, false));
    ck_assert_uint_eq(a.last_off, 5);
    ck_assert_uint_eq(data[0], 0x5a);
    ck_assert(bus_access(&bus, 0x3f8, data, 4, true));
    ck_assert_uint_eq(a.last_off, 0);
    /* An access that runs past the range's end is not dispatched. */
    memset(data, 0, sizeof(data));
    ck_assert(!bus_access(&bus, 0x3fe, data, 4, false));
    ck_assert_uint_eq(data[0], 0xff);
    ck_assert(!bus_access(&bus, 0x3f7, data, 2, false));
    ck_assert(bus_access(&bus, 0x100000 + 39 * 0x1000 + 0xf, data, 1, true));
    ck_assert_uint_eq(b.last_off, 0xf);
    ck_assert(!bus_access(&bus, 0x100000 + 39 * 0x1000 + 0x10, data, 1, true));
    bus_destroy(&bus);
}
END_TEST

START_TEST(test_unhandled_reads_all_ones)
{
    struct logger log = {0};
    struct bus bus;
    uint8_t data[8] = {0};

    bus_init(&bus, "test", &log);
    ck_assert(!bus_access(&bus, 0x1234, data, 8, false));
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(data[i], 0xff);
    /* Writes to nothing are dropped, many times, without trouble. */
    for (int i = 0; i < 100000; i++)
        bus_access(&bus, 0x1234, data, 1, true);
    bus_destroy(&bus);
}
END_TEST

START_TEST(test_rep_access)
{
    struct logger log = {0};
    struct bus bus;
    struct probe p = {0};
    uint8_t data[64];

    bus_init(&bus, "test", &log);
    ck_assert_int_eq(bus_register(&bus, 0x60, 1, &probe_ops, &p), 0);
    bus_access_rep(&bus, 0x60, data, 1, 64, true);
    ck_assert_int_eq(p.writes, 64);
    bus_access_rep(&bus, 0x60, data, 1, 16, false);
    ck_assert_int_eq(p.reads, 16);
    bus_destroy(&bus);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("bus");

    tcase_add_test(tc, test_register_rejects_bad_ranges);
    tcase_add_test(tc, test_dispatch_offsets_and_edges);
    tcase_add_test(tc, test_unhandled_reads_all_ones);
    tcase_add_test(tc, test_rep_access);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
