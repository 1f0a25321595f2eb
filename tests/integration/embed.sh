#!/bin/bash
# embed.sh [--prepare DIR | --run DIR] SOURCE_DIR BUILD_DIR - installs
# libvmrun into a temporary prefix (meson install --destdir), builds
# examples/embed.c against it with pkg-config only, and boots the firmware
# hello guest with it on /dev/kvm: the installed header, library and
# vmrun.pc are all a user needs.  --prepare DIR does the build half into
# DIR (no /dev/kvm needed), --run DIR the boot half with what DIR holds:
# tests/integration/kvm.sh builds on the host and boots in the lab's box.
set -u
mode=all
dir=
case ${1:-} in
--prepare) mode=prepare; dir=${2:?}; shift 2 ;;
--run) mode=run; dir=${2:?}; shift 2 ;;
esac
src=$(cd "${1:?usage: embed.sh [--prepare DIR | --run DIR] SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: embed.sh [--prepare DIR | --run DIR] SOURCE_DIR BUILD_DIR}" && pwd)
. "$src/tests/integration/lib.sh"

prepare() {
	local prefix sanitize pcdir libdir flags
	meson install -C "$build" --destdir "$work/root" --no-rebuild >"$work/install.log" 2>&1
	expect "meson install into a temporary root" 0 "$?"
	prefix=$(option prefix)
	# A sanitized libvmrun needs the sanitizer runtime loaded first.
	sanitize=$(option b_sanitize)
	[ "$sanitize" = none ] && sanitize="" || sanitize="-fsanitize=$sanitize"
	pcdir=$(dirname "$(find "$work/root" -name vmrun.pc | head -n 1)")
	libdir=$(dirname "$(find "$work/root" -name 'libvmrun.so' | head -n 1)")
	echo "$libdir" >"$work/libdir"
	# The .pc names the final prefix; PKG_CONFIG_SYSROOT_DIR maps it into the
	# temporary root.
	flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$work/root \
		pkg-config --cflags --libs vmrun)
	expect "pkg-config finds vmrun (prefix $prefix)" 0 "$?"
	cc $sanitize "$src/examples/embed.c" $flags -o "$work/embed" 2>"$work/cc.log"
	expect "examples/embed.c builds against the installed library" 0 "$?"
	cat "$work/cc.log"
}

option() {
	meson introspect "$build" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]][0])' "$1"
}

boot() {
	cat >"$work/hello.json" <<JSON
{ "boot-source": { "kernel_image_path": "$build/firmware/hello.elf",
                   "boot_args": "status=6" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vmrun": { "serial": { "output": "file", "path": "$work/serial.out" } } }
JSON
	LD_LIBRARY_PATH=$(cat "$work/libdir") timeout 60 "$work/embed" \
		"$work/hello.json" >"$work/out" 2>&1
	expect "embed boots the guest, which exits 6" 6 "$?"
	expect_grep "embed reports the exit" '^guest exit: debug-exit, status 6' "$work/out"
	expect_grep "the guest ran" 'hello from CPL3' "$work/serial.out"
}

case $mode in
prepare)
	mkdir -p "$dir" && work=$(cd "$dir" && pwd) || exit 1
	prepare
	;;
run)
	work=$(cd "$dir" && pwd) || exit 1
	[ -x "$work/embed" ] || { not_ok "embed binary" "none in $work (--prepare first)"; summary; exit 1; }
	have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
	boot
	;;
all)
	have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	prepare
	boot
	;;
esac
summary
