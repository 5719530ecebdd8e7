"""Policies: the settings of every network, subnet and endpoint policy type, and the policy
unions (``{"Type": ..., "Settings": {...}}``, discriminated on ``Type``).

These models are the one parser of policy settings: every settings field carries its HNS
check (``checked``: the hns/validate.py rule, value normalisation and message), run when a
request is parsed (hns/policies.py ``validate_v2``); outside a request they take a stored
object or a capture as it is.  What is not a field's own value lives on the models too:
the policy type's HNS feature gate, the settings HNS always writes, the keys whose empty
string means "not given" (``PolicyModel``) and the detail of a missing required field
(``PolicySettings.missing_detail``).  Settings names are hcsshim's (hcn/hcnpolicy.go);
unknown settings keys are kept, as HNS ignores them.  The type names are the canonical
spelling: the emulator also accepts them in any case, the schema documents the one HNS
writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from hns.schema.base import Guid, HnsModel, IpAddress, IpPrefix, MacAddress
from hns.schema.request import checked
from hns.validate import (
    Refused,
    acl_addresses,
    acl_ports,
    acl_protocols,
    as_bool,
    as_guid,
    as_ip,
    as_mac,
    as_prefix,
    as_str,
    as_str_list,
    as_vlan,
    as_vsid,
    enum_of,
    iov_moderation,
    ip_or_prefix,
    list_of,
    nonzero_port,
    obj,
    uint,
)

__all__ = [
    "ENDPOINT_POLICY_MODELS",
    "NETWORK_POLICY_MODELS",
    "SUBNET_POLICY_MODELS",
    "EndpointPolicy",
    "NetworkPolicy",
    "PolicyModel",
    "PolicySettings",
    "SubnetPolicy",
]

U16 = Annotated[int, Field(ge=0, le=65535)]
U24 = Annotated[int, Field(ge=0, le=(1 << 24) - 1)]
U32 = Annotated[int, Field(ge=0, le=(1 << 32) - 1)]
U64 = Annotated[int, Field(ge=0, le=(1 << 64) - 1)]
Vlan = Annotated[int, Field(ge=0, le=4094)]
Vsid = Annotated[int, Field(ge=4096, le=(1 << 24) - 1)]
AclAction = Literal["Allow", "Block", "Pass"]
Direction = Literal["In", "Out"]

# Each field's request check (hns/validate.py); the annotation is what it returns.
_U16 = checked(uint(16))
_U32 = checked(uint(32))
_U64 = checked(uint(64))
_STR = checked(as_str)
_BOOL = checked(as_bool)
_IP = checked(as_ip)
_MAC = checked(as_mac)
_GUID = checked(as_guid)
_PREFIX = checked(as_prefix)
_DIRECTION = checked(enum_of("In", "Out"))


class PolicySettings(HnsModel):
    """Base of every policy's settings."""

    #: The detail (after "<Type>: ") of a missing required field; None: "<Type> is
    #: missing <fields>".
    missing_detail: ClassVar[str | None] = None


class PolicyModel(HnsModel):
    """Base of every ``{"Type", "Settings"}`` policy model: what HNS does with the type
    beyond its settings' own fields."""

    #: The HNS feature (hns/profiles.py) a host needs to know the type at all.
    feature: ClassVar[str | None] = None
    #: Settings HNS writes back even when not given (no omitempty), with their value then.
    always: ClassVar[Mapping[str, Any]] = {}
    #: Settings keys whose empty string means "not given" (a client writes them always).
    empty_is_absent: ClassVar[frozenset[str]] = frozenset()


class EmptySettings(PolicySettings):
    """Settings of a policy type that has none of its own (HostRoute, L2Driver, ...)."""


class SourceMacAddressSettings(PolicySettings):
    source_mac_address: Annotated[MacAddress, _MAC]


class NetAdapterNameSettings(PolicySettings):
    network_adapter_name: Annotated[str, _STR]


class VSwitchExtensionSettings(PolicySettings):
    extension_id: Annotated[Guid, _GUID] = Field(alias="ExtensionID")
    enable: Annotated[bool | None, _BOOL] = None


