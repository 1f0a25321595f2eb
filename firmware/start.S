/* start.S - entry of the freestanding test guests.  vmrun enters at CPL0 in
 * long mode (identity-mapped, U/S set on every page) with rdi = boot_params
 * and rsp set.  The CPL0 part is kept tiny because a kvm_pvm host emulates
 * every CPL0 instruction: install a GDT with user segments and a TSS, an IDT
 * with fault handlers, then iretq to CPL3 where the guest does its work
 * natively.
 *
 * Port I/O from CPL3 goes through a gate: ud2, whose #UD handler does the
 * access at CPL0 and returns past the ud2.  kvm_pvm honours neither IOPL 3
 * at CPL3 (in/out raise #GP) nor int $0x80 from CPL3 (#UD), and code entered
 * through SYSCALL runs natively in ring 3 there, where in/out fault too;
 * exception handlers run under emulation, where they work.  The gate costs
 * a few emulated instructions per access.  MMIO needs no gate: the pages
 * are user-mapped. */
#define SEL_KCODE 0x08
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS 0x28
#define DEBUG_EXIT_PORT 0x501

    .section .text.start, "ax"
    .globl _start
    .code64
_start:
    mov     %rdi, %r12              /* boot_params, for fw_main */
    lgdt    gdt_desc(%rip)
    /* TSS descriptor base = tss (fits in 32 bits: loaded at 2 MiB) */
    leaq    tss(%rip), %rax
    movw    %ax, gdt_tss + 2(%rip)
    shr     $16, %rax
    movb    %al, gdt_tss + 4(%rip)
    movb    %ah, gdt_tss + 7(%rip)
    leaq    kstack_top(%rip), %rax
    movq    %rax, tss + 4(%rip)     /* rsp0 */
    mov     $SEL_TSS, %ax
    ltr     %ax
    mov     $0x8e00, %edx
    leaq    fault_gp(%rip), %rax
    mov     $13, %ecx
    call    set_gate
    leaq    fault_pf(%rip), %rax
    mov     $14, %ecx
    call    set_gate
    leaq    gate_io(%rip), %rax
    mov     $6, %ecx                /* #UD: the port-I/O gate */
    call    set_gate
    lidt    idt_desc(%rip)
    /* iretq frame: ss, rsp, rflags (interrupts off), cs, rip */
    pushq   $SEL_UDATA
    leaq    stack_top(%rip), %rax
    pushq   %rax
    pushq   $0x2
    pushq   $SEL_UCODE
    leaq    user_entry(%rip), %rax
    pushq   %rax
    iretq

/* set_gate: IDT entry %ecx -> handler %rax, type/attributes in %edx. */
set_gate:
    push    %rax
    shl     $4, %rcx
    leaq    idt(%rip), %rsi
    add     %rcx, %rsi
    movw    %ax, (%rsi)
    movw    $SEL_KCODE, 2(%rsi)
    movw    %dx, 4(%rsi)
    shr     $16, %rax
    movw    %ax, 6(%rsi)
    shr     $16, %rax
    movl    %eax, 8(%rsi)
    movl    $0, 12(%rsi)
    pop     %rax
    ret

/* #UD handler = port-I/O gate: a ud2 (0f 0b) at CPL3 with edi = 0 outb /
 * 1 inb / 2 outl / 3 inl / 6 outw / 7 inw, esi = port, edx = value; the
 * result in eax (inw: ax, the rest of eax is the value passed).  Any
 * other #UD is a real fault.  Three more operations let tests crash the
 * guest on purpose: 4 = triple fault (no IDT, then int3), 5 = lock
 * cmpxchg16b at CPL0 (an instruction kvm_pvm's emulator cannot run: a KVM
 * internal error there; on hardware virtualization it simply runs), 8 = an
 * x87 fild from the MMIO address in edx at CPL0: KVM must emulate an access
 * to MMIO, and its emulator has no x87 loads, so every KVM host ends the
 * run with an internal error (emulation failure; at CPL3 KVM would inject
 * #UD instead).  9 = wrmsr: MSR esi gets edx (the high half 0). */
gate_io:
    mov     (%rsp), %r11            /* faulting rip */
    cmpw    $0x0b0f, (%r11)
    jne     fault_ud
    addq    $2, (%rsp)
    mov     %edx, %eax
    mov     %esi, %edx
    cmp     $1, %edi
    je      1f
    cmp     $2, %edi
    je      2f
    cmp     $3, %edi
    je      3f
    cmp     $4, %edi
    je      4f
    cmp     $5, %edi
    je      5f
    cmp     $6, %edi
    je      6f
    cmp     $7, %edi
    je      7f
    cmp     $8, %edi
    je      8f
    cmp     $9, %edi
    je      9f
    outb    %al, %dx
    iretq
6:  outw    %ax, %dx
    iretq
7:  inw     %dx, %ax
    iretq
1:  inb     %dx, %al
    iretq
2:  outl    %eax, %dx
    iretq
3:  inl     %dx, %eax
    iretq
4:  lidt    null_idt(%rip)
    int3
5:  push    %rbx
    push    %rcx
    leaq    cx16_slot(%rip), %r11
    xor     %eax, %eax
    xor     %edx, %edx
    xor     %ebx, %ebx
    xor     %ecx, %ecx
    lock cmpxchg16b (%r11)
    pop     %rcx
    pop     %rbx
    iretq
8:  mov     %eax, %eax              /* edx = the MMIO address, zero-extended */
    filds   (%rax)
    fstp    %st(0)
    iretq
9:  push    %rcx                    /* wrmsr: MSR esi = edx (high half 0) */
    mov     %edx, %ecx
    xor     %edx, %edx
    wrmsr
    pop     %rcx
    iretq

/* A fault ends the VM with status 0xf0 + vector (#UD 0xf6, #GP 0xfd,
 * #PF 0xfe) instead of a triple fault. */
fault_ud:
    mov     $0xf6, %al
    jmp     fault
fault_gp:
    mov     $0xfd, %al
    jmp     fault
fault_pf:
    mov     $0xfe, %al
fault:
    mov     $DEBUG_EXIT_PORT, %dx
    outb    %al, %dx
    hlt
    jmp     fault

user_entry:
    mov     $SEL_UDATA, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %r12, %rdi
    call    fw_main
1:  jmp     1b

    .section .data
    .align 16
gdt:
    .quad 0
    .quad 0x00af9b000000ffff        /* 0x08 kernel code64 */
    .quad 0x00cf93000000ffff        /* 0x10 kernel data */
    .quad 0x00cff3000000ffff        /* 0x18 user data */
    .quad 0x00affb000000ffff        /* 0x20 user code64 */
gdt_tss:
    .quad 0x0000890000000067        /* 0x28 TSS, base patched above */
    .quad 0
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt
null_idt:
    .word 0
    .quad 0
    .align 16
cx16_slot:
    .quad 0, 0
idt_desc:
    .word 256 * 16 - 1
    .quad idt

    .section .bss
    .align 16
tss:
    .space 104
    .align 4096
idt:
    .space 256 * 16
    .space 4096
kstack_top:
    .space 16384
stack_top:
