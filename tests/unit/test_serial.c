/* test_serial.c - the 16550A model driven through the PIO bus as a vCPU
 * would, in the fake environment: output buffering, registers,
 * interrupts, RX FIFO, loopback, Linux's probe sequence and the
 * event-loop input path. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_env.h"
#include "devices/serial8250.h"

#define COM1 0x3f8
#define IRQ 4

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR

struct fixture {
    struct fake_env *vm;
    struct serial *s;
    int out[2]; /* guest output: the test reads out[0] */
};

static void outb(struct fake_env *vm, unsigned int reg, uint8_t val)
{
    ck_assert(bus_access(&vm->pio, COM1 + reg, &val, 1, true));
}

static uint8_t inb(struct fake_env *vm, unsigned int reg)
{
    uint8_t val = 0;

    ck_assert(bus_access(&vm->pio, COM1 + reg, &val, 1, false));
    return val;
}

static void fx_open(struct fixture *f, int in_fd)
{
    struct serial_config cfg = {.port = COM1, .irq = IRQ};

    f->vm = fake_env_create(0, 4096);
    ck_assert_ptr_nonnull(f->vm);
    ck_assert_int_eq(pipe2(f->out, O_NONBLOCK | O_CLOEXEC), 0);
    cfg.out_fd = f->out[1];
    cfg.in_fd = in_fd;
    ck_assert_int_eq(serial_create(&f->vm->env, &cfg, &f->s), 0);
}

static void fx_close(struct fixture *f)
{
    if (f->s)
        serial_destroy(f->s);
    fake_env_destroy(f->vm);
    close(f->out[0]);
    if (f->out[1] >= 0)
        close(f->out[1]);
}

/* What the guest has written so far, as a NUL-terminated string. */
static size_t drain(struct fixture *f, char *buf, size_t cap)
{
    ssize_t n = read(f->out[0], buf, cap - 1);

    if (n < 0) {
        ck_assert_int_eq(errno, EAGAIN);
        n = 0;
    }
    buf[n] = 0;
    return (size_t)n;
}

static void put_str(struct fake_env *vm, const char *s)
{
    while (*s)
        outb(vm, RBR, (uint8_t)*s++);
}

START_TEST(output_flushes_on_newline)
{
    struct fixture f;
    char buf[64];

    fx_open(&f, -1);
    put_str(f.vm, "boot");
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 0); /* still buffered */
    put_str(f.vm, "ing\nnext");
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 8);
    ck_assert_str_eq(buf, "booting\n");
    serial_destroy(f.s);
    f.s = NULL;
    drain(&f, buf, sizeof(buf));
    ck_assert_str_eq(buf, "next"); /* the partial line at destroy */
    fx_close(&f);
}
END_TEST

START_TEST(output_flushes_when_full_and_on_ier_write)
{
    struct fixture f;
    char buf[600];

    fx_open(&f, -1);
    for (int i = 0; i < 300; i++)
        outb(f.vm, RBR, 'a' + i % 26);
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 256);
    ck_assert_int_eq(buf[255], 'a' + 255 % 26);
    /* A prompt without a newline appears when the driver touches IER. */
    outb(f.vm, IER, 0);
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 44);
    ck_assert_int_eq(buf[0], 'a' + 256 % 26);
    fx_close(&f);
}
END_TEST

START_TEST(divisor_latch_and_scratch)
{
    struct fixture f;
    char buf[16];

    fx_open(&f, -1);
    outb(f.vm, IER, 0x05);
    outb(f.vm, LCR, 0x83); /* DLAB, 8N1 */
    outb(f.vm, RBR, 0x0c); /* DLL: 9600 baud, not a character */
    outb(f.vm, IER, 0x00); /* DLM */
    ck_assert_uint_eq(inb(f.vm, RBR), 0x0c);
    ck_assert_uint_eq(inb(f.vm, IER), 0x00);
    outb(f.vm, LCR, 0x03);
    ck_assert_uint_eq(inb(f.vm, LCR), 0x03);
    ck_assert_uint_eq(inb(f.vm, IER), 0x05); /* IER kept apart from DLM */
    outb(f.vm, SCR, 0x5a);
    ck_assert_uint_eq(inb(f.vm, SCR), 0x5a);
    outb(f.vm, SCR, 0xa5);
    ck_assert_uint_eq(inb(f.vm, SCR), 0xa5);
    serial_destroy(f.s);
    f.s = NULL;
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 0); /* nothing emitted */
    fx_close(&f);
}
END_TEST

