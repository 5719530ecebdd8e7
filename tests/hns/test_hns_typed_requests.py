"""Requests through the typed models (hns/schema/request.py): namespaces, load balancers,
SDN routes, networks and endpoints (their own fields, MAC pool, DNS, address plan, IP
configurations, routes; policies are hns/policies.py's) are parsed into their
``hns.schema`` model, and each bad field gives the HNS error of the object it is in
(E_INVALIDARG for namespaces, HCN_E_INVALID_POLICY for load balancers and routes,
HCN_E_INVALID_NETWORK / _SUBNET / _PREFIX inside a network, HCN_E_INVALID_ENDPOINT /
_PREFIX inside an endpoint), with the field's path in the detail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hns.errors import (
    HnsError,
    InvalidArg,
    InvalidEndpoint,
    InvalidJson,
    InvalidNetwork,
    InvalidNetworkType,
    InvalidPolicy,
    InvalidPrefix,
    InvalidSubnet,
)
from hns.schema import HostComputeLoadBalancer, HostComputeNamespace
from hns.schema.request import parse_request
from hns.service import HnsService

GUID = "5a0dd76a-e8c6-4bdd-8a5c-9d2a1b3f4e10"
NET = {"Name": "n", "Type": "NAT",
       "Ipams": [{"Subnets": [{"IpAddressPrefix": "10.0.0.0/24",
                               "Routes": [{"NextHop": "10.0.0.1",
                                           "DestinationPrefix": "0.0.0.0/0"}]}]}]}
LB = {"FrontendVIPs": ["10.9.0.1"],
      "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080}]}
ROUTE = {"Setting": [{"DestinationPrefix": "10.1.0.0/16", "NextHop": "10.0.0.9"}]}


@pytest.fixture
def svc() -> Any:
    service = HnsService()
    yield service
    service.close()


def _refused(svc: HnsService, function: str, body: Any) -> HnsError:
    with pytest.raises(HnsError) as info:
        svc.hcn_call(function, None, json.dumps(body))
    return info.value


@pytest.mark.parametrize(("function", "body", "error", "where"), [
    ("HcnCreateNamespace", {"ID": "not-a-guid"}, InvalidArg, "ID"),
    ("HcnCreateNamespace", {"Type": "Hots"}, InvalidArg, "Type"),
    ("HcnCreateNamespace", {"NamespaceId": -1}, InvalidArg, "NamespaceId"),
    ("HcnCreateNamespace", {"NamespaceId": True}, InvalidArg, "NamespaceId"),
    ("HcnCreateLoadBalancer", dict(LB, SourceVIP="10.0.0.300"), InvalidPolicy, "SourceVIP"),
    ("HcnCreateLoadBalancer", dict(LB, FrontendVIPs="10.9.0.1"), InvalidPolicy, "FrontendVIPs"),
    ("HcnCreateLoadBalancer", dict(LB, Flags=1.5), InvalidPolicy, "Flags"),
    ("HcnCreateLoadBalancer", dict(LB, HostComputeEndpoints=["x"]), InvalidPolicy,
     "HostComputeEndpoints"),
    ("HcnCreateLoadBalancer", dict(LB, PortMappings=[{"Protocol": "6", "InternalPort": 80}]),
     InvalidPolicy, "PortMappings.0.Protocol"),
    ("HcnCreateLoadBalancer", dict(LB, PortMappings=[{"InternalPort": 70000}]),
     InvalidPolicy, "PortMappings.0.InternalPort"),
    ("HcnCreateLoadBalancer", dict(LB, PortMappings=["80"]), InvalidPolicy, "PortMappings.0"),
    ("HcnCreateSdnRoute", {"Setting": [{"DestinationPrefix": "10.1.0.0"}]}, InvalidPolicy,
     "Setting.0.DestinationPrefix"),
    ("HcnCreateSdnRoute", {"Setting": [{"DestinationPrefix": "10.1.0.0/16", "NeedEncap": 1}]},
     InvalidPolicy, "Setting.0.NeedEncap"),
    ("HcnCreateSdnRoute", {"Routes": {"DestinationPrefix": "10.1.0.0/16"}}, InvalidPolicy,
     "Routes"),
])
def test_bad_field_gives_its_objects_error_and_names_the_field(
        svc: HnsService, function: str, body: Any, error: type[HnsError], where: str) -> None:
    before = svc.dump()
    err = _refused(svc, function, body)
    assert type(err) is error
    assert err.detail is not None
    assert err.detail.startswith(f"{where}: ")
    assert svc.dump() == before  # refused before anything was written


@pytest.mark.parametrize("function", ["HcnCreateNamespace", "HcnCreateLoadBalancer",
                                      "HcnCreateSdnRoute"])
def test_body_that_is_not_an_object_is_invalid_json(svc: HnsService, function: str) -> None:
    assert type(_refused(svc, function, ["not", "an", "object"])) is InvalidJson


def test_request_checks_normalise_like_hns(svc: HnsService) -> None:
    ns = svc.hcn_call("HcnCreateNamespace", None,
                      json.dumps({"ID": "{" + GUID.upper() + "}", "Type": "hostdefault"}))
    assert ns["ID"] == GUID.upper()
    assert ns["Type"] == "HostDefault"
    # An integral JSON number is an integer, as HNS's parser reads it.
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(
        dict(LB, PortMappings=[{"Protocol": 6.0, "InternalPort": 80.0}])))
    assert lb["PortMappings"] == [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 80}]


def test_fields_the_service_does_not_read_are_not_judged(svc: HnsService) -> None:
    # HNS ignores what it does not deserialize; so does the typed path (nulls are absent).
    svc.hcn_call("HcnCreateNamespace", None,
                 json.dumps({"SchemaVersion": "two", "Resources": 5, "Type": None}))
    svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(
        dict(LB, SchemaVersion={"Major": "2"}, SourceVIP=None, Unknown=[1])))
    svc.hcn_call("HcnCreateSdnRoute", None, json.dumps(dict(ROUTE, SchemaVersion="x")))


def test_outside_a_request_the_models_keep_values_as_given() -> None:
    # Answers and captures validate verbatim: braces, case and the zero GUID stay.
    given = {"ID": "{" + GUID + "}", "Type": "Host"}
    assert HostComputeNamespace.model_validate(given).dump()["ID"] == "{" + GUID + "}"
    parsed = parse_request(HostComputeNamespace, given, error=InvalidArg, what="namespace")
    assert parsed.id == GUID


def test_parse_request_validates_only_the_named_fields() -> None:
    body = dict(LB, SourceVIP="nonsense")
    parsed = parse_request(HostComputeLoadBalancer, body, error=InvalidPolicy,
                           what="load balancer", fields=("FrontendVIPs", "PortMappings"))
    assert parsed.frontend_vips == ["10.9.0.1"]
    assert parsed.source_vip is None
    with pytest.raises(InvalidPolicy):
        parse_request(HostComputeLoadBalancer, body, error=InvalidPolicy, what="load balancer")


def test_v1_policy_lists_go_through_the_same_models(svc: HnsService) -> None:
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(NET))
    ep = svc.hcn_call("HcnCreateEndpoint", None,
                      json.dumps({"HostComputeNetwork": net["ID"]}))
    with pytest.raises(InvalidPolicy) as info:
        svc.hns_call("POST", "/policylists", json.dumps({
            "References": [f"/endpoints/{ep['ID']}"],
            "Policies": [{"Type": "ELB", "Protocol": 6, "InternalPort": "80",
                          "ExternalPort": 80, "VIPs": ["10.9.0.1"]}]}))
    assert info.value.detail is not None
    assert info.value.detail.startswith("PortMappings.0.InternalPort: ")


def _subnets(*subnets: Any) -> dict[str, Any]:
    return {"Name": "n", "Type": "NAT", "Ipams": [{"Type": "Static", "Subnets": list(subnets)}]}


@pytest.mark.parametrize(("body", "error", "where"), [
    ({"Name": "n", "Type": "Bogus"}, InvalidNetworkType, "Type"),
    ({"Name": 5}, InvalidNetwork, "Name"),
    ({"Name": "n", "Flags": -1}, InvalidNetwork, "Flags"),
    ({"Name": "n", "Ipams": [{"Type": "Foo"}]}, InvalidNetwork, "Ipams.0.Type"),
    ({"Name": "n", "Ipams": ["Static"]}, InvalidNetwork, "Ipams.0"),
    (_subnets({"IpAddressPrefix": "10.0.0.0"}), InvalidPrefix,
     "Ipams.0.Subnets.0.IpAddressPrefix"),
    (_subnets("10.0.0.0/24"), InvalidSubnet, "Ipams.0.Subnets.0"),
    (_subnets({"IpAddressPrefix": "10.0.0.0/24", "Flags": "1"}), InvalidSubnet,
     "Ipams.0.Subnets.0.Flags"),
    (_subnets({"IpAddressPrefix": "10.0.0.0/24", "Routes": [{"NextHop": "x"}]}),
     InvalidSubnet, "Ipams.0.Subnets.0.Routes.0.NextHop"),
    (_subnets({"IpAddressPrefix": "10.0.0.0/24", "Routes": [{"DestinationPrefix": "x"}]}),
     InvalidPrefix, "Ipams.0.Subnets.0.Routes.0.DestinationPrefix"),
    ({"Name": "n", "MacPool": {"Ranges": [{"StartMacAddress": "zz"}]}}, InvalidNetwork,
     "MacPool.Ranges.0.StartMacAddress"),
    ({"Name": "n", "MacPool": "pool"}, InvalidNetwork, "MacPool"),
    ({"Name": "n", "Dns": {"ServerList": "10.0.0.10"}}, InvalidNetwork, "Dns.ServerList"),
])
def test_network_fields_give_the_error_of_the_object_they_are_in(
        svc: HnsService, body: Any, error: type[HnsError], where: str) -> None:
    err = _refused(svc, "HcnCreateNetwork", body)
    assert type(err) is error
    assert err.detail is not None
    assert err.detail.startswith(f"{where}: ")
    assert svc.dump()["Objects"]["network"] == []


def test_network_empty_values_read_as_absent_and_types_fold(svc: HnsService) -> None:
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(
        dict(NET, Type="nat", MacPool=[], Dns="", Ipams=[dict(NET["Ipams"][0], Type="dhcp")])))
    assert net["MacPool"]["Ranges"]  # HNS's default pool
    stored = svc.dump()["Objects"]["network"][0]
    assert stored["Type"] == "NAT"
    assert stored["Ipams"][0]["Type"] == "DHCP"
    assert stored["Dns"] == {}
    svc.hcn_call("HcnCreateNetwork", None, json.dumps({"Name": "m", "Type": ""}))
    assert svc.dump()["Objects"]["network"][1]["Type"] == "NAT"


def test_a_mac_range_needs_both_ends(svc: HnsService) -> None:
    err = _refused(svc, "HcnCreateNetwork", {"Name": "n", "MacPool": {"Ranges": [
        {"StartMacAddress": "00-15-5D-00-10-00"}]}})
    assert type(err) is InvalidNetwork


@pytest.mark.parametrize(("extra", "error", "where"), [
    ({"Name": ["x"]}, InvalidEndpoint, "Name"),
    ({"MacAddress": "00-15-5D"}, InvalidEndpoint, "MacAddress"),
    ({"IpConfigurations": [{"IpAddress": "10.0.0.300"}]}, InvalidEndpoint,
     "IpConfigurations.0.IpAddress"),
    ({"IpConfigurations": [{"IpAddress": "10.0.0.5", "PrefixLength": 129}]}, InvalidPrefix,
     "IpConfigurations.0.PrefixLength"),
    ({"IpConfigurations": [{"IpAddress": "10.0.0.5", "PrefixLength": 33}]}, InvalidPrefix,
     "PrefixLength"),
    ({"IpConfigurations": "10.0.0.5"}, InvalidEndpoint, "IpConfigurations"),
    ({"Routes": [{"DestinationPrefix": "0.0.0.0"}]}, InvalidPrefix,
     "Routes.0.DestinationPrefix"),
    ({"Routes": [{"NextHop": 7}]}, InvalidEndpoint, "Routes.0.NextHop"),
    ({"Dns": {"Domain": 1}}, InvalidEndpoint, "Dns.Domain"),
])
def test_endpoint_fields_give_the_error_of_the_object_they_are_in(
        svc: HnsService, extra: dict[str, Any], error: type[HnsError], where: str) -> None:
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(NET))
    err = _refused(svc, "HcnCreateEndpoint", {"HostComputeNetwork": net["ID"], **extra})
    assert type(err) is error
    assert err.detail is not None
    assert err.detail.startswith(f"{where}: ")
    assert svc.dump()["Objects"]["endpoint"] == []


@pytest.mark.parametrize(("extra", "error", "where"), [
    ({"IPAddress": "10.0.0.300"}, InvalidEndpoint, "IPAddress"),
    ({"IPAddress": "10.0.0.5", "PrefixLength": "24"}, InvalidPrefix, "PrefixLength"),
    ({"IPAddress": "10.0.0.5", "PrefixLength": 33}, InvalidPrefix, "PrefixLength"),
    ({"IPv6Address": "fd00::5", "IPv6PrefixLength": 129}, InvalidPrefix, "IPv6PrefixLength"),
    ({"DNSServerList": ["10.0.0.10"]}, InvalidEndpoint, "DNSServerList"),
    ({"GatewayAddress": "gw"}, InvalidEndpoint, "GatewayAddress"),
    ({"IsRemoteEndpoint": "true"}, InvalidEndpoint, "IsRemoteEndpoint"),
    ({"MacAddress": 5}, InvalidEndpoint, "MacAddress"),
])
def test_v1_endpoint_fields_go_through_v1endpoint(
        svc: HnsService, extra: dict[str, Any], error: type[HnsError], where: str) -> None:
    net = svc.hns_call("POST", "/networks", json.dumps(
        {"Name": "v1", "Type": "NAT", "Subnets": [{"AddressPrefix": "10.0.0.0/24",
                                                   "GatewayAddress": "10.0.0.1"}]}))
    with pytest.raises(HnsError) as info:
        svc.hns_call("POST", "/endpoints", json.dumps({"VirtualNetwork": net["ID"], **extra}))
    assert type(info.value) is error
    assert info.value.detail is not None
    assert info.value.detail.startswith(f"{where}: ")


def test_v1_endpoint_reads_a_prefix_only_beside_its_address_and_a_name_only_without_an_id(
        svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks", json.dumps(
        {"Name": "v1", "Type": "NAT", "Subnets": [{"AddressPrefix": "10.0.0.0/24",
                                                   "GatewayAddress": "10.0.0.1"}]}))
    ep = svc.hns_call("POST", "/endpoints", json.dumps(
        {"VirtualNetwork": net["ID"], "VirtualNetworkName": 5, "PrefixLength": "x",
         "IPv6PrefixLength": "y"}))
    assert ep["VirtualNetwork"] == net["ID"]
    by_name = svc.hns_call("POST", "/endpoints", json.dumps({"VirtualNetworkName": "v1"}))
    assert by_name["VirtualNetwork"] == net["ID"]


V1_NET = {"Name": "v1", "Type": "NAT", "Subnets": [{"AddressPrefix": "10.0.0.0/24",
                                                  "GatewayAddress": "10.0.0.1"}]}


@pytest.mark.parametrize(("extra", "where"), [
    ({"MacPools": [{"StartMacAddress": "zz", "EndMacAddress": "00-15-5D-00-10-FF"}]},
     "MacPools.0.StartMacAddress"),
    ({"MacPools": [{"StartMacAddress": "00-15-5D-00-10-00", "EndMacAddress": 5}]},
     "MacPools.0.EndMacAddress"),
    ({"MacPools": ["00-15-5D-00-10-00"]}, "MacPools.0"),
    ({"MacPools": "pool"}, "MacPools"),
    ({"DNSSuffix": ["corp.example"]}, "DNSSuffix"),
    ({"DNSServerList": ["10.0.0.10"]}, "DNSServerList"),
])
def test_v1_network_own_fields_go_through_v1network(
        svc: HnsService, extra: dict[str, Any], where: str) -> None:
    with pytest.raises(HnsError) as info:
        svc.hns_call("POST", "/networks", json.dumps({**V1_NET, **extra}))
    assert type(info.value) is InvalidNetwork
    assert info.value.detail is not None
    assert info.value.detail.startswith(f"{where}: ")
    assert svc.dump()["Objects"]["network"] == []


def test_v1_network_mac_pools_and_dns_read_as_before(svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks", json.dumps(dict(
        V1_NET, MacPools=[{"StartMacAddress": "00:15:5d:00:10:00",
                           "EndMacAddress": "00-15-5D-00-10-FF"}],
        DNSSuffix="corp.example", DNSServerList="10.0.0.10, 10.0.0.11")))
    assert net["MacPools"] == [{"StartMacAddress": "00-15-5d-00-10-00",
                                "EndMacAddress": "00-15-5D-00-10-FF"}]
    assert (net["DNSSuffix"], net["DNSServerList"]) == ("corp.example", "10.0.0.10,10.0.0.11")
    for n, empty in enumerate(({"MacPools": {}}, {"MacPools": ""}, {"DNSSuffix": ""})):
        svc.hns_call("POST", "/networks", json.dumps(dict(V1_NET, Name=f"e{n}", **empty)))
    for backwards in ([{"StartMacAddress": "00-15-5D-00-10-FF",
                        "EndMacAddress": "00-15-5D-00-10-00"}],
                      [{"StartMacAddress": "00-15-5D-00-10-00"}]):
        with pytest.raises(InvalidNetwork):
            svc.hns_call("POST", "/networks", json.dumps(dict(V1_NET, Name="b",
                                                              MacPools=backwards)))


@pytest.mark.parametrize(("subnets", "error", "where"), [
    ([{"AddressPrefix": "10.0.0.0"}], InvalidPrefix, "Subnets.0.AddressPrefix"),
    ([{"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "gw"}], InvalidSubnet,
     "Subnets.0.GatewayAddress"),
    ([{"AddressPrefix": "10.0.0.0/24", "ID": "not-a-guid"}], InvalidSubnet, "Subnets.0.ID"),
    ([{"AddressPrefix": "10.0.0.0/24"}, "10.0.1.0/24"], InvalidSubnet, "Subnets.1"),
    ("10.0.0.0/24", InvalidNetwork, "Subnets"),
])
def test_v1_network_subnets_go_through_v1subnet(
        svc: HnsService, subnets: Any, error: type[HnsError], where: str) -> None:
    with pytest.raises(HnsError) as info:
        svc.hns_call("POST", "/networks", json.dumps(dict(V1_NET, Subnets=subnets)))
    assert type(info.value) is error
    assert info.value.detail is not None
    assert info.value.detail.startswith(f"{where}: ")
    assert svc.dump()["Objects"]["network"] == []


def test_v1_network_subnets_read_as_before(svc: HnsService) -> None:
    sid = "5A3C0A0E-7B0B-4F44-9D9C-3C5B1E5C6A01"
    net = svc.hns_call("POST", "/networks", json.dumps(dict(V1_NET, Subnets=[
        {"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1", "ID": sid},
        {"AddressPrefix": "fd00::/64", "GatewayAddress": "fd00::1"}])))
    assert [s["AddressPrefix"] for s in net["Subnets"]] == ["10.0.0.0/24", "fd00::/64"]
    assert [s["GatewayAddress"] for s in net["Subnets"]] == ["10.0.0.1", "fd00::1"]
    assert net["Subnets"][0]["ID"].upper() == sid
    stored = svc.dump()["Objects"]["network"][0]["Ipams"][0]["Subnets"]
    assert [r["DestinationPrefix"] for s in stored for r in s["Routes"]] == [
        "0.0.0.0/0", "::/0"]


@pytest.mark.parametrize(("body", "where"), [
    ({"ResourceType": 5, "RequestType": "Add", "Settings": {}}, "ResourceType"),
    ({"ResourceType": "Policy", "RequestType": ["Add"], "Settings": {}}, "RequestType"),
    ({"RequestType": "Add", "Settings": {}}, "ResourceType"),
    ({"ResourceType": "Policy", "RequestType": None, "Settings": {}}, "RequestType"),
])
def test_modify_envelope_goes_through_modifyrequest(
        svc: HnsService, body: dict[str, Any], where: str) -> None:
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(NET))
    before = svc.dump()["Objects"]["network"]
    for function, target in (("HcnModifyNetwork", net["ID"]), ("HcnModifyEndpoint", svc.hcn_call(
            "HcnCreateEndpoint", None, json.dumps({"HostComputeNetwork": net["ID"]}))["ID"])):
        with pytest.raises(HnsError) as info:
            svc.hcn_call(function, target, json.dumps(body))
        assert type(info.value) is InvalidArg
        assert info.value.detail is not None
        assert info.value.detail.startswith(f"{where}: ")
    assert svc.dump()["Objects"]["network"] == before
    with pytest.raises(InvalidJson):
        svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(["Policy"]))
