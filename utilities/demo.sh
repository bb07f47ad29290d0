#!/bin/bash
# demo.sh - the main job, end to end: a vswitchd with one bridge and two
# vhost-user ports, two dpdk-testpmd virtio-user "containers" exchanging
# traffic through it for a few seconds, then the switch's view of it.
#
# Usage: utilities/demo.sh [BUILDDIR]        (default ./build)
#        DEMO_SECONDS=N to run the traffic longer (default 5)
#        DEMO_RATE_SECONDS=N for the measured packet-rate run (default 3)
#
# Everything runs in a temporary directory (sockets, state, logs) and is
# stopped on exit.  vswitchd picks its memory itself (hugepages if free ones
# exist, else --no-huge); the frontends always use --no-huge.  Layout for a
# 2-core machine: vswitchd's PMD on core 1, each testpmd forwards on core 0.
#
# Exit status 0 only if both vhost ports show non-zero rx and tx packets.
set -euo pipefail

BUILDDIR=${1:-./build}
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-5}
RATE_SECONDS=${DEMO_RATE_SECONDS:-3}
VSWITCHD="$BUILDDIR/vswitchd"
VSCTL="$BUILDDIR/vsctl"
TESTPMD=${TESTPMD:-dpdk-testpmd}
A_MAC=02:00:00:00:00:0a
B_MAC=02:00:00:00:00:0b

for bin in "$VSWITCHD" "$VSCTL"; do
    if [ ! -x "$bin" ]; then
        echo "demo: $bin not found; build first:" >&2
        echo "  cmake -S . -B $BUILDDIR && cmake --build $BUILDDIR" >&2
        exit 1
    fi
done
if ! command -v "$TESTPMD" >/dev/null; then
    echo "demo: $TESTPMD not found (Debian package 'dpdk')" >&2
    exit 1
fi
for tool in python3 stdbuf; do
    if ! command -v "$tool" >/dev/null; then
        echo "demo: $tool not found" >&2
        exit 1
    fi
done

WORK=$(mktemp -d /tmp/vswitch-demo.XXXXXX)
RUNDIR=$WORK/run
SOCK=$RUNDIR/vswitchd.sock
PIDFILE=$RUNDIR/vswitchd.pid
mkdir -p "$RUNDIR" "$WORK/state"

declare -A TP_PID=() TP_FD=() TP_PREFIX=()
VSWITCHD_EAL_DIR=""

# alive PID: the process exists and is not a zombie (a detached vswitchd is
# not our child, and PID 1 in a container may not reap it).
alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

say() { printf '\n=== %s\n' "$*"; }

vsctl() { "$VSCTL" --socket "$SOCK" "$@"; }

