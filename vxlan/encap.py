"""VXLAN encapsulation and decapsulation (RFC 7348), slow and fast paths.

* `encapsulate(inner, *, vni, src_pa, dst_pa, src_mac, dst_mac, ...)` builds outer
  Ethernet / IPv4 or IPv6 / UDP / VXLAN around an inner Ethernet frame (50 bytes of outer
  header over IPv4, 70 over IPv6).
* `EncapTemplate` is the fast path: the outer header is built once per (PAs, MACs, VNI,
  port); per packet only the IP total length, UDP length, UDP source port and outer IPv4
  checksum are patched (the checksum from a precomputed partial sum).
* `decapsulate(frame, *, dst_port=4789, expected_vni=None)` checks the outer headers and
  the VXLAN I flag and VNI and returns a `Decapsulated`; a refusal raises `DecapError`
  whose `reason` says why.

Outer-header choices (see docs/vxlan.md): TTL 128 and DF set, as Windows sends them;
IPv4 identification 0; UDP checksum 0 over IPv4 unless asked for (RFC 7348: SHOULD be 0,
MUST be accepted), always computed over IPv6 (Linux drops zero-checksum UDP over IPv6 by
default); UDP source port = `inner_flow_hash(inner)` in 49152-65535.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .addr import ip_from_text, mac_from_text
from .checksum import checksum, fold, ones_sum, pseudo_header_sum
from .errors import DecapError
from .frame import FlowKey, flow_key, inner_flow_hash
from .headers import (
    ETH_P_8021Q,
    ETH_P_IPV4,
    ETH_P_IPV6,
    IPPROTO_UDP,
    VXLAN_PORT,
    Ethernet,
    IPv4,
    IPv6,
    VXLANHeader,
)

__all__ = [
    "DEFAULT_TTL",
    "OUTER_IPV4_LENGTH",
    "OUTER_IPV6_LENGTH",
    "Decapsulated",
    "EncapTemplate",
    "decapsulate",
    "decapsulate_with_key",
    "encapsulate",
]

DEFAULT_TTL = 128
OUTER_IPV4_LENGTH = 14 + 20 + 8 + 8
OUTER_IPV6_LENGTH = 14 + 40 + 8 + 8

Address = int | str
Mac = bytes | str


def _addr(value: Address, ipv6: bool | None) -> tuple[int, int]:
    """(version, int) from text or int; ints above 32 bits (or ipv6=True) are IPv6."""
    if isinstance(value, str):
        return ip_from_text(value)
    if ipv6 or (ipv6 is None and value > 0xFFFFFFFF):
        return 6, value
    if value > 0xFFFFFFFF:
        raise ValueError(f"{value:#x} does not fit an IPv4 address (pass ipv6=True)")
    return 4, value


def _mac(value: Mac) -> bytes:
    if isinstance(value, str):
        return mac_from_text(value)
    if len(value) != 6:
        raise ValueError(f"a MAC address is 6 bytes, got {len(value)}")
    return bytes(value)


class EncapTemplate:
    """A precomputed outer header for one (src_pa, dst_pa, vni, MACs, port) tuple.

    `encapsulate(inner, src_port=None)` returns outer + inner; per packet it patches only
    lengths, the UDP source port (from `inner_flow_hash` unless given) and, over IPv4, the
    header checksum from a precomputed partial sum (plus the UDP checksum when enabled).
    """

    __slots__ = (
        "_addrs",
        "_ip_sum",
        "_mid",
        "_prefix",
        "_tail",
        "_udp_sum",
        "dst_pa",
        "dst_port",
        "ip_version",
        "src_pa",
        "udp_checksum",
        "vni",
    )

    _V4 = struct.Struct("!16sH6sH8sHHHH8s")
    _V6 = struct.Struct("!18sH34sHHHH8s")

    def __init__(
        self,
        *,
        vni: int,
        src_pa: Address,
        dst_pa: Address,
        src_mac: Mac,
        dst_mac: Mac,
        dst_port: int = VXLAN_PORT,
        udp_checksum: bool = False,
        ttl: int = DEFAULT_TTL,
        df: bool = True,
        tos: int = 0,
        ident: int = 0,
        flow_label: int = 0,
        ipv6: bool | None = None,
    ) -> None:
        sv, src = _addr(src_pa, ipv6)
        dv, dst = _addr(dst_pa, ipv6)
        if sv != dv:
            raise ValueError("src_pa and dst_pa must be the same IP version")
        if not 0 <= vni < 1 << 24:
            raise ValueError(f"VNI must fit in 24 bits, got {vni}")
        if not 0 < dst_port < 65536:
            raise ValueError(f"dst_port must be 1-65535, got {dst_port}")
        self.vni = vni
        self.src_pa = src
        self.dst_pa = dst
        self.dst_port = dst_port
        self.ip_version = sv
        self.udp_checksum = udp_checksum or sv == 6
        eth = Ethernet(_mac(dst_mac), _mac(src_mac), ETH_P_IPV4 if sv == 4 else ETH_P_IPV6)
        vx = VXLANHeader(vni).pack()
        self._tail = vx
        # UDP checksum = ~(pseudo header + UDP header + VXLAN + inner); the UDP length is
        # counted twice (pseudo header and UDP header) and added per packet.
        self._udp_sum = pseudo_header_sum(sv, src, dst, IPPROTO_UDP, 0) + dst_port + ones_sum(vx)
        if sv == 4:
            ip = IPv4(
                src, dst, IPPROTO_UDP, ttl=ttl, tos=tos, ident=ident,
                flags=IPv4.FLAG_DF if df else 0,
            ).pack(payload_length=0)
            self._ip_sum = ones_sum(ip[:2] + ip[4:10] + ip[12:20])
            self._prefix = eth.pack() + ip[:2]
            self._mid = ip[4:10]
            self._addrs = ip[12:20]
        else:
            ip6 = IPv6(
                src, dst, IPPROTO_UDP, hop_limit=ttl, traffic_class=tos, flow_label=flow_label
            ).pack(payload_length=0)
            self._ip_sum = 0
            self._prefix = eth.pack() + ip6[:4]
            self._mid = ip6[6:40]
            self._addrs = b""

    @property
    def overhead(self) -> int:
        return OUTER_IPV4_LENGTH if self.ip_version == 4 else OUTER_IPV6_LENGTH

    def encapsulate(self, inner: bytes, src_port: int | None = None) -> bytes:
        sport = inner_flow_hash(inner) if src_port is None else src_port
        udp_len = len(inner) + 16
        ucs = 0
        if self.udp_checksum:
            ucs = ~fold(self._udp_sum + sport + 2 * udp_len + ones_sum(inner)) & 0xFFFF or 0xFFFF
        if self.ip_version == 4:
            total = udp_len + 20
            s = self._ip_sum + total
            s = (s & 0xFFFF) + (s >> 16)
            s = (s & 0xFFFF) + (s >> 16)
            return self._V4.pack(
                self._prefix, total, self._mid, ~s & 0xFFFF, self._addrs,
                sport, self.dst_port, udp_len, ucs, self._tail,
            ) + inner
        return self._V6.pack(
            self._prefix, udp_len, self._mid, sport, self.dst_port, udp_len, ucs, self._tail
        ) + inner


def encapsulate(
    inner: bytes,
    *,
    vni: int,
    src_pa: Address,
    dst_pa: Address,
    src_mac: Mac,
    dst_mac: Mac,
    dst_port: int = VXLAN_PORT,
    udp_checksum: bool = False,
    src_port: int | None = None,
    ttl: int = DEFAULT_TTL,
    df: bool = True,
    tos: int = 0,
    ident: int = 0,
    ipv6: bool | None = None,
) -> bytes:
    """Wrap the Ethernet frame `inner` in outer Ethernet / IP / UDP / VXLAN.

    PAs are text ('10.77.0.2', 'fd00::2') or int (IPv6 when above 32 bits or ipv6=True);
    MACs are 6 bytes or text. `src_port` defaults to `inner_flow_hash(inner)`. For many
    packets on one tunnel build an `EncapTemplate` once instead.
    """
    template = EncapTemplate(
        vni=vni, src_pa=src_pa, dst_pa=dst_pa, src_mac=src_mac, dst_mac=dst_mac,
        dst_port=dst_port, udp_checksum=udp_checksum, ttl=ttl, df=df, tos=tos, ident=ident,
        ipv6=ipv6,
    )
    return template.encapsulate(inner, src_port)


class Decapsulated(NamedTuple):
    """What `decapsulate` found: the VNI, the inner frame and the outer addressing.
    An immutable NamedTuple (built once per packet, so cheap construction matters); the
    outer MACs are properties sliced from `outer`, the whole frame as received."""

    vni: int
    inner: bytes
    src_pa: int
    dst_pa: int
    src_port: int
    dst_port: int
    ip_version: int
    flags: int
    outer: bytes

    @property
    def src_mac(self) -> bytes:
        return self.outer[6:12]

    @property
    def dst_mac(self) -> bytes:
        return self.outer[0:6]


_HHHH = struct.Struct("!HHHH")
_II = struct.Struct("!II")
_V4 = struct.Struct("!BxHxxHxBxxII")
_V6 = struct.Struct("!4xHBx16s16s")
_IP20 = struct.Struct("!10H")
# Fast paths (literals instead of named constants there: they run once per packet).
# Outer: ethertype + version/IHL + TOS, total length, ident, flags/fragment + TTL +
# protocol, header checksum, addresses, UDP ports, length, checksum, VXLAN words.
_fast_unpack = struct.Struct("!IHHIHIIHHHHII").unpack_from
# The same, then the inner frame: MACs skipped, ethertype, version/IHL, flags/fragment
# offset, protocol, addresses, ports (an untagged inner IPv4 header without options).
_fast_key_unpack = struct.Struct("!IHHIHIIHHHHII12xHB5xHxB2xIIHH").unpack_from
_tuple_new = tuple.__new__


def decapsulate(
    frame: bytes,
    *,
    dst_port: int = VXLAN_PORT,
    expected_vni: int | None = None,
    verify_checksums: bool = True,
) -> Decapsulated:
    """Check an outer Ethernet / IPv4 or IPv6 / UDP / VXLAN frame and strip it.

    Refuses (DecapError, `reason` says why): a non-IP ethertype, an IP fragment, a
    protocol other than UDP, a UDP destination port other than `dst_port`, lengths that do
    not fit, a bad IPv4 header checksum or a bad non-zero UDP checksum (zero is accepted
    over IPv4 only, as RFC 7348 and Linux do), a VXLAN header without the I flag, a VNI
    other than `expected_vni` (when given), an inner frame shorter than 14 bytes.
    Reserved VXLAN bits are ignored, as RFC 7348 requires. Outer IPv6 extension headers
    are not supported (refused as "not UDP").
    """
    try:
        ethv, total, ident, ffp, csum, src, dst, sport, dport, ulen, ucs, vx0, vx1 = (
            _fast_unpack(frame, 12)
        )
    except struct.error:
        ethv = -1  # too short for the fast path: the general path below says why
    if (
        ethv >> 8 == 0x080045  # ethertype IPv4, version 4, IHL 5
        and ffp & 0x3FFF00FF == 17  # not a fragment, protocol UDP
        and dport == dst_port and ucs == 0 and vx0 & 0x08000000
        and 30 <= ulen == total - 20 <= len(frame) - 34
        and (expected_vni is None or vx1 >> 8 == expected_vni)
        # The header's one's-complement sum is 0xFFFF (valid) iff the plain sum of its
        # even-aligned big-endian chunks is a non-zero multiple of 0xFFFF (2**16 == 1 mod
        # 0xFFFF); `ethv` carries the ethertype in its top half, hence the subtraction.
        and (
            not verify_checksums
            or (ethv - 0x08000000 + total + ident + ffp + csum + src + dst) % 0xFFFF == 0
        )
    ):
        # Fast path: untagged IPv4 without options, zero UDP checksum, valid VXLAN header.
        return _tuple_new(
            Decapsulated, (vx1 >> 8, frame[50 : 34 + ulen], src, dst, sport, dport, 4, vx0 >> 24,
                           frame)
        )
    return _decapsulate(frame, dst_port, expected_vni, verify_checksums)


def decapsulate_with_key(
    frame: bytes,
    *,
    dst_port: int = VXLAN_PORT,
    expected_vni: int | None = None,
    verify_checksums: bool = True,
) -> tuple[Decapsulated, FlowKey | None]:
    """`decapsulate(frame, ...)` and `flow_key(inner)` in one call, with the same checks
    and refusals. For the common frame (untagged outer IPv4 without options and zero UDP
    checksum around untagged inner IPv4 TCP/UDP without options) one struct call reads
    the outer headers and the inner 5-tuple; any other frame takes the two-call path."""
    try:
        (ethv, total, ident, ffp, csum, src, dst, sport, dport, ulen, ucs, vx0, vx1,
         iet, ivihl, iff, iproto, isrc, idst, isport, idport) = _fast_key_unpack(frame, 12)
    except struct.error:
        ethv = -1
    if (
        ethv >> 8 == 0x080045 and ffp & 0x3FFF00FF == 17
        and dport == dst_port and ucs == 0 and vx0 & 0x08000000
        and 54 <= ulen == total - 20 <= len(frame) - 34
        and (expected_vni is None or vx1 >> 8 == expected_vni)
        and (
            not verify_checksums
            or (ethv - 0x08000000 + total + ident + ffp + csum + src + dst) % 0xFFFF == 0
        )
        and iet == 0x0800 and ivihl == 0x45 and not iff & 0x3FFF and iproto in (6, 17)
    ):
        return (
            _tuple_new(Decapsulated, (vx1 >> 8, frame[50 : 34 + ulen], src, dst, sport, dport,
                                      4, vx0 >> 24, frame)),
            _tuple_new(FlowKey, (isrc, idst, iproto, isport, idport)),
        )
    d = decapsulate(frame, dst_port=dst_port, expected_vni=expected_vni,
                    verify_checksums=verify_checksums)
    return d, flow_key(d.inner)


def _decapsulate(
    frame: bytes, dst_port: int, expected_vni: int | None, verify_checksums: bool
) -> Decapsulated:
    try:
        et = frame[12] << 8 | frame[13]
        off = 14
        if et == ETH_P_8021Q:
            et = frame[16] << 8 | frame[17]
            off = 18
        if et == ETH_P_IPV4:
            vihl, total, ff, proto, src, dst = _V4.unpack_from(frame, off)
            if vihl >> 4 != 4 or vihl & 15 < 5:
                raise DecapError("IPv4", off, "bad version or header length")
            if proto != IPPROTO_UDP:
                raise DecapError("IPv4", off, f"not UDP (protocol {proto})")
            if ff & 0x3FFF:
                raise DecapError("IPv4", off, "IP fragment (VXLAN is never reassembled here)")
            ihl = (vihl & 15) * 4
            end = off + total
            if total < ihl or end > len(frame):
                raise DecapError("IPv4", off, f"total length {total} does not fit the frame")
            if verify_checksums:
                if ihl == 20:
                    total_sum = sum(_IP20.unpack_from(frame, off))
                    total_sum = (total_sum & 0xFFFF) + (total_sum >> 16)
                    bad = ((total_sum & 0xFFFF) + (total_sum >> 16)) != 0xFFFF
                else:
                    bad = checksum(frame[off : off + ihl]) != 0
                if bad:
                    raise DecapError("IPv4", off, "bad IPv4 header checksum")
            u = off + ihl
            version = 4
        elif et == ETH_P_IPV6:
            if frame[off] >> 4 != 6:
                raise DecapError("IPv6", off, "bad version")
            plen, proto, s6, d6 = _V6.unpack_from(frame, off)
            if proto != IPPROTO_UDP:
                raise DecapError("IPv6", off, f"not UDP (next header {proto})")
            end = off + 40 + plen
            if end > len(frame):
                raise DecapError("IPv6", off, f"payload length {plen} does not fit the frame")
            src, dst = int.from_bytes(s6, "big"), int.from_bytes(d6, "big")
            u = off + 40
            version = 6
        else:
            raise DecapError("Ethernet", 0, f"ethertype 0x{et:04x} is not IPv4 or IPv6")
        sport, dport, ulen, ucs = _HHHH.unpack_from(frame, u)
        if dport != dst_port:
            raise DecapError("UDP", u, f"destination port {dport} is not {dst_port}")
        if ulen < 16 or u + ulen > end:
            raise DecapError("UDP", u, f"length {ulen} does not fit a VXLAN datagram")
        if ucs == 0 and version == 6:
            raise DecapError("UDP", u, "zero UDP checksum over IPv6")
        if ucs and verify_checksums:
            pseudo = pseudo_header_sum(version, src, dst, IPPROTO_UDP, ulen)
            if checksum(frame[u : u + ulen], pseudo):
                raise DecapError("UDP", u, "bad UDP checksum")
        w0, w1 = _II.unpack_from(frame, u + 8)
        if not w0 & 0x08000000:
            raise DecapError("VXLAN", u + 8, f"I flag not set (flags 0x{w0 >> 24:02x})")
        vni = w1 >> 8
        if expected_vni is not None and vni != expected_vni:
            raise DecapError("VXLAN", u + 8, f"VNI {vni} is not the expected {expected_vni}")
        if ulen < 30:
            raise DecapError("VXLAN", u + 16, "inner frame shorter than an Ethernet header")
        return Decapsulated(
            vni, frame[u + 16 : u + ulen], src, dst, sport, dport, version, w0 >> 24, frame
        )
    except (IndexError, struct.error) as exc:
        raise DecapError("VXLAN", 0, f"truncated frame ({len(frame)} bytes)") from exc
