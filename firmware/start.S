/* start.S - entry of the freestanding test guests.  vmrun enters at CPL0 in
 * long mode (identity-mapped, U/S set on every page) with rdi = boot_params
 * and rsp set.  The little CPL0 work here (a GDT with user segments, iretq)
 * is all that a kvm_pvm host has to emulate; everything after runs at CPL3
 * with IOPL 3, natively. */
    .section .text.start, "ax"
    .globl _start
    .code64
_start:
    mov     %rdi, %r12              /* boot_params, for fw_main */
    lgdt    gdt_desc(%rip)
    /* iretq frame: ss, rsp, rflags (IOPL 3, interrupts off), cs, rip */
    pushq   $0x1b                   /* user data, RPL 3 */
    leaq    stack_top(%rip), %rax
    pushq   %rax
    pushq   $0x3002
    pushq   $0x23                   /* user code64, RPL 3 */
    leaq    user_entry(%rip), %rax
    pushq   %rax
    iretq
user_entry:
    mov     $0x1b, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %r12, %rdi
    call    fw_main
1:  jmp     1b

    .section .rodata
    .align 16
gdt:
    .quad 0
    .quad 0x00af9b000000ffff        /* 0x08 kernel code64 */
    .quad 0x00cf93000000ffff        /* 0x10 kernel data */
    .quad 0x00cff3000000ffff        /* 0x18 user data */
    .quad 0x00affb000000ffff        /* 0x20 user code64 */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

    .section .bss
    .align 16
    .space 16384
stack_top:
