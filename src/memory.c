/* memory.c - guest RAM bookkeeping; every guest access is checked here. */
#include <errno.h>
#include <string.h>

#include "memory.h"

void *gmem_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    gpa_t end;

    if (len == 0)
        len = 1;
    if (__builtin_add_overflow(gpa, len, &end))
        return NULL;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct mem_region *r = &mem->r[i];

        if (gpa >= r->gpa && end <= r->gpa + r->size)
            return r->host + (gpa - r->gpa);
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
    mem->r[mem->nr++] = (struct mem_region){gpa, size, host};
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
