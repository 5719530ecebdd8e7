"""Endpoints: parse V1 / V2 endpoint JSON (IP configurations, MAC, DNS, routes, policies)
into the stored form and render it back as V1 or V2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hns.errors import (
    InvalidEndpoint,
    InvalidJson,
    InvalidPrefix,
    RequestUnsupported,
)
from hns.model.common import (
    EP_DISABLE_ICC,
    EP_LOW_METRIC,
    EP_REMOTE,
    STATE_CREATED,
    Json,
    _obj,
)
from hns.model.network import (
    _dns_from,
    _public,
    _route_from,
    network_v1_type,
)
from hns.policies import (
    ENDPOINT_POLICY_TYPES,
    parse_policies,
    to_v1,
)
from hns.ports import endpoint_resources
from hns.profiles import Profile
from hns.schema.common import IpConfig
from hns.schema.endpoint import HostComputeEndpoint
from hns.schema.request import parse_request
from hns.schema.v1 import V1Endpoint

ENDPOINT_V1_KEYS = frozenset({"VirtualNetwork", "VirtualNetworkName", "IPAddress",
                              "IsRemoteEndpoint", "PrefixLength", "GatewayAddress",
                              "DNSServerList", "DNSSuffix", "EnableInternalDNS", "DisableICC",
                              "IPv6Address", "EncapOverhead", "ActivityId"})
_ENDPOINT_V1_MODELED = frozenset({
    "ID", "Name", "VirtualNetwork", "VirtualNetworkName", "Policies", "MacAddress", "IPAddress",
    "IPv6Address", "DNSSuffix", "DNSServerList", "DNSDomain", "GatewayAddress",
    "GatewayAddressV6", "DisableICC", "PrefixLength", "IPv6PrefixLength", "IsRemoteEndpoint",
    "EnableLowMetric", "Namespace", "SharedContainers", "State", "HostComputeNetwork"})


#: The fields of a create body that go through ``HostComputeEndpoint`` (V1 / V2).
_TYPED_V1 = ("ID", "Name", "VirtualNetwork", "MacAddress", "IPAddress", "IPv6Address",
             "DNSSuffix", "DNSServerList", "DNSDomain", "GatewayAddress", "GatewayAddressV6",
             "DisableICC", "IsRemoteEndpoint", "EnableLowMetric")
_TYPED_V2 = ("ID", "Name", "HostComputeNetwork", "IpConfigurations", "Dns", "Routes",
             "MacAddress", "Flags")


def _ip_config(config: IpConfig) -> Json:
    ip = config.ip_address
    limit = 128 if ip and ":" in ip else 32
    plen = config.prefix_length or 0
    if plen > limit:
        raise InvalidPrefix(detail=f"PrefixLength: {plen} is out of range 0..{limit}")
    out: Json = {}
    if ip:
        out["IpAddress"] = ip
    if plen:
        out["PrefixLength"] = plen
    return out


def parse_endpoint(body: Any, profile: Profile, *, v1: bool,
                   network_by_name: Callable[[str], str | None]) -> Json:
    """Endpoint create settings (V1 or V2 JSON) in stored form; ``ID`` may be None and
    ``HostComputeNetwork`` may be None (the caller checks it exists).  The fields go through
    the typed model (``V1Endpoint`` / ``HostComputeEndpoint``), every policy through
    hns/policies.py."""
    ep = _obj(InvalidJson, body, "endpoint")
    out = _endpoint_v1_fields(ep, network_by_name) if v1 else _endpoint_v2_fields(ep)
    out["Policies"] = parse_policies(ep.get("Policies"), ENDPOINT_POLICY_TYPES, profile, v1=v1)
    families = [":" in c["IpAddress"] for c in out["IpConfigurations"] if "IpAddress" in c]
    if len(set(families)) > 1 and not profile.supports("IPv6DualStack"):
        raise RequestUnsupported(detail="dual-stack endpoints need HNS 11.10")
    for config in out["IpConfigurations"]:
        if config.get("PrefixLength") == 32 and not profile.supports("Slash32EndpointPrefixes"):
            raise RequestUnsupported(detail="/32 endpoint prefixes need Slash32EndpointPrefixes")
    return out


def _endpoint_v2_fields(ep: Json) -> Json:
    if ep.get("HostComputeNamespace"):
        raise InvalidEndpoint(detail="HostComputeNamespace is read only")
    typed = parse_request(HostComputeEndpoint, ep, error=InvalidEndpoint, what="endpoint",
                          fields=_TYPED_V2)
    return {"ID": typed.id, "Name": typed.name or "",
            "HostComputeNetwork": typed.host_compute_network,
            "IpConfigurations": [_ip_config(c) for c in typed.ip_configurations or []],
            "Dns": _dns_from(typed.dns), "Routes": [_route_from(r) for r in typed.routes or []],
            "MacAddress": typed.mac_address, "Flags": typed.flags or 0}


def _endpoint_v1_fields(ep: Json, network_by_name: Callable[[str], str | None]) -> Json:
    # A prefix length is read only beside its address, a network name only without an id.
    fields = [*_TYPED_V1,
              *(["PrefixLength"] if ep.get("IPAddress") is not None else []),
              *(["IPv6PrefixLength"] if ep.get("IPv6Address") is not None else [])]
    typed = parse_request(V1Endpoint, ep, error=InvalidEndpoint, what="endpoint",
                          fields=fields)
    network = typed.virtual_network
    if network is None and ep.get("VirtualNetworkName") is not None:
        named = parse_request(V1Endpoint, ep, error=InvalidEndpoint, what="endpoint",
                              fields=["VirtualNetworkName"])
        network = network_by_name(named.virtual_network_name or "")
    out: Json = {"ID": typed.id, "Name": typed.name or "", "HostComputeNetwork": network}
    configs = []
    for ip, plen, v6 in ((typed.ip_address, typed.prefix_length, False),
                         (typed.ipv6_address, typed.ipv6_prefix_length, True)):
        if not ip:
            continue
        limit = 128 if v6 or ":" in ip else 32
        if plen is not None and plen > limit:
            raise InvalidPrefix(detail=f"PrefixLength: {plen} is out of range 0..{limit}")
        configs.append({"IpAddress": ip, **({"PrefixLength": plen} if plen else {})})
    out["IpConfigurations"] = configs
    dns: Json = {}
    if typed.dns_suffix:
        dns["Search"] = [s for s in typed.dns_suffix.split(",") if s]
    if typed.dns_domain:
        dns["Domain"] = typed.dns_domain
    if typed.dns_server_list:
        dns["ServerList"] = [s for s in typed.dns_server_list.split(",") if s]
    out["Dns"] = dns
    out["Routes"] = [{"NextHop": gateway, "DestinationPrefix": default}
                     for gateway, default in ((typed.gateway_address, "0.0.0.0/0"),
                                              (typed.gateway_address_v6, "::/0")) if gateway]
    out["MacAddress"] = typed.mac_address
    out["Flags"] = ((EP_REMOTE if typed.is_remote_endpoint else 0)
                    | (EP_DISABLE_ICC if typed.disable_icc else 0)
                    | (EP_LOW_METRIC if typed.enable_low_metric else 0))
    extras = {k: v for k, v in ep.items() if k not in _ENDPOINT_V1_MODELED}
    if extras:
        out["_v1"] = extras
    state = ep.get("State")
    if isinstance(state, int) and not isinstance(state, bool) and 0 <= state <= 6:
        out["_v1state"] = state
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
