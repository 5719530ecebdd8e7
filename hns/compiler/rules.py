"""What each HNS object contributes to one local endpoint's VFP port.

A contribution is a list of items, each with a key unique on the port: rules (`RuleSpec`,
keyed by layer, group and rule id), CA -> PA mappings (`MappingSpec`), NAT pools
(`PoolSpec`) and the ACL layer's default-deny switch (`DefaultDeny`). The compiler diffs an
object's new contribution against the one it made before and touches only what changed.

Sources (what the compiler recomputes when an object changes):
    ("ep", E)      endpoint E's own policies on its own port: ACL, OutBoundNAT, PortMapping,
                   SDNRoute, MAC rewrite.
    ("net", N)     network N's VNET rules on each of its local ports: decap, PA route,
                   RemoteSubnetRoute.
    ("remote", R)  remote endpoint R: a CA -> PA mapping and its mapencap rule on each local
                   port of R's (overlay) network.
    ("lb", L)      load balancer L: the client-side lbnat rule(s) on each port in its scope.
    ("route", T)   SDN route object T: its routes on the ports of its endpoints.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import NamedTuple

from hns.compiler import layers as L
from hns.compiler.actions import (
    DsrLbNat,
    EncapMap,
    EncapRoute,
    PaRoute,
    SnatLbNat,
    pa_nic_mac,
    snat_action,
)
from hns.compiler.view import View
from hns.model.read import (
    Acl,
    Endpoint,
    LoadBalancer,
    Network,
    SdnRoute,
    ip4,
    ip_of_version,
)
from vfp import IN, OUT, STATEFUL, TERMINATING, Conditions, Mapping, Rule
from vfp.actions import (
    LB_PER_FLOW,
    LB_SOURCE_IP,
    LB_SOURCE_IP_PROTOCOL,
    Action,
    Allow,
    Block,
    Decap,
    LbNat,
    MacRewrite,
    Nat,
)

Source = tuple[str, str]
ItemKey = tuple[str, ...]

_DISTRIBUTION = {0: LB_PER_FLOW, 1: LB_SOURCE_IP_PROTOCOL, 2: LB_SOURCE_IP}
_PROTO_NAME = {6: "TCP", 17: "UDP", 1: "ICMP"}
#: Ports of the host IP handed to one endpoint's OutBoundNAT pools (a block per endpoint).
SNAT_BLOCK = 256
SNAT_FIRST_PORT = 1024
#: Blocks that fit below 65536; endpoints beyond that share blocks (round robin).
SNAT_BLOCKS = (65536 - SNAT_FIRST_PORT) // SNAT_BLOCK


_ANY = Conditions()
_ANONYMOUS_LAYERS = frozenset({L.SLB_NAT, L.SLB_LB, L.LB_DSR, L.VNET_PA_ROUTE})


@dataclass(frozen=True)
class RuleSpec:
    layer: str
    group: str
    id: str
    priority: int
    action: Action
    conditions: Conditions = _ANY
    flags: int = TERMINATING
    ttl: int = 0
    name: str = ""
    #: the host delivers frames for (protocol, destination IP, destination port) of this
    #: rule to its port (`Compiler.owner_of`): port mappings, load balancer backends
    publish: bool = False

    @property
    def key(self) -> ItemKey:
        return ("rule", self.layer, self.group, self.id)

    def build(self) -> Rule:
        # HNS's NAT, LB and PA-route rules have no id of their own (kubernetes#79359,
        # VFP.psm1): vfpctrl prints "RULE :" and then their friendly name.
        return Rule(self.id, self.priority, self.action, self.conditions, self.flags,
                    self.ttl, self.name, anonymous=self.layer in _ANONYMOUS_LAYERS)

    @functools.cached_property
    def rule(self) -> Rule:
        """The one vfp rule of this spec, put in the group of every port the spec goes to
        (a shared contribution hands the same spec to every port of a network): one object,
        validated once, instead of one copy per port.  vfp keeps its counters per group."""
        rule = self.build()
        rule.shared = True
        return rule


@dataclass(frozen=True)
class MappingSpec:
    ca: int
    pa: int
    mac: int
    vni: int

    @functools.cached_property
    def mapping(self) -> Mapping:
        """The one vfp mapping of this spec, held by every port the spec goes to (a
        mapping has no counters and is never mutated)."""
        return Mapping(self.ca, self.pa, self.mac, self.vni)

    @property
    def key(self) -> ItemKey:
        return ("map", str(self.ca))


@dataclass(frozen=True)
class PoolSpec:
    id: str
    proto: int
    ranges: tuple[tuple[int, int, int], ...]  # (ip, first port, last port)

    @property
    def key(self) -> ItemKey:
        return ("pool", self.id)


@dataclass(frozen=True)
class DefaultDeny:
    """The layer is default-deny while any source contributes one of these."""

    layer: str
    by: str  # "ep" or "net": each source may switch it on

    @property
    def key(self) -> ItemKey:
        return ("deny", self.layer, self.by)


Item = RuleSpec | MappingSpec | PoolSpec | DefaultDeny


class Target(NamedTuple):
    """The port being compiled: its endpoint's key and typed form, its SNAT port block."""

    key: str
    ep: Endpoint
    snat_block: int


