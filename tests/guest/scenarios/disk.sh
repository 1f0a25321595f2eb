# shellcheck shell=sh
# disk: block-device operations on the virtio-blk disks, for
# tests/integration/disk-suite.sh.  The host checks the image files after
# the VM ends, so every result the host compares is printed as a marker.
#
#   vmrun.disk=OP[,OP...]   run in order; each OP is NAME:ARG:ARG
#     list                  disks=<the vdX in /sys/block>, serial_vdX=<id>
#                           (probes are asynchronous: wait with sum first)
#     sum:DEV:MIB           sum_DEV=<md5 of the first MIB MiB, read O_DIRECT>
#     write:DEV:MIB         fresh random data (kept in RAM first): wrote_DEV=
#                           <its md5>, then dd conv=fsync onto the disk and
#                           synced_DEV=ok (or fail-STATUS)
#     ro:DEV                ro_DEV=<sysfs ro flag>, rowrite_DEV=refused|accepted
#     discard:DEV:OFF:MIB   blkdiscard of MIB MiB at OFF MiB: discard_DEV=ok|
#                           fail-STATUS, then zsum_DEV=<md5 of that range>
#     bench:DEV:MIB         dd O_DIRECT MB/s: bench_write_DEV=, bench_read_DEV=
#                           (1 MiB blocks), bench_read4k_DEV= (16 MiB in 4 KiB
#                           reads, one at a time)
#     idle                  idle=1, then wait for the host to stop the VM
# Verdict FAIL when a disk does not appear or an op is unknown; results that
# only the host can judge (checksums, refused writes) are markers.

DISK_DATA=/tmp/disk-data
mkdir -p /tmp

# disk_dev DEV: waits for /dev/DEV; fails the scenario when it never comes.
disk_dev() {
	wait_for "/dev/$1" 10 && return 0
	fail "no-/dev/$1"
	return 1
}

# disk_md5 DEV MIB [SKIP_MIB]: md5 of MIB MiB of /dev/DEV, bypassing the
# guest's page cache so the data comes from the device.
disk_md5() {
	dd if="/dev/$1" bs=1M skip="${3:-0}" count="$2" iflag=direct 2>/dev/null |
		md5sum | cut -d' ' -f1
}

disk_list() {
	_disks=
	for _d in /sys/block/vd*; do
		[ -e "$_d" ] && _disks="$_disks ${_d##*/}"
	done
	marker disks "${_disks# }"
	for _d in $_disks; do
		marker "serial_$_d" "$(cat "/sys/block/$_d/serial" 2>/dev/null)"
	done
}

disk_write() {
	disk_dev "$1" || return 0
	dd if=/dev/urandom of="$DISK_DATA" bs=1M count="$2" iflag=fullblock 2>/dev/null
	marker "wrote_$1" "$(md5sum "$DISK_DATA" | cut -d' ' -f1)"
	if dd if="$DISK_DATA" of="/dev/$1" bs=1M conv=fsync 2>/dev/null; then
		marker "synced_$1" ok
	else
		marker "synced_$1" "fail-$?"
	fi
	rm -f "$DISK_DATA"
}

disk_ro() {
	disk_dev "$1" || return 0
	marker "ro_$1" "$(cat "/sys/block/$1/ro")"
	if dd if=/dev/urandom of="/dev/$1" bs=4k count=1 conv=fsync 2>/dev/null; then
		marker "rowrite_$1" accepted
	else
		marker "rowrite_$1" refused
	fi
}

disk_discard() {
	disk_dev "$1" || return 0
	marker "discard_max_$1" "$(cat "/sys/block/$1/queue/discard_max_bytes")"
	if blkdiscard -o $(($2 * 1048576)) -l $(($3 * 1048576)) "/dev/$1"; then
		marker "discard_$1" ok
	else
		marker "discard_$1" "fail-$?"
	fi
	marker "zsum_$1" "$(disk_md5 "$1" "$3" "$2")"
}

# disk_rate MIB ARGS...: dd ARGS (moving MIB MiB); prints MB/s (10^6 bytes)
# timed with /proc/uptime (busybox dd prints no rate), or "error".
disk_rate() {
	_mib=$1
	shift
	_t0=$(cut -d' ' -f1 /proc/uptime)
	dd "$@" 2>/dev/null || { echo error; return 0; }
	awk -v a="$_t0" -v b="$(cut -d' ' -f1 /proc/uptime)" -v m="$_mib" \
		'BEGIN { d = b - a; if (d < 0.01) d = 0.01; printf "%.1f", m * 1.048576 / d }'
}

disk_bench() {
	disk_dev "$1" || return 0
	marker "bench_write_$1" "$(disk_rate "$2" if=/dev/zero of="/dev/$1" bs=1M count="$2" oflag=direct conv=fsync)"
	marker "bench_read_$1" "$(disk_rate "$2" if="/dev/$1" of=/dev/null bs=1M count="$2" iflag=direct)"
	marker "bench_read4k_$1" "$(disk_rate 16 if="/dev/$1" of=/dev/null bs=4k count=4096 iflag=direct)"
}

for _op in $(cmdline_get vmrun.disk "" | tr ',' ' '); do
	# shellcheck disable=SC2046  # split NAME:ARG:ARG into words
	set -- $(echo "$_op" | tr ':' ' ')
	case $1 in
	list) disk_list ;;
	sum) disk_dev "$2" && marker "sum_$2" "$(disk_md5 "$2" "$3")" ;;
	write) disk_write "$2" "$3" ;;
	ro) disk_ro "$2" ;;
	discard) disk_discard "$2" "$3" "$4" ;;
	bench) disk_bench "$2" "$3" ;;
	idle)
		marker idle 1
		sleep 600
		fail "nobody-stopped-the-vm"
		;;
	*) fail "unknown-disk-op-$1" ;;
	esac
done
true
