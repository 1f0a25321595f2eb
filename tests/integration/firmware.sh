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
fw_config() {
	cat >"$work/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$build/firmware/$1.elf",
                   "boot_args": "$4" },
  "machine-config": { "vcpu_count": $3, "mem_size_mib": $2 },
  "vmrun": { "serial": { "output": "file", "path": "$work/$1.out" } }
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

# A guest above the 3 GiB hole still has its top of low RAM at 3 GiB.
rm -f "$work/hello.out"
cfg=$(fw_config hello 3584 1 "status=3")
timeout 60 "$vmrun" "$cfg" 2>"$work/err"
expect "hello: 3.5 GiB guest boots and exits 3" 3 "$?"
expect_grep "hello: low RAM ends at the MMIO hole" \
	'^vmrun-firmware: ram_top=0x00000000c0000000' "$work/hello.out"

summary
