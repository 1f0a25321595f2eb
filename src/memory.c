/* memory.c - guest RAM bookkeeping; every guest access is checked here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

static void gmem_mark(const struct mem_region *r, uint64_t off, uint64_t len)
{
    for (uint64_t pg = off / GMEM_PAGE; pg <= (off + len - 1) / GMEM_PAGE; pg++)
        __atomic_fetch_or(&r->dirty[pg / 64], 1ULL << (pg % 64),
                          __ATOMIC_RELAXED);
}

static size_t gmem_dirty_words(const struct mem_region *r)
{
    return (r->size / GMEM_PAGE + 63) / 64 + 1;
}

int gmem_dirty_enable(struct guest_mem *mem)
{
    for (unsigned int i = 0; i < mem->nr; i++) {
        struct mem_region *r = &mem->r[i];

        if (!r->dirty)
            r->dirty = calloc(gmem_dirty_words(r), sizeof(uint64_t));
        if (!r->dirty)
            return -ENOMEM;
    }
    return 0;
}

void gmem_dirty_free(struct guest_mem *mem)
{
    for (unsigned int i = 0; i < mem->nr; i++) {
        free(mem->r[i].dirty);
        mem->r[i].dirty = NULL;
    }
}

void gmem_dirty_take(const struct guest_mem *mem, unsigned int i,
                     uint64_t *bits)
{
    const struct mem_region *r = &mem->r[i];
    size_t n = (r->size / GMEM_PAGE + 63) / 64;

    if (!r->dirty)
        return;
    for (size_t w = 0; w < n; w++)
        bits[w] |= __atomic_exchange_n(&r->dirty[w], 0, __ATOMIC_RELAXED);
}

void *gmem_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    gpa_t end;

    if (len == 0)
        len = 1;
    if (__builtin_add_overflow(gpa, len, &end))
        return NULL;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct mem_region *r = &mem->r[i];

        if (gpa >= r->gpa && end <= r->gpa + r->size) {
            if (r->dirty)
                gmem_mark(r, gpa - r->gpa, end - gpa);
            return r->host + (gpa - r->gpa);
        }
    }
    return NULL;
}

int gmem_add(struct guest_mem *mem, gpa_t gpa, uint64_t size, void *host)
{
    gpa_t end;

    if (size == 0 || !host || __builtin_add_overflow(gpa, size, &end))
        return -EINVAL;
    if (mem->nr >= GUEST_MEM_MAX_REGIONS)
        return -ENOSPC;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct mem_region *r = &mem->r[i];

        if (gpa < r->gpa + r->size && r->gpa < end)
            return -EINVAL;
    }
    mem->r[mem->nr++] = (struct mem_region){gpa, size, host, NULL};
    return 0;
}

int gmem_read(const struct guest_mem *mem, void *dst, gpa_t gpa, size_t len)
{
    const void *src = gmem_ptr(mem, gpa, len);

    if (!src)
        return -EFAULT;
    memcpy(dst, src, len);
    return 0;
}

int gmem_write(const struct guest_mem *mem, gpa_t gpa, const void *src,
               size_t len)
{
    void *dst = gmem_ptr(mem, gpa, len);

    if (!dst)
        return -EFAULT;
    memcpy(dst, src, len);
    return 0;
}
