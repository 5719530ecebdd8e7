"""``HostComputeLoadBalancer``: the V2 load balancer (hcsshim hcn/hcnloadbalancer.go)."""

from __future__ import annotations

from pydantic import Field

from hns.schema.base import Guid, HnsModel, IpAddress
from hns.schema.common import SchemaVersion

__all__ = ["HostComputeLoadBalancer", "LoadBalancerPortMapping"]


class LoadBalancerPortMapping(HnsModel):
    """One frontend port -> backend port mapping; ``Protocol`` 6 (TCP) or 17 (UDP)."""

    protocol: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    internal_port: int | None = Field(None, ge=0, le=65535)
    external_port: int | None = Field(None, ge=0, le=65535)
    distribution_type: int | None = Field(None, ge=0)
    flags: int | None = Field(None, ge=0, le=(1 << 32) - 1)


class HostComputeLoadBalancer(HnsModel):
    """A V2 load balancer: frontend VIPs to the endpoints behind them."""

    id: Guid | None = Field(None, alias="ID")
    host_compute_endpoints: list[Guid] | None = None
    source_vip: IpAddress | None = Field(None, alias="SourceVIP")
    frontend_vips: list[IpAddress] | None = Field(None, alias="FrontendVIPs")
    port_mappings: list[LoadBalancerPortMapping] | None = None
    schema_version: SchemaVersion | None = None
    flags: int | None = Field(None, ge=0, le=(1 << 32) - 1)
