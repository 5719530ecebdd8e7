"""``HostComputeRoute``: the V2 SDN route (hcsshim hcn/hcnroute.go)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.common import SchemaVersion
from hns.schema.policy import SDNRouteSettings
from hns.schema.request import checked
from hns.validate import as_list, endpoint_refs, guid_or_none

__all__ = ["HostComputeRoute"]


class HostComputeRoute(HnsModel):
    """Routes applied to endpoints; ``Setting`` (singular, as HNS spells it) lists them."""

    # In a request (hns/schema/request.py) these are checked as HNS checks them; a
    # failure is HCN_E_INVALID_POLICY (hns/model/loadbalancer.py).
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    host_compute_endpoints: Annotated[list[Guid] | None, checked(endpoint_refs)] = None
    setting: Annotated[list[SDNRouteSettings] | None, checked(as_list)] = None
    # The emulator answers under the key the client created with
    # (hns/model/loadbalancer.py ``_key``).
    routes: Annotated[list[SDNRouteSettings] | None, checked(as_list)] = None
    schema_version: SchemaVersion | None = None
