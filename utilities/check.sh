#!/bin/sh
# check.sh - install dependencies, build vswitch and run the whole test suite
# (Check unit suites + system tests with real vswitchd and dpdk-testpmd
# frontends).  This is the README's test command and what CI runs.
#
# usage: utilities/check.sh [BUILD_DIR]     (default: build)
# Environment: CMAKE_FLAGS (e.g. -DENABLE_SANITIZERS=ON), CTEST_ARGS.
set -eu

cd "$(dirname "$0")/.."
BUILD=${1:-build}

./utilities/install-deps.sh
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" ${CMAKE_FLAGS:-}
cmake --build "$BUILD" -j"$(nproc)"
# shellcheck disable=SC2086
ctest --test-dir "$BUILD" --output-on-failure ${CTEST_ARGS:-}
# libFuzzer smoke run of the JSON-RPC decoder + dispatcher (clang, ASan+UBSan).
FUZZ_BUILD="$BUILD-fuzz" ./tests/fuzz/run.sh 20000
# Soak, short form: frontend SIGKILLs under traffic + control-plane churn.
SOAK_BUILD="$BUILD" ./utilities/soak.sh 5
