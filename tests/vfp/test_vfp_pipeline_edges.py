"""The pipeline at the edges mutation testing found untested: a group condition gates only
its own group, a cached drop stays a drop (with its own reason) on the fast path, layer
flows and trace statuses at exactly their deadline, sweeps that release NAT ports, a NAT
pool removed while its flows live, blocked and disabled ports in a trace, and the sweep
that runs by itself every SWEEP_EVERY slow-path packets.

Frames are built by scapy (an independent encoder)."""

from __future__ import annotations

from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from vfp_scenarios import Clock, ip

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    TRACK_TCP,
    Allow,
    Block,
    Decap,
    DropReason,
    DynNat,
    Group,
    Layer,
    Nat,
    NatRange,
    Port,
    RouteEncap,
    Rule,
    Switch,
    conditions,
    process,
    trace,
)
from vfp.pipeline import SWEEP_EVERY, _compose, sweep
from vxlan import serialize

SRC, DST = "10.0.0.5", "10.0.0.9"
MACS = {"src": "00:15:5d:00:00:01", "dst": "00:15:5d:00:00:02"}


def tcp(flags: str = "A", sport: int = 40000, *, reply: bool = False) -> bytes:
    if reply:
        return bytes(Ether(src=MACS["dst"], dst=MACS["src"]) / IP(src=DST, dst=SRC)
                     / TCP(sport=80, dport=sport, flags=flags) / Raw(b"y"))
    return bytes(Ether(**MACS) / IP(src=SRC, dst=DST) / TCP(sport=sport, dport=80, flags=flags)
                 / Raw(b"x"))


def udp(sport: int = 40000) -> bytes:
    return bytes(Ether(**MACS) / IP(src=SRC, dst=DST) / UDP(sport=sport, dport=53) / Raw(b"q"))


def icmp() -> bytes:
    echo = b"\x08\x00\xf7\xff" + bytes(4)  # ICMP echo request, id 0, seq 0
    return bytes(Ether(**MACS) / IP(src=SRC, dst=DST, proto=1) / Raw(echo))


def stateful_port(clock: Clock, ttl: int = 60, action: Allow | DynNat | None = None) -> Port:
    """Allow out (stateful, `ttl`), block in: replies get in only through the flow."""
    port = Switch(clock=clock).add_port("p1", name="p1")
    layer = port.add_layer(Layer("ACL", 10, stateful=True))
    layer.add_group(Group("OUT", 1, OUT)).add_rule(
        Rule("allow-out", 1, action or Allow(), flags=TERMINATING | STATEFUL, ttl=ttl))
    layer.add_group(Group("IN", 1, IN)).add_rule(Rule("block-in", 1, Block()))
    return port


def test_a_group_condition_gates_only_its_own_group() -> None:
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    layer = port.add_layer(Layer("L", 10, stateful=False))  # default: block
    layer.add_group(Group("UDP_ONLY", 1, OUT, conditions=conditions(proto="17"))).add_rule(
        Rule("udp", 1, Allow()))
    layer.add_group(Group("TCP_ONLY", 2, OUT, conditions=conditions(proto="6"))).add_rule(
        Rule("tcp", 1, Allow()))
    # a terminating winner ends the layer: UDP never reaches the second group
    for frame, winner, skipped in ((tcp(), "tcp", [True, False]), (udp(), "udp", [False])):
        t = trace(port, frame, OUT)
        assert t.allowed
        assert t.steps[0].rule is not None
        assert t.steps[0].rule.id == winner
        assert [g.skipped for g in t.steps[0].groups] == skipped
    t = trace(port, icmp(), OUT)  # both groups skipped: the layer default decides
    assert (t.allowed, t.reason) == (False, DropReason.LAYER_DEFAULT)
    assert [g.skipped for g in t.steps[0].groups] == [True, True]


