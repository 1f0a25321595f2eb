#!/bin/bash
# disk-suite.sh BUILD_DIR IMAGES_DIR [--bench] - the virtio-blk checks: boots
# the test guest (tests/guest, scenario "disk") under vmrun with raw image
# files as drives and compares what the guest read and wrote with the files.
# Runs where /dev/kvm is real: tests/integration/disk.sh starts it in the lab
# box and prepares IMAGES_DIR (root.ext4, root.token, brd.ko).  Busybox is
# enough.  Prints "N passed, M failed"; with --bench also "# bench:" lines.
set -u
build=$(cd "${1:?usage: disk-suite.sh BUILD_DIR IMAGES_DIR [--bench]}" && pwd)
images=$(cd "${2:?usage: disk-suite.sh BUILD_DIR IMAGES_DIR [--bench]}" && pwd)
bench=0
[ "${3:-}" = --bench ] && bench=1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
guest=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
vmrun=$build/vmrun
work=$(mktemp -d)
scratch=
ramdisk=no

BASE_ARGS="console=ttyS0 reboot=k panic=-1 pci=off nomodeset i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd io_delay=none tsc=reliable no_timer_check 8250.nr_uarts=1 quiet"
EXIT_ARG="vmrun.exit=0xd0000000"

cleanup() {
	[ "$ramdisk" = yes ] && { umount "$scratch"; rmdir "$scratch"; rmmod brd; }
	[ "$ramdisk" = no ] && [ -n "$scratch" ] && rm -rf "$scratch"
	rm -rf "$work"
}
trap cleanup EXIT

# setup_scratch: where the images live.  In the box the root file system is
# tmpfs, which has no O_DIRECT on this kernel, so a RAM disk (brd) with an
# ext2 file system (ext4 driver) gives the Async engine its O_DIRECT path.
setup_scratch() {
	if [ "${VMRUN_IN_BOX:-}" = 1 ] && [ -r "$images/brd.ko" ] &&
		insmod "$images/brd.ko" rd_nr=1 rd_size=$((1024 * 1024)) max_part=0; then
		scratch=$(mktemp -d /var/tmp/disk-scratch.XXXXXX)
		if mke2fs -q -F -b 4096 /dev/ram0 >/dev/null && mount -t ext4 /dev/ram0 "$scratch"; then
			ramdisk=yes
			return 0
		fi
		rmdir "$scratch"
		rmmod brd
	fi
	scratch=$(mktemp -d /var/tmp/disk-scratch.XXXXXX)
}

# drive ID PATH [EXTRA-JSON]: one element of "drives".
drive() {
	printf '{ "drive_id": "%s", "path_on_host": "%s"%s }' "$1" "$2" "${3:+, $3}"
}

# config NAME BOOT_ARGS DRIVE-JSON...: writes $work/NAME.json, prints its path.
config() {
	local name=$1 args=$2 drives
	shift 2
	drives=$(
		IFS=,
		echo "$*"
	)
	cat >"$work/$name.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz",
                   "boot_args": "$BASE_ARGS $args" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "drives": [ $drives ]
}
JSON
	echo "$work/$name.json"
}

# scenario OPS: the boot arguments of the "disk" scenario running OPS.
scenario() { echo "$EXIT_ARG vmrun.scenario=disk vmrun.disk=$1"; }

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# diagnose PID: state, wait channel and kernel stack of each thread: what a
# vmrun that does not end is stuck on.
diagnose() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "#   thread $(cat "$t/comm" 2>/dev/null) state $(awk '{ print $3 }' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/#     /' "$t/stack" 2>/dev/null | head -n 12
	done
}

