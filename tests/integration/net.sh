#!/bin/bash
# net.sh [--bench] BUILD_DIR - the virtio-net, virtio-console and virtio-rng
# integration tests: runs net-suite.sh on a real /dev/kvm through
# tests/lab/box.sh, with iproute2's ip (and QEMU for --bench) as payloads.
# Exit: 0 all checks pass, 1 a check failed, 77 cannot run here.
# VMRUN_NET_BOX_TIMEOUT (2400 s): the box's bound, above the sum of the
# suite's own bounds.  VMRUN_NET_BOX_IDLE (120 s): a box whose userspace
# gave no heartbeat for that long is taken for frozen (box.sh --idle).
# VMRUN_NET_BOX_CPUS (1): the box's CPUs.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

bench=
[ "${1:-}" = --bench ] && { bench=--bench; shift; }
build=$(cd "${1:?usage: net.sh [--bench] BUILD_DIR}" && pwd) || exit 77

log() { echo "net: $*" >&2; }
skip() {
	log "skip: $*"
	exit 77
}

[ -x "$build/vmrun" ] || skip "no $build/vmrun (build it first)"
ipcmd=$(command -v ip) || skip "no ip (iproute2) on this host"
"$repo/tests/guest/build.sh" >/dev/null || skip "the test guest cannot be built"

# python3 reads a crashed guest's dump in the box (tests/tools/crash-log.py).
payload=(--payload "$build" --payload "$repo/tests" --payload /bin/bash --payload "$ipcmd" --python)
if [ -n "$bench" ]; then
	qemu=$(command -v qemu-system-x86_64) || skip "--bench needs qemu-system-x86_64"
	payload+=(--payload "$qemu" --payload /usr/share/qemu)
fi
[ -n "${VMRUN_NET_CPUS:-}" ] && payload+=(--payload "$(command -v taskset)")
# One box CPU (VMRUN_NET_BOX_CPUS): in boxes with two, the guest
# triple-faults as its bulk receive starts, with its IDT intact and
# nothing in its log (docs/lab.md, "The guest triple fault of two-CPU
# boxes"); no box with one has shown it.
rc=0
"$repo/tests/lab/box.sh" --timeout "${VMRUN_NET_BOX_TIMEOUT:-2400}" \
	--idle "${VMRUN_NET_BOX_IDLE:-120}" --mem 3072 --cpus "${VMRUN_NET_BOX_CPUS:-1}" "${payload[@]}" -- \
	"$repo/tests/integration/net-suite.sh" $bench "$build" || rc=$?
case $rc in
0 | 77) exit "$rc" ;;
124) log "the box timed out"; exit 124 ;;
125) log "the box could not run the suite"; exit 125 ;;
esac
exit 1
