"""``HostComputeEndpoint``: the V2 endpoint (hcsshim hcn/hcnendpoint.go; hns/model/)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from hns.schema.base import Guid, HnsModel, MacAddress
from hns.schema.common import Dns, Health, IpConfig, Route, SchemaVersion
from hns.schema.policy import EndpointPolicy
from hns.schema.request import checked
from hns.validate import as_list, as_mac, as_str, guid_or_none, uint


def _falsy_is_absent(value: Any) -> Any:
    return value or None

__all__ = ["HostComputeEndpoint"]


class HostComputeEndpoint(HnsModel):
    """A V2 endpoint; ``HostComputeNetwork``/``HostComputeNamespace`` are GUIDs."""

    # In a request (hns/schema/request.py) a bad field is HCN_E_INVALID_ENDPOINT, a bad
    # prefix HCN_E_INVALID_PREFIX; the policies go through hns/policies.py.
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    name: Annotated[str | None, checked(as_str)] = None
    host_compute_network: Annotated[Guid | None, checked(guid_or_none)] = None
    host_compute_namespace: Guid | None = None
    policies: list[EndpointPolicy] | None = None
    ip_configurations: Annotated[list[IpConfig] | None, checked(as_list)] = None
    dns: Annotated[Dns | None, checked(_falsy_is_absent)] = None
    routes: Annotated[list[Route] | None, checked(as_list)] = None
    mac_address: Annotated[MacAddress | None, checked(as_mac)] = None
    flags: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)
    health: Health | None = None
    schema_version: SchemaVersion | None = None
    state: int | None = None
