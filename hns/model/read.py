"""The typed read side of stored HNS objects: what the compiler (hns/compiler/) and the
emulated hosts (hns/hosts/) see of a network, an endpoint, a load balancer and an SDN route.

The service stores validated dicts in the canonical V2 form (the other hns.model modules
own that form). The compiler's mirror (hns/compiler/view.py) and the hosts' index read each
stored dict once, when it changes, into a frozen, slotted object. Addresses are parsed to
integers. Policies are grouped by type, with their settings typed. Flags become booleans.
Past this module nothing reads an object field by string key.

Why small readers and not the pydantic models of hns/schema: the stored form has already
been validated on its way in, so reading it again needs only a few dict lookups. A kube-proxy
node holds 15,000 objects, and a cold restart reads all of them before it compiles
(bench/compiler.py measures the cost). `model_validate` on each one would cost about ten
times as much.

Each reader keeps the exact reading the compiler used before (a policy the compiler skips,
such as a PortMapping without an InternalPort, is kept here and skipped there), so the
compiled VFP state stays the same.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hns.model.common import EP_REMOTE, LB_DSR, LB_IPV6, PM_ILB
from hns.ports import host_port_id, host_port_name, port_id_of
from vfp.addr import parse_mac
from vfp.conditions import parse_ports

Json = dict[str, Any]
#: inclusive (first, last) address or port ranges
Ranges = tuple[tuple[int, int], ...]

#: LoadBalancer PortMapping flag: keep the backend's address as destination (LB rules'
#: "_PDIP" suffix)
PM_PRESERVE_DIP = 8

__all__ = ["PM_PRESERVE_DIP", "Acl", "Endpoint", "LbPortMapping", "LoadBalancer", "Network",
           "OutboundNat", "PortMap", "Prefix", "Ranges", "ReadCache", "RemoteSubnetRoute", "Route",
           "SdnRoute", "Subnet", "ip4", "ip_of_version", "parse_range", "read_endpoint",
           "read_load_balancer", "read_network", "read_route", "stored_key"]


# -- addresses ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def parse_range(prefix: str) -> tuple[int, int, int] | None:
    """(version, first, last) of an address or prefix, None when it is neither (cached:
    kube-proxy repeats the same addresses and prefixes a lot)."""
    text = prefix.strip()
    addr, _, length = text.partition("/")
    try:
        value = int.from_bytes(socket.inet_aton(addr), "big") if addr.count(".") == 3 else None
        if value is not None:
            bits = int(length) if length else 32
            if not 0 <= bits <= 32:
                return None
            host = (1 << (32 - bits)) - 1
            return 4, value & ~host, (value & ~host) | host
    except (OSError, ValueError):
        pass
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


def ip_of_version(text: Any, version: int) -> int | None:
    """An address (not a prefix) of this IP version as an int, or None."""
    if text is None:
        return None
    value = str(text)
    if "/" in value:
        return None
    got = parse_range(value)
    return got[1] if got is not None and got[0] == version else None


def ip4(text: Any) -> int | None:
    """An IPv4 address as an int, or None (not an address, or IPv6)."""
    return ip_of_version(text, 4)


_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[-:][0-9A-Fa-f]{2}){5}")


def _mac(text: Any) -> int | None:
    if not text:
        return None
    value = str(text)
    if _MAC.fullmatch(value):  # the stored spelling; a third of parse_mac's cost
        return int(value.replace("-", "").replace(":", ""), 16)
    try:
        return parse_mac(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Prefix:
    """An address or prefix as written (rule ids embed the text) and its range."""

    text: str
    #: 4 or 6; 0 when the text is not an address or prefix
    version: int
    first: int
    last: int

    @property
    def ranges4(self) -> Ranges:
        """Its range when it is IPv4, else ()."""
        return ((self.first, self.last),) if self.version == 4 else ()

    @property
    def length(self) -> int:
        """The prefix length (IPv4)."""
        return 32 - ((self.last - self.first).bit_length())


def _prefix(value: Any) -> Prefix:
    text = str(value)
    got = parse_range(text)
    return Prefix(text, 0, 0, 0) if got is None else Prefix(text, *got)


def _policies(obj: Json, ptype: str) -> list[Json]:
    """The Settings of every policy of one type (case-insensitive)."""
    low = ptype.lower()
    return [p.get("Settings") or {} for p in obj.get("Policies") or ()
            if str(p.get("Type", "")).lower() == low]


def _by_type(obj: Json) -> dict[str, list[Json]]:
    """Every policy's Settings by lower-case Type, in order: one pass over the list."""
    out: dict[str, list[Json]] = {}
    for p in obj.get("Policies") or ():
        out.setdefault(str(p.get("Type", "")).lower(), []).append(p.get("Settings") or {})
    return out


