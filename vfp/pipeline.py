"""The packet pipeline of a port: fast path, slow path, flows, counters and trace.

What?
-----
`process(port, frame, direction)` takes the raw bytes of a frame entering a port (OUT:
from the VM towards the wire; IN: from the wire towards the VM) and returns a `Result`:
the output bytes or a drop with its reason. It never raises on bad bytes. `trace(...)`
runs the same slow path and reports every step, without side effects unless asked.

Order of evaluation (the slow path)
-----------------------------------
1. The port must be enabled and not blocked, else drop (Port blocked).
2. The frame is parsed (vxlan.packet); malformed input is a counted drop with a reason.
   Non-IP frames (ARP) are passed through: VFP answers them outside the layers.
3. Layers are walked by ascending priority number outbound and descending inbound. Each
   layer sees the packet as the previous layer left it.
4. In a stateful layer, the layer's flow table is consulted first: a live flow for the
   packet's 5-tuple and direction applies its recorded transposition and skips the rules
   (this is how "allow out, block in" still lets replies in). An expired flow is deleted;
   a flow older than the port's generation is re-validated by re-classifying the packet
   that created it: kept if the same rule still wins, deleted otherwise.
5. Otherwise the layer's groups of this direction and address family run in priority
   order; a group whose group condition fails is skipped; each group picks its winning
   rule (vfp.classifier). A terminating winner ends the layer at once; otherwise the last
   group with a match decides (or the first, with `Layer.last_group_wins = False`).
6. No winner: the layer default (allow when layer flag 1 "Default Allow", else drop
   "Layer default block"). A winner's action decides allow/drop and the transposition.
7. A winning rule flagged stateful in a stateful layer creates a flow pair in that layer:
   this direction keyed on the packet before the layer, the reply direction keyed on the
   mirror of the packet after it, with the reverse transposition. Flag 8 tracks TCP
   state (SYN .. FIN/RST), which picks the idle TTL (half-open, rule TTL, TIME_WAIT).

What is cached, and when the cache is invalidated
-------------------------------------------------
After a slow-path run, the net change from the input to the output header stack (equal to
the composition of the per-layer transpositions, each a pure function of the flow) is
compiled into byte patches and stored in the port's unified flow table for this direction
under the exact flow key read from raw bytes (`vfp.flows.fast_key`). Drops by policy are
cached as drop entries. An entry records the port generation; any policy change on the
port bumps the generation, and a stale entry is re-simulated on its next packet. Entries
expire after the idle TTL of the flows they depend on; a hit refreshes those flows.

Not cached (always slow path): non-IPv4 inner or outer headers, IPv4 options, fragments,
TCP segments carrying SYN, FIN or RST (they move the TCP state machine), and transit
packets that keep their outer header.

Deliberately not modelled
-------------------------
The fast path does not verify checksums of established flows (a NIC offload would not
either); the slow path does. No GFT offload, QoS, metering, mirroring, VLANs, hairpin, or
layer flow subsumption. Reply flows get their own unified flow on their first packet
rather than being simulated when the forward flow is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from vfp.actions import IDENTITY, Decision, Transposition
from vfp.addr import format_ip, format_mac
from vfp.classifier import Lookup
from vfp.errors import DropReason, parse_frame
from vfp.flows import (
    LayerFlow,
    TcpConn,
    TcpState,
    UftEntry,
    compile_entry,
    drop_entry,
    fast_key,
    layer_key,
    pack_origin,
    reply_key,
    unpack_origin,
)
from vfp.model import IN, OUT, RULE_FLAG_NAMES, Group, Layer, Port, Rule, flag_names
from vxlan import IPPROTO_TCP, TCP_FIN, TCP_RST, TCP_SYN, Packet, serialize

Flow = LayerFlow[Layer, Rule]


class Result(NamedTuple):
    """What became of one frame."""

    allowed: bool
    output: bytes | None = None
    reason: DropReason | None = None
    fast: bool = False


_tuple_new = tuple.__new__


@dataclass
class GroupStep:
    group: Group
    rule: Rule | None
    skipped: bool = False  # the group condition did not match


@dataclass
class LayerStep:
    layer: Layer
    decided_by: str  # "rule", "flow", "default"
    rule: Rule | None
    groups: list[GroupStep]
    allowed: bool
    reason: DropReason | None
    transposition: Transposition
    flow_created: bool
    packet_after: Packet | None


@dataclass
class Trace:
    """Everything the slow path did with one packet."""

    port: Port
    direction: str
    input: Packet | None
    uft: str  # "hit", "miss", "stale", "not cacheable"
    steps: list[LayerStep] = field(default_factory=list)
    allowed: bool = False
    reason: DropReason | None = None
    output: bytes | None = None
    final: Packet | None = None
    cached: UftEntry | None = None


def lookup_of(p: Packet) -> Lookup:
    return Lookup(p.proto, p.src_ip, p.dst_ip, p.sport, p.dport, p.src_mac, p.dst_mac, p.vni,
                  p.tcp_flags)


def evaluate_layer(
    layer: Layer, p: Packet, direction: str, tags: dict[str, frozenset[int]]
) -> tuple[Rule | None, list[GroupStep]]:
    """Run a layer's groups for one packet: the deciding rule and what each group said."""
    steps: list[GroupStep] = []
    winner: Rule | None = None
    k = lookup_of(p)
    for g in layer.sorted_groups():
        if g.direction != direction or g.version != p.version:
            continue
        if not g.conditions.is_empty() and not g.conditions.matches(
            p.proto, p.src_ip, p.dst_ip, p.sport, p.dport, p.src_mac, p.dst_mac, p.vni, tags,
            p.tcp_flags,
        ):
            steps.append(GroupStep(g, None, skipped=True))
            continue
        rule = g.classify(k, tags)
        steps.append(GroupStep(g, rule))
        if rule is None:
            continue
        if rule.terminating:
            return rule, steps
        if winner is None or layer.last_group_wins:
            winner = rule
    return winner, steps


