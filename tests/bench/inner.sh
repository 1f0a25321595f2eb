#!/bin/sh
# tests/bench/inner.sh — the part of the benchmark that runs on the KVM host
# (inside the lab's box, or directly): boots the test guest with vmrun and
# QEMU alternately, one stamp (tests/bench/stamp.c) per boot, and prints one
# result line per boot for tests/bench/run.sh to summarise:
#
#   BENCH test=boot|mem|blk|net|startup|api|exitcost|density vmm=NAME vcpus=N
#         run=I <stamp's key=value pairs> [fio_JOB=... iperf_DIR=...]
#   BENCHINFO key=value...       (load, kernel, QEMU version)
#   BENCHTRACE vmm=NAME kind=KIND what=WHAT count=N   (with VMRUN_BENCH_TRACE=1)
#   BENCHJOB N                   job N (a boot, a memory run, a trace) is done
#
# POSIX sh (busybox sh in the box). Parameters come from the environment
# (box.sh passes VMRUN_* through):
#   VMRUN_BENCH_BIN      the vmrun binary            VMRUN_BENCH_STAMP  stamp
#   VMRUN_BENCH_RUNS     boots per VMM and row       VMRUN_BENCH_MEMRUNS idle runs
#   VMRUN_BENCH_CMDLINE  kernel command line of every boot (vmrun's default)
#   VMRUN_BENCH_VMMS     VMMs compared (default "vmrun microvm q35")
#   VMRUN_BENCH_SKIP     rows left out, as VMM-VCPUS words (e.g. "q35-2")
#   VMRUN_BENCH_SKIP_JOBS=N  skip the first N jobs: an earlier box did them
#                        (run.sh resumes in a new box when one crashed)
#   VMRUN_BENCH_TRACE=1  also trace one boot per VMM: exits to userspace by
#                        reason, PIO port and MMIO address (tracefs)
#   VMRUN_BENCH_PARTS    what to run, in this order (default: all of)
#                        boot mem trace blk net density startup exitcost
#   VMRUN_BENCH_IORUNS   rounds of the blk and net rows (default 3)
#   VMRUN_BENCH_IOTIME   seconds per fio job / iperf3 direction (default 4)
#   VMRUN_BENCH_DENSITY  guests started at once for density (default 50)
#   VMRUN_BENCH_INITRD   the bench initramfs (tests/bench/initramfs.sh)
#   VMRUN_BENCH_BRD      brd.ko of the box kernel (a RAM disk for O_DIRECT)
#   VMRUN_BENCH_FLEET VMRUN_BENCH_SHIM  fleet and firstrun.so
#   VMRUN_BENCH_EXITCOST the exit-cost guest (firmware/exitcost.elf)
#   VMRUN_BENCH_QEMU_CPU QEMU's -cpu (default host; kvm_pvm needs
#                        host,-arch-capabilities)
#   VMRUN_CACHE          where the test guest is (tests/guest/build.sh)

BIN=${VMRUN_BENCH_BIN:?}
STAMP=${VMRUN_BENCH_STAMP:?}
RUNS=${VMRUN_BENCH_RUNS:-20}
MEMRUNS=${VMRUN_BENCH_MEMRUNS:-5}
CMDLINE=${VMRUN_BENCH_CMDLINE:?}
GUEST=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
QEMU=${VMRUN_BENCH_QEMU:-qemu-system-x86_64}
VMMS=${VMRUN_BENCH_VMMS:-vmrun microvm q35}
SKIP=${VMRUN_BENCH_SKIP:-}
SKIP_JOBS=${VMRUN_BENCH_SKIP_JOBS:-0}
PARTS=${VMRUN_BENCH_PARTS:-boot mem trace blk net density startup exitcost}
IORUNS=${VMRUN_BENCH_IORUNS:-3}
IOTIME=${VMRUN_BENCH_IOTIME:-4}
DENSITY=${VMRUN_BENCH_DENSITY:-50}
QCPU=${VMRUN_BENCH_QEMU_CPU:-host}
JOB=0
MEM_MIB=256
IO_MIB=512 # the bench initramfs carries ~85 MB of fio and its libraries
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-bench.XXXXXX")

info() { echo "BENCHINFO $*"; }