# -- policies ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Acl:
    """An ACL (endpoint) or NetworkACL (network) policy."""

    #: its Id ("" when none)
    id: str
    #: RuleType Host: a Windows Filtering Platform rule, recorded, not programmed in VFP
    host: bool
    inbound: bool
    #: Allow, Pass or Block
    action: str
    priority: int
    #: protocol numbers; () is any
    protocols: tuple[int, ...]
    #: (IPv4 ranges, IPv6 ranges); None: any address
    local: tuple[Ranges, Ranges] | None
    remote: tuple[Ranges, Ranges] | None
    local_ports: Ranges
    remote_ports: Ranges
    #: the settings as stored (Compiler.host_acls hands Host ACLs back as recorded)
    settings: Json = field(compare=False, repr=False)


def _acl_addresses(text: Any) -> tuple[Ranges, Ranges] | None:
    if not text or not str(text).strip():
        return None
    out: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for part in str(text).split(","):
        got = parse_range(part)
        if got is not None:
            out[got[0]].append((got[1], got[2]))
    return tuple(out[4]), tuple(out[6])


def _acl_ports(settings: Json, many: str, one: str) -> Ranges:
    text = settings.get(many)
    if text:
        return parse_ports(str(text))
    value = settings.get(one)
    if isinstance(value, int) and value > 0:
        return ((value, value),)
    return ()


def _acl_protocols(settings: Json) -> tuple[int, ...]:
    """ACL Protocols -> protocol numbers; () is any (256, empty, or any part 256)."""
    text = settings.get("Protocols")
    if not text and isinstance(settings.get("Protocol"), int):
        text = str(settings["Protocol"])
    if not text:
        return ()
    nums = [int(p) for p in str(text).split(",") if p.strip()]
    if any(n == 256 for n in nums):
        return ()
    return tuple(n for n in nums if 0 <= n <= 255)


def _acl(s: Json) -> Acl:
    priority = s.get("Priority")
    return Acl(
        id=str(s.get("Id") or ""), host=str(s.get("RuleType") or "") == "Host",
        inbound=str(s.get("Direction", "In")) == "In", action=str(s.get("Action", "Block")),
        priority=priority if isinstance(priority, int) else 0,
        protocols=_acl_protocols(s),
        local=_acl_addresses(s.get("LocalAddresses")),
        remote=_acl_addresses(s.get("RemoteAddresses")),
        local_ports=_acl_ports(s, "LocalPorts", "LocalPort"),
        remote_ports=_acl_ports(s, "RemotePorts", "RemotePort"), settings=s)


@dataclass(frozen=True, slots=True)
class OutboundNat:
    """An OutBoundNAT policy."""

    #: no VirtualIP: SNAT to the host's address
    host_vip: bool
    #: the VirtualIP (IPv4); None with a VirtualIP that is not IPv4 (the policy is unusable)
    virtual_ip: int | None
    exceptions: tuple[Prefix, ...]
    destinations: tuple[Prefix, ...]


def _outbound_nat(s: Json) -> OutboundNat:
    vip = s.get("VirtualIP")
    return OutboundNat(not vip, ip4(vip) if vip else None,
                       tuple(_prefix(p) for p in s.get("Exceptions") or ()),
                       tuple(_prefix(p) for p in s.get("Destinations") or ()))


@dataclass(frozen=True, slots=True)
class PortMap:
    """An endpoint's PortMapping policy (a published host port)."""

    #: 0: none given (the policy publishes nothing)
    internal_port: int
    external_port: int
    #: 0: TCP and UDP
    protocol: int
    #: no VIP: the host's address
    host_vip: bool
    vip: int | None


def _port_map(s: Json) -> PortMap:
    internal = s.get("InternalPort")
    internal = internal if isinstance(internal, int) and internal > 0 else 0
    vip = s.get("VIP")
    return PortMap(internal, int(s.get("ExternalPort") or internal),
                   int(s.get("Protocol") or 0), not vip, ip4(vip) if vip else None)


