#!/bin/bash
# snapshot.sh BUILD_DIR - snapshots with the freestanding spin guest (it
# prints "tick N" lines from a counter in guest RAM; firmware/spin.c) on the
# host's /dev/kvm: Full snapshot through the API, restore on the command
# line and through PUT /snapshot/load, the counter continuing with no
# repeat and no skip; three restores of one snapshot at once; Full, Diff,
# snapshot-merge and restore; a paused restore; snapshot/create onto the
# restored VM's own memory file or a FIFO refused (400) with the VM running
# on; and bad snapshot files (corrupted, truncated, wrong version, wrong
# memory file, FIFOs) ending in one message and exit status 2; SIGTERM
# while snapshot/create writes a large memory file, or InstanceStart loads
# a large initrd, ends vmrun within 2 s (docs/security.md, "Stop
# signals"). docs/snapshot.md.
set -u
build=$(cd "${1:?usage: snapshot.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
vmrun=$build/vmrun
spin=$build/firmware/spin.elf
work=$(mktemp -d /var/tmp/vmrun-snapshot.XXXXXX)
sock=$work/api.sock
pids=""
trap 'for p in $pids; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

# api METHOD PATH [BODY]: one request; sets $code and $body.
api() {
	local data=()

	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-raw "$3")
	code=$(curl -s --max-time 60 --unix-socket "$sock" -o "$work/body" \
		-w '%{http_code}' -X "$1" "${data[@]}" "http://localhost$2")
	body=$(cat "$work/body" 2>/dev/null)
}

expect_code() {
	if [ "$code" = "$2" ]; then ok "$1"; else not_ok "$1" "HTTP $code: $body"; fi
}

# launch OUT ARGS...: vmrun in the background, stdout (the guest's
# console) to OUT; sets $pid.
launch() {
	local out=$1

	shift
	"$vmrun" --log-level info "$@" >"$out" 2>"$out.err" </dev/null &
	pid=$!
	pids="$pids $pid"
}

# last_tick FILE: the highest tick printed so far (0: none).
last_tick() {
	grep -a '^vmrun-firmware: tick ' "$1" 2>/dev/null | tail -n 1 |
		awk '{print $3 + 0}' | grep . || echo 0
}

# wait_tick FILE N: until FILE shows tick N (at most 30 s).
wait_tick() {
	for _ in $(seq 300); do
		[ "$(last_tick "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# continuous NAME FILE...: the guest's console across the original run and
# its restores (FILEs concatenated: a line the pause cut in two joins up)
# counts 1, 2, 3, ... with no number repeated or skipped, past the
# snapshot point.
continuous() {
	local name=$1 res

	shift
	res=$(cat "$@" | awk -v saved="$saved_at" '
		/^vmrun-firmware: tick [0-9]+$/ {
			if ($3 != n + 1) { print "after " n " came " $3; bad = 1; exit }
			n = $3
		}
		END { if (!bad && n <= saved) print "only " n " ticks"; else if (!bad) print "ok" }')
	if [ "$res" = ok ]; then ok "$name"; else not_ok "$name" "$res"; fi
}

# stop PID: SIGTERM, then wait; sets $rc.
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	rc=$?
}

cat >"$work/spin.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$spin", "boot_args": "delay=10000000 kvmclock=1" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true }
}
JSON

# --- Full snapshot through the API, restore on the command line ---

launch "$work/orig.out" --api-sock "$sock" "$work/spin.json"
wait_sock || not_ok "api socket" "no socket"
wait_tick "$work/orig.out" 5 || not_ok "spin guest runs" "no ticks"
api PUT /snapshot/create "{\"snapshot_path\": \"$work/s1\", \"mem_file_path\": \"$work/m1\"}"
expect_code "snapshot/create on a running VM: 400" 400
case $body in *"must be paused"*) ok "running VM: says it must be paused" ;;
*) not_ok "running VM: says it must be paused" "$body" ;; esac
api PATCH /vm '{"state": "Paused"}'
expect_code "pause: 204" 204
api PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$work/s1\", \"mem_file_path\": \"$work/m1\"}"
expect_code "snapshot/create Full: 204" 204
saved=$(last_tick "$work/orig.out")
stop "$pid"
expect "original VM stopped by SIGTERM" 143 "$rc"
expect "memory file has the RAM size" $((64 << 20)) "$(stat -c %s "$work/m1")"
alloc=$(($(stat -c %b "$work/m1") * $(stat -c %B "$work/m1")))
[ "$alloc" -lt $((8 << 20)) ] && ok "Full memory file is sparse ($alloc bytes allocated)" ||
	not_ok "Full memory file is sparse" "$alloc bytes allocated"

