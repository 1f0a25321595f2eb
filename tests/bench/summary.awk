#!/usr/bin/awk -f
# tests/bench/summary.awk — turns inner.sh's result lines into Markdown.
#
#   summary.awk -v part=info|table|trace RAW_LOG
#
# info:  the box's load, kernel, QEMU version and command line;
# table: one row per figure: median (min-max) per VMM and vmrun/QEMU ratios
#        of the medians; runs that did not reach the marker are left out of
#        the timings and counted in the "failed" row;
# trace: the most frequent exits to userspace of one traced boot per VMM.
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
	if (scale > 1)
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

/^BENCH / {
	split("", kv)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	if (kv["test"] == "boot" && kv["run"] > runs)
		runs = kv["run"]
	if (kv["test"] == "mem" && kv["run"] > memruns)
		memruns = kv["run"]
	record()
}

# A resumed run repeats the box's info: keep the first of each key, and
# the last load_after.
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
		print "- kernel command line of every boot (vmrun's default + quiet + the scenario): `" cmdline " vmrun.scenario=poweroff|idle`"
	} else if (part == "table") {
		print_table()
	} else if (part == "trace") {
		print_trace()
	}
}
