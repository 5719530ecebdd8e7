"""Invalid objects, each paired (``Invalid``) with the HRESULT HNS answers for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from hns import errors
from hns.testing.strategies.common import (
    Json,
    ipv4_addresses,
)
from hns.testing.strategies.objects import (
    _gateways,
    _subnets_of,
    acl_policy,
    endpoints,
    load_balancers,
    networks,
    remote_subnet_routes,
)


@dataclass(frozen=True, slots=True)
class Invalid:
    """An object HNS refuses: the settings, the error class and why.  ``hresult`` is the
    code the client sees (``error.hresult``)."""

    body: Any
    error: type[errors.HnsError]
    reason: str

    @property
    def hresult(self) -> int:
        return int(self.error.hresult)


def _with(body: Json, path: Sequence[str | int], value: Any) -> Json:
    """A deep copy of ``body`` with ``value`` at ``path`` (keys / list indexes)."""
    import copy

    out = copy.deepcopy(body)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _without(body: Json, key: str) -> Json:
    return {k: v for k, v in body.items() if k != key}


@st.composite
def invalid_networks(draw: st.DrawFn) -> Invalid:
    """A valid ``networks()`` draw with one fault, uniform over: unknown Type
    (InvalidNetworkType), no Name (InvalidNetwork), prefix length 33 (InvalidPrefix),
    gateway outside the subnet (InvalidSubnet), VSID 4095 or 2^24 (InvalidPolicy), unknown
    policy type (InvalidPolicyType), MAC pool start after end (InvalidNetwork), a body that
    is a JSON array (InvalidJson)."""
    good = draw(networks(types=("Overlay",)))
    subnet: list[str | int] = ["Ipams", 0, "Subnets", 0]
    prefix = ipaddress.IPv4Network(good["Ipams"][0]["Subnets"][0]["IpAddressPrefix"])
    outside = str(ipaddress.IPv4Address((int(prefix.broadcast_address) + 1) % (1 << 32)))
    choices = [
        Invalid(_with(good, ["Type"], draw(st.sampled_from(["Bridge", "nat2", "Overlay "]))),
                errors.InvalidNetworkType, "unknown network type"),
        Invalid(_without(good, "Name"), errors.InvalidNetwork, "no Name"),
        Invalid(_with(good, [*subnet, "IpAddressPrefix"], f"{prefix.network_address}/33"),
                errors.InvalidPrefix, "prefix length 33"),
        Invalid(_with(good, [*subnet, "Routes", 0, "NextHop"], outside),
                errors.InvalidSubnet, "gateway outside its subnet"),
        Invalid(_with(good, [*subnet, "Policies", 0, "Settings", "IsolationId"],
                      draw(st.sampled_from([4095, 1 << 24, 0]))),
                errors.InvalidPolicy, "VSID out of 4096..2^24-1"),
        Invalid(_with(good, ["Policies"], [{"Type": "NoSuchPolicy", "Settings": {}}]),
                errors.InvalidPolicyType, "unknown network policy type"),
        Invalid(_with(good, ["MacPool"], {"Ranges": [{"StartMacAddress": "00-15-5D-00-00-FF",
                                                      "EndMacAddress": "00-15-5D-00-00-00"}]}),
                errors.InvalidNetwork, "MAC pool start after end"),
        Invalid([good], errors.InvalidJson, "a JSON array, not an object"),
    ]
    return draw(st.sampled_from(choices))


@st.composite
def invalid_endpoints(draw: st.DrawFn, network: Json) -> Invalid:
    """A valid ``endpoints(network, ip=True)`` draw with one fault, uniform over: address
    outside every subnet (InvalidIp), the subnet's network address or gateway
    (AddrInvalidOrReserved), a network id that does not exist (NetworkNotFound),
    HostComputeNamespace set (InvalidEndpoint), PrefixLength 33 (InvalidPrefix), a MAC
    that is not one (InvalidEndpoint), an ACL with an unknown protocol (InvalidPolicy)."""
    good = draw(endpoints(network, ip=True, acls=False))
    nets = _subnets_of(network)
    outside = draw(ipv4_addresses().filter(
        lambda a: not any(ipaddress.IPv4Address(a) in n for n in nets)))
    net = nets[0]
    reserved = [str(g) for g in _gateways(network) if g]
    if net.prefixlen < 31:
        reserved.append(str(net.network_address))
    missing = str(draw(st.uuids()))
    choices = [
        Invalid(_with(good, ["IpConfigurations", 0, "IpAddress"], outside),
                errors.InvalidIp, "address in no subnet"),
        Invalid(_with(good, ["IpConfigurations", 0, "IpAddress"],
                      draw(st.sampled_from(reserved))),
                errors.AddrInvalidOrReserved, "network address or gateway"),
        Invalid(_with(good, ["HostComputeNetwork"], missing),
                errors.NetworkNotFound, "network does not exist"),
        Invalid(_with(good, ["HostComputeNamespace"], missing),
                errors.InvalidEndpoint, "HostComputeNamespace is read only"),
        Invalid(_with(good, ["IpConfigurations", 0, "PrefixLength"], 33),
                errors.InvalidPrefix, "prefix length 33"),
        Invalid(_with(good, ["MacAddress"], "00-15-5D-ZZ-00-01"),
                errors.InvalidEndpoint, "not a MAC address"),
        Invalid(_with(good, ["Policies"], [
            {"Type": "ACL", "Settings": {"Protocols": "257", "Action": "Allow",
                                         "Direction": "In"}}]),
                errors.InvalidPolicy, "ACL protocol 257"),
    ]
    return draw(st.sampled_from(choices))


@st.composite
def invalid_acl_policies(draw: st.DrawFn) -> Invalid:
    """A valid ``acl_policy()`` with one fault, uniform over: protocol 257 or "tcp",
    Action "Deny", Direction "Both", address "Any" (hcsshim#1059), port 65536, a reversed
    port range, Priority 65536, no Direction.  All are InvalidPolicy."""
    good = draw(acl_policy(protocols=("6", "17")))
    s = ["Settings"]
    faults = [
        ([*s, "Protocols"], draw(st.sampled_from(["257", "tcp", "6;17"])), "bad protocol"),
        ([*s, "Action"], "Deny", "Action is Allow/Block/Pass"),
        ([*s, "Direction"], "Both", "Direction is In/Out"),
        ([*s, "RemoteAddresses"], "Any", "'Any' is not an address"),
        ([*s, "LocalPorts"], "65536", "port above 65535"),
        ([*s, "RemotePorts"], "2000-1000", "reversed range"),
        ([*s, "Priority"], 65536, "priority above 65535"),
    ]
    choices = [Invalid(_with(good, path, value), errors.InvalidPolicy, why)
               for path, value, why in faults]
    no_direction = _with(good, ["Settings"], _without(good["Settings"], "Direction"))
    choices.append(Invalid(no_direction, errors.InvalidPolicy, "no Direction"))
    return draw(st.sampled_from(choices))


@st.composite
def invalid_load_balancers(draw: st.DrawFn, endpoint_ids: Sequence[str]) -> Invalid:
    """A valid ``load_balancers(endpoint_ids)`` draw with one fault, uniform over:
    InternalPort 0 (InvalidInternalPort), protocol ICMP or 256 (InvalidPolicy), no port
    mappings (InvalidPolicy), DistributionType 3 (InvalidPolicy), a VIP that is not an
    address (InvalidPolicy), a backend endpoint that does not exist (EndpointNotFound)."""
    good = draw(load_balancers(endpoint_ids))
    pm: list[str | int] = ["PortMappings", 0]
    choices = [
        Invalid(_with(good, [*pm, "InternalPort"], 0), errors.InvalidInternalPort,
                "internal port 0"),
        Invalid(_with(good, [*pm, "Protocol"], draw(st.sampled_from([1, 256]))),
                errors.InvalidPolicy, "protocol is not TCP/UDP"),
        Invalid(_with(good, ["PortMappings"], []), errors.InvalidPolicy, "no port mappings"),
        Invalid(_with(good, [*pm, "DistributionType"], 3), errors.InvalidPolicy,
                "DistributionType above 2"),
        Invalid(_with(good, ["FrontendVIPs"], ["300.1.1.1"]), errors.InvalidPolicy,
                "VIP is not an address"),
        Invalid(_with(good, ["HostComputeEndpoints"], [str(draw(st.uuids()))]),
                errors.EndpointNotFound, "backend endpoint does not exist"),
    ]
    return draw(st.sampled_from(choices))


@st.composite
def invalid_remote_subnet_routes(draw: st.DrawFn) -> Invalid:
    """A valid ``remote_subnet_routes()`` policy with one fault, uniform over: prefix
    length 33, IsolationId 2^24, a ProviderAddress that is not an address, no
    DestinationPrefix.  All are InvalidPolicy (sent in a network Policy Add)."""
    good = draw(remote_subnet_routes())
    s = ["Settings"]
    choices = [
        Invalid(_with(good, [*s, "DestinationPrefix"], "10.0.0.0/33"), errors.InvalidPolicy,
                "prefix length 33"),
        Invalid(_with(good, [*s, "IsolationId"], 1 << 24), errors.InvalidPolicy,
                "IsolationId above 2^24-1"),
        Invalid(_with(good, [*s, "ProviderAddress"], "node-1"), errors.InvalidPolicy,
                "PA is not an address"),
        Invalid(_with(good, ["Settings"], _without(good["Settings"], "DestinationPrefix")),
                errors.InvalidPolicy, "no DestinationPrefix"),
    ]
    return draw(st.sampled_from(choices))
