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
from hns.model.service_read import stored_endpoint, stored_namespace
from hns.service.base import Json, _eq, _key
from hns.service.loadbalancer import LoadBalancers


class Namespaces(LoadBalancers):
    """Namespace creation and membership."""

    def _create_namespace(self, body: Any, *, v1: bool) -> Json:
        ns = model.parse_namespace(body, v1=v1)
        given = stored_namespace(ns)  # the request as the stored form it was parsed into
        if given.id is None:
            ns["ID"] = model.new_guid(upper=v1)
        elif given.key in self._objs["namespace"]:
            raise AlreadyExists(detail=f"namespace {given.id} exists")
        stored = [stored_namespace(n) for n in self._objs["namespace"].values()]
        if given.type in ("HostDefault", "GuestDefault"):
            if any(n.type == given.type for n in stored):
                raise GcnDefaultnamespaceExists(detail=given.type)
            ns.setdefault("NamespaceId", 1)
        if "NamespaceId" not in ns:
            used = {n.compartment or 0 for n in stored}
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
        stored = stored_namespace(ns)
        present = [(t, i) for t, i in stored.resources if t == rtype and _eq(i, rid)]
        # The changed namespace's Resources, written as (Type, ID) members.
        members = list(stored.resources)
        if rtype == "Container":
            if add and not present:
                members.append(("Container", rid))
            elif not add:
                if not present:
                    raise ElementNotFound(detail=f"container {rid} not in namespace")
                members = [m for m in members if m not in present]
            self._apply([("namespace", dict(ns, Resources=_resources(members)))])
            return
        self._check_guid(rid)
        ep = self._objs["endpoint"].get(_key(rid))
        if ep is None:
            raise EndpointNotFound(detail=rid)
        member = stored_endpoint(ep)
        if member.remote:
            raise InvalidRemoteEndpointOperation(detail="namespace membership of a remote endpoint")
        if add:
            if member.namespace:
                raise EndpointNamespaceAlreadyExists(detail=member.namespace)
            members.append(("Endpoint", str(member.id)))
            new_ep = dict(ep, HostComputeNamespace=stored.id)
        else:
            if not present:
                raise ElementNotFound(detail=f"endpoint {rid} not in namespace")
            members = [m for m in members if m not in present]
            new_ep = {k: v for k, v in ep.items() if k != "HostComputeNamespace"}
        self._apply([("namespace", dict(ns, Resources=_resources(members))),
                     ("endpoint", new_ep)])


def _resources(members: list[tuple[str, str]]) -> list[Json]:
    """A namespace's Resources in stored form."""
    return [{"Type": rtype, "ID": rid} for rtype, rid in members]
