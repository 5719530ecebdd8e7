"""Rule actions, each expressed as a header transposition.

Glossary
--------
Transposition  what happens to each header of a packet: the outer VXLAN header set is
               popped, pushed (all fields given) or ignored; inner fields (MACs, IPs, L4
               ports) are modified or ignored. The same four verbs as VFP and OPTE.
Decision       an action's answer for one packet: allow or drop (with a reason), plus the
               transposition to apply when allowed.
Action         a rule's action type, named as vfpctrl prints it (`allow`, `block`, `nat`,
               `dynnat`, `lbnat`, `routeencap`, `mapencap`, `decap`, `macrewrite`).

Actions are pure functions of the packet and of the port's tables (mapping spaces, NAT
pools) reached through `ActionContext`; for a given flow they always give the same
transposition, which is what lets the unified flow table cache their composition.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Protocol

from vfp.addr import format_ip, format_mac
from vfp.errors import DropReason, InvalidRule
from vxlan import VXLAN_PORT, Outer, Packet

MODIFIABLE = ("src_mac", "dst_mac", "src_ip", "dst_ip", "sport", "dport")
_MIRROR = {
    "src_mac": "dst_mac", "dst_mac": "src_mac", "src_ip": "dst_ip", "dst_ip": "src_ip",
    "sport": "dport", "dport": "sport",
}
_LABEL = {
    "src_mac": "Source MAC", "dst_mac": "Destination MAC", "src_ip": "Source IP",
    "dst_ip": "Destination IP", "sport": "Source port", "dport": "Destination port",
}


@dataclass(frozen=True, slots=True)
class Transposition:
    """Pop outer, then modify inner fields, then push outer (each optional)."""

    pop_outer: bool = False
    modify: tuple[tuple[str, int], ...] = ()
    push_outer: Outer | None = None
    #: Subtract this from the MSS option of TCP SYN / SYN-ACK segments (an encap rule's
    #: "MSS delta"). SYN segments always take the slow path, so the flow patches of the
    #: fast path never need it.
    mss_delta: int = 0

    @property
    def is_identity(self) -> bool:
        return not self.pop_outer and not self.modify and self.push_outer is None \
            and not self.mss_delta

    def apply(self, p: Packet) -> Packet:
        changes: dict[str, object] = dict(self.modify)
        if self.pop_outer:
            changes["outer"] = None
        if self.push_outer is not None:
            changes["outer"] = self.push_outer
            changes["vni"] = self.push_outer.vni
        if self.mss_delta and p.proto == 6 and p.tcp_flags & 0x02:
            clamped = clamp_mss(p.l4, self.mss_delta)
            if clamped is not p.l4:
                changes["l4"] = clamped
        return replace(p, **changes) if changes else p  # type: ignore[arg-type]

    def reverse(self, before: Packet) -> Transposition:
        """The transposition a reply needs, given the packet this one was applied to."""
        if self.is_identity:
            return self
        modify = tuple((_MIRROR[f], getattr(before, f)) for f, _ in self.modify)
        pop = self.push_outer is not None
        push: Outer | None = None
        if self.pop_outer and before.outer is not None:
            o = before.outer
            push = Outer(src_mac=o.dst_mac, dst_mac=o.src_mac, src_ip=o.dst_ip,
                         dst_ip=o.src_ip, sport=o.sport, vni=o.vni, dport=o.dport)
        return Transposition(pop_outer=pop, modify=modify, push_outer=push)

    def describe(self, version: int = 4) -> list[str]:
        out: list[str] = []
        if self.pop_outer:
            out.append("Pop outer Ethernet/IPv4/UDP/VXLAN")
        for name, value in self.modify:
            out.append(f"Modify {_LABEL[name]} -> {_value_text(name, value, version)}")
        if self.push_outer is not None:
            o = self.push_outer
            out.append(
                f"Push outer Ethernet {format_mac(o.src_mac)} -> {format_mac(o.dst_mac)}, "
                f"IPv4 {format_ip(o.src_ip)} -> {format_ip(o.dst_ip)}, "
                f"UDP {o.sport} -> {o.dport}, VXLAN VNI {o.vni}"
            )
        return out or ["Ignore (no header change)"]

    def as_json(self) -> dict[str, object]:
        return {
            "PopOuter": self.pop_outer,
            "Modify": {name: value for name, value in self.modify},
            "PushOuter": None if self.push_outer is None else {
                "SourceMac": format_mac(self.push_outer.src_mac),
                "DestinationMac": format_mac(self.push_outer.dst_mac),
                "SourceIP": format_ip(self.push_outer.src_ip),
                "DestinationIP": format_ip(self.push_outer.dst_ip),
                "SourcePort": self.push_outer.sport,
                "DestinationPort": self.push_outer.dport,
                "VNI": self.push_outer.vni,
            },
        }


def _value_text(name: str, value: int, version: int) -> str:
    if name.endswith("mac"):
        return format_mac(value)
    if name.endswith("ip"):
        return format_ip(value, version)
    return str(value)


def clamp_mss(segment: bytes, delta: int) -> bytes:
    """A TCP segment whose MSS option is lowered by `delta` (not below 536, the IPv4
    default); the segment itself when it carries no MSS option. The checksum is left to
    serialization, which recomputes it."""
    if len(segment) < 20:
        return segment
    end = min((segment[12] >> 4) * 4, len(segment))
    i = 20
    while i < end:
        kind = segment[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or segment[i + 1] < 2:
            break
        size = segment[i + 1]
        if kind == 2 and size == 4 and i + 4 <= end:
            mss = int.from_bytes(segment[i + 2:i + 4], "big")
            new = max(mss - delta, 536) if mss > 536 else mss
            if new == mss:
                return segment
            return segment[:i + 2] + new.to_bytes(2, "big") + segment[i + 4:]
        i += size
    return segment


IDENTITY = Transposition()


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    transposition: Transposition = IDENTITY
    reason: DropReason | None = None


ALLOW = Decision(True)


class ActionContext(Protocol):
    """What actions may ask of their port."""

    @property
    def mac(self) -> int: ...

    @property
    def vxlan_port(self) -> int: ...

    def lookup_mapping(self, space: str, ca: int) -> tuple[int, int, int] | None:
        """CA -> (PA, MAC, VNI) in a mapping space, or None."""
        ...

    def allocate_snat(self, pool: str, p: Packet) -> tuple[int, int] | None:
        """An (IP, port) from a NAT pool for this flow (stable per flow), or None."""
        ...


def flow_hash(p: Packet) -> int:
    """A stable hash of the inner 5-tuple (crc32; the same on every run)."""
    raw = b"%d %d %d %d %d" % (p.proto, p.src_ip, p.sport, p.dst_ip, p.dport)
    return zlib.crc32(raw)


def vxlan_source_port(p: Packet) -> int:
    """UDP source port from a flow hash in 49152..65535 (RFC 7348 section 5)."""
    return 49152 + flow_hash(p) % 16384


class Action:
    """Base of every action; `kind` is the vfpctrl `Type` text; `keeps_flows`: the rule
    keeps flows (so replies are un-NATed) even without the stateful flag."""

    kind = "allow"
    keeps_flows = False

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        raise NotImplementedError

    def validate(self) -> None:
        """Raise InvalidRule naming the field when a value is impossible."""

    def data_lines(self) -> list[str]:
        """Extra lines vfpctrl prints after `Flow TTL:` for this action."""
        return []

    def as_json(self) -> dict[str, object]:
        return {"Type": self.kind}


@dataclass(frozen=True)
class Allow(Action):
    kind = "allow"

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return ALLOW


@dataclass(frozen=True)
class Block(Action):
    kind = "block"

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return Decision(False, reason=DropReason.RULE_BLOCK)


def _check_ip(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value < 1 << 128:
        raise InvalidRule(name, f"{value} is not an address")


def _check_port(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= 65535:
        raise InvalidRule(name, f"{value} is not within 0..65535")


def _check_mac(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value < 1 << 48:
        raise InvalidRule(name, f"{value} is not a 48-bit MAC")


def _check_vni(value: int) -> None:
    if not 0 <= value < 1 << 24:
        raise InvalidRule("VNI", f"{value} is not a 24-bit VNI")


@dataclass(frozen=True)
class Nat(Action):
    """Static NAT: rewrite the destination (DNAT, default) or source (SNAT) IP and port."""

    ip: int
    port: int | None = None
    snat: bool = False
    kind = "nat"

    def validate(self) -> None:
        _check_ip("NAT IP", self.ip)
        _check_port("NAT port", self.port)

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        f_ip, f_port = ("src_ip", "sport") if self.snat else ("dst_ip", "dport")
        mods: list[tuple[str, int]] = [(f_ip, self.ip)]
        if self.port is not None and p.proto in (6, 17):
            mods.append((f_port, self.port))
        return Decision(True, Transposition(modify=tuple(mods)))

    def data_lines(self) -> list[str]:
        kind = "Source NAT" if self.snat else "Destination NAT"
        port = "" if self.port is None else f";         Port : {self.port}"
        return [f"Type : {kind};         IP : {format_ip(self.ip)}{port}"]


@dataclass(frozen=True)
class DynNat(Action):
    """Dynamic SNAT from a NAT pool: one (IP, port) per flow, stable for the flow."""

    pool: str
    kind = "dynnat"

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        got = ctx.allocate_snat(self.pool, p)
        if got is None:
            return Decision(False, reason=DropReason.NAT_EXHAUSTED)
        ip, port = got
        mods: list[tuple[str, int]] = [("src_ip", ip)]
        if p.proto in (6, 17):
            mods.append(("sport", port))
        return Decision(True, Transposition(modify=tuple(mods)))

    def data_lines(self) -> list[str]:
        return [f"Type : Source NAT;         NAT pool : {self.pool}"]


LB_PER_FLOW = "flow"
LB_SOURCE_IP = "source-ip"
LB_SOURCE_IP_PROTOCOL = "source-ip-protocol"


@dataclass(frozen=True)
class LbNat(Action):
    """VIP -> one DIP of several (DNAT); the choice hashes the flow, the source IP, or the
    source IP and protocol."""

    dips: tuple[tuple[int, int | None], ...]
    distribution: str = LB_PER_FLOW
    kind = "lbnat"
    keeps_flows = True

    def validate(self) -> None:
        if not self.dips:
            raise InvalidRule("DIP list", "an lbnat rule needs at least one DIP")
        if len(self.dips) > 64:
            raise InvalidRule("DIP list", "at most 64 DIPs")
        for ip, port in self.dips:
            _check_ip("DIP", ip)
            _check_port("DIP port", port)
        if self.distribution not in (LB_PER_FLOW, LB_SOURCE_IP, LB_SOURCE_IP_PROTOCOL):
            raise InvalidRule("distribution", f"unknown {self.distribution!r}")

    def choose(self, p: Packet) -> tuple[int, int | None]:
        if self.distribution == LB_SOURCE_IP:
            h = zlib.crc32(b"%d" % p.src_ip)
        elif self.distribution == LB_SOURCE_IP_PROTOCOL:
            h = zlib.crc32(b"%d %d" % (p.src_ip, p.proto))
        else:
            h = flow_hash(p)
        return self.dips[h % len(self.dips)]

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        ip, port = self.choose(p)
        mods: list[tuple[str, int]] = [("dst_ip", ip)]
        if port is not None and p.proto in (6, 17):
            mods.append(("dport", port))
        return Decision(True, Transposition(modify=tuple(mods)))

    def data_lines(self) -> list[str]:
        lines = [f"Distribution : {self.distribution}", "DIP(s) :"]
        for ip, port in self.dips:
            lines.append(f"    {format_ip(ip)}" + ("" if port is None else f" : {port}"))
        return lines


@dataclass(frozen=True)
class RouteEncap(Action):
    """Push VXLAN outer headers to an explicit PA; optionally rewrite the inner dst MAC."""

    src_pa: int
    dst_pa: int
    vni: int
    inner_dst_mac: int | None = None
    outer_dst_mac: int = 0
    outer_src_mac: int | None = None  # None: the port's MAC
    kind = "routeencap"

    def validate(self) -> None:
        _check_ip("source PA", self.src_pa)
        _check_ip("destination PA", self.dst_pa)
        _check_vni(self.vni)
        _check_mac("inner destination MAC", self.inner_dst_mac)
        _check_mac("outer destination MAC", self.outer_dst_mac)
        _check_mac("outer source MAC", self.outer_src_mac)

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return Decision(True, _encap(p, ctx, self.src_pa, self.dst_pa, self.vni,
                                     self.inner_dst_mac, self.outer_src_mac,
                                     self.outer_dst_mac))

    def data_lines(self) -> list[str]:
        mac = "" if self.inner_dst_mac is None else f", mac={format_mac(self.inner_dst_mac)}"
        return [
            "Rule Data:",
            "Encap Type: VXLAN",
            f"Encap source IP : {format_ip(self.src_pa)}",
            "Encap Destination(s) :",
            f"    {{DestinationIP={format_ip(self.dst_pa)}, VNI={self.vni}{mac}}}",
        ]


def _encap(
    p: Packet, ctx: ActionContext, src_pa: int, dst_pa: int, vni: int,
    inner_dst_mac: int | None, outer_src_mac: int | None, outer_dst_mac: int,
) -> Transposition:
    outer = Outer(
        src_mac=ctx.mac if outer_src_mac is None else outer_src_mac,
        dst_mac=outer_dst_mac, src_ip=src_pa, dst_ip=dst_pa,
        sport=vxlan_source_port(p), vni=vni, dport=ctx.vxlan_port,
    )
    mods = () if inner_dst_mac is None else (("dst_mac", inner_dst_mac),)
    return Transposition(pop_outer=p.outer is not None, modify=mods, push_outer=outer)


@dataclass(frozen=True)
class MapEncap(Action):
    """Push VXLAN outer headers to the PA that a mapping space gives for the inner
    destination IP (CA); the mapping's MAC becomes the inner dst MAC, its VNI the VNI."""

    space: str
    src_pa: int
    outer_dst_mac: int = 0
    outer_src_mac: int | None = None
    kind = "mapencap"

    def validate(self) -> None:
        _check_ip("source PA", self.src_pa)
        _check_mac("outer destination MAC", self.outer_dst_mac)

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        found = ctx.lookup_mapping(self.space, p.dst_ip)
        if found is None:
            return Decision(False, reason=DropReason.NO_MAPPING)
        pa, mac, vni = found
        return Decision(True, _encap(p, ctx, self.src_pa, pa, vni, mac or None,
                                     self.outer_src_mac, self.outer_dst_mac))

    def data_lines(self) -> list[str]:
        return ["Rule Data:", "Encap Type: VXLAN", f"Map space : {self.space}",
                f"Encap source IP : {format_ip(self.src_pa)}"]


