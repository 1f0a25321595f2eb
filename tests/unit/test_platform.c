/* test_platform.c - the debug-exit, pvpanic and ACPI registers, and the
 * bound on what a guest writing them in a loop can put in the host's log. */
#include <check.h>

#include "check_main.h"
#include "fake_env.h"
#include "devices/platform.h"

#define RAM_BASE 0x100000ULL
#define DEBUG_EXIT 0xd0000000ULL
#define PVPANIC 0xd0001000ULL
#define ACPI_REGS 0xd0002000ULL
#define STORM 100000

static struct fake_env *vm;
static struct platform *plat;

static void setup(void)
{
    struct platform_config cfg = {.debug_exit_mmio = DEBUG_EXIT,
                                  .pvpanic_mmio = PVPANIC,
                                  .acpi_regs = ACPI_REGS,
                                  .s5_slp_typ = 5,
                                  .reset_value = 6};

    vm = fake_env_create(RAM_BASE, 1 << 20);
    ck_assert_ptr_nonnull(vm);
    ck_assert_int_eq(platform_create(&vm->env, &cfg, &plat), 0);
}

static void teardown(void)
{
    platform_destroy(plat);
    fake_env_destroy(vm);
}

static void mmio_write8(uint64_t addr, uint8_t v)
{
    ck_assert(bus_access(&vm->mmio, addr, &v, 1, true));
}

START_TEST(test_pvpanic_reads_capabilities)
{
    uint8_t v = 0;

    ck_assert(bus_access(&vm->mmio, PVPANIC, &v, 1, false));
    ck_assert_uint_eq(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
}
END_TEST

/* A guest looping on CRASH_LOADED logs a few lines, then one in 4096. */
START_TEST(test_pvpanic_crash_loaded_storm)
{
    mmio_write8(PVPANIC, PVPANIC_CRASH_LOADED);
    ck_assert_uint_eq(vm->log_lines, 1);
    ck_assert(!vm->exit_requested);
    for (int i = 1; i < STORM; i++)
        mmio_write8(PVPANIC, PVPANIC_CRASH_LOADED);
    ck_assert_uint_le(vm->log_lines, 4 + STORM / 4096 + 1);
    ck_assert(!vm->exit_requested);
    mmio_write8(PVPANIC, 0); /* no event: nothing */
    mmio_write8(PVPANIC + 1, PVPANIC_CRASH_LOADED);
}
END_TEST

/* PANICKED ends the VM; every vCPU writing it meanwhile is bounded too. */
START_TEST(test_pvpanic_panicked_storm)
{
    for (int i = 0; i < STORM; i++)
        mmio_write8(PVPANIC, PVPANIC_PANICKED);
    ck_assert(vm->exit_requested);
    ck_assert_int_eq(vm->exit_reason, VMRUN_EXIT_PANIC);
    ck_assert_uint_ge(vm->log_lines, 1);
    ck_assert_uint_le(vm->log_lines, 4 + STORM / 4096 + 1);
}
END_TEST

START_TEST(test_debug_exit_and_acpi)
{
    mmio_write8(ACPI_REGS, ACPI_SLP_EN | (4 << ACPI_SLP_TYP_SHIFT));
    ck_assert(!vm->exit_requested); /* S4: not the S5 type advertised */
    mmio_write8(DEBUG_EXIT, 42);
    ck_assert(vm->exit_requested);
    ck_assert_int_eq(vm->exit_reason, VMRUN_EXIT_DEBUG);
    ck_assert_int_eq(vm->exit_status, 42);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("platform");
    TCase *tc = tcase_create("platform");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pvpanic_reads_capabilities);
    tcase_add_test(tc, test_pvpanic_crash_loaded_storm);
    tcase_add_test(tc, test_pvpanic_panicked_storm);
    tcase_add_test(tc, test_debug_exit_and_acpi);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
