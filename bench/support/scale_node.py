"""The kube-proxy-scale Windows node bench/scale.py builds: its request bodies, and
``populate`` to create it through an ``HnsService.hcn_call``-shaped function.

One Overlay network as flannel's vxlan backend makes it (VSID 4096, this host's PA), 110
local pod endpoints, 10,000 remote endpoints (``Flags`` 1 and a ProviderAddress policy, as
kube-proxy's winkernel proxier creates them) spread over 100 other nodes, and load
balancers of 3 backends (2 remote, 1 local): ClusterIP (a FrontendVIP) and NodePort (no
VIP, ``LocalRoutedVIP`` port mapping) mixed, every tenth one DSR (``Flags`` 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

V2 = {"Major": 2, "Minor": 0}
LOCAL_PODS = 110
REMOTE_ENDPOINTS = 10_000
LOAD_BALANCERS = 5_000
NODE_PA = "192.168.1.10"


def network() -> dict[str, Any]:
    return {
        "Name": "flannel.4096", "Type": "Overlay", "SchemaVersion": V2,
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.244.0.0/16",
            "Routes": [{"NextHop": "10.244.0.1", "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}],
        "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": NODE_PA}}],
    }


def local_ip(i: int) -> str:
    return f"10.244.1.{i + 2}"


def remote_ip(i: int) -> str:
    node, host = divmod(i, 100)
    return f"10.244.{node + 2}.{host + 2}"


def local_endpoint(i: int, net: str) -> dict[str, Any]:
    return {"Name": f"pod-{i}_eth0", "HostComputeNetwork": net, "SchemaVersion": V2,
            "IpConfigurations": [{"IpAddress": local_ip(i), "PrefixLength": 16}]}


def remote_endpoint(i: int, net: str) -> dict[str, Any]:
    node = i // 100
    ip = remote_ip(i)
    mac = "02-11-" + "-".join(f"{int(o):02X}" for o in ip.split("."))
    return {"HostComputeNetwork": net, "SchemaVersion": V2, "Flags": 1,
            "IpConfigurations": [{"IpAddress": ip}], "MacAddress": mac,
            "Policies": [{"Type": "ProviderAddress",
                          "Settings": {"ProviderAddress": f"192.168.2.{node % 250 + 2}"}}]}


def load_balancer(i: int, local_ids: list[str], remote_ids: list[str]) -> dict[str, Any]:
    backends = [local_ids[i % len(local_ids)], remote_ids[(2 * i) % len(remote_ids)],
                remote_ids[(2 * i + 1) % len(remote_ids)]]
    mapping: dict[str, Any] = {"Protocol": 6, "InternalPort": 8000 + i % 1000,
                               "ExternalPort": 80 + i % 2}
    lb: dict[str, Any] = {"HostComputeEndpoints": backends, "PortMappings": [mapping],
                          "SchemaVersion": V2}
    if i % 3 == 2:  # NodePort: the node's own address, routed locally
        mapping["ExternalPort"] = 30000 + i % 2768
        mapping["Flags"] = 2
    else:
        lb["FrontendVIPs"] = [f"10.96.{i // 250}.{i % 250 + 1}"]
    if i % 10 == 0:
        lb["Flags"] = 1
    return lb


def populate(call: Callable[[str, str | None, str], dict[str, Any]], local: int, remote: int,
             lbs: int = 0) -> tuple[list[str], list[str]]:
    """Create the node (network, endpoints, then ``lbs`` load balancers) through ``call``
    (``HnsService.hcn_call``); returns the local and the remote endpoint IDs."""
    net = call("HcnCreateNetwork", None, json.dumps(network()))["ID"]
    loc = [call("HcnCreateEndpoint", None, json.dumps(local_endpoint(i, net)))["ID"]
           for i in range(local)]
    rem = [call("HcnCreateEndpoint", None, json.dumps(remote_endpoint(i, net)))["ID"]
           for i in range(remote)]
    for i in range(lbs):
        call("HcnCreateLoadBalancer", None, json.dumps(load_balancer(i, loc, rem)))
    return loc, rem
