#!/bin/bash
# net-loop.sh BUILD_DIR - boots the test guest again and again, alternately
# under vmrun and under QEMU (userspace virtio-net on the same tap), each boot
# moving VMRUN_NET_MIB MiB each way with busybox nc, and reports per boot the
# guest-timed MB/s, the KVM exits and interrupt injections it cost (per MiB),
# and any guest shutdown (triple fault).  Runs inside the lab box (root, KVM,
# tun, ip, QEMU as payloads: tests/integration/net-loop-box.sh).  The kvm
# trace events stay on in an overwriting ring buffer; when a guest shuts down
# its last events are printed and saved to $BOX_OUT/fault-N.trace.
#
# Knobs: VMRUN_LOOP_SECS (1800) no new round after this, VMRUN_LOOP_ROUNDS
# (1000) at most this many rounds, VMRUN_LOOP_VMMS ("vmrun qemu") the order
# inside a round, VMRUN_LOOP_TRACE (1) keep the ring buffer, VMRUN_NET_MIB
# (100), VMRUN_LOOP_VCPUS (2), VMRUN_LOOP_ZAP (0) every this many seconds
# during a boot toggle kvm.nx_huge_pages, which makes KVM drop every nested
# page table entry of every VM (kvm_mmu_zap_all_fast): an amplifier for
# faults that need a nested page fault at a bad moment (both VMMs alike).
set -u
build=$(cd "${1:?usage: net-loop.sh BUILD_DIR}" && pwd)
guest=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
vmrun=$build/vmrun
work=$(mktemp -d)
out=${BOX_OUT:-$work}
NS="vmrun-t"
MIB=${VMRUN_NET_MIB:-100}
SECS=${VMRUN_LOOP_SECS:-1800}
ROUNDS=${VMRUN_LOOP_ROUNDS:-1000}
VMMS=${VMRUN_LOOP_VMMS:-vmrun qemu}
TRACE=${VMRUN_LOOP_TRACE:-1}
VCPUS=${VMRUN_LOOP_VCPUS:-2}
ZAP=${VMRUN_LOOP_ZAP:-0}
NX=/sys/module/kvm/parameters/nx_huge_pages
MAC0=52:54:00:12:34:56
T=/sys/kernel/tracing
BASE_ARGS="console=ttyS0 reboot=k panic=-1 pci=off nomodeset i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd io_delay=none tsc=reliable no_timer_check 8250.nr_uarts=1 quiet"
OPS="vmrun.scenario=net vmrun.nics=$MAC0/10.0.2.2/10.0.2.1 vmrun.net=ping:0,send:$MIB,ping:0,recv:$MIB,ping:0"

ns() { ip netns exec "$NS" "$@"; }
mval() { sed -n "s/^VMRUN-GUEST: $2=//p" "$work/$1.out" | tr -d '\r' | tail -n 1; }
gen() { local n; for ((n = 0; n < $1; n++)); do cat "$work/block"; done; }
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

[ -d /run ] || mkdir -p /run
ip netns del "$NS" 2>/dev/null
ip netns add "$NS" && ns ip link set lo up && ns ip tuntap add dev vmtap0 mode tap &&
	ns ip addr add 10.0.2.1/24 dev vmtap0 && ns ip link set vmtap0 up || exit 1
mkfifo "$work/hold"
dd if=/dev/urandom of="$work/block" bs=1M count=1 2>/dev/null
HOST_MD5=$(gen "$MIB" | md5sum | cut -d' ' -f1)

