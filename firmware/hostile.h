/* hostile.h - what the parts of the hostile guest share: hostile.c (device
 * discovery, a small driver per device, "does it still work" requests,
 * main), hostile_virtio.c (attacks on the virtio-mmio transport and the
 * rings of net, console and rng) and hostile_platform.c (port and MMIO
 * sweeps of the platform devices, the notification storm). */
#ifndef VMRUN_FW_HOSTILE_H
#define VMRUN_FW_HOSTILE_H

#include "fw.h"
#include "virtio.h"

#define VIRTIO_FIRST 0xd0100000ULL /* first virtio-mmio window (layout.h) */
#define VIRTIO_SLOTS 32
#define DEBUG_EXIT FW_DEBUG_EXIT_MMIO
#define PVPANIC 0xd0001000ULL
#define ACPI_REGS 0xd0002000ULL
#define NO_RAM 0x200000000ULL /* 8 GiB: far above any test guest */
#define QS 64                 /* every queue; all devices allow it */
#define NBUF 64
#define BUFSZ 4096
#define WAIT_LONG (1ULL << 33)  /* seconds: the device hung */
#define WAIT_SHORT (1ULL << 26) /* ~20 ms: "nothing happens" */
#define W VRING_DESC_F_WRITE

enum { DEV_NET, DEV_BLK, DEV_CONSOLE, DEV_RNG, NDEV };

/* One device under attack and the guest's driver state for it. */
struct hdev {
    const char *name;
    uint32_t id;      /* virtio device id */
    uint16_t nq;      /* queues the guest sets up */
    uint16_t work_q;  /* the queue of the "still works" request */
    uint32_t cfg_len; /* config space bytes vmrun implements */
    bool found;
    struct vio_dev dev;
    struct vio_vq vq[2];
    int ring; /* which of the two ring sets the queues live in */
};

struct hostile {
    struct hdev dev[NDEV];
    uint64_t ram_top;
    struct fw_tally tally; /* .prog "hostile" */
};

/* The memory devices see: the guest has no allocator. */
extern uint8_t h_buf[NBUF][BUFSZ];
extern struct vring_desc h_itab[2][QS];

static inline uint64_t addr(const volatile void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ---- hostile.c ---- */

/* Negotiates VERSION_1 | INDIRECT_DESC, sets the queues up in ring set
 * d->ring and sets DRIVER_OK.  NULL or what the device refused. */
const char *dev_init(struct hdev *d);
/* Same up to FEATURES_OK; the queues are laid out, not programmed. */
const char *dev_negotiate(struct hdev *d);
/* The segments (at most 3) of a good request on d->work_q; returns how
 * many. */
unsigned int dev_work_chain(struct hdev *d, struct vio_seg *s);
/* A good request on d->work_q: rng gives bytes, a frame is sent, the
 * console prints a line, a block is read.  NULL if it completed. */
const char *dev_works(struct hdev *d);
/* Posts chain (head) of d->work_q, kicks and waits. */
enum vio_wait dev_submit(struct hdev *d, uint16_t head);
/* The verdict on a malformed request that ended with (w): completed
 * alone, or DEVICE_NEEDS_RESET with a config interrupt (then the guest
 * resets and starts over on fresh rings); a hang fails.  Then the device
 * must work. */
const char *dev_verdict(struct hdev *d, enum vio_wait w);
/* Resets, switches ring sets, re-initialises and checks dev_works(). */
const char *dev_recover(struct hdev *d);

/* ---- hostile_virtio.c: checks (NULL = ok, else why) ---- */

const char *check_mmio_reads(struct hdev *d);
const char *check_mmio_writes(struct hdev *d);
const char *check_features(struct hdev *d);
const char *check_queue_size(struct hdev *d);
const char *check_ring_outside_ram(struct hdev *d, uint64_t ram_top);
const char *check_notify_early(struct hdev *d);
const char *check_desc_loop(struct hdev *d);
const char *check_indirect(struct hdev *d, uint64_t ram_top);
const char *check_buffers_outside_ram(struct hdev *d, uint64_t ram_top);
const char *check_reset_in_flight(struct hdev *d);

/* ---- hostile_platform.c ---- */

const char *check_pio_sweep(void);
const char *check_mmio_sweep(void);
/* (n) notifications of rng's queue with nothing in it, between two lines
 * the host samples vmrun's threads at; after each line the guest waits
 * for a line from the host on (con)'s receive queue (if it exists). */
const char *check_notify_storm(struct hdev *rng, struct hdev *con, uint64_t n);

#endif
