/* console.c - virtio-console port 0: hvc0 to and from a host chardev. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/backend/chardev.h"
#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define RXQ 0
#define TXQ 1
#define CON_MAX_IOV 64
#define CON_IN_BUF 4096
#define CON_OUT_CHUNK                                                          \
    4096 /* a pipe with POLLOUT takes this without blocking                    \
          */
#define CON_STALL_MS 100
#define CON_TX_BUDGET 256 /* chains per event, then yield to other fds */
/* Bytes of output per event, then likewise: a chain may be 4 GiB (its
 * descriptors may overlap in guest RAM), written in 4 KiB chunks. */
#define CON_TX_BYTES (1U << 20)
#define CON_RX_BUDGET 64 /* chains per delivery, then yield likewise */

enum con_input { IN_NONE, IN_PAUSED, IN_WATCHING, IN_EOF };

struct virtio_console {
    const struct dev_env *env;
    struct virtio_mmio *t;
    struct chardev cd;
    uint8_t config[VIRTIO_CONSOLE_CFG_SIZE]; /* immutable */

    pthread_mutex_t lock; /* below; taken after the transport's */
    bool active;          /* between activate and reset */
    enum con_input input;
    struct event_source in_src;
    struct event_source resume_src; /* eventfd: more transmit work */
    uint8_t inbuf[CON_IN_BUF];      /* [in_off, in_len) not yet delivered */
    size_t in_off, in_len;
    bool out_stalled;
    uint64_t out_dropped;
    struct log_ratelimit rl;
    struct iovec iov[CON_MAX_IOV]; /* receive */

    /* The transmit chain being written out, kept across event-loop turns
     * while (tx_held): readable segment (tx_seg) is done up to (tx_off). */
    bool tx_held;
    struct virtq_elem tx_e;
    unsigned int tx_seg;
    size_t tx_off;
    struct iovec tx_iov[CON_MAX_IOV];
};

/* ---- output ---- */

/* write() without SIGPIPE: block it on this thread for the call, and
 * consume one raised by this write (a SIGPIPE already pending stays). */
static ssize_t con_write_nosig(int fd, const void *buf, size_t len)
{
    sigset_t set, old, pending;
    struct timespec zero = {0, 0};
    bool was_pending;
    ssize_t n;
    int err;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    n = write(fd, buf, len);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending)
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}

/* Waits for room in the output fd: up to CON_STALL_MS once per stall, then
 * not at all until a write gets through again. */
static bool con_out_ready(struct virtio_console *con)
{
    struct pollfd pfd = {.fd = con->cd.out_fd, .events = POLLOUT};
    int n;

    do
        n = poll(&pfd, 1, con->out_stalled ? 0 : CON_STALL_MS);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        return true;
    if (!con->out_stalled && log_ratelimit_ok(&con->rl, 4))
        dev_log(con->env, VMRUN_LOG_WARN,
                "virtio-console: output is not being read; dropping guest "
                "output until it is");
    con->out_stalled = true;
    return false;
}

static void con_out(struct virtio_console *con, const uint8_t *p, size_t len)
{
    while (len && con->cd.out_fd >= 0) {
        size_t chunk = len < CON_OUT_CHUNK ? len : CON_OUT_CHUNK;
        ssize_t n;

        if (!con_out_ready(con))
            break;
        n = con_write_nosig(con->cd.out_fd, p, chunk);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            con->out_stalled = false;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            con->out_stalled = true; /* room was too small: drop the rest */
            break;
        } else {
            dev_log(con->env, VMRUN_LOG_WARN,
                    "virtio-console: cannot write guest output (%s); "
                    "dropping it from now on",
                    n < 0 ? strerror(errno) : "no progress");
            con->cd.out_fd = -1; /* still closed by chardev_close() */
        }
    }
    con->out_dropped += len;
}

static void con_irq(struct virtio_console *con, uint16_t q)
{
    if (virtq_should_notify(virtio_mmio_queue(con->t, q)))
        virtio_mmio_signal_used(con->t);
}

static void con_resume_kick(struct virtio_console *con)
{
    uint64_t one = 1;

    if (write(con->resume_src.fd, &one, sizeof(one)) < 0) {
        /* Counter overflow only: a resume is pending anyway. */
    }
}