class DrMacAddressSettings(PolicySettings):
    address: Annotated[MacAddress, _MAC]


class AutomaticDNSSettings(PolicySettings):
    enable: Annotated[bool | None, _BOOL] = None


class InterfaceConstraintSettings(PolicySettings):
    interface_guid: Annotated[Guid | None, _GUID] = None
    interface_luid: Annotated[U64 | None, _U64] = None
    interface_index: Annotated[U32 | None, _U32] = None
    interface_media_type: Annotated[U32 | None, _U32] = None
    interface_alias: Annotated[str | None, _STR] = None
    interface_description: Annotated[str | None, _STR] = None


class ProviderAddressSettings(PolicySettings):
    provider_address: Annotated[IpAddress, _IP]


class RemoteSubnetRouteSettings(PolicySettings):
    destination_prefix: Annotated[IpPrefix, _PREFIX]
    isolation_id: Annotated[U24 | None, checked(uint(24))] = None
    provider_address: Annotated[IpAddress | None, _IP] = None
    distributed_router_mac_address: Annotated[MacAddress | None, _MAC] = None


class VxlanPortSettings(PolicySettings):
    port: Annotated[int, checked(nonzero_port), Field(ge=1, le=65535)]


class SetPolicySettings(PolicySettings):
    missing_detail: ClassVar[str | None] = "SetPolicy needs Id and PolicyType"

    id: Annotated[str, _STR]
    name: Annotated[str | None, _STR] = None
    policy_type: Annotated[Literal["IPSET", "NESTEDIPSET"],
                           checked(enum_of("IPSET", "NESTEDIPSET"))]
    values: Annotated[str | None, _STR] = None


class L4ProxySettings(PolicySettings):
    """L4Proxy (hcn.L4ProxyPolicySetting); the V1 PROXY spellings are kept beside."""

    ip: Annotated[IpAddress | None, _IP] = Field(None, alias="IP")
    port: Annotated[str | None, checked(acl_ports)] = None
    protocol: Annotated[U32 | None, _U32] = None
    exceptions: Annotated[list[str] | None, checked(as_str_list)] = None
    exception_list: Annotated[list[str] | None, checked(as_str_list)] = None
    destination: Annotated[str | None, _STR] = None
    outbound_nat: Annotated[bool | None, _BOOL] = Field(None, alias="OutboundNAT")
    outbound_nat_v1: Annotated[bool | None, _BOOL] = Field(None, alias="OutboundNat")


class LayerConstraintSettings(PolicySettings):
    layer_id: Annotated[Guid, _GUID]


class AclSettings(PolicySettings):
    """ACL and NetworkACL (hcn.AclPolicySetting); Action and Direction are required."""

    missing_detail: ClassVar[str | None] = "ACL needs Action and Direction"

    id: Annotated[str | None, _STR] = None
    protocols: Annotated[str | None, checked(acl_protocols)] = None
    protocol: Annotated[U16 | None, _U16] = None
    action: Annotated[AclAction, checked(enum_of("Allow", "Block", "Pass"))]
    direction: Annotated[Direction, _DIRECTION]
    local_addresses: Annotated[str | None, checked(acl_addresses)] = None
    remote_addresses: Annotated[str | None, checked(acl_addresses)] = None
    local_ports: Annotated[str | None, checked(acl_ports)] = None
    remote_ports: Annotated[str | None, checked(acl_ports)] = None
    local_port: Annotated[U16 | None, _U16] = None
    remote_port: Annotated[U16 | None, _U16] = None
    internal_port: Annotated[U16 | None, _U16] = None
    rule_type: Annotated[Literal["Host", "Switch"] | None,
                         checked(enum_of("Host", "Switch"))] = None
    priority: Annotated[U16 | None, _U16] = None
    scope: Annotated[U32 | None, _U32] = None
    service_name: Annotated[str | None, _STR] = None


