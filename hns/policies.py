"""Policies: every network, subnet and endpoint policy type, its settings, and V1 <-> V2.

Glossary:
    V2 policy   ``{"Type": <type>, "Settings": {...}}`` (hcsshim ``hcn``); the stored form.
    V1 policy   flat: ``{"Type": <v1 type>, <fields side by side>}`` (hcsshim ``hns``).
    Spec        the known settings keys of one V2 type, each with its validator, which of
                them must be present and which are always written (no omitempty).

Unknown settings keys are kept as given (HNS ignores what it does not know; keeping
them makes V1 -> V2 -> V1 lossless).  Unknown policy *types* are refused with
InvalidPolicyType; a known type with bad settings with InvalidPolicy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hns.errors import HnsError, InvalidPolicy, InvalidPolicyType, RequestUnsupported
from hns.profiles import Profile
from hns.strict import did_you_mean, is_strict, one_of
from hns.validate import (
    Bad,
    Validator,
    any_json,
    as_bool,
    as_dict,
    as_guid,
    as_int,
    as_ip,
    as_mac,
    as_prefix,
    as_str,
    as_str_list,
    enum_of,
    list_of,
    obj,
    uint,
)

Json = dict[str, Any]

__all__ = [
    "ENDPOINT_POLICY_TYPES",
    "NETWORK_POLICY_TYPES",
    "SUBNET_POLICY_TYPES",
    "endpoint_policy_from_v1",
    "endpoint_policy_to_v1",
    "parse_policies",
    "subnet_policy_from_v1",
    "subnet_policy_to_v1",
]


def _protocols(value: Any) -> str:
    """ACL ``Protocols``: comma-separated protocol numbers 0..256 (256 = any)."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        as_int(_int_text(part), 0, 256)
    return text


