"""Traces: allow, block, NAT, LB, encap, decap; no side effects unless asked; counters."""

from __future__ import annotations

import json

from vfp_scenarios import DR_MAC, POD_MAC, Clock, acl_port, ip

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    Allow,
    Block,
    DropReason,
    DynNat,
    Group,
    Layer,
    LbNat,
    MapEncap,
    NatRange,
    Rule,
    Switch,
    conditions,
    process,
    trace,
    trace_json,
    trace_text,
)
from vxlan.packet import TCP_SYN, Outer, build_frame

POD = ip("10.244.1.5")


def test_trace_allow_encap_shows_each_layer_rule_and_outer_headers() -> None:
    _, port = acl_port()
    t = trace(port, build_frame(6, POD, 1000, ip("10.244.4.7"), 80, src_mac=POD_MAC,
                                tcp_flags=TCP_SYN), OUT)
    assert t.allowed
    assert [s.layer.id for s in t.steps] == ["ACL_ENDPOINT_LAYER", "VNET_ENCAP_LAYER"]
    assert t.steps[0].rule is not None
    assert t.steps[0].rule.name == "allow-all-out"
    assert t.steps[0].flow_created
    assert t.steps[1].transposition.push_outer is not None
    assert t.final is not None
    assert t.final.outer is not None
    assert t.final.outer.vni == 4096
    assert t.final.dst_mac == DR_MAC
    text = trace_text(t)
    assert "decided by REMOTESUBNETROUTE_10.244.4.0_24: allow" in text
    assert "Push outer" in text
    assert "Verdict: allow" in text
    doc = json.loads(json.dumps(trace_json(t)))
    assert doc["Final"]["Outer"]["VNI"] == 4096
    assert doc["Layers"][0]["Rule"]["FriendlyName"] == "allow-all-out"


def test_trace_has_no_side_effects_by_default_and_commits_when_asked() -> None:
    _, port = acl_port()
    f = build_frame(6, POD, 1000, ip("10.244.4.7"), 80, src_mac=POD_MAC, tcp_flags=TCP_SYN)
    trace(port, f, OUT)
    acl = port.get_layer("ACL_ENDPOINT_LAYER")
    assert not acl.flows
    assert port.counters[OUT] == [0, 0]
    trace(port, f, OUT, commit=True)
    assert len(acl.flows) == 2
    assert port.counters[OUT][0] == 1


def test_trace_block_names_rule_and_reason() -> None:
    _, port = acl_port()
    t = trace(port, build_frame(6, ip("10.244.4.7"), 80, POD, 1000, tcp_flags=TCP_SYN), IN)
    assert not t.allowed
    assert t.reason is DropReason.RULE_BLOCK
    assert t.steps[-1].rule is not None
    assert t.steps[-1].rule.name == "block-all-in"
    assert "drop: Blocked by rule" in trace_text(t)


def test_trace_decap_pops_outer_headers() -> None:
    _, port = acl_port()
    process(port, build_frame(6, POD, 1000, ip("10.244.4.7"), 80, src_mac=POD_MAC,
                              tcp_flags=TCP_SYN), OUT)
    outer = Outer(1, 2, ip("192.168.1.20"), ip("192.168.1.10"), 5555, 4096)
    t = trace(port, build_frame(6, ip("10.244.4.7"), 80, POD, 1000, outer=outer), IN)
    assert t.allowed
    assert t.steps[0].transposition.pop_outer
    assert t.steps[1].decided_by == "flow"
    assert t.final is not None
    assert t.final.outer is None
    wrong_vni = Outer(1, 2, ip("192.168.1.20"), ip("192.168.1.10"), 5555, 4097)
    t2 = trace(port, build_frame(6, ip("10.244.4.7"), 80, POD, 1000, outer=wrong_vni), IN)
    assert t2.reason is DropReason.BAD_VNI


def _slb_port() -> tuple[Switch, Layer]:
    sw = Switch(clock=Clock())
    port = sw.add_port("p", mac=POD_MAC)
    lay = port.add_layer(Layer("SLB_NAT_LAYER", 50, stateful=True, flags=DEFAULT_ALLOW))
    return sw, lay


