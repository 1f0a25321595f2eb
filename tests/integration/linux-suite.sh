#!/bin/bash
# linux-suite.sh BUILD_DIR - boots the Debian cloud kernel with the test
# initramfs (tests/guest) under vmrun and checks what the guest did.  Needs
# a /dev/kvm with hardware virtualization: run it through tests/lab/box.sh
# (tests/integration/linux.sh does).  Prints "N passed, M failed".
set -u
build=$(cd "${1:?usage: linux-suite.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

guest=${VMRUN_CACHE:-$HOME/.cache/vmrun}/guest
vmrun=$build/vmrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
# Sanitizer builds: any report fails the run (checked in boot() too).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The default command line of vmrun plus the test guest's parameters.
BASE_ARGS="console=ttyS0 reboot=k panic=-1 pci=off nomodeset i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd io_delay=none tsc=reliable no_timer_check 8250.nr_uarts=1 quiet vmrun.exit=0xd0000000"

# config NAME VCPUS MEM_MIB [BOOT_ARGS]: writes $work/NAME.json; with no
# BOOT_ARGS the key is left out so vmrun's default command line is used.
config() {
	local args=""
	[ $# -ge 4 ] && args=", \"boot_args\": \"$4\""
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$guest/vmlinuz",
                   "initrd_path": "$guest/initramfs.cpio.gz"$args },
  "machine-config": { "vcpu_count": $2, "mem_size_mib": $3 }
}
JSON
	echo "$work/$1.json"
}

# boot NAME CONFIG: runs vmrun; output in $work/NAME.out/.err, status in RC,
# wall time in ms in MS (now_ms of lib.sh: busybox date has no %N).

# Seconds a boot may take before it counts as stalled: a boot takes 5-40 s
# in the lab's box (ASan included), and linux() in tests/run-all.sh gives
# the whole suite 480.
BOOT_BOUND=180
boot() {
	local t0 t1
	t0=$(now_ms)
	timeout "$BOOT_BOUND" "$vmrun" "$2" >"$work/$1.out" 2>"$work/$1.err" </dev/null
	RC=$?
	t1=$(now_ms)
	MS=$((t1 - t0))
	echo "# $1: exit $RC in $MS ms"
	# Killed by the bound (timeout's SIGTERM: vmrun exits 143): a stalled
	# guest, a failed check like any other (never retried).
	if [ "$MS" -ge $((BOOT_BOUND * 1000 - 1000)) ] &&
		{ [ "$RC" = 143 ] || [ "$RC" = 124 ]; }; then
		echo "=== BOUND: $1: vmrun still ran after $BOOT_BOUND s and was killed"
		tail -n 3 "$work/$1.out" 2>/dev/null | sed 's/^/    last| /'
	fi
	# No boot here expects 1 (vmrun failed) or 4 (guest crash): show the end of
	# vmrun's log, the register dump with it, so the failure can be read.
	if [ "$RC" = 1 ] || [ "$RC" = 4 ]; then
		tail -n 20 "$work/$1.err" | sed 's/^/    err| /'
	fi
	no_sanitizer_report "$1" "$work/$1.err"
}

# no_sanitizer_report NAME FILE: fails NAME if FILE has an ASan/UBSan report.
no_sanitizer_report() {
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$2"; then
		not_ok "$1: sanitizer report" "see below"
		sed 's/^/    | /' "$2" | head -n 40
	fi
}

boot default "$(config default 1 256)"
expect "default command line: poweroff exits 0" 0 "$RC"
expect_grep "default command line: reaches userspace" \
	'^VMRUN-GUEST: userspace' "$work/default.out"
# The guest's CPU as on hardware (and on a faithful box, docs/lab.md): the
# kernel keeps XSAVE, its xstate size check passes, and vmrun's CPUID
# offers the TSC-deadline timer that KVM's LAPIC emulates.
expect_grep "CPU: XSAVE is on in the guest" '^VMRUN-GUEST: xsave=on' "$work/default.out"
expect_grep "CPU: no xstate size warning in the guest's log" \
	'^VMRUN-GUEST: xstate_warnings=0' "$work/default.out"
expect_grep "CPU: the guest has the TSC-deadline timer" \
	'^VMRUN-GUEST: tsc_deadline=on' "$work/default.out"

for n in 1 2 4; do
	boot "cpus$n" "$(config "cpus$n" "$n" 256 "$BASE_ARGS")"
	expect "$n vCPUs: exit 0" 0 "$RC"
	expect_grep "$n vCPUs: guest nproc is $n" \
		"^VMRUN-GUEST: userspace nproc=$n " "$work/cpus$n.out"
done

boot mem128 "$(config mem128 1 128 "$BASE_ARGS")"
kb=$(sed -n 's/^VMRUN-GUEST: userspace .*memtotal_kb=\([0-9]*\).*/\1/p' "$work/mem128.out")
expect "128 MiB: MemTotal between 80 and 128 MiB" yes \
	"$([ "${kb:-0}" -gt 81920 ] && [ "${kb:-0}" -le 131072 ] && echo yes || echo "no ($kb kB)")"

# 6 GiB is more than the lab box's MemTotal (3 GiB): vmrun refuses that
# unless the config allows overcommit (the guest touches little of it).
sed 's/^{$/{ "vmrun": { "allow-overcommit": true },/' \
	"$(config mem6g 2 6144 "$BASE_ARGS")" >"$work/mem6g-oc.json"
