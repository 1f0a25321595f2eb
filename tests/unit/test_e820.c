/* test_e820.c - the guest memory map: sizes across the MMIO hole. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define PAGE 4096ULL
#define MAX_ENTRIES 8

/* The bytes between low RAM and 1 MiB that are never RAM. */
#define LOW_GAP (MIB - LAYOUT_LOW_RAM_END)

static const uint64_t sizes[] = {
    2 * MIB,           16 * MIB, 3 * GIB - PAGE, 3 * GIB,
    3 * GIB + 2 * MIB, 4 * GIB,  6 * GIB,        1ULL << 40,
};

static bool overlaps_hole(const struct e820_entry *e)
{
    return e->addr < LAYOUT_HIGH_RAM && e->addr + e->size > LAYOUT_MMIO_HOLE;
}

/* Checks every invariant of one map and returns its RAM total. */
static uint64_t check_map(const struct e820_entry *map, int n)
{
    uint64_t ram = 0;

    ck_assert_int_ge(n, 3);
    ck_assert_uint_eq(map[0].addr, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_uint_gt(map[i].size, 0);
        ck_assert(map[i].type == E820_RAM || map[i].type == E820_RESERVED);
        if (i > 0)
            ck_assert_uint_ge(map[i].addr, map[i - 1].addr + map[i - 1].size);
        if (map[i].type == E820_RAM) {
            ck_assert(!overlaps_hole(&map[i]));
            ram += map[i].size;
        }
    }
    return ram;
}

/* The reserved entry covers the ACPI tables, and no RAM entry does. */
static void check_acpi_reserved(const struct e820_entry *map, int n)
{
    bool covered = false;

    for (int i = 0; i < n; i++) {
        uint64_t end = map[i].addr + map[i].size;
        bool hit =
            map[i].addr < LAYOUT_ACPI + LAYOUT_ACPI_SIZE && end > LAYOUT_ACPI;
        if (hit)
            ck_assert_uint_eq(map[i].type, E820_RESERVED);
        if (map[i].addr <= LAYOUT_ACPI && end >= LAYOUT_ACPI + LAYOUT_ACPI_SIZE)
            covered = true;
    }
    ck_assert(covered);
}

START_TEST(test_sizes)
{
    uint64_t mem = sizes[_i];
    struct e820_entry map[MAX_ENTRIES + 1];

    memset(map, 0xa5, sizeof(map));
    int n = e820_build(mem, map, MAX_ENTRIES);
    ck_assert_int_eq(n, mem > LAYOUT_MMIO_HOLE ? 4 : 3);
    ck_assert_uint_eq(check_map(map, n), mem - LOW_GAP);
    check_acpi_reserved(map, n);
    /* RAM below the hole ends exactly at min(mem, hole). */
    uint64_t low_end = mem < LAYOUT_MMIO_HOLE ? mem : LAYOUT_MMIO_HOLE;
    ck_assert_uint_eq(map[2].addr + map[2].size, low_end);
    if (n == 4) {
        ck_assert_uint_eq(map[3].addr, LAYOUT_HIGH_RAM);
        ck_assert_uint_eq(map[3].size, mem - LAYOUT_MMIO_HOLE);
    }
    /* Nothing written past the entries returned. */
    const uint8_t *tail = (const uint8_t *)&map[n];
    for (size_t i = 0; i < sizeof(map[0]); i++)
        ck_assert_uint_eq(tail[i], 0xa5);
}
END_TEST

START_TEST(test_exact_layout_6g)
{
    struct e820_entry map[MAX_ENTRIES];

    ck_assert_int_eq(e820_build(6 * GIB, map, MAX_ENTRIES), 4);
    ck_assert_uint_eq(map[0].addr, 0);
    ck_assert_uint_eq(map[0].size, LAYOUT_LOW_RAM_END);
    ck_assert_uint_eq(map[0].type, E820_RAM);
    ck_assert_uint_eq(map[1].addr, LAYOUT_LOW_RAM_END);
    ck_assert_uint_eq(map[1].size, LOW_GAP);
    ck_assert_uint_eq(map[1].type, E820_RESERVED);
    ck_assert_uint_eq(map[2].addr, MIB);
    ck_assert_uint_eq(map[2].size, 3 * GIB - MIB);
    ck_assert_uint_eq(map[2].type, E820_RAM);
    ck_assert_uint_eq(map[3].addr, 4 * GIB);
    ck_assert_uint_eq(map[3].size, 3 * GIB);
    ck_assert_uint_eq(map[3].type, E820_RAM);
}
END_TEST

START_TEST(test_ram_split)
{
    uint64_t low, high;

    e820_ram_split(16 * MIB, &low, &high);
    ck_assert_uint_eq(low, 16 * MIB);
    ck_assert_uint_eq(high, 0);
    e820_ram_split(3 * GIB, &low, &high);
    ck_assert_uint_eq(low, 3 * GIB);
    ck_assert_uint_eq(high, 0);
    e820_ram_split(3 * GIB + 2 * MIB, &low, &high);
    ck_assert_uint_eq(low, 3 * GIB);
    ck_assert_uint_eq(high, 2 * MIB);
    e820_ram_split(1ULL << 40, &low, &high);
    ck_assert_uint_eq(low + high, 1ULL << 40);
    ck_assert_uint_eq(low, LAYOUT_MMIO_HOLE);
}
END_TEST

START_TEST(test_too_small_max)
{
    struct e820_entry map[MAX_ENTRIES];

    for (unsigned int max = 0; max < 3; max++) {
        memset(map, 0x5a, sizeof(map));
        ck_assert_int_eq(e820_build(16 * MIB, map, max), -ENOSPC);
        /* Entries past (max) are untouched. */
        const uint8_t *p = (const uint8_t *)&map[max];
        for (size_t i = 0; i < sizeof(map) - max * sizeof(map[0]); i++)
            ck_assert_uint_eq(p[i], 0x5a);
    }
    ck_assert_int_eq(e820_build(16 * MIB, map, 3), 3);
    ck_assert_int_eq(e820_build(4 * GIB, map, 3), -ENOSPC);
    ck_assert_int_eq(e820_build(4 * GIB, map, 4), 4);
}
END_TEST

START_TEST(test_bad_sizes)
{
    struct e820_entry map[MAX_ENTRIES];

    ck_assert_int_eq(e820_build(0, map, MAX_ENTRIES), -EINVAL);
    ck_assert_int_eq(e820_build(2 * MIB - 1, map, MAX_ENTRIES), -EINVAL);
    ck_assert_int_eq(e820_build(2 * MIB, map, MAX_ENTRIES), 3);
    /* RAM above 4 GiB whose end would wrap around 2^64. */
    ck_assert_int_eq(e820_build(UINT64_MAX, map, MAX_ENTRIES), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e820");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_sizes, 0, sizeof(sizes) / sizeof(sizes[0]));
    tcase_add_test(tc, test_exact_layout_6g);
    tcase_add_test(tc, test_ram_split);
    tcase_add_test(tc, test_too_small_max);
    tcase_add_test(tc, test_bad_sizes);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
