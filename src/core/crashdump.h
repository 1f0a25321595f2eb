/* crashdump.h - the ELF core file of a crashed guest.
 *
 * The layout is the one QEMU's dump-guest-memory writes and the crash(8)
 * utility reads: ELF64 ET_CORE for EM_X86_64, one PT_NOTE segment, then one
 * PT_LOAD per guest RAM region (p_paddr: its guest-physical address, p_vaddr
 * 0).  The notes are one NT_PRSTATUS ("CORE", struct elf_prstatus of
 * x86-64) per vCPU whose registers are known, then one "VMRUN" note of type
 * CRASHDUMP_NOTE_VMRUN with a text for people (why the dump was written,
 * which vCPUs lost their registers), and a "VMCOREINFO" note when the
 * guest kernel's is known.  Guest pages that are all zero are
 * holes in the file (a sparse file), so a large guest that used little
 * gives a small dump.  Nothing here needs KVM: unit tests link it. */
#ifndef VMRUN_CRASHDUMP_H
#define VMRUN_CRASHDUMP_H

#include <stdbool.h>
#include <stdint.h>

/* The general registers of x86-64 in the order of the kernel's struct
 * user_regs_struct (elf_gregset_t, pr_reg in struct elf_prstatus). */
enum crashdump_greg {
    CRASHDUMP_R15,
    CRASHDUMP_R14,
    CRASHDUMP_R13,
    CRASHDUMP_R12,
    CRASHDUMP_RBP,
    CRASHDUMP_RBX,
    CRASHDUMP_R11,
    CRASHDUMP_R10,
    CRASHDUMP_R9,
    CRASHDUMP_R8,
    CRASHDUMP_RAX,
    CRASHDUMP_RCX,
    CRASHDUMP_RDX,
    CRASHDUMP_RSI,
    CRASHDUMP_RDI,
    CRASHDUMP_ORIG_RAX,
    CRASHDUMP_RIP,
    CRASHDUMP_CS,
    CRASHDUMP_EFLAGS,
    CRASHDUMP_RSP,
    CRASHDUMP_SS,
    CRASHDUMP_FS_BASE,
    CRASHDUMP_GS_BASE,
    CRASHDUMP_DS,
    CRASHDUMP_ES,
    CRASHDUMP_FS,
    CRASHDUMP_GS,
    CRASHDUMP_NR_GREGS,
};

/* struct elf_prstatus of x86-64: its size and where pr_pid and pr_reg
 * sit in it (the kernel's include/uapi/linux/elfcore.h layout). */
#define CRASHDUMP_PRSTATUS_SIZE 336
#define CRASHDUMP_PRSTATUS_PID 32
#define CRASHDUMP_PRSTATUS_REG 112

/* The type of the "VMRUN" note (QEMU's own "QEMU" note has type 0 too). */
#define CRASHDUMP_NOTE_VMRUN 0

/* Guest RAM [gpa, gpa + size) is at (host). */
struct crashdump_region {
    uint64_t gpa;
    uint64_t size;
    const uint8_t *host;
};

/* vCPU (index): its NT_PRSTATUS has pr_pid (index) + 1, as QEMU's do;
 * none when !(has_regs). */
struct crashdump_cpu {
    unsigned int index;
    bool has_regs;
    uint64_t gregs[CRASHDUMP_NR_GREGS];
};

struct crashdump {
    const struct crashdump_region *regions;
    unsigned int nr_regions; /* at most CRASHDUMP_MAX_REGIONS */
    const struct crashdump_cpu *cpus;
    unsigned int nr_cpus;
    const char *text; /* the "VMRUN" note, NULL: none */
    /* The guest kernel's VMCOREINFO text, (vmcoreinfo_len) bytes, as a
     * "VMCOREINFO" note (type 0, as the kernel and QEMU write it): crash(8)
     * takes the kernel's physical base and KASLR offset from it.  NULL:
     * none. */
    const char *vmcoreinfo;
    size_t vmcoreinfo_len;
};

#define CRASHDUMP_MAX_REGIONS 64
#define CRASHDUMP_MAX_VMCOREINFO 4096 /* the kernel's VMCOREINFO_BYTES */

/* What was written: the file's size and the bytes of guest RAM stored in
 * it (the rest are holes). */
struct crashdump_stats {
    uint64_t file_size;
    uint64_t data_bytes;
};

/* Writes (d) to (fd), an empty regular file opened for writing, with
 * pwrite() and ftruncate() only (no seek position is used).  Returns 0, or
 * -EINVAL for a dump with no region, too many regions or a region that is
 * empty or overflows, -ENOMEM, or the -errno of a failed write (-ENOSPC
 * also for a short write that makes no progress).  (st) may be NULL. */
int crashdump_write(int fd, const struct crashdump *d,
                    struct crashdump_stats *st)
    __attribute__((warn_unused_result));

#endif
