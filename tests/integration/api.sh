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
	wait_sock "$sock"
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
	# A guest crash (4) or a failed vmrun (1): its crash line and register
	# dump come last in the log, so the log's end is shown.
	if [ "$rc" = 4 ] || [ "$rc" = 1 ]; then
		echo "# vmrun exited $rc; the end of its log:"
		tail -n 20 "$work/stderr" | sed 's/^/#   | /'
	fi
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
expect_api "malformed JSON: 400" 400 'request body: line 1, column' 'invalid JSON'
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
api PUT /logger '{"level": "Loud"}'
expect_api "bad logger level: 400 naming the field" 400 'logger.level: expected one of'
api PUT /metrics '{}'
expect_api "metrics without metrics_path: 400" 400 'metrics.metrics_path: missing'
api PUT /metrics "{\"metrics_path\": \"$work/nodir/m.json\"}"
expect_api "metrics_path in a missing folder: 400" 400 'metrics.metrics_path: cannot use the folder'
api PUT /vsock '{}'
expect_api "vsock: 400 not supported yet" 400 'not supported'
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

# --- logger and metrics configured through the API ---

# jget FILE LINE EXPR: field EXPR (python, on the parsed object j) of line
# LINE (1-based, -1: the last) of FILE; "invalid" when it does not parse.
jget() {
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
try:
    j = json.loads(lines[int(sys.argv[2]) - (0 if int(sys.argv[2]) < 0 else 1)])
    print(eval(sys.argv[3]))
except Exception as e:
    print("invalid:", e)
' "$@"
}

blk=$build/firmware/blk.elf
truncate -s 16M "$work/blk.img"
rm -f "$work/vm.log" "$work/metrics.json"
start_vmrun
api PUT /logger "{\"log_path\": \"$work/vm.log\", \"level\": \"info\", \"show_level\": true, \"show_log_origin\": true}"
expect_api "PUT /logger: 204" 204
expect "log file created 0600" 600 "$(stat -c %a "$work/vm.log" 2>/dev/null)"
api PUT /metrics "{\"metrics_path\": \"$work/metrics.json\"}"
expect_api "PUT /metrics: 204" 204
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
# bench mode with hold=1: 16 x 64 KiB and 32 x 4 KiB written and read, then
# the guest spins so the VM can be read while it runs.
api PUT /boot-source "{\"kernel_image_path\": \"$blk\", \"boot_args\": \"mode=bench count=16 count4k=32 depth=4 hold=1\"}"
api PUT /drives/scratch "{\"path_on_host\": \"$work/blk.img\", \"is_root_device\": false}"
api PUT /serial "{\"serial_out_path\": \"$work/serial.out\"}"
api PUT /actions '{"action_type": "FlushMetrics"}'
expect_api "FlushMetrics before boot: 400" 400 'not running'
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "metrics VM: InstanceStart: 204" 204
# Right after InstanceStart the vCPUs run: a pause works at once.
api PATCH /vm '{"state": "Paused"}'
expect_api "PATCH /vm right after InstanceStart: 204" 204
api PATCH /vm '{"state": "Resumed"}'
expect_api "resume: 204" 204
for _ in $(seq 200); do
	grep -q 'blk: exit status=' "$work/serial.out" 2>/dev/null && break
	sleep 0.1
done
expect_grep "blk bench guest finished its I/O" 'blk: exit status=0$' "$work/serial.out"
expect "metrics file created 0600" 600 "$(stat -c %a "$work/metrics.json" 2>/dev/null)"
api PUT /actions '{"action_type": "FlushMetrics"}'
expect_api "FlushMetrics: 204" 204
expect "FlushMetrics wrote one line" 1 "$(wc -l <"$work/metrics.json")"
m=$work/metrics.json
expect "metrics line parses as a JSON object" dict "$(jget "$m" 1 'type(j).__name__')"
bytes=$((16 * 65536 + 32 * 4096))
expect "drive write_bytes = what the guest wrote" $bytes \
	"$(jget "$m" 1 'j["drives"]["scratch"]["write_bytes"]')"
expect "drive read_bytes = what the guest read" $bytes \
	"$(jget "$m" 1 'j["drives"]["scratch"]["read_bytes"]')"
expect "drive write_ops and read_ops = the guest's requests" "48 48" \
	"$(jget "$m" 1 '"%d %d" % (j["drives"]["scratch"]["write_ops"], j["drives"]["scratch"]["read_ops"])')"
# Latencies come from CLOCK_MONOTONIC. Where it ticks coarsely (the lab box's
# kernel runs on the refined-jiffies clocksource: 4 ms) every one of the 48
# writes can take less than a tick and read 0 us; there only total >= max holds.
clock_res_ns=$(python3 -c 'import time; print(round(time.get_clock_info("monotonic").resolution * 1e9))')
if [ "$clock_res_ns" -le 1000 ]; then
	expect "drive latency: total >= max > 0" True \
		"$(jget "$m" 1 'j["drives"]["scratch"]["write_latency_total_us"] >= j["drives"]["scratch"]["write_latency_max_us"] > 0')"
