"""The V1 (HNSCall) shapes: networks, endpoints, policy lists, namespaces and flat policies
(hcsshim internal/hns/hnsnetwork.go, hnsendpoint.go, hnspolicylist.go, hnspolicy.go,
namespace.go; real captures in fixtures/hns).

V1 carries many fields no client struct names (``Resources``, ``Extensions``, ``Health``,
``LayeredOn``, ...): every model keeps them verbatim (``extra="allow"``), so a capture
reads back exactly as given.  A V1 object's ``Policies`` are flat (``{"Type": "VLAN",
"VLAN": 1}``) and V1 takes any type, in any case, also V2 names written flat: in the objects
they are ``V1Policy`` (Type plus whatever fields); the named flat types below document what
hcsshim writes for each.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from hns.errors import HnsError, InvalidPrefix, InvalidSubnet
from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.common import _falsy_is_absent
from hns.schema.request import checked
from hns.validate import (
    as_bool,
    as_int,
    as_ip,
    as_list,
    as_mac,
    as_prefix,
    as_str,
    guid_or_none,
)


def _prefix_len(value: Any) -> int:
    return as_int(value, 0, 128)

__all__ = [
    "V1_POLICY_MODELS",
    "V1AclPolicy",
    "V1ElbPolicy",
    "V1Endpoint",
    "V1EndpointAttachDetachRequest",
    "V1IsolationPolicy",
    "V1MacPool",
    "V1Namespace",
    "V1NamespaceResource",
    "V1NatPolicy",
    "V1Network",
    "V1OutboundNatPolicy",
    "V1PaPolicy",
    "V1Policy",
    "V1PolicyList",
    "V1ProxyPolicy",
    "V1QosPolicy",
    "V1RoutePolicy",
    "V1Subnet",
    "V1VlanPolicy",
    "V1VsidPolicy",
]


class V1Policy(HnsModel):
    """Any flat V1 policy: its ``Type`` and its fields side by side."""

    type: str


class V1NatPolicy(V1Policy):
    """``NAT``: a port mapping; ``Protocol`` by name (TCP, UDP)."""

    type: Literal["NAT"]
    protocol: str | None = None
    internal_port: int | None = Field(None, ge=0, le=65535)
    external_port: int | None = Field(None, ge=0, le=65535)
    external_port_reserved: bool | None = None


class V1QosPolicy(V1Policy):
    type: Literal["QOS"]
    maximum_outgoing_bandwidth_in_bytes: int | None = Field(None, ge=0)


class V1IsolationPolicy(V1Policy):
    type: Literal["Isolation"]
    vlan: int | None = Field(None, alias="VLAN", ge=0)
    vsid: int | None = Field(None, alias="VSID", ge=0)
    in_default_isolation: bool | None = None


class V1VlanPolicy(V1Policy):
    type: Literal["VLAN"]
    vlan: int = Field(alias="VLAN", ge=0, le=4094)


class V1VsidPolicy(V1Policy):
    type: Literal["VSID"]
    vsid: int = Field(alias="VSID", ge=0)


class V1PaPolicy(V1Policy):
    """``PA``: the provider (underlay) address of a remote overlay endpoint."""

    type: Literal["PA"]
    pa: IpAddress = Field(alias="PA")


class V1OutboundNatPolicy(V1Policy):
    type: Literal["OutBoundNAT"]
    vip: IpAddress | None = Field(None, alias="VIP")
    exception_list: list[str] | None = None
    destinations: list[str] | None = None
    max_port_pool_usage: int | None = Field(None, ge=0, le=65535)


class V1ProxyPolicy(V1Policy):
    type: Literal["PROXY"]
    ip: IpAddress | None = Field(None, alias="IP")
    port: str | None = None
    exception_list: list[str] | None = None
    destination: str | None = None
    outbound_nat: bool | None = None


class V1AclPolicy(V1Policy):
    type: Literal["ACL"]
    id: str | None = None
    protocol: int | None = Field(None, ge=0, le=65535)
    protocols: str | None = None
    internal_port: int | None = Field(None, ge=0, le=65535)
    action: Literal["Allow", "Block", "Pass"]
    direction: Literal["In", "Out"]
    local_addresses: str | None = None
    remote_addresses: str | None = None
    local_ports: str | None = None
    local_port: int | None = Field(None, ge=0, le=65535)
    remote_ports: str | None = None
    remote_port: int | None = Field(None, ge=0, le=65535)
    rule_type: Literal["Host", "Switch"] | None = None
    priority: int | None = Field(None, ge=0, le=65535)
    service_name: str | None = None


class V1RoutePolicy(V1Policy):
    type: Literal["ROUTE"]
    destination_prefix: IpPrefix | None = None
    next_hop: IpAddress | None = None
    need_encap: bool | None = None


class V1ElbPolicy(V1Policy):
    """``ELB``: a policy list's load balancer (kube-proxy winkernel on V1)."""

    type: Literal["ELB"]
    protocol: int | None = Field(None, ge=0, le=65535)
    internal_port: int | None = Field(None, ge=0, le=65535)
    external_port: int | None = Field(None, ge=0, le=65535)
    source_vip: IpAddress | None = Field(None, alias="SourceVIP")
    vips: list[IpAddress] | None = Field(None, alias="VIPs")
    ilb: bool | None = Field(None, alias="ILB")
    is_dsr: bool | None = Field(None, alias="IsDSR")


V1_POLICY_MODELS: dict[str, type[V1Policy]] = {
    "NAT": V1NatPolicy, "QOS": V1QosPolicy, "Isolation": V1IsolationPolicy,
    "VLAN": V1VlanPolicy, "VSID": V1VsidPolicy, "PA": V1PaPolicy,
    "OutBoundNAT": V1OutboundNatPolicy, "PROXY": V1ProxyPolicy, "ACL": V1AclPolicy,
    "ROUTE": V1RoutePolicy, "ELB": V1ElbPolicy,
}