# Tracing: hist triggers count exits by reason and the injections; the
# ring buffer keeps the last events for a post-mortem.
[ -d $T/events ] || mount -t tracefs nodev $T || { echo "no tracefs"; exit 1; }
HISTS="kvm_exit:exit_reason,intr_info kvm_userspace_exit:reason kvm_set_irq:gsi kvm_inj_virq:vector"
hist_on() {
	local h
	for h in $HISTS; do echo "hist:keys=${h#*:}" >"$T/events/kvm/${h%%:*}/trigger"; done
}
hist_off() {
	local h
	for h in $HISTS; do echo "!hist:keys=${h#*:}" >"$T/events/kvm/${h%%:*}/trigger" 2>/dev/null; done
}
# hist_dump EVENT: "key=count ..." from the event's histogram.
hist_dump() {
	awk '/^\{.*hitcount:/ { gsub(/[{}:,]/, " "); printf "%s=%s ", $2, $4 }' "$T/events/kvm/$1/hist"
}
if [ "$TRACE" = 1 ]; then
	echo 2048 >$T/buffer_size_kb
	for e in kvm_exit kvm_inj_virq kvm_inj_exception kvm_userspace_exit kvm_set_irq kvm_nested_vmexit kvm_nested_vmrun kvm_nested_intr_vmexit kvm_nested_vmexit_inject; do
		[ -d $T/events/kvm/$e ] && echo 1 >$T/events/kvm/$e/enable
	done
	echo 1 >$T/tracing_on
fi

vmrun_cfg() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz",
                   "boot_args": "$BASE_ARGS vmrun.exit=0xd0000000 $OPS" },
  "machine-config": { "vcpu_count": $VCPUS, "mem_size_mib": 256 },
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "vmtap0", "guest_mac": "$MAC0" } ],
  "entropy": {}
}
JSON
	echo "$work/$1.json"
}

# qemu_cmd: QEMU's argv in QEMU[].
qemu_cmd() {
	# shellcheck disable=SC2054 # commas inside QEMU option values
	QEMU=(qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 -smp "$VCPUS" \
		-kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
		-netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no \
		-device "virtio-net-device,netdev=n0,mac=$MAC0" \
		-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-device,rng=rng0 \
		-display none -serial stdio -monitor none -no-reboot -nodefaults \
		-append "$BASE_ARGS $OPS")
}