@dataclass(frozen=True, slots=True)
class SdnRoute:
    """One route of an SDNRoute policy or of a HostComputeRoute object."""

    #: None: no DestinationPrefix
    prefix: Prefix | None
    need_encap: bool


def _sdn_route(s: Json) -> SdnRoute:
    prefix = s.get("DestinationPrefix")
    return SdnRoute(_prefix(prefix) if prefix else None, bool(s.get("NeedEncap")))


# -- endpoint ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Endpoint:
    """A stored endpoint as the compiler and the hosts read it."""

    id: str
    #: its ID, upper case (the mirrors' key)
    key: str
    name: str
    #: the GUID of its VFP port (hns/ports.py)
    port_id: str
    #: the key of its network; None when it names none
    network: str | None
    #: Flags bit 0: an endpoint of another host (a CA -> PA mapping here, no port)
    remote: bool
    #: MacAddress; None when there is none or it does not parse
    mac: int | None
    #: its first IPv4 address, as stored and as an int, and that configuration's length
    ipv4_text: str | None
    ipv4: int | None
    #: the PrefixLength of its IPv4 configuration (24 when none is given)
    prefix_len: int
    ipv6: int | None
    #: the NextHop of its IPv4 default route (Routes), as stored
    gateway: str | None
    #: its ProviderAddress policy (the last one; IPv4): where a remote endpoint lives
    provider_address: int | None
    #: that policy's address as stored (IPv6 too), for the hosts' endpoint table
    provider_address_text: str | None
    acls: tuple[Acl, ...]
    outbound_nats: tuple[OutboundNat, ...]
    port_maps: tuple[PortMap, ...]
    sdn_routes: tuple[SdnRoute, ...]
    #: its EncapOverhead policy's Overhead (the first one above 0); None: the default
    encap_overhead: int | None

    def ip(self, version: int) -> int | None:
        return self.ipv4 if version == 4 else self.ipv6


def _addresses(ep: Json) -> tuple[str | None, int | None, int, int | None]:
    text4: str | None = None
    ip6: int | None = None
    plen = 24
    for config in ep.get("IpConfigurations") or ():
        ip = config.get("IpAddress")
        if not ip:
            continue
        if ":" in ip:
            if ip6 is None:
                ip6 = ip_of_version(ip, 6)
        elif text4 is None:
            text4 = str(ip)
            given = config.get("PrefixLength")
            if isinstance(given, int) and 0 < given <= 32:
                plen = given
    return text4, ip4(text4), plen, ip6


def _gateway(ep: Json) -> str | None:
    gateway = None
    for route in ep.get("Routes") or ():
        hop = route.get("NextHop")
        if route.get("DestinationPrefix") == "0.0.0.0/0" and ip4(hop):  # 0.0.0.0: none
            gateway = str(hop)
    return gateway


def read_endpoint(ep: Json) -> Endpoint:
    text4, ip, plen, ip6 = _addresses(ep)
    net = ep.get("HostComputeNetwork")
    acls: tuple[Acl, ...] = ()
    nats: tuple[OutboundNat, ...] = ()
    maps: tuple[PortMap, ...] = ()
    routes: tuple[SdnRoute, ...] = ()
    pa: int | None = None
    pa_text: str | None = None
    overhead: int | None = None
    if ep.get("Policies"):
        by_type = _by_type(ep)
        acls = tuple(_acl(s) for s in by_type.get("acl", ()))
        nats = tuple(_outbound_nat(s) for s in by_type.get("outboundnat", ()))
        maps = tuple(_port_map(s) for s in by_type.get("portmapping", ()))
        routes = tuple(_sdn_route(s) for s in by_type.get("sdnroute", ()))
        for s in by_type.get("provideraddress", ()):
            given = s.get("ProviderAddress")
            pa = ip4(given)
            pa_text = given if isinstance(given, str) else pa_text
        overhead = next((v for s in by_type.get("encapoverhead", ())
                         if isinstance(v := s.get("Overhead"), int) and v > 0), None)
    return Endpoint(
        id=str(ep["ID"]), key=str(ep["ID"]).upper(), name=str(ep.get("Name") or ""),
        port_id=port_id_of(ep), network=str(net).upper() if net else None,
        remote=bool(int(ep.get("Flags") or 0) & EP_REMOTE), mac=_mac(ep.get("MacAddress")),
        ipv4_text=text4, ipv4=ip, prefix_len=plen, ipv6=ip6, gateway=_gateway(ep),
        provider_address=pa, provider_address_text=pa_text, acls=acls, outbound_nats=nats,
        port_maps=maps, sdn_routes=routes, encap_overhead=overhead)