class V1Subnet(HnsModel):
    # In a request (a V1 network's Subnets) a bad field is HCN_E_INVALID_SUBNET, a bad
    # prefix HCN_E_INVALID_PREFIX; the policies are hns/policies.py's to check.
    request_error: ClassVar[type[HnsError] | None] = InvalidSubnet

    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    address_prefix: Annotated[IpPrefix | None, checked(as_prefix, InvalidPrefix)] = None
    gateway_address: Annotated[IpAddress | None, checked(as_ip)] = None
    policies: list[V1Policy] | None = None


class V1MacPool(HnsModel):
    start_mac_address: Annotated[MacAddress | None, checked(as_mac)] = None
    end_mac_address: Annotated[MacAddress | None, checked(as_mac)] = None


class V1Network(HnsModel):
    """A V1 network (HNSNetwork); ``Type`` in V1 spelling (``nat``, ``Overlay``, ...)."""

    id: Guid | None = Field(None, alias="ID")
    name: str | None = None
    type: str | None = None
    network_adapter_name: str | None = None
    source_mac: MacAddress | None = None
    policies: list[V1Policy] | None = None
    # In a request (hns/model/network.py) these four are checked here, a bad one being
    # HCN_E_INVALID_NETWORK (or its subnet's error); the policies are read by hand there.
    mac_pools: Annotated[list[V1MacPool] | None, checked(_falsy_is_absent(as_list))] = None
    subnets: Annotated[list[V1Subnet] | None, checked(as_list)] = None
    dns_suffix: Annotated[str | None, checked(as_str)] = Field(None, alias="DNSSuffix")
    dns_server_list: Annotated[str | None, checked(as_str)] = \
        Field(None, alias="DNSServerList")
    dns_server_compartment: int | None = Field(None, alias="DNSServerCompartment", ge=0)
    management_ip: IpAddress | None = Field(None, alias="ManagementIP")
    automatic_dns: bool | None = Field(None, alias="AutomaticDNS")
    flags: int | None = Field(None, ge=0)
    current_endpoint_count: int | None = None
    total_endpoints: int | None = None


class V1NamespaceResource(HnsModel):
    type: str
    data: dict[str, Any] | None = None


class V1Namespace(HnsModel):
    """A V1 namespace, also the ``Namespace`` of a V1 endpoint."""

    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    is_default: Annotated[bool | None, checked(as_bool)] = None
    resource_list: list[V1NamespaceResource] | None = None
    compartment_id: int | None = Field(None, ge=0)


class V1Endpoint(HnsModel):
    """A V1 endpoint (HNSEndpoint)."""

    # In a request (hns/schema/request.py) a bad field is HCN_E_INVALID_ENDPOINT, a bad
    # prefix length HCN_E_INVALID_PREFIX (hns/model/endpoint.py); policies are
    # hns/policies.py's to check.
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    name: Annotated[str | None, checked(as_str)] = None
    virtual_network: Annotated[Guid | None, checked(guid_or_none)] = None
    virtual_network_name: Annotated[str | None, checked(as_str)] = None
    policies: list[V1Policy] | None = None
    mac_address: Annotated[MacAddress | None, checked(as_mac)] = None
    ip_address: Annotated[IpAddress | None, checked(as_ip)] = Field(None, alias="IPAddress")
    ipv6_address: Annotated[IpAddress | None, checked(as_ip)] = Field(None, alias="IPv6Address")
    dns_suffix: Annotated[str | None, checked(as_str)] = Field(None, alias="DNSSuffix")
    dns_server_list: Annotated[str | None, checked(as_str)] = Field(None, alias="DNSServerList")
    dns_domain: Annotated[str | None, checked(as_str)] = Field(None, alias="DNSDomain")
    gateway_address: Annotated[IpAddress | None, checked(as_ip)] = None
    gateway_address_v6: Annotated[IpAddress | None, checked(as_ip)] = \
        Field(None, alias="GatewayAddressV6")
    enable_internal_dns: bool | None = Field(None, alias="EnableInternalDNS")
    disable_icc: Annotated[bool | None, checked(as_bool)] = Field(None, alias="DisableICC")
    prefix_length: Annotated[int | None, checked(_prefix_len, InvalidPrefix)] = \
        Field(None, ge=0, le=128)
    ipv6_prefix_length: Annotated[int | None, checked(_prefix_len, InvalidPrefix)] = \
        Field(None, alias="IPv6PrefixLength", ge=0, le=128)
    is_remote_endpoint: Annotated[bool | None, checked(as_bool)] = None
    enable_low_metric: Annotated[bool | None, checked(as_bool)] = None
    namespace: V1Namespace | None = None
    encap_overhead: int | None = Field(None, ge=0, le=65535)
    shared_containers: list[str] | None = None
    state: int | None = None


class V1EndpointAttachDetachRequest(HnsModel):
    """The body of ``POST /endpoints/{id}/attach`` and ``/detach``."""

    container_id: str | None = Field(None, alias="ContainerId")
    system_type: str | None = None
    compartment_id: int | None = Field(None, ge=0, le=65535)
    virtual_nic_name: str | None = Field(None, alias="VirtualNicName")


class V1PolicyList(HnsModel):
    """A V1 policy list: ``References`` are ``/endpoints/<id>`` paths."""

    id: Guid | None = Field(None, alias="ID")
    references: list[str] | None = None
    policies: list[V1Policy] | None = None