def contribute(source: Source, t: Target, view: View) -> list[Item]:
    kind, key = source
    if kind == "ep":
        return endpoint_items(t, view) if key == t.key else []
    if kind == "net":
        return network_items(t, view)
    if kind == "remote":
        return remote_items(t, view, key)
    if kind == "lb":
        lb = view.lbs.get(key)
        return [] if lb is None else lb_items(t, view, key, lb)
    if kind == "route":
        route = view.routes.get(key)
        if route is None or t.key not in route.endpoints:
            return []
        return route_items(t, view, route.routes, f"ROUTE_{key}")
    return []


# -- helpers -------------------------------------------------------------------------------
def _rule_guid(*parts: object) -> str:
    """A stable GUID-shaped rule id (name-based, like uuid5, without its overhead)."""
    h = hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def encap_overhead(ep: Endpoint) -> int:
    """The MSS delta of the port's encap rules: its EncapOverhead policy, else the default."""
    return ep.encap_overhead or L.DEFAULT_ENCAP_OVERHEAD


# -- the endpoint's own policies ---------------------------------------------------------
def endpoint_items(t: Target, view: View) -> list[Item]:
    items: list[Item] = []
    ep = t.ep
    mac = ep.mac
    if mac:
        for group in (L.MAC_IN, L.MAC_IN6):
            items.append(RuleSpec(L.MAC_REWRITE, group, "MAC_REWRITE", L.PRI_MAC_REWRITE,
                                  MacRewrite(dst_mac=mac)))
    items += acl_items(t)
    ip = ep.ipv4
    if ip is not None:
        items += outbound_nat_items(t, view, ip)
        items += port_mapping_items(t, view, ip)
    items += route_items(t, view, ep.sdn_routes, "SDNROUTE")
    return items