/* drivers/tty/serial/8250/8250_port.c autoconfig(): IER upper bits read
 * 0, loopback MSR test, and FIFO bits of IIR identifying a 16550A. */
START_TEST(linux_autoconfig_finds_16550a)
{
    struct fixture f;

    fx_open(&f, -1);
    outb(f.vm, IER, 0);
    ck_assert_uint_eq(inb(f.vm, IER) & 0x0f, 0);
    outb(f.vm, IER, 0xff);
    ck_assert_uint_eq(inb(f.vm, IER), 0x0f);
    outb(f.vm, IER, 0);
    outb(f.vm, MCR, 0x1a); /* LOOP | OUT2 | RTS */
    ck_assert_uint_eq(inb(f.vm, MSR) & 0xf0, 0x90);
    outb(f.vm, MCR, 0);
    outb(f.vm, LCR, 0xbf);
    outb(f.vm, FCR, 0); /* EFR on a 16650: FCR here */
    outb(f.vm, LCR, 0);
    outb(f.vm, FCR, 0x01);
    ck_assert_uint_eq(inb(f.vm, IIR) >> 6, 3);
    outb(f.vm, LCR, 0x80); /* no EFR behind DLAB: IIR reads non-zero */
    ck_assert_uint_ne(inb(f.vm, IIR), 0);
    outb(f.vm, FCR, 0x21); /* no 64-byte FIFO (16750) bit */
    ck_assert_uint_eq(inb(f.vm, IIR) & 0xe0, 0xc0);
    outb(f.vm, LCR, 0);
    /* Not in loopback: CTS, DSR, DCD so the driver never waits. */
    ck_assert_uint_eq(inb(f.vm, MSR) & 0xf0, 0xb0);
    ck_assert_uint_eq(inb(f.vm, LSR), 0x60);
    fx_close(&f);
}
END_TEST

START_TEST(thre_interrupt)
{
    struct fixture f;

    fx_open(&f, -1);
    outb(f.vm, MCR, 0x0b); /* DTR | RTS | OUT2 */
    ck_assert_uint_eq(inb(f.vm, IIR), 0x01);
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 0);
    outb(f.vm, IER, 0x02); /* newly enabled with THR empty */
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 1);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x02);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0); /* reading IIR cleared it */
    ck_assert_uint_eq(inb(f.vm, IIR), 0x01);
    outb(f.vm, RBR, 'x'); /* THR empties again: a new edge */
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 2);
    outb(f.vm, RBR, 'y'); /* pending already: still pulsed */
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 3);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    outb(f.vm, IER, 0);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x01);
    outb(f.vm, IER, 0x02); /* Linux's THRE test: re-enabling re-asserts */
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 4);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x02);
    fx_close(&f);
}
END_TEST

START_TEST(out2_gates_the_line)
{
    struct fixture f;

    fx_open(&f, -1);
    outb(f.vm, MCR, 0x03); /* DTR | RTS, no OUT2 */
    outb(f.vm, IER, 0x02);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 0);
    outb(f.vm, MCR, 0x0b);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    outb(f.vm, MCR, 0x03);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x02); /* still pending inside */
    fx_close(&f);
}
END_TEST

