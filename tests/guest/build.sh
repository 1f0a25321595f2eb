#!/bin/bash
# tests/guest/build.sh — builds the vmrun test guest from Debian packages only.
#
# Outputs (in ${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}/guest/):
#   vmlinuz             the Debian cloud kernel (bzImage)
#   vmlinux             the same kernel as an ELF with a PVH entry note
#   initramfs.cpio.gz   busybox-static + /init + scenarios + virtio/pvpanic modules
#   versions.txt        exact Debian package versions used
# and, for tests/lab/box.sh: ${VMRUN_CACHE}/kernel/ (the extracted kernel package with
# modules.dep, .uname holds the release) and ${VMRUN_CACHE}/busybox/bin/busybox.
#
# Idempotent: it rebuilds only when a file in tests/guest/ or a package version changed.
# Safe for non-interactive CI on a fresh Debian 12: installs missing host tools with
# apt-get and runs `apt-get update` only when a look-up or download fails.
set -euo pipefail

GUEST_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}
DEBS=$CACHE/debs
OUT=$CACHE/guest
KTREE=$CACHE/kernel

# Guest modules (their dependencies are added from modules.dep). ext4, jbd2,
# mbcache, crc16 and crc32c are built into the cloud kernel; they are listed so
# that a kernel where they are modules still gets them (builtins are skipped).
GUEST_MODULES="virtio_mmio virtio_blk virtio_net virtio_console virtio-rng pvpanic pvpanic-mmio
ext4 jbd2 mbcache crc16 crc32c_generic"

log() { echo "guest-build: $*" >&2; }
die() { log "error: $*"; exit 1; }

APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 1 ] && return 0
	log "running apt-get update"
	apt-get update -qq >&2
	APT_UPDATED=1
}

# ensure_host_tools: install what this script and the lab need when absent.
ensure_host_tools() {
	local missing=() pair
	for pair in cpio:cpio lz4:lz4 depmod:kmod readelf:binutils \
		qemu-system-x86_64:qemu-system-x86 gzip:gzip; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	[ -x /bin/busybox ] || missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing host packages: ${missing[*]} (install them as root)"
	log "installing host packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		{ apt_update_once && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >&2; }
}

# kernel_package: the concrete linux-image package the cloud meta-package points to.
kernel_package() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

candidate_version() {
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}

# apt_state: changes whenever apt's view of the archive can change (update, sources).
apt_state() {
	# Missing files are fine (stat fails on them): they are part of the state too.
	{ stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* /etc/apt/sources.list \
		/etc/apt/sources.list.d/* 2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}

# resolve_packages: sets KPKG, KVER (package version), BBVER. apt-cache takes
# about a second per call, so the answer is cached until apt's lists change.
resolve_packages() {
	local state resolved=$OUT/resolved
	state=$(apt_state)
	if [ -s "$resolved" ] && [ "$(head -n1 "$resolved")" = "$state" ]; then
		read -r KPKG KVER BBVER < <(sed -n 2p "$resolved")
		return 0
	fi
	KPKG=$(kernel_package)
	if [ -z "$KPKG" ]; then
		apt_update_once
		KPKG=$(kernel_package)
	fi
	[ -n "$KPKG" ] || die "cannot resolve linux-image-cloud-amd64"
	KVER=$(candidate_version "$KPKG")
	BBVER=$(candidate_version busybox-static)
	case "$KVER" in "" | "(none)") die "no candidate version for $KPKG" ;; esac
	case "$BBVER" in "" | "(none)") die "no candidate version for busybox-static" ;; esac
	printf '%s\n%s %s %s\n' "$(apt_state)" "$KPKG" "$KVER" "$BBVER" >"$resolved"
}

# deb_path PKG VERSION: where apt-get download puts it ("1:1.35" becomes "1%3a1.35").
deb_path() {
	echo "$DEBS/${1}_${2//:/%3a}_amd64.deb"
}

# fetch_deb PKG VERSION: download into the cache unless already there.
fetch_deb() {
	local deb
	deb=$(deb_path "$1" "$2")
	[ -s "$deb" ] && return 0
	log "downloading $1=$2"
	# Downloading as root into a root-owned dir makes apt warn about its sandbox; harmless.
	(cd "$DEBS" && apt-get download -qq "$1=$2" 2>/dev/null) ||
		{ apt_update_once && (cd "$DEBS" && apt-get download -qq "$1=$2"); }
	[ -s "$deb" ] || die "download of $1=$2 did not produce $deb"
}

# input_hash: everything the outputs depend on; a change triggers a rebuild.
input_hash() {
	{
		echo "$KPKG $KVER busybox-static $BBVER"
		# Relative names: another checkout of the same sources needs no rebuild.
		(cd "$GUEST_SRC" && find . -type f ! -name '*~' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -d' ' -f1
}

outputs_present() {
	local f
	for f in vmlinuz vmlinux initramfs.cpio.gz versions.txt; do
		[ -s "$OUT/$f" ] || return 1
	done
	[ -s "$KTREE/.uname" ] && [ -x "$CACHE/busybox/bin/busybox" ]
}

# extract_kernel: unpack the kernel .deb into $KTREE and generate modules.dep.
extract_kernel() {
	local deb uname
	deb=$(deb_path "$KPKG" "$KVER")
	rm -rf "$KTREE"
	mkdir -p "$KTREE"
	dpkg-deb -x "$deb" "$KTREE"
	uname=$(basename "$(ls -d "$KTREE"/lib/modules/*/)")
	# The .deb ships no modules.dep (the postinst makes it); generate it here.
	depmod -b "$KTREE" "$uname"
	echo "$uname" >"$KTREE/.uname"
	cp "$KTREE/boot/vmlinuz-$uname" "$OUT/vmlinuz.new"
	"$GUEST_SRC/extract-vmlinux.sh" "$OUT/vmlinuz.new" "$OUT/vmlinux.new"
}

