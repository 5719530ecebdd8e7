"""Networks: parse V1 / V2 network JSON (type, subnets, MAC pool, DNS, routes, policies)
into the stored form and render it back as V1 or V2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hns.errors import (
    HnsError,
    InvalidJson,
    InvalidNetwork,
    InvalidSubnet,
    RequestUnsupported,
)
from hns.model.common import (
    DEFAULT_EXTENSIONS,
    NET_DISABLE_HOST_PORT,
    Json,
    _obj,
    new_guid,
)
from hns.policies import (
    NETWORK_POLICY_TYPES,
    SUBNET_POLICY_TYPES,
    parse_policies,
    to_v1,
)
from hns.ports import network_resources
from hns.profiles import Profile
from hns.schema.common import Dns, MacRange, Route, Subnet
from hns.schema.network import HostComputeNetwork
from hns.schema.request import parse_request
from hns.schema.v1 import V1MacPool, V1Network, V1Subnet

NETWORK_V1_KEYS = frozenset({"Subnets", "MacPools", "NetworkAdapterName", "SourceMac",
                             "DNSSuffix", "DNSServerList", "ManagementIP", "DrMacAddress",
                             "AutomaticDNS", "ActivityId"})
_NETWORK_V1_MODELED = frozenset({"ID", "Name", "Type", "Flags", "Policies", "MacPools",
                                 "Subnets", "DNSSuffix", "DNSServerList", "NetworkAdapterName",
                                 "SourceMac", "DrMacAddress", "ManagementIP", "AutomaticDNS",
                                 "CurrentEndpointCount", "TotalEndpoints"})
_SUBNET_V1_MODELED = frozenset({"AddressPrefix", "GatewayAddress", "Policies"})
# V2 network policies that V1 shows as top-level fields: policy type -> (V1 key, setting).
_NETWORK_V1_FIELDS = {
    "NetAdapterName": ("NetworkAdapterName", "NetworkAdapterName"),
    "SourceMacAddress": ("SourceMac", "SourceMacAddress"),
    "DrMacAddress": ("DrMacAddress", "Address"),
    "ProviderAddress": ("ManagementIP", "ProviderAddress"),
    "AutomaticDNS": ("AutomaticDNS", "Enable"),
}


#: The fields of a create body that go through ``HostComputeNetwork`` (V1 / V2).
_TYPED_V1 = ("ID", "Name", "Type", "Flags")
_TYPED_V2 = ("ID", "Name", "Type", "Flags", "MacPool", "Dns", "Ipams")


def mac_to_int(mac: str) -> int:
    return int(mac.replace("-", "").replace(":", ""), 16)


def int_to_mac(value: int) -> str:
    raw = f"{value:012X}"
    return "-".join(raw[i:i + 2] for i in range(0, 12, 2))


def _dns(value: Any, kind: type[HnsError]) -> Json:
    """DNS settings (of a network, an endpoint, a DNS modify) through the ``Dns`` model;
    a bad field is ``kind``."""
    return _dns_from(parse_request(Dns, value, error=kind, not_object=kind, what="Dns"))


def _dns_from(dns: Dns | None) -> Json:
    if dns is None:
        return {}
    return {key: value for key, value in (
        ("Domain", dns.domain), ("Search", dns.search), ("ServerList", dns.server_list),
        ("Options", dns.options)) if value}


def _route(value: Any, kind: type[HnsError]) -> Json:
    """A route (of an endpoint) through the ``Route`` model; a bad prefix is
    HCN_E_INVALID_PREFIX, any other bad field ``kind``."""
    return _route_from(parse_request(Route, value, error=kind, not_object=kind, what="Route"))


def _route_from(route: Route) -> Json:
    return {key: value for key, value in (
        ("NextHop", route.next_hop), ("DestinationPrefix", route.destination_prefix),
        ("Metric", route.metric)) if value}


def _subnet_v2(value: Any, profile: Profile) -> Json:
    """A V2 subnet (a Subnet modify) through the ``Subnet`` model."""
    subnet = parse_request(Subnet, value, error=InvalidSubnet, not_object=InvalidSubnet,
                           what="Subnet")
    return _subnet_from(subnet, value, profile)


def _subnet_from(subnet: Subnet, body: Json, profile: Profile) -> Json:
    """The stored form of a parsed subnet; its policies (in ``body``) go through
    hns/policies.py."""
    policies = parse_policies(body.get("Policies"), SUBNET_POLICY_TYPES, profile, v1=False)
    out: Json = {"ID": subnet.id or new_guid(upper=True)}
    if subnet.ip_address_prefix:
        out["IpAddressPrefix"] = subnet.ip_address_prefix
    out["Policies"] = policies
    out["Routes"] = [_route_from(r) for r in subnet.routes or []]
    if subnet.flags:
        out["Flags"] = subnet.flags
    if isinstance(body.get("IpSubnets"), list):
        out["IpSubnets"] = body["IpSubnets"]
    return out


def _mac_ranges(ranges: Sequence[MacRange | V1MacPool] | None) -> list[Json]:
    """A MAC pool's ranges (V2 ``MacPool.Ranges``, V1 ``MacPools``) in stored form."""
    out = []
    for item in ranges or []:
        start, end = item.start_mac_address, item.end_mac_address
        if start is None or end is None:
            raise InvalidNetwork(detail="MacPool: a range needs StartMacAddress and "
                                        "EndMacAddress")
        if mac_to_int(start) > mac_to_int(end):
            raise InvalidNetwork(detail="MacPool: MAC pool start is after its end")
        out.append({"StartMacAddress": start, "EndMacAddress": end})
    return out


