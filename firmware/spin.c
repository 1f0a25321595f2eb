/* spin.c - a guest that runs until it is stopped: prints "tick N" on the
 * UART about every "delay=" TSC cycles (default 50 M), so a test can see
 * whether it is making progress (pause/resume); "ticks=N" ends it with
 * status 0 after N lines. */
#include "fw.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

void fw_main(const uint8_t *boot_params)
{
    uint64_t delay = fw_cmdline_u64(boot_params, "delay", 50000000);
    uint64_t ticks = fw_cmdline_u64(boot_params, "ticks", 0);

    fw_puts("vmrun-firmware: spin\n");
    for (uint64_t n = 1; ticks == 0 || n <= ticks; n++) {
        uint64_t until = rdtsc() + delay;

        while (rdtsc() < until)
            __asm__ volatile("pause");
        fw_puts("vmrun-firmware: tick ");
        fw_put_dec(n);
        fw_putc('\n');
    }
    fw_exit(0);
}
