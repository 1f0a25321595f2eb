#!/bin/bash
# untrusted-files.sh BUILD_DIR - the file policy and the stop signals of
# docs/security.md, checked without /dev/kvm (every case fails or stops
# before vmrun would open it):
#  - outputs (logger, metrics, serial, crash dump, snapshot-merge OUT): a
#    FIFO without a reader, a procfs knob, a symbolic link, a device are
#    refused with exit 2 (HTTP 400 through the API) at once, and nothing is
#    written;
#  - inputs: the config file, kernel, initrd and drives must be regular
#    files (a block device for a drive); an empty kernel is refused;
#  - config checks that used to fail only after /dev/kvm: more virtio
#    devices than IRQs, more RAM than the host has;
#  - snapshot state files (written by tests/tools/snapfile.py) never choose
#    a host resource: a file naming /etc/shadow as a drive, a tap and a
#    serial output file is refused (exit 2, HTTP 400) until the operator
#    gives each one (--drive-path, --tap, --console-path; the API's
#    overrides), one line naming it; the file's serial output is never
#    created; hostile names in the file (a tap with '/', a drive_id with
#    a newline, a multicast MAC) are refused, and so are operator paths
#    the input and output policies refuse;
#  - snapshot-merge: unknown options, a repeated -o, missing arguments;
#    SIGTERM, SIGINT and SIGHUP stop a merge within 2 s and leave no
#    temporary file;
#  - SIGTERM stops vmrun --api-sock within 2 s with a request in flight.
set -u
build=$(cd "${1:?usage: untrusted-files.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

vmrun=$build/vmrun
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; cd /; rm -rf "$work"' EXIT
cd "$work" || exit 1

# ms: the time in milliseconds (bash's clock: busybox's date has no %N).
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# run_timed NAME STATUS MAX_MS PATTERN ARGS...: vmrun ARGS exits with
# STATUS within MAX_MS and says PATTERN on stderr.
run_timed() {
	local name=$1 want=$2 max=$3 pattern=$4 t0 rc dt
	shift 4
	t0=$(ms)
	timeout 10 "$vmrun" "$@" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	dt=$(($(ms) - t0))
	expect "$name: exit status" "$want" "$rc"
	if [ "$dt" -le "$max" ]; then
		ok "$name: within $max ms"
	else
		not_ok "$name: within $max ms" "took $dt ms"
	fi
	expect_grep "$name: message" "$pattern" "$work/err"
}

# cfg NAME EXTRA: a config with a 4 KiB kernel and EXTRA sections.
printf 'x%.0s' $(seq 4096) >kernel
cfg() {
	echo "{\"boot-source\": {\"kernel_image_path\": \"$work/kernel\"}${2:+, $2}}" \
		>"$work/$1.json"
	echo "$work/$1.json"
}

# --- outputs ---

mkfifo fifo
run_timed "FIFO as logger.log_path" 2 2000 \
	"logger.log_path: cannot open .*: no reader on FIFO" \
	"$(cfg fifo-log '"logger": {"log_path": "'$work/fifo'"}')"
run_timed "FIFO as metrics.metrics_path" 2 2000 \
	"metrics.metrics_path: cannot open .*: no reader on FIFO" \
	"$(cfg fifo-met '"metrics": {"metrics_path": "'$work/fifo'"}')"
host_before=$(cat /proc/sys/kernel/hostname)
run_timed "procfs knob as logger.log_path" 2 2000 \
	"logger.log_path: '/proc/sys/kernel/hostname': on a kernel pseudo file system" \
	"$(cfg proc-log '"logger": {"log_path": "/proc/sys/kernel/hostname"}')"
expect "hostname unchanged" "$host_before" "$(cat /proc/sys/kernel/hostname)"
ln -s "$work/target" link
run_timed "symbolic link as logger.log_path" 2 2000 \
	"logger.log_path: 'link': is a symbolic link" \
	"$(cfg link-log '"logger": {"log_path": "link"}')"
[ -e target ] && not_ok "link target not created" "it exists" ||
	ok "link target not created"
run_timed "device as vmrun.serial.path" 2 2000 \
	"vmrun.serial.path: '/dev/null': not a regular file" \
	"$(cfg dev-serial '"vmrun": {"serial": {"output": "file", "path": "/dev/null"}}')"
# The crash dump is created at a crash: its folder is checked now.
run_timed "missing folder of --crash-dump" 2 2000 \
	"--crash-dump: '$work/nodir/g.core': its folder does not exist" \
	--crash-dump "$work/nodir/g.core" "$(cfg cd-arg)"
run_timed "symbolic link as --crash-dump" 2 2000 \
	"--crash-dump: 'link': is a symbolic link" --crash-dump link "$(cfg cd-arg)"
run_timed "device as --crash-dump" 2 2000 \
	"--crash-dump: '/dev/null': not a regular file" \
	--crash-dump /dev/null "$(cfg cd-arg)"
run_timed "--crash-dump on a kernel pseudo file system" 2 2000 \
	"--crash-dump: '/proc/self/g.core': on a kernel pseudo file system" \
	--crash-dump /proc/self/g.core "$(cfg cd-arg)"
run_timed "--crash-dump without its value" 2 2000 \
	"--crash-dump: expected a file path, got '--no-seccomp'" \
	--crash-dump --no-seccomp "$(cfg cd-arg)"
run_timed "missing folder of vmrun.crash-dump" 2 2000 \
	"vmrun.crash-dump: cannot use the folder of 'nodir/g.core'" \
	"$(cfg cd-key '"vmrun": {"crash-dump": "nodir/g.core"}')"
run_timed "symbolic link as vmrun.crash-dump" 2 2000 \
	"vmrun.crash-dump: 'link': is a symbolic link" \
	"$(cfg cd-link '"vmrun": {"crash-dump": "link"}')"

# --- inputs ---

run_timed "FIFO as the config file" 2 2000 "fifo: cannot read: not a regular file" \
	"$work/fifo"
run_timed "character device as the kernel" 2 2000 \
	"boot-source.kernel_image_path: '/dev/zero' is not a regular file" \
	"$(echo '{"boot-source": {"kernel_image_path": "/dev/zero"}}' >k.json; echo k.json)"
: >empty
run_timed "empty kernel" 2 2000 "boot-source.kernel_image_path: '.*/empty' is empty" \
	"$(echo '{"boot-source": {"kernel_image_path": "empty"}}' >e.json; echo e.json)"
run_timed "character device as the initrd" 2 2000 \
	"boot-source.initrd_path: '/dev/zero' is not a regular file" \
	"$(echo '{"boot-source": {"kernel_image_path": "kernel", "initrd_path": "/dev/zero"}}' >i.json; echo i.json)"
run_timed "character device as a drive" 2 2000 \
	"drives\[0\].path_on_host: '/dev/null' is not a regular file or a block device" \
	"$(cfg dev-drive '"drives": [{"drive_id": "d", "path_on_host": "/dev/null", "is_root_device": false, "is_read_only": true}]')"

# --- config checks before /dev/kvm ---

truncate -s 1M disk.img
drives=""
for i in $(seq 0 15); do
	drives="$drives${drives:+,}{\"drive_id\": \"d$i\", \"path_on_host\": \"$work/disk.img\", \"is_root_device\": false, \"is_read_only\": true}"
done
nics=""
for i in 0 1 2 3; do
	nics="$nics${nics:+,}{\"iface_id\": \"e$i\", \"host_dev_name\": \"tap$i\"}"
done
run_timed "16 drives and 4 NICs" 2 2000 \
	"drives: 16 drives, 4 network interfaces.* make 20 virtio devices; the machine has interrupt lines for 19" \
	"$(cfg irqs "\"drives\": [$drives], \"network-interfaces\": [$nics]")"
