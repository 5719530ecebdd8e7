"""Namespaces: parse V1 / V2 namespace JSON and render it back as V1 or V2.
"""

from __future__ import annotations

from typing import Any

from hns.errors import (
    InvalidArg,
    InvalidJson,
)
from hns.model.common import (
    NAMESPACE_TYPES,
    Json,
    _field,
    _obj,
)
from hns.validate import (
    as_bool,
    enum_of,
    guid_or_none,
    uint,
)


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
