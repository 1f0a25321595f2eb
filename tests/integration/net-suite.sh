#!/bin/bash
# net-suite.sh [--bench] BUILD_DIR - virtio-net, virtio-console and virtio-rng
# checks with the test guest (tests/guest, scenarios net, console, rng).
# Needs root, a real /dev/kvm, tun and iproute2's ip: run it through
# tests/lab/box.sh (tests/integration/net.sh does).  All traffic stays in the
# network namespace the suite creates (vmrun-t, taps vmtap0 10.0.2.1/24 and
# vmtap1 10.0.3.1/24); vmrun and QEMU run inside it.  With --bench it also
# times TCP transfers under vmrun and QEMU (userspace virtio-net on the same
# tap), alternately.  Prints "N passed, M failed" and "# bench:" lines.
set -u
bench=0
[ "${1:-}" = --bench ] && { bench=1; shift; }
build=$(cd "${1:?usage: net-suite.sh [--bench] BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip (iproute2)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (network namespaces, taps)"; exit 77; }
guest=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
vmrun=$build/vmrun
work=$(mktemp -d)
NS="vmrun-t"
MIB=${VMRUN_NET_MIB:-100}
# Bound of a transferring boot: the box's nested guests move 0.1-4 MB/s
# depending on the box's CPUs and the host's load (in a one-CPU box the
# guest sends at 0.1-0.4 MB/s, under vmrun and QEMU alike: docs/lab.md).
XFER_T=${VMRUN_NET_TIMEOUT:-$((300 + 8 * MIB))}
# Bound of the virtio-rng boot: the guest's driver fetches a few hundred
# bytes per request, so 1 MiB is thousands of round trips (20-35 KB/s in
# the box, far less at load 20).
RNG_T=${VMRUN_RNG_TIMEOUT:-420}
# vCPUs of the network boots.
VCPUS=${VMRUN_NET_VCPUS:-2}
# VMRUN_NET_CPUS=LIST: the network boots' VMM runs on those CPUs (taskset).
PIN=()
[ -n "${VMRUN_NET_CPUS:-}" ] && PIN=(taskset -c "$VMRUN_NET_CPUS")
# Bound of the other boots. All bounds together (700 + 240 + 60 + 420 + 240
# s at 100 MiB) stay inside net.sh's box timeout (1800 s), so a slow suite
# still reports which boot was slow instead of ending in a box timeout.
BOOT_T=240
MAC0=52:54:00:12:34:56
MAC1=52:54:00:12:34:57

BASE_ARGS="console=ttyS0 reboot=k panic=-1 pci=off nomodeset i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd io_delay=none tsc=reliable no_timer_check 8250.nr_uarts=1 quiet"
EXIT_ARG="vmrun.exit=0xd0000000"

cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# mval NAME KEY: the value of marker KEY in $work/NAME.out (CR stripped).
mval() { sed -n "s/^VMRUN-GUEST: $2=//p" "$work/$1.out" | tr -d '\r' | tail -n 1; }

# wait_marker NAME KEY SECS PID: waits for marker KEY while PID runs.
wait_marker() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "^VMRUN-GUEST: $2=" "$work/$1.out" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

no_sanitizer_report() {
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$2"; then
		not_ok "$1: sanitizer report" "see below"
		sed 's/^/    | /' "$2" | head -n 40
	fi
}

# setup_ns: the namespace, its loopback and the two taps with the host addresses.
setup_ns() {
	ip netns del "$NS" 2>/dev/null
	# The box has no /run; ip keeps its namespace handles there.
	[ -d /run ] || mkdir -p /run
	ip netns add "$NS" || return 1
	ns ip link set lo up || return 1
	ns ip tuntap add dev vmtap0 mode tap || return 1
	ns ip tuntap add dev vmtap1 mode tap || return 1
	ns ip addr add 10.0.2.1/24 dev vmtap0 || return 1
	ns ip addr add 10.0.3.1/24 dev vmtap1 || return 1
	ns ip link set vmtap0 up && ns ip link set vmtap1 up
}

# gen MIB: the host's test stream, its random MiB ($work/block) MIB times.
gen() {
	local n
	for ((n = 0; n < $1; n++)); do cat "$work/block"; done
}

# net_config NAME NICS ARGS: a config with NICS interfaces (1 or 2) and an
# entropy device, boot_args BASE_ARGS+EXIT_ARG+ARGS.
net_config() {
	local nics='{ "iface_id": "eth0", "host_dev_name": "vmtap0", "guest_mac": "'$MAC0'" }'
	[ "$2" = 2 ] && nics="$nics,"'{ "iface_id": "eth1", "host_dev_name": "vmtap1", "guest_mac": "'$MAC1'" }'
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz",
                   "boot_args": "$BASE_ARGS $EXIT_ARG $3" },
  "machine-config": { "vcpu_count": $VCPUS, "mem_size_mib": 256 },
  "network-interfaces": [ $nics ],
  "entropy": {}
}
JSON
	echo "$work/$1.json"
}

