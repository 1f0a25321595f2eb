#!/bin/sh
# tests/bench/inner.sh — the part of the benchmark that runs on the KVM host
# (inside the lab's box, or directly): boots the test guest with vmrun and
# QEMU alternately, one stamp (tests/bench/stamp.c) per boot, and prints one
# result line per boot for tests/bench/run.sh to summarise:
#
#   BENCH test=boot|mem vmm=NAME vcpus=N run=I <stamp's key=value pairs>
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
JOB=0
MEM_MIB=256
WORK=$(mktemp -d /tmp/vmrun-bench.XXXXXX)

info() { echo "BENCHINFO $*"; }

# next_job: counts jobs in their fixed order; false for those already done.
next_job() {
	JOB=$((JOB + 1))
	[ "$JOB" -gt "$SKIP_JOBS" ]
}
job_done() { echo "BENCHJOB $JOB"; }

# kvm_debugfs: KVM's counters (stamp reads them); needs debugfs mounted.
kvm_debugfs() {
	[ -d /sys/kernel/debug/kvm ] ||
		mount -t debugfs none /sys/kernel/debug 2>/dev/null
	if [ -r /sys/kernel/debug/kvm/exits ]; then
		info kvm_counters=yes
	else
		info kvm_counters=no
	fi
}

# vmrun_config VCPUS SCENARIO: a config file for one vmrun boot, path printed.
vmrun_config() {
	f=$WORK/vmrun-$1-$2.json
	cat >"$f" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST/vmlinuz",
                   "initrd_path": "$GUEST/initramfs.cpio.gz",
                   "boot_args": "$CMDLINE vmrun.scenario=$2" },
  "machine-config": { "vcpu_count": $1, "mem_size_mib": $MEM_MIB },
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
			-enable-kvm -cpu host -M "$vmm" -smp "$n" -m "$MEM_MIB" \
			-no-reboot -kernel "$GUEST/vmlinuz" \
			-initrd "$GUEST/initramfs.cpio.gz" \
			-append "$CMDLINE vmrun.scenario=$sc" -serial stdio
		;;
	esac
	"$STAMP" -o "$WORK/last.out" -e "$WORK/last.err" "$@"
}

# check_run TEST VMM VCPUS RESULT: keeps the first console of each row in
# $BOX_OUT (run.sh's results folder) and shows it when a boot failed.
check_run() {
	if [ "$RUN" = 1 ] && [ -n "${BOX_OUT:-}" ]; then
		cp "$WORK/last.out" "$BOX_OUT/console-$1-$2-$3.log"
		cp "$WORK/last.err" "$BOX_OUT/stderr-$1-$2-$3.log"
	fi
	case $4 in
	*"marker_ms=-1"* | "")
		echo "bench: $2 $3 vCPU ($1): no userspace marker; console tail:" >&2
		tail -n 15 "$WORK/last.out" >&2
		tail -n 5 "$WORK/last.err" >&2
		;;
	esac
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
				next_job || continue
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
			next_job || continue
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

main() {
	info "load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" "cpus=$(grep -c ^processor /proc/cpuinfo)" \
		"box=${VMRUN_IN_BOX:-0}" "kernel=$(uname -r)"
	info "qemu=$("$QEMU" --version | head -n 1 | tr ' ' '_')"
	echo "BENCHCMDLINE $CMDLINE"
	kvm_debugfs
	boot_rounds
	mem_rounds
	if [ "${VMRUN_BENCH_TRACE:-0}" = 1 ]; then
		for VMM in $VMMS; do
			next_job || continue
			trace_boot "$VMM"
			job_done
		done
	fi
	info "load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
	rm -rf "$WORK"
}

main
