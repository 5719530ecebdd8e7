"""The packet view vfp parses with (vxlan.packet) agrees with the vxlan package's typed codecs and
with scapy, and malformed frames are refused with the drop reasons vfp counts."""

from __future__ import annotations

import pytest
import scapy.layers.inet  # noqa: F401  (binds IP/TCP/UDP/ICMP under Ether)
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import Ether

import vxlan
from vfp import DropReason
from vfp.errors import parse_frame
from vxlan.packet import Outer, Packet, build_frame, serialize

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


def _refix_ip_checksum(frame: bytearray, at: int = 14) -> bytes:
    frame[at + 10 : at + 12] = b"\x00\x00"
    frame[at + 10 : at + 12] = vxlan.checksum(bytes(frame[at : at + 20])).to_bytes(2, "big")
    return bytes(frame)


def _malformed() -> list[tuple[str, bytes, DropReason]]:
    tcp = bytearray(build_frame(6, 0x0A000001, 1234, 0x0A000002, 80, payload=b"abcd"))
    udp = bytearray(build_frame(17, 0x0A000001, 1234, 0x0A000002, 53, payload=b"abcd"))
    icmp = bytearray(build_frame(1, 0x0A000001, 0, 0x0A000002, 0, payload=b"abcd"))
    enc = bytearray(build_frame(6, 0x0A000001, 1234, 0x0A000002, 80, outer=Outer(
        0x020000000001, 0x020000000002, 0xC0A8010A, 0xC0A80114, 50000, 4096)))
    cases: list[tuple[str, bytes, DropReason]] = [
        ("short Ethernet", bytes(tcp[:13]), DropReason.TRUNCATED),
        ("short IPv4 header", bytes(tcp[:30]), DropReason.TRUNCATED),
        ("IPv4 total length past the frame", bytes(tcp[:-1]), DropReason.TRUNCATED),
        ("802.1Q tag", bytes(tcp[:12]) + b"\x81\x00\x00\x05" + bytes(tcp[12:]),
         DropReason.UNKNOWN_ETHERTYPE),
        ("ethertype 0x88cc", bytes(tcp[:12]) + b"\x88\xcc" + bytes(tcp[14:]),
         DropReason.UNKNOWN_ETHERTYPE),
    ]
    b = bytearray(tcp)
    b[14] = 0x55  # version 5
    cases.append(("IPv4 version 5", bytes(b), DropReason.BAD_HEADER))
    b = bytearray(tcp)
    b[24] ^= 0xFF
    cases.append(("IPv4 header checksum", bytes(b), DropReason.BAD_CHECKSUM))
    b = bytearray(tcp)
    b[46] = 0xF0  # data offset 60 > the 24-byte segment
    cases.append(("TCP data offset past the segment", bytes(b), DropReason.BAD_HEADER))
    b = bytearray(tcp)
    b[-1] ^= 0x01
    cases.append(("TCP checksum", bytes(b), DropReason.BAD_CHECKSUM))
    b = bytearray(udp)
    b[38:40] = (20).to_bytes(2, "big")  # UDP length 20 in a 12-byte datagram
    cases.append(("UDP length disagrees with IP", bytes(b), DropReason.BAD_HEADER))
    b = bytearray(udp)
    b[-1] ^= 0x01
    cases.append(("UDP checksum", bytes(b), DropReason.BAD_CHECKSUM))
    b = bytearray(icmp)
    b[-1] ^= 0x01
    cases.append(("ICMP checksum", bytes(b), DropReason.BAD_CHECKSUM))
    b = bytearray(enc)
    b[42] = 0  # VXLAN flags without the I bit
    cases.append(("VXLAN without the I flag", bytes(b), DropReason.BAD_HEADER))
    b = bytearray(enc[:34 + 8 + 8 + 10])
    b[16:18] = (len(b) - 14).to_bytes(2, "big")
    b[38:40] = (len(b) - 34).to_bytes(2, "big")
    cases.append(("VXLAN inner frame of 10 bytes", _refix_ip_checksum(b), DropReason.TRUNCATED))
    b = bytearray(enc)
    b[50 + 24] ^= 0xFF  # the inner IPv4 header checksum
    cases.append(("inner IPv4 header checksum", bytes(b), DropReason.BAD_CHECKSUM))
    return cases


def test_malformed_frames_are_refused_with_their_drop_reason() -> None:
    got = {name: parse_frame(frame) for name, frame, _ in _malformed()}
    assert got == {name: reason for name, _, reason in _malformed()}


def test_refusal_kinds_are_decode_errors() -> None:
    kinds = {DropReason.TRUNCATED: vxlan.TruncatedError, DropReason.BAD_CHECKSUM:
             vxlan.ChecksumError, DropReason.UNKNOWN_ETHERTYPE: vxlan.UnsupportedError}
    for name, frame, reason in _malformed():
        with pytest.raises(vxlan.DecodeError) as info:
            vxlan.parse_packet(frame)
        assert type(info.value) is kinds.get(reason, vxlan.DecodeError), name


def test_vm_traffic_to_the_vxlan_port_that_is_not_vxlan_is_plain_udp() -> None:
    frame = build_frame(17, 0x0A000001, 1234, 0x0A000002, 4789, payload=b"\x00" * 30)
    assert parse_frame(frame) == DropReason.BAD_HEADER  # from the wire: I flag missing
    p = parse_frame(frame, strict_vxlan=False)  # from a VM: an ordinary datagram
    assert isinstance(p, Packet)
    assert (p.outer, p.proto, p.dport) == (None, 17, 4789)
    assert serialize(p) == frame