START_TEST(rx_fifo)
{
    struct fixture f;
    uint8_t in[20];

    fx_open(&f, -1);
    for (int i = 0; i < 20; i++)
        in[i] = (uint8_t)('A' + i);
    outb(f.vm, FCR, 0x07); /* enable, clear, trigger 1 */
    outb(f.vm, MCR, 0x08);
    outb(f.vm, IER, 0x01);
    ck_assert_uint_eq(inb(f.vm, LSR) & 0x01, 0);
    ck_assert_int_eq(serial_inject(f.s, in, 20), 16);
    ck_assert_int_eq(serial_inject(f.s, in + 16, 4), 0); /* full */
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc4);
    for (int i = 0; i < 16; i++) {
        ck_assert_uint_eq(inb(f.vm, LSR) & 0x01, 1);
        ck_assert_uint_eq(inb(f.vm, RBR), in[i]);
    }
    ck_assert_uint_eq(inb(f.vm, LSR) & 0x01, 0);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc1);
    ck_assert_int_eq(serial_inject(f.s, in + 16, 4), 4);
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 2);
    ck_assert_uint_eq(inb(f.vm, RBR), 'Q');
    outb(f.vm, FCR, 0x03); /* clear RX */
    ck_assert_uint_eq(inb(f.vm, LSR) & 0x01, 0);
    ck_assert_uint_eq(inb(f.vm, RBR), 0); /* empty reads are defined */
    fx_close(&f);
}
END_TEST

START_TEST(rx_without_fifo_and_trigger)
{
    struct fixture f;
    const uint8_t in[] = "xyz";

    fx_open(&f, -1);
    outb(f.vm, MCR, 0x08);
    outb(f.vm, IER, 0x01);
    ck_assert_int_eq(serial_inject(f.s, in, 3), 1); /* a one-byte RBR */
    ck_assert_uint_eq(inb(f.vm, IIR), 0x04);
    ck_assert_uint_eq(inb(f.vm, RBR), 'x');
    outb(f.vm, FCR, 0xc1); /* FIFO, trigger level 14 */
    ck_assert_int_eq(serial_inject(f.s, in + 1, 2), 2);
    ck_assert_uint_eq(inb(f.vm, IIR), 0xcc); /* below trigger: timeout */
    ck_assert_uint_eq(inb(f.vm, RBR), 'y');
    ck_assert_uint_eq(inb(f.vm, RBR), 'z');
    fx_close(&f);
}
END_TEST

START_TEST(loopback)
{
    struct fixture f;
    char buf[8];

    fx_open(&f, -1);
    outb(f.vm, FCR, 0x01);
    outb(f.vm, IER, 0x0d);                   /* RDI | RLSI | MSI */
    outb(f.vm, MCR, 0x1f);                   /* loop with all outputs on */
    ck_assert_uint_eq(inb(f.vm, MSR), 0xf0); /* RI rose: no delta bit */
    for (int i = 0; i < 17; i++)
        outb(f.vm, RBR, (uint8_t)i);
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc6); /* overrun outranks data */
    ck_assert_uint_eq(inb(f.vm, LSR), 0x63); /* DR | OE | THRE | TEMT */
    ck_assert_uint_eq(inb(f.vm, LSR), 0x61);
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc4);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(inb(f.vm, RBR), i);
    outb(f.vm, MCR, 0x0b); /* loop off: RI falls (TERI), the rest on */
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc0);
    ck_assert_uint_eq(inb(f.vm, MSR), 0xb4);
    ck_assert_uint_eq(inb(f.vm, MSR), 0xb0); /* deltas clear on read */
    ck_assert_uint_eq(inb(f.vm, IIR), 0xc1);
    serial_destroy(f.s);
    f.s = NULL;
    ck_assert_uint_eq(drain(&f, buf, sizeof(buf)), 0);
    fx_close(&f);
}
END_TEST

START_TEST(modem_status_interrupt)
{
    struct fixture f;

    fx_open(&f, -1);
    outb(f.vm, IER, 0x08);
    outb(f.vm, MCR, 0x08);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    outb(f.vm, MCR, 0x18); /* loop: CTS, DSR drop, DCD stays */
    ck_assert_uint_eq(inb(f.vm, IIR), 0x00);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    ck_assert_uint_eq(inb(f.vm, MSR), 0x80 | 0x03);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x01);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    fx_close(&f);
}
END_TEST

