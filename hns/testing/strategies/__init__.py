"""Hypothesis strategies for HNS objects: valid ones the emulator accepts, invalid ones each
paired with the HRESULT HNS answers, and packets aimed at what they create.

Every object is the V2 (HCN) settings document a client sends to ``HcnCreate*`` (or, for
policies, one item of ``Policies``).  Strategies that build on a created object take it as
an argument (``endpoints(network)`` needs the network as HNS returned it, with its ``ID``
and ``Ipams``); ``st.data()`` draws them in order inside a test.

Distributions.  Each strategy's docstring states its own; the common rule is that edge
values are drawn about half the time from a short list (``one_of(sampled_from(edges),
full_range)``), so hypothesis meets them in the first few examples:

    VSID / VNI          4096, 4097, 5000, 16777214, 16777215, else uniform 4096..2^24-1
    port                0, 1, 80, 443, 65535, else uniform 0..65535 (1.. where 0 is invalid)
    ACL priority        0, 100, 65500, 65535, else uniform 0..65535
    prefix length       /0 and /32 where the field allows them (ACL addresses, remote
                        subnet routes, SDN routes); network subnets /8../30 with /16, /24,
                        /30 oversampled (an endpoint must fit)
    subnets             drawn from a small pool of bases, so two networks often overlap

Nothing here talks to an emulator; the tests in tests/testing/ prove every valid object is
accepted and every invalid one refused with its HRESULT, on the default profile.  Options
that depend on a host profile (DSR, DistributionType) take ``profile=``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from hns import errors
from hns.profiles import DEFAULT_PROFILE, PROFILES
from vxlan import (
    ETH_P_IPV4,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    Ethernet,
    Frame,
    ICMPv4,
    IPv4,
    encode_frame,
    mac_from_text,
)

Json = dict[str, Any]
T = TypeVar("T")

__all__ = [
    "LB_PORT_MAPPING_FLAGS",
    "NETWORK_TYPES",
    "SCHEMA_V2",
    "Flow",
    "Invalid",
    "acl_policies",
    "acl_policy",
    "address_lists",
    "endpoint_ips",
    "endpoints",
    "flows",
    "flows_to_endpoint",
    "flows_to_load_balancer",
    "flows_to_remote_subnet",
    "frames",
    "invalid_acl_policies",
    "invalid_endpoints",
    "invalid_load_balancers",
    "invalid_networks",
    "invalid_remote_subnet_routes",
    "ipv4_addresses",
    "ipv4_prefixes",
    "load_balancers",
    "macs",
    "network_names",
    "networks",
    "overlapping_subnets",
    "port_ranges",
    "ports",
    "priorities",
    "remote_endpoints",
    "remote_subnet_routes",
    "subnets",
    "vsids",
]

SCHEMA_V2: Final[Json] = {"Major": 2, "Minor": 0}

#: Network types drawn by default: the ones real clients create (hcsshim's set plus
#: Internal and ICS from the PowerShell module).
NETWORK_TYPES: Final[tuple[str, ...]] = (
    "NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay", "Private", "Internal")

#: LoadBalancerPortMappingFlags: ILB 1, LocalRoutedVIP 2, UseMux 4, PreserveDIP 8,
#: VipExternalIP 16.
LB_PORT_MAPPING_FLAGS: Final[tuple[int, ...]] = (1, 2, 4, 8, 16)

_VSID_EDGES = (4096, 4097, 5000, 16777214, 16777215)
_PORT_EDGES = (0, 1, 80, 443, 65535)
_PRIORITY_EDGES = (0, 100, 65500, 65535)
# Bases for network subnets: a few, so that networks drawn together often overlap.
_SUBNET_BASES = ("10.0.0.0", "10.244.0.0", "10.244.1.0", "172.16.0.0", "172.20.0.0",
                 "192.168.0.0", "192.168.1.0")
_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")


def _edged(edges: Sequence[int], lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([e for e in edges if lo <= e <= hi]), st.integers(lo, hi))


def _or(given: st.SearchStrategy[T] | None, default: st.SearchStrategy[T]
        ) -> st.SearchStrategy[T]:
    return default if given is None else given


def _profile(name: str) -> Any:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}")
    return PROFILES[name]


# ---- scalars -----------------------------------------------------------------------------

def vsids() -> st.SearchStrategy[int]:
    """VXLAN VNIs / overlay VSIDs HNS accepts: 4096..16777215; half the draws from the
    edges 4096, 4097, 5000, 16777214, 16777215."""
    return _edged(_VSID_EDGES, 4096, (1 << 24) - 1)


def ports(*, allow_zero: bool = True) -> st.SearchStrategy[int]:
    """TCP/UDP ports: half from 0 (if allowed), 1, 80, 443, 65535; else uniform."""
    return _edged(_PORT_EDGES, 0 if allow_zero else 1, 65535)


def priorities() -> st.SearchStrategy[int]:
    """ACL priorities (smaller wins): half from 0, 100, 65500, 65535; else uniform."""
    return _edged(_PRIORITY_EDGES, 0, 65535)


def ipv4_addresses(*, within: str | None = None) -> st.SearchStrategy[str]:
    """IPv4 addresses as text, uniform over ``within`` (a prefix; default all of IPv4),
    with the first and last address of the range oversampled."""
    net = ipaddress.IPv4Network(within or "0.0.0.0/0", strict=False)
    lo, hi = int(net.network_address), int(net.broadcast_address)
    return _edged((lo, hi), lo, hi).map(lambda v: str(ipaddress.IPv4Address(v)))


def ipv4_prefixes(*, min_len: int = 0, max_len: int = 32) -> st.SearchStrategy[str]:
    """IPv4 prefixes in strict CIDR form (``a.b.c.d/n``, host bits zero); half the draws use
    the edge lengths /0 and /32 (when in range), the rest a uniform length; the address is
    uniform."""
    lengths = _edged((0, 32, min_len, max_len), min_len, max_len)
    return st.builds(
        lambda addr, plen: str(ipaddress.IPv4Network(f"{addr}/{plen}", strict=False)),
        st.integers(0, (1 << 32) - 1).map(lambda v: str(ipaddress.IPv4Address(v))), lengths)


def macs(*, prefix: str = "00-15-5D") -> st.SearchStrategy[str]:
    """MAC addresses in HNS's dash form, upper case, under a 3-byte OUI ``prefix`` (Hyper-V's
    00-15-5D by default); the low three bytes uniform."""
    return st.integers(0, 0xFFFFFF).map(
        lambda v: f"{prefix}-{v >> 16:02X}-{(v >> 8) & 0xFF:02X}-{v & 0xFF:02X}")


def network_names() -> st.SearchStrategy[str]:
    """Network / endpoint names: a short ASCII word plus 8 hex digits.  Random draws are
    distinct with overwhelming odds, but hypothesis' simplest examples repeat them: when
    one example creates several networks (HNS refuses a second network of the same name),
    add a suffix of your own."""
    word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
    return st.builds(lambda w, u: f"{w}-{u.hex[:8]}", word, st.uuids())


def port_ranges() -> st.SearchStrategy[str]:
    """ACL port fields: a single port (edges 0 and 65535 oversampled), a ``lo-hi`` range
    (``0-65535`` among them), or a comma list of up to three of these."""
    single = ports().map(str)
    span = st.tuples(ports(), ports()).map(lambda t: f"{min(t)}-{max(t)}")
    one = st.one_of(single, span, st.just("0-65535"))
    return st.one_of(one, st.lists(one, min_size=2, max_size=3).map(",".join))


def address_lists() -> st.SearchStrategy[str]:
    """ACL address fields: a comma list of one to three IPv4 prefixes (``/0`` and ``/32``
    oversampled) or bare addresses."""
    item = st.one_of(ipv4_prefixes(), ipv4_addresses())
    return st.lists(item, min_size=1, max_size=3).map(",".join)


# ---- networks ----------------------------------------------------------------------------

@st.composite
def subnets(draw: st.DrawFn, *, min_prefix: int = 8, max_prefix: int = 30,
            vsid: bool = False, vlan: bool = False) -> Json:
    """One V2 ``Subnet`` with a default route to its gateway.  Base address from a small
    pool (10.0/16, 10.244/16, 172.16/12 ... so subnets of different networks often
    overlap) or uniform in the private and shared ranges (10/8, 172.16/12, 192.168/16,
    100.64/10: what container subnets use); length /16, /24, /30 half the time, else uniform in
    [min_prefix, max_prefix]; gateway the first host (half) or any host.  ``vsid`` adds a
    VSID policy (``vsids()``), ``vlan`` a VLAN policy (0..4094, edges 0 and 4094)."""
    plen = draw(_edged((16, 24, 30, min_prefix, max_prefix), min_prefix, max_prefix))
    base = draw(st.one_of(st.sampled_from(_SUBNET_BASES),
                          st.sampled_from(_PRIVATE_RANGES).flatmap(
                              lambda r: ipv4_addresses(within=r))))
    net = ipaddress.IPv4Network(f"{base}/{plen}", strict=False)
    first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
    gateway = draw(st.one_of(st.just(first), st.integers(first, last)))
    subnet: Json = {
        "IpAddressPrefix": str(net),
        "Routes": [{"NextHop": str(ipaddress.IPv4Address(gateway)),
                    "DestinationPrefix": "0.0.0.0/0"}],
    }
    policies = []
    if vsid:
        policies.append({"Type": "VSID", "Settings": {"IsolationId": draw(vsids())}})
    if vlan:
        policies.append({"Type": "VLAN", "Settings": {"IsolationId": draw(
            _edged((0, 4094), 0, 4094))}})
    if policies:
        subnet["Policies"] = policies
    return subnet


def overlapping_subnets() -> st.SearchStrategy[tuple[Json, Json]]:
    """Two subnets that overlap (the second inside, equal to, or around the first), for
    two networks on one host.  Lengths /8../30; the containment direction is uniform."""
    @st.composite
    def pair(draw: st.DrawFn) -> tuple[Json, Json]:
        a = draw(subnets(min_prefix=8, max_prefix=28))
        outer = ipaddress.IPv4Network(a["IpAddressPrefix"])
        plen = draw(st.integers(outer.prefixlen, 30))
        index = draw(st.integers(0, (1 << (plen - outer.prefixlen)) - 1))
        inner = ipaddress.IPv4Network(
            (int(outer.network_address) + (index << (32 - plen)), plen))
        gw = str(next(iter(inner.hosts())))
        b = {"IpAddressPrefix": str(inner),
             "Routes": [{"NextHop": gw, "DestinationPrefix": "0.0.0.0/0"}]}
        return (a, b) if draw(st.booleans()) else (b, a)
    return pair()


def remote_subnet_routes() -> st.SearchStrategy[Json]:
    """``RemoteSubnetRoute`` network policies (what kube-proxy reads to learn other nodes'
    pod subnets): DestinationPrefix with /0 and /32 oversampled, IsolationId from
    ``vsids()``, a ProviderAddress, a DistributedRouterMacAddress."""
    return st.builds(
        lambda prefix, vsid, pa, mac: {"Type": "RemoteSubnetRoute", "Settings": {
            "DestinationPrefix": prefix, "IsolationId": vsid, "ProviderAddress": pa,
            "DistributedRouterMacAddress": mac}},
        ipv4_prefixes(), vsids(), ipv4_addresses(within="172.16.0.0/12"), macs())


@st.composite
def networks(draw: st.DrawFn, *, types: Sequence[str] = NETWORK_TYPES,
             max_prefix: int = 30, profile: str = DEFAULT_PROFILE) -> Json:
    """``HostComputeNetwork`` settings.  Type uniform over ``types``; a distinct name; one
    Static Ipam with one subnet (three in four) or two that do not overlap, each from
    ``subnets(max_prefix=max_prefix)`` (lower it to fit more endpoints); Overlay subnets
    carry a VSID, L2Bridge ones a VLAN half the time; Flags 0 or EnableNonPersistent (8);
    Overlay networks get up to three RemoteSubnetRoutes and a DrMacAddress half the time;
    a DNS server list half the time.  Every draw is valid on every profile (``profile`` is
    checked and kept for symmetry with ``load_balancers``)."""
    _profile(profile)
    ntype = draw(st.sampled_from(list(types)))
    first = draw(subnets(vsid=ntype == "Overlay", max_prefix=max_prefix,
                         vlan=ntype == "L2Bridge" and draw(st.booleans())))
    subnet_list = [first]
    if draw(st.integers(0, 3)) == 0:
        second = draw(subnets(vsid=ntype == "Overlay", max_prefix=max_prefix))
        a = ipaddress.IPv4Network(first["IpAddressPrefix"])
        if not a.overlaps(ipaddress.IPv4Network(second["IpAddressPrefix"])):
            subnet_list.append(second)
    body: Json = {
        "Name": draw(network_names()),
        "Type": ntype,
        "Ipams": [{"Type": "Static", "Subnets": subnet_list}],
        "Flags": draw(st.sampled_from([0, 8])),
        "SchemaVersion": SCHEMA_V2,
    }
    policies: list[Json] = []
    if ntype == "Overlay":
        policies += draw(st.lists(remote_subnet_routes(), max_size=3,
                                  unique_by=lambda p: p["Settings"]["DestinationPrefix"]))
        if draw(st.booleans()):
            policies.append({"Type": "DrMacAddress", "Settings": {"Address": draw(macs())}})
    if policies:
        body["Policies"] = policies
    if draw(st.booleans()):
        body["Dns"] = {"ServerList": draw(st.lists(ipv4_addresses(), min_size=1, max_size=2))}
    return body


# ---- endpoints ---------------------------------------------------------------------------

def _subnets_of(network: Json) -> list[ipaddress.IPv4Network]:
    out = []
    for ipam in network.get("Ipams") or []:
        for subnet in ipam.get("Subnets") or []:
            prefix = subnet.get("IpAddressPrefix")
            if prefix and ":" not in prefix:
                out.append(ipaddress.IPv4Network(prefix))
    return out


def _gateways(network: Json) -> set[str]:
    return {r.get("NextHop") for ipam in network.get("Ipams") or []
            for s in ipam.get("Subnets") or [] for r in s.get("Routes") or []}


@st.composite
def endpoint_ips(draw: st.DrawFn, network: Json) -> str:
    """An address HNS hands out in ``network``: inside one of its subnets (uniform), never
    the network address, the broadcast address or a gateway; the first and last usable
    addresses oversampled."""
    nets = _subnets_of(network)
    if not nets:
        raise ValueError("network has no IPv4 subnet")
    net = draw(st.sampled_from(nets))
    reserved = {int(ipaddress.IPv4Address(g)) for g in _gateways(network) if g and ":" not in g}
    lo, hi = int(net.network_address) + 1, int(net.broadcast_address) - 1
    if net.prefixlen >= 31:
        lo, hi = int(net.network_address), int(net.broadcast_address)
    value = draw(_edged((lo, lo + 1, hi), lo, hi).filter(lambda v: v not in reserved))
    return str(ipaddress.IPv4Address(value))


def acl_policy(*, protocols: Sequence[str] | None = None) -> st.SearchStrategy[Json]:
    """One endpoint ``ACL`` policy.  Protocols uniform over "6", "17", "1", "58", "2",
    "256" (any) and "6,17"; ports (``port_ranges()``) only on TCP/UDP rules, half the time;
    addresses (``address_lists()``) half the time each; Action Allow/Block, Direction
    In/Out, RuleType Switch/Host/absent uniform; Priority from ``priorities()``."""
    protos = list(protocols or ("6", "17", "1", "58", "2", "256", "6,17"))

    @st.composite
    def one(draw: st.DrawFn) -> Json:
        proto = draw(st.sampled_from(protos))
        settings: Json = {
            "Protocols": proto,
            "Action": draw(st.sampled_from(["Allow", "Block"])),
            "Direction": draw(st.sampled_from(["In", "Out"])),
            "Priority": draw(priorities()),
        }
        rule_type = draw(st.sampled_from([None, "Switch", "Host"]))
        if rule_type:
            settings["RuleType"] = rule_type
        if set(proto.split(",")) <= {"6", "17"}:
            for key in ("LocalPorts", "RemotePorts"):
                if draw(st.booleans()):
                    settings[key] = draw(port_ranges())
        for key in ("LocalAddresses", "RemoteAddresses"):
            if draw(st.booleans()):
                settings[key] = draw(address_lists())
        return {"Type": "ACL", "Settings": settings}
    return one()


def acl_policies(*, min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[list[Json]]:
    """A set of ACL policies (``acl_policy()`` each, distinct), half the time closed by
    Calico's base rule (Block In, Protocols 256, Priority 65500) or an allow-all
    (Allow, 256, 65535) as clients add to escape default-deny."""
    base = st.sampled_from([
        None,
        {"Type": "ACL", "Settings": {"Protocols": "256", "Action": "Block", "Direction": "In",
                                     "Priority": 65500}},
        {"Type": "ACL", "Settings": {"Protocols": "256", "Action": "Allow", "Direction": "Out",
                                     "Priority": 65535}},
    ])
    return st.builds(
        lambda rules, tail: rules + ([tail] if tail and tail not in rules else []),
        st.lists(acl_policy(), min_size=min_size, max_size=max_size,
                 unique_by=lambda p: repr(sorted(p["Settings"].items()))),
        base)


@st.composite
def endpoints(draw: st.DrawFn, network: Json, *, ip: bool | None = None,
              acls: bool | None = None) -> Json:
    """``HostComputeEndpoint`` settings on the created ``network``.  An address from
    ``endpoint_ips(network)`` (``ip=True``), none so HNS picks one (``ip=False``), or either
    (None: half each); ACLs from ``acl_policies()`` (same rule for ``acls``); half the time
    an OutBoundNAT policy with up to two exception prefixes; DisableICC flag one time in
    four."""
    body: Json = {"Name": draw(network_names()), "HostComputeNetwork": network["ID"],
                  "SchemaVersion": SCHEMA_V2}
    if ip if ip is not None else draw(st.booleans()):
        body["IpConfigurations"] = [{"IpAddress": draw(endpoint_ips(network))}]
    policies: list[Json] = []
    if acls if acls is not None else draw(st.booleans()):
        policies += draw(acl_policies())
    if draw(st.booleans()):
        exceptions = draw(st.lists(ipv4_prefixes(min_len=8), max_size=2, unique=True))
        policies.append({"Type": "OutBoundNAT",
                         "Settings": {"Exceptions": exceptions} if exceptions else {}})
    if policies:
        body["Policies"] = policies
    if draw(st.integers(0, 3)) == 0:
        body["Flags"] = 2
    return body


@st.composite
def remote_endpoints(draw: st.DrawFn, network: Json, *, ip: str | None = None) -> Json:
    """A remote endpoint (``Flags`` 1) on ``network``, as kube-proxy creates for pods on
    other nodes: an address in 10.244.0.0/16 (uniform; not checked against the local
    subnets), flannel's ``0E-2A-<ip hex>`` MAC, and a ProviderAddress policy naming a
    node address in 172.16.0.0/12."""
    address = ip or draw(ipv4_addresses(within="10.244.0.0/16"))
    mac = "0E-2A-" + "-".join(f"{int(o):02X}" for o in address.split("."))
    return {
        "Name": draw(network_names()),
        "HostComputeNetwork": network["ID"],
        "Flags": 1,
        "IpConfigurations": [{"IpAddress": address}],
        "MacAddress": mac,
        "Policies": [{"Type": "ProviderAddress", "Settings": {
            "ProviderAddress": draw(ipv4_addresses(within="172.16.0.0/12"))}}],
        "SchemaVersion": SCHEMA_V2,
    }


# ---- load balancers ----------------------------------------------------------------------

@st.composite
def load_balancers(draw: st.DrawFn, endpoint_ids: Sequence[str], *,
                   vips: st.SearchStrategy[str] | None = None,
                   profile: str = DEFAULT_PROFILE) -> Json:
    """``HostComputeLoadBalancer`` settings over some of ``endpoint_ids`` (a non-empty
    unique subset when any are given).  Half ClusterIP style (one FrontendVIP from ``vips``,
    default 10.96.0.0/12), half NodePort style (no VIP, LocalRoutedVIP); a SourceVIP half
    the time; one to three port mappings, distinct by (protocol, external port): protocol
    TCP/UDP, internal port from ``ports(allow_zero=False)``, external port from ``ports()``
    (0 = same as internal), DistributionType 0/1/2 (when the profile has
    SessionAffinity), flags an OR of ``LB_PORT_MAPPING_FLAGS`` (none half the time); DSR
    one time in four when the profile has it."""
    prof = _profile(profile)
    ids = list(endpoint_ids)
    members = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)) if ids else []
    vip_strategy = vips if vips is not None else ipv4_addresses(within="10.96.0.0/12")
    cluster_ip = draw(st.booleans())

    def key(pm: Json) -> tuple[int, int]:
        return pm["Protocol"], pm["ExternalPort"] or pm["InternalPort"]

    mapping = st.builds(
        lambda proto, internal, external, dist, flags: {
            "Protocol": proto, "InternalPort": internal, "ExternalPort": external,
            **({"DistributionType": dist} if dist else {}),
            **({"Flags": flags} if flags else {})},
        st.sampled_from([6, 17]), ports(allow_zero=False), ports(),
        st.sampled_from([0, 1, 2] if prof.supports("SessionAffinity") else [0]),
        st.one_of(st.just(0), st.lists(st.sampled_from(LB_PORT_MAPPING_FLAGS)).map(
            lambda fs: sum(set(fs)))))
    mappings = draw(st.lists(mapping, min_size=1, max_size=3, unique_by=key))
    body: Json = {"HostComputeEndpoints": members, "PortMappings": mappings,
                  "SchemaVersion": SCHEMA_V2}
    if cluster_ip:
        body["FrontendVIPs"] = [draw(vip_strategy)]
    else:
        for pm in mappings:
            pm["Flags"] = pm.get("Flags", 0) | 2
    if draw(st.booleans()):
        body["SourceVIP"] = draw(ipv4_addresses(within="10.244.0.0/16"))
    if prof.supports("DSR") and draw(st.integers(0, 3)) == 0:
        body["Flags"] = 1
    return body


# ---- packets -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Flow:
    """One IPv4 flow: 5-tuple (ports are the echo identifier for ICMP) plus MACs."""

    src_ip: str
    dst_ip: str
    protocol: int
    src_port: int
    dst_port: int
    src_mac: str = "00-15-5D-00-00-01"
    dst_mac: str = "00-15-5D-00-00-02"

    def frame(self, payload: bytes = b"") -> bytes:
        """The first packet of the flow as an Ethernet frame (TCP SYN, UDP datagram or
        ICMP echo request), lengths and checksums filled in."""
        ip = IPv4(src=int(ipaddress.IPv4Address(self.src_ip)),
                  dst=int(ipaddress.IPv4Address(self.dst_ip)), protocol=self.protocol)
        l4: TCP | UDP | ICMPv4
        if self.protocol == IPPROTO_TCP:
            l4 = TCP(sport=self.src_port, dport=self.dst_port, flags=TCP.SYN)
        elif self.protocol == IPPROTO_UDP:
            l4 = UDP(sport=self.src_port, dport=self.dst_port)
        else:
            l4 = ICMPv4(type=ICMPv4.ECHO_REQUEST, ident=self.src_port, seq=1)
        eth = Ethernet(dst=mac_from_text(self.dst_mac), src=mac_from_text(self.src_mac),
                       ethertype=ETH_P_IPV4)
        return encode_frame(Frame(eth=eth, ip=ip, l4=l4, payload=payload))


def flows(*, src_ips: st.SearchStrategy[str] | None = None,
          dst_ips: st.SearchStrategy[str] | None = None,
          protocols: Sequence[int] = (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP),
          dst_ports: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Flow]:
    """Flows from ``src_ips`` to ``dst_ips`` (default: any IPv4 address); protocol uniform
    over ``protocols``; source port uniform 1024..65535 (ICMP: the echo id, uniform);
    destination port from ``dst_ports`` (default ``ports(allow_zero=False)``; ICMP: the
    echo id)."""
    def build(src: str, dst: str, proto: int, sport: int, dport: int) -> Flow:
        if proto == IPPROTO_ICMP:
            return Flow(src, dst, proto, sport, sport)
        return Flow(src, dst, proto, sport, dport)
    return st.builds(build, _or(src_ips, ipv4_addresses()), _or(dst_ips, ipv4_addresses()),
                     st.sampled_from(list(protocols)), st.integers(1024, 65535),
                     _or(dst_ports, ports(allow_zero=False)))


def flows_to_load_balancer(lb: Json, *, src_ips: st.SearchStrategy[str] | None = None,
                           node_ips: Sequence[str] = ()) -> st.SearchStrategy[Flow]:
    """Flows aimed at a load balancer: to one of its FrontendVIPs (a VIP-less NodePort LB:
    one of ``node_ips``, else any address) on the protocol and external port of one of
    its mappings (uniform); source from ``src_ips`` (default 10.244.0.0/16)."""
    vips = lb.get("FrontendVIPs") or list(node_ips)
    dst = st.sampled_from(vips) if vips else ipv4_addresses()

    def build(mapping: Json, src: str, dst_ip: str, sport: int) -> Flow:
        port = mapping.get("ExternalPort") or mapping["InternalPort"]
        return Flow(src, dst_ip, mapping.get("Protocol") or IPPROTO_TCP, sport, port)
    return st.builds(build, st.sampled_from(lb["PortMappings"]),
                     _or(src_ips, ipv4_addresses(within="10.244.0.0/16")), dst,
                     st.integers(1024, 65535))


def flows_to_endpoint(endpoint: Json, *, src_ips: st.SearchStrategy[str] | None = None
                      ) -> st.SearchStrategy[Flow]:
    """Flows to an endpoint (local or remote, as HNS returned it): to one of its
    IpConfigurations (IPv4), protocol uniform over TCP/UDP/ICMP, destination port from
    ``ports(allow_zero=False)``; source from ``src_ips`` (default any IPv4 address)."""
    ips = [c["IpAddress"] for c in endpoint.get("IpConfigurations") or []
           if ":" not in c.get("IpAddress", ":")]
    if not ips:
        raise ValueError("endpoint has no IPv4 address")
    return flows(src_ips=src_ips, dst_ips=st.sampled_from(ips))


def flows_to_remote_subnet(route: Json, *, src_ips: st.SearchStrategy[str] | None = None
                           ) -> st.SearchStrategy[Flow]:
    """Flows into the DestinationPrefix of a ``RemoteSubnetRoute`` policy (or any dict with
    that key in ``Settings``): destination uniform in the prefix, first and last address
    oversampled; otherwise as ``flows()``."""
    prefix = (route.get("Settings") or route)["DestinationPrefix"]
    return flows(src_ips=src_ips, dst_ips=ipv4_addresses(within=prefix))


def frames(flow_strategy: st.SearchStrategy[Flow] | None = None) -> st.SearchStrategy[bytes]:
    """Ethernet frames: the first packet of a flow from ``flow_strategy`` (default
    ``flows()``) with a payload of 0..64 uniform random bytes."""
    return st.builds(lambda f, p: f.frame(p), _or(flow_strategy, flows()),
                     st.binary(max_size=64))


# ---- invalid objects ---------------------------------------------------------------------

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
