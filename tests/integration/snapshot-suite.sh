#!/bin/bash
# snapshot-suite.sh [--measure] BUILD_DIR IMAGES_DIR - snapshots of a Linux
# guest under vmrun, on a real /dev/kvm (tests/integration/snapshot-box.sh
# runs it in the lab box and builds IMAGES_DIR/root.ext4, whose /init counts
# on the console and into sector N of its second disk, with eth0 up as
# 10.0.7.2).  Everything runs in the network namespace vmrun-s (tap snaptap0
# 10.0.7.1/24, snaptap1..3 for the parallel restores).
#   - boot, pause, Full snapshot through the API, stop; restore in a new
#     process: the console count goes on with no repeat and no skip, the
#     disk copy gets the writes made after the restore, ping answers;
#   - three restores of that snapshot at once, each with its own disk
#     copies and tap: all count on;
#   - Full, run on, Diff, snapshot-merge (equal to a Full of the same
#     moment), restore from the merged file: the count goes on;
#   - with --measure: create and restore times of 256 MiB and 2 GiB guests,
#     Full and Diff file sizes ("# measure:" lines).
# Prints "N passed, M failed".
set -u
measure=0
[ "${1:-}" = --measure ] && { measure=1; shift; }
build=$(cd "${1:?usage: snapshot-suite.sh [--measure] BUILD_DIR IMAGES_DIR}" && pwd)
images=$(cd "${2:?usage: snapshot-suite.sh [--measure] BUILD_DIR IMAGES_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip (iproute2)"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (network namespaces, taps)"; exit 77; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
guest=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
vmrun=$build/vmrun
work=$(mktemp -d /var/tmp/snap-suite.XXXXXX)
NS=vmrun-s
MAC=52:54:00:12:34:70
BASE_ARGS="console=ttyS0 reboot=k panic=-1 pci=off nomodeset i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd io_delay=none tsc=reliable no_timer_check 8250.nr_uarts=1 quiet vmrun.root=/dev/vda"
pids=""

cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

setup_ns() {
	ip netns del "$NS" 2>/dev/null
	[ -d /run ] || mkdir -p /run
	ip netns add "$NS" || return 1
	ns ip link set lo up || return 1
	for t in snaptap0 snaptap1 snaptap2 snaptap3; do
		ns ip tuntap add dev "$t" mode tap && ns ip link set "$t" up || return 1
	done
	ns ip addr add 10.0.7.1/24 dev snaptap0
}

# config NAME MIB: a config for the counting guest with RAM MIB and the
# drives root (root0.ext4) and counter (counter0.img).
config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz",
                   "boot_args": "$BASE_ARGS" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $2, "track_dirty_pages": true },
  "drives": [ { "drive_id": "root", "path_on_host": "$work/root0.ext4", "is_root_device": false },
              { "drive_id": "counter", "path_on_host": "$work/counter0.img" } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "snaptap0", "guest_mac": "$MAC" } ]
}
JSON
}

# launch NAME ARGS...: vmrun in the namespace, console to $work/NAME.out;
# sets $pid to vmrun's own PID: ip netns exec execs it, and it is started
# directly (a shell function or timeout(1) in between would leave $!
# pointing at a process that SIGTERM does not pass on from).
launch() {
	local name=$1
	shift
	ip netns exec "$NS" "$vmrun" --log-level info "$@" >"$work/$name.out" \
		2>"$work/$name.err" </dev/null &
	pid=$!
	pids="$pids $pid"
}

