"""Whole frames: `decode_frame` (bytes -> `Frame` of typed headers), `encode_frame` (`Frame`
-> bytes with lengths and checksums recomputed), and the cheap per-packet helpers that skip
the dataclasses: `flow_key` (the 5-tuple) and `inner_flow_hash` (the RFC 7348 source port).

Decoding stops at L4: a UDP payload that is itself VXLAN stays in `Frame.payload`; use
`vxlan.encap.decapsulate` for tunnels. IP fragments other than whole datagrams keep their
L4 bytes in `payload` (`l4` is None). Ethernet padding and any bytes after the IP datagram
are kept in `trailer` so that decode -> encode is the identity on well-formed frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import NamedTuple
from zlib import crc32

from .errors import DecodeError
from .headers import (
    ARP,
    ETH_P_8021Q,
    ETH_P_ARP,
    ETH_P_IPV4,
    ETH_P_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    Ethernet,
    ICMPv4,
    ICMPv6,
    IPv4,
    IPv6,
)

__all__ = [
    "FlowKey",
    "Frame",
    "decode_frame",
    "encode_frame",
    "flow_key",
    "inner_flow_hash",
]

L4 = TCP | UDP | ICMPv4 | ICMPv6


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded Ethernet frame. Exactly one of `arp` / `ip` is set for ARP / IP frames;
    neither for other ethertypes (their bytes are all in `payload`)."""

    eth: Ethernet
    arp: ARP | None = None
    ip: IPv4 | IPv6 | None = None
    l4: TCP | UDP | ICMPv4 | ICMPv6 | None = None
    payload: bytes = b""
    trailer: bytes = b""

    def replace(self, **changes: object) -> Frame:
        """A copy with some fields changed (dataclasses.replace)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _decode_l4(data: bytes, off: int, end: int, proto: int) -> tuple[L4 | None, int]:
    if proto == IPPROTO_TCP:
        tcp, nxt = TCP.unpack(data[:end], off)
        return tcp, nxt
    if proto == IPPROTO_UDP:
        udp, nxt = UDP.unpack(data[:end], off)
        if off + udp.length != end:
            raise DecodeError(
                "UDP", off, f"length {udp.length} disagrees with IP payload length {end - off}"
            )
        return udp, nxt
    if proto == IPPROTO_ICMP:
        icmp4, nxt = ICMPv4.unpack(data[:end], off)
        return icmp4, nxt
    if proto == IPPROTO_ICMPV6:
        icmp6, nxt = ICMPv6.unpack(data[:end], off)
        return icmp6, nxt
    return None, off


def decode_frame(data: bytes) -> Frame:
    """Parse Ethernet, then ARP or IPv4/IPv6, then TCP/UDP/ICMP. Raises only DecodeError."""
    eth, off = Ethernet.unpack(data, 0)
    ethertype = eth.ethertype
    if ethertype == ETH_P_ARP:
        arp, nxt = ARP.unpack(data, off)
        return Frame(eth, arp=arp, trailer=bytes(data[nxt:]))
    ip: IPv4 | IPv6
    if ethertype == ETH_P_IPV4:
        ip4, l4off = IPv4.unpack(data, off)
        end = off + ip4.total_length
        ip = ip4
        proto = -1 if ip4.is_fragment else ip4.protocol
        if ip4.protocol == IPPROTO_ICMPV6:
            proto = -1  # ICMPv6 inside IPv4 has no pseudo-header to check against; keep raw
    elif ethertype == ETH_P_IPV6:
        ip6, l4off = IPv6.unpack(data, off)
        end = off + 40 + ip6.payload_length
        ip = ip6
        proto = -1 if ip6.fragmented else ip6.upper_protocol
        if proto == IPPROTO_ICMP:
            proto = -1
    else:
        return Frame(eth, payload=bytes(data[off:]))
    l4, pay = _decode_l4(data, l4off, end, proto)
    return Frame(eth, ip=ip, l4=l4, payload=bytes(data[pay:end]), trailer=bytes(data[end:]))


def encode_frame(frame: Frame) -> bytes:
    """Serialize `frame`, recomputing IP lengths, the IPv4 header checksum and the L4
    checksum. A UDP-over-IPv4 checksum of 0 in `frame.l4` stays 0 ("no checksum")."""
    head = frame.eth.pack()
    if frame.arp is not None:
        return head + frame.arp.pack() + frame.trailer
    ip = frame.ip
    if ip is None:
        return head + frame.payload + frame.trailer
    l4 = frame.l4
    payload = frame.payload
    if l4 is None:
        l4_bytes = b""
    elif isinstance(l4, UDP):
        l4_bytes = l4.pack_for(ip, payload, compute_checksum=not (
            isinstance(ip, IPv4) and l4.checksum == 0
        ))
    elif isinstance(l4, ICMPv4):
        l4_bytes = l4.pack_for(None, payload)
    else:
        l4_bytes = l4.pack_for(ip, payload)
    return head + ip.pack(len(l4_bytes) + len(payload)) + l4_bytes + payload + frame.trailer


# --------------------------------------------------------------------------- fast helpers


class FlowKey(NamedTuple):
    """The 5-tuple of an IP packet. Ports are 0 for protocols without them; for ICMP echo
    request/reply both ports carry the echo identifier, so a reply's key is the request's
    key with src/dst swapped, as for TCP and UDP."""

    src: int
    dst: int
    protocol: int
    src_port: int
    dst_port: int

    def reversed(self) -> FlowKey:
        return FlowKey(self.dst, self.src, self.protocol, self.dst_port, self.src_port)


_II = struct.Struct("!II")
_fast4_unpack = struct.Struct("!HB5xHxB2xIIHH").unpack_from
_tuple_new = tuple.__new__
_HH = struct.Struct("!HH")
_BBxxH = struct.Struct("!BBxxH")
_V6 = struct.Struct("!6xB1x16s16s")
_ECHO4 = frozenset({0, 8})
_ECHO6 = frozenset({128, 129})


def flow_key(data: bytes, offset: int = 0) -> FlowKey | None:
    """The 5-tuple of the Ethernet frame at `offset`, straight from the bytes (no
    dataclasses): None for non-IP frames (ARP, ...). IPv6 extension headers are not walked
    (the key then has the extension's number as protocol and ports 0). Non-first IPv4
    fragments get ports 0. Truncated IP/L4 headers raise DecodeError."""
    try:
        # Fast path: untagged IPv4 without options, TCP or UDP, not a fragment.
        et, vihl, ff, proto, src, dst, sport, dport = _fast4_unpack(data, offset + 12)
        # literals, not the named constants: this line runs once per packet
        if et == 0x0800 and vihl == 0x45 and not ff & 0x3FFF and proto in (6, 17):
            return _tuple_new(FlowKey, (src, dst, proto, sport, dport))
    except struct.error:
        pass  # short frame: the general path below says why
    try:
        et = data[offset + 12] << 8 | data[offset + 13]
        off = offset + 14
        if et == ETH_P_8021Q:
            et = data[offset + 16] << 8 | data[offset + 17]
            off = offset + 18
        if et == ETH_P_IPV4:
            vihl = data[off]
            if vihl >> 4 != 4 or vihl & 15 < 5:
                raise DecodeError("IPv4", off, "bad version or header length")
            proto = data[off + 9]
            src, dst = _II.unpack_from(data, off + 12)
            if (data[off + 6] & 0x1F) | data[off + 7]:
                return FlowKey(src, dst, proto, 0, 0)
            l4 = off + (vihl & 15) * 4
            if proto in (IPPROTO_TCP, IPPROTO_UDP):
                sport, dport = _HH.unpack_from(data, l4)
                return FlowKey(src, dst, proto, sport, dport)
            if proto == IPPROTO_ICMP:
                typ, _code, ident = _BBxxH.unpack_from(data, l4)
                if typ in _ECHO4:
                    return FlowKey(src, dst, proto, ident, ident)
            return FlowKey(src, dst, proto, 0, 0)
        if et == ETH_P_IPV6:
            if data[off] >> 4 != 6:
                raise DecodeError("IPv6", off, "bad version")
            proto, s6, d6 = _V6.unpack_from(data, off)
            src, dst = int.from_bytes(s6, "big"), int.from_bytes(d6, "big")
            l4 = off + 40
            if proto in (IPPROTO_TCP, IPPROTO_UDP):
                sport, dport = _HH.unpack_from(data, l4)
                return FlowKey(src, dst, proto, sport, dport)
            if proto == IPPROTO_ICMPV6:
                typ, _code, ident = _BBxxH.unpack_from(data, l4)
                if typ in _ECHO6:
                    return FlowKey(src, dst, proto, ident, ident)
            return FlowKey(src, dst, proto, 0, 0)
        return None
    except (IndexError, struct.error) as exc:
        raise DecodeError("flow_key", offset, f"truncated frame ({len(data) - offset} bytes)") \
            from exc


def inner_flow_hash(inner: bytes) -> int:
    """The outer UDP source port for an inner frame (RFC 7348 section 5: a hash of the inner
    headers, in the dynamic range 49152-65535). Hashes protocol, addresses and ports for IP
    (the same flow always maps to the same port), the Ethernet header otherwise. Never
    raises: short or odd frames just hash what bytes there are."""
    n = len(inner)
    if n >= 38 and inner[12] == 0x08 and inner[13] == 0x00:
        if inner[14] == 0x45:
            h = crc32(inner[26:38], inner[23])
        else:
            l4 = 14 + (inner[14] & 15) * 4
            h = crc32(inner[l4 : l4 + 4], crc32(inner[26:34], inner[23]))
    elif n >= 58 and inner[12] == 0x86 and inner[13] == 0xDD:
        h = crc32(inner[22:58], inner[20])
    else:
        h = crc32(inner[:14])
    return 0xC000 | ((h ^ (h >> 14)) & 0x3FFF)
