#!/bin/sh
# run.sh - builds the libFuzzer harnesses (clang, ASan+UBSan) in their own
# build directory and replays or extends the seed corpora (docs/fuzzing.md).
#
#   tests/fuzz/run.sh [--replay] [--seconds N] [TARGET...]
#       replays each target's corpus, then fuzzes it for N seconds (default
#       20) from a scratch copy: what CI runs.  Exit status 1 on any crash,
#       leak, UB, timeout or harness check; the input lands in
#       $FUZZ_BUILD/artifacts/.
#   tests/fuzz/run.sh --campaign SECONDS TARGET
#       fuzzes TARGET for SECONDS and merges the inputs that add coverage
#       into tests/fuzz/corpus/TARGET (commit them).
#
# Environment: FUZZ_BUILD (default build-fuzz in the source tree), CC
# (default clang), FUZZ_JOBS (ninja -j).
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$src/build-fuzz}
corpora=$src/tests/fuzz/corpus
all="config virtq bootimg blk net console rng api snapshot"
mode=replay
seconds=20

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --replay) mode=replay ;;
    --seconds) seconds=${2:?}; shift ;;
    --campaign) mode=campaign; seconds=${2:?}; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
targets=${*:-$all}
[ "$mode" = campaign ] && [ $# -ne 1 ] && usage

# Per-target input size limits: the device harnesses take a RAM image, no
# need for more than a few pages of it.
max_len() {
    case $1 in
    config) echo 16384 ;;
    bootimg) echo 65536 ;;
    net|api) echo 16384 ;;
    *) echo 8192 ;;
    esac
}

build() {
    if [ ! -f "$build/build.ninja" ]; then
        CC=${CC:-clang} meson setup "$build" "$src" -Dfuzz=true \
            -Dtests=false >"$build.setup.log" 2>&1 ||
            { cat "$build.setup.log" >&2; exit 1; }
    fi
    t=""
    for n in $targets; do t="$t tests/fuzz/fuzz_$n"; done
    # shellcheck disable=SC2086
    ninja -C "$build" ${FUZZ_JOBS:+-j"$FUZZ_JOBS"} $t >/dev/null
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# fuzz TARGET SECONDS WORKDIR: libFuzzer (binary $bin, output $log) on
# WORKDIR (new inputs) with the
# committed corpus as seeds; prints its final stats line.
fuzz() {
    mkdir -p "$build/artifacts"
    "$bin" -max_total_time="$2" -timeout=10 \
        -rss_limit_mb=1024 -max_len="$(max_len "$1")" -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$1-" "$3" "$corpora/$1" \
        >"$log" 2>&1 ||
        { tail -n 60 "$log" >&2; return 1; }
    stats "$log"
}

# stats LOG: "execs N cov C ft F corp K/SIZE" from libFuzzer's last status
# line and final stats.
stats() {
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1")
    grep -E '^#[0-9]+.*cov: ' "$1" | tail -n 1 |
        sed -E "s/^#[0-9]+[^c]*cov: ([0-9]+) ft: ([0-9]+) corp: ([^ ]+).*/execs $execs cov \\1 ft \\2 corp \\3/"
}

# merge TARGET WORKDIR: the committed corpus becomes the hand-made seeds
# and reproducers (seed-*, crash-*) plus the fewest inputs that keep every
# edge of corpus + WORKDIR (-use_counters=0: edges, not hit counts, so the
# corpus stays at most about a hundred small files).
merge() {
    new=$1.merged
    rm -rf "$work.$new"
    mkdir "$work.$new"
    before=$(ls "$corpora/$1" | wc -l)
    "$bin" -merge=1 -use_counters=0 -max_len="$(max_len "$1")" \
        "$work.$new" "$corpora/$1" "$2" >"$build/merge-$1.log" 2>&1 ||
        { tail -n 20 "$build/merge-$1.log" >&2; return 1; }
    for f in "$corpora/$1"/seed-* "$corpora/$1"/crash-*; do
        [ -e "$f" ] && cp "$f" "$work.$new/"
    done
    rm -f "$corpora/$1"/*
    cp "$work.$new"/* "$corpora/$1/"
    rm -rf "$work.$new"
    echo "$1: corpus $before -> $(ls "$corpora/$1" | wc -l) inputs"
}

build
status=0
for t in $targets; do
    log=$build/fuzz-$t-$mode.log
    work=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-fuzz-$t.XXXXXX")
    # A private copy, so a rebuild during a long run does not touch it.
    bin=$work.bin
    cp "$build/tests/fuzz/fuzz_$t" "$bin"
    if [ "$mode" = replay ]; then
        printf '%-8s replay: ' "$t"
        if "$bin" -runs=0 "$corpora/$t" \
            >"$build/replay-$t.log" 2>&1; then
            echo "$(ls "$corpora/$t" | wc -l) inputs ok"
        else
            echo FAILED; tail -n 60 "$build/replay-$t.log" >&2; status=1
        fi
        printf '%-8s %ss:    ' "$t" "$seconds"
        fuzz "$t" "$seconds" "$work" || { echo FAILED; status=1; }
    else
        echo "$t: campaign of ${seconds}s"
        fuzz "$t" "$seconds" "$work" || status=1
        merge "$t" "$work" || status=1
    fi
    rm -rf "$work" "$bin"
done
exit $status
