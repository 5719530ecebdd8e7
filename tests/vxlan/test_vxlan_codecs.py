"""Header codecs and whole frames: exact round trips, scapy as the byte oracle, and
random / truncated bytes raising only DecodeError."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from vxlan_strategies import arps, frames, icmp4s, tcps, to_scapy, udps, vnis

import vxlan
from vxlan import (
    ARP,
    TCP,
    UDP,
    DecodeError,
    Ethernet,
    Frame,
    ICMPv4,
    ICMPv6,
    IPv4,
    IPv6,
    VXLANHeader,
    decode_frame,
    encode_frame,
)
from vxlan.underlay import outer_destination

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADERS: list[Any] = [Ethernet, ARP, IPv4, IPv6, TCP, UDP, ICMPv4, ICMPv6, VXLANHeader]


def _without_checksums(frame: Frame) -> tuple[Any, ...]:
    """The fields a frame was built from (lengths and checksums are encode_frame's job)."""
    ip: Any = frame.ip
    l4: Any = frame.l4
    if isinstance(ip, IPv4):
        ip = ip.__class__(**{**_fields(ip), "total_length": 0, "checksum": 0})
    elif isinstance(ip, IPv6):
        ip = ip.__class__(**{**_fields(ip), "payload_length": 0, "protocol": -1})
    if isinstance(l4, UDP):
        l4 = (l4.sport, l4.dport, l4.checksum != 0 or isinstance(frame.ip, IPv6))
    elif l4 is not None:
        l4 = l4.__class__(**{**_fields(l4), "checksum": 0})
    return (frame.eth, frame.arp, ip, l4, frame.payload)


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@SETTINGS
@given(frames())
def test_encode_frame_equals_scapy_bytes_on_generated_frames(frame: Frame) -> None:
    assert encode_frame(frame) == bytes(to_scapy(frame))


@SETTINGS
@given(frames())
def test_decode_encode_round_trip_exact_on_generated_frames(frame: Frame) -> None:
    data = encode_frame(frame)
    decoded = decode_frame(data)
    assert encode_frame(decoded) == data
    assert _without_checksums(decoded) == _without_checksums(frame)
    # every header's own pack() reproduces its bytes exactly
    parts = [decoded.eth.pack()]
    if decoded.arp is not None:
        parts.append(decoded.arp.pack())
    if decoded.ip is not None:
        parts.append(decoded.ip.pack())
    if decoded.l4 is not None:
        parts.append(decoded.l4.pack())
    assert b"".join(parts) + decoded.payload + decoded.trailer == data


@SETTINGS
@given(frames())
def test_scapy_dissects_project_bytes_with_good_checksums(frame: Frame) -> None:
    data = encode_frame(frame)
    pkt = Ether(data)
    # scapy recomputes every length and checksum when the fields are deleted and rebuilt
    for layer in ("IP", "TCP", "UDP", "ICMP"):
        if pkt.haslayer(layer):
            del pkt[layer].chksum
            if layer in ("IP", "UDP"):
                del pkt[layer].len
    if isinstance(frame.l4, UDP) and isinstance(frame.ip, IPv4) and frame.l4.checksum == 0:
        pkt["UDP"].chksum = 0
    assert bytes(pkt) == data


@SETTINGS
@given(st.binary(max_size=120))
def test_every_parser_raises_only_decode_error_on_random_bytes(data: bytes) -> None:
    for header in HEADERS:
        for offset in (0, 1, 14):
            err = _decode_error_of(header.unpack, data, offset)
            assert err is None or (err.header and err.offset >= 0 and err.reason)
    for func in (decode_frame, vxlan.flow_key, vxlan.decapsulate, vxlan.decapsulate_with_key,
                 outer_destination, _read_all_pcap):
        err = _decode_error_of(func, data)
        assert err is None or err.reason
    pcap_like = b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16) + data
    err = _decode_error_of(_read_all_pcap, pcap_like)
    assert err is None or err.header == "pcap"


