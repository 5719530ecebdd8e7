"""The load balancer rules real HNS puts on a network's host vNIC port.

Evidence (docs/fidelity.md, "Host vNIC port"): microsoft/SDN networkhealth.ps1
(`DSRLoadBalancerPolicyVfpRules`) looks on the port of the network's `Host Vnic`
allocator for, per load balancer (`<VIP>` = the management IP for a NodePort, i.e. an LB
without FrontendVIPs):

    some backend remote  LB / LB_OUT
                         LB_HOST_\\w*_<VIP>_<Ext>_<Int>_<Proto>
    all backends local   SLB_LB_LAYER / SLB_GROUP_LB_IPv4_OUT
                         LB_\\w*_<VIP>_<Ext>_<Ext>_<Proto> (NAT_\\w*_... with one backend)
    some backend local   SLB_HAIRPIN_LAYER / SLB_GROUP_HAIRPIN_IPv4_IN
                         HairPin_\\w*_<VIP>_<Ext>_<Ext>_<Proto>

The script checks DSR load balancers only; the emulator gives every IPv4 load balancer
that is not an ILB the same host-side rules (inferred: the host must reach a ClusterIP
and a NodePort must be reachable from outside whatever the DSR flag says).

What the rules do (inferred; no public capture shows their data):
- OUT (traffic the host itself sends into the network, and traffic it forwards): the
  `LB_HOST_` / `LB_` / `NAT_` rule load-balances (VIP, port) over every backend, SNATs
  the source to the load balancer's SourceVIP (the host's address when it has none) from
  the host port's "HOST" pool, and encapsulates to a remote backend's provider address,
  as kube-proxy's sourceVip exists for (a remote pod answers the SourceVIP, which routes
  back to this node over the overlay). The flow un-NATs the answer on its way IN.
- IN (a frame from outside the node to the VIP or NodePort, arriving at the host): the
  `HairPin_` rule does the same from the "HAIRPIN" pool and the vSwitch turns the frame
  back into the network (hairpin) instead of handing it to the host stack; the answer
  leaves OUT through the same port, un-NATed by that flow. Without a HairPin rule (every
  backend remote) the host forwards the frame: it goes OUT through `LB_HOST_`.
The vSwitch remembers which way each translated flow's answer runs through the port
(hns/hosts/nat.py); the two pools keep the two kinds of flows in port blocks of their own.

What this module owns: the rule and pool specs of one load balancer on one host port
(`host_lb_items`), and `HostLbNat`, the action of those rules.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

from hns.compiler import layers as L
from hns.compiler.actions import pa_nic_mac
from hns.compiler.view import View
from hns.model.read import Endpoint, LoadBalancer, Network, ip4
from vfp import TERMINATING, Conditions, Rule
from vfp.actions import (
    LB_PER_FLOW,
    LB_SOURCE_IP,
    LB_SOURCE_IP_PROTOCOL,
    ActionContext,
    Decision,
    LbNat,
    Transposition,
    vxlan_source_port,
)
from vfp.addr import format_ip
from vxlan import Outer, Packet

Json = dict[str, Any]

# -- host-side layers and groups (names: networkhealth.ps1 / vfp.md 3.1) ------------------
LB = "LB"
LB_OUT = "LB_OUT"
SLB_LB = "SLB_LB_LAYER"
SLB_LB_OUT = "SLB_GROUP_LB_IPv4_OUT"
SLB_HAIRPIN = "SLB_HAIRPIN_LAYER"
HAIRPIN_IN = "SLB_GROUP_HAIRPIN_IPv4_IN"

#: The two SNAT pools of a host port: flows it creates going OUT, and hairpinned ones.
HOST_POOL = "HOST"
HAIRPIN_POOL = "HAIRPIN"

_DISTRIBUTION = {0: LB_PER_FLOW, 1: LB_SOURCE_IP_PROTOCOL, 2: LB_SOURCE_IP}
PRI_HOST_LB = 100


@functools.lru_cache(maxsize=1024)  # two per load balancer per full sync, the same few
def pool_id(kind: str, ip: int) -> str:
    """`SLB_NATPOOL_IPV4_<HOST|HAIRPIN>_<ip>` (our naming, after the pod ports' pools)."""
    return f"SLB_NATPOOL_IPV4_{kind}_{ipaddress.IPv4Address(ip)}"


@dataclass(frozen=True)
class HostLbNat(LbNat):
    """lbnat of a host vNIC port: VIP -> one backend, the source SNATed from `pool` (TCP
    and UDP), and a remote backend (`encap[i]` = (PA, MAC, VNI)) reached by encapsulating
    to its provider address with its MAC as inner destination."""

    pool: str = ""
    encap: tuple[tuple[int, int, int] | None, ...] = ()
    src_pa: int = 0

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        target = self.choose(p)
        ip, port = target
        mods: list[tuple[str, int]] = [("dst_ip", ip)]
        if port is not None and p.proto in (6, 17):
            mods.append(("dport", port))
        if self.pool and p.proto in (6, 17):
            snat = ctx.allocate_snat(self.pool, p)
            if snat is not None:
                mods += [("src_ip", snat[0]), ("sport", snat[1])]
        remote = self.encap[self.dips.index(target)] if self.encap else None
        if remote is None:
            return Decision(True, Transposition(modify=tuple(mods)))
        pa, mac, vni = remote
        if mac:
            mods.append(("dst_mac", mac))
        outer = Outer(src_mac=pa_nic_mac(self.src_pa), dst_mac=0, src_ip=self.src_pa,
                      dst_ip=pa, sport=vxlan_source_port(p), vni=vni, dport=ctx.vxlan_port)
        return Decision(True, Transposition(pop_outer=p.outer is not None,
                                            modify=tuple(mods), push_outer=outer))

    def data_lines(self) -> list[str]:
        lines = super().data_lines()
        if self.pool:
            lines.append(f"Source NAT pool : {self.pool}")
        for (ip, _), remote in zip(self.dips, self.encap, strict=False):
            if remote is not None:
                lines.append(f"Encap : {format_ip(ip)} via PA {format_ip(remote[0])}, "
                             f"VNI {remote[2]}")
        return lines


@dataclass(frozen=True)
class HostRuleSpec:
    """One rule on a host port (compared, not built, when the compiler diffs)."""

    layer: str
    group: str
    name: str
    action: HostLbNat
    conditions: Conditions

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.layer, self.group, self.name)

    def build(self) -> Rule:
        # Like the pod ports' LB and NAT rules, these have no id of their own
        # (vfpctrl prints "RULE :"), and "Flags : 1 terminating" (inferred from lbnat).
        return Rule(self.name, PRI_HOST_LB, self.action, self.conditions, TERMINATING,
                    L.STATEFUL_TTL, self.name, anonymous=True)