# module_closure ROOT UNAME NAMES...: relative paths of the modules and all their
# dependencies, dependencies first; names that are built in or unknown are skipped.
module_closure() {
	local root=$1 uname=$2
	shift 2
	local dep=$root/lib/modules/$uname/modules.dep
	local builtin=$root/lib/modules/$uname/modules.builtin
	local name file
	for name in "$@"; do
		file=$(awk -F: -v n="$name" '{
			b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z0-9]+)?$/, "", b)
			gsub(/-/, "_", b); m = n; gsub(/-/, "_", m)
			if (b == m) { print $1; exit }
		}' "$dep")
		if [ -z "$file" ]; then
			grep -qE "/${name//-/[-_]}\.ko$" "$builtin" ||
				log "warning: module $name neither in modules.dep nor built in"
			continue
		fi
		# modules.dep lists the direct and indirect deps of a module; the deepest
		# dependency comes last, so reverse the list to load it first.
		awk -F': *' -v f="$file" '$1 == f { print $2 }' "$dep" | tr ' ' '\n' | tac
		echo "$file"
	done | awk 'NF && !seen[$0]++'
}

# add_modules STAGE: copy the guest modules into STAGE with their own modules.dep.
add_modules() {
	local stage=$1 uname rel
	uname=$(cat "$KTREE/.uname")
	mkdir -p "$stage/lib/modules/$uname"
	# shellcheck disable=SC2086  # word splitting of the module list is intended
	module_closure "$KTREE" "$uname" $GUEST_MODULES >"$stage/.mods"
	while read -r rel; do
		mkdir -p "$stage/lib/modules/$uname/$(dirname "$rel")"
		cp "$KTREE/lib/modules/$uname/$rel" "$stage/lib/modules/$uname/$rel"
		# Debian 12's cloud kernel ships them uncompressed; a kernel with
		# compressed modules would need busybox modprobe built with that support.
		case $rel in
		*.ko) ;;
		*) die "compressed module $rel: not supported by busybox modprobe" ;;
		esac
	done <"$stage/.mods"
	cp "$KTREE/lib/modules/$uname/modules.builtin" \
		"$KTREE/lib/modules/$uname/modules.builtin.modinfo" \
		"$KTREE/lib/modules/$uname/modules.order" "$stage/lib/modules/$uname/"
	depmod -b "$stage" "$uname"
	# The init loads exactly these, in this (dependency-first) order.
	sed -e 's,.*/,,' -e 's,\.ko.*$,,' "$stage/.mods" >"$stage/etc/vmrun-modules"
	rm "$stage/.mods"
}

# add_busybox STAGE: the static busybox from the .deb and a link per applet.
# The extracted package stays in $CACHE/busybox: tests/lab/box.sh uses it too.
add_busybox() {
	local stage=$1 bbroot=$CACHE/busybox applet
	rm -rf "$bbroot"
	dpkg-deb -x "$(deb_path busybox-static "$BBVER")" "$bbroot"
	cp "$bbroot/bin/busybox" "$stage/bin/busybox"
	for applet in $("$stage/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$stage/bin/$applet"
	done
	ln -s bin "$stage/sbin"
}

# make_cpio STAGE OUTFILE: newc archive, every file owned by root, no root needed.
# Fixed timestamps and order make the same inputs give the same bytes.
make_cpio() {
	find "$1" -exec touch -h -d @0 {} +
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --renumber-inodes --ignore-devno --quiet) | gzip -6 -n >"$2"
}

build_initramfs() {
	local stage
	stage=$(mktemp -d "$OUT/stage.XXXXXX")
	# shellcheck disable=SC2064  # expand now: stage is local
	trap "rm -rf '$stage'" RETURN
	mkdir -p "$stage"/{bin,dev,proc,sys,etc,tmp,root,scenarios,newroot,lib/modules}
	add_busybox "$stage"
	install -m 0755 "$GUEST_SRC/init" "$stage/init"
	install -m 0644 "$GUEST_SRC"/scenarios/*.sh "$stage/scenarios/"
	add_modules "$stage"
	make_cpio "$stage" "$OUT/initramfs.cpio.gz.new"
}

write_versions() {
	{
		echo "$KPKG $KVER"
		echo "busybox-static $BBVER"
		echo "kernel-release $(cat "$KTREE/.uname")"
	} >"$OUT/versions.txt"
}

print_outputs() {
	echo "$OUT/vmlinuz"
	echo "$OUT/vmlinux"
	echo "$OUT/initramfs.cpio.gz"
	echo "$OUT/versions.txt"
}

main() {
	mkdir -p "$DEBS" "$OUT"
	# Several test runs may share the cache: one builder at a time (outputs are
	# replaced with mv, so readers of the previous files are not disturbed).
	exec 9>"$CACHE/.build.lock"
	flock 9
	ensure_host_tools
	resolve_packages
	local hash
	hash=$(input_hash)
	if outputs_present && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$hash" ]; then
		log "up to date ($KPKG $KVER, busybox-static $BBVER)"
		print_outputs
		return 0
	fi
	fetch_deb "$KPKG" "$KVER"
	fetch_deb busybox-static "$BBVER"
	rm -f "$OUT/.stamp"
	extract_kernel
	build_initramfs
	mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
	mv "$OUT/vmlinux.new" "$OUT/vmlinux"
	mv "$OUT/initramfs.cpio.gz.new" "$OUT/initramfs.cpio.gz"
	write_versions
	echo "$hash" >"$OUT/.stamp"
	log "built guest from $KPKG $KVER and busybox-static $BBVER"
	print_outputs
}

main "$@"
