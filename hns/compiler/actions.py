"""VFP rule types HNS programs that vfp/ does not define itself, built on vfp's actions.

- `PaRoute`    the `paroute` rule of VNET_PA_ROUTE_LAYER (route encapsulated traffic to the
               provider-address interface): a pass-through here, printed as real hosts do.
- `EncapRoute` `routeencap` (RemoteSubnetRoute) that also carries the MSS delta the
               endpoint's encap overhead implies (`MSS delta: 50,0` on real hosts).
- `EncapMap`   `mapencap` (CA -> PA mapping of a remote endpoint) with the same MSS delta.
- `DsrLbNat`   `lbnat` of a DSR load balancer: remote backends keep the VIP and are
               encapsulated to their host's PA.

The MSS delta is printed and applied: the TCP MSS option of SYN / SYN-ACK segments the
rule encapsulates is lowered by it (vfp.actions.clamp_mss).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vfp.actions import (
    ALLOW,
    Action,
    ActionContext,
    Decision,
    DynNat,
    LbNat,
    MapEncap,
    RouteEncap,
    Transposition,
    vxlan_source_port,
)
from vfp.addr import format_ip
from vxlan import Outer, Packet


@dataclass(frozen=True)
class SnatLbNat(LbNat):
    """lbnat of a non-DSR load balancer with a SourceVIP: VIP -> DIP, and the source
    becomes (SourceVIP, a port of the client port's pool), as kube-proxy configures it
    (kubernetes#79359 shows the dynnat and its SLB_NATPOOL on the client's port). The
    stateful flow un-NATs both on the reply."""

    pool: str = ""

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        got = super().decide(p, ctx)
        if p.proto not in (6, 17) or not self.pool:
            return got
        snat = ctx.allocate_snat(self.pool, p)
        if snat is None:
            return got
        mods = (*got.transposition.modify, ("src_ip", snat[0]), ("sport", snat[1]))
        return Decision(True, replace(got.transposition, modify=mods))


def _clamping(decision: Decision, mss_delta: int) -> Decision:
    """An encap decision that also lowers the MSS of SYN / SYN-ACK segments by the delta
    the rule prints, so that the encapsulated segments fit the underlay MTU."""
    if not decision.allowed or not mss_delta:
        return decision
    return Decision(True, replace(decision.transposition, mss_delta=mss_delta),
                    decision.reason)


def pa_nic_mac(pa: int) -> int:
    """The MAC of the host NIC that holds provider address `pa`: the outer source MAC of
    every frame the host encapsulates (the pod's MAC stays inside). Real hosts use the
    physical NIC's (or host vNIC's) MAC; the emulator has none, so it makes a stable
    Hyper-V-OUI MAC from the PA's low 24 bits."""
    return 0x00155D000000 | (pa & 0xFFFFFF)


#: The interface index of the host's provider-address NIC, as the PA_ROUTE rule prints it
#: (VFP.psm1's sample prints 11; the emulated host has one adapter).
PA_INTERFACE_INDEX = 11


@dataclass(frozen=True)
class PaRoute(Action):
    """Route to the provider address in the default compartment (no header change)."""

    interface_index: int = PA_INTERFACE_INDEX
    kind = "paroute"

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return ALLOW

    def data_lines(self) -> list[str]:
        return ["Rule Data:", "VLAN ID: 0", "Using default compartment",
                "Cache pruning threshold: 10", "Cache pruning timeout: 30 seconds",
                f"Using interface constraint with interface index: {self.interface_index}"]


@dataclass(frozen=True)
class OverlayDynNat(DynNat):
    """The OutBoundNAT dynnat of an overlay port: prints the MSS delta of the encap
    overhead before its pool, as real overlay ports do (kubernetes#79359)."""

    mss_delta: int = 50

    def data_lines(self) -> list[str]:
        return [f"MSS delta: {self.mss_delta},0", *super().data_lines()]


def snat_action(pool: str, overlay: bool, mss_delta: int) -> DynNat:
    return OverlayDynNat(pool, mss_delta) if overlay else DynNat(pool)


@dataclass(frozen=True)
class EncapRoute(RouteEncap):
    """routeencap with the MSS delta of the encap overhead."""

    mss_delta: int = 50

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return _clamping(super().decide(p, ctx), self.mss_delta)

    def data_lines(self) -> list[str]:
        return [f"MSS delta: {self.mss_delta},0", *super().data_lines()]


@dataclass(frozen=True)
class EncapMap(MapEncap):
    """mapencap with the MSS delta of the encap overhead."""

    mss_delta: int = 50

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return _clamping(super().decide(p, ctx), self.mss_delta)

    def data_lines(self) -> list[str]:
        return [f"MSS delta: {self.mss_delta},0", *super().data_lines()]


@dataclass(frozen=True)
class DsrLbNat(LbNat):
    """Direct server return: like lbnat, but a backend behind another host's provider
    address keeps the VIP as destination and is reached by encapsulating to that PA with
    the backend's MAC as inner destination (its host's NAT_ rule DNATs VIP -> DIP and its
    flow answers from the VIP). `encap[i]` is (PA, MAC, VNI) for remote backend i, or None
    for a backend on this host (plain VIP -> DIP, un-NATed by the flow)."""

    encap: tuple[tuple[int, int, int] | None, ...] = ()
    src_pa: int = 0

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        target = self.choose(p)
        remote = self.encap[self.dips.index(target)] if self.encap else None
        if remote is None:
            return super().decide(p, ctx)
        pa, mac, vni = remote
        outer = Outer(src_mac=pa_nic_mac(self.src_pa), dst_mac=0, src_ip=self.src_pa, dst_ip=pa,
                      sport=vxlan_source_port(p), vni=vni, dport=ctx.vxlan_port)
        mods = (("dst_mac", mac),) if mac else ()
        return Decision(True, Transposition(pop_outer=p.outer is not None, modify=mods,
                                            push_outer=outer))

    def data_lines(self) -> list[str]:
        lines = super().data_lines()
        for (ip, _), remote in zip(self.dips, self.encap, strict=False):
            if remote is not None:
                lines.append(f"DSR : {format_ip(ip)} via PA {format_ip(remote[0])}, "
                             f"VNI {remote[2]}")
        return lines
