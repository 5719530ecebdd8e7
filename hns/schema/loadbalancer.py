"""``HostComputeLoadBalancer``: the V2 load balancer (hcsshim hcn/hcnloadbalancer.go)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hns.schema.base import Guid, HnsModel, IpAddress
from hns.schema.common import SchemaVersion
from hns.schema.request import checked
from hns.validate import as_int, as_ip, as_list, endpoint_refs, guid_or_none, ip_list, uint

__all__ = ["HostComputeLoadBalancer", "LoadBalancerPortMapping"]


class LoadBalancerPortMapping(HnsModel):
    """One frontend port -> backend port mapping; ``Protocol`` 6 (TCP) or 17 (UDP)."""

    protocol: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)
    internal_port: Annotated[int | None, checked(uint(16))] = Field(None, ge=0, le=65535)
    external_port: Annotated[int | None, checked(uint(16))] = Field(None, ge=0, le=65535)
    distribution_type: Annotated[int | None, checked(lambda v: as_int(v, 0, 2))] = \
        Field(None, ge=0)
    flags: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)


class HostComputeLoadBalancer(HnsModel):
    """A V2 load balancer: frontend VIPs to the endpoints behind them."""

    # In a request (hns/schema/request.py) these are checked as HNS checks them; a
    # failure is HCN_E_INVALID_POLICY (hns/model/loadbalancer.py).
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    host_compute_endpoints: Annotated[list[Guid] | None, checked(endpoint_refs)] = None
    source_vip: Annotated[IpAddress | None, checked(as_ip)] = Field(None, alias="SourceVIP")
    frontend_vips: Annotated[list[IpAddress] | None, checked(ip_list)] = \
        Field(None, alias="FrontendVIPs")
    port_mappings: Annotated[list[LoadBalancerPortMapping] | None, checked(as_list)] = None
    schema_version: SchemaVersion | None = None
    flags: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)