def acl_items(t: Target, acls: tuple[Acl, ...] | None = None, *,
              network: bool = False) -> list[Item]:
    """Switch ACLs -> rules in the endpoint groups (or, for the network's NetworkACL
    policies, the ACL_NETWORK_GROUP_* groups), and the layer's default-deny."""
    items: list[Item] = []
    if acls is None:
        acls = t.ep.acls
    switch = [a for a in acls if not a.host]
    if not switch:
        return items
    groups = L.ACL_NETWORK_GROUPS if network else L.ACL_GROUPS
    tag = "netacl" if network else "acl"
    items.append(DefaultDeny(L.ACL, "net" if network else "ep"))
    for i, a in enumerate(switch):
        direction = IN if a.inbound else OUT
        local, remote = a.local, a.remote
        lports, rports = a.local_ports, a.remote_ports
        protocols = a.protocols
        act: Action
        if a.action == "Allow":
            act, flags, ttl = Allow(), L.ACL_ALLOW_FLAGS, L.STATEFUL_TTL
        elif a.action == "Pass":
            act, flags, ttl = Allow(), STATEFUL, L.STATEFUL_TTL
        else:
            act, flags, ttl = Block(), TERMINATING, 0
        for version in (4, 6):
            lr = () if local is None else local[version == 6]
            rr = () if remote is None else remote[version == 6]
            if (local is not None and not lr) or (remote is not None and not rr):
                continue  # the ACL names addresses of the other family only
            if direction == IN:
                cond = Conditions(protocols=protocols, src_ips=rr, dst_ips=lr,
                                  src_ports=rports, dst_ports=lports)
            else:
                cond = Conditions(protocols=protocols, src_ips=lr, dst_ips=rr,
                                  src_ports=lports, dst_ports=rports)
            rid = _rule_guid(t.key, tag, i, version)
            name = a.id or rid
            items.append(RuleSpec(L.ACL, groups[(direction, version)], rid, a.priority,
                                  act, cond, flags, ttl, name))
    return items


def host_acls(ep: Endpoint) -> list[Acl]:
    """ACLs with RuleType Host: Windows Filtering Platform rules, recorded, not in VFP."""
    return [a for a in ep.acls if a.host]


def outbound_nat_items(t: Target, view: View, ip: int) -> list[Item]:
    items: list[Item] = []
    ip_text = str(ipaddress.IPv4Address(ip))
    net = view.network_of(t.ep)
    for n, s in enumerate(t.ep.outbound_nats):
        vip = ip4(view.host_ip) if s.host_vip else s.virtual_ip
        if vip is None:
            continue
        tag = ip_text if n == 0 else f"{ip_text}_{n}"
        dests = tuple(r for p in s.destinations for r in p.ranges4)
        # The endpoint's own network is never SNATed (its subnets are implicit exceptions):
        # a Docker overlay endpoint has an OutBoundNAT policy with no exceptions at all.
        # A destination-scoped policy (the CNI plugins' loopback DSR policy, Destinations =
        # the pod's own IP) exists to SNAT traffic *to* that network, so it gets no implicit
        # exceptions, and its SNAT rule sits ahead of every exception (PRI_SNAT_DESTINATION)
        # so that another OutBoundNAT's exception list cannot shadow it.
        own = [] if dests or net is None else \
            [sub.prefix for sub in net.subnets if sub.prefix is not None]
        exceptions = {p.text: p for p in (*own, *s.exceptions)}
        for text, prefix in exceptions.items():
            got = prefix.ranges4
            if got:
                items.append(RuleSpec(L.SLB_NAT, L.NAT_OUT, f"ALLOW_NAT_EXCEPTION_{tag}_{text}",
                                      L.PRI_NAT_EXCEPTION, Allow(), Conditions(dst_ips=got)))
        snat_priority = L.PRI_SNAT_DESTINATION if dests else L.PRI_SNAT
        first = SNAT_FIRST_PORT + (t.snat_block % SNAT_BLOCKS) * SNAT_BLOCK
        for proto, pname in _PROTO_NAME.items():
            pool = f"SLB_NATPOOL_IPV4_{pname}_{tag}"
            items.append(PoolSpec(pool, proto, ((vip, first, first + SNAT_BLOCK - 1),)))
            items.append(RuleSpec(L.SLB_NAT, L.NAT_OUT, f"SNAT_{pname}_{tag}", snat_priority,
                                  snat_action(pool, net is not None and net.overlay,
                                              encap_overhead(t.ep)),
                                  Conditions(protocols=(proto,), dst_ips=dests),
                                  TERMINATING | STATEFUL, L.STATEFUL_TTL))
    if items:
        # Connections the endpoint accepts get a flow here too, so replies are not SNATed.
        items.append(RuleSpec(L.SLB_NAT, L.NAT_IN, f"ALLOW_INBOUND_{ip_text}", 65000, Allow(),
                              flags=TERMINATING | STATEFUL, ttl=L.STATEFUL_TTL))
    return items


