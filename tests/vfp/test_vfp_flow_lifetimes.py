"""What a trace reports and when flows end, at the boundaries mutation testing found
untested: the unified-flow status (not cacheable, miss, hit, expired), a skipped group,
no flow created by a layer default, which group decides without a terminating rule,
expiry at exactly the TTL (fast path and sweep), and the reply flow's lifetime."""

from __future__ import annotations

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
    Port,
    Rule,
    Switch,
    conditions,
    process,
    trace,
)
from vfp.pipeline import sweep, trace_json
from vxlan.packet import TCP_ACK, TCP_SYN, build_frame

SRC, DST = ip("10.0.0.5"), ip("10.0.0.9")


def _frame(flags: int = TCP_ACK, sport: int = 40000) -> bytes:
    return build_frame(6, SRC, sport, DST, 80, tcp_flags=flags, payload=b"x")


def _reply(flags: int = TCP_ACK, dport: int = 40000) -> bytes:
    return build_frame(6, DST, 80, SRC, dport, tcp_flags=flags, payload=b"y")


def _stateful_port(clock: Clock, ttl: int = 60) -> Port:
    sw = Switch(clock=clock)
    port = sw.add_port("p1", name="p1")
    layer = port.add_layer(Layer("ACL", 10, stateful=True))
    layer.add_group(Group("OUT", 1, OUT)).add_rule(
        Rule("allow-out", 1, Allow(), flags=TERMINATING | STATEFUL, ttl=ttl))
    layer.add_group(Group("IN", 1, IN)).add_rule(Rule("block-in", 1, Block()))
    return port


def test_trace_reports_the_unified_flow_status() -> None:
    clock = Clock()
    port = _stateful_port(clock)
    assert trace(port, _frame(TCP_SYN), OUT).uft == "not cacheable"  # SYN moves TCP state
    slow_before = port.slow_packets
    assert trace(port, _frame(), OUT).uft == "miss"
    assert port.slow_packets == slow_before  # a trace is not a packet on the slow path
    assert process(port, _frame(), OUT).allowed
    assert port.slow_packets == slow_before + 1
    assert trace(port, _frame(), OUT).uft == "hit"
    clock.now += 61
    assert trace(port, _frame(), OUT).uft == "expired"
    fragment = bytearray(_frame())
    fragment[20] |= 0x20  # IPv4 "more fragments": never cached
    assert trace(port, bytes(fragment), OUT).uft == "not cacheable"


def test_trace_marks_skipped_groups_and_no_flow_for_a_layer_default() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p1", name="p1")
    layer = port.add_layer(Layer("L", 10, stateful=True, flags=DEFAULT_ALLOW))
    layer.add_group(Group("ONLY_UDP", 1, OUT, conditions=conditions(proto="17")))
    t = trace_json(trace(port, _frame(), OUT))
    (step,) = t["Layers"]  # type: ignore[misc]
    assert step["DecidedBy"] == "default"
    assert step["FlowCreated"] is False
    assert [g["Skipped"] for g in step["Groups"]] == [True]


def test_without_a_terminating_rule_the_last_group_decides_unless_told_otherwise() -> None:
    for last_wins, expected in ((True, "second"), (False, "first")):
        sw = Switch(clock=Clock())
        port = sw.add_port("p1", name="p1")
        layer = port.add_layer(Layer("L", 10, stateful=False, last_group_wins=last_wins))
        layer.add_group(Group("G1", 1, OUT)).add_rule(Rule("first", 1, Allow(), flags=0))
        layer.add_group(Group("G2", 2, OUT)).add_rule(Rule("second", 1, Block(), flags=0))
        t = trace(port, _frame(), OUT)
        assert t.steps[0].rule is not None
        assert t.steps[0].rule.id == expected
        assert t.allowed == (expected == "first")


def test_a_cached_flow_expires_at_exactly_its_ttl() -> None:
    clock = Clock()
    port = _stateful_port(clock, ttl=60)
    assert process(port, _frame(), OUT).allowed
    (entry,) = port.uft[OUT].values()
    clock.now = entry.expires - 0.5
    assert process(port, _frame(), OUT).fast
    (entry,) = port.uft[OUT].values()
    clock.now = entry.expires  # the deadline itself is past
    assert not process(port, _frame(), OUT).fast


def test_sweep_removes_what_expired_by_now_and_nothing_else() -> None:
    clock = Clock()
    port = _stateful_port(clock, ttl=60)
    assert process(port, _frame(sport=40000), OUT).allowed
    clock.now += 30
    assert process(port, _frame(sport=40001), OUT).allowed
    layer = port.get_layer("ACL")
    assert len(layer.flows) == 4  # two pairs
    clock.now += 30  # the first pair's deadline exactly
    gone = sweep(port)
    assert gone >= 2
    assert len(layer.flows) == 2  # the younger pair is kept
    assert all(f.expires > clock.now for f in layer.flows.values())


def test_the_reply_flow_lives_as_long_as_the_forward_flow() -> None:
    clock = Clock()
    port = _stateful_port(clock, ttl=60)
    assert process(port, _frame(TCP_SYN), OUT).allowed
    layer = port.get_layer("ACL")
    assert {f.expires for f in layer.flows.values()} == {clock.now + 60}
    clock.now += 59
    assert process(port, _reply(TCP_SYN | TCP_ACK), IN).allowed  # let in by the flow
