#!/bin/sh
# run.sh - build the libFuzzer target for the JSON-RPC decoder + dispatcher
# (tests/fuzz/fuzz-rpc.c) with clang, ASan and UBSan, and run it for a fixed
# number of executions from the seed corpus in tests/fuzz/corpus-rpc/.
#
# usage: tests/fuzz/run.sh [RUNS]          (default 20000: CI's short form)
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (parallel
# jobs; unset: one process), FUZZ_ARGS (extra libFuzzer flags, e.g. -max_total_time=600).
# New inputs are written to FUZZ_BUILD/corpus-rpc (the seed corpus in the
# tree is never modified); a crash leaves FUZZ_BUILD/crash-* and exits != 0.
set -eu

cd "$(dirname "$0")/../.."
RUNS=${1:-20000}
BUILD=${FUZZ_BUILD:-build-fuzz}

mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DENABLE_FUZZ=ON -DCMAKE_C_COMPILER=clang \
      -DBUILD_TESTING=OFF >"$BUILD/cmake.log" 2>&1 || {
    cat "$BUILD/cmake.log"; exit 1; }
cmake --build "$BUILD" --target fuzz-rpc -j"$(nproc)"

mkdir -p "$BUILD/corpus-rpc"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# shellcheck disable=SC2086
exec "$BUILD/fuzz-rpc" -runs="$RUNS" -max_len=8192 -timeout=10 \
     -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/" \
     ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} ${FUZZ_ARGS:-} \
     "$BUILD/corpus-rpc" tests/fuzz/corpus-rpc