@pytest.mark.parametrize(("rules", "reason"), [
    ([], DropReason.LAYER_DEFAULT),
    ([Rule("block", 1, Block())], DropReason.RULE_BLOCK),
])
def test_a_cached_drop_stays_a_drop_with_its_reason(rules: list[Rule],
                                                    reason: DropReason) -> None:
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    group = port.add_layer(Layer("L", 10, stateful=False)).add_group(Group("G", 1, OUT))
    for rule in rules:
        group.add_rule(rule)
    first = process(port, tcp(), OUT)
    assert (first.allowed, first.reason, first.fast) == (False, reason, False)
    for _ in range(2):
        again = process(port, tcp(), OUT)
        assert (again.allowed, again.output, again.reason, again.fast) == (False, None, reason,
                                                                          True)
    assert port.drops[OUT][reason] == 3
    assert sum(port.drops[OUT].values()) == 3


def test_a_layer_flow_ends_at_exactly_its_deadline() -> None:
    clock = Clock()
    port = stateful_port(clock, ttl=60)
    assert process(port, tcp("S"), OUT).allowed  # SYN: never cached, flows only
    clock.now += 60  # the deadline itself
    got = process(port, tcp("SA", reply=True), IN)
    assert (got.allowed, got.reason) == (False, DropReason.RULE_BLOCK)


def test_a_trace_at_exactly_the_deadline_reports_expired() -> None:
    clock = Clock()
    port = stateful_port(clock, ttl=60)
    assert process(port, tcp(), OUT).allowed
    (entry,) = port.uft[OUT].values()
    clock.now = entry.expires - 0.001
    assert trace(port, tcp(), OUT).uft == "hit"
    clock.now = entry.expires
    assert trace(port, tcp(), OUT).uft == "expired"


def _nat_port(clock: Clock) -> Port:
    port = stateful_port(clock, ttl=60, action=DynNat("pool"))
    port.add_nat_pool("pool", [NatRange(ip("192.168.50.1"), 5000, 5000)])  # one port
    return port


def test_a_sweep_at_exactly_the_deadline_releases_the_nat_port() -> None:
    clock = Clock()
    port = _nat_port(clock)
    assert process(port, tcp(), OUT).allowed
    assert process(port, tcp(sport=40001), OUT).reason == DropReason.NAT_EXHAUSTED
    pool = port.nat_pools["pool"]
    assert pool.in_use == {(ip("192.168.50.1"), 5000)}
    clock.now += 60
    sweep(port)
    assert pool.in_use == set()
    assert pool.allocations == {}
    assert port.uft[OUT] == {}
    assert port.get_layer("ACL").flows == {}
    assert process(port, tcp(sport=40001), OUT).allowed  # the port is free again


def test_flows_of_a_removed_nat_pool_still_expire() -> None:
    """The compiler drops a pool when its OutBoundNAT policy goes (port.nat_pools.pop):
    flows that used it expire and are swept without it."""
    clock = Clock()
    port = _nat_port(clock)
    assert process(port, tcp("S"), OUT).allowed
    port.nat_pools.pop("pool")
    port.bump()
    clock.now += 61
    assert sweep(port) >= 2
    assert port.get_layer("ACL").flows == {}
    got = process(port, tcp("S", sport=40001), OUT)
    assert (got.allowed, got.reason) == (False, DropReason.NAT_EXHAUSTED)
    assert port.get_layer("ACL").flows == {}


@pytest.mark.parametrize("state", [{"blocked": True}, {"enabled": False}])
def test_a_blocked_or_disabled_port_drops_before_the_layers(state: dict[str, bool]) -> None:
    port = stateful_port(Clock())
    port.set_state(**state)
    t = trace(port, tcp(), OUT)
    assert (t.allowed, t.reason, t.steps) == (False, DropReason.PORT_BLOCKED, [])
    assert port.drops[OUT][DropReason.PORT_BLOCKED] == 0  # a trace changes nothing
    assert port.counters[OUT][0] == 0
    slow = port.slow_packets
    got = process(port, tcp(), OUT)
    assert (got.allowed, got.reason) == (False, DropReason.PORT_BLOCKED)
    assert port.drops[OUT][DropReason.PORT_BLOCKED] == 1
    assert port.counters[OUT][:2] == [1, len(tcp())]
    assert port.slow_packets == slow  # dropped at the port, not run through the slow path
    assert port.get_layer("ACL").flows == {}