# next_job WHAT...: counts jobs in their fixed order; false for those
# already done.  A job it starts is announced ("BENCHSTART N WHAT"), so
# run.sh can name a job that took its box down.
next_job() {
	JOB=$((JOB + 1))
	[ "$JOB" -gt "$SKIP_JOBS" ] || return 1
	echo "BENCHSTART $JOB $*"
}
job_done() { echo "BENCHJOB $JOB"; }

# kvm_debugfs: KVM's counters (stamp reads them); needs debugfs mounted.
kvm_debugfs() {
	[ -d /sys/kernel/debug/kvm ] || [ "${VMRUN_IN_BOX:-0}" != 1 ] ||
		mount -t debugfs none /sys/kernel/debug 2>/dev/null
	if [ -r /sys/kernel/debug/kvm/exits ]; then
		info kvm_counters=yes
	else
		info kvm_counters=no
	fi
}

# vmrun_config VCPUS SCENARIO [MEM INITRD ARGS EXTRA-JSON]: a config file
# for one vmrun boot, path printed.
vmrun_config() {
	f=$WORK/vmrun-$1-$2.json
	cat >"$f" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST/vmlinuz",
                   "initrd_path": "${4:-$GUEST/initramfs.cpio.gz}",
                   "boot_args": "$CMDLINE vmrun.scenario=$2 ${5:-}" },
  "machine-config": { "vcpu_count": $1, "mem_size_mib": ${3:-$MEM_MIB} },
  ${6:+$6,}
  "vmrun": { "serial": { "output": "stdout", "input": false } }
}
JSON
	echo "$f"
}

# stamp_vmm VMM VCPUS SCENARIO [STAMP-OPTIONS...]: runs the VMM under stamp
# and prints stamp's line. QEMU gets the same kernel, initramfs, command line,
# RAM and CPU model as vmrun. microvm keeps its default acpi=on: the Debian
# cloud kernel finds its CPUs only through ACPI (it has no MP-table parser).
stamp_vmm() {
	vmm=$1 n=$2 sc=$3
	shift 3
	case $vmm in
	vmrun) set -- "$@" -- "$BIN" "$(vmrun_config "$n" "$sc")" ;;
	microvm | q35)
		set -- "$@" -- "$QEMU" -nodefaults -no-user-config -nographic \
			-enable-kvm -cpu "$QCPU" -M "$vmm" -smp "$n" -m "$MEM_MIB" \
			-no-reboot -kernel "$GUEST/vmlinuz" \
			-initrd "$GUEST/initramfs.cpio.gz" \
			-append "$CMDLINE vmrun.scenario=$sc" -serial stdio
		;;
	esac
	"$STAMP" -o "$WORK/last.out" -e "$WORK/last.err" "$@"
}

# check_run TEST VMM VCPUS RESULT: keeps the first console of each row in
# $BOX_OUT (run.sh's results folder) and shows it when a boot failed or
# stamp had to kill the VMM (status 137: a guest that never finished).
check_run() {
	if [ "$RUN" = 1 ] && [ -n "${BOX_OUT:-}" ]; then
		cp "$WORK/last.out" "$BOX_OUT/console-$1-$2-$3.log"
		cp "$WORK/last.err" "$BOX_OUT/stderr-$1-$2-$3.log"
	fi
	case $4 in
	*"marker_ms=-1"* | "") why="no userspace marker" ;;
	*"status=137 "*) why="killed at its time bound" ;;
	*) return 0 ;;
	esac
	echo "bench: $2 $3 vCPU ($1): $why; console tail:" >&2
	tail -n 15 "$WORK/last.out" >&2
	tail -n 5 "$WORK/last.err" >&2
}

# boot_once VMM VCPUS: one boot to userspace and an immediate poweroff.
boot_once() {
	r=$(stamp_vmm "$1" "$2" poweroff -t 120)
	check_run boot "$1" "$2" "$r"
	echo "BENCH test=boot vmm=$1 vcpus=$2 run=$RUN $r"
}

# mem_once VMM: boots an idle guest, samples the VMM's memory 3 s after the
# guest went idle, stops the VMM.
mem_once() {
	r=$(stamp_vmm "$1" 1 idle -t 120 -i "VMRUN-GUEST: action=idle" -w 3 \
		-g "$MEM_MIB")
	check_run mem "$1" 1 "$r"
	echo "BENCH test=mem vmm=$1 vcpus=1 run=$RUN $r"
}

