#!/bin/bash
# hostile.sh BUILD_DIR - boots firmware/hostile.elf (docs/hostile.md): a
# freestanding guest that attacks every virtio device (net, blk, console,
# rng) and the platform's ports and MMIO registers from CPL3, on this
# host's /dev/kvm.  vmrun must survive every attack (the guest reports
# through the debug-exit register), each device must keep working, no
# sanitizer may report, and a notification storm must cost vmrun's other
# threads no more CPU than it costs the vCPU that makes it.
#
# The net device needs a tap: the script makes one in a private network
# namespace (ip netns as root, else unshare -rn) and runs vmrun there.
# HOSTILE_STORM=N sets the storm's notifications (default 1000000, or
# 200000 when meson says the build is sanitized: VMRUN_SANITIZED=1);
# HOSTILE_KEEP=DIR keeps the guest's output, vmrun's log and configs there.
set -u
build=$(cd "${1:?usage: hostile.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip (iproute2)"; exit 77; }
vmrun=$build/vmrun
storm_default=1000000
[ "${VMRUN_SANITIZED:-0}" = 1 ] && storm_default=200000
storm=${HOSTILE_STORM:-$storm_default}
work=$(mktemp -d)
ns=vmrun-hostile-$$
tap=hostile0
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	[ "$(id -u)" = 0 ] && ip netns del "$ns" 2>/dev/null
	[ -n "${HOSTILE_KEEP:-}" ] && cp -r "$work/." "$HOSTILE_KEEP/"
	rm -rf "$work"
}
trap cleanup EXIT

# in_ns CMD...: CMD inside the test's network namespace, which has the tap.
if [ "$(id -u)" = 0 ]; then
	ip netns add "$ns" || { echo "skip: cannot create a network namespace"; exit 77; }
	ip netns exec "$ns" ip tuntap add dev "$tap" mode tap &&
		ip netns exec "$ns" ip link set "$tap" up ||
		{ echo "skip: cannot create a tap"; exit 77; }
	in_ns() { ip netns exec "$ns" "$@"; }
else
	unshare -rn ip tuntap add dev "$tap" mode tap 2>/dev/null ||
		{ echo "skip: cannot create a tap in a user and network namespace"; exit 77; }
	in_ns() {
		unshare -rn sh -c 'ip tuntap add dev "$0" mode tap && ip link set "$0" up && exec "$@"' \
			"$tap" "$@"
	}
fi

truncate -s 1M "$work/disk.img"
cat >"$work/hostile.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/hostile.elf",
                   "boot_args": "storm=$storm" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "d0", "path_on_host": "$work/disk.img",
                "is_root_device": false, "is_read_only": false,
                "io_engine": "Async" } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "$tap",
                            "guest_mac": "06:00:ac:10:00:02" } ],
  "entropy": {},
  "vmrun": { "serial": { "output": "file", "path": "$work/serial.out" },
             "virtio-console": { "output": "stdout", "input": true } }
}
JSON

# thread_cpu PID: "TID TICKS" (utime + stime) per thread of PID.
thread_cpu() {
	local t s
	for t in /proc/"$1"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		echo "${t##*/} $((${12} + ${13}))"
	done
}

