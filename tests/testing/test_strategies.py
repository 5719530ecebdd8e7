"""hns.testing.strategies: every valid object is accepted by the emulator, every invalid
one refused with its HRESULT (and changes nothing); edge values are reachable; packets
decode to the flow they were drawn for."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import find as _find
from hypothesis import strategies as st

from hns.errors import HnsError
from hns.hosts import Host
from hns.service import HnsService
from hns.testing import strategies as hs
from vxlan import decode_frame, flow_key

EXAMPLES = settings(max_examples=40, deadline=None)
T = TypeVar("T")


def find(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """The first draw meeting ``condition`` in 300 (no shrinking: only reachability is
    asserted, and shrinking composite objects is slow)."""
    return _find(strategy, condition, settings=settings(
        phases=[Phase.generate], max_examples=300, database=None, deadline=None))


@pytest.fixture
def svc() -> Iterator[HnsService]:
    service = HnsService()
    try:
        yield service
    finally:
        service.close()


def create(svc: HnsService, kind: str, body: Any) -> dict[str, Any]:
    out = svc.hcn_call(f"HcnCreate{kind}", None, json.dumps(body))
    return json.loads(out) if isinstance(out, str) else dict(out)


def refused(svc: HnsService, invalid: hs.Invalid, call: Any) -> None:
    before = svc.dump()
    with pytest.raises(HnsError) as info:
        call()
    assert type(info.value) is invalid.error, invalid.reason
    assert info.value.hresult == invalid.hresult
    assert svc.dump() == before


# ---- valid objects are accepted ---------------------------------------------------------

@EXAMPLES
@given(body=hs.networks())
def test_networks_accepted_and_read_back(body: dict[str, Any]) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", body)
        assert net["Name"] == body["Name"]
        assert net.get("Type", "NAT") == body["Type"]
        got = [s["IpAddressPrefix"] for s in net["Ipams"][0]["Subnets"]]
        assert got == [s["IpAddressPrefix"] for s in body["Ipams"][0]["Subnets"]]
    finally:
        svc.close()


@EXAMPLES
@given(pair=hs.overlapping_subnets(), data=st.data())
def test_overlapping_subnets_accepted_on_two_networks(
    pair: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    a, b = (ipaddress.IPv4Network(s["IpAddressPrefix"]) for s in pair)
    assert a.overlaps(b)
    svc = HnsService()
    try:
        for i, subnet in enumerate(pair):
            body = data.draw(hs.networks(types=("NAT", "L2Bridge")))
            body["Name"] += f"-{i}"  # two draws may repeat a name (the minimal example does)
            body["Ipams"] = [{"Type": "Static", "Subnets": [subnet]}]
            create(svc, "Network", body)
        assert len(svc.dump()["Objects"]["network"]) == 2
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_endpoints_accepted_inside_their_subnet(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks()))
        body = data.draw(hs.endpoints(net))
        ep = create(svc, "Endpoint", body)
        ip = ipaddress.IPv4Address(ep["IpConfigurations"][0]["IpAddress"])
        prefixes = [ipaddress.IPv4Network(s["IpAddressPrefix"])
                    for s in net["Ipams"][0]["Subnets"]]
        assert any(ip in p for p in prefixes)
        if "IpConfigurations" in body:
            assert str(ip) == body["IpConfigurations"][0]["IpAddress"]
        assert len(ep.get("Policies", [])) == len(body.get("Policies", []))
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_acl_policy_sets_accepted_on_an_endpoint(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("L2Bridge", "Overlay"))))
        ep = create(svc, "Endpoint", data.draw(hs.endpoints(net, acls=True)))
        acls = [p for p in ep["Policies"] if p["Type"] == "ACL"]
        assert acls
        assert all(p["Settings"]["Direction"] in ("In", "Out") for p in acls)
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_remote_endpoints_and_subnet_routes_accepted(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("Overlay",))))
        remote = create(svc, "Endpoint", data.draw(hs.remote_endpoints(net)))
        assert remote["Flags"] & 1
        routes = data.draw(st.lists(hs.remote_subnet_routes(), min_size=1, max_size=3,
                                    unique_by=lambda p: json.dumps(p, sort_keys=True)))
        existing = [json.dumps(p, sort_keys=True) for p in net.get("Policies", [])]
        routes = [r for r in routes if json.dumps(r, sort_keys=True) not in existing]
        svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(
            {"ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": routes}}))
        got = svc.hcn_call("HcnQueryNetworkProperties", net["ID"], None)
        prefixes = {p["Settings"]["DestinationPrefix"] for p in got["Policies"]
                    if p["Type"] == "RemoteSubnetRoute"}
        assert {r["Settings"]["DestinationPrefix"] for r in routes} <= prefixes
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data(), profile=st.sampled_from(["ws2019", "ws2022", "ws2025"]))
def test_load_balancers_accepted_on_each_profile(data: st.DataObject, profile: str) -> None:
    svc = HnsService(profile=profile)
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("NAT", "L2Bridge"),
                                                           max_prefix=28)))
        ids = [create(svc, "Endpoint", data.draw(hs.endpoints(net, ip=False)))["ID"]
               for _ in range(data.draw(st.integers(1, 3)))]
        body = data.draw(hs.load_balancers(ids, profile=profile))
        lb = create(svc, "LoadBalancer", body)
        assert lb["HostComputeEndpoints"] == body["HostComputeEndpoints"]
        assert len(lb["PortMappings"]) == len(body["PortMappings"])
    finally:
        svc.close()


# ---- invalid objects are refused with their HRESULT ------------------------------------

@EXAMPLES
@given(invalid=hs.invalid_networks())
def test_invalid_networks_refused_with_their_hresult(invalid: hs.Invalid) -> None:
    svc = HnsService()
    try:
        refused(svc, invalid, lambda: create(svc, "Network", invalid.body))
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_invalid_endpoints_refused_with_their_hresult(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks()))
        invalid = data.draw(hs.invalid_endpoints(net))
        refused(svc, invalid, lambda: create(svc, "Endpoint", invalid.body))
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_invalid_acl_policies_refused_with_their_hresult(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("L2Bridge",))))
        invalid = data.draw(hs.invalid_acl_policies())
        body = data.draw(hs.endpoints(net, acls=False))
        body["Policies"] = [invalid.body]
        refused(svc, invalid, lambda: create(svc, "Endpoint", body))
        ep = create(svc, "Endpoint", data.draw(hs.endpoints(net, ip=False, acls=False)))
        request = {"ResourceType": "Policy", "RequestType": "Add",
                   "Settings": {"Policies": [invalid.body]}}
        refused(svc, invalid, lambda: svc.hcn_call("HcnModifyEndpoint", ep["ID"],
                                                   json.dumps(request)))
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_invalid_load_balancers_refused_with_their_hresult(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("NAT",))))
        ids = [create(svc, "Endpoint", data.draw(hs.endpoints(net, ip=False)))["ID"]]
        invalid = data.draw(hs.invalid_load_balancers(ids))
        refused(svc, invalid, lambda: create(svc, "LoadBalancer", invalid.body))
    finally:
        svc.close()


@EXAMPLES
@given(data=st.data())
def test_invalid_remote_subnet_routes_refused_with_their_hresult(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("Overlay",))))
        invalid = data.draw(hs.invalid_remote_subnet_routes())
        request = {"ResourceType": "Policy", "RequestType": "Add",
                   "Settings": {"Policies": [invalid.body]}}
        refused(svc, invalid, lambda: svc.hcn_call("HcnModifyNetwork", net["ID"],
                                                   json.dumps(request)))
    finally:
        svc.close()


# ---- over HTTP, through the plugin's server ---------------------------------------------

@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_strategies_over_http_accepted_and_refused(hns_client: Any, data: st.DataObject) -> None:
    hns_client.reset()
    net = hns_client.hcn_create_network(data.draw(hs.networks()))
    ep = hns_client.hcn_create_endpoint(data.draw(hs.endpoints(net)))
    hns_client.hcn_create_load_balancer(data.draw(hs.load_balancers([ep["ID"]])))
    invalid = data.draw(hs.invalid_networks())
    with pytest.raises(HnsError) as info:
        hns_client.hcn_create_network(invalid.body)
    assert type(info.value) is invalid.error
    assert info.value.hresult == invalid.hresult


# ---- distributions -----------------------------------------------------------------------

@pytest.mark.parametrize("edge", [4096, 16777215])
def test_vsids_reach_their_edges(edge: int) -> None:
    assert find(hs.vsids(), lambda v: v == edge) == edge


@pytest.mark.parametrize("edge", [0, 65535])
def test_ports_reach_their_edges(edge: int) -> None:
    assert find(hs.ports(), lambda v: v == edge) == edge


@pytest.mark.parametrize("suffix", ["/0", "/32"])
def test_prefixes_reach_slash0_and_slash32(suffix: str) -> None:
    assert find(hs.ipv4_prefixes(), lambda p: p.endswith(suffix)).endswith(suffix)


def test_acl_sets_reach_protocol_256_and_full_port_range() -> None:
    found = find(hs.acl_policies(), lambda ps: any(p["Settings"]["Protocols"] == "256"
                                                   for p in ps))
    assert found
    rule = find(hs.acl_policy(protocols=("6",)),
                lambda p: p["Settings"].get("LocalPorts") == "0-65535")
    assert rule["Settings"]["LocalPorts"] == "0-65535"


def test_networks_drawn_together_often_overlap() -> None:
    def overlap(pair: tuple[dict[str, Any], dict[str, Any]]) -> bool:
        a, b = (ipaddress.IPv4Network(n["Ipams"][0]["Subnets"][0]["IpAddressPrefix"])
                for n in pair)
        return a.overlaps(b)

    assert overlap(find(st.tuples(hs.networks(), hs.networks()), overlap))


@pytest.mark.parametrize("error", ["InvalidNetworkType", "InvalidNetwork", "InvalidPrefix",
                                   "InvalidSubnet", "InvalidPolicy", "InvalidPolicyType",
                                   "InvalidJson"])
def test_invalid_networks_reach_each_error(error: str) -> None:
    found = find(hs.invalid_networks(), lambda i: i.error.__name__ == error)
    assert found.error.__name__ == error


# ---- packets -----------------------------------------------------------------------------

@EXAMPLES
@given(flow=hs.flows(), payload=st.binary(max_size=64))
def test_flow_frames_decode_to_their_flow(flow: hs.Flow, payload: bytes) -> None:
    frame = flow.frame(payload)
    decoded = decode_frame(frame)
    assert decoded.payload == payload
    key = flow_key(frame)
    assert key is not None
    assert (key.src, key.dst) == (int(ipaddress.IPv4Address(flow.src_ip)),
                                  int(ipaddress.IPv4Address(flow.dst_ip)))
    assert (key.protocol, key.src_port, key.dst_port) == (
        flow.protocol, flow.src_port, flow.dst_port)


@EXAMPLES
@given(data=st.data())
def test_flows_to_load_balancer_hit_a_vip_and_mapping(data: st.DataObject) -> None:
    lb = data.draw(hs.load_balancers(["5f2b1c1e-0000-4000-8000-000000000001"]))
    flow = data.draw(hs.flows_to_load_balancer(lb))
    if lb.get("FrontendVIPs"):
        assert flow.dst_ip in lb["FrontendVIPs"]
    targets = {(pm["Protocol"], pm["ExternalPort"] or pm["InternalPort"])
               for pm in lb["PortMappings"]}
    assert (flow.protocol, flow.dst_port) in targets
    assert flow_key(data.draw(hs.frames(st.just(flow)))) is not None


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_flows_to_a_load_balancer_reach_one_of_its_backends(data: st.DataObject) -> None:
    """Frames from ``flows_to_load_balancer`` sent by a container of an in-process host
    arrive at one of the LB's backends, DNATed to its IP and InternalPort."""
    host = Host()
    try:
        svc = host.service
        net = create(svc, "Network", data.draw(hs.networks(types=("L2Bridge", "NAT"),
                                                           max_prefix=28)))
        client = create(svc, "Endpoint", {"HostComputeNetwork": net["ID"]})
        backends = [create(svc, "Endpoint", {"HostComputeNetwork": net["ID"]})
                    for _ in range(data.draw(st.integers(1, 3)))]
        lb = data.draw(hs.load_balancers([b["ID"] for b in backends]))
        lb.pop("Flags", None)  # DSR and the port-mapping flags change what arrives where
        for pm in lb["PortMappings"]:
            pm.pop("Flags", None)
        if not lb.get("FrontendVIPs"):
            lb["FrontendVIPs"] = [data.draw(hs.ipv4_addresses(within="10.96.0.0/12"))]
        create(svc, "LoadBalancer", lb)
        src = client["IpConfigurations"][0]["IpAddress"]
        flow = data.draw(hs.flows_to_load_balancer(lb, src_ips=st.just(src)))
        flow = hs.Flow(flow.src_ip, flow.dst_ip, flow.protocol, flow.src_port, flow.dst_port,
                       src_mac=client["MacAddress"])
        sent = host.send(client["ID"], flow.frame(b"hello"))
        by_id = {b["ID"].upper(): b for b in backends}
        assert sent.delivery.where == "endpoint", sent.delivery
        backend = by_id[sent.delivery.target.upper()]
        assert sent.delivery.frame is not None
        key = flow_key(sent.delivery.frame)
        assert key is not None
        mapping = next(pm for pm in lb["PortMappings"]
                       if pm["Protocol"] == flow.protocol
                       and (pm["ExternalPort"] or pm["InternalPort"]) == flow.dst_port)
        assert key.dst == int(ipaddress.IPv4Address(backend["IpConfigurations"][0]["IpAddress"]))
        assert key.dst_port == mapping["InternalPort"]
    finally:
        host.close()


@EXAMPLES
@given(data=st.data())
def test_flows_to_endpoints_and_remote_subnets_aim_inside(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        net = create(svc, "Network", data.draw(hs.networks(types=("Overlay",))))
        ep = create(svc, "Endpoint", data.draw(hs.endpoints(net)))
        remote = create(svc, "Endpoint", data.draw(hs.remote_endpoints(net)))
        for target in (ep, remote):
            flow = data.draw(hs.flows_to_endpoint(target))
            assert flow.dst_ip == target["IpConfigurations"][0]["IpAddress"]
        route = data.draw(hs.remote_subnet_routes())
        flow = data.draw(hs.flows_to_remote_subnet(route))
        prefix = ipaddress.IPv4Network(route["Settings"]["DestinationPrefix"])
        assert ipaddress.IPv4Address(flow.dst_ip) in prefix
    finally:
        svc.close()
