#!/bin/sh
# callgrind.sh - instructions per packet of the PMD forwarding code.
#
# Runs build/bench-pmd under callgrind, counting only bench_measure() (the
# measured PMD iterations, see tests/bench/bench-pmd.c), and prints for each
# scenario the instructions per packet: "total" (the whole loop, including
# the fake ports' mbuf alloc/free) and "switch" (total minus the fake ports'
# rx/tx functions), then the top functions by exclusive cost.
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

for f in $flows; do
    out="$tmp/cg.$f"
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect=bench_measure "$bench" --flows "$f" --iters "$iters" \
        > "$tmp/log.$f" 2>&1 || { cat "$tmp/log.$f" >&2; exit 1; }
    pkts=$(sed -n 's/^flows [0-9]*: \([0-9]*\) packets.*/\1/p' "$tmp/log.$f")
    callgrind_annotate --inclusive=yes "$out" > "$tmp/incl.$f"
    callgrind_annotate "$out" > "$tmp/excl.$f"
    total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$tmp/incl.$f" | tr -d ,)
    # Inclusive cost of each fake port function: the largest figure on its
    # lines (callgrind_annotate lists a function once per call site too).
    ports=$(awk '/:bench_(rx|tx)( |$)/ { v = $1; gsub(",", "", v); f = ($0 ~ /bench_rx/);
                                          if (v + 0 > m[f]) m[f] = v + 0 }
                 END { print m[0] + m[1] }' "$tmp/incl.$f")
    awk -v f="$f" -v t="$total" -v p="$ports" -v n="$pkts" 'BEGIN {
        printf "flows %-7s packets %-8d instr/pkt total %6.1f  switch %6.1f\n",
               f, n, t / n, (t - p) / n }'
    if [ -n "${VERBOSE:-}" ]; then
        sed -n '/^Ir/,$p' "$tmp/excl.$f" | sed -n '3,22p'
    fi
done
