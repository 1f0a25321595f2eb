#!/bin/bash
# examples/hello.sh - from a fresh Debian 12 machine to a booted guest:
# installs the build dependencies, builds vmrun, builds the test guest from
# Debian packages, and boots examples/hello.json.  On a host without
# hardware virtualization (e.g. a kvm_pvm /dev/kvm) the boot runs inside the
# lab's box (QEMU TCG with nested SVM), and the script says so.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

tests/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
tests/guest/build.sh >/dev/null
# hello.json names ../build/guest/*: point it at the guest builder's cache.
ln -sfn "${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest" build/guest

exec tests/lab/box.sh --timeout 300 --payload "$repo/build" \
	--payload "$repo/examples" -- "$repo/build/vmrun" "$repo/examples/hello.json"
