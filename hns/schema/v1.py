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

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from hns.errors import HnsError, InvalidPrefix, InvalidSubnet
from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.common import _falsy_is_absent
from hns.schema.request import checked
from hns.validate import (
    Bad,
    as_bool,
    as_int,
    as_ip,
    as_list,
    as_mac,
    as_prefix,
    as_str,
    guid_or_none,
    uint,
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
    "V1L2DriverPolicy",
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
    "V1VnetPolicy",
    "V1VsidPolicy",
]


class V1Policy(HnsModel):
    """Any flat V1 policy: its ``Type`` and its fields side by side.

    A V1 type with a V2 twin names it (``v2_type``) and its fields' V2 names where they
    differ (``renames``); its fields spelt only in V1 (a port mapping's protocol by name)
    carry their request check (``checked``) and ``v2_settings`` writes them the V2 way.
    Every other field is the V2 model's to parse (hns/policies.py ``from_v1``)."""

    type: str
    v2_type: ClassVar[str | None] = None
    renames: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def v2_settings(cls, fields: dict[str, Any], v1_values: dict[str, Any]) -> dict[str, Any]:
        """``fields`` (the flat policy without its Type) under V2 names; ``v1_values``
        are the checked fields as the request checks returned them."""
        out = {cls.renames.get(k, k): v1_values.get(k, v) for k, v in fields.items()}
        return out


_PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "ANY": 256}
#: Port mapping flag bit that V1 spells ``ExternalPortReserved: true``.
EXTERNAL_PORT_RESERVED = 4


def _v1_protocol(value: Any) -> int:
    """A NAT policy's ``Protocol``: a name (``TCP``, ``udp``) or the V2 number."""
    if isinstance(value, str):
        number = _PROTOCOL_NUMBERS.get(value.upper())
        if number is None:
            raise Bad(f"unknown protocol {value!r}")
        return number
    return int(uint(32)(value))


def _v1_reserved(value: Any) -> bool:
    try:
        return as_bool(value)
    except Bad:
        raise Bad("ExternalPortReserved must be a boolean") from None


class V1NatPolicy(V1Policy):
    """``NAT``: a port mapping; ``Protocol`` by name (TCP, UDP)."""

    v2_type: ClassVar[str | None] = "PortMapping"

    type: Literal["NAT"]
    protocol: Annotated[int | str | None, checked(_v1_protocol)] = None
    internal_port: int | None = Field(None, ge=0, le=65535)
    external_port: int | None = Field(None, ge=0, le=65535)
    external_port_reserved: Annotated[bool | None, checked(_v1_reserved)] = None

    @classmethod
    def v2_settings(cls, fields: dict[str, Any], v1_values: dict[str, Any]) -> dict[str, Any]:
        out = super().v2_settings(fields, v1_values)
        # V2 has no ExternalPortReserved: a flag bit of Flags (when Flags is a number at
        # all; a bad one is the V2 model's to refuse).
        if out.pop("ExternalPortReserved", None):
            flags = out.get("Flags")
            try:
                number = 0 if flags is None else int(uint(32)(flags))
            except Bad:
                return out
            out["Flags"] = number | EXTERNAL_PORT_RESERVED
        return out


class V1QosPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "QOS"

    type: Literal["QOS"]
    maximum_outgoing_bandwidth_in_bytes: int | None = Field(None, ge=0)


class V1IsolationPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "Isolation"

    type: Literal["Isolation"]
    vlan: int | None = Field(None, alias="VLAN", ge=0)
    vsid: int | None = Field(None, alias="VSID", ge=0)
    in_default_isolation: bool | None = None


class V1VlanPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "VLAN"
    renames: ClassVar[Mapping[str, str]] = {"VLAN": "IsolationId"}

    type: Literal["VLAN"]
    vlan: int = Field(alias="VLAN", ge=0, le=4094)


class V1VsidPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "VSID"
    renames: ClassVar[Mapping[str, str]] = {"VSID": "IsolationId"}

    type: Literal["VSID"]
    vsid: int = Field(alias="VSID", ge=0)


class V1PaPolicy(V1Policy):
    """``PA``: the provider (underlay) address of a remote overlay endpoint."""

    v2_type: ClassVar[str | None] = "ProviderAddress"
    renames: ClassVar[Mapping[str, str]] = {"PA": "ProviderAddress"}

    type: Literal["PA"]
    pa: IpAddress = Field(alias="PA")


class V1OutboundNatPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "OutBoundNAT"
    renames: ClassVar[Mapping[str, str]] = {"VIP": "VirtualIP", "ExceptionList": "Exceptions"}

    type: Literal["OutBoundNAT"]
    vip: IpAddress | None = Field(None, alias="VIP")
    exception_list: list[str] | None = None
    destinations: list[str] | None = None
    max_port_pool_usage: int | None = Field(None, ge=0, le=65535)


class V1ProxyPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "L4Proxy"
    renames: ClassVar[Mapping[str, str]] = {"ExceptionList": "Exceptions",
                                            "OutboundNat": "OutboundNAT"}

    type: Literal["PROXY"]
    ip: IpAddress | None = Field(None, alias="IP")
    port: str | None = None
    exception_list: list[str] | None = None
    destination: str | None = None
    outbound_nat: bool | None = None


class V1AclPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "ACL"

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

    @classmethod
    def v2_settings(cls, fields: dict[str, Any], v1_values: dict[str, Any]) -> dict[str, Any]:
        out = super().v2_settings(fields, v1_values)
        # V1 clients write one protocol number; V2 reads the Protocols list.
        proto = out.get("Protocol")
        if "Protocols" not in out and type(proto) is int:
            out["Protocols"] = str(proto)
        return out


class V1RoutePolicy(V1Policy):
    v2_type: ClassVar[str | None] = "SDNRoute"

    type: Literal["ROUTE"]
    destination_prefix: IpPrefix | None = None
    next_hop: IpAddress | None = None
    need_encap: bool | None = None


class V1L2DriverPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "L2Driver"

    type: Literal["L2Driver"]


class V1VnetPolicy(V1Policy):
    v2_type: ClassVar[str | None] = "VNET"

    type: Literal["VNET"]


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
    "ROUTE": V1RoutePolicy, "L2Driver": V1L2DriverPolicy, "VNET": V1VnetPolicy,
    "ELB": V1ElbPolicy,
}


class V1Subnet(HnsModel):
    # In a request (a V1 network's Subnets) a bad field is HCN_E_INVALID_SUBNET, a bad
    # prefix HCN_E_INVALID_PREFIX; the policies go through hns/policies.py.
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
    # HCN_E_INVALID_NETWORK (or its subnet's error); the policies go through hns/policies.py.
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
    # prefix length HCN_E_INVALID_PREFIX (hns/model/endpoint.py); policies go
    # through hns/policies.py.
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