def test_expired_flows_are_swept_every_sweep_every_slow_path_packets() -> None:
    clock = Clock()
    port = stateful_port(clock, ttl=60)
    assert process(port, tcp("S"), OUT).allowed
    flows = port.get_layer("ACL").flows
    assert len(flows) == 2
    clock.now += 61
    arp = bytes(Ether(src=MACS["src"], dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=SRC, pdst=DST))
    while port.slow_packets < SWEEP_EVERY - 1:
        assert process(port, arp, OUT).allowed  # non-IP: passed, never cached
    assert len(flows) == 2  # expired, harmless, not yet swept
    assert process(port, arp, OUT).allowed
    assert flows == {}


def test_non_ip_frames_pass_and_count_only_when_sent() -> None:
    port = stateful_port(Clock())
    arp = bytes(Ether(src=MACS["src"], dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=SRC, pdst=DST))
    t = trace(port, arp, OUT)
    assert (t.allowed, t.output, t.reason) == (True, arp, None)
    assert port.counters[OUT][:2] == [0, 0]  # a trace changes nothing
    got = process(port, arp, OUT)
    assert (got.allowed, got.output) == (True, arp)
    assert port.counters[OUT][:2] == [1, len(arp)]


def test_a_flow_hit_step_allows_and_creates_nothing() -> None:
    port = stateful_port(Clock())
    assert process(port, tcp("S"), OUT).allowed
    t = trace(port, tcp("SA", reply=True), IN)
    (step,) = t.steps
    assert (step.decided_by, step.allowed, step.reason, step.flow_created) == (
        "flow", True, None, False)
    assert step.rule is not None
    assert step.rule.id == "allow-out"
    assert t.allowed


def test_steps_of_layer_defaults_and_drops() -> None:
    """A default allow hands the packet on; a default block or a rule's drop hands on
    nothing and creates no flow."""
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    port.add_layer(Layer("OPEN", 10, stateful=True, flags=DEFAULT_ALLOW))
    port.add_layer(Layer("SHUT", 20, stateful=True))
    t = trace(port, tcp(), OUT)
    opened, shut = t.steps
    assert (opened.decided_by, opened.allowed, opened.flow_created) == ("default", True, False)
    assert opened.packet_after == t.input
    assert (shut.decided_by, shut.allowed, shut.reason) == (
        "default", False, DropReason.LAYER_DEFAULT)
    assert (shut.packet_after, shut.flow_created) == (None, False)
    port.get_layer("SHUT").add_group(Group("G", 1, OUT)).add_rule(
        Rule("drop", 1, Block(), flags=TERMINATING | STATEFUL, ttl=60))
    t = trace(port, tcp(), OUT, commit=True)
    drop = t.steps[1]
    assert (drop.decided_by, drop.allowed, drop.reason) == ("rule", False, DropReason.RULE_BLOCK)
    assert (drop.packet_after, drop.flow_created) == (None, False)
    assert port.get_layer("SHUT").flows == {}


def test_a_group_without_a_match_hands_on_to_the_next_group() -> None:
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    layer = port.add_layer(Layer("L", 10, stateful=False))
    layer.add_group(Group("UDP", 1, OUT)).add_rule(
        Rule("udp", 1, Allow(), conditions=conditions(proto="17")))
    layer.add_group(Group("TCP", 2, OUT)).add_rule(
        Rule("tcp", 1, Allow(), conditions=conditions(proto="6")))
    t = trace(port, tcp(), OUT)
    assert t.allowed
    assert t.steps[0].rule is not None
    assert t.steps[0].rule.id == "tcp"
    assert [g.rule.id if g.rule else None for g in t.steps[0].groups] == [None, "tcp"]


