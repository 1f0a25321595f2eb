# shellcheck shell=sh
# reboot: immediate reboot (reboot(2) RESTART), no verdict line. A VMM run
# with "no reboot" semantics should exit; otherwise the guest boots again.
marker action reboot
sync
reboot -f
sleep 5
fail "still-alive-after-reboot"
