#!/bin/sh
# check.sh - install dependencies, build vswitch and run the whole test suite
# (Check unit suites + system tests with real vswitchd and dpdk-testpmd
# frontends), then the builds and runs that catch what the normal build
# cannot.  This is the README's test command and what CI runs (.ci/run).
#
# usage: utilities/check.sh [BUILD_DIR]     (default: build)
#
# Steps, in order (each stops the script on failure):
#   test     BUILD_DIR: cmake ${CMAKE_FLAGS} + build + ctest ${CTEST_ARGS}
#            (every unit suite, the whole system suite
#            and the VM tests: QEMU guests, tests/vm)
#   release  BUILD_DIR-release, BUILD_DIR-debug: compile only, as a packager
#            would (-DCMAKE_BUILD_TYPE=Release / Debug; -Werror, and gcc 12
#            -O3 finds maybe-uninitialized warnings that -O2 does not)
#   asan     BUILD_DIR-asan: -DENABLE_SANITIZERS=ON (ASan + UBSan); the unit
#            suites (ctest -L unit) and the system tests matching
#            ${SANITIZER_TESTS} (run.py -k patterns)
#   fuzz     libFuzzer smoke run of the JSON-RPC decoder + dispatcher
#   soak     utilities/soak.sh 5: frontend SIGKILLs under traffic + churn
#
# Environment:
#   CMAKE_FLAGS      extra cmake flags for BUILD_DIR (e.g. -DENABLE_SANITIZERS=ON)
#   CTEST_ARGS       extra ctest arguments for BUILD_DIR (e.g. "-L unit")
#   CHECK_STEPS      the steps to run (default: "test release asan fuzz soak")
#   SANITIZER_TESTS  run.py -k patterns for the asan step (default below)
set -eu

cd "$(dirname "$0")/.."
BUILD=${1:-build}
STEPS=${CHECK_STEPS:-test release asan fuzz soak}
# A representative part of the system suite under the sanitizers (about
# 5 minutes on 2 cores): traffic through vhost-user, the control protocol
# and bad input, restart/recovery, events, the datapath bug regressions,
# start-up failures and durability; telemetry requests handed from DPDK's
# threads to the main loop; where the log goes (file, reopen, syslog);
# the PMD-side capture copies and the software checksum/TSO path.
SANITIZER_TESTS=${SANITIZER_TESTS:-test_traffic test_control test_daemon test_events test_datapath_bugs test_hardening_startup test_telemetry test_capture test_offload test_logging}

step() {
    case " $STEPS " in *" $1 "*) return 0 ;; esac
    return 1
}

say() {
    printf '\n==== check.sh: %s (%s) ====\n' "$*" "$(date -u +%H:%M:%S)"
}

./utilities/install-deps.sh

if step test; then
    say "build $BUILD and run every test"
    # shellcheck disable=SC2086
    cmake -S . -B "$BUILD" ${CMAKE_FLAGS:-}
    cmake --build "$BUILD" -j"$(nproc)"
    # shellcheck disable=SC2086
    ctest --test-dir "$BUILD" --output-on-failure ${CTEST_ARGS:-}
fi

if step release; then
    for type in Release Debug; do
        dir="$BUILD-$(echo "$type" | tr 'A-Z' 'a-z')"
        say "compile $type in $dir"
        cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
        cmake --build "$dir" -j"$(nproc)"
    done
fi

if step asan; then
    say "ASan + UBSan build in $BUILD-asan: unit suites, system tests $SANITIZER_TESTS"
    cmake -S . -B "$BUILD-asan" -DENABLE_SANITIZERS=ON >/dev/null
    cmake --build "$BUILD-asan" -j"$(nproc)"
    ctest --test-dir "$BUILD-asan" --output-on-failure -L unit
    set --
    for t in $SANITIZER_TESTS; do
        set -- "$@" -k "$t"
    done
    # verify_asan_link_order=0: some tests LD_PRELOAD a probe into vswitchd
    # (tests/system/vhost-tx-probe.c), which would otherwise come before
    # the ASan runtime and make it refuse to start.
    ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
        python3 tests/system/run.py --builddir "$BUILD-asan" "$@"
fi

# More steps go here, each under its own name in CHECK_STEPS.

if step fuzz; then
    say "fuzz smoke run"
    # libFuzzer smoke run of the JSON-RPC decoder + dispatcher (clang, ASan+UBSan).
    FUZZ_BUILD="$BUILD-fuzz" ./tests/fuzz/run.sh 20000
fi

if step soak; then
    say "soak, short form"
    SOAK_BUILD="$BUILD" ./utilities/soak.sh 5
fi

say "all steps passed: $STEPS"
