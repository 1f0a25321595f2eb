#!/bin/bash
# tests/run-all.sh - the whole test suite, as CI runs it (.ci/run):
#   1. installs what is missing (tests/deps.sh)
#   2. builds with gcc (-Werror) and with clang, checks the format
#   3. unit tests + firmware guests (meson test), plain and under ASan+UBSan;
#      one firmware boot under valgrind's memcheck (valgrind.sh); on a host
#      with no /dev/kvm the firmware guests and valgrind.sh run in the lab's
#      box instead, after step 5 (tests/integration/kvm.sh)
#   4. builds the Linux test guest from Debian packages (tests/guest/build.sh)
#   5. the lab proof: QEMU boots the guest on the box's /dev/kvm
#   6. the Linux integration suites under vmrun (plain and ASan+UBSan builds),
#      in the lab's box when this host has no hardware virtualization: boot,
#      exits and lifecycle (linux-suite.sh), disks (disk.sh), snapshots
#      (snapshot-box.sh), network, console and entropy (net.sh: 100 MiB
#      each way); on a host with two CPUs the network, disk and snapshot
#      steps run in a second lane, beside the others (VMRUN_CI_LANES)
#   7. replays the fuzz corpora and fuzzes each target for 20 s (tests/fuzz)
# Ends with four lines: the steps that passed and failed, the tests that
# skipped, "N passed, M failed" over every step, and the retries taken.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
builds=${VMRUN_BUILD_ROOT:-$repo}
steps_passed=0
steps_failed=0
failed_steps=""
# Every retry of a dead box (lab_retry, kvm.sh) is one line here, and
# every test that skipped is one line in SKIP_LOG.
RETRY_LOG=$(mktemp)
SKIP_LOG=$(mktemp)
# The integration suites fail a check they cannot run instead of skipping
# it (tests/integration/lib.sh, skipped()).
export VMRUN_LAB_STRICT=1
export VMRUN_RETRY_LOG=$RETRY_LOG
current_step=

step() {
	local name=$1 t0=$SECONDS rc
	shift
	current_step=$name
	echo "=== $name"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		steps_passed=$((steps_passed + 1))
		echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		steps_failed=$((steps_failed + 1))
		failed_steps="$failed_steps $name"
		echo "=== $name: FAILED (status $rc, $((SECONDS - t0)) s)"
	fi
}

# build DIR [meson options...]: configure once, then build.
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir"
}

build_clang() {
	(export CC=clang && build "$1")
}

# unit DIR: meson test. A test that skips (exit 77) fails the step, except
# the /dev/kvm tests on a host without one: kvm.sh runs those in the box
# (steps kvm-gcc and kvm-asan). Every skip is shown and counted.
unit() {
	local t skips allowed=" "
	meson test -C "$1" --print-errorlogs || return 1
	skips=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] == "SKIP":
        print(t["name"])' "$1/meson-logs/testlog.json") || return 1
	[ $have_kvm = 1 ] ||
		allowed=" $(tests/integration/kvm-suite.sh --list | tr '\n' ' ')"
	for t in $skips; do
		if [[ $allowed == *" $t "* ]]; then
			echo "=== SKIP: $t (no /dev/kvm here: kvm.sh runs it in the box)"
			echo "$current_step: $t" >>"$SKIP_LOG"
		else
			echo "=== SKIP: $t: a test CI relies on skipped"
			return 1
		fi
	done
}

format_check() {
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
}

# bench_smoke: the benchmark (not run in CI) still parses and compiles.
bench_smoke() {
	bash -n tests/bench/run.sh && sh -n tests/bench/inner.sh &&
		tests/bench/run.sh --help 2>/dev/null &&
		awk -f tests/bench/summary.awk -v part=io /dev/null &&
		for c in stamp fleet firstrun; do
			cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only "tests/bench/$c.c" || return 1
		done
}

# linux DIR: the Linux suites with the vmrun of build DIR.  They take
# 1.5-2.5 min; a box that froze is given up after 8, or after 2 without a
# heartbeat from its userspace, and retried once by lab_retry.
linux() {
	local dir=$1
	tests/lab/box.sh --timeout 480 --idle 120 --payload "$dir" --payload "$repo/tests" \
		--payload /bin/bash --python -- "$repo/tests/integration/linux-suite.sh" "$dir"
}

# lab_retry CMD...: runs a lab suite, and runs it once more only when the
# box itself failed: box.sh's 124 (timeout, or a box whose userspace gave no
# sign of life: --idle) or 125 (the box did not boot, or its kernel
# crashed). Nothing else is retried: a guest crash (vmrun exit 4), a stalled
# guest ("=== BOUND:") or a hung vmrun fails the step, because every suite
# bounds each vmrun itself and the box's heartbeat keeps --idle off a live
# box. Each retry is counted in $RETRY_LOG for the closing line.
lab_retry() {
	local rc
	"$@"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 125 ]; then
		echo "=== RETRY: the lab box failed (status $rc), not a check"
		echo "$current_step: box status $rc" >>"$RETRY_LOG"
		"$@"
		rc=$?
	fi
	return $rc
}

