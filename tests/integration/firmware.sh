#!/bin/bash
# firmware.sh BUILD_DIR - boots the freestanding guests of firmware/ under
# vmrun on this host's /dev/kvm (their work runs at CPL3, so this is fast
# even on kvm_pvm) and checks what they printed and their exit status.
set -u
build=$(cd "${1:?usage: firmware.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
vmrun=$build/vmrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fw_config NAME MEM_MIB VCPUS ARGS: a config booting firmware NAME.
# allow-overcommit: the 3.5 GiB guest may exceed the lab box's MemTotal
# (its RAM is reserved lazily and it touches little of it).
fw_config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/$1.elf",
                   "boot_args": "$4" },
  "machine-config": { "vcpu_count": $3, "mem_size_mib": $2 },
  "vmrun": { "serial": { "output": "file", "path": "$work/$1.out" },
             "allow-overcommit": true }
}
JSON
	echo "$work/$1.json"
}

for status in 0 7 42; do
	rm -f "$work/hello.out"
	cfg=$(fw_config hello 64 1 "status=$status")
	timeout 60 "$vmrun" "$cfg" 2>"$work/err"
	expect "hello: debug-exit status $status is vmrun's exit status" "$status" "$?"
	expect_grep "hello: prints from CPL3 (status=$status)" \
		'^vmrun-firmware: hello from CPL3' "$work/hello.out"
done
expect_grep "hello: top-of-RAM check at 64 MiB" \
	'^vmrun-firmware: ram_top=0x0000000004000000' "$work/hello.out"
expect_grep "hello: top-of-RAM check passed" 'top-of-RAM check ok' \
	"$work/hello.out"
# The legacy interrupt path is closed as firmware leaves it for a
# HW-reduced OS: both 8259s initialised and masked, LINT0 masked
# (src/arch/x86/irqchip.c; otherwise hello exits 103).
expect_grep "hello: both 8259s masked (IMR 0xff, 0xff), LINT0 masked" \
	'^vmrun-firmware: 8259 imr=0x0*ffff lint0=0x0*1[0-9a-f]{4}' "$work/hello.out"

# A guest above the 3 GiB hole still has its top of low RAM at 3 GiB.
rm -f "$work/hello.out"
cfg=$(fw_config hello 3584 1 "status=3")
timeout 60 "$vmrun" "$cfg" 2>"$work/err"
expect "hello: 3.5 GiB guest boots and exits 3" 3 "$?"
expect_grep "hello: low RAM ends at the MMIO hole" \
	'^vmrun-firmware: ram_top=0x00000000c0000000' "$work/hello.out"

# --- blk: the virtio-blk driver guest (firmware/blk.c) ---

# blk_config NAME IMAGE ENGINE ARGS: a config booting blk.elf with IMAGE as
# its one drive ("fwdisk").
blk_config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/blk.elf",
                   "boot_args": "$4" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "fwdisk", "path_on_host": "$2",
                "is_root_device": false, "is_read_only": false,
                "cache_type": "Writeback", "io_engine": "$3" } ],
  "vmrun": { "serial": { "output": "file", "path": "$work/$1.out" } }
}
JSON
	echo "$work/$1.json"
}

# blk_run NAME IMAGE ENGINE ARGS: boots it; leaves the status in $rc.
blk_run() {
	rm -f "$work/$1.out"
	timeout 120 "$vmrun" "$(blk_config "$@")" 2>"$work/$1.err"
	rc=$?
}

blk_checks="probe features queue config write read indirect get-id flush
past-end desc-outside-ram desc-ram-end desc-length-wraps desc-loop
chain-too-long nested-indirect status-readable short-header avail-idx-jump
notify-before-driver-ok queue-size-not-pow2 features-never-offered
config-past-end ring-outside-ram registers reset-in-flight huge-request
pattern"

# sector IMAGE N: sector N of IMAGE on stdout.
sector() {
	dd if="$1" bs=512 skip="$2" count=1 status=none
}

# pattern N: what blk.c writes to sector N (64 lines "fwNNNNN").
pattern() {
	local line
	line=$(printf 'fw%05u' $(($1 % 100000)))
	yes "$line" | head -c 512
}

# blk_expect_image NAME IMAGE: the pattern is in the file, the sectors the
# malformed writes aimed at are still zero.
blk_expect_image() {
	local bad="" s
	for s in 0 1 64 127 1000 32767; do
		cmp -s <(sector "$2" "$s") <(pattern "$s") || bad="$bad $s"
	done
	expect "$1: image holds the guest's pattern (bad sectors:${bad:- none})" \
		"" "$bad"
	cmp -s <(dd if="$2" bs=512 skip=2048 count=16 status=none) \
		<(head -c 8192 /dev/zero)
	expect "$1: malformed writes left sectors 2048..2063 zero" 0 "$?"
	cmp -s <(sector "$2" 128) <(head -c 512 /dev/zero)
	expect "$1: sector 128 (never written) is zero" 0 "$?"
	od -A d -c -N 16 "$2" | grep -q 'f   w   0   0   0   0   0  \\n'
	expect "$1: od shows 'fw00000' at offset 0" 0 "$?"
}

