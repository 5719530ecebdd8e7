"""A small, realistic host for the web view and surface tests: an overlay network with
local and remote endpoints (a PA tunnel), an ACL, a load balancer, a namespace, a refused
call with its detail and a call failed by an injected fault. Everything goes through the
HTTP client, as a user's test would."""

from __future__ import annotations

import contextlib
from typing import Any

from api.client import HnsClient
from hns.errors import HnsError

V2 = {"Major": 2, "Minor": 0}


def overlay_network(name: str = "overlay0") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Overlay",
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.244.1.0/24",
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
            "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}],
        }]}],
        "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "192.168.1.10"}}],
        "SchemaVersion": V2,
    }


def seed(client: HnsClient) -> dict[str, Any]:
    """Create the host; returns the ids a test looks for."""
    net = client.hcn_create_network(overlay_network())
    acl = {"Type": "ACL", "Settings": {"Action": "Block", "Direction": "Out", "Protocols": "6",
                                       "RemotePorts": "23", "Priority": 200}}
    # with ACLs present the layer blocks by default, so allow the rest (as CNI plugins do)
    allow_out = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "Out",
                                             "Priority": 1000}}
    allow_in = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In",
                                            "Priority": 1000}}
    web = client.hcn_create_endpoint({
        "Name": "web-0", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
        "IpConfigurations": [{"IpAddress": "10.244.1.10"}],
        "Policies": [acl, allow_out, allow_in]})
    db = client.hcn_create_endpoint({
        "Name": "db-0", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
        "IpConfigurations": [{"IpAddress": "10.244.1.11"}]})
    remote = client.hcn_create_endpoint({
        "Name": "web-1", "HostComputeNetwork": net["ID"], "SchemaVersion": V2, "Flags": 1,
        "MacAddress": "02-11-22-33-44-55",
        "IpConfigurations": [{"IpAddress": "10.244.2.10"}],
        "Policies": [{"Type": "ProviderAddress",
                      "Settings": {"ProviderAddress": "192.168.1.20"}}]})
    lb = client.hcn_create_load_balancer({
        "HostComputeEndpoints": [web["ID"], db["ID"]], "SourceVIP": "10.244.1.250",
        "FrontendVIPs": ["10.96.0.10"],
        "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
        "SchemaVersion": V2})
    ns = client.hcn_create_namespace({"Type": "Host", "SchemaVersion": V2})
    refused = ""
    try:
        client.hcn_create_endpoint({
            "Name": "bad", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
            "Policies": [{"Type": "ProviderAdress", "Settings": {}}]})
    except HnsError as exc:
        refused = exc.detail or ""
    client.add_fault("HcnDeleteEndpoint", hresult=0x803B0002, times=1)
    with contextlib.suppress(HnsError):
        client.hcn_delete_endpoint(db["ID"])
    return {"network": net["ID"], "web": web["ID"], "db": db["ID"], "remote": remote["ID"],
            "lb": lb["ID"], "namespace": ns["ID"], "refused_detail": refused}
