#!/bin/bash
# tests/bench/run.sh — vmrun side by side with QEMU on the same guest; prints a
# table of medians, spreads and vmrun/QEMU ratios. Not part of the test suite.
#
#   tests/bench/run.sh [--runs N] [--quick] [--mem-runs N] [--io-runs N]
#                      [--io-time SEC] [--density N] [--parts "LIST"]
#                      [--[no-]trace] [--build DIR] [--update-docs]
#
#   --runs N       boots per VMM and row, start-up samples (default 20)
#   --quick        5 boots, 2 memory runs, 1 I/O round, 10 guests for
#                  density, no q35, no trace (fast iteration)
#   --mem-runs N   idle-guest memory samples per VMM (default 5)
#   --io-runs N    rounds of the block and network rows (default 3)
#   --io-time SEC  seconds per fio job and iperf3 direction (default 4)
#   --density N    guests started at once in the density row (default 50)
#   --parts LIST   rows to run (default all: "boot mem trace blk net density
#                  startup exitcost")
#   --[no-]trace   one traced boot per VMM: exits to userspace by port (default on)
#   --build DIR    vmrun build folder (default build-bench, set up as release)
#   --update-docs  also write the table into docs/benchmarks.md
#
# What it does: installs qemu-system-x86 when missing, builds vmrun and
# tests/bench/stamp.c, then runs tests/bench/inner.sh through the lab's box
# (tests/lab/box.sh: directly on a host with hardware virtualization, else in
# one QEMU-TCG box with nested SVM, booted once for the whole run). inner.sh
# boots the test guest (tests/guest) with vmrun, QEMU -M microvm and QEMU
# -M q35 in turn (A B C A B C ...), every boot under stamp, which time-stamps
# with CLOCK_MONOTONIC and reads KVM's per-VM counters. This script turns the
# result lines into the table. Method and figures: docs/benchmarks.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
DOC=$REPO_DIR/docs/benchmarks.md

RUNS=20
MEMRUNS=5
IORUNS=3
IOTIME=4
DENSITY=50
PARTS="boot mem trace blk net density startup exitcost"
QUICK=0
TRACE=1
BUILD=$REPO_DIR/build-bench
UPDATE_DOCS=0
# A box with no new result for this long is stopped and the run resumes in a
# new box (box_watchdog). The longest job, density, reports within 15 min.
STALL_S=${VMRUN_BENCH_STALL_S:-1200}
# Every boot gets vmrun's default command line plus these words (see
# docs/benchmarks.md: without quiet the polled console dominates both VMMs).
CMDLINE_EXTRA="quiet"

log() { echo "bench: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '5,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}//' >&2
	exit "${1:-2}"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--runs) RUNS=${2:?}; shift 2 ;;
		--mem-runs) MEMRUNS=${2:?}; shift 2 ;;
		--io-runs) IORUNS=${2:?}; shift 2 ;;
		--io-time) IOTIME=${2:?}; shift 2 ;;
		--density) DENSITY=${2:?}; shift 2 ;;
		--parts) PARTS=${2:?}; shift 2 ;;
		--quick) QUICK=1; RUNS=5; MEMRUNS=2; IORUNS=1; DENSITY=10; TRACE=0; shift ;;
		--trace) TRACE=1; shift ;;
		--no-trace) TRACE=0; shift ;;
		--build) BUILD=${2:?}; shift 2 ;;
		--update-docs) UPDATE_DOCS=1; shift ;;
		-h | --help) usage 0 ;;
		*) log "unknown option: $1"; usage ;;
		esac
	done
	case "$RUNS$MEMRUNS$IORUNS$IOTIME$DENSITY" in
	*[!0-9]*) log "--runs, --mem-runs, --io-runs, --io-time and --density take integers"; exit 2 ;;
	esac
	[ "$RUNS" -ge 1 ] && [ "$DENSITY" -ge 1 ] && [ "$DENSITY" -le 256 ] ||
		{ log "--runs must be at least 1, --density 1 to 256"; exit 2; }
	local p
	for p in $PARTS; do
		case " boot mem trace blk net density startup exitcost " in
		*" $p "*) ;;
		*) log "--parts: unknown part '$p'"; exit 2 ;;
		esac
	done
}

# ensure_packages: the reference VMM and the tools, from Debian.
ensure_packages() {
	local p missing=() sudo=
	for p in qemu-system-x86 fio iperf3 iproute2 gnuplot-nox strace; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]} (Debian packages)"
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
		{ $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
}