def _int_text(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise Bad(f"{text!r} is not a number") from exc


def _ports(value: Any) -> str:
    """ACL ports: comma-separated ports or ``lo-hi`` ranges, 0..65535."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            raise Bad(f"bad port range {part!r}")
        nums = [as_int(_int_text(b), 0, 65535) for b in bounds]
        if len(nums) == 2 and nums[0] > nums[1]:
            raise Bad(f"bad port range {part!r}")
    return text


def _addresses(value: Any) -> str:
    """ACL addresses: comma-separated IPs or CIDRs.  ``"Any"`` is refused, as on real hosts
    (microsoft/hcsshim#1059: InvalidPolicy)."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError as exc:
            raise Bad(f"{part!r} is not an address or prefix") from exc
    return text


def _ip_or_prefix(value: Any) -> str:
    text = as_str(value)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise Bad(f"{text!r} is not an address or prefix") from exc
    return text


def _vsid(value: Any) -> int:
    # Windows overlay isolation ids are 24-bit VXLAN VNIs, 4096 and up.
    return as_int(value, 4096, (1 << 24) - 1)


def _vlan(value: Any) -> int:
    return as_int(value, 0, 4094)


def _iov_moderation(value: Any) -> Any:
    if isinstance(value, str):
        return enum_of("IovInterruptModerationDefault", "IovInterruptModerationAdaptive",
                       "IovInterruptModerationOff", "IovInterruptModerationLow",
                       "IovInterruptModerationMedium", "IovInterruptModerationHigh")(value)
    return uint(32)(value)


def _nonzero_port(value: Any) -> int:
    return as_int(value, 1, 65535)


@dataclass(frozen=True)
class Spec:
    """The settings of one V2 policy type."""

    keys: Mapping[str, Validator]
    required: frozenset[str] = frozenset()
    always: Mapping[str, Any] = field(default_factory=dict)
    feature: str | None = None
    check: Callable[[Json], None] | None = None
    # Keys whose empty string means "not given" (a client writes them for every policy).
    empty_is_absent: frozenset[str] = frozenset()


_ACL_KEYS: dict[str, Validator] = {
    "Id": as_str,
    "Protocols": _protocols,
    "Protocol": uint(16),
    "Action": enum_of("Allow", "Block", "Pass"),
    "Direction": enum_of("In", "Out"),
    "LocalAddresses": _addresses,
    "RemoteAddresses": _addresses,
    "LocalPorts": _ports,
    "RemotePorts": _ports,
    "LocalPort": uint(16),
    "RemotePort": uint(16),
    "InternalPort": uint(16),
    "RuleType": enum_of("Host", "Switch"),
    "Priority": uint(16),
    "Scope": uint(32),
    "ServiceName": as_str,
}

_L4PROXY_KEYS: dict[str, Validator] = {
    "IP": as_ip,
    "Port": _ports,
    "Protocol": uint(32),
    "Exceptions": as_str_list,
    "ExceptionList": as_str_list,
    "Destination": as_str,
    "OutboundNAT": as_bool,
    "OutboundNat": as_bool,
}

_INTERFACE_CONSTRAINT: dict[str, Validator] = {
    "InterfaceGuid": as_guid,
    "InterfaceLuid": uint(64),
    "InterfaceIndex": uint(32),
    "InterfaceMediaType": uint(32),
    "InterfaceAlias": as_str,
    "InterfaceDescription": as_str,
}


def _acl_check(settings: Json) -> None:
    if "Action" not in settings or "Direction" not in settings:
        raise Bad("ACL needs Action and Direction")


def _portmapping_check(settings: Json) -> None:
    if settings.get("Protocol", 0) not in (0, 6, 17):
        raise Bad("PortMapping protocol must be TCP (6) or UDP (17)")


def _setpolicy_check(settings: Json) -> None:
    if "Id" not in settings or "PolicyType" not in settings:
        raise Bad("SetPolicy needs Id and PolicyType")


NETWORK_POLICY_TYPES: Mapping[str, Spec] = {
    "SourceMacAddress": Spec({"SourceMacAddress": as_mac}, frozenset({"SourceMacAddress"})),
    "NetAdapterName": Spec({"NetworkAdapterName": as_str}, frozenset({"NetworkAdapterName"})),
    "VSwitchExtension": Spec({"ExtensionID": as_guid, "Enable": as_bool},
                             frozenset({"ExtensionID"})),
    "DrMacAddress": Spec({"Address": as_mac}, frozenset({"Address"})),
    "AutomaticDNS": Spec({"Enable": as_bool}),
    "InterfaceConstraint": Spec(_INTERFACE_CONSTRAINT),
    "ProviderAddress": Spec({"ProviderAddress": as_ip}, frozenset({"ProviderAddress"})),
    "RemoteSubnetRoute": Spec(
        {"DestinationPrefix": as_prefix, "IsolationId": uint(24), "ProviderAddress": as_ip,
         "DistributedRouterMacAddress": as_mac},
        frozenset({"DestinationPrefix"}),
        always={"DestinationPrefix": "", "IsolationId": 0, "ProviderAddress": "",
                "DistributedRouterMacAddress": ""},
        feature="RemoteSubnet"),
    "VxlanPort": Spec({"Port": _nonzero_port}, frozenset({"Port"}), feature="VxlanPort"),
    "HostRoute": Spec({}, feature="HostRoute"),
    "SetPolicy": Spec({"Id": as_str, "Name": as_str,
                       "PolicyType": enum_of("IPSET", "NESTEDIPSET"), "Values": as_str},
                      feature="SetPolicy", check=_setpolicy_check),
    "L4Proxy": Spec(_L4PROXY_KEYS, always={"Destination": ""}, feature="L4Proxy"),
    "LayerConstraint": Spec({"LayerId": as_guid}, frozenset({"LayerId"})),
    "NetworkACL": Spec(_ACL_KEYS, always={"Action": "", "Direction": ""}, feature="NetworkACL",
                       check=_acl_check),
    "NeighborDiscovery": Spec({"TargetIpPrefix": as_prefix, "SenderIpAddress": as_ip,
                               "SenderMacAddress": as_mac}),
    # V1 networks carry an isolation policy of their own (fixture v1-post-networks-nat).
    "VLAN": Spec({"IsolationId": _vlan}, frozenset({"IsolationId"})),
    "VSID": Spec({"IsolationId": _vsid}, frozenset({"IsolationId"})),
}

SUBNET_POLICY_TYPES: Mapping[str, Spec] = {
    "VLAN": Spec({"IsolationId": _vlan}, frozenset({"IsolationId"}), always={"IsolationId": 0}),
    "VSID": Spec({"IsolationId": _vsid}, frozenset({"IsolationId"}), always={"IsolationId": 0}),
}

ENDPOINT_POLICY_TYPES: Mapping[str, Spec] = {
    "PortMapping": Spec({"Protocol": uint(32), "InternalPort": uint(16),
                         "ExternalPort": uint(16), "VIP": as_ip, "Flags": uint(32)},
                        check=_portmapping_check,
                        # containernetworking/plugins pkg/hns/netconf_windows.go (v1.0.0+)
                        # writes "VIP": "<hostIP>" for every hostPort, "" without a hostIP.
                        empty_is_absent=frozenset({"VIP"})),
    "ACL": Spec(_ACL_KEYS, always={"Action": "", "Direction": ""}, check=_acl_check),
    "QOS": Spec({"MaximumOutgoingBandwidthInBytes": uint(64)},
                always={"MaximumOutgoingBandwidthInBytes": 0}),
    "L2Driver": Spec({}),
    "OutBoundNAT": Spec({"VirtualIP": as_ip, "Exceptions": list_of(_ip_or_prefix),
                         "Destinations": list_of(_ip_or_prefix), "Flags": uint(32),
                         "MaxPortPoolUsage": uint(16)}),
    "SDNRoute": Spec({"DestinationPrefix": as_prefix, "NextHop": as_ip, "NeedEncap": as_bool,
                      "AutomaticEndpointMonitor": as_bool}),
    "L4Proxy": Spec(_L4PROXY_KEYS, always={"Destination": ""}, feature="L4Proxy"),
    "L4WFPPROXY": Spec({"InboundProxyPort": _ports, "OutboundProxyPort": _ports,
                        "FilterTuple": obj, "UserSID": as_str, "InboundExceptions": obj,
                        "OutboundExceptions": obj}, feature="L4WfpProxy"),
    "PortName": Spec({"Name": as_str}, frozenset({"Name"})),
    "EncapOverhead": Spec({"Overhead": uint(16)}),
    "Iov": Spec({"IovOffloadWeight": uint(32), "QueuePairsRequested": uint(32),
                 "InterruptModeration": _iov_moderation}),
    "ProviderAddress": Spec({"ProviderAddress": as_ip}, frozenset({"ProviderAddress"})),
    "InterfaceConstraint": Spec(_INTERFACE_CONSTRAINT),
    "TierAcl": Spec({"Name": as_str, "Direction": enum_of("In", "Out"), "Order": uint(16),
                     "TierAclRules": list_of(obj)}, feature="TierAcl"),
    "Encryption": Spec({}),
    "VLAN": Spec({"IsolationId": _vlan}),
    "InterfaceParameters": Spec({"Mtu": uint(32)}),
    "Firewall": Spec({}),
    # V1-only types with no V2 twin; kept so V1 input round-trips.
    "VNET": Spec({}),
    "Isolation": Spec({"VLAN": _vlan, "VSID": _vsid, "InDefaultIsolation": as_bool}),
}

_V2_CASE = {name.lower(): name for name in (*NETWORK_POLICY_TYPES, *ENDPOINT_POLICY_TYPES)}


def _fail(kind: type[HnsError], detail: str) -> HnsError:
    return kind(detail=detail)


def validate_v2(policy: Any, table: Mapping[str, Spec], profile: Profile) -> Json:
    """One V2 policy, validated: ``{"Type", "Settings"}`` with settings normalised."""
    try:
        body = as_dict(policy)
    except Bad as exc:
        raise _fail(InvalidPolicy, str(exc)) from None
    ptype = body.get("Type")
    if not isinstance(ptype, str):
        raise _fail(InvalidPolicyType, "policy without a string Type")
    spec = table.get(ptype) or table.get(_V2_CASE.get(ptype.lower(), ""))
    if spec is None:
        raise _fail(InvalidPolicyType, f"unknown policy type {ptype!r}"
                    f"{did_you_mean(ptype, table)}; {one_of(table)}")
    ptype = next(name for name, s in table.items() if s is spec)
    if spec.feature is not None and not profile.supports(spec.feature):
        # An HNS that predates the type does not know its name.
        raise _fail(InvalidPolicyType, f"{ptype} needs HNS feature {spec.feature}")
    raw = body.get("Settings", {})
    if raw is None:
        raw = {}
    try:
        settings = dict(as_dict(raw))
        for key in spec.empty_is_absent:
            if settings.get(key) == "":
                del settings[key]
        for key, validator in spec.keys.items():
            if key in settings and settings[key] is not None:
                settings[key] = validator(settings[key])
            elif key in settings:
                del settings[key]
        missing = spec.required - settings.keys()
        if missing:
            raise Bad(f"{ptype} is missing {', '.join(sorted(missing))}")
        if spec.check is not None:
            spec.check(settings)
        if is_strict():
            _refuse_unknown_keys(settings, spec)
    except Bad as exc:
        raise _fail(InvalidPolicy, f"{ptype}: {exc}") from None
    for key, default in spec.always.items():
        settings.setdefault(key, default)
    _gate_settings(ptype, settings, profile)
    return {"Type": ptype, "Settings": settings}


def _refuse_unknown_keys(settings: Json, spec: Spec) -> None:
    """Strict mode (hns/strict.py): a settings key the type does not know is refused."""
    for key in settings:
        if key not in spec.keys:
            raise Bad(f"unknown setting {key!r}{did_you_mean(key, spec.keys)} "
                      f"(strict mode; {one_of(spec.keys) if spec.keys else 'no settings'})")


def _gate_settings(ptype: str, settings: Json, profile: Profile) -> None:
    if ptype == "SetPolicy" and settings.get("PolicyType") == "NESTEDIPSET" \
            and not profile.supports("NestedIpSet"):
        raise RequestUnsupported(detail="NESTEDIPSET needs HNS feature NestedIpSet")
    if ptype in ("ACL", "NetworkACL"):
        protocols = str(settings.get("Protocols", ""))
        if "252" in protocols.split(",") and not profile.supports("AclSupportForProtocol252"):
            raise RequestUnsupported(detail="ACL protocol 252 needs AclSupportForProtocol252")


def parse_policies(value: Any, table: Mapping[str, Spec], profile: Profile, *,
                   v1: bool) -> list[Json]:
    """A policy array from V1 (flat, or V2-shaped items) or V2 input, in V2 stored form."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(InvalidPolicy, "Policies must be an array")
    out = []
    for item in value:
        if v1 and isinstance(item, dict) and not isinstance(item.get("Settings"), dict):
            item = from_v1(item, table)
        out.append(validate_v2(item, table, profile))
    return out


# ---- V1 <-> V2 -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Map:
    """How one V1 type maps to a V2 type: key renames (v1 -> v2) and value transforms."""

    v1: str
    v2: str
    keys: Mapping[str, str] = field(default_factory=dict)


_ENDPOINT_MAPS = (
    _Map("NAT", "PortMapping"),
    _Map("ACL", "ACL"),
    _Map("PA", "ProviderAddress", {"PA": "ProviderAddress"}),
    _Map("QOS", "QOS"),
    _Map("OutBoundNAT", "OutBoundNAT", {"VIP": "VirtualIP", "ExceptionList": "Exceptions"}),
    _Map("ROUTE", "SDNRoute"),
    _Map("PROXY", "L4Proxy", {"ExceptionList": "Exceptions", "OutboundNat": "OutboundNAT"}),
    _Map("L2Driver", "L2Driver"),
    _Map("VLAN", "VLAN", {"VLAN": "IsolationId"}),
    _Map("VNET", "VNET"),
    _Map("Isolation", "Isolation"),
)
_NETWORK_MAPS = (
    _Map("VLAN", "VLAN", {"VLAN": "IsolationId"}),
    _Map("VSID", "VSID", {"VSID": "IsolationId"}),
)
_SUBNET_MAPS = _NETWORK_MAPS

_BY_V1 = {
    id(ENDPOINT_POLICY_TYPES): {m.v1.lower(): m for m in _ENDPOINT_MAPS},
    id(NETWORK_POLICY_TYPES): {m.v1.lower(): m for m in _NETWORK_MAPS},
    id(SUBNET_POLICY_TYPES): {m.v1.lower(): m for m in _SUBNET_MAPS},
}
_BY_V2 = {
    id(ENDPOINT_POLICY_TYPES): {m.v2: m for m in _ENDPOINT_MAPS},
    id(NETWORK_POLICY_TYPES): {m.v2: m for m in _NETWORK_MAPS},
    id(SUBNET_POLICY_TYPES): {m.v2: m for m in _SUBNET_MAPS},
}

_PROTO_NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "ANY": 256}
_PROTO_NUMS = {6: "TCP", 17: "UDP"}
_EXTERNAL_PORT_RESERVED = 4


def from_v1(policy: Json, table: Mapping[str, Spec]) -> Json:
    """A flat V1 policy in V2 ``{"Type","Settings"}`` form (not yet validated)."""
    ptype = policy.get("Type")
    if not isinstance(ptype, str):
        raise _fail(InvalidPolicyType, "policy without a string Type")
    mapping = _BY_V1[id(table)].get(ptype.lower())
    settings = {k: v for k, v in policy.items() if k != "Type"}
    if mapping is None:
        # V1 also accepts V2 type names written flat (e.g. RemoteSubnetRoute).
        return {"Type": ptype, "Settings": settings}
    out = {mapping.keys.get(k, k): v for k, v in settings.items()}
    if mapping.v2 == "PortMapping":
        proto = out.get("Protocol")
        if isinstance(proto, str):
            if proto.upper() not in _PROTO_NAMES:
                raise _fail(InvalidPolicy, f"unknown protocol {proto!r}")
            out["Protocol"] = _PROTO_NAMES[proto.upper()]
        reserved = out.pop("ExternalPortReserved", None)
        if reserved is not None:
            try:
                if as_bool(reserved):
                    out["Flags"] = int(out.get("Flags", 0) or 0) | _EXTERNAL_PORT_RESERVED
            except (Bad, TypeError, ValueError):
                raise _fail(InvalidPolicy, "ExternalPortReserved must be a boolean") from None
    if mapping.v2 == "ACL" and "Protocols" not in out and "Protocol" in out:
        proto = out["Protocol"]
        if isinstance(proto, int) and not isinstance(proto, bool):
            out["Protocols"] = str(proto)
    return {"Type": mapping.v2, "Settings": out}


def to_v1(policy: Json, table: Mapping[str, Spec]) -> Json:
    """A stored V2 policy written flat, as V1 shows it."""
    ptype = policy["Type"]
    settings = dict(policy.get("Settings") or {})
    mapping = _BY_V2[id(table)].get(ptype)
    if mapping is None:
        return {"Type": ptype, **settings}
    back = {v2: v1 for v1, v2 in mapping.keys.items()}
    out: Json = {"Type": mapping.v1}
    for key, value in settings.items():
        out[str(back.get(key, key))] = value
    if mapping.v2 == "PortMapping":
        proto = out.get("Protocol")
        if isinstance(proto, int) and proto in _PROTO_NUMS:
            out["Protocol"] = _PROTO_NUMS[proto]
        flags = out.get("Flags")
        if isinstance(flags, int) and flags & _EXTERNAL_PORT_RESERVED:
            out["ExternalPortReserved"] = True
            rest = flags & ~_EXTERNAL_PORT_RESERVED
            if rest:
                out["Flags"] = rest
            else:
                del out["Flags"]
    return out


def endpoint_policy_from_v1(policy: Json) -> Json:
    return from_v1(policy, ENDPOINT_POLICY_TYPES)


def endpoint_policy_to_v1(policy: Json) -> Json:
    return to_v1(policy, ENDPOINT_POLICY_TYPES)


def subnet_policy_from_v1(policy: Json) -> Json:
    return from_v1(policy, SUBNET_POLICY_TYPES)


def subnet_policy_to_v1(policy: Json) -> Json:
    return to_v1(policy, SUBNET_POLICY_TYPES)


# Keep these importable for callers that validate single values.
__all__ += ["Spec", "any_json", "from_v1", "to_v1", "validate_v2"]
