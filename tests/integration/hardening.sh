#!/bin/bash
# hardening.sh BUILD_DIR - what docs/security.md promises, on the
# freestanding guests of firmware/:
#  - seccomp: a forbidden system call from each thread role (vcpu,
#    vcpu-dump, event-loop, api, main, api-preboot: the API thread before
#    InstanceStart, under its denylist, and restore: the threads that parse
#    and load a snapshot state file) kills vmrun by SIGSYS with a line naming the
#    role and the call (vmrun-seccomp-test, a test build whose hook makes
#    that thread call socket() once filtered); --no-seccomp lets it through;
#  - no_new_privs on every thread, with or without filters;
#  - --uid/--gid: the running vmrun has the ids, no groups and no
#    capabilities (an empty bounding set in every thread), and still does
#    its disk I/O;
#  - every fd of a running vmrun (drives of both engines, pty console, tap,
#    API socket, KVM, eventfds, epoll, aio) is close-on-exec, and the files
#    it creates are 0600 whatever the umask.
set -u
build=$(cd "${1:?usage: hardening.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
vmrun=$build/vmrun
sctest=$build/tests/integration/vmrun-seccomp-test
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# config NAME GUEST ARGS [SECTIONS [VMRUN_SECTION]]: a config booting
# firmware GUEST, its serial output in NAME.out.
config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/$2.elf",
                   "boot_args": "$3" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },${4:+
  $4,}
  "vmrun": { "serial": { "output": "file", "path": "$work/$1.out" }${5:+,
             $5} }
}
JSON
	echo "$work/$1.json"
}

# wait_line FILE PATTERN: waits (at most 20 s) for a line in FILE.
wait_line() {
	for _ in $(seq 200); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# each_task NAME PID PATTERN: every thread of PID (/proc/PID/task/*/status)
# has a line matching PATTERN; NAME says how many threads were looked at.
each_task() {
	local t n=0 bad=""
	for t in /proc/"$2"/task/*; do
		n=$((n + 1))
		grep -qE -- "$3" "$t/status" 2>/dev/null || bad="$bad ${t##*/}"
	done
	expect "$1 (all $n threads; without:${bad:- none})" "" "$bad"
}

# api_call METHOD PATH BODY: one request on $sock; prints the HTTP status.
api_call() {
	curl -s --max-time 30 --unix-socket "$sock" -o /dev/null -w '%{http_code}' \
		-X "$1" -H 'Content-Type: application/json' -d "$3" "http://localhost$2"
}

# spin_json FILE [SECTION]: a config booting the spin guest (serial on
# stdout) with SECTION (e.g. "drives": [...]); prints FILE.
spin_json() {
	cat >"$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/spin.elf",
                   "boot_args": "delay=20000000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }${2:+,
  $2}
}
JSON
	echo "$1"
}

# snapshot_of CONFIG STATE MEM: runs CONFIG (serial on stdout, into
# STATE.out) with --api-sock until its first tick, pauses it and
# snapshots it to STATE and MEM; prints "204 204" when both requests did.
snapshot_of() {
	local sock=$work/snapshot_of.sock spid codes
	rm -f "$sock"
	"$vmrun" --api-sock "$sock" "$1" >"$2.out" 2>"$2.err" </dev/null &
	spid=$!
	wait_line "$2.out" 'tick 1'
	codes=$(api_call PATCH /vm '{"state": "Paused"}')
	codes="$codes $(api_call PUT /snapshot/create '{"snapshot_path": "'"$2"'", "mem_file_path": "'"$3"'"}')"
	kill -TERM "$spid"
	wait "$spid"
	echo "$codes"
}

# --- seccomp: one forbidden call per thread role ---

drive='"drives": [ { "drive_id": "d0", "path_on_host": "'$work'/d0.img",
  "is_root_device": false, "is_read_only": false } ]'
truncate -s 1M "$work/d0.img"
cfg=$(config spin spin "delay=20000000" "$drive")
# vcpu-dump: the vCPU threads of a VM with a crash dump path, which may
# create the dump in its folder (docs/crash-dump.md) but no more than that.
for role in vcpu vcpu-dump event-loop main api; do
	args=("$cfg")
	[ $role = api ] && args=(--api-sock "$work/$role.sock" "$cfg")
	[ $role = vcpu-dump ] && args=(--crash-dump "$work/guest.core" "$cfg")
	VMRUN_SECCOMP_TEST=$role timeout 30 "$sctest" "${args[@]}" \
		2>"$work/$role.err" </dev/null
	rc=$?
	expect "seccomp $role: killed by SIGSYS (status 159)" 159 "$rc"
	[ $rc = 159 ] || tail -n 5 "$work/$role.err"
	expect_grep "seccomp $role: the log names the role and the call" \
		"^vmrun: seccomp: the $role thread made a forbidden system call: socket \(41\)" \
		"$work/$role.err"