# blk_expect_clean NAME: vmrun printed no sanitizer report, and the
# guest's malformed requests did not flood its log.
blk_expect_clean() {
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$work/$1.err"; then
		not_ok "$1: no sanitizer report" "see below"
		sed 's/^/    | /' "$work/$1.err" | head -n 40
	else
		ok "$1: no sanitizer report"
	fi
	expect "$1: vmrun's log stays short (rate-limited warnings)" yes \
		"$([ "$(wc -l <"$work/$1.err")" -le 40 ] && echo yes || echo no)"
}

for engine in Sync Async; do
	name=blk-$engine
	img=$work/$name.img
	rm -f "$img"
	truncate -s 16M "$img"
	blk_run "$name" "$img" "$engine" "id=fwdisk"
	expect "$name: exit status 0" 0 "$rc"
	for check in $blk_checks; do
		expect_grep "$name: $check" "^vmrun-firmware: blk: $check: ok\$" \
			"$work/$name.out"
	done
	expect_grep "$name: capacity of 16 MiB" '^vmrun-firmware: blk: capacity=32768$' \
		"$work/$name.out"
	expect_grep "$name: GET_ID is the drive_id" '^vmrun-firmware: blk: id=fwdisk$' \
		"$work/$name.out"
	if grep -q FAILED "$work/$name.out"; then
		not_ok "$name: no FAILED line" "$(grep FAILED "$work/$name.out")"
	else
		ok "$name: no FAILED line"
	fi
	blk_expect_image "$name" "$img"
	blk_expect_clean "$name"
done

# A failing check ends the guest with 10 + its number (get-id is check 8).
img=$work/blk-wrongid.img
truncate -s 16M "$img"
blk_run blk-wrongid "$img" Sync "id=otherdisk"
expect "blk: wrong id= gives exit status 18 (check 8 failed)" 18 "$rc"
expect_grep "blk: wrong id= is reported" '^vmrun-firmware: blk: get-id: FAILED' \
	"$work/blk-wrongid.out"

# BENCH=1: the throughput figures of the bench mode (not a test).  The guest
# counts TSC cycles; they become seconds with /proc/cpuinfo's "cpu MHz" (the
# TSC rate on a constant-TSC host; kvm_pvm runs guest code on the host's
# TSC).  As a cross-check the host's clock also calibrates them: wall time
# of the run minus that of a run without requests (boot and setup).
blk_bench() {
	local engine=$1 img=$work/bench-$1.img t0 t1 t2 args
	args="mode=bench count=${BENCH_COUNT:-4096} count4k=${BENCH_COUNT4K:-65536}"
	args="$args depth=${BENCH_DEPTH:-32}"
	rm -f "$img"
	truncate -s 1G "$img"
	t0=$(date +%s%N)
	blk_run bench0 "$img" "$engine" "mode=bench count=0 count4k=0"
	t1=$(date +%s%N)
	blk_run bench "$img" "$engine" "$args"
	t2=$(date +%s%N)
	expect "bench ($engine): exit status 0" 0 "$rc"
	awk -v ns=$(( (t2 - t1) - (t1 - t0) )) -v engine="$engine" \
		-v mhz="$(awk -F: '/^cpu MHz/ { print $2 + 0; exit }' /proc/cpuinfo)" '
	/bench-total/ { split($NF, a, "="); total = a[2] }
	/ requests=/ {
		n++; name[n] = $3
		for (i = 4; i <= NF; i++) { split($i, kv, "="); v[n, kv[1]] = kv[2] }
	}
	END {
		clock = total / (ns / 1e9)
		hz = (mhz > 0 ? mhz * 1e6 : clock)
		printf "bench (%s engine): TSC %.0f MHz (cpu MHz %s; %.0f MHz by the host clock)\n",
			engine, hz / 1e6, (mhz > 0 ? mhz : "unknown"), clock / 1e6
		for (i = 1; i <= n; i++) {
			s = v[i, "cycles"] / hz
			printf "bench (%s): %-22s %6d req  %9.1f MB/s  %9.0f req/s  depth %d\n",
				engine, name[i], v[i, "requests"],
				v[i, "bytes"] / s / 1e6, v[i, "requests"] / s, v[i, "depth"]
		}
	}' "$work/bench.out"
	rm -f "$img"
}
if [ "${BENCH:-0}" = 1 ]; then
	blk_bench Sync
	blk_bench Async
fi