def test_flows_need_a_stateful_rule_in_a_stateful_layer() -> None:
    """A rule without the stateful flag lets its packet through and remembers nothing:
    the reply meets the rules (here, block in). A stateful rule in a stateless layer
    creates no flow either."""
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    acl = port.add_layer(Layer("ACL", 10, stateful=True))
    acl.add_group(Group("OUT", 1, OUT)).add_rule(Rule("allow-out", 1, Allow()))
    acl.add_group(Group("IN", 1, IN)).add_rule(Rule("block-in", 1, Block()))
    plain = port.add_layer(Layer("PLAIN", 20, stateful=False))
    plain.add_group(Group("OUT", 1, OUT)).add_rule(
        Rule("stateful-out", 1, Allow(), flags=TERMINATING | STATEFUL, ttl=60))
    plain.add_group(Group("IN", 1, IN)).add_rule(Rule("allow-in", 1, Allow()))
    t = trace(port, tcp("S"), OUT, commit=True)
    assert t.allowed
    assert [s.flow_created for s in t.steps] == [False, False]
    assert acl.flows == {}
    assert plain.flows == {}
    got = process(port, tcp("SA", reply=True), IN)
    assert (got.allowed, got.reason) == (False, DropReason.RULE_BLOCK)


@pytest.mark.parametrize("cleanup", ["packet", "sweep"])
def test_a_flow_pair_whose_reply_key_was_taken_over_is_cleaned_up_alone(cleanup: str) -> None:
    """An endpoint's own connection from port 80 to E:3000 (pair A), then E:3000 reaching
    it through a port mapping (pair B): B's reply key is A's forward key, which B takes
    over. When A expires, deleting A (on its next packet) or sweeping its orphaned reply
    flow leaves B intact: B's replies still leave from the mapped address."""
    clock = Clock()
    ep, host, ext = ip(SRC), "192.168.1.4", "10.9.9.9"
    port = Switch(clock=clock).add_port("p1", name="p1")
    layer = port.add_layer(Layer("NAT", 10, stateful=True))
    layer.add_group(Group("OUT", 1, OUT)).add_rule(
        Rule("allow-out", 1, Allow(), flags=TERMINATING | STATEFUL, ttl=60))
    layer.add_group(Group("IN", 1, IN)).add_rule(
        Rule("portmap", 1, Nat(ep, 80), conditions=conditions(dst_ip=host, dst_port="8080"),
             flags=TERMINATING | STATEFUL, ttl=60))

    def frame(src: str, sport: int, dst: str, dport: int, flags: str) -> bytes:
        return bytes(Ether(**MACS) / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport,
                                                                flags=flags) / Raw(b"z"))

    assert process(port, frame(SRC, 80, ext, 3000, "S"), OUT).allowed  # pair A
    clock.now += 30
    assert process(port, frame(ext, 3000, host, 8080, "S"), IN).allowed  # pair B
    assert len(layer.flows) == 3  # B's reply flow has replaced A's forward flow
    clock.now += 30  # A's deadline exactly: A has expired, B has not
    if cleanup == "packet":  # A's reply direction, expired: A is deleted
        dropped = process(port, frame(ext, 3000, SRC, 80, "A"), IN)
        assert (dropped.allowed, dropped.reason) == (False, DropReason.LAYER_DEFAULT)
    else:
        sweep(port)
    assert len(layer.flows) == 2  # B's pair, nothing of A's
    back = process(port, frame(SRC, 80, ext, 3000, "SA"), OUT)
    assert back.allowed
    assert back.output is not None
    out = IP(back.output[14:])
    assert (out.src, out.sport) == (host, 8080)  # un-NATed by B's reply flow


def test_an_rst_ends_only_a_tracked_connection() -> None:
    """Without TCP tracking (rule flag 8) the flags are not looked at: an RST leaves the
    flow pair in place, and the reply still gets in through it."""
    for tracked in (False, True):
        port = Switch(clock=Clock()).add_port("p1", name="p1")
        layer = port.add_layer(Layer("ACL", 10, stateful=True))
        flags = TERMINATING | STATEFUL | (TRACK_TCP if tracked else 0)
        layer.add_group(Group("OUT", 1, OUT)).add_rule(
            Rule("allow-out", 1, Allow(), flags=flags, ttl=60))
        layer.add_group(Group("IN", 1, IN)).add_rule(Rule("block-in", 1, Block()))
        assert process(port, tcp("S"), OUT).allowed
        assert process(port, tcp("R"), OUT).allowed
        assert len(layer.flows) == (0 if tracked else 2)
        assert process(port, tcp("SA", reply=True), IN).allowed == (not tracked)


