"""Layer evaluation, stateful flows, TCP tracking, TTLs, the unified flow table."""

from __future__ import annotations

import pytest
from vfp_scenarios import DR_MAC, POD_MAC, Clock, acl_port, ip

import vxlan
from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    Allow,
    AlreadyExists,
    Block,
    DropReason,
    Group,
    InvalidRule,
    Layer,
    LbNat,
    Nat,
    Rule,
    Switch,
    conditions,
    process,
)
from vfp.errors import parse_frame
from vxlan.packet import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Outer, build_frame

POD = ip("10.244.1.5")
REMOTE = ip("10.244.4.7")


def out_frame(flags: int = TCP_ACK, payload: bytes = b"data", sport: int = 40000) -> bytes:
    return build_frame(6, POD, sport, REMOTE, 80, src_mac=POD_MAC, tcp_flags=flags,
                       payload=payload)


def reply_frame(flags: int = TCP_ACK, payload: bytes = b"resp", sport: int = 80,
                dport: int = 40000) -> bytes:
    outer = Outer(0x1, 0x2, ip("192.168.1.20"), ip("192.168.1.10"), 5555, 4096)
    return build_frame(6, REMOTE, sport, POD, dport, tcp_flags=flags, payload=payload,
                       outer=outer)


def test_outbound_overlay_packet_is_encapsulated_to_remote_pa() -> None:
    _, port = acl_port()
    r = process(port, out_frame(TCP_SYN), OUT)
    assert r.allowed
    assert r.output is not None
    d = vxlan.decapsulate(r.output)
    assert d.vni == 4096
    assert d.dst_pa == ip("192.168.1.20")
    assert d.src_pa == ip("192.168.1.10")
    inner = vxlan.decode_frame(d.inner)
    assert inner.eth.dst == DR_MAC.to_bytes(6, "big")
    assert inner.ip is not None
    assert inner.ip.dst == REMOTE


def test_inbound_unsolicited_packet_is_blocked_but_reply_passes() -> None:
    _, port = acl_port()
    blocked = process(port, reply_frame(TCP_SYN), IN)
    assert not blocked.allowed
    assert blocked.reason is DropReason.RULE_BLOCK
    assert process(port, out_frame(TCP_SYN), OUT).allowed
    reply = process(port, reply_frame(TCP_SYN | TCP_ACK), IN)
    assert reply.allowed
    assert reply.output is not None
    assert reply.output == reply_frame(TCP_SYN | TCP_ACK)[50:]
    assert port.drops[IN][DropReason.RULE_BLOCK] == 1


def test_second_packet_takes_fast_path_with_identical_bytes() -> None:
    _, port = acl_port()
    process(port, out_frame(TCP_SYN), OUT)
    first = process(port, out_frame(), OUT)
    second = process(port, out_frame(), OUT)
    assert not first.fast
    assert second.fast
    assert first.output == second.output


def test_policy_change_makes_unified_flow_stale_and_resimulated() -> None:
    _, port = acl_port()
    process(port, out_frame(TCP_SYN), OUT)
    process(port, out_frame(), OUT)
    assert process(port, out_frame(), OUT).fast
    gen = port.generation
    enc = port.get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    enc.remove_rule("REMOTESUBNETROUTE_10.244.4.0_24")
    assert port.generation > gen
    r = process(port, out_frame(), OUT)
    assert not r.fast
    assert r.allowed
    assert r.output is not None
    assert len(r.output) == len(out_frame())  # no longer encapsulated


def test_new_block_rule_ends_existing_stateful_flow() -> None:
    _, port = acl_port()
    process(port, out_frame(TCP_SYN), OUT)
    assert process(port, reply_frame(TCP_SYN | TCP_ACK), IN).allowed
    gout = port.get_layer("ACL_ENDPOINT_LAYER").get_group("ACL_ENDPOINT_GROUP_IPV4_OUT")
    gout.add_rule(Rule("deny-remote", 10, Block(), conditions=conditions(dst_ip="10.244.4.7")))
    assert not process(port, reply_frame(), IN).allowed
    assert not process(port, out_frame(), OUT).allowed


