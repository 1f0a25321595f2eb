# lib.sh - helpers shared by the integration tests (sourced, bash).
# Each test case prints "ok - NAME" or "not ok - NAME: why"; the suite ends
# with the line "N passed, M failed".

PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=""

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

not_ok() {
	FAILED=$((FAILED + 1))
	FAILED_NAMES="$FAILED_NAMES $1"
	echo "not ok - $1: $2"
}

# now_ms: milliseconds since boot (a clock for bounds and timings).
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# ns CMD...: runs CMD in the network namespace $NS.
ns() { ip netns exec "$NS" "$@"; }

# expect NAME WANT GOT: one check of an exit status or value.
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# expect_grep NAME PATTERN FILE: the file has a line matching PATTERN.
expect_grep() {
	if grep -qE -- "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "no line matching '$2' in $3"
		sed 's/^/    | /' "$3" | tail -n 30
	fi
}

# skipped NAME WHY: a check that cannot run here. It is counted and shown
# ("# SKIP"); where the lab must have what it needs (VMRUN_LAB_STRICT=1,
# which tests/run-all.sh sets for CI), it is a failure instead.
skipped() {
	if [ "${VMRUN_LAB_STRICT:-0}" = 1 ]; then
		not_ok "$1" "cannot run here ($2), and CI needs it"
	else
		SKIPPED=$((SKIPPED + 1))
		echo "# SKIP - $1: $2"
	fi
}

# summary: the closing line; exit status 1 when anything failed.
summary() {
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ] || { echo "failed:$FAILED_NAMES"; return 1; }
}

# wait_sock [PATH [SECS]]: waits up to SECS (5) for the Unix socket PATH
# ($sock) to appear, as a vmrun started with --api-sock creates it.
wait_sock() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		[ -S "${1:-$sock}" ] && return 0
		sleep 0.05
	done
	return 1
}

# have_kvm: /dev/kvm can be opened for reading and writing.
have_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}
