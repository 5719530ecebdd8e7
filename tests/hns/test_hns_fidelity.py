"""Fidelity round 2 (issue 14): what real clients read back from HNS, checked with the
bodies the clients really send. Each test names its evidence; docs/fidelity.md has the rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hns_test_helpers import V2

from hns.errors import PortAlreadyExists
from hns.service import HnsService

# flannel pkg/backend/vxlan/device_windows.go newVXLANDevice, as hcsshim marshals it: no
# DrMacAddress policy (flannel reads the one HNS adds, vxlan_windows.go RegisterNetwork).
FLANNEL_NETWORK = {
    "Name": "flannel.4096", "Type": "Overlay",
    "Policies": [{"Type": "NetAdapterName", "Settings": {"NetworkAdapterName": "Ethernet"}}],
    "MacPool": {}, "Dns": {},
    "Ipams": [{"Type": "Static", "Subnets": [{
        "IpAddressPrefix": "10.244.1.0/24",
        "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
        "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
    "Flags": 8, "Health": {"Extra": {}}, "SchemaVersion": V2,
}

# moby libnetwork drivers/windows/overlay createHnsNetwork (V1, no DrMacAddress field).
DOCKER_OVERLAY = {
    "Name": "qx3m4x0d1yqjm6r7ab2ac1kpv", "Type": "overlay", "NetworkAdapterName": "Ethernet",
    "Subnets": [{"AddressPrefix": "10.0.9.0/24", "GatewayAddress": "10.0.9.1",
                 "Policies": [{"Type": "VSID", "VSID": 4096}]}],
    "AutomaticDNS": True,
}


def _mac_int(text: str) -> int:
    return int(text.replace("-", ""), 16)


def _hcn(svc: HnsService, fn: str, ident: str | None, body: dict[str, Any]) -> Any:
    return svc.hcn_call(fn, ident, json.dumps(body))


def _dr_mac_v2(net: dict[str, Any]) -> str:
    found = [p["Settings"]["Address"] for p in net.get("Policies", [])
             if p["Type"] == "DrMacAddress"]
    assert len(found) == 1, net.get("Policies")
    return str(found[0])


# ---- item 1: DR MAC -------------------------------------------------------------------

def test_flannel_overlay_network_gets_a_dr_mac_it_can_parse(svc: HnsService) -> None:
    created = _hcn(svc, "HcnCreateNetwork", None, FLANNEL_NETWORK)
    queried = _hcn(svc, "HcnQueryNetworkProperties", created["ID"], {"SchemaVersion": V2})
    mac = _dr_mac_v2(queried)
    # Go's net.ParseMAC form with dashes, as both real samples print it.
    assert len(mac.split("-")) == 6, mac
    assert mac.startswith("00-15-5D-"), mac
    assert mac == _dr_mac_v2(created)
    pool = queried["MacPool"]["Ranges"][0]
    assert not (_mac_int(pool["StartMacAddress"]) <= _mac_int(mac)
                <= _mac_int(pool["EndMacAddress"])), (mac, pool)
    v1 = svc.hns_call("GET", f"/networks/{created['ID']}")
    assert v1["DrMacAddress"] == mac
    assert not any(p.get("Type") == "DrMacAddress" for p in v1["Policies"])


def test_docker_v1_overlay_network_gets_a_dr_mac_field(svc: HnsService) -> None:
    out = svc.hns_call("POST", "/networks/", json.dumps(DOCKER_OVERLAY))
    assert out["DrMacAddress"].startswith("00-15-5D-")


def test_dr_macs_differ_between_overlay_networks_and_a_given_one_is_kept(
        svc: HnsService) -> None:
    a = _hcn(svc, "HcnCreateNetwork", None, FLANNEL_NETWORK)
    second = dict(FLANNEL_NETWORK, Name="other", Ipams=[{"Type": "Static", "Subnets": [
        {"IpAddressPrefix": "10.245.0.0/24"}]}])
    b = _hcn(svc, "HcnCreateNetwork", None, second)
    assert _dr_mac_v2(a) != _dr_mac_v2(b)
    given = dict(second, Name="given", Policies=[
        {"Type": "DrMacAddress", "Settings": {"Address": "00-15-5D-11-22-33"}}],
        Ipams=[{"Type": "Static", "Subnets": [{"IpAddressPrefix": "10.246.0.0/24"}]}])
    assert _dr_mac_v2(_hcn(svc, "HcnCreateNetwork", None, given)) == "00-15-5D-11-22-33"


def test_nat_and_transparent_networks_have_no_dr_mac(svc: HnsService) -> None:
    # real/v1-post-networks-nat-response.json, real/docker-forwin-8226-...transparent.
    nat = svc.hns_call("POST", "/networks/", json.dumps(
        {"Name": "nat", "Type": "nat",
         "Subnets": [{"AddressPrefix": "172.21.16.0/20", "GatewayAddress": "172.21.16.1"}]}))
    assert "DrMacAddress" not in nat
    tr = svc.hns_call("POST", "/networks/", json.dumps(
        {"Name": "tr", "Type": "Transparent", "NetworkAdapterName": "Ethernet"}))
    assert "DrMacAddress" not in tr


# ---- item 12: what real clients send -------------------------------------------------------

def _l2bridge(svc: HnsService) -> str:
    body = {"Name": "cbr0", "Type": "L2Bridge", "SchemaVersion": V2,
            "Ipams": [{"Type": "Static", "Subnets": [{
                "IpAddressPrefix": "10.0.0.0/24",
                "Routes": [{"NextHop": "10.0.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}
    return str(_hcn(svc, "HcnCreateNetwork", None, body)["ID"])


def _plugin_port_mapping(host_port: int, host_ip: str = "") -> dict[str, Any]:
    # containernetworking/plugins pkg/hns/netconf_windows.go ApplyPortMappingPolicy, V2:
    # {"Type": "PortMapping", "Settings": {..., "VIP": "%s"}} with p.HostIP ("" if unset).
    return {"Type": "PortMapping", "Settings": {"InternalPort": 80, "ExternalPort": host_port,
                                                "Protocol": 6, "VIP": host_ip}}


def test_plugin_port_mapping_with_empty_vip_is_a_mapping_without_vip(svc: HnsService) -> None:
    net = _l2bridge(svc)
    ep = _hcn(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": net, "Policies": [_plugin_port_mapping(8080)],
        "SchemaVersion": V2})
    assert ep["Policies"] == [{"Type": "PortMapping", "Settings": {
        "InternalPort": 80, "ExternalPort": 8080, "Protocol": 6}}]
    # It holds the host port for every address, as a mapping without VIP does.
    with pytest.raises(PortAlreadyExists):
        _hcn(svc, "HcnCreateEndpoint", None, {
            "HostComputeNetwork": net, "SchemaVersion": V2,
            "Policies": [_plugin_port_mapping(8080, "10.0.0.77")]})


def test_plugin_port_mapping_with_a_host_ip_keeps_it(svc: HnsService) -> None:
    net = _l2bridge(svc)
    ep = _hcn(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": net, "Policies": [_plugin_port_mapping(8080, "10.0.0.77")],
        "SchemaVersion": V2})
    assert ep["Policies"][0]["Settings"]["VIP"] == "10.0.0.77"


# ---- item 6: shared endpoints --------------------------------------------------------------

def test_second_container_shares_an_attached_endpoint(svc: HnsService) -> None:
    # hcsshim internal/hns: EndpointState AttachedSharing = 3, HNSEndpoint.SharedContainers.
    net = _l2bridge(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net}))
    path = f"/endpoints/{ep['ID']}"
    svc.hns_call("POST", f"{path}/attach", json.dumps({"ContainerId": "c1",
                                                       "SystemType": "Container"}))
    svc.hns_call("POST", f"{path}/attach", json.dumps({"ContainerId": "c2",
                                                       "SystemType": "Container"}))
    got = svc.hns_call("GET", path)
    assert got["State"] == 3
    assert got["SharedContainers"] == ["c1", "c2"]
    svc.hns_call("POST", f"{path}/detach", json.dumps({"ContainerId": "c1"}))
    got = svc.hns_call("GET", path)
    assert got["State"] == 2
    assert got["SharedContainers"] == ["c2"]
    svc.hns_call("POST", f"{path}/detach", json.dumps({"ContainerId": "c2"}))
    assert svc.hns_call("GET", path)["State"] == 4


# ---- item 7: default names and ID casing ---------------------------------------------------

def test_endpoint_without_name_is_named_ethernet(svc: HnsService) -> None:
    # kube-proxy's remote and sourceVip endpoints carry no Name; real hnsdiag listings show
    # nameless endpoints as "Ethernet" (real/sdn-kubecluster-hnsdiag-list-all.txt,
    # real/sigwin-168-hnsdiag-list-all-l2bridge.txt).
    net = _l2bridge(svc)
    v2 = _hcn(svc, "HcnCreateEndpoint", None, {"HostComputeNetwork": net, "SchemaVersion": V2})
    assert v2["Name"] == "Ethernet"
    v1 = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net}))
    assert v1["Name"] == "Ethernet"
    named = _hcn(svc, "HcnCreateEndpoint", None, {"HostComputeNetwork": net, "Name": "x_eth0",
                                                  "SchemaVersion": V2})
    assert named["Name"] == "x_eth0"


def test_enumerate_ids_are_lower_case_whichever_api_made_them(svc: HnsService) -> None:
    v1 = svc.hns_call("POST", "/networks/", json.dumps(
        {"Name": "nat", "Type": "nat",
         "Subnets": [{"AddressPrefix": "172.21.16.0/20", "GatewayAddress": "172.21.16.1"}]}))
    assert v1["ID"] == v1["ID"].upper()  # V1 writes upper case (every real V1 network)
    v2 = _l2bridge(svc)
    got = svc.hcn_call("HcnEnumerateNetworks", None, None)
    assert sorted(got) == sorted([v1["ID"].lower(), v2.lower()])


def test_policy_list_references_are_lower_case(svc: HnsService) -> None:
    # real/calico-8465-get-hnspolicylist-elb-dsr.txt: ID upper, References lower.
    net = _l2bridge(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net}))
    assert ep["ID"] == ep["ID"].upper()
    pl = svc.hns_call("POST", "/policylists/", json.dumps({
        "References": [f"/endpoints/{ep['ID']}"],
        "Policies": [{"Type": "ELB", "InternalPort": 80, "ExternalPort": 80, "Protocol": 6,
                      "VIPs": ["10.96.0.2"]}]}))
    assert pl["ID"] == pl["ID"].upper()
    assert pl["References"] == [f"/endpoints/{ep['ID'].lower()}"]


def test_policy_list_reads_back_as_the_real_sample_does(svc: HnsService) -> None:
    # real/calico-8465-get-hnspolicylist-elb-dsr.txt: a healthy list (Health LastErrorCode
    # 0, State 2) prints IsApplied False, Flags 0; so does every list the emulator keeps.
    net = _l2bridge(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net}))
    svc.hns_call("POST", "/policylists/", json.dumps({
        "References": [f"/endpoints/{ep['ID']}"],
        "Policies": [{"Type": "ELB", "InternalPort": 55680, "ExternalPort": 55680,
                      "Protocol": 6, "IsDSR": True, "SourceVIP": "10.244.178.2"}]}))
    svc.hns_call("POST", "/policylists/", json.dumps({
        "References": [f"/endpoints/{ep['ID']}"],
        "Policies": [{"Type": "ROUTE", "DestinationPrefix": "10.0.0.0/8",
                      "NeedEncap": True}]}))
    lists = svc.hns_call("GET", "/policylists/")
    assert len(lists) == 2
    for pl in lists:
        assert (pl["IsApplied"], pl["State"], pl["Flags"]) == (False, 2, 0)


def test_mac_addresses_read_back_in_the_case_the_client_wrote(svc: HnsService) -> None:
    # kube-proxy and flannel write remote endpoint MACs as "<prefix>-%02x-..." (upper-case
    # prefix, lower-case hex); real hosts print them as given:
    # real/v1-remote-endpoint-overlay-pa.json ("0E-2A-0a-f4-02-8d"),
    # real/calico-4682-get-hnsendpoint-overlay.partial.json.txt ("0E-2A-0a-01-12-43").
    net = _l2bridge(svc)
    v2 = _hcn(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": net, "Flags": 1, "MacAddress": "0E-2A-0a-f4-02-8d",
        "IpConfigurations": [{"IpAddress": "10.0.0.41"}], "SchemaVersion": V2})
    assert v2["MacAddress"] == "0E-2A-0a-f4-02-8d"
    v1 = svc.hns_call("GET", f"/endpoints/{v2['ID']}")
    assert v1["MacAddress"] == "0E-2A-0a-f4-02-8d"
    made = svc.hns_call("POST", "/endpoints/", json.dumps({
        "VirtualNetwork": net, "IPAddress": "10.0.0.42", "MacAddress": "0E-2A-0a-01-12-43"}))
    assert made["MacAddress"] == "0E-2A-0a-01-12-43"
