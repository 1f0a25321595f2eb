/* boot.c - loads a bzImage or ELF64 kernel, initrd and command line into
 * guest RAM and writes the boot tables (GDT, page tables, e820, ACPI,
 * boot_params or PVH start info) at the addresses of layout.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/x86/bootimg.h"
#include "arch/x86/e820.h"
#include "vm.h"
#include "arch/x86/x86_regs.h"

#define PAGE_SIZE 4096ULL
#define PDE_2M 0x87ULL          /* present, writable, user, 2 MiB page */
#define PTE_TABLE 0x7ULL        /* present, writable, user */
#define BOOT_PIECE (1ULL << 20) /* bytes of the initrd per read */

/* PVH boot ABI (Xen's public arch-x86/hvm/start_info.h), version 1. */
#define PVH_MAGIC 0x336ec578
struct pvh_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct pvh_module {
    uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

/* What arch_load_kernel() works with while it runs. */
struct boot_ctx {
    struct vm *vm;
    const uint8_t *img; /* the kernel file, mapped read-only */
    size_t img_len;
    uint64_t low_end;    /* end of RAM below the MMIO hole */
    uint64_t kernel_end; /* first byte above the loaded kernel */
    uint64_t initrd_addr, initrd_size;
    uint64_t initrd_max; /* highest byte the kernel accepts, inclusive */
    size_t cmdline_len;
    struct e820_entry e820[BP_E820_MAX];
    int nr_e820;
};

static int boot_write(struct boot_ctx *b, gpa_t gpa, const void *src,
                      size_t len)
{
    return gmem_write(&b->vm->mem, gpa, src, len);
}

static int boot_fail(struct boot_ctx *b, int ret, const char *what)
{
    vm_log(b->vm, VMRUN_LOG_ERROR, "boot-source.kernel_image_path: %s", what);
    return ret;
}

static int boot_write_gdt_and_pages(struct boot_ctx *b)
{
    uint64_t gdt[GDT_ENTRIES] = {
        [GDT_CODE32] = 0x00cf9b000000ffffULL,
        [GDT_CODE64] = 0x00af9b000000ffffULL,
        [GDT_DATA] = 0x00cf93000000ffffULL,
        [GDT_TSS] = 0x00008b0000000067ULL,
    };
    uint64_t pml4 = LAYOUT_PDPT | PTE_TABLE, pdpt[4], pd[512];
    int ret = boot_write(b, LAYOUT_GDT, gdt, sizeof(gdt));

    ret = ret ? ret : boot_write(b, LAYOUT_PML4, &pml4, sizeof(pml4));
    for (int i = 0; i < 4 && ret == 0; i++) {
        pdpt[i] = (LAYOUT_PD + i * PAGE_SIZE) | PTE_TABLE;
        for (int j = 0; j < 512; j++)
            pd[j] = (((uint64_t)i * 512 + j) << 21) | PDE_2M;
        ret = boot_write(b, LAYOUT_PD + i * PAGE_SIZE, pd, sizeof(pd));
    }
    return ret ? ret : boot_write(b, LAYOUT_PDPT, pdpt, sizeof(pdpt));
}

static int boot_write_cmdline(struct boot_ctx *b, uint32_t max_len)
{
    const struct vmrun_config *cfg = b->vm->cfg;
    const char *base = cfg->boot_args ? cfg->boot_args : config_default_cmdline;
    char buf[CONFIG_MAX_CMDLINE + 512];
    int n = snprintf(buf, sizeof(buf), "%s%s", base, b->vm->cmdline_extra);

    if (n < 0 || (size_t)n >= sizeof(buf) || (uint32_t)n > max_len) {
        vm_log(b->vm, VMRUN_LOG_ERROR,
               "boot-source.boot_args: command line of %d bytes is longer "
               "than the kernel accepts (%u)",
               n, max_len);
        return -E2BIG;
    }
    b->cmdline_len = (size_t)n;
    return boot_write(b, LAYOUT_CMDLINE, buf, (size_t)n + 1);
}

static int boot_write_acpi(struct boot_ctx *b)
{
    struct arch_vm *a = &b->vm->arch;
    struct acpi_params p = {
        .base = LAYOUT_ACPI,
        .nr_cpus = b->vm->cfg->vcpu_count,
        .lapic = LAYOUT_LAPIC,
        .ioapic = LAYOUT_IOAPIC,
        .com1_port = PORT_COM1,
        .com1_irq = IRQ_COM1,
        .sleep_control = LAYOUT_SLEEP_CONTROL,
        .sleep_status = LAYOUT_SLEEP_STATUS,
        .reset_reg = LAYOUT_RESET_REG,
        .reset_value = LAYOUT_RESET_VALUE,
        .devices = a->acpi_devs,
        .nr_devices = a->nr_acpi_devs,
    };
    uint8_t *dst = vm_gpa_ptr(b->vm, LAYOUT_ACPI, LAYOUT_ACPI_SIZE);
    int ret;

    if (!dst)
        return -EFAULT;
    ret = acpi_build(&p, dst, LAYOUT_ACPI_SIZE);
    if (ret < 0)
        vm_log(b->vm, VMRUN_LOG_ERROR, "cannot build the ACPI tables: %s",
               strerror(-ret));
    return ret < 0 ? ret : 0;
}

/* Reads the initrd (vm->initrd_fd) just below min(end of low RAM, the
 * kernel's limit). */
static int boot_load_initrd(struct boot_ctx *b)
{
    const char *path = b->vm->cfg->initrd_path;
    int fd = b->vm->initrd_fd;
    uint64_t top = b->low_end, size;
    struct stat st;
    uint8_t *dst;

    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0) {
        int ret = -errno;

        vm_log(b->vm, VMRUN_LOG_ERROR,
               "boot-source.initrd_path: cannot read '%s': %s", path,
               strerror(-ret));
        return ret;
    }
    size = (uint64_t)st.st_size;
    if (b->initrd_max && b->initrd_max + 1 < top)
        top = b->initrd_max + 1;
    if (size == 0 || size > top ||
        ((top - size) & ~(PAGE_SIZE - 1)) < b->kernel_end) {
        vm_log(b->vm, VMRUN_LOG_ERROR,
               "boot-source.initrd_path: '%s' (%llu bytes) does not fit in "
               "guest memory below 0x%llx above the kernel",
               path, (unsigned long long)size, (unsigned long long)top);
        return -ENOMEM;
    }
    b->initrd_addr = (top - size) & ~(PAGE_SIZE - 1);
    b->initrd_size = size;
    dst = vm_gpa_ptr(b->vm, b->initrd_addr, size);
    /* In 1 MiB pieces: a stop request ends a large initrd's load. */
    for (uint64_t done = 0; dst && done < size;) {
        uint64_t want = size - done < BOOT_PIECE ? size - done : BOOT_PIECE;
        int ret = vm_load_stopped(b->vm);
        ssize_t n;

        if (ret < 0)
            return ret;
        n = pread(fd, dst + done, want, (off_t)done);
        if (n <= 0) {
            vm_log(b->vm, VMRUN_LOG_ERROR,
                   "boot-source.initrd_path: cannot read '%s'", path);
            return n < 0 ? -errno : -EIO;
        }
        done += (uint64_t)n;
    }
    return 0;
}

