/* blk.h - what the two halves of the blk guest share: blk.c (driver,
 * good requests, bench, main) and blk_hostile.c (malformed requests). */
#ifndef VMRUN_FW_BLK_H
#define VMRUN_FW_BLK_H

#include "fw.h"
#include "virtio.h"

#define BLK_BASE 0xd0100000ULL /* first virtio-mmio window (layout.h) */
#define DEBUG_EXIT FW_DEBUG_EXIT_MMIO
#define NO_RAM 0x200000000ULL /* 8 GiB: far above any test guest */
#define VIRTIO_ID_BLOCK 2
#define QSIZE 256
#define SECTOR 512
#define CHUNK 65536
#define DEPTH 32
#define ITAB 1100               /* > vmrun's 1024-entry indirect cap */
#define WAIT_LONG (1ULL << 33)  /* seconds: the device hung */
#define WAIT_SHORT (1ULL << 26) /* ~20 ms: "nothing happens" */
#define HOSTILE_SECTOR 2048     /* hostile writes aim here; must stay 0 */

/* virtio-blk (virtio 1.2 §5.2). */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNTOUCHED 0xee /* our mark: the device did not write the status */
#define CFG_CAPACITY 0
#define CFG_BLK_SIZE 20
#define CFG_LEN 60
#define F_BLK_FLUSH 9
#define ID_BYTES 20

#define W VRING_DESC_F_WRITE /* device-writable segment */

struct blk_hdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

struct blk {
    struct vio_dev dev;
    struct vio_vq vq;
    uint64_t wanted;   /* feature bits we ask for */
    uint64_t capacity; /* sectors */
    uint64_t ram_top;
    const char *cmdline;
    uint64_t bench_n[2];   /* bench requests: 64 KiB, 4 KiB */
    uint64_t depth;        /* bench requests in flight */
    int ring;              /* which blk_rings the queue lives in */
    struct fw_tally tally; /* .prog "blk" */
};

/* The memory the device sees (blk.c): the guest has no allocator. */
extern uint8_t blk_rings[2][3 * 4096];
extern struct blk_hdr blk_hdrs[DEPTH];
extern uint8_t blk_status[DEPTH];
extern struct vring_desc blk_itab[2][ITAB];
extern uint8_t blk_data[DEPTH][CHUNK];
extern uint8_t blk_scratch[CHUNK];

static inline uint64_t addr(const volatile void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ---- blk.c ---- */

/* 0 if the (nsect) sectors at (p) hold the pattern of sectors (s) on. */
int pattern_check(const uint8_t *p, uint64_t s, uint32_t nsect);

/* (n) bytes of (v) at (p). */
void fill_bytes(uint8_t *p, uint32_t n, uint8_t v);

/* Negotiates b->wanted, sets up queue 0 in blk_rings[b->ring] and sets
 * DRIVER_OK: NULL, or what the device refused. */
const char *blk_init(struct blk *b);

/* Makes chain (head) available, kicks and waits for one used element. */
enum vio_wait blk_submit(struct blk *b, uint16_t head, uint32_t *len);

/* Runs (n) segments as one chain; the status byte is blk_status[0], preset to
 * S_UNTOUCHED.  The result in (*st), the used length in (*len). */
enum vio_wait blk_chain(struct blk *b, const struct vio_seg *s, unsigned int n,
                        uint8_t *st, uint32_t *len);

/* A request with header (type, sector), (len) bytes at (buf) and status
 * byte.  Fails unless it completed; the status lands in (*st). */
const char *blk_io(struct blk *b, uint32_t type, uint64_t sector, void *buf,
                   uint32_t len, uint8_t *st);

/* Reads (nsect) sectors at (s) and checks the pattern. */
const char *blk_verify(struct blk *b, uint64_t s, uint32_t nsect);

/* ---- blk_hostile.c: the checks of malformed use (NULL = ok, else why) ---- */

const char *check_outside_ram(struct blk *b);
const char *check_ram_end(struct blk *b);
const char *check_wrap(struct blk *b);
const char *check_loop(struct blk *b);
const char *check_long_chain(struct blk *b);
const char *check_nested_indirect(struct blk *b);
const char *check_status_readable(struct blk *b);
const char *check_short_header(struct blk *b);
const char *check_avail_jump(struct blk *b);
const char *check_notify_early(struct blk *b);
const char *check_queue_size(struct blk *b);
const char *check_bad_features(struct blk *b);
const char *check_config_past_end(struct blk *b);
const char *check_ring_outside_ram(struct blk *b);
const char *check_registers(struct blk *b);
const char *check_reset_in_flight(struct blk *b);
const char *check_huge_request(struct blk *b);
const char *check_pattern(struct blk *b);

#endif
