#!/bin/bash
# tests/lab/campaign.sh - runs lab workloads again and again, one box at a
# time, and tallies how each run ended. It is how docs/lab.md's reliability
# table is measured: the same workloads under two boxes (QEMU versions).
#
#   tests/lab/campaign.sh [--runs N] [--box-qemu PATH] [--label NAME]
#                         [--out DIR] [--lock FILE] BUILD_DIR WORKLOAD...
#
# WORKLOADs (each one box per run):
#   hostile   tests/integration/kvm.sh BUILD hostile, 1,000,000-kick storm
#   net       tests/integration/net.sh BUILD, 100 MiB each way
#   snapshot  tests/integration/snapshot-box.sh BUILD
#   linux     tests/run-all.sh's linux(): tests/integration/linux-suite.sh
#   netloop   tests/integration/net-loop-box.sh BUILD with one round: one
#             vmrun and one QEMU boot (QEMU as the nested VMM), 100 MiB
#             each way, with the interrupt injections of each boot
# --box-qemu PATH runs that qemu-system-x86_64 as the box (for example
# Debian 12's /usr/bin/qemu-system-x86_64); the default is the box of
# tests/lab/box.sh. Each run is classified:
#   pass    status 0
#   box     status 124 or 125: the box died, froze or did not boot
#   crash   a guest crash: vmrun's "guest crash:" line or exit 4, or a
#           guest shutdown that net-loop.sh reports
#   stall   a guest that outlived its bound ("=== BOUND:")
#   fail    any other failed check
# Results: DIR/results.tsv (label, workload, run, class, status, seconds,
# guest crashes) and DIR/WORKLOAD-LABEL-N.log; a tally at the end. The
# runs never overlap: each takes /tmp/vmrun-box.lock, as every box user
# here should. --lock FILE takes FILE instead: two campaigns with two
# locks run two boxes at a time, as CI's two lanes do.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=10
box_qemu=
label=
out=/var/tmp/vmrun-campaign
lock=/tmp/vmrun-box.lock

while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?}; shift 2 ;;
	--box-qemu) box_qemu=${2:?}; shift 2 ;;
	--label) label=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--lock) lock=${2:?}; shift 2 ;;
	--) shift; break ;;
	-*) echo "campaign: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
build=$(cd "${1:?usage: campaign.sh [options] BUILD_DIR WORKLOAD...}" && pwd) || exit 2
shift
[ $# -gt 0 ] || { echo "campaign: name at least one workload" >&2; exit 2; }
case $runs in '' | *[!0-9]*) echo "campaign: --runs takes a number" >&2; exit 2 ;; esac
if [ -n "$box_qemu" ]; then
	export VMRUN_BOX_QEMU=$box_qemu
	label=${label:-$("$box_qemu" --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/qemu-\1/p')}
fi
label=${label:-default-box}
mkdir -p "$out"

# workload NAME LOG: one run; prints its status.
workload() {
	case $1 in
	hostile) HOSTILE_STORM=1000000 "$repo/tests/integration/kvm.sh" "$build" hostile ;;
	net) VMRUN_NET_MIB=100 "$repo/tests/integration/net.sh" "$build" ;;
	snapshot) "$repo/tests/integration/snapshot-box.sh" "$build" ;;
	linux)
		"$here/box.sh" --timeout 480 --idle 120 --payload "$build" \
			--payload "$repo/tests" --payload /bin/bash --python -- \
			"$repo/tests/integration/linux-suite.sh" "$build"
		;;
	netloop)
		VMRUN_LOOP_ROUNDS=1 VMRUN_NET_MIB=100 \
			"$repo/tests/integration/net-loop-box.sh" "$build" "$2.out"
		;;
	*) echo "campaign: unknown workload $1" >&2; return 2 ;;
	esac
}

# classify STATUS LOG: the run's class (see the header).
classify() {
	if [ "$1" = 0 ] && ! grep -q 'shutdown (triple fault)' "$2"; then
		echo pass
	elif [ "$1" = 124 ] || [ "$1" = 125 ] || grep -q '(no result after [0-9]* boxes)' "$2"; then
		echo box
	elif grep -qE 'vcpu[0-9]+: guest crash: |VM exited: crash|shutdown \(triple fault\)' "$2"; then
		echo crash
	elif grep -q '^=== BOUND:' "$2"; then
		echo stall
	else
		echo fail
	fi
}

# netloop_rows RUN SECS LOG: net-loop.sh's "# loop: NAME vmm=V rc=R ok=OK
# shutdown=N ..." lines as rows "netloop-V" (crashes = shutdowns, and the
# boot's inj_virq count in the last column's parentheses).
netloop_rows() {
	awk -F'\t' -v label="$label" -v run="$1" -v secs="$2" '
	/^# loop: .* vmm=/ {
		split("", f)
		n = split($0, w, " ")
		for (i = 1; i <= n; i++) if (split(w[i], kv, "=") == 2) f[kv[1]] = kv[2]
		vmm = f["vmm"]; rc = f["rc"]; sd = f["shutdown"] + 0
		cls = (sd > 0) ? "crash" : (f["ok"] == "yes" && rc == 0 ? "pass" : "fail")
		pending = 1
		next
	}
	pending && /^#   set_irq: / {
		inj = $0; sub(/.*inj_virq: /, "", inj)
		printf "%s\tnetloop-%s\t%d\t%s\t%s\t%d\t%d (inj_virq %s)\n", label, vmm, run, cls, rc, secs, sd, inj
		pending = 0
	}' "$3"
}

# workload runs in a child under the lock: it needs these.
export repo here build
[ -s "$out/results.tsv" ] ||
	printf 'label\tworkload\trun\tclass\tstatus\tseconds\tcrashes\n' >"$out/results.tsv"
for w in "$@"; do
	# Runs are numbered on from what DIR already holds for this label.
	first=$(awk -F'\t' -v l="$label" -v w="$w" '$1 == l && ($2 == w || index($2, w "-") == 1) { n = $3 } END { print n + 1 }' "$out/results.tsv")
	for ((i = first; i < first + runs; i++)); do
		log=$out/$w-$label-$i.log
		t0=$SECONDS
		flock "$lock" bash -c "$(declare -f workload); workload \"\$@\"" \
			- "$w" "$log" >"$log" 2>&1 </dev/null
		rc=$?
		if [ "$w" = netloop ] && [ "$rc" != 124 ] && [ "$rc" != 125 ]; then
			# One row per nested VMM, with its boot's interrupt injections.
			netloop_rows "$i" "$((SECONDS - t0))" "$log" >>"$out/results.tsv"
			echo "campaign: $label $w run $i: $(grep -c '^# loop: .* vmm=' "$log") boots (status $rc)"
			continue
		fi
		class=$(classify "$rc" "$log")
		crashes=$(grep -cE 'vcpu[0-9]+: guest crash: |shutdown \(triple fault\)' "$log")
		printf '%s\t%s\t%d\t%s\t%d\t%d\t%d\n' "$label" "$w" "$i" "$class" "$rc" \
			$((SECONDS - t0)) "$crashes" >>"$out/results.tsv"
		echo "campaign: $label $w run $i: $class (status $rc, $((SECONDS - t0)) s)"
	done
done
echo "campaign: tally of $out/results.tsv (label workload: class count ...)"
awk -F'\t' 'NR > 1 { n[$1 " " $2 ": " $4]++ }
	END { for (k in n) print "  " k " " n[k] }' "$out/results.tsv" | sort
