"""The typed read side of stored HNS objects for the service's decisions (hns/service/):
what it checks of a network, an endpoint, a load balancer and a namespace before it writes.

The compiler and the hosts read their own objects (hns/model/read.py: addresses as
integers, policies typed for programming VFP). The service decides on other things and in
the spelling the stored form keeps: an endpoint's network reference and addresses as
written (the service's indexes key on them), its attach state and shared containers, its
namespace; a network's subnets with their ids, prefixes and gateways, its MAC pool, the
policy types it carries; a namespace's type, compartment and members. Each reader takes a
stored dict (or the stored form a request was just parsed into, whose ID may still be
None) and gives a frozen, slotted object; past it the service reads no field by string key.

Writing the stored form (building the dicts the store keeps and the wire renders) stays
with the other hns.model modules and with the service's own planning of a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hns.model.common import EP_REMOTE, NET_ENABLE_NON_PERSISTENT
from hns.schema.policy import PortMappingSettings

Json = dict[str, Any]

__all__ = ["StoredEndpoint", "StoredLoadBalancer", "StoredNamespace", "StoredNetwork",
           "StoredSubnet", "endpoint_reservations", "lb_reservations", "policy_types",
           "port_mappings", "stored_endpoint", "stored_id", "stored_load_balancer",
           "stored_namespace", "stored_network"]


def policy_types(policies: Iterable[Json]) -> tuple[str, ...]:
    """The Type of each policy of a stored policy array, in order."""
    return tuple(str(p["Type"]) for p in policies)


def port_mappings(policies: Iterable[Json]) -> list[PortMappingSettings]:
    """The settings of the PortMapping policies of a stored policy array (already checked
    when they were parsed), as their model."""
    return [PortMappingSettings.model_validate(p["Settings"]) for p in policies
            if p["Type"] == "PortMapping"]


def stored_id(obj: Json) -> str:
    """The ID of a stored object of any kind (the store keeps none without one), as written."""
    return str(obj["ID"])


def endpoint_reservations(ep: Json) -> list[tuple[int, int, str]]:
    """The (Protocol, ExternalPort, VIP or "") host ports an endpoint's PortMapping
    policies hold (those with an ExternalPort; Protocol 6, TCP, when it names none)."""
    out = []
    for policy in ep.get("Policies", []):
        if policy["Type"] == "PortMapping":
            s = policy["Settings"]
            if s.get("ExternalPort"):
                out.append((s.get("Protocol", 6) or 6, s["ExternalPort"], s.get("VIP", "")))
    return out


def lb_reservations(lb: Json) -> list[tuple[int, int, str]]:
    """The (Protocol, ExternalPort, frontend VIP or "": any address) a load balancer's
    PortMappings hold, one per frontend VIP."""
    vips = lb.get("FrontendVIPs") or [""]
    return [(pm["Protocol"], pm["ExternalPort"], vip)
            for pm in lb["PortMappings"] for vip in vips]


def _id(obj: Json) -> tuple[str | None, str]:
    ident = obj.get("ID")
    # the key the store keeps it under (hns/store/state.py key_of)
    return (None, "") if ident is None else (str(ident), str(ident).upper())


# -- network -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredSubnet:
    """One subnet of a network's Ipams, as written."""

    #: its ID (the key of its address pool)
    id: str
    #: IpAddressPrefix; None when there is none
    prefix: str | None
    #: the NextHop of its default route, else of its first route with one (hns/model
    #: subnet_gateway); None: none
    gateway: str | None


def _gateway(subnet: Json) -> str | None:
    routes = subnet.get("Routes") or []
    for route in routes:
        if route.get("DestinationPrefix") in ("0.0.0.0/0", "::/0") and route.get("NextHop"):
            return str(route["NextHop"])
    for route in routes:
        if route.get("NextHop"):
            return str(route["NextHop"])
    return None


@dataclass(frozen=True, slots=True)
class StoredNetwork:
    """A stored network (or a just-parsed one) as the service decides on it."""

    #: its ID as written; None: a parsed create that names none
    id: str | None
    key: str
    name: str
    type: str
    subnets: tuple[StoredSubnet, ...]
    #: StartMacAddress of its first MacPool range; None: no range
    mac_pool_start: str | None
    policy_types: tuple[str, ...]
    #: Flags has EnableNonPersistent: it and its endpoints go on a reboot or restart
    non_persistent: bool = False
    #: EndMacAddress of its first MacPool range; None: no range
    mac_pool_end: str | None = None