done
# vcpu-dump opens files in the dump's folder only: "/" is refused.  (A
# sanitizer build's filters allow openat anywhere, for the leak check:
# src/sandbox.c; firmware.sh writes a dump under the filter.)
if [ "${VMRUN_SANITIZED:-0}" = 0 ]; then
	VMRUN_SECCOMP_TEST=vcpu-dump:openat timeout 30 "$sctest" \
		--crash-dump "$work/guest.core" "$cfg" 2>"$work/dump-open.err" </dev/null
	rc=$?
	expect "seccomp vcpu-dump: openat outside the dump's folder: SIGSYS" 159 "$rc"
	[ $rc = 159 ] || tail -n 5 "$work/dump-open.err"
	expect_grep "seccomp vcpu-dump: the log names openat" \
		"^vmrun: seccomp: the vcpu-dump thread made a forbidden system call: openat \(257\)" \
		"$work/dump-open.err"
fi

# Before InstanceStart the API thread is under the pre-boot denylist from
# its first client on: the test hook's socket(AF_INET) right after it
# goes on is stopped the same way.  Then the same test build, untriggered,
# is configured and booted over the API under that denylist.
if command -v curl >/dev/null; then
	sock=$work/preboot.sock
	VMRUN_SECCOMP_TEST=api-preboot timeout 30 "$sctest" --api-sock "$sock" \
		2>"$work/preboot.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	curl -s --max-time 5 --unix-socket "$sock" http://localhost/ >/dev/null 2>&1
	wait "$pid"
	rc=$?
	pid=""
	expect "seccomp api-preboot: killed by SIGSYS (status 159)" 159 "$rc"
	expect_grep "seccomp api-preboot: the log names the role and the call" \
		"^vmrun: seccomp: the api-preboot thread made a forbidden system call: socket \(41\)" \
		"$work/preboot.err"

	sock=$work/apiboot.sock
	timeout 30 "$sctest" --api-sock "$sock" 2>"$work/apiboot.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	api() {
		curl -s --max-time 10 --unix-socket "$sock" -o /dev/null \
			-w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
			-d "$2" "http://localhost$1"
	}
	codes="$(api /boot-source '{"kernel_image_path": "'"$build"'/firmware/hello.elf", "boot_args": "status=7"}')"
	codes="$codes $(api /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')"
	codes="$codes $(api /actions '{"action_type": "InstanceStart"}')"
	wait "$pid"
	rc=$?
	pid=""
	expect "seccomp api-preboot: configured and started over the API" "204 204 204" "$codes"
	expect "seccomp api-preboot: the guest ran to its end (status 7)" 7 "$rc"
	[ $rc = 7 ] || tail -n 5 "$work/apiboot.err"

	# restore: the state file is parsed, and the saved state loaded, on
	# threads of the restore role (no open, no socket): the hook's
	# socket() there is stopped, for --restore and for PUT /snapshot/load.
	cfg=$(spin_json "$work/sc.json")
	expect "seccomp restore: a snapshot to restore" "204 204" \
		"$(snapshot_of "$cfg" "$work/sc.snap" "$work/sc.mem")"
	VMRUN_SECCOMP_TEST=restore timeout 30 "$sctest" --restore "$work/sc.snap" \
		--mem "$work/sc.mem" >/dev/null 2>"$work/restore.err" </dev/null
	rc=$?
	expect "seccomp restore: killed by SIGSYS (status 159)" 159 "$rc"
	expect_grep "seccomp restore: the log names the role and the call" \
		"^vmrun: seccomp: the restore thread made a forbidden system call: socket \(41\)" \
		"$work/restore.err"
	sock=$work/load.sock
	VMRUN_SECCOMP_TEST=restore timeout 30 "$sctest" --api-sock "$sock" \
		>/dev/null 2>"$work/load.err" </dev/null &
	pid=$!
	wait_sock "$sock"
	api_call PUT /snapshot/load '{"snapshot_path": "'"$work"'/sc.snap",
	  "mem_backend": {"backend_type": "File", "backend_path": "'"$work"'/sc.mem"}}' \
		>/dev/null
	wait "$pid"
	rc=$?
	pid=""
	expect "seccomp restore (snapshot/load): killed by SIGSYS (status 159)" 159 "$rc"
	expect_grep "seccomp restore (snapshot/load): the log names the role and the call" \
		"^vmrun: seccomp: the restore thread made a forbidden system call: socket \(41\)" \
		"$work/load.err"
	# Untriggered, the test build restores and runs under the filters.
	"$sctest" --restore "$work/sc.snap" --mem "$work/sc.mem" \
		>"$work/scr.out" 2>"$work/scr.err" </dev/null &
	pid=$!
	wait_line "$work/scr.out" 'tick [0-9]' &&
		ok "seccomp restore: the test build restores and runs under the filters" ||
		not_ok "seccomp restore: the test build restores and runs under the filters" \
			"$(tail -n 5 "$work/scr.err")"
	kill -TERM "$pid"
	wait "$pid"
	expect "seccomp restore: SIGTERM exit status 143" 143 "$?"
	pid=""