# VMMs: vmrun (BUILD_DIR), vmrunb (VMRUN_LOOP_BUILD2), qemu.
declare -A VMRUNS=([vmrun]=$vmrun [vmrunb]=${VMRUN_LOOP_BUILD2:-$vmrun}/vmrun)
faults=0
# one NAME VMM: one boot; prints its line.
one() {
	local name=$1 vmm=$2 l1 l2 t0 t1 ex us irq inj sd ok g h
	rm -f "$work/$name.g2h"
	(ns timeout 900 nc -l -p 5001 0<>"$work/hold" | md5sum | cut -d' ' -f1 >"$work/$name.g2h") &
	l1=$!
	(gen "$MIB" | ns timeout 900 nc -l -p 5002 >/dev/null) &
	l2=$!
	hist_off
	hist_on
	[ "$TRACE" = 1 ] && echo >$T/trace
	t0=$(cut -d' ' -f1 /proc/uptime)
	zp=
	if [ "$ZAP" != 0 ]; then
		(while :; do sleep "$ZAP"; echo force >$NX; sleep "$ZAP"; echo off >$NX; done) &
		zp=$!
	fi
	if [ "$vmm" != qemu ]; then
		ns timeout 900 "${VMRUNS[$vmm]}" "$(vmrun_cfg "$name")" >"$work/$name.out" 2>"$work/$name.err" </dev/null
	else
		qemu_cmd
		ns timeout 900 "${QEMU[@]}" >"$work/$name.out" 2>"$work/$name.err" </dev/null
	fi
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	[ -n "$zp" ] && { kill "$zp"; wait "$zp" 2>/dev/null; echo off >$NX; }
	[ "$TRACE" = 1 ] && echo 0 >$T/tracing_on
	# exit_int_info valid (bit 31): the exit interrupted an event delivery
	# (the event is reinjected by KVM); counted by exit reason.
	ex=$(awk '/^\{.*hitcount:/ { gsub(/[{}:,]/, " "); n[$2] += $6; if ($4 >= 2147483648) { v[$2] += $6; vi[$2 "/" $4] += $6 } }
		END { for (k in n) printf "%s=%s ", k, n[k]; printf "| in-delivery: "; for (k in vi) printf "%s=%s ", k, vi[k] }' "$T/events/kvm/kvm_exit/hist")
	us=$(hist_dump kvm_userspace_exit)
	irq=$(hist_dump kvm_set_irq)
	inj=$(awk '/^Totals:/ { t = 1 } t && /Hits:/ { print $2 }' "$T/events/kvm/kvm_inj_virq/hist")
	inj=$(hist_dump kvm_inj_virq)
	sleep 1
	# A listener left by a failed boot is gone before the next boot
	# starts, or that boot's guest connects to it and its md5 goes to the
	# wrong file.
	pkill -P "$l1" 2>/dev/null
	pkill -P "$l2" 2>/dev/null
	wait "$l1" "$l2" 2>/dev/null
	g=$(mval "$name" send_mbs) h=$(mval "$name" recv_mbs)
	ok=yes
	[ "$(mval "$name" sent_md5)" = "$(cat "$work/$name.g2h" 2>/dev/null)" ] ||
		{ ok=no; g="-(host md5 $(cat "$work/$name.g2h" 2>/dev/null))"; }
	[ "$(mval "$name" recv_md5)" = "$HOST_MD5" ] || { ok=no; h=-; }
	grep -q '^VMRUN-GUEST: verdict=PASS' "$work/$name.out" || ok=no
	# SVM exit 0x7f (127) is SHUTDOWN: a triple fault, whichever VMM.
	sd=$(echo "${ex%%|*}" | tr ' ' '\n' | sed -n 's/^127=//p')
	echo "# loop: $name vmm=$vmm rc=$rc ok=$ok shutdown=${sd:-0} g2h=$g h2g=$h secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')"
	echo "#   exits: $ex"
	echo "#   userspace: $us"
	echo "#   set_irq: $irq inj_virq: $inj"
	echo "#   guest rx/tx packets after ping, send, recv: $(sed -n 's/^VMRUN-GUEST: pkts0=//p' "$work/$name.out" | tr -d '\r' | tr '\n' ' ')"
	# QEMU's guest keeps running after its ACPI power-off request and can
	# end in the kernel's reset fallback: a shutdown after the verdict and
	# "reboot: Power down" is the guest's own, not a fault.
	if [ "${sd:-0}" != 0 ] && grep -q 'reboot: Power down' "$work/$name.out"; then
		echo "#   (the shutdown came after the guest's power-off: not counted)"
		sd=0
	fi
	if [ "${sd:-0}" != 0 ] || grep -q 'triple fault' "$work/$name.err" || [ "$ok" = no ]; then
		faults=$((faults + 1))
		echo "#   FAILURE $faults: tail of stderr and console"
		tail -n 20 "$work/$name.err" | sed 's/^/    err| /'
		tail -n 10 "$work/$name.out" | sed 's/^/    out| /'
		cp "$work/$name.out" "$out/fail-$faults-$name.out" 2>/dev/null
		cp "$work/$name.err" "$out/fail-$faults-$name.err" 2>/dev/null
		if [ "$TRACE" = 1 ]; then
			cp $T/trace "$out/fault-$faults-$name.trace" 2>/dev/null
			grep -v '^#' $T/trace | tail -n 60 | sed 's/^/    trace| /'
		fi
	fi
	[ "$TRACE" = 1 ] && echo 1 >$T/tracing_on
}

start=$(cut -d' ' -f1 /proc/uptime)
for ((r = 1; r <= ROUNDS; r++)); do
	now=$(cut -d' ' -f1 /proc/uptime)
	awk -v a="$start" -v b="$now" -v s="$SECS" 'BEGIN { exit !(b - a < s) }' || break
	for v in $VMMS; do one "$v$r" "$v"; done
done
echo "# loop: done, $((r - 1)) rounds, $faults failures"
