"""One store, two views: every policy type and object survives V2 -> V1 -> V2 and back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hns_test_helpers import V2, create_endpoint, create_network, lb_body, network_v2

from hns.policies import ENDPOINT_POLICY_TYPES, NETWORK_POLICY_TYPES
from hns.service import HnsService

GUID = "1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10"

ENDPOINT_SAMPLES: dict[str, dict[str, Any]] = {
    "PortMapping": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080,
                    "VIP": "10.0.0.100", "Flags": 4},
    "ACL": {"Id": "rule1", "Protocols": "6", "Action": "Allow", "Direction": "In",
            "LocalPorts": "80,8000-8080", "RemoteAddresses": "10.0.0.0/8,192.168.1.1",
            "RuleType": "Switch", "Priority": 100},
    "QOS": {"MaximumOutgoingBandwidthInBytes": 1000000},
    "L2Driver": {},
    "OutBoundNAT": {"VirtualIP": "10.0.0.9", "Exceptions": ["10.96.0.0/12", "10.244.0.0/16"],
                    "Destinations": ["8.8.8.8"], "MaxPortPoolUsage": 50},
    "SDNRoute": {"DestinationPrefix": "10.96.0.0/12", "NextHop": "10.0.0.1", "NeedEncap": True},
    "L4Proxy": {"IP": "127.0.0.1", "Port": "15001", "Protocol": 6, "Exceptions": ["10.0.0.1"],
                "Destination": "", "OutboundNAT": True},
    "L4WFPPROXY": {"InboundProxyPort": "15006", "OutboundProxyPort": "15001",
                   "UserSID": "S-1-5-18", "FilterTuple": {"Protocols": "6"}},
    "PortName": {"Name": "port0"},
    "EncapOverhead": {"Overhead": 50},
    "Iov": {"IovOffloadWeight": 100, "QueuePairsRequested": 1, "InterruptModeration": 0},
    "ProviderAddress": {"ProviderAddress": "192.168.1.10"},
    "InterfaceConstraint": {"InterfaceGuid": GUID, "InterfaceIndex": 5},
    "TierAcl": {"Name": "tier0", "Direction": "In", "Order": 1,
                "TierAclRules": [{"Id": "r", "Protocols": "6", "TierAclRuleAction": "Allow",
                                  "Priority": 10}]},
    "Encryption": {},
    "VLAN": {"IsolationId": 10},
    "InterfaceParameters": {"Mtu": 1400},
    "Firewall": {},
    "VNET": {},
    "Isolation": {"VLAN": 5, "VSID": 5000, "InDefaultIsolation": True},
}

NETWORK_SAMPLES: dict[str, dict[str, Any]] = {
    "SourceMacAddress": {"SourceMacAddress": "00-15-5D-01-02-03"},
    "NetAdapterName": {"NetworkAdapterName": "Ethernet"},
    "VSwitchExtension": {"ExtensionID": GUID, "Enable": True},
    "DrMacAddress": {"Address": "00-15-5D-BB-6E-B1"},
    "AutomaticDNS": {"Enable": True},
    "InterfaceConstraint": {"InterfaceGuid": GUID, "InterfaceLuid": 1 << 40},
    "ProviderAddress": {"ProviderAddress": "10.1.36.50"},
    "RemoteSubnetRoute": {"DestinationPrefix": "10.244.2.0/24", "IsolationId": 4096,
                          "ProviderAddress": "10.1.36.51",
                          "DistributedRouterMacAddress": "00-15-5D-BB-6E-B2"},
    "VxlanPort": {"Port": 4789},
    "HostRoute": {},
    "SetPolicy": {"Id": "set1", "Name": "set1", "PolicyType": "IPSET", "Values": "10.0.0.1"},
    "L4Proxy": {"IP": "127.0.0.1", "Port": "15001", "Protocol": 6, "Destination": ""},
    "LayerConstraint": {"LayerId": GUID},
    "NetworkACL": {"Action": "Block", "Direction": "Out", "Protocols": "17", "Priority": 200},
    "NeighborDiscovery": {"TargetIpPrefix": "10.0.0.0/24", "SenderIpAddress": "10.0.0.1",
                          "SenderMacAddress": "00-15-5D-01-02-04"},
    "VLAN": {"IsolationId": 1},
    "VSID": {"IsolationId": 9999},
}

V1_FLAT = {  # what V1 shows for the V2 types that have a V1 twin
    "PortMapping": {"Type": "NAT", "Protocol": "TCP", "InternalPort": 80, "ExternalPort": 8080,
                    "VIP": "10.0.0.100", "ExternalPortReserved": True},
    "ProviderAddress": {"Type": "PA", "PA": "192.168.1.10"},
    "OutBoundNAT": {"Type": "OutBoundNAT", "VIP": "10.0.0.9",
                    "ExceptionList": ["10.96.0.0/12", "10.244.0.0/16"],
                    "Destinations": ["8.8.8.8"], "MaxPortPoolUsage": 50},
    "SDNRoute": {"Type": "ROUTE", "DestinationPrefix": "10.96.0.0/12", "NextHop": "10.0.0.1",
                 "NeedEncap": True},
    "L4Proxy": {"Type": "PROXY", "IP": "127.0.0.1", "Port": "15001", "Protocol": 6,
                "ExceptionList": ["10.0.0.1"], "Destination": "", "OutboundNat": True},
    "VLAN": {"Type": "VLAN", "VLAN": 10},
}


def test_samples_cover_every_policy_type() -> None:
    assert set(ENDPOINT_SAMPLES) == set(ENDPOINT_POLICY_TYPES)
    assert set(NETWORK_SAMPLES) == set(NETWORK_POLICY_TYPES)


@pytest.mark.parametrize("ptype", sorted(ENDPOINT_SAMPLES))
def test_endpoint_policy_roundtrip_v2_v1_v2(svc: HnsService, ptype: str) -> None:
    net = create_network(svc)
    policy = {"Type": ptype, "Settings": ENDPOINT_SAMPLES[ptype]}
    ep = create_endpoint(svc, net["ID"], Policies=[policy])
    assert ep["Policies"] == [policy]
    v1 = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    (flat,) = v1["Policies"]
    assert "Settings" not in flat
    if ptype in V1_FLAT:
        assert flat == V1_FLAT[ptype]
    svc.hns_call("DELETE", f"/endpoints/{ep['ID']}")  # frees a PortMapping's host port
    again = svc.hns_call("POST", "/endpoints/", json.dumps(
        {"VirtualNetwork": net["ID"], "Policies": v1["Policies"]}))
    back = svc.hcn_call("HcnQueryEndpointProperties", again["ID"], None)
    assert back["Policies"] == [policy]


@pytest.mark.parametrize("ptype", sorted(NETWORK_SAMPLES))
def test_network_policy_roundtrip_v2_v1_v2(svc: HnsService, ptype: str) -> None:
    policy = {"Type": ptype, "Settings": NETWORK_SAMPLES[ptype]}
    net = create_network(svc, name="a", ntype="ICS", Policies=[policy])
    assert net["Policies"] == [policy]
    v1 = svc.hcn_call("HcnQueryNetworkProperties", net["ID"], json.dumps(
        {"SchemaVersion": {"Major": 1, "Minor": 0}}))
    assert all("Settings" not in p for p in v1["Policies"])
    v1_copy = {k: v for k, v in v1.items() if k not in ("ID", "Name")}
    v1_copy["Name"] = "b"
    again = svc.hns_call("POST", "/networks/", json.dumps(v1_copy))
    back = svc.hcn_call("HcnQueryNetworkProperties", again["ID"], None)
    assert back["Policies"] == [policy]


def test_adapter_networks_get_the_host_management_ip(svc: HnsService) -> None:
    net = create_network(svc, ntype="Overlay")
    # Overlay networks also get a generated DrMacAddress (tests/hns/test_hns_fidelity.py).
    assert [p for p in net["Policies"] if p["Type"] != "DrMacAddress"] == [
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": HnsService.HOST_IP}}]
    assert svc.hns_call("GET", f"/networks/{net['ID']}")["ManagementIP"] == HnsService.HOST_IP
    given = {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.1.36.50"}}
    other = create_network(svc, name="b", prefix="10.1.0.0/24", gateway="10.1.0.1",
                           ntype="L2Bridge", Policies=[given])
    assert other["Policies"] == [given]


def test_network_v1_fields_map_to_v2_policies(svc: HnsService) -> None:
    v1 = {"Name": "External", "Type": "overlay", "NetworkAdapterName": "Ethernet",
          "DrMacAddress": "00-15-5D-BB-6E-B1", "ManagementIP": "10.1.36.50",
          "Subnets": [{"AddressPrefix": "192.168.255.0/30", "GatewayAddress": "192.168.255.1",
                       "Policies": [{"Type": "VSID", "VSID": 9999}]}]}
    net = svc.hns_call("POST", "/networks/", json.dumps(v1))
    assert net["Type"] == "overlay"
    assert net["DrMacAddress"] == "00-15-5D-BB-6E-B1"
    v2 = svc.hcn_call("HcnQueryNetworkProperties", net["ID"], None)
    assert v2["Type"] == "Overlay"
    assert {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.1.36.50"}} \
        in v2["Policies"]
    assert {"Type": "NetAdapterName", "Settings": {"NetworkAdapterName": "Ethernet"}} \
        in v2["Policies"]
    (subnet,) = v2["Ipams"][0]["Subnets"]
    assert subnet["IpAddressPrefix"] == "192.168.255.0/30"
    assert subnet["Policies"] == [{"Type": "VSID", "Settings": {"IsolationId": 9999}}]
    assert subnet["Routes"] == [{"NextHop": "192.168.255.1", "DestinationPrefix": "0.0.0.0/0"}]


def test_nat_network_type_is_omitted_in_v2_and_lowercase_in_v1(svc: HnsService) -> None:
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(
        network_v2(name="nat", ntype="NAT", Flags=8)))
    assert "Type" not in net
    v1 = svc.hns_call("GET", f"/networks/{net['ID']}")
    assert v1["Type"] == "nat"
    assert v1["Flags"] == 8
    assert v1["Version"] == (15 << 32) | 4


def test_remote_flag_is_is_remote_endpoint_in_v1(svc: HnsService) -> None:
    net = create_network(svc)
    v1 = svc.hns_call("POST", "/endpoints/", json.dumps({
        "VirtualNetwork": net["ID"], "IsRemoteEndpoint": True, "IPAddress": "10.244.1.5",
        "MacAddress": "0E-2A-0a-f4-01-05", "Policies": [{"Type": "PA", "PA": "10.1.0.5"}]}))
    v2 = svc.hcn_call("HcnQueryEndpointProperties", v1["ID"], None)
    assert v2["Flags"] & 1
    assert v2["MacAddress"] == "0E-2A-0a-f4-01-05"
    assert v2["Policies"] == [{"Type": "ProviderAddress",
                               "Settings": {"ProviderAddress": "10.1.0.5"}}]
    assert v1["IsRemoteEndpoint"] is True


def test_endpoint_v1_dns_and_gateway_fields_roundtrip(svc: HnsService) -> None:
    net = create_network(svc)
    v1 = svc.hns_call("POST", "/endpoints/", json.dumps({
        "VirtualNetwork": net["ID"], "IPAddress": "10.0.0.50", "PrefixLength": 24,
        "GatewayAddress": "10.0.0.1", "DNSServerList": "10.96.0.10",
        "DNSSuffix": "default.svc.cluster.local,svc.cluster.local", "DisableICC": True}))
    assert v1["DNSSuffix"] == "default.svc.cluster.local,svc.cluster.local"
    assert v1["DisableICC"] is True
    v2 = svc.hcn_call("HcnQueryEndpointProperties", v1["ID"], None)
    assert v2["Dns"] == {"Search": ["default.svc.cluster.local", "svc.cluster.local"],
                         "ServerList": ["10.96.0.10"]}
    assert v2["Flags"] == 2
    assert v2["IpConfigurations"] == [{"IpAddress": "10.0.0.50", "PrefixLength": 24}]


def test_load_balancer_is_a_v1_elb_policy_list_and_back(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]], Flags=1))
    (pl,) = svc.hns_call("GET", "/policylists/")
    assert pl["References"] == [f"/endpoints/{ep['ID']}"]
    assert pl["Policies"] == [{"Type": "ELB", "Protocol": 6, "InternalPort": 8080,
                               "ExternalPort": 80, "SourceVIP": "10.0.0.250",
                               "VIPs": ["10.96.0.10"], "IsDSR": True}]
    svc.hns_call("DELETE", f"/policylists/{lb['ID']}")
    again = svc.hns_call("POST", "/policylists/", json.dumps(
        {"References": pl["References"], "Policies": pl["Policies"]}))
    back = svc.hcn_call("HcnQueryLoadBalancerProperties", again["ID"], None)
    assert {k: v for k, v in back.items() if k != "ID"} == \
        {k: v for k, v in lb.items() if k != "ID"}


def test_sdn_route_is_a_v1_route_policy_list_and_keeps_its_key(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    body = {"HostComputeEndpoints": [ep["ID"]], "SchemaVersion": V2,
            "Setting": [{"DestinationPrefix": "10.96.0.0/12", "NextHop": "10.0.0.1",
                         "NeedEncap": True}]}
    route = svc.hcn_call("HcnCreateSdnRoute", None, json.dumps(body))
    assert route["Setting"] == body["Setting"]
    pl = svc.hns_call("GET", f"/policylists/{route['ID']}")
    assert pl["Policies"] == [{"Type": "ROUTE", "DestinationPrefix": "10.96.0.0/12",
                               "NextHop": "10.0.0.1", "NeedEncap": True}]
    assert svc.hcn_call("HcnEnumerateSdnRoutes", None, None) == [route["ID"]]


def test_hcn_create_accepts_v1_settings(svc: HnsService) -> None:
    v1 = {"Name": "v1net", "Type": "NAT",
          "Subnets": [{"AddressPrefix": "172.16.0.0/24", "GatewayAddress": "172.16.0.1"}]}
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(v1))
    assert net["Ipams"][0]["Subnets"][0]["IpAddressPrefix"] == "172.16.0.0/24"
    ep = svc.hcn_call("HcnCreateEndpoint", None, json.dumps({"VirtualNetwork": net["ID"]}))
    assert ep["IpConfigurations"][0]["IpAddress"] == "172.16.0.2"


@pytest.mark.parametrize(("ptype", "value"), [("VSID", 5000), ("VLAN", 42)])
def test_subnet_policy_roundtrip_v2_v1_v2(svc: HnsService, ptype: str, value: int) -> None:
    body = network_v2(ntype="ICS")
    body["Ipams"][0]["Subnets"][0]["Policies"] = [
        {"Type": ptype, "Settings": {"IsolationId": value}}]
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(body))
    v1 = svc.hns_call("GET", f"/networks/{net['ID']}")
    assert v1["Subnets"][0]["Policies"] == [{"Type": ptype, ptype: value}]
    copy = {k: v for k, v in v1.items() if k not in ("ID", "Name")}
    again = svc.hns_call("POST", "/networks/", json.dumps(dict(copy, Name="copy")))
    back = svc.hcn_call("HcnQueryNetworkProperties", again["ID"], None)
    assert back["Ipams"][0]["Subnets"][0]["Policies"] == [
        {"Type": ptype, "Settings": {"IsolationId": value}}]