/* Writes the held chain on from where it stopped, up to (*bytes) bytes
 * (counted whether written or dropped).  Returns it to the driver and
 * true once all of it is out. */
static bool con_tx_chain(struct virtio_console *con, struct virtq *vq,
                         size_t *bytes)
{
    while (con->tx_seg < con->tx_e.nr_rd) {
        const struct iovec *v = &con->tx_iov[con->tx_seg];
        size_t n = v->iov_len - con->tx_off;

        if (*bytes == 0)
            return false;
        n = n < *bytes ? n : *bytes;
        con_out(con, (const uint8_t *)v->iov_base + con->tx_off, n);
        *bytes -= n;
        con->tx_off += n;
        if (con->tx_off == v->iov_len) {
            con->tx_seg++;
            con->tx_off = 0;
        }
    }
    virtq_push(vq, con->tx_e.head, 0); /* §5.3.6: nothing written */
    con->tx_held = false;
    return true;
}

/* Writes out transmit chains, at most CON_TX_BUDGET chains and
 * CON_TX_BYTES bytes per call; a chain cut short is held and finished on
 * the next call (Linux's hvc driver spins until it comes back, so only
 * the guest that sent it waits). */
static void con_tx(struct virtio_console *con)
{
    struct virtq *vq = virtio_mmio_queue(con->t, TXQ);
    unsigned int budget = CON_TX_BUDGET;
    size_t bytes = CON_TX_BYTES;
    int ret;

    if (con->tx_held && !con_tx_chain(con, vq, &bytes))
        goto again;
    do {
        virtq_disable_notify(vq);
        while ((ret = virtq_pop(vq, &con->tx_e, con->tx_iov, CON_MAX_IOV))) {
            if (ret == -EPROTO) {
                virtio_mmio_set_needs_reset(con->t);
                goto out;
            }
            /* -E2BIG: more segments than we take; returned unwritten. */
            con->tx_seg = ret > 0 ? 0 : con->tx_e.nr_rd;
            con->tx_off = 0;
            con->tx_held = true;
            if (!con_tx_chain(con, vq, &bytes) || --budget == 0)
                goto again;
        }
    } while (virtq_enable_notify(vq));
    goto out;
again:
    con_resume_kick(con); /* notifications stay off */
out:
    con_irq(con, TXQ);
}

/* ---- input ---- */

/* Copies pending input into receive chains.  True if all was delivered.
 * At most CON_RX_BUDGET chains per call (chains without writable room
 * take nothing and would otherwise keep the call going while a guest
 * reposts them): the rest waits for the receiveq's next turn. */
static bool con_rx_deliver(struct virtio_console *con)
{
    struct virtq *vq = virtio_mmio_queue(con->t, RXQ);
    unsigned int budget = CON_RX_BUDGET;
    struct virtq_elem e;
    int ret;

    while (con->in_off < con->in_len) {
        if (budget-- == 0) {
            virtio_mmio_notify_again(con->t, RXQ);
            break;
        }
        ret = virtq_pop(vq, &e, con->iov, CON_MAX_IOV);
        if (ret == 0 && virtq_enable_notify(vq))
            continue; /* buffers arrived while we looked */
        if (ret == 0)
            break;
        if (ret == -EPROTO) {
            virtio_mmio_set_needs_reset(con->t);
            break;
        }
        uint32_t used = 0;
        for (unsigned int i = e.nr_rd; ret > 0 && i < e.nr_rd + e.nr_wr; i++) {
            size_t n = con->in_len - con->in_off;

            n = n < con->iov[i].iov_len ? n : con->iov[i].iov_len;
            memcpy(con->iov[i].iov_base, con->inbuf + con->in_off, n);
            con->in_off += n;
            used += (uint32_t)n;
        }
        virtq_push(vq, e.head, used);
    }
    con_irq(con, RXQ);
    if (con->in_off < con->in_len)
        return false;
    con->in_off = con->in_len = 0;
    return true;
}

