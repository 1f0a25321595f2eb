#!/bin/bash
# kvm.sh [--valgrind] BUILD_DIR [NAME...] - the tests that need /dev/kvm
# but no Linux guest (the freestanding guests of firmware/: firmware.sh,
# api.sh, snapshot.sh, lifecycle, embed.sh, hostile.sh, hardening.sh; with
# --valgrind also valgrind.sh), for a host without a usable /dev/kvm: they
# run through tests/lab/box.sh in one lab box (QEMU TCG with nested SVM),
# and those that had not reported run again when the box itself fails
# (kvm-suite.sh runs them inside the box).  On a host with /dev/kvm
# `meson test` runs them directly.  embed.sh's build half (meson install,
# pkg-config, cc) runs here on the host, its boot in the box.  NAMEs
# (firmware, api, snapshot, lifecycle, embed, hostile, hardening, and
# valgrind with --valgrind) run only those.  Exit: 0 all pass, 1 one
# failed, 77 cannot run here.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

valgrind=
[ "${1:-}" = --valgrind ] && { valgrind=--valgrind; shift; }
build=$(cd "${1:?usage: kvm.sh [--valgrind] BUILD_DIR [NAME...]}" && pwd) || exit 77
shift

log() { echo "kvm: $*" >&2; }
skip() {
	log "skip: $*"
	exit 77
}

[ -x "$build/vmrun" ] || skip "no $build/vmrun (build it first)"
tmp=$(mktemp -d /var/tmp/vmrun-kvm.XXXXXX) || skip "cannot create a folder in /var/tmp"
trap 'rm -rf "$tmp"' EXIT

# embed.sh --prepare: the installed library and examples/embed.c built
# against it, in $tmp/embed, for the box to boot.
"$here/embed.sh" --prepare "$tmp/embed" "$repo" "$build" || {
	log "error: embed.sh --prepare failed"
	exit 1
}

# Tools the scripts use that busybox lacks or differs in (GNU options).
tools=(/bin/bash curl ip unshare script setpriv stat timeout od dd cmp truncate
	mktemp join getconf)
[ -n "$valgrind" ] && tools+=(valgrind)
payload=(--payload "$build" --payload "$repo/tests" --payload "$repo/examples"
	--payload "$tmp")
for t in "${tools[@]}"; do
	p=$(command -v "$t") || skip "no $t on this host"
	payload+=(--payload "$p")
done
# Debian's python3 (api.sh reads JSON with it), not a shim earlier in PATH.
py=$(readlink -f /usr/bin/python3) || skip "no /usr/bin/python3"
payload+=(--payload /usr/bin/python3 --payload "/usr/lib/$(basename "$py")")
# Debian's valgrind is a /bin/sh script that execs valgrind.bin; memcheck
# needs the symbols of ld.so (libc6-dbg's file for its build ID).
if [ -n "$valgrind" ]; then
	payload+=(--payload /usr/libexec/valgrind --payload /usr/bin/valgrind.bin
		--payload /bin/sh --payload "$(readlink -f /bin/sh)")
	for l in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6; do
		id=$(readelf -n "$(readlink -f "$l")" | awk '/Build ID/ { print $3 }')
		f=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
		[ -f "$f" ] || skip "no $f (libc6-dbg) for valgrind"
		payload+=(--payload "$f")
	done
fi

# hostile.sh's notification storm: the acceptance size, 1,000,000 kicks.
storm=${HOSTILE_STORM:-1000000}
names=("$@")
# kvm-suite.sh's own list, in its order.
[ ${#names[@]} -gt 0 ] || mapfile -t names < <("$here/kvm-suite.sh" $valgrind --list)
[ ${#names[@]} -gt 0 ] || { log "error: kvm-suite.sh --list printed nothing"; exit 1; }

# All in one box (each box costs about 50 s: its image and its boot under
# TCG). Only a dead box is retried: when the box fails (box.sh's status 124
# or 125, the lab's failure, never a check's), one more box runs the tests
# that had not reported. A test that failed, a guest crash (vmrun exit 4)
# and a hung vmrun included, fails the step: each test bounds its own vmrun
# runs, and the box's heartbeat keeps --idle (VMRUN_KVM_IDLE, 120 s) off a
# box whose userspace is alive. Each retry is counted in $VMRUN_RETRY_LOG
# when CI (tests/run-all.sh) sets it.
idle=${VMRUN_KVM_IDLE:-120}
# One box CPU (VMRUN_KVM_CPUS): two-CPU boxes crash nested guests, under
# QEMU as under vmrun, and their own kernels (docs/lab.md, "The guest
# triple fault of two-CPU boxes"). A 2-vCPU guest runs on one box CPU,
# more slowly.
cpus=${VMRUN_KVM_CPUS:-1}
passed=0
failed=""
out=$tmp/box.out

for try in 1 2; do
	rc=0
	"$repo/tests/lab/box.sh" --timeout 1500 --idle "$idle" --mem 3072 --cpus "$cpus" \
		"${payload[@]}" -- env HOSTILE_STORM="$storm" "$here/kvm-suite.sh" \
		$valgrind "$build" "$tmp/embed" "${names[@]}" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	left=()
	for name in "${names[@]}"; do
		if grep -q "^ok - $name (" "$out"; then
			passed=$((passed + 1))
		elif grep -q "^not ok - $name (" "$out"; then
			failed="$failed $name"
		else
			left+=("$name")
		fi
	done
	[ $rc -eq 77 ] && skip "the box has no usable /dev/kvm"
	if [ ${#left[@]} -gt 0 ] && [ $rc -ne 124 ] && [ $rc -ne 125 ]; then
		failed="$failed ${left[*]}(no result, status $rc)"
		left=()
	fi
	names=("${left[@]}")
	[ ${#names[@]} -gt 0 ] || break
	[ $try -lt 2 ] || break
	log "=== RETRY ${left[*]}: the lab box failed (status $rc), not a check"
	[ -n "${VMRUN_RETRY_LOG:-}" ] && echo "kvm.sh: box status $rc" >>"$VMRUN_RETRY_LOG"
done
[ ${#names[@]} -gt 0 ] && failed="$failed ${names[*]}(no result after $try boxes)"
echo "kvm: tests in the box: $passed passed${failed:+, failed:$failed}"
[ -z "$failed" ]