# api SOCK METHOD PATH [BODY]: sets $code and $body.
api() {
	local data=()
	[ $# -ge 4 ] && data=(-H 'Content-Type: application/json' --data-raw "$4")
	code=$(curl -s --max-time 120 --unix-socket "$1" -o "$work/body" \
		-w '%{http_code}' -X "$2" "${data[@]}" "http://localhost$3")
	body=$(cat "$work/body" 2>/dev/null)
}

api_ok() {
	api "$@"
	[ "$code" = 204 ] || { not_ok "$3 $(echo "${5:-}" | head -c 60)" "HTTP $code: $body"; return 1; }
}

# count NAME: the last count the guest printed (0: none).
count() {
	sed -n 's/^VMRUN-GUEST: count=\([0-9]*\)\r*$/\1/p' "$work/$1.out" 2>/dev/null |
		tail -n 1 | grep . || echo 0
}

# wait_count NAME N SECS: until NAME shows count N, at most SECS seconds
# (wall clock: processes are slow to start in the box) and only while the
# last launched vmrun lives.
wait_count() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		[ "$(count "$1")" -ge "$2" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	[ "$(count "$1")" -ge "$2" ]
}

# diagnose PID: each thread's state, wait channel and kernel stack.
diagnose() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "#   thread $(cat "$t/comm" 2>/dev/null) state $(awk '{ print $3 }' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/#     /' "$t/stack" 2>/dev/null | head -n 12
	done
}

