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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from vfp.actions import Transposition
from vfp.errors import DropReason
from vfp.packet import (
    TCP,
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    UDP,
    Outer,
    Packet,
    fold,
    ones_sum,
    outer_header,
)

if TYPE_CHECKING:
    from vfp.model import Layer, Rule

FlowKey = tuple[str, int, int, int, int, int]  # direction, proto, src, sport, dst, dport


def layer_key(direction: str, p: Packet) -> FlowKey:
    return (direction, p.proto, p.src_ip, p.sport, p.dst_ip, p.dport)


def reply_key(direction: str, p: Packet) -> FlowKey:
    other = "IN" if direction == "OUT" else "OUT"
    return (other, p.proto, p.dst_ip, p.dport, p.src_ip, p.sport)


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
class LayerFlow:
    """One direction of a connection in one stateful layer."""

    layer: Layer
    key: FlowKey
    rule: Rule
    transposition: Transposition
    initiator: bool
    origin: Packet  # the packet (as the layer saw it) that created the pair
    origin_direction: str
    ttl: float
    expires: float
    generation: int
    tcp: TcpConn | None = None
    peer: LayerFlow | None = None
    packets: int = 0
    octets: int = 0
    idle: float = 0.0

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


# ---------------------------------------------------------------------------------------
# Unified flow table


def fast_key(f: bytes, vxlan_port: bytes) -> bytes | None:
    """The exact flow key of a raw frame, or None when the fast path does not serve it."""
    n = len(f)
    if n < 34 or f[12] != 8 or f[13] or f[14] != 0x45 or f[20] & 0x3F or f[21]:
        return None
    if f[23] == UDP and n >= 84 and f[36:38] == vxlan_port:
        if (f[16] << 8 | f[17]) + 14 != n:
            return None  # trailing bytes after the outer datagram: slow path
        inner = _inner_key(f, 50, n)
        if inner is None:
            return None
        return f[26:34] + f[46:49] + inner
    return _inner_key(f, 0, n)


def _inner_key(f: bytes, o: int, n: int) -> bytes | None:
    if n < o + 34 or f[o + 12] != 8 or f[o + 13] or f[o + 14] != 0x45:
        return None
    if f[o + 20] & 0x3F or f[o + 21]:
        return None
    proto = f[o + 23]
    if proto == TCP:
        if n < o + 54 or f[o + 47] & 7:
            return None
        return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 38]
    if proto == UDP:
        return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 38]
    return f[o : o + 14] + f[o + 23 : o + 24] + f[o + 26 : o + 34]


_OUTER = struct.Struct("!16sH6sH12sH10s")


@dataclass(slots=True, eq=False)
class UftEntry:
    """A cached composed transposition for one flow key on one port and direction."""

    generation: int
    expires: float
    idle_ttl: float
    allowed: bool
    reason: DropReason | None
    transposition: Transposition  # composed, for listings and traces
    counters: list[list[int]]  # [packets, bytes] cells to bump on every hit
    flows: tuple[LayerFlow, ...]
    summary: str
    decap: bool = False
    macs: bytes | None = None
    ip_bytes: bytes | None = None
    ports: bytes | None = None
    ip_delta: int = 0
    l4_delta: int = 0
    l4_csum_at: int = 0  # offset of the L4 checksum in the inner frame, 0 = none
    udp: bool = False
    push: tuple[bytes, int, bytes, bytes, bytes] | None = None  # pre, base, mid, addrs, tail
    packets: int = 0
    octets: int = 0

    def apply(self, frame: bytes) -> bytes:
        """Output bytes for an input frame of this flow (the fast path)."""
        f = frame[50:] if self.decap else frame
        if self.macs is not None or self.ip_bytes is not None or self.ports is not None:
            b = bytearray(f)
            if self.macs is not None:
                b[0:12] = self.macs
            if self.ip_bytes is not None:
                b[26:34] = self.ip_bytes
                c = ~fold((~((b[24] << 8) | b[25]) & 0xFFFF) + self.ip_delta) & 0xFFFF
                b[24] = c >> 8
                b[25] = c & 0xFF
            if self.ports is not None:
                b[34:38] = self.ports
            at = self.l4_csum_at
            if at and (b[at] or b[at + 1] or not self.udp):
                c = ~fold((~((b[at] << 8) | b[at + 1]) & 0xFFFF) + self.l4_delta) & 0xFFFF
                if self.udp and c == 0:
                    c = 0xFFFF
                b[at] = c >> 8
                b[at + 1] = c & 0xFF
            f = bytes(b)
        push = self.push
        if push is None:
            return f
        pre, base, mid, addrs, tail = push
        n = len(f)
        total = n + 36
        s = base + total
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return _OUTER.pack(pre, total, mid, ~s & 0xFFFF, addrs, n + 16, tail) + f


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
    transposition: Transposition,
    counters: list[list[int]],
    flows: tuple[LayerFlow, ...],
    summary: str,
) -> UftEntry | None:
    """Compile the net change from `before` to `after` into byte patches, or None when
    the fast path cannot express it (then the flow always takes the slow path)."""
    if before.version != 4 or after.version != 4 or before.fragment:
        return None
    entry = UftEntry(generation, now + idle_ttl, idle_ttl, True, None, transposition,
                     counters, flows, summary)
    if before.outer is not None:
        if after.outer is not None:
            return None  # transit with the outer kept: served by the slow path only
        entry.decap = True
    if (before.src_mac, before.dst_mac) != (after.src_mac, after.dst_mac):
        entry.macs = after.dst_mac.to_bytes(6, "big") + after.src_mac.to_bytes(6, "big")
    old_ip = before.src_ip.to_bytes(4, "big") + before.dst_ip.to_bytes(4, "big")
    new_ip = after.src_ip.to_bytes(4, "big") + after.dst_ip.to_bytes(4, "big")
    l4_delta = 0
    if old_ip != new_ip:
        entry.ip_bytes = new_ip
        entry.ip_delta = _delta(old_ip, new_ip)
        l4_delta = entry.ip_delta
    if before.proto in (TCP, UDP):
        old_ports = struct.pack("!HH", before.sport, before.dport)
        new_ports = struct.pack("!HH", after.sport, after.dport)
        if old_ports != new_ports:
            entry.ports = new_ports
            l4_delta = fold(l4_delta + _delta(old_ports, new_ports))
        if entry.ip_bytes is not None or entry.ports is not None:
            entry.l4_csum_at = 34 + (16 if before.proto == TCP else 6)
            entry.udp = before.proto == UDP
            entry.l4_delta = l4_delta
    if after.outer is not None:
        entry.push = _template(after.outer)
    return entry


def _template(o: Outer) -> tuple[bytes, int, bytes, bytes, bytes]:
    hdr = outer_header(o, 0)
    pre, mid, addrs, tail = hdr[0:16], hdr[18:24], hdr[26:38], hdr[40:50]
    zeroed = hdr[14:16] + b"\x00\x00" + hdr[18:24] + b"\x00\x00" + hdr[26:34]
    return pre, ones_sum(zeroed), mid, addrs, tail


def drop_entry(
    generation: int, now: float, idle_ttl: float, reason: DropReason,
    counters: list[list[int]], summary: str,
) -> UftEntry:
    return UftEntry(generation, now + idle_ttl, idle_ttl, False, reason, Transposition(),
                    counters, (), summary)
