/* test_console.c - virtio-console end to end: driver rings -> virtio-mmio
 * -> the device -> socketpair, pty and file backends. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/backend/chardev.h"
#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define BASE 0xd0100000ULL
#define IRQ 6
#define QSIZE 64

static struct fake_env *vm;
static struct tdrv rxd, txd; /* receiveq0, transmitq0 */
static struct virtio_console *con;
static int in_peer = -1, out_peer = -1; /* the test's ends */
static uint16_t rx_next, tx_next;

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    tdrv_init(&rxd, vm, RAM_BASE, 2 << 20, QSIZE);
    tdrv_init(&txd, vm, RAM_BASE + (2 << 20), 6 << 20, QSIZE);
    con = NULL;
    rx_next = tx_next = 0;
}

static void teardown(void)
{
    event_loop_stop(vm->loop);
    virtio_console_destroy(con);
    fake_env_destroy(vm);
    if (in_peer >= 0)
        close(in_peer);
    if (out_peer >= 0)
        close(out_peer);
    in_peer = out_peer = -1;
}

/* The §3.1.1 sequence with both queues; returns the final status. */
static uint32_t start_driver(uint64_t features)
{
    struct tdrv *q[2] = {&rxd, &txd};

    return tdrv_mmio_start_queues(q, 2, BASE, features);
}

