/* fuzz_bootimg.c - libFuzzer harness for the kernel image parsers
 * (src/arch/x86/bootimg.c): the input is a kernel file.
 *
 * Checked beyond the sanitizers: a parsed image describes only bytes that
 * are in the file (setup + kernel = file for a bzImage; every ELF segment's
 * file range inside it, filesz <= memsz, no load range wrapping), and a
 * refusal comes with a one-line message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/bootimg.h"
#include "fuzz_common.h"

#define ERR_LEN 200

static void check_err(int ret, const char *err)
{
    FUZZ_CHECK(ret == -EINVAL || ret == -ENOEXEC);
    FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
}

static void check_bzimage(const uint8_t *img, size_t len, char *err)
{
    struct bzimage_info bz;
    int ret = bootimg_parse_bzimage(img, len, &bz, err, ERR_LEN);

    if (ret < 0) {
        check_err(ret, err);
        return;
    }
    FUZZ_CHECK(bz.version >= BZIMAGE_MIN_VERSION);
    FUZZ_CHECK(bz.setup_size <= len && bz.kernel_offset == bz.setup_size);
    FUZZ_CHECK(bz.kernel_size == len - bz.setup_size);
    FUZZ_CHECK(bz.header_end > BP_SETUP_HEADER && bz.header_end <= len);
    FUZZ_CHECK(bz.init_size >= bz.kernel_size || bz.kernel_size > UINT32_MAX);
}

static void check_elf(const uint8_t *img, size_t len, char *err)
{
    struct elf_info elf;
    int ret = bootimg_parse_elf(img, len, &elf, err, ERR_LEN);

    if (ret < 0) {
        check_err(ret, err);
        return;
    }
    FUZZ_CHECK(elf.nr_segments > 0 && elf.nr_segments <= ELF_MAX_SEGMENTS);
    for (unsigned int i = 0; i < elf.nr_segments; i++) {
        const struct elf_segment *s = &elf.segments[i];

        FUZZ_CHECK(s->filesz <= s->memsz);
        FUZZ_CHECK(s->offset <= len && s->filesz <= len - s->offset);
        FUZZ_CHECK(s->paddr + s->memsz >= s->paddr);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the input's bytes on the heap, so ASan sees any read past
     * the end of the file; and an error buffer of exactly ERR_LEN. */
    uint8_t *img = malloc(size ? size : 1);
    char *err = malloc(ERR_LEN);
    enum bootimg_kind kind;

    if (!img || !err)
        goto out;
    memcpy(img, data, size);
    kind = bootimg_detect(img, size);
    FUZZ_CHECK(kind == BOOTIMG_UNKNOWN || kind == BOOTIMG_BZIMAGE ||
               kind == BOOTIMG_ELF64);
    err[0] = '\0';
    check_bzimage(img, size, err);
    err[0] = '\0';
    check_elf(img, size, err);
out:
    free(err);
    free(img);
    return 0;
}
