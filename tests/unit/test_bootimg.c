/* test_bootimg.c - bzImage and ELF64 header parsing with synthesized,
 * truncated and hostile images. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/bootimg.h"
#include "check_main.h"

static uint8_t img[64 * 1024];
static char err[256];

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* A minimal valid bzImage: 4 setup sectors + 1 boot sector, the rest is
 * the "protected-mode kernel". */
static void make_bzimage(uint16_t version)
{
    memset(img, 0, sizeof(img));
    img[BP_SETUP_SECTS] = 4;
    put16(img + BP_BOOT_FLAG, 0xaa55);
    img[BP_JUMP] = 0xeb;
    img[BP_JUMP + 1] = 0x66; /* header ends at 0x268 */
    memcpy(img + BP_HEADER, "HdrS", 4);
    put16(img + BP_VERSION, version);
    img[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
    put16(img + BP_XLOADFLAGS, XLF_KERNEL_64);
    img[BP_RELOCATABLE] = 1;
    put32(img + BP_KERNEL_ALIGNMENT, 0x200000);
    put32(img + BP_PREF_ADDRESS, 0x1000000);
    put32(img + BP_INIT_SIZE, 0x2000000);
    put32(img + BP_INITRD_ADDR_MAX, 0x7fffffff);
    put32(img + BP_CMDLINE_SIZE, 2047);
}

START_TEST(test_bzimage_valid)
{
    struct bzimage_info bz;

    make_bzimage(0x020f);
    ck_assert_int_eq(bootimg_detect(img, sizeof(img)), BOOTIMG_BZIMAGE);
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)), 0);
    ck_assert_uint_eq(bz.version, 0x020f);
    ck_assert_uint_eq(bz.setup_size, 5 * 512);
    ck_assert_uint_eq(bz.kernel_offset, 5 * 512);
    ck_assert_uint_eq(bz.kernel_size, sizeof(img) - 5 * 512);
    ck_assert_uint_eq(bz.header_end, 0x268);
    ck_assert(bz.relocatable);
    ck_assert_uint_eq(bz.pref_address, 0x1000000);
    ck_assert_uint_eq(bz.init_size, 0x2000000);
    ck_assert_uint_eq(bz.cmdline_size, 2047);
}
END_TEST

START_TEST(test_bzimage_zero_setup_sects_means_four)
{
    struct bzimage_info bz;

    make_bzimage(0x020c);
    img[BP_SETUP_SECTS] = 0;
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)), 0);
    ck_assert_uint_eq(bz.setup_size, 5 * 512);
}
END_TEST

START_TEST(test_bzimage_too_old)
{
    struct bzimage_info bz;

    make_bzimage(0x020a);
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)),
        -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "2.10 is too old"));
}
END_TEST

START_TEST(test_bzimage_bad_magic)
{
    struct bzimage_info bz;

    make_bzimage(0x020f);
    img[BP_HEADER] = 'X';
    ck_assert_int_eq(bootimg_detect(img, sizeof(img)), BOOTIMG_UNKNOWN);
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)),
        -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "HdrS"));
    make_bzimage(0x020f);
    put16(img + BP_BOOT_FLAG, 0);
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)),
        -ENOEXEC);
}
END_TEST

START_TEST(test_bzimage_truncated)
{
    struct bzimage_info bz;

    make_bzimage(0x020f);
    /* Every length shorter than the setup code must be refused. */
    for (size_t len = 0; len <= 5 * 512; len++)
        ck_assert_int_eq(bootimg_parse_bzimage(img, len, &bz, err, sizeof(err)),
                         -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    /* setup_sects claiming more than the file holds. */
    img[BP_SETUP_SECTS] = 255;
    ck_assert_int_eq(bootimg_parse_bzimage(img, 8192, &bz, err, sizeof(err)),
                     -ENOEXEC);
}
END_TEST

START_TEST(test_bzimage_not_64bit)
{
    struct bzimage_info bz;

    make_bzimage(0x020f);
    put16(img + BP_XLOADFLAGS, 0);
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)),
        -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "64-bit"));
    make_bzimage(0x020f);
    img[BP_LOADFLAGS] = 0;
    ck_assert_int_eq(
        bootimg_parse_bzimage(img, sizeof(img), &bz, err, sizeof(err)),
        -ENOEXEC);
}
END_TEST

