"""What the compiler makes of the fields real clients leave out or repeat: an ACL without
Direction is inbound, Protocols naming 256 anywhere means any protocol, a load balancer port
mapping without ExternalPort listens on its InternalPort, and a backend named twice is one
DIP. Each of these let a hand mutant of hns/compiler/rules.py survive the whole suite once
(issue 15); the assertions state the rule, not incidental output."""

from __future__ import annotations

import json
import uuid

import pytest
from compiler_helpers import IPPROTO_TCP, IPPROTO_UDP, Rig, decode, frame

import hns.compiler.rules as R
import vfp
from hns.model.read import Endpoint, read_endpoint, read_load_balancer

ACL_LAYER = "ACL_ENDPOINT_LAYER"


def _acl(**settings: object) -> dict[str, object]:
    return {"Type": "ACL", "Settings": {"RuleType": "Switch", **settings}}


def _acl_rules(rig: Rig, ep: str, group: str) -> list[vfp.Rule]:
    layer = rig.port(ep).get_layer(ACL_LAYER)
    return list(layer.get_group(group).rules.values())


def test_acl_without_direction_is_inbound() -> None:
    """The API refuses an ACL without Direction, but a state dump (an older emulator's, or
    one written by hand) is loaded as stored; the compiler then reads Direction as In."""
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        _acl(Id="no-direction", Action="Block", Direction="Out", Priority=100, Protocols="6",
             RemoteAddresses="10.0.0.9", LocalPorts="80"),
    ])
    dump = rig.service.dump()
    (stored,) = dump["Objects"]["endpoint"]
    for policy in stored["Policies"]:
        if policy["Type"] == "ACL":
            del policy["Settings"]["Direction"]
    rig.service.load(dump)
    assert [r.name for r in _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV4_IN")] == ["no-direction"]
    assert _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV4_OUT") == []
    # and it acts inbound: RemoteAddresses is the source, LocalPorts the destination port
    rule = _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV4_IN")[0]
    assert rule.conditions.src_ips == ((0x0A000009, 0x0A000009),)
    assert rule.conditions.dst_ports == ((80, 80),)


@pytest.mark.parametrize("protocols", ["256", "6,256", "256,17", "1, 256"])
def test_acl_protocols_naming_256_anywhere_mean_any_protocol(protocols: str) -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        _acl(Id="allow-any", Action="Allow", Direction="In", Priority=100, Protocols=protocols),
    ])
    (rule,) = _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV4_IN")
    assert rule.conditions.protocols == ()
    port = rig.port(ep)
    for proto in (IPPROTO_TCP, IPPROTO_UDP):
        got = vfp.process(port, frame("10.0.0.9", "10.0.0.5", proto=proto, sport=1000 + proto),
                          vfp.IN)
        assert got.allowed, (protocols, proto, got.reason)


def test_acl_protocols_without_256_keep_their_list() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        _acl(Id="tcp-udp", Action="Allow", Direction="In", Priority=100, Protocols="6,17"),
    ])
    (rule,) = _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV4_IN")
    assert sorted(rule.conditions.protocols) == [6, 17]


def _lb(rig: Rig, backends: list[str], mapping: dict[str, int]) -> str:
    body = {"HostComputeEndpoints": backends, "PortMappings": [mapping],
            "FrontendVIPs": ["10.96.0.10"], "SchemaVersion": {"Major": 2, "Minor": 0}}
    got = rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(body))
    return str(got["ID"])


def test_lb_mapping_without_external_port_listens_on_its_internal_port() -> None:
    rig = Rig()
    net = rig.network()
    client = rig.endpoint(net, "10.0.0.5")
    backend = rig.endpoint(net, "10.0.0.6")
    _lb(rig, [backend], {"Protocol": 6, "InternalPort": 8080})
    port = rig.port(client)
    got = vfp.process(port, frame("10.0.0.5", "10.96.0.10", dport=8080), vfp.OUT)
    assert got.allowed
    assert got.output is not None
    out = decode(got.output)
    assert out.ip is not None
    assert out.l4 is not None
    assert (out.ip.dst, out.l4.dport) == (0x0A000006, 8080)
    # it listens on that port only: a frame to another port of the VIP is not balanced
    other = vfp.process(port, frame("10.0.0.5", "10.96.0.10", dport=9999, sport=40001), vfp.OUT)
    assert other.output is None or decode(other.output).ip.dst == 0x0A60000A  # type: ignore[union-attr]


