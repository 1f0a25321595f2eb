/* serial8250.h - a 16550A-compatible UART (the registers Linux's 8250 driver
 * uses, with FIFOs and interrupts). */
#ifndef VMRUN_SERIAL8250_H
#define VMRUN_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

struct dev_env;
struct serial;
struct snap_buf;
struct snap_rd;

struct serial_config {
    uint16_t port; /* I/O base, e.g. 0x3f8 */
    uint32_t irq;  /* e.g. 4 */
    int out_fd;    /* guest output goes here; -1 drops it */
    int in_fd;     /* watched on the event loop for guest input; -1: none */
};

/* Registers the UART's 8 ports on env->pio and, when in_fd >= 0, its
 * input on env->loop.  The fds stay owned by the caller.  Call
 * before the vCPUs start. */
int serial_create(const struct dev_env *env, const struct serial_config *cfg,
                  struct serial **out) __attribute__((warn_unused_result));

/* Puts up to (len) bytes of (buf) into the receive FIFO as if they had
 * arrived on the line, raising the receive interrupt; returns how many fit
 * (the rest must be offered again once the guest has read some).  The
 * input path of in_fd uses it; so can tests and embedders.  Thread-safe. */
int serial_inject(struct serial *s, const uint8_t *buf, size_t len);

/* Snapshots: the guest-visible registers, the receive FIFO and the
 * interrupt line.  Load re-raises a line that was high (an edge the guest
 * may see twice; the 8250 driver reads IIR and ignores a spurious one).
 * Call on a stopped VM. */
int serial_save(struct serial *s, struct snap_buf *b)
    __attribute__((warn_unused_result));
int serial_load(struct serial *s, struct snap_rd *r)
    __attribute__((warn_unused_result));

/* Flushes buffered output and frees; call after the vCPUs and the event
 * loop have stopped. */
void serial_destroy(struct serial *s);

#endif