def test_flow_expires_after_ttl_on_injected_clock() -> None:
    clock = Clock()
    _, port = acl_port(clock)
    process(port, out_frame(TCP_SYN), OUT)
    process(port, reply_frame(TCP_SYN | TCP_ACK), IN)
    process(port, out_frame(), OUT)
    assert process(port, reply_frame(), IN).allowed
    clock.now += 239
    assert process(port, reply_frame(), IN).allowed  # refreshed the flow
    clock.now += 241
    assert not process(port, reply_frame(), IN).allowed


def test_fast_path_hits_refresh_layer_flows() -> None:
    clock = Clock()
    _, port = acl_port(clock)
    process(port, out_frame(TCP_SYN), OUT)
    process(port, reply_frame(TCP_SYN | TCP_ACK), IN)
    for _ in range(5):
        clock.now += 200
        assert process(port, out_frame(), OUT).allowed
    assert process(port, reply_frame(), IN).allowed


def test_tcp_fin_moves_flow_to_time_wait_ttl() -> None:
    clock = Clock()
    _, port = acl_port(clock)
    process(port, out_frame(TCP_SYN), OUT)
    process(port, reply_frame(TCP_SYN | TCP_ACK), IN)
    process(port, out_frame(), OUT)
    process(port, out_frame(TCP_FIN | TCP_ACK), OUT)
    process(port, reply_frame(TCP_FIN | TCP_ACK), IN)
    clock.now += port.settings.time_wait_ttl + 1
    assert not process(port, reply_frame(), IN).allowed


def test_tcp_rst_removes_flow_pair() -> None:
    _, port = acl_port()
    process(port, out_frame(TCP_SYN), OUT)
    assert process(port, reply_frame(TCP_RST), IN).allowed
    assert not port.get_layer("ACL_ENDPOINT_LAYER").flows
    assert not process(port, reply_frame(), IN).allowed


def test_tcp_rst_also_ends_the_cached_fast_path_entries() -> None:
    # Established both ways, so each direction has a unified-flow entry; a RST must end
    # them with the layer flows, or later segments of the reset connection keep passing.
    _, port = acl_port()
    process(port, out_frame(TCP_SYN), OUT)
    process(port, reply_frame(TCP_SYN | TCP_ACK), IN)
    assert process(port, out_frame(), OUT).allowed
    assert process(port, reply_frame(), IN).allowed
    assert process(port, reply_frame(), IN).fast
    assert process(port, reply_frame(TCP_RST), IN).allowed
    assert not port.get_layer("ACL_ENDPOINT_LAYER").flows
    assert not process(port, reply_frame(), IN).allowed


def test_half_open_flow_expires_with_half_open_ttl() -> None:
    clock = Clock()
    _, port = acl_port(clock)
    process(port, out_frame(TCP_SYN), OUT)
    clock.now += port.settings.half_open_ttl + 1
    assert not process(port, reply_frame(TCP_SYN | TCP_ACK), IN).allowed


def _nat_port(action: Nat | LbNat) -> tuple[Switch, Layer]:
    sw = Switch(clock=Clock())
    port = sw.add_port("p1", mac=POD_MAC)
    lay = port.add_layer(Layer("SLB_NAT_LAYER", 50, stateful=True, flags=DEFAULT_ALLOW))
    g = lay.add_group(Group("SLB_GROUP_NAT_IPv4_OUT", 1, OUT))
    g.add_rule(Rule("LB_1", 100, action, flags=TERMINATING | STATEFUL, ttl=240,
                    conditions=conditions(proto="6", dst_ip="10.96.0.10", dst_port="443")))
    return sw, lay


def test_lbnat_rewrites_vip_to_a_dip_and_reply_is_reverse_natted() -> None:
    dips = ((ip("10.244.1.10"), 8443), (ip("10.244.1.11"), 8443))
    sw, _ = _nat_port(LbNat(dips))
    port = sw.get_port("p1")
    f = build_frame(6, POD, 5000, ip("10.96.0.10"), 443, tcp_flags=TCP_SYN)
    r = process(port, f, OUT)
    assert r.output is not None
    out = parse_frame(r.output)
    assert not isinstance(out, DropReason)
    assert (out.dst_ip, out.dport) in dips
    back = build_frame(6, out.dst_ip, 8443, POD, 5000, tcp_flags=TCP_SYN | TCP_ACK)
    rr = process(port, back, IN)
    assert rr.output is not None
    rep = parse_frame(rr.output)
    assert not isinstance(rep, DropReason)
    assert (rep.src_ip, rep.sport) == (ip("10.96.0.10"), 443)


