"""``HostComputeNetwork``: the V2 network (hcsshim hcn/hcnnetwork.go; hns/model.py)."""

from __future__ import annotations

from pydantic import Field

from hns.schema.base import HnsModel
from hns.schema.common import Dns, Health, Ipam, MacPool, SchemaVersion
from hns.schema.policy import NetworkPolicy

__all__ = ["HostComputeNetwork"]


class HostComputeNetwork(HnsModel):
    """A V2 network.  ``Type`` is one of hns.model.NETWORK_TYPES (HNS folds its case)."""

    id: str | None = Field(None, alias="ID")
    name: str | None = None
    type: str | None = None
    policies: list[NetworkPolicy] | None = None
    mac_pool: MacPool | None = None
    dns: Dns | None = None
    ipams: list[Ipam] | None = None
    flags: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    health: Health | None = None
    schema_version: SchemaVersion | None = None
    state: int | None = None
