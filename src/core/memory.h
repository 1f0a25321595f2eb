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
    /* NULL, or one bit per GMEM_PAGE page that vmrun itself may have
     * written: gmem_ptr(), gmem_mark_dirty() (set atomically; see
     * gmem_dirty_take()). */
    uint64_t *dirty;
};

#define GMEM_PAGE 4096ULL

struct guest_mem {
    unsigned int nr;
    struct mem_region r[GUEST_MEM_MAX_REGIONS];
};

/* Returns the host address of [gpa, gpa + len) if the whole range lies in
 * one region, else NULL (also on overflow).  len == 0 is treated as 1.
 * With dirty tracking on, marks the range written (gmem_dirty_enable()). */
void *gmem_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* gmem_ptr() without the marking: for ranges vmrun only reads (a
 * device-readable buffer, a descriptor table), or writes only after
 * gmem_mark_dirty() on them. */
void *gmem_lookup(const struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* Marks host range [host, host + len), as returned by gmem_lookup(), as
 * written: call before writing it.  Nothing when dirty tracking is off or
 * the range is not wholly inside one region. */
void gmem_mark_dirty(const struct guest_mem *mem, const void *host,
                     uint64_t len);

/* Adds (size) bytes of RAM at (gpa) backed by (host).  -EINVAL if the range
 * overflows or overlaps another region, -ENOSPC when full. */
int gmem_add(struct guest_mem *mem, gpa_t gpa, uint64_t size, void *host)
    __attribute__((warn_unused_result));

/* Dirty tracking of vmrun's own writes (devices write guest RAM through
 * host pointers, which KVM's dirty log cannot see).  Every range gmem_ptr()
 * hands out, and every range passed to gmem_mark_dirty(), is counted as
 * written: a superset of what vmrun writes, never a miss.  Enable before
 * the VM runs; -ENOMEM. */
int gmem_dirty_enable(struct guest_mem *mem)
    __attribute__((warn_unused_result));
void gmem_dirty_free(struct guest_mem *mem);

/* ORs region (i)'s dirty bits into (bits) (one bit per page, (size) /
 * GMEM_PAGE bits rounded up to 64) and clears them. */
void gmem_dirty_take(const struct guest_mem *mem, unsigned int i,
                     uint64_t *bits);

/* Copies between host and guest; -EFAULT unless the range is one region. */
int gmem_read(const struct guest_mem *mem, void *dst, gpa_t gpa, size_t len)
    __attribute__((warn_unused_result));
int gmem_write(const struct guest_mem *mem, gpa_t gpa, const void *src,
               size_t len) __attribute__((warn_unused_result));

#endif