boot mem6g "$work/mem6g-oc.json"
kb=$(sed -n 's/^VMRUN-GUEST: userspace .*memtotal_kb=\([0-9]*\).*/\1/p' "$work/mem6g.out")
expect "6 GiB: MemTotal above 5.5 GiB (RAM above 4 GiB is seen)" yes \
	"$([ "${kb:-0}" -gt 5767168 ] && [ "${kb:-0}" -le 6291456 ] && echo yes || echo "no ($kb kB)")"

# The ELF vmlinux with its PVH note: entered through PVH, not the bzImage.
sed "s|$guest/vmlinuz|$guest/vmlinux|" "$(config pvh 2 256 "$BASE_ARGS vmrun.scenario=exitcode vmrun.code=11")" >"$work/pvh2.json"
boot pvh "$work/pvh2.json"
expect "vmlinux (PVH entry): boots, exit 11" 11 "$RC"
expect_grep "vmlinux (PVH entry): 2 CPUs" '^VMRUN-GUEST: userspace nproc=2 ' "$work/pvh.out"

for code in 0 7; do
	boot "exit$code" "$(config "exit$code" 1 128 "$BASE_ARGS vmrun.scenario=exitcode vmrun.code=$code")"
	expect "debug-exit $code is vmrun's exit status" "$code" "$RC"
done

boot poweroff "$(config poweroff 1 128 "$BASE_ARGS vmrun.scenario=poweroff")"
expect "guest poweroff: exit 0" 0 "$RC"

boot reboot "$(config reboot 1 128 "$BASE_ARGS vmrun.scenario=reboot")"
expect "guest reboot: exit 0" 0 "$RC"
expect_grep "guest reboot: logged" 'rebooted' "$work/reboot.err"

# The panic writes a crash dump (vmrun.crash-dump, docs/crash-dump.md), with
# 2 vCPUs so that it waits for both; the reader finds the panic in it.
cfg=$(config panic 2 128 "$BASE_ARGS vmrun.scenario=panic")
sed -i "s|\"mem_size_mib\": 128 }|&,\n  \"vmrun\": { \"crash-dump\": \"$work/panic.core\" }|" "$cfg"
boot panic "$cfg"
expect "guest panic: exit 3 (pvpanic)" 3 "$RC"
expect_grep "guest panic: logged" 'panicked' "$work/panic.err"
expect_grep "crash dump: written, both vCPUs' registers" \
	"crash dump written to '$work/panic.core': .* registers of 2 of 2 vCPUs" "$work/panic.err"
python3 "$here/../tools/crash-log.py" --notes --idt -n 60 "$work/panic.core" >"$work/panic.log" 2>&1
expect "crash dump: crash-log.py reads the guest kernel's log" 0 "$?"
expect_grep "crash dump: the guest kernel's panic line" \
	'\] Kernel panic - not syncing: sysrq triggered crash' "$work/panic.log"
expect_grep "crash dump: vcpu1's registers" '^note CORE: vcpu1 rip=' "$work/panic.log"
# The IDT check that tells an overwritten IDT from a failed delivery
# (net-suite.sh's crash_report) holds on a real guest's intact IDT.
expect_grep "crash dump: the guest's IDT reads as a Linux kernel's" \
	'^# idt: [0-9]+ of 256 gates present, 0 unlike a Linux kernel' "$work/panic.log"
expect_grep "crash dump: vmrun's note names the panic" \
	'^note VMRUN: reason: guest kernel panicked \(pvpanic\)' "$work/panic.log"
rm -f "$work/panic.core"

# SIGTERM while the guest idles: stopped, non-zero, terminal untouched.
cfg=$(config idle 1 128 "$BASE_ARGS vmrun.scenario=idle")
"$vmrun" "$cfg" >"$work/idle.out" 2>"$work/idle.err" </dev/null &
pid=$!
for _ in $(seq 1 600); do
	grep -q 'action=idle' "$work/idle.out" 2>/dev/null && break
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
expect "SIGTERM: exit 143" 143 "$?"
no_sanitizer_report idle "$work/idle.err"

# A bad config: exit 2 and one line naming the key, before any VM exists.
printf '{"boot-source":{"kernel_image_path":"%s"},"machine-config":{"vcpu_count":"two","mem_size_mib":128}}' \
	"$guest/vmlinuz" >"$work/bad.json"
"$vmrun" "$work/bad.json" >"$work/bad.out" 2>"$work/bad.err"
expect "bad config: exit 2" 2 "$?"
expect_grep "bad config: names the key" \
	'machine-config.vcpu_count: expected an integer' "$work/bad.err"

# Two VMs in one process through libvmrun.
a=$(config vma 1 128 "$BASE_ARGS vmrun.scenario=exitcode vmrun.code=5")
b=$(config vmb 2 128 "$BASE_ARGS vmrun.scenario=exitcode vmrun.code=6")
timeout 300 "$build/tests/integration/two_vms" "$a" "$b" >"$work/two.out" 2>"$work/two.err"
expect "two VMs in one process: both ran" 0 "$?"
no_sanitizer_report two_vms "$work/two.err"
expect_grep "two VMs: first exits 5" '^vm0: ret=0 reason=debug-exit status=5' "$work/two.out"
expect_grep "two VMs: second exits 6" '^vm1: ret=0 reason=debug-exit status=6' "$work/two.out"

summary
