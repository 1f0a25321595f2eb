/* bootimg.h - parsers for the kernel images vmrun boots: bzImage (Linux x86
 * boot protocol) and ELF64 (with or without a PVH entry note).  Pure
 * functions over a byte buffer: no guest memory, unit-tested. */
#ifndef VMRUN_X86_BOOTIMG_H
#define VMRUN_X86_BOOTIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bootimg_kind { BOOTIMG_UNKNOWN = 0, BOOTIMG_BZIMAGE, BOOTIMG_ELF64 };

/* Oldest boot protocol with a 64-bit entry point (XLF_KERNEL_64). */
#define BZIMAGE_MIN_VERSION 0x020c

/* Offsets in the bzImage file and in boot_params (the "zero page"),
 * Documentation/arch/x86/boot.rst and zero-page.rst. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_HEADER 0x1f1
#define BP_SETUP_SECTS 0x1f1
#define BP_VID_MODE 0x1fa
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 0x1000

#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01

struct bzimage_info {
    uint16_t version;
    uint64_t setup_size;    /* real-mode part, boot sector included */
    uint64_t kernel_offset; /* protected-mode kernel in the file */
    uint64_t kernel_size;
    uint32_t header_end; /* setup header spans [0x1f1, header_end) */
    bool relocatable;
    uint32_t kernel_alignment;
    uint64_t pref_address;
    uint32_t init_size;       /* memory the kernel needs from its load */
    uint32_t initrd_addr_max; /* highest byte address the initrd may use */
    uint32_t cmdline_size;    /* longest command line, without the NUL */
};

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
    uint64_t offset; /* in the file */
    uint64_t filesz;
    uint64_t memsz;
    uint64_t paddr; /* guest physical load address */
};

struct elf_info {
    uint64_t entry;
    bool has_pvh;
    uint64_t pvh_entry; /* XEN_ELFNOTE_PHYS32_ENTRY */
    unsigned int nr_segments;
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

enum bootimg_kind bootimg_detect(const uint8_t *img, size_t len);

/* Each returns 0, or -EINVAL/-ENOEXEC with one line in (err) saying what is
 * wrong ("bzImage boot protocol 2.10 is too old: need 2.12 or later"). */
int bootimg_parse_bzimage(const uint8_t *img, size_t len,
                          struct bzimage_info *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));
int bootimg_parse_elf(const uint8_t *img, size_t len, struct elf_info *out,
                      char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