# wait_line PATTERN SECONDS: until the serial output has PATTERN or vmrun
# has ended; 0 if the line came.
wait_line() {
	local i
	for ((i = 0; i < $2 * 50; i++)); do
		grep -q -- "$1" "$work/serial.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# stdin is a FIFO the script keeps open (epoll cannot watch a regular
# file): the storm's handshake and the echo's input go through it.  The
# shell records vmrun's own pid (ip netns exec forks).
mkfifo "$work/in"
exec 3<>"$work/in"
in_ns sh -c 'echo $$ >"$0"; exec "$@"' "$work/pid" "$vmrun" \
	"$work/hostile.json" <"$work/in" >"$work/console.out" 2>"$work/err" &
runner=$!
for ((i = 0; i < 500; i++)); do
	[ -s "$work/pid" ] && break
	sleep 0.01
done
pid=$(cat "$work/pid" 2>/dev/null)
[ -n "$pid" ] || { not_ok "hostile: vmrun starts" "no pid"; summary; exit 1; }
# The guest waits for a line after "storm: ready" and after "storm: end":
# the samples bracket the storm exactly.
storm_ok=
if [ "$storm" != 0 ] && wait_line 'storm: ready' 300; then
	thread_cpu "$pid" >"$work/cpu0"
	echo go >&3
	if wait_line 'storm: end' 300; then
		thread_cpu "$pid" >"$work/cpu1"
		storm_ok=1
	fi
	echo done >&3
	wait_line 'rng: notify-storm' 60
fi
echo hostile-ping >&3
for ((i = 0; i < 300 * 10; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	not_ok "vmrun ends within 300 s" "still running; killed"
	kill -9 "$pid"
fi
wait "$runner"
rc=$?
pid=
exec 3>&-

expect "hostile: exit status 0 (every check passed, vmrun survived)" 0 "$rc"
# On failure: vmrun's log without its (rate-limited) warnings about the
# attacks, which ends in the reason and a register dump for a crash, and
# the check the guest was in.
if [ "$rc" != 0 ]; then
	echo "    vmrun's log, $(grep -c ': warning: ' "$work/err") warnings left out:"
	grep -v ': warning: ' "$work/err" | tail -n 40 | sed 's/^/    | /'
	echo "    the guest's last lines:"
	tail -n 5 "$work/serial.out" 2>/dev/null | sed 's/^/    | /'
fi
checks="works mmio-reads mmio-writes features-never-offered queue-size
notify-early ring-outside-ram works-after-sweeps"
ring_checks="desc-loop reset-in-flight indirect buffers-outside-ram"
for dev in net blk console rng; do
	for c in $checks; do
		expect_grep "hostile: $dev: $c" "^vmrun-firmware: hostile: $dev: $c: ok\$" \
			"$work/serial.out"
	done
	[ "$dev" = blk ] && continue
	for c in $ring_checks; do
		expect_grep "hostile: $dev: $c" "^vmrun-firmware: hostile: $dev: $c: ok\$" \
			"$work/serial.out"
	done
done
for c in pio-sweep mmio-sweep "console: echo"; do
	expect_grep "hostile: $c" "^vmrun-firmware: hostile: $c: ok\$" "$work/serial.out"
done
if grep -q FAILED "$work/serial.out"; then
	not_ok "hostile: no FAILED line" "$(grep FAILED "$work/serial.out")"
else
	ok "hostile: no FAILED line"
fi
expect_grep "hostile: the console printed through its transmit queue" \
	'^vmrun-firmware: hostile: console works$' "$work/console.out"
expect_grep "hostile: the console echoed the host's input" \
	'^vmrun-firmware: hostile: echo: hostile-ping$' "$work/console.out"
if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$work/err"; then
	not_ok "hostile: no sanitizer report" "see below"
	sed 's/^/    | /' "$work/err" | head -n 40
else
	ok "hostile: no sanitizer report"
fi
lines=$(wc -l <"$work/err")
expect "hostile: vmrun's log stays short (rate-limited: $lines lines)" yes \
	"$([ "$lines" -le 120 ] && echo yes || echo no)"

# The storm: the busiest thread is the vCPU making it (its KVM exits are
# the guest's work); everything else vmrun did meanwhile (the event loop
# serving the kicks) must not exceed it.
if [ "$storm" != 0 ]; then
	if [ -n "$storm_ok" ]; then
		join <(sort "$work/cpu0") <(sort "$work/cpu1") |
			awk -v kicks="$storm" -v hz="$(getconf CLK_TCK)" '
		{ d = $3 - $2; if (d > max) { max = d }; sum += d }
		END {
			other = sum - max
			printf "hostile: storm of %d kicks: vCPU %.2f s, other threads %.2f s (ratio %.3f)\n",
				kicks, max / hz, other / hz, max ? other / max : 0
			exit !(max > 0 && other <= max)
		}' >"$work/storm"
		src=$?
		cat "$work/storm"
		[ "$src" = 0 ] || { echo "threads (tid ticks) at begin and end:"; \
			cat "$work/cpu0" "$work/cpu1"; grep storm "$work/serial.out"; }
		expect "hostile: a notification storm costs vmrun's other threads at most the vCPU's time" 0 "$src"
	else
		not_ok "hostile: storm measured" "no storm ready/end lines"
	fi
fi
summary
