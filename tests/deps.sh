#!/bin/bash
# tests/deps.sh - installs every Debian package vmrun needs to build, test
# and run its lab on a fresh Debian 12 machine.  Idempotent and quick when
# everything is there; needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
	# build
	gcc clang meson ninja-build pkg-config libcjson-dev libaio-dev check
	libmicrohttpd-dev libseccomp-dev
	# lab: guest builder and the box (QEMU TCG with nested SVM)
	qemu-system-x86 busybox-static cpio lz4 kmod e2fsprogs
	# tests: ACPI disassembly, sanitizer runtimes, format check
	acpica-tools libclang-rt-14-dev clang-format iproute2 curl python3 valgrind libc6-dbg
	# tests/bench/run.sh: fio and iperf3 go into the bench guest, gnuplot
	# draws the boot-time chart
	fio iperf3 gnuplot-nox strace
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
