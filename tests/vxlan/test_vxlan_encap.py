"""VXLAN encapsulation / decapsulation (RFC 7348) against scapy, every refusal reason,
the template fast path, flow_key and the source-port hash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP as S_IP
from scapy.layers.inet import UDP as S_UDP
from scapy.layers.inet6 import IPv6 as S_IPv6
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from vxlan_strategies import frames, ipv4s, ipv6s, macs, vnis

import vxlan
from vxlan import (
    IPPROTO_TCP,
    TCP,
    UDP,
    DecapError,
    EncapTemplate,
    Ethernet,
    Frame,
    IPv4,
    IPv6,
    decapsulate,
    encapsulate,
    encode_frame,
    flow_key,
)
from vxlan.checksum import fold, ones_sum

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SRC_MAC = bytes.fromhex("020000000101")
DST_MAC = bytes.fromhex("020000000102")


def _inner(payload: bytes = b"x" * 64, sport: int = 40000, dport: int = 80) -> bytes:
    """An inner Ethernet/IPv4/TCP frame (118 bytes with the default 64-byte payload)."""
    return encode_frame(Frame(
        Ethernet(bytes.fromhex("00155d000002"), bytes.fromhex("00155d000001"), 0x0800),
        ip=IPv4(vxlan.ipv4_from_text("10.244.1.10"), vxlan.ipv4_from_text("10.244.2.20"), 6),
        l4=TCP(sport, dport, flags=TCP.SYN), payload=payload,
    ))


def _encap(inner: bytes, **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "vni": 4096, "src_pa": "192.0.2.1", "dst_pa": "192.0.2.2",
        "src_mac": SRC_MAC, "dst_mac": DST_MAC,
    }
    args.update(kw)
    return encapsulate(inner, **args)


inners = st.binary(min_size=14, max_size=300)


@SETTINGS
@given(inners, vnis, ipv4s, ipv4s, macs, macs,
       st.sampled_from([4789, 8472]) | st.integers(1, 65535), st.booleans())
def test_encapsulate_ipv4_equals_scapy_bytes(
    inner: bytes, vni: int, src: int, dst: int, smac: bytes, dmac: bytes, port: int, csum: bool
) -> None:
    out = encapsulate(inner, vni=vni, src_pa=src, dst_pa=dst, src_mac=smac, dst_mac=dmac,
                      dst_port=port, udp_checksum=csum)
    sport = vxlan.inner_flow_hash(inner)
    udp = S_UDP(sport=sport, dport=port) if csum else S_UDP(sport=sport, dport=port, chksum=0)
    ref = Ether(dst=vxlan.mac_to_text(dmac), src=vxlan.mac_to_text(smac)) / S_IP(
        src=vxlan.ipv4_to_text(src), dst=vxlan.ipv4_to_text(dst), ttl=128, flags="DF", id=0,
    ) / udp / VXLAN(vni=vni, flags=0x08) / Raw(inner)
    assert out == bytes(ref)
    assert len(out) == len(inner) + vxlan.OUTER_IPV4_LENGTH


@SETTINGS
@given(inners, vnis, ipv6s, ipv6s, st.sampled_from([4789, 4790]))
def test_encapsulate_ipv6_equals_scapy_bytes(
    inner: bytes, vni: int, src: int, dst: int, port: int
) -> None:
    out = encapsulate(inner, vni=vni, src_pa=src, dst_pa=dst, src_mac=SRC_MAC, dst_mac=DST_MAC,
                      dst_port=port, ipv6=True)
    ref = Ether(dst=vxlan.mac_to_text(DST_MAC), src=vxlan.mac_to_text(SRC_MAC)) / S_IPv6(
        src=vxlan.ipv6_to_text(src), dst=vxlan.ipv6_to_text(dst), hlim=128,
    ) / S_UDP(sport=vxlan.inner_flow_hash(inner), dport=port) / VXLAN(vni=vni, flags=0x08) / \
        Raw(inner)
    assert out == bytes(ref)


@SETTINGS
@given(inners, vnis, st.booleans(), st.booleans())
def test_decapsulate_returns_what_encapsulate_wrapped(
    inner: bytes, vni: int, csum: bool, v6: bool
) -> None:
    pas = ("fd00::1", "fd00::2") if v6 else ("10.77.0.1", "10.77.0.2")
    out = _encap(inner, vni=vni, src_pa=pas[0], dst_pa=pas[1], udp_checksum=csum)
    d = decapsulate(out, expected_vni=vni)
    assert (d.vni, d.inner, d.dst_port) == (vni, inner, 4789)
    assert (d.src_mac, d.dst_mac) == (SRC_MAC, DST_MAC)
    assert (d.ip_version, d.src_pa) == ((6, vxlan.ipv6_from_text(pas[0])) if v6 else
                                        (4, vxlan.ipv4_from_text(pas[0])))
    assert 49152 <= d.src_port <= 65535


@SETTINGS
@given(st.lists(inners, min_size=1, max_size=5), vnis, st.booleans())
def test_template_reused_equals_fresh_encapsulate(inner_list: list[bytes], vni: int,
                                                  csum: bool) -> None:
    template = EncapTemplate(vni=vni, src_pa="192.0.2.1", dst_pa="192.0.2.2", src_mac=SRC_MAC,
                             dst_mac=DST_MAC, udp_checksum=csum)
    for inner in inner_list:
        assert template.encapsulate(inner) == _encap(inner, vni=vni, udp_checksum=csum)
        assert template.encapsulate(inner, 50000) == _encap(inner, vni=vni, udp_checksum=csum,
                                                            src_port=50000)


def test_computed_zero_udp_checksum_is_sent_as_ffff() -> None:
    body = bytearray(_inner(b"y" * 62))  # even length; the last word is the knob
    # Sum of everything the checksum covers, with the knob word zeroed:
    body[-2:] = b"\x00\x00"
    zeroed = _encap(bytes(body), udp_checksum=False, src_port=50000)
    pseudo = vxlan.pseudo_header_sum(4, vxlan.ipv4_from_text("192.0.2.1"),
                                     vxlan.ipv4_from_text("192.0.2.2"), 17, len(zeroed) - 34)
    knob = 0xFFFF - fold(ones_sum(zeroed[34:]) + pseudo)
    body[-2:] = knob.to_bytes(2, "big")
    out = _encap(bytes(body), udp_checksum=True, src_port=50000)
    assert out[40:42] == b"\xff\xff"
    assert decapsulate(out).inner == bytes(body)


def _refusal(frame: bytes, **kw: Any) -> DecapError:
    with pytest.raises(DecapError) as info:
        decapsulate(frame, **kw)
    return info.value


def test_decapsulate_refuses_missing_i_flag() -> None:
    out = bytearray(_encap(_inner()))
    out[42] = 0x00
    err = _refusal(bytes(out))
    assert (err.header, err.offset) == ("VXLAN", 42)
    assert "I flag" in err.reason


def test_decapsulate_refuses_wrong_vni() -> None:
    err = _refusal(_encap(_inner(), vni=4097), expected_vni=4096)
    assert "VNI 4097" in err.reason


def test_decapsulate_refuses_other_udp_port() -> None:
    err = _refusal(_encap(_inner(), dst_port=8472))
    assert err.header == "UDP"
    assert "8472 is not 4789" in err.reason
    assert decapsulate(_encap(_inner(), dst_port=8472), dst_port=8472).vni == 4096


def test_decapsulate_refuses_non_udp_and_non_ip() -> None:
    tcp_frame = encode_frame(Frame(Ethernet(DST_MAC, SRC_MAC, 0x0800),
                                   ip=IPv4(1, 2, IPPROTO_TCP), l4=TCP(1, 4789), payload=b"z" * 30))
    assert "not UDP" in _refusal(tcp_frame).reason
    arp = bytes(Ether() / Raw(b"\x00" * 46))
    assert "not IPv4 or IPv6" in _refusal(arp).reason


def test_decapsulate_refuses_bad_udp_checksum_and_accepts_good() -> None:
    out = bytearray(_encap(_inner(), udp_checksum=True))
    assert decapsulate(bytes(out)).vni == 4096
    out[41] ^= 0x01
    assert "bad UDP checksum" in _refusal(bytes(out)).reason


def test_decapsulate_refuses_bad_ipv4_header_checksum() -> None:
    out = bytearray(_encap(_inner()))
    out[24] ^= 0x10
    assert "IPv4 header checksum" in _refusal(bytes(out)).reason


def test_decapsulate_refuses_fragments_and_short_frames() -> None:
    frag = encode_frame(Frame(Ethernet(DST_MAC, SRC_MAC, 0x0800),
                              ip=IPv4(1, 2, 17, flags=IPv4.FLAG_MF),
                              payload=_encap(_inner())[34:]))
    assert "fragment" in _refusal(frag).reason
    out = _encap(_inner())
    for cut in (0, 13, 20, 40, 49, 60):
        assert isinstance(_refusal(out[:cut]), vxlan.DecodeError)


def test_decapsulate_refuses_zero_udp_checksum_over_ipv6() -> None:
    out = bytearray(_encap(_inner(), src_pa="fd00::1", dst_pa="fd00::2"))
    out[60:62] = b"\x00\x00"
    assert "zero UDP checksum over IPv6" in _refusal(bytes(out)).reason


def test_decapsulate_ignores_reserved_bits() -> None:
    out = bytearray(_encap(_inner()))
    out[42] = 0x08 | 0x80  # a reserved flag bit
    out[43:46] = b"\x12\x34\x56"
    out[49] = 0x77
    d = decapsulate(bytes(out), expected_vni=4096)
    assert (d.vni, d.flags) == (4096, 0x88)


def test_encapsulate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="24 bits"):
        _encap(_inner(), vni=1 << 24)
    with pytest.raises(ValueError, match="same IP version"):
        _encap(_inner(), dst_pa="fd00::2")
    with pytest.raises(ValueError, match="MAC"):
        _encap(_inner(), src_mac=b"\x00" * 5)


def test_inner_flow_hash_is_per_flow_and_in_dynamic_range() -> None:
    ports = {vxlan.inner_flow_hash(_inner(sport=s)) for s in range(1000, 3000)}
    assert all(49152 <= p <= 65535 for p in ports)
    assert len(ports) > 1500
    assert vxlan.inner_flow_hash(_inner(b"a" * 10)) == vxlan.inner_flow_hash(_inner(b"b" * 99))
    arp_like = bytes(Ether(type=0x0806) / Raw(b"\x00" * 28))
    assert 49152 <= vxlan.inner_flow_hash(arp_like) <= 65535
    assert 49152 <= vxlan.inner_flow_hash(b"") <= 65535


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_flow_key_agrees_with_decode_frame(frame: Frame) -> None:
    data = encode_frame(frame)
    key = flow_key(data)
    if frame.ip is None:
        assert key is None
        return
    assert key is not None
    ip = frame.ip
    assert (key.src, key.dst) == (ip.src, ip.dst)
    assert key.protocol == (ip.protocol if isinstance(ip, IPv4) else ip.next_header)
    l4 = frame.l4
    if isinstance(l4, TCP | UDP):
        assert (key.src_port, key.dst_port) == (l4.sport, l4.dport)
    elif l4 is not None and l4.type in (0, 8, 128, 129):
        assert (key.src_port, key.dst_port) == (l4.ident, l4.ident)
    else:
        assert (key.src_port, key.dst_port) == (0, 0)
    assert key.reversed().reversed() == key


def test_flow_key_of_ipv6_and_truncated_frames() -> None:
    data = encode_frame(Frame(Ethernet(DST_MAC, SRC_MAC, 0x86DD),
                              ip=IPv6(1 << 100, 2, 17), l4=UDP(5, 6), payload=b"x"))
    assert flow_key(data) == vxlan.FlowKey(1 << 100, 2, 17, 5, 6)
    with pytest.raises(vxlan.DecodeError):
        flow_key(data[:40])


@SETTINGS
@given(inners, vnis, st.booleans(), st.sampled_from([None, 4096]), st.binary(max_size=4))
def test_decapsulate_fast_path_agrees_with_general_path(
    inner: bytes, vni: int, csum: bool, expected: int | None, padding: bytes
) -> None:
    from vxlan.encap import _decapsulate

    frame = _encap(inner, vni=vni, udp_checksum=csum) + padding
    try:
        fast: Any = decapsulate(frame, expected_vni=expected)
    except DecapError as exc:
        fast = exc.reason
    try:
        slow: Any = _decapsulate(frame, 4789, expected, True)
    except DecapError as exc:
        slow = exc.reason
    assert fast == slow


@SETTINGS
@given(frames(), vnis, st.booleans(), st.sampled_from([None, 4096]), st.integers(0, 3))
def test_decapsulate_with_key_agrees_with_two_calls(
    inner_frame: Frame, vni: int, csum: bool, expected: int | None, damage: int
) -> None:
    frame = bytearray(_encap(encode_frame(inner_frame), vni=vni, udp_checksum=csum))
    if damage == 1:
        frame[42] = 0  # no I flag
    elif damage == 2:
        frame[24] ^= 0xFF  # bad outer IPv4 checksum
    elif damage == 3:
        del frame[-1]  # truncated
    try:
        combined: Any = vxlan.decapsulate_with_key(bytes(frame), expected_vni=expected)
    except vxlan.DecodeError as exc:
        combined = (type(exc), exc.reason)
    try:
        d = decapsulate(bytes(frame), expected_vni=expected)
        separate: Any = (d, flow_key(d.inner))
    except vxlan.DecodeError as exc:
        separate = (type(exc), exc.reason)
    assert combined == separate


@SETTINGS
@given(ports_pair=st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
       payload=st.binary(max_size=40), vni=vnis)
def test_decapsulate_with_key_fast_path_on_common_frames(
    ports_pair: tuple[int, int], payload: bytes, vni: int
) -> None:
    inner = _inner(payload, *ports_pair)
    d, key = vxlan.decapsulate_with_key(_encap(inner, vni=vni), expected_vni=vni)
    assert d == decapsulate(_encap(inner, vni=vni))
    assert key == flow_key(inner)
    assert key is not None
    assert (key.src_port, key.dst_port) == ports_pair


def test_decapsulate_accepts_outer_vlan_tag() -> None:
    out = _encap(_inner(), vni=4096)
    tagged = out[:12] + b"\x81\x00\x00\x64" + out[12:]  # VLAN 100
    d = decapsulate(tagged, expected_vni=4096)
    assert (d.vni, d.inner) == (4096, _inner())
    assert vxlan.decapsulate_with_key(tagged, expected_vni=4096)[1] == flow_key(_inner())


def test_decapsulate_refuses_outer_ipv6_extension_headers() -> None:
    out = _encap(_inner(), src_pa="fd00::1", dst_pa="fd00::2")
    # insert an empty hop-by-hop header (next header UDP) after the fixed IPv6 header
    plen = int.from_bytes(out[18:20], "big") + 8
    ext = bytes([17, 0]) + bytes(6)
    frame = out[:18] + plen.to_bytes(2, "big") + bytes([0]) + out[21:54] + ext + out[54:]
    assert "not UDP (next header 0)" in _refusal(frame).reason
