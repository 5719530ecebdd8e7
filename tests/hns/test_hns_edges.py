"""Service behaviours no test ran before issue 15 (coverage and hand mutants found them):
one request reserving the same external port twice, the same IP twice in one endpoint, MAC
pool exhaustion, an endpoint leaving its namespace's Resources when deleted, policy
RequestType Update, endpoint Port add/remove, L4Proxy removal, and V1 namespace container
add/remove. Every refusal is checked by its class and HRESULT, and loses nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hns_test_helpers import V2, create_endpoint, create_network, network_v2

from hns import errors
from hns.errors import HnsError
from hns.service import HnsService

Json = dict[str, Any]


def refused(svc: HnsService, cls: type[HnsError], hresult: int, call: Callable[[], Any]) -> None:
    before = svc.dump()
    with pytest.raises(cls) as info:
        call()
    assert info.value.hresult == hresult
    assert svc.dump()["Objects"] == before["Objects"]


def _pm(internal: int, external: int, proto: int = 6) -> Json:
    return {"Type": "PortMapping", "Settings": {"Protocol": proto, "InternalPort": internal,
                                                "ExternalPort": external}}


def _modify(svc: HnsService, ep: str, rtype: str, req: str, settings: Any) -> None:
    body = {"ResourceType": rtype, "RequestType": req, "Settings": settings}
    svc.hcn_call("HcnModifyEndpoint", ep, json.dumps(body))


def _ep(svc: HnsService, ep_id: str) -> Json:
    got: Json = svc.hcn_call("HcnQueryEndpointProperties", ep_id, json.dumps(
        {"SchemaVersion": V2}))
    return got


# -- reservations and IPAM ------------------------------------------------------------------
def test_one_request_naming_an_external_port_twice_is_port_already_exists(
    svc: HnsService,
) -> None:
    net = create_network(svc, ntype="NAT")
    refused(svc, errors.PortAlreadyExists, 0x803B0013, lambda: create_endpoint(
        svc, net["ID"], Policies=[_pm(80, 8080), _pm(81, 8080)]))
    # the same external port for different protocols is two reservations, not one
    ep = create_endpoint(svc, net["ID"], Policies=[_pm(80, 8080, 6), _pm(80, 8080, 17)])
    refused(svc, errors.PortAlreadyExists, 0x803B0013,
            lambda: _modify(svc, ep["ID"], "Policy", "Add", {"Policies": [_pm(82, 9090),
                                                                          _pm(83, 9090)]}))


def test_the_same_ip_twice_in_one_endpoint_is_invalid_ip(svc: HnsService) -> None:
    net = create_network(svc)
    refused(svc, errors.InvalidIp, 0x803B001E, lambda: create_endpoint(
        svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.5"},
                                          {"IpAddress": "10.0.0.5"}]))
    ep = create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.5"}])
    assert [c["IpAddress"] for c in ep["IpConfigurations"]] == ["10.0.0.5"]


def test_a_full_mac_pool_is_invalid_endpoint(svc: HnsService) -> None:
    pool = {"Ranges": [{"StartMacAddress": "00-15-5D-42-00-00",
                        "EndMacAddress": "00-15-5D-42-00-01"}]}
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2(MacPool=pool)))
    macs = {create_endpoint(svc, net["ID"])["MacAddress"] for _ in range(2)}
    assert macs == {"00-15-5D-42-00-00", "00-15-5D-42-00-01"}
    refused(svc, errors.InvalidEndpoint, 0x803B000C,
            lambda: create_endpoint(svc, net["ID"]))
    # a MAC given by the client does not come from the pool
    given = create_endpoint(svc, net["ID"], MacAddress="00-15-5D-99-00-01")
    assert given["MacAddress"] == "00-15-5D-99-00-01"


# -- namespaces -----------------------------------------------------------------------------
def _namespace(svc: HnsService) -> Json:
    got: Json = svc.hcn_call("HcnCreateNamespace", None, json.dumps(
        {"Type": "Host", "SchemaVersion": V2}))
    return got


def test_deleting_an_endpoint_removes_it_from_its_namespace(svc: HnsService) -> None:
    net = create_network(svc)
    keep = create_endpoint(svc, net["ID"])
    gone = create_endpoint(svc, net["ID"])
    ns = _namespace(svc)
    for ep in (keep, gone):
        svc.hcn_call("HcnModifyNamespace", ns["ID"], json.dumps({
            "ResourceType": "Endpoint", "RequestType": "Add",
            "Settings": {"EndpointId": ep["ID"]}, "SchemaVersion": V2}))
    svc.hcn_call("HcnDeleteEndpoint", gone["ID"])
    got = svc.hcn_call("HcnQueryNamespaceProperties", ns["ID"], json.dumps(
        {"SchemaVersion": V2}))
    ids = [r["Data"]["ID"].upper() for r in got.get("Resources", [])]
    assert gone["ID"].upper() not in ids
    assert keep["ID"].upper() in ids
    # and the namespace can go once its last endpoint has
    svc.hcn_call("HcnDeleteEndpoint", keep["ID"])
    svc.hcn_call("HcnDeleteNamespace", ns["ID"])


def test_v1_namespace_container_add_and_remove(svc: HnsService) -> None:
    ns = svc.hns_call("POST", "/namespaces", json.dumps({"IsDefault": False}))
    path = f"/namespaces/{ns['ID']}"

    def containers() -> list[str]:
        got = svc.hns_call("GET", path, None)
        return [r["Data"]["Id"] for r in got.get("ResourceList", []) if r["Type"] == "Container"]

    # hcsshim's AddNamespaceContainer body (NamespaceResourceRequest, Type Container)
    body = json.dumps({"Type": "Container", "Data": {"Id": "ctr-1"}})
    assert containers() == []
    svc.hns_call("POST", f"{path}/addresource", body)
    svc.hns_call("POST", f"{path}/addresource", body)  # twice: still one
    assert containers() == ["ctr-1"]
    svc.hns_call("POST", f"{path}/removeresource", body)
    assert containers() == []
    refused(svc, errors.ElementNotFound, 0x80070490,
            lambda: svc.hns_call("POST", f"{path}/removeresource", body))


# -- endpoint modify ------------------------------------------------------------------------
def test_policy_update_replaces_the_policies_of_the_named_types_only(svc: HnsService) -> None:
    net = create_network(svc, ntype="NAT")
    acl = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In", "Priority": 100}}
    ep = create_endpoint(svc, net["ID"], Policies=[_pm(80, 8080), _pm(81, 8081), acl])
    _modify(svc, ep["ID"], "Policy", "Update", {"Policies": [_pm(82, 8082)]})
    got = _ep(svc, ep["ID"])
    maps = [p["Settings"]["ExternalPort"] for p in got["Policies"] if p["Type"] == "PortMapping"]
    assert maps == [8082]
    assert [p["Type"] for p in got["Policies"]].count("ACL") == 1
    # the replaced reservations are free again; the new one is held
    create_endpoint(svc, net["ID"], Policies=[_pm(80, 8080)])
    refused(svc, errors.PortAlreadyExists, 0x803B0013,
            lambda: create_endpoint(svc, net["ID"], Policies=[_pm(80, 8082)]))


def test_l4proxy_is_removed_by_update_with_an_empty_policy(svc: HnsService) -> None:
    """Remove-HnsProxyPolicy sends RequestType Update with Policies [{}]."""
    net = create_network(svc, ntype="NAT")
    acl = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In", "Priority": 100}}
    ep = create_endpoint(svc, net["ID"], Policies=[acl])
    proxy = {"Type": "L4Proxy", "Settings": {"IP": "10.0.0.250", "Port": "8080",
                                             "Protocol": 6}}
    _modify(svc, ep["ID"], "Policy", "Add", {"Policies": [proxy]})
    assert "L4Proxy" in [p["Type"] for p in _ep(svc, ep["ID"])["Policies"]]
    _modify(svc, ep["ID"], "Policy", "Update", {"Policies": [{}]})
    assert [p["Type"] for p in _ep(svc, ep["ID"])["Policies"]] == ["ACL"]


def test_endpoint_port_add_and_remove_attach_and_detach_a_vm(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    vm = "5E0A3E4A-1F3B-4C6A-9E3B-8A0E7C1D2F3A"
    _modify(svc, ep["ID"], "Port", "Add", {"VirtualMachineId": vm})
    got = _ep(svc, ep["ID"])
    assert got["State"] == 2  # Attached
    refused(svc, errors.EndpointAlreadyAttached, 0x803B0014,
            lambda: _modify(svc, ep["ID"], "Port", "Add", {"VirtualMachineId": vm}))
    _modify(svc, ep["ID"], "Port", "Remove", {})
    assert _ep(svc, ep["ID"])["State"] == 4  # Detached
    refused(svc, errors.EndpointNotAttached, 0x803B0034,
            lambda: _modify(svc, ep["ID"], "Port", "Remove", {}))
    refused(svc, errors.RequestUnsupported, 0x803B0015,
            lambda: _modify(svc, ep["ID"], "Port", "Refresh", {}))


def test_every_address_of_an_endpoint_is_checked_wherever_it_is_listed(
    svc: HnsService,
) -> None:
    """An IP-less configuration (ask for an address) before one with an address does not
    exempt the latter from the subnet, taken and twice checks; nor does being remote."""
    net = create_network(svc)
    refused(svc, errors.InvalidIp, 0x803B001E, lambda: create_endpoint(
        svc, net["ID"], IpConfigurations=[{"PrefixLength": 24},
                                          {"IpAddress": "192.168.9.9"}]))
    remote = {"Flags": 1}  # IsRemoteEndpoint: any address, but each one once
    first = create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.9.0.1"}],
                            **remote)
    refused(svc, errors.InvalidIp, 0x803B001E, lambda: create_endpoint(
        svc, net["ID"], IpConfigurations=[{"IpAddress": "10.9.0.2"}, {"IpAddress": "10.9.0.2"}],
        **remote))
    refused(svc, errors.ObjectAlreadyExists, 0x80071392, lambda: create_endpoint(
        svc, net["ID"], IpConfigurations=[{"IpAddress": "10.9.0.3"}, {"IpAddress": "10.9.0.1"}],
        **remote))
    assert first["IpConfigurations"][0]["IpAddress"] == "10.9.0.1"


def test_a_given_address_gets_its_subnet_prefix_length_and_remotes_get_no_pool_address(
    svc: HnsService,
) -> None:
    net = create_network(svc, prefix="10.0.0.0/24", gateway="10.0.0.1")
    ep = create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.7"}])
    assert ep["IpConfigurations"] == [{"IpAddress": "10.0.0.7", "PrefixLength": 24}]
    # the address pool belongs to local endpoints: a remote one asking for none gets none
    remote = create_endpoint(svc, net["ID"], Flags=1)
    assert not any(c.get("IpAddress") for c in remote.get("IpConfigurations", []))
    # and the pool still hands out its first address to the next local endpoint
    local = create_endpoint(svc, net["ID"])
    assert local["IpConfigurations"][0]["IpAddress"] == "10.0.0.2"


def test_a_subnet_written_with_host_bits_still_hands_out_addresses(svc: HnsService) -> None:
    """The service accepts 10.0.5.5/24 as a subnet prefix (stored as written); allocation
    reads it as the network 10.0.5.0/24 instead of failing."""
    net = create_network(svc, prefix="10.0.5.5/24", gateway="10.0.5.1")
    ep = create_endpoint(svc, net["ID"])
    assert ep["IpConfigurations"][0]["IpAddress"].startswith("10.0.5.")
    assert ep["IpConfigurations"][0]["PrefixLength"] == 24


def test_a_v1_endpoint_update_without_a_mac_keeps_the_endpoint_mac(svc: HnsService) -> None:
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints", json.dumps({"Name": "e",
                                                         "VirtualNetwork": net["ID"]}))
    updated = svc.hns_call("POST", f"/endpoints/{ep['ID']}", json.dumps(
        {"Name": "e2", "VirtualNetwork": net["ID"]}))
    assert updated["Name"] == "e2"
    assert updated["MacAddress"] == ep["MacAddress"]


def test_every_port_mapping_is_checked_whatever_comes_before_it(svc: HnsService) -> None:
    net = create_network(svc, ntype="NAT")
    create_endpoint(svc, net["ID"], Policies=[_pm(80, 8080)])
    acl = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In", "Priority": 100}}
    no_external = {"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 90}}
    for first in (acl, no_external):
        refused(svc, errors.PortAlreadyExists, 0x803B0013, lambda first=first: create_endpoint(
            svc, net["ID"], Policies=[first, _pm(81, 8080)]))


def test_a_port_clash_detail_names_the_address_port_and_protocol(svc: HnsService) -> None:
    net = create_network(svc, ntype="NAT")
    create_endpoint(svc, net["ID"], Policies=[_pm(80, 8080)])
    with pytest.raises(errors.PortAlreadyExists) as info:
        create_endpoint(svc, net["ID"], Policies=[_pm(81, 8080)])
    assert info.value.hresult == 0x803B0013
    assert "*:8080/6" in str(info.value.detail)  # no VIP: every address of the host
