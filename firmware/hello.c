/* hello.c - the first freestanding test guest: prints on the UART, checks
 * the memory at the top of RAM, and exits through the debug-exit port with
 * "status=N" from its command line when every check passed (100 + the
 * number of the failed check otherwise). */
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
 * emulator may not handle.  vmrun must end with status 4 and a register
 * dump, not crash or hang itself. */
static void maybe_crash(const uint8_t *boot_params)
{
    uint64_t crash = fw_cmdline_u64(boot_params, "crash", 0);

    if (crash == 0)
        return;
    fw_puts("vmrun-firmware: crashing on purpose\n");
    fw_pio(crash == 1 ? 4 : 5, 0, 0);
    fw_puts("vmrun-firmware: still alive after the crash request\n");
}

void fw_main(const uint8_t *boot_params)
{
    uint64_t top = fw_ram_top(boot_params);
    uint64_t status = fw_cmdline_u64(boot_params, "status", 0);
    int failed;

    fw_puts("vmrun-firmware: hello from CPL3\n");
    maybe_crash(boot_params);
    fw_puts("vmrun-firmware: ram_top=");
    fw_put_hex(top);
    fw_putc('\n');
    failed = check_top_of_ram(top);
    fw_puts(failed ? "vmrun-firmware: top-of-RAM check FAILED\n"
                   : "vmrun-firmware: top-of-RAM check ok\n");
    fw_puts("vmrun-firmware: exit status=");
    fw_put_dec(failed ? 100u + (unsigned)failed : status);
    fw_putc('\n');
    fw_exit((uint8_t)(failed ? 100u + (unsigned)failed : status));
}
