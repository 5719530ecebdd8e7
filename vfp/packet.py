"""The slow path's view of a packet, and its private byte codec.

`Packet` is the parsed header stack a layer sees: an optional VXLAN outer header set
(`Outer`: Ethernet/IPv4/UDP/VXLAN), the inner Ethernet addresses, the IP 5-tuple, TCP flags,
and the raw bytes the slow path does not interpret (IP options, L4 header rest, payload,
Ethernet padding). Layers change it only through header transpositions (vfp.actions).

`parse_frame` never raises: malformed input returns a `DropReason`. `serialize` rebuilds
the frame, recomputing the IPv4 header checksum and the L4 checksum from scratch (the
fast path updates them incrementally; a test checks both give the same bytes).

This codec is private to vfp/: the vxlan package's codecs were being written at the same
time, and the slow path needs fields (raw header rest, padding) that the pipeline keeps
byte-exact for the fast-path == slow-path property.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from vfp.errors import DropReason

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58
VXLAN_PORT = 4789
VXLAN_OVERHEAD = 50

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10


def fold(s: int) -> int:
    """Fold a ones'-complement sum to 16 bits."""
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ones_sum(data: bytes | bytearray) -> int:
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def checksum(data: bytes | bytearray, initial: int = 0) -> int:
    """RFC 1071 Internet checksum."""
    return ~fold(initial + ones_sum(data)) & 0xFFFF


def pseudo_sum(version: int, src: int, dst: int, proto: int, length: int) -> int:
    width = 4 if version == 4 else 16
    raw = src.to_bytes(width, "big") + dst.to_bytes(width, "big")
    return ones_sum(raw) + proto + length


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


def outer_header(o: Outer, inner_len: int) -> bytes:
    """The 50 outer bytes for an inner frame of `inner_len` bytes (UDP checksum 0)."""
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, o.tos, inner_len + 36, 0, 0x4000, o.ttl, UDP, 0,
        o.src_ip.to_bytes(4, "big"), o.dst_ip.to_bytes(4, "big"),
    )
    ip = ip[:10] + checksum(ip).to_bytes(2, "big") + ip[12:]
    return (
        o.dst_mac.to_bytes(6, "big") + o.src_mac.to_bytes(6, "big") + b"\x08\x00" + ip
        + struct.pack("!HHHH", o.sport, o.dport, inner_len + 16, 0)
        + struct.pack("!II", 0x08000000, o.vni << 8)
    )


@dataclass(frozen=True, slots=True)
class Packet:
    """A parsed frame as the layers see it (immutable; transpositions make new ones)."""

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


def parse_frame(frame: bytes, vxlan_port: int | None = VXLAN_PORT, *,
                strict_vxlan: bool = True) -> Packet | DropReason:
    """Parse an Ethernet frame (possibly VXLAN-encapsulated); never raises.

    A UDP datagram to the VXLAN port is read as VXLAN.  With ``strict_vxlan`` (frames from
    the wire) one that is not well-formed VXLAN is a drop; without it (frames a VM sends,
    which may use UDP 4789 for anything) it is an ordinary UDP datagram."""
    try:
        parsed = _parse(frame, vxlan_port)
        if isinstance(parsed, DropReason) and not strict_vxlan and vxlan_port is not None:
            plain = _parse(frame, None)
            if isinstance(plain, Packet) and plain.proto == UDP and plain.dport == vxlan_port:
                return plain
        return parsed
    except (struct.error, IndexError, ValueError):
        return DropReason.BAD_HEADER


def _parse(frame: bytes, vxlan_port: int | None) -> Packet | DropReason:
    if len(frame) < 14:
        return DropReason.TRUNCATED
    dst_mac = int.from_bytes(frame[0:6], "big")
    src_mac = int.from_bytes(frame[6:12], "big")
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETH_IPV4:
        return _parse_ipv4(frame, src_mac, dst_mac, vxlan_port)
    if ethertype == ETH_IPV6:
        return _parse_ipv6(frame, src_mac, dst_mac)
    if ethertype == ETH_ARP:
        return Packet(None, src_mac, dst_mac, ethertype, 0, l4=bytes(frame[14:]))
    return DropReason.UNKNOWN_ETHERTYPE


def _parse_ipv4(
    frame: bytes, src_mac: int, dst_mac: int, vxlan_port: int | None
) -> Packet | DropReason:
    if len(frame) < 34:
        return DropReason.TRUNCATED
    vihl = frame[14]
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20:
        return DropReason.BAD_HEADER
    total = (frame[16] << 8) | frame[17]
    if total < ihl or 14 + total > len(frame):
        return DropReason.TRUNCATED
    hdr = bytes(frame[14 : 14 + ihl])
    if checksum(hdr) != 0:
        return DropReason.BAD_CHECKSUM
    proto = hdr[9]
    frag = ((hdr[6] << 8) | hdr[7]) & 0x3FFF
    src_ip = int.from_bytes(hdr[12:16], "big")
    dst_ip = int.from_bytes(hdr[16:20], "big")
    l4 = bytes(frame[14 + ihl : 14 + total])
    trailer = bytes(frame[14 + total :])
    base = Packet(None, src_mac, dst_mac, ETH_IPV4, 4, src_ip, dst_ip, proto,
                  ip_hdr=hdr, l4=l4, trailer=trailer)
    if frag:
        return replace(base, fragment=True)
    pseudo = pseudo_sum(4, src_ip, dst_ip, proto, len(l4))
    parsed = _parse_l4(base, pseudo)
    if isinstance(parsed, DropReason):
        return parsed
    if vxlan_port is not None and proto == UDP and parsed.dport == vxlan_port and not trailer:
        return _parse_vxlan(parsed)
    return parsed


