/* test_crashdump.c - the crash dump's ELF writer (src/core/crashdump.c), read
 * back with <elf.h>: headers, notes, segments, holes for zero pages. */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "core/crashdump.h"

#define PAGE 4096

static char path[64];
static int fd = -1;

static void file_setup(void)
{
    snprintf(path, sizeof(path), "/tmp/vmrun-crashdump-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
}

static void file_teardown(void)
{
    close(fd);
    unlink(path);
}

/* The whole file, mapped; (*len) its size. */
static uint8_t *map_file(size_t *len)
{
    struct stat st;
    void *p;

    ck_assert_int_eq(fstat(fd, &st), 0);
    *len = (size_t)st.st_size;
    p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

/* Walks the notes of PT_NOTE (ph); fills (names), (types) and (descs) of
 * up to (max) notes and returns their count. */
static int notes_read(const uint8_t *f, const Elf64_Phdr *ph, int max,
                      const char **names, uint32_t *types,
                      const uint8_t **descs, uint32_t *descsz)
{
    uint64_t off = 0;
    int n = 0;

    while (off < ph->p_filesz && n < max) {
        const Elf64_Nhdr *h = (const void *)(f + ph->p_offset + off);
        const char *name = (const char *)(h + 1);

        ck_assert_uint_le(off + sizeof(*h), ph->p_filesz);
        ck_assert_int_eq(name[h->n_namesz - 1], '\0');
        names[n] = name;
        types[n] = h->n_type;
        descs[n] = (const uint8_t *)name + ((h->n_namesz + 3) & ~3u);
        descsz[n] = h->n_descsz;
        off +=
            sizeof(*h) + ((h->n_namesz + 3) & ~3u) + ((h->n_descsz + 3) & ~3u);
        n++;
    }
    ck_assert_uint_eq(off, ph->p_filesz);
    return n;
}

START_TEST(layout_notes_and_segments)
{
    uint8_t *low = calloc(1, 16 * PAGE), *high = calloc(1, 3 * PAGE + 100);
    struct crashdump_region r[2] = {
        {.gpa = 0, .size = 16 * PAGE, .host = low},
        {.gpa = 0x100000000ULL, .size = 3 * PAGE + 100, .host = high},
    };
    struct crashdump_cpu cpus[3] = {{.index = 0, .has_regs = true},
                                    {.index = 1, .has_regs = false},
                                    {.index = 2, .has_regs = true}};
    static const char info[] = "OSRELEASE=6.1.0\nPAGESIZE=4096\n";
    struct crashdump d = {
        .regions = r,
        .nr_regions = 2,
        .cpus = cpus,
        .nr_cpus = 3,
        .text = "vmrun crash dump\nreason: test\n",
        .vmcoreinfo = info,
        .vmcoreinfo_len = sizeof(info) - 1,
    };
    struct crashdump_stats st;
    const char *names[8];
    uint32_t types[8], descsz[8];
    const uint8_t *descs[8];
    uint64_t reg;
    int32_t pid;
    size_t len;
    uint8_t *f;
    const Elf64_Ehdr *eh;
    const Elf64_Phdr *ph;

    for (int i = 0; i < CRASHDUMP_NR_GREGS; i++) {
        cpus[0].gregs[i] = 0x1000 + i;
        cpus[2].gregs[i] = 0x2000 + i;
    }
    memset(low + 3 * PAGE, 0xab, PAGE);
    low[15 * PAGE + 7] = 1;
    high[3 * PAGE + 99] = 0x5a;
    ck_assert_int_eq(crashdump_write(fd, &d, &st), 0);
    f = map_file(&len);
    eh = (const void *)f;
    ck_assert_int_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
    ck_assert_int_eq(eh->e_ident[EI_CLASS], ELFCLASS64);
    ck_assert_int_eq(eh->e_ident[EI_DATA], ELFDATA2LSB);
    ck_assert_int_eq(eh->e_type, ET_CORE);
    ck_assert_int_eq(eh->e_machine, EM_X86_64);
    ck_assert_int_eq(eh->e_phnum, 3);
    ck_assert_int_eq(eh->e_phentsize, sizeof(Elf64_Phdr));
    ph = (const void *)(f + eh->e_phoff);

    /* The notes: CORE for vCPUs 0 and 2 only, VMRUN, VMCOREINFO. */
    ck_assert_int_eq(ph[0].p_type, PT_NOTE);
    ck_assert_int_eq(notes_read(f, &ph[0], 8, names, types, descs, descsz), 4);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(names[i], "CORE");
        ck_assert_uint_eq(types[i], NT_PRSTATUS);
        ck_assert_uint_eq(descsz[i], CRASHDUMP_PRSTATUS_SIZE);
        memcpy(&pid, descs[i] + CRASHDUMP_PRSTATUS_PID, 4);
        ck_assert_int_eq(pid, i == 0 ? 1 : 3);
        memcpy(&reg, descs[i] + CRASHDUMP_PRSTATUS_REG + 8 * CRASHDUMP_RIP, 8);
        ck_assert_uint_eq(reg, (i == 0 ? 0x1000 : 0x2000) + CRASHDUMP_RIP);
        memcpy(&reg, descs[i] + CRASHDUMP_PRSTATUS_REG + 8 * CRASHDUMP_GS, 8);
        ck_assert_uint_eq(reg, (i == 0 ? 0x1000 : 0x2000) + CRASHDUMP_GS);
    }
    ck_assert_str_eq(names[2], "VMRUN");
    ck_assert_uint_eq(types[2], CRASHDUMP_NOTE_VMRUN);
    ck_assert_str_eq((const char *)descs[2], d.text);
    ck_assert_str_eq(names[3], "VMCOREINFO");
    ck_assert_uint_eq(types[3], 0);
    ck_assert_uint_eq(descsz[3], sizeof(info) - 1);
    ck_assert_int_eq(memcmp(descs[3], info, sizeof(info) - 1), 0);

    /* The loads: guest-physical addresses, sizes, page-aligned data. */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ph[1 + i].p_type, PT_LOAD);
        ck_assert_uint_eq(ph[1 + i].p_paddr, r[i].gpa);
        ck_assert_uint_eq(ph[1 + i].p_vaddr, 0);
        ck_assert_uint_eq(ph[1 + i].p_filesz, r[i].size);
        ck_assert_uint_eq(ph[1 + i].p_memsz, r[i].size);
        ck_assert_uint_eq(ph[1 + i].p_offset % PAGE, 0);
        ck_assert_uint_le(ph[1 + i].p_offset + r[i].size, len);
        ck_assert_int_eq(memcmp(f + ph[1 + i].p_offset, r[i].host, r[i].size),
                         0);
    }
    ck_assert_uint_ge(ph[2].p_offset, ph[1].p_offset + r[0].size);
    ck_assert_uint_eq(st.file_size, len);
    /* Pages 3 and 15 of low, pages 0..3 (the last one short) of high. */
    ck_assert_uint_eq(st.data_bytes, 2 * PAGE + 100);
    munmap(f, len);
    free(low);
    free(high);
}
END_TEST