else
	skipped "seccomp api-preboot" "no curl"
fi

# The test build without a trigger runs a guest to its end: the filters
# let everything vmrun does through.
cfg=$(config hello hello "status=7")
timeout 30 "$sctest" "$cfg" 2>"$work/hello.err"
expect "seccomp: the test build runs hello under the filters (status 7)" 7 "$?"
# --no-seccomp: the same forbidden call goes through.
VMRUN_SECCOMP_TEST=vcpu timeout 30 "$sctest" --no-seccomp "$cfg" \
	2>"$work/off.err"
expect "seccomp: --no-seccomp lets the vcpu thread's socket() through" 7 "$?"
expect "seccomp: --no-seccomp logs nothing about seccomp" 0 \
	"$(grep -c seccomp "$work/off.err")"

# --- no_new_privs: process-wide, from the start of the command ---

# With --no-seccomp no filter sets it per thread: every thread (main, vCPU,
# event loop, API) has it because main() set it before starting any.
cfg=$(config nnp spin "delay=20000000")
"$vmrun" --no-seccomp --api-sock "$work/nnp.sock" "$cfg" 2>"$work/nnp.err" </dev/null &
pid=$!
if wait_line "$work/nnp.out" 'tick 1'; then
	each_task "no_new_privs: every thread has NoNewPrivs 1 (--no-seccomp)" "$pid" \
		'^NoNewPrivs:[[:space:]]+1$'
	n=$(ls "/proc/$pid/task" | wc -l)
	[ "$n" -ge 4 ] && ok "no_new_privs: main, vCPU, event-loop and API threads ($n)" ||
		not_ok "no_new_privs: main, vCPU, event-loop and API threads" "only $n"
else
	not_ok "no_new_privs: the guest runs" "$(tail -n 5 "$work/nnp.err")"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
pid=""

# --- --uid/--gid ---

