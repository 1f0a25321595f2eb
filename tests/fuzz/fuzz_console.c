/* fuzz_console.c - libFuzzer harness for virtio-console receive and
 * transmit (devices/virtio/console.c over virtio-mmio and the queue walker)
 * on a fake chardev: two SOCK_STREAM socketpairs, the host's input and
 * the host's view of the output, as tests/unit/test_console.c uses.
 *
 * The input: options (input and/or output present, output peer closed so
 * writes fail with EPIPE, small output buffer so it stalls), the features
 * the driver accepts, both queues, the host's input bytes, a script of
 * driver actions (kicks, input arriving, output drained, resets, new avail
 * entries, emergency writes, config accesses) and the contents of guest
 * RAM.
 *
 * Checked beyond the sanitizers: an emergency write (emerg_wr) reaches a
 * drained, live output as exactly that one byte; config space outside
 * max_nr_ports reads as zeros and max_nr_ports as 1 (emerg_wr reads as
 * zero too); no action blocks (libFuzzer's timeout) whatever the output
 * does: a full output fd stalls for at most 100 ms once, then drops. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/backend/chardev.h"
#include "fuzz_common.h"
#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x10000ULL
#define BASE 0xd0000000ULL
#define IRQ 6
#define NOPS 16

enum { OPT_IN = 1, OPT_OUT = 2, OPT_EPIPE = 4, OPT_SMALL = 8, OPT_RAW = 16 };

struct con_run {
    struct fake_env *vm;
    struct virtio_console *con;
    int in_peer, out_peer; /* the host's ends, -1 if absent */
    bool out_live;         /* output present and its reader open */
    struct fuzz_queue q[2];
    uint64_t features;
    int raw;
    const uint8_t *input;
    size_t input_len, input_off;
    uint8_t buf[65536];
};

static void con_start(struct con_run *r)
{
    (void)fuzz_mmio_start(r->vm, BASE, r->features, r->raw, r->q, 2);
}

static void con_drain(struct con_run *r)
{
    while (r->out_peer >= 0 &&
           recv(r->out_peer, r->buf, sizeof(r->buf), MSG_DONTWAIT) > 0)
        ;
}

/* The host types the next (n) bytes of the input. */
static void con_type(struct con_run *r, size_t n)
{
    ssize_t sent;

    if (r->in_peer < 0)
        return;
    if (n > r->input_len - r->input_off)
        n = r->input_len - r->input_off;
    if (n == 0)
        return;
    sent = send(r->in_peer, r->input + r->input_off, n, MSG_DONTWAIT);
    if (sent > 0)
        r->input_off += (size_t)sent;
}

/* emerg_wr: the low byte goes out alone (§5.3.4). */
static void con_emerg(struct con_run *r, uint8_t c)
{
    uint32_t v = 0x41424300U | c;
    ssize_t n;

    con_drain(r);
    bus_access(&r->vm->mmio,
               BASE + VIRTIO_MMIO_CONFIG + VIRTIO_CONSOLE_CFG_EMERG_WR,
               (uint8_t *)&v, 4, true);
    if (!r->out_live)
        return;
    n = recv(r->out_peer, r->buf, sizeof(r->buf), MSG_DONTWAIT);
    FUZZ_CHECK(n == 1 && r->buf[0] == c);
}

static void con_config(struct con_run *r, uint8_t arg)
{
    static const uint32_t width[4] = {1, 2, 4, 8};
    uint32_t w = width[arg & 3], off = arg >> 2;
    uint8_t v[8];

    memset(v, 0xa5, sizeof(v));
    bus_access(&r->vm->mmio, BASE + VIRTIO_MMIO_CONFIG + off, v, w, false);
    for (uint32_t i = 0; i < w; i++) {
        uint32_t at = off + i;
        bool one = at == VIRTIO_CONSOLE_CFG_MAX_NR_PORTS &&
                   off + w <= VIRTIO_CONSOLE_CFG_SIZE;

        FUZZ_CHECK(v[i] == (one ? 1 : 0));
    }
}

