"""Load balancers and SDN routes, and the V1 policy lists that carry either: parse into
the stored form and render back as V1 or V2.
"""

from __future__ import annotations

from typing import Any

from hns.errors import (
    InvalidInternalPort,
    InvalidJson,
    InvalidPolicy,
    InvalidPolicyType,
    RequestUnsupported,
)
from hns.model.common import (
    LB_DSR,
    LB_IPV6,
    PM_ILB,
    PM_LOCAL_ROUTED_VIP,
    Json,
    _field,
    _obj,
)
from hns.profiles import Profile
from hns.schema.loadbalancer import HostComputeLoadBalancer, LoadBalancerPortMapping
from hns.schema.policy import SDNRouteSettings
from hns.schema.request import parse_request
from hns.schema.route import HostComputeRoute
from hns.validate import (
    as_list,
    endpoint_refs,
    guid_or_none,
)

POLICYLIST_V1_KEYS = frozenset({"References", "Policies"})


def _port_mapping(mapping: LoadBalancerPortMapping, profile: Profile) -> Json:
    proto = mapping.protocol or 0
    if proto not in (0, 6, 17):
        raise InvalidPolicy(detail=f"load balancer protocol {proto} is not TCP or UDP")
    internal = mapping.internal_port or 0
    external = mapping.external_port or 0
    dist = mapping.distribution_type or 0
    if dist and not profile.supports("SessionAffinity"):
        raise RequestUnsupported(detail="DistributionType needs SessionAffinity (HNS 12.0)")
    flags = mapping.flags or 0
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
    """A V2 load balancer (or a V1 policy list's ELB policies, mapped) through its typed
    model ``HostComputeLoadBalancer``: every bad field is HCN_E_INVALID_POLICY; then what
    HNS decides beyond the fields (protocols, port-less mappings, profile features)."""
    lb = parse_request(HostComputeLoadBalancer, body, error=InvalidPolicy, what="load balancer")
    out: Json = {
        "ID": lb.id,
        "HostComputeEndpoints": lb.host_compute_endpoints or [],
        "SourceVIP": lb.source_vip or "",
        "FrontendVIPs": lb.frontend_vips or [],
        "PortMappings": [_port_mapping(p, profile) for p in lb.port_mappings or []],
        "Flags": _lb_flags(lb.flags or 0, profile),
    }
    if body.get("HostComputeNetwork") is not None:  # not in hcsshim's struct; kept as given
        out["HostComputeNetwork"] = _field(InvalidPolicy, body, "HostComputeNetwork",
                                           guid_or_none)
    if not out["PortMappings"]:
        raise InvalidPolicy(detail="a load balancer needs at least one PortMapping")
    return out


def _route_setting(setting: SDNRouteSettings) -> Json:
    out: Json = {key: value for key, value in (
        ("DestinationPrefix", setting.destination_prefix), ("NextHop", setting.next_hop),
        ("NeedEncap", setting.need_encap),
        ("AutomaticEndpointMonitor", setting.automatic_endpoint_monitor)) if value is not None}
    if "DestinationPrefix" not in out:
        raise InvalidPolicy(detail="a route needs a DestinationPrefix")
    return out


def parse_route(body: Any) -> Json:
    """A V2 SDN route (or a V1 policy list's ROUTE policies) through its typed model
    ``HostComputeRoute``: every bad field is HCN_E_INVALID_POLICY."""
    raw = _obj(InvalidJson, body, "route")
    key = "Setting" if "Setting" in raw and "Routes" not in raw else "Routes"
    rt = parse_request(HostComputeRoute, raw, error=InvalidPolicy, what="route",
                       fields=("ID", "HostComputeEndpoints", key))
    settings = rt.setting if key == "Setting" else rt.routes
    out: Json = {
        "ID": rt.id,
        "HostComputeEndpoints": rt.host_compute_endpoints or [],
        "Routes": [_route_setting(r) for r in settings or []],
        "_key": key,
    }
    if not out["Routes"]:
        raise InvalidPolicy(detail="an SDN route needs at least one route")
    return out


def parse_policy_list(body: Any, profile: Profile) -> tuple[str, Json]:
    """A V1 policy list: ``("lb", load balancer)`` for ELB policies, ``("route", route)``
    for ROUTE policies."""
    pl = _obj(InvalidJson, body, "policy list")
    refs = _field(InvalidPolicy, pl, "References", endpoint_refs, [])
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
                 "IsApplied": False, "State": 2, "Version": version}
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
    out: Json = {"Flags": 0, "IsApplied": False, "State": 2, "Version": version}
    out.update(route.get("_v1", {}))
    out["ID"] = route["ID"]
    out["Policies"] = [{"Type": "ROUTE", **r} for r in route["Routes"]]
    out["References"] = [f"/endpoints/{e}" for e in route.get("HostComputeEndpoints", [])]
    return out