def test_trace_lbnat_shows_vip_to_dip_rewrite() -> None:
    sw, lay = _slb_port()
    g = lay.add_group(Group("SLB_GROUP_LB_IPv4_OUT", 1, OUT))
    g.add_rule(Rule("LB_x_10.96.0.10_443_8443_6", 100,
                    LbNat(((ip("10.244.1.10"), 8443),)), flags=TERMINATING | STATEFUL,
                    conditions=conditions(proto="6", dst_ip="10.96.0.10", dst_port="443")))
    t = trace(sw.get_port("p"), build_frame(6, POD, 5000, ip("10.96.0.10"), 443), OUT)
    assert t.final is not None
    assert (t.final.dst_ip, t.final.dport) == (ip("10.244.1.10"), 8443)
    text = trace_text(t)
    assert "Modify Destination IP -> 10.244.1.10" in text
    assert "Modify Destination port -> 8443" in text


def test_trace_dynnat_allocates_from_pool_and_exhaustion_drops() -> None:
    sw, lay = _slb_port()
    port = sw.get_port("p")
    port.add_nat_pool("POOL", [NatRange(ip("172.16.0.1"), 40000, 40001)])
    lay.add_group(Group("SNAT_OUT", 1, OUT)).add_rule(
        Rule("SNAT", 1, DynNat("POOL"), flags=TERMINATING | STATEFUL, ttl=240))
    got = []
    for sport in (1, 2, 3):
        r = process(port, build_frame(17, POD, sport, ip("8.8.8.8"), 53, payload=b"q"), OUT)
        got.append(r.reason)
    assert got[:2] == [None, None]
    assert got[2] is DropReason.NAT_EXHAUSTED
    t = trace(port, build_frame(17, POD, 1, ip("8.8.8.8"), 53, payload=b"q"), OUT)
    assert t.steps[0].decided_by == "flow"
    assert t.final is not None
    assert t.final.src_ip == ip("172.16.0.1")


def test_mapencap_without_mapping_drops_with_reason() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p", mac=POD_MAC)
    port.add_space("S")
    lay = port.add_layer(Layer("VNET_ENCAP_LAYER", 100, stateful=False))
    lay.add_group(Group("G", 1, OUT)).add_rule(Rule("MAP", 1, MapEncap("S", ip("192.168.1.10"))))
    r = process(port, build_frame(6, POD, 1, ip("10.244.9.9"), 80), OUT)
    assert r.reason is DropReason.NO_MAPPING


def test_rule_counters_include_fast_path_hits() -> None:
    _, port = acl_port()
    f = build_frame(6, POD, 1000, ip("10.244.4.7"), 80, src_mac=POD_MAC)
    for _ in range(5):
        process(port, f, OUT)
    rule = port.get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT").get_rule(
        "REMOTESUBNETROUTE_10.244.4.0_24")
    port.fold_counters()
    assert rule.counter == [5, 5 * len(f)]
    assert port.counters[OUT] == [5, 5 * len(f)]


def test_unrelated_policy_change_keeps_established_flow() -> None:
    _, port = acl_port()
    process(port, build_frame(6, POD, 1000, ip("10.244.4.7"), 80, src_mac=POD_MAC,
                              tcp_flags=TCP_SYN), OUT)
    gout = port.get_layer("ACL_ENDPOINT_LAYER").get_group("ACL_ENDPOINT_GROUP_IPV4_OUT")
    gout.add_rule(Rule("deny-other", 10, Block(), conditions=conditions(dst_ip="1.2.3.4")))
    reply = build_frame(6, ip("10.244.4.7"), 80, POD, 1000)
    assert process(port, reply, IN).allowed


def test_tag_condition_matches_ip_set_members() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    port.set_tag("web", frozenset({ip("10.0.0.1"), ip("10.0.0.2")}))
    lay = port.add_layer(Layer("ACL", 1, stateful=False))
    lay.add_group(Group("G", 1, OUT)).add_rule(
        Rule("to-web", 1, Allow(), conditions=conditions(dst_tag="web")))
    assert process(port, build_frame(6, POD, 1, ip("10.0.0.2"), 80), OUT).allowed
    assert not process(port, build_frame(6, POD, 1, ip("10.0.0.3"), 80), OUT).allowed


def test_lpm_group_in_pipeline_picks_longest_prefix() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    lay = port.add_layer(Layer("ROUTE", 1, stateful=False))
    g = lay.add_group(Group("G", 1, OUT, lpm=True))
    g.add_rule(Rule("wide", 1, Allow(), conditions=conditions(dst_ip="10.0.0.0/8")))
    g.add_rule(Rule("narrow", 5, Block(), conditions=conditions(dst_ip="10.1.0.0/16")))
    assert not process(port, build_frame(6, POD, 1, ip("10.1.2.3"), 80), OUT).allowed
    assert process(port, build_frame(6, POD, 1, ip("10.2.2.3"), 80), OUT).allowed