@dataclass(frozen=True)
class Decap(Action):
    """Pop the VXLAN outer headers; with `vni`, refuse packets of another VNI."""

    vni: int | None = None
    kind = "decap"

    def validate(self) -> None:
        if self.vni is not None:
            _check_vni(self.vni)

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        if p.outer is None:
            return ALLOW
        if self.vni is not None and p.outer.vni != self.vni:
            return Decision(False, reason=DropReason.BAD_VNI)
        return Decision(True, Transposition(pop_outer=True))

    def data_lines(self) -> list[str]:
        return [] if self.vni is None else ["Rule Data:", f"VNI : {self.vni}"]


@dataclass(frozen=True)
class MacRewrite(Action):
    """Rewrite the inner source and/or destination MAC."""

    src_mac: int | None = None
    dst_mac: int | None = None
    kind = "macrewrite"

    def validate(self) -> None:
        _check_mac("source MAC", self.src_mac)
        _check_mac("destination MAC", self.dst_mac)

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        mods: list[tuple[str, int]] = []
        if self.src_mac is not None:
            mods.append(("src_mac", self.src_mac))
        if self.dst_mac is not None:
            mods.append(("dst_mac", self.dst_mac))
        return Decision(True, Transposition(modify=tuple(mods)))


__all__ = [
    "IDENTITY", "LB_PER_FLOW", "LB_SOURCE_IP", "LB_SOURCE_IP_PROTOCOL", "VXLAN_PORT",
    "Action", "ActionContext", "Allow", "Block", "Decap", "Decision", "DynNat", "LbNat",
    "MacRewrite", "MapEncap", "Nat", "RouteEncap", "Transposition",
]
