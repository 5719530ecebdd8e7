"""``HostComputeNetwork``: the V2 network (hcsshim hcn/hcnnetwork.go; hns/model/)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.common import Dns, Health, Ipam, MacPool, SchemaVersion
from hns.schema.policy import NetworkPolicy

__all__ = ["NETWORK_TYPES", "HostComputeNetwork"]

# hns/model/ NETWORK_TYPES in the spelling HNS writes (it accepts any case on input);
# tests/hns/test_hns_schema.py keeps the two in step.
NetworkType = Literal["NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay",
                      "Private", "Internal", "Mirrored", "Infiniband", "ConstrainedICS"]
NETWORK_TYPES: tuple[str, ...] = get_args(NetworkType)


class HostComputeNetwork(HnsModel):
    """A V2 network; ``Type`` one of NETWORK_TYPES."""

    id: Guid | None = Field(None, alias="ID")
    name: str | None = None
    type: NetworkType | None = None
    policies: list[NetworkPolicy] | None = None
    mac_pool: MacPool | None = None
    dns: Dns | None = None
    ipams: list[Ipam] | None = None
    flags: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    health: Health | None = None
    schema_version: SchemaVersion | None = None
    state: int | None = None
