"""Flow state: layer flows (with TCP tracking) and unified-flow-table entries.

Glossary
--------
LayerFlow   one direction of a connection in one stateful layer: the transposition that
            layer applies to packets of this direction, the rule that created it, an
            expiry time, the port generation it was last validated at, and its peer (the
            other direction). Created in pairs by stateful rules.
TcpConn     the TCP state machine a pair shares when the rule tracks TCP (flag 8):
            SYN_SENT -> SYN_RCVD -> ESTABLISHED -> FIN_WAIT -> TIME_WAIT, or CLOSED on RST.
            The state picks the idle TTL (half-open, established = rule TTL, TIME_WAIT).
UftEntry    a unified flow: the composed transposition of every layer for one exact flow
            key, compiled to byte patches so that a hit never parses the packet.

`fast_key` reads the flow key straight from raw bytes (slices, no unpacking: the cheapest
key in CPython, see packets.md section 1). It returns None for anything the fast path does
not serve (non-IPv4, IP options, fragments, TCP SYN/FIN/RST), which then always takes the
slow path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from vfp.actions import Transposition
from vfp.errors import DropReason
from vxlan import (
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    EncapTemplate,
    Outer,
    Packet,
    encap_template,
)
from vxlan.checksum import fold, ones_sum

# The layer and rule types (vfp.model.Layer, vfp.model.Rule) are type parameters, not
# imports: the model holds the flows, so importing it here would make an import circle.
L = TypeVar("L")
R = TypeVar("R")

FlowKey = bytes  # direction, proto, ports, addresses packed (cheap to hash, small to keep)
_LKEY = struct.Struct("!cBHH")


def layer_key(direction: str, p: Packet) -> FlowKey:
    w = 4 if p.version == 4 else 16
    return (_LKEY.pack(direction[0].encode(), p.proto, p.sport, p.dport)
            + p.src_ip.to_bytes(w, "big") + p.dst_ip.to_bytes(w, "big"))


def reply_key(direction: str, p: Packet) -> FlowKey:
    other = b"I" if direction == "OUT" else b"O"
    w = 4 if p.version == 4 else 16
    return (_LKEY.pack(other, p.proto, p.dport, p.sport)
            + p.dst_ip.to_bytes(w, "big") + p.src_ip.to_bytes(w, "big"))


class TcpState(StrEnum):
    SYN_SENT = "SYN_SENT"
    SYN_RCVD = "SYN_RCVD"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT = "FIN_WAIT"
    TIME_WAIT = "TIME_WAIT"
    CLOSED = "CLOSED"


@dataclass(slots=True, eq=False)
class TcpConn:
    """TCP tracking shared by both directions of a flow pair."""

    state: TcpState = TcpState.SYN_SENT
    fin_from: set[str] = field(default_factory=set)

    def update(self, flags: int, initiator: bool) -> None:
        side = "initiator" if initiator else "responder"
        if flags & TCP_RST:
            self.state = TcpState.CLOSED
        elif flags & TCP_FIN:
            self.fin_from.add(side)
            self.state = TcpState.TIME_WAIT if len(self.fin_from) == 2 else TcpState.FIN_WAIT
        elif flags & TCP_SYN:
            if not initiator and flags & TCP_ACK and self.state == TcpState.SYN_SENT:
                self.state = TcpState.SYN_RCVD
        elif (
            flags & TCP_ACK
            and self.state in (TcpState.SYN_SENT, TcpState.SYN_RCVD)
            and (initiator or self.state == TcpState.SYN_RCVD)
        ):
            # Pickup of a mid-stream connection (no SYN seen) is allowed as established.
            self.state = TcpState.ESTABLISHED


@dataclass(slots=True, eq=False)
class LayerFlow(Generic[L, R]):
    """One direction of a connection in one stateful layer (`L`) created by a rule (`R`)."""

    layer: L
    key: FlowKey
    rule: R
    transposition: Transposition
    initiator: bool
    origin: bytes  # header fields of the packet that created the pair (pack_origin)
    origin_direction: str
    ttl: float
    expires: float
    generation: int
    tcp: TcpConn | None = None
    peer: LayerFlow[L, R] | None = None
    idle: float = 0.0
    #: (direction, key) of the unified entries built on this flow: they end with it
    cached: list[tuple[str, bytes]] | None = None

    def idle_ttl(self, half_open: float, time_wait: float) -> float:
        if self.tcp is None:
            return self.ttl
        s = self.tcp.state
        if s in (TcpState.SYN_SENT, TcpState.SYN_RCVD):
            return min(self.ttl, half_open) if self.ttl else half_open
        if s in (TcpState.TIME_WAIT, TcpState.CLOSED):
            return min(self.ttl, time_wait) if self.ttl else time_wait
        return self.ttl

    def touch(self, now: float, half_open: float, time_wait: float) -> None:
        self.idle = self.idle_ttl(half_open, time_wait)
        self.expires = now + self.idle
        if self.peer is not None:
            self.peer.idle = self.idle
            self.peer.expires = self.expires

    def refresh(self, now: float) -> None:
        """Fast-path refresh: the TCP state (hence the idle TTL) cannot change there."""
        self.expires = now + self.idle
        if self.peer is not None:
            self.peer.expires = self.expires


_ORIGIN = struct.Struct("!BBHHBi6s6s")


def pack_origin(p: Packet) -> bytes:
    """The header fields re-validation needs, packed small (flows live long)."""
    w = 4 if p.version == 4 else 16
    return (_ORIGIN.pack(p.version, p.proto, p.sport, p.dport, p.tcp_flags,
                         -1 if p.vni is None else p.vni, p.src_mac.to_bytes(6, "big"),
                         p.dst_mac.to_bytes(6, "big"))
            + p.src_ip.to_bytes(w, "big") + p.dst_ip.to_bytes(w, "big"))


def unpack_origin(raw: bytes) -> Packet:
    version, proto, sport, dport, flags, vni, smac, dmac = _ORIGIN.unpack_from(raw)
    w = 4 if version == 4 else 16
    at = _ORIGIN.size
    return Packet(
        None, int.from_bytes(smac, "big"), int.from_bytes(dmac, "big"),
        0x0800 if version == 4 else 0x86DD, version,
        int.from_bytes(raw[at : at + w], "big"), int.from_bytes(raw[at + w : at + 2 * w], "big"),
        proto, sport, dport, flags, vni=None if vni < 0 else vni,
    )


# ---------------------------------------------------------------------------------------
# Unified flow table


_V4 = b"\x08\x00\x45"


def fast_key(f: bytes, vxlan_port: bytes) -> bytes | None:
    """The exact flow key of a raw frame, or None when the fast path does not serve it."""
    n = len(f)
    if n < 34 or f[12:15] != _V4 or f[20] & 0x3F or f[21]:
        return None
    proto = f[23]
    if proto == IPPROTO_TCP:
        if n < 54 or f[47] & 7:
            return None
        return f[:14] + f[23:24] + f[26:38]
    if proto == IPPROTO_UDP:
        if f[36:38] == vxlan_port and n >= 84:
            if (f[16] << 8 | f[17]) + 14 != n:
                return None  # trailing bytes after the outer datagram: slow path
            inner = _inner_key(f, 50, n)
            if inner is None:
                return None
            return f[26:34] + f[46:49] + inner
        return f[:14] + f[23:24] + f[26:38]
    return f[:14] + f[23:24] + f[26:34]


def _inner_key(f: bytes, o: int, n: int) -> bytes | None:
    if n < o + 34 or f[o + 12] != 8 or f[o + 13] or f[o + 14] != 0x45:
        return None
    if f[o + 20] & 0x3F or f[o + 21]:
        return None
    proto = f[o + 23]
    if proto == IPPROTO_TCP:
        if n < o + 54 or f[o + 47] & 7:
            return None
        return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 38]
    if proto == IPPROTO_UDP:
        return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 38]
    return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 34]


@dataclass(frozen=True, slots=True)
class Patch:
    """The byte patches of a composed transposition; shared by every flow that needs the
    same ones (interned), so a cached flow costs little more than its entry."""

    decap: bool = False
    macs: bytes | None = None  # new dst MAC + src MAC (frame bytes 0..12)
    mac_only: bool = False
    ip_bytes: bytes | None = None  # new src IP + dst IP
    ports: bytes | None = None  # new src port + dst port
    ip_delta: int = 0
    l4_delta: int = 0
    l4_csum_at: int = 0  # offset of the L4 checksum in the inner frame, 0 = none
    udp: bool = False
    push: Outer | None = None  # the outer headers pushed (source port 0: it is per flow)
    encap: EncapTemplate | None = None  # push's template (vxlan.packet.encap_template)


_PATCHES: dict[Patch, Patch] = {}
NO_PATCH = Patch()


def intern_patch(p: Patch) -> Patch:
    got = _PATCHES.get(p)
    if got is None:
        if len(_PATCHES) > 65536:
            _PATCHES.clear()
        _PATCHES[p] = got = p
    return got


@dataclass(slots=True, eq=False)
class UftEntry:
    """A cached composed transposition for one flow key on one port and direction."""

    key: bytes
    generation: int
    expires: float
    idle_ttl: float
    allowed: bool
    reason: DropReason | None
    counters: tuple[list[int], ...]  # [packets, bytes] cells this flow's hits count towards
    flows: tuple[LayerFlow[Any, Any], ...]
    patch: Patch = NO_PATCH
    sport: int = 0  # outer UDP source port when pushing
    packets: int = 0
    octets: int = 0
    folded: int = 0  # packets already added to the counter cells
    folded_octets: int = 0

    def fold(self) -> None:
        """Add the hits since the last fold to the rule/layer/port counter cells."""
        dp, do = self.packets - self.folded, self.octets - self.folded_octets
        if dp:
            for c in self.counters:
                c[0] += dp
                c[1] += do
            self.folded, self.folded_octets = self.packets, self.octets

    def _before(self) -> tuple[bytes, dict[str, int]]:
        k = self.key
        inner = k[11:] if len(k) in (38, 34) else k
        ports = len(inner) > 23
        return inner, {
            "dst_mac": int.from_bytes(inner[0:6], "big"),
            "src_mac": int.from_bytes(inner[6:12], "big"),
            "src_ip": int.from_bytes(inner[15:19], "big"),
            "dst_ip": int.from_bytes(inner[19:23], "big"),
            "sport": int.from_bytes(inner[23:25], "big") if ports else 0,
            "dport": int.from_bytes(inner[25:27], "big") if ports else 0,
        }

    @property
    def transposition(self) -> Transposition:
        """The composed transposition, read back from the patches (for listings)."""
        p = self.patch
        _, before = self._before()
        after = dict(before)
        if p.macs is not None:
            after["dst_mac"] = int.from_bytes(p.macs[0:6], "big")
            after["src_mac"] = int.from_bytes(p.macs[6:12], "big")
        if p.ip_bytes is not None:
            after["src_ip"] = int.from_bytes(p.ip_bytes[0:4], "big")
            after["dst_ip"] = int.from_bytes(p.ip_bytes[4:8], "big")
        if p.ports is not None:
            after["sport"] = int.from_bytes(p.ports[0:2], "big")
            after["dport"] = int.from_bytes(p.ports[2:4], "big")
        order = ("src_mac", "dst_mac", "src_ip", "dst_ip", "sport", "dport")
        modify = tuple((f, after[f]) for f in order if after[f] != before[f])
        push = None if p.push is None else replace(p.push, sport=self.sport)
        return Transposition(pop_outer=p.decap, modify=modify, push_outer=push)

    @property
    def summary(self) -> str:
        """`proto src sport dst dport -> <after>` read back from the key and patches."""
        inner, before = self._before()
        proto = inner[14]
        after = {**before, **dict(self.transposition.modify)}

        def tup(d: dict[str, int]) -> str:
            return (f"{proto} {_ip(d['src_ip'])} {d['sport']} {_ip(d['dst_ip'])} "
                    f"{d['dport']}")

        return tup(before) + (f" -> {tup(after)}" if self.allowed else " -> drop")

    def apply(self, frame: bytes) -> bytes:
        """Output bytes for an input frame of this flow (the fast path)."""
        p = self.patch
        f = frame[50:] if p.decap else frame
        if p.mac_only:
            f = p.macs + f[12:]  # type: ignore[operator]
        elif p.macs is not None or p.ip_bytes is not None or p.ports is not None:
            b = bytearray(f)
            if p.macs is not None:
                b[0:12] = p.macs
            if p.ip_bytes is not None:
                b[26:34] = p.ip_bytes
                c = ~fold((~((b[24] << 8) | b[25]) & 0xFFFF) + p.ip_delta) & 0xFFFF
                b[24] = c >> 8
                b[25] = c & 0xFF
            if p.ports is not None:
                b[34:38] = p.ports
            at = p.l4_csum_at
            if at and (b[at] or b[at + 1] or not p.udp):
                c = ~fold((~((b[at] << 8) | b[at + 1]) & 0xFFFF) + p.l4_delta) & 0xFFFF
                if p.udp and c == 0:
                    c = 0xFFFF
                b[at] = c >> 8
                b[at + 1] = c & 0xFF
            f = bytes(b)
        if p.encap is None:
            return f
        return p.encap.encapsulate(f, self.sport)


def _ip(value: int) -> str:
    return ".".join(str(b) for b in value.to_bytes(4, "big"))


def _delta(old: bytes, new: bytes) -> int:
    """Sum of (~m + m') over the 16-bit words of two equal-length byte strings."""
    return fold((0xFFFF * (len(old) // 2) - ones_sum(old)) + ones_sum(new))


def compile_entry(
    before: Packet,
    after: Packet,
    *,
    generation: int,
    now: float,
    idle_ttl: float,
    counters: tuple[list[int], ...],
    flows: tuple[LayerFlow[Any, Any], ...],
    key: bytes,
) -> UftEntry | None:
    """Compile the net change from `before` to `after` into byte patches, or None when
    the fast path cannot express it (then the flow always takes the slow path)."""
    if before.version != 4 or after.version != 4 or before.fragment:
        return None
    decap = False
    if before.outer is not None:
        if after.outer is not None:
            return None  # transit with the outer kept: served by the slow path only
        decap = True
    macs = None
    if (before.src_mac, before.dst_mac) != (after.src_mac, after.dst_mac):
        macs = after.dst_mac.to_bytes(6, "big") + after.src_mac.to_bytes(6, "big")
    old_ip = before.src_ip.to_bytes(4, "big") + before.dst_ip.to_bytes(4, "big")
    new_ip = after.src_ip.to_bytes(4, "big") + after.dst_ip.to_bytes(4, "big")
    ip_bytes = ports = None
    ip_delta = l4_delta = l4_at = 0
    if old_ip != new_ip:
        ip_bytes = new_ip
        ip_delta = l4_delta = _delta(old_ip, new_ip)
    if before.proto in (IPPROTO_TCP, IPPROTO_UDP):
        old_ports = struct.pack("!HH", before.sport, before.dport)
        new_ports = struct.pack("!HH", after.sport, after.dport)
        if old_ports != new_ports:
            ports = new_ports
            l4_delta = fold(l4_delta + _delta(old_ports, new_ports))
        if ip_bytes is not None or ports is not None:
            l4_at = 34 + (16 if before.proto == IPPROTO_TCP else 6)
    if l4_at == 0:
        l4_delta = 0
    patch = intern_patch(Patch(
        decap=decap, macs=macs, mac_only=macs is not None and ip_bytes is None and ports is None,
        ip_bytes=ip_bytes, ports=ports, ip_delta=ip_delta, l4_delta=l4_delta, l4_csum_at=l4_at,
        udp=before.proto == IPPROTO_UDP and l4_at != 0,
        push=None if after.outer is None else replace(after.outer, sport=0),
        encap=None if after.outer is None else encap_template(after.outer),
    ))
    sport = 0 if after.outer is None else after.outer.sport
    return UftEntry(key, generation, now + idle_ttl, idle_ttl, True, None, counters, flows,
                    patch, sport)


def drop_entry(
    key: bytes, generation: int, now: float, idle_ttl: float, reason: DropReason,
    counters: tuple[list[int], ...],
) -> UftEntry:
    return UftEntry(key, generation, now + idle_ttl, idle_ttl, False, reason, counters, ())
