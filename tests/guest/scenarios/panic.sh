# shellcheck shell=sh
# panic: crash the guest kernel (sysrq "c"). The host sees a panic (pvpanic
# event if the VMM has that device, otherwise a reset or halt), never a verdict.
marker action panic
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
fail "still-alive-after-panic"
