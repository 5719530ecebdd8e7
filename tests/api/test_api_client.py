"""The Python client over the real backend (in-process app): every operation, and every
HNS failure raised as its own class with the exact HRESULT and message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.client import HnsClient
from hns.errors import (
    ElementNotFound,
    EndpointAlreadyAttached,
    HnsError,
    InvalidArg,
    InvalidJson,
    NetworkAlreadyExists,
    PortAlreadyExists,
)
from hns.service import HnsService

V2 = {"Major": 2, "Minor": 0}
MISSING = "6b9f3a52-5a57-4c6e-9a2e-0b4f0d6c1e77"


@pytest.fixture
def client() -> Iterator[HnsClient]:
    service = HnsService(state=":memory:")
    with HnsClient(http=TestClient(create_app(service))) as c:
        yield c
    service.close()


def _nat(client: HnsClient, name: str = "nat") -> dict[str, Any]:
    return client.create_network(
        {
            "Name": name,
            "Type": "NAT",
            "Subnets": [{"AddressPrefix": "172.20.0.0/16", "GatewayAddress": "172.20.0.1"}],
        }
    )


def _lb(endpoint: str, vip: str = "10.96.0.1", port: int = 80) -> dict[str, Any]:
    return {
        "HostComputeEndpoints": [endpoint],
        "FrontendVIPs": [vip],
        "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": port}],
        "SchemaVersion": V2,
    }


def test_v1_network_create_get_list_delete(client: HnsClient) -> None:
    net = _nat(client)
    assert client.get_network(net["ID"])["Name"] == "nat"
    assert [n["ID"] for n in client.list_networks()] == [net["ID"]]
    client.delete_network(net["ID"])
    assert client.list_networks() == []
    with pytest.raises(ElementNotFound) as info:
        client.get_network(net["ID"])
    assert info.value.hresult == 0x80070490
    assert info.value.message == "Element not found."


def test_v1_duplicate_network_name_raises_network_already_exists(client: HnsClient) -> None:
    _nat(client)
    with pytest.raises(NetworkAlreadyExists) as info:
        _nat(client)
    assert info.value.hresult == 0x803B0010


def test_v1_endpoint_lifecycle_attach_detach_stats(client: HnsClient) -> None:
    net = _nat(client)
    ep = client.create_endpoint({"Name": "ep", "VirtualNetwork": net["ID"]})
    assert ep["IPAddress"] == "172.20.0.2"
    assert client.get_endpoint(ep["ID"])["VirtualNetworkName"] == "nat"
    assert [e["ID"] for e in client.list_endpoints()] == [ep["ID"]]
    client.attach_endpoint(ep["ID"], {"SystemType": "Host", "CompartmentId": 1})
    with pytest.raises(EndpointAlreadyAttached):
        client.attach_endpoint(ep["ID"], {"SystemType": "Host", "CompartmentId": 1})
    client.detach_endpoint(ep["ID"], {"SystemType": "Host"})
    assert client.endpoint_stats(ep["ID"])["PacketsSent"] == 0
    updated = dict(client.get_endpoint(ep["ID"]))
    updated["Policies"] = [{"Type": "OutBoundNAT", "ExceptionList": ["10.0.0.0/8"]}]
    client.update_endpoint(ep["ID"], updated)
    policies = client.get_endpoint(ep["ID"])["Policies"]
    assert policies[0]["Type"] == "OutBoundNAT"
    client.delete_endpoint(ep["ID"])
    assert client.list_endpoints() == []


def test_v1_namespace_resources(client: HnsClient) -> None:
    net = _nat(client)
    ep = client.create_endpoint({"Name": "ep", "VirtualNetwork": net["ID"]})
    ns = client.create_namespace({})
    client.add_namespace_resource(ns["ID"], {"Type": "Endpoint", "Data": {"Id": ep["ID"]}})
    resources = client.get_namespace(ns["ID"])["ResourceList"]
    assert resources[0]["Data"]["Id"].lower() == ep["ID"].lower()
    assert [n["ID"] for n in client.list_namespaces()] == [ns["ID"]]
    client.remove_namespace_resource(ns["ID"], {"Type": "Endpoint", "Data": {"Id": ep["ID"]}})
    assert client.get_namespace(ns["ID"])["ResourceList"] == []
    client.delete_namespace(ns["ID"])
    assert client.list_namespaces() == []


def test_v1_policy_list_is_the_v2_load_balancer(client: HnsClient) -> None:
    net = _nat(client)
    ep = client.create_endpoint({"Name": "ep", "VirtualNetwork": net["ID"]})
    plist = client.create_policy_list(
        {
            "References": [f"/endpoints/{ep['ID']}"],
            "Policies": [
                {
                    "Type": "ELB",
                    "Protocol": 6,
                    "InternalPort": 80,
                    "ExternalPort": 8080,
                    "VIPs": ["10.96.0.5"],
                }
            ],
        }
    )
    assert client.get_policy_list(plist["ID"])["Policies"][0]["Type"] == "ELB"
    assert [p["ID"] for p in client.list_policy_lists()] == [plist["ID"]]
    [lb_id] = client.hcn_enumerate_load_balancers()
    assert lb_id.lower() == plist["ID"].lower()
    assert client.hcn_query_load_balancer_properties(lb_id)["FrontendVIPs"] == ["10.96.0.5"]
    client.delete_policy_list(plist["ID"])
    assert client.list_policy_lists() == []


def test_globals_version_and_profiles(client: HnsClient) -> None:
    assert client.globals_version() == client.get_profile()["Version"]
    assert client.set_profile("ws2019")["Profile"] == "ws2019"
    assert client.globals_version()["Major"] < 15
    with pytest.raises(InvalidArg):
        client.set_profile("ws1803")


def test_v2_network_endpoint_namespace_route_lifecycle(client: HnsClient) -> None:
    net = client.hcn_create_network(
        {
            "Name": "l2",
            "Type": "L2Bridge",
            "SchemaVersion": V2,
            "Ipams": [
                {
                    "Type": "Static",
                    "Subnets": [
                        {
                            "IpAddressPrefix": "10.1.0.0/24",
                            "Routes": [{"NextHop": "10.1.0.1", "DestinationPrefix": "0.0.0.0/0"}],
                        }
                    ],
                }
            ],
        }
    )
    nid = net["ID"]
    assert client.hcn_enumerate_networks(
        {"SchemaVersion": V2, "Filter": json.dumps({"Name": "l2"})}
    ) == [nid]
    assert (
        client.hcn_enumerate_networks({"SchemaVersion": V2, "Filter": json.dumps({"Name": "nope"})})
        == []
    )
    assert client.hcn_query_network_properties(nid)["Type"] == "L2Bridge"
    client.hcn_modify_network(
        nid,
        {
            "ResourceType": "Policy",
            "RequestType": "Add",
            "Settings": {"Policies": [{"Type": "HostRoute", "Settings": {}}]},
        },
    )
    policies = client.hcn_query_network_properties(nid)["Policies"]
    assert any(p["Type"] == "HostRoute" for p in policies)

    ep = client.hcn_create_endpoint({"HostComputeNetwork": nid, "SchemaVersion": V2})
    eid = ep["ID"]
    assert client.hcn_enumerate_endpoints(
        {"SchemaVersion": V2, "Filter": json.dumps({"VirtualNetwork": nid})}
    ) == [eid]
    assert (
        client.hcn_query_endpoint_properties(eid)["IpConfigurations"][0]["IpAddress"] == "10.1.0.2"
    )
    v1_view = client.hcn_query_endpoint_properties(eid, {"SchemaVersion": {"Major": 1, "Minor": 0}})
    assert v1_view["IPAddress"] == "10.1.0.2"

    ns = client.hcn_create_namespace({"SchemaVersion": V2})
    client.hcn_modify_namespace(
        ns["ID"],
        {"ResourceType": "Endpoint", "RequestType": "Add", "Settings": {"EndpointId": eid}},
    )
    resources = client.hcn_query_namespace_properties(ns["ID"])["Resources"]
    assert resources[0]["Data"]["ID"].lower() == eid.lower()
    assert client.hcn_enumerate_namespaces() == [ns["ID"]]

    route = client.hcn_create_sdn_route(
        {
            "HostComputeEndpoints": [eid],
            "SchemaVersion": V2,
            "Routes": [{"DestinationPrefix": "10.9.0.0/16", "NextHop": "10.1.0.1"}],
        }
    )
    assert client.hcn_enumerate_sdn_routes() == [route["ID"]]
    assert client.hcn_query_sdn_route_properties(route["ID"])["ID"] == route["ID"]
    client.hcn_delete_sdn_route(route["ID"])
    assert client.hcn_enumerate_sdn_routes() == []

    client.hcn_modify_namespace(
        ns["ID"],
        {"ResourceType": "Endpoint", "RequestType": "Remove", "Settings": {"EndpointId": eid}},
    )
    client.hcn_delete_namespace(ns["ID"])
    client.hcn_delete_endpoint(eid)
    client.hcn_delete_network(nid)
    assert client.hcn_enumerate_networks() == []


def test_v2_load_balancer_port_clash_raises_port_already_exists(client: HnsClient) -> None:
    net = _nat(client)
    ep = client.hcn_create_endpoint({"HostComputeNetwork": net["ID"], "SchemaVersion": V2})
    lb = client.hcn_create_load_balancer(_lb(ep["ID"]))
    with pytest.raises(PortAlreadyExists) as info:
        client.hcn_create_load_balancer(_lb(ep["ID"]))
    assert info.value.hresult == 0x803B0013
    assert info.value.message == "The specified port already exists."
    client.hcn_modify_load_balancer(lb["ID"], _lb(ep["ID"], port=81))
    assert (
        client.hcn_query_load_balancer_properties(lb["ID"])["PortMappings"][0]["ExternalPort"] == 81
    )
    client.hcn_delete_load_balancer(lb["ID"])
    client.hcn_create_load_balancer(_lb(ep["ID"]))  # the reservation died with its owner


def test_invalid_json_text_raises_invalid_json(client: HnsClient) -> None:
    with pytest.raises(InvalidJson):
        client.create_network('{"Name": ')
    with pytest.raises(InvalidJson):
        client.hcn_create_network("[1, 2")


def test_open_missing_raises_element_not_found_everywhere(client: HnsClient) -> None:
    for call in (
        client.get_endpoint,
        client.get_namespace,
        client.get_policy_list,
        client.hcn_query_network_properties,
        client.hcn_query_endpoint_properties,
        client.hcn_query_load_balancer_properties,
        client.hcn_query_namespace_properties,
        client.hcn_delete_sdn_route,
        client.delete_network,
    ):
        with pytest.raises(ElementNotFound):
            call(MISSING)


def test_hcn_open_each_kind_quiet_when_present_element_not_found_when_missing(
    client: HnsClient,
) -> None:
    net = _nat(client)
    client.hcn_open_network(net["ID"])
    ep = client.hcn_create_endpoint({"HostComputeNetwork": net["ID"], "SchemaVersion": V2})
    client.hcn_open_endpoint(ep["ID"])
    client.hcn_open_load_balancer(client.hcn_create_load_balancer(_lb(ep["ID"]))["ID"])
    client.hcn_open_namespace(client.hcn_create_namespace({"SchemaVersion": V2})["ID"])
    route = client.hcn_create_sdn_route(
        {
            "HostComputeEndpoints": [ep["ID"]],
            "SchemaVersion": V2,
            "Routes": [{"DestinationPrefix": "10.9.0.0/16", "NextHop": "172.20.0.1"}],
        }
    )
    client.hcn_open_sdn_route(route["ID"])
    for open_ in (
        client.hcn_open_network,
        client.hcn_open_endpoint,
        client.hcn_open_load_balancer,
        client.hcn_open_namespace,
        client.hcn_open_sdn_route,
    ):
        with pytest.raises(ElementNotFound):
            open_(MISSING)


def test_call_mirrors_through_client(client: HnsClient) -> None:
    out = client.hns_call(
        "POST",
        "/networks/",
        {
            "Name": "m",
            "Type": "NAT",
            "Subnets": [{"AddressPrefix": "172.21.0.0/16", "GatewayAddress": "172.21.0.1"}],
        },
    )
    assert out["Name"] == "m"
    # HcnEnumerate* writes ids in lower case; this network was made through V1 (upper).
    assert client.hcn_call("HcnEnumerateNetworks", None, {"SchemaVersion": V2}) == [
        out["ID"].lower()]
    assert client.hcn_call("HcnOpenNetwork", out["ID"]) is None
    with pytest.raises(ElementNotFound):
        client.hcn_call("HcnOpenNetwork", MISSING)
    with pytest.raises(ElementNotFound):
        client.hns_call("GET", f"/networks/{MISSING}")


def test_state_dump_load_reset_reboot(client: HnsClient) -> None:
    _nat(client, "keep")
    client.hcn_create_network(
        {
            "Name": "flannel",
            "Type": "Overlay",
            "Flags": 8,
            "SchemaVersion": V2,
            "Ipams": [
                {
                    "Type": "Static",
                    "Subnets": [
                        {
                            "IpAddressPrefix": "10.244.1.0/24",
                            "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}],
                            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
                        }
                    ],
                }
            ],
        }
    )
    dump = client.dump_state()
    client.reset()
    assert client.list_networks() == []
    client.load_state(dump)
    assert sorted(n["Name"] for n in client.list_networks()) == ["flannel", "keep"]
    client.reboot()  # EnableNonPersistent (Flags 8) networks vanish on a host reboot
    assert [n["Name"] for n in client.list_networks()] == ["keep"]
    assert client.health()["Status"] == "ok"


def test_error_classes_carry_hresult_for_isinstance_checks(client: HnsClient) -> None:
    with pytest.raises(HnsError) as info:
        client.get_network(MISSING)
    assert isinstance(info.value, ElementNotFound)
    assert info.value.hresult == 0x80070490