build_tools() {
	command -v cc >/dev/null || die "no C compiler (cc)"
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$REPO_DIR" -Dbuildtype=release >/dev/null
	fi
	ninja -C "$BUILD" vmrun firmware/exitcost.elf >/dev/null || die "vmrun does not build in $BUILD"
	# Payload paths appear at the same path in the box, which does not get
	# the host's /tmp: hence /var/tmp.
	TMP=$(mktemp -d /var/tmp/vmrun-bench.XXXXXX)
	cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$TMP/stamp" "$BENCH_DIR/stamp.c"
	cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$TMP/fleet" "$BENCH_DIR/fleet.c"
	cc -O2 -std=gnu11 -Wall -Wextra -Werror -shared -fPIC \
		-o "$TMP/firstrun.so" "$BENCH_DIR/firstrun.c" -ldl
	INITRD=
	if wants blk || wants net; then
		INITRD=$("$BENCH_DIR/initramfs.sh") || die "the bench initramfs does not build"
	fi
}

# wants PART: PART is among --parts.
wants() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# host_kvm_usable: vmrun and QEMU can run a VM on this host's /dev/kvm
# (kvm_pvm runs CPL3 code natively, so the start-up and exit-cost rows,
# which barely run guest code, measure the host there). QEMU needs
# -cpu host,-arch-capabilities on kvm_pvm (it cannot set that MSR).
host_kvm_usable() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	QEMU_CPU_HOST=host
	[ -d /sys/module/kvm_pvm ] && QEMU_CPU_HOST=host,-arch-capabilities
	return 0
}

# default_cmdline: config_default_cmdline from src/core/config.c (the C string
# literals between its "=" and ";"), so the benchmark follows vmrun's default.
default_cmdline() {
	awk '/config_default_cmdline\[\] =/ { on = 1 }
	on { while (match($0, /"[^"]*"/)) { s = s substr($0, RSTART + 1, RLENGTH - 2)
		$0 = substr($0, RSTART + RLENGTH) } }
	on && /;/ { print s; exit }' "$REPO_DIR/src/core/config.c"
}

# show_progress: one short line per finished boot (awk would buffer its input).
show_progress() {
	local tag test vmm vcpus run st mark rest
	while read -r tag test vmm vcpus run st mark rest; do
		[ "$tag" = BENCH ] && log "$test $vmm $vcpus $run $st $mark"
	done
	return 0
}

# run_box: one box session running inner.sh, skipping the jobs already in
# $RES/raw.log; appends its output there. Returns box.sh's status.
run_box() {
	local done_jobs st
	done_jobs=$(grep -c '^BENCHJOB ' "$RES/raw.log" || true)
	export VMRUN_BENCH_SKIP_JOBS=$done_jobs
	local brd payload=(--payload "$TMP" --payload "$BUILD/vmrun" --payload "$BENCH_DIR/inner.sh"
		--payload "$(command -v qemu-system-x86_64)" --payload /usr/share/qemu
		--payload /usr/share/seabios)
	brd=$(cd "$CACHE/kernel/lib/modules/"*/kernel/drivers/block 2>/dev/null && pwd)/brd.ko
	wants blk && payload+=(--payload "$(command -v fio)" --payload "$INITRD" --payload "$brd")
	wants net && payload+=(--payload "$(command -v iperf3)" --payload "$(command -v ip)" --payload "$INITRD")
	wants exitcost && payload+=(--payload "$VMRUN_BENCH_EXITCOST")
	export VMRUN_BENCH_BRD=$brd VMRUN_BENCH_INITRD=$INITRD
	VMRUN_BENCH_IP=$(readlink -f "$(command -v ip)")
	export VMRUN_BENCH_IP
	# Density: up to 50 guests of 128 MiB (about 60 MiB touched each).
	rm -f "$TMP/box.pid"
	box_watchdog &
	local dog=$!
	BOX_PIDFILE=$TMP/box.pid "$REPO_DIR/tests/lab/box.sh" --timeout "$1" --out "$RES" \
		--mem "$BOX_MEM" "${payload[@]}" -- sh "$BENCH_DIR/inner.sh" \
		2> >(tee -a "$RES/box.log" >&2) | tee -a "$RES/raw.log" | show_progress
	st=${PIPESTATUS[0]}
	kill "$dog" 2>/dev/null
	wait
	return "$st"
}

# box_watchdog: stops the box (QEMU's pid file) when no result line came for
# STALL_S seconds. The TCG box's own kernel has soft-locked up (a CPU stuck
# for good in KVM_RUN of a nested guest, QEMU's and vmrun's alike): then the
# box never ends by itself, and run_inner resumes in a new one.
box_watchdog() {
	local n=-1 c since=$SECONDS
	while sleep 20; do
		c=$(grep -c '^BENCH' "$RES/raw.log" 2>/dev/null || true)
		[ "$c" != "$n" ] && { n=$c; since=$SECONDS; }
		if [ $((SECONDS - since)) -ge "$STALL_S" ] && [ -s "$TMP/box.pid" ]; then
			log "no result for $STALL_S s: the box looks wedged (console in $RES/raw.log); stopping it"
			kill "$(cat "$TMP/box.pid")" 2>/dev/null
			return 0
		fi
	done
}