m1_sum=$(md5sum <"$work/m1")
launch "$work/r1.out" --restore "$work/s1" --mem "$work/m1"
saved_at=$((saved + 1))
wait_tick "$work/r1.out" $((saved + 3)) || not_ok "restored guest runs" "$(cat "$work/r1.out.err")"
continuous "restore continues the counter (no repeat, no skip)" \
	"$work/orig.out" "$work/r1.out"
stop "$pid"
expect "restored VM stopped by SIGTERM" 143 "$rc"
expect_grep "restore is logged" "snapshot: restored '.*s1'" "$work/r1.out.err"
# The guest runs kvmclock (spin kvmclock=1): the restore tells it that it
# was stopped (KVM_KVMCLOCK_CTRL), which it sees as PVCLOCK_GUEST_STOPPED.
# The original VM never ran again after its pause, so only the restore can
# have set it.
expect_grep "restored guest sees PVCLOCK_GUEST_STOPPED (KVM_KVMCLOCK_CTRL)" \
	'^vmrun-firmware: kvmclock: guest stopped' "$work/r1.out"

# --- three restores of one snapshot at once ---

rpids=""
for i in 1 2 3; do
	launch "$work/p$i.out" --restore "$work/s1" --mem "$work/m1"
	rpids="$rpids $pid"
done
for i in 1 2 3; do
	wait_tick "$work/p$i.out" $((saved + 3)) ||
		not_ok "parallel restore $i runs" "$(head -c 300 "$work/p$i.out.err")"
	continuous "parallel restore $i continues the counter" \
		"$work/orig.out" "$work/p$i.out"
done
for p in $rpids; do stop "$p"; done
expect "memory file untouched by the restores (mapped copy-on-write)" \
	"$m1_sum" "$(md5sum <"$work/m1")"

# --- restore through the API, paused, then resumed ---

rm -f "$sock"
launch "$work/a.out" --api-sock "$sock"
wait_sock
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
api PUT /snapshot/load "{\"snapshot_path\": \"$work/s1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$work/m1\"}}"
expect_code "snapshot/load after configuring: 400" 400
stop "$pid"
rm -f "$sock"
launch "$work/a.out" --api-sock "$sock"
wait_sock
api PUT /snapshot/load "{\"snapshot_path\": \"$work/s1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$work/m1\"}, \"resume_vm\": false}"
expect_code "snapshot/load resume_vm=false: 204" 204
sleep 1
api GET /
case $body in *'"state":"Paused"'*) ok "loaded VM is paused" ;;
*) not_ok "loaded VM is paused" "$body" ;; esac
expect "no guest progress while paused after load" 0 "$(last_tick "$work/a.out")"
api PATCH /vm '{"state": "Resumed"}'
expect_code "resume the loaded VM: 204" 204
wait_tick "$work/a.out" $((saved + 2)) && ok "loaded VM runs after resume" ||
	not_ok "loaded VM runs after resume" "$(tail -n 3 "$work/a.out.err")"
continuous "API restore continues the counter" "$work/orig.out" "$work/a.out"

# --- snapshot/create onto the restored VM's own memory file: refused ---
# Its RAM maps m1 MAP_PRIVATE: truncating m1 would wipe guest RAM.

api PATCH /vm '{"state": "Paused"}'
api PUT /snapshot/create "{\"snapshot_path\": \"$work/own.snap\", \"mem_file_path\": \"$work/m1\"}"
expect_code "snapshot/create with mem_file_path = the VM's own memory file: 400" 400
api PUT /snapshot/create "{\"snapshot_path\": \"$work/m1\", \"mem_file_path\": \"$work/own.mem\"}"
expect_code "snapshot/create with snapshot_path = the VM's own memory file: 400" 400
expect_grep "the refusal names the key and the path" \
	"mem_file_path '.*/m1' is the memory file this VM was restored from" "$work/a.out.err"
