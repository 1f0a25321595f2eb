/* serial8250.c - a 16550A UART: the registers, FIFO and interrupts Linux's
 * 8250 driver (drivers/tty/serial/8250) probes and uses.
 *
 * Register semantics follow the TI/National PC16550D datasheet ("16550");
 * the notes name its sections.  Output is instantaneous, so THR and the
 * transmitter are always empty: LSR reads THRE|TEMT, and every THR write
 * re-arms the THRE interrupt at once.
 *
 * Guest output is buffered and written to out_fd on '\n', when the buffer
 * fills, on any IER write (Linux's console write restores IER when done and
 * its tty path clears IER.THRI when the queue is empty, so prompts without a
 * newline still appear) and at destroy.  Host input is read from in_fd on
 * the event loop, never more than fits in the RX FIFO: when it is full the
 * fd is no longer watched until the guest drains the FIFO. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/serial8250.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define SERIAL_NR_REGS 8
#define SERIAL_FIFO_SIZE 16
#define SERIAL_OUT_SIZE 256
#define SERIAL_STALL_MS 1000 /* longest wait for a full non-blocking out_fd */

enum serial_reg {
    REG_RBR_THR = 0, /* DLL when LCR.DLAB */
    REG_IER = 1,     /* DLM when LCR.DLAB */
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IER_MASK 0x0f /* bits 4-7 read as 0 on a 16550A (Linux checks) */

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08 /* gates the IRQ line on PC hardware */
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_TERI 0x04
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

enum serial_input {
    INPUT_OFF,      /* no in_fd, or it reached EOF or failed */
    INPUT_WATCHING, /* registered on the event loop */
    INPUT_PAUSED,   /* RX FIFO full: removed until the guest drains it */
};

enum serial_out_kind {
    OUT_PLAIN,  /* tty, regular file: no SIGPIPE possible */
    OUT_FIFO,   /* pipe: block SIGPIPE around writes */
    OUT_SOCKET, /* send(MSG_NOSIGNAL) */
};

struct serial {
    const struct dev_env *env;
    pthread_mutex_t lock; /* vCPU threads and the event-loop thread */
    struct event_source input;
    enum serial_input input_state;
    uint32_t irq;
    int line; /* last level given to dev_irq_line() */
    int out_fd;
    enum serial_out_kind out_kind;
    bool out_stalled; /* last flush timed out: do not wait again */

    uint8_t ier, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm;
    bool fifo_on;
    uint8_t rx_trigger; /* FCR bits 7:6 as a byte count */
    bool thre_pending;  /* the THRE interrupt condition (16550 §8.4) */

