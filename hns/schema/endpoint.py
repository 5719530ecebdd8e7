"""``HostComputeEndpoint``: the V2 endpoint (hcsshim hcn/hcnendpoint.go; hns/model/)."""

from __future__ import annotations

from pydantic import Field

from hns.schema.base import Guid, HnsModel, MacAddress
from hns.schema.common import Dns, Health, IpConfig, Route, SchemaVersion
from hns.schema.policy import EndpointPolicy

__all__ = ["HostComputeEndpoint"]


class HostComputeEndpoint(HnsModel):
    """A V2 endpoint; ``HostComputeNetwork``/``HostComputeNamespace`` are GUIDs."""

    id: Guid | None = Field(None, alias="ID")
    name: str | None = None
    host_compute_network: Guid | None = None
    host_compute_namespace: Guid | None = None
    policies: list[EndpointPolicy] | None = None
    ip_configurations: list[IpConfig] | None = None
    dns: Dns | None = None
    routes: list[Route] | None = None
    mac_address: MacAddress | None = None
    flags: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    health: Health | None = None
    schema_version: SchemaVersion | None = None
    state: int | None = None
