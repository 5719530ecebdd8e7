"""Valid HNS objects, each accepted by the emulator on the default profile: networks with
their subnets and routes, endpoints and ACL policies, remote endpoints, load balancers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from hypothesis import strategies as st

from hns.profiles import DEFAULT_PROFILE
from hns.testing.strategies.common import (
    _PRIVATE_RANGES,
    _SUBNET_BASES,
    LB_PORT_MAPPING_FLAGS,
    NETWORK_TYPES,
    SCHEMA_V2,
    Json,
    _edged,
    _profile,
    address_lists,
    ipv4_addresses,
    ipv4_prefixes,
    macs,
    network_names,
    port_ranges,
    ports,
    priorities,
    vsids,
)


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
