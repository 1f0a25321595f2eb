#!/bin/bash
# api.sh BUILD_DIR - the REST API of `vmrun --api-sock` (docs/api.md) driven
# with curl over the Unix socket: configure and boot the freestanding guests
# of firmware/ through it, pause and resume a running one, errors as 400
# with a fault_message naming the field, the socket file's life cycle.
set -u
build=$(cd "${1:?usage: api.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
vmrun=$build/vmrun
work=$(mktemp -d)
sock=$work/api.sock
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# api METHOD PATH [BODY]: one request; sets $code and $body.
api() {
	local data=()

	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-raw "$3")
	code=$(curl -s --max-time 10 --unix-socket "$sock" -o "$work/body" \
		-w '%{http_code}' -X "$1" "${data[@]}" "http://localhost$2")
	body=$(cat "$work/body" 2>/dev/null)
}

# expect_api NAME CODE [TEXT...]: the last answer had status CODE and its
# body contains each TEXT.
expect_api() {
	local name=$1 want=$2 t

	shift 2
	if [ "$code" != "$want" ]; then
		not_ok "$name" "status $code (expected $want), body: $body"
		return
	fi
	for t in "$@"; do
		case $body in
		*"$t"*) ;;
		*) not_ok "$name" "no '$t' in: $body"; return ;;
		esac
	done
	ok "$name"
}

# start_vmrun ARGS...: vmrun in the background with the socket; waits for it.
start_vmrun() {
	rm -f "$work/serial.out"
	"$vmrun" --log-level info --api-sock "$sock" "$@" \
		>"$work/stdout" 2>"$work/stderr" </dev/null &
	pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	return 1
}

# finish: waits for vmrun (at most 30 s); sets $rc.
finish() {
	local i

	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ "$i" = 300 ] && kill -KILL "$pid"
	wait "$pid"
	rc=$?
	pid=""
}

# ticks: how many "tick N" lines the spin guest has printed.
ticks() {
	cat "$work/serial.out" 2>/dev/null | grep -c '^vmrun-firmware: tick'
}

