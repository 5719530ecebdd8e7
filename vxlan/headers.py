"""Header codecs: Ethernet (+ one 802.1Q tag), ARP, IPv4, IPv6, TCP, UDP, ICMPv4, ICMPv6 and
the VXLAN header (RFC 7348 section 5).

Each header is a frozen slotted dataclass with

* `unpack(buf, offset=0) -> (header, next_offset)`: parse one header starting at `offset`;
  truncated or malformed bytes raise `DecodeError(header, offset, reason)` and nothing else;
* `pack() -> bytes`: the header's bytes exactly as its fields say (stored lengths and
  checksums included), so `unpack` then `pack` is the identity on well-formed input;
* for IP and L4 headers, a second packer that recomputes lengths and checksums:
  `IPv4.pack(payload_length=n)`, `IPv6.pack(payload_length=n)` and
  `TCP/UDP/ICMPv4/ICMPv6.pack_for(ip, payload)`.

Addresses are `int` (IPv4 32-bit, IPv6 128-bit; see `vxlan.addr` for text), MACs are
6-byte `bytes`. Options and IPv6 extension headers are kept as raw bytes.

Glossary: PA = provider (underlay) address; VNI = VXLAN network identifier (24 bits).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .checksum import checksum, pseudo_header_sum
from .errors import DecodeError, TruncatedError

__all__ = [
    "ARP",
    "ETH_P_8021Q",
    "ETH_P_ARP",
    "ETH_P_IPV4",
    "ETH_P_IPV6",
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "TCP",
    "UDP",
    "VXLAN_PORT",
    "Ethernet",
    "ICMPv4",
    "ICMPv6",
    "IPv4",
    "IPv6",
    "VXLANHeader",
]

ETH_P_IPV4 = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58

VXLAN_PORT = 4789

_H = struct.Struct("!H")
_HH = struct.Struct("!HH")


def _need(buf: bytes, offset: int, size: int, header: str) -> None:
    if offset < 0 or len(buf) - offset < size:
        have = max(len(buf) - offset, 0)
        raise TruncatedError(header, offset, f"truncated: need {size} bytes, have {have}")


def _check_mac(mac: bytes, name: str) -> None:
    if len(mac) != 6:
        raise ValueError(f"{name} must be 6 bytes, got {len(mac)}")


# --------------------------------------------------------------------------- Ethernet


@dataclass(frozen=True, slots=True)
class Ethernet:
    """Ethernet II header, 14 bytes: dst(6) src(6) ethertype(2); with an 802.1Q tag,
    18 bytes: dst(6) src(6) 0x8100(2) TCI(2: PCP 3 bits, DEI 1, VID 12) ethertype(2).

    `vlan` is the VID (0-4095) when the frame carries a tag, else None; `ethertype` is
    always the payload's type (the one after the tag).
    """

    dst: bytes
    src: bytes
    ethertype: int
    vlan: int | None = None
    pcp: int = 0
    dei: int = 0

    NAME: ClassVar[str] = "Ethernet"
    _S: ClassVar[struct.Struct] = struct.Struct("!6s6sH")
    _TAG: ClassVar[struct.Struct] = struct.Struct("!6s6sHHH")

    @property
    def length(self) -> int:
        return 14 if self.vlan is None else 18

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[Ethernet, int]:
        _need(buf, offset, 14, "Ethernet")
        dst, src, ethertype = cls._S.unpack_from(buf, offset)
        if ethertype != ETH_P_8021Q:
            return cls(dst, src, ethertype), offset + 14
        _need(buf, offset, 18, "Ethernet")
        tci, ethertype = _HH.unpack_from(buf, offset + 14)
        return cls(dst, src, ethertype, tci & 0x0FFF, tci >> 13, (tci >> 12) & 1), offset + 18

    def pack(self) -> bytes:
        _check_mac(self.dst, "dst")
        _check_mac(self.src, "src")
        if self.vlan is None:
            return self._S.pack(self.dst, self.src, self.ethertype)
        tci = (self.pcp & 7) << 13 | (self.dei & 1) << 12 | (self.vlan & 0x0FFF)
        return self._TAG.pack(self.dst, self.src, ETH_P_8021Q, tci, self.ethertype)


# --------------------------------------------------------------------------- ARP


@dataclass(frozen=True, slots=True)
class ARP:
    """ARP for IPv4 over Ethernet (RFC 826), 28 bytes: htype(2) ptype(2) hlen(1) plen(1)
    oper(2) sha(6) spa(4) tha(6) tpa(4). Other hardware/protocol sizes are refused."""

    oper: int
    sha: bytes
    spa: int
    tha: bytes
    tpa: int
    htype: int = 1
    ptype: int = ETH_P_IPV4

    NAME: ClassVar[str] = "ARP"
    REQUEST: ClassVar[int] = 1
    REPLY: ClassVar[int] = 2
    _S: ClassVar[struct.Struct] = struct.Struct("!HHBBH6sI6sI")

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[ARP, int]:
        _need(buf, offset, 8, "ARP")
        hlen, plen = buf[offset + 4], buf[offset + 5]
        if hlen != 6 or plen != 4:
            raise DecodeError("ARP", offset, f"unsupported address sizes hlen={hlen} plen={plen}")
        _need(buf, offset, 28, "ARP")
        htype, ptype, _, _, oper, sha, spa, tha, tpa = cls._S.unpack_from(buf, offset)
        return cls(oper, sha, spa, tha, tpa, htype, ptype), offset + 28

    def pack(self) -> bytes:
        _check_mac(self.sha, "sha")
        _check_mac(self.tha, "tha")
        return self._S.pack(
            self.htype, self.ptype, 6, 4, self.oper, self.sha, self.spa, self.tha, self.tpa
        )


# --------------------------------------------------------------------------- IPv4


@dataclass(frozen=True, slots=True)
class IPv4:
    """IPv4 header (RFC 791), 20-60 bytes: version(4 bits)=4, IHL(4 bits), TOS(8: DSCP 6 +
    ECN 2), total length(16), identification(16), flags(3: reserved, DF, MF), fragment
    offset(13), TTL(8), protocol(8), header checksum(16), src(32), dst(32), options.

    `total_length` and `checksum` are stored as read; `pack(payload_length=n)` recomputes
    both. The IHL is derived from `options` (a multiple of 4 bytes, at most 40).
    """

    src: int
    dst: int
    protocol: int
    ttl: int = 64
    tos: int = 0
    ident: int = 0
    flags: int = 0
    frag_offset: int = 0
    total_length: int = 0
    checksum: int = 0
    options: bytes = b""

    NAME: ClassVar[str] = "IPv4"
    FLAG_DF: ClassVar[int] = 0b010
    FLAG_MF: ClassVar[int] = 0b001
    _S: ClassVar[struct.Struct] = struct.Struct("!BBHHHBBHII")

    @property
    def header_length(self) -> int:
        return 20 + len(self.options)

    @property
    def df(self) -> bool:
        return bool(self.flags & self.FLAG_DF)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment (MF set or a non-zero offset): its L4 header may be absent."""
        return bool(self.flags & self.FLAG_MF) or self.frag_offset != 0

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[IPv4, int]:
        _need(buf, offset, 20, "IPv4")
        vihl, tos, total, ident, ff, ttl, proto, csum, src, dst = cls._S.unpack_from(buf, offset)
        if vihl >> 4 != 4:
            raise DecodeError("IPv4", offset, f"version is {vihl >> 4}, not 4")
        hlen = (vihl & 0x0F) * 4
        if hlen < 20:
            raise DecodeError("IPv4", offset, f"header length {hlen} is below 20")
        if total < hlen:
            raise DecodeError("IPv4", offset, f"total length {total} is below header {hlen}")
        _need(buf, offset, total, "IPv4")
        options = bytes(buf[offset + 20 : offset + hlen])
        header = cls(src, dst, proto, ttl, tos, ident, ff >> 13, ff & 0x1FFF, total, csum, options)
        return header, offset + hlen

    def pack(self, payload_length: int | None = None) -> bytes:
        """Exact bytes; with `payload_length`, total length and checksum are recomputed."""
        opt_len = len(self.options)
        if opt_len % 4 or opt_len > 40:
            raise ValueError(f"IPv4 options must be a multiple of 4 up to 40 bytes, got {opt_len}")
        hlen = 20 + opt_len
        ff = (self.flags & 7) << 13 | (self.frag_offset & 0x1FFF)
        if payload_length is None:
            total, csum = self.total_length, self.checksum
        else:
            total, csum = hlen + payload_length, 0
        raw = self._S.pack(
            0x40 | hlen >> 2, self.tos, total, self.ident, ff, self.ttl, self.protocol, csum,
            self.src, self.dst,
        ) + self.options
        if payload_length is None:
            return raw
        csum = checksum(raw)
        return raw[:10] + _H.pack(csum) + raw[12:]

    def pseudo_sum(self, length: int) -> int:
        return pseudo_header_sum(4, self.src, self.dst, self.protocol, length)

    def pseudo_sum_for(self, protocol: int, length: int) -> int:
        return pseudo_header_sum(4, self.src, self.dst, protocol, length)