def _read_all_pcap(data: bytes) -> list[vxlan.PcapRecord]:
    return list(vxlan.PcapReader(data))


def _decode_error_of(func: Any, *args: Any) -> DecodeError | None:
    """Run a parser; return its DecodeError (anything else propagates and fails the test)."""
    try:
        func(*args)
    except DecodeError as exc:
        return exc
    return None


@SETTINGS
@given(frames(), st.data())
def test_truncated_and_corrupted_frames_raise_only_decode_error(frame: Frame, data: Any) -> None:
    raw = encode_frame(frame)
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, max(len(raw) - 1, 0)), st.integers(1, 255)),
                               max_size=3))
    mutated = bytearray(raw)
    for pos, xor in flips:
        if mutated:
            mutated[pos] ^= xor
    for candidate in (raw[:cut], bytes(mutated)):
        for func in (decode_frame, vxlan.flow_key):
            _decode_error_of(func, candidate)


def test_decode_frame_truncated_ipv4_names_header_and_offset() -> None:
    data = encode_frame(Frame(Ethernet(b"\x01" * 6, b"\x02" * 6, vxlan.ETH_P_IPV4),
                              ip=IPv4(1, 2, 17), l4=UDP(1, 2), payload=b"abc"))
    with pytest.raises(DecodeError) as info:
        decode_frame(data[:30])
    assert (info.value.header, info.value.offset) == ("IPv4", 14)
    assert "truncated" in info.value.reason


def test_decode_frame_bad_ip_version_is_decode_error() -> None:
    data = bytearray(encode_frame(Frame(Ethernet(b"\x01" * 6, b"\x02" * 6, vxlan.ETH_P_IPV4),
                                        ip=IPv4(1, 2, 6), l4=TCP(1, 2))))
    data[14] = 0x55
    with pytest.raises(DecodeError, match="version"):
        decode_frame(bytes(data))


def test_decode_frame_keeps_ethernet_padding_in_trailer() -> None:
    frame = Frame(Ethernet(b"\xff" * 6, b"\x02" * 6, vxlan.ETH_P_ARP),
                  arp=ARP(1, b"\x02" * 6, 0x0A000001, b"\x00" * 6, 0x0A000002))
    data = encode_frame(frame) + b"\x00" * 18
    decoded = decode_frame(data)
    assert decoded.trailer == b"\x00" * 18
    assert encode_frame(decoded) == data


def test_decode_frame_ipv4_fragment_keeps_l4_raw() -> None:
    ip = IPv4(1, 2, 17, flags=IPv4.FLAG_MF)
    data = encode_frame(Frame(Ethernet(b"\x01" * 6, b"\x02" * 6, vxlan.ETH_P_IPV4), ip=ip,
                              payload=b"\x00\x01\x00\x02\x00\x0c\x00\x00abcd"))
    decoded = decode_frame(data)
    assert decoded.l4 is None
    assert decoded.payload.endswith(b"abcd")


def test_ipv6_extension_headers_are_skipped_to_the_upper_layer() -> None:
    from scapy.layers.inet import UDP as S_UDP
    from scapy.layers.inet6 import IPv6 as S_IPv6
    from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop

    pkt = Ether() / S_IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrHopByHop() / \
        IPv6ExtHdrDestOpt() / S_UDP(sport=5, dport=6) / Raw(b"hi")
    data = bytes(pkt)
    decoded = decode_frame(data)
    assert isinstance(decoded.ip, IPv6)
    assert decoded.ip.next_header == 0
    assert decoded.ip.upper_protocol == 17
    assert isinstance(decoded.l4, UDP)
    assert (decoded.l4.sport, decoded.l4.dport, decoded.payload) == (5, 6, b"hi")
    assert encode_frame(decoded) == data