    uint8_t rx[SERIAL_FIFO_SIZE];
    unsigned int rx_head, rx_count;
    uint8_t out[SERIAL_OUT_SIZE];
    size_t out_len;
    struct log_ratelimit rl;
};

static const uint8_t serial_triggers[4] = {1, 4, 8, 14};

/* ---- interrupts ---- */

/* The IIR interrupt identification, highest priority first (16550
 * Table 4): line status, received data, THR empty, modem status. */
static uint8_t serial_iir_id(const struct serial *s)
{
    if ((s->ier & IER_RLSI) && s->lsr_err)
        return IIR_RLSI;
    if ((s->ier & IER_RDI) && s->rx_count) {
        /* Below the trigger level a 16550 reports a character timeout;
         * input arrives in bursts, so the timeout is taken as expired. */
        if (s->fifo_on && s->rx_count < s->rx_trigger)
            return IIR_TIMEOUT;
        return IIR_RDI;
    }
    if ((s->ier & IER_THRI) && s->thre_pending)
        return IIR_THRI;
    if ((s->ier & IER_MSI) && s->msr_delta)
        return IIR_MSI;
    return IIR_NONE;
}

/* The IOAPIC pin is edge-triggered: the line follows "interrupt pending"
 * so that each new condition after the guest cleared the last one is a
 * 0->1 edge.  OUT2 gates the line as on PC hardware. */
static void serial_update_irq(struct serial *s)
{
    int level = (s->mcr & MCR_OUT2) && serial_iir_id(s) != IIR_NONE;

    if (level == s->line)
        return;
    s->line = level;
    if (dev_irq_line(s->env, s->irq, level) < 0 && log_ratelimit_ok(&s->rl, 4))
        dev_log(s->env, VMRUN_LOG_WARN, "serial: cannot set IRQ %u",
                (unsigned int)s->irq);
}

/* ---- output ---- */

static ssize_t serial_write_fifo(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    struct timespec zero = {0, 0};
    bool was_pending;
    ssize_t n;
    int err;

    /* A pipe whose reader is gone must give EPIPE, not kill the embedder
     * with SIGPIPE; a SIGPIPE raised here is consumed before unblocking. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    n = write(fd, buf, len);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending)
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}

static ssize_t serial_write_out(struct serial *s, size_t off)
{
    const uint8_t *p = s->out + off;
    size_t len = s->out_len - off;

    switch (s->out_kind) {
    case OUT_FIFO:
        return serial_write_fifo(s->out_fd, p, len);
    case OUT_SOCKET:
        return send(s->out_fd, p, len, MSG_NOSIGNAL);
    default:
        return write(s->out_fd, p, len);
    }
}

/* A non-blocking out_fd whose reader is slow: wait a bounded time, once,
 * so a reader that stopped reading cannot hang the vCPUs. */
static bool serial_wait_writable(struct serial *s)
{
    struct pollfd pfd = {.fd = s->out_fd, .events = POLLOUT};

    if (s->out_stalled)
        return false;
    if (poll(&pfd, 1, SERIAL_STALL_MS) > 0 && (pfd.revents & POLLOUT))
        return true;
    s->out_stalled = true;
    if (log_ratelimit_ok(&s->rl, 4)) /* a reader may stall again and again */
        dev_log(s->env, VMRUN_LOG_WARN,
                "serial: output is not being read; "
                "dropping guest output until it is");
    return false;
}

static void serial_flush(struct serial *s)
{
    size_t off = 0;

    while (off < s->out_len && s->out_fd >= 0) {
        ssize_t n = serial_write_out(s, off);

        if (n > 0) {
            off += (size_t)n;
            s->out_stalled = false;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!serial_wait_writable(s))
                break;
        } else {
            dev_log(s->env, VMRUN_LOG_WARN,
                    "serial: cannot write guest output (%s); dropping it",
                    n < 0 ? strerror(errno) : "short write");
            s->out_fd = -1;
        }
    }
    s->out_len = 0;
}

static void serial_put_out(struct serial *s, uint8_t c)
{
    if (s->out_fd < 0)
        return;
    s->out[s->out_len++] = c;
    if (c == '\n' || s->out_len == sizeof(s->out))
        serial_flush(s);
}

/* ---- receive FIFO and input ---- */

static unsigned int serial_rx_space(const struct serial *s)
{
    unsigned int cap = s->fifo_on ? SERIAL_FIFO_SIZE : 1;

    return s->rx_count < cap ? cap - s->rx_count : 0;
}

static void serial_rx_push(struct serial *s, uint8_t c)
{
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
    s->rx_count++;
}

/* Called with the RX FIFO just emptied or cleared: watch in_fd again. */
static void serial_input_resume(struct serial *s)
{
    int ret;

    if (s->input_state != INPUT_PAUSED || s->rx_count)
        return;
    ret = event_loop_add(s->env->loop, &s->input, EPOLLIN);
    if (ret < 0) {
        dev_log(s->env, VMRUN_LOG_WARN, "serial: input stopped: %s",
                strerror(-ret));
        s->input_state = INPUT_OFF;
        return;
    }
    s->input_state = INPUT_WATCHING;
}

static void serial_rx_clear(struct serial *s)
{
    s->rx_head = s->rx_count = 0;
    serial_input_resume(s);
}

static uint8_t serial_rx_pop(struct serial *s)
{
    uint8_t c;

    if (!s->rx_count)
        return 0;
    c = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
    s->rx_count--;
    serial_input_resume(s);
    return c;
}

static size_t serial_inject_locked(struct serial *s, const uint8_t *buf,
                                   size_t len)
{
    size_t n = serial_rx_space(s);

    if (n > len)
        n = len;
    for (size_t i = 0; i < n; i++)
        serial_rx_push(s, buf[i]);
    if (n)
        serial_update_irq(s);
    return n;
}

int serial_inject(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = serial_inject_locked(s, buf, len);
    pthread_mutex_unlock(&s->lock);
    return (int)n;
}

static void serial_input_stop(struct serial *s, const char *why)
{
    event_loop_del(s->env->loop, &s->input);
    s->input_state = INPUT_OFF;
    dev_log(s->env, VMRUN_LOG_INFO, "serial: guest input ends: %s", why);
}

/* Reads at most what fits in the FIFO: the rest stays in the fd, which
 * is level-triggered, so nothing is lost.  FIONREAD keeps a blocking fd
 * (a terminal we must not make O_NONBLOCK) from blocking the loop. */
static void serial_input_read(struct serial *s)
{
    uint8_t buf[SERIAL_FIFO_SIZE];
    size_t want = serial_rx_space(s);
    int avail;
    ssize_t n;

    if (ioctl(s->input.fd, FIONREAD, &avail) == 0 && avail > 0 &&
        (size_t)avail < want)
        want = (size_t)avail;
    do
        n = read(s->input.fd, buf, want);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        serial_inject_locked(s, buf, (size_t)n);
    else if (n == 0)
        serial_input_stop(s, "end of file");
    else if (errno != EAGAIN && errno != EWOULDBLOCK)
        serial_input_stop(s, strerror(errno));
}

static void serial_input_ready(void *opaque, uint32_t events)
{
    struct serial *s = opaque;

    (void)events; /* EPOLLHUP/ERR: read() reports EOF or the error */
    pthread_mutex_lock(&s->lock);
    if (s->input_state == INPUT_WATCHING && serial_rx_space(s))
        serial_input_read(s);
    /* Unwatch rather than set no events: EPOLLHUP is reported even then
     * and would spin the loop. */
    if (s->input_state == INPUT_WATCHING && !serial_rx_space(s)) {
        event_loop_del(s->env->loop, &s->input);
        s->input_state = INPUT_PAUSED;
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- registers ---- */

/* MSR bits 7:4.  In loopback (16550 §8.6) they follow the MCR outputs;
 * otherwise a peer is always connected and ready, so the driver's flow
 * control never stalls. */
static uint8_t serial_msr_lines(uint8_t mcr)
{
    if (!(mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    return (mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) |
           (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
    uint8_t old = serial_msr_lines(s->mcr), now;

    s->mcr = val & MCR_MASK;
    now = serial_msr_lines(s->mcr);
    /* Delta bits: any change of CTS, DSR, DCD; RI only on its trailing
     * edge (TERI). */
    s->msr_delta |= ((old ^ now) >> 4) & ~MSR_TERI & 0x0f;
    s->msr_delta |= ((old & ~now & MSR_RI) >> 4);
}

static void serial_write_thr(struct serial *s, uint8_t val)
{
    /* Writing THR clears the THRE interrupt; the byte leaves at once and
     * the now-empty THR raises it again: a fresh edge (16550 §8.4). */
    s->thre_pending = false;
    serial_update_irq(s);
    if (!(s->mcr & MCR_LOOP))
        serial_put_out(s, val);
    else if (serial_rx_space(s))
        serial_rx_push(s, val);
    else
        s->lsr_err |= LSR_OE;
    s->thre_pending = true;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
    uint8_t old = s->ier;

    s->ier = val & IER_MASK;
    /* Linux's THRE test and start_tx rely on this: enabling the THRE
     * interrupt while THR is empty raises it. */
    if ((s->ier & IER_THRI) && !(old & IER_THRI))
        s->thre_pending = true;
    serial_flush(s);
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
    bool on = val & FCR_ENABLE;

    /* Changing the enable bit resets both FIFOs (16550 §8.5). */
    if (on != s->fifo_on || (on && (val & FCR_CLEAR_RX)))
        serial_rx_clear(s);
    s->fifo_on = on;
    if (on)
        s->rx_trigger = serial_triggers[val >> 6];
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t val)
{
    bool dlab = s->lcr & LCR_DLAB;

    switch (reg) {
    case REG_RBR_THR:
        if (dlab)
            s->dll = val;
        else
            serial_write_thr(s, val);
        break;
    case REG_IER:
        if (dlab)
            s->dlm = val;
        else
            serial_write_ier(s, val);
        break;
    case REG_IIR_FCR:
        serial_write_fcr(s, val);
        break;
    case REG_LCR:
        s->lcr = val;
        break;
    case REG_MCR:
        serial_write_mcr(s, val);
        break;
    case REG_SCR:
        s->scr = val;
        break;
    default: /* LSR and MSR writes are factory-test only: ignored */
        break;
    }
}

static uint8_t serial_read_iir(struct serial *s)
{
    uint8_t id = serial_iir_id(s);

    /* Reading IIR while it reports THRE clears that condition. */
    if (id == IIR_THRI)
        s->thre_pending = false;
    return id | (s->fifo_on ? IIR_FIFO_ON : 0);
}

static uint8_t serial_read_lsr(struct serial *s)
{
    uint8_t lsr = LSR_THRE | LSR_TEMT | s->lsr_err;

    if (s->rx_count)
        lsr |= LSR_DR;
    s->lsr_err = 0; /* error bits clear on read */
    return lsr;
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t v;

    switch (reg) {
    case REG_RBR_THR:
        return dlab ? s->dll : serial_rx_pop(s);
    case REG_IER:
        return dlab ? s->dlm : s->ier;
    case REG_IIR_FCR:
        return serial_read_iir(s);
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        return serial_read_lsr(s);
    case REG_MSR:
        v = serial_msr_lines(s->mcr) | s->msr_delta;
        s->msr_delta = 0;
        return v;
    default:
        return s->scr;
    }
}

/* Wider accesses are split into byte accesses to consecutive registers,
 * as the ISA bus does; the bus keeps them inside the 8-port range. */
static void serial_pio_read(void *opaque, uint64_t offset, uint8_t *data,
                            uint32_t size)
{
    struct serial *s = opaque;

    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < size; i++)
        data[i] = serial_read_reg(s, (unsigned int)(offset + i) & 7);
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static void serial_pio_write(void *opaque, uint64_t offset, const uint8_t *data,
                             uint32_t size)
{
    struct serial *s = opaque;

    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < size; i++) {
        serial_write_reg(s, (unsigned int)(offset + i) & 7, data[i]);
        serial_update_irq(s);
    }
    pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = {
    .read = serial_pio_read,
    .write = serial_pio_write,
};

/* ---- lifecycle ---- */

static enum serial_out_kind serial_out_kind_of(int fd)
{
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return OUT_PLAIN;
    if (S_ISFIFO(st.st_mode))
        return OUT_FIFO;
    return S_ISSOCK(st.st_mode) ? OUT_SOCKET : OUT_PLAIN;
}

static int serial_watch_input(struct serial *s, int fd)
{
    int ret;

    s->input = (struct event_source){fd, serial_input_ready, s};
    ret = event_loop_add(s->env->loop, &s->input, EPOLLIN);
    if (ret == -EPERM) {
        /* Regular files and /dev/null cannot be polled: no input. */
        dev_log(s->env, VMRUN_LOG_INFO,
                "serial: input fd cannot be watched; guest input disabled");
        return 0;
    }
    if (ret == 0)
        s->input_state = INPUT_WATCHING;
    return ret;
}

int serial_create(const struct dev_env *env, const struct serial_config *cfg,
                  struct serial **out)
{
    struct serial *s;
    int ret;

    if (cfg->port > 0x10000 - SERIAL_NR_REGS)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->env = env;
    s->irq = cfg->irq;
    s->out_fd = cfg->out_fd;
    s->out_kind = serial_out_kind_of(cfg->out_fd);
    s->dll = 1; /* 115200 baud */
    s->rx_trigger = 1;
    s->thre_pending = false;
    ret = pthread_mutex_init(&s->lock, NULL);
    if (ret) {
        free(s);
        return -ret;
    }
    if (cfg->in_fd >= 0)
        ret = serial_watch_input(s, cfg->in_fd);
    if (ret == 0)
        ret = bus_register(env->pio, cfg->port, SERIAL_NR_REGS, &serial_ops, s);
    if (ret < 0) {
        /* The loop is not running yet, so unwatching here is safe. */
        if (s->input_state == INPUT_WATCHING)
            event_loop_del(env->loop, &s->input);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void serial_destroy(struct serial *s)
{
    if (!s)
        return;
    serial_flush(s);
    if (s->input_state == INPUT_WATCHING)
        event_loop_del(s->env->loop, &s->input);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- snapshots ---- */

int serial_save(struct serial *s, struct snap_buf *b)
{
    pthread_mutex_lock(&s->lock);
    serial_flush(s);
    sb_put_u8(b, s->ier);
    sb_put_u8(b, s->lcr);
    sb_put_u8(b, s->mcr);
    sb_put_u8(b, s->lsr_err);
    sb_put_u8(b, s->msr_delta);
    sb_put_u8(b, s->scr);
    sb_put_u8(b, s->dll);
    sb_put_u8(b, s->dlm);
    sb_put_u8(b, s->fifo_on);
    sb_put_u8(b, s->rx_trigger);
    sb_put_u8(b, s->thre_pending);
    sb_put_u8(b, (uint8_t)s->line);
    sb_put_u8(b, (uint8_t)s->rx_count);
    for (unsigned int i = 0; i < s->rx_count; i++)
        sb_put_u8(b, s->rx[(s->rx_head + i) % SERIAL_FIFO_SIZE]);
    pthread_mutex_unlock(&s->lock);
    return b->err;
}

static bool serial_trigger_ok(uint8_t t)
{
    for (unsigned int i = 0; i < sizeof(serial_triggers); i++)
        if (serial_triggers[i] == t)
            return true;
    return false;
}

int serial_load(struct serial *s, struct snap_rd *r)
{
    uint8_t v[13];

    sr_bytes(r, v, sizeof(v));
    if (r->err || v[12] > SERIAL_FIFO_SIZE || !serial_trigger_ok(v[9]) ||
        v[8] > 1 || v[10] > 1 || v[11] > 1)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    s->ier = v[0] & IER_MASK;
    s->lcr = v[1];
    s->mcr = v[2] & MCR_MASK;
    s->lsr_err = v[3] & LSR_OE;
    s->msr_delta = v[4] & 0x0f;
    s->scr = v[5];
    s->dll = v[6];
    s->dlm = v[7];
    s->fifo_on = v[8];
    s->rx_trigger = v[9];
    s->thre_pending = v[10];
    s->rx_head = 0;
    s->rx_count = v[12];
    sr_bytes(r, s->rx, s->rx_count);
    /* KVM's idea of the line starts low in a new VM: raise it again. */
    s->line = 0;
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return r->err ? -EINVAL : 0;
}
