"""The flat parsed-packet view a packet filter matches and rewrites: `Packet`, `Outer`,
`parse_packet` (bytes -> view, checksums verified), `serialize` (view -> bytes, checksums
recomputed) and `build_packet` / `build_frame` (a well-formed packet for a 5-tuple).

`decode_frame` (vxlan.frame) gives typed header objects and checks no checksums; this view
gives what a filter classifies on (MACs, IP 5-tuple, TCP flags, the VXLAN outer header
set) as plain fields, keeps the bytes it does not interpret raw (IP header with options,
L4 header and payload, Ethernet padding), and refuses frames whose checksums are wrong,
since a switch must not forward them. Transpositions make new views (`with_fields`);
`serialize` writes the changed addresses and ports into the raw bytes and recomputes the
IPv4 header checksum and the L4 checksum, so an unchanged view serializes to its input.

A refused frame raises `DecodeError` whose class says why: `TruncatedError`,
`ChecksumError`, `UnsupportedError` (not IPv4, IPv6 or ARP; 802.1Q-tagged frames
included), plain `DecodeError` for a malformed header.

Outer headers are IPv4 only (Windows' VXLAN underlay) and are rebuilt by
`vxlan.encap.EncapTemplate` on output (TTL and TOS kept, DF set, identification 0).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from .checksum import checksum, pseudo_header_sum
from .encap import EncapTemplate
from .errors import ChecksumError, DecodeError, TruncatedError, UnsupportedError
from .headers import (
    ETH_P_ARP,
    ETH_P_IPV4,
    ETH_P_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    VXLAN_PORT,
    ICMPv4,
    ICMPv6,
    IPv4,
    IPv6,
    VXLANHeader,
)

__all__ = [
    "TCP_ACK",
    "TCP_FIN",
    "TCP_RST",
    "TCP_SYN",
    "Outer",
    "Packet",
    "build_frame",
    "build_packet",
    "encap_template",
    "parse_packet",
    "serialize",
    "serialize_inner",
]

TCP_FIN = TCP.FIN
TCP_SYN = TCP.SYN
TCP_RST = TCP.RST
TCP_ACK = TCP.ACK

_HH = struct.Struct("!HH")
_HHHH = struct.Struct("!HHHH")


@dataclass(frozen=True, slots=True)
class Outer:
    """The VXLAN outer headers (RFC 7348 section 5): Ethernet, IPv4, UDP, VXLAN."""

    src_mac: int
    dst_mac: int
    src_ip: int
    dst_ip: int
    sport: int
    vni: int
    dport: int = VXLAN_PORT
    ttl: int = 128  # the Windows default
    tos: int = 0


_TEMPLATES: dict[tuple[int, ...], EncapTemplate] = {}


def encap_template(o: Outer) -> EncapTemplate:
    """The (cached) EncapTemplate for an outer header set; its source port is per packet."""
    key = (o.src_mac, o.dst_mac, o.src_ip, o.dst_ip, o.vni, o.dport, o.ttl, o.tos)
    got = _TEMPLATES.get(key)
    if got is None:
        if len(_TEMPLATES) > 4096:
            _TEMPLATES.clear()
        got = _TEMPLATES[key] = EncapTemplate(
            vni=o.vni, src_pa=o.src_ip, dst_pa=o.dst_ip, src_mac=o.src_mac.to_bytes(6, "big"),
            dst_mac=o.dst_mac.to_bytes(6, "big"), dst_port=o.dport, ttl=o.ttl, tos=o.tos,
            ipv6=False,
        )
    return got


@dataclass(frozen=True, slots=True)
class Packet:
    """A parsed frame as a filter sees it (immutable; transpositions make new ones)."""

    outer: Outer | None
    src_mac: int
    dst_mac: int
    ethertype: int
    version: int  # 4, 6, or 0 when not IP
    src_ip: int = 0
    dst_ip: int = 0
    proto: int = 0
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    fragment: bool = False
    ip_hdr: bytes = b""  # raw IP header (v4 with options), addresses rewritten on output
    l4: bytes = b""  # raw L4 header + payload (whole payload when not IP)
    trailer: bytes = b""  # Ethernet padding after the IP datagram
    vni: int | None = None  # VNI the packet arrived with (kept as metadata after decap)

    def five_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.proto, self.src_ip, self.sport, self.dst_ip, self.dport)

    def with_fields(self, **changes: object) -> Packet:
        return replace(self, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parse


def parse_packet(frame: bytes, vxlan_port: int | None = VXLAN_PORT, *,
                 strict_vxlan: bool = True) -> Packet:
    """Parse an Ethernet frame (possibly VXLAN-encapsulated). Raises only DecodeError.

    A UDP-over-IPv4 datagram to `vxlan_port` (None: never) that fills its frame is read as
    VXLAN. With `strict_vxlan` (frames from the wire) one that is not well-formed VXLAN is
    refused; without it (frames a VM sends, which may use the port for anything) it is an
    ordinary UDP datagram."""
    try:
        try:
            return _parse(frame, vxlan_port)
        except DecodeError as err:
            if strict_vxlan or vxlan_port is None:
                raise
            try:
                plain: Packet | None = _parse(frame, None)
            except DecodeError:
                plain = None
            if plain is None or plain.proto != IPPROTO_UDP or plain.dport != vxlan_port:
                raise err from None
            return plain
    except DecodeError:
        raise
    except (struct.error, IndexError, ValueError) as exc:
        raise DecodeError("Ethernet", 0, f"malformed frame ({exc})") from exc


def _parse(frame: bytes, vxlan_port: int | None, outer: Outer | None = None) -> Packet:
    n = len(frame)
    if n < 14:
        raise TruncatedError("Ethernet", 0, f"truncated: need 14 bytes, have {n}")
    dst_mac = int.from_bytes(frame[0:6], "big")
    src_mac = int.from_bytes(frame[6:12], "big")
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETH_P_IPV4:
        return _parse_ipv4(frame, src_mac, dst_mac, vxlan_port, outer)
    if ethertype == ETH_P_IPV6:
        return _parse_ipv6(frame, src_mac, dst_mac, outer)
    if ethertype == ETH_P_ARP:
        return Packet(outer, src_mac, dst_mac, ethertype, 0, l4=bytes(frame[14:]),
                      vni=None if outer is None else outer.vni)
    raise UnsupportedError("Ethernet", 12, f"ethertype 0x{ethertype:04x} is not handled")


def _parse_ipv4(frame: bytes, src_mac: int, dst_mac: int, vxlan_port: int | None,
                outer: Outer | None) -> Packet:
    n = len(frame)
    if n < 34:
        raise TruncatedError("IPv4", 14, f"truncated: need 20 bytes, have {n - 14}")
    vihl = frame[14]
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20:
        raise DecodeError("IPv4", 14, "bad version or header length")
    total = (frame[16] << 8) | frame[17]
    if total < ihl or 14 + total > n:
        raise TruncatedError("IPv4", 14, f"total length {total} does not fit the frame")
    hdr = bytes(frame[14 : 14 + ihl])
    if checksum(hdr):
        raise ChecksumError("IPv4", 14, "bad IPv4 header checksum")
    proto = hdr[9]
    src_ip = int.from_bytes(hdr[12:16], "big")
    dst_ip = int.from_bytes(hdr[16:20], "big")
    l4 = bytes(frame[14 + ihl : 14 + total])
    trailer = bytes(frame[14 + total :])
    if ((hdr[6] << 8) | hdr[7]) & 0x3FFF:  # a fragment: its L4 header may be elsewhere
        return Packet(outer, src_mac, dst_mac, ETH_P_IPV4, 4, src_ip, dst_ip, proto,
                      fragment=True, ip_hdr=hdr, l4=l4, trailer=trailer,
                      vni=None if outer is None else outer.vni)
    sport, dport, flags = _check_l4(4, proto, src_ip, dst_ip, l4, 14 + ihl)
    if vxlan_port is not None and proto == IPPROTO_UDP and dport == vxlan_port and not trailer:
        if len(l4) < 16 + 14:
            raise TruncatedError("VXLAN", 22 + ihl, "inner frame shorter than an Ethernet header")
        vx, _ = VXLANHeader.unpack(l4, 8)
        if not vx.i_flag:
            raise DecodeError("VXLAN", 22 + ihl, f"I flag not set (flags 0x{vx.flags:02x})")
        return _parse(l4[16:], None, Outer(
            src_mac=src_mac, dst_mac=dst_mac, src_ip=src_ip, dst_ip=dst_ip, sport=sport,
            dport=dport, vni=vx.vni, ttl=hdr[8], tos=hdr[1],
        ))
    return Packet(outer, src_mac, dst_mac, ETH_P_IPV4, 4, src_ip, dst_ip, proto, sport, dport,
                  flags, False, hdr, l4, trailer, None if outer is None else outer.vni)


def _parse_ipv6(frame: bytes, src_mac: int, dst_mac: int, outer: Outer | None) -> Packet:
    # The next header is taken as the L4 protocol: extension headers are not walked.
    n = len(frame)
    if n < 54:
        raise TruncatedError("IPv6", 14, f"truncated: need 40 bytes, have {n - 14}")
    if frame[14] >> 4 != 6:
        raise DecodeError("IPv6", 14, f"version is {frame[14] >> 4}, not 6")
    plen = (frame[18] << 8) | frame[19]
    if 54 + plen > n:
        raise TruncatedError("IPv6", 14, f"payload length {plen} does not fit the frame")
    hdr = bytes(frame[14:54])
    proto = hdr[6]
    src_ip = int.from_bytes(hdr[8:24], "big")
    dst_ip = int.from_bytes(hdr[24:40], "big")
    l4 = bytes(frame[54 : 54 + plen])
    sport, dport, flags = _check_l4(6, proto, src_ip, dst_ip, l4, 54)
    return Packet(outer, src_mac, dst_mac, ETH_P_IPV6, 6, src_ip, dst_ip, proto, sport, dport,
                  flags, False, hdr, l4, bytes(frame[54 + plen :]),
                  None if outer is None else outer.vni)


def _check_l4(version: int, proto: int, src: int, dst: int, l4: bytes,
              at: int) -> tuple[int, int, int]:
    """(sport, dport, TCP flags) of a whole L4 datagram after checking its length fields
    and checksum; zeros for protocols without ports."""
    if proto == IPPROTO_TCP:
        if len(l4) < 20:
            raise TruncatedError("TCP", at, f"truncated: need 20 bytes, have {len(l4)}")
        off = (l4[12] >> 4) * 4
        if off < 20 or off > len(l4):
            raise DecodeError("TCP", at, f"data offset {off} does not fit the segment")
        if checksum(l4, pseudo_header_sum(version, src, dst, proto, len(l4))):
            raise ChecksumError("TCP", at, "bad TCP checksum")
        sport, dport = _HH.unpack_from(l4)
        return sport, dport, l4[13]
    if proto == IPPROTO_UDP:
        if len(l4) < 8:
            raise TruncatedError("UDP", at, f"truncated: need 8 bytes, have {len(l4)}")
        sport, dport, ulen, csum = _HHHH.unpack_from(l4)
        if ulen != len(l4):
            raise DecodeError("UDP", at, f"length {ulen} disagrees with IP payload {len(l4)}")
        if (csum or version == 6) and checksum(
            l4, pseudo_header_sum(version, src, dst, proto, len(l4))
        ):
            raise ChecksumError("UDP", at, "bad UDP checksum")
        return sport, dport, 0
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        if len(l4) < 4:
            raise TruncatedError("ICMP", at, f"truncated: need 4 bytes, have {len(l4)}")
        pseudo = pseudo_header_sum(version, src, dst, proto, len(l4))
        if checksum(l4, pseudo if proto == IPPROTO_ICMPV6 else 0):
            raise ChecksumError("ICMP", at, "bad ICMP checksum")
    return 0, 0, 0


# --------------------------------------------------------------------------- serialize


def serialize(p: Packet) -> bytes:
    """The frame for a packet: outer headers (if any) + inner frame, checksums fixed."""
    inner = serialize_inner(p)
    o = p.outer
    if o is None:
        return inner
    return encap_template(o).encapsulate(inner, o.sport)


def serialize_inner(p: Packet) -> bytes:
    eth = p.dst_mac.to_bytes(6, "big") + p.src_mac.to_bytes(6, "big") + p.ethertype.to_bytes(
        2, "big"
    )
    if p.version == 0:
        return eth + p.l4
    hdr = bytearray(p.ip_hdr)
    if p.version == 4:
        hdr[12:16] = p.src_ip.to_bytes(4, "big")
        hdr[16:20] = p.dst_ip.to_bytes(4, "big")
        hdr[10:12] = b"\x00\x00"
        hdr[10:12] = checksum(hdr).to_bytes(2, "big")
    else:
        hdr[8:24] = p.src_ip.to_bytes(16, "big")
        hdr[24:40] = p.dst_ip.to_bytes(16, "big")
    l4 = bytearray(p.l4)
    if not p.fragment and p.proto in (IPPROTO_TCP, IPPROTO_UDP):
        _HH.pack_into(l4, 0, p.sport, p.dport)
        pos = 16 if p.proto == IPPROTO_TCP else 6
        # A UDP-over-IPv4 checksum of 0 means "none" and stays 0.
        if p.proto == IPPROTO_TCP or l4[6:8] != b"\x00\x00" or p.version == 6:
            l4[pos : pos + 2] = b"\x00\x00"
            c = checksum(l4, pseudo_header_sum(p.version, p.src_ip, p.dst_ip, p.proto, len(l4)))
            if p.proto == IPPROTO_UDP and c == 0:
                c = 0xFFFF
            l4[pos : pos + 2] = c.to_bytes(2, "big")
    elif not p.fragment and p.proto == IPPROTO_ICMPV6:
        l4[2:4] = b"\x00\x00"
        c = checksum(l4, pseudo_header_sum(6, p.src_ip, p.dst_ip, IPPROTO_ICMPV6, len(l4)))
        l4[2:4] = c.to_bytes(2, "big")
    return eth + bytes(hdr) + bytes(l4) + p.trailer


# --------------------------------------------------------------------------- build


def build_packet(
    proto: int,
    src_ip: int,
    sport: int,
    dst_ip: int,
    dport: int,
    *,
    version: int = 4,
    src_mac: int = 0x00155D000001,
    dst_mac: int = 0x00155D000002,
    tcp_flags: int = TCP_ACK,
    payload: bytes = b"",
    ttl: int = 64,
    outer: Outer | None = None,
) -> Packet:
    """A well-formed packet for a 5-tuple (used by /process-tuples, traces and tests).
    L4 checksums other than ICMPv4's are left for `serialize` to compute."""
    if proto == IPPROTO_TCP:
        l4 = TCP(sport, dport, seq=1, flags=tcp_flags).pack()
    elif proto == IPPROTO_UDP:
        l4 = UDP(sport, dport, 8 + len(payload), 1).pack()  # non-zero: computed on output
    elif proto == IPPROTO_ICMP:
        l4 = ICMPv4(ICMPv4.ECHO_REQUEST, ident=1, seq=1).pack_for(None, payload)
        sport = dport = 0
    elif proto == IPPROTO_ICMPV6:
        l4 = ICMPv6(ICMPv6.ECHO_REQUEST, ident=1, seq=1).pack()
        sport = dport = 0
    else:
        l4 = b""
        sport = dport = 0
    l4 += payload
    hdr: bytes
    if version == 4:
        hdr = IPv4(src_ip, dst_ip, proto, ttl=ttl, flags=IPv4.FLAG_DF,
                   total_length=20 + len(l4)).pack()
        ethertype = ETH_P_IPV4
    else:
        hdr = IPv6(src_ip, dst_ip, proto, hop_limit=ttl, payload_length=len(l4)).pack()
        ethertype = ETH_P_IPV6
    return Packet(outer, src_mac, dst_mac, ethertype, version, src_ip, dst_ip, proto, sport,
                  dport, tcp_flags if proto == IPPROTO_TCP else 0, False, hdr, l4, b"",
                  None if outer is None else outer.vni)


def build_frame(proto: int, src_ip: int, sport: int, dst_ip: int, dport: int,
                **kw: object) -> bytes:
    """Bytes of `build_packet(...)`, checksums included."""
    return serialize(build_packet(proto, src_ip, sport, dst_ip, dport, **kw))  # type: ignore[arg-type]