# --------------------------------------------------------------------------- IPv6

# Extension headers that are skipped (RFC 8200 section 4): hop-by-hop, routing,
# destination options, mobility, HIP, shim6 use (len+1)*8; fragment is 8; AH is (len+2)*4.
_EXT_8 = frozenset({0, 43, 60, 135, 139, 140})
_EXT_FRAGMENT = 44
_EXT_AH = 51


@dataclass(frozen=True, slots=True)
class IPv6:
    """IPv6 header (RFC 8200), 40 bytes: version(4 bits)=6, traffic class(8), flow label(20),
    payload length(16), next header(8), hop limit(8), src(128), dst(128); followed by any
    extension headers, kept raw in `extensions` and skipped.

    `protocol` is the upper-layer protocol after the extensions (computed on unpack;
    defaults to `next_header` when built by hand without extensions). `payload_length` is
    stored as read; `pack(payload_length=n)` writes `len(extensions) + n`. `fragmented` is
    True when a fragment extension header is present (the L4 header is then not parsed).
    """

    src: int
    dst: int
    next_header: int
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = 0
    extensions: bytes = b""
    protocol: int = -1
    fragmented: bool = False

    NAME: ClassVar[str] = "IPv6"
    _S: ClassVar[struct.Struct] = struct.Struct("!IHBB16s16s")

    @property
    def upper_protocol(self) -> int:
        return self.next_header if self.protocol < 0 else self.protocol

    @property
    def header_length(self) -> int:
        return 40 + len(self.extensions)

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[IPv6, int]:
        _need(buf, offset, 40, "IPv6")
        vtf, plen, nh, hlim, src, dst = cls._S.unpack_from(buf, offset)
        if vtf >> 28 != 6:
            raise DecodeError("IPv6", offset, f"version is {vtf >> 28}, not 6")
        _need(buf, offset, 40 + plen, "IPv6")
        end = offset + 40 + plen
        pos = offset + 40
        proto = nh
        frag = False
        while True:
            if proto in _EXT_8:
                size = 8 if pos + 2 > end else (buf[pos + 1] + 1) * 8
            elif proto == _EXT_FRAGMENT:
                size = 8
                frag = True
            elif proto == _EXT_AH:
                size = 8 if pos + 2 > end else (buf[pos + 1] + 2) * 4
            else:
                break
            if pos + size > end:
                raise DecodeError("IPv6", pos, f"extension header {proto} runs past the payload")
            proto = buf[pos]
            pos += size
        header = cls(
            int.from_bytes(src, "big"), int.from_bytes(dst, "big"), nh, hlim,
            (vtf >> 20) & 0xFF, vtf & 0xFFFFF, plen, bytes(buf[offset + 40 : pos]), proto, frag,
        )
        return header, pos

    def pack(self, payload_length: int | None = None) -> bytes:
        """Exact bytes; with `payload_length` (upper-layer bytes), the length is recomputed."""
        plen = self.payload_length if payload_length is None else (
            len(self.extensions) + payload_length
        )
        vtf = 6 << 28 | (self.traffic_class & 0xFF) << 20 | (self.flow_label & 0xFFFFF)
        return self._S.pack(
            vtf, plen, self.next_header, self.hop_limit,
            self.src.to_bytes(16, "big"), self.dst.to_bytes(16, "big"),
        ) + self.extensions

    def pseudo_sum_for(self, protocol: int, length: int) -> int:
        return pseudo_header_sum(6, self.src, self.dst, protocol, length)