# wait_ticks N: until the guest has printed N ticks (at most 20 s).
wait_ticks() {
	for _ in $(seq 200); do
		[ "$(ticks)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- the socket file ---

touch "$sock"
"$vmrun" --api-sock "$sock" 2>"$work/stderr" </dev/null
expect "stale socket path: exit status 2" 2 "$?"
expect_grep "stale socket path: reported" "api-sock: '$sock' exists; remove it" \
	"$work/stderr"
[ -e "$sock" ] && ok "stale socket path: not removed" ||
	not_ok "stale socket path: not removed" "the file is gone"
rm -f "$sock"

start_vmrun || not_ok "socket appears" "no socket after 5 s"
expect "socket mode is 0600" 600 "$(stat -c %a "$sock")"
api GET /
expect_api "GET / before boot: InstanceInfo" 200 '"id":' '"vmm_version":' \
	'"app_name":"vmrun"' '"state":"Not started"'
kill -TERM "$pid"
finish
expect "SIGTERM before boot: exit status 143" 143 "$rc"
[ -e "$sock" ] && not_ok "SIGTERM before boot: socket removed" "still there" ||
	ok "SIGTERM before boot: socket removed"

# --- configure and boot through the API ---

hello=$build/firmware/hello.elf
truncate -s 1M "$work/disk.img"
start_vmrun
api PUT /machine-config '{"vcpu_count": "two", "mem_size_mib": 64}'
expect_api "wrong type: 400 naming the field" 400 '"fault_message":' \
	'machine-config.vcpu_count' 'two'
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "foo": 1}'
expect_api "unknown field: 400 naming it" 400 'machine-config.foo: unknown key'
api PUT /machine-config '{"vcpu_count": 1,'
expect_api "malformed JSON: 400" 400 'request body: invalid JSON'
api PUT /drives/d1 "{\"path_on_host\": \"$work/nope.img\", \"is_root_device\": false}"
expect_api "missing drive image: 400 naming the field" 400 \
	'path_on_host' 'nope.img'
api PUT /drives/d1 "{\"drive_id\": \"d2\", \"path_on_host\": \"$hello\"}"
expect_api "drive id not the path's: 400" 400 "drive_id: 'd2'" "'d1'"
api PUT /actions '{"action_type": "Reboot"}'
expect_api "unknown action: 400" 400 'action_type: expected one of'
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "InstanceStart without a boot source: 400" 400 'boot-source: missing'
api PATCH /vm '{"state": "Paused"}'
expect_api "pause before boot: 400" 400 'not running'
api PUT /logger '{"level": "Info"}'
expect_api "logger: 400 not supported yet" 400 'not supported'
api DELETE /vm
expect_api "unknown method: 400" 400 'invalid request method'

api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
expect_api "PUT /machine-config: 204" 204
api PATCH /machine-config '{"mem_size_mib": 96}'
expect_api "PATCH /machine-config: 204" 204
api GET /machine-config
expect_api "GET /machine-config merges PATCH over PUT" 200 \
	'"vcpu_count":1' '"mem_size_mib":96' '"smt":false'
api PUT /boot-source "{\"kernel_image_path\": \"$hello\", \"boot_args\": \"status=5\"}"
expect_api "PUT /boot-source: 204" 204
api PUT /drives/scratch "{\"path_on_host\": \"$work/disk.img\", \"is_root_device\": false, \"is_read_only\": true}"
expect_api "PUT /drives/scratch: 204" 204
api PUT /serial "{\"serial_out_path\": \"$work/serial.out\"}"
expect_api "PUT /serial: 204" 204
api GET /vm/config
expect_api "GET /vm/config reflects what was PUT" 200 \
	'"boot-source":' "\"kernel_image_path\":\"$hello\"" \
	'"boot_args":"status=5"' '"machine-config":' '"mem_size_mib":96' \
	'"drives":[{' '"drive_id":"scratch"' '"is_read_only":true' \
	'"network-interfaces":[]'
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "InstanceStart: 204" 204
finish
expect "VM configured through the API exits with its status=5" 5 "$rc"
expect_grep "the guest ran with the API's boot_args" 'exit status=5' \
	"$work/serial.out"
expect_grep "state changes are logged" 'api: PUT /boot-source: 204' \
	"$work/stderr"
[ -e "$sock" ] && not_ok "guest exit: socket removed" "still there" ||
	ok "guest exit: socket removed"

# --- pause and resume a running guest ---

spin=$build/firmware/spin.elf
start_vmrun
api PUT /boot-source "{\"kernel_image_path\": \"$spin\", \"boot_args\": \"delay=20000000\"}"
api PUT /serial "{\"serial_out_path\": \"$work/serial.out\"}"
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "spin: InstanceStart: 204" 204
wait_ticks 3 || not_ok "spin: guest prints ticks" "$(ticks) ticks after 20 s"
api GET /
expect_api "GET / while running: state Running" 200 '"state":"Running"'
api PATCH /vm '{"state": "Paused"}'
expect_api "PATCH /vm Paused: 204" 204
api GET /
expect_api "GET / while paused: state Paused" 200 '"state":"Paused"'
sleep 0.3 # a line being written when the vCPU stopped
before=$(ticks)
sleep 1.5
expect "no guest progress while paused" "$before" "$(ticks)"
api PATCH /vm '{"state": "Paused"}'
expect_api "PATCH /vm Paused again: 204 (desired state)" 204
api PATCH /vm '{"state": "Resumed"}'
expect_api "PATCH /vm Resumed: 204" 204
wait_ticks $((before + 3)) && ok "guest continues after resume" ||
	not_ok "guest continues after resume" "$(ticks) ticks, $before at pause"
expect_grep "the ticks go on where they stopped" \
	"^vmrun-firmware: tick $((before + 1))\$" "$work/serial.out"

api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}'
expect_api "pre-boot call after boot: 400" 400 'pre-boot only' \
	'already running'
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "second InstanceStart: 400" 400 'already running'
api PATCH /vm '{"state": "Stopped"}'
expect_api "bad state: 400 naming the field" 400 'state: expected one of'
api PUT /actions '{"action_type": "SendCtrlAltDel"}'
expect_api "SendCtrlAltDel: 204" 204
n=$(ticks)
wait_ticks $((n + 2)) && ok "the VM keeps running after refused calls" ||
	not_ok "the VM keeps running after refused calls" "stuck at $n ticks"
kill -TERM "$pid"
finish
expect "SIGTERM while running: exit status 143" 143 "$rc"
[ -e "$sock" ] && not_ok "SIGTERM while running: socket removed" "still there" ||
	ok "SIGTERM while running: socket removed"

# --- a config file boots at once; the API serves the runtime calls ---

cat >"$work/spin.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$spin", "boot_args": "delay=20000000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vmrun": { "serial": { "output": "file", "path": "$work/serial.out" } }
}
JSON
start_vmrun "$work/spin.json"
wait_ticks 1 || not_ok "config file: guest boots at once" "no tick"
api GET /
expect_api "config file: state Running" 200 '"state":"Running"'
api GET /vm/config
expect_api "config file: GET /vm/config shows the file" 200 \
	'"boot_args":"delay=20000000"' '"mem_size_mib":64'
api PUT /boot-source "{\"kernel_image_path\": \"$hello\"}"
expect_api "config file: PUT /boot-source refused" 400 'pre-boot only'
api PATCH /vm '{"state": "Paused"}'
expect_api "config file: pause" 204
api PATCH /vm '{"state": "Resumed"}'
expect_api "config file: resume" 204
kill -TERM "$pid"
finish
expect "config file: SIGTERM exit status 143" 143 "$rc"
[ -e "$sock" ] && not_ok "config file: socket removed" "still there" ||
	ok "config file: socket removed"

summary