START_TEST(hostile_widths)
{
    struct fixture f;
    struct bus *bus;
    uint8_t data[8];
    const uint8_t in[] = "ab";

    fx_open(&f, -1);
    bus = &f.vm->pio;
    outb(f.vm, FCR, 0x01);
    outb(f.vm, SCR, 0x77);
    ck_assert_int_eq(serial_inject(f.s, in, 2), 2);
    /* 16 bits at RBR: RBR then IER, as two ISA byte cycles. */
    memset(data, 0xee, sizeof(data));
    ck_assert(bus_access(bus, COM1, data, 2, false));
    ck_assert_uint_eq(data[0], 'a');
    ck_assert_uint_eq(data[1], 0);
    memset(data, 0xee, sizeof(data));
    ck_assert(bus_access(bus, COM1 + 4, data, 4, false));
    ck_assert_uint_eq(data[0], 0);    /* MCR */
    ck_assert_uint_eq(data[1], 0x61); /* LSR: 'b' waiting */
    ck_assert_uint_eq(data[2], 0xb0); /* MSR */
    ck_assert_uint_eq(data[3], 0x77); /* SCR */
    ck_assert(bus_access(bus, COM1, data, 8, false));
    ck_assert_uint_eq(data[0], 'b');
    ck_assert_uint_eq(data[7], 0x77);
    /* Past the end of the range: the bus answers all-ones. */
    ck_assert(!bus_access(bus, COM1 + 6, data, 4, false));
    ck_assert_uint_eq(data[0], 0xff);
    memset(data, 0, sizeof(data));
    ck_assert(bus_access(bus, COM1 + 4, data, 4, true));
    ck_assert_uint_eq(inb(f.vm, SCR), 0);
    ck_assert(!bus_access(bus, COM1 + 7, data, 2, true));
    fx_close(&f);
}
END_TEST

START_TEST(closed_reader_drops_output)
{
    struct fixture f;

    fx_open(&f, -1);
    close(f.out[0]);
    f.out[0] = open("/dev/null", O_RDONLY);
    put_str(f.vm, "lost\n"); /* EPIPE, not SIGPIPE */
    ck_assert_uint_eq(f.vm->log_lines, 1);
    put_str(f.vm, "more\n");
    ck_assert_uint_eq(f.vm->log_lines, 1); /* logged once */
    ck_assert_uint_eq(inb(f.vm, LSR), 0x60);
    fx_close(&f);
}
END_TEST

START_TEST(full_output_pipe_does_not_hang)
{
    struct fixture f;
    char big[4096];
    size_t total = 0;

    fx_open(&f, -1);
    memset(big, 'z', sizeof(big));
    while (write(f.out[1], big, sizeof(big)) > 0)
        ; /* fill the pipe; nobody reads */
    put_str(f.vm, "stuck\n");
    ck_assert_uint_eq(f.vm->log_lines, 1);
    put_str(f.vm, "again\n"); /* no second wait */
    while (read(f.out[0], big, sizeof(big)) > 0)
        ;
    put_str(f.vm, "flows\n"); /* the reader is back */
    total = (size_t)read(f.out[0], big, sizeof(big));
    ck_assert_uint_eq(total, 6);
    fx_close(&f);
}
END_TEST

