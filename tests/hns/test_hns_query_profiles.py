"""HostComputeQuery filters and schema versions; host version profiles and feature gates."""

from __future__ import annotations

import json

import pytest
from hns_test_helpers import create_endpoint, create_network, lb_body, query

from hns import errors
from hns.profiles import PROFILES, feature_supported
from hns.service import HnsService


def test_enumerate_filters_by_v1_key_names(svc: HnsService) -> None:
    a = create_network(svc, name="a")
    b = create_network(svc, name="b", prefix="10.1.0.0/24", gateway="10.1.0.1")
    ea = create_endpoint(svc, a["ID"], Name="pod")
    eb = create_endpoint(svc, b["ID"], Name="pod")
    assert svc.hcn_call("HcnEnumerateNetworks", None, query({"Name": "b"})) == [b["ID"]]
    assert svc.hcn_call("HcnEnumerateNetworks", None, query({"Name": "zz"})) == []
    assert svc.hcn_call("HcnEnumerateNetworks", None,
                        query({"ID": a["ID"].upper()})) == [a["ID"]]
    assert svc.hcn_call("HcnEnumerateEndpoints", None,
                        query({"VirtualNetwork": b["ID"]})) == [eb["ID"]]
    assert svc.hcn_call("HcnEnumerateEndpoints", None,
                        query({"VirtualNetworkName": "a"})) == [ea["ID"]]
    both = svc.hcn_call("HcnEnumerateEndpoints", None, query({"Name": "pod"}))
    assert sorted(both) == sorted([ea["ID"], eb["ID"]])
    assert svc.hcn_call("HcnEnumerateEndpoints", None,
                        query({"Name": "pod", "VirtualNetworkName": "b"})) == [eb["ID"]]
    # A bare filter as the whole query, and an empty query, are accepted.
    assert svc.hcn_call("HcnEnumerateEndpoints", None,
                        json.dumps({"VirtualNetworkName": "a"})) == [ea["ID"]]
    assert len(svc.hcn_call("HcnEnumerateEndpoints", None, "")) == 2


def test_query_schema_1_returns_v1_shape(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    v1 = svc.hcn_call("HcnQueryEndpointProperties", ep["ID"], query(major=1))
    assert v1["VirtualNetwork"] == net["ID"]
    assert v1["IPAddress"] == "10.0.0.2"
    v2 = svc.hcn_call("HcnQueryEndpointProperties", ep["ID"], query())
    assert v2["HostComputeNetwork"] == net["ID"]
    assert "VirtualNetwork" not in v2


def test_profiles_report_their_version(svc: HnsService) -> None:
    assert svc.profile == "ws2025"
    assert svc.globals_version() == {"Major": 15, "Minor": 4}
    assert svc.hns_call("GET", "/globals/version") == {"Major": 15, "Minor": 4}
    svc.set_profile("ws2019")
    assert svc.hns_call("GET", "/globals/version/") == {"Major": 9, "Minor": 5}
    with pytest.raises(errors.InvalidArg):
        svc.set_profile("ws1803")
    with pytest.raises(errors.InvalidArg):
        HnsService(profile="nope")
    assert set(HnsService.PROFILES) == {"ws2019", "ws2022", "ws2025"}


def test_feature_ranges_follow_hcsshim() -> None:
    assert feature_supported((9, 3), "DSR")
    assert not feature_supported((10, 1), "DSR")
    assert feature_supported((10, 2), "DSR")
    assert feature_supported((9, 5), "L4Proxy")
    assert not feature_supported((10, 4), "L4Proxy")
    assert feature_supported((12, 1), "L4Proxy")
    assert not feature_supported((15, 3), "ModifyLoadbalancer")
    assert all(PROFILES["ws2025"].features.values())


def test_modify_load_balancer_needs_15_4(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    svc.set_profile("ws2022")
    with pytest.raises(errors.RequestUnsupported) as info:
        svc.hcn_call("HcnModifyLoadBalancer", lb["ID"], lb_body([], vip="10.96.0.20"))
    assert info.value.hresult == 0x803B0015
    svc.set_profile("ws2025")
    svc.hcn_call("HcnModifyLoadBalancer", lb["ID"], lb_body([], vip="10.96.0.20"))
    got = svc.hcn_call("HcnQueryLoadBalancerProperties", lb["ID"], None)
    assert got["FrontendVIPs"] == ["10.96.0.20"]
    assert "HostComputeEndpoints" not in got
    # The old VIP's reservation went with the modify.
    svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([]))


def test_old_profiles_refuse_newer_features(svc: HnsService) -> None:
    net = create_network(svc)
    svc.set_profile("ws2019")
    with pytest.raises(errors.InvalidPolicyType):  # an HNS that predates the type
        create_network(svc, name="n2", prefix="10.5.0.0/24", gateway="10.5.0.1",
                       Policies=[{"Type": "NetworkACL",
                                  "Settings": {"Action": "Allow", "Direction": "In"}}])
    with pytest.raises(errors.RequestUnsupported):  # session affinity, 12.0
        svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps({"PortMappings": [
            {"Protocol": 6, "InternalPort": 80, "ExternalPort": 80, "DistributionType": 2}]}))
    with pytest.raises(errors.RequestUnsupported):  # dual stack, 11.10
        create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.9"},
                                                          {"IpAddress": "fd00::9"}])
    svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([], Flags=1))  # DSR is in 9.5
    svc.set_profile("ws2022")
    with pytest.raises(errors.InvalidPolicyType):  # TierAcl, 14.0
        create_endpoint(svc, net["ID"], Policies=[{"Type": "TierAcl", "Settings": {}}])


def test_v1_paths_answer_their_shapes(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    stats = svc.hns_call("GET", f"/endpointstats/{ep['ID']}")
    assert stats["EndpointId"] == ep["ID"]
    assert stats["PacketsReceived"] == 0
    route = svc.hns_call("POST", "/policylists", json.dumps({
        "References": [f"/endpoints/{ep['ID']}"],
        "Policies": [{"Type": "ROUTE", "DestinationPrefix": "10.244.0.0/16",
                      "NeedEncap": True}]}))
    assert route["ID"] == route["ID"].upper()  # V1-made ids are upper case
    v2 = svc.hcn_call("HcnQuerySdnRouteProperties", route["ID"], None)
    assert v2["Routes"] == [{"DestinationPrefix": "10.244.0.0/16", "NeedEncap": True}]
    assert v2["HostComputeEndpoints"] == [ep["ID"]]
    ns = svc.hns_call("POST", "/namespaces", None)
    assert svc.hns_call("GET", "/namespaces") == [ns]
    assert ns["ResourceList"] == []
    assert ns["CompartmentId"] == 2
    assert svc.hcn_call("HcnCloseEndpoint", ep["ID"], None) is None
    assert svc.hcn_call("HcnOpenEndpoint", ep["ID"], None) is None
    svc.hns_call("DELETE", f"/policylists/{route['ID']}")
    assert svc.hns_call("GET", "/policylists/") == []


def test_enumerate_load_balancers_and_namespaces_by_id(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]], vip="10.96.0.99"))
    assert svc.hcn_call("HcnEnumerateLoadBalancers", None, query({"ID": lb["ID"]})) == [lb["ID"]]
    assert len(svc.hcn_call("HcnEnumerateLoadBalancers", None, query())) == 2
    v1 = svc.hcn_call("HcnQueryLoadBalancerProperties", lb["ID"], query(major=1))
    assert v1["Policies"][0]["Type"] == "ELB"