mem_mib=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 + 1024))
run_timed "RAM over MemTotal" 2 2000 \
	"machine-config.mem_size_mib: $mem_mib MiB is more than this host's memory.*allow-overcommit" \
	"$(cfg ram "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": $mem_mib}")"
if ! have_kvm; then
	run_timed "missing /dev/kvm named" 2 5000 \
		"cannot create the VM: /dev/kvm does not exist" \
		"$(cfg ram-ok "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": $mem_mib}, \"vmrun\": {\"allow-overcommit\": true}")"
fi

# --- snapshot state files ---

# snapfile.py checks nothing: it writes the values it is given.
snapfile=$here/../tools/snapfile.py
snap() { python3 "$snapfile" "$1" "$cpu" "$2"; }
if command -v python3 >/dev/null; then
	# The host CPU the restore compares with, as vmrun words it.
	cpu='?'
	snap probe.snap '{}'
	cpu=$("$vmrun" --restore probe.snap --mem x.mem 2>&1 |
		sed -n "s/.*this host is '\(.*\)'\$/\1/p")
	truncate -s 16M vm.mem
	truncate -s 1M own.img
	evil='{"drives": [{"drive_id": "rootfs", "path_on_host": "/etc/shadow"}],
	       "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "evil0"}],
	       "serial": {"output": "file", "path": "'$work/pwned.log'"}}'
	snap evil.snap "$evil"
	run_timed "state file naming /etc/shadow as a drive" 2 2000 \
		"^vmrun: --restore: drive 'rootfs' needs --drive-path rootfs=PATH \(the snapshot names '/etc/shadow'\)\$" \
		--restore evil.snap --mem vm.mem
	expect "state file naming /etc/shadow: one line" 1 "$(wc -l <"$work/err")"
	run_timed "state file naming a tap" 2 2000 \
		"--restore: network interface 'eth0' needs --tap eth0=TAP \(the snapshot names 'evil0'\)" \
		--restore evil.snap --mem vm.mem --drive-path rootfs=own.img
	run_timed "state file naming a serial output file" 2 2000 \
		"--restore: console 'serial' needs --console-path serial=PATH \(the snapshot names '$work/pwned.log'\)" \
		--restore evil.snap --mem vm.mem --drive-path rootfs=own.img \
		--tap eth0=vmtap0
	run_timed "operator's drive must be a file or block device" 2 2000 \
		"--drive-path rootfs=/dev/null: '/dev/null' is not a regular file or a block device" \
		--restore evil.snap --mem vm.mem --drive-path rootfs=/dev/null
	run_timed "operator's console output: the output policy" 2 2000 \
		"--console-path serial=link: 'link': is a symbolic link" \
		--restore evil.snap --mem vm.mem --drive-path rootfs=own.img \
		--tap eth0=vmtap0 --console-path serial=link
	run_timed "operator's tap name: the config's rule" 2 2000 \
		"--tap eth0=a/b: expected an interface name" \
		--restore evil.snap --mem vm.mem --drive-path rootfs=own.img \
		--tap eth0=a/b
	if ! have_kvm; then
		run_timed "every resource given: the restore goes on to /dev/kvm" \
			2 5000 "cannot open /dev/kvm" \
			--restore evil.snap --mem vm.mem --drive-path rootfs=own.img \
			--tap eth0=vmtap0 --console-path serial=own.log
	fi
	[ -e pwned.log ] && not_ok "the state file's serial output is never created" "it exists" ||
		ok "the state file's serial output is never created"
	snap tap.snap '{"network-interfaces": [{"host_dev_name": "a/b"}]}'
	run_timed "state file: tap name with '/'" 2 2000 \
		"tap.snap: the saved configuration: network-interfaces\[0\].host_dev_name: expected an interface name .*, got 'a/b'" \
		--restore tap.snap --mem vm.mem --tap eth0=vmtap0
	snap id.snap '{"drives": [{"drive_id": "root\nfs"}]}'
	run_timed "state file: drive_id with a newline" 2 2000 \
		"id.snap: the saved configuration: drives\[0\].drive_id: expected a name of 1..20 bytes without spaces, control characters or '=', got 'root\\\\nfs'" \
		--restore id.snap --mem vm.mem
	expect "state file: drive_id with a newline: one line" 1 "$(wc -l <"$work/err")"
	snap mac.snap '{"network-interfaces": [{"guest_mac": "01:00:5e:00:00:01"}]}'
	run_timed "state file: multicast MAC" 2 2000 \
		"guest_mac: '01:00:5e:00:00:01' is a multicast address" \
		--restore mac.snap --mem vm.mem --tap eth0=vmtap0