# --------------------------------------------------------------------------- TCP


@dataclass(frozen=True, slots=True)
class TCP:
    """TCP header (RFC 9293), 20-60 bytes: src port(16), dst port(16), seq(32), ack(32),
    data offset(4 bits), then 12 bits kept together in `flags` (3 reserved, NS/AE, CWR, ECE,
    URG, ACK, PSH, RST, SYN, FIN), window(16), checksum(16), urgent pointer(16), options."""

    sport: int
    dport: int
    seq: int = 0
    ack: int = 0
    flags: int = 0
    window: int = 65535
    checksum: int = 0
    urgent: int = 0
    options: bytes = b""

    NAME: ClassVar[str] = "TCP"
    FIN: ClassVar[int] = 0x01
    SYN: ClassVar[int] = 0x02
    RST: ClassVar[int] = 0x04
    PSH: ClassVar[int] = 0x08
    ACK: ClassVar[int] = 0x10
    URG: ClassVar[int] = 0x20
    _S: ClassVar[struct.Struct] = struct.Struct("!HHIIHHHH")

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[TCP, int]:
        _need(buf, offset, 20, "TCP")
        sport, dport, seq, ack, off_flags, window, csum, urg = cls._S.unpack_from(buf, offset)
        hlen = (off_flags >> 12) * 4
        if hlen < 20:
            raise DecodeError("TCP", offset, f"data offset {hlen} is below 20")
        _need(buf, offset, hlen, "TCP")
        options = bytes(buf[offset + 20 : offset + hlen])
        header = cls(sport, dport, seq, ack, off_flags & 0x0FFF, window, csum, urg, options)
        return header, offset + hlen

    def _raw(self, csum: int) -> bytes:
        opt_len = len(self.options)
        if opt_len % 4 or opt_len > 40:
            raise ValueError(f"TCP options must be a multiple of 4 up to 40 bytes, got {opt_len}")
        off_flags = (20 + opt_len) << 10 | (self.flags & 0x0FFF)
        return self._S.pack(
            self.sport, self.dport, self.seq, self.ack, off_flags, self.window, csum,
            self.urgent,
        ) + self.options

    def pack(self) -> bytes:
        return self._raw(self.checksum)

    def pack_for(self, ip: IPv4 | IPv6, payload: bytes) -> bytes:
        """Header bytes with the checksum computed over `ip`'s pseudo-header and `payload`."""
        raw = self._raw(0)
        length = len(raw) + len(payload)
        csum = checksum(raw + payload, ip.pseudo_sum_for(IPPROTO_TCP, length))
        return raw[:16] + _H.pack(csum) + raw[18:]