else
	expect "drive latency: total >= max >= 0 (CLOCK_MONOTONIC ticks every $((clock_res_ns / 1000)) us here)" True \
		"$(jget "$m" 1 'j["drives"]["scratch"]["write_latency_total_us"] >= j["drives"]["scratch"]["write_latency_max_us"] >= 0')"
fi
expect "vCPU exits counted (mmio and total non-zero)" True \
	"$(jget "$m" 1 'j["vcpus"][0]["exits"]["mmio"] > 0 and j["vcpus"][0]["exits_total"] >= j["vcpus"][0]["exits"]["mmio"]')"
expect "vCPU time in KVM_RUN non-zero" True "$(jget "$m" 1 'j["vcpus"][0]["run_ns"] > 0')"
expect "VMM RSS and timestamp" True \
	"$(jget "$m" 1 'j["vmm_rss_bytes"] > 1<<20 and abs(j["utc_timestamp_ms"] / 1000 - __import__("time").time()) < 60')"
expect "API request counts (PUT ok, PUT failed, PATCH ok)" "7 1 2" \
	"$(jget "$m" 1 '"%d %d %d" % (j["api_server"]["PUT"]["ok"], j["api_server"]["PUT"]["failed"], j["api_server"]["PATCH"]["ok"])')"
kill -TERM "$pid"
finish
expect "metrics VM: SIGTERM exit status 143" 143 "$rc"
expect "a last metrics line at exit" 2 "$(wc -l <"$m")"
expect "the last line counts the FlushMetrics call" 8 \
	"$(jget "$m" -1 'j["api_server"]["PUT"]["ok"]')"
log=$work/vm.log
for line in 'api: PUT /logger: 204' 'api: PUT /metrics: 204' \
	'api: PUT /actions: 400 FlushMetrics: the VM is not running' \
	'VM created: 1 vCPUs, 64 MiB, 1 drives' 'VM booting' 'VM running' \
	'api: InstanceStart: VM created' 'VM paused: 1 vCPUs stopped in' \
	'api: PATCH /vm: 204' 'VM resumed: 1 vCPUs running again in' \
	'VM stopping: stopped' 'VM exited: stopped'; do
	expect_grep "audit log: $line" "$line" "$log"
done
expect_grep "log lines: UTC timestamp, level, origin" \
	'^20[0-9-]{8}T[0-9:.]{15}Z \[vmrun:Info\] src/vm.c:[0-9]+: VM running$' "$log"
if grep -q 'VM running' "$work/stderr"; then
	not_ok "the VM's log is not on stderr" "$(grep 'VM running' "$work/stderr")"
else
	ok "the VM's log is not on stderr"
fi
grep -o 'VM paused: .*\|VM resumed: .*' "$log" | sed 's/^/# /'

# --- the periodic line (metrics.period_s, vmrun's knob) from a config file ---