class NeighborDiscoverySettings(PolicySettings):
    target_ip_prefix: Annotated[IpPrefix | None, _PREFIX] = None
    sender_ip_address: Annotated[IpAddress | None, _IP] = None
    sender_mac_address: Annotated[MacAddress | None, _MAC] = None


class VlanSettings(PolicySettings):
    """VLAN isolation of a network or subnet: ``IsolationId`` is required."""

    isolation_id: Annotated[Vlan, checked(as_vlan)]


class VsidSettings(PolicySettings):
    """VSID (VXLAN VNI) isolation of a network or subnet: ``IsolationId`` is required."""

    isolation_id: Annotated[Vsid, checked(as_vsid)]


class EndpointVlanSettings(PolicySettings):
    isolation_id: Annotated[Vlan | None, checked(as_vlan)] = None


def _portmapping_protocol(value: Any) -> int:
    number: int = uint(32)(value)
    if number not in (0, 6, 17):
        raise Refused("PortMapping protocol must be TCP (6) or UDP (17)")
    return number


class PortMappingSettings(PolicySettings):
    protocol: Annotated[Literal[0, 6, 17] | None, checked(_portmapping_protocol)] = None
    internal_port: Annotated[U16 | None, _U16] = None
    external_port: Annotated[U16 | None, _U16] = None
    vip: Annotated[IpAddress | None, _IP] = Field(None, alias="VIP")
    flags: Annotated[U32 | None, _U32] = None


class QosSettings(PolicySettings):
    maximum_outgoing_bandwidth_in_bytes: Annotated[U64 | None, _U64] = None


class OutBoundNATSettings(PolicySettings):
    virtual_ip: Annotated[IpAddress | None, _IP] = Field(None, alias="VirtualIP")
    exceptions: Annotated[list[str] | None, checked(list_of(ip_or_prefix))] = None
    destinations: Annotated[list[str] | None, checked(list_of(ip_or_prefix))] = None
    flags: Annotated[U32 | None, _U32] = None
    max_port_pool_usage: Annotated[U16 | None, _U16] = None


class SDNRouteSettings(PolicySettings):
    destination_prefix: Annotated[IpPrefix | None, _PREFIX] = None
    next_hop: Annotated[IpAddress | None, _IP] = None
    need_encap: Annotated[bool | None, _BOOL] = None
    automatic_endpoint_monitor: Annotated[bool | None, _BOOL] = None


class L4WfpProxySettings(PolicySettings):
    inbound_proxy_port: Annotated[str | None, checked(acl_ports)] = None
    outbound_proxy_port: Annotated[str | None, checked(acl_ports)] = None
    filter_tuple: Annotated[dict[str, Any] | None, checked(obj)] = None
    user_sid: Annotated[str | None, _STR] = Field(None, alias="UserSID")
    inbound_exceptions: Annotated[dict[str, Any] | None, checked(obj)] = None
    outbound_exceptions: Annotated[dict[str, Any] | None, checked(obj)] = None


class PortNameSettings(PolicySettings):
    name: Annotated[str, _STR]


class EncapOverheadSettings(PolicySettings):
    overhead: Annotated[U16 | None, _U16] = None


class IovSettings(PolicySettings):
    iov_offload_weight: Annotated[U32 | None, _U32] = None
    queue_pairs_requested: Annotated[U32 | None, _U32] = None
    interrupt_moderation: Annotated[
        U32 | Literal[
            "IovInterruptModerationDefault", "IovInterruptModerationAdaptive",
            "IovInterruptModerationOff", "IovInterruptModerationLow",
            "IovInterruptModerationMedium", "IovInterruptModerationHigh"] | None,
        checked(iov_moderation)] = None


class TierAclSettings(PolicySettings):
    name: Annotated[str | None, _STR] = None
    direction: Annotated[Direction | None, _DIRECTION] = None
    order: Annotated[U16 | None, _U16] = None
    tier_acl_rules: Annotated[list[dict[str, Any]] | None, checked(list_of(obj))] = None


class InterfaceParametersSettings(PolicySettings):
    mtu: Annotated[U32 | None, _U32] = None


