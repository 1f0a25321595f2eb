#!/bin/bash
# valgrind.sh BUILD_DIR - one boot under valgrind's memcheck: the virtio-blk
# driver guest (firmware/blk.c: every request type plus its malformed-ring
# checks) on both I/O engines, which drives the vCPU loop, the MMIO bus,
# the virtio transport and queue walker, the blk device, the sync and
# libaio backends and the event loop.  No memcheck error and no leak is
# allowed (--error-exitcode, --leak-check=full, --errors-for-leak-kinds).
#
# No suppression file: valgrind 3.19 knows every KVM ioctl vmrun makes
# (a run prints no "unhandled ioctl" warning, which this script checks).
# --no-seccomp: valgrind does not implement seccomp(2), and a filter would
# apply to valgrind's own system calls (its JIT maps executable memory).
set -u
build=$(cd "${1:?usage: valgrind.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v valgrind >/dev/null || { echo "skip: no valgrind"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for engine in Sync Async; do
	name=blk-$engine
	truncate -s 16M "$work/$name.img"
	cat >"$work/$name.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/blk.elf",
                   "boot_args": "id=fwdisk" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "fwdisk", "path_on_host": "$work/$name.img",
                "is_root_device": false, "is_read_only": false,
                "io_engine": "$engine" } ],
  "vmrun": { "serial": { "output": "file", "path": "$work/$name.out" } }
}
JSON
	timeout 600 valgrind --tool=memcheck --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite,indirect \
		--track-fds=no "$build/vmrun" --no-seccomp "$work/$name.json" \
		>"$work/$name.log" 2>&1
	rc=$?
	expect "$name: vmrun under memcheck exits 0 (99: a memcheck error)" 0 "$rc"
	expect_grep "$name: no memcheck error" 'ERROR SUMMARY: 0 errors from 0 contexts' \
		"$work/$name.log"
	expect_grep "$name: nothing leaked" 'All heap blocks were freed|definitely lost: 0 bytes' \
		"$work/$name.log"
	expect "$name: valgrind knew every system call and ioctl" 0 \
		"$(grep -ciE 'unhandled (ioctl|syscall)|unimplemented' "$work/$name.log")"
	expect_grep "$name: the guest's requests all passed" \
		'^vmrun-firmware: blk: pattern: ok$' "$work/$name.out"
	[ $rc = 0 ] || grep -v 'virtio-mmio' "$work/$name.log" | tail -n 40
done

summary
