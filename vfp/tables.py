"""The tables a port's actions consult besides its rules: the CA -> PA mappings of a VNET
mapping space (vfpctrl /add-mapping; encap rules look the destination up there) and the
dynamic NAT pools SNAT actions take (IP, port) pairs from, one per flow.  `vfp.model.Port`
holds them; every change goes through its methods (add_mapping, add_nat_pool ...).
"""

from __future__ import annotations

from collections.abc import Mapping as Mapping_
from dataclasses import dataclass, field

from vfp.errors import InvalidRule

__all__ = ["MapSpace", "Mapping", "NatPool", "NatRange", "SharedMappings", "check_mapping"]


@dataclass
class Mapping:
    """A CA -> PA mapping in a map space (vfpctrl /add-mapping)."""

    ca: int
    pa: int
    mac: int = 0
    vni: int = 0
    flags: int = 0


class SharedMappings:
    """CA -> PA mappings checked once (`Port.adopt_mappings` adds them in one step)."""

    __slots__ = ("mappings",)

    def __init__(self, mappings: list[Mapping]) -> None:
        for mapping in mappings:
            check_mapping(mapping)
        self.mappings: Mapping_[int, Mapping] = {m.ca: m for m in mappings}

    def without(self, cas: set[int]) -> SharedMappings:
        if not cas:
            return self
        out = SharedMappings([])
        out.mappings = {ca: m for ca, m in self.mappings.items() if ca not in cas}
        return out


def check_mapping(mapping: Mapping) -> None:
    if not 0 <= mapping.vni < 1 << 24:
        raise InvalidRule("VNI", f"{mapping.vni} is not a 24-bit VNI")
    if not 0 <= mapping.mac < 1 << 48:
        raise InvalidRule("MAC", f"{mapping.mac} is not a 48-bit MAC")


@dataclass
class MapSpace:
    id: str
    name: str = ""
    mappings: dict[int, Mapping] = field(default_factory=dict)


@dataclass
class NatRange:
    ip: int
    port_start: int
    port_end: int


@dataclass
class NatPool:
    """A dynamic NAT pool: ranges of (IP, port) handed out one per flow."""

    id: str
    name: str = ""
    ranges: list[NatRange] = field(default_factory=list)
    allocations: dict[tuple[int, int, int, int, int], tuple[int, int]] = field(
        default_factory=dict
    )
    in_use: set[tuple[int, int]] = field(default_factory=set)

    def pick(self, flow: tuple[int, int, int, int, int], commit: bool) -> tuple[int, int] | None:
        got = self.allocations.get(flow)
        if got is not None:
            return got
        for r in self.ranges:
            for port in range(r.port_start, r.port_end + 1):
                if (r.ip, port) not in self.in_use:
                    if commit:
                        self.allocations[flow] = (r.ip, port)
                        self.in_use.add((r.ip, port))
                    return r.ip, port
        return None

    def release(self, flow: tuple[int, int, int, int, int]) -> None:
        got = self.allocations.pop(flow, None)
        if got is not None:
            self.in_use.discard(got)