# tun_holders: every process with /dev/net/tun open (a busy tap).
tun_holders() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = /dev/net/tun ] || continue
		f=${f#/proc/}
		echo "#   tun open in ${f%%/*}: $(tr '\0' ' ' <"/proc/${f%%/*}/cmdline")"
	done
}

# stop PID: SIGTERM and wait (20 s at most, then a diagnosis and SIGKILL);
# sets $rc.
stop() {
	local end=$((SECONDS + 20))
	kill -TERM "$1" 2>/dev/null
	while [ $SECONDS -lt $end ]; do
		kill -0 "$1" 2>/dev/null || break
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ] && break
		sleep 0.2
	done
	if [ $SECONDS -ge $end ]; then
		echo "# vmrun $1 ignored SIGTERM for 20 s"
		diagnose "$1"
		kill -KILL "$1"
	fi
	wait "$1"
	rc=$?
}

# continuous NAME AFTER FILE...: the count over the concatenated consoles
# goes 1, 2, 3, ... with no repeat or skip, past AFTER.
continuous() {
	local name=$1 after=$2 res
	shift 2
	res=$(cat "$@" | tr -d '\r' | awk -v after="$after" '
		/^VMRUN-GUEST: count=[0-9]+$/ {
			split($2, kv, "="); c = kv[2] + 0
			if (c != n + 1) { print "after " n " came " c; bad = 1; exit }
			n = c
		}
		END { if (!bad && n <= after) print "only " n; else if (!bad) print "ok" }')
	if [ "$res" = ok ]; then ok "$name"; else not_ok "$name" "$res"; fi
}

# disk_has NAME IMG FROM TO: sectors FROM..TO of IMG hold their numbers.
disk_has() {
	local i v
	for ((i = $3; i <= $4; i++)); do
		v=$(dd if="$2" bs=512 skip="$i" count=1 2>/dev/null | head -n 1 | tr -d '\0')
		[ "$v" = "$i" ] || { not_ok "$1" "sector $i holds '$v'"; return; }
	done
	ok "$1"
}

# copies TAG: root and counter copies of the current originals for one restore.
copies() {
	cp "$work/root0.ext4" "$work/root$1.ext4"
	cp "$work/counter0.img" "$work/counter$1.img"
}

# restore_args TAG [TAP]: the operator's resources for one restore (a
# snapshot never chooses them): TAG's disk copies, and TAP (snaptap0) for
# eth0.
restore_args() {
	echo --drive-path "root=$work/root$1.ext4" --drive-path "counter=$work/counter$1.img" \
		--tap "eth0=${2:-snaptap0}"
}

setup_ns || { not_ok "network namespace" "cannot set up"; summary; exit 1; }
cp "$images/root.ext4" "$work/root0.ext4"
truncate -s 1M "$work/counter0.img"
config c256 256

# --- boot, Full snapshot, restore in a new process ---

echo "# ${SECONDS} s: boot, Full snapshot, restore in a new process"

sock=$work/api.sock
launch orig --api-sock "$sock" "$work/c256.json"
wait_sock "$sock" 20
if wait_count orig 5 180; then ok "guest boots and counts"; else
	not_ok "guest boots and counts" "$(tail -n 5 "$work/orig.err")"
fi
ns ping -c 1 -W 5 10.0.7.2 >/dev/null && ok "ping before the snapshot" ||
	not_ok "ping before the snapshot" "no answer"
api_ok "$sock" PATCH /vm '{"state": "Paused"}'
t0=$(now_ms)
api_ok "$sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$work/s1\", \"mem_file_path\": \"$work/m1\"}" &&
	ok "Full snapshot of a running Linux guest"
create256=$(($(now_ms) - t0))
stop "$pid"
expect "original vmrun stopped by SIGTERM" 143 "$rc"
tun_holders
saved=$(count orig)
copies A

t0=$(now_ms)
launch r1 --restore "$work/s1" --mem "$work/m1" $(restore_args A)
wait_count r1 $((saved + 1)) 60
first256=$(($(now_ms) - t0))
if wait_count r1 $((saved + 5)) 60; then ok "restored guest counts on"; else
	not_ok "restored guest counts on" "$(tail -n 20 "$work/r1.err")"
	tail -n 5 "$work/r1.out" | sed 's/^/#   out: /'
	diagnose "$pid"
	tun_holders
fi
ns ping -c 3 -W 5 10.0.7.2 >/dev/null && ok "ping after restore" ||
	not_ok "ping after restore" "no answer"
stop "$pid"
expect "restored vmrun stopped by SIGTERM" 143 "$rc"
continuous "restore: count continues with no repeat or skip" "$saved" \
	"$work/orig.out" "$work/r1.out"
# KVM_KVMCLOCK_CTRL after the restore: the guest's kvmclock takes it (its
# MSRs were restored), so its watchdogs see PVCLOCK_GUEST_STOPPED.
expect_grep "restore: the guest's kvmclock was told it was stopped" \
	'snapshot: kvmclock told the guest it was stopped on 1 of 1 vCPUs' "$work/r1.err"
disk_has "restore: disk writes before and after the restore are in the file" \
	"$work/counterA.img" 1 "$(count r1)"

# --- three restores at once ---

echo "# ${SECONDS} s: three restores at once"

ppids=""
for i in 1 2 3; do
	copies "P$i"
	launch "p$i" --restore "$work/s1" --mem "$work/m1" \
		$(restore_args "P$i" "snaptap$i")
	ppids="$ppids $pid"
done
for i in 1 2 3; do
	wait_count "p$i" $((saved + 3)) 90 && ok "parallel restore $i counts on" ||
		not_ok "parallel restore $i counts on" "$(tail -n 20 "$work/p$i.err")"
done
for p in $ppids; do stop "$p"; done
for i in 1 2 3; do
	continuous "parallel restore $i: no repeat or skip" "$saved" \
		"$work/orig.out" "$work/p$i.out"
	disk_has "parallel restore $i: its own disk copy has its writes" \
		"$work/counterP$i.img" 1 "$(count "p$i")"
done

# --- Full, Diff, merge, restore ---

echo "# ${SECONDS} s: Full, Diff, merge, restore"

sock2=$work/api2.sock
copies B
launch r2 --api-sock "$sock2" --restore "$work/s1" --mem "$work/m1" $(restore_args B)
wait_sock "$sock2" 20
wait_count r2 $((saved + 3)) 60
api_ok "$sock2" PATCH /vm '{"state": "Paused"}'
api_ok "$sock2" PUT /snapshot/create "{\"snapshot_path\": \"$work/s2\", \"mem_file_path\": \"$work/m2\"}"
full_at=$(count r2)
api_ok "$sock2" PATCH /vm '{"state": "Resumed"}'
wait_count r2 $((full_at + 5)) 60
api_ok "$sock2" PATCH /vm '{"state": "Paused"}'
t0=$(now_ms)
api_ok "$sock2" PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$work/s3\", \"mem_file_path\": \"$work/d3\"}" &&
	ok "Diff snapshot"
diff256=$(($(now_ms) - t0))
api_ok "$sock2" PUT /snapshot/create "{\"snapshot_path\": \"$work/s4\", \"mem_file_path\": \"$work/m4\"}"
diff_at=$(count r2)
stop "$pid"
cp "$work/rootB.ext4" "$work/rootC.ext4"
cp "$work/counterB.img" "$work/counterC.img"
"$vmrun" snapshot-merge "$work/m2" "$work/d3" -o "$work/merged"
expect "snapshot-merge: exit 0" 0 "$?"
cmp -s "$work/merged" "$work/m4" && ok "Full + Diff merged equals a Full of the same moment" ||
	not_ok "Full + Diff merged equals a Full of the same moment" "they differ"
launch r3 --restore "$work/s3" --mem "$work/merged" $(restore_args C)
wait_count r3 $((diff_at + 5)) 60 && ok "restore from Full + Diff counts on" ||
	not_ok "restore from Full + Diff counts on" "$(tail -n 3 "$work/r3.err")"
ns ping -c 1 -W 5 10.0.7.2 >/dev/null && ok "ping after the Full + Diff restore" ||
	not_ok "ping after the Full + Diff restore" "no answer"
stop "$pid"
continuous "Full + Diff restore: no repeat or skip" "$diff_at" \
	"$work/orig.out" "$work/r2.out" "$work/r3.out"
disk_has "Full + Diff restore: disk has every count" "$work/counterC.img" 1 "$(count r3)"

echo "# ${SECONDS} s: done"
alloc() { echo $(($(stat -c %b "$1") * 512)); }
echo "# measure: 256 MiB: create Full ${create256} ms (API call), Diff ${diff256} ms; restore to the next count ${first256} ms"
echo "# measure: 256 MiB: $(grep -ho 'restored .* in [0-9.]* ms' "$work/r1.err")"
echo "# measure: 256 MiB: $(grep -ho 'snapshot: Full .* ms' "$work/orig.err")"
echo "# measure: files: state $(stat -c %s "$work/s1") B; Full mem $(alloc "$work/m2") B allocated of $(stat -c %s "$work/m2"); Diff mem $(alloc "$work/d3") B allocated"

if [ "$measure" = 1 ]; then
	config c2g 2048
	cp "$images/root.ext4" "$work/root0.ext4"
	sock3=$work/api3.sock
	launch big --api-sock "$sock3" "$work/c2g.json"
	wait_sock "$sock3" 20
	wait_count big 5 180 || not_ok "2 GiB guest counts" "$(tail -n 3 "$work/big.err")"
	api_ok "$sock3" PATCH /vm '{"state": "Paused"}'
	t0=$(now_ms)
	api_ok "$sock3" PUT /snapshot/create "{\"snapshot_path\": \"$work/s5\", \"mem_file_path\": \"$work/m5\"}"
	create2g=$(($(now_ms) - t0))
	stop "$pid"
	big_at=$(count big)
	copies D
	t0=$(now_ms)
	launch big2 --restore "$work/s5" --mem "$work/m5" $(restore_args D)
	wait_count big2 $((big_at + 1)) 60 && ok "2 GiB restore counts on" ||
		not_ok "2 GiB restore counts on" "$(tail -n 3 "$work/big2.err")"
	first2g=$(($(now_ms) - t0))
	stop "$pid"
	echo "# measure: 2 GiB: create Full ${create2g} ms (API call); restore to the next count ${first2g} ms"
	echo "# measure: 2 GiB: $(grep -ho 'restored .* in [0-9.]* ms' "$work/big2.err")"
	echo "# measure: 2 GiB: $(grep -ho 'snapshot: Full .* ms' "$work/big.err")"
	echo "# measure: 2 GiB: Full mem $(alloc "$work/m5") B allocated of $(stat -c %s "$work/m5")"
fi

if grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$work"/*.err; then
	not_ok "sanitizers quiet" "$(grep -hE -A8 'runtime error|Sanitizer' "$work"/*.err | head -30)"
else
	ok "sanitizers quiet in every vmrun"
fi
summary