else
	skipped "snapshot state files" "no python3"
fi

# --- snapshot-merge arguments ---

head -c 1M /dev/urandom >full.mem
head -c 1M /dev/urandom >diff.mem
cp full.mem out.mem
merge_bad() {
	run_timed "snapshot-merge $1" 2 2000 "$2" snapshot-merge "${@:3}"
	cmp -s full.mem out.mem && ok "snapshot-merge $1: out unchanged" ||
		not_ok "snapshot-merge $1: out unchanged" "out.mem was written"
}
merge_bad "unknown option" "--verbose: unknown option" \
	full.mem -o out.mem --verbose diff.mem
merge_bad "repeated -o" "-o: given twice" full.mem -o out.mem -o o2.mem
merge_bad "missing -o value" "-o: expected an output file" full.mem -o
merge_bad "option as -o value" "-o: expected an output file, got '--x'" \
	full.mem -o --x
merge_bad "missing FULL_MEM" "FULL_MEM: missing" -o out.mem
merge_bad "missing -o" "-o OUT_MEM: missing" full.mem diff.mem
merge_bad "symbolic link as OUT" "is a symbolic link" full.mem -o link
timeout 10 "$vmrun" snapshot-merge full.mem -o merged.mem diff.mem
expect "snapshot-merge with a diff: exit status" 0 "$?"
cmp -s diff.mem merged.mem && ok "snapshot-merge applies the diff" ||
	not_ok "snapshot-merge applies the diff" "merged.mem differs from diff.mem"

# --- stop signals ---

