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

# The lab's box: QEMU 10.0 from bookworm-backports, unpacked into the cache
# (not installed: Debian 12's qemu-system-x86 stays, for the nested QEMU and
# its qemu-system-common's virtiofsd). It runs with bookworm's libraries.
BOX_QEMU_VERSION=1:10.0.2+ds-2+deb13u1~bpo12+1
CACHE=${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}
BACKPORTS=/etc/apt/sources.list.d/vmrun-bookworm-backports.sources

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

# backports_source: bookworm-backports as an apt source (pinned at the
# default priority 100, so nothing is upgraded from it).
backports_source() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
		return 0
	printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
		'Suites: bookworm-backports' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
		$sudo tee "$BACKPORTS" >/dev/null
	$sudo apt-get update -qq
}

# box_qemu: $CACHE/qemu/<version>/ holds the unpacked packages and
# $CACHE/qemu/current names it (tests/lab/box.sh reads it).
box_qemu() {
	local dir=$CACHE/qemu/${BOX_QEMU_VERSION#*:} tmp p
	if [ -x "$dir/usr/bin/qemu-system-x86_64" ]; then
		echo "$dir" >"$CACHE/qemu/current"
		return 0
	fi
	backports_source
	tmp=$(mktemp -d)
	for p in qemu-system-x86 qemu-system-common qemu-system-data; do
		(cd "$tmp" && apt-get download -qq "$p=$BOX_QEMU_VERSION" 2>/dev/null) ||
			{ $sudo apt-get update -qq && (cd "$tmp" && apt-get download -qq "$p=$BOX_QEMU_VERSION"); } ||
			{ echo "deps: cannot download $p $BOX_QEMU_VERSION" >&2; return 1; }
	done
	mkdir -p "$dir.new"
	for p in "$tmp"/*.deb; do dpkg-deb -x "$p" "$dir.new"; done
	rm -rf "$tmp" "$dir"
	mv "$dir.new" "$dir"
	"$dir/usr/bin/qemu-system-x86_64" --version >/dev/null ||
		{ echo "deps: $dir/usr/bin/qemu-system-x86_64 does not run" >&2; return 1; }
	echo "$dir" >"$CACHE/qemu/current"
	echo "deps: box QEMU $BOX_QEMU_VERSION in $dir" >&2
}

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$CACHE/qemu"
box_qemu