# bound_note NAME SECS [OUT]: after a boot, says loudly when its time bound
# killed the VMM (RC 124 from timeout): a stalled guest, whose checks then
# fail (never retried: docs/lab.md, "What CI retries").
bound_note() {
	[ "$RC" = 124 ] || return 0
	echo "=== BOUND: $1: the VMM still ran after $2 s and was killed"
	tail -n 3 "${3:-$work/$1.out}" 2>/dev/null | sed 's/^/    last| /'
}

# net_run NAME VMM-ARGS...: runs the VMM in the namespace with the host side
# of the scenario "net" (ping:0,send,recv,token): nc listeners on 10.0.2.1
# ports 5001 (receives, md5 in $work/NAME.g2h) and 5002 (sends gen $MIB), a
# ping of 10.0.2.2 once the guest is up (status in PING_RC) and the token.
# Sets RC (the VMM's exit status).
net_run() {
	local name=$1 pid i
	shift
	rm -f "$work/$name.g2h"
	(ns timeout "$XFER_T" nc -l -p 5001 0<>"$work/hold" | md5sum | cut -d' ' -f1 >"$work/$name.g2h") &
	(gen "$MIB" | ns timeout "$XFER_T" nc -l -p 5002 >/dev/null) &
	# vmrun writes a crash dump, which crash_report reads.
	[ "$1" = "$vmrun" ] && set -- "$1" --crash-dump "$work/$name.core" "${@:2}"
	ns timeout "$XFER_T" "${PIN[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
	pid=$!
	PING_RC=none
	if wait_marker "$name" net_up 120 "$pid"; then
		ns ping -c 3 -w 20 10.0.2.2 >"$work/$name.ping" 2>&1
		PING_RC=$?
	fi
	if wait_marker "$name" recv_md5 "$XFER_T" "$pid"; then
		for ((i = 0; i < 120; i++)); do
			kill -0 "$pid" 2>/dev/null || break # the guest is gone
			echo "token-$name" | ns timeout 10 nc 10.0.2.2 5003 >/dev/null 2>&1 && break
			sleep 0.5
		done
	fi
	wait "$pid"
	RC=$?
	for ((i = 0; i < 50; i++)); do [ -s "$work/$name.g2h" ] && break; sleep 0.1; done
	echo "# $name: exit $RC"
	bound_note "$name" "$XFER_T"
	[ "$RC" = 0 ] || { sed 's/^/    err| /' "$work/$name.err" | tail -n 15; tail -n 5 "$work/$name.out" | sed 's/^/    out| /'; }
	no_sanitizer_report "$name" "$work/$name.err"
	crash_report "$name"
}

# crash_report NAME: after a guest crash, what its dump shows
# (docs/crash-dump.md): the guest kernel's last log lines, and whether the
# IDT its CPUs load is intact (docs/lab.md, "Explaining a guest crash").
crash_report() {
	[ -s "$work/$1.core" ] || return 0
	echo "# $1: the guest crashed; its dump:"
	python3 "$here/../tools/crash-log.py" --notes --idt -n 25 "$work/$1.core" 2>&1 |
		sed 's/^/    dump| /'
	rm -f "$work/$1.core"
}

NET_OPS="vmrun.scenario=net vmrun.nics=$MAC0/10.0.2.2/10.0.2.1 vmrun.net=ping:0,send:$MIB,recv:$MIB,token"

# check_net_run NAME WHAT: the checks of one net_run.
check_net_run() {
	local n=$1 w=$2
	expect "$w: exit 0" 0 "$RC"
	expect_grep "$w: guest verdict PASS" '^VMRUN-GUEST: verdict=PASS' "$work/$n.out"
	expect "$w: an interface has guest_mac $MAC0" yes "$([ -n "$(mval "$n" nic0)" ] && [ "$(mval "$n" nic0)" != none ] && echo yes || echo no)"
	expect "$w: ping host->guest" 0 "$PING_RC"
	expect "$w: ping guest->host" ok "$(mval "$n" ping0)"
	expect "$w: TCP $MIB MiB guest->host, checksums match" "$(mval "$n" sent_md5)" "$(cat "$work/$n.g2h" 2>/dev/null || echo none)"
	expect "$w: TCP $MIB MiB host->guest, checksums match" "$HOST_MD5" "$(mval "$n" recv_md5)"
	expect "$w: host's token reached the guest" "token-$n" "$(mval "$n" token)"
}

# ratio A B: A/B with two decimals, n/a when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

