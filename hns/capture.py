"""Import of real-host captures: the shapes people paste from Windows hosts.

Accepted (fixtures/real/ and SOURCES.md there):
    * the V1 envelope ``{"Success":true,"Output":...}`` (one object or an array);
    * ``Get-HnsNetwork | ConvertTo-Json`` / ``Get-HNSEndpoint | ConvertTo-Json`` output
      (one object or an array, PowerShell spacing);
    * V2 objects (``HostComputeLoadBalancer`` as kube-proxy logs it, ...);
    * JSON embedded in a log line (hcsshim ``Network Response : [...]``), escaped inside a
      logrus ``msg="..."`` field, or broken across lines by a console that wrapped it.

Objects keep their ids, and V1 fields the model does not interpret are kept verbatim, so
reading an imported object back through V1 gives the fields that were captured.  An
endpoint whose network is not in the capture gets a stub network with that id, the
endpoint's ``VirtualNetworkName`` and network ``Type``, so the capture still loads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hns import model
from hns.errors import InvalidJson

if TYPE_CHECKING:
    from hns.service import HnsService

Json = dict[str, Any]

__all__ = ["classify", "extract_json", "import_objects"]

_DECODER = json.JSONDecoder()


def extract_json(text: str) -> Any:
    """The first complete JSON object or array in ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        raise InvalidJson(detail="capture is not text")
    text = text.lstrip("\ufeff")  # PowerShell's Out-File writes a byte-order mark
    candidates = [text]
    joined = "".join(line.rstrip("\r") for line in text.split("\n"))
    candidates.append(joined)
    if '\\"' in text:
        candidates += [c.replace('\\"', '"').replace("\\\\", "\\") for c in list(candidates)]
    for candidate in candidates:
        try:
            return json.loads(candidate.strip())
        except (ValueError, RecursionError):
            pass
    for candidate in candidates:
        found = _scan(candidate)
        if found is not None:
            return found
    raise InvalidJson(detail="no complete JSON document in the capture")


def _scan(text: str) -> Any:
    pos = 0
    attempts = 0
    while attempts < 10_000:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            return None
        start = min(starts)
        attempts += 1
        try:
            value, _end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            pos = start + 1
            continue
        if _looks_like_hns(value):
            return value
        pos = start + 1
    return None


_OBJECT_KEYS = frozenset({"Name", "VirtualNetwork", "PortMappings", "References",
                          "HostComputeEndpoints", "ResourceList", "IsRemoteEndpoint",
                          "IPAddress", "NamespaceId", "CompartmentId"})


def _looks_like_hns(value: Any) -> bool:
    """Whether a decoded fragment is HNS objects rather than a piece of one (an extension,
    a Health block) found inside a truncated capture."""
    if isinstance(value, dict) and "Output" in value and "Success" in value:
        value = value["Output"]
    items = value if isinstance(value, list) else [value]
    if not items:
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        if "ID" not in item or not (_OBJECT_KEYS & item.keys()) or "AddressPrefix" in item:
            return False
    return True


def classify(obj: Json) -> str:
    """network / endpoint / loadbalancer / route / namespace / policylist for a capture."""
    keys = obj.keys()
    if "References" in keys or _has_policy_type(obj, {"ELB", "ROUTE"}):
        return "policylist"
    if "PortMappings" in keys:
        return "loadbalancer"
    if {"Setting", "Routes"} & keys and "HostComputeEndpoints" in keys:
        return "route"
    if {"VirtualNetwork", "IPAddress", "IsRemoteEndpoint", "VirtualNetworkName",
            "HostComputeNetwork", "IpConfigurations"} & keys:
        return "endpoint"
    if {"ResourceList", "CompartmentId", "NamespaceId"} & keys:
        return "namespace"
    return "network"


def _has_policy_type(obj: Json, types: set[str]) -> bool:
    policies = obj.get("Policies")
    if not isinstance(policies, list):
        return False
    return any(isinstance(p, dict) and str(p.get("Type", "")).upper() in types
               for p in policies)


def import_objects(service: HnsService, value: Any) -> list[str]:
    """Create every object in ``value`` in ``service``; returns their ids (input order)."""
    if isinstance(value, dict) and "Output" in value and "Success" in value:
        value = value["Output"]
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidJson(detail="a capture holds JSON objects")
    order = {"network": 0, "endpoint": 1, "namespace": 2, "loadbalancer": 3, "route": 3,
             "policylist": 3}
    ranked = sorted(((order[classify(o)], n, o) for n, o in enumerate(items)),
                    key=lambda t: (t[0], t[1]))
    ids: dict[int, str] = {}
    for _rank, n, obj in ranked:
        ids[n] = _import_one(service, obj)
    return [ids[n] for n in range(len(items))]


def _import_one(service: HnsService, obj: Json) -> str:
    kind = classify(obj)
    if kind == "network":
        v1 = model.is_v1_settings(obj, model.NETWORK_V1_KEYS) or "Ipams" not in obj
        return str(service._create_network(obj, v1=v1, imported=True)["ID"])
    if kind == "endpoint":
        v1 = model.is_v1_settings(obj, model.ENDPOINT_V1_KEYS)
        net_id = obj.get("VirtualNetwork") if v1 else obj.get("HostComputeNetwork")
        if isinstance(net_id, str) and net_id and \
                net_id.upper() not in service._objs["network"]:
            name = obj.get("VirtualNetworkName") or f"imported-{net_id[:8]}"
            stub: Json = {"ID": net_id, "Name": name, "Type": obj.get("Type") or "NAT"}
            service._create_network(stub, v1=True, imported=True)
        return str(service._create_endpoint(obj, v1=v1)["ID"])
    if kind == "namespace":
        v1 = "ResourceList" in obj or "IsDefault" in obj
        return str(service._create_namespace({k: v for k, v in obj.items()
                                              if k in ("ID", "IsDefault", "Type",
                                                       "NamespaceId")}, v1=v1)["ID"])
    if kind == "policylist":
        parsed_kind, parsed = model.parse_policy_list(obj, service._profile)
        if parsed_kind == "lb":
            return str(service._create_lb_parsed(parsed, upper=True, check_refs=False)["ID"])
        return str(service._create_route_parsed(parsed, upper=True, check_refs=False)["ID"])
    if kind == "loadbalancer":
        lb = model.parse_load_balancer(obj, service._profile)
        return str(service._create_lb_parsed(lb, upper=False, check_refs=False)["ID"])
    return str(service._create_route_parsed(model.parse_route(obj), upper=False,
                                           check_refs=False)["ID"])
