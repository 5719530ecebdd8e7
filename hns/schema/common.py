"""The nested types V2 objects share (hcsshim hcn/hcnnetwork.go, hcnendpoint.go, hcn.go)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from hns.errors import HnsError, InvalidPrefix, InvalidSubnet
from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.policy import SubnetPolicy
from hns.schema.request import checked
from hns.validate import (
    as_int,
    as_ip,
    as_list,
    as_mac,
    as_prefix,
    as_str,
    as_str_list,
    enum_of,
    guid_or_none,
    uint,
)


def _falsy_is_absent(check: Any) -> Any:
    """HNS reads ``"Dns": ""`` or ``"Ranges": []`` as no value at all."""
    return lambda value: check(value) if value else None

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

    # In a request: a bad prefix is HCN_E_INVALID_PREFIX, anything else the error of the
    # object the route is on (network subnet, endpoint).
    next_hop: Annotated[IpAddress | None, checked(as_ip)] = None
    destination_prefix: Annotated[IpPrefix | None, checked(as_prefix, InvalidPrefix)] = None
    metric: Annotated[int | None, checked(uint(16))] = Field(None, ge=0, le=65535)


class Subnet(HnsModel):
    """A V2 subnet inside an Ipam (hcn.Subnet); ``ID`` and ``IpSubnets`` are what HNS adds."""

    # In a request a bad field is HCN_E_INVALID_SUBNET, a bad prefix HCN_E_INVALID_PREFIX;
    # the policies go through hns/policies.py.
    request_error: ClassVar[type[HnsError] | None] = InvalidSubnet

    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    ip_address_prefix: Annotated[IpPrefix | None, checked(as_prefix, InvalidPrefix)] = None
    policies: list[SubnetPolicy] | None = None
    routes: Annotated[list[Route] | None, checked(as_list)] = None
    flags: Annotated[int | None, checked(uint(32))] = Field(None, ge=0)
    ip_subnets: list[dict[str, Any]] | None = None


class Ipam(HnsModel):
    """An address plan (hcn.Ipam): ``Static`` or ``DHCP`` with its subnets."""

    type: Annotated[str | None, checked(enum_of("Static", "Dhcp", "DHCP", fold=True))] = None
    subnets: Annotated[list[Subnet] | None, checked(as_list)] = None


class MacRange(HnsModel):
    start_mac_address: Annotated[MacAddress | None, checked(as_mac)] = None
    end_mac_address: Annotated[MacAddress | None, checked(as_mac)] = None


class MacPool(HnsModel):
    ranges: Annotated[list[MacRange] | None, checked(_falsy_is_absent(as_list))] = None


class Dns(HnsModel):
    """DNS settings of a network or an endpoint (hcn.Dns)."""

    domain: Annotated[str | None, checked(as_str)] = None
    search: Annotated[list[str] | None, checked(as_str_list)] = None
    server_list: Annotated[list[str] | None, checked(as_str_list)] = None
    options: Annotated[list[str] | None, checked(as_str_list)] = None


class IpConfig(HnsModel):
    """One endpoint address (hcn.IpConfig)."""

    # In a request a bad prefix length is HCN_E_INVALID_PREFIX (its limit, 32 or 128,
    # depends on the address: hns/model/endpoint.py checks that).
    ip_address: Annotated[IpAddress | None, checked(as_ip)] = None
    prefix_length: Annotated[int | None, checked(lambda v: as_int(v, 0, 128), InvalidPrefix)] = \
        Field(None, ge=0, le=128)


class Health(HnsModel):
    """``Health``: hcsshim's shape (Data, Extra); HNS writes LastErrorCode/LastUpdateTime."""

    data: Any = None
    extra: dict[str, Any] | None = None
    last_error_code: int | None = None
    last_update_time: int | None = None