def stored_network(net: Json) -> StoredNetwork:
    ident, key = _id(net)
    ranges = (net.get("MacPool") or {}).get("Ranges") or []
    start = ranges[0].get("StartMacAddress") if ranges else None
    end = ranges[0].get("EndMacAddress") if ranges else None
    return StoredNetwork(
        id=ident, key=key, name=str(net.get("Name") or ""), type=str(net.get("Type") or ""),
        subnets=tuple(StoredSubnet(str(s.get("ID") or ""), s.get("IpAddressPrefix") or None,
                                   _gateway(s))
                      for ipam in net.get("Ipams") or () for s in ipam.get("Subnets") or ()),
        mac_pool_start=None if start is None else str(start),
        policy_types=policy_types(net.get("Policies") or ()),
        non_persistent=bool(int(net.get("Flags") or 0) & NET_ENABLE_NON_PERSISTENT),
        mac_pool_end=None if end is None else str(end))


# -- endpoint ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredEndpoint:
    """A stored endpoint (or a just-parsed one) as the service decides on it."""

    id: str | None
    key: str
    name: str
    #: its HostComputeNetwork as written; None: it names none
    network: str | None
    #: Flags bit 0: an endpoint of another host
    remote: bool
    #: MacAddress as written; None: none (or empty)
    mac: str | None
    #: the IpAddress of each of its IpConfigurations that has one, as written
    ip_addresses: tuple[str, ...]
    #: State (hns/model STATE_*); None: none yet
    state: int | None
    #: the containers sharing it (AttachedSharing), in order
    shared_containers: tuple[str, ...]
    #: the ID of its HostComputeNamespace; None: in none
    namespace: str | None
    policy_types: tuple[str, ...]


def stored_endpoint(ep: Json) -> StoredEndpoint:
    ident, key = _id(ep)
    net = ep.get("HostComputeNetwork")
    state = ep.get("State")
    return StoredEndpoint(
        id=ident, key=key, name=str(ep.get("Name") or ""),
        network=None if net is None else str(net),
        remote=bool(int(ep.get("Flags") or 0) & EP_REMOTE),
        mac=str(ep["MacAddress"]) if ep.get("MacAddress") else None,
        ip_addresses=tuple(str(c["IpAddress"]) for c in ep.get("IpConfigurations") or ()
                           if c.get("IpAddress")),
        state=state if isinstance(state, int) else None,
        shared_containers=tuple(ep.get("SharedContainers") or ()),
        namespace=str(ep["HostComputeNamespace"]) if ep.get("HostComputeNamespace") else None,
        policy_types=policy_types(ep.get("Policies") or ()))


# -- load balancer and SDN route -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredLoadBalancer:
    """A stored load balancer or SDN route (or a just-parsed one): its references."""

    id: str | None
    key: str
    #: its HostComputeNetwork as written; None: none (every network)
    network: str | None
    #: its HostComputeEndpoints as written, in order
    endpoints: tuple[str, ...]


def stored_load_balancer(lb: Json) -> StoredLoadBalancer:
    ident, key = _id(lb)
    net = lb.get("HostComputeNetwork")
    return StoredLoadBalancer(ident, key, str(net) if net else None,
                              tuple(str(e) for e in lb.get("HostComputeEndpoints") or ()))


# -- namespace -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredNamespace:
    """A stored namespace (or a just-parsed one) as the service decides on it."""

    id: str | None
    key: str
    #: HostDefault, GuestDefault or HostAdded (Type as written)
    type: str
    #: NamespaceId (the compartment); None: not assigned yet
    compartment: int | None
    #: its Resources as (Type, ID), in order
    resources: tuple[tuple[str, str], ...]

    def holds(self, rtype: str) -> bool:
        """Whether a resource of this type is a member."""
        return any(t == rtype for t, _ in self.resources)


def stored_namespace(ns: Json) -> StoredNamespace:
    ident, key = _id(ns)
    compartment = ns.get("NamespaceId")
    return StoredNamespace(
        id=ident, key=key, type=str(ns.get("Type") or ""),
        compartment=compartment if isinstance(compartment, int) else None,
        resources=tuple((str(r["Type"]), str(r["ID"])) for r in ns.get("Resources") or ()))
