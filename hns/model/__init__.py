"""The object model: parse V1 / V2 JSON into one stored form, and write it back as V1 or V2.

Glossary (the stored form is the V2 shape plus private ``_`` keys):
    Network       ``ID Name Type Flags Policies MacPool Dns Ipams``; subnets carry ``ID``.
    Endpoint      ``ID Name HostComputeNetwork HostComputeNamespace Policies
                  IpConfigurations Dns Routes MacAddress Flags State SharedContainers``.
    LoadBalancer  ``ID HostComputeEndpoints SourceVIP FrontendVIPs PortMappings Flags``;
                  V1 sees it as a policy list of ELB policies.
    Namespace     ``ID NamespaceId Type Resources``.
    Route         ``ID HostComputeEndpoints Routes`` (SDN route); V1 sees a policy list of
                  ROUTE policies.
    ``_v1``       V1 fields the model does not interpret (ActivityId, Resources, Health,
                  Extensions, ...): generated once at create, or kept from the input, and
                  written back verbatim in V1 output so captures round-trip.

Every parse function raises only HnsError; every render function is pure.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from hns.errors import (
    HnsError,
    InvalidArg,
    InvalidEndpoint,
    InvalidInternalPort,
    InvalidJson,
    InvalidNetwork,
    InvalidNetworkType,
    InvalidPolicy,
    InvalidPolicyType,
    InvalidPrefix,
    InvalidSubnet,
    RequestUnsupported,
)
from hns.policies import (
    ENDPOINT_POLICY_TYPES,
    NETWORK_POLICY_TYPES,
    SUBNET_POLICY_TYPES,
    parse_policies,
    to_v1,
)
from hns.ports import endpoint_resources, network_resources
from hns.profiles import Profile
from hns.validate import (
    Bad,
    Validator,
    as_bool,
    as_dict,
    as_int,
    as_ip,
    as_list,
    as_mac,
    as_prefix,
    as_str,
    as_str_list,
    enum_of,
    guid_or_none,
    uint,
)

Json = dict[str, Any]

NETWORK_TYPES = ("NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay", "Private",
                 "Internal", "Mirrored", "Infiniband", "ConstrainedICS")
NAMESPACE_TYPES = ("Host", "HostDefault", "Guest", "GuestDefault")

# NetworkFlags / EndpointFlags / LoadBalancer flags used by the semantics.
NET_ENABLE_NON_PERSISTENT = 8
NET_DISABLE_HOST_PORT = 1024
EP_REMOTE = 1
EP_DISABLE_ICC = 2
EP_LOW_METRIC = 8
LB_DSR = 1
LB_IPV6 = 2
PM_ILB = 1
PM_LOCAL_ROUTED_VIP = 2

# V1 endpoint State values (hcsshim internal/hns).
STATE_CREATED = 1
STATE_ATTACHED = 2
STATE_ATTACHED_SHARING = 3
STATE_DETACHED = 4
STATE_DEGRADED = 5

DEFAULT_EXTENSIONS = [
    {"Id": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A", "IsEnabled": False,
     "Name": "Microsoft Windows Filtering Platform"},
    {"Id": "F74F241B-440F-4433-BB28-00F89EAD20D8", "IsEnabled": False,
     "Name": "Microsoft Azure VFP Switch Extension"},
    {"Id": "430BDADD-BAB0-41AB-A369-94B67FA5BE0A", "IsEnabled": True,
     "Name": "Microsoft NDIS Capture"},
]


def new_guid(*, upper: bool) -> str:
    text = str(uuid.uuid4())
    return text.upper() if upper else text


def _field(kind: type[HnsError], body: Json, key: str, check: Validator,
           default: Any = None) -> Any:
    value = body.get(key)
    if value is None:
        return default
    try:
        return check(value)
    except Bad as exc:
        raise kind(detail=f"{key}: {exc}") from None


def _obj(kind: type[HnsError], value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise kind(detail=f"{what} must be a JSON object")
    return value


def is_v1_settings(body: Json, v1_keys: frozenset[str]) -> bool:
    """Whether HCN create settings are V1 JSON (hcsshim's hcnv1schema_test sends V1)."""
    schema = body.get("SchemaVersion")
    if isinstance(schema, dict) and isinstance(schema.get("Major"), int):
        return bool(schema["Major"] < 2)
    return bool(v1_keys & body.keys())


# ---- networks -------------------------------------------------------------------------

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


def _network_type(value: Any) -> str:
    try:
        return str(enum_of(*NETWORK_TYPES, fold=True)(value))
    except Bad as exc:
        raise InvalidNetworkType(detail=str(exc)) from None


def _mac_pool(ranges: Any) -> list[Json]:
    out = []
    try:
        for item in as_list(ranges):
            body = as_dict(item)
            start = as_mac(body.get("StartMacAddress"))
            end = as_mac(body.get("EndMacAddress"))
            if mac_to_int(start) > mac_to_int(end):
                raise Bad("MAC pool start is after its end")
            out.append({"StartMacAddress": start, "EndMacAddress": end})
    except Bad as exc:
        raise InvalidNetwork(detail=f"MacPool: {exc}") from None
    return out


def mac_to_int(mac: str) -> int:
    return int(mac.replace("-", "").replace(":", ""), 16)


def int_to_mac(value: int) -> str:
    raw = f"{value:012X}"
    return "-".join(raw[i:i + 2] for i in range(0, 12, 2))


def _dns(value: Any, kind: type[HnsError]) -> Json:
    body = _obj(kind, value, "Dns")
    out: Json = {}
    for key, check in (("Domain", as_str), ("Search", as_str_list),
                       ("ServerList", as_str_list), ("Options", as_str_list)):
        got = _field(kind, body, key, check)
        if got:
            out[key] = got
    return out


def _route(value: Any, kind: type[HnsError]) -> Json:
    body = _obj(kind, value, "Route")
    out: Json = {}
    nh = _field(kind, body, "NextHop", as_ip)
    if nh:
        out["NextHop"] = nh
    dest = _field(InvalidPrefix, body, "DestinationPrefix", as_prefix)
    if dest:
        out["DestinationPrefix"] = dest
    metric = _field(kind, body, "Metric", uint(16))
    if metric:
        out["Metric"] = metric
    return out


def _subnet_v2(value: Any, profile: Profile) -> Json:
    body = _obj(InvalidSubnet, value, "Subnet")
    prefix = _field(InvalidPrefix, body, "IpAddressPrefix", as_prefix)
    routes = [_route(r, InvalidSubnet) for r in _field(InvalidSubnet, body, "Routes", as_list, [])]
    policies = parse_policies(body.get("Policies"), SUBNET_POLICY_TYPES, profile, v1=False)
    out: Json = {"ID": _field(InvalidSubnet, body, "ID", guid_or_none) or new_guid(upper=True)}
    if prefix:
        out["IpAddressPrefix"] = prefix
    out["Policies"] = policies
    out["Routes"] = routes
    flags = _field(InvalidSubnet, body, "Flags", uint(32), 0)
    if flags:
        out["Flags"] = flags
    if isinstance(body.get("IpSubnets"), list):
        out["IpSubnets"] = body["IpSubnets"]
    return out


def _subnet_v1(value: Any, profile: Profile) -> Json:
    body = _obj(InvalidSubnet, value, "Subnet")
    prefix = _field(InvalidPrefix, body, "AddressPrefix", as_prefix)
    gateway = _field(InvalidSubnet, body, "GatewayAddress", as_ip)
    policies = parse_policies(body.get("Policies"), SUBNET_POLICY_TYPES, profile, v1=True)
    out: Json = {"ID": _field(InvalidSubnet, body, "ID", guid_or_none) or new_guid(upper=True)}
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
    name = _field(InvalidNetwork, net, "Name", as_str, "")
    raw_type = net.get("Type")
    ntype = "NAT" if raw_type is None or raw_type == "" else _network_type(raw_type)
    flags = _field(InvalidNetwork, net, "Flags", uint(32), 0)
    if flags & NET_DISABLE_HOST_PORT and not profile.supports("DisableHostPort"):
        raise RequestUnsupported(detail="DisableHostPort needs HNS 15.1")
    out: Json = {"ID": _field(InvalidNetwork, net, "ID", guid_or_none), "Name": name,
                 "Type": ntype, "Flags": flags}
    if v1:
        policies = parse_policies(net.get("Policies"), NETWORK_POLICY_TYPES, profile, v1=True)
        for ptype, (key, setting) in _NETWORK_V1_FIELDS.items():
            if net.get(key) is not None and net.get(key) != "":
                flat = {"Type": ptype, "Settings": {setting: net[key]}}
                policies += parse_policies([flat], NETWORK_POLICY_TYPES, profile, v1=False)
        out["Policies"] = policies
        out["MacPool"] = {"Ranges": _mac_pool(net.get("MacPools") or [])}
        dns: Json = {}
        suffix = _field(InvalidNetwork, net, "DNSSuffix", as_str)
        if suffix:
            dns["Domain"] = suffix
        servers = _field(InvalidNetwork, net, "DNSServerList", as_str)
        if servers:
            dns["ServerList"] = [s.strip() for s in servers.split(",") if s.strip()]
        out["Dns"] = dns
        subnets = [_subnet_v1(s, profile)
                   for s in _field(InvalidNetwork, net, "Subnets", as_list, [])]
        out["Ipams"] = [{"Type": "Static", "Subnets": subnets}] if subnets else []
        if isinstance(raw_type, str):
            out["_v1type"] = raw_type
        extras = {k: v for k, v in net.items() if k not in _NETWORK_V1_MODELED}
        if extras:
            out["_v1"] = extras
    else:
        out["Policies"] = parse_policies(net.get("Policies"), NETWORK_POLICY_TYPES, profile,
                                         v1=False)
        pool = _obj(InvalidNetwork, net.get("MacPool") or {}, "MacPool")
        out["MacPool"] = {"Ranges": _mac_pool(pool.get("Ranges") or [])}
        out["Dns"] = _dns(net.get("Dns") or {}, InvalidNetwork)
        ipams = []
        for ipam in _field(InvalidNetwork, net, "Ipams", as_list, []):
            ipam_body = _obj(InvalidNetwork, ipam, "Ipam")
            itype = _field(InvalidNetwork, ipam_body, "Type",
                           enum_of("Static", "Dhcp", "DHCP", fold=True), "Static")
            subnets = [_subnet_v2(s, profile)
                       for s in _field(InvalidNetwork, ipam_body, "Subnets", as_list, [])]
            ipams.append({"Type": itype, "Subnets": subnets})
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


# ---- endpoints ------------------------------------------------------------------------

ENDPOINT_V1_KEYS = frozenset({"VirtualNetwork", "VirtualNetworkName", "IPAddress",
                              "IsRemoteEndpoint", "PrefixLength", "GatewayAddress",
                              "DNSServerList", "DNSSuffix", "EnableInternalDNS", "DisableICC",
                              "IPv6Address", "EncapOverhead", "ActivityId"})
_ENDPOINT_V1_MODELED = frozenset({
    "ID", "Name", "VirtualNetwork", "VirtualNetworkName", "Policies", "MacAddress", "IPAddress",
    "IPv6Address", "DNSSuffix", "DNSServerList", "DNSDomain", "GatewayAddress",
    "GatewayAddressV6", "DisableICC", "PrefixLength", "IPv6PrefixLength", "IsRemoteEndpoint",
    "EnableLowMetric", "Namespace", "SharedContainers", "State", "HostComputeNetwork"})


def _ip_config(value: Any) -> Json:
    body = _obj(InvalidEndpoint, value, "IpConfiguration")
    ip = _field(InvalidEndpoint, body, "IpAddress", as_ip)
    limit = 128 if ip and ":" in ip else 32
    plen = _field(InvalidPrefix, body, "PrefixLength", lambda v: as_int(v, 0, limit), 0)
    out: Json = {}
    if ip:
        out["IpAddress"] = ip
    if plen:
        out["PrefixLength"] = plen
    return out


def parse_endpoint(body: Any, profile: Profile, *, v1: bool,
                   network_by_name: Callable[[str], str | None]) -> Json:
    """Endpoint create settings (V1 or V2 JSON) in stored form; ``ID`` may be None and
    ``HostComputeNetwork`` may be None (the caller checks it exists)."""
    ep = _obj(InvalidJson, body, "endpoint")
    kind = InvalidEndpoint
    out: Json = {"ID": _field(kind, ep, "ID", guid_or_none),
                 "Name": _field(kind, ep, "Name", as_str, "")}
    if v1:
        network = _field(kind, ep, "VirtualNetwork", guid_or_none)
        if network is None and ep.get("VirtualNetworkName") is not None:
            network = network_by_name(_field(kind, ep, "VirtualNetworkName", as_str))
        out["HostComputeNetwork"] = network
        out["Policies"] = parse_policies(ep.get("Policies"), ENDPOINT_POLICY_TYPES, profile,
                                         v1=True)
        configs = []
        ip4 = _field(kind, ep, "IPAddress", as_ip)
        if ip4:
            limit = 128 if ":" in ip4 else 32
            plen = _field(InvalidPrefix, ep, "PrefixLength", lambda v: as_int(v, 0, limit), 0)
            configs.append({"IpAddress": ip4, **({"PrefixLength": plen} if plen else {})})
        ip6 = _field(kind, ep, "IPv6Address", as_ip)
        if ip6:
            plen6 = _field(InvalidPrefix, ep, "IPv6PrefixLength", lambda v: as_int(v, 0, 128), 0)
            configs.append({"IpAddress": ip6, **({"PrefixLength": plen6} if plen6 else {})})
        out["IpConfigurations"] = configs
        dns: Json = {}
        suffix = _field(kind, ep, "DNSSuffix", as_str)
        if suffix:
            dns["Search"] = [s for s in suffix.split(",") if s]
        domain = _field(kind, ep, "DNSDomain", as_str)
        if domain:
            dns["Domain"] = domain
        servers = _field(kind, ep, "DNSServerList", as_str)
        if servers:
            dns["ServerList"] = [s for s in servers.split(",") if s]
        out["Dns"] = dns
        routes = []
        for key, default in (("GatewayAddress", "0.0.0.0/0"), ("GatewayAddressV6", "::/0")):
            gateway = _field(kind, ep, key, as_ip)
            if gateway:
                routes.append({"NextHop": gateway, "DestinationPrefix": default})
        out["Routes"] = routes
        out["MacAddress"] = _field(kind, ep, "MacAddress", as_mac)
        flags = 0
        if _field(kind, ep, "IsRemoteEndpoint", as_bool, False):
            flags |= EP_REMOTE
        if _field(kind, ep, "DisableICC", as_bool, False):
            flags |= EP_DISABLE_ICC
        if _field(kind, ep, "EnableLowMetric", as_bool, False):
            flags |= EP_LOW_METRIC
        out["Flags"] = flags
        extras = {k: v for k, v in ep.items() if k not in _ENDPOINT_V1_MODELED}
        if extras:
            out["_v1"] = extras
        state = ep.get("State")
        if isinstance(state, int) and not isinstance(state, bool) and 0 <= state <= 6:
            out["_v1state"] = state
    else:
        if ep.get("HostComputeNamespace"):
            raise InvalidEndpoint(detail="HostComputeNamespace is read only")
        out["HostComputeNetwork"] = _field(kind, ep, "HostComputeNetwork", guid_or_none)
        out["Policies"] = parse_policies(ep.get("Policies"), ENDPOINT_POLICY_TYPES, profile,
                                         v1=False)
        out["IpConfigurations"] = [_ip_config(c) for c in
                                   _field(kind, ep, "IpConfigurations", as_list, [])]
        out["Dns"] = _dns(ep.get("Dns") or {}, kind)
        out["Routes"] = [_route(r, kind) for r in _field(kind, ep, "Routes", as_list, [])]
        out["MacAddress"] = _field(kind, ep, "MacAddress", as_mac)
        out["Flags"] = _field(kind, ep, "Flags", uint(32), 0)
    families = [":" in c["IpAddress"] for c in out["IpConfigurations"] if "IpAddress" in c]
    if len(set(families)) > 1 and not profile.supports("IPv6DualStack"):
        raise RequestUnsupported(detail="dual-stack endpoints need HNS 11.10")
    for config in out["IpConfigurations"]:
        if config.get("PrefixLength") == 32 and not profile.supports("Slash32EndpointPrefixes"):
            raise RequestUnsupported(detail="/32 endpoint prefixes need Slash32EndpointPrefixes")
    return out


def endpoint_v2(ep: Json) -> Json:
    out: Json = {"ID": ep["ID"]}
    if ep.get("Name"):
        out["Name"] = ep["Name"]
    out["HostComputeNetwork"] = ep["HostComputeNetwork"]
    if ep.get("HostComputeNamespace"):
        out["HostComputeNamespace"] = ep["HostComputeNamespace"]
    if ep.get("Policies"):
        out["Policies"] = [_public(p) for p in ep["Policies"]]
    if ep.get("IpConfigurations"):
        out["IpConfigurations"] = ep["IpConfigurations"]
    if ep.get("Dns"):
        out["Dns"] = ep["Dns"]
    if ep.get("Routes"):
        out["Routes"] = ep["Routes"]
    if ep.get("MacAddress"):
        out["MacAddress"] = ep["MacAddress"]
    if ep.get("Flags"):
        out["Flags"] = ep["Flags"]
    resources = endpoint_resources(ep)
    if resources is not None:
        # hcsshim hcn.Health.Extra.Resources: where V2 callers find the port GUID.
        out["Health"] = {"Extra": {"Resources": resources}}
    out["State"] = ep.get("State", STATE_CREATED)
    out["SchemaVersion"] = {"Major": 2, "Minor": 0}
    return out


def endpoint_v1(ep: Json, network: Json | None, *, version: int) -> Json:
    out: Json = {
        "AdditionalParams": {},
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        "Version": version,
    }
    if network is not None:
        out["Type"] = network_v1_type(network)
        if network["Type"] == "Overlay":
            out["EncapOverhead"] = 50
    resources = endpoint_resources(ep)
    if resources is not None:
        out["Resources"] = resources
    out.update(ep.get("_v1", {}))
    out["ID"] = ep["ID"]
    if ep.get("Name"):
        out["Name"] = ep["Name"]
    out["VirtualNetwork"] = ep["HostComputeNetwork"]
    if network is not None:
        out["VirtualNetworkName"] = network["Name"]
    out["Policies"] = [to_v1(p, ENDPOINT_POLICY_TYPES) for p in ep.get("Policies", [])]
    if ep.get("MacAddress"):
        out["MacAddress"] = ep["MacAddress"]
    v4 = [c for c in ep.get("IpConfigurations", []) if ":" not in c.get("IpAddress", ":")]
    v6 = [c for c in ep.get("IpConfigurations", []) if ":" in c.get("IpAddress", "")]
    if v4:
        out["IPAddress"] = v4[0]["IpAddress"]
        if v4[0].get("PrefixLength"):
            out["PrefixLength"] = v4[0]["PrefixLength"]
    if v6:
        out["IPv6Address"] = v6[0]["IpAddress"]
        if v6[0].get("PrefixLength"):
            out["IPv6PrefixLength"] = v6[0]["PrefixLength"]
    for route in ep.get("Routes", []):
        if route.get("DestinationPrefix") == "0.0.0.0/0" and route.get("NextHop"):
            out["GatewayAddress"] = route["NextHop"]
        if route.get("DestinationPrefix") == "::/0" and route.get("NextHop"):
            out["GatewayAddressV6"] = route["NextHop"]
    dns = ep.get("Dns", {})
    if dns.get("Search"):
        out["DNSSuffix"] = ",".join(dns["Search"])
    if dns.get("Domain"):
        out["DNSDomain"] = dns["Domain"]
    if dns.get("ServerList"):
        out["DNSServerList"] = ",".join(dns["ServerList"])
    flags = ep.get("Flags", 0)
    if flags & EP_REMOTE:
        out["IsRemoteEndpoint"] = True
    if flags & EP_DISABLE_ICC:
        out["DisableICC"] = True
    if flags & EP_LOW_METRIC:
        out["EnableLowMetric"] = True
    if ep.get("HostComputeNamespace"):
        out["Namespace"] = {"ID": ep["HostComputeNamespace"], "IsDefault": False}
    out["SharedContainers"] = list(ep.get("SharedContainers", []))
    out["State"] = ep.get("State", STATE_CREATED)
    return out


# ---- load balancers and SDN routes (V1: policy lists) -----------------------------------

POLICYLIST_V1_KEYS = frozenset({"References", "Policies"})


def _endpoint_ref(value: Any) -> str:
    text = as_str(value)
    tail = text.rstrip("/").rsplit("/", 1)[-1]
    got = guid_or_none(tail)
    if got is None:
        raise Bad(f"{text!r} names no endpoint")
    return got


def _port_mapping(value: Any, profile: Profile) -> Json:
    body = _obj(InvalidPolicy, value, "PortMapping")
    proto = _field(InvalidPolicy, body, "Protocol", uint(32), 0)
    if proto not in (0, 6, 17):
        raise InvalidPolicy(detail=f"load balancer protocol {proto} is not TCP or UDP")
    internal = _field(InvalidPolicy, body, "InternalPort", uint(16), 0)
    external = _field(InvalidPolicy, body, "ExternalPort", uint(16), 0)
    dist = _field(InvalidPolicy, body, "DistributionType", lambda v: as_int(v, 0, 2), 0)
    if dist and not profile.supports("SessionAffinity"):
        raise RequestUnsupported(detail="DistributionType needs SessionAffinity (HNS 12.0)")
    flags = _field(InvalidPolicy, body, "Flags", uint(32), 0)
    if internal == 0 and (proto or external):
        # Port-less (no protocol, no ports) is Docker's ILB for a service VIP: every port
        # and protocol to the VIP is balanced (moby#39339, moby#40606 dumps).  A mapping
        # that names a protocol or an external port needs its internal port.
        raise InvalidInternalPort(detail="InternalPort is 0")
    out: Json = {"Protocol": proto, "InternalPort": internal, "ExternalPort": external or internal}
    if dist:
        out["DistributionType"] = dist
    if flags:
        out["Flags"] = flags
    return out


def _lb_flags(flags: int, profile: Profile) -> int:
    if flags & LB_DSR and not profile.supports("DSR"):
        raise RequestUnsupported(detail="DSR needs HNS 9.3+/10.2+")
    if flags & LB_IPV6 and not profile.supports("IPv6DualStack"):
        raise RequestUnsupported(detail="IPv6 load balancers need HNS 11.10")
    return flags


def parse_load_balancer(body: Any, profile: Profile) -> Json:
    lb = _obj(InvalidJson, body, "load balancer")
    kind = InvalidPolicy
    out: Json = {
        "ID": _field(kind, lb, "ID", guid_or_none),
        "HostComputeEndpoints": _field(kind, lb, "HostComputeEndpoints",
                                       lambda v: [_endpoint_ref(e) for e in as_list(v)], []),
        "SourceVIP": _field(kind, lb, "SourceVIP", as_ip, ""),
        "FrontendVIPs": _field(kind, lb, "FrontendVIPs",
                               lambda v: [as_ip(e) for e in as_list(v)], []),
        "PortMappings": [_port_mapping(p, profile)
                         for p in _field(kind, lb, "PortMappings", as_list, [])],
        "Flags": _lb_flags(_field(kind, lb, "Flags", uint(32), 0), profile),
    }
    if lb.get("HostComputeNetwork") is not None:
        out["HostComputeNetwork"] = _field(kind, lb, "HostComputeNetwork", guid_or_none)
    if not out["PortMappings"]:
        raise InvalidPolicy(detail="a load balancer needs at least one PortMapping")
    return out


def _route_setting(value: Any) -> Json:
    body = _obj(InvalidPolicy, value, "route")
    out: Json = {}
    for key, check in (("DestinationPrefix", as_prefix), ("NextHop", as_ip),
                       ("NeedEncap", as_bool), ("AutomaticEndpointMonitor", as_bool)):
        got = _field(InvalidPolicy, body, key, check)
        if got is not None:
            out[key] = got
    if "DestinationPrefix" not in out:
        raise InvalidPolicy(detail="a route needs a DestinationPrefix")
    return out


def parse_route(body: Any) -> Json:
    rt = _obj(InvalidJson, body, "route")
    key = "Setting" if "Setting" in rt and "Routes" not in rt else "Routes"
    out: Json = {
        "ID": _field(InvalidPolicy, rt, "ID", guid_or_none),
        "HostComputeEndpoints": _field(InvalidPolicy, rt, "HostComputeEndpoints",
                                       lambda v: [_endpoint_ref(e) for e in as_list(v)], []),
        "Routes": [_route_setting(r) for r in _field(InvalidPolicy, rt, key, as_list, [])],
        "_key": key,
    }
    if not out["Routes"]:
        raise InvalidPolicy(detail="an SDN route needs at least one route")
    return out


def parse_policy_list(body: Any, profile: Profile) -> tuple[str, Json]:
    """A V1 policy list: ``("lb", load balancer)`` for ELB policies, ``("route", route)``
    for ROUTE policies."""
    pl = _obj(InvalidJson, body, "policy list")
    refs = _field(InvalidPolicy, pl, "References",
                  lambda v: [_endpoint_ref(e) for e in as_list(v)], [])
    policies = _field(InvalidPolicy, pl, "Policies", as_list, [])
    if not policies:
        raise InvalidPolicy(detail="a policy list needs policies")
    types = set()
    for policy in policies:
        item = _obj(InvalidPolicy, policy, "policy")
        ptype = item.get("Type")
        if not isinstance(ptype, str) or ptype.upper() not in ("ELB", "ROUTE"):
            raise InvalidPolicyType(detail=f"policy list type {ptype!r}")
        types.add(ptype.upper())
    if len(types) > 1:
        raise InvalidPolicy(detail="a policy list mixes ELB and ROUTE")
    extras = {k: v for k, v in pl.items() if k not in ("ID", "References", "Policies")}
    ident = _field(InvalidPolicy, pl, "ID", guid_or_none)
    if types == {"ROUTE"}:
        route = parse_route({"HostComputeEndpoints": refs, "Routes": policies})
        route["ID"] = ident
        route["_v1"] = extras
        return "route", route
    first = policies[0]
    mappings = []
    vips: list[str] = []
    flags = 0
    for elb in policies:
        pm_flags = PM_ILB if elb.get("ILB") is True else 0
        if elb.get("LocalRoutedVIP") is True:
            pm_flags |= PM_LOCAL_ROUTED_VIP
        mappings.append({k: v for k, v in (("Protocol", elb.get("Protocol")),
                                           ("InternalPort", elb.get("InternalPort")),
                                           ("ExternalPort", elb.get("ExternalPort")),
                                           ("Flags", pm_flags)) if v is not None})
        elb_vips = elb.get("VIPs")
        if elb_vips is not None and not isinstance(elb_vips, list):
            raise InvalidPolicy(detail="ELB VIPs must be a list of addresses")
        for vip in elb_vips or []:
            if vip not in vips:
                vips.append(vip)
        if elb.get("IsDSR") is True:
            flags |= LB_DSR
    lb = parse_load_balancer({"HostComputeEndpoints": refs, "SourceVIP": first.get("SourceVIP"),
                              "FrontendVIPs": vips, "PortMappings": mappings, "Flags": flags},
                             profile)
    lb["ID"] = ident
    lb["_v1"] = extras
    return "lb", lb


def load_balancer_v2(lb: Json) -> Json:
    out: Json = {"ID": lb["ID"]}
    if lb.get("HostComputeEndpoints"):
        out["HostComputeEndpoints"] = lb["HostComputeEndpoints"]
    if lb.get("SourceVIP"):
        out["SourceVIP"] = lb["SourceVIP"]
    if lb.get("FrontendVIPs"):
        out["FrontendVIPs"] = lb["FrontendVIPs"]
    out["PortMappings"] = lb["PortMappings"]
    if lb.get("Flags"):
        out["Flags"] = lb["Flags"]
    out["SchemaVersion"] = {"Major": 2, "Minor": 0}
    return out


def load_balancer_v1(lb: Json, *, version: int) -> Json:
    out: Json = {"Flags": 0, "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
                 "IsApplied": True, "State": 2, "Version": version}
    out.update(lb.get("_v1", {}))
    policies = []
    for pm in lb["PortMappings"]:
        elb: Json = {"Type": "ELB", "Protocol": pm["Protocol"], "InternalPort": pm["InternalPort"],
                     "ExternalPort": pm["ExternalPort"]}
        if lb.get("SourceVIP"):
            elb["SourceVIP"] = lb["SourceVIP"]
        if lb.get("FrontendVIPs"):
            elb["VIPs"] = list(lb["FrontendVIPs"])
        if pm.get("Flags", 0) & PM_ILB:
            elb["ILB"] = True
        if pm.get("Flags", 0) & PM_LOCAL_ROUTED_VIP:
            elb["LocalRoutedVIP"] = True
        if lb.get("Flags", 0) & LB_DSR:
            elb["IsDSR"] = True
        policies.append(elb)
    out["ID"] = lb["ID"]
    out["Policies"] = policies
    # Real V1 lists write references in lower case even where their own ID is upper case
    # (real/calico-8465-get-hnspolicylist-elb-dsr.txt).
    out["References"] = [f"/endpoints/{e.lower()}" for e in lb.get("HostComputeEndpoints", [])]
    if lb.get("HostComputeNetwork"):
        out["HostComputeNetwork"] = lb["HostComputeNetwork"]
    return out


def route_v2(route: Json) -> Json:
    out: Json = {"ID": route["ID"]}
    if route.get("HostComputeEndpoints"):
        out["HostComputeEndpoints"] = route["HostComputeEndpoints"]
    out[route.get("_key", "Routes")] = route["Routes"]
    out["SchemaVersion"] = {"Major": 2, "Minor": 0}
    return out


def route_v1(route: Json, *, version: int) -> Json:
    out: Json = {"Flags": 0, "IsApplied": True, "State": 2, "Version": version}
    out.update(route.get("_v1", {}))
    out["ID"] = route["ID"]
    out["Policies"] = [{"Type": "ROUTE", **r} for r in route["Routes"]]
    out["References"] = [f"/endpoints/{e}" for e in route.get("HostComputeEndpoints", [])]
    return out


# ---- namespaces -----------------------------------------------------------------------

def parse_namespace(body: Any, *, v1: bool) -> Json:
    ns = _obj(InvalidJson, body, "namespace")
    kind = InvalidArg
    out: Json = {"ID": _field(kind, ns, "ID", guid_or_none), "Resources": []}
    if v1:
        default = _field(kind, ns, "IsDefault", as_bool, False)
        out["Type"] = "HostDefault" if default else "Host"
    else:
        out["Type"] = _field(kind, ns, "Type", enum_of(*NAMESPACE_TYPES, fold=True), "Host")
        compartment = _field(kind, ns, "NamespaceId", uint(32), 0)
        if compartment:
            out["NamespaceId"] = compartment
    return out


def namespace_v2(ns: Json) -> Json:
    out: Json = {"ID": ns["ID"], "NamespaceId": ns.get("NamespaceId", 0), "Type": ns["Type"]}
    if ns.get("Resources"):
        out["Resources"] = [{"Type": r["Type"], "Data": {"ID": r["ID"]}}
                            for r in ns["Resources"]]
    out["SchemaVersion"] = {"Major": 2, "Minor": 0}
    return out


def namespace_v1(ns: Json) -> Json:
    out: Json = {"ID": ns["ID"], "IsDefault": ns["Type"] in ("HostDefault", "GuestDefault"),
                 "CompartmentId": ns.get("NamespaceId", 0)}
    out["ResourceList"] = [{"Type": r["Type"], "Data": {"Id": r["ID"]}}
                           for r in ns.get("Resources", [])]
    return out


# ---- queries --------------------------------------------------------------------------

def parse_query(text: str | None) -> tuple[Json, int]:
    """A HostComputeQuery: ``(filter, schema major)``.  Accepts "" / None (defaults), a query
    object, or a bare filter object (one client in the wild sends that)."""
    if text is None or text.strip() == "":
        return {}, 2
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidJson(detail="query is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidJson(detail="query is not a JSON object")
    if not ({"SchemaVersion", "Filter", "Flags"} & body.keys()):
        return _filter_dict(body), 2
    major = 2
    schema = body.get("SchemaVersion")
    if isinstance(schema, dict):
        got = schema.get("Major")
        if isinstance(got, int) and not isinstance(got, bool):
            major = got
    raw = body.get("Filter")
    if raw is None or raw == "":
        return {}, major
    if isinstance(raw, dict):
        return _filter_dict(raw), major
    if not isinstance(raw, str):
        raise InvalidJson(detail="Filter must be a JSON string")
    try:
        flt = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJson(detail="Filter is not JSON") from None
    if not isinstance(flt, dict):
        raise InvalidJson(detail="Filter is not a JSON object")
    return _filter_dict(flt), major


def _filter_dict(flt: Mapping[str, Any]) -> Json:
    return {str(k): v for k, v in flt.items()}


def ip_in_subnet(ip: str, prefix: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
