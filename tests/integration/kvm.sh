#!/bin/bash
# kvm.sh [--valgrind] BUILD_DIR - the tests that need /dev/kvm but no Linux
# guest (the freestanding guests of firmware/: firmware.sh, api.sh,
# snapshot.sh, lifecycle, embed.sh, hostile.sh, hardening.sh; with
# --valgrind also valgrind.sh), for a host without a usable /dev/kvm: they
# run through tests/lab/box.sh, in the lab's box (QEMU TCG with nested SVM).
# On a host with /dev/kvm `meson test` runs them directly.  embed.sh's
# build half (meson install, pkg-config, cc) runs here on the host, its
# boot in the box.  Exit: 0 all pass, 1 one failed, 77 cannot run here.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

valgrind=
[ "${1:-}" = --valgrind ] && { valgrind=--valgrind; shift; }
build=$(cd "${1:?usage: kvm.sh [--valgrind] BUILD_DIR}" && pwd) || exit 77

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
	mktemp)
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
[ -n "$valgrind" ] && payload+=(--payload /usr/libexec/valgrind)
rc=0
"$repo/tests/lab/box.sh" --timeout 1500 --mem 3072 "${payload[@]}" -- \
	"$here/kvm-suite.sh" $valgrind "$build" "$tmp/embed" || rc=$?
case $rc in
0 | 77) exit "$rc" ;;
124) log "the box timed out"; exit 124 ;;
125) log "the box could not run the suite"; exit 125 ;;
*) exit 1 ;;
esac
