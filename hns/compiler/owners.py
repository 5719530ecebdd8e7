"""Which local endpoint owns an address and port of the host: the compiler's index of the
rules that publish (PortMapping DNATs, load balancer backends) and of the NAT pools.

`Compiler.owner_of` answers from it where the host delivers a frame addressed to one of
its own addresses; the compiler keeps it in step with every item it programs or removes.
"""

from __future__ import annotations

from collections.abc import Iterator

from hns.compiler.rules import Item, PoolSpec, RuleSpec

__all__ = ["OwnerIndex"]


class OwnerIndex:
    """(protocol, IP, port) -> endpoint key of a publishing rule; pool id -> (endpoint key,
    protocol, ranges)."""

    def __init__(self) -> None:
        self.portmaps: dict[tuple[int, int, int], str] = {}
        self.pools: dict[str, tuple[str, int, tuple[tuple[int, int, int], ...]]] = {}

    def index(self, key: str, item: Item) -> None:
        if isinstance(item, PoolSpec):
            self.pools[item.id] = (key, item.proto, item.ranges)
        elif isinstance(item, RuleSpec) and item.publish:
            c = item.conditions
            for proto in c.protocols:
                for lo, _ in c.dst_ips:
                    for port, _ in c.dst_ports:
                        self.portmaps[(proto, lo, port)] = key

    def unindex(self, key: str, item: Item) -> None:
        if isinstance(item, PoolSpec):
            if self.pools.get(item.id, ("",))[0] == key:
                del self.pools[item.id]
        elif isinstance(item, RuleSpec) and item.publish:
            c = item.conditions
            for proto in c.protocols:
                for lo, _ in c.dst_ips:
                    for port, _ in c.dst_ports:
                        if self.portmaps.get((proto, lo, port)) == key:
                            del self.portmaps[(proto, lo, port)]

    def pool_owner(self, proto: int, ip: int, port: int) -> str | None:
        """The endpoint whose pool of this protocol covers (ip, port)."""
        for owner, pool_proto, ranges in self.pools.values():
            if pool_proto == proto and any(
                    a == ip and lo <= port <= hi for a, lo, hi in ranges):
                return owner
        return None

    def icmp_pool_owners(self, ip: int) -> Iterator[str]:
        """The endpoints with an ICMP pool on this address."""
        for owner, pool_proto, ranges in self.pools.values():
            if pool_proto == 1 and any(a == ip for a, _, _ in ranges):
                yield owner
