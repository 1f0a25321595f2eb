/* fuzz_common.h - what the libFuzzer harnesses share: a cursor over the
 * fuzz input, a synchronous event loop (fuzz_loop.c) and a virtio-mmio
 * driver that sets a device up over rings the input placed in guest RAM. */
#ifndef VMRUN_FUZZ_COMMON_H
#define VMRUN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "fake_env.h"

/* The input, consumed front to back; reads past the end give zeros. */
struct fz {
    const uint8_t *p;
    size_t n;
};

uint8_t fz_u8(struct fz *f);
uint16_t fz_u16(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);
/* Takes up to (len) bytes; returns how many (*out) points at. */
size_t fz_take(struct fz *f, size_t len, const uint8_t **out);

/* A property the code under test promised is broken: report it the way a
 * sanitizer would (libFuzzer saves the input) and stop. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            fuzz_fail(__FILE__, __LINE__, #cond);                              \
    } while (0)
void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* Runs ready event sources' callbacks, at most (max_passes) rounds, until
 * none is ready. */
void fuzz_loop_run(struct event_loop *loop, int max_passes);

/* A queue for fuzz_mmio_start(): ring areas at RAM offsets. */
struct fuzz_queue {
    uint16_t size;
    gpa_t desc, avail, used;
};

/* Register access to the virtio-mmio window at (base). */
uint32_t fuzz_mmio_read(struct fake_env *vm, gpa_t base, uint32_t off);
void fuzz_mmio_write(struct fake_env *vm, gpa_t base, uint32_t off, uint32_t v);
/* The §3.1.1 driver sequence: negotiates (features) (masked to what the
 * device offers, VERSION_1 added, unless (raw)), sets queues [0, nq) up
 * and writes DRIVER_OK.  Returns the status read back. */
uint32_t fuzz_mmio_start(struct fake_env *vm, gpa_t base, uint64_t features,
                         int raw, const struct fuzz_queue *q, unsigned int nq);
/* Fills the queue areas from the input: a size (any 16-bit value, or a
 * power of two up to (max) most of the time) and three offsets into RAM
 * of (ram_size) bytes at (ram_base). */
void fuzz_queue_from_input(struct fz *f, struct fuzz_queue *q, gpa_t ram_base,
                           uint64_t ram_size, uint16_t max);
/* Makes (n) more entries available: adds (n) to the idx of the avail ring
 * at (avail), as a driver would without writing the entries (they hold
 * whatever the input left there).  A ring outside RAM is left alone. */
void fuzz_bump_avail(struct fake_env *vm, gpa_t avail, uint8_t n);

#endif