def lb_networks(view: View, lb: LoadBalancer) -> set[str]:
    """The networks whose host port carries the load balancer: its HostComputeNetwork, or
    (kube-proxy leaves it out) the networks of its backends."""
    if lb.network is not None:
        return {lb.network}
    out: set[str] = set()
    for key in lb.backends:
        ep = view.endpoints.get(key)
        net = None if ep is None else ep.network
        if net is not None:
            out.add(net)
    return out


@functools.lru_cache(maxsize=65536)
def _ip4_str(value: int) -> str:
    """Cached: a NodePort's VIP is the host's address on thousands of load balancers."""
    return str(ipaddress.IPv4Address(value))


def _vips(view: View, lb: LoadBalancer) -> list[int]:
    """FrontendVIPs; none at all: the host's management address (a NodePort)."""
    if lb.node_port:
        host = ip4(view.host_ip)
        return [] if host is None else [host]
    return list(lb.frontend_vips)


def host_lb_items(view: View, net_key: str, lb: LoadBalancer) -> list[HostRuleSpec]:
    """The host-side rules of one load balancer on the host port of network `net_key`
    (empty: not an IPv4 load balancer of that network, an ILB, or no usable backend)."""
    if lb.version != 4 or net_key not in lb_networks(view, lb):
        return []
    net = view.networks.get(net_key)
    if net is None:
        return []
    overlay = net.overlay
    src_pa = view.local_pa(net) or 0
    backends: list[tuple[int, Endpoint]] = []
    for key in lb.backends:
        ep = view.endpoints.get(key)
        ip = None if ep is None else ep.ipv4
        if ep is not None and ip is not None and all(ip != b for b, _ in backends):
            backends.append((ip, ep))
    backends = backends[:64]
    if not backends:
        return []
    remote = [ep.remote for _, ep in backends]
    svip = lb.source_vip or ip4(view.host_ip)
    short = lb.id.replace("-", "")
    items: list[HostRuleSpec] = []
    for pm in lb.port_mappings:
        if pm.ilb:
            continue
        proto = pm.protocol
        internal = pm.internal_port
        external = pm.external_port
        dips = tuple((ip, internal or None) for ip, _ in backends)
        distribution = _DISTRIBUTION.get(pm.distribution, LB_PER_FLOW)
        encap = _encap(view, net, backends) if overlay and any(remote) else ()
        host = HostLbNat(dips, distribution, "" if svip is None else pool_id(HOST_POOL, svip),
                         encap, src_pa)
        hairpin = HostLbNat(dips, distribution,
                            "" if svip is None else pool_id(HAIRPIN_POOL, svip), encap, src_pa)
        for vip in _vips(view, lb):
            vip_text = _ip4_str(vip)
            cond = Conditions(protocols=(proto,) if proto else (),
                              dst_ips=((vip, vip),),
                              dst_ports=((external, external),) if external else ())
            if any(remote):
                items.append(HostRuleSpec(
                    LB, LB_OUT, f"LB_HOST_{short}_{vip_text}_{external}_{internal}_{proto}",
                    host, cond))
            else:
                head = "NAT" if len(dips) == 1 else "LB"
                items.append(HostRuleSpec(
                    SLB_LB, SLB_LB_OUT,
                    f"{head}_{short}_{vip_text}_{external}_{external}_{proto}", host, cond))
            if not all(remote):
                items.append(HostRuleSpec(
                    SLB_HAIRPIN, HAIRPIN_IN,
                    f"HairPin_{short}_{vip_text}_{external}_{external}_{proto}", hairpin, cond))
    return items


def _encap(view: View, net: Network,
           backends: list[tuple[int, Endpoint]]) -> tuple[tuple[int, int, int] | None, ...]:
    """(PA, MAC, VNI) of each remote backend that has a ProviderAddress, else None."""
    out: list[tuple[int, int, int] | None] = []
    for _, ep in backends:
        pa = ep.provider_address if ep.remote else None
        if pa is None:
            out.append(None)
        else:
            out.append((pa, ep.mac or 0, net.vsid_for(ep.ipv4) or L.DEFAULT_VSID))
    return tuple(out)


__all__ = ["HAIRPIN_POOL", "HOST_POOL", "HostLbNat", "HostRuleSpec", "host_lb_items",
           "lb_networks", "pool_id"]