cleanup() {
    local rc=$? name pid fd
    set +e
    for name in "${!TP_PID[@]}"; do
        pid=${TP_PID[$name]}
        fd=${TP_FD[$name]:-}
        if [ -n "$fd" ] && kill -0 "$pid" 2>/dev/null; then
            { echo quit >&"$fd"; } 2>/dev/null
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        [ -n "$fd" ] && exec {fd}>&-
        rm -rf "/var/run/dpdk/${TP_PREFIX[$name]}"
    done
    if [ -s "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 100); do
                alive "$pid" || break
                sleep 0.1
            done
            if alive "$pid"; then
                echo "demo: vswitchd did not stop on SIGTERM, killing it" >&2
                kill -KILL "$pid" 2>/dev/null
                rc=1
            fi
        fi
    fi
    # DPDK leaves the EAL runtime dir behind even after a clean exit.
    [ -n "$VSWITCHD_EAL_DIR" ] && rm -rf "$VSWITCHD_EAL_DIR"
    if [ "$rc" -ne 0 ]; then
        echo "demo: FAILED (exit $rc); logs follow" >&2
        for f in "$WORK"/*.log; do
            [ -e "$f" ] || continue
            echo "---- tail of $(basename "$f") ----" >&2
            tail -n 25 "$f" >&2
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "demo: timed out after ${secs}s waiting for $what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# prompts NAME: number of testpmd prompts printed so far.
prompts() { { grep -o 'testpmd> ' "$WORK/$1.log" 2>/dev/null || true; } | wc -l; }

prompt_count_above() { [ "$(prompts "$1")" -gt "$2" ]; }

# tp_cmd NAME COMMAND: sends one command, waits for the next prompt.
tp_cmd() {
    local name=$1 n
    shift
    n=$(prompts "$name")
    echo "$*" >&"${TP_FD[$name]}"
    wait_for 30 "testpmd $name: $*" prompt_count_above "$name" "$n"
}

# tp_launch NAME ARGS...: a testpmd frontend (4 KiB pages, forwarding on
# core 0) driven through a fifo; ARGS are its --vdev ports and app options.
tp_launch() {
    local name=$1 fd
    shift
    TP_PREFIX[$name]=vswitch-demo-$$-$name
    mkfifo "$WORK/$name.in"
    stdbuf -oL -eL "$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 1024 --no-pci \
        --file-prefix "${TP_PREFIX[$name]}" "$@" \
        <"$WORK/$name.in" >"$WORK/$name.log" 2>&1 &
    TP_PID[$name]=$!
    exec {fd}>"$WORK/$name.in"
    TP_FD[$name]=$fd
    wait_for 60 "testpmd $name to start" prompt_count_above "$name" 0
    if ! grep -q '^Port 0: ' "$WORK/$name.log"; then
        echo "demo: testpmd $name has no port 0" >&2
        return 1
    fi
}

# tp_start NAME SOCKET MAC PEER: a virtio-user frontend on SOCKET,
# forwarding in mac mode (rewrites dst to PEER, src to MAC).
tp_start() {
    tp_launch "$1" --vdev "net_virtio_user0,path=$2,mac=$3" \
        -- -i --total-num-mbufs=32768 --forward-mode=mac --eth-peer="0,$4"
}

# tp_quit NAME: stops testpmd NAME and waits for it to exit.
tp_quit() {
    echo quit >&"${TP_FD[$1]}"
    wait_for 30 "testpmd $1 to exit" eval "! kill -0 ${TP_PID[$1]} 2>/dev/null"
}

# eal_dir PID: the EAL runtime dir (/run/dpdk/<file-prefix>) PID has files
# open in; vswitchd picks its own --file-prefix.
eal_dir() {
    local f t
    for f in /proc/"$1"/fd/*; do
        t=$(readlink "$f" 2>/dev/null) || continue
        t=${t#/var}
        case $t in
            /run/dpdk/*/*) echo "$t" | cut -d/ -f1-4; return 0 ;;
        esac
    done
    return 0
}

port_up() {
    vsctl --format json list-ports br0 | python3 -c '
import json, sys
ports = {p["name"]: p["state"] for p in json.load(sys.stdin)["ports"]}
sys.exit(0 if ports.get(sys.argv[1]) == "up" else 1)' "$1"
}

say "starting vswitchd (rundir $RUNDIR)"
"$VSWITCHD" --rundir "$RUNDIR" --statedir "$WORK/state" --pmd-cores 1 \
    --log-level info --detach --pidfile "$PIDFILE" --log-file "$WORK/vswitchd.log" \
    </dev/null >>"$WORK/vswitchd.log" 2>&1
vsctl version
VSWITCHD_EAL_DIR=$(eal_dir "$(cat "$PIDFILE")")

say "creating br0 with vhost-user ports vhu0 and vhu1"
vsctl add-br br0
vsctl add-port br0 vhu0 type=vhost-user
vsctl add-port br0 vhu1 type=vhost-user

say "starting frontends A ($A_MAC on vhu0) and B ($B_MAC on vhu1)"
tp_start A "$RUNDIR/vhost/vhu0" "$A_MAC" "$B_MAC"
tp_start B "$RUNDIR/vhost/vhu1" "$B_MAC" "$A_MAC"
wait_for 30 "vhu0 up" port_up vhu0
wait_for 30 "vhu1 up" port_up vhu1

