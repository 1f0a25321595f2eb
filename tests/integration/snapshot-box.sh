#!/bin/bash
# snapshot-box.sh [--measure] BUILD_DIR - snapshots of a Linux guest: builds
# an ext4 root image whose /init counts (tests/integration/snapshot-suite.sh
# says what it does) and runs snapshot-suite.sh on a real /dev/kvm through
# tests/lab/box.sh, with iproute2's ip for the network namespace.  With
# --measure the suite also times create and restore of 256 MiB and 2 GiB
# guests.  Exit: 0 all checks pass, 1 a check failed, 77 cannot run here,
# 124/125 the box timed out / failed (see tests/run-all.sh, lab_retry).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VMRUN_CACHE:-$HOME/.cache/vmrun}

measure=
[ "${1:-}" = --measure ] && { measure=--measure; shift; }
build=$(cd "${1:?usage: snapshot-box.sh [--measure] BUILD_DIR}" && pwd) || exit 77

log() { echo "snapshot: $*" >&2; }
skip() {
	log "skip: $*"
	exit 77
}

[ -x "$build/vmrun" ] || skip "no $build/vmrun (build it first)"
command -v mke2fs >/dev/null || skip "no mke2fs (e2fsprogs) on this host"
ipcmd=$(command -v ip) || skip "no ip (iproute2) on this host"
curlcmd=$(command -v curl) || skip "no curl on this host"
"$repo/tests/guest/build.sh" >/dev/null || skip "the test guest cannot be built"
busybox=$cache/busybox/bin/busybox
[ -x "$busybox" ] || skip "no static busybox in $cache/busybox"

tmp=$(mktemp -d /var/tmp/vmrun-snap.XXXXXX) || skip "cannot create a folder in /var/tmp"
trap 'rm -rf "$tmp"' EXIT

# The guest: a read-only ext4 root whose /init brings eth0 up as
# 10.0.7.2/24 and counts: for each N it writes "N" into sector N of
# /dev/vdb (fsync: the write reaches vmrun before the line is printed),
# then prints "VMRUN-GUEST: count=N".
root_image() {
	local dir=$tmp/rootdir applet
	mkdir -p "$dir"/{bin,dev,proc,sys,tmp}
	cp "$busybox" "$dir/bin/busybox"
	for applet in sh mount cat echo dd ip sleep; do
		ln -s busybox "$dir/bin/$applet"
	done
	cat >"$dir/init" <<'INIT'
#!/bin/sh
# /init of the snapshot suite's root (tests/integration/snapshot-box.sh).
export PATH=/bin
mount -t proc proc /proc
ip addr add 10.0.7.2/24 dev eth0 && ip link set eth0 up &&
	echo "VMRUN-GUEST: net_up=1"
n=0
while :; do
	n=$((n + 1))
	echo "$n" | dd of=/dev/vdb bs=512 seek="$n" conv=sync,notrunc,fsync 2>/dev/null
	echo "VMRUN-GUEST: count=$n"
	sleep 0.1
done
INIT
	chmod 0755 "$dir/init"
	mke2fs -q -t ext4 -d "$dir" -E root_owner=0:0 -L vmrun-snap "$tmp/root.ext4" 16M
}

root_image || { log "error: cannot build the ext4 root image"; exit 1; }
rc=0
# A box whose userspace gave no heartbeat for VMRUN_SNAPSHOT_BOX_IDLE
# seconds (120) is taken for frozen and stopped (box.sh --idle), as in
# disk.sh and net.sh.
idle=${VMRUN_SNAPSHOT_BOX_IDLE:-120}
"$repo/tests/lab/box.sh" --timeout 600 --idle "$idle" --mem 3584 --payload "$build" \
	--payload "$repo/tests" --payload /bin/bash --payload "$ipcmd" \
	--payload "$curlcmd" --payload "$tmp" -- "$here/snapshot-suite.sh" $measure "$build" "$tmp" ||
	rc=$?
case $rc in
0 | 77) exit "$rc" ;;
124) log "the box timed out"; exit 124 ;;
125) log "the box could not run the suite"; exit 125 ;;
esac
exit 1
