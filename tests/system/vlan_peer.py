"""A minimal IPv4 host on a VLAN, for kernels without 8021q (no VLAN
subinterfaces): run inside a network namespace, it sends 802.1Q-tagged
ARP and ICMP echo requests out of an Ethernet interface with a packet
socket and takes the replies as the kernel hands them over.  The kernel's
own receive path (skb_vlan_untag()) parses the tag of every frame it gets
and reports it in PACKET_AUXDATA: that, not this script, checks the tags.

    python3 vlan_peer.py IFNAME VID SRC_IP DST_IP COUNT

Prints one JSON object: the ARP reply's sender, and for every frame taken
(the ARP reply and each echo reply) its length, TPID and TCI, and whether
the kernel parsed the tag ("kernel": false if it was left in the data).  Exits 1 if an answer is missing after 5 seconds.
"""

import json
import os
import select
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
PACKET_OUTGOING = 4


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    ifname, vid, src_ip, dst_ip, count = sys.argv[1:6]
    vid, count = int(vid), int(count)
    with open("/sys/class/net/%s/address" % ifname) as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((ifname, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    tag = struct.pack("!HH", 0x8100, vid)

    def take(pred):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not select.select([s], [], [], 0.2)[0]:
                continue
            data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
            if addr[2] == PACKET_OUTGOING:
                continue
            tci = tpid = None
            for lvl, typ, val in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA:
                    st, _, _, _, _, vtci, vtpid = struct.unpack("IIIHHHH", val[:20])
                    if st & TP_STATUS_VLAN_VALID:
                        tci = vtci
                        tpid = vtpid if st & TP_STATUS_VLAN_TPID_VALID else 0x8100
            kernel = tci is not None
            if not kernel and data[12:14] == b"\x81\x00":
                tci, tpid = struct.unpack("!H", data[14:16])[0], 0x8100
                data = data[:12] + data[16:]
            if pred(data):
                return {"len": len(data) + (4 if tci is not None else 0),
                        "tpid": tpid, "tci": tci, "kernel": kernel}, data
        print(json.dumps({"error": "no answer", "got": got}))
        sys.exit(1)

    got = {"frames": []}
    arp = (b"\xff" * 6 + mac + tag + struct.pack("!H", 0x0806)
           + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + sip + b"\0" * 6 + dip)
    s.send(arp)
    info, data = take(lambda d: d[12:14] == b"\x08\x06" and d[20:22] == b"\x00\x02"
                      and d[28:32] == dip)
    peer = data[22:28]
    got["peer_mac"] = ":".join("%02x" % c for c in peer)
    got["frames"].append(info)
    ident = os.getpid() & 0xffff
    for seq in range(count):
        payload = bytes(range(56))
        icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0x4000, 64, 1, 0,
                         sip, dip)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s.send(peer + mac + tag + struct.pack("!H", 0x0800) + ip + icmp)
        info, data = take(lambda d, seq=seq: d[12:14] == b"\x08\x00" and d[23] == 1
                          and d[34] == 0 and struct.unpack("!HH", d[38:42]) == (ident, seq)
                          and d[42:] == payload)
        got["frames"].append(info)
    print(json.dumps(got))


if __name__ == "__main__":
    main()