def _subnet_v1(subnet: V1Subnet, body: Json, profile: Profile) -> Json:
    """A V1 subnet (its fields already checked through ``V1Subnet``; ``body`` is its JSON,
    for the policies and the keys kept verbatim) in stored form."""
    prefix, gateway = subnet.address_prefix, subnet.gateway_address
    policies = parse_policies(body.get("Policies"), SUBNET_POLICY_TYPES, profile, v1=True)
    out: Json = {"ID": subnet.id or new_guid(upper=True)}
    if prefix:
        out["IpAddressPrefix"] = prefix
    out["Policies"] = policies
    routes = []
    if gateway:
        default = "::/0" if ":" in gateway else "0.0.0.0/0"
        routes.append({"NextHop": gateway, "DestinationPrefix": default})
    out["Routes"] = routes
    extras = {k: v for k, v in body.items() if k not in _SUBNET_V1_MODELED and k != "ID"}
    if extras:
        out["_v1"] = extras
    return out


def parse_network(body: Any, profile: Profile, *, v1: bool) -> Json:
    """Network create settings (V1 or V2 JSON) in stored form; ``ID`` may be None."""
    net = _obj(InvalidJson, body, "network")
    # Through the typed models: the fields V1 and V2 share, V2's MAC pool, DNS and address
    # plan, V1's MacPools, Subnets and DNS (V1Network, after the policies as before); V1's
    # flat policy fields and every policy through the policy models (hns/policies.py over
    # hns/schema/policy.py).
    typed = parse_request(HostComputeNetwork, net, error=InvalidNetwork, what="network",
                          fields=_TYPED_V1 if v1 else _TYPED_V2)
    name = typed.name or ""
    raw_type = net.get("Type")
    flags = typed.flags or 0
    if flags & NET_DISABLE_HOST_PORT and not profile.supports("DisableHostPort"):
        raise RequestUnsupported(detail="DisableHostPort needs HNS 15.1")
    out: Json = {"ID": typed.id, "Name": name, "Type": typed.type or "NAT", "Flags": flags}
    if v1:
        policies = parse_policies(net.get("Policies"), NETWORK_POLICY_TYPES, profile, v1=True)
        for ptype, (key, setting) in _NETWORK_V1_FIELDS.items():
            if net.get(key) is not None and net.get(key) != "":
                flat = {"Type": ptype, "Settings": {setting: net[key]}}
                policies += parse_policies([flat], NETWORK_POLICY_TYPES, profile, v1=False)
        out["Policies"] = policies
        own = parse_request(V1Network, net, error=InvalidNetwork, what="network",
                            fields=("MacPools", "Subnets", "DNSSuffix", "DNSServerList"))
        out["MacPool"] = {"Ranges": _mac_ranges(own.mac_pools)}
        dns: Json = {}
        suffix = own.dns_suffix
        if suffix:
            dns["Domain"] = suffix
        servers = own.dns_server_list
        if servers:
            dns["ServerList"] = [s.strip() for s in servers.split(",") if s.strip()]
        out["Dns"] = dns
        subnets = [_subnet_v1(s, raw, profile)
                   for s, raw in zip(own.subnets or [], net.get("Subnets") or [], strict=True)]
        out["Ipams"] = [{"Type": "Static", "Subnets": subnets}] if subnets else []
        if isinstance(raw_type, str):
            out["_v1type"] = raw_type
        extras = {k: v for k, v in net.items() if k not in _NETWORK_V1_MODELED}
        if extras:
            out["_v1"] = extras
    else:
        out["Policies"] = parse_policies(net.get("Policies"), NETWORK_POLICY_TYPES, profile,
                                         v1=False)
        out["MacPool"] = {"Ranges": _mac_ranges(typed.mac_pool.ranges if typed.mac_pool else None)}
        out["Dns"] = _dns_from(typed.dns)
        ipams = []
        for ipam, raw_ipam in zip(typed.ipams or [], net.get("Ipams") or [], strict=True):
            raw_subnets = raw_ipam.get("Subnets") or []
            subnets = [_subnet_from(s, raw, profile)
                       for s, raw in zip(ipam.subnets or [], raw_subnets, strict=True)]
            ipams.append({"Type": ipam.type or "Static", "Subnets": subnets})
        out["Ipams"] = ipams
    if not name:
        raise InvalidNetwork(detail="a network needs a Name")
    return out


