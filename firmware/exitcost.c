/* exitcost.c - the exit-cost guest of tests/bench: times round trips of a
 * trivial port-I/O exit and a trivial MMIO exit to the VMM.
 *
 * Command line: "count=N" (default 100000) accesses per loop.  It prints
 *
 *   VMRUN-BENCH: pio-begin / pio-end     N writes of port 0x80
 *   VMRUN-BENCH: mmio-begin / mmio-end   N writes of 0xd0800000
 *
 * and leaves through the debug-exit port with status 0.  Neither target is
 * claimed by a device in vmrun or QEMU (microvm, q35): each access is one
 * exit to userspace that the VMM looks up and drops, so the loops measure
 * the bare round trip guest -> KVM -> VMM -> KVM -> guest.  The host times
 * the lines as they arrive (tests/bench/stamp -T): the loops are long enough
 * that the console lines around them do not count.
 *
 * The accesses are made at CPL3 like every firmware guest (start.S), so the
 * guest also runs natively on kvm_pvm; a port write goes through the #UD
 * gate of start.S (its CPL0 handler does the out), an MMIO write is a plain
 * store.
 *
 * QEMU cannot enter the 64-bit entry vmrun uses, so the ELF also carries a
 * PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): pvh_entry, in 32-bit protected
 * mode without paging and ebx = hvm_start_info, builds the identity map
 * vmrun would have built (4 GiB, 2 MiB pages, U/S set), enters long mode and
 * jumps to _start with a zeroed boot_params whose cmd_line_ptr is the start
 * info's command line.  vmrun honours the note as well (it boots PVH
 * kernels), so both VMMs run exactly this path.  Built as exitcost.elf; with
 * -DEXITCOST_NO_PVH as exitcost-lm.elf, which vmrun enters in long mode
 * (kvm_pvm hosts run no 32-bit code). */
#include "fw.h"

#define PIO_PORT 0x80
#define MMIO_ADDR 0xd0800000ULL

static void loop_pio(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        fw_outb(PIO_PORT, 0);
}

static void loop_mmio(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint32_t *)(uintptr_t)MMIO_ADDR = 0;
}

void fw_main(const uint8_t *boot_params)
{
    uint64_t n = fw_cmdline_u64(boot_params, "count", 100000);

    fw_puts("VMRUN-BENCH: pio-begin\n");
    loop_pio(n);
    fw_puts("VMRUN-BENCH: pio-end\n");
    fw_puts("VMRUN-BENCH: mmio-begin\n");
    loop_mmio(n);
    fw_puts("VMRUN-BENCH: mmio-end\n");
    fw_puts("VMRUN-BENCH: count ");
    fw_put_dec(n);
    fw_putc('\n');
    fw_exit(0);
}

#ifndef EXITCOST_NO_PVH
/* The PVH entry (see the top of the file).  Page tables and the zero page
 * are in .bss, which the loader clears. */
__asm__(".section .note.Xen, \"a\", @note\n"
        "    .balign 4\n"
        "    .long 4, 4, 18\n" /* namesz, descsz, PHYS32_ENTRY */
        "    .asciz \"Xen\"\n"
        "    .long pvh_entry\n"
        ".section .bss\n"
        "    .balign 4096\n"
        "pvh_pml4: .skip 4096\n"
        "pvh_pdpt: .skip 4096\n"
        "pvh_pd: .skip 4 * 4096\n"
        "pvh_zero_page: .skip 4096\n"
        "pvh_stack: .skip 4096\n"
        "pvh_stack_top:\n"
        ".section .rodata\n"
        "    .balign 8\n"
        "pvh_gdt: .quad 0, 0x00af9a000000ffff\n" /* 0x08: 64-bit code */
        "pvh_gdt_desc: .word 15\n"
        "    .long pvh_gdt\n"
        ".section .text\n"
        "    .code32\n"
        "    .globl pvh_entry\n"
        "pvh_entry:\n"
        "    cli\n"
        /* 2048 PD entries: i << 21 | PS | U/S | RW | P */
        "    mov $pvh_pd, %edi\n"
        "    xor %ecx, %ecx\n"
        "1:  mov %ecx, %eax\n"
        "    shl $21, %eax\n"
        "    or $0x87, %eax\n"
        "    mov %eax, (%edi, %ecx, 8)\n"
        "    inc %ecx\n"
        "    cmp $2048, %ecx\n"
        "    jb 1b\n"
        "    mov $pvh_pd + 7, %eax\n"
        "    mov %eax, pvh_pdpt\n"
        "    add $4096, %eax\n"
        "    mov %eax, pvh_pdpt + 8\n"
        "    add $4096, %eax\n"
        "    mov %eax, pvh_pdpt + 16\n"
        "    add $4096, %eax\n"
        "    mov %eax, pvh_pdpt + 24\n"
        "    movl $pvh_pdpt + 7, pvh_pml4\n"
        /* boot_params.cmd_line_ptr (0x228) = start_info.cmdline_paddr */
        "    mov 24(%ebx), %eax\n"
        "    mov %eax, pvh_zero_page + 0x228\n"
        "    mov $pvh_pml4, %eax\n"
        "    mov %eax, %cr3\n"
        "    mov %cr4, %eax\n"
        "    or $0x20, %eax\n" /* PAE */
        "    mov %eax, %cr4\n"
        "    mov $0xc0000080, %ecx\n" /* EFER.LME */
        "    rdmsr\n"
        "    or $0x100, %eax\n"
        "    wrmsr\n"
        "    mov %cr0, %eax\n"
        "    or $0x80000001, %eax\n" /* PG | PE */
        "    mov %eax, %cr0\n"
        "    lgdt pvh_gdt_desc\n"
        "    ljmp $0x08, $pvh_long\n"
        "    .code64\n"
        "pvh_long:\n"
        "    xor %eax, %eax\n"
        "    mov %eax, %ds\n"
        "    mov %eax, %es\n"
        "    mov %eax, %ss\n"
        "    lea pvh_stack_top(%rip), %rsp\n"
        "    lea pvh_zero_page(%rip), %rdi\n"
        "    jmp _start\n");
#endif
