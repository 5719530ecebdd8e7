"""Client flows as real Windows components drive HNS (flannel vxlan + kube-proxy winkernel,
the CNI bridge plugin with containerd namespaces), end to end against one service."""

from __future__ import annotations

import json
from typing import Any

from hns_test_helpers import V2, query

from hns.service import HnsService


def _call(svc: HnsService, fn: str, ident: str | None = None, body: Any = None) -> Any:
    return svc.hcn_call(fn, ident, None if body is None else json.dumps(body))


def test_flannel_then_kube_proxy_overlay_flow(svc: HnsService) -> None:
    # flannel: an EnableNonPersistent overlay network with a VSID and the adapter name ...
    net = _call(svc, "HcnCreateNetwork", None, {
        "Name": "vxlan0", "Type": "Overlay", "Flags": 8, "SchemaVersion": V2,
        "Policies": [{"Type": "NetAdapterName", "Settings": {"NetworkAdapterName": "Ethernet"}}],
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.244.1.0/24",
            "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}]})
    # ... polls GetNetworkByID until the management IP shows up ...
    (found,) = _call(svc, "HcnEnumerateNetworks", None, json.loads(query({"ID": net["ID"]})))
    props = _call(svc, "HcnQueryNetworkProperties", found, json.loads(query()))
    pa = [p for p in props["Policies"] if p["Type"] == "ProviderAddress"]
    assert pa[0]["Settings"]["ProviderAddress"] == HnsService.HOST_IP
    # ... adds HostRoute and one RemoteSubnetRoute per other node.
    for policy in ({"Type": "HostRoute", "Settings": {}},
                   {"Type": "RemoteSubnetRoute", "Settings": {
                       "DestinationPrefix": "10.244.2.0/24", "IsolationId": 4096,
                       "ProviderAddress": "192.168.1.12",
                       "DistributedRouterMacAddress": "00-15-5D-01-02-12"}}):
        _call(svc, "HcnModifyNetwork", net["ID"], {
            "ResourceType": "Policy", "RequestType": "Add",
            "Settings": {"Policies": [policy]}})

    # kube-proxy: GetNetworkByName, reads Type and the remote subnets.
    (nid,) = _call(svc, "HcnEnumerateNetworks", None, json.loads(query({"Name": "vxlan0"})))
    network = _call(svc, "HcnQueryNetworkProperties", nid, json.loads(query()))
    assert network["Type"] == "Overlay"
    remote_subnets = [p["Settings"]["DestinationPrefix"] for p in network["Policies"]
                      if p["Type"] == "RemoteSubnetRoute"]
    assert remote_subnets == ["10.244.2.0/24"]
    # A local pod endpoint (CNI) and kube-proxy's remote endpoints and source VIP.
    pod = _call(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": nid, "SchemaVersion": V2, "MacAddress": "0E-2A-0a-f4-01-05",
        "IpConfigurations": [{"IpAddress": "10.244.1.5", "PrefixLength": 24}]})
    remote = _call(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": nid, "SchemaVersion": V2, "Flags": 1,
        "MacAddress": "0E-2A-0a-f4-02-07",
        "IpConfigurations": [{"IpAddress": "10.244.2.7", "PrefixLength": 32}],
        "Policies": [{"Type": "ProviderAddress",
                      "Settings": {"ProviderAddress": "192.168.1.12"}}]})
    _call(svc, "HcnCreateEndpoint", None, {
        "HostComputeNetwork": nid, "SchemaVersion": V2, "Name": "source-vip",
        "IpConfigurations": [{"IpAddress": "10.244.1.254", "PrefixLength": 32}]})
    listed = _call(svc, "HcnEnumerateEndpoints", None,
                   json.loads(query({"VirtualNetwork": nid})))
    assert len(listed) == 3
    remotes = [e for e in (_call(svc, "HcnQueryEndpointProperties", i, json.loads(query()))
                           for i in listed) if e.get("Flags", 0) & 1]
    assert [e["ID"] for e in remotes] == [remote["ID"]]
    # ClusterIP and NodePort load balancers; then a sync that deletes and re-creates one.
    cluster = _call(svc, "HcnCreateLoadBalancer", None, {
        "HostComputeEndpoints": [pod["ID"], remote["ID"]], "SourceVIP": "10.244.1.254",
        "FrontendVIPs": ["10.96.0.10"], "SchemaVersion": V2,
        "PortMappings": [{"Protocol": 17, "InternalPort": 53, "ExternalPort": 53}]})
    _call(svc, "HcnCreateLoadBalancer", None, {
        "HostComputeEndpoints": [pod["ID"]], "SourceVIP": "10.244.1.254", "Flags": 0,
        "SchemaVersion": V2,
        "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 31416,
                          "Flags": 2}]})
    lbs = [_call(svc, "HcnQueryLoadBalancerProperties", i, json.loads(query()))
           for i in _call(svc, "HcnEnumerateLoadBalancers", None, json.loads(query()))]
    assert sorted(lb["PortMappings"][0]["ExternalPort"] for lb in lbs) == [53, 31416]
    _call(svc, "HcnDeleteLoadBalancer", cluster["ID"])
    _call(svc, "HcnCreateLoadBalancer", None, {
        "HostComputeEndpoints": [pod["ID"]], "SourceVIP": "10.244.1.254",
        "FrontendVIPs": ["10.96.0.10"], "SchemaVersion": V2,
        "PortMappings": [{"Protocol": 17, "InternalPort": 53, "ExternalPort": 53}]})
    # The node reboots: flannel's network and all its endpoints are gone; LBs stay stale.
    svc.reboot()
    assert _call(svc, "HcnEnumerateNetworks", None, json.loads(query())) == []
    assert _call(svc, "HcnEnumerateEndpoints", None, json.loads(query())) == []
    assert len(_call(svc, "HcnEnumerateLoadBalancers", None, json.loads(query()))) == 2