def subnets_of(network: Json) -> list[Json]:
    return [s for ipam in network.get("Ipams", []) for s in ipam.get("Subnets", [])]


def subnet_gateway(subnet: Json) -> str | None:
    for route in subnet.get("Routes", []):
        if route.get("DestinationPrefix") in ("0.0.0.0/0", "::/0") and route.get("NextHop"):
            return str(route["NextHop"])
    for route in subnet.get("Routes", []):
        if route.get("NextHop"):
            return str(route["NextHop"])
    return None


def network_v1_type(network: Json) -> str:
    if "_v1type" in network:
        return str(network["_v1type"])
    return "nat" if network["Type"] == "NAT" else str(network["Type"])


def network_v2(network: Json) -> Json:
    out: Json = {"ID": network["ID"], "Name": network["Name"]}
    if network["Type"] != "NAT":
        out["Type"] = network["Type"]
    if network.get("Policies"):
        out["Policies"] = [_public(p) for p in network["Policies"]]
    if network["MacPool"].get("Ranges"):
        out["MacPool"] = network["MacPool"]
    if network.get("Dns"):
        out["Dns"] = network["Dns"]
    ipams = []
    for ipam in network.get("Ipams", []):
        subnets = []
        for subnet in ipam["Subnets"]:
            item: Json = {k: v for k, v in subnet.items() if not k.startswith("_") and v}
            subnets.append(item)
        ipams.append({"Type": ipam["Type"], "Subnets": subnets})
    if ipams:
        out["Ipams"] = ipams
    if network.get("Flags"):
        out["Flags"] = network["Flags"]
    out["State"] = 1
    out["SchemaVersion"] = {"Major": 2, "Minor": 0}
    return out


def network_v1(network: Json, *, endpoint_count: int, version: int) -> Json:
    extras = network.get("_v1", {})
    out: Json = {
        "AdditionalParams": {},
        "Extensions": DEFAULT_EXTENSIONS,
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        "IPv6": False,
        "MaxConcurrentEndpoints": 0,
        "State": 1,
        "Version": version,
        # the host vNIC port's allocator (hns/ports.py); an imported network keeps its own
        "Resources": network_resources(network),
    }
    out.update(extras)
    policies = []
    for policy in network.get("Policies", []):
        mapped = _NETWORK_V1_FIELDS.get(policy["Type"])
        if mapped is not None:
            out[mapped[0]] = policy["Settings"].get(mapped[1])
        else:
            policies.append(to_v1(policy, NETWORK_POLICY_TYPES))
    out.update({
        "ID": network["ID"],
        "Name": network["Name"],
        "Type": network_v1_type(network),
        "Flags": network.get("Flags", 0),
        "Policies": policies,
        "CurrentEndpointCount": endpoint_count,
        "TotalEndpoints": endpoint_count,
    })
    ranges = network["MacPool"].get("Ranges")
    if ranges:
        out["MacPools"] = [{"EndMacAddress": r["EndMacAddress"],
                            "StartMacAddress": r["StartMacAddress"]} for r in ranges]
    dns = network.get("Dns", {})
    if dns.get("Domain"):
        out["DNSSuffix"] = dns["Domain"]
    if dns.get("ServerList"):
        out["DNSServerList"] = ",".join(dns["ServerList"])
    subnets = []
    for subnet in subnets_of(network):
        item: Json = {"AdditionalParams": {}, "State": 0, "ObjectType": 5}
        item.update(subnet.get("_v1", {}))
        item["ID"] = subnet["ID"]
        if subnet.get("IpAddressPrefix"):
            item["AddressPrefix"] = subnet["IpAddressPrefix"]
        gateway = subnet_gateway(subnet)
        if gateway:
            item["GatewayAddress"] = gateway
        item["Policies"] = [to_v1(p, SUBNET_POLICY_TYPES) for p in subnet.get("Policies", [])]
        subnets.append(item)
    if subnets:
        out["Subnets"] = subnets
    return out


def _public(policy: Json) -> Json:
    return {"Type": policy["Type"], "Settings": policy.get("Settings", {})}
