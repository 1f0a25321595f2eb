/* bus.c - sorted range table for PIO and MMIO dispatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"

void bus_init(struct bus *bus, const char *name, const struct logger *log)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    bus->log = log;
}

void bus_destroy(struct bus *bus)
{
    free(bus->ranges);
    bus->ranges = NULL;
    bus->nr = bus->cap = 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
                 const struct bus_ops *ops, void *opaque)
{
    uint64_t end;
    unsigned int pos = 0;

    if (len == 0 || !ops || __builtin_add_overflow(base, len - 1, &end))
        return -EINVAL;
    while (pos < bus->nr && bus->ranges[pos].base <= end) {
        const struct bus_range *r = &bus->ranges[pos];

        if (base <= r->base + (r->len - 1))
            return -EEXIST;
        pos++;
    }
    if (bus->nr == bus->cap) {
        unsigned int cap = bus->cap ? bus->cap * 2 : 8;
        struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        bus->ranges = n;
        bus->cap = cap;
    }
    memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
            (bus->nr - pos) * sizeof(bus->ranges[0]));
    bus->ranges[pos] = (struct bus_range){base, len, ops, opaque};
    bus->nr++;
    return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr,
                                 uint32_t size)
{
    unsigned int lo = 0, hi = bus->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;
        const struct bus_range *r = &bus->ranges[mid];

        if (addr < r->base) {
            hi = mid;
        } else if (addr - r->base >= r->len) {
            lo = mid + 1;
        } else {
            /* The access must not run past the range's end. */
            if (size == 0 || size - 1 > r->len - 1 - (addr - r->base))
                return NULL;
            return r;
        }
    }
    return NULL;
}

bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size,
                bool is_write)
{
    const struct bus_range *r = bus_find(bus, addr, size);

    if (r && size >= 1 && size <= 8) {
        if (is_write) {
            if (r->ops->write)
                r->ops->write(r->opaque, addr - r->base, data, size);
        } else if (r->ops->read) {
            r->ops->read(r->opaque, addr - r->base, data, size);
        } else {
            memset(data, 0xff, size);
        }
        return true;
    }
    if (!is_write)
        memset(data, 0xff, size > 8 ? 8 : size);
    if (log_ratelimit_ok(&bus->unhandled_rl, 16))
        log_msg(bus->log, VMRUN_LOG_DEBUG,
                "%s: unhandled %s of %u bytes at 0x%llx", bus->name,
                is_write ? "write" : "read", size, (unsigned long long)addr);
    return false;
}

void bus_access_rep(struct bus *bus, uint64_t addr, uint8_t *data,
                    uint32_t size, uint32_t count, bool is_write)
{
    for (uint32_t i = 0; i < count; i++)
        bus_access(bus, addr, data + (uint64_t)i * size, size, is_write);
}