if [ "$(id -u)" = 0 ]; then
	cfg=$(config uid spin "delay=20000000")
	"$vmrun" --uid 65534 --gid 65534 --api-sock "$work/uid.sock" "$cfg" \
		2>"$work/uid.err" </dev/null &
	pid=$!
	wait_line "$work/uid.out" 'tick 1' ||
		not_ok "uid: the guest runs" "no tick in $work/uid.out"
	status=/proc/$pid/status
	# The bounding, ambient and inheritable sets are per thread: each one.
	each_task "uid: empty capability bounding set (CapBnd 0)" "$pid" \
		'^CapBnd:[[:space:]]+0+$'
	each_task "uid: no ambient capabilities" "$pid" '^CapAmb:[[:space:]]+0+$'
	each_task "uid: no inheritable capabilities" "$pid" '^CapInh:[[:space:]]+0+$'
	each_task "uid: no_new_privs" "$pid" '^NoNewPrivs:[[:space:]]+1$'
	expect_grep "uid: runs as uid 65534 (real, effective, saved, fs)" \
		'^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534$' "$status"
	expect_grep "uid: runs as gid 65534" \
		'^Gid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534$' "$status"
	expect_grep "uid: no supplementary groups" '^Groups:[[:space:]]*$' "$status"
	expect_grep "uid: no effective capabilities" '^CapEff:[[:space:]]+0+$' "$status"
	expect_grep "uid: no permitted capabilities" '^CapPrm:[[:space:]]+0+$' "$status"
	kill -TERM "$pid"
	wait "$pid"
	expect "uid: SIGTERM exit status 143" 143 "$?"
	pid=""

	# The image is root's and mode 0600: opened before the drop, it is
	# still read and written through the open fd.
	img=$work/uid.img
	truncate -s 16M "$img"
	chmod 0600 "$img"
	cfg=$(config uidblk blk "id=fwdisk" '"drives": [ { "drive_id": "fwdisk",
	  "path_on_host": "'$img'", "is_root_device": false,
	  "is_read_only": false, "io_engine": "Async" } ]')
	timeout 60 "$vmrun" --uid 65534 --gid 65534 "$cfg" 2>"$work/uidblk.err"
	rc=$?
	expect "uid: the blk guest passes as uid 65534 (status 0)" 0 "$rc"
	[ $rc = 0 ] || tail -n 5 "$work/uidblk.err"
	expect_grep "uid: the guest wrote and read its disk" \
		'^vmrun-firmware: blk: pattern: ok$' "$work/uidblk.out"
	expect "uid: the image holds the guest's pattern" fw00000 \
		"$(head -c 7 "$img")"

	# Privilege order: the kernel and initrd are root's, mode 0600, in a
	# folder only root may enter.  vmrun opens them as root, drops to
	# 65534, then reads and parses them through the open fds: the guest
	# boots, and the log says as whom the kernel was read.
	mkdir -m 0700 "$work/rootonly"
	cp "$build/firmware/hello.elf" "$work/rootonly/kernel.elf"
	head -c 65536 /dev/urandom >"$work/rootonly/initrd.img"
	chmod 0600 "$work/rootonly/kernel.elf" "$work/rootonly/initrd.img"
	cat >"$work/rootk.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$work/rootonly/kernel.elf",
                   "initrd_path": "$work/rootonly/initrd.img",
                   "boot_args": "status=7" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vmrun": { "serial": { "output": "file", "path": "$work/rootk.out" } }
}
JSON
	timeout 30 "$vmrun" --log-level info --uid 65534 --gid 65534 \
		"$work/rootk.json" 2>"$work/rootk.err" </dev/null
	rc=$?
	expect "order: a root-only 0600 kernel and initrd boot as uid 65534 (status 7)" 7 "$rc"
	[ $rc = 7 ] || tail -n 5 "$work/rootk.err"
	expect_grep "order: the kernel and initrd are read after the drop, as 65534" \
		'reading the kernel and the initrd as uid 65534, gid 65534$' "$work/rootk.err"
	# As 65534 the same files cannot even be opened: the fds did it.
	if setpriv --reuid 65534 --regid 65534 --clear-groups \
		cat "$work/rootonly/kernel.elf" >/dev/null 2>&1; then
		not_ok "order: uid 65534 cannot open the kernel by itself" "it can"
	else
		ok "order: uid 65534 cannot open the kernel by itself"
	fi

	# A restore: the state and memory files are root's 0600 in that
	# folder too, opened as root and read after the drop.  The operator's
	# --drive-path is looked up and opened after the drop as well: root's
	# 0600 disk in that folder is refused as 65534, one that 65534 may
	# open is taken.
	truncate -s 1M "$work/rootonly/d0.img"
	chmod 0600 "$work/rootonly/d0.img"
	cfg=$(spin_json "$work/snap.json" '"drives": [ { "drive_id": "d0",
	  "path_on_host": "'"$work"'/rootonly/d0.img", "is_root_device": false,
	  "is_read_only": false } ]')
	expect "order: paused and snapshotted" "204 204" \
		"$(snapshot_of "$cfg" "$work/rootonly/s" "$work/rootonly/m")"
	chmod 0600 "$work/rootonly/s" "$work/rootonly/m"
	timeout 30 "$vmrun" --log-level info --uid 65534 --gid 65534 \
		--restore "$work/rootonly/s" --mem "$work/rootonly/m" \
		--drive-path "d0=$work/rootonly/d0.img" \
		>"$work/rs1.out" 2>"$work/rs1.err" </dev/null
	expect "order: a restore whose disk only root may open fails (status 2)" 2 "$?"
	expect_grep "order: ... naming the drive and the disk" \
		"^vmrun: --drive-path d0=.*/rootonly/d0.img: cannot open '.*/rootonly/d0.img': Permission denied" \
		"$work/rs1.err"
	expect_grep "order: ... looked up after the state file was read as 65534" \
		"snapshot: reading '.*/rootonly/s' as uid 65534, gid 65534$" "$work/rs1.err"
	chmod 0711 "$work"
	mkdir -m 0755 "$work/pub"
	cp "$work/rootonly/d0.img" "$work/pub/d0.img"
	chown 65534:65534 "$work/pub/d0.img"
	"$vmrun" --log-level info --uid 65534 --gid 65534 \
		--restore "$work/rootonly/s" --mem "$work/rootonly/m" \
		--drive-path "d0=$work/pub/d0.img" >"$work/rs2.out" 2>"$work/rs2.err" </dev/null &
	pid=$!
	wait_line "$work/rs2.out" 'tick [0-9]' &&
		ok "order: the root-only snapshot restores as uid 65534" ||
		not_ok "order: the root-only snapshot restores as uid 65534" \
			"$(tail -n 5 "$work/rs2.err")"
	expect_grep "order: the state file is read after the drop, as 65534" \
		"snapshot: reading '.*/rootonly/s' as uid 65534, gid 65534$" "$work/rs2.err"
	kill -TERM "$pid"
	wait "$pid"
	expect "order: the restored VM stops on SIGTERM (143)" 143 "$?"
	pid=""