# run_inner: inner.sh in the box (or directly); its stdout to $RES/raw.log.
# The box's kernel, under TCG-emulated SVM, has crashed now and then (a stack
# overflow in its exception entry while QEMU ran a nested guest): then a new
# box resumes with the job the old one died in, up to three new boxes; a job
# that ended two boxes in a row is left out (it would end every box) and the
# run goes on with the next.  The table says both.
run_inner() {
	local timeout attempt=1 now st what died_in=0 box_parts="" p
	# About 10-45 s per boot inside the TCG box; generous, so only a hang trips it.
	timeout=$((RUNS * 6 * 90 + MEMRUNS * 2 * 90 + IORUNS * 8 * 300 + DENSITY * 60 + 1200))
	BOX_MEM=3072
	wants density && BOX_MEM=$((3072 + DENSITY * 110))
	export VMRUN_BENCH_IORUNS=$IORUNS VMRUN_BENCH_IOTIME=$IOTIME VMRUN_BENCH_DENSITY=$DENSITY
	export VMRUN_BENCH_FLEET=$TMP/fleet VMRUN_BENCH_SHIM=$TMP/firstrun.so
	export VMRUN_BENCH_EXITCOST=$BUILD/firmware/exitcost.elf
	log "results in $RES"
	: >"$RES/raw.log"
	# Start-up and exit cost barely run guest code: on this host's own KVM
	# when vmrun and QEMU can use it (kvm_pvm included), else in the box.
	for p in $PARTS; do
		case $p in
		startup | exitcost)
			if host_kvm_usable; then HOST_PARTS="$HOST_PARTS $p"; else box_parts="$box_parts $p"; fi
			;;
		*) box_parts="$box_parts $p" ;;
		esac
	done
	if [ -n "$HOST_PARTS" ]; then
		log "on this host's /dev/kvm:$HOST_PARTS"
		VMRUN_BENCH_PARTS=$HOST_PARTS VMRUN_BENCH_QEMU_CPU=$QEMU_CPU_HOST \
			VMRUN_BENCH_EXITCOUNT=20000 sh "$BENCH_DIR/inner.sh" |
			sed -e 's/^BENCH /BENCH where=host /' -e 's/^BENCHINFO /BENCHHOSTINFO /' \
				-e '/^BENCHJOB /d' -e '/^BENCHSTART /d' -e '/^BENCHCMDLINE /d' | tee "$RES/host.log" | show_progress
	fi
	export VMRUN_BENCH_PARTS=$box_parts
	[ -n "${box_parts// /}" ] || return 0
	while :; do
		run_box "$timeout" && break
		st=$?
		now=$(grep -c '^BENCHJOB ' "$RES/raw.log" || true)
		log "the box ended with status $st after job $now"
		# 124/125: box.sh's own failures (frozen, crashed); others are not the box's.
		[ "$st" = 124 ] || [ "$st" = 125 ] || break
		if [ "$died_in" = $((now + 1)) ]; then
			# The same job took down two boxes in a row (a dense
			# job can): leave it out, go on with the rest.
			what=$(sed -n "s/^BENCHSTART $((now + 1)) //p" "$RES/raw.log" | tail -n 1)
			what=${what:-job $((now + 1))}
			log "left out: $what (it ended two boxes)"
			echo "BENCHJOB $((now + 1)) lost" >>"$RES/raw.log"
			LOST="$LOST${LOST:+, }$what"
		fi
		died_in=$((now + 1))
		[ $attempt -lt 4 ] || break
		attempt=$((attempt + 1))
		RESTARTS=$((RESTARTS + 1))
		log "resuming in a new box (attempt $attempt)"
	done
	grep -q '^BENCH ' "$RES/raw.log" || die "no results (see $RES/box.log)"
}

# setup_env: what inner.sh needs wherever it runs.
setup_env() {
	local cmdline vmms="vmrun microvm q35"
	[ "$QUICK" = 1 ] && vmms="vmrun microvm"
	cmdline="$(default_cmdline) $CMDLINE_EXTRA"
	[ -n "${cmdline// /}" ] || die "cannot read config_default_cmdline from src/core/config.c"
	export VMRUN_BENCH_BIN=$BUILD/vmrun VMRUN_BENCH_STAMP=$TMP/stamp
	export VMRUN_BENCH_RUNS=$RUNS VMRUN_BENCH_MEMRUNS=$MEMRUNS VMRUN_BENCH_TRACE=$TRACE
	export VMRUN_BENCH_CMDLINE=$cmdline VMRUN_BENCH_VMMS=$vmms
	HOST_PARTS=
	RESTARTS=0
	LOST=
}

