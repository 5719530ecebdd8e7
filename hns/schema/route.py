"""``HostComputeRoute``: the V2 SDN route (hcsshim hcn/hcnroute.go)."""

from __future__ import annotations

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.common import SchemaVersion
from hns.schema.policy import SDNRouteSettings

__all__ = ["HostComputeRoute"]


class HostComputeRoute(HnsModel):
    """Routes applied to endpoints; ``Setting`` (singular, as HNS spells it) lists them."""

    id: Guid | None = Field(None, alias="ID")
    host_compute_endpoints: list[Guid] | None = None
    setting: list[SDNRouteSettings] | None = None
    # The emulator answers under the key the client created with
    # (hns/model/loadbalancer.py ``_key``).
    routes: list[SDNRouteSettings] | None = None
    schema_version: SchemaVersion | None = None