# -- network -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subnet:
    """One subnet of a network's Ipams."""

    #: IpAddressPrefix; None when there is none
    prefix: Prefix | None
    #: its first VSID policy's IsolationId (above 0); None: none
    vsid: int | None
    #: the IPv4 NextHops of its Routes
    gateways: tuple[int, ...]


def _subnet(s: Json) -> Subnet:
    vsid = next((v for p in _policies(s, "VSID")
                 if isinstance(v := p.get("IsolationId"), int) and v > 0), None)
    prefix = s.get("IpAddressPrefix")
    hops = (ip4(r.get("NextHop")) for r in s.get("Routes") or ())
    return Subnet(_prefix(prefix) if prefix else None, vsid,
                  tuple(h for h in hops if h is not None))


@dataclass(frozen=True, slots=True)
class RemoteSubnetRoute:
    """A RemoteSubnetRoute policy: a prefix reached through another host's PA."""

    #: None: no DestinationPrefix
    prefix: Prefix | None
    provider_address: int | None
    #: 0: the network's VSID
    isolation_id: int
    #: DistributedRouterMacAddress; None: none
    dr_mac: int | None


def _remote_subnet(s: Json) -> RemoteSubnetRoute:
    prefix = s.get("DestinationPrefix")
    return RemoteSubnetRoute(_prefix(prefix) if prefix else None,
                             ip4(s.get("ProviderAddress")), int(s.get("IsolationId") or 0),
                             _mac(s.get("DistributedRouterMacAddress")))


@dataclass(frozen=True, slots=True)
class Network:
    """A stored network as the compiler and the hosts read it."""

    id: str
    key: str
    name: str
    type: str
    #: Type Overlay: VXLAN between hosts (VNET layers on its ports)
    overlay: bool
    subnets: tuple[Subnet, ...]
    #: whether a ProviderAddress policy names this host's PA on the network, and that PA
    #: (None: it is not IPv4)
    has_provider_address: bool
    provider_address: int | None
    acls: tuple[Acl, ...]
    remote_subnet_routes: tuple[RemoteSubnetRoute, ...]
    #: the first VxlanPort policy's Port; None: none
    vxlan_port: int | None
    #: the last DrMacAddress policy's Address; None: none
    dr_mac: int | None
    #: the GUID and name of its host vNIC port (hns/ports.py)
    host_port_id: str
    host_port_name: str

    def vsid_for(self, ip: int | None) -> int | None:
        """The VSID (VXLAN VNI) of the subnet holding `ip`, else of the first subnet that
        has one; None when no subnet has one."""
        first: int | None = None
        for subnet in self.subnets:
            if subnet.vsid is None:
                continue
            if first is None:
                first = subnet.vsid
            p = subnet.prefix
            if ip is not None and p is not None and p.version == 4 and p.first <= ip <= p.last:
                return subnet.vsid
        return first


def read_network(net: Json) -> Network:
    by_type = _by_type(net)
    pa_text = next((str(s["ProviderAddress"]) for s in by_type.get("provideraddress", ())
                    if s.get("ProviderAddress")), None)
    vxlan_port = next((p for s in by_type.get("vxlanport", ())
                       if isinstance(p := s.get("Port"), int)), None)
    dr_mac = None
    for s in by_type.get("drmacaddress", ()):
        dr_mac = _mac(s.get("Address"))
    net_type = str(net.get("Type", "NAT"))
    return Network(
        id=str(net["ID"]), key=str(net["ID"]).upper(), name=str(net.get("Name", "")),
        type=net_type, overlay=net_type == "Overlay",
        subnets=tuple(_subnet(s) for ipam in net.get("Ipams") or ()
                      for s in ipam.get("Subnets") or ()),
        has_provider_address=pa_text is not None, provider_address=ip4(pa_text),
        acls=tuple(_acl(s) for s in by_type.get("networkacl", ())),
        remote_subnet_routes=tuple(_remote_subnet(s)
                                   for s in by_type.get("remotesubnetroute", ())),
        vxlan_port=vxlan_port, dr_mac=dr_mac, host_port_id=host_port_id(net),
        host_port_name=host_port_name(net))


