"""``HostComputeNamespace``: the V2 namespace (hcsshim hcn/hcnnamespace.go)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.common import SchemaVersion

__all__ = ["HostComputeNamespace", "NamespaceResource"]


class NamespaceResource(HnsModel):
    """A namespace member: ``{"Type": "Endpoint"|"Container", "Data": {"ID": ...}}``."""

    type: Literal["Container", "Endpoint"]
    data: dict[str, Any]


class HostComputeNamespace(HnsModel):
    """A V2 network compartment; ``Type`` Host, HostDefault, Guest or GuestDefault."""

    id: Guid | None = Field(None, alias="ID")
    namespace_id: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    type: Literal["Host", "HostDefault", "Guest", "GuestDefault"] | None = None
    resources: list[NamespaceResource] | None = None
    schema_version: SchemaVersion | None = None
