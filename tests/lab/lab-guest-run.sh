#!/bin/sh
# lab-guest-run.sh QEMU-ARGS... — runs on the KVM host (inside the box, or directly):
# boots the test guest with QEMU and KVM, streams its console and prints how long
# the guest took, measured with /proc/uptime of the KVM host:
#   LAB: guest_userspace_s=<start to the "userspace" marker> guest_total_s=<start to QEMU exit>
# Exits with QEMU's status. POSIX sh: in the box it is busybox sh.

uptime_s() { cut -d' ' -f1 /proc/uptime; }

t0=$(uptime_s)
: >/tmp/lab-userspace
# Status of QEMU, not of the reading loop, goes through a file (no pipefail in sh).
{ qemu-system-x86_64 "$@" </dev/null; echo $? >/tmp/lab-qemu-status; } |
	while IFS= read -r line; do
		case $line in
		*"VMRUN-GUEST: userspace"*) uptime_s >/tmp/lab-userspace ;;
		esac
		printf '%s\n' "$line"
	done
t2=$(uptime_s)
t1=$(cat /tmp/lab-userspace)
echo "LAB: guest_userspace_s=$(awk -v a="$t0" -v b="${t1:-$t0}" 'BEGIN { printf "%.2f", b - a }')" \
	"guest_total_s=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')"
exit "$(cat /tmp/lab-qemu-status)"
