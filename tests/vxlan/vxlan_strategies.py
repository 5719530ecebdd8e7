"""Hypothesis strategies for vxlan tests, and their scapy equivalents (the byte oracle).

Edge cases are oversampled: VNI 0, 4096 and 2^24-1; ports 0, 4789 and 65535; addresses
0 and all-ones; empty payloads and maximum-size options."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from scapy.layers.inet import ICMP as S_ICMP
from scapy.layers.inet import IP as S_IP
from scapy.layers.inet import TCP as S_TCP
from scapy.layers.inet import UDP as S_UDP
from scapy.layers.inet import IPOption_NOP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest
from scapy.layers.inet6 import IPv6 as S_IPv6
from scapy.layers.l2 import ARP as S_ARP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

import vxlan
from vxlan import ARP, TCP, UDP, Ethernet, Frame, ICMPv4, ICMPv6, IPv4, IPv6

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
macs = st.binary(min_size=6, max_size=6) | st.sampled_from([b"\x00" * 6, b"\xff" * 6])
ports = st.sampled_from([0, 4789, 65535]) | u16
ipv4s = st.sampled_from([0, 0xFFFFFFFF, 0x0AF40714]) | u32
ipv6s = st.sampled_from([0, (1 << 128) - 1, 1]) | st.integers(0, (1 << 128) - 1)
vnis = st.sampled_from([0, 4096, (1 << 24) - 1]) | st.integers(0, (1 << 24) - 1)
payloads = st.binary(max_size=200)


def ethernets(ethertype: int) -> st.SearchStrategy[Ethernet]:
    tagged = st.builds(
        Ethernet, dst=macs, src=macs, ethertype=st.just(ethertype),
        vlan=st.integers(0, 4095), pcp=st.integers(0, 7), dei=st.integers(0, 1),
    )
    return st.builds(Ethernet, dst=macs, src=macs, ethertype=st.just(ethertype)) | tagged


arps = st.builds(ARP, oper=st.sampled_from([1, 2]) | u16, sha=macs, spa=ipv4s, tha=macs, tpa=ipv4s)


def ipv4s_hdr(protocol: int) -> st.SearchStrategy[IPv4]:
    return st.builds(
        IPv4, src=ipv4s, dst=ipv4s, protocol=st.just(protocol), ttl=u8, tos=u8, ident=u16,
        flags=st.sampled_from([0, IPv4.FLAG_DF]),
        options=st.integers(0, 10).map(lambda n: b"\x01" * (4 * n)),
    )


def ipv6s_hdr(protocol: int) -> st.SearchStrategy[IPv6]:
    return st.builds(
        IPv6, src=ipv6s, dst=ipv6s, next_header=st.just(protocol), hop_limit=u8,
        traffic_class=u8, flow_label=st.integers(0, 0xFFFFF),
    )


tcps = st.builds(
    TCP, sport=ports, dport=ports, seq=u32, ack=u32, flags=st.integers(0, 0x1FF),
    window=u16, urgent=u16, options=st.integers(0, 10).map(lambda n: b"\x01" * (4 * n)),
)
udps = st.builds(UDP, sport=ports, dport=ports)
icmp4s = st.builds(ICMPv4, type=st.sampled_from([0, 8]), code=u8, ident=u16, seq=u16)
icmp6s = st.builds(ICMPv6, type=st.sampled_from([128, 129]), code=st.just(0), ident=u16, seq=u16)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """A well-formed frame whose lengths and checksums are left for encode_frame."""
    kind = draw(st.sampled_from(["arp", "v4", "v6", "other"]))
    if kind == "arp":
        return Frame(draw(ethernets(vxlan.ETH_P_ARP)), arp=draw(arps))
    if kind == "other":
        et = draw(st.sampled_from([0x88CC, 0x9000, 0x0842]))
        return Frame(draw(ethernets(et)), payload=draw(payloads))
    if kind == "v4":
        l4: Any = draw(st.one_of(tcps, udps, icmp4s))
        proto = {TCP: 6, UDP: 17, ICMPv4: 1}[type(l4)]
        ip: IPv4 | IPv6 = draw(ipv4s_hdr(proto))
        eth = draw(ethernets(vxlan.ETH_P_IPV4))
    else:
        l4 = draw(st.one_of(tcps, udps, icmp6s))
        proto = {TCP: 6, UDP: 17, ICMPv6: 58}[type(l4)]
        ip = draw(ipv6s_hdr(proto))
        eth = draw(ethernets(vxlan.ETH_P_IPV6))
    if isinstance(l4, UDP) and isinstance(ip, IPv4) and draw(st.booleans()):
        l4 = UDP(l4.sport, l4.dport, 0, 1)  # non-zero marker: "compute the checksum"
    return Frame(eth, ip=ip, l4=l4, payload=draw(payloads))


def _mac(b: bytes) -> str:
    return vxlan.mac_to_text(b)


def to_scapy(frame: Frame) -> Any:
    """The same frame built with scapy, which computes lengths and checksums itself."""
    eth = frame.eth
    pkt: Any
    if eth.vlan is None:
        pkt = Ether(dst=_mac(eth.dst), src=_mac(eth.src), type=eth.ethertype)
    else:
        pkt = Ether(dst=_mac(eth.dst), src=_mac(eth.src), type=0x8100) / Dot1Q(
            prio=eth.pcp, dei=eth.dei, vlan=eth.vlan, type=eth.ethertype
        )
    if frame.arp is not None:
        a = frame.arp
        return pkt / S_ARP(
            hwtype=a.htype, ptype=a.ptype, hwlen=6, plen=4, op=a.oper, hwsrc=_mac(a.sha),
            psrc=vxlan.ipv4_to_text(a.spa), hwdst=_mac(a.tha), pdst=vxlan.ipv4_to_text(a.tpa),
        )
    ip = frame.ip
    if ip is None:
        return pkt / Raw(frame.payload)
    if isinstance(ip, IPv4):
        pkt = pkt / S_IP(
            src=vxlan.ipv4_to_text(ip.src), dst=vxlan.ipv4_to_text(ip.dst), proto=ip.protocol,
            ttl=ip.ttl, tos=ip.tos, id=ip.ident, flags=ip.flags, frag=ip.frag_offset,
            options=[IPOption_NOP()] * len(ip.options),
        )
    else:
        pkt = pkt / S_IPv6(
            src=vxlan.ipv6_to_text(ip.src), dst=vxlan.ipv6_to_text(ip.dst), nh=ip.next_header,
            hlim=ip.hop_limit, tc=ip.traffic_class, fl=ip.flow_label,
        )
    l4 = frame.l4
    if isinstance(l4, TCP):
        pkt = pkt / S_TCP(
            sport=l4.sport, dport=l4.dport, seq=l4.seq, ack=l4.ack, flags=l4.flags,
            window=l4.window, urgptr=l4.urgent, options=[("NOP", None)] * len(l4.options),
        )
    elif isinstance(l4, UDP):
        if isinstance(ip, IPv4) and l4.checksum == 0:
            pkt = pkt / S_UDP(sport=l4.sport, dport=l4.dport, chksum=0)
        else:
            pkt = pkt / S_UDP(sport=l4.sport, dport=l4.dport)
    elif isinstance(l4, ICMPv4):
        pkt = pkt / S_ICMP(type=l4.type, code=l4.code, id=l4.ident, seq=l4.seq)
    elif isinstance(l4, ICMPv6):
        cls = ICMPv6EchoRequest if l4.type == 128 else ICMPv6EchoReply
        return pkt / cls(id=l4.ident, seq=l4.seq, data=frame.payload)
    return pkt / Raw(frame.payload)