# await PID NAME SECS: waits for PID to end, its status in ST.  After SECS s:
# a diagnosis and SIGTERM, 5 s later SIGKILL, 10 s later ST=255 (unkillable).
await() {
	local pid=$1 i=0
	while alive "$pid" && [ $i -lt $(($3 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	if alive "$pid"; then
		echo "# $2: still running after $3 s"
		diagnose "$pid"
		dmesg | tail -n 15 | sed 's/^/#   dmesg: /'
		kill -TERM "$pid"
		i=0
		while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$pid" && { echo "# $2: SIGTERM ignored for 5 s, SIGKILL"; kill -KILL "$pid"; }
		i=0
		while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		if alive "$pid"; then
			echo "# $2: still there 10 s after SIGKILL"
			diagnose "$pid"
			ST=255
			return
		fi
	fi
	wait "$pid"
	ST=$?
}

# boot NAME CONFIG [STATUS]: runs vmrun (120 s at most, see await); console
# in $work/NAME.out, log in .err, status in RC, wall time in MS; shows the
# ends of both unless vmrun exits with STATUS (default 0).
boot() {
	local t0
	t0=$(now_ms)
	"$vmrun" "$2" >"$work/$1.out" 2>"$work/$1.err" </dev/null &
	await $! "$1" 120
	RC=$ST
	MS=$(($(now_ms) - t0))
	echo "# $1: exit $RC in $MS ms"
	if [ "$RC" -ne "${3:-0}" ]; then
		sed 's/^/    | /' "$work/$1.err" | tail -n 5
		tail -n 15 "$work/$1.out" | sed 's/^/    | /'
	fi
}

# mval NAME KEY: the value of the guest's last "KEY=" marker in NAME's console.
mval() {
	sed -n "s/^VMRUN-GUEST: $2=//p" "$work/$1.out" | tr -d '\r' | tail -n 1
}

# fsum FILE MIB [SKIP_MIB]: md5 of MIB MiB of FILE from SKIP_MIB on.
fsum() {
	dd if="$1" bs=1M count="$2" skip="${3:-0}" 2>/dev/null | md5sum | cut -d' ' -f1
}

# random_image FILE MIB [SIZE_MIB]: MIB MiB of random data, file SIZE_MIB long.
random_image() {
	dd if="$work/random" of="$1" bs=1M count="$2" 2>/dev/null
	[ -z "${3:-}" ] || truncate -s "${3}M" "$1"
}

# expect_sum NAME WANT GOT: two checksums, equal and not empty.
expect_sum() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# prepare: the scratch folder and a pool of random data for the images.
prepare() {
	setup_scratch
	local where="ext2 on a brd RAM disk"
	[ $ramdisk = yes ] || where=$(df -T "$scratch" 2>/dev/null | awk 'NR == 2 { print $2 }')
	echo "# images in $scratch ($where)"
	dio=no
	dd if=/dev/zero of="$scratch/dio" bs=4k count=1 oflag=direct 2>/dev/null && dio=yes
	rm -f "$scratch/dio"
	# One pool of random data; the images are slices of it (cheaper than urandom).
	dd if=/dev/urandom of="$work/random" bs=1M count=64 2>/dev/null
	zero16=$(dd if=/dev/zero bs=1M count=16 2>/dev/null | md5sum | cut -d' ' -f1)
}

# 1, 2, 4: Sync engine, two writable drives.  The guest reads both
# (host-prepared data), then writes fresh random data to both.
check_sync() {
	local a=$scratch/a.img b=$scratch/b.img sum_a sum_b
	random_image "$a" 64 72
	dd if="$work/random" of="$b" bs=1M skip=32 count=16 2>/dev/null
	truncate -s 24M "$b"
	sum_a=$(fsum "$a" 64) sum_b=$(fsum "$b" 16)
	boot sync "$(config sync "$(scenario sum:vda:64,sum:vdb:16,list,write:vda:64,write:vdb:16)" \
		"$(drive disk-a "$a" '"io_engine": "Sync"')" "$(drive disk-b "$b" '"cache_type": "Writeback"')")"
	expect "Sync: the guest passes and vmrun exits 0" 0 "$RC"
	expect "two drives: the guest sees vda and vdb" "vda vdb" "$(mval sync disks)"
	expect "two drives: serials are the drive_ids (GET_ID)" "disk-a disk-b" \
		"$(mval sync serial_vda) $(mval sync serial_vdb)"
	expect_sum "read: guest checksum of a host-prepared image (vda, 64 MiB)" "$sum_a" "$(mval sync sum_vda)"
	expect_sum "read: second drive (vdb, 16 MiB)" "$sum_b" "$(mval sync sum_vdb)"
	expect "write Sync: dd conv=fsync succeeds in the guest" ok "$(mval sync synced_vda)"
	expect_sum "write Sync: 64 MiB of guest data in the image file" "$(mval sync wrote_vda)" "$(fsum "$a" 64)"
	expect_sum "two drives: vdb's data lands in b.img" "$(mval sync wrote_vdb)" "$(fsum "$b" 16)"
	expect "two drives: vda's data is not in b.img, the image sizes are unchanged" "72 24" \
		"$([ "$(mval sync wrote_vda)" != "$(fsum "$b" 16)" ] && echo "$(($(stat -c %s "$a") >> 20)) $(($(stat -c %s "$b") >> 20))")"
}

# 8, 9: Async engine (libaio), one image where O_DIRECT works (the RAM disk)
# and one on tmpfs (no O_DIRECT: buffered libaio); discard on the first.
check_async() {
	local c=$scratch/c.img d=/tmp/disk-d.img blocks_before freed
	truncate -s 80M "$c"
	dd if="$work/random" of="$c" bs=1M seek=64 count=16 conv=notrunc 2>/dev/null
	random_image "$d" 16 16
	blocks_before=$(stat -c %b "$c")
	boot async "$(config async "$(scenario write:vda:64,sum:vda:64,write:vdb:16,discard:vda:64:16)" \
		"$(drive disk-c "$c" '"io_engine": "Async"')" "$(drive disk-d "$d" '"io_engine": "Async", "cache_type": "Writeback"')")"
	expect "Async: the guest passes and vmrun exits 0" 0 "$RC"
	expect "write Async: dd conv=fsync succeeds in the guest" "ok ok" \
		"$(mval async synced_vda) $(mval async synced_vdb)"
	expect_sum "write Async ($([ $dio = yes ] && echo O_DIRECT || echo buffered)): 64 MiB of guest data in the image file" \
		"$(mval async wrote_vda)" "$(fsum "$c" 64)"
	expect_sum "read Async: the guest reads back what it wrote" "$(mval async wrote_vda)" "$(mval async sum_vda)"
	expect_sum "write Async (tmpfs, buffered): 16 MiB in the second image" "$(mval async wrote_vdb)" "$(fsum "$d" 16)"
	[ $dio = yes ] || skipped "Async: O_DIRECT kept" "no O_DIRECT on $scratch"
	if [ $dio = yes ]; then
		if grep -q 'O_DIRECT refused' "$work/async.err"; then
			not_ok "Async: O_DIRECT kept" "$(grep 'O_DIRECT' "$work/async.err" | head -n 1)"
		else
			ok "Async: O_DIRECT kept (no fallback to buffered I/O logged)"
		fi
	fi
	if [ "$(mval async discard_max_vda)" = 0 ] || [ -z "$(mval async discard_max_vda)" ]; then
		not_ok "discard: the guest sees discard support" "discard_max_bytes=$(mval async discard_max_vda)"
	else
		expect "discard: blkdiscard of 16 MiB succeeds in the guest" ok "$(mval async discard_vda)"
		expect_sum "discard: the guest reads zeros back" "$zero16" "$(mval async zsum_vda)"
		expect_sum "discard: the file range is zeros" "$zero16" "$(fsum "$c" 16 64)"
		freed=$(((blocks_before + 64 * 2048 - $(stat -c %b "$c")) / 2048))
		expect "discard: the file gave back the 16 MiB (punched hole)" yes \
			"$([ "$freed" -ge 15 ] && echo yes || echo "no, $freed MiB")"
	fi
	rm -f "$d"
}

# 3: a read-only drive: the guest's write fails, the file is untouched.
check_readonly() {
	local e=$scratch/e.img meta_e sum_e
	random_image "$e" 16 16
	touch -d '2001-02-03 04:05:06' "$e"
	meta_e=$(stat -c '%Y %s' "$e") sum_e=$(fsum "$e" 16)
	boot ro "$(config ro "$(scenario ro:vda,sum:vda:16)" \
		"$(drive disk-e "$e" '"is_read_only": true')")"
	expect "read-only: the guest passes and vmrun exits 0" 0 "$RC"
	expect "read-only: the guest sees a read-only disk" 1 "$(mval ro ro_vda)"
	expect "read-only: the guest's write fails" refused "$(mval ro rowrite_vda)"
	expect_sum "read-only: the guest reads the data" "$sum_e" "$(mval ro sum_vda)"
	expect_sum "read-only: the file's checksum is unchanged" "$sum_e" "$(fsum "$e" 16)"
	expect "read-only: the file's mtime and size are unchanged" "$meta_e" "$(stat -c '%Y %s' "$e")"
}

# 5: root file system on virtio-blk: the initramfs switches into the ext4
# image (is_root_device adds root=/dev/vda rw), whose /init ends the VM.
check_root() {
	cp "$images/root.ext4" "$scratch/root.ext4"
	boot root "$(config root "vmrun.root=/dev/vda" \
		"$(drive rootfs "$scratch/root.ext4" '"is_root_device": true')")" 42
	expect "root on virtio-blk: the new root's /init exits 42" 42 "$RC"
	expect "root on virtio-blk: the initramfs switched root" /dev/vda "$(mval root root)"
	expect "root on virtio-blk: the new /init is the image's" "$(cat "$images/root.token")" "$(mval root newroot)"
	expect "root on virtio-blk: / is /dev/vda, ext4, rw" "/dev/vda ext4 rw" "$(mval root rootfs)"
	expect "root on virtio-blk: root=/dev/vda on the command line" /dev/vda "$(mval root cmdline_root)"
	expect "root on virtio-blk: the guest can write to it" ok "$(mval root root_write)"
}

# 6: kill -9 as soon as the guest reports its fsync done: the data is there.
check_kill() {
	local f=$scratch/f.img cfg pid
	truncate -s 32M "$f"
	cfg=$(config kill "$(scenario write:vda:32,idle)" "$(drive disk-f "$f" '"io_engine": "Async", "cache_type": "Writeback"')")
	"$vmrun" "$cfg" >"$work/kill.out" 2>"$work/kill.err" </dev/null &
	pid=$!
	for _ in $(seq 1 1200); do
		grep -q 'synced_vda=' "$work/kill.out" 2>/dev/null && break
		alive "$pid" || break
		sleep 0.05
	done
	exec 4>&2 2>/dev/null # bash reports the killed job on stderr: not news here
	kill -KILL "$pid"
	await "$pid" kill 10
	exec 2>&4 4>&-
	expect "kill -9: vmrun was killed after the guest's fsync" "137 ok" "$ST $(mval kill synced_vda)"
	expect_sum "kill -9: the data the guest synced is in the file" "$(mval kill wrote_vda)" "$(fsum "$f" 32)"
}

# 7: two vmruns on one writable image: the second fails at once, naming it.
check_lock() {
	local f=$scratch/lock.img cfg pid
	truncate -s 16M "$f"
	cfg=$(config hold "$EXIT_ARG vmrun.scenario=idle" "$(drive disk-f "$f")")
	"$vmrun" "$cfg" >"$work/hold.out" 2>"$work/hold.err" </dev/null &
	pid=$!
	for _ in $(seq 1 600); do
		grep -q 'VMRUN-GUEST: init' "$work/hold.out" 2>/dev/null && break
		sleep 0.05
	done
	boot second "$(config second "$EXIT_ARG vmrun.scenario=boot" "$(drive disk-f2 "$f")")" 1
	expect "two vmruns: the second fails within 5 s" yes \
		"$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$MS" -lt 5000 ] && echo yes || echo "no (exit $RC after $MS ms)")"
	expect_grep "two vmruns: the error says the image is locked" locked "$work/second.err"
	expect_grep "two vmruns: the error names the image file" "$f" "$work/second.err"
	boot second_ro "$(config second_ro "$EXIT_ARG vmrun.scenario=boot" "$(drive disk-f2 "$f" '"is_read_only": true')")" 1
	expect "two vmruns: a read-only second user is refused too" yes \
		"$([ "$RC" -ne 0 ] && [ "$MS" -lt 5000 ] && grep -q locked "$work/second_ro.err" && echo yes || echo "no (exit $RC)")"
	kill -TERM "$pid"
	await "$pid" hold 10
	expect "two vmruns: the first one stops on SIGTERM (143)" 143 "$ST"
	boot twice "$(config twice "$EXIT_ARG vmrun.scenario=boot" "$(drive one "$f")" "$(drive two "$f")")" 1
	expect "one image on two drives of one vmrun: refused" yes \
		"$([ "$RC" -ne 0 ] && grep -q locked "$work/twice.err" && echo yes || echo "no (exit $RC)")"
}

# --- benchmark (--bench): printed, not asserted ------------------------------

# host_rate MIB ARGS...: dd ARGS moving MIB MiB, in MB/s (10^6 bytes).
host_rate() {
	local mib=$1 t0
	shift
	t0=$EPOCHREALTIME
	dd "$@" 2>/dev/null || { echo error; return 0; }
	awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$mib" 'BEGIN { printf "%.1f", m * 1.048576 / (b - a) }'
}

# ratio A B: A / B with two decimals, "n/a" unless both are numbers.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

# iops MBPS: 4 KiB requests per second at MBPS MB/s.
iops() {
	awk -v a="$1" 'BEGIN { if (a + 0 > 0) printf "%d", a * 1e6 / 4096; else print "n/a" }'
}

# bench_qemu IMG: the same guest and scenario under QEMU (microvm, KVM,
# virtio-blk on virtio-mmio, aio=native cache=none), markers in $work/qemu.out.
bench_qemu() {
	command -v qemu-system-x86_64 >/dev/null || { echo "# bench: no QEMU in the box"; return 0; }
	local t0=$EPOCHREALTIME
	timeout 300 qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 -smp 1 \
		-kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
		-append "$BASE_ARGS vmrun.scenario=disk vmrun.disk=bench:vda:256" \
		-drive "id=d0,file=$1,format=raw,if=none,aio=native,cache=none" \
		-device virtio-blk-device,drive=d0 \
		-display none -serial stdio -monitor none -no-reboot -nodefaults \
		</dev/null >"$work/qemu.out" 2>"$work/qemu.err"
	echo "# qemu: exit $? in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }') ms"
	[ -s "$work/qemu.err" ] && sed 's/^/    | /' "$work/qemu.err" | head -n 5
}

# bench_line WHAT UNIT HOST VMRUN_ASYNC VMRUN_SYNC QEMU
bench_line() {
	echo "# bench: $1 ($2): host file $3, vmrun Async $4 ($(ratio "$4" "$3") of host," \
		"$(ratio "$4" "$6") of QEMU), vmrun Sync $5 ($(ratio "$5" "$3") of host), QEMU $6 ($(ratio "$6" "$3") of host)"
}

run_bench() {
	local g=$scratch/bench.img hw hr h4 key
	local -A v=()
	dd if=/dev/zero of="$g" bs=1M count=256 2>/dev/null
	local flag_i=iflag=direct flag_o=oflag=direct
	[ $dio = yes ] || { flag_i=iflag=fullblock flag_o=conv=notrunc; echo "# bench: no O_DIRECT on $scratch: host figures are buffered"; }
	hw=$(host_rate 256 if=/dev/zero of="$g" bs=1M count=256 "$flag_o" conv=notrunc,fsync)
	hr=$(host_rate 256 if="$g" of=/dev/null bs=1M count=256 "$flag_i")
	h4=$(host_rate 16 if="$g" of=/dev/null bs=4k count=4096 "$flag_i")
	for key in Async Sync; do
		boot "bench$key" "$(config "bench$key" "$(scenario bench:vda:256)" \
			"$(drive bench "$g" "\"io_engine\": \"$key\"")")"
		v[w$key]=$(mval "bench$key" bench_write_vda) v[r$key]=$(mval "bench$key" bench_read_vda)
		v[4$key]=$(mval "bench$key" bench_read4k_vda)
	done
	bench_qemu "$g"
	v[wq]=$(mval qemu bench_write_vda) v[rq]=$(mval qemu bench_read_vda) v[4q]=$(mval qemu bench_read4k_vda)
	echo "# bench: 256 MiB, busybox dd bs=1M O_DIRECT; 4 KiB: 16 MiB of O_DIRECT 4 KiB reads one at a time (sequential offsets)"
	bench_line "sequential write" MB/s "$hw" "${v[wAsync]}" "${v[wSync]}" "${v[wq]}"
	bench_line "sequential read" MB/s "$hr" "${v[rAsync]}" "${v[rSync]}" "${v[rq]}"
	bench_line "4 KiB reads, QD1" IOPS "$(iops "$h4")" "$(iops "${v[4Async]}")" "$(iops "${v[4Sync]}")" "$(iops "${v[4q]}")"
	rm -f "$g"
}

# heartbeat: every 15 s, the box's state and what each vmrun thread waits on
# (VMRUN_DISK_DEBUG=1: for a suite that stops making progress).
heartbeat() {
	local p
	while sleep 15; do
		echo "# heartbeat: up $(cut -d' ' -f1 /proc/uptime) s, load $(cut -d' ' -f1-3 /proc/loadavg), free $(awk '/^MemAvailable/ { print $2 }' /proc/meminfo) kB"
		for p in $(pidof vmrun); do
			echo "#   vmrun $p:"
			diagnose "$p"
		done
	done
}

[ "${VMRUN_DISK_DEBUG:-}" = 1 ] && heartbeat &
# VMRUN_DISK_ONLY="sync kill ..." runs only those groups (for debugging).
prepare
for group in ${VMRUN_DISK_ONLY:-sync async readonly root kill lock}; do
	"check_$group"
done
[ $bench = 1 ] && run_bench
# The box does not pass ASAN_OPTIONS/UBSAN_OPTIONS in, and UBSan's default is
# to report and go on: look for a report in every vmrun's stderr.
reports=$(grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$work"/*.err 2>/dev/null | grep -v '/qemu\.err$')
if [ -z "$reports" ]; then
	ok "no sanitizer report in any vmrun's stderr"
else
	not_ok "no sanitizer report in any vmrun's stderr" "in: $reports"
	for f in $reports; do sed 's/^/    | /' "$f" | head -n 20; done
fi
summary
