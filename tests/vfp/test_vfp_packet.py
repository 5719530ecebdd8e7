"""vfp's private byte codec agrees with the vxlan package's codecs and with scapy."""

from __future__ import annotations

import scapy.layers.inet  # noqa: F401  (binds IP/TCP/UDP/ICMP under Ether)
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import Ether

import vxlan
from vfp import DropReason
from vfp.packet import Outer, Packet, build_frame, parse_frame, serialize

frames = st.builds(
    lambda proto, src, sport, dst, dport, payload, encap, vni: build_frame(
        proto, src, sport, dst, dport, payload=payload,
        outer=Outer(0x020000000001, 0x020000000002, 0xC0A8010A, 0xC0A80114, 50000, vni)
        if encap else None,
    ),
    st.sampled_from([1, 6, 17]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.integers(0, 65535),
    st.binary(max_size=64),
    st.booleans(),
    st.sampled_from([4096, 2**24 - 1, 0]),
)


@settings(max_examples=100, deadline=None)
@given(frames)
def test_parse_agrees_with_vxlan_decoder_and_serialize_round_trips(frame: bytes) -> None:
    p = parse_frame(frame)
    assert isinstance(p, Packet)
    assert serialize(p) == frame
    inner_bytes = frame
    if p.outer is not None:
        d = vxlan.decapsulate(frame)
        assert (d.vni, d.src_pa, d.dst_pa) == (p.outer.vni, p.outer.src_ip, p.outer.dst_ip)
        inner_bytes = d.inner
    f = vxlan.decode_frame(inner_bytes)
    assert f.ip is not None
    assert (f.ip.src, f.ip.dst, f.ip.protocol) == (p.src_ip, p.dst_ip, p.proto)
    if p.proto in (6, 17):
        assert f.l4 is not None
        assert (f.l4.sport, f.l4.dport) == (p.sport, p.dport)  # type: ignore[union-attr]
    assert vxlan.encode_frame(f) == inner_bytes  # checksums we wrote are the ones it computes


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_parse_never_raises_on_random_bytes(data: bytes) -> None:
    got = parse_frame(data)
    assert isinstance(got, Packet | DropReason)


def test_build_frame_checksums_match_scapy() -> None:
    for proto in (6, 17, 1):
        frame = build_frame(proto, 0x0A000001, 1234, 0x0A000002, 80, payload=b"hello")
        pkt = Ether(frame)
        del pkt["IP"].chksum
        layer = {6: "TCP", 17: "UDP", 1: "ICMP"}[proto]
        del pkt[layer].chksum
        assert bytes(pkt) == frame