static void go(uint64_t extra)
{
    ck_assert_uint_eq(start_driver(VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                                   VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | extra),
                      15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
}

/* A device over two socketpairs: input from in_peer, output to out_peer. */
static void start_sockets(void)
{
    int in[2], out[2];
    struct chardev cd;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
    fcntl(in[0], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    chardev_init_fds(&cd, in[0], out[0]);
    cd.own_in = cd.own_out = true;
    in_peer = in[1];
    out_peer = out[1];
    ck_assert_int_eq(
        virtio_console_create_chardev(&vm->env, &cd, BASE, IRQ, &con), 0);
    go(0);
}

static gpa_t text(struct tdrv *d, const char *s)
{
    gpa_t g = tdrv_alloc(d, (uint32_t)strlen(s));

    memcpy(tdrv_ptr(d, g), s, strlen(s));
    return g;
}

/* Publishes a transmit chain and waits for its return. */
static void tx_send(const struct tbuf *bufs, unsigned int n)
{
    uint32_t id, len;
    uint16_t head = tdrv_chain(&txd, tx_next, bufs, n);

    tx_next = (uint16_t)((tx_next + n) % (QSIZE - 8));
    tdrv_publish(&txd, head);
    tdrv_mmio_write(&txd, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    ck_assert(tdrv_wait_used(&txd, txd.avail_idx));
    ck_assert(tdrv_used(&txd, &id, &len));
    ck_assert_uint_eq(id, head);
    ck_assert_uint_eq(len, 0);
}

/* Posts one receive buffer of (len) bytes and kicks. */
static gpa_t rx_post(uint32_t len)
{
    gpa_t g = tdrv_alloc(&rxd, len);
    struct tbuf b = {g, len, true};

    tdrv_publish(&rxd, tdrv_chain(&rxd, rx_next, &b, 1));
    rx_next = (uint16_t)((rx_next + 1) % QSIZE);
    tdrv_mmio_write(&rxd, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    return g;
}

/* Reads exactly (len) bytes from (fd) within 5 s. */
static void read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        n = read(fd, (char *)buf + got, len - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
}

START_TEST(test_identity)
{
    start_sockets();
    ck_assert_uint_eq(tdrv_mmio_read(&rxd, VIRTIO_MMIO_DEVICE_ID),
                      VIRTIO_ID_CONSOLE);
    tdrv_mmio_write(&rxd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    ck_assert_uint_eq(tdrv_mmio_read(&rxd, VIRTIO_MMIO_DEVICE_FEATURES) & 7,
                      VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE));
    ck_assert_uint_eq(tdrv_mmio_read(&rxd, VIRTIO_MMIO_CONFIG +
                                               VIRTIO_CONSOLE_CFG_MAX_NR_PORTS),
                      1);
    ck_assert_ptr_null(virtio_console_pty_path(con));
}
END_TEST

START_TEST(test_output)
{
    struct tbuf b[] = {{text(&txd, "hello, "), 7, false},
                       {text(&txd, "hvc0\n"), 5, false}};
    char buf[13] = {0};

    start_sockets();
    tx_send(b, 2);
    read_all(out_peer, buf, 12);
    ck_assert_str_eq(buf, "hello, hvc0\n");
    ck_assert_uint_eq(virtio_console_dropped(con), 0);
}
END_TEST

START_TEST(test_emergency_write)
{
    uint8_t c = 'Z';
    char got;

    start_sockets();
    bus_access(&vm->mmio,
               BASE + VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR, &c, 1,
               true);
    read_all(out_peer, &got, 1);
    ck_assert_int_eq(got, 'Z');
}
END_TEST

START_TEST(test_input)
{
    uint32_t id, len;
    gpa_t g;

    start_sockets();
    ck_assert_int_eq(write(in_peer, "ls -l\n", 6), 6);
    g = rx_post(64);
    ck_assert(tdrv_wait_used(&rxd, 1));
    ck_assert(tdrv_used(&rxd, &id, &len));
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(tdrv_ptr(&rxd, g), "ls -l\n", 6);
}
END_TEST

/* No receive buffers: the device reads at most one 4 KiB block, stops
 * watching, and delivers everything, in order, once buffers come. */
START_TEST(test_input_back_pressure)
{
    enum { TOTAL = 20000, BUF = 1000 };
    static uint8_t sent[TOTAL], got[TOTAL];
    size_t n = 0;
    int pending = 0;

    start_sockets();
    for (size_t i = 0; i < TOTAL; i++)
        sent[i] = (uint8_t)(i * 31 + i / 256);
    ck_assert_int_eq(write(in_peer, sent, TOTAL), TOTAL);
    usleep(200000);
    ioctl(in_peer, TIOCOUTQ, &pending); /* bytes the device has not read */
    ck_assert_int_ge(pending, TOTAL - 4096);
    for (uint16_t k = 1; n < TOTAL; k++) {
        uint32_t id, len;
        gpa_t g = rx_post(BUF);

        ck_assert(tdrv_wait_used(&rxd, k));
        ck_assert(tdrv_used(&rxd, &id, &len));
        ck_assert_uint_gt(len, 0);
        ck_assert_uint_le(len, BUF);
        memcpy(got + n, tdrv_ptr(&rxd, g), len);
        n += len;
    }
    ck_assert_uint_eq(n, TOTAL);
    ck_assert_mem_eq(got, sent, TOTAL);
}
END_TEST

/* A reader that never reads: transmit chains still come back at once
 * (Linux's hvc spins until they do), the output is dropped and counted. */
START_TEST(test_stalled_output_drops)
{
    enum { CHUNK = 32768 };
    gpa_t g = tdrv_alloc(&txd, CHUNK);
    struct tbuf b = {g, CHUNK, false};

    start_sockets();
    memset(tdrv_ptr(&txd, g), 'x', CHUNK);
    for (int i = 0; i < 64; i++)
        tx_send(&b, 1);
    ck_assert_uint_gt(virtio_console_dropped(con), 0);
    ck_assert_uint_ge(vm->log_lines, 1);
}
END_TEST

START_TEST(test_pty)
{
    struct console_config cfg = {.kind = CONSOLE_PTY};
    struct tbuf b = {text(&txd, "to pty\n"), 7, false};
    unsigned int logged = vm->log_lines;
    char buf[8] = {0};
    uint32_t id, len;
    const char *path;
    gpa_t g;
    int fd;

    ck_assert_int_eq(virtio_console_create(&vm->env, &cfg, BASE, IRQ, &con), 0);
    ck_assert_uint_eq(vm->log_lines, logged + 1); /* "pty is /dev/pts/N" */
    path = virtio_console_pty_path(con);
    ck_assert_ptr_nonnull(path);
    ck_assert_int_eq(strncmp(path, "/dev/pts/", 9), 0);
    fd = open(path, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(fd, 0);
    go(0);
    tx_send(&b, 1);
    read_all(fd, buf, 7); /* raw mode: "\n" stays "\n" */
    ck_assert_str_eq(buf, "to pty\n");
    ck_assert_int_eq(write(fd, "typed\r", 6), 6);
    g = rx_post(64);
    ck_assert(tdrv_wait_used(&rxd, 1));
    ck_assert(tdrv_used(&rxd, &id, &len));
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(tdrv_ptr(&rxd, g), "typed\r", 6);
    close(fd);
}
END_TEST

START_TEST(test_file_appends)
{
    const char *dir = getenv("VMRUN_BUILDDIR");
    char path[4096], buf[64] = {0};
    struct console_config cfg = {.kind = CONSOLE_FILE, .path = path};
    struct tbuf b = {text(&txd, "guest line\n"), 11, false};
    struct stat st;
    int fd;

    snprintf(path, sizeof(path), "%s/test_console_%d.log", dir ? dir : "/tmp",
             (int)getpid());
    unlink(path);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_eq(write(fd, "old\n", 4), 4);
    close(fd);
    ck_assert_int_eq(virtio_console_create(&vm->env, &cfg, BASE, IRQ, &con), 0);
    go(0);
    tx_send(&b, 1);
    fd = open(path, O_RDONLY);
    ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 15);
    close(fd);
    ck_assert_str_eq(buf, "old\nguest line\n");
    unlink(path);
    /* A new file is created 0600. */
    event_loop_stop(vm->loop);
    virtio_console_destroy(con);
    con = NULL;
    ck_assert_int_eq(
        virtio_console_create(&vm->env, &cfg, BASE + 0x1000, IRQ, &con), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    unlink(path);
}
END_TEST

START_TEST(test_file_error)
{
    struct console_config cfg = {.kind = CONSOLE_FILE,
                                 .path = "/nonexistent-dir/x.log"};
    unsigned int logged = vm->log_lines;

    ck_assert_int_eq(virtio_console_create(&vm->env, &cfg, BASE, IRQ, &con),
                     -ENOENT);
    ck_assert_ptr_null(con);
    ck_assert_uint_eq(vm->log_lines, logged + 1);
}
END_TEST

START_TEST(test_none)
{
    struct console_config cfg = {.kind = CONSOLE_NONE};
    struct tbuf b = {text(&txd, "void"), 4, false};

    ck_assert_int_eq(virtio_console_create(&vm->env, &cfg, BASE, IRQ, &con), 0);
    go(0);
    tx_send(&b, 1);
    tx_send(&b, 1);
}
END_TEST

START_TEST(test_hostile_ring_needs_reset)
{
    struct tbuf b = {text(&txd, "ok"), 2, false};
    char buf[2];

    start_sockets();
    /* An indirect descriptor without INDIRECT negotiated, then a loop. */
    tdrv_desc(&txd, 50, txd.heap, 16, 4, 0);
    tdrv_publish(&txd, 50);
    tdrv_mmio_write(&txd, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    for (int i = 0; i < 5000 && !(tdrv_mmio_read(&txd, VIRTIO_MMIO_STATUS) &
                                  VIRTIO_STATUS_NEEDS_RESET);
         i++)
        usleep(1000);
    ck_assert(tdrv_mmio_read(&txd, VIRTIO_MMIO_STATUS) &
              VIRTIO_STATUS_NEEDS_RESET);
    /* Reset and start again while the loop runs, as a guest would. */
    tdrv_init(&rxd, vm, RAM_BASE, 2 << 20, QSIZE);
    tdrv_init(&txd, vm, RAM_BASE + (2 << 20), 6 << 20, QSIZE);
    ck_assert_uint_eq(start_driver(VIRTIO_BIT(VIRTIO_F_VERSION_1)), 15);
    tx_next = 0;
    b.gpa = text(&txd, "ok");
    tx_send(&b, 1);
    read_all(out_peer, buf, 2);
    ck_assert_mem_eq(buf, "ok", 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("console");
    TCase *tc = tcase_create("console");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_output);
    tcase_add_test(tc, test_emergency_write);
    tcase_add_test(tc, test_input);
    tcase_add_test(tc, test_input_back_pressure);
    tcase_add_test(tc, test_stalled_output_drops);
    tcase_add_test(tc, test_pty);
    tcase_add_test(tc, test_file_appends);
    tcase_add_test(tc, test_file_error);
    tcase_add_test(tc, test_none);
    tcase_add_test(tc, test_hostile_ring_needs_reset);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
