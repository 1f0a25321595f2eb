# shellcheck shell=sh
# rng: reads 1 MiB from /dev/hwrng (virtio-rng) for tests/integration/net-suite.sh.
#   rng_current=<the kernel's hw_random source>, rng_bytes=<bytes read>,
#   rng_nonzero=<non-zero bytes among them>, rng_repeat=no|yes (64 KiB read
#   again equal to the first 64 KiB), rng_kbs=<read rate in KB/s>
# (Slow under the lab's nested KVM: the hw_random core asks for 64 bytes at a
# time, one virtio request each.)
# Fails only when /dev/hwrng never appears; the host judges the values.
if ! wait_for /dev/hwrng 5; then
	fail "no-/dev/hwrng"
	return 0
fi
mkdir -p /tmp
marker rng_current "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
_t0=$(cut -d' ' -f1 /proc/uptime)
# fullblock: hwrng reads may be short, and dd counts short reads as blocks.
dd if=/dev/hwrng of=/tmp/rng1 bs=4096 count=256 iflag=fullblock 2>/dev/null
_t1=$(cut -d' ' -f1 /proc/uptime)
marker rng_bytes "$(wc -c </tmp/rng1)"
marker rng_nonzero "$(tr -d '\000' </tmp/rng1 | wc -c)"
dd if=/dev/hwrng of=/tmp/rng2 bs=4096 count=16 iflag=fullblock 2>/dev/null
if head -c 65536 /tmp/rng1 | cmp -s - /tmp/rng2; then marker rng_repeat yes; else marker rng_repeat no; fi
marker rng_kbs "$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { d = b - a; if (d < 0.01) d = 0.01; printf "%d", 1048.576 / d }')"
rm -f /tmp/rng1 /tmp/rng2
true