def _rule_counter(rule: Rule, groups: list[GroupStep]) -> list[int]:
    """The counter cell of the deciding rule on this port: a rule shared between ports
    counts in the group that chose it (vfp/model.py)."""
    if not rule.shared:
        return rule.counter
    group = next(s.group for s in reversed(groups) if s.rule is rule)
    return group.counter_of(rule)


def _ordered(port: Port, direction: str) -> list[Layer]:
    layers = port.sorted_layers()
    return layers if direction == OUT else layers[::-1]


def _live_flow(port: Port, layer: Layer, direction: str, p: Packet, now: float) -> Flow | None:
    fl = layer.flows.get(layer_key(direction, p))
    if fl is None:
        return None
    if now >= fl.expires:
        _delete_pair(port, fl)
        return None
    if fl.generation != port.generation:
        origin = unpack_origin(fl.origin)
        rule, _ = evaluate_layer(layer, origin, fl.origin_direction, port.tags)
        if rule is not fl.rule:
            _delete_pair(port, fl)
            return None
        fl.generation = port.generation
        if fl.peer is not None:
            fl.peer.generation = port.generation
    return fl


def _delete_pair(port: Port, fl: Flow) -> None:
    if port.dry_run:
        return
    for f in (fl, fl.peer):
        if f is None:
            continue
        if f.layer.flows.get(f.key) is f:
            del f.layer.flows[f.key]
        # A unified entry composed from this flow must not outlive it (a RST would
        # otherwise leave the connection's cached segments passing on the fast path).
        for direction, key in f.cached or ():
            entry = port.uft[direction].get(key)
            if entry is not None and f in entry.flows:
                del port.uft[direction][key]
                entry.fold()
        f.cached = None
    pool = getattr(fl.rule.action, "pool", None)
    if isinstance(pool, str) and pool in port.nat_pools:
        port.nat_pools[pool].release(unpack_origin(fl.origin).five_tuple())