static void bp_put(uint8_t *bp, unsigned int off, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        bp[off + i] = (uint8_t)(v >> (8 * i));
}

/* The zero page: the file's setup header plus what the loader fills in
 * (Documentation/arch/x86/boot.rst, "Details of header fields"). */
static int boot_write_params(struct boot_ctx *b, const struct bzimage_info *bz)
{
    uint8_t *bp = vm_gpa_ptr(b->vm, LAYOUT_BOOT_PARAMS, BP_SIZE);

    if (!bp)
        return -EFAULT;
    memset(bp, 0, BP_SIZE);
    if (bz)
        memcpy(bp + BP_SETUP_HEADER, b->img + BP_SETUP_HEADER,
               bz->header_end - BP_SETUP_HEADER);
    bp_put(bp, BP_TYPE_OF_LOADER, 0xff, 1);
    bp_put(bp, BP_VID_MODE, 0xffff, 2);
    bp_put(bp, BP_CMD_LINE_PTR, LAYOUT_CMDLINE, 4);
    bp_put(bp, BP_RAMDISK_IMAGE, b->initrd_addr, 4);
    bp_put(bp, BP_RAMDISK_SIZE, b->initrd_size, 4);
    if (!bz || bz->version >= 0x020e)
        bp_put(bp, BP_ACPI_RSDP_ADDR, LAYOUT_ACPI, 8);
    bp_put(bp, BP_E820_ENTRIES, (uint64_t)b->nr_e820, 1);
    memcpy(bp + BP_E820_TABLE, b->e820,
           (size_t)b->nr_e820 * sizeof(b->e820[0]));
    b->vm->arch.boot_info = LAYOUT_BOOT_PARAMS;
    return 0;
}

