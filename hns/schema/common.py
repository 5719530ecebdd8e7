"""The nested types V2 objects share (hcsshim hcn/hcnnetwork.go, hcnendpoint.go, hcn.go)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.policy import SubnetPolicy

__all__ = [
    "Dns",
    "Health",
    "IpConfig",
    "Ipam",
    "MacPool",
    "MacRange",
    "Route",
    "SchemaVersion",
    "Subnet",
]


class SchemaVersion(HnsModel):
    """``{"Major": 2, "Minor": 0}``: the V2 marker every HCN object and query carries."""

    major: int | None = None
    minor: int | None = None


class Route(HnsModel):
    """A route on a subnet or an endpoint (hcn.Route)."""

    next_hop: IpAddress | None = None
    destination_prefix: IpPrefix | None = None
    metric: int | None = Field(None, ge=0, le=65535)


class Subnet(HnsModel):
    """A V2 subnet inside an Ipam (hcn.Subnet); ``ID`` and ``IpSubnets`` are what HNS adds."""

    id: Guid | None = Field(None, alias="ID")
    ip_address_prefix: IpPrefix | None = None
    policies: list[SubnetPolicy] | None = None
    routes: list[Route] | None = None
    flags: int | None = Field(None, ge=0)
    ip_subnets: list[dict[str, Any]] | None = None


class Ipam(HnsModel):
    """An address plan (hcn.Ipam): ``Static`` or ``DHCP`` with its subnets."""

    type: str | None = None
    subnets: list[Subnet] | None = None


class MacRange(HnsModel):
    start_mac_address: MacAddress | None = None
    end_mac_address: MacAddress | None = None


class MacPool(HnsModel):
    ranges: list[MacRange] | None = None


class Dns(HnsModel):
    """DNS settings of a network or an endpoint (hcn.Dns)."""

    domain: str | None = None
    search: list[str] | None = None
    server_list: list[str] | None = None
    options: list[str] | None = None


class IpConfig(HnsModel):
    """One endpoint address (hcn.IpConfig)."""

    ip_address: IpAddress | None = None
    prefix_length: int | None = Field(None, ge=0, le=128)


class Health(HnsModel):
    """``Health``: hcsshim's shape (Data, Extra); HNS writes LastErrorCode/LastUpdateTime."""

    data: Any = None
    extra: dict[str, Any] | None = None
    last_error_code: int | None = None
    last_update_time: int | None = None