mkfifo "$work/fifo"
api PUT /snapshot/create "{\"snapshot_path\": \"$work/own.snap\", \"mem_file_path\": \"$work/fifo\"}"
expect_code "snapshot/create onto a FIFO: 400 (no hang)" 400
expect "memory file untouched by the refused creates" "$m1_sum" "$(md5sum <"$work/m1")"
own_tick=$(last_tick "$work/a.out")
api PATCH /vm '{"state": "Resumed"}'
wait_tick "$work/a.out" $((own_tick + 3)) && ok "the VM runs on after the refused creates" ||
	not_ok "the VM runs on after the refused creates" "$(tail -n 3 "$work/a.out.err")"
continuous "its counter continues (guest RAM intact)" "$work/orig.out" "$work/a.out"

# --- Full, run on, Diff; merge; restore from the merged file ---

api PATCH /vm '{"state": "Paused"}'
api PUT /snapshot/create "{\"snapshot_path\": \"$work/s2\", \"mem_file_path\": \"$work/m2\"}"
expect_code "Full snapshot of the restored VM: 204" 204
full_tick=$(last_tick "$work/a.out")
api PATCH /vm '{"state": "Resumed"}'
wait_tick "$work/a.out" $((full_tick + 5)) || not_ok "runs after Full" "no ticks"
api PATCH /vm '{"state": "Paused"}'
api PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$work/s3\", \"mem_file_path\": \"$work/d3\"}"
expect_code "Diff snapshot: 204" 204
diff_tick=$(last_tick "$work/a.out")
# A Full snapshot of the same paused moment: what the merge must give.
api PUT /snapshot/create "{\"snapshot_path\": \"$work/s4\", \"mem_file_path\": \"$work/m4\"}"
expect_code "Full snapshot right after the Diff: 204" 204
stop "$pid"
full_alloc=$(($(stat -c %b "$work/m2") * 512))
diff_alloc=$(($(stat -c %b "$work/d3") * 512))
echo "# Full memory file: $full_alloc bytes allocated, Diff: $diff_alloc"
[ "$diff_alloc" -gt 0 ] && [ "$diff_alloc" -lt "$full_alloc" ] &&
	ok "Diff file is smaller than the Full one" ||
	not_ok "Diff file is smaller than the Full one" "$diff_alloc vs $full_alloc"
"$vmrun" snapshot-merge "$work/m2" "$work/d3" -o "$work/merged" 2>"$work/merge.err"
expect "snapshot-merge: exit 0" 0 "$?"
cmp -s "$work/merged" "$work/m4" && ok "Full + Diff merged equals a Full of the same moment" ||
	not_ok "Full + Diff merged equals a Full of the same moment" "$(cmp "$work/merged" "$work/m4" 2>&1 | head -1)"
cp "$work/m2" "$work/inplace"
"$vmrun" snapshot-merge "$work/inplace" "$work/d3" -o "$work/inplace" 2>>"$work/merge.err"
cmp -s "$work/inplace" "$work/m4" && ok "snapshot-merge in place" ||
	not_ok "snapshot-merge in place" "differs"
launch "$work/d.out" --restore "$work/s3" --mem "$work/merged"
wait_tick "$work/d.out" $((diff_tick + 3)) || not_ok "merged restore runs" "$(cat "$work/d.out.err")"
saved_at=$((diff_tick + 1))
continuous "Full + Diff restore continues the counter" \
	"$work/orig.out" "$work/a.out" "$work/d.out"
stop "$pid"
# --- bad snapshot files: one message, exit 2, no crash ---

nbad=0
# bad NAME PATTERN ARGS...: vmrun ARGS exits 2 with one "vmrun:" line
# matching PATTERN.
bad() {
	local name=$1 pat=$2

	shift 2
	timeout 60 "$vmrun" "$@" >/dev/null 2>"$work/bad.err" </dev/null
	expect "$name: exit status 2" 2 "$?"
	expect_grep "$name: message" "$pat" "$work/bad.err"
	cp "$work/bad.err" "$work/bad-$((++nbad)).err"
}