/* An ELF64 executable with one PT_LOAD and, if (pvh), a PT_NOTE holding
 * XEN_ELFNOTE_PHYS32_ENTRY. */
static size_t make_elf(int pvh)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    uint8_t *note = img + 0x200;

    memset(img, 0, sizeof(img));
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_entry = 0x200000;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    eh->e_phnum = pvh ? 2 : 1;
    ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                         .p_offset = 0x1000,
                         .p_paddr = 0x200000,
                         .p_filesz = 0x1000,
                         .p_memsz = 0x3000};
    if (pvh) {
        put32(note, 4);
        put32(note + 4, 4);
        put32(note + 8, 18);
        memcpy(note + 12, "Xen", 4);
        put32(note + 16, 0x1000abc);
        ph[1] =
            (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 20};
    }
    return 0x2000;
}

START_TEST(test_elf_valid)
{
    struct elf_info elf;
    size_t len = make_elf(0);

    ck_assert_int_eq(bootimg_detect(img, len), BOOTIMG_ELF64);
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)), 0);
    ck_assert_uint_eq(elf.entry, 0x200000);
    ck_assert(!elf.has_pvh);
    ck_assert_uint_eq(elf.nr_segments, 1);
    ck_assert_uint_eq(elf.segments[0].memsz, 0x3000);
}
END_TEST

START_TEST(test_elf_pvh_note)
{
    struct elf_info elf;
    size_t len = make_elf(1);

    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)), 0);
    ck_assert(elf.has_pvh);
    ck_assert_uint_eq(elf.pvh_entry, 0x1000abc);
    /* A note whose sizes run past its segment is ignored, not followed. */
    put32(img + 0x200, 0xfffffff0);
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)), 0);
    ck_assert(!elf.has_pvh);
}
END_TEST

START_TEST(test_elf_hostile_headers)
{
    struct elf_info elf;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    size_t len = make_elf(0);

    ph[0].p_offset = len - 0x10; /* file data past the end */
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    make_elf(0);
    ph[0].p_offset = UINT64_MAX - 0x10; /* wraps */
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    make_elf(0);
    ph[0].p_paddr = UINT64_MAX - 0x100; /* load address wraps */
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    make_elf(0);
    ph[0].p_filesz = 0x4000; /* filesz > memsz */
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    make_elf(0);
    eh->e_phnum = 0xffff; /* headers past the end */
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    make_elf(0);
    eh->e_ident[EI_CLASS] = ELFCLASS32;
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "64-bit"));
    make_elf(0);
    ph[0].p_type = PT_NULL;
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(err, "no loadable"));
    for (size_t l = 0; l < sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr); l++)
        ck_assert_int_eq(bootimg_parse_elf(img, l, &elf, err, sizeof(err)),
                         -ENOEXEC);
}
END_TEST

START_TEST(test_elf_too_many_segments)
{
    struct elf_info elf;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    size_t len = make_elf(0);

    eh->e_phnum = ELF_MAX_SEGMENTS + 1;
    for (int i = 0; i <= ELF_MAX_SEGMENTS; i++)
        ph[i] = ph[0];
    ck_assert_int_eq(bootimg_parse_elf(img, len, &elf, err, sizeof(err)),
                     -ENOEXEC);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bootimg");
    TCase *tc = tcase_create("bootimg");

    tcase_add_test(tc, test_bzimage_valid);
    tcase_add_test(tc, test_bzimage_zero_setup_sects_means_four);
    tcase_add_test(tc, test_bzimage_too_old);
    tcase_add_test(tc, test_bzimage_bad_magic);
    tcase_add_test(tc, test_bzimage_truncated);
    tcase_add_test(tc, test_bzimage_not_64bit);
    tcase_add_test(tc, test_elf_valid);
    tcase_add_test(tc, test_elf_pvh_note);
    tcase_add_test(tc, test_elf_hostile_headers);
    tcase_add_test(tc, test_elf_too_many_segments);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
