#!/bin/sh
# hugepages.sh - reserve 2 MiB hugepages and mount hugetlbfs, for benchmarks.
# Nothing in vswitch requires hugepages (vswitchd falls back to --no-huge),
# but speed does.  usage: utilities/hugepages.sh [NR_PAGES]   (default 1024)
set -eu
NR=${1:-1024}
echo "$NR" > /proc/sys/vm/nr_hugepages
mkdir -p /dev/hugepages
if ! grep -q " /dev/hugepages hugetlbfs " /proc/mounts; then
    mount -t hugetlbfs nodev /dev/hugepages
fi
grep -E "HugePages_(Total|Free)" /proc/meminfo
