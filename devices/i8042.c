/* i8042.c - the PS/2 keyboard controller: the probe commands Linux's i8042
 * and atkbd drivers issue, the reset line, and Ctrl-Alt-Del.
 *
 * No keyboard or mouse is really attached: the keyboard answers the
 * commands a driver sends at probe, and the only key presses ever sent are
 * the Ctrl-Alt-Del of i8042_send_ctrl_alt_del().  Command numbers and bits
 * follow the IBM PC AT Technical Reference ("8042 commands") as Linux's
 * drivers/input/serio/i8042.h names them. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define I8042_PORT_DATA 0x60
#define I8042_PORT_CMD 0x64
#define I8042_IRQ_KBD 1
#define I8042_IRQ_AUX 12
#define I8042_QUEUE 16

/* Status register. */
#define STR_OBF 0x01     /* output buffer full */
#define STR_SYS 0x04     /* system flag: self test passed */
#define STR_CMD 0x08     /* last write went to the command port */
#define STR_UNLOCK 0x10  /* keyboard not inhibited */
#define STR_AUXDATA 0x20 /* output buffer holds aux data */

/* Controller configuration byte ("CTR"). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40 /* translate to scancode set 1 */

/* A queued byte: bit 8 marks aux (mouse) data. */
#define Q_AUX 0x100

struct i8042 {
    const struct dev_env *env;
    pthread_mutex_t lock; /* vCPU threads and i8042_send_ctrl_alt_del() */
    uint8_t ctr;
    uint8_t last_out; /* what a data read returns when the queue is empty */
    uint8_t ctl_cmd;  /* controller command waiting for its data byte */
    uint8_t kbd_cmd;  /* keyboard command waiting for its parameter */
    bool last_was_cmd;
    uint16_t q[I8042_QUEUE];
    unsigned int q_head, q_count;
    int line_kbd, line_aux;
    struct log_ratelimit rl;
};

static void i8042_set_line(struct i8042 *k, uint32_t irq, int *line, int lvl)
{
    if (*line == lvl)
        return;
    *line = lvl;
    if (dev_irq_line(k->env, irq, lvl) < 0 && log_ratelimit_ok(&k->rl, 4))
        dev_log(k->env, VMRUN_LOG_WARN, "i8042: cannot set IRQ %u",
                (unsigned int)irq);
}

/* IRQ 1 (or 12 for aux data) follows "output buffer full", gated by the
 * CTR interrupt enables, as the 8042's OBF pins do. */
static void i8042_update_irq(struct i8042 *k)
{
    bool full = k->q_count != 0;
    bool aux = full && (k->q[k->q_head] & Q_AUX);

    i8042_set_line(k, I8042_IRQ_KBD, &k->line_kbd,
                   full && !aux && (k->ctr & CTR_KBDINT));
    i8042_set_line(k, I8042_IRQ_AUX, &k->line_aux,
                   aux && (k->ctr & CTR_AUXINT));
}

static int i8042_queue(struct i8042 *k, uint16_t byte)
{
    if (k->q_count == I8042_QUEUE)
        return -ENOSPC;
    k->q[(k->q_head + k->q_count) % I8042_QUEUE] = byte;
    k->q_count++;
    return 0;
}

/* Replies are at most three bytes into a 16-byte queue that a driver
 * drains before its next command; a guest that never reads loses them. */
static void i8042_reply(struct i8042 *k, const uint8_t *bytes, unsigned n)
{
    for (unsigned int i = 0; i < n; i++)
        if (i8042_queue(k, bytes[i]) < 0)
            return;
}

/* A byte written to port 0x60 with no controller command pending goes to
 * the keyboard (PS/2 keyboard command set). */
static void i8042_kbd_write(struct i8042 *k, uint8_t val)
{
    static const uint8_t ack = 0xfa, reset[] = {0xfa, 0xaa},
                         ident[] = {0xfa, 0xab, 0x83}, echo = 0xee,
                         resend = 0xfe;

    if (k->kbd_cmd) { /* the parameter of 0xed, 0xf0 or 0xf3 */
        static const uint8_t set2[] = {0xfa, 0x02};

        i8042_reply(k, set2, k->kbd_cmd == 0xf0 && val == 0 ? 2 : 1);
        k->kbd_cmd = 0;
        return;
    }
    switch (val) {
    case 0xff: /* reset: ack, then "self test passed" */
        i8042_reply(k, reset, sizeof(reset));
        break;
    case 0xf2: /* identify: an MF2 keyboard */
        i8042_reply(k, ident, sizeof(ident));
        break;
    case 0xed: /* set LEDs, scancode set, typematic rate: a parameter */
    case 0xf0:
    case 0xf3:
        k->kbd_cmd = val;
        i8042_reply(k, &ack, 1);
        break;
    case 0xee:
        i8042_reply(k, &echo, 1);
        break;
    default: /* enable, disable, defaults and the rest of 0xf4..0xfe */
        i8042_reply(k, val >= 0xf4 ? &ack : &resend, 1);
        break;
    }
}