static int boot_bzimage(struct boot_ctx *b)
{
    struct bzimage_info bz;
    char err[160];
    uint64_t addr = LAYOUT_KERNEL;
    int ret = bootimg_parse_bzimage(b->img, b->img_len, &bz, err, sizeof(err));

    if (ret < 0)
        return boot_fail(b, ret, err);
    if (bz.relocatable && bz.pref_address >= LAYOUT_KERNEL &&
        bz.pref_address + bz.init_size <= b->low_end)
        addr = bz.pref_address;
    if (addr + bz.init_size > b->low_end)
        return boot_fail(b, -ENOMEM, "kernel does not fit in guest memory");
    ret = boot_write(b, addr, b->img + bz.kernel_offset, bz.kernel_size);
    if (ret < 0)
        return boot_fail(b, ret, "cannot copy the kernel into guest memory");
    b->kernel_end = addr + bz.init_size;
    b->initrd_max = bz.initrd_addr_max;
    ret = boot_write_cmdline(b, bz.cmdline_size);
    ret = ret ? ret : boot_load_initrd(b);
    ret = ret ? ret : boot_write_params(b, &bz);
    b->vm->arch.mode = X86_ENTRY_LINUX64;
    b->vm->arch.entry = addr + 0x200; /* startup_64 */
    return ret;
}

