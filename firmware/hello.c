/* hello.c - the first freestanding test guest: prints on the UART, checks
 * the memory at the top of RAM and the masked legacy interrupt path, and
 * exits through the debug-exit port with "status=N" from its command line
 * when every check passed (100 + the number of the failed check
 * otherwise: 101-102 RAM, 103 the 8259/LINT0). */
#include "fw.h"

static int check_top_of_ram(uint64_t top)
{
    volatile uint64_t *p;
    uint64_t sum = 0;

    if (top < (2u << 20))
        return 1;
    /* The last 64 KiB: write a pattern, read it back. */
    p = (volatile uint64_t *)(uintptr_t)(top - 65536);
    for (int i = 0; i < 8192; i++)
        p[i] = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    for (int i = 0; i < 8192; i++)
        sum += p[i] == 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    return sum == 8192 ? 0 : 2;
}

/* "crash=1": a triple fault; "crash=2": an instruction the host's
 * emulator may not handle; "crash=3": an MMIO access no KVM can emulate
 * (a KVM internal error on every host).  vmrun must end with status 4 and
 * a register dump, not crash or hang itself. */
static void maybe_crash(const uint8_t *boot_params)
{
    uint64_t crash = fw_cmdline_u64(boot_params, "crash", 0);

    if (crash == 0)
        return;
    fw_puts("vmrun-firmware: crashing on purpose\n");
    if (crash == 3)
        fw_pio(8, 0, (uint32_t)(FW_DEBUG_EXIT_MMIO + 0x800));
    else
        fw_pio(crash == 1 ? 4 : 5, 0, 0);
    fw_puts("vmrun-firmware: still alive after the crash request\n");
}

#define PIC_MASTER_IMR 0x21
#define PIC_SLAVE_IMR 0xa1
#define LAPIC_LVT0 0xfee00350ULL
#define LVT_MASKED 0x10000u

/* The legacy interrupt path as firmware leaves it for a HW-reduced OS:
 * both 8259s masked, LINT0 masked (src/arch/x86/irqchip.c).  Otherwise
 * the first device interrupt on GSI 0-15 leaves an ExtINT pending on this
 * vCPU for good (it runs with IF = 0), and KVM arms an interrupt window
 * at every entry.  3 when that path is open. */
static int check_legacy_irq(void)
{
    uint8_t master = fw_inb(PIC_MASTER_IMR), slave = fw_inb(PIC_SLAVE_IMR);
    uint32_t lvt0 = *(volatile uint32_t *)(uintptr_t)LAPIC_LVT0;

    fw_puts("vmrun-firmware: 8259 imr=");
    fw_put_hex((uint64_t)slave << 8 | master);
    fw_puts(" lint0=");
    fw_put_hex(lvt0);
    fw_putc('\n');
    return master == 0xff && slave == 0xff && (lvt0 & LVT_MASKED) ? 0 : 3;
}

void fw_main(const uint8_t *boot_params)
{
    uint64_t top = fw_ram_top(boot_params);
    uint64_t status = fw_cmdline_u64(boot_params, "status", 0);
    int failed, irq;

    fw_puts("vmrun-firmware: hello from CPL3\n");
    maybe_crash(boot_params);
    fw_puts("vmrun-firmware: ram_top=");
    fw_put_hex(top);
    fw_putc('\n');
    failed = check_top_of_ram(top);
    fw_puts(failed ? "vmrun-firmware: top-of-RAM check FAILED\n"
                   : "vmrun-firmware: top-of-RAM check ok\n");
    irq = check_legacy_irq();
    fw_puts(irq ? "vmrun-firmware: legacy interrupt check FAILED\n"
                : "vmrun-firmware: legacy interrupt check ok\n");
    if (!failed)
        failed = irq;
    fw_puts("vmrun-firmware: exit status=");
    fw_put_dec(failed ? 100u + (unsigned)failed : status);
    fw_putc('\n');
    fw_exit((uint8_t)(failed ? 100u + (unsigned)failed : status));
}