/* Returns true when the guest pulsed the reset line. */
static bool i8042_data_write(struct i8042 *k, uint8_t val)
{
    uint8_t cmd = k->ctl_cmd;

    k->ctl_cmd = 0;
    switch (cmd) {
    case 0x60: /* write CTR */
        k->ctr = val;
        return false;
    case 0xd1: /* write output port: bit 0 low holds the CPU in reset */
        return !(val & 1);
    case 0xd2: /* write keyboard output buffer */
        i8042_reply(k, &val, 1);
        return false;
    case 0xd3: /* write aux output buffer: Linux's aux loop test */
        i8042_queue(k, Q_AUX | val);
        return false;
    case 0xd4: /* to the aux device: none is attached */
        return false;
    default:
        i8042_kbd_write(k, val);
        return false;
    }
}

/* Returns true when the guest pulsed the reset line. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
    static const uint8_t ok = 0x00, selftest = 0x55;

    k->ctl_cmd = 0;
    switch (cmd) {
    case 0x20: /* read CTR */
        i8042_reply(k, &k->ctr, 1);
        break;
    case 0x60: /* commands followed by a data byte on port 0x60 */
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xd4:
        k->ctl_cmd = cmd;
        break;
    case 0xa7: /* aux disable / enable */
        k->ctr |= CTR_AUXDIS;
        break;
    case 0xa8:
        k->ctr &= ~CTR_AUXDIS;
        break;
    case 0xa9: /* aux and keyboard interface tests: no error */
    case 0xab:
        i8042_reply(k, &ok, 1);
        break;
    case 0xaa: /* controller self test */
        i8042_reply(k, &selftest, 1);
        break;
    case 0xad: /* keyboard disable / enable */
        k->ctr |= CTR_KBDDIS;
        break;
    case 0xae:
        k->ctr &= ~CTR_KBDDIS;
        break;
    default:
        /* 0xf0-0xff pulse output port lines for 6 us: bit 0 low pulses
         * the reset line (0xfe, what Linux's reboot=k writes). */
        if ((cmd & 0xf0) == 0xf0 && !(cmd & 1))
            return true;
        break; /* anything else is ignored, as on real controllers */
    }
    return false;
}

static uint8_t i8042_status(const struct i8042 *k)
{
    uint8_t st = STR_UNLOCK | (k->ctr & CTR_SYS ? STR_SYS : 0);

    if (k->q_count)
        st |= STR_OBF | (k->q[k->q_head] & Q_AUX ? STR_AUXDATA : 0);
    if (k->last_was_cmd)
        st |= STR_CMD;
    return st;
}

static uint8_t i8042_data_read(struct i8042 *k)
{
    if (k->q_count) {
        k->last_out = (uint8_t)k->q[k->q_head];
        k->q_head = (k->q_head + 1) % I8042_QUEUE;
        k->q_count--;
        /* The buffer empties before the next byte loads: the line drops
         * so the next byte is a new edge (Linux reads one per IRQ). */
        i8042_set_line(k, I8042_IRQ_KBD, &k->line_kbd, 0);
        i8042_set_line(k, I8042_IRQ_AUX, &k->line_aux, 0);
    }
    return k->last_out;
}

/* Each port is its own one-byte range, so handlers see offset 0 and the
 * bus answers wider accesses itself; (size) is honoured all the same. */
static void i8042_data_pio_read(void *opaque, uint64_t offset, uint8_t *data,
                                uint32_t size)
{
    struct i8042 *k = opaque;

    memset(data, 0, size);
    pthread_mutex_lock(&k->lock);
    data[0] = i8042_data_read(k);
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
}

static void i8042_data_pio_write(void *opaque, uint64_t offset,
                                 const uint8_t *data, uint32_t size)
{
    struct i8042 *k = opaque;
    bool reset;

    pthread_mutex_lock(&k->lock);
    k->last_was_cmd = false;
    reset = i8042_data_write(k, data[0]);
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
    if (reset)
        dev_request_exit(k->env, VMRUN_EXIT_REBOOT, 0);
}

static void i8042_cmd_pio_read(void *opaque, uint64_t offset, uint8_t *data,
                               uint32_t size)
{
    struct i8042 *k = opaque;

    memset(data, 0, size);
    pthread_mutex_lock(&k->lock);
    data[0] = i8042_status(k);
    pthread_mutex_unlock(&k->lock);
}

static void i8042_cmd_pio_write(void *opaque, uint64_t offset,
                                const uint8_t *data, uint32_t size)
{
    struct i8042 *k = opaque;
    bool reset;

    pthread_mutex_lock(&k->lock);
    k->last_was_cmd = true;
    reset = i8042_command(k, data[0]);
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
    if (reset)
        dev_request_exit(k->env, VMRUN_EXIT_REBOOT, 0);
}

static const struct bus_ops i8042_data_ops = {
    .read = i8042_data_pio_read,
    .write = i8042_data_pio_write,
};

static const struct bus_ops i8042_cmd_ops = {
    .read = i8042_cmd_pio_read,
    .write = i8042_cmd_pio_write,
};

int i8042_send_ctrl_alt_del(struct i8042 *kbd)
{
    /* Make Ctrl, make Alt, make Del (extended), then the breaks in
     * reverse order.  Set 1 when the controller translates (CTR bit 6,
     * which Linux leaves on), else the keyboard's native set 2. */
    static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53,
                                   0xe0, 0xd3, 0xb8, 0x9d};
    static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
                                   0x71, 0xf0, 0x11, 0xf0, 0x14};
    const uint8_t *codes;
    unsigned int n;
    int ret = 0;

    pthread_mutex_lock(&kbd->lock);
    codes = kbd->ctr & CTR_XLATE ? set1 : set2;
    n = kbd->ctr & CTR_XLATE ? sizeof(set1) : sizeof(set2);
    if (I8042_QUEUE - kbd->q_count < n) {
        ret = -EAGAIN; /* the guest is not reading: try again later */
    } else {
        i8042_reply(kbd, codes, n);
        i8042_update_irq(kbd);
    }
    pthread_mutex_unlock(&kbd->lock);
    return ret;
}

int i8042_create(const struct dev_env *env, struct i8042 **out)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    int ret;

    if (!k)
        return -ENOMEM;
    k->env = env;
    /* What a BIOS leaves: keyboard interrupt on, self test passed,
     * translation on, aux port disabled. */
    k->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE | CTR_AUXDIS;
    ret = pthread_mutex_init(&k->lock, NULL);
    if (ret) {
        free(k);
        return -ret;
    }
    /* Two ranges, not 0x60..0x64: 0x61 (port B) belongs to others. */
    ret = bus_register(env->pio, I8042_PORT_DATA, 1, &i8042_data_ops, k);
    if (ret == 0)
        ret = bus_register(env->pio, I8042_PORT_CMD, 1, &i8042_cmd_ops, k);
    if (ret < 0) {
        /* A failed second registration leaves 0x60 pointing at freed
         * state: the machine's creation then fails, and its teardown
         * frees the bus before any vCPU runs. */
        pthread_mutex_destroy(&k->lock);
        free(k);
        return ret;
    }
    *out = k;
    return 0;
}

void i8042_destroy(struct i8042 *kbd)
{
    if (!kbd)
        return;
    pthread_mutex_destroy(&kbd->lock);
    free(kbd);
}

/* ---- snapshots ---- */

int i8042_save(struct i8042 *k, struct snap_buf *b)
{
    pthread_mutex_lock(&k->lock);
    sb_put_u8(b, k->ctr);
    sb_put_u8(b, k->last_out);
    sb_put_u8(b, k->ctl_cmd);
    sb_put_u8(b, k->kbd_cmd);
    sb_put_u8(b, k->last_was_cmd);
    sb_put_u8(b, (uint8_t)k->q_count);
    for (unsigned int i = 0; i < k->q_count; i++)
        sb_put_u16(b, k->q[(k->q_head + i) % I8042_QUEUE]);
    pthread_mutex_unlock(&k->lock);
    return b->err;
}

int i8042_load(struct i8042 *k, struct snap_rd *r)
{
    uint8_t v[6];

    sr_bytes(r, v, sizeof(v));
    if (r->err || v[4] > 1 || v[5] > I8042_QUEUE)
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    k->ctr = v[0];
    k->last_out = v[1];
    k->ctl_cmd = v[2];
    k->kbd_cmd = v[3];
    k->last_was_cmd = v[4];
    k->q_head = 0;
    k->q_count = v[5];
    for (unsigned int i = 0; i < k->q_count; i++)
        k->q[i] = sr_u16(r) & (Q_AUX | 0xff);
    k->line_kbd = k->line_aux = 0;
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return r->err ? -EINVAL : 0;
}
