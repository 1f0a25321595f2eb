/* test_i8042.c - the PS/2 controller driven through the PIO bus of the
 * fake environment: Linux's probe commands, the reset line, keyboard
 * replies and Ctrl-Alt-Del with IRQ 1. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdlib.h>

#include "fake_env.h"
#include "devices/i8042.h"

#define DATA 0x60
#define CMD 0x64
#define OBF 0x01
#define AUXDATA 0x20

struct fixture {
    struct fake_env *vm;
    struct i8042 *k;
};

static void outb(struct fake_env *vm, uint16_t port, uint8_t val)
{
    ck_assert(bus_access(&vm->pio, port, &val, 1, true));
}

static uint8_t inb(struct fake_env *vm, uint16_t port)
{
    uint8_t val = 0;

    ck_assert(bus_access(&vm->pio, port, &val, 1, false));
    return val;
}

static void fx_open(struct fixture *f)
{
    f->vm = fake_env_create(0, 4096);
    ck_assert_ptr_nonnull(f->vm);
    ck_assert_int_eq(i8042_create(&f->vm->env, &f->k), 0);
}

static void fx_close(struct fixture *f)
{
    i8042_destroy(f->k);
    fake_env_destroy(f->vm);
}

/* What Linux's i8042_command() does for a command with one result. */
static uint8_t command(struct fake_env *vm, uint8_t cmd)
{
    outb(vm, CMD, cmd);
    ck_assert_uint_eq(inb(vm, CMD) & OBF, OBF);
    return inb(vm, DATA);
}

static void expect_bytes(struct fake_env *vm, const uint8_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        ck_assert_msg(inb(vm, CMD) & OBF, "byte %d missing", i);
        ck_assert_uint_eq(inb(vm, DATA), want[i]);
    }
    ck_assert_uint_eq(inb(vm, CMD) & OBF, 0);
}

START_TEST(self_tests)
{
    struct fixture f;

    fx_open(&f);
    ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0);
    ck_assert_uint_eq(inb(f.vm, CMD) & 0x04, 0x04); /* system flag */
    ck_assert_uint_eq(command(f.vm, 0xaa), 0x55);
    ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0);
    ck_assert_uint_eq(command(f.vm, 0xab), 0x00);
    ck_assert_uint_eq(command(f.vm, 0xa9), 0x00);
    ck_assert(!f.vm->exit_requested);
    fx_close(&f);
}
END_TEST

START_TEST(ctr_read_write)
{
    struct fixture f;

    fx_open(&f);
    ck_assert_uint_eq(command(f.vm, 0x20), 0x65);
    outb(f.vm, CMD, 0x60);
    ck_assert_uint_eq(inb(f.vm, CMD) & 0x08, 0x08); /* last was command */
    outb(f.vm, DATA, 0x47);
    ck_assert_uint_eq(inb(f.vm, CMD) & 0x08, 0);
    ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0); /* not a keyboard byte */
    ck_assert_uint_eq(command(f.vm, 0x20), 0x47);
    outb(f.vm, CMD, 0xa7);
    outb(f.vm, CMD, 0xad);
    ck_assert_uint_eq(command(f.vm, 0x20), 0x47 | 0x20 | 0x10);
    outb(f.vm, CMD, 0xa8);
    outb(f.vm, CMD, 0xae);
    ck_assert_uint_eq(command(f.vm, 0x20), 0x47);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x00); /* SYS cleared: status follows */
    ck_assert_uint_eq(inb(f.vm, CMD) & 0x04, 0);
    /* Replies are keyboard-side bytes: IRQ 1 only with CTR.KBDINT. */
    ck_assert_int_eq(f.vm->irq_raises[1], 4);
    ck_assert_uint_eq(command(f.vm, 0x20), 0x00);
    ck_assert_int_eq(f.vm->irq_raises[1], 4);
    ck_assert_int_eq(f.vm->irq_level[1], 0);
    fx_close(&f);
}
END_TEST

START_TEST(pulse_reset_reboots)
{
    struct fixture f;

    fx_open(&f);
    outb(f.vm, CMD, 0xff); /* pulse nothing */
    ck_assert(!f.vm->exit_requested);
    outb(f.vm, CMD, 0xfe);
    ck_assert(f.vm->exit_requested);
    ck_assert_int_eq(f.vm->exit_reason, VMRUN_EXIT_REBOOT);
    ck_assert_int_eq(f.vm->exit_status, 0);
    fx_close(&f);
}
END_TEST

START_TEST(output_port_reset_reboots)
{
    struct fixture f;

    fx_open(&f);
    outb(f.vm, CMD, 0xd1);
    outb(f.vm, DATA, 0x03); /* A20 on, reset line high */
    ck_assert(!f.vm->exit_requested);
    outb(f.vm, CMD, 0xd1);
    outb(f.vm, DATA, 0x02);
    ck_assert(f.vm->exit_requested);
    ck_assert_int_eq(f.vm->exit_reason, VMRUN_EXIT_REBOOT);
    fx_close(&f);
}
END_TEST