else
	skipped "uid: the --uid tests" "not root"
fi
"$vmrun" --uid 65534 "$cfg" 2>"$work/uidonly.err"
expect "uid: --uid without --gid is refused (status 2)" 2 "$?"
"$vmrun" --uid nobody --gid 1 "$cfg" 2>"$work/uidname.err"
expect "uid: a non-numeric --uid is refused (status 2)" 2 "$?"
expect_grep "uid: the error names the flag" '^vmrun: --uid: expected a numeric id' \
	"$work/uidname.err"

# --- close-on-exec and file modes ---

# check_cloexec NAME PID: every fd but 0..2 has O_CLOEXEC (02000000).
check_cloexec() {
	local fd flags bad="" n=0
	for fd in $(ls "/proc/$2/fd"); do
		[ "$fd" -le 2 ] && continue
		flags=$(awk '/^flags:/ { print $2 }' "/proc/$2/fdinfo/$fd")
		n=$((n + 1))
		[ $((0$flags & 02000000)) -ne 0 ] ||
			bad="$bad $fd:$(readlink "/proc/$2/fd/$fd")"
	done
	expect "$1: all $n fds are close-on-exec (without:${bad:- none})" "" "$bad"
}

truncate -s 1M "$work/d1.img"
devices='"drives": [ { "drive_id": "d0", "path_on_host": "'$work'/d0.img",
  "is_root_device": false, "is_read_only": false, "io_engine": "Sync" },
  { "drive_id": "d1", "path_on_host": "'$work'/d1.img",
  "is_root_device": false, "is_read_only": true, "io_engine": "Async" } ],
  "entropy": {}'
tap=""
# A tap in a private network namespace, where this host allows one.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
	unshare -n ip tuntap add dev vmrtap0 mode tap 2>/dev/null; then
	tap="unshare -n"
	devices="$devices"', "network-interfaces": [ { "iface_id": "n0",
  "host_dev_name": "vmrtap0" } ]'
else
	skipped "cloexec with a tap" "no tap in a private network namespace here"
fi
cfg=$(config fds spin "delay=20000000" "$devices" \
	'"virtio-console": { "output": "file", "path": "'$work'/con.out" }')
rm -f "$work/fds.out" "$work/con.out"
(
	umask 0
	exec $tap bash -c '[ -z "$1" ] || { ip tuntap add dev vmrtap0 mode tap &&
		ip link set vmrtap0 up; } || exit 99; shift; exec "$@"' \
		- "$tap" "$vmrun" --api-sock "$work/fds.sock" "$cfg" \
		2>"$work/fds.err" </dev/null
) &
pid=$!
if wait_line "$work/fds.out" 'tick 1'; then
	# The subshell, unshare and bash exec'd: $pid is vmrun.
	check_cloexec "cloexec${tap:+ (with a tap)}" "$pid"
	expect "mode: the serial file is 0600 under umask 0" 600 \
		"$(stat -c %a "$work/fds.out")"
	expect "mode: the console file is 0600 under umask 0" 600 \
		"$(stat -c %a "$work/con.out")"
	expect "mode: the API socket is 0600 under umask 0" 600 \
		"$(stat -c %a "$work/fds.sock")"
else
	not_ok "cloexec: the guest runs" "$(tail -n 5 "$work/fds.err")"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
pid=""

summary