# A B C A B C ...: each round boots every VMM once, so drift hits all alike.
boot_rounds() {
	RUN=1
	while [ "$RUN" -le "$RUNS" ]; do
		for VCPUS in 1 2; do
			for VMM in $VMMS; do
				case " $SKIP " in *" $VMM-$VCPUS "*) continue ;; esac
				next_job boot "$VMM" "$VCPUS" vCPU run "$RUN" || continue
				boot_once "$VMM" "$VCPUS"
				job_done
			done
		done
		RUN=$((RUN + 1))
	done
}

mem_rounds() {
	RUN=1
	while [ "$RUN" -le "$MEMRUNS" ]; do
		for VMM in vmrun microvm; do
			next_job mem "$VMM" run "$RUN" || continue
			mem_once "$VMM"
			job_done
		done
		RUN=$((RUN + 1))
	done
}

# trace_boot VMM: one traced boot; all VM exits by reason, exits to userspace
# by reason, PIO by port and direction, MMIO by address (KVM's tracepoints,
# as `perf kvm stat` uses).
trace_boot() {
	T=/sys/kernel/debug/tracing
	[ -w "$T/events/kvm/enable" ] || { info trace=unavailable; return 0; }
	echo 16384 >"$T/buffer_size_kb"
	echo >"$T/trace"
	for e in kvm_exit kvm_userspace_exit kvm_pio kvm_mmio; do
		echo 1 >"$T/events/kvm/$e/enable"
	done
	stamp_vmm "$1" 1 poweroff -t 300 >/dev/null
	for e in kvm_exit kvm_userspace_exit kvm_pio kvm_mmio; do
		echo 0 >"$T/events/kvm/$e/enable"
	done
	# kvm_exit: "vcpu 0 reason npf rip 0x... info1 ..." (every VM exit)
	# kvm_pio: "pio_write at 0x3f8 size 1 count 1 val 0x41"
	# kvm_mmio: "mmio write len 1 gpa 0xd0000000 val 0x0"
	awk -v vmm="$1" '
		/kvm_exit:/ { sub(/.*reason /, ""); split($0, w, " "); n["vmexit " w[1]]++ }
		/kvm_userspace_exit:/ { sub(/.*reason /, ""); sub(/ \(.*/, ""); n["exit " $0]++ }
		/kvm_pio:/ { sub(/.*kvm_pio: /, ""); split($0, w, " ")
			n["pio " w[1] "_" w[3] "_size" w[5]]++ }
		/kvm_mmio:/ { sub(/.*kvm_mmio: /, ""); split($0, w, " ")
			n["mmio " w[2] "_" w[6] "_len" w[4]]++ }
		END { for (k in n) { split(k, p, " ")
			printf "BENCHTRACE vmm=%s kind=%s count=%d what=%s\n", vmm, p[1], n[k], p[2] } }
	' "$T/trace" | sort -t= -k4 -n -r
	echo >"$T/trace"
}

# markers FILE PREFIX: the guest's "VMRUN-GUEST: PREFIX...=V" markers in
# FILE as " PREFIX...=V" words.
markers() {
	tr -d '\r' <"$1" | sed -n "s/^VMRUN-GUEST: \($2[a-z0-9_]*=[^ ]*\)$/\1/p" |
		tr '\n' ' ' | sed 's/^/ /; s/ $//'
}

# --- blk: fio in the guest on an image file, and on the host itself ---------

# blk_setup: the image on a RAM disk (brd) with ext4 where O_DIRECT works
# (the box's tmpfs has none), else in $WORK. Sets IMG, BLKWHERE.
blk_setup() {
	BLKDIR=$WORK/blk
	mkdir -p "$BLKDIR"
	BLKWHERE=$(df -T "$BLKDIR" 2>/dev/null | awk 'NR == 2 { print $2 }')
	if [ "${VMRUN_IN_BOX:-0}" = 1 ] && [ -r "${VMRUN_BENCH_BRD:-}" ] &&
		insmod "$VMRUN_BENCH_BRD" rd_nr=1 rd_size=$((640 * 1024)) max_part=0 2>/dev/null; then
		if mke2fs -q -F -b 4096 /dev/ram0 >/dev/null 2>&1 && mount -t ext4 /dev/ram0 "$BLKDIR"; then
			BLKWHERE="ext4 on a brd RAM disk"
		fi
	fi
	IMG=$BLKDIR/bench.img
	dd if=/dev/zero of="$IMG" bs=1M count=256 2>/dev/null
	info "blk_file=$(echo "$BLKWHERE" | tr ' ' _)"
}

blk_teardown() {
	rm -f "$IMG"
	umount "$BLKDIR" 2>/dev/null && rmmod brd 2>/dev/null
	return 0
}

BLK_JOBS="seqread seqwrite randread1 randread32 randwrite1 randwrite32"

# blk_host: the same fio jobs on the image file, from the KVM host.
blk_host() {
	out=
	for j in $BLK_JOBS; do
		case $j in
		seqread) a="--rw=read --bs=1M --iodepth=1" ;;
		seqwrite) a="--rw=write --bs=1M --iodepth=1" ;;
		randread*) a="--rw=randread --bs=4k --iodepth=${j#randread}" ;;
		randwrite*) a="--rw=randwrite --bs=4k --iodepth=${j#randwrite}" ;;
		esac
		# shellcheck disable=SC2086
		r=$(fio --name="$j" --filename="$IMG" --direct=1 --ioengine=libaio \
			--thread $a --runtime="$IOTIME" --time_based \
			--output-format=terse --terse-version=3 2>/dev/null |
			awk -F';' 'NF > 49 { print $7 "/" $8 "/" $48 "/" $49 }')
		out="$out fio_$j=${r:-failed}"
	done
	echo "BENCH test=blk vmm=host vcpus=0 run=$RUN status=0 marker_ms=0$out"
}