START_TEST(keyboard_commands)
{
    static const uint8_t reset[] = {0xfa, 0xaa}, ident[] = {0xfa, 0xab, 0x83},
                         leds[] = {0xfa, 0xfa}, set[] = {0xfa, 0xfa, 0x02},
                         ack[] = {0xfa}, echo[] = {0xee}, nak[] = {0xfe};
    struct fixture f;

    fx_open(&f);
    outb(f.vm, DATA, 0xff);
    expect_bytes(f.vm, reset, 2);
    outb(f.vm, DATA, 0xf2);
    expect_bytes(f.vm, ident, 3);
    outb(f.vm, DATA, 0xed);
    outb(f.vm, DATA, 0x07); /* LED bits, not a command */
    expect_bytes(f.vm, leds, 2);
    outb(f.vm, DATA, 0xf0);
    outb(f.vm, DATA, 0x00); /* which scancode set? */
    expect_bytes(f.vm, set, 3);
    outb(f.vm, DATA, 0xf5);
    expect_bytes(f.vm, ack, 1);
    outb(f.vm, DATA, 0xf4);
    expect_bytes(f.vm, ack, 1);
    outb(f.vm, DATA, 0xee);
    expect_bytes(f.vm, echo, 1);
    outb(f.vm, DATA, 0x12); /* not a command */
    expect_bytes(f.vm, nak, 1);
    fx_close(&f);
}
END_TEST

START_TEST(ctrl_alt_del_set1)
{
    static const uint8_t codes[] = {0x1d, 0x38, 0xe0, 0x53,
                                    0xe0, 0xd3, 0xb8, 0x9d};
    struct fixture f;

    fx_open(&f);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x45); /* what Linux writes: KBDINT, SYS, XLATE */
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), 0);
    ck_assert_int_eq(f.vm->irq_level[1], 1);
    for (int i = 0; i < 8; i++) {
        /* One byte per interrupt, each a new edge. */
        ck_assert_int_eq(f.vm->irq_raises[1], i + 1);
        ck_assert_uint_eq(inb(f.vm, CMD) & (OBF | AUXDATA), OBF);
        ck_assert_uint_eq(inb(f.vm, DATA), codes[i]);
    }
    ck_assert_int_eq(f.vm->irq_level[1], 0);
    ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0);
    ck_assert_uint_eq(inb(f.vm, DATA), 0x9d); /* empty: last byte again */
    ck_assert_int_eq(f.vm->irq_raises[12], 0);
    fx_close(&f);
}
END_TEST

START_TEST(ctrl_alt_del_set2_and_masked_irq)
{
    static const uint8_t codes[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
                                    0x71, 0xf0, 0x11, 0xf0, 0x14};
    struct fixture f;

    fx_open(&f);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x04); /* no translation, keyboard IRQ off */
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), 0);
    ck_assert_int_eq(f.vm->irq_raises[1], 0);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x05); /* enabling it with data waiting raises it */
    ck_assert_int_eq(f.vm->irq_level[1], 1);
    expect_bytes(f.vm, codes, 11);
    ck_assert_int_eq(f.vm->irq_raises[1], 11);
    fx_close(&f);
}
END_TEST

START_TEST(queue_full)
{
    struct fixture f;

    fx_open(&f);
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), 0);
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), 0);
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), -EAGAIN);
    for (int i = 0; i < 16; i++)
        inb(f.vm, DATA);
    ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0);
    ck_assert_int_eq(i8042_send_ctrl_alt_del(f.k), 0);
    fx_close(&f);
}
END_TEST

START_TEST(aux_loop)
{
    struct fixture f;

    fx_open(&f);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x47); /* aux interrupt on */
    outb(f.vm, CMD, 0xd3);
    outb(f.vm, DATA, 0x5a);
    ck_assert_uint_eq(inb(f.vm, CMD) & (OBF | AUXDATA), OBF | AUXDATA);
    ck_assert_int_eq(f.vm->irq_level[12], 1);
    ck_assert_int_eq(f.vm->irq_level[1], 0);
    ck_assert_uint_eq(inb(f.vm, DATA), 0x5a);
    ck_assert_int_eq(f.vm->irq_level[12], 0);
    fx_close(&f);
}
END_TEST

START_TEST(unknown_commands_harmless)
{
    struct fixture f;
    uint8_t wide[4] = {0};

    fx_open(&f);
    for (int c = 0; c < 0x100; c++) {
        if ((c & 0xf1) == 0xf0 || c == 0xd1)
            continue; /* the reset pulses, tested above */
        outb(f.vm, CMD, (uint8_t)c);
        outb(f.vm, DATA, 0x01); /* a parameter, or a keyboard byte */
        for (int i = 0; i < 20 && (inb(f.vm, CMD) & OBF); i++)
            inb(f.vm, DATA);
        ck_assert_uint_eq(inb(f.vm, CMD) & OBF, 0);
    }
    ck_assert(!f.vm->exit_requested);
    outb(f.vm, CMD, 0x60);
    outb(f.vm, DATA, 0x65);
    ck_assert_uint_eq(command(f.vm, 0xaa), 0x55);
    ck_assert_uint_eq(command(f.vm, 0x20), 0x65);
    /* Wider accesses never reach the one-byte ports. */
    ck_assert(!bus_access(&f.vm->pio, DATA, wide, 2, false));
    ck_assert_uint_eq(wide[0], 0xff);
    ck_assert(!bus_access(&f.vm->pio, CMD, wide, 4, true));
    ck_assert(!f.vm->exit_requested);
    fx_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("i8042");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, self_tests);
    tcase_add_test(tc, ctr_read_write);
    tcase_add_test(tc, pulse_reset_reboots);
    tcase_add_test(tc, output_port_reset_reboots);
    tcase_add_test(tc, keyboard_commands);
    tcase_add_test(tc, ctrl_alt_del_set1);
    tcase_add_test(tc, ctrl_alt_del_set2_and_masked_irq);
    tcase_add_test(tc, queue_full);
    tcase_add_test(tc, aux_loop);
    tcase_add_test(tc, unknown_commands_harmless);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