# qemu_cmd NAME: QEMU (microvm, KVM) with userspace virtio-net on vmtap0, the
# same guest, scenario and MAC (no debug-exit: the guest powers off).
qemu_cmd() {
	echo qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 -smp "$VCPUS" \
		-kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
		-netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no \
		-device "virtio-net-device,netdev=n0,mac=$MAC0" \
		-display none -serial stdio -monitor none -no-reboot -nodefaults
}

# bench_sum NAME: "G2H H2G" MB/s of a run, "- -" for a direction whose
# checksum did not match.
bench_sum() {
	local g=- h=-
	[ -n "$(mval "$1" sent_md5)" ] && [ "$(mval "$1" sent_md5)" = "$(cat "$work/$1.g2h" 2>/dev/null)" ] && g=$(mval "$1" send_mbs)
	[ "$(mval "$1" recv_md5)" = "$HOST_MD5" ] && h=$(mval "$1" recv_mbs)
	echo "$g $h"
}

# run_bench: vmrun and QEMU alternately, VMRUN_NET_BENCH_ROUNDS (2) rounds each.
run_bench() {
	command -v qemu-system-x86_64 >/dev/null || { echo "# bench: no QEMU in the box"; return 0; }
	local r v q vg=0 vh=0 qg=0 qh=0 n=0
	for ((r = 1; r <= ${VMRUN_NET_BENCH_ROUNDS:-2}; r++)); do
		net_run "vb$r" "$vmrun" "$(net_config "vb$r" 1 "$NET_OPS")"
		# shellcheck disable=SC2046  # qemu_cmd prints words
		net_run "qb$r" $(qemu_cmd) -append "$BASE_ARGS $NET_OPS"
		read -r -a v <<<"$(bench_sum "vb$r")"
		read -r -a q <<<"$(bench_sum "qb$r")"
		echo "# bench: round $r: guest->host vmrun ${v[0]} QEMU ${q[0]} MB/s, host->guest vmrun ${v[1]} QEMU ${q[1]} MB/s"
		case "${v[*]} ${q[*]}" in *-*) continue ;; esac
		vg=$(awk -v a="$vg" -v b="${v[0]}" 'BEGIN { print a + b }')
		vh=$(awk -v a="$vh" -v b="${v[1]}" 'BEGIN { print a + b }')
		qg=$(awk -v a="$qg" -v b="${q[0]}" 'BEGIN { print a + b }')
		qh=$(awk -v a="$qh" -v b="${q[1]}" 'BEGIN { print a + b }')
		n=$((n + 1))
	done
	expect "bench: every round moved the data intact under both VMMs" "${VMRUN_NET_BENCH_ROUNDS:-2}" "$n"
	[ "$n" -gt 0 ] || return 0
	echo "# bench: $n rounds of $MIB MiB each way, busybox nc, timed in the guest; vmrun/QEMU" \
		"guest->host $(ratio "$vg" "$qg") (vmrun $(ratio "$vg" "$n") MB/s, QEMU $(ratio "$qg" "$n") MB/s)," \
		"host->guest $(ratio "$vh" "$qh") (vmrun $(ratio "$vh" "$n") MB/s, QEMU $(ratio "$qh" "$n") MB/s)"
}

setup_ns || { echo "not ok - network namespace and taps: cannot create them"; exit 1; }
mkfifo "$work/hold"
dd if=/dev/urandom of="$work/block" bs=1M count=1 2>/dev/null
HOST_MD5=$(gen "$MIB" | md5sum | cut -d' ' -f1)

# 1, 2: one NIC, ping both ways, $MIB MiB each way.
net_run net "$vmrun" "$(net_config net 1 "$NET_OPS")"
check_net_run net "one NIC"
echo "# bench: tcp guest->host $(mval net send_mbs) MB/s, host->guest $(mval net recv_mbs) MB/s (busybox nc, $MIB MiB, vmrun)"

# 3: two NICs, two taps, two subnets: each reaches its own peer, and the
# packets went through its own tap (the host side counts them).
rx0=$(ns cat /sys/class/net/vmtap0/statistics/rx_packets)
rx1=$(ns cat /sys/class/net/vmtap1/statistics/rx_packets)
cfg=$(net_config two 2 "vmrun.scenario=net vmrun.nics=$MAC0/10.0.2.2/10.0.2.1,$MAC1/10.0.3.2/10.0.3.1 vmrun.net=ping:0,ping:1")
ns timeout "$BOOT_T" "$vmrun" "$cfg" >"$work/two.out" 2>"$work/two.err" </dev/null
RC=$?
echo "# two: exit $RC"
bound_note two "$BOOT_T"
no_sanitizer_report two "$work/two.err"
expect "two NICs: exit 0" 0 "$RC"
expect "two NICs: two interfaces, one per guest_mac" yes \
	"$(a=$(mval two nic0) b=$(mval two nic1); [ -n "$a" ] && [ -n "$b" ] && [ "$a" != none ] && [ "$b" != none ] && [ "$a" != "$b" ] && echo yes || echo "no ($a, $b)")"