# blk_once VMM: one guest running every fio job on the image.
blk_once() {
	args="vmrun.fio_time=$IOTIME"
	case $1 in
	vmrun-sync | vmrun-async)
		eng=Sync
		[ "$1" = vmrun-async ] && eng=Async
		cfg=$(vmrun_config 1 bench-blk "$IO_MIB" "$VMRUN_BENCH_INITRD" "$args" \
			"\"drives\": [ { \"drive_id\": \"bench\", \"path_on_host\": \"$IMG\", \"io_engine\": \"$eng\" } ]")
		r=$("$STAMP" -t 600 -o "$WORK/last.out" -e "$WORK/last.err" -- "$BIN" "$cfg")
		;;
	qemu)
		r=$("$STAMP" -t 600 -o "$WORK/last.out" -e "$WORK/last.err" -- \
			"$QEMU" -nodefaults -no-user-config -nographic -enable-kvm \
			-cpu "$QCPU" -M microvm -smp 1 -m "$IO_MIB" -no-reboot \
			-kernel "$GUEST/vmlinuz" -initrd "$VMRUN_BENCH_INITRD" \
			-append "$CMDLINE vmrun.scenario=bench-blk $args" -serial stdio \
			-drive "id=d0,file=$IMG,format=raw,if=none,aio=native,cache=none" \
			-device virtio-blk-device,drive=d0)
		;;
	esac
	check_run blk "$1" 1 "$r"
	echo "BENCH test=blk vmm=$1 vcpus=1 run=$RUN $r$(markers "$WORK/last.out" fio_)"
}

blk_rounds() {
	command -v fio >/dev/null || { info blk=no-fio; return 0; }
	[ -r "${VMRUN_BENCH_INITRD:-}" ] || { info blk=no-bench-initramfs; return 0; }
	blk_setup
	RUN=1
	while [ "$RUN" -le "$IORUNS" ]; do
		for VMM in vmrun-async vmrun-sync qemu host; do
			next_job blk "$VMM" run "$RUN" || continue
			if [ "$VMM" = host ]; then blk_host; else blk_once "$VMM"; fi
			job_done
		done
		RUN=$((RUN + 1))
	done
	blk_teardown
}

# --- net: iperf3 between the guest and a tap in a namespace -----------------

NS=vmrunbench
# iproute2's ip by its path: busybox sh would run its own applet for "ip".
IP=${VMRUN_BENCH_IP:-ip}
ns() { "$IP" netns exec "$NS" "$@"; }

net_setup() {
	[ -d /run ] || mkdir -p /run
	"$IP" netns del "$NS" 2>/dev/null
	"$IP" netns add "$NS" && ns "$IP" link set lo up &&
		ns "$IP" tuntap add dev vmtap0 mode tap &&
		ns "$IP" addr add 10.0.2.1/24 dev vmtap0 && ns "$IP" link set vmtap0 up || return 1
	ns iperf3 -s >"$WORK/iperf-server.log" 2>&1 &
	IPERF_PID=$!
}

net_teardown() {
	kill "$IPERF_PID" 2>/dev/null
	wait "$IPERF_PID" 2>/dev/null
	"$IP" netns del "$NS" 2>/dev/null
	return 0
}

