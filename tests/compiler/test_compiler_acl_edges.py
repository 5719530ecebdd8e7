"""ACL settings at their edges: Protocols at the ends of the range HNS accepts (0..255,
and 256 = any), where protocol 0 (HOPOPT) and 255 are protocols like any other, never
"any" (checked against the reference model, reference_model.py, with the rig of
test_compiler_reference); a single ``Protocol`` number; ``LocalPort``/``RemotePort`` 0."""

from __future__ import annotations

import pytest
from compiler_helpers import Rig, frame
from reference_model import Packet, inbound_allowed
from test_compiler_reference import CLIENT, build, check_outbound

import vfp

PROTOCOL_LISTS = ["0", "255", "0,255", "255,1", "0,17", "6,255", "256,0"]


@pytest.mark.parametrize("protocols", PROTOCOL_LISTS)
@pytest.mark.parametrize("direction", ["Out", "In"])
@pytest.mark.parametrize("proto", [6, 17])
def test_a_block_on_protocol_0_or_255_blocks_only_those(protocols: str, direction: str,
                                                        proto: int) -> None:
    acls = [{"Action": "Block", "Direction": direction, "Protocols": protocols},
            {"Action": "Allow", "Direction": direction}]
    rig, world, client = build(acls, [], None)
    if direction == "Out":
        check_outbound(rig, client, world, Packet(proto, CLIENT, 40000, "8.8.8.8", 53))
        return
    p = Packet(proto, "8.8.8.8", 53, CLIENT, 8080)
    got = vfp.process(rig.port(client), frame(p.src, CLIENT, proto=proto, sport=p.sport,
                                              dport=p.dport), vfp.IN)
    assert got.allowed == inbound_allowed(world, p)


def _acl_rule(settings: dict[str, object]) -> vfp.Rule:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[{"Type": "ACL", "Settings": {
        "RuleType": "Switch", "Id": "edge", "Action": "Block", "Direction": "Out",
        "Priority": 100, **settings}}])
    group = rig.port(ep).get_layer("ACL_ENDPOINT_LAYER").get_group("ACL_ENDPOINT_GROUP_IPV4_OUT")
    (rule,) = group.rules.values()
    return rule


def test_a_single_protocol_field_is_the_protocol_list() -> None:
    """A V1-style ``Protocol`` number without ``Protocols`` names that one protocol."""
    assert _acl_rule({"Protocol": 17}).conditions.protocols == (17,)
    assert _acl_rule({"Protocol": 17, "Protocols": "6"}).conditions.protocols == (6,)
    assert _acl_rule({}).conditions.protocols == ()


def test_port_0_is_any_port() -> None:
    """``LocalPort``/``RemotePort`` 0 is what hcsshim's omitempty uint16 leaves out: any."""
    rule = _acl_rule({"LocalPort": 0, "RemotePort": 0})
    assert (rule.conditions.src_ports, rule.conditions.dst_ports) == ((), ())
    rule = _acl_rule({"LocalPort": 1, "RemotePort": 65535})
    assert (rule.conditions.src_ports, rule.conditions.dst_ports) == (((1, 1),), ((65535, 65535),))