def process(port: Port, frame: bytes, direction: str) -> Result:
    """Send one frame through a port (the data path: fast path, else slow path)."""
    if not port.enabled or port.blocked:
        port.drops[direction][DropReason.PORT_BLOCKED] += 1
        cell = port.counters[direction]
        cell[0] += 1
        cell[1] += len(frame)
        return Result(False, reason=DropReason.PORT_BLOCKED)
    key = fast_key(frame, port.vxlan_port_bytes)
    if key is not None:
        e = port.uft[direction].get(key)
        if e is not None and e.generation == port.generation:
            now = port.switch.clock()
            if now < e.expires:
                e.expires = now + e.idle_ttl
                e.packets += 1
                e.octets += len(frame)
                for fl in e.flows:  # LayerFlow.refresh, inlined
                    x = fl.expires = now + fl.idle
                    peer = fl.peer
                    if peer is not None:
                        peer.expires = x
                if e.allowed:  # tuple.__new__: half the cost of Result(...) on this path
                    return _tuple_new(Result, (True, e.apply(frame), None, True))
                port.drops[direction][e.reason or DropReason.RULE_BLOCK] += 1
                return Result(False, None, e.reason, True)
    t = simulate(port, frame, direction, commit=True, key=key)
    return Result(t.allowed, t.output, t.reason)


def simulate(
    port: Port, frame: bytes, direction: str, *, commit: bool, key: bytes | None = None
) -> Trace:
    """The slow path. With commit=False nothing on the port changes (a pure trace)."""
    sw = port.switch
    now = sw.clock()
    if key is None:
        key = fast_key(frame, port.vxlan_port_bytes)
    port.dry_run = not commit
    try:
        return _simulate(port, frame, direction, commit, key, now)
    finally:
        port.dry_run = False


SWEEP_EVERY = 4096  # slow-path packets between sweeps of expired flows


def sweep(port: Port, now: float | None = None) -> int:
    """Delete expired unified flows and layer flow pairs (releasing NAT ports); returns how
    many entries went. Runs by itself every SWEEP_EVERY slow-path packets."""
    if now is None:
        now = port.switch.clock()
    gone = 0
    for table in port.uft.values():
        dead = [k for k, e in table.items() if e.expires <= now]
        for k in dead:
            table.pop(k).fold()
        gone += len(dead)
    for layer in port.layers.values():
        for fl in [f for f in layer.flows.values() if f.expires <= now and f.initiator]:
            _delete_pair(port, fl)
            gone += 2
        for k in [k for k, f in layer.flows.items() if f.expires <= now]:
            del layer.flows[k]
            gone += 1
    return gone


