#!/bin/sh
# callgrind.sh - instructions (and, with CACHE=1, cache misses) per packet of
# the PMD forwarding code.
#
# Runs BUILDDIR/bench-pmd under callgrind, counting only bench_measure() (the
# measured PMD iterations, see tests/bench/bench-pmd.c), and prints for each
# scenario the instructions per packet: "total" (the whole loop, including
# the fake ports' mbuf alloc/free) and "switch" (total minus the fake ports'
# rx/tx functions).  CACHE=1 adds callgrind's cache simulation with a 32 KiB
# L1d and a 2 MiB last level (this machine's per-core L2) and reports L1d
# and L2 data misses per packet: at 100,000 MACs the FDB no longer fits in
# L2, and those misses, not instructions, are what the many-flow case costs.
# VERBOSE=1 lists the top functions (exclusive cost).  BENCH_ARGS adds
# bench-pmd options, e.g. BENCH_ARGS="--idle 1000" (1,000 idle ports).
#
# Usage: tests/bench/callgrind.sh [BUILDDIR] [FLOWS...]   (default: build 1 10000 100000)
set -eu
builddir=${1:-build}
[ $# -gt 0 ] && shift
flows=${*:-1 10000 100000}
iters=${ITERS:-2000}
bench="$builddir/bench-pmd"
[ -x "$bench" ] || { echo "callgrind.sh: $bench not built" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cache=""
if [ -n "${CACHE:-}" ]; then
    cache="--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=2097152,16,64"
fi

for f in $flows; do
    out="$tmp/cg.$f"
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect=bench_measure $cache \
        "$bench" --flows "$f" --iters "$iters" --slow-clock 100 ${BENCH_ARGS:-} \
        > "$tmp/log.$f" 2>&1 || { cat "$tmp/log.$f" >&2; exit 1; }
    pkts=$(sed -n 's/^flows [0-9]*: \([0-9]*\) packets.*/\1/p' "$tmp/log.$f")
    callgrind_annotate --inclusive=yes --show-percs=no "$out" > "$tmp/incl.$f"
    # PROGRAM TOTALS: Ir, then (with the cache simulation) Dr Dw I1mr D1mr
    # D1mw ILmr DLmr DLmw.
    # (callgrind_annotate writes a zero count as ".")
    set -- $(sed -n 's/^ *\([0-9,. ]*[0-9.]\) .*PROGRAM TOTALS.*/\1/p' "$tmp/incl.$f" \
             | tr -d , | sed 's/\(^\| \)\.\( \|$\)/\10\2/g; s/\(^\| \)\.\( \|$\)/\10\2/g')
    total=$1
    # Inclusive Ir of each fake port function: the largest figure on its
    # lines (callgrind_annotate lists a function once per call site too).
    ports=$(awk '/:bench_(rx|tx)( |$)/ { v = $1; gsub(",", "", v); f = ($0 ~ /bench_rx/);
                                          if (v + 0 > m[f]) m[f] = v + 0 }
                 END { print m[0] + m[1] }' "$tmp/incl.$f")
    line=$(awk -v f="$f" -v t="$total" -v p="$ports" -v n="$pkts" 'BEGIN {
        printf "flows %-7s packets %-8d instr/pkt total %6.1f  switch %6.1f",
               f, n, t / n, (t - p) / n }')
    if [ -n "$cache" ] && [ $# -ge 9 ]; then
        line="$line$(awk -v n="$pkts" -v d1="$5" -v w1="$6" -v dl="$8" -v wl="$9" 'BEGIN {
            printf "  L1d miss/pkt %5.2f  L2 miss/pkt %5.2f", (d1 + w1) / n, (dl + wl) / n }')"
    fi
    echo "$line"
    if [ -n "${VERBOSE:-}" ]; then
        callgrind_annotate "$out" | sed -n '/file:function/,$p' | sed -n '3,22p'
    fi
done
