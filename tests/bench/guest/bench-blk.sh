# shellcheck shell=sh
# bench-blk: fio on /dev/vda for tests/bench/run.sh (sourced by the test
# guest's /init; fio and its libraries come with the bench initramfs, see
# tests/bench/initramfs.sh).
#
#   vmrun.fio=JOB[,JOB...]  jobs in order (default all):
#     seqread seqwrite      1 MiB requests, queue depth 1
#     randread1 randread32 randwrite1 randwrite32
#                           4 KiB requests at queue depth 1 and 32
#   vmrun.fio_time=SEC      seconds per job (default 4)
#
# Every job is O_DIRECT libaio on the whole disk and prints one marker:
#   fio_JOB=READ_KIBS/READ_IOPS/WRITE_KIBS/WRITE_IOPS/IRQS/REQS
# the first four from fio's terse v3; IRQS the interrupts the disk's
# virtio device raised during the job (/proc/interrupts), REQS the reads
# and writes the disk completed (/sys/block/vda/stat): what a VMM does per
# request, seen from the guest the same way for every VMM.

export PATH=/usr/bin:$PATH LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu/ceph

bench_fio_args() {
	case $1 in
	seqread) echo "--rw=read --bs=1M --iodepth=1" ;;
	seqwrite) echo "--rw=write --bs=1M --iodepth=1" ;;
	randread1) echo "--rw=randread --bs=4k --iodepth=1" ;;
	randread32) echo "--rw=randread --bs=4k --iodepth=32" ;;
	randwrite1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	randwrite32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	*) return 1 ;;
	esac
}

# bench_blk_irqs: interrupts so far of the virtio device behind vda (its
# line in /proc/interrupts ends with the device's name, e.g. virtio1).
bench_blk_irqs() {
	_dev=$(basename "$(readlink /sys/block/vda/device)")
	awk -v d="$_dev" '$NF == d { for (i = 2; i < NF && $i ~ /^[0-9]+$/; i++) n += $i }
		END { print n + 0 }' /proc/interrupts
}

# bench_blk_reqs: reads and writes vda completed so far.
bench_blk_reqs() {
	awk '{ print $1 + $5 }' /sys/block/vda/stat
}

bench_blk() {
	_t=$(cmdline_get vmrun.fio_time 4)
	wait_for /dev/vda 10 || { fail no-vda; return 0; }
	for _job in $(cmdline_get vmrun.fio seqread,seqwrite,randread1,randread32,randwrite1,randwrite32 | tr , ' '); do
		_a=$(bench_fio_args "$_job") || { fail "unknown-fio-job-$_job"; continue; }
		_irq0=$(bench_blk_irqs)
		_req0=$(bench_blk_reqs)
		# shellcheck disable=SC2086  # _a holds several options
		fio --name="$_job" --filename=/dev/vda --direct=1 --ioengine=libaio \
			--thread $_a --runtime="$_t" --time_based \
			--output-format=terse --terse-version=3 >/tmp/fio.out 2>&1
		_r=$(awk -F';' 'NF > 49 { print $7 "/" $8 "/" $48 "/" $49 }' /tmp/fio.out)
		if [ -n "$_r" ]; then
			marker "fio_$_job" "$_r/$(($(bench_blk_irqs) - _irq0))/$(($(bench_blk_reqs) - _req0))"
		else
			fail "fio-$_job"
			head -n 5 /tmp/fio.out
		fi
	done
}

bench_blk