def _simulate(
    port: Port, frame: bytes, direction: str, commit: bool, key: bytes | None, now: float
) -> Trace:
    if commit:
        port.slow_packets += 1
        if port.slow_packets % SWEEP_EVERY == 0:
            sweep(port, now)
    old = None if key is None else port.uft[direction].get(key)
    if key is None:
        status = "not cacheable"
    elif old is None:
        status = "miss"
    elif old.generation != port.generation:
        status = "stale"
    else:
        status = "hit" if now < old.expires else "expired"
    counters = port.counters[direction]
    if not port.enabled or port.blocked:
        if commit:
            port.drops[direction][DropReason.PORT_BLOCKED] += 1
            counters[0] += 1
            counters[1] += len(frame)
        return Trace(port, direction, None, status, reason=DropReason.PORT_BLOCKED)
    parsed = parse_frame(frame, sw_port(port), strict_vxlan=direction == IN)
    if isinstance(parsed, DropReason):
        if commit:
            port.drops[direction][parsed] += 1
            counters[0] += 1
            counters[1] += len(frame)
        return Trace(port, direction, None, status, reason=parsed)
    t = Trace(port, direction, parsed, status)
    n = len(frame)
    if parsed.version == 0:
        t.allowed, t.final, t.output = True, parsed, serialize(parsed)
        if commit:
            counters[0] += 1
            counters[1] += n
        return t
    p = parsed
    cells: list[list[int]] = [counters]
    used: list[Flow] = []
    pending: list[tuple[Layer, Packet, Packet, Rule, Transposition]] = []
    tracked: list[Flow] = []
    for layer in _ordered(port, direction):
        before = p
        fl = _live_flow(port, layer, direction, p, now) if layer.stateful else None
        if fl is not None:
            p = fl.transposition.apply(p)
            used.append(fl)
            if fl.tcp is not None:
                tracked.append(fl)
            t.steps.append(LayerStep(layer, "flow", fl.rule, [], True, None,
                                     fl.transposition, False, p))
            cells.append(layer.counter)
            continue
        rule, groups = evaluate_layer(layer, p, direction, port.tags)
        if rule is None:
            allowed = layer.default_allow
            reason = None if allowed else DropReason.LAYER_DEFAULT
            t.steps.append(LayerStep(layer, "default", None, groups, allowed, reason,
                                     IDENTITY, False, p if allowed else None))
            cells.append(layer.counter)
            if not allowed:
                t.reason = reason
                break
            continue
        decision: Decision = rule.action.decide(p, port)
        cells.append(layer.counter)
        cells.append(_rule_counter(rule, groups))
        if not decision.allowed:
            t.steps.append(LayerStep(layer, "rule", rule, groups, False, decision.reason,
                                     IDENTITY, False, None))
            t.reason = decision.reason
            break
        p = decision.transposition.apply(p)
        creates = rule.stateful and layer.stateful
        if creates:
            pending.append((layer, before, p, rule, decision.transposition))
        t.steps.append(LayerStep(layer, "rule", rule, groups, True, None,
                                 decision.transposition, creates, p))
    else:
        t.allowed = True
    if t.allowed:
        t.final = p
        t.output = serialize(p)
    if not commit:
        return t
    # -- side effects: counters, flows, TCP tracking, unified flow ----------------------
    for c in cells:
        c[0] += 1
        c[1] += n
    if not t.allowed:
        port.drops[direction][t.reason or DropReason.RULE_BLOCK] += 1
    flags = parsed.tcp_flags if parsed.proto == IPPROTO_TCP else 0
    for layer, before, after, rule, ht in pending:
        used.append(_create_pair(port, layer, direction, before, after, rule, ht, now))
        if used[-1].tcp is not None:
            tracked.append(used[-1])
    s = port.settings
    for fl in tracked:
        assert fl.tcp is not None
        fl.tcp.update(flags, fl.initiator)
    for fl in used:
        fl.touch(now, s.half_open_ttl, s.time_wait_ttl)
        if fl.tcp is not None and fl.tcp.state == TcpState.CLOSED and flags & TCP_RST:
            _delete_pair(port, fl)
    if key is not None and s.unified_flows and not flags & (TCP_SYN | TCP_FIN | TCP_RST):
        ttl = min([f.ttl for f in used if f.ttl] or [s.default_ttl])
        entry: UftEntry | None
        if t.allowed:
            assert t.final is not None
            entry = compile_entry(
                parsed, t.final, generation=port.generation, now=now, idle_ttl=ttl,
                counters=_intern_cells(port, cells), flows=tuple(used),
                key=key,
            )
        elif t.reason is DropReason.NAT_EXHAUSTED:
            entry = None  # transient: a port may come back before any policy change
        else:
            entry = drop_entry(key, port.generation, now, ttl,
                               t.reason or DropReason.RULE_BLOCK, _intern_cells(port, cells))
        if old is not None:
            old.fold()
        if entry is not None:
            # the creating packet is already in the cells: count it as folded
            entry.packets = entry.folded = 1
            entry.octets = entry.folded_octets = n
            port.uft[direction][key] = entry
            t.cached = entry
            for fl in entry.flows:
                if fl.cached is None:
                    fl.cached = [(direction, key)]
                elif (direction, key) not in fl.cached:
                    fl.cached.append((direction, key))
        elif old is not None:
            del port.uft[direction][key]
            t.cached = entry
    return t


def sw_port(port: Port) -> int:
    return port.switch.vxlan_port


def _create_pair(
    port: Port, layer: Layer, direction: str, before: Packet, after: Packet, rule: Rule,
    ht: Transposition, now: float,
) -> Flow:
    ttl = float(rule.ttl) if rule.ttl else port.settings.default_ttl
    tcp = TcpConn() if rule.tracks_tcp and before.proto == IPPROTO_TCP else None
    origin = pack_origin(before)
    fwd: Flow = LayerFlow(layer, layer_key(direction, before), rule, ht, True, origin, direction,
                    ttl, now + ttl, port.generation, tcp, idle=ttl)
    rev: Flow = LayerFlow(layer, reply_key(direction, after), rule, ht.reverse(before), False,
                    origin, direction, ttl, now + ttl, port.generation, tcp, fwd, idle=ttl)
    fwd.peer = rev
    layer.flows[fwd.key] = fwd
    layer.flows[rev.key] = rev
    return fwd