net_once() {
	args="vmrun.iperf=10.0.2.2/10.0.2.1 vmrun.iperf_time=$IOTIME"
	mac=52:54:00:12:34:56
	case $1 in
	vmrun)
		cfg=$(vmrun_config 1 bench-net "$IO_MIB" "$VMRUN_BENCH_INITRD" "$args" \
			"\"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"vmtap0\", \"guest_mac\": \"$mac\" } ]")
		r=$(ns "$STAMP" -t 600 -o "$WORK/last.out" -e "$WORK/last.err" -- "$BIN" "$cfg")
		;;
	qemu)
		r=$(ns "$STAMP" -t 600 -o "$WORK/last.out" -e "$WORK/last.err" -- \
			"$QEMU" -nodefaults -no-user-config -nographic -enable-kvm \
			-cpu "$QCPU" -M microvm -smp 1 -m "$IO_MIB" -no-reboot \
			-kernel "$GUEST/vmlinuz" -initrd "$VMRUN_BENCH_INITRD" \
			-append "$CMDLINE vmrun.scenario=bench-net $args" -serial stdio \
			-netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no \
			-device "virtio-net-device,netdev=n0,mac=$mac")
		;;
	esac
	check_run net "$1" 1 "$r"
	echo "BENCH test=net vmm=$1 vcpus=1 run=$RUN $r$(markers "$WORK/last.out" iperf_)"
}

net_rounds() {
	command -v iperf3 >/dev/null && [ -x "$IP" ] ||
		{ info net=no-iperf3-or-ip; return 0; }
	[ -r "${VMRUN_BENCH_INITRD:-}" ] || { info net=no-bench-initramfs; return 0; }
	net_setup || { info net=no-namespace; net_teardown; return 0; }
	RUN=1
	while [ "$RUN" -le "$IORUNS" ]; do
		for VMM in vmrun qemu; do
			next_job net "$VMM" run "$RUN" || continue
			net_once "$VMM"
			job_done
		done
		RUN=$((RUN + 1))
	done
	net_teardown
}

# --- density: DENSITY idle guests of 128 MiB at once --------------------------

density_once() {
	mkdir -p "$WORK/fleet-$1"
	case $1 in
	vmrun)
		cfg=$(vmrun_config 1 idle 128)
		r=$("$VMRUN_BENCH_FLEET" -n "$DENSITY" -o "$WORK/fleet-$1" -- "$BIN" "$cfg")
		;;
	microvm)
		r=$("$VMRUN_BENCH_FLEET" -n "$DENSITY" -o "$WORK/fleet-$1" -- \
			"$QEMU" -nodefaults -no-user-config -nographic -enable-kvm \
			-cpu "$QCPU" -M microvm -smp 1 -m 128 -no-reboot \
			-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
			-append "$CMDLINE vmrun.scenario=idle" -serial stdio)
		;;
	esac
	echo "BENCH test=density vmm=$1 vcpus=1 run=$RUN status=0 marker_ms=0 $r"
	rm -rf "$WORK/fleet-$1"
}

density_rounds() {
	[ -x "${VMRUN_BENCH_FLEET:-}" ] || { info density=no-fleet; return 0; }
	RUN=1
	for VMM in vmrun microvm; do
		next_job density "$VMM" || continue
		density_once "$VMM"
		job_done
	done
}

# --- start-up: exec to the first KVM_RUN, and to an API socket that answers --

startup_once() {
	fr=$WORK/firstrun
	rm -f "$fr"
	case $1 in
	vmrun) set -- "$BIN" "$(vmrun_config 1 poweroff)" ;;
	microvm | q35)
		set -- "$QEMU" -nodefaults -no-user-config -nographic -enable-kvm \
			-cpu "$QCPU" -M "$1" -smp 1 -m "$MEM_MIB" -no-reboot \
			-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
			-append "$CMDLINE vmrun.scenario=poweroff" -serial stdio
		;;
	esac
	r=$(VMRUN_BENCH_FIRSTRUN=$fr VMRUN_BENCH_FIRSTRUN_STOP=1 \
		LD_PRELOAD=$VMRUN_BENCH_SHIM "$STAMP" -t 60 -e "$WORK/last.err" -- "$@")
	t0=$(echo "$r" | sed -n 's/.*t0_us=\([0-9]*\).*/\1/p')
	f=$(awk -v t0="$t0" '{ split($1, a, "="); split($2, b, "=")
		printf "first_run_ms=%.3f first_run_cpu_ms=%.3f", (a[2] - t0) / 1e3, b[2] / 1e3 }' "$fr" 2>/dev/null)
	echo "BENCH test=startup vmm=$VMM vcpus=1 run=$RUN status=0 marker_ms=0 ${f:-first_run=none}"
}

