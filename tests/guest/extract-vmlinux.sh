#!/bin/bash
# extract-vmlinux.sh BZIMAGE OUT
#
# Pulls the uncompressed ELF kernel (vmlinux) out of an x86 bzImage whose payload is
# LZ4-compressed (Debian's cloud kernel: CONFIG_KERNEL_LZ4). The payload is an LZ4
# "legacy" frame (magic 02 21 4c 18); the bzImage has more bytes after it (the
# decompressor's relocation data), which lz4 reports as an error after it has
# already written the whole kernel, so the exit status of lz4 is not trusted: the
# result is checked instead (ELF magic + a PVH entry note, the entry vmrun uses).
set -euo pipefail

die() { echo "extract-vmlinux: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 BZIMAGE OUT"
in=$1
out=$2
[ -r "$in" ] || die "cannot read $in"

# Byte offsets of every candidate magic; the first one that decompresses into an
# ELF wins (the magic could in theory also occur by chance earlier in the setup code).
candidate_offsets() {
	LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$1" | cut -d: -f1
}

is_elf() {
	[ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]
}

has_pvh_note() {
	# readelf names the PVH entry note "Xen" / NT_VERSION-less type 0x12
	# (XEN_ELFNOTE_PHYS32_ENTRY); match both spellings across binutils versions.
	readelf -n "$1" 2>/dev/null | grep -qiE 'PHYS32_ENTRY|Unknown note type: \(0x00000012\)'
}

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

for off in $(candidate_offsets "$in"); do
	tail -c +"$((off + 1))" "$in" | lz4 -dc > "$tmp" 2>/dev/null || true
	if [ -s "$tmp" ] && is_elf "$tmp"; then
		has_pvh_note "$tmp" || die "ELF found at offset $off but it has no PVH note"
		mv "$tmp" "$out"
		exit 0
	fi
done
die "no LZ4-compressed ELF payload found in $in"