def _intern_cells(port: Port, cells: list[list[int]]) -> tuple[list[int], ...]:
    """One shared tuple per distinct path through the layers (saves memory per flow)."""
    ids = tuple(map(id, cells))
    got = port.cell_paths.get(ids)
    if got is None:
        got = port.cell_paths[ids] = tuple(cells)
    return got


def _compose(steps: list[LayerStep]) -> Transposition:
    pop = False
    push = None
    mss = 0
    mods: dict[str, int] = {}
    for s in steps:
        ht = s.transposition
        mss = max(mss, ht.mss_delta)
        if ht.pop_outer:
            if push is not None:
                push = None
            else:
                pop = True
        mods.update(dict(ht.modify))
        if ht.push_outer is not None:
            push = ht.push_outer
    return Transposition(pop_outer=pop, modify=tuple(mods.items()), push_outer=push,
                         mss_delta=mss)


def packet_text(p: Packet) -> str:
    """One line describing a parsed packet, outer headers first."""
    parts: list[str] = []
    if p.outer is not None:
        o = p.outer
        parts.append(
            f"outer eth {format_mac(o.src_mac)} > {format_mac(o.dst_mac)}, "
            f"ipv4 {format_ip(o.src_ip)} > {format_ip(o.dst_ip)}, udp {o.sport} > {o.dport}, "
            f"vxlan vni {o.vni} |"
        )
    parts.append(f"eth {format_mac(p.src_mac)} > {format_mac(p.dst_mac)}")
    if p.version:
        v = p.version
        l4 = f" {p.sport} > {p.dport}" if p.proto in (6, 17) else ""
        flags = f" flags 0x{p.tcp_flags:02x}" if p.proto == IPPROTO_TCP else ""
        parts.append(f"ipv{v} {format_ip(p.src_ip, v)} > {format_ip(p.dst_ip, v)} "
                     f"proto {p.proto}{l4}{flags}")
    else:
        parts.append(f"ethertype 0x{p.ethertype:04x}")
    return ", ".join(parts)


def packet_json(p: Packet) -> dict[str, object]:
    v = p.version or 4
    out: dict[str, object] = {
        "SourceMac": format_mac(p.src_mac), "DestinationMac": format_mac(p.dst_mac),
        "EtherType": p.ethertype,
    }
    if p.version:
        out.update({
            "IPVersion": p.version, "Protocol": p.proto,
            "SourceIP": format_ip(p.src_ip, v), "DestinationIP": format_ip(p.dst_ip, v),
            "SourcePort": p.sport, "DestinationPort": p.dport, "TcpFlags": p.tcp_flags,
        })
    if p.outer is not None:
        o = p.outer
        out["Outer"] = {
            "SourceMac": format_mac(o.src_mac), "DestinationMac": format_mac(o.dst_mac),
            "SourceIP": format_ip(o.src_ip), "DestinationIP": format_ip(o.dst_ip),
            "SourcePort": o.sport, "DestinationPort": o.dport, "VNI": o.vni,
        }
    return out


def _rule_text(rule: Rule) -> str:
    names = " ".join(flag_names(rule.flags, RULE_FLAG_NAMES))
    return (f"RULE {rule.id or '-'} ({rule.name}), priority {rule.priority}, "
            f"flags {rule.flags}{' ' + names if names else ''}, type {rule.action.kind}")