cat >"$work/metrics.json.cfg" <<JSON
{
  "boot-source": { "kernel_image_path": "$spin", "boot_args": "delay=20000000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "metrics": { "metrics_path": "$work/periodic.json", "period_s": 1 },
  "vmrun": { "serial": { "output": "file", "path": "$work/serial.out" } }
}
JSON
"$vmrun" "$work/metrics.json.cfg" >/dev/null 2>"$work/stderr" </dev/null &
pid=$!
for _ in $(seq 100); do
	[ "$({ wc -l <"$work/periodic.json"; } 2>/dev/null)" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
kill -STOP "$pid" 2>/dev/null
expect "period_s 1: two lines within 10 s" 2 "$(wc -l <"$work/periodic.json")"
expect "the periodic lines are 1 s apart" True \
	"$(python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; d=l[1]["uptime_ms"]-l[0]["uptime_ms"]; print(900 <= d <= 1500)' "$work/periodic.json")"
kill -CONT "$pid" 2>/dev/null
kill -TERM "$pid"
finish
sed 's/"metrics_path": "[^"]*"/"metrics_path": "\/nonexistent\/m.json"/' \
	"$work/metrics.json.cfg" >"$work/bad.json"
"$vmrun" "$work/bad.json" >/dev/null 2>"$work/stderr" </dev/null
expect "config file: bad metrics_path exits 2" 2 "$?"
expect_grep "config file: bad metrics_path named" \
	"metrics.metrics_path: cannot use the folder of '/nonexistent/m.json'" \
	"$work/stderr"

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

# --- a start that fails once some of its threads run ---

# vmrun_start() fails for want of address space for the third thread (the
# event loop's and one vCPU's stacks fit): the threads that started are
# joined on the API thread without the main thread's seccomp filter, so the
# 400 goes out and vmrun goes on serving.
# as_limit PID BYTES|hard: sets the soft RLIMIT_AS of PID (python3: the
# lab box has no prlimit).
as_limit() {
	python3 -c '
import resource, sys
pid, v = int(sys.argv[1]), sys.argv[2]
hard = resource.prlimit(pid, resource.RLIMIT_AS)[1]
resource.prlimit(pid, resource.RLIMIT_AS, (hard if v == "hard" else int(v), hard))
' "$@"
}

if [ "${VMRUN_SANITIZED:-0}" = 1 ]; then
	echo "ok - failed start # skip: an address-space limit and the sanitizers' shadow memory do not mix"
else
	old_stack=$(ulimit -S -s)
	ulimit -S -s 8192 # 8 MiB thread stacks in vmrun
	start_vmrun
	ulimit -S -s "$old_stack"
	api PUT /machine-config '{"vcpu_count": 8, "mem_size_mib": 64}'
	api PUT /boot-source "{\"kernel_image_path\": \"$spin\", \"boot_args\": \"delay=20000000\"}"
	api PUT /serial "{\"serial_out_path\": \"$work/serial.out\"}"
	kib=$(awk '/^VmSize:/ {print $2}' "/proc/$pid/status")
	as_limit "$pid" $(((kib + (64 + 2 + 20) * 1024) * 1024))
	api PUT /actions '{"action_type": "InstanceStart"}'
	expect_api "failed start: 400" 400 \
		'InstanceStart: cannot create the VM: Resource temporarily unavailable'
	as_limit "$pid" hard
	expect_grep "failed start: it failed in vmrun_start, threads running" \
		'cannot start the VM: Resource temporarily unavailable' "$work/stderr"
	api GET /
	expect_api "failed start: vmrun still serves" 200 '"state":"Not started"'
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api PUT /actions '{"action_type": "InstanceStart"}'
	expect_api "failed start: InstanceStart again: 204" 204
	wait_ticks 2 && ok "failed start: the second VM runs" ||
		not_ok "failed start: the second VM runs" "$(ticks) ticks"
	kill -TERM "$pid"
	finish
	expect "failed start: SIGTERM exit status 143 (not SIGSYS)" 143 "$rc"
	expect "failed start: no seccomp report" 0 "$(grep -c seccomp "$work/stderr")"
fi

# --- a stop signal while InstanceStart creates the VM ---

# The serial output is a FIFO without a reader: InstanceStart does not wait
# for one (open_output(), docs/security.md) but fails at once naming the
# key, and vmrun serves on and stops on SIGTERM.
rm -f "$work/serial.fifo" "$work/stop.json"
mkfifo "$work/serial.fifo"
start_vmrun
api PUT /boot-source "{\"kernel_image_path\": \"$spin\", \"boot_args\": \"delay=2000000\"}"
api PUT /metrics "{\"metrics_path\": \"$work/stop.json\"}"
api PUT /serial "{\"serial_out_path\": \"$work/serial.fifo\"}"
t0=${EPOCHREALTIME/./} # microseconds (busybox's date has no %N)
api PUT /actions '{"action_type": "InstanceStart"}'
expect_api "FIFO serial output without a reader: InstanceStart 400" 400
expect "FIFO serial output without a reader: answered within 2 s" 1 \
	$(( ${EPOCHREALTIME/./} - t0 < 2000000 ))
expect_grep "FIFO serial output without a reader: the log names the key" \
	'vmrun.serial.path: cannot open .*: no reader on FIFO' "$work/stderr"
kill -TERM "$pid"
finish
expect "FIFO serial output without a reader: SIGTERM exit status 143" 143 "$rc"

# --- snapshot/load filters the API thread at once ---

# vmrun-seccomp-test's hook calls socket() as soon as the API thread is
# under its allowlist: right after the load, with no further connection
# (a keep-alive client's next request would otherwise still run under
# the pre-boot denylist).
sctest=$build/tests/integration/vmrun-seccomp-test
if [ ! -x "$sctest" ] || [ "${VMRUN_SANITIZED:-0}" = 1 ]; then
	echo "ok - snapshot/load filter # skip: no vmrun-seccomp-test or sanitizer build"
else
	start_vmrun
	api PUT /boot-source "{\"kernel_image_path\": \"$spin\", \"boot_args\": \"delay=20000000\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	api PATCH /vm '{"state": "Paused"}'
	api PUT /snapshot/create "{\"snapshot_path\": \"$work/snap\", \"mem_file_path\": \"$work/snap.mem\"}"
	expect_api "snapshot/load filter: snapshot created" 204
	kill -TERM "$pid"
	finish
	VMRUN_SECCOMP_TEST=api "$sctest" --api-sock "$sock" \
		>/dev/null 2>"$work/sc.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	api PUT /snapshot/load "{\"snapshot_path\": \"$work/snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$work/snap.mem\"}}"
	finish
	expect "snapshot/load filter: the API allowlist is on at once (SIGSYS, 159)" \
		159 "$rc"
	expect_grep "snapshot/load filter: the report names the api thread" \
		'seccomp: the api thread made a forbidden system call: socket' \
		"$work/sc.err"
fi

summary
