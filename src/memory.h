/* memory.h - guest RAM regions and checked guest-physical translation. */
#ifndef VMRUN_MEMORY_H
#define VMRUN_MEMORY_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t;

#define GUEST_MEM_MAX_REGIONS 4

struct mem_region {
    gpa_t gpa;
    uint64_t size;
    uint8_t *host; /* mmap'd, (size) bytes */
};

struct guest_mem {
    unsigned int nr;
    struct mem_region r[GUEST_MEM_MAX_REGIONS];
};

/* Returns the host address of [gpa, gpa + len) if the whole range lies in
 * one region, else NULL (also on overflow).  len == 0 is treated as 1. */
void *gmem_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* Adds (size) bytes of RAM at (gpa) backed by (host).  -EINVAL if the range
 * overflows or overlaps another region, -ENOSPC when full. */
int gmem_add(struct guest_mem *mem, gpa_t gpa, uint64_t size, void *host)
    __attribute__((warn_unused_result));

/* Copies between host and guest; -EFAULT unless the range is one region. */
int gmem_read(const struct guest_mem *mem, void *dst, gpa_t gpa, size_t len)
    __attribute__((warn_unused_result));
int gmem_write(const struct guest_mem *mem, gpa_t gpa, const void *src,
               size_t len) __attribute__((warn_unused_result));

#endif