def test_udp_length_disagreeing_with_ip_is_decode_error() -> None:
    data = bytearray(encode_frame(Frame(Ethernet(b"\x01" * 6, b"\x02" * 6, vxlan.ETH_P_IPV4),
                                        ip=IPv4(1, 2, 17), l4=UDP(1, 2), payload=b"abcd")))
    data[38:40] = (10).to_bytes(2, "big")
    with pytest.raises(DecodeError) as info:
        decode_frame(bytes(data))
    assert info.value.header == "UDP"


@SETTINGS
@given(tcps)
def test_tcp_pack_unpack_round_trip_on_generated_headers(tcp: TCP) -> None:
    raw = tcp.pack()
    assert TCP.unpack(raw, 0) == (tcp, len(raw))


@SETTINGS
@given(arps, udps, icmp4s, vnis)
def test_small_headers_round_trip_on_generated_values(
    arp: ARP, udp: UDP, icmp: ICMPv4, vni: int
) -> None:
    udp8 = UDP(udp.sport, udp.dport, 8, 0x1234)  # header only: length 8
    for header in (arp, udp8, icmp, VXLANHeader(vni), VXLANHeader(vni, 0, 0xABCDEF, 0x5A)):
        raw = header.pack()
        assert type(header).unpack(b"pad" + raw, 3) == (header, 3 + len(raw))


@SETTINGS
@given(vnis)
def test_vxlan_header_equals_scapy_bytes(vni: int) -> None:
    from scapy.layers.vxlan import VXLAN

    assert VXLANHeader(vni).pack() == bytes(VXLAN(vni=vni, flags=0x08))


def test_vxlan_header_rejects_vni_over_24_bits() -> None:
    with pytest.raises(ValueError, match="24 bits"):
        VXLANHeader(1 << 24).pack()


def test_decode_error_is_value_error_with_attributes() -> None:
    with pytest.raises(ValueError, match="VXLAN at offset 0") as info:
        VXLANHeader.unpack(b"\x08\x00", 0)
    err = info.value
    assert isinstance(err, DecodeError)
    assert (err.header, err.offset) == ("VXLAN", 0)
    assert "need 8 bytes, have 2" in err.reason


def test_address_helpers_round_trip_text() -> None:
    assert vxlan.ipv4_from_text("10.244.7.20") == 0x0AF40714
    assert vxlan.ipv4_to_text(0x0AF40714) == "10.244.7.20"
    assert vxlan.ipv6_to_text(vxlan.ipv6_from_text("fd00::2")) == "fd00::2"
    assert vxlan.mac_from_text("00-15-5D-07-00-14") == bytes.fromhex("00155d070014")
    assert vxlan.mac_to_text(bytes.fromhex("00155d070014"), "-") == "00-15-5d-07-00-14"
    assert vxlan.ip_from_text("fd00::1") == (6, 0xFD00 << 112 | 1)
    with pytest.raises(ValueError, match="IPv4"):
        vxlan.ipv4_from_text("10.244.7")
    with pytest.raises(ValueError, match="MAC"):
        vxlan.mac_from_text("00:15:5d:07:00")


def test_incremental_checksum_matches_full_recompute() -> None:
    ip = IPv4(0x0A000001, 0x0A000002, 6, ttl=64)
    before = ip.pack(payload_length=40)
    old_csum = int.from_bytes(before[10:12], "big")
    after = IPv4(0x0A000001, 0x0A000002, 6, ttl=63).pack(payload_length=40)
    updated = vxlan.incremental_update(old_csum, 64 << 8 | 6, 63 << 8 | 6)
    assert updated == int.from_bytes(after[10:12], "big")


@SETTINGS
@given(st.binary(max_size=300) | st.sampled_from([b"", b"\x00" * 7, b"\xff" * 8, b"\xff\xff"]))
def test_checksum_equals_rfc1071_definition(data: bytes) -> None:
    padded = data + b"\x00" * (len(data) & 1)
    total = sum(int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert vxlan.checksum(data) == ~total & 0xFFFF
