"""Who owns the answer to a translated flow: the one table the vSwitch keeps for it.

When a frame leaves a port with its source rewritten (an OutBoundNAT dynnat, a load
balancer's SourceVIP SNAT, a host vNIC port's load balancer rule), the answer comes back
addressed to the translated source, an address the port does not own as its IP (the
host's address, a SourceVIP): only the port that translated it can un-NAT it. VFP keeps
that knowledge in the port's flow, keyed by the 5-tuple; the vSwitch keeps the same key,
the answer's 5-tuple (protocol, remote address and port, translated address and port;
ICMP echo: its identifier as both ports), pointing at the port and the direction the
answer runs through it: IN for a flow the port created going OUT (a container's own
traffic, the host's), OUT for one it created coming IN (a host vNIC port hairpinning a
frame from outside back into the network).

Bounded (the oldest entry goes first); an entry whose port is gone is never returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import vfp
import vxlan

#: answer 5-tuple: (protocol, remote IP, remote port, translated IP, translated port)
ReplyKey = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class NatOwner:
    """The port an answer belongs to: a container's (`endpoint` = its key) or a host vNIC
    port (`endpoint` empty), and the direction the answer runs through it."""

    port: vfp.Port
    direction: str
    endpoint: str = ""


class NatFlows:
    """Translated flows the vSwitch saw leave a port, by their answer's 5-tuple."""

    def __init__(self, limit: int = 65536) -> None:
        self.limit = limit
        self._by_reply: dict[ReplyKey, NatOwner] = {}

    def record(self, before: vxlan.FlowKey | None, after: vxlan.FlowKey | None,
               owner: NatOwner) -> None:
        """Remember `owner` for the answer to `after`, when the port rewrote the source."""
        if before is None or after is None or (before.src, before.src_port) == (
                after.src, after.src_port):
            return
        key = (after.protocol, after.dst, after.dst_port, after.src, after.src_port)
        self._by_reply.pop(key, None)
        if len(self._by_reply) >= self.limit:
            del self._by_reply[next(iter(self._by_reply))]
        self._by_reply[key] = owner

    def owner(self, key: vxlan.FlowKey, switch: vfp.Switch) -> NatOwner | None:
        """The owner of an answer (None: not an answer to a translated flow, or its port
        is gone)."""
        got = self._by_reply.get((key.protocol, key.src, key.src_port, key.dst, key.dst_port))
        if got is None or switch.ports.get(got.port.id) is not got.port:
            return None
        return got

    def __len__(self) -> int:
        return len(self._by_reply)

    def clear(self) -> None:
        self._by_reply.clear()


__all__ = ["NatFlows", "NatOwner", "ReplyKey"]
