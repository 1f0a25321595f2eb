#!/bin/bash
# tests/bench/initramfs.sh — builds the bench initramfs: the test guest's
# initramfs (tests/guest/build.sh) with one more, uncompressed cpio archive
# appended (Linux unpacks concatenated archives in order) that adds
#
#   /scenarios/bench-blk.sh, bench-net.sh  (tests/bench/guest/)
#   /usr/bin/fio, /usr/bin/iperf3          (Debian's fio and iperf3 packages,
#                                           installed on the host)
#   every shared library they need, at the path ldd resolves on the host,
#   and the dynamic loader
#
# Prints the archive's path: ${VMRUN_BENCH_CACHE:-$VMRUN_CACHE/bench}/
# initramfs-bench.cpio. Rebuilt only when the guest initramfs, the scenarios
# or the fio/iperf3 packages change. The tools and their libraries (Debian's
# fio links Ceph, GlusterFS and ICU: ~85 MB) are stored uncompressed: the
# nested guest copies them faster than it would gunzip them. Guests using it
# need about 512 MiB of RAM.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
CACHE=${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}
OUT_DIR=${VMRUN_BENCH_CACHE:-$CACHE/bench}
OUT=$OUT_DIR/initramfs-bench.cpio
TOOLS="/usr/bin/fio /usr/bin/iperf3"

log() { echo "bench-initramfs: $*" >&2; }

guest=$("$REPO_DIR/tests/guest/build.sh" | grep 'initramfs.cpio.gz$')
for t in $TOOLS; do
	[ -x "$t" ] || { log "error: $t missing (apt-get install fio iperf3)"; exit 1; }
done
stamp=$({
	sha256sum "$guest" "$BENCH_DIR"/guest/*.sh "${BASH_SOURCE[0]}"
	dpkg-query -W -f='${Package} ${Version}\n' fio iperf3
} | sha256sum | cut -d' ' -f1)
if [ -s "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$OUT"
	exit 0
fi
log "building $OUT"
mkdir -p "$OUT_DIR"
stage=$(mktemp -d "$OUT_DIR/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/scenarios" "$stage/usr/bin" "$stage/tmp"
cp "$BENCH_DIR"/guest/*.sh "$stage/scenarios/"
for t in $TOOLS; do
	cp "$t" "$stage/usr/bin/"
done
# The libraries at the paths ldd prints (the loader finds them there through
# LD_LIBRARY_PATH in the scenarios), as real files: the guest has no /lib.
for t in $TOOLS; do ldd "$t"; done |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
	while read -r lib; do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner=0:0 --quiet) >"$stage/extra.cpio"
# The gzip member, then the plain archive (4-byte aligned: gzip output may
# end anywhere, and the kernel looks for the next archive at a multiple of 4).
{
	cat "$guest"
	head -c $(((4 - $(stat -c %s "$guest") % 4) % 4)) /dev/zero
	cat "$stage/extra.cpio"
} >"$OUT.new"
mv "$OUT.new" "$OUT"
echo "$stamp" >"$OUT.stamp"
log "$(($(stat -c %s "$OUT") >> 20)) MiB"
echo "$OUT"