def test_cni_bridge_with_containerd_namespace_flow(svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({
        "Name": "cbr0", "Type": "L2Bridge",
        "Subnets": [{"AddressPrefix": "10.10.0.0/24", "GatewayAddress": "10.10.0.1"}]}))
    ns = _call(svc, "HcnCreateNamespace", None, {"SchemaVersion": V2})
    ep = _call(svc, "HcnCreateEndpoint", None, {
        "Name": "pod1_eth0", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
        "IpConfigurations": [{"IpAddress": "10.10.0.5", "PrefixLength": 24}],
        "Routes": [{"NextHop": "10.10.0.1", "DestinationPrefix": "0.0.0.0/0"}],
        "Dns": {"ServerList": ["10.96.0.10"], "Search": ["svc.cluster.local"]},
        "Policies": [{"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.10.0.0/16"]}},
                     {"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80,
                                                          "ExternalPort": 8080}}]})
    _call(svc, "HcnModifyNamespace", ns["ID"], {
        "ResourceType": "Endpoint", "RequestType": "Add", "Settings": {"EndpointId": ep["ID"]}})
    # The V1 view (Get-HnsEndpoint) of what the V2 plugin made.
    v1 = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    assert v1["VirtualNetworkName"] == "cbr0"
    assert v1["Type"] == "L2Bridge"
    assert v1["GatewayAddress"] == "10.10.0.1"
    assert v1["Namespace"]["ID"] == ns["ID"]
    assert {"Type": "NAT", "Protocol": "TCP", "InternalPort": 80, "ExternalPort": 8080} \
        in v1["Policies"]
    # Teardown in CNI DEL order: leave the namespace, delete the endpoint, the namespace.
    _call(svc, "HcnModifyNamespace", ns["ID"], {
        "ResourceType": "Endpoint", "RequestType": "Remove",
        "Settings": {"EndpointId": ep["ID"]}})
    _call(svc, "HcnDeleteEndpoint", ep["ID"])
    _call(svc, "HcnDeleteNamespace", ns["ID"])
    assert svc.hns_call("GET", "/endpoints/") == []
    assert svc.hns_call("GET", "/namespaces/") == []