class IsolationSettings(PolicySettings):
    """V1-only ``Isolation`` (no V2 twin), kept so V1 input round-trips."""

    vlan: Annotated[Vlan | None, checked(as_vlan)] = Field(None, alias="VLAN")
    vsid: Annotated[Vsid | None, checked(as_vsid)] = Field(None, alias="VSID")
    in_default_isolation: Annotated[bool | None, _BOOL] = None


# ---- network policies ---------------------------------------------------------------

class NetworkPolicySourceMacAddress(PolicyModel):
    type: Literal["SourceMacAddress"]
    settings: SourceMacAddressSettings | None = None

class NetworkPolicyNetAdapterName(PolicyModel):
    type: Literal["NetAdapterName"]
    settings: NetAdapterNameSettings | None = None

class NetworkPolicyVSwitchExtension(PolicyModel):
    type: Literal["VSwitchExtension"]
    settings: VSwitchExtensionSettings | None = None

class NetworkPolicyDrMacAddress(PolicyModel):
    type: Literal["DrMacAddress"]
    settings: DrMacAddressSettings | None = None

class NetworkPolicyAutomaticDNS(PolicyModel):
    type: Literal["AutomaticDNS"]
    settings: AutomaticDNSSettings | None = None

class NetworkPolicyInterfaceConstraint(PolicyModel):
    type: Literal["InterfaceConstraint"]
    settings: InterfaceConstraintSettings | None = None

class NetworkPolicyProviderAddress(PolicyModel):
    type: Literal["ProviderAddress"]
    settings: ProviderAddressSettings | None = None

class NetworkPolicyRemoteSubnetRoute(PolicyModel):
    feature: ClassVar[str | None] = "RemoteSubnet"
    always: ClassVar[Mapping[str, Any]] = {"DestinationPrefix": "", "IsolationId": 0,
                                           "ProviderAddress": "",
                                           "DistributedRouterMacAddress": ""}
    type: Literal["RemoteSubnetRoute"]
    settings: RemoteSubnetRouteSettings | None = None

class NetworkPolicyVxlanPort(PolicyModel):
    feature: ClassVar[str | None] = "VxlanPort"
    type: Literal["VxlanPort"]
    settings: VxlanPortSettings | None = None

class NetworkPolicyHostRoute(PolicyModel):
    feature: ClassVar[str | None] = "HostRoute"
    type: Literal["HostRoute"]
    settings: EmptySettings | None = None

class NetworkPolicySetPolicy(PolicyModel):
    feature: ClassVar[str | None] = "SetPolicy"
    type: Literal["SetPolicy"]
    settings: SetPolicySettings | None = None

class NetworkPolicyL4Proxy(PolicyModel):
    feature: ClassVar[str | None] = "L4Proxy"
    always: ClassVar[Mapping[str, Any]] = {"Destination": ""}
    type: Literal["L4Proxy"]
    settings: L4ProxySettings | None = None

class NetworkPolicyLayerConstraint(PolicyModel):
    type: Literal["LayerConstraint"]
    settings: LayerConstraintSettings | None = None

class NetworkPolicyNetworkACL(PolicyModel):
    feature: ClassVar[str | None] = "NetworkACL"
    always: ClassVar[Mapping[str, Any]] = {"Action": "", "Direction": ""}
    type: Literal["NetworkACL"]
    settings: AclSettings | None = None

class NetworkPolicyNeighborDiscovery(PolicyModel):
    type: Literal["NeighborDiscovery"]
    settings: NeighborDiscoverySettings | None = None

class NetworkPolicyVLAN(PolicyModel):
    type: Literal["VLAN"]
    settings: VlanSettings | None = None

