#!/bin/bash
# disk.sh [--bench] BUILD_DIR - the virtio-blk integration tests: prepares
# the images that need host tools (an ext4 root file system made with
# mke2fs -d, no root needed) in a temporary folder under /var/tmp, then runs
# disk-suite.sh on a real /dev/kvm through tests/lab/box.sh.  With --bench
# the suite also measures dd throughput against the host file and QEMU.
# Exit: 0 all checks pass, 1 a check failed, 77 cannot run here.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VMRUN_CACHE:-$HOME/.cache/vmrun}

bench=
[ "${1:-}" = --bench ] && { bench=--bench; shift; }
build=$(cd "${1:?usage: disk.sh [--bench] BUILD_DIR}" && pwd) || exit 77

log() { echo "disk: $*" >&2; }
skip() {
	log "skip: $*"
	exit 77
}

[ -x "$build/vmrun" ] || skip "no $build/vmrun (build it first)"
command -v mke2fs >/dev/null || skip "no mke2fs (e2fsprogs) on this host"
"$repo/tests/guest/build.sh" >/dev/null || skip "the test guest cannot be built"
busybox=$cache/busybox/bin/busybox
uname=$(cat "$cache/kernel/.uname" 2>/dev/null)
[ -x "$busybox" ] || skip "no static busybox in $cache/busybox"

tmp=$(mktemp -d /var/tmp/vmrun-disk.XXXXXX) || skip "cannot create a folder in /var/tmp"
trap 'rm -rf "$tmp"' EXIT

# root_image: root.ext4 holds a static busybox and an /init that reports the
# root it runs on and leaves through the debug-exit register with status 42.
# root.token, a random word in the image, proves the init came from it.
root_image() {
	local dir=$tmp/rootdir applet
	mkdir -p "$dir"/{bin,dev,proc,sys,tmp,etc}
	cp "$busybox" "$dir/bin/busybox"
	for applet in sh mount cat echo awk sync devmem poweroff sleep; do
		ln -s busybox "$dir/bin/$applet"
	done
	od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/root.token"
	cp "$tmp/root.token" "$dir/etc/vmrun-root-token"
	cat >"$dir/init" <<'INIT'
#!/bin/sh
# /init of the disk suite's ext4 root (tests/integration/disk.sh).
export PATH=/bin
mount -t proc proc /proc
echo "VMRUN-GUEST: newroot=$(cat /etc/vmrun-root-token)"
echo "VMRUN-GUEST: rootfs=$(awk '$2 == "/" { split($4, o, ","); r = $1 " " $3 " " o[1] } END { print r }' /proc/mounts)"
for w in $(cat /proc/cmdline); do
	case $w in root=*) echo "VMRUN-GUEST: cmdline_root=${w#root=}" ;; esac
done
if echo written >/written && sync && [ "$(cat /written)" = written ]; then
	echo "VMRUN-GUEST: root_write=ok"
else
	echo "VMRUN-GUEST: root_write=failed"
fi
devmem 0xd0000000 8 42
poweroff -f
INIT
	chmod 0755 "$dir/init"
	mke2fs -q -t ext4 -d "$dir" -E root_owner=0:0 -L vmrun-root "$tmp/root.ext4" 16M
}

root_image || { log "error: cannot build the ext4 root image"; exit 1; }
brd=$cache/kernel/lib/modules/$uname/kernel/drivers/block/brd.ko
[ -r "$brd" ] && cp "$brd" "$tmp/brd.ko"

payload=(--payload "$build" --payload "$repo/tests" --payload /bin/bash --payload "$tmp")
if [ -n "$bench" ]; then
	payload+=(--payload "$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)"
		--payload /usr/share/qemu)
fi
rc=0
# A box whose userspace gave no heartbeat for VMRUN_DISK_BOX_IDLE seconds
# (120) is taken for frozen and stopped (box.sh --idle).
idle=${VMRUN_DISK_BOX_IDLE:-120}
"$repo/tests/lab/box.sh" --timeout 800 --idle "$idle" --mem 3072 "${payload[@]}" -- \
	"$repo/tests/integration/disk-suite.sh" "$build" "$tmp" $bench || rc=$?
case $rc in
0 | 77) exit "$rc" ;;
124) log "the box timed out"; exit 124 ;;
125) log "the box could not run the suite"; exit 125 ;;
esac
exit 1
