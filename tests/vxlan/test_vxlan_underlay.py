"""Underlays (in-memory and real UDP sockets on loopback), the guest stack and the
stand-alone VTEP: ARP, ping both ways, UDP echo, noise dropped and counted."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP as S_ICMP
from scapy.layers.inet import IP as S_IP
from scapy.layers.inet import UDP as S_UDP
from scapy.layers.inet6 import ICMPv6ND_RS
from scapy.layers.inet6 import IPv6 as S_IPv6
from scapy.layers.l2 import ARP as S_ARP
from scapy.layers.l2 import Ether

import vxlan
from vxlan import GuestStack, MemoryNetwork, PcapWriter, UdpUnderlay, Vtep

MAC_A = "00:15:5d:07:00:14"
MAC_B = "00:15:5d:08:00:15"


def _pump(*vteps: Vtep, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not any(v.poll(0.0) for v in vteps):
            break


def _two_hosts(net: MemoryNetwork) -> tuple[GuestStack, GuestStack, Vtep, Vtep]:
    ga = GuestStack(MAC_A, "10.244.7.20")
    gb = GuestStack(MAC_B, "10.244.7.30")
    va = Vtep(net.attach("10.77.0.2"), vni=4096, guests=[ga], flood=["10.77.0.3"],
              fdb={vxlan.mac_from_text(MAC_B): "10.77.0.3"})
    vb = Vtep(net.attach("10.77.0.3"), vni=4096, guests=[gb], flood=["10.77.0.2"],
              learning=True)
    return ga, gb, va, vb


def test_memory_underlay_ping_both_ways_with_arp(tmp_path: Path) -> None:
    path = tmp_path / "cluster.pcap"
    with PcapWriter(path) as capture:
        net = MemoryNetwork(capture=capture)
        ga, gb, va, vb = _two_hosts(net)
        va.send_all(ga.ping("10.244.7.30", ident=7, seq=1))
        _pump(va, vb)
        vb.send_all(gb.ping("10.244.7.20", ident=8, seq=1))
        _pump(va, vb)
    reply_a = ga.reply_for(7, 1)
    reply_b = gb.reply_for(8, 1)
    assert reply_a is not None
    assert reply_a.src == vxlan.ipv4_from_text("10.244.7.30")
    assert reply_b is not None
    assert reply_b.payload == b"abcdefghijklmnopqrstuvwabcdefghi"
    assert ga.counters["arp request"] == 1
    assert gb.counters["arp reply"] == 1
    assert gb.counters["arp request"] == 0  # B learned A's MAC from the ARP request
    assert vb.fdb[vxlan.mac_from_text(MAC_A)] == "10.77.0.2"  # learned from the outer source
    # every frame on the wire is valid VXLAN with VNI 4096
    frames = vxlan.read_pcap(path)
    assert len(frames) == 6  # ARP req+rep, echo req+rep, echo req+rep
    assert {vxlan.decapsulate(f, expected_vni=4096).vni for f in frames} == {4096}


def test_memory_underlay_udp_echo() -> None:
    net = MemoryNetwork()
    ga, gb, va, vb = _two_hosts(net)
    gb.arp_cache[ga.ip] = ga.mac
    ga.arp_cache[gb.ip] = gb.mac
    va.send_all(ga.send_udp("10.244.7.30", 40000, 7, b"hello"))
    _pump(va, vb)
    assert [(d.sport, d.dport, d.payload) for d in ga.udp_received] == [(7, 40000, b"hello")]
    assert gb.counters["udp echo"] == 1


def test_memory_underlay_counts_undeliverable_frames() -> None:
    net = MemoryNetwork()
    host = net.attach("10.77.0.2")
    with pytest.raises(ValueError, match="already attached"):
        net.attach("10.77.0.2")
    inner = bytes(Ether() / S_IP() / S_ICMP())
    host.send(vxlan.encapsulate(inner, vni=1, src_pa="10.77.0.2", dst_pa="10.77.0.9",
                                src_mac=MAC_A, dst_mac=MAC_B))
    assert net.drops["no host at 10.77.0.9"] == 1
    host.send(b"\x00" * 10)
    assert sum(host.drops.values()) == 1
    peer = net.attach("10.77.0.3")
    host.send(vxlan.encapsulate(inner, vni=1, src_pa="10.77.0.2", dst_pa="10.77.0.3",
                                src_mac=MAC_A, dst_mac=MAC_B, dst_port=8472))
    assert peer.drops["UDP port 8472 closed"] == 1
    assert peer.recv() is None


def test_vtep_drops_wrong_vni_and_missing_i_flag() -> None:
    net = MemoryNetwork()
    ga, gb, va, vb = _two_hosts(net)
    inner = ga.ping("10.244.7.30")[0]
    va.underlay.send(vxlan.encapsulate(inner, vni=4097, src_pa="10.77.0.2", dst_pa="10.77.0.3",
                                       src_mac=MAC_A, dst_mac=MAC_B))
    frame = bytearray(vxlan.encapsulate(inner, vni=4096, src_pa="10.77.0.2",
                                        dst_pa="10.77.0.3", src_mac=MAC_A, dst_mac=MAC_B))
    frame[42] = 0
    va.underlay.send(bytes(frame))
    _pump(vb)
    assert vb.counters["drop: VNI 4097 is not the expected 4096"] == 1
    assert vb.counters["drop: I flag not set (flags 0x00)"] == 1
    assert gb.counters["arp reply"] == 0


def test_guest_answers_arp_and_echo_with_valid_bytes() -> None:
    guest = GuestStack(MAC_A, "10.244.7.20")
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:42:0a:f4:07:0a") /
                S_ARP(op=1, hwsrc="02:42:0a:f4:07:0a", psrc="10.244.7.10", pdst="10.244.7.20"))
    (reply,) = guest.handle(arp)
    pkt = Ether(reply)
    assert (pkt[S_ARP].op, pkt[S_ARP].hwsrc, pkt[S_ARP].psrc) == (2, MAC_A, "10.244.7.20")
    assert (pkt.dst, pkt[S_ARP].pdst) == ("02:42:0a:f4:07:0a", "10.244.7.10")
    echo = bytes(Ether(dst=MAC_A, src="02:42:0a:f4:07:0a") /
                 S_IP(src="10.244.7.10", dst="10.244.7.20") / S_ICMP(id=33, seq=4) / b"ping!")
    (reply,) = guest.handle(echo)
    pkt = Ether(reply)
    assert (pkt[S_IP].src, pkt[S_IP].dst, pkt[S_ICMP].type) == ("10.244.7.20", "10.244.7.10", 0)
    assert (pkt[S_ICMP].id, pkt[S_ICMP].seq, bytes(pkt[S_ICMP].payload)) == (33, 4, b"ping!")
    icmp_sum, ip_sum = pkt[S_ICMP].chksum, pkt[S_IP].chksum
    del pkt[S_ICMP].chksum
    del pkt[S_IP].chksum
    rebuilt = Ether(bytes(pkt))
    assert (rebuilt[S_ICMP].chksum, rebuilt[S_IP].chksum) == (icmp_sum, ip_sum)


def test_guest_drops_noise_without_raising() -> None:
    guest = GuestStack(MAC_A, "10.244.7.20")
    noise = [
        bytes(Ether(dst="33:33:00:00:00:02") / S_IPv6(dst="ff02::2") / ICMPv6ND_RS()),
        bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / S_IPv6() / ICMPv6ND_RS()),
        bytes(Ether(dst=MAC_A) / S_IP(dst="10.244.7.99") / S_ICMP()),
        bytes(Ether(dst=MAC_A) / S_IP(dst="10.244.7.20") / S_UDP(dport=9) / b"x"),
        b"\x00\x15\x5d\x07\x00\x14" + b"\x00" * 10,
        bytes(Ether(dst="01:80:c2:00:00:0e", type=0x88CC) / (b"\x00" * 40)),
    ]
    for frame in noise:
        assert guest.handle(frame) == []
    assert sum(guest.counters.values()) == len(noise)
    assert guest.counters["drop: not for this MAC"] == 2


def _on_one_port(*pas: str) -> list[UdpUnderlay]:
    """UdpUnderlays on ``pas`` that share one UDP port, as VTEPs do (each sends to its
    peer's VXLAN port, which is its own). The first takes the kernel's pick (port 0) and
    holds it while the others bind it; a number picked ahead and bound later could be
    another test's socket by then (pytest -n 2), and a later address already holding the
    pick means another pick, not a failed test."""
    while True:
        bound = [UdpUnderlay(pas[0], 0)]
        try:
            bound += [UdpUnderlay(pa, bound[0].port) for pa in pas[1:]]
        except OSError as exc:
            for underlay in bound:
                underlay.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return bound


# The datagrams below go over loopback and are waited for with no timeout of their own
# (poll(None)): a short one would fail a test for a slow machine, not for a lost frame;
# pytest-timeout bounds a frame that never comes.


def test_udp_underlay_ping_both_ways_on_loopback() -> None:
    ga = GuestStack(MAC_A, "10.244.7.20")
    gb = GuestStack(MAC_B, "10.244.7.30")
    ua, ub = _on_one_port("127.0.0.2", "127.0.0.3")
    with ua, ub:
        port = ua.port
        va = Vtep(ua, vni=4096, guests=[ga], flood=["127.0.0.3"], dst_port=port)
        vb = Vtep(ub, vni=4096, guests=[gb], flood=["127.0.0.2"], dst_port=port)
        va.send_all(ga.ping("10.244.7.30", ident=1, seq=1))
        # ARP request (a->b), ARP reply (b->a), echo request (a->b), echo reply (b->a)
        assert [vb.poll(None), va.poll(None), vb.poll(None), va.poll(None)] == [True] * 4
        vb.send_all(gb.ping("10.244.7.20", ident=2, seq=1))  # no ARP: b learned a's MAC
        assert [va.poll(None), vb.poll(None)] == [True] * 2
    assert ga.reply_for(1, 1) is not None
    assert gb.reply_for(2, 1) is not None
    assert (va.counters["rx"], vb.counters["rx"]) == (3, 3)


def test_udp_underlay_replies_to_the_vxlan_port_not_the_source_port() -> None:
    guest = GuestStack(MAC_B, "10.244.7.30")
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A) /
                S_ARP(op=1, hwsrc=MAC_A, psrc="10.244.7.20", pdst="10.244.7.30"))
    datagram = vxlan.VXLANHeader(4096).pack() + arp
    ub, peer_vtep = _on_one_port("127.0.0.3", "127.0.0.4")
    with ub, peer_vtep, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ephemeral:
        port = ub.port
        ephemeral.bind(("127.0.0.4", 0))  # a sender whose source port is not the VXLAN port
        vb = Vtep(ub, vni=4096, guests=[guest], flood=["127.0.0.4"], dst_port=port)
        ephemeral.sendto(datagram, ("127.0.0.3", port))
        assert vb.poll(None)
        got = peer_vtep.recv_datagram(None)
    assert got is not None
    reply, src, sport = got
    assert (src, sport) == ("127.0.0.3", port)
    assert vxlan.VXLANHeader.unpack(reply, 0)[0] == vxlan.VXLANHeader(4096)
    assert Ether(reply[8:])[S_ARP].op == 2


def test_udp_underlay_recv_rebuilds_a_decapsulatable_frame() -> None:
    inner = bytes(Ether(dst=MAC_B, src=MAC_A) / S_IP() / S_ICMP())
    with UdpUnderlay("127.0.0.3", 0) as ub, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        port = ub.port
        sender.bind(("127.0.0.5", 0))
        sender_port = sender.getsockname()[1]
        sender.sendto(vxlan.VXLANHeader(77).pack() + inner, ("127.0.0.3", port))
        frame = ub.recv(None)
    assert frame is not None
    d = vxlan.decapsulate(frame, dst_port=port, expected_vni=77)
    assert d.inner == inner
    assert d.src_pa == vxlan.ipv4_from_text("127.0.0.5")
    assert d.src_port == sender_port


def test_memory_network_many_hosts_ping_in_a_ring() -> None:
    net = MemoryNetwork()
    count = 20
    pas = [f"10.77.1.{i + 1}" for i in range(count)]
    guests = [GuestStack(bytes([0, 0x15, 0x5D, 9, 0, i]), f"10.244.9.{i + 10}")
              for i in range(count)]
    fdb = {g.mac: pa for g, pa in zip(guests, pas, strict=True)}
    vteps = [Vtep(net.attach(pa), vni=4096, guests=[g], fdb=fdb,
                  flood=[p for p in pas if p != pa]) for g, pa in zip(guests, pas, strict=True)]
    for i, (guest, vtep) in enumerate(zip(guests, vteps, strict=True)):
        vtep.send_all(guest.ping(f"10.244.9.{(i + 1) % count + 10}", ident=i, seq=1))
    for _ in range(10):
        if not any([v.poll(0.0) for v in vteps]):
            break
        while any([v.poll(0.0) for v in vteps]):
            pass
    for i, guest in enumerate(guests):
        reply = guest.reply_for(i, 1)
        assert reply is not None, i
        assert reply.src == vxlan.ipv4_from_text(f"10.244.9.{(i + 1) % count + 10}")
    # each ARP request was flooded to the 19 other hosts; only the target answered
    assert sum(g.counters["drop: not for this MAC"] for g in guests) == 0
    assert sum(g.counters["arp reply"] for g in guests) == count
    assert sorted(net.hosts()) == sorted(pas)