static void con_op(struct con_run *r, uint8_t op)
{
    uint8_t arg = op >> 3;

    switch (op & 7) {
    case 0:
    case 1:
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, op & 1);
        break;
    case 2:
        con_type(r, 1U + arg * 64U);
        break;
    case 3:
        con_drain(r);
        fuzz_mmio_write(
            r->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
            fuzz_mmio_read(r->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS));
        break;
    case 4: /* reset with input half-delivered */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_STATUS, 0);
        if (arg & 1)
            con_start(r);
        break;
    case 5:
        if (arg & 16)
            con_config(r, (uint8_t)(arg & 15) | (uint8_t)(arg << 4));
        else
            fuzz_bump_avail(r->vm, r->q[arg & 1].avail, arg >> 1);
        break;
    case 6:
        con_emerg(r, (uint8_t)(arg * 8 + 3));
        break;
    default:
        con_start(r);
    }
    fuzz_loop_run(r->vm->loop, 8);
}

/* The chardev: the device's ends of two socketpairs. */
static int con_open(struct con_run *r, uint8_t opts, struct chardev *cd)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};

    if ((opts & OPT_IN) &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
        return -errno;
    if ((opts & OPT_OUT) &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) < 0) {
        if (in[0] >= 0)
            close(in[0]), close(in[1]);
        return -errno;
    }
    if (in[0] >= 0)
        fcntl(in[0], F_SETFL, O_NONBLOCK);
    if (out[0] >= 0 && (opts & OPT_SMALL)) {
        int sz = 4096;

        setsockopt(out[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        fcntl(out[0], F_SETFL, O_NONBLOCK); /* else a 4 KiB write blocks */
    }
    if (out[1] >= 0 && (opts & OPT_EPIPE)) {
        close(out[1]);
        out[1] = -1;
    }
    r->in_peer = in[1];
    r->out_peer = out[1];
    r->out_live = out[1] >= 0;
    chardev_init_fds(cd, in[0], out[0]);
    cd->own_in = cd->own_out = true; /* the device closes them */
    return 0;
}

static void con_fuzz(struct con_run *r, struct fz *f)
{
    uint8_t opts = fz_u8(f), ops[NOPS];
    struct chardev cd;
    const uint8_t *img;
    size_t n;

    r->raw = opts & OPT_RAW;
    r->features = fz_u64(f);
    fuzz_queue_from_input(f, &r->q[0], RAM_BASE, RAM_SIZE,
                          VIRTIO_CONSOLE_QUEUE_SIZE);
    fuzz_queue_from_input(f, &r->q[1], RAM_BASE, RAM_SIZE,
                          VIRTIO_CONSOLE_QUEUE_SIZE);
    r->input_len = fz_take(f, fz_u16(f) % 8192, &r->input);
    for (int i = 0; i < NOPS; i++)
        ops[i] = fz_u8(f);
    n = fz_take(f, RAM_SIZE, &img);
    memcpy(r->vm->ram, img, n);
    if (con_open(r, opts, &cd) < 0)
        return;
    if (virtio_console_create_chardev(&r->vm->env, &cd, BASE, IRQ, &r->con) < 0)
        goto out;
    con_start(r);
    for (int i = 0; i < NOPS; i++)
        con_op(r, ops[i]);
    con_op(r, 0);
    con_op(r, 1);
    virtio_console_destroy(r->con);
out:
    if (r->in_peer >= 0)
        close(r->in_peer);
    if (r->out_peer >= 0)
        close(r->out_peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct con_run r; /* 64 KiB buffer: not on the stack */
    struct fz f = {data, size};

    memset(&r, 0, offsetof(struct con_run, buf));
    r.in_peer = r.out_peer = -1;
    r.vm = fake_env_create(RAM_BASE, RAM_SIZE);
    if (!r.vm)
        return 0;
    con_fuzz(&r, &f);
    fake_env_destroy(r.vm);
    return 0;
}
