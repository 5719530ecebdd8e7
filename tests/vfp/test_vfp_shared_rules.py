"""Issue 11 (F4): one rule object in the groups of many ports (the compiler shares them
between the ports of a network, hns/compiler/shared.py) keeps its counters per port, is
validated once and keeps the order it was first added in."""

from __future__ import annotations

from vfp_scenarios import Clock, ip

from vfp import DEFAULT_ALLOW, OUT, Allow, Group, Layer, Rule, Switch, process
from vfp.conditions import Conditions
from vfp.ctl import run
from vxlan.packet import TCP_ACK, build_frame

SRC, DST = ip("10.0.0.5"), ip("10.0.0.9")


def _two_ports(rule: Rule) -> tuple[Switch, list[Group]]:
    sw = Switch(clock=Clock())
    groups = []
    for name in ("a", "b"):
        port = sw.add_port(name, name=name)
        layer = port.add_layer(Layer("L", 10, stateful=False, flags=DEFAULT_ALLOW))
        group = layer.add_group(Group("G", 1, OUT))
        group.add_rule(rule)
        groups.append(group)
    return sw, groups


def test_a_shared_rule_counts_hits_per_port() -> None:
    shared = Rule("allow", 5, Allow(), Conditions(dst_ips=((DST, DST),)), shared=True)
    sw, (ga, gb) = _two_ports(shared)
    assert ga.rules["allow"] is gb.rules["allow"] is shared
    frame = build_frame(6, SRC, 40000, DST, 80, tcp_flags=TCP_ACK, payload=b"xy")
    for _ in range(3):
        assert process(sw.ports["a"], frame, OUT).allowed
    sw.ports["a"].fold_counters()
    assert ga.counter_of(shared) == [3, 3 * len(frame)]
    assert gb.counter_of(shared) == [0, 0]
    text_a = run(sw, "/port a /get-rule-counter")[1]
    text_b = run(sw, "/port b /get-rule-counter")[1]
    assert "Matched packets : 3" in text_a
    assert "Matched packets : 0" in text_b
    assert "Matched packets : 3" not in text_b


def test_removing_a_shared_rule_from_one_port_forgets_only_that_ports_count() -> None:
    shared = Rule("allow", 5, Allow(), shared=True)
    sw, (ga, gb) = _two_ports(shared)
    frame = build_frame(6, SRC, 40000, DST, 80, tcp_flags=TCP_ACK, payload=b"x")
    process(sw.ports["a"], frame, OUT)
    process(sw.ports["b"], frame, OUT)
    for port in sw.ports.values():
        port.fold_counters()
    ga.remove_rule("allow")
    ga.add_rule(shared)
    assert ga.counter_of(shared) == [0, 0]  # re-added: a fresh count, as a new rule has
    assert gb.counter_of(shared)[0] == 1


def test_a_shared_rule_is_validated_once_and_keeps_its_first_order() -> None:
    calls = []

    class Counting(Conditions):
        def validate(self, version: int) -> None:
            calls.append(version)
            super().validate(version)

    shared = Rule("allow", 5, Allow(), Counting(), shared=True)
    _sw, (ga, gb) = _two_ports(shared)
    assert len(calls) == 1
    first = shared.order
    later = Rule("later", 5, Allow())
    gb.add_rule(later)
    ga.remove_rule("allow")
    ga.add_rule(shared)
    assert shared.order == first < later.order


def test_an_unshared_rule_readded_goes_after_its_equals_as_before() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("a", name="a")
    group = port.add_layer(Layer("L", 10, stateful=False)).add_group(Group("G", 1, OUT))
    first, second = Rule("one", 5, Allow()), Rule("two", 5, Allow())
    group.add_rules([first, second])
    group.remove_rule("one")
    group.add_rule(first)
    assert second.order < first.order
