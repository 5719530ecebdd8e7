"""``HostComputeNamespace``: the V2 namespace (hcsshim hcn/hcnnamespace.go)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.common import SchemaVersion
from hns.schema.request import checked
from hns.validate import enum_of, guid_or_none, uint

NamespaceType = Literal["Host", "HostDefault", "Guest", "GuestDefault"]

__all__ = ["HostComputeNamespace", "NamespaceResource"]


class NamespaceResource(HnsModel):
    """A namespace member: ``{"Type": "Endpoint"|"Container", "Data": {"ID": ...}}``."""

    type: Literal["Container", "Endpoint"]
    data: dict[str, Any]


class HostComputeNamespace(HnsModel):
    """A V2 network compartment; ``Type`` Host, HostDefault, Guest or GuestDefault."""

    # In a request (hns/schema/request.py) these are checked as HNS checks them; a
    # failure is E_INVALIDARG (hns/model/namespace.py).
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    namespace_id: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)
    type: Annotated[NamespaceType | None,
                    checked(enum_of(*get_args(NamespaceType), fold=True))] = None
    resources: list[NamespaceResource] | None = None
    schema_version: SchemaVersion | None = None
