/* bootimg.c - bzImage and ELF64 header parsing with every field checked
 * against the file's size before use. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/bootimg.h"

/* ELF note type of the PVH 32-bit entry point (Xen's public elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int fail(char *err, size_t err_len, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_len, int ret, const char *fmt, ...)
{
    va_list ap;

    if (err && err_len) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return ret;
}

enum bootimg_kind bootimg_detect(const uint8_t *img, size_t len)
{
    if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
        return BOOTIMG_ELF64;
    if (len >= BP_HEADER + 4 && memcmp(img + BP_HEADER, "HdrS", 4) == 0)
        return BOOTIMG_BZIMAGE;
    return BOOTIMG_UNKNOWN;
}

static int bzimage_check_version(const uint8_t *img, struct bzimage_info *out,
                                 char *err, size_t err_len)
{
    out->version = get16(img + BP_VERSION);
    if (out->version < BZIMAGE_MIN_VERSION)
        return fail(err, err_len, -ENOEXEC,
                    "bzImage boot protocol %u.%02u is too old: need 2.12 or "
                    "later (a 64-bit entry point)",
                    out->version >> 8, out->version & 0xff);
    if (!(img[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
        return fail(err, err_len, -ENOEXEC,
                    "bzImage is not a bzImage (zImage loaded low)");
    if (!(get16(img + BP_XLOADFLAGS) & XLF_KERNEL_64))
        return fail(err, err_len, -ENOEXEC,
                    "bzImage has no 64-bit entry point (not an x86_64 "
                    "kernel?)");
    return 0;
}

int bootimg_parse_bzimage(const uint8_t *img, size_t len,
                          struct bzimage_info *out, char *err, size_t err_len)
{
    unsigned int sects;
    int ret;

    memset(out, 0, sizeof(*out));
    if (len < BP_INIT_SIZE + 4)
        return fail(err, err_len, -ENOEXEC,
                    "bzImage truncated: %zu bytes is shorter than its header",
                    len);
    if (memcmp(img + BP_HEADER, "HdrS", 4) != 0 ||
        get16(img + BP_BOOT_FLAG) != 0xaa55)
        return fail(err, err_len, -ENOEXEC,
                    "not a bzImage: no \"HdrS\" boot header magic");
    ret = bzimage_check_version(img, out, err, err_len);
    if (ret < 0)
        return ret;
    sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
    out->setup_size = (uint64_t)(sects + 1) * 512;
    /* The header ends where the 2-byte jump at 0x200 lands. */
    out->header_end = BP_JUMP + 2 + img[BP_JUMP + 1];
    if (out->setup_size >= len || out->header_end > out->setup_size)
        return fail(err, err_len, -ENOEXEC,
                    "bzImage truncated: %zu bytes, setup alone needs %llu", len,
                    (unsigned long long)out->setup_size);
    out->kernel_offset = out->setup_size;
    out->kernel_size = len - out->setup_size;
    out->relocatable = img[BP_RELOCATABLE] != 0;
    out->kernel_alignment = get32(img + BP_KERNEL_ALIGNMENT);
    out->pref_address = get64(img + BP_PREF_ADDRESS);
    out->init_size = get32(img + BP_INIT_SIZE);
    out->initrd_addr_max = get32(img + BP_INITRD_ADDR_MAX);
    out->cmdline_size = get32(img + BP_CMDLINE_SIZE);
    if (out->init_size < out->kernel_size)
        out->init_size =
            (uint32_t)(out->kernel_size > UINT32_MAX ? UINT32_MAX
                                                     : out->kernel_size);
    return 0;
}

static int elf_check_header(const uint8_t *img, size_t len, char *err,
                            size_t err_len)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    uint64_t ph_end;

    if (len < sizeof(Elf64_Ehdr) || memcmp(img, ELFMAG, SELFMAG) != 0)
        return fail(err, err_len, -ENOEXEC, "not an ELF file");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
        return fail(err, err_len, -ENOEXEC,
                    "ELF kernel is not 64-bit little-endian x86_64");
    if (eh->e_type != ET_EXEC)
        return fail(err, err_len, -ENOEXEC,
                    "ELF kernel is not an executable (ET_EXEC)");
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
        __builtin_mul_overflow((uint64_t)eh->e_phnum, sizeof(Elf64_Phdr),
                               &ph_end) ||
        __builtin_add_overflow(ph_end, eh->e_phoff, &ph_end) || ph_end > len)
        return fail(err, err_len, -ENOEXEC,
                    "ELF program headers lie outside the file");
    return 0;
}

/* Looks for XEN_ELFNOTE_PHYS32_ENTRY in one PT_NOTE segment. */
static void elf_scan_notes(const uint8_t *p, uint64_t size,
                           struct elf_info *out)
{
    uint64_t off = 0;

    while (size - off >= 12) {
        uint32_t namesz = get32(p + off), descsz = get32(p + off + 4);
        uint32_t type = get32(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
        uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);

        if (next > size)
            return;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
            memcmp(p + name_off, "Xen", 4) == 0 && descsz >= 4) {
            out->has_pvh = true;
            out->pvh_entry =
                descsz >= 8 ? get64(p + desc_off) : get32(p + desc_off);
        }
        off = next;
    }
}

static int elf_add_load(const Elf64_Phdr *ph, size_t len, struct elf_info *out,
                        char *err, size_t err_len)
{
    uint64_t end;

    if (out->nr_segments == ELF_MAX_SEGMENTS)
        return fail(err, err_len, -ENOEXEC,
                    "ELF kernel has more than %d loadable segments",
                    ELF_MAX_SEGMENTS);
    if (ph->p_filesz > ph->p_memsz ||
        __builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > len ||
        __builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end))
        return fail(err, err_len, -ENOEXEC,
                    "ELF segment %u lies outside the file or wraps",
                    out->nr_segments);
    out->segments[out->nr_segments++] = (struct elf_segment){
        ph->p_offset, ph->p_filesz, ph->p_memsz, ph->p_paddr};
    return 0;
}

int bootimg_parse_elf(const uint8_t *img, size_t len, struct elf_info *out,
                      char *err, size_t err_len)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = elf_check_header(img, len, err, err_len);
    if (ret < 0)
        return ret;
    out->entry = eh->e_entry;
    for (unsigned int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        uint64_t end;

        memcpy(&ph, img + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && ph.p_memsz > 0) {
            ret = elf_add_load(&ph, len, out, err, err_len);
            if (ret < 0)
                return ret;
        } else if (ph.p_type == PT_NOTE &&
                   !__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) &&
                   end <= len) {
            elf_scan_notes(img + ph.p_offset, ph.p_filesz, out);
        }
    }
    if (out->nr_segments == 0)
        return fail(err, err_len, -ENOEXEC,
                    "ELF kernel has no loadable segment");
    return 0;
}
