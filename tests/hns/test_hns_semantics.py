"""The semantics HNS enforces, each with its exact HRESULT and message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hns_test_helpers import V2, create_endpoint, create_network, lb_body, network_v2

from hns import errors
from hns.errors import HnsError
from hns.service import HnsService


def expect(cls: type[HnsError], hresult: int, message: str, call: Callable[[], Any]) -> HnsError:
    with pytest.raises(cls) as info:
        call()
    assert info.value.hresult == hresult
    assert info.value.message == message
    return info.value


def test_network_duplicate_name_is_network_already_exists(svc: HnsService) -> None:
    create_network(svc, name="cbr0")
    expect(errors.NetworkAlreadyExists, 0x803B0010, "A network with this name already exists.",
           lambda: create_network(svc, name="cbr0", prefix="10.1.0.0/24", gateway="10.1.0.1"))
    # V1 sees the same store.
    body = {"Name": "cbr0", "Type": "nat", "Subnets": [{"AddressPrefix": "10.2.0.0/24",
                                                       "GatewayAddress": "10.2.0.1"}]}
    expect(errors.NetworkAlreadyExists, 0x803B0010, "A network with this name already exists.",
           lambda: svc.hns_call("POST", "/networks/", json.dumps(body)))


def test_network_unknown_type_is_invalid_network_type(svc: HnsService) -> None:
    expect(errors.InvalidNetworkType, 0x803B000B, "Invalid network type.",
           lambda: create_network(svc, ntype="Bogus"))


def test_endpoint_ip_outside_subnets_is_invalid_ip(svc: HnsService) -> None:
    net = create_network(svc)
    expect(errors.InvalidIp, 0x803B001E,
           "IP address is either invalid or not part of any configured subnet(s).",
           lambda: create_endpoint(svc, net["ID"],
                                   IpConfigurations=[{"IpAddress": "192.168.9.9"}]))


def test_endpoint_ip_taken_by_local_endpoint_is_object_already_exists(svc: HnsService) -> None:
    net = create_network(svc)
    create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.7"}])
    expect(errors.ObjectAlreadyExists, 0x80071392, "The object already exists.",
           lambda: create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.7"}]))


def test_endpoint_remote_may_share_ip_with_local(svc: HnsService) -> None:
    net = create_network(svc)
    create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.7"}])
    remote = create_endpoint(svc, net["ID"], Flags=1,
                             IpConfigurations=[{"IpAddress": "10.0.0.7", "PrefixLength": 24}])
    assert remote["Flags"] & 1


def test_endpoint_gateway_and_network_address_are_reserved(svc: HnsService) -> None:
    net = create_network(svc)
    for ip in ("10.0.0.1", "10.0.0.0", "10.0.0.255"):
        expect(errors.AddrInvalidOrReserved, 0x803B002F,
               "An address provided is invalid or reserved.",
               lambda ip=ip: create_endpoint(svc, net["ID"],
                                             IpConfigurations=[{"IpAddress": ip}]))


def test_endpoint_ipam_gives_next_free_address_and_pool_mac(svc: HnsService) -> None:
    net = create_network(svc)
    first = create_endpoint(svc, net["ID"])
    second = create_endpoint(svc, net["ID"])
    assert first["IpConfigurations"] == [{"IpAddress": "10.0.0.2", "PrefixLength": 24}]
    assert second["IpConfigurations"][0]["IpAddress"] == "10.0.0.3"
    assert first["MacAddress"].startswith("00-15-5D-")
    assert first["MacAddress"] != second["MacAddress"]
    svc.hcn_call("HcnDeleteEndpoint", first["ID"])
    again = create_endpoint(svc, net["ID"])
    assert again["IpConfigurations"][0]["IpAddress"] == "10.0.0.2"


def test_endpoint_ipam_skips_explicitly_taken_addresses(svc: HnsService) -> None:
    net = create_network(svc)
    create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.2"}])
    got = create_endpoint(svc, net["ID"])
    assert got["IpConfigurations"][0]["IpAddress"] == "10.0.0.3"


def test_endpoint_missing_network_is_network_not_found(svc: HnsService) -> None:
    expect(errors.NetworkNotFound, 0x803B0001, "The network was not found.",
           lambda: create_endpoint(svc, "5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11"))


def test_open_and_delete_of_missing_id_is_element_not_found(svc: HnsService) -> None:
    missing = "5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11"
    for fn in ("HcnOpenNetwork", "HcnOpenEndpoint", "HcnOpenLoadBalancer", "HcnOpenNamespace",
               "HcnOpenSdnRoute", "HcnDeleteNetwork", "HcnDeleteEndpoint",
               "HcnDeleteLoadBalancer", "HcnDeleteNamespace", "HcnDeleteSdnRoute",
               "HcnQueryEndpointProperties"):
        expect(errors.ElementNotFound, 0x80070490, "Element not found.",
               lambda fn=fn: svc.hcn_call(fn, missing, None))
    expect(errors.ElementNotFound, 0x80070490, "Element not found.",
           lambda: svc.hns_call("GET", f"/networks/{missing}"))


def test_invalid_json_is_invalid_json(svc: HnsService) -> None:
    for call in (lambda: svc.hcn_call("HcnCreateNetwork", None, "{not json"),
                 lambda: svc.hns_call("POST", "/endpoints/", "[1,"),
                 lambda: svc.hcn_call("HcnCreateLoadBalancer", None, "NaN"),
                 lambda: svc.hcn_call("HcnEnumerateNetworks", None, '{"Filter": "{bad"}')):
        expect(errors.InvalidJson, 0x803B001B, "Invalid JSON document string.", call)


def test_load_balancer_port_clash_until_owner_deleted(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]])))
    # Another VIP on the same port is fine; a wildcard (NodePort-style) on it is not.
    svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]], vip="10.96.0.11"))
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]], vip="")))
    # Deleting the backend endpoint does not free the reservation (kubernetes#137530) ...
    svc.hcn_call("HcnDeleteEndpoint", ep["ID"])
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([])))
    # ... deleting the load balancer does.
    svc.hcn_call("HcnDeleteLoadBalancer", lb["ID"])
    svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([]))


def test_port_mapping_policy_reserves_host_port(svc: HnsService) -> None:
    net = create_network(svc)
    pm = [{"Type": "PortMapping",
           "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080}}]
    first = create_endpoint(svc, net["ID"], Policies=pm)
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: create_endpoint(svc, net["ID"], Policies=pm))
    v1 = {"VirtualNetwork": net["ID"],
          "Policies": [{"Type": "NAT", "Protocol": "TCP", "InternalPort": 80,
                        "ExternalPort": 8080}]}
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: svc.hns_call("POST", "/endpoints/", json.dumps(v1)))
    svc.hns_call("DELETE", f"/endpoints/{first['ID']}")
    svc.hns_call("POST", "/endpoints/", json.dumps(v1))


def test_load_balancer_naming_missing_endpoint_is_endpoint_not_found(svc: HnsService) -> None:
    expect(errors.EndpointNotFound, 0x803B0002, "The endpoint was not found.",
           lambda: svc.hcn_call("HcnCreateLoadBalancer", None,
                                lb_body(["5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11"])))
    policy_list = {"References": ["/endpoints/5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11"],
                   "Policies": [{"Type": "ELB", "Protocol": 6, "InternalPort": 80,
                                 "ExternalPort": 80, "VIPs": ["10.96.0.1"]}]}
    expect(errors.EndpointNotFound, 0x803B0002, "The endpoint was not found.",
           lambda: svc.hns_call("POST", "/policylists/", json.dumps(policy_list)))


def test_load_balancer_internal_port_zero_is_invalid_internal_port(svc: HnsService) -> None:
    body = {"PortMappings": [{"Protocol": 6, "InternalPort": 0, "ExternalPort": 80}]}
    expect(errors.InvalidInternalPort, 0x803B002D,
           "The internal port must exist and cannot be zero.",
           lambda: svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(body)))


def test_namespace_membership_and_already_in_namespace(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    ns1 = svc.hcn_call("HcnCreateNamespace", None, json.dumps({"SchemaVersion": V2}))
    ns2 = svc.hcn_call("HcnCreateNamespace", None, json.dumps({"SchemaVersion": V2}))
    add = json.dumps({"ResourceType": "Endpoint", "RequestType": "Add",
                      "Settings": {"EndpointId": ep["ID"]}})
    svc.hcn_call("HcnModifyNamespace", ns1["ID"], add)
    got = svc.hcn_call("HcnQueryEndpointProperties", ep["ID"], None)
    assert got["HostComputeNamespace"] == ns1["ID"]
    ns = svc.hcn_call("HcnQueryNamespaceProperties", ns1["ID"], None)
    assert ns["Resources"] == [{"Type": "Endpoint", "Data": {"ID": ep["ID"]}}]
    msg = "This requested operation is invalid as endpoint is already part of a network namespace."
    expect(errors.EndpointNamespaceAlreadyExists, 0x803B002B, msg,
           lambda: svc.hcn_call("HcnModifyNamespace", ns2["ID"], add))
    expect(errors.EndpointNamespaceAlreadyExists, 0x803B002B, msg,
           lambda: svc.hns_call("POST", f"/namespaces/{ns1['ID']}/addresource",
                                json.dumps({"Type": "Endpoint", "Data": {"Id": ep["ID"]}})))


def test_namespace_with_endpoints_cannot_be_deleted(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    ns = svc.hns_call("POST", "/namespaces/", json.dumps({"IsDefault": False}))
    svc.hns_call("POST", f"/namespaces/{ns['ID']}/addresource",
                 json.dumps({"Type": "Endpoint", "Data": {"Id": ep["ID"]}}))
    expect(errors.EntityHasReferences, 0x803B002C,
           "The specified entity cannot be removed while it still has references.",
           lambda: svc.hns_call("DELETE", f"/namespaces/{ns['ID']}"))
    svc.hns_call("POST", f"/namespaces/{ns['ID']}/removeresource",
                 json.dumps({"Type": "Endpoint", "Data": {"Id": ep["ID"]}}))
    svc.hns_call("DELETE", f"/namespaces/{ns['ID']}")
    assert "HostComputeNamespace" not in svc.hcn_call("HcnQueryEndpointProperties", ep["ID"])


def test_attach_twice_is_endpoint_already_attached(svc: HnsService) -> None:
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net["ID"]}))
    attach = json.dumps({"ContainerId": "c1", "SystemType": "Container"})
    svc.hns_call("POST", f"/endpoints/{ep['ID']}/attach", attach)
    got = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    assert got["State"] == 2
    assert got["SharedContainers"] == ["c1"]
    expect(errors.EndpointAlreadyAttached, 0x803B0014,
           "This endpoint is already attached to the switch.",
           lambda: svc.hns_call("POST", f"/endpoints/{ep['ID']}/attach", attach))
    svc.hns_call("POST", f"/endpoints/{ep['ID']}/detach", json.dumps({"SystemType": "Container"}))
    assert svc.hns_call("GET", f"/endpoints/{ep['ID']}")["State"] == 4
    expect(errors.EndpointNotAttached, 0x803B0034,
           "The endpoint must be attached to complete the operation.",
           lambda: svc.hns_call("POST", f"/endpoints/{ep['ID']}/detach", "{}"))


def test_remote_endpoint_operations_are_refused(svc: HnsService) -> None:
    net = create_network(svc)
    remote = svc.hns_call("POST", "/endpoints/", json.dumps({
        "VirtualNetwork": net["ID"], "IsRemoteEndpoint": True, "IPAddress": "10.244.2.9",
        "Policies": [{"Type": "PA", "PA": "192.168.1.2"}]}))
    msg = "This requested operation is invalid for a remote endpoint."
    expect(errors.InvalidRemoteEndpointOperation, 0x803B000F, msg,
           lambda: svc.hns_call("POST", f"/endpoints/{remote['ID']}/attach", "{}"))
    ns = svc.hcn_call("HcnCreateNamespace", None, "{}")
    add = json.dumps({"ResourceType": "Endpoint", "RequestType": "Add",
                      "Settings": {"EndpointId": remote["ID"]}})
    expect(errors.InvalidRemoteEndpointOperation, 0x803B000F, msg,
           lambda: svc.hcn_call("HcnModifyNamespace", ns["ID"], add))
    port = json.dumps({"ResourceType": "Port", "RequestType": "Add", "Settings": {}})
    expect(errors.InvalidRemoteEndpointOperation, 0x803B000F, msg,
           lambda: svc.hcn_call("HcnModifyEndpoint", remote["ID"], port))


def test_remote_endpoint_ip_need_not_be_in_local_subnet(svc: HnsService) -> None:
    net = create_network(svc)
    remote = create_endpoint(svc, net["ID"], Flags=1,
                             IpConfigurations=[{"IpAddress": "10.244.9.9", "PrefixLength": 32}])
    v1 = svc.hns_call("GET", f"/endpoints/{remote['ID']}")
    assert v1["IsRemoteEndpoint"] is True
    assert v1["IPAddress"] == "10.244.9.9"


def test_network_delete_removes_its_endpoints_and_keeps_stale_lb(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    svc.hcn_call("HcnDeleteNetwork", net["ID"])
    assert svc.hcn_call("HcnEnumerateEndpoints", None, None) == []
    # The LB stays, still naming the dead backend (kubernetes#112836).
    got = svc.hcn_call("HcnQueryLoadBalancerProperties", lb["ID"], None)
    assert got["HostComputeEndpoints"] == [ep["ID"]]


def test_policy_add_twice_is_policy_already_exists(svc: HnsService) -> None:
    net = create_network(svc)
    req = json.dumps({"ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [
        {"Type": "HostRoute", "Settings": {}}]}})
    svc.hcn_call("HcnModifyNetwork", net["ID"], req)
    expect(errors.PolicyAlreadyExists, 0x803B0012,
           "Policy information already exists on this object.",
           lambda: svc.hcn_call("HcnModifyNetwork", net["ID"], req))
    remove = json.dumps({"ResourceType": "Policy", "RequestType": "Remove",
                         "Settings": {"Policies": [{"Type": "HostRoute", "Settings": {}}]}})
    svc.hcn_call("HcnModifyNetwork", net["ID"], remove)
    left = svc.hcn_call("HcnQueryNetworkProperties", net["ID"], None)["Policies"]
    assert [p["Type"] for p in left] == ["ProviderAddress"]  # the management IP HNS added


def test_unknown_policy_type_and_bad_settings(svc: HnsService) -> None:
    net = create_network(svc)
    expect(errors.InvalidPolicyType, 0x803B000E, "Invalid policy type.",
           lambda: create_endpoint(svc, net["ID"], Policies=[{"Type": "Nope", "Settings": {}}]))
    msg = "The provided policy configuration is invalid or missing parameters."
    acl_any = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In",
                                           "LocalAddresses": "Any"}}
    expect(errors.InvalidPolicy, 0x803B000D, msg,
           lambda: create_endpoint(svc, net["ID"], Policies=[acl_any]))
    vsid = network_v2(name="x", prefix="10.9.0.0/24", gateway="10.9.0.1")
    vsid["Ipams"][0]["Subnets"][0]["Policies"] = [{"Type": "VSID",
                                                   "Settings": {"IsolationId": 1 << 24}}]
    expect(errors.InvalidPolicy, 0x803B000D, msg,
           lambda: svc.hcn_call("HcnCreateNetwork", None, json.dumps(vsid)))
    pm = {"Type": "PortMapping", "Settings": {"Protocol": 6, "ExternalPort": 70000}}
    expect(errors.InvalidPolicy, 0x803B000D, msg,
           lambda: create_endpoint(svc, net["ID"], Policies=[pm]))


def test_bad_guid_and_bad_prefix_are_typed_errors(svc: HnsService) -> None:
    expect(errors.InvalidNetwork, 0x803B000A,
           "The provided network configuration is invalid or missing parameters.",
           lambda: svc.hcn_call("HcnCreateNetwork", None,
                                json.dumps({"ID": "not-a-guid", "Name": "n"})))
    expect(errors.InvalidPrefix, 0x803B0030, "The prefix provided is invalid.",
           lambda: create_network(svc, prefix="10.0.0.0/33"))
    expect(errors.InvalidArg, 0x80070057, "The parameter is incorrect.",
           lambda: svc.hcn_call("HcnOpenNetwork", "xyz", None))


def test_caller_given_id_is_kept_and_reuse_is_already_exists(svc: HnsService) -> None:
    net = create_network(svc)
    given = "8f109901-9970-4fda-bb2b-e9882fb3e8fb"
    ep = svc.hcn_call("HcnCreateEndpoint", given, json.dumps({"HostComputeNetwork": net["ID"]}))
    assert ep["ID"] == given
    expect(errors.AlreadyExists, 0x800700B7,
           "Cannot create a file when that file already exists.",
           lambda: svc.hcn_call("HcnCreateEndpoint", given,
                                json.dumps({"HostComputeNetwork": net["ID"]})))
    zero = "00000000-0000-0000-0000-000000000000"
    other = svc.hcn_call("HcnCreateEndpoint", zero, json.dumps({"HostComputeNetwork": net["ID"]}))
    assert other["ID"] != zero


def test_v1_update_endpoint_replaces_policies(svc: HnsService) -> None:
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net["ID"]}))
    body = dict(ep, Policies=[{"Type": "ACL", "Action": "Allow", "Direction": "In",
                               "Protocols": "6", "Priority": 100}])
    updated = svc.hns_call("POST", f"/endpoints/{ep['ID']}", json.dumps(body))
    assert updated["IPAddress"] == ep["IPAddress"]
    assert updated["MacAddress"] == ep["MacAddress"]
    v2 = svc.hcn_call("HcnQueryEndpointProperties", ep["ID"], None)
    assert v2["Policies"][0]["Type"] == "ACL"
    assert v2["Policies"][0]["Settings"]["Priority"] == 100


def test_unknown_path_and_function_are_request_unsupported(svc: HnsService) -> None:
    msg = "The specified request is unsupported."
    expect(errors.RequestUnsupported, 0x803B0015, msg, lambda: svc.hns_call("GET", "/bogus"))
    expect(errors.RequestUnsupported, 0x803B0015, msg,
           lambda: svc.hns_call("PUT", "/networks/"))
    expect(errors.RequestUnsupported, 0x803B0015, msg,
           lambda: svc.hcn_call("HcnFrobnicateNetwork", None, None))
    expect(errors.RequestUnsupported, 0x803B0015, msg,
           lambda: svc.hcn_call("HcnModifySdnRoute", "5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11", "{}"))



def test_v1_missing_endpoint_is_element_not_found(svc: HnsService) -> None:
    missing = "5ac8a6b6-1dd4-4d0e-a3ff-2a9d1e1c8a11"
    for method, path in (("GET", f"/endpoints/{missing}"), ("DELETE", f"/endpoints/{missing}"),
                         ("POST", f"/endpoints/{missing}/attach"),
                         ("DELETE", f"/policylists/{missing}"),
                         ("DELETE", f"/namespaces/{missing}")):
        expect(errors.ElementNotFound, 0x80070490, "Element not found.",
               lambda method=method, path=path: svc.hns_call(method, path, "{}"))


def test_network_modify_keeps_endpoints_and_allocators(svc: HnsService) -> None:
    net = create_network(svc)
    first = create_endpoint(svc, net["ID"])
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps({
        "ResourceType": "Policy", "RequestType": "Add",
        "Settings": {"Policies": [{"Type": "HostRoute", "Settings": {}}]}}))
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps({
        "ResourceType": "DNS", "RequestType": "Update",
        "Settings": {"ServerList": ["10.96.0.10"]}}))
    second = create_endpoint(svc, net["ID"])
    assert second["IpConfigurations"][0]["IpAddress"] == "10.0.0.3"
    assert svc.hns_call("GET", f"/networks/{net['ID']}")["CurrentEndpointCount"] == 2
    assert sorted(svc.hcn_call("HcnEnumerateEndpoints", None, json.dumps(
        {"Filter": json.dumps({"VirtualNetwork": net["ID"]})}))) == \
        sorted([first["ID"], second["ID"]])
    svc.hcn_call("HcnDeleteNetwork", net["ID"])
    assert svc.hcn_call("HcnEnumerateEndpoints", None, None) == []


def test_network_subnet_add_and_remove(svc: HnsService) -> None:
    net = create_network(svc)
    add = {"ResourceType": "Subnet", "RequestType": "Add", "Settings": {"Subnets": [
        {"IpAddressPrefix": "10.1.0.0/24",
         "Routes": [{"NextHop": "10.1.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}}
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(add))
    create_endpoint(svc, net["ID"], IpConfigurations=[{"IpAddress": "10.1.0.9"}])
    expect(errors.PolicyAlreadyExists, 0x803B0012,
           "Policy information already exists on this object.",
           lambda: svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(add)))
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(dict(add, RequestType="Remove")))
    got = svc.hcn_call("HcnQueryNetworkProperties", net["ID"], None)
    assert [s["IpAddressPrefix"] for s in got["Ipams"][0]["Subnets"]] == ["10.0.0.0/24"]


def test_network_extension_toggle_through_v1(svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({"Name": "nat", "Type": "nat"}))
    vfp = "F74F241B-440F-4433-BB28-00F89EAD20D8"
    svc.hns_call("POST", f"/networks/{net['ID']}",
                 json.dumps({"Extensions": [{"Id": vfp, "IsEnabled": True}]}))
    got = svc.hns_call("GET", f"/networks/{net['ID']}")
    assert {e["Id"]: e["IsEnabled"] for e in got["Extensions"]}[vfp] is True
    expect(errors.SwitchExtensionNotFound, 0x803B001F,
           "The specified switch extension does not exist on this switch.",
           lambda: svc.hns_call("POST", f"/networks/{net['ID']}", json.dumps(
               {"Extensions": [{"Id": "1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10",
                                "IsEnabled": True}]})))


def test_dual_stack_network_gives_one_address_per_family(svc: HnsService) -> None:
    body = network_v2()
    body["Ipams"][0]["Subnets"].append({
        "IpAddressPrefix": "fd00:10::/64",
        "Routes": [{"NextHop": "fd00:10::1", "DestinationPrefix": "::/0"}]})
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(body))
    ep = create_endpoint(svc, net["ID"], IpConfigurations=[{"PrefixLength": 24}])
    assert ep["IpConfigurations"] == [{"IpAddress": "10.0.0.2", "PrefixLength": 24},
                                      {"IpAddress": "fd00:10::2", "PrefixLength": 64}]
    v1 = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    assert (v1["IPv6Address"], v1["GatewayAddressV6"]) == ("fd00:10::2", "fd00:10::1")
    svc.set_profile("ws2019")
    older = create_endpoint(svc, net["ID"])
    assert [c["IpAddress"] for c in older["IpConfigurations"]] == ["10.0.0.3"]


def test_subnet_exhaustion_is_invalid_ip(svc: HnsService) -> None:
    net = create_network(svc, prefix="10.0.0.0/30", gateway="10.0.0.1")
    assert create_endpoint(svc, net["ID"])["IpConfigurations"][0]["IpAddress"] == "10.0.0.2"
    expect(errors.InvalidIp, 0x803B001E,
           "IP address is either invalid or not part of any configured subnet(s).",
           lambda: create_endpoint(svc, net["ID"]))


def test_more_invalid_configurations_have_their_own_codes(svc: HnsService) -> None:
    net = create_network(svc)
    expect(errors.InvalidEndpoint, 0x803B000C,
           "The provided endpoint configuration is invalid or missing parameters.",
           lambda: create_endpoint(svc, net["ID"],
                                   HostComputeNamespace="1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10"))
    expect(errors.InvalidEndpoint, 0x803B000C,
           "The provided endpoint configuration is invalid or missing parameters.",
           lambda: create_endpoint(svc, net["ID"], MacAddress="zz-zz"))
    expect(errors.InvalidSubnet, 0x803B0032,
           "The provided subnet configuration is invalid or missing parameters.",
           lambda: create_network(svc, name="g", prefix="10.3.0.0/24", gateway="10.4.0.1"))
    expect(errors.InvalidNetwork, 0x803B000A,
           "The provided network configuration is invalid or missing parameters.",
           lambda: svc.hcn_call("HcnCreateNetwork", None, json.dumps({"Type": "NAT"})))
    expect(errors.PolicyNotFound, 0x803B0008, "An expected policy was not found.",
           lambda: svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps({
               "ResourceType": "Policy", "RequestType": "Remove",
               "Settings": {"Policies": [{"Type": "HostRoute", "Settings": {}}]}})))
    svc.hns_call("POST", "/namespaces/", json.dumps({"IsDefault": True}))
    expect(errors.GcnDefaultnamespaceExists, 0x803B0029, "Default Namespace already exists.",
           lambda: svc.hns_call("POST", "/namespaces/", json.dumps({"IsDefault": True})))


def test_reboot_detaches_endpoints_of_persistent_networks(svc: HnsService) -> None:
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net["ID"]}))
    svc.hns_call("POST", f"/endpoints/{ep['ID']}/attach", json.dumps({"ContainerId": "c"}))
    svc.reboot()
    got = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    assert (got["State"], got["SharedContainers"]) == (4, [])


def test_networks_sharing_a_subnet_id_keep_separate_pools(svc: HnsService) -> None:
    sid = "A8D5A7AB-DD0D-4A01-8E37-10681D2A494A"  # V1 views carry subnet ids; copies reuse them
    ids = []
    for name, prefix in (("one", "10.1.0.0/24"), ("two", "10.2.0.0/24")):
        gateway = prefix.replace("0/24", "1")
        ids.append(svc.hns_call("POST", "/networks/", json.dumps({
            "Name": name, "Type": "nat", "Subnets": [
                {"ID": sid, "AddressPrefix": prefix, "GatewayAddress": gateway}]}))["ID"])
    svc.hns_call("DELETE", f"/networks/{ids[0]}")
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": ids[1]}))
    assert ep["IPAddress"] == "10.2.0.2"


def test_injected_faults_fail_the_next_matching_calls_then_clear(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    svc.inject_fault("HcnDeleteLoadBalancer", 0x803B0017, times=2)  # degraded, twice
    for _ in range(2):
        expect(errors.DegradedOperation, 0x803B0017,
               "There was an operation attempted on a degraded object.",
               lambda: svc.hcn_call("HcnDeleteLoadBalancer", lb["ID"]))
    svc.hcn_call("HcnDeleteLoadBalancer", lb["ID"])  # the third try goes through
    svc.inject_fault("GET /Networks", 0x80070426)
    expect(errors.ServiceNotStarted, 0x80070426, "The service has not been started.",
           lambda: svc.hns_call("GET", "/networks/"))
    assert len(svc.hns_call("GET", "/networks/")) == 1
    svc.inject_fault("HcnCreateEndpoint", 0x803B0007)
    svc.reset()  # clears pending faults too
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []
    with pytest.raises(errors.InvalidArg):
        svc.inject_fault("", 0x803B0007)


def test_load_balancer_portless_ilb_is_accepted_as_docker_sends_it(svc: HnsService) -> None:
    # Docker's Windows service VIP: an ELB policy list with ILB and no protocol or ports
    # (moby#39339, moby#40606 dumps show real hosts holding such lists).
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    body = {"References": [f"/endpoints/{ep['ID']}"],
            "Policies": [{"Type": "ELB", "VIPs": ["10.0.9.2"], "ILB": True}]}
    made = svc.hns_call("POST", "/policylists/", json.dumps(body))
    got = svc.hns_call("GET", f"/policylists/{made['ID']}")
    elb = got["Policies"][0]
    assert elb["ILB"] is True
    assert elb["VIPs"] == ["10.0.9.2"]
    assert elb.get("InternalPort", 0) == 0
    assert elb.get("Protocol", 0) == 0
    # the port-less mapping still takes the VIP: a second one on it is refused
    expect(errors.PortAlreadyExists, 0x803B0013, "The specified port already exists.",
           lambda: svc.hns_call("POST", "/policylists/", json.dumps(body)))


@pytest.mark.parametrize("vips", [True, "10.0.9.2", 7, {"a": 1}])
def test_policylist_elb_vips_not_a_list_is_invalid_policy(svc: HnsService, vips: Any) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    body = {"References": [f"/endpoints/{ep['ID']}"],
            "Policies": [{"Type": "ELB", "Protocol": 6, "InternalPort": 80, "VIPs": vips}]}
    before = svc.dump()
    with pytest.raises(errors.InvalidPolicy):
        svc.hns_call("POST", "/policylists/", json.dumps(body))
    assert svc.dump() == before
