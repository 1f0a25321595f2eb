#!/bin/bash
# kvm-suite.sh [--valgrind] BUILD_DIR EMBED_DIR [NAME...] - runs, where
# /dev/kvm is (tests/integration/kvm.sh puts it in the lab's box), every test of
# `meson test` that boots a freestanding guest: firmware.sh, api.sh,
# snapshot.sh, lifecycle, embed.sh --run EMBED_DIR, hardening.sh, with
# --valgrind valgrind.sh, and last hostile.sh.  Each prints its checks;
# this ends with "N passed, M failed" over the scripts.  NAMEs (firmware,
# api, ...) run only those.  kvm-suite.sh [--valgrind] --list prints the
# names it runs by default, in order, one per line, and runs nothing.
set -u
valgrind=0
list=0
[ "${1:-}" = --valgrind ] && { valgrind=1; shift; }
[ "${1:-}" = --list ] && { list=1; set -- / /; }
build=$(cd "${1:?usage: kvm-suite.sh [--valgrind] BUILD_DIR EMBED_DIR [NAME...]}" && pwd)
embed=${2:?usage: kvm-suite.sh [--valgrind] BUILD_DIR EMBED_DIR [NAME...]}
shift 2
only=" $* "
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

[ $list = 1 ] || have_kvm || { echo "skip: no usable /dev/kvm"; exit 77; }
# What meson test sets for a sanitized build (tests/integration/meson.build).
VMRUN_SANITIZED=0
grep -qs '"name": "b_sanitize", "value": "address' \
	"$build/meson-info/intro-buildoptions.json" && VMRUN_SANITIZED=1
export VMRUN_SANITIZED
# What tests/run-all.sh sets for the sanitized suites (the box starts with
# no environment of the host's).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run NAME BOUND CMD...: one script, bounded in time; its status is a check.
run() {
	local name=$1 bound=$2 t0=$SECONDS rc
	shift 2
	[ $list = 0 ] || { echo "$name"; return 0; }
	[ "$only" = "  " ] || [[ $only == *" $name "* ]] || return 0
	echo "--- $name"
	timeout "$bound" "$@"
	rc=$?
	expect "$name ($((SECONDS - t0)) s)" 0 "$rc"
}

run firmware 600 "$here/firmware.sh" "$build"
run api 600 "$here/api.sh" "$build"
run snapshot 600 "$here/snapshot.sh" "$build"
run lifecycle 300 "$build/tests/integration/lifecycle" "$build/firmware/spin.elf"
run embed 300 "$here/embed.sh" --run "$embed" "$repo" "$build"
run hardening 600 "$here/hardening.sh" "$build"
[ $valgrind = 1 ] && run valgrind 900 "$here/valgrind.sh" "$build"
# Last: its storm of exits is what most often kills the box (kvm.sh).
run hostile 900 "$here/hostile.sh" "$build"
[ $list = 1 ] || summary
