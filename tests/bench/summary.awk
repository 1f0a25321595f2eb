#!/usr/bin/awk -f
# tests/bench/summary.awk — turns inner.sh's result lines into Markdown.
#
#   summary.awk -v part=info|table|io|trace|plot RAW_LOG...
#
# info:  the box's load, kernel, QEMU version and command line;
# table: one row per figure: median (min-max) per VMM and vmrun/QEMU ratios
#        of the medians; runs that did not reach the marker are left out of
#        the timings and counted in the "failed" row;
# io:    the block, network, density, start-up and exit-cost tables;
# trace: the most frequent exits to userspace of one traced boot per VMM;
# plot:  "VMM-VCPUS ms" lines of every boot to the userspace marker (gnuplot).
# POSIX awk (mawk is Debian's default): no asort, so a small insertion sort.

function add(key, v) {
	n[key]++
	val[key, n[key]] = v + 0
}

# stat(key): sets MED, MIN, MAX of the values of key (count in n[key]).
function stat(key,    i, j, t, a, c) {
	c = n[key]
	for (i = 1; i <= c; i++) {
		t = val[key, i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	MIN = a[1]
	MAX = a[c]
	MED = c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}

function fmt(v, scale) {
	v = v / scale
	if (scale > 1 || (v < 100 && v != int(v)))
		return sprintf("%.1f", v)
	return sprintf("%.0f", v)
}

# cell(key, scale): "median (min-max)", or "-" when there is no value.
function cell(key, scale) {
	if (!n[key])
		return "-"
	stat(key)
	if (MIN == MAX)
		return fmt(MED, scale)
	return fmt(MED, scale) " (" fmt(MIN, scale) "-" fmt(MAX, scale) ")"
}

function median(key) {
	if (!n[key])
		return ""
	stat(key)
	return MED
}

function ratio(a, b) {
	if (a == "" || b == "" || b == 0)
		return "-"
	return sprintf("%.2f", a / b)
}

# row(label, test, vcpus, metric, scale): one table line over all VMMs.
function row(label, test, vcpus, metric, scale,    v, m, k, line) {
	line = "| " label
	for (v = 1; v <= nvmm; v++) {
		k = test SUBSEP vmms[v] SUBSEP vcpus SUBSEP metric
		line = line " | " cell(k, scale)
		m[vmms[v]] = median(k)
	}
	line = line " | " ratio(m["vmrun"], m["microvm"]) " | " ratio(m["vmrun"], m["q35"]) " |"
	if (line ~ /^\| [^|]*( \| -)+ \|$/)
		return
	print line
}

function failed_row(test, vcpus,    v, line, any) {
	line = "| failed runs (no marker or status != 0)"
	for (v = 1; v <= nvmm; v++) {
		line = line " | " (fails[test, vmms[v], vcpus] + 0)
		any += fails[test, vmms[v], vcpus]
	}
	if (any)
		print line " | | |"
}

function get(name) {
	return (name in kv) ? kv[name] : ""
}

# record(): one BENCH line, already split into kv[].
function record(    test, k, ok, cpu) {
	test = kv["test"]
	if (test != "boot" && test != "mem") {
		record_io()
		return
	}
	k = test SUBSEP kv["vmm"] SUBSEP kv["vcpus"]
	seen[k] = 1
	ok = get("marker_ms") >= 0 && (test == "mem" || get("status") == 0)
	if (!ok) {
		fails[k]++
		return
	}
	add(k SUBSEP "marker_ms", get("marker_ms"))
	add(k SUBSEP "exit_ms", get("exit_ms"))
	add(k SUBSEP "shutdown_ms", get("exit_ms") - get("marker_ms"))
	cpu = get("user_ms") + get("sys_ms")
	add(k SUBSEP "cpu_ms", cpu)
	if (get("guest_ms") != "" && get("guest_ms") >= 0)
		add(k SUBSEP "vmm_cpu_ms", cpu - get("guest_ms"))
	add(k SUBSEP "maxrss_kb", get("maxrss_kb"))
	if (get("kvm_exits") != "") {
		add(k SUBSEP "exits", get("kvm_exits"))
		add(k SUBSEP "io_exits", get("kvm_io_exits"))
		add(k SUBSEP "mmio_exits", get("kvm_mmio_exits"))
		add(k SUBSEP "user_exits", get("kvm_io_exits") + get("kvm_mmio_exits"))
		add(k SUBSEP "halt_exits", get("kvm_halt_exits"))
	}
	if (get("hwm_kb") != "") {
		add(k SUBSEP "hwm_kb", get("hwm_kb"))
		add(k SUBSEP "guest_rss_kb", get("guest_rss_kb"))
		add(k SUBSEP "own_rss_kb", get("rss_kb") - get("guest_rss_kb"))
		add(k SUBSEP "own_pss_kb", get("pss_kb") - get("guest_pss_kb"))
	}
}

# xadd(metric, v): one value of the current BENCH line's test and VMM.
function xadd(metric, v) {
	add(kv["test"] SUBSEP kv["vmm"] SUBSEP "x" SUBSEP metric, v)
}

# common(): the hardware-independent figures of any run: VMM CPU excluding
# the guest's, exits to userspace (KVM's counters, when there were any).
function common(    cpu) {
	cpu = get("user_ms") + get("sys_ms")
	if (get("user_ms") != "" && get("guest_ms") != "" && get("guest_ms") >= 0)
		xadd("vmm_cpu_ms", cpu - get("guest_ms"))
	if (get("kvm_exits") != "") {
		xadd("user_exits", get("kvm_io_exits") + get("kvm_mmio_exits"))
		xadd("exits", get("kvm_exits"))
	}
}

function record_io(    test, vmm, k, j, f, jobs, nj, rate, bad) {
	test = kv["test"]
	vmm = kv["vmm"]
	if (get("where") == "host")
		where[test] = "host"
	else if (!(test in where))
		where[test] = "box"
	if (test == "blk") {
		# A run that lost a job or ended badly (stamp killed a guest that
		# hung) counts once as failed; its finished jobs still count, its
		# per-run CPU and exits (which include the hang) do not.
		bad = vmm != "host" && get("status") != 0
		nj = split("seqread seqwrite randread1 randread32 randwrite1 randwrite32", jobs, " ")
		for (j = 1; j <= nj; j++) {
			if (split(get("fio_" jobs[j]), f, "/") < 4) {
				bad = 1
				continue
			}
			# fio: KiB/s and IOPS of reads (1, 2) and writes (3, 4);
			# then, from the guest, the disk's interrupts (5) and the
			# requests it completed (6) during the job
			if (f[5] > 0 && f[6] > 0)
				xadd(jobs[j] "_rpi", f[6] / f[5])
			if (jobs[j] == "seqread")
				xadd(jobs[j], f[1] * 1024 / 1e6)
			else if (jobs[j] == "seqwrite")
				xadd(jobs[j], f[3] * 1024 / 1e6)
			else if (jobs[j] ~ /read/)
				xadd(jobs[j], f[2])
			else
				xadd(jobs[j], f[4])
		}
		if (bad)
			fails[test, vmm, "x"]++
		if (vmm != "host" && get("status") == 0)
			common()
	} else if (test == "net") {
		if (get("iperf_g2h") == "" || get("iperf_h2g") == "" || get("status") != 0)
			fails[test, vmm, "x"]++
		if (get("iperf_g2h") != "")
			xadd("g2h", get("iperf_g2h"))
		if (get("iperf_h2g") != "")
			xadd("h2g", get("iperf_h2g"))
		if (get("status") == 0)
			common()
	} else if (test == "density") {
		nguests = get("n")
		if (get("all_ms") < 0) {
			fails[test, vmm, "x"]++
			xadd("reached", get("reached"))
		}
		else
			xadd("all_ms", get("all_ms"))
		xadd("median_ms", get("median_ms"))
		xadd("pss_kb", get("pss_kb"))
		xadd("pss_each_kb", get("pss_kb") / get("n"))
		xadd("memavail_kb", get("memavail_kb"))
		xadd("cpu_ms", get("cpu_ms"))
	} else if (test == "startup") {
		if (get("first_run_ms") == "") {
			fails[test, vmm, "x"]++
			return
		}
		xadd("first_run_ms", get("first_run_ms"))
		xadd("first_run_cpu_ms", get("first_run_cpu_ms"))
	} else if (test == "api") {
		if (get("api_ms") == "") {
			fails["startup", vmm, "x"]++
			return
		}
		add("startup" SUBSEP vmm SUBSEP "x" SUBSEP "api_ms", get("api_ms"))
		add("startup" SUBSEP vmm SUBSEP "x" SUBSEP "api_cpu_ms", get("api_cpu_ms"))
		add("startup" SUBSEP vmm SUBSEP "x" SUBSEP "api_pss_kb", get("pss_kb"))
	} else if (test == "exitcost") {
		if (get("lt_pio-end") == "" || get("lt_mmio-end") == "") {
			fails[test, vmm, "x"]++
			return
		}
		rate = get("count") / ((get("lt_pio-end") - get("lt_pio-begin")) / 1e3)
		xadd("pio_rate", rate)
		xadd("pio_us", 1e6 / rate)
		rate = get("count") / ((get("lt_mmio-end") - get("lt_mmio-begin")) / 1e3)
		xadd("mmio_rate", rate)
		xadd("mmio_us", 1e6 / rate)
		common()
	}
}

# xrow(label, test, cols, ratios, metric, scale): one line of an I/O table;
# cols: VMM names; ratios: "A/B" pairs of VMM names.
function xrow(label, test, cols, ratios, metric, scale,    c, nc, r, nr, i, m, k, p, line) {
	nc = split(cols, c, " ")
	nr = split(ratios, r, " ")
	line = "| " label
	for (i = 1; i <= nc; i++) {
		k = test SUBSEP c[i] SUBSEP "x" SUBSEP metric
		line = line " | " cell(k, scale)
		m[c[i]] = median(k)
	}
	for (i = 1; i <= nr; i++) {
		split(r[i], p, "/")
		line = line " | " ratio(m[p[1]], m[p[2]])
	}
	if (line ~ /^\| [^|]*( \| -)+ \|?$/ || line ~ /^\| [^|]*( \| -)+$/)
		return
	print line " |"
}

# xhead(cols, ratios, titles): the header of an I/O table.
function xhead(cols, ratios,    c, nc, r, nr, i, line, sep) {
	nc = split(cols, c, " ")
	nr = split(ratios, r, " ")
	line = "| figure"
	sep = "| ---"
	for (i = 1; i <= nc; i++) {
		line = line " | " (c[i] in xtitle ? xtitle[c[i]] : c[i])
		sep = sep " | ---"
	}
	for (i = 1; i <= nr; i++) {
		line = line " | " r[i]
		sep = sep " | ---"
	}
	print line " |"
	print sep " |"
}

function xfailed(test, cols,    c, nc, i, line, any) {
	nc = split(cols, c, " ")
	line = "| failed runs"
	for (i = 1; i <= nc; i++) {
		line = line " | " (fails[test, c[i], "x"] + 0)
		any += fails[test, c[i], "x"]
	}
	if (any)
		print line " |"
}

function print_io(    cols, rat) {
	xtitle["vmrun-async"] = "vmrun Async"
	xtitle["vmrun-sync"] = "vmrun Sync"
	xtitle["qemu"] = "QEMU microvm"
	xtitle["microvm"] = "QEMU microvm"
	xtitle["q35"] = "QEMU q35"
	xtitle["host"] = "host (same file)"
	if (("blk" in where)) {
		cols = "vmrun-async vmrun-sync qemu host"
		rat = "vmrun-async/qemu vmrun-sync/qemu vmrun-async/host qemu/host"
		print "**Block** (" where["blk"] "): fio in the guest on /dev/vda (O_DIRECT, libaio; 1 vCPU, 512 MiB) backed by a 256 MiB raw file; QEMU: virtio-blk-device, aio=native, cache=none; host: the same fio jobs on the file itself. Higher is better."
		print ""
		xhead(cols, rat)
		xrow("seq read 1 MiB, QD1 [MB/s]", "blk", cols, rat, "seqread", 1)
		xrow("seq write 1 MiB, QD1 [MB/s]", "blk", cols, rat, "seqwrite", 1)
		xrow("rand read 4 KiB, QD1 [IOPS]", "blk", cols, rat, "randread1", 1)
		xrow("rand read 4 KiB, QD32 [IOPS]", "blk", cols, rat, "randread32", 1)
		xrow("rand write 4 KiB, QD1 [IOPS]", "blk", cols, rat, "randwrite1", 1)
		xrow("rand write 4 KiB, QD32 [IOPS]", "blk", cols, rat, "randwrite32", 1)
		xrow("rand read 4 KiB, QD32: requests per interrupt", "blk", cols, rat, "randread32_rpi", 1)
		xrow("rand write 4 KiB, QD32: requests per interrupt", "blk", cols, rat, "randwrite32_rpi", 1)
		xrow("per run (boot + 6 jobs): VMM CPU excl. guest [ms]", "blk", cols, rat, "vmm_cpu_ms", 1)
		xrow("per run (boot + 6 jobs): exits to userspace", "blk", cols, rat, "user_exits", 1)
		xrow("per run (boot + 6 jobs): all VM exits", "blk", cols, rat, "exits", 1)
		xfailed("blk", cols)
		print ""
	}
	if (("net" in where)) {
		cols = "vmrun qemu"
		rat = "vmrun/qemu"
		print "**Network** (" where["net"] "): iperf3 in the guest against iperf3 -s on a tap in a network namespace (1 vCPU, 512 MiB); QEMU: virtio-net-device with its userspace backend (no vhost). Higher is better."
		print ""
		xhead(cols, rat)
		xrow("TCP guest -> host [Mbit/s]", "net", cols, rat, "g2h", 1)
		xrow("TCP host -> guest [Mbit/s]", "net", cols, rat, "h2g", 1)
		xrow("per run (boot + both directions): VMM CPU excl. guest [ms]", "net", cols, rat, "vmm_cpu_ms", 1)
		xrow("per run (boot + both directions): exits to userspace", "net", cols, rat, "user_exits", 1)
		xrow("per run (boot + both directions): all VM exits", "net", cols, rat, "exits", 1)
		xfailed("net", cols)
		print ""
	}
	if (("density" in where)) {
		cols = "vmrun microvm"
		rat = "vmrun/microvm"
		print "**Density** (" where["density"] "): " nguests " guests of 128 MiB (1 vCPU, idle scenario) started at once; memory sampled 3 s after the last reached userspace. Lower is better."
		print ""
		xhead(cols, rat)
		xrow("start to all in userspace [ms]", "density", cols, rat, "all_ms", 1)
		xrow("start to half in userspace [ms]", "density", cols, rat, "median_ms", 1)
		xrow("guests that reached userspace (when not all)", "density", cols, rat, "reached", 1)
		xrow("memory of all: sum of PSS [MiB]", "density", cols, rat, "pss_kb", 1024)
		xrow("memory of all: drop of MemAvailable [MiB]", "density", cols, rat, "memavail_kb", 1024)
		xrow("PSS per guest [MiB]", "density", cols, rat, "pss_each_kb", 1024)
		xrow("CPU of all VMM processes incl. guests [ms]", "density", cols, rat, "cpu_ms", 1)
		xfailed("density", cols)
		print ""
	}
	if (("startup" in where) || ("api" in where)) {
		cols = "vmrun microvm q35"
		rat = "vmrun/microvm vmrun/q35"
		print "**Start-up** (" (("startup" in where) ? where["startup"] : where["api"]) "): first KVM_RUN of a 256 MiB Linux boot (LD_PRELOAD shim tests/bench/firstrun.c; CPU = all threads); API: vmrun --api-sock answering an HTTP GET, QEMU -S with a QMP socket sending its greeting. Firecracker's target: <= 8 CPU ms. Lower is better."
		print ""
		xhead(cols, rat)
		xrow("exec to first KVM_RUN [ms]", "startup", cols, rat, "first_run_ms", 1)
		xrow("CPU to first KVM_RUN [ms]", "startup", cols, rat, "first_run_cpu_ms", 1)
		xrow("exec to API socket answer [ms]", "startup", cols, rat, "api_ms", 1)
		xrow("CPU to API socket answer [ms]", "startup", cols, rat, "api_cpu_ms", 1)
		xrow("PSS with the API up, no VM [MiB]", "startup", cols, rat, "api_pss_kb", 1024)
		xfailed("startup", cols)
		print ""
	}
	if (("exitcost" in where)) {
		cols = "vmrun microvm"
		rat = "vmrun/microvm"
		print "**Exit cost** (" where["exitcost"] "): firmware/exitcost.elf at CPL3, the same ELF for both (PVH entry), a loop of port 0x80 writes (through start.S's #UD gate: the port access itself is made by its CPL0 handler) and of MMIO writes to an unclaimed address. Higher round trips/s are better."
		print ""
		xhead(cols, rat)
		xrow("PIO round trips per second", "exitcost", cols, rat, "pio_rate", 1)
		xrow("MMIO round trips per second", "exitcost", cols, rat, "mmio_rate", 1)
		xrow("us per PIO round trip", "exitcost", cols, rat, "pio_us", 1)
		xrow("us per MMIO round trip", "exitcost", cols, rat, "mmio_us", 1)
		xrow("VMM CPU excl. guest per run [ms]", "exitcost", cols, rat, "vmm_cpu_ms", 1)
		xfailed("exitcost", cols)
		print ""
	}
}

function boot_rows(c) {
	row("boot: start to userspace marker, " c " vCPU [ms]", "boot", c, "marker_ms", 1)
	row("boot: start to exit after poweroff, " c " vCPU [ms]", "boot", c, "exit_ms", 1)
	row("boot: marker to exit (poweroff + teardown), " c " vCPU [ms]", "boot", c, "shutdown_ms", 1)
	row("boot: VMM CPU excl. guest, " c " vCPU [ms]", "boot", c, "vmm_cpu_ms", 1)
	row("boot: CPU incl. guest, " c " vCPU [ms]", "boot", c, "cpu_ms", 1)
	row("boot: exits to userspace (PIO+MMIO), " c " vCPU", "boot", c, "user_exits", 1)
	row("boot: PIO exits, " c " vCPU", "boot", c, "io_exits", 1)
	row("boot: MMIO exits to userspace, " c " vCPU", "boot", c, "mmio_exits", 1)
	row("boot: all VM exits, " c " vCPU", "boot", c, "exits", 1)
	row("boot: peak RSS incl. guest RAM, " c " vCPU [MiB]", "boot", c, "maxrss_kb", 1024)
	failed_row("boot", c)
}

function mem_rows() {
	row("idle 256 MiB guest: peak RSS (VmHWM) [MiB]", "mem", 1, "hwm_kb", 1024)
	row("idle 256 MiB guest: guest RAM touched [MiB]", "mem", 1, "guest_rss_kb", 1024)
	row("idle 256 MiB guest: VMM own RSS [MiB]", "mem", 1, "own_rss_kb", 1024)
	row("idle 256 MiB guest: VMM own PSS [MiB]", "mem", 1, "own_pss_kb", 1024)
	row("idle 256 MiB guest: boot to idle marker CPU excl. guest [ms]", "mem", 1, "vmm_cpu_ms", 1)
	failed_row("mem", 1)
}

function print_table(    v, line, sep) {
	line = "| figure"
	sep = "| ---"
	for (v = 1; v <= nvmm; v++) {
		line = line " | " title[vmms[v]]
		sep = sep " | ---"
	}
	print line " | vmrun/microvm | vmrun/q35 |"
	print sep " | --- | --- |"
	boot_rows(1)
	boot_rows(2)
	mem_rows()
	print ""
	print "Cells: median (min-max) over " runs " boots per row (" memruns " idle runs for memory); ratios: of the medians, below 1 means vmrun is smaller/faster."
}

function print_trace(    i, w) {
	print "One traced boot per VMM (1 vCPU; KVM tracepoints): vmexit = every VM exit by SVM reason (kvm_exit), exit = exits to userspace by reason (kvm_userspace_exit), then the 8 most frequent port and MMIO accesses (kvm_pio, kvm_mmio; MMIO that KVM emulates itself, such as the in-kernel IOAPIC at 0xfec00000, appears there too):"
	print ""
	print "| VMM | kind | what | count |"
	print "| --- | --- | --- | --- |"
	for (i = 1; i <= ntrace; i++)
		print trace[i]
}

BEGIN {
	nvmm = split("vmrun microvm q35", vmms, " ")
	title["vmrun"] = "vmrun"
	title["microvm"] = "QEMU microvm"
	title["q35"] = "QEMU q35"
}

/^BENCH / && part == "plot" {
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		pk[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	# x position, name, ms: vmrun, microvm, q35 with 1 vCPU, then with 2
	if (pk["test"] == "boot" && pk["marker_ms"] >= 0 && pk["status"] == 0)
		print (pk["vmm"] == "vmrun" ? 1 : pk["vmm"] == "microvm" ? 2 : 3) + 3 * (pk["vcpus"] - 1),
			pk["vmm"] "-" pk["vcpus"] "vCPU", pk["marker_ms"]
	split("", pk)
	next
}

/^BENCH / {
	split("", kv)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	if (kv["test"] == "boot" && kv["run"] + 0 > runs)
		runs = kv["run"] + 0
	if (kv["test"] == "mem" && kv["run"] + 0 > memruns)
		memruns = kv["run"] + 0
	record()
}

# A resumed run repeats the box's info: keep the first of each key, and
# the last load_after.
/^BENCHHOSTINFO / {
	hostinfo = hostinfo " " substr($0, 15)
}

/^BENCHINFO / {
	for (i = 2; i <= NF; i++) {
		k = substr($i, 1, index($i, "=") - 1)
		if (!(k in infoat))
			infoat[k] = ++ninfo
		else if (k != "load_after")
			continue
		info[infoat[k]] = $i
	}
}

# The 8 most frequent per VMM: inner.sh prints them sorted by count.
/^BENCHTRACE / {
	split("", kv)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	if (kv["kind"] != "exit" && kv["kind"] != "vmexit" && ++shown[kv["vmm"]] > 8)
		next
	trace[++ntrace] = "| " kv["vmm"] " | " kv["kind"] " | " kv["what"] " | " kv["count"] " |"
}

/^BENCHCMDLINE / {
	cmdline = substr($0, 14)
}

END {
	if (part == "info") {
		line = "- KVM host (the box, in box mode):"
		for (i = 1; i <= ninfo; i++)
			line = line " " info[i]
		print line
		if (hostinfo != "")
			print "- on this host (start-up, exit cost):" hostinfo
		print "- kernel command line of every boot (vmrun's default + quiet + the scenario): `" cmdline " vmrun.scenario=poweroff|idle`"
	} else if (part == "table") {
		print_table()
	} else if (part == "io") {
		print_io()
	} else if (part == "trace") {
		print_trace()
	}
}
