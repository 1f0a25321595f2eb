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

# Bounds: about 6 times each script's time in the lab's box (firmware 20 s,
# api 30, snapshot 21, lifecycle 6, embed 1, hardening 12, valgrind 90,
# hostile with its 1,000,000-kick storm 300), so that one hung script and
# all the others still end inside kvm.sh's box timeout (1500 s): a hang is
# this script's failed check, never a dead box.
run firmware 180 "$here/firmware.sh" "$build"
run api 240 "$here/api.sh" "$build"
run snapshot 180 "$here/snapshot.sh" "$build"
run lifecycle 60 "$build/tests/integration/lifecycle" "$build/firmware/spin.elf"
run embed 60 "$here/embed.sh" --run "$embed" "$repo" "$build"
run hardening 120 "$here/hardening.sh" "$build"
[ $valgrind = 1 ] && run valgrind 300 "$here/valgrind.sh" "$build"
# Last: the longest, with its storm of exits.
run hostile 600 "$here/hostile.sh" "$build"
[ $list = 1 ] || summary
