"""Namespaces (compartments): default namespaces, compartment ids, endpoint and container
membership.
"""

from __future__ import annotations

from typing import Any

from hns import model
from hns.errors import (
    AlreadyExists,
    ElementNotFound,
    EndpointNamespaceAlreadyExists,
    EndpointNotFound,
    GcnDefaultnamespaceExists,
    InvalidArg,
    InvalidRemoteEndpointOperation,
)
from hns.service.base import Json, _eq, _key
from hns.service.loadbalancer import LoadBalancers


class Namespaces(LoadBalancers):
    """Namespace creation and membership."""

    def _create_namespace(self, body: Any, *, v1: bool) -> Json:
        ns = model.parse_namespace(body, v1=v1)
        if ns["ID"] is None:
            ns["ID"] = model.new_guid(upper=v1)
        elif _key(ns["ID"]) in self._objs["namespace"]:
            raise AlreadyExists(detail=f"namespace {ns['ID']} exists")
        if ns["Type"] in ("HostDefault", "GuestDefault"):
            if any(n["Type"] == ns["Type"] for n in self._objs["namespace"].values()):
                raise GcnDefaultnamespaceExists(detail=ns["Type"])
            ns.setdefault("NamespaceId", 1)
        if "NamespaceId" not in ns:
            used = {n.get("NamespaceId", 0) for n in self._objs["namespace"].values()}
            compartment = 2
            while compartment in used:
                compartment += 1
            ns["NamespaceId"] = compartment
        self._apply([("namespace", ns)])
        return ns

    def _namespace_resource(self, ns: Json, rtype: Any, rid: Any, *, add: bool) -> None:
        if rtype not in ("Endpoint", "Container"):
            raise InvalidArg(detail=f"resource type {rtype!r}")
        if not isinstance(rid, str) or not rid:
            raise InvalidArg(detail="resource without an id")
        resources = list(ns.get("Resources", []))
        present = [r for r in resources if r["Type"] == rtype and _eq(r["ID"], rid)]
        if rtype == "Container":
            if add and not present:
                resources.append({"Type": "Container", "ID": rid})
            elif not add:
                if not present:
                    raise ElementNotFound(detail=f"container {rid} not in namespace")
                resources = [r for r in resources if r not in present]
            self._apply([("namespace", dict(ns, Resources=resources))])
            return
        self._check_guid(rid)
        ep = self._objs["endpoint"].get(_key(rid))
        if ep is None:
            raise EndpointNotFound(detail=rid)
        if ep.get("Flags", 0) & model.EP_REMOTE:
            raise InvalidRemoteEndpointOperation(detail="namespace membership of a remote endpoint")
        if add:
            if ep.get("HostComputeNamespace"):
                raise EndpointNamespaceAlreadyExists(detail=ep["HostComputeNamespace"])
            resources.append({"Type": "Endpoint", "ID": ep["ID"]})
            new_ep = dict(ep, HostComputeNamespace=ns["ID"])
        else:
            if not present:
                raise ElementNotFound(detail=f"endpoint {rid} not in namespace")
            resources = [r for r in resources if r not in present]
            new_ep = {k: v for k, v in ep.items() if k != "HostComputeNamespace"}
        self._apply([("namespace", dict(ns, Resources=resources)), ("endpoint", new_ep)])
