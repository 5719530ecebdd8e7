"""Incremental compilation: a change to one object recompiles only the ports it touches and
bumps only their generation; no-op changes touch nothing."""

from __future__ import annotations

import json
import uuid

from compiler_helpers import Rig


def gens(rig: Rig, eps: list[str]) -> list[int]:
    return [rig.port(ep).generation for ep in eps]


def acl(priority: int) -> dict[str, object]:
    return {"Type": "ACL", "Settings": {"Id": f"a{priority}", "Action": "Allow",
                                        "Direction": "In", "Priority": priority,
                                        "RuleType": "Switch"}}


def test_endpoint_policy_change_touches_only_that_port() -> None:
    rig = Rig()
    net = rig.network()
    eps = [rig.endpoint(net, f"10.0.0.{i}") for i in range(5, 9)]
    before = gens(rig, eps)
    counts = dict(rig.compiler.recompiles)
    rig.modify_endpoint_policies(eps[1], [acl(100)])
    after = gens(rig, eps)
    assert after[1] > before[1]
    assert [after[i] for i in (0, 2, 3)] == [before[i] for i in (0, 2, 3)]
    assert rig.compiler.recompiles[eps[1]] == counts[eps[1]] + 1
    assert all(rig.compiler.recompiles[eps[i]] == counts[eps[i]] for i in (0, 2, 3))


def test_adding_one_acl_adds_one_rule_without_rebuilding_the_others() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[acl(100), acl(200)])
    group = rig.port(ep).get_layer("ACL_ENDPOINT_LAYER").get_group("ACL_ENDPOINT_GROUP_IPV4_IN")
    kept = dict(group.rules)
    rig.modify_endpoint_policies(ep, [acl(300)])
    assert len(group.rules) == 3
    assert all(group.rules[k] is rule for k, rule in kept.items())


def test_load_balancer_on_other_network_leaves_ports_alone() -> None:
    rig = Rig()
    n1 = rig.network("a", prefix="10.0.0.0/24", gateway="10.0.0.1")
    n2 = rig.network("b", prefix="10.1.0.0/24", gateway="10.1.0.1")
    a1, a2 = rig.endpoint(n1, "10.0.0.5"), rig.endpoint(n1, "10.0.0.6")
    b1 = rig.endpoint(n2, "10.1.0.5")
    before = gens(rig, [a1, a2, b1])
    body = {"HostComputeEndpoints": [a2], "HostComputeNetwork": n1, "FrontendVIPs": ["10.96.0.1"],
            "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 80}],
            "SchemaVersion": {"Major": 2, "Minor": 0}}
    rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(body))
    after = gens(rig, [a1, a2, b1])
    assert after[0] > before[0]
    assert after[1] > before[1]
    assert after[2] == before[2]


def test_host_wide_load_balancer_changes_each_port_once() -> None:
    rig = Rig()
    net = rig.network()
    eps = [rig.endpoint(net, f"10.0.0.{i}") for i in range(5, 9)]
    counts = [rig.compiler.recompiles[ep] for ep in eps]
    rig.load_balancer(eps[2:])
    assert [rig.compiler.recompiles[ep] - c for ep, c in zip(eps, counts, strict=True)] == \
        [1, 1, 1, 1]


def test_attach_without_policy_change_touches_nothing() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5")
    gen = rig.port(ep).generation
    ns = rig.service.hcn_call("HcnCreateNamespace", str(uuid.uuid4()),
                              json.dumps({"SchemaVersion": {"Major": 2, "Minor": 0}}))
    body = {"ResourceType": "Endpoint", "RequestType": "Add", "Settings": {"EndpointId": ep}}
    rig.service.hcn_call("HcnModifyNamespace", ns["ID"], json.dumps(body))
    assert rig.port(ep).generation == gen


def test_remote_endpoint_touches_only_ports_of_its_network() -> None:
    rig = Rig()
    ov = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                     vsid=4096)
    other = rig.network("nat", prefix="10.1.0.0/24", gateway="10.1.0.1")
    a = rig.endpoint(ov, "10.244.1.5")
    b = rig.endpoint(other, "10.1.0.5")
    before = gens(rig, [a, b])
    rig.endpoint(ov, "10.244.2.9", remote=True,
                 policies=[{"Type": "ProviderAddress",
                            "Settings": {"ProviderAddress": "172.16.0.9"}}])
    after = gens(rig, [a, b])
    assert after[0] > before[0]
    assert after[1] == before[1]


def test_resync_of_unchanged_state_keeps_every_generation() -> None:
    rig = Rig()
    net = rig.network()
    eps = [rig.endpoint(net, f"10.0.0.{i}", policies=[acl(100)]) for i in range(5, 8)]
    rig.load_balancer(eps[1:])
    before = gens(rig, eps)
    rig.compiler.sync()
    assert gens(rig, eps) == before


def test_sdn_route_object_programs_only_its_endpoints() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    a, b = rig.endpoint(net, "10.244.1.5"), rig.endpoint(net, "10.244.1.6")
    before = gens(rig, [a, b])
    body = {"HostComputeEndpoints": [a], "SchemaVersion": {"Major": 2, "Minor": 0},
            "Routes": [{"DestinationPrefix": "10.50.0.0/16", "NeedEncap": False}]}
    route = rig.service.hcn_call("HcnCreateSdnRoute", str(uuid.uuid4()), json.dumps(body))
    after = gens(rig, [a, b])
    assert after[0] > before[0]
    assert after[1] == before[1]
    group = rig.port(a).get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    assert [r.id for r in group.rules.values()] == \
        [f"SDN_ROUTE_ROUTE_{route['ID'].upper()}_10.50.0.0/16"]
    rig.delete("SdnRoute", route["ID"])
    assert not group.rules