/* A large guest that used a few pages gives a small file: the zero pages
 * are holes, at the start, between the used pages and at the end. */
START_TEST(zero_pages_are_holes)
{
    size_t size = 64ULL << 20;
    uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct crashdump_region r = {.gpa = 0x100000, .size = size, .host = ram};
    struct crashdump d = {.regions = &r, .nr_regions = 1};
    struct crashdump_stats st;
    off_t data_off, hole;
    struct stat sb;
    size_t len;
    uint8_t *f;
    const Elf64_Phdr *ph;

    ck_assert_ptr_ne(ram, MAP_FAILED);
    ram[5 * PAGE] = 1;
    ram[size - 2 * PAGE + 9] = 2;
    ck_assert_int_eq(crashdump_write(fd, &d, &st), 0);
    ck_assert_uint_eq(st.data_bytes, 2 * PAGE);
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(sb.st_size, (off_t)st.file_size);
    /* Headers (one block) and two pages, give or take the file system's
     * block size. */
    ck_assert_int_lt((long long)sb.st_blocks * 512, 1 << 20);
    f = map_file(&len);
    ph = (const void *)(f + ((const Elf64_Ehdr *)(const void *)f)->e_phoff);
    data_off = (off_t)ph[1].p_offset;
    ck_assert_uint_eq(len, data_off + size);
    ck_assert_int_eq(f[data_off + 5 * PAGE], 1);
    ck_assert_int_eq(f[data_off + size - 2 * PAGE + 9], 2);
    ck_assert_int_eq(f[data_off + 7 * PAGE], 0);
    /* The first page of guest RAM is a hole in the file. */
    hole = lseek(fd, data_off, SEEK_HOLE);
    ck_assert_int_eq(hole, data_off);
    munmap(f, len);
    munmap(ram, size);
}
END_TEST