def port_mapping_items(t: Target, view: View, ip: int) -> list[Item]:
    items: list[Item] = []
    for s in t.ep.port_maps:
        internal = s.internal_port
        if not internal:
            continue
        external = s.external_port
        proto = s.protocol
        vip = ip4(view.host_ip) if s.host_vip else s.vip
        if vip is None:
            continue
        protos = (proto,) if proto else (6, 17)
        pname = _PROTO_NAME.get(proto, "ANY")
        name = f"NAT_PORTMAP_{pname}_{ipaddress.IPv4Address(vip)}_{external}"
        items.append(RuleSpec(L.SLB_NAT, L.NAT_IN, name, L.PRI_PORT_MAPPING, Nat(ip, internal),
                              Conditions(protocols=protos, dst_ips=((vip, vip),),
                                         dst_ports=((external, external),)),
                              TERMINATING | STATEFUL, L.STATEFUL_TTL, publish=True))
    return items


def route_items(t: Target, view: View, routes: tuple[SdnRoute, ...], tag: str) -> list[Item]:
    """SDN routes (endpoint SDNRoute policies, HostComputeRoute objects): on an overlay port a
    route with NeedEncap false bypasses the encap rules; NeedEncap true is the default
    behaviour (encap by the VNET rules) and adds nothing."""
    net = view.network_of(t.ep)
    if net is None or not net.overlay:
        return []
    items: list[Item] = []
    for route in routes:
        prefix = route.prefix
        if prefix is None or route.need_encap:
            continue
        got = prefix.ranges4
        if got:
            items.append(RuleSpec(L.VNET_ENCAP, L.ENCAP_OUT, f"SDN_ROUTE_{tag}_{prefix.text}",
                                  L.PRI_SDN_ROUTE, Allow(), Conditions(dst_ips=got)))
    return items


# -- overlay ---------------------------------------------------------------------------------
def _vsid(net: Network, ip: int | None) -> int:
    return net.vsid_for(ip) or L.DEFAULT_VSID


def network_items(t: Target, view: View) -> list[Item]:
    net = view.network_of(t.ep)
    acls = acl_items(t, () if net is None else net.acls, network=True)
    if net is None or not net.overlay:
        return acls
    vsid = _vsid(net, t.ep.ipv4)
    src_pa = view.local_pa(net)
    items: list[Item] = [
        RuleSpec(L.VNET_ENCAP, L.DECAP_IN, f"VNET_DECAP_{vsid}", L.PRI_DECAP, Decap(vni=vsid),
                 Conditions(vnis=(vsid,))),
        RuleSpec(L.VNET_PA_ROUTE, L.PA_ROUTE_OUT, "PA_ROUTE", L.PRI_PA_ROUTE, PaRoute()),
        *acls,
    ]
    if src_pa is None:
        return items
    mss = encap_overhead(t.ep)
    for s in net.remote_subnet_routes:
        dst_pa = s.provider_address
        got = () if s.prefix is None else s.prefix.ranges4
        if not got or dst_pa is None or s.prefix is None:
            continue
        vni = s.isolation_id or vsid
        items.append(RuleSpec(
            L.VNET_ENCAP, L.ENCAP_OUT, f"REMOTESUBNETROUTE_{s.prefix.text}",
            L.PRI_REMOTE_SUBNET,
            EncapRoute(src_pa, dst_pa, vni, s.dr_mac or None,
                       outer_src_mac=pa_nic_mac(src_pa), mss_delta=mss),
            Conditions(dst_ips=got)))
    return items