expect "two NICs: the first reaches 10.0.2.1" ok "$(mval two ping0)"
expect "two NICs: the second reaches 10.0.3.1" ok "$(mval two ping1)"
expect "two NICs: both taps received packets" yes \
	"$(a=$(ns cat /sys/class/net/vmtap0/statistics/rx_packets) b=$(ns cat /sys/class/net/vmtap1/statistics/rx_packets)
	[ $((a - rx0)) -ge 3 ] && [ $((b - rx1)) -ge 3 ] && echo yes || echo "no (+$((a - rx0)), +$((b - rx1)))")"

# 4: a tap that does not exist: exit 2, one line naming it and the fix.
cfg=$(net_config missing 1 "")
sed -i 's/"vmtap0"/"vmtap9"/' "$cfg"
ns timeout 60 "$vmrun" "$cfg" >"$work/missing.out" 2>"$work/missing.err" </dev/null
expect "missing tap: exit 2" 2 "$?"
expect_grep "missing tap: the error names it and says how to create it" \
	"vmtap9.*ip tuntap add" "$work/missing.err"
expect "missing tap: the guest never ran" 0 "$(grep -c VMRUN-GUEST "$work/missing.out")"

# console_config NAME CONSOLE-JSON ARGS: hvc0 as the only console, no serial.
console_config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz",
                   "boot_args": "${BASE_ARGS/console=ttyS0/console=hvc0} $EXIT_ARG $3" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "entropy": {},
  "vmrun": { "serial": { "output": "none" }, "virtio-console": $2 }
}
JSON
	echo "$work/$1.json"
}

# 5a, 6: hvc0 to a file; the guest reads 1 MiB from virtio-rng.
cfg=$(console_config hvcfile '{ "output": "file", "path": "'"$work/hvc.log"'" }' "vmrun.scenario=rng")
timeout "$RNG_T" "$vmrun" "$cfg" >"$work/hvcfile.out" 2>"$work/hvcfile.err" </dev/null
RC=$?
echo "# hvcfile: exit $RC"
bound_note hvcfile "$RNG_T" "$work/hvc.log"
no_sanitizer_report hvcfile "$work/hvcfile.err"
cp "$work/hvc.log" "$work/rng.out" 2>/dev/null
expect "hvc0 only (file): exit 0" 0 "$RC"
expect_grep "hvc0 only (file): the userspace marker in the file" '^VMRUN-GUEST: userspace' "$work/hvc.log"
expect_grep "hvc0 only (file): the verdict in the file" '^VMRUN-GUEST: verdict=PASS' "$work/hvc.log"
expect "hvc0 only (file): nothing on stdout" 0 "$(wc -c <"$work/hvcfile.out")"
expect "virtio-rng: the kernel uses it" yes "$(case $(mval rng rng_current) in virtio*) echo yes ;; *) echo "no ($(mval rng rng_current))" ;; esac)"
expect "virtio-rng: 1 MiB read from /dev/hwrng" 1048576 "$(mval rng rng_bytes)"
expect "virtio-rng: not zeros" yes "$(n=$(mval rng rng_nonzero); [ "${n:-0}" -gt 1040000 ] && echo yes || echo "no ($n non-zero bytes)")"
expect "virtio-rng: a second read differs" no "$(mval rng rng_repeat)"
echo "# bench: virtio-rng $(mval rng rng_kbs) KB/s"

# 5b: hvc0 on stdio; a line written to vmrun's stdin reaches a guest read.
cfg=$(console_config hvcio '{ "output": "stdout" }' "vmrun.scenario=console")
mkfifo "$work/hvc.in"
timeout "$BOOT_T" "$vmrun" "$cfg" <"$work/hvc.in" >"$work/hvcio.out" 2>"$work/hvcio.err" &
pid=$!
exec 9>"$work/hvc.in"
token=typed-$RANDOM$RANDOM
wait_marker hvcio ready 120 "$pid" && echo "$token" >&9
wait "$pid"
RC=$?
exec 9>&-
echo "# hvcio: exit $RC"
bound_note hvcio "$BOOT_T"
no_sanitizer_report hvcio "$work/hvcio.err"
expect "hvc0 only (stdio): exit 0" 0 "$RC"
expect "hvc0 only (stdio): the guest console is hvc0" hvc0 "$(mval hvcio console)"
expect "hvc0 only (stdio): the typed line reached a guest read" "$token" "$(mval hvcio line)"

[ "$bench" = 1 ] && run_bench

summary