def test_compiler_reads_a_stored_mapping_without_external_port_as_its_internal_port() -> None:
    """The service stores ExternalPort = InternalPort when a client leaves it out; the
    compiler's own reading of a stored mapping without it (rules.lb_items) agrees."""
    rig = Rig()
    net = rig.network()
    client = rig.endpoint(net, "10.0.0.5")
    backend = rig.endpoint(net, "10.0.0.6")
    key = _lb(rig, [backend], {"Protocol": 6, "InternalPort": 8080}).upper()
    view = rig.compiler.view
    stored = next(lb for lb in rig.service.stored()["loadbalancer"] if lb["ID"].upper() == key)
    bare = dict(stored, PortMappings=[{k: v for k, v in pm.items() if k != "ExternalPort"}
                                      for pm in stored["PortMappings"]])
    target = R.Target(client.upper(), view.endpoints[client.upper()], 0)
    got = [i for i in R.lb_items(target, view, key, read_load_balancer(bare))
           if isinstance(i, R.RuleSpec)]
    want = [i for i in R.lb_items(target, view, key, view.lbs[key])
            if isinstance(i, R.RuleSpec)]
    assert [r.conditions.dst_ports for r in got] == [((8080, 8080),)]
    assert got == want


def test_lb_backend_named_twice_is_one_dip() -> None:
    rig = Rig()
    net = rig.network()
    client = rig.endpoint(net, "10.0.0.5")
    b1 = rig.endpoint(net, "10.0.0.6")
    b2 = rig.endpoint(net, "10.0.0.7")
    _lb(rig, [b1, b1, b2, b1.lower()],
        {"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80})
    rules = rig.port(client).get_layer("SLB_LB_LAYER").get_group("SLB_GROUP_LB_IPv4_OUT").rules
    (rule,) = rules.values()
    assert isinstance(rule.action, vfp.LbNat)
    dips = [ip for ip, _ in rule.action.dips]
    assert sorted(dips) == [0x0A000006, 0x0A000007]


def test_encap_overhead_zero_or_absent_is_the_default_overhead() -> None:
    from hns.compiler import layers

    def ep(*settings: object) -> Endpoint:
        return read_endpoint({"ID": "E", "Policies": [{"Type": "EncapOverhead", "Settings": s}
                                                      for s in settings]})

    assert R.encap_overhead(ep()) == layers.DEFAULT_ENCAP_OVERHEAD
    assert R.encap_overhead(ep({"Overhead": 0})) == layers.DEFAULT_ENCAP_OVERHEAD
    assert R.encap_overhead(ep({"Overhead": 0}, {"Overhead": 70})) == 70
    assert R.encap_overhead(ep({"Overhead": 1})) == 1


def test_ipv6_acl_address_with_host_bits_is_its_prefix() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        _acl(Id="v6", Action="Block", Direction="In", Priority=10,
             RemoteAddresses="fd00::5/64"),
    ])
    (rule,) = _acl_rules(rig, ep, "ACL_ENDPOINT_GROUP_IPV6_IN")
    lo = 0xFD00 << 112
    assert rule.conditions.src_ips == ((lo, lo + (1 << 64) - 1),)


def _pa(address: str) -> dict[str, object]:
    return {"Type": "ProviderAddress", "Settings": {"ProviderAddress": address}}


def test_dsr_encapsulates_only_on_overlay_networks() -> None:
    """DSR keeps the VIP and encapsulates to a remote backend's PA on an overlay network; on
    a network without VXLAN (L2Bridge) the same load balancer is plain DNAT."""
    from hns.compiler.actions import DsrLbNat

    for ntype, dsr in (("Overlay", True), ("L2Bridge", False)):
        rig = Rig(dsr_keeps_vip=True)
        net = rig.network(type=ntype, prefix="10.244.1.0/24", gateway="10.244.1.1",
                          vsid=4096 if ntype == "Overlay" else None)
        client = rig.endpoint(net, "10.244.1.5")
        remote = rig.endpoint(net, "10.244.1.9", remote=True, policies=[_pa("172.16.0.9")])
        rig.load_balancer([remote], flags=1)
        port = rig.port(client)
        actions = [r.action for layer in port.layers.values() for g in layer.groups.values()
                   for r in g.rules.values() if isinstance(r.action, vfp.LbNat)]
        assert actions, ntype
        assert all(isinstance(a, DsrLbNat) == dsr for a in actions), (ntype, actions)


def test_a_remote_endpoint_without_a_provider_address_gets_no_encap_mapping() -> None:
    rig = Rig()
    net = rig.network(type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1", vsid=4096)
    client = rig.endpoint(net, "10.244.1.5")
    rig.endpoint(net, "10.244.1.9", remote=True)  # no ProviderAddress policy
    rig.endpoint(net, "10.244.1.10", remote=True, policies=[_pa("172.16.0.9")])
    encap = rig.port(client).get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    names = [r.id for r in encap.rules.values() if r.id.startswith("MAP_ENCAP_")]
    assert names == ["MAP_ENCAP_10.244.1.10"]