api_once() {
	sock=$WORK/api.sock
	rm -f "$sock"
	case $1 in
	vmrun) set -- "$BIN" --api-sock "$sock" ;;
	microvm | q35)
		set -- "$QEMU" -nodefaults -no-user-config -display none -enable-kvm \
			-cpu "$QCPU" -M "$1" -m "$MEM_MIB" -S -qmp "unix:$sock,server=on,wait=off"
		;;
	esac
	r=$("$STAMP" -t 60 -a "$sock" -e "$WORK/last.err" -- "$@")
	echo "BENCH test=api vmm=$VMM vcpus=0 run=$RUN $r" | sed 's/marker_ms=-1.000/marker_ms=0/'
	rm -f "$sock"
}

startup_rounds() {
	[ -r "${VMRUN_BENCH_SHIM:-}" ] || { info startup=no-shim; return 0; }
	RUN=1
	while [ "$RUN" -le "$RUNS" ]; do
		for VMM in $VMMS; do
			next_job startup "$VMM" run "$RUN" || continue
			startup_once "$VMM"
			api_once "$VMM"
			job_done
		done
		RUN=$((RUN + 1))
	done
}

# --- exit cost: the firmware guest's PIO and MMIO loops ----------------------

exitcost_once() {
	n=${VMRUN_BENCH_EXITCOUNT:-20000}
	case $1 in
	vmrun)
		f=$WORK/exitcost.json
		cat >"$f" <<JSON
{ "boot-source": { "kernel_image_path": "$VMRUN_BENCH_EXITCOST", "boot_args": "count=$n" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vmrun": { "serial": { "output": "stdout", "input": false } } }
JSON
		set -- "$BIN" "$f"
		;;
	microvm | q35)
		set -- "$QEMU" -nodefaults -no-user-config -nographic -enable-kvm \
			-cpu "$QCPU" -M "$1" -smp 1 -m 64 -no-reboot \
			-kernel "$VMRUN_BENCH_EXITCOST" -append "count=$n" -serial stdio \
			-device isa-debug-exit,iobase=0x501,iosize=1
		;;
	esac
	r=$("$STAMP" -t 300 -T VMRUN-BENCH: -m "VMRUN-BENCH: count" \
		-o "$WORK/last.out" -e "$WORK/last.err" -- "$@")
	check_run exitcost "$VMM" 1 "$r"
	echo "BENCH test=exitcost vmm=$VMM vcpus=1 run=$RUN count=$n $r" |
		sed 's/ status=1 / status=0 /' # QEMU's isa-debug-exit: 0 << 1 | 1
}

exitcost_rounds() {
	[ -r "${VMRUN_BENCH_EXITCOST:-}" ] || { info exitcost=no-guest; return 0; }
	RUN=1
	while [ "$RUN" -le "${VMRUN_BENCH_EXITRUNS:-5}" ]; do
		for VMM in vmrun microvm; do
			next_job exitcost "$VMM" run "$RUN" || continue
			exitcost_once "$VMM"
			job_done
		done
		RUN=$((RUN + 1))
	done
}

main() {
	info "load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" "cpus=$(grep -c ^processor /proc/cpuinfo)" \
		"box=${VMRUN_IN_BOX:-0}" "kernel=$(uname -r)"
	info "qemu=$("$QEMU" --version | head -n 1 | tr ' ' '_')"
	echo "BENCHCMDLINE $CMDLINE"
	kvm_debugfs
	for part in $PARTS; do
		case $part in
		boot) boot_rounds ;;
		mem) mem_rounds ;;
		trace)
			[ "${VMRUN_BENCH_TRACE:-0}" = 1 ] || continue
			for VMM in $VMMS; do
				next_job trace "$VMM" || continue
				trace_boot "$VMM"
				job_done
			done
			;;
		blk) blk_rounds ;;
		net) net_rounds ;;
		density) density_rounds ;;
		startup) startup_rounds ;;
		exitcost) exitcost_rounds ;;
		esac
	done
	info "load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
	rm -rf "$WORK"
}

main