def remote_items(t: Target, view: View, key: str) -> list[Item]:
    remote = view.endpoints.get(key)
    if remote is None or not remote.remote:
        return []
    net = view.network_of(t.ep)
    if net is None or not net.overlay or remote.network != t.ep.network:
        return []
    ca = remote.ipv4
    pa = remote.provider_address
    src_pa = view.local_pa(net)
    if ca is None or pa is None or src_pa is None:
        return []
    vni = _vsid(net, ca)
    ca_text = socket.inet_ntoa(ca.to_bytes(4, "big"))  # str(IPv4Address(ca)), cheaper
    return [
        MappingSpec(ca, pa, remote.mac or 0, vni),
        RuleSpec(L.VNET_ENCAP, L.ENCAP_OUT, f"MAP_ENCAP_{ca_text}", L.PRI_REMOTE_ENDPOINT,
                 EncapMap(L.VNET_SPACE, src_pa, outer_src_mac=pa_nic_mac(src_pa),
                          mss_delta=encap_overhead(t.ep)),
                 Conditions(dst_ips=((ca, ca),))),
    ]


# -- load balancers ----------------------------------------------------------------------
def lb_dips(view: View, lb: LoadBalancer,
            port: int | None) -> tuple[tuple[int, int | None], ...]:
    version = lb.version
    dips: list[tuple[int, int | None]] = []
    for key in lb.backends:
        ep = view.endpoints.get(key)
        ip = None if ep is None else ep.ip(version)
        if ip is not None and (ip, port) not in dips:
            dips.append((ip, port))
    return tuple(dips[:64])


def lb_vips(view: View, lb: LoadBalancer) -> list[int]:
    """The VIPs of the load balancer's IP version; with no FrontendVIPs at all, the host's
    address (NodePort; IPv4 only, the host address being IPv4)."""
    if lb.frontend_vips or not lb.node_port:
        return list(lb.frontend_vips)
    host = ip_of_version(view.host_ip, lb.version)
    return [] if host is None else [host]


def dsr_encap(view: View, t: Target, lb: LoadBalancer,
              dips: tuple[tuple[int, int | None], ...]) -> tuple[tuple[int, int, int] | None, ...]:
    """Per DIP of a DSR load balancer on an overlay port: (PA, MAC, VNI) of a remote
    backend with a ProviderAddress policy, else None (reached by plain DNAT)."""
    net = view.network_of(t.ep)
    if net is None or not net.overlay or lb.version != 4:
        return ()  # VXLAN outer headers are IPv4 here
    by_ip: dict[int, Endpoint] = {}
    for key in lb.backends:
        ep = view.endpoints.get(key)
        if ep is not None and ep.ipv4 is not None:
            by_ip.setdefault(ep.ipv4, ep)
    out: list[tuple[int, int, int] | None] = []
    for ip, _ in dips:
        ep = by_ip.get(ip)
        pa = ep.provider_address if ep is not None and ep.remote else None
        if ep is None or pa is None:
            out.append(None)
        else:
            out.append((pa, ep.mac or 0, _vsid(net, ep.ipv4)))
    return tuple(out) if any(out) else ()


