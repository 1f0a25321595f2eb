# shellcheck shell=sh
# poweroff: plain ACPI power-off (reboot(2) POWER_OFF) without the debug-exit
# register, no verdict line. The host sees a clean VM shutdown.
marker action poweroff
sync
poweroff -f
sleep 5
fail "still-alive-after-poweroff"
