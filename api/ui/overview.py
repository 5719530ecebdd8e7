"""The host overview the web view draws: one JSON document from the service's state.

Read from ``service.dump()`` (a deep copy taken under the service lock), never through
``hcn_call``: looking must not add calls to the call log the user is debugging. The
document (``GET /ui/api/overview``)::

    {"Profile", "Version", "HostIp", "Service": {...service_state...}, "LastSeq",
     "Networks": [{"ID","Name","Type","Subnets","ProviderAddress","Endpoints"}],
     "Endpoints": [{"ID","Name","Network","NetworkName","IPAddress","MacAddress",
                    "Remote","ProviderAddress","Namespace","Policies","Port"}],
     "LoadBalancers": [{"ID","VIPs","Ports","Endpoints","Flags"}],
     "Namespaces": [{"ID","Type","NamespaceId","Endpoints"}],
     "Routes": [{"ID","Endpoints","Routes"}],
     "Tunnels": [{"ProviderAddress","Remote": n, "Networks": [...]}]}

``Port`` says whether the endpoint has a VFP port on this host's switch (local endpoints
do; remote endpoints are only mappings). ``Tunnels`` are the PA-to-PA paths: one per
remote provider address the host's remote endpoints live behind.
"""

from __future__ import annotations

from typing import Any

from hns.errors import HnsError
from hns.model import EP_REMOTE

__all__ = ["overview"]

Json = dict[str, Any]


def _pa_of(policies: Any) -> str:
    for policy in policies if isinstance(policies, list) else ():
        if isinstance(policy, dict) and policy.get("Type") == "ProviderAddress":
            settings = policy.get("Settings") or {}
            return str(settings.get("ProviderAddress", ""))
    return ""


def _subnets(network: Json) -> list[str]:
    return [
        str(subnet.get("IpAddressPrefix", ""))
        for ipam in network.get("Ipams") or []
        for subnet in ipam.get("Subnets") or []
    ]


def _ids(items: Any, key: str = "ID") -> list[str]:
    out = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.append(str(item.get(key) or (item.get("Data") or {}).get("ID", "")))
    return out


def _endpoint(ep: Json, names: dict[str, str], ports: set[str], ns_of: dict[str, str]) -> Json:
    ips = [c.get("IpAddress", "") for c in ep.get("IpConfigurations") or []]
    remote = bool(int(ep.get("Flags", 0) or 0) & EP_REMOTE)
    network = str(ep.get("HostComputeNetwork", ""))
    ident = str(ep.get("ID", ""))
    return {
        "ID": ident,
        "Name": ep.get("Name", ""),
        "Network": network,
        "NetworkName": names.get(network.lower(), ""),
        "IPAddress": ", ".join(str(ip) for ip in ips if ip),
        "MacAddress": ep.get("MacAddress", ""),
        "Remote": remote,
        "ProviderAddress": _pa_of(ep.get("Policies")),
        "Namespace": ns_of.get(ident.lower(), ""),
        "Policies": [p.get("Type", "?") for p in ep.get("Policies") or [] if isinstance(p, dict)],
        "Port": ident.lower() in ports,
    }


def _load_balancer(lb: Json) -> Json:
    return {
        "ID": lb.get("ID", ""),
        "VIPs": list(lb.get("FrontendVIPs") or []),
        "Ports": [
            f"{m.get('Protocol', '?')}:{m.get('ExternalPort', '?')}->{m.get('InternalPort', '?')}"
            for m in lb.get("PortMappings") or []
            if isinstance(m, dict)
        ],
        "Endpoints": _ids(lb.get("HostComputeEndpoints")),
        "Flags": lb.get("Flags", 0),
    }


def overview(host: Any) -> Json:
    """The overview document of ``host`` (an ``hns.hosts.Host``)."""
    service = host.service
    doc: Json = {
        "Profile": service.profile,
        "Version": service.globals_version(),
        "HostIp": getattr(service, "host_ip", ""),
        "Service": service.service_state(),
        "LastSeq": service.calls.last_seq,
    }
    try:
        objects: dict[str, list[Json]] = service.dump()["Objects"]
    except HnsError as exc:  # a closed service: say so instead of failing the page
        doc["Error"] = str(exc)
        objects = {}
    switch = getattr(host, "switch", None)
    # Ports have GUIDs of their own (EndpointPortGuid); the page marks the endpoints
    # that own one, so map each port back to its endpoint through the compiler.
    compiler = getattr(host, "compiler", None)
    ports = {
        str(owner).lower()
        for p in getattr(switch, "ports", {})
        if (owner := compiler.endpoint_of(str(p)) if compiler is not None else str(p))
    }
    networks = objects.get("network", [])
    names = {str(n.get("ID", "")).lower(): str(n.get("Name", "")) for n in networks}
    namespaces = objects.get("namespace", [])
    ns_of = {
        ep_id.lower(): str(ns.get("ID", ""))
        for ns in namespaces
        for ep_id in _ids(ns.get("Resources"))
    }
    endpoints = [_endpoint(ep, names, ports, ns_of) for ep in objects.get("endpoint", [])]
    doc["Networks"] = [
        {
            "ID": n.get("ID", ""),
            "Name": n.get("Name", ""),
            "Type": n.get("Type", ""),
            "Subnets": _subnets(n),
            "ProviderAddress": _pa_of(n.get("Policies")),
            "Endpoints": sum(
                1 for e in endpoints if e["Network"].lower() == str(n.get("ID", "")).lower()
            ),
        }
        for n in networks
    ]
    doc["Endpoints"] = endpoints
    doc["LoadBalancers"] = [_load_balancer(lb) for lb in objects.get("loadbalancer", [])]
    doc["Namespaces"] = [
        {
            "ID": ns.get("ID", ""),
            "Type": ns.get("Type", ""),
            "NamespaceId": ns.get("NamespaceId", 0),
            "Endpoints": _ids(ns.get("Resources")),
        }
        for ns in namespaces
    ]
    doc["Routes"] = [
        {
            "ID": r.get("ID", ""),
            "Endpoints": _ids(r.get("HostComputeEndpoints")),
            "Routes": [
                f"{x.get('DestinationPrefix', '?')} via {x.get('NextHop', '?')}"
                for x in r.get("Routes") or []
                if isinstance(x, dict)
            ],
        }
        for r in objects.get("route", [])
    ]
    tunnels: dict[str, Json] = {}
    for ep in endpoints:
        pa = ep["ProviderAddress"]
        if ep["Remote"] and pa:
            tunnel = tunnels.setdefault(pa, {"ProviderAddress": pa, "Remote": 0, "Networks": []})
            tunnel["Remote"] += 1
            if ep["Network"] not in tunnel["Networks"]:
                tunnel["Networks"].append(ep["Network"])
    doc["Tunnels"] = sorted(tunnels.values(), key=lambda t: str(t["ProviderAddress"]))
    return doc
