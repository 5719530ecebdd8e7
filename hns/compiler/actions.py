"""VFP rule types HNS programs that vfp/ does not define itself, built on vfp's actions.

- `PaRoute`    the `paroute` rule of VNET_PA_ROUTE_LAYER (route encapsulated traffic to the
               provider-address interface): a pass-through here, printed as real hosts do.
- `EncapRoute` `routeencap` (RemoteSubnetRoute) that also carries the MSS delta the
               endpoint's encap overhead implies (`MSS delta: 50,0` on real hosts).
- `EncapMap`   `mapencap` (CA -> PA mapping of a remote endpoint) with the same MSS delta.

The MSS delta is printed, not applied: vfp does not rewrite TCP options (docs/compiler.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from vfp.actions import ALLOW, Action, ActionContext, Decision, MapEncap, RouteEncap
from vfp.packet import Packet


@dataclass(frozen=True)
class PaRoute(Action):
    """Route to the provider address in the default compartment (no header change)."""

    kind = "paroute"

    def decide(self, p: Packet, ctx: ActionContext) -> Decision:
        return ALLOW

    def data_lines(self) -> list[str]:
        return ["Rule Data:", "VLAN ID: 0", "Using default compartment",
                "Cache pruning threshold: 10", "Cache pruning timeout: 30 seconds"]


@dataclass(frozen=True)
class EncapRoute(RouteEncap):
    """routeencap with the MSS delta of the encap overhead."""

    mss_delta: int = 50

    def data_lines(self) -> list[str]:
        return [f"MSS delta: {self.mss_delta},0", *super().data_lines()]


@dataclass(frozen=True)
class EncapMap(MapEncap):
    """mapencap with the MSS delta of the encap overhead."""

    mss_delta: int = 50

    def data_lines(self) -> list[str]:
        return [f"MSS delta: {self.mss_delta},0", *super().data_lines()]
