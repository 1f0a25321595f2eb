/* crashdump.c - writes a crashed guest's ELF core file (crashdump.h). */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crashdump.h"

#define CD_PAGE 4096ULL
/* Non-zero pages are written in runs of at most this many bytes. */
#define CD_RUN_MAX (1ULL << 20)

static uint64_t align4(uint64_t n)
{
    return (n + 3) & ~3ULL;
}

/* One note's size: header, name and descriptor, each padded to 4 bytes
 * (the ELF note format of core files). */
static uint64_t note_size(size_t namesz, size_t descsz)
{
    return sizeof(Elf64_Nhdr) + align4(namesz) + align4(descsz);
}

static size_t note_put(uint8_t *buf, const char *name, uint32_t type,
                       const void *desc, size_t descsz)
{
    size_t namesz = strlen(name) + 1;
    Elf64_Nhdr h = {
        .n_namesz = (Elf64_Word)namesz,
        .n_descsz = (Elf64_Word)descsz,
        .n_type = type,
    };

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), name, namesz);
    memcpy(buf + sizeof(h) + align4(namesz), desc, descsz);
    return note_size(namesz, descsz);
}

static uint64_t notes_size(const struct crashdump *d)
{
    uint64_t n = 0;

    for (unsigned int i = 0; i < d->nr_cpus; i++)
        if (d->cpus[i].has_regs)
            n += note_size(sizeof("CORE"), CRASHDUMP_PRSTATUS_SIZE);
    if (d->text)
        n += note_size(sizeof("VMRUN"), strlen(d->text) + 1);
    if (d->vmcoreinfo)
        n += note_size(sizeof("VMCOREINFO"), d->vmcoreinfo_len);
    return n;
}

/* struct elf_prstatus of x86-64: everything but pr_pid and pr_reg is 0
 * (no signal, no times; pr_fpvalid 0: no FPU note follows). */
static size_t prstatus_put(uint8_t *buf, const struct crashdump_cpu *c)
{
    uint8_t pr[CRASHDUMP_PRSTATUS_SIZE] = {0};
    int32_t pid = (int32_t)c->index + 1;

    memcpy(pr + CRASHDUMP_PRSTATUS_PID, &pid, sizeof(pid));
    memcpy(pr + CRASHDUMP_PRSTATUS_REG, c->gregs, sizeof(c->gregs));
    return note_put(buf, "CORE", NT_PRSTATUS, pr, sizeof(pr));
}

static int check_dump(const struct crashdump *d)
{
    uint64_t end;

    if (d->nr_regions == 0 || d->nr_regions > CRASHDUMP_MAX_REGIONS ||
        d->vmcoreinfo_len > CRASHDUMP_MAX_VMCOREINFO)
        return -EINVAL;
    for (unsigned int i = 0; i < d->nr_regions; i++)
        if (d->regions[i].size == 0 || !d->regions[i].host ||
            __builtin_add_overflow(d->regions[i].gpa, d->regions[i].size, &end))
            return -EINVAL;
    return 0;
}

static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENOSPC;
        p += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static bool page_is_zero(const uint8_t *p, uint64_t len)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;

    for (uint64_t i = 0; i < len / 8; i++)
        if (w[i])
            return false;
    for (uint64_t i = len & ~7ULL; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* Region (r) at file offset (off): runs of non-zero pages are written, all
 * zero pages are left as holes. */
static int region_put(int fd, const struct crashdump_region *r, uint64_t off,
                      uint64_t *data_bytes)
{
    uint64_t pos = 0, run = 0;
    int ret;

    while (pos < r->size) {
        uint64_t len = r->size - pos < CD_PAGE ? r->size - pos : CD_PAGE;
        bool zero = page_is_zero(r->host + pos, len);

        if (!zero)
            run += len;
        pos += len;
        if (run && (zero || run >= CD_RUN_MAX || pos == r->size)) {
            uint64_t start = pos - run - (zero ? len : 0);

            ret = pwrite_all(fd, r->host + start, run, off + start);
            if (ret < 0)
                return ret;
            *data_bytes += run;
            run = 0;
        }
    }
    return 0;
}

/* The ELF header, program headers and notes, into one buffer of (*len). */
static uint8_t *headers_build(const struct crashdump *d, uint64_t data_off,
                              uint64_t *len)
{
    unsigned int phnum = 1 + d->nr_regions;
    uint64_t ph_off = sizeof(Elf64_Ehdr);
    uint64_t note_off = ph_off + phnum * sizeof(Elf64_Phdr);
    uint64_t nsz = notes_size(d), off = data_off;
    Elf64_Ehdr eh = {
        .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
                    EV_CURRENT, ELFOSABI_SYSV},
        .e_type = ET_CORE,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_phoff = ph_off,
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = (Elf64_Half)phnum,
    };
    Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = note_off, .p_filesz = nsz};
    uint8_t *buf = calloc(1, note_off + nsz), *p;

    if (!buf)
        return NULL;
    memcpy(buf, &eh, sizeof(eh));
    memcpy(buf + ph_off, &ph, sizeof(ph));
    for (unsigned int i = 0; i < d->nr_regions; i++) {
        const struct crashdump_region *r = &d->regions[i];
        Elf64_Phdr l = {
            .p_type = PT_LOAD,
            .p_flags = PF_R | PF_W | PF_X,
            .p_offset = off,
            .p_paddr = r->gpa,
            .p_filesz = r->size,
            .p_memsz = r->size,
        };

        memcpy(buf + ph_off + (i + 1) * sizeof(ph), &l, sizeof(l));
        off += (r->size + CD_PAGE - 1) & ~(CD_PAGE - 1);
    }
    p = buf + note_off;
    for (unsigned int i = 0; i < d->nr_cpus; i++)
        if (d->cpus[i].has_regs)
            p += prstatus_put(p, &d->cpus[i]);
    if (d->text)
        p += note_put(p, "VMRUN", CRASHDUMP_NOTE_VMRUN, d->text,
                      strlen(d->text) + 1);
    if (d->vmcoreinfo)
        note_put(p, "VMCOREINFO", 0, d->vmcoreinfo, d->vmcoreinfo_len);
    *len = note_off + nsz;
    return buf;
}

int crashdump_write(int fd, const struct crashdump *d,
                    struct crashdump_stats *st)
{
    uint64_t hlen = 0, data_off, off, data_bytes = 0;
    uint8_t *hdr;
    int ret = check_dump(d);

    if (ret < 0)
        return ret;
    /* Segment data starts on a page, so holes line up with file blocks. */
    data_off = sizeof(Elf64_Ehdr) + (1 + d->nr_regions) * sizeof(Elf64_Phdr) +
               notes_size(d);
    data_off = (data_off + CD_PAGE - 1) & ~(CD_PAGE - 1);
    hdr = headers_build(d, data_off, &hlen);
    if (!hdr)
        return -ENOMEM;
    ret = pwrite_all(fd, hdr, hlen, 0);
    free(hdr);
    off = data_off;
    for (unsigned int i = 0; ret == 0 && i < d->nr_regions; i++) {
        ret = region_put(fd, &d->regions[i], off, &data_bytes);
        off += (d->regions[i].size + CD_PAGE - 1) & ~(CD_PAGE - 1);
    }
    /* The holes at the end: the file is as long as its last segment. */
    if (ret == 0 && ftruncate(fd, (off_t)off) < 0)
        ret = -errno;
    if (ret == 0 && st) {
        st->file_size = off;
        st->data_bytes = data_bytes;
    }
    return ret;
}
