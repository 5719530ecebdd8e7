"""Three rules of the switch that hand mutants once broke without any test noticing
(issue 15): a group of one address family never sees packets of the other; a unified flow
lives as long as the shortest-lived layer flow it depends on; under longest-prefix match the
rules the classifier cannot index (tag conditions) are searched in full, not cut off by the
priority of an indexed match."""

from __future__ import annotations

from dataclasses import dataclass

from vfp_scenarios import Clock, ip

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    Allow,
    Block,
    Group,
    Layer,
    Rule,
    Switch,
    process,
)
from vfp.classifier import IndexedClassifier, LinearClassifier, Lookup
from vfp.conditions import Conditions
from vxlan.packet import TCP_ACK, build_frame

SRC, DST = ip("10.0.0.5"), ip("10.0.0.9")


def _frame(sport: int = 40000) -> bytes:
    return build_frame(6, SRC, sport, DST, 80, tcp_flags=TCP_ACK, payload=b"x")


def test_an_ipv6_group_never_decides_an_ipv4_packet() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p1", name="p1")
    layer = port.add_layer(Layer("L", 10, stateful=False, flags=DEFAULT_ALLOW))
    g6 = layer.add_group(Group("BLOCK_ALL_V6", 1, OUT, version=6))
    g6.add_rule(Rule("block-v6", 1, Block()))  # no conditions: every IPv6 packet
    g4 = layer.add_group(Group("ALLOW_V4", 2, OUT, version=4))
    g4.add_rule(Rule("allow-v4", 1, Allow()))
    got = process(port, _frame(), OUT)
    assert got.allowed, got.reason
    assert g6.rules["block-v6"].counter[0] == 0
    assert g4.rules["allow-v4"].counter[0] == 1


def test_unified_flow_lives_as_long_as_its_shortest_layer_flow() -> None:
    clock = Clock()
    sw = Switch(clock=clock)
    port = sw.add_port("p1", name="p1")
    for name, priority, ttl in (("LONG", 10, 300), ("SHORT", 20, 30)):
        layer = port.add_layer(Layer(name, priority, stateful=True))
        group = layer.add_group(Group(f"{name}_OUT", 1, OUT))
        group.add_rule(Rule(f"allow-{name}", 1, Allow(), flags=TERMINATING | STATEFUL,
                            ttl=ttl))
        layer.add_group(Group(f"{name}_IN", 1, IN))
    assert process(port, _frame(), OUT).allowed
    (entry,) = port.uft[OUT].values()
    assert entry.idle_ttl == 30
    clock.now += 31
    # the SHORT layer's flow is gone: the cached entry must not outlive it
    assert not process(port, _frame(), OUT).fast


@dataclass(eq=False)
class _R:
    priority: int
    order: int
    conditions: Conditions


def test_lpm_searches_unindexed_rules_past_an_indexed_match() -> None:
    net16 = (ip("10.0.0.0"), ip("10.0.255.255"))
    net24 = (ip("10.0.0.0"), ip("10.0.0.255"))
    indexed = _R(1, 0, Conditions(dst_ips=(net16,)))
    # a tag condition keeps this rule out of the index (the classifier's residual list)
    tagged = _R(5, 1, Conditions(dst_ips=(net24,), src_tags=("pods",)))
    rules = [indexed, tagged]
    k = Lookup(6, SRC, DST, 40000, 80)
    tags = {"pods": frozenset({SRC})}
    assert LinearClassifier(rules, lpm=True).classify(k, tags) is tagged
    assert IndexedClassifier(rules, lpm=True).classify(k, tags) is tagged
    # without LPM the lower priority number wins, whichever list holds it
    assert IndexedClassifier(rules).classify(k, tags) is indexed


def test_mac_conditions_reject_other_macs() -> None:
    a, b = 0x00155D000001, 0x00155D000002
    by_src = _R(1, 0, Conditions(src_macs=(a,)))
    by_dst = _R(2, 1, Conditions(dst_macs=(b,)))
    for rules in ([by_src], [by_dst], [by_src, by_dst]):
        for lookup, want in (
            (Lookup(6, SRC, DST, 1, 2, src_mac=a, dst_mac=b), rules[0]),
            (Lookup(6, SRC, DST, 1, 2, src_mac=b, dst_mac=a), None),
        ):
            assert LinearClassifier(rules).classify(lookup) is want
            assert IndexedClassifier(rules).classify(lookup) is want
    only_dst = Lookup(6, SRC, DST, 1, 2, src_mac=b, dst_mac=b)
    assert IndexedClassifier([by_src, by_dst]).classify(only_dst) is by_dst
    # through a port: a rule for another MAC does not decide the frame
    sw = Switch(clock=Clock())
    port = sw.add_port("p1", name="p1")
    layer = port.add_layer(Layer("L", 10, stateful=False, flags=DEFAULT_ALLOW))
    group = layer.add_group(Group("G", 1, OUT))
    group.add_rule(Rule("block-other-mac", 1, Block(), conditions=Conditions(src_macs=(b,))))
    frame = build_frame(6, SRC, 40000, DST, 80, src_mac=a, tcp_flags=TCP_ACK, payload=b"x")
    assert process(port, frame, OUT).allowed
    blocked = build_frame(6, SRC, 40000, DST, 80, src_mac=b, tcp_flags=TCP_ACK, payload=b"x")
    assert not process(port, blocked, OUT).allowed
