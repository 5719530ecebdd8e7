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
from hns.validate import (
    Bad,
    as_bool,
    as_int,
    as_ip,
    as_list,
    as_prefix,
    as_str,
    guid_or_none,
    uint,
)

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