def lb_items(t: Target, view: View, key: str, lb: LoadBalancer) -> list[Item]:
    """Client side (every port in scope): lbnat VIP -> DIPs (DSR: remote backends keep the
    VIP and are encapsulated to their PA). Backend side (a local backend's own port): NAT_
    rules in SLB_GROUP_NAT_IPv4_IN that DNAT frames still addressed to the VIP (a DSR
    frame from another host, a NodePort reached from outside the host) to this backend.
    InternalPort 0 (Docker's ILB: every port) DNATs the address only."""
    items: list[Item] = []
    dsr = lb.dsr
    short = lb.id.replace("-", "")
    in_scope = lb.network is None or lb.network == (t.ep.network or "")
    version = lb.version
    dsr_group, lb_group, nat_group = L.LB_GROUPS[version]
    own_ip = t.ep.ip(version) if t.key in lb.backends else None
    src_pa = view.local_pa(view.network_of(t.ep)) or 0
    for pm in lb.port_mappings:
        proto = pm.protocol
        internal = pm.internal_port
        external = pm.external_port
        dips = lb_dips(view, lb, internal or None)
        if not dips:
            continue
        distribution = _DISTRIBUTION.get(pm.distribution, LB_PER_FLOW)
        action: LbNat = LbNat(dips, distribution)
        svip = lb.source_vip if version == 4 else None
        if not dsr and svip is not None and proto in (6, 17) and in_scope:
            # Backends see the SourceVIP (kube-proxy's sourceVip); one port block of it per
            # client port, as OutBoundNAT takes one of the host address.
            pname = _PROTO_NAME[proto]
            svip_text = ipaddress.IPv4Address(svip)
            pool = f"SLB_NATPOOL_IPV4_{pname}_SVIP_{svip_text}_{t.key[:8]}_{short}"
            first = SNAT_FIRST_PORT + (t.snat_block % SNAT_BLOCKS) * SNAT_BLOCK
            items.append(PoolSpec(pool, proto, ((svip, first, first + SNAT_BLOCK - 1),)))
            action = SnatLbNat(dips, distribution, pool)
        if dsr and in_scope and view.dsr_keeps_vip:
            encap = dsr_encap(view, t, lb, dips)
            if encap:
                action = DsrLbNat(dips, distribution, encap, src_pa)
        suffix = "".join(tag for on, tag in ((pm.ilb, "_ILB"), (pm.preserve_dip, "_PDIP"))
                         if on)
        protos = (proto,) if proto else ()
        ports = ((external, external),) if external else ()
        for vip in lb_vips(view, lb):
            vip_text = str(ipaddress.IPv4Address(vip) if version == 4
                           else ipaddress.IPv6Address(vip))
            cond = Conditions(protocols=protos, dst_ips=((vip, vip),), dst_ports=ports)
            if in_scope:
                if dsr:
                    layer, group = L.LB_DSR, dsr_group
                    name = (f"LB_DSR_{short}_{view.host_ip}_{vip_text}_{external}_{internal}"
                            f"_{proto}")
                else:
                    layer, group = L.SLB_LB, lb_group
                    head = "NAT" if len(dips) == 1 else "LB"
                    name = f"{head}_{short}_{vip_text}_{external}_{internal}_{proto}"
                # Real lbnat rules print "Flags : 1 terminating" (kubernetes#79359); the
                # action keeps its flows all the same (LbNat.keeps_flows).
                items.append(RuleSpec(layer, group, name + suffix, L.PRI_LB, action, cond,
                                      TERMINATING, L.STATEFUL_TTL))
            if own_ip is not None:
                items.append(RuleSpec(
                    L.SLB_NAT, nat_group, f"NAT_{short}_{vip_text}_{external}_{proto}{suffix}",
                    L.PRI_LB, Nat(own_ip, internal or None), cond, TERMINATING | STATEFUL,
                    L.STATEFUL_TTL,
                    publish=not pm.ilb and bool(external) and version == 4))
                if dsr and version == 4:
                    # networkhealth.ps1 (DSRLoadBalancerPolicyVfpRules) checks both rules on
                    # a DSR backend's port: the backend's answers from its service port
                    # leave un-SNATed (ahead of the OutBoundNAT dynnat), from the VIP.
                    items.append(RuleSpec(
                        L.SLB_NAT, L.NAT_OUT,
                        f"ALLOW_NAT_{short}_{vip_text}_{external}_{proto}{suffix}",
                        L.PRI_NAT_EXCEPTION, Allow(),
                        Conditions(protocols=protos, src_ips=((own_ip, own_ip),),
                                   src_ports=((internal, internal),) if internal else ())))
    return items