# --------------------------------------------------------------------------- UDP


@dataclass(frozen=True, slots=True)
class UDP:
    """UDP header (RFC 768), 8 bytes: src port(16), dst port(16), length(16), checksum(16).

    Over IPv4 a checksum of 0 means "none"; a computed 0 is sent as 0xFFFF."""

    sport: int
    dport: int
    length: int = 0
    checksum: int = 0

    NAME: ClassVar[str] = "UDP"
    _S: ClassVar[struct.Struct] = struct.Struct("!HHHH")

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[UDP, int]:
        _need(buf, offset, 8, "UDP")
        sport, dport, length, csum = cls._S.unpack_from(buf, offset)
        if length < 8:
            raise DecodeError("UDP", offset, f"length {length} is below 8")
        _need(buf, offset, length, "UDP")
        return cls(sport, dport, length, csum), offset + 8

    def pack(self) -> bytes:
        return self._S.pack(self.sport, self.dport, self.length, self.checksum)

    def pack_for(self, ip: IPv4 | IPv6, payload: bytes, *, compute_checksum: bool = True) -> bytes:
        """Header bytes with length and checksum recomputed. `compute_checksum=False` writes 0
        (IPv4 only; IPv6 always gets a checksum)."""
        length = 8 + len(payload)
        if not compute_checksum and isinstance(ip, IPv4):
            return self._S.pack(self.sport, self.dport, length, 0)
        raw = self._S.pack(self.sport, self.dport, length, 0)
        csum = checksum(raw + payload, ip.pseudo_sum_for(IPPROTO_UDP, length)) or 0xFFFF
        return self._S.pack(self.sport, self.dport, length, csum)


