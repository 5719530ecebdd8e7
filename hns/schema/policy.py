"""Policies: the settings of every network, subnet and endpoint policy type, and the policy
unions (``{"Type": ..., "Settings": {...}}``, discriminated on ``Type``).

The types are exactly hns/policies.py's tables (NETWORK_POLICY_TYPES, SUBNET_POLICY_TYPES,
ENDPOINT_POLICY_TYPES; tests/hns/test_hns_schema.py keeps the two in step); settings names
are hcsshim's (hcn/hcnpolicy.go).  Required fields are the ones hns/policies.py requires;
unknown settings keys are kept, as HNS ignores them.  The type names are the canonical
spelling: the emulator also accepts them in any case, the schema documents the one HNS writes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.request import checked
from hns.validate import as_bool, as_ip, as_prefix

__all__ = [
    "ENDPOINT_POLICY_MODELS",
    "NETWORK_POLICY_MODELS",
    "SUBNET_POLICY_MODELS",
    "EndpointPolicy",
    "NetworkPolicy",
    "SubnetPolicy",
]

U16 = Annotated[int, Field(ge=0, le=65535)]
U32 = Annotated[int, Field(ge=0, le=(1 << 32) - 1)]
U64 = Annotated[int, Field(ge=0, le=(1 << 64) - 1)]
Vlan = Annotated[int, Field(ge=0, le=4094)]
Vsid = Annotated[int, Field(ge=4096, le=(1 << 24) - 1)]
AclAction = Literal["Allow", "Block", "Pass"]
Direction = Literal["In", "Out"]


class EmptySettings(HnsModel):
    """Settings of a policy type that has none of its own (HostRoute, L2Driver, ...)."""


class SourceMacAddressSettings(HnsModel):
    source_mac_address: MacAddress


class NetAdapterNameSettings(HnsModel):
    network_adapter_name: str


class VSwitchExtensionSettings(HnsModel):
    extension_id: Guid = Field(alias="ExtensionID")
    enable: bool | None = None


class DrMacAddressSettings(HnsModel):
    address: MacAddress


class AutomaticDNSSettings(HnsModel):
    enable: bool | None = None


class InterfaceConstraintSettings(HnsModel):
    interface_guid: Guid | None = None
    interface_luid: U64 | None = None
    interface_index: U32 | None = None
    interface_media_type: U32 | None = None
    interface_alias: str | None = None
    interface_description: str | None = None


class ProviderAddressSettings(HnsModel):
    provider_address: IpAddress


class RemoteSubnetRouteSettings(HnsModel):
    destination_prefix: IpPrefix
    isolation_id: Annotated[int, Field(ge=0, le=(1 << 24) - 1)] | None = None
    provider_address: IpAddress | None = None
    distributed_router_mac_address: MacAddress | None = None


class VxlanPortSettings(HnsModel):
    port: Annotated[int, Field(ge=1, le=65535)]


class SetPolicySettings(HnsModel):
    id: str
    name: str | None = None
    policy_type: Literal["IPSET", "NESTEDIPSET"]
    values: str | None = None


class L4ProxySettings(HnsModel):
    """L4Proxy (hcn.L4ProxyPolicySetting); the V1 PROXY spellings are kept beside."""

    ip: IpAddress | None = Field(None, alias="IP")
    port: str | None = None
    protocol: U32 | None = None
    exceptions: list[str] | None = None
    exception_list: list[str] | None = None
    destination: str | None = None
    outbound_nat: bool | None = Field(None, alias="OutboundNAT")
    outbound_nat_v1: bool | None = Field(None, alias="OutboundNat")


class LayerConstraintSettings(HnsModel):
    layer_id: Guid


class AclSettings(HnsModel):
    """ACL and NetworkACL (hcn.AclPolicySetting); Action and Direction are required."""

    id: str | None = None
    protocols: str | None = None
    protocol: U16 | None = None
    action: AclAction
    direction: Direction
    local_addresses: str | None = None
    remote_addresses: str | None = None
    local_ports: str | None = None
    remote_ports: str | None = None
    local_port: U16 | None = None
    remote_port: U16 | None = None
    internal_port: U16 | None = None
    rule_type: Literal["Host", "Switch"] | None = None
    priority: U16 | None = None
    scope: U32 | None = None
    service_name: str | None = None


class NeighborDiscoverySettings(HnsModel):
    target_ip_prefix: IpPrefix | None = None
    sender_ip_address: IpAddress | None = None
    sender_mac_address: MacAddress | None = None


class VlanSettings(HnsModel):
    """VLAN isolation of a network or subnet: ``IsolationId`` is required."""

    isolation_id: Vlan


class VsidSettings(HnsModel):
    """VSID (VXLAN VNI) isolation of a network or subnet: ``IsolationId`` is required."""

    isolation_id: Vsid


class EndpointVlanSettings(HnsModel):
    isolation_id: Vlan | None = None


class PortMappingSettings(HnsModel):
    protocol: Literal[0, 6, 17] | None = None
    internal_port: U16 | None = None
    external_port: U16 | None = None
    vip: IpAddress | None = Field(None, alias="VIP")
    flags: U32 | None = None


class QosSettings(HnsModel):
    maximum_outgoing_bandwidth_in_bytes: U64 | None = None


class OutBoundNATSettings(HnsModel):
    virtual_ip: IpAddress | None = Field(None, alias="VirtualIP")
    exceptions: list[str] | None = None
    destinations: list[str] | None = None
    flags: U32 | None = None
    max_port_pool_usage: U16 | None = None


class SDNRouteSettings(HnsModel):
    destination_prefix: Annotated[IpPrefix | None, checked(as_prefix)] = None
    next_hop: Annotated[IpAddress | None, checked(as_ip)] = None
    need_encap: Annotated[bool | None, checked(as_bool)] = None
    automatic_endpoint_monitor: Annotated[bool | None, checked(as_bool)] = None


class L4WfpProxySettings(HnsModel):
    inbound_proxy_port: str | None = None
    outbound_proxy_port: str | None = None
    filter_tuple: dict[str, Any] | None = None
    user_sid: str | None = Field(None, alias="UserSID")
    inbound_exceptions: dict[str, Any] | None = None
    outbound_exceptions: dict[str, Any] | None = None


class PortNameSettings(HnsModel):
    name: str


class EncapOverheadSettings(HnsModel):
    overhead: U16 | None = None


class IovSettings(HnsModel):
    iov_offload_weight: U32 | None = None
    queue_pairs_requested: U32 | None = None
    interrupt_moderation: U32 | Literal[
        "IovInterruptModerationDefault", "IovInterruptModerationAdaptive",
        "IovInterruptModerationOff", "IovInterruptModerationLow",
        "IovInterruptModerationMedium", "IovInterruptModerationHigh"] | None = None


class TierAclSettings(HnsModel):
    name: str | None = None
    direction: Direction | None = None
    order: U16 | None = None
    tier_acl_rules: list[dict[str, Any]] | None = None


class InterfaceParametersSettings(HnsModel):
    mtu: U32 | None = None


class IsolationSettings(HnsModel):
    """V1-only ``Isolation`` (no V2 twin), kept so V1 input round-trips."""

    vlan: Vlan | None = Field(None, alias="VLAN")
    vsid: Vsid | None = Field(None, alias="VSID")
    in_default_isolation: bool | None = None


# ---- network policies ---------------------------------------------------------------

class NetworkPolicySourceMacAddress(HnsModel):
    type: Literal["SourceMacAddress"]
    settings: SourceMacAddressSettings | None = None

class NetworkPolicyNetAdapterName(HnsModel):
    type: Literal["NetAdapterName"]
    settings: NetAdapterNameSettings | None = None

class NetworkPolicyVSwitchExtension(HnsModel):
    type: Literal["VSwitchExtension"]
    settings: VSwitchExtensionSettings | None = None

class NetworkPolicyDrMacAddress(HnsModel):
    type: Literal["DrMacAddress"]
    settings: DrMacAddressSettings | None = None

class NetworkPolicyAutomaticDNS(HnsModel):
    type: Literal["AutomaticDNS"]
    settings: AutomaticDNSSettings | None = None

class NetworkPolicyInterfaceConstraint(HnsModel):
    type: Literal["InterfaceConstraint"]
    settings: InterfaceConstraintSettings | None = None

class NetworkPolicyProviderAddress(HnsModel):
    type: Literal["ProviderAddress"]
    settings: ProviderAddressSettings | None = None

class NetworkPolicyRemoteSubnetRoute(HnsModel):
    type: Literal["RemoteSubnetRoute"]
    settings: RemoteSubnetRouteSettings | None = None

class NetworkPolicyVxlanPort(HnsModel):
    type: Literal["VxlanPort"]
    settings: VxlanPortSettings | None = None

class NetworkPolicyHostRoute(HnsModel):
    type: Literal["HostRoute"]
    settings: EmptySettings | None = None

class NetworkPolicySetPolicy(HnsModel):
    type: Literal["SetPolicy"]
    settings: SetPolicySettings | None = None

class NetworkPolicyL4Proxy(HnsModel):
    type: Literal["L4Proxy"]
    settings: L4ProxySettings | None = None

class NetworkPolicyLayerConstraint(HnsModel):
    type: Literal["LayerConstraint"]
    settings: LayerConstraintSettings | None = None

class NetworkPolicyNetworkACL(HnsModel):
    type: Literal["NetworkACL"]
    settings: AclSettings | None = None

class NetworkPolicyNeighborDiscovery(HnsModel):
    type: Literal["NeighborDiscovery"]
    settings: NeighborDiscoverySettings | None = None

class NetworkPolicyVLAN(HnsModel):
    type: Literal["VLAN"]
    settings: VlanSettings | None = None

class NetworkPolicyVSID(HnsModel):
    type: Literal["VSID"]
    settings: VsidSettings | None = None

NetworkPolicy = Annotated[
    NetworkPolicySourceMacAddress
    | NetworkPolicyNetAdapterName
    | NetworkPolicyVSwitchExtension
    | NetworkPolicyDrMacAddress
    | NetworkPolicyAutomaticDNS
    | NetworkPolicyInterfaceConstraint
    | NetworkPolicyProviderAddress
    | NetworkPolicyRemoteSubnetRoute
    | NetworkPolicyVxlanPort
    | NetworkPolicyHostRoute
    | NetworkPolicySetPolicy
    | NetworkPolicyL4Proxy
    | NetworkPolicyLayerConstraint
    | NetworkPolicyNetworkACL
    | NetworkPolicyNeighborDiscovery
    | NetworkPolicyVLAN
    | NetworkPolicyVSID,
    Field(discriminator="type"),
]
NETWORK_POLICY_MODELS: dict[str, type[HnsModel]] = {
    "SourceMacAddress": NetworkPolicySourceMacAddress,
    "NetAdapterName": NetworkPolicyNetAdapterName,
    "VSwitchExtension": NetworkPolicyVSwitchExtension,
    "DrMacAddress": NetworkPolicyDrMacAddress,
    "AutomaticDNS": NetworkPolicyAutomaticDNS,
    "InterfaceConstraint": NetworkPolicyInterfaceConstraint,
    "ProviderAddress": NetworkPolicyProviderAddress,
    "RemoteSubnetRoute": NetworkPolicyRemoteSubnetRoute,
    "VxlanPort": NetworkPolicyVxlanPort,
    "HostRoute": NetworkPolicyHostRoute,
    "SetPolicy": NetworkPolicySetPolicy,
    "L4Proxy": NetworkPolicyL4Proxy,
    "LayerConstraint": NetworkPolicyLayerConstraint,
    "NetworkACL": NetworkPolicyNetworkACL,
    "NeighborDiscovery": NetworkPolicyNeighborDiscovery,
    "VLAN": NetworkPolicyVLAN,
    "VSID": NetworkPolicyVSID,
}

# ---- subnet policies ----------------------------------------------------------------

class SubnetPolicyVLAN(HnsModel):
    type: Literal["VLAN"]
    settings: VlanSettings | None = None

class SubnetPolicyVSID(HnsModel):
    type: Literal["VSID"]
    settings: VsidSettings | None = None

SubnetPolicy = Annotated[
    SubnetPolicyVLAN
    | SubnetPolicyVSID,
    Field(discriminator="type"),
]
SUBNET_POLICY_MODELS: dict[str, type[HnsModel]] = {
    "VLAN": SubnetPolicyVLAN,
    "VSID": SubnetPolicyVSID,
}

# ---- endpoint policies --------------------------------------------------------------

class EndpointPolicyPortMapping(HnsModel):
    type: Literal["PortMapping"]
    settings: PortMappingSettings | None = None

class EndpointPolicyACL(HnsModel):
    type: Literal["ACL"]
    settings: AclSettings | None = None

class EndpointPolicyQOS(HnsModel):
    type: Literal["QOS"]
    settings: QosSettings | None = None

class EndpointPolicyL2Driver(HnsModel):
    type: Literal["L2Driver"]
    settings: EmptySettings | None = None

class EndpointPolicyOutBoundNAT(HnsModel):
    type: Literal["OutBoundNAT"]
    settings: OutBoundNATSettings | None = None

class EndpointPolicySDNRoute(HnsModel):
    type: Literal["SDNRoute"]
    settings: SDNRouteSettings | None = None

class EndpointPolicyL4Proxy(HnsModel):
    type: Literal["L4Proxy"]
    settings: L4ProxySettings | None = None

class EndpointPolicyL4WFPPROXY(HnsModel):
    type: Literal["L4WFPPROXY"]
    settings: L4WfpProxySettings | None = None

class EndpointPolicyPortName(HnsModel):
    type: Literal["PortName"]
    settings: PortNameSettings | None = None

class EndpointPolicyEncapOverhead(HnsModel):
    type: Literal["EncapOverhead"]
    settings: EncapOverheadSettings | None = None

class EndpointPolicyIov(HnsModel):
    type: Literal["Iov"]
    settings: IovSettings | None = None

class EndpointPolicyProviderAddress(HnsModel):
    type: Literal["ProviderAddress"]
    settings: ProviderAddressSettings | None = None

class EndpointPolicyInterfaceConstraint(HnsModel):
    type: Literal["InterfaceConstraint"]
    settings: InterfaceConstraintSettings | None = None

class EndpointPolicyTierAcl(HnsModel):
    type: Literal["TierAcl"]
    settings: TierAclSettings | None = None

class EndpointPolicyEncryption(HnsModel):
    type: Literal["Encryption"]
    settings: EmptySettings | None = None

class EndpointPolicyVLAN(HnsModel):
    type: Literal["VLAN"]
    settings: EndpointVlanSettings | None = None

class EndpointPolicyInterfaceParameters(HnsModel):
    type: Literal["InterfaceParameters"]
    settings: InterfaceParametersSettings | None = None

class EndpointPolicyFirewall(HnsModel):
    type: Literal["Firewall"]
    settings: EmptySettings | None = None

class EndpointPolicyVNET(HnsModel):
    type: Literal["VNET"]
    settings: EmptySettings | None = None

class EndpointPolicyIsolation(HnsModel):
    type: Literal["Isolation"]
    settings: IsolationSettings | None = None

EndpointPolicy = Annotated[
    EndpointPolicyPortMapping
    | EndpointPolicyACL
    | EndpointPolicyQOS
    | EndpointPolicyL2Driver
    | EndpointPolicyOutBoundNAT
    | EndpointPolicySDNRoute
    | EndpointPolicyL4Proxy
    | EndpointPolicyL4WFPPROXY
    | EndpointPolicyPortName
    | EndpointPolicyEncapOverhead
    | EndpointPolicyIov
    | EndpointPolicyProviderAddress
    | EndpointPolicyInterfaceConstraint
    | EndpointPolicyTierAcl
    | EndpointPolicyEncryption
    | EndpointPolicyVLAN
    | EndpointPolicyInterfaceParameters
    | EndpointPolicyFirewall
    | EndpointPolicyVNET
    | EndpointPolicyIsolation,
    Field(discriminator="type"),
]
ENDPOINT_POLICY_MODELS: dict[str, type[HnsModel]] = {
    "PortMapping": EndpointPolicyPortMapping,
    "ACL": EndpointPolicyACL,
    "QOS": EndpointPolicyQOS,
    "L2Driver": EndpointPolicyL2Driver,
    "OutBoundNAT": EndpointPolicyOutBoundNAT,
    "SDNRoute": EndpointPolicySDNRoute,
    "L4Proxy": EndpointPolicyL4Proxy,
    "L4WFPPROXY": EndpointPolicyL4WFPPROXY,
    "PortName": EndpointPolicyPortName,
    "EncapOverhead": EndpointPolicyEncapOverhead,
    "Iov": EndpointPolicyIov,
    "ProviderAddress": EndpointPolicyProviderAddress,
    "InterfaceConstraint": EndpointPolicyInterfaceConstraint,
    "TierAcl": EndpointPolicyTierAcl,
    "Encryption": EndpointPolicyEncryption,
    "VLAN": EndpointPolicyVLAN,
    "InterfaceParameters": EndpointPolicyInterfaceParameters,
    "Firewall": EndpointPolicyFirewall,
    "VNET": EndpointPolicyVNET,
    "Isolation": EndpointPolicyIsolation,
}
