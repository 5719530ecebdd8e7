"""Decapsulation at its boundaries, on outer frames built by scapy (the independent encoder):
every IPv4 total length and UDP length, every IPv4 header checksum value, VNIs that differ
by a byte shift, and each one-field fault, all refused (or accepted) alike by
`decapsulate` and `decapsulate_with_key` (whose fast paths must never accept what the
general path refuses), plus the fast-path header checksum with a carry and the template's
argument checks.

The acceptance rules are RFC 791 / 768 / 7348 as written here, not read from vxlan/encap.py:
the IPv4 datagram (total length >= its header) lies within the frame, the UDP datagram
(length >= 8) within the IPv4 payload, the VXLAN payload holds at least an Ethernet
header, and the header checksum's one's-complement sum is 0xFFFF.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from scapy.layers.inet import IP as S_IP
from scapy.layers.inet import TCP as S_TCP
from scapy.layers.inet import UDP as S_UDP
from scapy.layers.inet import IPOption_RR
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from scapy.utils import checksum as scapy_checksum

import vxlan
from vxlan import DecapError, DecodeError, EncapTemplate, decapsulate, decapsulate_with_key

OUTER_SRC, OUTER_DST = "192.0.2.1", "192.0.2.2"
SRC_MAC, DST_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02"
# An inner untagged IPv4 TCP frame: the shape decapsulate_with_key's one-call path takes.
INNER = bytes(Ether(src="00:15:5d:00:00:01", dst="00:15:5d:00:00:02")
              / S_IP(src="10.244.1.10", dst="10.244.2.20")
              / S_TCP(sport=40000, dport=80, flags="A") / Raw(b"q" * 10))


def outer(inner: bytes = INNER, *, vni: int = 4096, vx_flags: int = 0x08,
          udp: dict[str, Any] | None = None, **ip: Any) -> bytes:
    """Outer Ethernet / IPv4 / UDP / VXLAN as scapy builds it (lengths and the header
    checksum computed by scapy unless given; UDP checksum 0 unless given)."""
    ip_fields: dict[str, Any] = {"src": OUTER_SRC, "dst": OUTER_DST, "ttl": 128, "flags": "DF"}
    ip_fields.update(ip)
    udp_fields: dict[str, Any] = {"sport": 50000, "dport": 4789, "chksum": 0}
    udp_fields.update(udp or {})
    return bytes(Ether(src=SRC_MAC, dst=DST_MAC) / S_IP(**ip_fields) / S_UDP(**udp_fields)
                 / VXLAN(vni=vni, flags=vx_flags) / Raw(inner))


def with_ip_checksum(frame: bytearray, ihl: int = 20) -> bytes:
    """The frame with its outer IPv4 header checksum recomputed (by scapy's RFC 1071)."""
    frame[24:26] = b"\x00\x00"
    frame[24:26] = scapy_checksum(bytes(frame[14 : 14 + ihl])).to_bytes(2, "big")
    return bytes(frame)


def both(frame: bytes, **kw: Any) -> tuple[Any, Any]:
    """(decapsulate's answer, decapsulate_with_key's answer); a refusal is the text
    "refused by <header>"."""
    try:
        one: Any = decapsulate(frame, **kw)
    except DecapError as exc:
        one = f"refused by {exc.header}"
    try:
        two: Any = decapsulate_with_key(frame, **kw)[0]
    except DecapError as exc:
        two = f"refused by {exc.header}"
    except DecodeError:  # accepted, but the (cut) inner frame has no flow key
        two = one
    return one, two


def test_every_total_length_and_udp_length() -> None:
    base = bytearray(outer())
    size = len(base)
    for total in range(size - 14 + 9):
        for ulen in range(size):  # every UDP length the frame could claim
            frame = bytearray(base)
            frame[16:18] = total.to_bytes(2, "big")
            frame[38:40] = ulen.to_bytes(2, "big")
            frame = bytearray(with_ip_checksum(frame))
            if total < 20 or 14 + total > size:
                want: Any = "refused by IPv4"
            elif ulen < 8 + 8 or 20 + ulen > total:
                want = "refused by UDP"
            elif ulen < 8 + 8 + 14:
                want = "refused by VXLAN"
            else:
                want = bytes(frame[50 : 34 + ulen])
            one, two = both(bytes(frame))
            got = one if isinstance(one, str) else one.inner
            assert got == want, (total, ulen)
            assert two == one, (total, ulen)


def _ones_sum_ok(header: bytes) -> bool:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_every_ipv4_header_checksum_value() -> None:
    """Only a header whose one's-complement sum is 0xFFFF is accepted (RFC 1071: the right
    checksum or, as the other zero of one's complement, its 0x0000/0xFFFF twin)."""
    base = bytearray(outer())
    accepted = []
    for value in range(0x10000):
        base[24:26] = value.to_bytes(2, "big")
        frame = bytes(base)
        one, two = both(frame)
        assert two == one, value
        if isinstance(one, str):
            assert one == "refused by IPv4", value
        else:
            accepted.append(value)
        assert (not isinstance(one, str)) == _ones_sum_ok(frame[14:34]), value
    right = with_ip_checksum(bytearray(base))[24:26]
    assert int.from_bytes(right, "big") in accepted
    assert len(accepted) <= 2


def test_ipv4_header_checksum_with_options() -> None:
    """With options the header checksum covers all IHL * 4 bytes, not the first 20."""
    base = bytearray(outer(options=[IPOption_RR(length=11)]))
    ihl = (base[14] & 15) * 4
    assert ihl > 20
    right = int.from_bytes(base[24:26], "big")
    for value in (right, right ^ 1, right ^ 0x8000, (right + 1) & 0xFFFF, 0):
        base[24:26] = value.to_bytes(2, "big")
        one, two = both(bytes(base))
        assert one == two
        assert (not isinstance(one, str)) == _ones_sum_ok(bytes(base[14 : 14 + ihl])), value
    for byte in range(34, 14 + ihl):  # a flipped bit in the options is a bad checksum too
        frame = bytearray(outer(options=[IPOption_RR(length=11)]))
        frame[byte] ^= 0x04
        assert both(bytes(frame)) == ("refused by IPv4",) * 2, byte


@pytest.mark.parametrize(("name", "frame", "header"), [
    ("more fragments", outer(flags="MF"), "IPv4"),
    ("fragment offset", outer(flags=0, frag=185), "IPv4"),
    ("not UDP", outer(proto=6), "IPv4"),
    ("version 6 in an IPv4 ethertype", outer(version=6), "IPv4"),
    # an IHL of 4 whose 16-byte header checksum is right: refused for its length alone
    ("header length 4", with_ip_checksum(bytearray(outer(ihl=4)), 16), "IPv4"),
    ("other UDP port", outer(udp={"dport": 4790}), "UDP"),
    ("no I flag", outer(vx_flags=0x00), "VXLAN"),
    ("bad UDP checksum", outer(udp={"chksum": 0x1234}), "UDP"),
])
def test_one_field_faults_are_refused_by_both_paths(name: str, frame: bytes,
                                                    header: str) -> None:
    assert both(frame) == (f"refused by {header}",) * 2, name


def test_ip_options_are_accepted_and_stripped() -> None:
    frame = outer(options=[IPOption_RR(length=11)])
    d, key = decapsulate_with_key(frame, expected_vni=4096)
    assert (d.inner, d.vni, d.src_pa) == (INNER, 4096, vxlan.ipv4_from_text(OUTER_SRC))
    assert key == vxlan.flow_key(INNER)
    assert decapsulate(frame) == d


@pytest.mark.parametrize(("vni", "expected"), [
    (1, 256), (1, 65536), (0x12, 0x1200), (0x12, 0x120000), (4096, 16), (4096, 4097),
    (0, 1), (0xFFFFFF, 0xFFFF),
])
def test_expected_vni_is_the_whole_24_bit_vni(vni: int, expected: int) -> None:
    """A VNI read a byte off (VNI 1 taken for 256 or 65536) is not the expected VNI."""
    frame = outer(vni=vni)
    assert both(frame, expected_vni=expected) == ("refused by VXLAN",) * 2
    one, two = both(frame, expected_vni=vni)
    assert one == two
    assert not isinstance(one, str)
    assert one.vni == vni


def test_header_checksum_with_a_carry_matches_scapy() -> None:
    """The template's per-packet IPv4 checksum, across sums that carry out of 16 bits."""
    # 10.0.0.1 -> 10.0.229.237: the header words other than the total length and the
    # checksum sum to 0xFF00, so every total length from 256 bytes on carries.
    src, dst = "10.0.0.1", "10.0.229.237"
    template = EncapTemplate(vni=7, src_pa=src, dst_pa=dst, src_mac=SRC_MAC, dst_mac=DST_MAC)
    carried = 0
    for size in range(14, 1500, 7):
        inner = bytes(size)
        out = template.encapsulate(inner, 50000)
        ref = bytes(Ether(src=SRC_MAC, dst=DST_MAC)
                    / S_IP(src=src, dst=dst, ttl=128, flags="DF", id=0)
                    / S_UDP(sport=50000, dport=4789, chksum=0) / VXLAN(vni=7, flags=0x08)
                    / Raw(inner))
        assert out == ref, size
        words = struct.unpack("!10H", out[14:34])
        others = sum(words) - words[1] - words[5]
        while others >> 16:
            others = (others & 0xFFFF) + (others >> 16)
        carried += others + words[1] > 0xFFFF
    assert carried  # the sweep did cross a carry


def test_template_defaults_and_argument_bounds() -> None:
    args: dict[str, Any] = {"vni": 1, "src_pa": OUTER_SRC, "dst_pa": OUTER_DST,
                            "src_mac": SRC_MAC, "dst_mac": DST_MAC}
    out = EncapTemplate(**args).encapsulate(INNER, 50000)
    assert out[40:42] == b"\x00\x00"  # no UDP checksum over IPv4 unless asked (RFC 7348)
    assert out == outer(vni=1, id=0)
    for port in (1, 65535):
        assert EncapTemplate(**args, dst_port=port).encapsulate(INNER)[36:38] == \
            port.to_bytes(2, "big")
    for port in (0, 65536, -1):
        with pytest.raises(ValueError, match="dst_port"):
            EncapTemplate(**args, dst_port=port)
    for vni in (-1, 1 << 24):
        with pytest.raises(ValueError, match="24 bits"):
            EncapTemplate(**{**args, "vni": vni})
    assert EncapTemplate(**{**args, "vni": (1 << 24) - 1}).vni == (1 << 24) - 1


def test_refusals_say_where_and_what() -> None:
    """The offset of a VXLAN-level refusal is the VXLAN header's (42) or, for a short
    inner frame, the inner frame's (50); a missing I flag names the flags byte as sent."""
    err = _refusal(outer(vx_flags=0x80))
    assert (err.header, err.offset) == ("VXLAN", 42)
    assert err.reason.endswith("(flags 0x80)")
    err = _refusal(outer(vni=4097), expected_vni=4096)
    assert (err.header, err.offset) == ("VXLAN", 42)
    err = _refusal(outer(b"\x00" * 13))
    assert (err.header, err.offset) == ("VXLAN", 50)


def _refusal(frame: bytes, **kw: Any) -> DecapError:
    with pytest.raises(DecapError) as info:
        decapsulate(frame, **kw)
    return info.value


@pytest.mark.parametrize("ethertype", [0x86DD, 0x0806, 0x8100, 0x88CC, 0x0000])
def test_flow_key_follows_the_inner_ethertype(ethertype: int) -> None:
    """The one-call path reads the inner 5-tuple only from an IPv4 inner frame: with any
    other ethertype (the bytes after it unchanged) the key is flow_key's of that frame."""
    inner = INNER[:12] + ethertype.to_bytes(2, "big") + INNER[14:]
    frame = outer(inner)
    try:
        want: Any = vxlan.flow_key(inner)
    except DecodeError as exc:
        want = exc.reason
    try:
        d, got = decapsulate_with_key(frame)
        assert d.inner == inner
    except DecodeError as exc:
        got = exc.reason
    assert got == want
    assert want is None or not isinstance(want, vxlan.FlowKey) or want != vxlan.flow_key(INNER)
