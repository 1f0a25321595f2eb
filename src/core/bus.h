/* bus.h - an address space (PIO or MMIO) mapping ranges to device handlers.
 *
 * Ranges are registered while the VM is being built, before any vCPU runs;
 * afterwards lookups take no lock. */
#ifndef VMRUN_BUS_H
#define VMRUN_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"

/* Handlers get the offset inside the device's range and 1, 2, 4 or 8 bytes
 * in (data), little-endian as the guest wrote them.  A read handler fills
 * all (size) bytes. */
struct bus_ops {
    void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size);
    void (*write)(void *opaque, uint64_t offset, const uint8_t *data,
                  uint32_t size);
};

struct bus_range {
    uint64_t base;
    uint64_t len;
    const struct bus_ops *ops;
    void *opaque;
};

struct bus {
    const char *name; /* "pio" or "mmio", for messages */
    const struct logger *log;
    struct bus_range *ranges; /* sorted by base, non-overlapping */
    unsigned int nr, cap;
    struct log_ratelimit unhandled_rl;
};

/* (name) and (log) must outlive the bus. */
void bus_init(struct bus *bus, const char *name, const struct logger *log);
void bus_destroy(struct bus *bus);

/* -EINVAL on zero length or overflow, -EEXIST on overlap, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
                 const struct bus_ops *ops, void *opaque)
    __attribute__((warn_unused_result));

/* The range holding [addr, addr + size), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr,
                                 uint32_t size);

/* Dispatches one access; unknown addresses are logged (rate-limited) and
 * read as all-ones.  Returns false when nothing handled it. */
bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size,
                bool is_write);

/* A string I/O exit: (count) accesses of (size) bytes at consecutive
 * positions of (data) to the same port. */
void bus_access_rep(struct bus *bus, uint64_t addr, uint8_t *data,
                    uint32_t size, uint32_t count, bool is_write);

#endif
