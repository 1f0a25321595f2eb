/* memory.c - guest RAM bookkeeping; every guest access is checked here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"

/* Sets the bits of the pages [off, off + len) touches: a word at a time,
 * so a 4 GiB range costs 16 Ki stores, not 1 Mi atomic ORs.  A word the
 * range covers whole is stored, not ORed: against a concurrent
 * gmem_dirty_take() exchange the result is the same either way. */
static void gmem_mark(const struct mem_region *r, uint64_t off, uint64_t len)
{
    uint64_t pg = off / GMEM_PAGE, last = (off + len - 1) / GMEM_PAGE;

    while (pg <= last) {
        uint64_t bit = pg % 64, n = last - pg + 1;

        if (n > 64 - bit)
            n = 64 - bit;
        if (n == 64)
            __atomic_store_n(&r->dirty[pg / 64], ~0ULL, __ATOMIC_RELAXED);
        else
            __atomic_fetch_or(&r->dirty[pg / 64], ((1ULL << n) - 1) << bit,
                              __ATOMIC_RELAXED);
        pg += n;
    }
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

/* The region holding all of [gpa, gpa + len) (len > 0), or NULL. */
static const struct mem_region *gmem_region(const struct guest_mem *mem,
                                            gpa_t gpa, uint64_t len)
{
    gpa_t end;

    if (__builtin_add_overflow(gpa, len, &end))
        return NULL;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct mem_region *r = &mem->r[i];

        if (gpa >= r->gpa && end <= r->gpa + r->size)
            return r;
    }
    return NULL;
}

void *gmem_lookup(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    const struct mem_region *r = gmem_region(mem, gpa, len ? len : 1);

    return r ? r->host + (gpa - r->gpa) : NULL;
}

void *gmem_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    const struct mem_region *r;

    if (len == 0)
        len = 1;
    r = gmem_region(mem, gpa, len);
    if (!r)
        return NULL;
    if (r->dirty)
        gmem_mark(r, gpa - r->gpa, len);
    return r->host + (gpa - r->gpa);
}

void gmem_mark_dirty(const struct guest_mem *mem, const void *host,
                     uint64_t len)
{
    uintptr_t p = (uintptr_t)host;

    if (len == 0)
        return;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct mem_region *r = &mem->r[i];
        uintptr_t base = (uintptr_t)r->host;

        if (p >= base && p - base < r->size && len <= r->size - (p - base)) {
            if (r->dirty)
                gmem_mark(r, p - base, len);
            return;
        }
    }
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
