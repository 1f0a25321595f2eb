#!/bin/bash
# tests/lab/box.sh — run one command on a machine with a usable /dev/kvm.
#
#   tests/lab/box.sh [--timeout SECS] [--idle SECS] [--mem MIB] [--cpus N] \
#                    [--payload PATH]... [--python] [--out DIR] [--out-size SIZE] \
#                    -- CMD [ARGS...]
#
# Direct mode: the host has hardware virtualization (vmx/svm + kvm_intel/kvm_amd and a
# usable /dev/kvm): CMD runs right here.
# Box mode (everywhere else, e.g. hosts whose /dev/kvm is kvm_pvm): CMD runs inside
# QEMU TCG with -cpu max, which emulates AMD SVM, so the Debian cloud kernel booted
# there loads kvm-amd and has a real /dev/kvm. Every --payload path and the test guest
# ($VMRUN_CACHE/guest) appear in the box at the same absolute paths, with the shared
# libraries their ELF files need (--python adds /usr/bin/python3 and the part of its
# standard library tests/tools/crash-log.py needs: 8 MiB, not 54). CMD's output streams to stdout; box.sh exits with
# CMD's status, or 124 on timeout. Files CMD writes to $BOX_OUT come back to --out DIR.
# --idle SECS (box mode): a box whose userspace gave no sign of life for
# SECS (box-init's heartbeat every 10 s, or a line of CMD's; the box kernel's
# own messages do not count: a box stuck for good prints "soft lockup") is
# taken for frozen and stopped at once: status 124. A CMD that is merely
# quiet or hung keeps the heartbeat going: CMD bounds its own steps, so a
# hung vmrun is CMD's failure, never a box failure.
#
# The box is QEMU 10.0.2 from Debian's bookworm-backports, unpacked by
# tests/deps.sh into $VMRUN_CACHE/qemu/ (Debian 12's QEMU 7.2 lacks the SVM
# XSETBV intercept, so its nested guests lose XSAVE: docs/lab.md).
# VMRUN_BOX_QEMU=PATH runs another qemu-system-x86_64 as the box (its own
# data files); the box prints which QEMU and kernel it runs.
#
# VMRUN_BOX_APPEND adds words to the box kernel's command line (experiments).
# VMRUN_BOX=direct|box forces the mode. See docs/lab.md.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
CACHE=${VMRUN_CACHE:-${HOME:-/root}/.cache/vmrun}
export VMRUN_CACHE=$CACHE
BOX_CACHE=$CACHE/box
# The box's kernel: the test guest's (tests/guest/build.sh unpacks it), or
# VMRUN_BOX_KERNEL=DIR with DIR/vmlinux (PVH), DIR/.uname and
# DIR/lib/modules/<uname>/ (uncompressed modules, modules.builtin).
BOX_KERNEL=${VMRUN_BOX_KERNEL:-$CACHE/kernel}
BOX_VMLINUX=$CACHE/guest/vmlinux
[ -n "${VMRUN_BOX_KERNEL:-}" ] && BOX_VMLINUX=$VMRUN_BOX_KERNEL/vmlinux

TIMEOUT=600
IDLE=0
MEM=3072
# One box CPU unless asked: in boxes with two, nested guests triple-fault
# under vmrun and under QEMU alike (docs/lab.md, "The guest triple fault of
# two-CPU boxes").
CPUS=${VMRUN_BOX_CPUS:-1}
OUT_DIR=
OUT_SIZE=8G
PAYLOADS=()

# Modules the box kernel needs, in load order: KVM (the point of the box), the
# virtio-mmio disk that carries --out results back, and tun for the network tests' taps.
BOX_MODULES="virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko
drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_mmio.ko
drivers/block/virtio_blk.ko drivers/net/tun.ko"

log() { echo "box: $*" >&2; }
die() {
	log "error: $*"
	exit 125
}

usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}//' >&2
	exit 125
}