static bool wait_for_data(struct fake_env *vm)
{
    for (int i = 0; i < 5000; i++) {
        if (inb(vm, LSR) & 0x01)
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return false;
}

/* The real input path: a pipe watched by the event loop thread, more
 * input than the FIFO holds, and EOF while the FIFO is still full. */
START_TEST(input_from_fd)
{
    struct fixture f;
    int in[2];
    uint8_t msg[50];

    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    fx_open(&f, in[0]);
    outb(f.vm, FCR, 0x01);
    outb(f.vm, MCR, 0x08);
    outb(f.vm, IER, 0x01);
    for (int i = 0; i < 50; i++)
        msg[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(write(in[1], msg, sizeof(msg)), sizeof(msg));
    close(in[1]);
    ck_assert_int_eq(event_loop_start(f.vm->loop), 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_msg(wait_for_data(f.vm), "byte %d never arrived", i);
        ck_assert_uint_eq(inb(f.vm, RBR), msg[i]);
    }
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    ck_assert_uint_eq(inb(f.vm, LSR) & 0x01, 0);
    event_loop_stop(f.vm->loop);
    fx_close(&f);
    close(in[0]);
}
END_TEST

START_TEST(unpollable_input_is_not_fatal)
{
    struct fixture f;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(null_fd, 0);
    fx_open(&f, null_fd); /* epoll refuses /dev/null: input disabled */
    put_str(f.vm, "ok\n");
    fx_close(&f);
    close(null_fd);
}
END_TEST

START_TEST(rx_interrupt_waits_for_ier)
{
    struct fixture f;
    const uint8_t c = 'k';

    fx_open(&f, -1);
    outb(f.vm, MCR, 0x08);
    ck_assert_int_eq(serial_inject(f.s, &c, 1), 1);
    ck_assert_int_eq(f.vm->irq_raises[IRQ], 0);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x01);
    outb(f.vm, IER, 0x01);
    ck_assert_int_eq(f.vm->irq_level[IRQ], 1);
    ck_assert_uint_eq(inb(f.vm, IIR), 0x04);
    ck_assert_uint_eq(inb(f.vm, RBR), 'k');
    ck_assert_int_eq(f.vm->irq_level[IRQ], 0);
    fx_close(&f);
}
END_TEST

#define STRESS_BYTES 20000

static void *stress_writer(void *arg)
{
    struct fake_env *vm = arg;

    for (int i = 0; i < STRESS_BYTES; i++) {
        outb(vm, RBR, i % 64 == 63 ? '\n' : 'w');
        (void)inb(vm, LSR);
    }
    return NULL;
}

/* Two vCPUs writing while input arrives: no byte lost or duplicated. */
START_TEST(concurrent_access)
{
    struct fixture f;
    pthread_t t[2];
    char buf[4096];
    size_t total = 0, got = 0;
    const uint8_t c = 'r';

    fx_open(&f, -1);
    fcntl(f.out[0], F_SETFL, 0);
    fcntl(f.out[0], F_SETPIPE_SZ, 1 << 20);
    outb(f.vm, FCR, 0x01);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, stress_writer, f.vm), 0);
    for (int i = 0; i < 1000; i++) {
        if (serial_inject(f.s, &c, 1) == 0 && inb(f.vm, RBR) == 'r')
            got++;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    serial_destroy(f.s);
    f.s = NULL;
    close(f.out[1]);
    f.out[1] = -1;
    for (ssize_t n; (n = read(f.out[0], buf, sizeof(buf))) > 0;)
        total += (size_t)n;
    ck_assert_uint_eq(total, 2 * STRESS_BYTES);
    ck_assert_uint_gt(got, 0);
    fx_close(&f);
}
END_TEST

START_TEST(bad_port_rejected)
{
    struct fake_env *vm = fake_env_create(0, 4096);
    struct serial_config cfg = {
        .port = 0xfffc, .irq = IRQ, .out_fd = -1, .in_fd = -1};
    struct serial *s = NULL;

    ck_assert_int_eq(serial_create(&vm->env, &cfg, &s), -EINVAL);
    cfg.port = COM1;
    ck_assert_int_eq(serial_create(&vm->env, &cfg, &s), 0);
    ck_assert_int_eq(serial_create(&vm->env, &cfg, &s), -EEXIST);
    serial_destroy(s);
    fake_env_destroy(vm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("serial");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, output_flushes_on_newline);
    tcase_add_test(tc, output_flushes_when_full_and_on_ier_write);
    tcase_add_test(tc, divisor_latch_and_scratch);
    tcase_add_test(tc, linux_autoconfig_finds_16550a);
    tcase_add_test(tc, thre_interrupt);
    tcase_add_test(tc, out2_gates_the_line);
    tcase_add_test(tc, rx_fifo);
    tcase_add_test(tc, rx_without_fifo_and_trigger);
    tcase_add_test(tc, loopback);
    tcase_add_test(tc, modem_status_interrupt);
    tcase_add_test(tc, hostile_widths);
    tcase_add_test(tc, closed_reader_drops_output);
    tcase_add_test(tc, full_output_pipe_does_not_hang);
    tcase_add_test(tc, input_from_fd);
    tcase_add_test(tc, unpollable_input_is_not_fatal);
    tcase_add_test(tc, rx_interrupt_waits_for_ier);
    tcase_add_test(tc, concurrent_access);
    tcase_add_test(tc, bad_port_rejected);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