# box_mode: what box.sh said about where the guests ran.
box_mode() {
	if grep -q '(box mode' "$RES/box.log"; then
		echo "box: QEMU-TCG VM with nested SVM, KVM inside it ($(sed -n 's/^box: \(.*\): running inside.*/\1/p' "$RES/box.log" | head -n 1))"
	else
		echo "direct: on this host's KVM"
	fi
}

main() {
	parse_args "$@"
	ensure_packages
	CACHE=${VMRUN_CACHE:-$HOME/.cache/vmrun}
	build_tools
	RES=$(mktemp -d /var/tmp/vmrun-bench-results.XXXXXX)
	: >"$RES/host.log"
	trap 'rm -rf "$TMP"' EXIT
	local t0 load0 load1 date
	date=$(date -u '+%Y-%m-%d %H:%M UTC')
	load0=$(uptime | sed 's/.*load average: //')
	t0=$SECONDS
	setup_env
	run_inner
	load1=$(uptime | sed 's/.*load average: //')
	{
		echo "Run of $date: \`tests/bench/run.sh$([ "$QUICK" = 1 ] && echo " --quick") --runs $RUNS\`," \
			"$((SECONDS - t0)) s in all."
		echo
		echo "- where: $(box_mode)$([ "$RESTARTS" = 0 ] || echo "; the box crashed and was restarted $RESTARTS time(s), resuming with the next boot")$([ -z "$LOST" ] || echo "; left out because each ended two boxes: $LOST")"
		echo "- host: $(nproc) CPUs, load average before $load0, after $load1"
		"$BENCH_DIR/summary.awk" -v part=info "$RES/host.log" "$RES/raw.log"
		echo
		if wants boot || wants mem; then
			"$BENCH_DIR/summary.awk" -v part=table "$RES/raw.log"
			echo
		fi
		"$BENCH_DIR/summary.awk" -v part=io "$RES/host.log" "$RES/raw.log"
		if [ "$TRACE" = 1 ] && wants trace; then
			"$BENCH_DIR/summary.awk" -v part=trace "$RES/raw.log"
		fi
	} >"$RES/table.md"
	cat "$RES/table.md"
	plot_boots
	[ "$UPDATE_DOCS" = 1 ] && update_docs
	log "results, raw log and first consoles of each row: $RES"
}

# plot_boots: $RES/boot.png, the boot times to the userspace marker as box
# plots (min, quartiles, max; the median in red) with every boot as a dot.
plot_boots() {
	"$BENCH_DIR/summary.awk" -v part=plot "$RES/raw.log" >"$RES/boots.dat"
	[ -s "$RES/boots.dat" ] || return 0
	command -v gnuplot >/dev/null || { log "no gnuplot: no chart"; return 0; }
	awk '{ k = $1; lab[k] = $2; n[k]++; v[k, n[k]] = $3 }
	END { for (k in n) { c = n[k]
		for (i = 1; i <= c; i++) a[i] = v[k, i]
		for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		m = c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
		print k, lab[k], a[1], a[int((c + 3) / 4)], m, a[int((3 * c + 3) / 4)], a[c] } }' \
		"$RES/boots.dat" | sort -n >"$RES/boots-stats.dat"
	gnuplot -e "set terminal pngcairo size 900,500; set output '$RES/boot.png';
		set title 'Boot: start to the guest userspace marker ($(box_mode | cut -d: -f1))';
		set ylabel 'ms'; unset key; set style fill solid 0.25; set boxwidth 0.5;
		set xrange [0.4:6.6]; set yrange [0:*];
		plot '$RES/boots-stats.dat' using 1:4:3:7:6:xtic(2) with candlesticks whiskerbars lc rgb '#4477aa',
		'' using 1:5:5:5:5 with candlesticks lw 2 lc rgb '#aa3333',
		'$RES/boots.dat' using 1:3 with points pt 7 ps 0.5 lc rgb 'black'" ||
		log "gnuplot failed: no chart"
}

# update_docs: the table replaces what is between the two markers in DOC.
update_docs() {
	grep -q '<!-- bench:begin -->' "$DOC" || die "$DOC has no <!-- bench:begin --> marker"
	awk -v table="$RES/table.md" '
		/<!-- bench:end -->/ { while ((getline l < table) > 0) print l; skip = 0 }
		!skip { print }
		/<!-- bench:begin -->/ { skip = 1 }' "$DOC" >"$DOC.new"
	mv "$DOC.new" "$DOC"
	log "table written into $DOC"
	if [ -s "$RES/boot.png" ]; then
		cp "$RES/boot.png" "$REPO_DIR/docs/bench-boot.png"
		log "chart written to docs/bench-boot.png"
	fi
}

main "$@"