static int boot_elf_segments(struct boot_ctx *b, const struct elf_info *elf)
{
    for (unsigned int i = 0; i < elf->nr_segments; i++) {
        const struct elf_segment *s = &elf->segments[i];
        uint8_t *dst = vm_gpa_ptr(b->vm, s->paddr, s->memsz);

        if (!dst || s->paddr < LAYOUT_KERNEL) {
            char what[128];

            snprintf(what, sizeof(what),
                     "ELF segment at 0x%llx (%llu bytes) is outside guest "
                     "RAM above 1 MiB",
                     (unsigned long long)s->paddr,
                     (unsigned long long)s->memsz);
            return boot_fail(b, -ENOMEM, what);
        }
        memcpy(dst, b->img + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
        if (s->paddr + s->memsz > b->kernel_end)
            b->kernel_end = s->paddr + s->memsz;
    }
    b->kernel_end = (b->kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    return 0;
}

static int boot_write_pvh(struct boot_ctx *b)
{
    struct pvh_start_info si = {
        .magic = PVH_MAGIC,
        .version = 1,
        .cmdline_paddr = LAYOUT_CMDLINE,
        .rsdp_paddr = LAYOUT_ACPI,
        .memmap_paddr =
            LAYOUT_PVH_INFO + sizeof(si) + sizeof(struct pvh_module),
        .memmap_entries = (uint32_t)b->nr_e820,
    };
    struct pvh_module mod = {.paddr = b->initrd_addr, .size = b->initrd_size};
    struct pvh_memmap_entry mm[BP_E820_MAX];
    int ret;

    if (b->initrd_size) {
        si.nr_modules = 1;
        si.modlist_paddr = LAYOUT_PVH_INFO + sizeof(si);
    }
    for (int i = 0; i < b->nr_e820; i++)
        mm[i] = (struct pvh_memmap_entry){b->e820[i].addr, b->e820[i].size,
                                          b->e820[i].type, 0};
    ret = boot_write(b, LAYOUT_PVH_INFO, &si, sizeof(si));
    ret = ret ? ret
              : boot_write(b, LAYOUT_PVH_INFO + sizeof(si), &mod, sizeof(mod));
    ret = ret ? ret
              : boot_write(b, si.memmap_paddr, mm,
                           (size_t)b->nr_e820 * sizeof(mm[0]));
    b->vm->arch.boot_info = LAYOUT_PVH_INFO;
    return ret;
}

static int boot_elf(struct boot_ctx *b)
{
    struct elf_info elf;
    char err[160];
    int ret = bootimg_parse_elf(b->img, b->img_len, &elf, err, sizeof(err));

    if (ret < 0)
        return boot_fail(b, ret, err);
    ret = boot_elf_segments(b, &elf);
    ret = ret ? ret : boot_write_cmdline(b, LAYOUT_CMDLINE_MAX - 1);
    ret = ret ? ret : boot_load_initrd(b);
    if (ret < 0)
        return ret;
    if (elf.has_pvh) {
        b->vm->arch.mode = X86_ENTRY_PVH;
        b->vm->arch.entry = elf.pvh_entry;
        return boot_write_pvh(b);
    }
    b->vm->arch.mode = X86_ENTRY_ELF64;
    b->vm->arch.entry = elf.entry;
    return boot_write_params(b, NULL);
}

/* Maps the kernel (vm->kernel_fd) read-only into (b). */
static int boot_map_kernel(struct boot_ctx *b)
{
    const char *path = b->vm->cfg->kernel_path;
    struct stat st;
    void *p;
    int ret = 0;

    if (fstat(b->vm->kernel_fd, &st) < 0)
        ret = -errno;
    else if (st.st_size == 0)
        ret = -ENOEXEC;
    if (ret) {
        vm_log(b->vm, VMRUN_LOG_ERROR,
               "boot-source.kernel_image_path: cannot read '%s': %s", path,
               ret == -ENOEXEC ? "empty" : strerror(-ret));
        return ret;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, b->vm->kernel_fd,
             0);
    if (p == MAP_FAILED)
        return -errno;
    b->img = p;
    b->img_len = (size_t)st.st_size;
    return 0;
}

int arch_load_kernel(struct vm *vm)
{
    struct boot_ctx b = {.vm = vm};
    uint64_t high;
    int ret;

    e820_ram_split(vm->ram_size, &b.low_end, &high);
    b.nr_e820 = e820_build(vm->ram_size, b.e820, BP_E820_MAX);
    if (b.nr_e820 < 0)
        return b.nr_e820;
    ret = boot_write_gdt_and_pages(&b);
    ret = ret ? ret : boot_write_acpi(&b);
    ret = ret ? ret : boot_map_kernel(&b);
    if (ret < 0)
        return ret;
    switch (bootimg_detect(b.img, b.img_len)) {
    case BOOTIMG_BZIMAGE:
        ret = boot_bzimage(&b);
        break;
    case BOOTIMG_ELF64:
        ret = boot_elf(&b);
        break;
    default:
        ret = boot_fail(&b, -ENOEXEC,
                        "not a bzImage or ELF64 kernel (no boot header)");
        break;
    }
    munmap((void *)b.img, b.img_len);
    return ret;
}