def test_lbnat_source_ip_distribution_is_sticky_per_source() -> None:
    dips = tuple((ip(f"10.244.1.{i}"), None) for i in range(10, 20))
    action = LbNat(dips, distribution="source-ip")
    sw, _ = _nat_port(action)
    port = sw.get_port("p1")
    chosen = set()
    for sport in range(5000, 5020):
        r = process(port, build_frame(6, POD, sport, ip("10.96.0.10"), 443), OUT)
        assert r.output is not None
        out = parse_frame(r.output)
        assert not isinstance(out, DropReason)
        chosen.add(out.dst_ip)
    assert len(chosen) == 1


def test_rule_with_impossible_value_is_refused_naming_field() -> None:
    g = Group("G", 1, OUT)
    with pytest.raises(InvalidRule) as err:
        g.add_rule(Rule("r", 70000, Allow()))
    assert err.value.field == "priority"
    with pytest.raises(InvalidRule) as err:
        g.add_rule(Rule("r", 1, Allow(), conditions=conditions(dst_port="80-70000")))
    assert err.value.field == "destination port"
    with pytest.raises(InvalidRule) as err:
        g.add_rule(Rule("r", 1, LbNat(())))
    assert err.value.field == "DIP list"
    with pytest.raises(InvalidRule) as err:
        Group("G6", 1, OUT).add_rule(Rule("r", 1, conditions=conditions(proto="300")))
    assert err.value.field == "protocol"


def test_refused_rule_batch_leaves_group_unchanged() -> None:
    sw = Switch()
    port = sw.add_port("P")
    g = port.add_layer(Layer("L", 1)).add_group(Group("G", 1, OUT))
    g.add_rule(Rule("old", 5, Allow()))
    generation = port.generation
    with pytest.raises(AlreadyExists):
        g.add_rules([Rule("new1", 1, Allow()), Rule("old", 2, Block())])
    with pytest.raises(AlreadyExists):
        g.add_rules([Rule("twin", 1, Allow()), Rule("twin", 2, Block())])
    with pytest.raises(InvalidRule):
        g.add_rules([Rule("new2", 1, Allow()), Rule("bad", 70000, Allow())])
    assert sorted(g.rules) == ["old"]
    assert port.generation == generation


def test_blocked_port_drops_everything() -> None:
    _, port = acl_port()
    port.set_state(blocked=True)
    r = process(port, out_frame(TCP_SYN), OUT)
    assert not r.allowed
    assert r.reason is DropReason.PORT_BLOCKED


def test_layer_default_blocks_without_default_allow_flag() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    port.add_layer(Layer("L", 1, stateful=False))
    r = process(port, out_frame(), OUT)
    assert not r.allowed
    assert r.reason is DropReason.LAYER_DEFAULT
    assert process(port, out_frame(), OUT).fast  # policy drops are cached too


def test_non_terminating_rule_lets_later_group_decide() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    lay = port.add_layer(Layer("L", 1, stateful=False))
    g1 = lay.add_group(Group("G1", 1, OUT))
    g2 = lay.add_group(Group("G2", 2, OUT))
    g1.add_rule(Rule("soft-deny", 1, Block(), flags=0))
    g2.add_rule(Rule("allow", 1, Allow(), flags=0))
    assert process(port, out_frame(), OUT).allowed
    g1.remove_rule("soft-deny")
    g1.add_rule(Rule("hard-deny", 1, Block(), flags=TERMINATING))
    assert not process(port, out_frame(), OUT).allowed


def test_syn_only_and_non_syn_rule_flags_match_on_tcp_flags() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    lay = port.add_layer(Layer("L", 1, stateful=False))
    g = lay.add_group(Group("G", 1, OUT))
    g.add_rule(Rule("syn-only", 1, Allow(), flags=TERMINATING | 16))
    g.add_rule(Rule("non-syn-block", 2, Block(), flags=TERMINATING | 4))
    g.add_rule(Rule("rest", 3, Allow()))
    assert process(port, out_frame(TCP_SYN), OUT).allowed
    assert not process(port, out_frame(TCP_ACK), OUT).allowed
    # "non-SYN" means "not a TCP SYN": UDP matches it too
    assert not process(port, build_frame(17, POD, 1, REMOTE, 53), OUT).allowed
    g.remove_rule("non-syn-block")
    assert process(port, build_frame(17, POD, 1, REMOTE, 53), OUT).allowed


