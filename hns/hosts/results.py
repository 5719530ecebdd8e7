"""What injecting a frame into a host returns: `Hop` (one port a frame crossed, with its
vfp Result and Trace), `Delivery` (where the frame ended) and `InjectResult` (both)."""

from __future__ import annotations

from dataclasses import dataclass, field

import vfp


@dataclass(frozen=True, slots=True)
class Hop:
    """One port a frame crossed."""

    port_id: str
    endpoint_id: str | None
    direction: str
    result: vfp.Result
    trace: vfp.Trace | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a frame ended: `where` is "endpoint" (target = endpoint id), "underlay"
    (target = destination PA), "external" (the host side), "host" (the host's own IP
    stack, through a host vNIC port), "arp" (answered by the vSwitch; target = the IP
    asked for) or "dropped" (reason says why)."""

    where: str
    target: str = ""
    reason: str = ""
    frame: bytes | None = None


@dataclass
class InjectResult:
    """What one injected frame did: the ports it crossed and where it ended."""

    hops: list[Hop] = field(default_factory=list)
    delivery: Delivery = field(default_factory=lambda: Delivery("dropped", reason="nothing"))

    @property
    def result(self) -> vfp.Result | None:
        """The vfp Result of the first port crossed (None: no port was crossed)."""
        return self.hops[0].result if self.hops else None

    @property
    def trace(self) -> vfp.Trace | None:
        return self.hops[0].trace if self.hops else None

    @property
    def traces(self) -> list[vfp.Trace]:
        return [h.trace for h in self.hops if h.trace is not None]

    @property
    def where(self) -> str:
        return self.delivery.where

    @property
    def target(self) -> str:
        return self.delivery.target

    @property
    def reason(self) -> str:
        return self.delivery.reason

    @property
    def output(self) -> bytes | None:
        return self.delivery.frame


__all__ = ["Delivery", "Hop", "InjectResult"]
