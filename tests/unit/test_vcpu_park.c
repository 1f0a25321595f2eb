/* test_vcpu_park.c - what the immediate-exit KVM_RUN a vCPU makes before
 * it parks may return (src/vcpu.h, vcpu_park_next()): 0 is a follow-on
 * exit (the next half of a split MMIO access, the next access of an
 * emulated instruction) to handle before entering again, not the end. */
#include <check.h>

#include "check_main.h"
#include <errno.h>

#include "vcpu.h"

START_TEST(test_follow_on_exit)
{
    ck_assert_int_eq(vcpu_park_next(0, 0), VCPU_PARK_EXIT);
}
END_TEST

START_TEST(test_done)
{
    ck_assert_int_eq(vcpu_park_next(-1, EINTR), VCPU_PARK_DONE);
    ck_assert_int_eq(vcpu_park_next(-1, EAGAIN), VCPU_PARK_DONE);
}
END_TEST

START_TEST(test_error)
{
    ck_assert_int_eq(vcpu_park_next(-1, EFAULT), VCPU_PARK_ERROR);
    ck_assert_int_eq(vcpu_park_next(-1, ENOEXEC), VCPU_PARK_ERROR);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vcpu_park");
    TCase *tc = tcase_create("park");

    tcase_add_test(tc, test_follow_on_exit);
    tcase_add_test(tc, test_done);
    tcase_add_test(tc, test_error);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