@pytest.mark.parametrize(("flags", "cached"), [
    ("S", False), ("F", False), ("R", False), ("FA", False), ("RA", False), ("A", True),
    ("PA", True),
])
def test_only_packets_that_leave_the_tcp_state_alone_are_cached(flags: str,
                                                                 cached: bool) -> None:
    port = stateful_port(Clock())  # allow out, stateful
    assert process(port, tcp(flags), OUT).allowed
    assert len(port.uft[OUT]) == (1 if cached else 0)


def test_nothing_is_cached_without_unified_flows_or_a_flow_key() -> None:
    port = stateful_port(Clock())
    port.settings.unified_flows = False
    assert process(port, tcp(), OUT).allowed
    assert port.uft[OUT] == {}
    port = stateful_port(Clock())
    fragment = bytes(Ether(**MACS) / IP(src=SRC, dst=DST, flags="MF")
                     / TCP(sport=40000, dport=80, flags="A") / Raw(b"x"))
    assert trace(port, fragment, OUT).uft == "not cacheable"
    assert process(port, fragment, OUT).allowed
    assert port.uft[OUT] == {}


def _vxlan_in(vni: int = 4096) -> bytes:
    inner = Ether(src="00:15:5d:00:00:09", dst=MACS["src"]) / IP(src=DST, dst=SRC) / TCP(
        sport=80, dport=40000, flags="SA") / Raw(b"i")
    return bytes(Ether(src="00:15:5d:aa:aa:aa", dst="00:15:5d:bb:bb:bb")
                 / IP(src="192.168.1.20", dst="192.168.1.10") / UDP(sport=50000, dport=4789)
                 / VXLAN(vni=vni, flags=0x08) / inner)


def _encap(vni: int = 4096) -> RouteEncap:
    return RouteEncap(ip("192.168.1.10"), ip("192.168.1.20"), vni,
                      inner_dst_mac=0x0E2A00000099, outer_dst_mac=0x00155DAAAAAA)


def _layered(direction: str, *actions: Allow | Decap | Nat | RouteEncap) -> Port:
    """One stateless layer per action, walked in the given order in `direction`."""
    port = Switch(clock=Clock()).add_port("p1", name="p1")
    for i, action in enumerate(actions):
        priority = 10 * (i + 1) if direction == OUT else 100 - 10 * i
        layer = port.add_layer(Layer(f"L{i}", priority, stateful=False))
        layer.add_group(Group("G", 1, direction)).add_rule(Rule(f"r{i}", 1, action))
    return port


@pytest.mark.parametrize(("direction", "frame", "actions"), [
    (OUT, lambda: tcp("S"), (_encap(),)),  # push
    (IN, _vxlan_in, (Decap(4096), Nat(ip("10.0.0.7"), 8080))),  # pop, then a rewrite
    (OUT, lambda: tcp("S"), (_encap(), Decap(4096))),  # push, then pop: no outer change
    (IN, _vxlan_in, (Decap(4096), _encap(4097))),  # pop, then push another outer
    (IN, _vxlan_in, (Allow(),)),  # transit: the outer stays
    (OUT, tcp, (Nat(ip("10.0.0.7"), 8080), Nat(ip("10.0.0.8")))),  # the last rewrite wins
], ids=["push", "pop-nat", "push-pop", "pop-push", "transit", "nat-nat"])
def test_the_composed_transposition_turns_the_input_into_the_output(
        direction: str, frame: Any, actions: tuple[Allow | Decap | Nat | RouteEncap, ...]) -> None:
    """What a trace reports as the composed transposition turns the input into the bytes
    the layers produced one after another."""
    t = trace(_layered(direction, *actions), frame(), direction)
    assert t.allowed, t.reason
    assert t.input is not None
    assert serialize(_compose(t.steps).apply(t.input)) == t.output