# add_python: the --python payloads.
add_python() {
	local lib
	lib=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))') ||
		die "--python: no /usr/bin/python3 here"
	PAYLOADS+=(/usr/bin/python3 "$(readlink -f /usr/bin/python3)" "$lib"/*.py
		"$lib"/encodings "$lib"/re "$lib"/collections "$lib"/importlib "$lib"/lib-dynload/mmap.*)
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) TIMEOUT=${2:?}; shift 2 ;;
		--idle) IDLE=${2:?}; shift 2 ;;
		--mem) MEM=${2:?}; shift 2 ;;
		--cpus) CPUS=${2:?}; shift 2 ;;
		--payload) PAYLOADS+=("${2:?}"); shift 2 ;;
		--python) add_python; shift ;;
		--out) OUT_DIR=${2:?}; shift 2 ;;
		--out-size) OUT_SIZE=${2:?}; shift 2 ;;
		--) shift; break ;;
		-h | --help) usage ;;
		*) log "unknown option: $1"; usage ;;
		esac
	done
	[ $# -gt 0 ] || usage
	CMD=("$@")
	case "$TIMEOUT$IDLE$MEM$CPUS" in
	*[!0-9]*) die "--timeout, --idle, --mem and --cpus take integers" ;;
	esac
}

# choose_mode: sets MODE and WHY.
choose_mode() {
	local flags=no kmod=no
	grep -qwE 'vmx|svm' /proc/cpuinfo && flags=yes
	{ [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } && kmod=yes
	if [ -d /sys/module/kvm_pvm ]; then
		MODE=box
		WHY="/dev/kvm is kvm_pvm (no hardware virtualization)"
	elif [ $flags = no ]; then
		MODE=box
		WHY="no vmx/svm in /proc/cpuinfo"
	elif [ $kmod = no ]; then
		MODE=box
		WHY="neither kvm_intel nor kvm_amd is loaded"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		MODE=box
		WHY="/dev/kvm is not usable by $(id -un)"
	else
		MODE=direct
		WHY="hardware virtualization ($( [ -d /sys/module/kvm_intel ] && echo kvm_intel || echo kvm_amd))"
	fi
	case ${VMRUN_BOX:-} in
	"") ;;
	direct | box) [ "$VMRUN_BOX" = "$MODE" ] || WHY="forced by VMRUN_BOX=$VMRUN_BOX (auto: $MODE, $WHY)"; MODE=$VMRUN_BOX ;;
	*) die "VMRUN_BOX must be direct or box, not '$VMRUN_BOX'" ;;
	esac
}

# run_direct: CMD on this host, same contract (BOX_OUT, timeout, status).
run_direct() {
	log "$WHY: running directly on this host (direct mode)"
	local rc=0
	if [ -n "$OUT_DIR" ]; then
		mkdir -p "$OUT_DIR"
		BOX_OUT=$(cd "$OUT_DIR" && pwd)
	else
		BOX_OUT=$TMP/out
		mkdir -p "$BOX_OUT"
	fi
	export BOX_OUT
	timeout -k 5 "$TIMEOUT" "${CMD[@]}" </dev/null || rc=$?
	[ $rc -eq 124 ] && log "timeout: command killed after $TIMEOUT s"
	return $rc
}

# --- box image ---------------------------------------------------------------

# build_base: the cached, payload-independent part of the box initramfs:
# /init, /box/bin (busybox) and /box/modules. Nothing outside /box except /init
# and the mount points, so payloads can mirror the host's /bin, /lib, /usr freely.
build_base() {
	local uname stamp stage m
	uname=$(cat "$BOX_KERNEL/.uname")
	BASE=$BOX_CACHE/base-$uname
	# Contents only: the same box.sh called by another path must not rebuild.
	stamp=$( { cat "${BASH_SOURCE[0]}" "$LAB_DIR/box-init" "$CACHE/busybox/bin/busybox"
		echo "$uname"; } | sha256sum | cut -d' ' -f1)
	if [ -s "$BASE.cpio" ] && [ "$(cat "$BASE.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	mkdir -p "$BOX_CACHE"
	# Concurrent box.sh runs share the cache: build under a lock, then re-check.
	exec 8>"$BOX_CACHE/.lock"
	flock 8
	if [ -s "$BASE.cpio" ] && [ "$(cat "$BASE.stamp" 2>/dev/null)" = "$stamp" ]; then
		exec 8>&-
		return 0
	fi
	log "building the box base image"
	stage=$(mktemp -d "$BOX_CACHE/stage.XXXXXX")
	mkdir -p "$stage"/{box/bin,box/modules,dev,proc,sys,tmp}
	cp "$CACHE/busybox/bin/busybox" "$stage/box/bin/busybox"
	for m in $("$stage/box/bin/busybox" --list); do
		[ "$m" = busybox ] || ln -s busybox "$stage/box/bin/$m"
	done
	for m in $BOX_MODULES; do
		# A module the kernel has built in is not loaded.
		if [ ! -e "$BOX_KERNEL/lib/modules/$uname/kernel/$m" ] &&
			grep -qx "kernel/$m" "$BOX_KERNEL/lib/modules/$uname/modules.builtin" 2>/dev/null; then
			continue
		fi
		cp "$BOX_KERNEL/lib/modules/$uname/kernel/$m" "$stage/box/modules/" ||
			die "box kernel $uname: no module $m"
		basename "$m" >>"$stage/box/modules/order"
	done
	install -m 0755 "$LAB_DIR/box-init" "$stage/init"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --quiet) >"$BASE.cpio.new"
	rm -rf "$stage"
	mv "$BASE.cpio.new" "$BASE.cpio"
	echo "$stamp" >"$BASE.stamp"
	exec 8>&-
}

# The payload is mirrored into $STAGE at the host's absolute paths. Files are always
# written to their fully resolved host path, so a symlink inside the stage is never
# written through (an absolute link there would point back into the host).
declare -A SEEN=()

# copy_link LINK: the symlink LINK itself, placed in its parent's resolved directory.
copy_link() {
	local parent
	parent=$(readlink -f "$(dirname "$1")")
	mkdir -p "$STAGE$parent"
	cp -P "$1" "$STAGE$parent/"
}

# mirror_parents PATH: the directories leading to PATH, including the symlinks among
# them (e.g. /lib -> usr/lib on merged-/usr), so PATH resolves as on the host.
# Only the directories are created, not their contents.
mirror_parents() {
	local path=$1 prefix="" comp
	local IFS=/
	for comp in ${path#/}; do
		prefix=$prefix/$comp
		[ "$prefix" = "$path" ] && break
		if [ -L "$prefix" ] && [ -z "${SEEN[$prefix]:-}" ]; then
			SEEN[$prefix]=1
			copy_link "$prefix"
			mkdir -p "$STAGE$(readlink -f "$prefix")"
		fi
	done
}

# mirror PATH: copy PATH (file or directory, recursively) so that it resolves in the
# box exactly as on the host; a symlink brings what it points to.
mirror() {
	local path=$1 real
	[ -n "${SEEN[$path]:-}" ] && return 0
	SEEN[$path]=1
	[ -e "$path" ] || { log "warning: payload $path does not exist"; return 0; }
	mirror_parents "$path"
	if [ -L "$path" ]; then
		copy_link "$path"
		mirror "$(readlink -f "$path")"
		return 0
	fi
	real=$(readlink -f "$path")
	if [ -d "$real" ]; then
		mkdir -p "$STAGE$real"
		cp -a "$real/." "$STAGE$real/"
	else
		mkdir -p "$STAGE$(dirname "$real")"
		cp -a "$real" "$STAGE$real"
	fi
}

# elf_files: host paths of the ELF files now in the stage.
elf_files() {
	(cd "$STAGE" && find . -type f -size +63c -print0) |
		while IFS= read -r -d '' f; do
			[ "$(head -c 4 "$STAGE/$f" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] && echo "${f#.}"
		done
}

# add_libraries: every shared library (and the dynamic loader) the payload's ELF
# files need, as ldd resolves them on this host. Batched (one readlink, one cp per
# directory): mirror() per library costs ~10 ms each, and QEMU alone needs ~50.
add_libraries() {
	local lib dir
	# ldd of a static or foreign file fails; those need nothing.
	elf_files | while read -r f; do ldd "$f" 2>/dev/null || true; done |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		LC_ALL=C sort -u >"$TMP/libs"
	[ -s "$TMP/libs" ] || return 0
	# The directories, with the symlinks leading to them (/lib -> usr/lib, /lib64).
	while read -r dir; do mirror_parents "$dir/x"; done < <(xargs -n1 dirname <"$TMP/libs" | sort -u)
	# The names ldd printed are often symlinks (libz.so.1 -> libz.so.1.2.13): copy
	# those links, then the files they resolve to.
	while read -r lib; do
		[ -L "$lib" ] && echo "$lib"
	done <"$TMP/libs" >"$TMP/links"
	xargs -r readlink -f <"$TMP/libs" | sort -u >"$TMP/real"
	xargs -r dirname <"$TMP/real" | sort -u | sed "s|^|$STAGE|" | xargs -r mkdir -p
	xargs -r cp -a --parents -t "$STAGE" <"$TMP/real"
	while read -r lib; do
		copy_link "$lib"
	done <"$TMP/links"
	# The loader finds libraries through its cache as on the host.
	[ -e /etc/ld.so.cache ] && mirror /etc/ld.so.cache
	return 0
}

# quote WORD: WORD as a single-quoted POSIX shell word.
quote() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

# write_job: /box/job.sh, the command and its environment, read by box-init.
# Passing it in a file keeps it off the kernel command line (length, quoting).
write_job() {
	local job=$STAGE/box/job.sh arg var cwd
	mkdir -p "$STAGE/box"
	cwd=$(pwd)
	{
		echo "# generated by tests/lab/box.sh"
		echo "BOX_NONCE=$NONCE"
		echo "BOX_CWD=$(quote "$cwd")"
		echo "BOX_HAS_OUT=$([ -n "$OUT_DIR" ] && echo 1 || echo 0)"
		# The host's PATH after the box's own busybox, so payload tools keep their names.
		echo "export PATH=$(quote "$PATH:/box/bin")"
		for var in HOME LANG CI $(compgen -e | grep -E '^(VMRUN_|BOX_)' || true); do
			[ -n "${!var+x}" ] && echo "export $var=$(quote "${!var}")"
		done
		printf 'set --'
		for arg in "${CMD[@]}"; do printf ' %s' "$(quote "$arg")"; done
		echo
	} >"$job"
}

# build_payload_cpio: stage the payload + libraries + job, archive it (uncompressed:
# the box unpacks it faster than it would gunzip it under TCG).
build_payload_cpio() {
	STAGE=$TMP/stage
	mkdir -p "$STAGE"
	local p abs
	for p in "${PAYLOADS[@]}"; do
		abs=$(cd "$(dirname "$p")" 2>/dev/null && echo "$(pwd)/$(basename "$p")") ||
			die "payload $p: no such directory"
		mirror "${abs%/.}"
	done
	local f
	for f in vmlinuz vmlinux initramfs.cpio.gz versions.txt; do
		mirror "$CACHE/guest/$f"
	done
	add_libraries
	write_job
	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --quiet) >"$TMP/payload.cpio"
	cat "$BASE.cpio" "$TMP/payload.cpio" >"$TMP/box.cpio"
	log "box image: $(($(stat -c %s "$TMP/box.cpio") / 1048576)) MiB"
	rm -rf "$STAGE" "$TMP/payload.cpio"
}

# --- box run -----------------------------------------------------------------

# filter_console: stream the box console to stdout. Kernel lines before the
# BEGIN marker go to a log (shown only on failure); the markers are consumed.
# Every line from the box's userspace (CMD's or the heartbeat; not the
# kernel's) renews $TMP/alive for --idle.
filter_console() {
	local line in_cmd=0 t0=$1 klog='^\[ *[0-9]+\.[0-9]+\] '
	local beat="@@BOX-ALIVE-$NONCE"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		[[ $line =~ $klog ]] || : >"$TMP/alive"
		if [[ $line == *"$beat"* ]]; then
			# The heartbeat may land inside a line CMD is writing.
			line=${line//"$beat"/}
			[ -n "$line" ] || continue
		fi
		case $line in
		"@@BOX-BEGIN-$NONCE "*)
			in_cmd=1
			log "ready: command starts $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
				'BEGIN { printf "%.2f", b - a }') s after QEMU start (box kernel uptime ${line##* } s)"
			;;
		"@@BOX-EXIT-$NONCE "*)
			echo "${line##* }" >"$TMP/status"
			in_cmd=0
			;;
		"@@BOX-ERROR-$NONCE "*)
			echo "${line#* }" >"$TMP/error"
			;;
		*)
			if [ $in_cmd = 1 ]; then
				printf '%s\n' "$line"
			else
				printf '%s\n' "$line" >>"$TMP/console.log"
			fi
			;;
		esac
	done
}

# tsc_khz: the host's TSC frequency (QEMU TCG's guest TSC follows the host's).
# The box kernel is told it (tsc_early_khz=): calibrating against the emulated PIT
# fails when the host is busy, and the kernel then hangs right after
# "tsc: Marking TSC unstable due to could not calculate TSC khz".
tsc_khz() {
	local khz
	khz=$(awk -F': *' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
	echo "${khz:-2000000}"
}

# cpu_ticks PID: the process's user + system CPU time in clock ticks.
cpu_ticks() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	stat=${stat##*) } # fields from 3 on: the name may hold spaces
	read -r -a f <<<"$stat"
	echo $((f[11] + f[12]))
}

# idle_watchdog PIDFILE: stops QEMU (its pid file) once $TMP/alive is
# $IDLE seconds old, and leaves $TMP/idle for run_box to report, with how
# busy QEMU was over its last 2 s: spinning vCPUs (a livelock in the box)
# or none (a deadlock or halted CPUs) tell frozen boxes apart.
idle_watchdog() {
	local age pid t0 t1
	while sleep 5; do
		age=$(($(date +%s) - $(stat -c %Y "$TMP/alive" 2>/dev/null || date +%s)))
		if [ "$age" -ge "$IDLE" ] && [ -s "$1" ]; then
			pid=$(cat "$1")
			t0=$(cpu_ticks "$pid")
			sleep 2
			t1=$(cpu_ticks "$pid")
			echo "QEMU used $(((t1 - t0) * 100 / (2 * $(getconf CLK_TCK))))% of a CPU over its last 2 s" >"$TMP/idle"
			kill "$pid" 2>/dev/null || true
			return 0
		fi
	done
}

# show_console_log: what the box printed outside the command, for diagnosis.
show_console_log() {
	[ -s "$TMP/qemu.err" ] && sed 's/^/box: qemu: /' "$TMP/qemu.err" >&2
	[ -s "$TMP/console.log" ] && tail -n 30 "$TMP/console.log" | sed 's/^/box: console: /' >&2
	return 0
}

# box_qemu: sets QEMU (the box's qemu-system-x86_64 and its data options)
# and QEMU_VERSION.
box_qemu() {
	local tree
	if [ -n "${VMRUN_BOX_QEMU:-}" ]; then
		QEMU=("$VMRUN_BOX_QEMU")
	else
		tree=$(cat "$CACHE/qemu/current" 2>/dev/null) ||
			die "no box QEMU in $CACHE/qemu: run tests/deps.sh"
		[ -x "$tree/usr/bin/qemu-system-x86_64" ] ||
			die "$tree/usr/bin/qemu-system-x86_64 is missing: run tests/deps.sh"
		# Its own data files first, then Debian 12's for what the
		# backports tree links to other packages (qboot, seabios).
		QEMU=("$tree/usr/bin/qemu-system-x86_64" -L "$tree/usr/share/qemu" -L /usr/share/qemu)
		# Its own modules, not Debian 12's (which it refuses, loudly).
		export QEMU_MODULE_DIR=$tree/usr/lib/x86_64-linux-gnu/qemu
	fi
	QEMU_VERSION=$("${QEMU[0]}" --version | sed -n '1s/^QEMU emulator version //p')
	[ -n "$QEMU_VERSION" ] || die "${QEMU[0]} does not run"
}

run_box() {
	box_qemu
	log "$WHY: running inside QEMU TCG -cpu max with nested SVM (box mode, kvm-amd in the box)"
	log "QEMU $QEMU_VERSION, box kernel $(cat "$BOX_KERNEL/.uname" 2>/dev/null)"
	# The guest build talks only when it does something or fails.
	if ! "$REPO_DIR/tests/guest/build.sh" >/dev/null 2>"$TMP/guest-build.log"; then
		cat "$TMP/guest-build.log" >&2
		die "tests/guest/build.sh failed"
	fi
	grep -v 'up to date' "$TMP/guest-build.log" >&2 || true
	build_base
	build_payload_cpio
	local drive=()
	if [ -n "$OUT_DIR" ]; then
		# A sparse raw disk; box-init writes a tar of $BOX_OUT onto it.
		truncate -s "$OUT_SIZE" "$TMP/out.img"
		# shellcheck disable=SC2054  # commas belong to QEMU's option syntax
		drive=(-drive "file=$TMP/out.img,format=raw,if=none,id=out,cache=unsafe"
			-device virtio-blk-device,drive=out)
	fi
	# The ELF kernel is entered through its PVH note: no real-mode setup and no
	# decompression, both slow under TCG (about 2-4 s less than with the bzImage).
	# softlockup_panic=1: a box CPU stuck in its kernel for 20 s never came
	# back in any run on record (the box sat silent until --idle or
	# --timeout); the panic ends it at once (status 125, "ended without
	# reporting a status") for the caller's retry.
	local t0=$EPOCHREALTIME rc=0 pidfile=${BOX_PIDFILE:-$TMP/qemu.pid} dog=
	local st
	: >"$TMP/alive"
	if [ "$IDLE" -gt 0 ]; then
		idle_watchdog "$pidfile" &
		dog=$!
	fi
	timeout -k 5 "$TIMEOUT" "${QEMU[@]}" -M microvm \
		-accel "tcg${BOX_TCG_THREAD:+,thread=$BOX_TCG_THREAD}" -cpu max \
		-smp "$CPUS" -m "$MEM" -kernel "$BOX_VMLINUX" -initrd "$TMP/box.cpio" \
		-append "console=ttyS0 loglevel=3 panic=-1 rdinit=/init edd=off tsc_early_khz=$(tsc_khz) softlockup_panic=1${VMRUN_BOX_APPEND:+ $VMRUN_BOX_APPEND}" \
		-display none -serial stdio -monitor none -no-reboot "${drive[@]}" \
		-pidfile "$pidfile" </dev/null 2>"$TMP/qemu.err" | filter_console "$t0"
	st=("${PIPESTATUS[@]}")
	if [ -n "$dog" ]; then
		kill "$dog" 2>/dev/null || true
		wait "$dog" 2>/dev/null || true
	fi
	if [ -e "$TMP/idle" ]; then
		log "idle: no sign of life from the box's userspace for $IDLE s: box stopped (--idle; $(cat "$TMP/idle"))"
		show_console_log
		return 124
	fi
	if [ "${st[0]}" -eq 124 ] || [ "${st[0]}" -eq 137 ]; then
		log "timeout: box killed after $TIMEOUT s (--timeout)"
		show_console_log
		return 124
	fi
	if [ -s "$TMP/error" ]; then
		log "error inside the box: $(cat "$TMP/error")"
	fi
	if [ ! -s "$TMP/status" ]; then
		log "the box ended without reporting a status (QEMU status ${st[0]})"
		show_console_log
		return 125
	fi
	rc=$(cat "$TMP/status")
	if [ -n "$OUT_DIR" ]; then
		mkdir -p "$OUT_DIR"
		tar -xf "$TMP/out.img" -C "$OUT_DIR" || { log "cannot read the --out archive"; rc=125; }
	fi
	return "$rc"
}

main() {
	parse_args "$@"
	choose_mode
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-box.XXXXXX")
	# VMRUN_BOX_KEEP=1 keeps the image and logs for debugging.
	if [ "${VMRUN_BOX_KEEP:-0}" = 1 ]; then
		log "keeping $TMP"
	else
		trap 'rm -rf "$TMP"' EXIT
	fi
	NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	local rc=0
	if [ "$MODE" = direct ]; then
		run_direct || rc=$?
	else
		run_box || rc=$?
	fi
	exit "$rc"
}

main "$@"