say "traffic: each side injects 8 bursts of 32, both mac-forward to the other for ${SECONDS_OF_TRAFFIC}s"
tp_cmd B start tx_first 8
tp_cmd A start tx_first 8
sleep "$SECONDS_OF_TRAFFIC"
tp_cmd A stop
tp_cmd B stop
for name in A B; do
    echo "--- testpmd $name:"
    tp_cmd "$name" show port stats 0
    awk '/NIC statistics for port 0/,/Throughput/' "$WORK/$name.log" \
        | grep -E 'RX-packets|TX-packets' | tail -n 2
done

say "vsctl show"
vsctl show
say "vsctl port-stats"
vsctl port-stats
say "vsctl fdb-show br0"
vsctl fdb-show br0
say "vsctl pmd-stats-show"
vsctl pmd-stats-show

say "packet rate: one frontend mac-forwarding between vhu0 and vhu1 in a loop, ${RATE_SECONDS}s"
# A saturating run: one testpmd owns both ports (one forwarding core, not
# two testpmds taking turns on it), the loop primed with 16 bursts each way.
tp_quit A
tp_quit B
tp_launch L --vdev "net_virtio_user0,path=$RUNDIR/vhost/vhu0,mac=$A_MAC" \
    --vdev "net_virtio_user1,path=$RUNDIR/vhost/vhu1,mac=$B_MAC" \
    -- -i --total-num-mbufs=32768 --forward-mode=mac \
    --eth-peer="0,$B_MAC" --eth-peer="1,$A_MAC"
wait_for 30 "vhu0 up" port_up vhu0
wait_for 30 "vhu1 up" port_up vhu1
tp_cmd L start tx_first 16
sleep 1
rate_sample() {
    { vsctl --format json port-stats; vsctl --format json pmd-stats-show; } >"$WORK/$1.json"
    date +%s.%N >"$WORK/$1.time"
}
rate_sample before
sleep "$RATE_SECONDS"
rate_sample after
tp_cmd L stop
python3 - "$WORK" <<'EOF'
import json, sys
def load(name):
    text, dec, i, docs = open("%s/%s.json" % (sys.argv[1], name)).read(), json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return docs, float(open("%s/%s.time" % (sys.argv[1], name)).read())
        obj, i = dec.raw_decode(text, i)
        docs.append(obj)
(p0, m0), t0 = load("before")
(p1, m1), t1 = load("after")
rx = lambda d: sum(p["rx_packets"] for p in d["ports"] if p["name"] in ("vhu0", "vhu1"))
pk = lambda d: sum(p["rx_packets"] for p in d["pmds"])
busy = lambda d: sum(p["busy_cycles"] for p in d["pmds"])
n = rx(p1) - rx(p0)
print("vswitchd switched %.2f Mpps (%d packets in %.1f s, both directions), "
      "%.0f busy PMD cycles per packet"
      % (n / (t1 - t0) / 1e6, n, t1 - t0, (busy(m1) - busy(m0)) / max(1, pk(m1) - pk(m0))))
EOF
echo "(the frontend runs on 4 KiB pages; with hugepages on both sides and"
echo " OVS-DPDK, testpmd and the vhost limit loop side by side: utilities/vswitch-bench,"
echo " Documentation/performance.md)"

say "verdict"
vsctl --format json port-stats | python3 -c '
import json, sys
stats = {p["name"]: p for p in json.load(sys.stdin)["ports"]}
ok = True
for port in ("vhu0", "vhu1"):
    p = stats.get(port, {})
    rx, tx = p.get("rx_packets", 0), p.get("tx_packets", 0)
    good = rx > 0 and tx > 0
    ok = ok and good
    print("%s: rx_packets=%d tx_packets=%d %s" % (port, rx, tx, "ok" if good else "NO TRAFFIC"))
print("demo: PASS" if ok else "demo: FAIL")
sys.exit(0 if ok else 1)'