# -- load balancer and SDN route -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LbPortMapping:
    #: 0: any protocol
    protocol: int
    #: 0: every port (Docker's ILB)
    internal_port: int
    #: the stored ExternalPort, else the InternalPort
    external_port: int
    distribution: int
    #: Flags bit 0: internal load balancer (ILB), not reachable from outside the host
    ilb: bool
    preserve_dip: bool


def _lb_port_mapping(pm: Json) -> LbPortMapping:
    internal = int(pm.get("InternalPort") or 0)
    flags = int(pm.get("Flags") or 0)
    return LbPortMapping(int(pm.get("Protocol") or 0), internal,
                         int(pm.get("ExternalPort") or internal),
                         int(pm.get("DistributionType") or 0), bool(flags & PM_ILB),
                         bool(flags & PM_PRESERVE_DIP))


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """A stored load balancer as the compiler reads it."""

    id: str
    key: str
    #: its HostComputeNetwork's key; None: every network (kube-proxy leaves it out)
    network: str | None
    #: the keys of its backend endpoints, in order
    backends: tuple[str, ...]
    #: Flags bit 0: direct server return
    dsr: bool
    #: 6 for an IPv6 load balancer (Flags bit 1), else 4
    version: int
    #: its FrontendVIPs of its IP version
    frontend_vips: tuple[int, ...]
    #: no FrontendVIPs at all: a NodePort, on the host's own address
    node_port: bool
    #: SourceVIP (IPv4): what backends see as the client (kube-proxy's sourceVip)
    source_vip: int | None
    port_mappings: tuple[LbPortMapping, ...]


def read_load_balancer(lb: Json) -> LoadBalancer:
    flags = int(lb.get("Flags") or 0)
    version = 6 if flags & LB_IPV6 else 4
    vips = lb.get("FrontendVIPs") or ()
    net = lb.get("HostComputeNetwork")
    return LoadBalancer(
        id=str(lb["ID"]), key=str(lb["ID"]).upper(),
        network=str(net).upper() if net else None,
        backends=tuple(str(e).upper() for e in lb.get("HostComputeEndpoints") or ()),
        dsr=bool(flags & LB_DSR), version=version,
        frontend_vips=tuple(v for v in (ip_of_version(x, version) for x in vips)
                            if v is not None),
        node_port=not vips, source_vip=ip4(lb.get("SourceVIP")),
        port_mappings=tuple(_lb_port_mapping(pm) for pm in lb.get("PortMappings") or ()))


@dataclass(frozen=True, slots=True)
class Route:
    """A stored HostComputeRoute (SDN route object)."""

    id: str
    key: str
    #: the keys of the endpoints whose ports carry its routes
    endpoints: tuple[str, ...]
    routes: tuple[SdnRoute, ...]


def read_route(route: Json) -> Route:
    return Route(str(route["ID"]), str(route["ID"]).upper(),
                 tuple(str(e).upper() for e in route.get("HostComputeEndpoints") or ()),
                 tuple(_sdn_route(r) for r in route.get("Routes") or ()))


# -- reading once ------------------------------------------------------------------------------
def stored_key(raw: Json) -> str:
    """The key a stored object is kept under (its ID, upper case)."""
    return str(raw["ID"]).upper()


_T = TypeVar("_T")


class ReadCache(Generic[_T]):
    """Typed objects by key, each read again only when its stored dict is not the very one
    read before (the service replaces a stored dict on every change and never mutates it),
    so a full re-read after a reset, load or rollback costs a lookup per unchanged object."""

    __slots__ = ("_reader", "_seen")

    def __init__(self, reader: Callable[[Json], _T]) -> None:
        self._reader = reader
        self._seen: dict[str, tuple[Json, _T]] = {}

    def read(self, key: str, raw: Json) -> _T:
        seen = self._seen.get(key)
        if seen is not None and seen[0] is raw:
            return seen[1]
        obj = self._reader(raw)
        self._seen[key] = (raw, obj)
        return obj

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget every key but these (what a full re-read found)."""
        wanted = set(keys)
        for key in [k for k in self._seen if k not in wanted]:
            del self._seen[key]
