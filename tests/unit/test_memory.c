/* test_memory.c - guest RAM accessors: overflow, straddling region ends. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "memory.h"

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

int main(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");

    tcase_add_test(tc, test_ptr_bounds);
    tcase_add_test(tc, test_add_rejects_overlap_and_overflow);
    tcase_add_test(tc, test_read_write);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