static void con_input_watch(struct virtio_console *con, bool on)
{
    struct event_loop *loop = con->env->loop;

    if (on && con->input == IN_PAUSED) {
        if (event_loop_add(loop, &con->in_src, EPOLLIN) == 0)
            con->input = IN_WATCHING;
    } else if (!on && con->input == IN_WATCHING) {
        /* Unwatch rather than watch for no events: EPOLLHUP would still be
         * reported and spin the loop. */
        event_loop_del(loop, &con->in_src);
        con->input = IN_PAUSED;
    }
}

static void con_input_end(struct virtio_console *con, const char *why)
{
    con_input_watch(con, false);
    con->input = IN_EOF;
    dev_log(con->env, VMRUN_LOG_INFO, "virtio-console: guest input ends: %s",
            why);
}

/* Reads one buffer's worth; the fd is level-triggered, so what is left
 * brings us back. */
static void con_input_read(struct virtio_console *con)
{
    ssize_t n;

    do
        n = read(con->in_src.fd, con->inbuf, sizeof(con->inbuf));
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        con->in_off = 0;
        con->in_len = (size_t)n;
    } else if (n == 0) {
        con_input_end(con, "end of file");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        con_input_end(con, strerror(errno));
    }
}

static void con_input_ready(void *opaque, uint32_t events)
{
    struct virtio_console *con = opaque;

    (void)events; /* EPOLLHUP/ERR: read() reports EOF or the error */
    pthread_mutex_lock(&con->lock);
    if (con->input == IN_WATCHING && con->active) {
        if (con_rx_deliver(con))
            con_input_read(con);
        if (con->input == IN_WATCHING && !con_rx_deliver(con))
            con_input_watch(con, false); /* no buffers: until the next kick */
    } else {
        con_input_watch(con, false);
    }
    pthread_mutex_unlock(&con->lock);
}

/* ---- transport ops ---- */

static void con_queue_notify(void *dev, uint16_t q)
{
    struct virtio_console *con = dev;

    pthread_mutex_lock(&con->lock);
    if (con->active && q == TXQ)
        con_tx(con);
    else if (con->active && q == RXQ && con_rx_deliver(con))
        con_input_watch(con, true);
    pthread_mutex_unlock(&con->lock);
}