# --------------------------------------------------------------------------- ICMP


@dataclass(frozen=True, slots=True)
class ICMPv4:
    """ICMP header (RFC 792), 8 bytes: type(8), code(8), checksum(16), rest-of-header(32).
    For echo request (8) and reply (0) the rest is identifier(16) and sequence(16); for
    other types `ident` and `seq` are simply its two halves. The checksum covers the
    header and the payload."""

    type: int
    code: int = 0
    checksum: int = 0
    ident: int = 0
    seq: int = 0

    NAME: ClassVar[str] = "ICMPv4"
    ECHO_REPLY: ClassVar[int] = 0
    ECHO_REQUEST: ClassVar[int] = 8
    _S: ClassVar[struct.Struct] = struct.Struct("!BBHHH")

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[ICMPv4, int]:
        _need(buf, offset, 8, "ICMPv4")
        return cls(*cls._S.unpack_from(buf, offset)), offset + 8

    def pack(self) -> bytes:
        return self._S.pack(self.type, self.code, self.checksum, self.ident, self.seq)

    def pack_for(self, ip: IPv4 | IPv6 | None, payload: bytes) -> bytes:
        raw = self._S.pack(self.type, self.code, 0, self.ident, self.seq)
        csum = checksum(raw + payload)
        return self._S.pack(self.type, self.code, csum, self.ident, self.seq)


@dataclass(frozen=True, slots=True)
class ICMPv6:
    """ICMPv6 header (RFC 4443), 8 bytes, laid out as ICMPv4; echo request is 128, reply
    129. The checksum covers the IPv6 pseudo-header, the header and the payload."""

    type: int
    code: int = 0
    checksum: int = 0
    ident: int = 0
    seq: int = 0

    NAME: ClassVar[str] = "ICMPv6"
    ECHO_REQUEST: ClassVar[int] = 128
    ECHO_REPLY: ClassVar[int] = 129
    _S: ClassVar[struct.Struct] = struct.Struct("!BBHHH")

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[ICMPv6, int]:
        _need(buf, offset, 8, "ICMPv6")
        return cls(*cls._S.unpack_from(buf, offset)), offset + 8

    def pack(self) -> bytes:
        return self._S.pack(self.type, self.code, self.checksum, self.ident, self.seq)

    def pack_for(self, ip: IPv4 | IPv6, payload: bytes) -> bytes:
        raw = self._S.pack(self.type, self.code, 0, self.ident, self.seq)
        length = 8 + len(payload)
        csum = checksum(raw + payload, ip.pseudo_sum_for(IPPROTO_ICMPV6, length))
        return self._S.pack(self.type, self.code, csum, self.ident, self.seq)


# --------------------------------------------------------------------------- VXLAN


@dataclass(frozen=True, slots=True)
class VXLANHeader:
    """VXLAN header (RFC 7348 section 5), 8 bytes:
    flags(8: R R R R I R R R, I = 0x08) reserved(24) VNI(24) reserved(8).

    The I flag MUST be set for a valid VNI; reserved bits MUST be zero on transmission and
    are ignored on receipt (they are kept here so unpack/pack round-trips exactly)."""

    vni: int
    flags: int = 0x08
    reserved1: int = 0
    reserved2: int = 0

    NAME: ClassVar[str] = "VXLAN"
    FLAG_I: ClassVar[int] = 0x08
    _S: ClassVar[struct.Struct] = struct.Struct("!II")

    @property
    def i_flag(self) -> bool:
        return bool(self.flags & self.FLAG_I)

    @classmethod
    def unpack(cls, buf: bytes, offset: int = 0) -> tuple[VXLANHeader, int]:
        _need(buf, offset, 8, "VXLAN")
        w0, w1 = cls._S.unpack_from(buf, offset)
        return cls(w1 >> 8, w0 >> 24, w0 & 0xFFFFFF, w1 & 0xFF), offset + 8

    def pack(self) -> bytes:
        if not 0 <= self.vni < 1 << 24:
            raise ValueError(f"VNI must fit in 24 bits, got {self.vni}")
        return self._S.pack(
            (self.flags & 0xFF) << 24 | (self.reserved1 & 0xFFFFFF),
            self.vni << 8 | (self.reserved2 & 0xFF),
        )