def _parse_ipv6(frame: bytes, src_mac: int, dst_mac: int) -> Packet | DropReason:
    if len(frame) < 54:
        return DropReason.TRUNCATED
    if frame[14] >> 4 != 6:
        return DropReason.BAD_HEADER
    plen = (frame[18] << 8) | frame[19]
    if 54 + plen > len(frame):
        return DropReason.TRUNCATED
    hdr = bytes(frame[14:54])
    proto = hdr[6]
    src_ip = int.from_bytes(hdr[8:24], "big")
    dst_ip = int.from_bytes(hdr[24:40], "big")
    l4 = bytes(frame[54 : 54 + plen])
    base = Packet(None, src_mac, dst_mac, ETH_IPV6, 6, src_ip, dst_ip, proto,
                  ip_hdr=hdr, l4=l4, trailer=bytes(frame[54 + plen :]))
    return _parse_l4(base, pseudo_sum(6, src_ip, dst_ip, proto, len(l4)))


def _parse_l4(p: Packet, pseudo: int) -> Packet | DropReason:
    l4 = p.l4
    if p.proto == TCP:
        if len(l4) < 20:
            return DropReason.TRUNCATED
        off = (l4[12] >> 4) * 4
        if off < 20 or off > len(l4):
            return DropReason.BAD_HEADER
        if checksum(l4, pseudo) != 0:
            return DropReason.BAD_CHECKSUM
        sport, dport = struct.unpack_from("!HH", l4)
        return replace(p, sport=sport, dport=dport, tcp_flags=l4[13])
    if p.proto == UDP:
        if len(l4) < 8:
            return DropReason.TRUNCATED
        sport, dport, ulen, csum = struct.unpack_from("!HHHH", l4)
        if ulen != len(l4):
            return DropReason.BAD_HEADER
        if (csum or p.version == 6) and checksum(l4, pseudo) != 0:
            return DropReason.BAD_CHECKSUM
        return replace(p, sport=sport, dport=dport)
    if p.proto in (ICMP, ICMPV6):
        if len(l4) < 4:
            return DropReason.TRUNCATED
        if checksum(l4, pseudo if p.proto == ICMPV6 else 0) != 0:
            return DropReason.BAD_CHECKSUM
    return p


def _parse_vxlan(p: Packet) -> Packet | DropReason:
    body = p.l4
    if len(body) < 16 + 14:
        return DropReason.TRUNCATED
    if not body[8] & 0x08:
        return DropReason.BAD_HEADER
    vni = int.from_bytes(body[12:15], "big")
    inner = _parse(body[16:], None)
    if isinstance(inner, DropReason):
        return inner
    outer = Outer(
        src_mac=p.src_mac, dst_mac=p.dst_mac, src_ip=p.src_ip, dst_ip=p.dst_ip,
        sport=p.sport, dport=p.dport, vni=vni, ttl=p.ip_hdr[8], tos=p.ip_hdr[1],
    )
    return replace(inner, outer=outer, vni=vni)


def serialize(p: Packet) -> bytes:
    """The frame for a packet: outer headers (if any) + inner frame, checksums fixed."""
    inner = serialize_inner(p)
    if p.outer is None:
        return inner
    return outer_header(p.outer, len(inner)) + inner


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
    if not p.fragment and p.proto in (TCP, UDP):
        struct.pack_into("!HH", l4, 0, p.sport, p.dport)
        pos = 16 if p.proto == TCP else 6
        if p.proto == TCP or l4[6:8] != b"\x00\x00" or p.version == 6:
            l4[pos : pos + 2] = b"\x00\x00"
            c = checksum(l4, pseudo_sum(p.version, p.src_ip, p.dst_ip, p.proto, len(l4)))
            if p.proto == UDP and c == 0:
                c = 0xFFFF
            l4[pos : pos + 2] = c.to_bytes(2, "big")
    elif not p.fragment and p.proto == ICMPV6:
        l4[2:4] = b"\x00\x00"
        c = checksum(l4, pseudo_sum(6, p.src_ip, p.dst_ip, ICMPV6, len(l4)))
        l4[2:4] = c.to_bytes(2, "big")
    return eth + bytes(hdr) + bytes(l4) + p.trailer


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
    """A well-formed packet for a 5-tuple (used by /process-tuples, traces and tests)."""
    if proto == TCP:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, tcp_flags, 65535, 0, 0)
    elif proto == UDP:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 1)  # 1: computed on output
    elif proto in (ICMP, ICMPV6):
        l4 = struct.pack("!BBHHH", 8 if proto == ICMP else 128, 0, 0, 1, 1)
        sport = dport = 0
    else:
        l4 = b""
        sport = dport = 0
    l4 += payload
    if proto == ICMP:
        l4 = l4[:2] + checksum(l4).to_bytes(2, "big") + l4[4:]
    if version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, ttl, proto, 0,
                          src_ip.to_bytes(4, "big"), dst_ip.to_bytes(4, "big"))
        ethertype = ETH_IPV4
    else:
        hdr = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, ttl,
                          src_ip.to_bytes(16, "big"), dst_ip.to_bytes(16, "big"))
        ethertype = ETH_IPV6
    return Packet(outer, src_mac, dst_mac, ethertype, version, src_ip, dst_ip, proto, sport,
                  dport, tcp_flags if proto == TCP else 0, False, hdr, l4, b"",
                  None if outer is None else outer.vni)


def build_frame(proto: int, src_ip: int, sport: int, dst_ip: int, dport: int,
                **kw: object) -> bytes:
    """Bytes of `build_packet(...)`, checksums included."""
    return serialize(build_packet(proto, src_ip, sport, dst_ip, dport, **kw))  # type: ignore[arg-type]
