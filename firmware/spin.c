/* spin.c - a guest that runs until it is stopped: prints "tick N" on the
 * UART about every "delay=" TSC cycles (default 50 M), so a test can see
 * whether it is making progress (pause/resume); "ticks=N" ends it with
 * status 0 after N lines.
 *
 * "kvmclock=1" turns on kvmclock and prints "kvmclock: guest stopped" on
 * the tick after the host set PVCLOCK_GUEST_STOPPED (KVM_KVMCLOCK_CTRL: a
 * pause, a restore), then clears it as Linux does.
 *
 * "split=1" fills the time between ticks with 8-byte MMIO reads that
 * straddle the debug-exit page (no read handler: all ones) and the
 * pvpanic page (reads 3): KVM splits each into two exits to userspace.
 * Any other value than 0x00000003ffffffff ends the guest with status 3
 * (a pause that lost the second half: vcpu.c, vcpu_complete_io()). */
#include "fw.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PVCLOCK_GUEST_STOPPED 0x2
#define SPLIT_ADDR 0xd0000ffcULL /* 4 bytes before the pvpanic page */
#define SPLIT_WANT 0x00000003ffffffffULL

/* Linux's struct pvclock_vcpu_time_info (the kvmclock ABI). */
struct pvclock {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} __attribute__((aligned(64)));

static volatile struct pvclock pvclock;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The CPL0 gate's wrmsr (start.S, operation 9): MSR (msr) = (lo). */
static void wrmsr_low(uint32_t msr, uint32_t lo)
{
    uint32_t op = 9;

    __asm__ volatile("ud2"
                     : "+D"(op), "+S"(msr), "+d"(lo)
                     :
                     : "rax", "r11", "memory");
}

static uint64_t split_read(void)
{
    uint64_t v;

    /* One instruction, one 8-byte load across the page boundary. */
    __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(SPLIT_ADDR) : "memory");
    return v;
}

static void kvmclock_check(void)
{
    if (!(pvclock.flags & PVCLOCK_GUEST_STOPPED))
        return;
    pvclock.flags &= ~PVCLOCK_GUEST_STOPPED;
    fw_puts("vmrun-firmware: kvmclock: guest stopped\n");
}

void fw_main(const uint8_t *boot_params)
{
    uint64_t delay = fw_cmdline_u64(boot_params, "delay", 50000000);
    uint64_t ticks = fw_cmdline_u64(boot_params, "ticks", 0);
    uint64_t kvmclock = fw_cmdline_u64(boot_params, "kvmclock", 0);
    uint64_t split = fw_cmdline_u64(boot_params, "split", 0);

    fw_puts("vmrun-firmware: spin\n");
    if (kvmclock) /* enable bit 0; the address fits in 32 bits */
        wrmsr_low(MSR_KVM_SYSTEM_TIME_NEW, (uint32_t)(uintptr_t)&pvclock | 1);
    for (uint64_t n = 1; ticks == 0 || n <= ticks; n++) {
        uint64_t until = rdtsc() + delay;

        while (rdtsc() < until) {
            if (!split) {
                __asm__ volatile("pause");
                continue;
            }
            uint64_t v = split_read();

            if (v != SPLIT_WANT) {
                fw_puts("vmrun-firmware: split MMIO read gave ");
                fw_put_hex(v);
                fw_putc('\n');
                fw_finish(3);
            }
        }
        if (kvmclock)
            kvmclock_check();
        fw_puts("vmrun-firmware: tick ");
        fw_put_dec(n);
        fw_putc('\n');
    }
    fw_exit(0);
}
