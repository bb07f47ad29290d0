"""known_traffic - a traffic pattern with exact, known counters, for the
tests that read the counters through other interfaces than vsctl
(test_telemetry: DPDK telemetry; test_metrics: the Prometheus endpoint).

    a, b, expected = known_traffic.run(testcase, daemon)

Bridge br0 gets three vhost-user ports: vhu0 with frontend A, vhu1 with
frontend B, vhu2 with no frontend.  A sends N_FLOOD frames to a MAC nobody
has: they flood to vhu1 (delivered) and vhu2 (dropped, tx_dropped_link_down).
B then sends N_UNICAST frames to A's MAC, learned by then: unicast to vhu0.
Every step is checked with send_and_verify() (exact delivery), so when run()
returns the counters are exactly those of 'expected' and the frontends are
quiet (rxonly: they send nothing more).
"""

from vstest import add_bridge, send_and_verify, wait_until

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
FLOOD_BURSTS = 4
UNICAST_BURSTS = 2
N_FLOOD = FLOOD_BURSTS * 32
N_UNICAST = UNICAST_BURSTS * 32
TIMEOUT = 60
PORTS = ("vhu0", "vhu1", "vhu2")


def run(tc, d):
    """Runs the pattern on daemon 'd' for VsTestCase 'tc'; returns the two
    frontends and {port: {counter: value}} of the counters it must leave."""
    add_bridge(d, PORTS)
    a = tc.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
    b = tc.frontend(d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
    d.wait_port_state("vhu0", "up", TIMEOUT)
    d.wait_port_state("vhu1", "up", TIMEOUT)
    a.start_fwd()
    b.start_fwd()
    send_and_verify(d, a, "vhu0", b, "vhu1", bursts=FLOOD_BURSTS, timeout=TIMEOUT)
    wait_until(lambda: d.port_stats("vhu2")["tx_dropped_link_down"] == N_FLOOD,
               TIMEOUT, "vhu2 tx_dropped_link_down == %d" % N_FLOOD)
    send_and_verify(d, b, "vhu1", a, "vhu0", bursts=UNICAST_BURSTS, timeout=TIMEOUT)
    expected = {
        "vhu0": {"rx_packets": N_FLOOD, "tx_packets": N_UNICAST, "rx_dropped": 0,
                 "tx_dropped": 0},
        "vhu1": {"rx_packets": N_UNICAST, "tx_packets": N_FLOOD, "rx_dropped": 0,
                 "tx_dropped": 0},
        "vhu2": {"rx_packets": 0, "tx_packets": 0, "tx_dropped": N_FLOOD,
                 "tx_dropped_link_down": N_FLOOD},
    }
    return a, b, expected