def trace_text(t: Trace) -> str:
    """The readable form of a trace (in the manner of ovs-appctl ofproto/trace)."""
    lines = [f"Port: {t.port.id} ({t.port.name}), direction {t.direction}"]
    lines.append("Packet: " + ("unparsable" if t.input is None else packet_text(t.input)))
    lines.append(f"Unified flow: {t.uft}")
    lines.append("")
    for i, s in enumerate(t.steps):
        lay = s.layer
        lines.append(f"{i}. LAYER {lay.id} ({lay.name}), priority {lay.priority}, "
                     f"{'stateful' if lay.stateful else 'stateless'}")
        if s.decided_by == "flow":
            lines.append("    flow hit -> rules skipped")
            assert s.rule is not None
            lines.append(f"        created by {_rule_text(s.rule)}")
        for g in s.groups:
            head = f"    GROUP {g.group.id} ({g.group.name}), priority {g.group.priority}"
            if g.skipped:
                lines.append(head + ": group condition not met")
            elif g.rule is None:
                lines.append(head + ": no match")
            else:
                lines.append(head + ":")
                lines.append(f"        {_rule_text(g.rule)}")
        if s.decided_by == "default":
            verdict = "allow" if s.allowed else "block"
            lines.append(f"    no match -> layer default: {verdict}")
        elif s.decided_by == "rule":
            assert s.rule is not None
            verdict = "allow" if s.allowed else "drop"
            lines.append(f"    decided by {s.rule.id or s.rule.name}: {verdict}")
        if s.allowed:
            for change in s.transposition.describe(s.packet_after.version
                                                   if s.packet_after else 4):
                lines.append(f"        {change}")
        if s.flow_created:
            lines.append("    flow pair created in this layer")
        if not s.allowed:
            lines.append(f"    drop: {s.reason.value if s.reason else 'blocked'}")
    lines.append("")
    if t.allowed and t.final is not None and t.output is not None:
        lines.append("Final packet: " + packet_text(t.final))
        lines.append(f"Output: {len(t.output)} bytes")
        lines.append("Verdict: allow")
    else:
        lines.append(f"Verdict: drop ({t.reason.value if t.reason else 'unknown'})")
    if t.cached is not None:
        lines.append(f"Unified flow cached: {t.cached.summary}")
    elif t.uft != "not cacheable" and t.input is not None:
        lines.append("Unified flow that would be cached: "
                     + ("allow" if t.allowed else "drop"))
    if t.allowed:
        lines.append("Composed transposition:")
        lines.extend(f"    {c}" for c in _compose(t.steps).describe())
    return "\n".join(lines) + "\n"


def trace_json(t: Trace) -> dict[str, object]:
    steps: list[dict[str, object]] = []
    for s in t.steps:
        steps.append({
            "Layer": s.layer.id, "LayerName": s.layer.name, "Priority": s.layer.priority,
            "DecidedBy": s.decided_by,
            "Rule": None if s.rule is None else _rule_json(s.rule),
            "Groups": [{
                "Group": g.group.id, "GroupName": g.group.name, "Priority": g.group.priority,
                "Skipped": g.skipped, "Rule": None if g.rule is None else _rule_json(g.rule),
            } for g in s.groups],
            "Allowed": s.allowed,
            "DropReason": None if s.reason is None else s.reason.value,
            "Transposition": s.transposition.as_json(),
            "FlowCreated": s.flow_created,
            "Packet": None if s.packet_after is None else packet_json(s.packet_after),
        })
    return {
        "Port": t.port.id, "Direction": t.direction,
        "Input": None if t.input is None else packet_json(t.input),
        "UnifiedFlow": t.uft, "Layers": steps, "Verdict": "allow" if t.allowed else "drop",
        "DropReason": None if t.reason is None else t.reason.value,
        "Final": None if t.final is None else packet_json(t.final),
        "OutputHex": None if t.output is None else t.output.hex(),
        "Cached": None if t.cached is None else t.cached.summary,
        "Cacheable": t.uft != "not cacheable",
        "Composed": _compose(t.steps).as_json() if t.allowed else None,
    }


def _rule_json(rule: Rule) -> dict[str, object]:
    return {"Id": rule.id, "FriendlyName": rule.name, "Priority": rule.priority,
            "Flags": rule.flags, "Type": rule.action.kind}


def trace(port: Port, frame: bytes, direction: str, *, commit: bool = False) -> Trace:
    """Simulate one frame through a port; side effects only with commit=True."""
    return simulate(port, frame, direction, commit=commit)


__all__ = ["IN", "OUT", "Result", "Trace", "process", "simulate", "trace", "trace_json",
           "trace_text"]
