/* console.h - virtio-console (virtio 1.2 §5.3), port 0 only: the guest's
 * hvc0, bound to a host fd, an append-only file or a pty
 * (devices/backend/chardev.h).
 *
 * Queues: receiveq0 (0) and transmitq0 (1); VIRTIO_CONSOLE_F_MULTIPORT and
 * F_SIZE are not offered; F_EMERG_WRITE is (a config write of emerg_wr
 * prints one character, for early boot code).
 *
 * Output: each transmit chain is written out and returned as soon as it
 * can be, because Linux's hvc driver spins until the device gives the
 * buffer back; but one event-loop turn writes at most 1 MiB (a chain's
 * descriptors may overlap, so one chain can be 4 GiB): a longer chain is
 * held and finished on later turns, and a snapshot returns a held chain
 * with the rest beyond one more MiB dropped (counted).  When
 * the output fd stops taking data (a pty nobody reads, a pipe whose reader
 * stalled) the device waits up to 100 ms once, then drops output, counted,
 * until the fd drains: a slow reader never stalls the event loop or the
 * guest.  SIGPIPE is never raised.
 * Input: read on the event loop into one 4 KiB buffer and copied into the
 * guest's receive buffers.  While the guest has none, the input fd is not
 * watched (nothing is read or lost) until its next receiveq kick. */
#ifndef VMRUN_VIRTIO_CONSOLE_H
#define VMRUN_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "core/config.h"
#include "core/memory.h"

struct dev_env;
struct snap_buf;
struct snap_rd;
struct virtio_console;
struct chardev;

#define VIRTIO_CONSOLE_QUEUE_SIZE 128
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Config space (struct virtio_console_config, §5.3.4). */
#define VIRTIO_CONSOLE_CFG_COLS 0
#define VIRTIO_CONSOLE_CFG_ROWS 2
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define VIRTIO_CONSOLE_CFG_SIZE 12

/* Opens the backend (cfg) names (a pty's path is logged at WARN as
 * "virtio-console: pty is /dev/pts/N") and registers a virtio-mmio device
 * at [base, base + 4 KiB) with GSI (irq).  (cfg) is not kept.  Call after
 * the irqchip and the event loop exist, before the vCPUs start. */
int virtio_console_create(const struct dev_env *env,
                          const struct console_config *cfg, gpa_t base,
                          uint32_t irq, struct virtio_console **out)
    __attribute__((warn_unused_result));

/* The same on a backend the caller opened (tests, embedders); (cd) is
 * copied and owned by the device from now on, also on failure. */
int virtio_console_create_chardev(const struct dev_env *env,
                                  const struct chardev *cd, gpa_t base,
                                  uint32_t irq, struct virtio_console **out)
    __attribute__((warn_unused_result));

/* The pty's path ("/dev/pts/N") with CONSOLE_PTY, else NULL. */
const char *virtio_console_pty_path(const struct virtio_console *con);

/* Guest output bytes dropped because the output fd did not take them. */
uint64_t virtio_console_dropped(struct virtio_console *con);

/* Closes the backend (the terminal's modes are not restored: the CLI owns
 * them) and frees.  Call after the vCPUs and the event loop have stopped,
 * before guest RAM is unmapped.  NULL is a no-op. */
void virtio_console_destroy(struct virtio_console *con);

/* The VM's entry points into this device (dev_env.h).  Snapshots (see
 * virtio_mmio_save()): the transport and its queues; host input
 * not yet delivered is not saved.  Call on a stopped VM. */
struct device_ops;
extern const struct device_ops virtio_console_device_ops;

#endif
