/* fuzz_net.c - libFuzzer harness for virtio-net receive and transmit
 * (devices/virtio/net.c over virtio-mmio and the queue walker) on a fake
 * tap: a SOCK_SEQPACKET socketpair, one frame per message, vnet header
 * first, as tests/unit/test_net.c uses.
 *
 * The input: the MTU, the features the driver accepts, both queues, up to
 * four frames the "host" sends, a script of driver actions (kicks, frames
 * arriving, resets, new avail entries) and the contents of guest RAM.
 *
 * Checked beyond the sanitizers: the tap gets exactly the frames the
 * device counts as sent, each no longer than a tap takes, and the device
 * never counts more frames received (or dropped) than were sent to it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x10000ULL
#define BASE 0xd0000000ULL
#define IRQ 7
#define NOPS 12
#define NFRAMES 4
#define FRAME_BIG (VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX + 64)

struct net_run {
    struct fake_env *vm;
    struct virtio_net *net;
    int peer;
    struct fuzz_queue q[2];
    uint64_t features;
    int raw;
    const uint8_t *frame[NFRAMES];
    size_t frame_len[NFRAMES];
    unsigned int nframes, sent;
    uint64_t received; /* frames the peer read */
    uint8_t *buf;      /* FRAME_BIG bytes */
};

static void net_start(struct net_run *r)
{
    (void)fuzz_mmio_start(r->vm, BASE, r->features, r->raw, r->q, 2);
}

/* The host side: takes what the device transmitted. */
static void peer_drain(struct net_run *r)
{
    ssize_t n;

    while ((n = recv(r->peer, r->buf, FRAME_BIG, MSG_DONTWAIT)) >= 0) {
        FUZZ_CHECK(n <= VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX);
        r->received++;
    }
}

/* The host sends frame (i): a slice of the input, or a frame too big for
 * any buffer when its length asks for it. */
static void peer_send(struct net_run *r, unsigned int i)
{
    const void *p = r->frame[i];
    size_t len = r->frame_len[i];

    if (len == 0) {
        memset(r->buf, 0x5a, FRAME_BIG);
        p = r->buf;
        len = VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX;
    }
    if (send(r->peer, p, len, MSG_DONTWAIT) == (ssize_t)len)
        r->sent++;
}

static void net_op(struct net_run *r, uint8_t op)
{
    uint8_t arg = op >> 3;

    switch (op & 7) {
    case 0:
    case 1:
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, op & 1);
        break;
    case 2:
        if (r->nframes)
            peer_send(r, arg % r->nframes);
        break;
    case 3:
        peer_drain(r);
        break;
    case 4: /* reset with frames possibly half-received */
        fuzz_mmio_write(r->vm, BASE, VIRTIO_MMIO_STATUS, 0);
        if (arg & 1)
            net_start(r);
        break;
    case 5:
        fuzz_bump_avail(r->vm, r->q[arg & 1].avail, arg >> 1);
        break;
    case 6:
        fuzz_mmio_write(
            r->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
            fuzz_mmio_read(r->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS));
        break;
    default:
        net_start(r);
    }
    fuzz_loop_run(r->vm->loop, 8);
}

static void net_read_input(struct net_run *r, struct fz *f, uint8_t *ops,
                           struct net_config *cfg)
{
    uint8_t opts = fz_u8(f);
    const uint8_t *img;
    size_t n;

    cfg->mtu = opts & 1 ? 68 + fz_u16(f) % (65536 - 68) : 0;
    r->raw = opts & 2;
    cfg->tx_coalesce_us = opts & 4 ? 1 : 0; /* timer passes, or kicks only */
    r->features = fz_u64(f);
    fuzz_queue_from_input(f, &r->q[0], RAM_BASE, RAM_SIZE,
                          VIRTIO_NET_QUEUE_SIZE);
    fuzz_queue_from_input(f, &r->q[1], RAM_BASE, RAM_SIZE,
                          VIRTIO_NET_QUEUE_SIZE);
    r->nframes = fz_u8(f) % (NFRAMES + 1);
    for (unsigned int i = 0; i < r->nframes; i++) {
        /* 0: the oversized frame of peer_send(). */
        r->frame_len[i] = fz_take(f, fz_u16(f) % 2048, &r->frame[i]);
    }
    for (int i = 0; i < NOPS; i++)
        ops[i] = fz_u8(f);
    n = fz_take(f, RAM_SIZE, &img);
    memcpy(r->vm->ram, img, n);
}

static void net_fuzz(struct net_run *r, struct fz *f)
{
    struct net_config cfg = {.iface_id = "eth0",
                             .host_dev_name = "fuzz0",
                             .has_mac = true,
                             .guest_mac = {0x06, 0, 0xac, 0x10, 0, 2}};
    struct virtio_net_stats st;
    uint8_t ops[NOPS];
    int sv[2];

    net_read_input(r, f, ops, &cfg);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    r->peer = sv[1];
    if (virtio_net_create_fd(&r->vm->env, &cfg, sv[0], false, BASE, IRQ,
                             &r->net) < 0) {
        close(r->peer);
        return;
    }
    net_start(r);
    for (int i = 0; i < NOPS; i++)
        net_op(r, ops[i]);
    net_op(r, 0);
    net_op(r, 1);
    peer_drain(r);
    virtio_net_get_stats(r->net, &st);
    FUZZ_CHECK(st.tx_packets == r->received);
    FUZZ_CHECK(st.rx_packets + st.rx_dropped <= r->sent);
    virtio_net_destroy(r->net);
    close(r->peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct net_run r = {.vm = fake_env_create(RAM_BASE, RAM_SIZE),
                        .buf = malloc(FRAME_BIG)};

    if (r.vm && r.buf)
        net_fuzz(&r, &f);
    if (r.vm)
        fake_env_destroy(r.vm);
    free(r.buf);
    return 0;
}