START_TEST(bad_dumps_refused)
{
    uint8_t page[PAGE] = {1};
    struct crashdump_region r = {.gpa = 0, .size = PAGE, .host = page};
    struct crashdump_region wrap = {
        .gpa = UINT64_MAX - 10, .size = PAGE, .host = page};
    struct crashdump_region empty = {.gpa = 0, .size = 0, .host = page};
    struct crashdump_region many[CRASHDUMP_MAX_REGIONS + 1];
    struct crashdump d = {.regions = &r, .nr_regions = 0};
    struct stat sb;

    ck_assert_int_eq(crashdump_write(fd, &d, NULL), -EINVAL);
    d.regions = &wrap;
    d.nr_regions = 1;
    ck_assert_int_eq(crashdump_write(fd, &d, NULL), -EINVAL);
    d.regions = &empty;
    ck_assert_int_eq(crashdump_write(fd, &d, NULL), -EINVAL);
    for (int i = 0; i <= CRASHDUMP_MAX_REGIONS; i++)
        many[i] = (struct crashdump_region){(uint64_t)i * PAGE, PAGE, page};
    d.regions = many;
    d.nr_regions = CRASHDUMP_MAX_REGIONS + 1;
    ck_assert_int_eq(crashdump_write(fd, &d, NULL), -EINVAL);
    d.regions = &r;
    d.nr_regions = 1;
    d.vmcoreinfo = (const char *)page;
    d.vmcoreinfo_len = CRASHDUMP_MAX_VMCOREINFO + 1;
    ck_assert_int_eq(crashdump_write(fd, &d, NULL), -EINVAL);
    /* Nothing was written for a refused dump. */
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);
}
END_TEST

/* Write errors come back as -errno: a full disk, a read-only fd. */
START_TEST(write_errors_returned)
{
    uint8_t page[PAGE];
    struct crashdump_region r = {.gpa = 0, .size = PAGE, .host = page};
    struct crashdump d = {.regions = &r, .nr_regions = 1};
    int full = open("/dev/full", O_WRONLY), ro = open(path, O_RDONLY);

    memset(page, 0x11, sizeof(page));
    ck_assert_int_ge(ro, 0);
    ck_assert_int_eq(crashdump_write(ro, &d, NULL), -EBADF);
    close(ro);
    if (full >= 0) {
        ck_assert_int_eq(crashdump_write(full, &d, NULL), -ENOSPC);
        close(full);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashdump");
    TCase *tc = tcase_create("elf");

    tcase_add_checked_fixture(tc, file_setup, file_teardown);
    tcase_add_test(tc, layout_notes_and_segments);
    tcase_add_test(tc, zero_pages_are_holes);
    tcase_add_test(tc, bad_dumps_refused);
    tcase_add_test(tc, write_errors_returned);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