# A guest that crashes (1: triple fault; 2: an instruction the host may not
# emulate, a KVM internal error on kvm_pvm; 3: an x87 load from MMIO, which
# no KVM emulates: an internal error on every host) ends vmrun with status
# 4 and a register dump naming RIP, and vmrun itself stays well.
for crash in 1 2 3; do
	cfg=$(fw_config hello 64 1 "status=9 crash=$crash")
	timeout 60 "$vmrun" "$cfg" 2>"$work/crash.err"
	rc=$?
	if [ "$crash" = 2 ] && [ $rc = 9 ] && [ ! -d /sys/module/kvm_pvm ]; then
		ok "crash=2: hardware virtualization runs cmpxchg16b (exit 9)"
		continue
	fi
	expect "crash=$crash: vmrun exits 4" 4 "$rc"
	expect_grep "crash=$crash: register dump with rip" 'vcpu0: rip=[0-9a-f]{16}' "$work/crash.err"
	# lab_retry (tests/run-all.sh) and users' scripts match this prefix.
	expect_grep "crash=$crash: the crash line's fixed prefix" 'vcpu0: guest crash: ' "$work/crash.err"
	# kvm-amd resets a vCPU that shut down: the dump must say so, not pass
	# the reset vector off as where the guest faulted.
	if [ "$crash" = 1 ] && [ -d /sys/module/kvm_amd ]; then
		expect_grep "crash=1: kvm-amd: the dump says the registers are reset values" \
			'vcpu0: these are the CPU.s reset values' "$work/crash.err"
	fi
	if [ "$crash" = 3 ]; then
		expect_grep "crash=3: a KVM internal error (emulation failure)" \
			'vcpu0: guest crash: KVM internal error' "$work/crash.err"
	fi
	if [ "$crash" = 3 ] || grep -q 'internal error' "$work/crash.err"; then
		# The x87 load is "df 00" (filds (%rax)) at rip.
		expect_grep "crash=$crash: instruction bytes at rip" 'code at rip \(gpa 0x[0-9a-f]+\): ([0-9a-f]{2} ){16}' "$work/crash.err"
	fi
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$work/crash.err"; then
		not_ok "crash=$crash: sanitizer report" "$(head -n 5 "$work/crash.err")"
	fi
done

# The triple fault with --crash-dump (docs/crash-dump.md), 2 vCPUs: an ELF
# core with guest RAM, sparse, and a note that says whether the faulting
# vCPU's registers are in it (kvm-amd resets that vCPU: memory only).  The
# log goes to a "logger" file, which has the dump's line from the build on.
rm -f "$work/crash.core" "$work/dump.log"
cfg=$(fw_config hello 64 2 "status=9 crash=1")
sed -i '1a\  "logger": { "log_path": "'"$work"'/dump.log", "level": "Info" },' "$cfg"
timeout 60 "$vmrun" --crash-dump "$work/crash.core" "$cfg" 2>"$work/dump.err"
expect "crash dump: triple fault exits 4" 4 "$?"
expect_grep "crash dump: the log file names the path from the start" \
	"a guest crash or panic writes a dump to '$work/crash.core'" "$work/dump.log"
expect_grep "crash dump: logged as written" \
	"crash dump written to '$work/crash.core'" "$work/dump.log"
expect "crash dump: an ELF file" 7f454c46 \
	"$(head -c 4 "$work/crash.core" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
# 64 MiB of RAM of which the guest used little: holes, not 64 MiB of zeros.
size_kib=$(du -k "$work/crash.core" 2>/dev/null | cut -f1)
expect "crash dump: sparse (${size_kib:-?} KiB on disk for 64 MiB)" yes \
	"$([ "${size_kib:-99999}" -lt 16384 ] && echo yes)"
if [ -d /sys/module/kvm_amd ]; then
	lost='vcpu0: registers: lost (triple fault: KVM reset the vCPU)'
	expect "crash dump: kvm-amd: the note says vcpu0's registers are lost" 0 \
		"$(grep -qF "$lost" "$work/crash.core"; echo $?)"
	expect_grep "crash dump: kvm-amd: the log says so" \
		'crash dump: vcpu0: registers lost \(triple fault' "$work/dump.log"
	expect "crash dump: kvm-amd: vcpu1's registers are in it" 0 \
		"$(grep -qF 'vcpu1: registers: saved' "$work/crash.core"; echo $?)"
fi
rm -f "$work/crash.core"

# exitcost (tests/bench's exit-cost guest), both entries: the PVH note (32-bit,
# what QEMU uses too) and long mode; each runs its loops and exits 0.
for ec in exitcost exitcost-lm; do
	cfg=$(fw_config "$ec" 64 1 "count=500")
	timeout 120 "$vmrun" "$cfg" >/dev/null 2>"$work/$ec.err"
	expect "$ec: exits 0 through the debug-exit port" 0 "$?"
	expect "$ec: ran both loops of 500 exits" "pio-begin pio-end mmio-begin mmio-end count 500" \
		"$(sed -n 's/^VMRUN-BENCH: //p' "$work/$ec.out" | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')"
done

summary
