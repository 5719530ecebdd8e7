"""Namespaces: parse V1 / V2 namespace JSON and render it back as V1 or V2.
"""

from __future__ import annotations

from typing import Any

from hns.errors import InvalidArg
from hns.model.common import Json
from hns.schema.namespace import HostComputeNamespace
from hns.schema.request import parse_request
from hns.schema.v1 import V1Namespace


def parse_namespace(body: Any, *, v1: bool) -> Json:
    """A create body through its typed model (``V1Namespace`` / ``HostComputeNamespace``);
    every bad field is E_INVALIDARG, a body that is not an object E_INVALIDJSON."""
    if v1:
        old = parse_request(V1Namespace, body, error=InvalidArg, what="namespace")
        return {"ID": old.id, "Resources": [],
                "Type": "HostDefault" if old.is_default else "Host"}
    ns = parse_request(HostComputeNamespace, body, error=InvalidArg, what="namespace")
    out: Json = {"ID": ns.id, "Resources": [], "Type": ns.type or "Host"}
    if ns.namespace_id:
        out["NamespaceId"] = ns.namespace_id
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