def test_ipv6_packets_run_ipv6_groups_on_the_slow_path() -> None:
    sw = Switch(clock=Clock())
    port = sw.add_port("p")
    lay = port.add_layer(Layer("ACL", 1, stateful=True))
    g4 = lay.add_group(Group("V4_OUT", 1, OUT))
    g6 = lay.add_group(Group("V6_OUT", 2, OUT, version=6))
    g4.add_rule(Rule("allow-v4", 1, Allow()))
    g6.add_rule(Rule("allow-v6-web", 1, Allow(), flags=TERMINATING | STATEFUL,
                     conditions=conditions(dst_ip="fd00::/64", dst_port="443")))
    lay.add_group(Group("V6_IN", 1, IN, version=6))
    src, dst = ip("fd00::5"), ip("fd00::7")
    f = build_frame(6, src, 5000, dst, 443, version=6, payload=b"x")
    r = process(port, f, OUT)
    assert r.allowed
    assert r.output == f
    assert not process(port, build_frame(6, src, 5000, dst, 80, version=6), OUT).allowed
    reply = build_frame(6, dst, 443, src, 5000, version=6)
    assert process(port, reply, IN).allowed
    assert not process(port, build_frame(6, dst, 444, src, 5000, version=6), IN).allowed


def test_sweep_removes_expired_flows_and_releases_nat_ports() -> None:
    from vfp import DynNat, NatRange
    from vfp.pipeline import sweep

    clock = Clock()
    sw = Switch(clock=clock)
    port = sw.add_port("p")
    port.add_nat_pool("POOL", [NatRange(ip("172.16.0.1"), 40000, 40000)])
    lay = port.add_layer(Layer("SNAT", 1, stateful=True, flags=DEFAULT_ALLOW))
    lay.add_group(Group("OUT", 1, OUT)).add_rule(
        Rule("SNAT", 1, DynNat("POOL"), flags=TERMINATING | STATEFUL, ttl=60))
    udp = build_frame(17, POD, 1, REMOTE, 53, payload=b"q")
    assert process(port, udp, OUT).allowed
    other = build_frame(17, POD, 2, REMOTE, 53, payload=b"q")
    assert process(port, other, OUT).reason is DropReason.NAT_EXHAUSTED
    clock.now += 61
    assert sweep(port) > 0
    assert not lay.flows
    assert not port.uft[OUT]
    assert process(port, other, OUT).allowed  # the port went back to the pool


def test_switch_reset_forgets_ports() -> None:
    sw, _ = acl_port()
    sw.reset()
    assert not sw.ports
    sw.add_port("c9385412-bdef-49f5-88b0-c9d484ef6716")


def test_vm_udp_to_vxlan_port_is_plain_udp_out_but_malformed_vxlan_in() -> None:
    # A container may send anything to UDP 4789; only frames from the wire must be VXLAN.
    sw = Switch()
    port = sw.add_port("p", mac=POD_MAC)
    layer = port.add_layer(Layer("L", 10, flags=DEFAULT_ALLOW))
    layer.add_group(Group("G_OUT", 1, OUT))
    layer.add_group(Group("G_IN", 1, IN))
    frame = build_frame(17, POD, 40000, REMOTE, 4789, src_mac=POD_MAC, payload=b"not vxlan")
    out = process(port, frame, OUT)
    assert out.allowed
    assert out.output == frame
    back = process(port, frame, IN)
    assert not back.allowed
    assert back.reason == DropReason.TRUNCATED
    assert port.drops[IN][DropReason.TRUNCATED] == 1


def test_switch_set_vxlan_port_changes_parsing_and_bumps_ports() -> None:
    sw = Switch()
    port = sw.add_port("p", mac=POD_MAC)
    gen = port.generation
    sw.set_vxlan_port(8472)
    assert port.vxlan_port == 8472
    assert port.vxlan_port_bytes == (8472).to_bytes(2, "big")
    assert port.generation > gen
    with pytest.raises(InvalidRule):
        sw.set_vxlan_port(0)