static void con_resume(void *opaque, uint32_t events)
{
    struct virtio_console *con = opaque;
    uint64_t n;

    (void)events;
    if (read(con->resume_src.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    con_queue_notify(con, TXQ);
}

static uint64_t con_features(void *dev)
{
    (void)dev;
    return VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
}

static void con_config_read(void *dev, uint32_t off, uint8_t *data,
                            uint32_t size)
{
    const struct virtio_console *con = dev;

    memcpy(data, con->config + off, size); /* bounds: the transport */
}

/* emerg_wr (§5.3.4): the low byte of a write is one output character. */
static void con_config_write(void *dev, uint32_t off, const uint8_t *data,
                             uint32_t size)
{
    struct virtio_console *con = dev;

    if (off != VIRTIO_CONSOLE_CFG_EMERG_WR || size == 0)
        return;
    pthread_mutex_lock(&con->lock);
    con_out(con, data, 1);
    pthread_mutex_unlock(&con->lock);
}

static int con_activate(void *dev, uint64_t features)
{
    struct virtio_console *con = dev;

    (void)features;
    pthread_mutex_lock(&con->lock);
    con->active = true; /* input is watched from the first receiveq kick */
    pthread_mutex_unlock(&con->lock);
    return 0;
}

/* Pending input is kept for the next driver: nothing typed is lost. */
static void con_reset(void *dev)
{
    struct virtio_console *con = dev;

    pthread_mutex_lock(&con->lock);
    con->active = false;
    con->tx_held = false; /* its ring is gone */
    con_input_watch(con, false);
    pthread_mutex_unlock(&con->lock);
}

static const struct virtio_device_ops con_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_max = VIRTIO_CONSOLE_QUEUE_SIZE,
    .config_len = VIRTIO_CONSOLE_CFG_SIZE,
    .features = con_features,
    .config_read = con_config_read,
    .config_write = con_config_write,
    .activate = con_activate,
    .queue_notify = con_queue_notify,
    .reset = con_reset,
};

/* ---- lifecycle ---- */

static int con_init(struct virtio_console *con)
{
    uint32_t one = htole32(1);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int ret;

    if (fd < 0)
        return -errno;
    memcpy(con->config + VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, &one, 4);
    con->input = con->cd.in_fd >= 0 ? IN_PAUSED : IN_NONE;
    con->in_src = (struct event_source){con->cd.in_fd, con_input_ready, con};
    con->resume_src = (struct event_source){fd, con_resume, con};
    ret = event_loop_add(con->env->loop, &con->resume_src, EPOLLIN);
    if (ret < 0) {
        close(fd);
        con->resume_src.fd = -1;
        return ret;
    }
    return 0;
}

int virtio_console_create_chardev(const struct dev_env *env,
                                  const struct chardev *cd, gpa_t base,
                                  uint32_t irq, struct virtio_console **out)
{
    struct virtio_console *con = calloc(1, sizeof(*con));
    int ret;

    if (!con) {
        struct chardev tmp = *cd;

        chardev_close(&tmp);
        return -ENOMEM;
    }
    con->env = env;
    con->cd = *cd;
    con->resume_src.fd = -1;
    pthread_mutex_init(&con->lock, NULL);
    ret = con_init(con);
    if (ret == 0)
        ret = virtio_mmio_create(env, base, irq, &con_ops, con, &con->t);
    if (ret < 0) {
        virtio_console_destroy(con);
        return ret;
    }
    *out = con;
    return 0;
}

int virtio_console_create(const struct dev_env *env,
                          const struct console_config *cfg, gpa_t base,
                          uint32_t irq, struct virtio_console **out)
{
    struct chardev cd;
    int ret = chardev_open(&cd, cfg, env->log, "vmrun.virtio-console");

    if (ret < 0)
        return ret;
    if (cd.pty_path[0])
        dev_log(env, VMRUN_LOG_WARN, "virtio-console: pty is %s", cd.pty_path);
    return virtio_console_create_chardev(env, &cd, base, irq, out);
}

const char *virtio_console_pty_path(const struct virtio_console *con)
{
    return con->cd.pty_path[0] ? con->cd.pty_path : NULL;
}

uint64_t virtio_console_dropped(struct virtio_console *con)
{
    uint64_t n;

    pthread_mutex_lock(&con->lock);
    n = con->out_dropped;
    pthread_mutex_unlock(&con->lock);
    return n;
}

void virtio_console_destroy(struct virtio_console *con)
{
    if (!con)
        return;
    con_input_watch(con, false); /* the loop has stopped: safe here */
    if (con->resume_src.fd >= 0) {
        event_loop_del(con->env->loop, &con->resume_src);
        close(con->resume_src.fd);
    }
    virtio_mmio_destroy(con->t);
    chardev_close(&con->cd);
    pthread_mutex_destroy(&con->lock);
    free(con);
}

/* ---- snapshots ---- */

static int console_ops_save(void *dev, struct snap_buf *b)
{
    struct virtio_console *con = dev;

    struct virtq *vq = virtio_mmio_queue(con->t, TXQ);
    size_t bytes = CON_TX_BYTES;

    /* A chain held half-written is returned now, so the snapshot holds
     * none: one more turn's worth of it is written, the rest dropped. */
    pthread_mutex_lock(&con->lock);
    if (con->tx_held && con->active && !con_tx_chain(con, vq, &bytes)) {
        for (unsigned int i = con->tx_seg; i < con->tx_e.nr_rd; i++)
            con->out_dropped += con->tx_iov[i].iov_len;
        con->out_dropped -= con->tx_off;
        con->tx_seg = con->tx_e.nr_rd;
        (void)con_tx_chain(con, vq, &bytes);
    }
    if (con->active)
        con_irq(con, TXQ);
    pthread_mutex_unlock(&con->lock);
    return virtio_mmio_save(con->t, b);
}

static int console_ops_load(void *dev, struct snap_rd *r)
{
    struct virtio_console *con = dev;

    return virtio_mmio_load(con->t, r);
}

/* ---- the VM's view: device_ops ---- */

static void console_ops_destroy(void *dev)
{
    virtio_console_destroy(dev);
}

const struct device_ops virtio_console_device_ops = {
    .name = "virtio-console",
    .save = console_ops_save,
    .load = console_ops_load,
    .destroy = console_ops_destroy,
};