class NetworkPolicyVSID(PolicyModel):
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
NETWORK_POLICY_MODELS: dict[str, type[PolicyModel]] = {
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

class SubnetPolicyVLAN(PolicyModel):
    always: ClassVar[Mapping[str, Any]] = {"IsolationId": 0}
    type: Literal["VLAN"]
    settings: VlanSettings | None = None

class SubnetPolicyVSID(PolicyModel):
    always: ClassVar[Mapping[str, Any]] = {"IsolationId": 0}
    type: Literal["VSID"]
    settings: VsidSettings | None = None

SubnetPolicy = Annotated[
    SubnetPolicyVLAN
    | SubnetPolicyVSID,
    Field(discriminator="type"),
]
SUBNET_POLICY_MODELS: dict[str, type[PolicyModel]] = {
    "VLAN": SubnetPolicyVLAN,
    "VSID": SubnetPolicyVSID,
}

# ---- endpoint policies --------------------------------------------------------------

class EndpointPolicyPortMapping(PolicyModel):
    # containernetworking/plugins pkg/hns/netconf_windows.go (v1.0.0+) writes
    # "VIP": "<hostIP>" for every hostPort, "" without a hostIP.
    empty_is_absent: ClassVar[frozenset[str]] = frozenset({"VIP"})
    type: Literal["PortMapping"]
    settings: PortMappingSettings | None = None

class EndpointPolicyACL(PolicyModel):
    always: ClassVar[Mapping[str, Any]] = {"Action": "", "Direction": ""}
    type: Literal["ACL"]
    settings: AclSettings | None = None

class EndpointPolicyQOS(PolicyModel):
    always: ClassVar[Mapping[str, Any]] = {"MaximumOutgoingBandwidthInBytes": 0}
    type: Literal["QOS"]
    settings: QosSettings | None = None

class EndpointPolicyL2Driver(PolicyModel):
    type: Literal["L2Driver"]
    settings: EmptySettings | None = None

class EndpointPolicyOutBoundNAT(PolicyModel):
    type: Literal["OutBoundNAT"]
    settings: OutBoundNATSettings | None = None

class EndpointPolicySDNRoute(PolicyModel):
    type: Literal["SDNRoute"]
    settings: SDNRouteSettings | None = None

class EndpointPolicyL4Proxy(PolicyModel):
    feature: ClassVar[str | None] = "L4Proxy"
    always: ClassVar[Mapping[str, Any]] = {"Destination": ""}
    type: Literal["L4Proxy"]
    settings: L4ProxySettings | None = None

class EndpointPolicyL4WFPPROXY(PolicyModel):
    feature: ClassVar[str | None] = "L4WfpProxy"
    type: Literal["L4WFPPROXY"]
    settings: L4WfpProxySettings | None = None

class EndpointPolicyPortName(PolicyModel):
    type: Literal["PortName"]
    settings: PortNameSettings | None = None

class EndpointPolicyEncapOverhead(PolicyModel):
    type: Literal["EncapOverhead"]
    settings: EncapOverheadSettings | None = None

class EndpointPolicyIov(PolicyModel):
    type: Literal["Iov"]
    settings: IovSettings | None = None

class EndpointPolicyProviderAddress(PolicyModel):
    type: Literal["ProviderAddress"]
    settings: ProviderAddressSettings | None = None

class EndpointPolicyInterfaceConstraint(PolicyModel):
    type: Literal["InterfaceConstraint"]
    settings: InterfaceConstraintSettings | None = None

class EndpointPolicyTierAcl(PolicyModel):
    feature: ClassVar[str | None] = "TierAcl"
    type: Literal["TierAcl"]
    settings: TierAclSettings | None = None

class EndpointPolicyEncryption(PolicyModel):
    type: Literal["Encryption"]
    settings: EmptySettings | None = None

class EndpointPolicyVLAN(PolicyModel):
    type: Literal["VLAN"]
    settings: EndpointVlanSettings | None = None

class EndpointPolicyInterfaceParameters(PolicyModel):
    type: Literal["InterfaceParameters"]
    settings: InterfaceParametersSettings | None = None

class EndpointPolicyFirewall(PolicyModel):
    type: Literal["Firewall"]
    settings: EmptySettings | None = None

class EndpointPolicyVNET(PolicyModel):
    type: Literal["VNET"]
    settings: EmptySettings | None = None

class EndpointPolicyIsolation(PolicyModel):
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
ENDPOINT_POLICY_MODELS: dict[str, type[PolicyModel]] = {
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
