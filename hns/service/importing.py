"""Import of the objects a real-host capture holds (read by hns/capture.py) into the
service, in dependency order: networks, endpoints, namespaces, then load balancers,
routes and policy lists.

Objects keep their ids, and V1 fields the model does not interpret are kept verbatim, so
reading an imported object back through V1 gives the fields that were captured.  An
endpoint whose network is not in the capture gets a stub network with that id, the
endpoint's ``VirtualNetworkName`` and network ``Type``, so the capture still loads.
"""

from __future__ import annotations

from typing import Any

from hns import model
from hns.capture import classify
from hns.errors import InvalidJson
from hns.model.service_read import stored_endpoint, stored_id
from hns.service.base import Json
from hns.service.namespace import Namespaces

__all__ = ["import_objects"]


def import_objects(service: Namespaces, value: Any) -> list[str]:
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


def _restore_members(service: Namespaces, ns_id: str, obj: Json) -> None:
    """Put a captured namespace's endpoints (those in the capture, local, in no other
    namespace) and containers back in it (V1 ``ResourceList``, V2 ``Resources``)."""
    members = obj.get("ResourceList", obj.get("Resources"))
    if not isinstance(members, list):
        return
    for member in members:
        if not isinstance(member, dict) or not isinstance(member.get("Data"), dict):
            continue
        rtype, data = member.get("Type"), member["Data"]
        rid = data.get("Id", data.get("ID"))
        if rtype not in ("Endpoint", "Container") or not isinstance(rid, str) or not rid:
            continue
        if rtype == "Endpoint":
            ep = service._objs["endpoint"].get(rid.strip("{}").upper())
            if ep is None:
                continue
            stored = stored_endpoint(ep)
            if stored.remote or stored.namespace is not None:
                continue
        ns = service._objs["namespace"][ns_id.upper()]
        service._namespace_resource(ns, rtype, rid.strip("{}"), add=True)


def _import_one(service: Namespaces, obj: Json) -> str:
    kind = classify(obj)
    if kind == "network":
        v1 = model.is_v1_settings(obj, model.NETWORK_V1_KEYS) or "Ipams" not in obj
        return stored_id(service._create_network(obj, v1=v1, imported=True))
    if kind == "endpoint":
        v1 = model.is_v1_settings(obj, model.ENDPOINT_V1_KEYS)
        net_id = obj.get("VirtualNetwork") if v1 else obj.get("HostComputeNetwork")
        if isinstance(net_id, str) and net_id and \
                net_id.upper() not in service._objs["network"]:
            name = obj.get("VirtualNetworkName") or f"imported-{net_id[:8]}"
            stub: Json = {"ID": net_id, "Name": name, "Type": obj.get("Type") or "NAT"}
            service._create_network(stub, v1=True, imported=True)
        # Namespace membership is read only on create; the namespace's own import puts the
        # endpoint back in it (its Resources / ResourceList name it).
        body = {k: v for k, v in obj.items() if k != "HostComputeNamespace"}
        return stored_id(service._create_endpoint(body, v1=v1))
    if kind == "namespace":
        v1 = "ResourceList" in obj or "IsDefault" in obj
        ns = service._create_namespace({k: v for k, v in obj.items()
                                        if k in ("ID", "IsDefault", "Type", "NamespaceId")},
                                       v1=v1)
        _restore_members(service, stored_id(ns), obj)
        return stored_id(ns)
    if kind == "policylist":
        parsed_kind, parsed = model.parse_policy_list(obj, service._profile)
        if parsed_kind == "lb":
            return stored_id(service._create_lb_parsed(parsed, upper=True, check_refs=False))
        return stored_id(service._create_route_parsed(parsed, upper=True, check_refs=False))
    if kind == "loadbalancer":
        lb = model.parse_load_balancer(obj, service._profile)
        return stored_id(service._create_lb_parsed(lb, upper=False, check_refs=False))
    return stored_id(service._create_route_parsed(model.parse_route(obj), upper=False,
                                                  check_refs=False))