# A merge long enough to be interrupted: 256 MiB laid over itself 64 times.
head -c 256M /dev/zero | tr '\0' 'x' >big.mem
diffs=()
for _ in $(seq 64); do diffs+=(big.mem); done
for sig in TERM INT HUP; do
	"$vmrun" snapshot-merge big.mem "${diffs[@]}" -o big.out \
		2>"$work/merge.err" &
	pid=$!
	for _ in $(seq 100); do
		compgen -G "big.out.merge-*" >/dev/null && break
		sleep 0.02
	done
	sleep 0.2
	t0=$(ms)
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	dt=$(($(ms) - t0))
	pid=""
	num=$(kill -l "$sig")
	expect "SIG$sig during a merge: exit status" $((128 + num)) "$rc"
	[ "$dt" -le 2000 ] && ok "SIG$sig stops a merge within 2 s" ||
		not_ok "SIG$sig stops a merge within 2 s" "took $dt ms"
	left=$(compgen -G "big.out*" | tr '\n' ' ')
	expect "SIG$sig during a merge leaves no file" "" "$left"
	expect_grep "SIG$sig during a merge: message" "stopped by signal $num" \
		"$work/merge.err"
done
rm -f big.mem

# --- the API ---

if command -v curl >/dev/null && command -v python3 >/dev/null; then
	sock=$work/api.sock
	"$vmrun" --api-sock "$sock" 2>"$work/api.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	put() {
		curl -s --max-time 5 --unix-socket "$sock" -o "$work/resp" \
			-w '%{http_code}' -X PUT "http://localhost$1" -d "$2"
	}
	t0=$(ms)
	code=$(put /logger "{\"log_path\": \"$work/fifo\"}")
	dt=$(($(ms) - t0))
	expect "API: FIFO as log_path: HTTP status" 400 "$code"
	[ "$dt" -le 2000 ] && ok "API: FIFO as log_path: answered within 2 s" ||
		not_ok "API: FIFO as log_path: answered within 2 s" "took $dt ms"
	expect_grep "API: FIFO as log_path: message" \
		"logger.log_path: cannot open: no reader on FIFO" "$work/resp"
	expect "API: procfs knob as log_path" 400 \
		"$(put /logger '{"log_path": "/proc/sys/kernel/hostname"}')"
	expect_grep "API: procfs knob as log_path: message" \
		"on a kernel pseudo file system" "$work/resp"
	expect "API: symbolic link as metrics_path" 400 \
		"$(put /metrics "{\"metrics_path\": \"$work/link\"}")"
	if [ -e evil.snap ]; then
		load="{\"snapshot_path\": \"$work/evil.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$work/vm.mem\"}"
		expect "API: state file naming /etc/shadow: snapshot/load" 400 \
			"$(put /snapshot/load "$load}")"
		expect_grep "API: state file naming /etc/shadow: message" \
			"snapshot/load: drive 'rootfs' needs a drive_overrides entry with drive_id 'rootfs' and a path_on_host \(the snapshot names '/etc/shadow'\)" \
			"$work/resp"
		expect "API: state file naming a serial output file" 400 \
			"$(put /snapshot/load "$load, \"drive_overrides\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"$work/own.img\"}], \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"vmtap0\"}]}")"
		expect_grep "API: state file naming a serial output file: message" \
			"console 'serial' needs a console_overrides entry with console_id 'serial' and a path" \
			"$work/resp"
		expect "API: console_overrides: the output policy" 400 \
			"$(put /snapshot/load "$load, \"drive_overrides\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"$work/own.img\"}], \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"vmtap0\"}], \"console_overrides\": [{\"console_id\": \"serial\", \"path\": \"/proc/self/x\"}]}")"
		expect_grep "API: console_overrides: the output policy: message" \
			"console_overrides\[0\]: '/proc/self/x': on a kernel pseudo file system" \
			"$work/resp"
		[ -e pwned.log ] && not_ok "API: the state file's serial output is never created" "it exists" ||
			ok "API: the state file's serial output is never created"
	fi
	expect "API: still answers" 204 \
		"$(put /boot-source "{\"kernel_image_path\": \"$work/kernel\"}")"
	# A request in flight: headers sent, body never finished.
	python3 - "$sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"PUT /machine-config HTTP/1.1\r\nHost: x\r\n"
          b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
time.sleep(30)
PY
	client=$!
	sleep 0.3
	t0=$(ms)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	dt=$(($(ms) - t0))
	pid=""
	kill "$client" 2>/dev/null
	wait "$client" 2>/dev/null
	expect "API: SIGTERM with a request in flight: exit status" 143 "$rc"
	[ "$dt" -le 2000 ] && ok "API: SIGTERM with a request in flight: within 2 s" ||
		not_ok "API: SIGTERM with a request in flight: within 2 s" "took $dt ms"
	[ -e "$sock" ] && not_ok "API: socket removed" "$sock is left" ||
		ok "API: socket removed"
else
	skipped "API cases" "no curl or python3"
fi

summary
