/* test_memory.c - guest RAM accessors: overflow, straddling region ends. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core/memory.h"

static uint8_t low[0x10000], high[0x10000];

static void setup_two(struct guest_mem *m)
{
    *m = (struct guest_mem){0};
    ck_assert_int_eq(gmem_add(m, 0, sizeof(low), low), 0);
    ck_assert_int_eq(gmem_add(m, 0x100000000ULL, sizeof(high), high), 0);
}

START_TEST(test_ptr_bounds)
{
    struct guest_mem m;

    setup_two(&m);
    ck_assert_ptr_eq(gmem_ptr(&m, 0, 1), low);
    ck_assert_ptr_eq(gmem_ptr(&m, 0xffff, 1), low + 0xffff);
    ck_assert_ptr_eq(gmem_ptr(&m, 0, 0x10000), low);
    ck_assert_ptr_null(gmem_ptr(&m, 0, 0x10001));
    ck_assert_ptr_null(gmem_ptr(&m, 0xffff, 2));  /* straddles the end */
    ck_assert_ptr_null(gmem_ptr(&m, 0x10000, 1)); /* just past */
    ck_assert_ptr_eq(gmem_ptr(&m, 0x100000000ULL + 8, 8), high + 8);
    ck_assert_ptr_null(gmem_ptr(&m, 0xffffffffULL, 2));
    ck_assert_ptr_null(gmem_ptr(&m, UINT64_MAX, 1));
    ck_assert_ptr_null(gmem_ptr(&m, 8, UINT64_MAX)); /* wraps */
    ck_assert_ptr_null(gmem_ptr(&m, UINT64_MAX - 4, 16));
    ck_assert_ptr_eq(gmem_ptr(&m, 4, 0), low + 4); /* len 0 means 1 */
}
END_TEST

START_TEST(test_add_rejects_overlap_and_overflow)
{
    struct guest_mem m;
    static uint8_t buf[16];

    setup_two(&m);
    ck_assert_int_eq(gmem_add(&m, 0x8000, 16, buf), -EINVAL);
    ck_assert_int_eq(gmem_add(&m, UINT64_MAX - 7, 16, buf), -EINVAL);
    ck_assert_int_eq(gmem_add(&m, 0x20000, 0, buf), -EINVAL);
    ck_assert_int_eq(gmem_add(&m, 0x20000, 16, NULL), -EINVAL);
    ck_assert_int_eq(gmem_add(&m, 0x20000, 16, buf), 0);
    ck_assert_int_eq(gmem_add(&m, 0x30000, 16, buf), 0);
    ck_assert_int_eq(gmem_add(&m, 0x40000, 16, buf), -ENOSPC);
}
END_TEST

START_TEST(test_read_write)
{
    struct guest_mem m;
    uint8_t v[4] = {1, 2, 3, 4}, r[4];

    setup_two(&m);
    ck_assert_int_eq(gmem_write(&m, 0x100, v, 4), 0);
    ck_assert_int_eq(gmem_read(&m, r, 0x100, 4), 0);
    ck_assert_mem_eq(v, r, 4);
    ck_assert_int_eq(gmem_write(&m, 0xfffe, v, 4), -EFAULT);
    ck_assert_int_eq(gmem_read(&m, r, 0x100000000ULL + 0xfffd, 4), -EFAULT);
}
END_TEST

/* Bit (pg) of (bits). */
static bool page_bit(const uint64_t *bits, uint64_t pg)
{
    return bits[pg / 64] >> (pg % 64) & 1;
}

/* gmem_lookup() never marks; gmem_ptr() and gmem_mark_dirty() mark
 * exactly the pages a range touches, across and within 64-page words. */
START_TEST(test_dirty_marking)
{
    static uint8_t ram[300 * 4096];
    struct guest_mem m = {0};
    uint64_t bits[6] = {0};
    struct {
        uint64_t off, len;
    } cases[] = {
        {0, 1},
        {4095, 2},
        {64 * 4096, 64 * 4096},
        {10 * 4096 + 100, 190 * 4096},
        {63 * 4096, 4096},
        {299 * 4096 + 4095, 1},
        {0, sizeof(ram)},
    };

    ck_assert_int_eq(gmem_add(&m, 0x200000, sizeof(ram), ram), 0);
    ck_assert_int_eq(gmem_dirty_enable(&m), 0);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint64_t off = cases[c].off, len = cases[c].len;
        uint8_t *p = gmem_lookup(&m, 0x200000 + off, len);

        ck_assert_ptr_eq(p, ram + off);
        memset(bits, 0, sizeof(bits));
        gmem_dirty_take(&m, 0, bits);
        for (uint64_t w = 0; w < 6; w++)
            ck_assert_uint_eq(bits[w], 0); /* a lookup marks nothing */
        gmem_mark_dirty(&m, p, len);
        gmem_dirty_take(&m, 0, bits);
        for (uint64_t pg = 0; pg < 300; pg++)
            ck_assert_int_eq(page_bit(bits, pg),
                             pg >= off / 4096 && pg <= (off + len - 1) / 4096);
        ck_assert_uint_eq(bits[4] >> (300 - 256), 0); /* nothing past RAM */
        memset(bits, 0, sizeof(bits));
        ck_assert_ptr_eq(gmem_ptr(&m, 0x200000 + off, len), p);
        gmem_dirty_take(&m, 0, bits);
        for (uint64_t pg = 0; pg < 300; pg++)
            ck_assert_int_eq(page_bit(bits, pg),
                             pg >= off / 4096 && pg <= (off + len - 1) / 4096);
    }
    /* Ranges outside the region, or straddling its end, mark nothing. */
    memset(bits, 0, sizeof(bits));
    gmem_mark_dirty(&m, ram + sizeof(ram) - 1, 2);
    gmem_mark_dirty(&m, low, 16);
    gmem_mark_dirty(&m, ram, 0);
    gmem_dirty_take(&m, 0, bits);
    for (uint64_t w = 0; w < 6; w++)
        ck_assert_uint_eq(bits[w], 0);
    gmem_dirty_free(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");

    tcase_add_test(tc, test_ptr_bounds);
    tcase_add_test(tc, test_add_rejects_overlap_and_overflow);
    tcase_add_test(tc, test_read_write);
    tcase_add_test(tc, test_dirty_marking);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