size=$(stat -c %s "$work/s1")
cp "$work/s1" "$work/corrupt"
printf '\x55' | dd of="$work/corrupt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
bad "corrupted snapshot" "checksum mismatch" --restore "$work/corrupt" --mem "$work/m1"
head -c $((size - 100)) "$work/s1" >"$work/trunc"
bad "truncated snapshot" "truncated" --restore "$work/trunc" --mem "$work/m1"
head -c 20 "$work/s1" >"$work/trunc20"
bad "snapshot cut inside the header" "truncated" --restore "$work/trunc20" --mem "$work/m1"
cp "$work/s1" "$work/ver"
printf '\x09' | dd of="$work/ver" bs=1 seek=8 conv=notrunc 2>/dev/null
bad "wrong format version" "format version 9; this vmrun reads version 1" \
	--restore "$work/ver" --mem "$work/m1"
bad "not a snapshot" "bad magic" --restore "$spin" --mem "$work/m1"
: >"$work/empty"
bad "empty snapshot file" "truncated|bad magic" --restore "$work/empty" --mem "$work/m1"
bad "missing snapshot file" "cannot open" --restore "$work/nope" --mem "$work/m1"
truncate -s 1M "$work/small.mem"
bad "memory file of the wrong size" "not a memory file of 67108864 bytes" \
	--restore "$work/s1" --mem "$work/small.mem"
bad "override of an unknown drive" "no drive 'nope'" \
	--restore "$work/s1" --mem "$work/m1" --drive-path nope=/tmp/x
bad "--restore without --mem" "needs --mem" --restore "$work/s1"
bad "memory file is a FIFO" "fifo: not a regular file" \
	--restore "$work/s1" --mem "$work/fifo"
bad "snapshot file is a FIFO" "fifo: not a regular file" \
	--restore "$work/fifo" --mem "$work/m1"
bad "snapshot-merge with a FIFO" "fifo: cannot open a memory file: not a regular file" \
	snapshot-merge "$work/m1" "$work/fifo" -o "$work/x.mem"
bad "snapshot-merge with a Diff of another size" "bytes; the Full file has" \
	snapshot-merge "$work/m1" "$work/small.mem" -o "$work/x.mem"

# --- SIGTERM with a long request in flight ---

# ms: the time in milliseconds (bash's clock: busybox's date has no %N).
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# A cgroup holding a vmrun to 5% of a CPU, so that the request lasts long
# enough to be caught in flight whatever the machine's speed.  At the
# signal the hold is lifted: were the stop not seen, what is left would
# finish at full speed, and the log and the files tell.
cg=/sys/fs/cgroup
slow=$cg/vmrun-snapshot-slow.$$
[ -e "$cg/cgroup.controllers" ] || mount -t cgroup2 cgroup2 "$cg" 2>/dev/null
if echo +cpu >"$cg/cgroup.subtree_control" 2>/dev/null && mkdir "$slow" 2>/dev/null &&
	echo "5000 100000" >"$slow/cpu.max" 2>/dev/null; then
	throttle=1
	trap 'for p in $pids; do kill -KILL "$p" 2>/dev/null; done; sleep 0.2; rmdir "$slow" 2>/dev/null; rm -rf "$work"' EXIT
else
	throttle=0
	rmdir "$slow" 2>/dev/null
fi

# sigterm_in_flight NAME PID: lifts the hold, sends SIGTERM to PID and
# checks that it ends with 143 within 2 s; sets $rc.
sigterm_in_flight() {
	local t0 dt

	echo "max 100000" >"$slow/cpu.max"
	t0=$(ms)
	stop "$2"
	dt=$(($(ms) - t0))
	expect "$1: SIGTERM exit status 143" 143 "$rc"
	[ "$dt" -le 2000 ] && ok "$1: stopped within 2 s ($dt ms)" ||
		not_ok "$1: stopped within 2 s" "took $dt ms"
}

# allocated FILE: bytes the file has on disk.
allocated() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }

if [ $throttle = 1 ] && command -v python3 >/dev/null; then
	# snapshot/create of a restored 320 MiB guest whose memory file
	# holds 256 MiB of data above what spin uses: the Full snapshot copies
	# it in 1 MiB pieces.
	sed 's/"mem_size_mib": 64/"mem_size_mib": 320/' "$work/spin.json" >"$work/big.json"
	launch "$work/big.out" --api-sock "$sock" "$work/big.json"
	wait_sock
	wait_tick "$work/big.out" 2 || not_ok "320 MiB spin guest runs" "no ticks"
	api PATCH /vm '{"state": "Paused"}'
	api PUT /snapshot/create "{\"snapshot_path\": \"$work/s5\", \"mem_file_path\": \"$work/m5\"}"
	expect_code "snapshot of the 320 MiB guest: 204" 204
	stop "$pid"
	python3 - "$work/m5" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    block = b"\xa5" * (1 << 20)
    for mib in range(48, 304):
        f.seek(mib << 20)
        f.write(block)
PY
	launch "$work/big2.out" --restore "$work/s5" --mem "$work/m5" --api-sock "$sock"
	wait_sock
	wait_tick "$work/big2.out" 1 || not_ok "320 MiB guest restored" "no ticks"
	api PATCH /vm '{"state": "Paused"}'
	echo "$pid" >"$slow/cgroup.procs"
	curl -s --max-time 120 --unix-socket "$sock" -o /dev/null -X PUT \
		-H 'Content-Type: application/json' \
		--data-raw "{\"snapshot_path\": \"$work/s6\", \"mem_file_path\": \"$work/m6\"}" \
		http://localhost/snapshot/create &
	cpid=$!
	caught=0
	for _ in $(seq 600); do
		[ -e "$work/m6" ] && [ "$(allocated "$work/m6")" -ge $((8 << 20)) ] &&
			{ caught=1; break; }
		sleep 0.05
	done
	expect "snapshot/create in flight: 8 MiB of the memory file written, not the state" \
		"1 0" "$caught $(stat -c %s "$work/s6" 2>/dev/null)"
	sigterm_in_flight "snapshot/create in flight" "$pid"
	wait "$cpid"
	expect_grep "snapshot/create in flight: the log says the write stopped" \
		"snapshot: stopped writing guest RAM to '.*/m6': vmrun is stopping" "$work/big2.out.err"
	expect "snapshot/create in flight: the state file is empty" 0 "$(stat -c %s "$work/s6")"
	echo "# memory file written before the stop: $(($(allocated "$work/m6") >> 20)) of 256+ MiB"
	rm -f "$work/m5" "$work/m6"

	# InstanceStart loading a 192 MiB initrd, in 1 MiB pieces.
	head -c $((192 << 20)) /dev/zero >"$work/big.initrd"
	launch "$work/is.out" --api-sock "$sock"
	wait_sock
	api PUT /boot-source "{\"kernel_image_path\": \"$spin\", \"initrd_path\": \"$work/big.initrd\"}"
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 512}'
	# In flight once the guest RAM the initrd goes into grows (RssAnon).
	base=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
	echo "$pid" >"$slow/cgroup.procs"
	curl -s --max-time 120 --unix-socket "$sock" -o /dev/null -X PUT \
		-H 'Content-Type: application/json' \
		--data-raw '{"action_type": "InstanceStart"}' http://localhost/actions &
	cpid=$!
	caught=0
	for _ in $(seq 600); do
		rss=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
		[ $((rss - base)) -ge 16384 ] && { caught=1; break; }
		sleep 0.05
	done
	expect "InstanceStart in flight: 16 MiB of guest RAM filled" 1 "$caught"
	sigterm_in_flight "InstanceStart in flight (192 MiB initrd)" "$pid"
	wait "$cpid"
	expect_grep "InstanceStart in flight: the load stopped" \
		"stopped while loading the VM" "$work/is.out.err"
	rm -f "$work/big.initrd"
else
	skipped "SIGTERM with a long request in flight" \
		"no cgroup2 cpu controller or no python3 here"
fi

# Every vmrun above, sanitizer-clean (with an ASan build).
if grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$work"/*.err 2>/dev/null; then
	not_ok "sanitizers quiet" "$(grep -hE -A5 'runtime error|Sanitizer' "$work"/*.err | head -20)"
else
	ok "sanitizers quiet in every run"
fi

summary