# lane2_steps: net.sh, the network/console/rng suite, moves the
# acceptance size, 100 MiB each way, with both builds (a box that froze
# is given up after VMRUN_NET_BOX_IDLE, 120 s, without a heartbeat, a
# suite after 40 minutes); then the disk and snapshot suites.
lane2_steps() {
	VMRUN_NET_BOX_TIMEOUT=2400 step net-gcc lab_retry tests/integration/net.sh "$builds/build-ci"
	VMRUN_NET_BOX_TIMEOUT=2400 step net-asan lab_retry tests/integration/net.sh "$builds/build-asan"
	step disk-asan lab_retry tests/integration/disk.sh "$builds/build-asan"
	step snapshot-asan lab_retry tests/integration/snapshot-box.sh "$builds/build-asan"
}

# Lanes: every box has one CPU, so on a host with two CPUs or more
# (VMRUN_CI_LANES, default 2 there; 1 runs everything in turn) the box
# steps run in two lanes of about equal length: kvm and linux in the
# first, network, disk and snapshot in the second. lane_start FUNC runs
# FUNC's steps in the background, its output kept in a file; lane_join
# waits for them, prints that output whole and adds their results to the
# run's.
lanes=${VMRUN_CI_LANES:-$([ "$(nproc)" -ge 2 ] && echo 2 || echo 1)}
lane_pid=
lane_start() {
	if [ "$lanes" -lt 2 ]; then
		"$1"
		return
	fi
	LANE_LOG=$(mktemp) LANE_RESULT=$(mktemp)
	echo "=== lane 2: $1 runs beside the steps below; its output follows them"
	(
		steps_passed=0 steps_failed=0 failed_steps=
		"$1"
		echo "$steps_passed $steps_failed$failed_steps" >"$LANE_RESULT"
	) >"$LANE_LOG" 2>&1 &
	lane_pid=$!
}
lane_join() {
	local p f rest t0=$SECONDS
	[ -n "$lane_pid" ] || return 0
	wait "$lane_pid"
	echo "=== lane 2 (waited $((SECONDS - t0)) s for it):"
	cat "$LANE_LOG"
	if read -r p f rest <"$LANE_RESULT" && [ -n "$f" ]; then
		steps_passed=$((steps_passed + p))
		steps_failed=$((steps_failed + f))
		failed_steps="$failed_steps${rest:+ $rest}"
	else
		echo "=== lane 2: ended without its results"
		steps_failed=$((steps_failed + 1))
		failed_steps="$failed_steps lane-2"
	fi
	rm -f "$LANE_LOG" "$LANE_RESULT"
	lane_pid=
}

sanitize_env() {
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
}

step deps tests/deps.sh
step build-gcc build "$builds/build-ci"
step build-clang build_clang "$builds/build-clang"
step format format_check
step bench-smoke bench_smoke
# The freestanding-guest tests (firmware, api, snapshot, lifecycle, embed,
# hostile, hardening) and valgrind.sh need /dev/kvm.  With one, `meson test`
# runs them in the unit steps; with none (a host whose kernel binds no KVM
# at all) they run in the lab's box (tests/integration/kvm.sh), after the
# guest build.
have_kvm=0
(. tests/integration/lib.sh && have_kvm) && have_kvm=1
step unit-gcc unit "$builds/build-ci"
[ $have_kvm = 1 ] && step valgrind tests/integration/valgrind.sh "$builds/build-ci"
sanitize_env
step build-asan build "$builds/build-asan" -Db_sanitize=address,undefined \
	-Db_lundef=false
step unit-asan unit "$builds/build-asan"
step guest tests/guest/build.sh
step lab lab_retry tests/lab/test_lab.sh
lane_start lane2_steps
if [ $have_kvm = 0 ]; then
	step kvm-gcc tests/integration/kvm.sh --valgrind "$builds/build-ci"
	step kvm-asan tests/integration/kvm.sh "$builds/build-asan"
fi
step linux-gcc lab_retry linux "$builds/build-ci"
step linux-asan lab_retry linux "$builds/build-asan"
lane_join
step fuzz-replay tests/fuzz/run.sh --replay

echo "steps passed:$steps_passed failed:$steps_failed${failed_steps:+ (}${failed_steps# }${failed_steps:+)}"
echo "skipped tests: $(wc -l <"$SKIP_LOG")$( [ -s "$SKIP_LOG" ] && echo " ($(paste -sd';' "$SKIP_LOG"))")"
echo "$steps_passed passed, $steps_failed failed"
retries=$(wc -l <"$RETRY_LOG")
if [ "$retries" -eq 0 ]; then
	echo "retries: 0"
else
	echo "retries: $retries (dead boxes: $(paste -sd';' "$RETRY_LOG"))"
fi
rm -f "$RETRY_LOG" "$SKIP_LOG"
[ $steps_failed -eq 0 ]
