#!/bin/bash
# tests/lab/test_lab.sh — proves the lab works end to end:
#   1. builds the test guest (tests/guest/build.sh),
#   2. through tests/lab/box.sh, boots it on a real /dev/kvm with QEMU
#      (-enable-kvm -M microvm -cpu host -smp 2 -m 256): QEMU is the reference VMM,
#   3. asserts the guest's markers (userspace with nproc=2, verdict=PASS),
#   4. prints timings: box start, guest boot inside, total.
# Exit: 0 pass, 1 fail, 124/125 the box itself failed (box.sh).  The box
# needs no /dev/kvm on this host: without hardware virtualization it is
# QEMU TCG.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
CACHE=${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}
GUEST=$CACHE/guest

# QEMU needs its binary (box.sh adds its libraries) and the microvm firmware
# (qboot as bios-microvm.bin) plus the option ROMs for -kernel from /usr/share/qemu.
QEMU_PAYLOAD=(--payload "$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)"
	--payload /usr/share/qemu)

log() { echo "test_lab: $*" >&2; }

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# stamp_lines FILE: pass stdin through, and record in FILE the arrival time
# ($EPOCHREALTIME on this host) of the lines the timings are computed from.
stamp_lines() {
	local line
	while IFS= read -r line; do
		case $line in
		"LAB: qemu-start") echo "qemu_start $EPOCHREALTIME" >>"$1" ;;
		"VMRUN-GUEST: userspace "*) echo "userspace $EPOCHREALTIME" >>"$1" ;;
		"VMRUN-GUEST: verdict="*) echo "verdict $EPOCHREALTIME" >>"$1" ;;
		esac
		printf '%s\n' "$line"
	done
	echo "end $EPOCHREALTIME" >>"$1"
}

# stamp FILE NAME: the recorded time of NAME.
stamp() { awk -v n="$2" '$1 == n { print $2; exit }' "$1"; }

main() {
	local t0 t1 t2 rc=0 out
	t0=$EPOCHREALTIME
	"$REPO_DIR/tests/guest/build.sh" >/dev/null || { log "FAIL: guest build"; exit 1; }
	t1=$EPOCHREALTIME
	out=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-lab.XXXXXX")
	trap 'rm -rf "$out"' EXIT

	# microvm keeps its default ACPI (acpi=on): the cloud kernel has no MP-table
	# parser, so without ACPI it would see one CPU.
	"$LAB_DIR/box.sh" --timeout 300 "${QEMU_PAYLOAD[@]}" --payload "$LAB_DIR/lab-guest-run.sh" -- \
		sh "$LAB_DIR/lab-guest-run.sh" -enable-kvm -M microvm -cpu host -smp 2 -m 256 \
		-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1" -nographic -no-reboot \
		2> >(tee "$out/stderr" >&2) | stamp_lines "$out/stamps" | tee "$out/stdout" || rc=$?
	t2=$EPOCHREALTIME
	wait # for the tee of stderr

	local fail=0
	grep -q '^VMRUN-GUEST: userspace nproc=2 ' "$out/stdout" ||
		{ log "FAIL: no 'VMRUN-GUEST: userspace nproc=2' line"; fail=1; }
	grep -q '^VMRUN-GUEST: verdict=PASS' "$out/stdout" ||
		{ log "FAIL: no 'VMRUN-GUEST: verdict=PASS' line"; fail=1; }
	[ "$rc" -eq 0 ] || { log "FAIL: box.sh / QEMU exit status $rc"; fail=1; }

	local ready qs us vs end
	ready=$(sed -n 's/^box: ready: command starts \([0-9.]*\) s.*/\1/p' "$out/stderr")
	qs=$(stamp "$out/stamps" qemu_start)
	us=$(stamp "$out/stamps" userspace)
	vs=$(stamp "$out/stamps" verdict)
	end=$(stamp "$out/stamps" end)
	log "timing: guest build (cached: check only) $(elapsed "$t0" "$t1") s"
	log "timing: box: QEMU start to command start ${ready:-n/a (direct mode)} s"
	if [ -n "$qs" ] && [ -n "$us" ]; then
		log "timing: guest inside: QEMU start to userspace marker $(elapsed "$qs" "$us") s," \
			"to verdict $(elapsed "$qs" "${vs:-$end}") s, to QEMU exit $(elapsed "$qs" "$end") s"
	fi
	log "timing: total $(elapsed "$t0" "$t2") s"
	if [ $fail = 0 ]; then
		log "PASS"
		exit 0
	fi
	# box.sh's own failure (124: timeout or --idle, 125: the box died, e.g.
	# its kernel's soft-lockup panic) is the nested lab's, not a check's:
	# tests/run-all.sh's lab_retry runs this once more.
	case $rc in
	124 | 125) exit "$rc" ;;
	esac
	exit 1
}

main "$@"
