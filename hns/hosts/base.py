"""The state of an emulated host and what every part of its data path shares: the
constructor (HNS service, VFP switch, compiler, counters, captures), the index kept from
HNS change events, lookups of endpoints and their emulated containers, and the small
steps every path takes (running a port's pipeline, delivering to a container, counting
a drop). The paths themselves are in arp.py, vswitch.py and host.py."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

import vfp
import vxlan
from hns.hosts.index import (
    BROADCAST,
    ETH_IPV4,
    EpInfo,
    Index,
    NetInfo,
    ipv4_int,
    synthetic_mac,
)
from hns.hosts.nat import NatFlows
from hns.hosts.results import Delivery, Hop
from hns.model.read import ReadCache, read_endpoint, read_network, stored_key
from hns.profiles import DEFAULT_PROFILE
from hns.service import HnsService
from vxlan.underlay import outer_destination


class CompilerLike(Protocol):
    """What the host needs from hns.compiler.Compiler (the shared contract)."""

    def port_of(self, endpoint_id: str) -> vfp.Port | None: ...

    def endpoint_of(self, port_id: str) -> str | None: ...

    def close(self) -> None: ...


CompilerFactory = Callable[[HnsService, vfp.Switch], CompilerLike]


def default_compiler(service: HnsService, switch: vfp.Switch, *,
                     dsr_keeps_vip: bool = False) -> CompilerLike:
    from hns.compiler import Compiler  # the compiler package sits beside this module

    compiler: CompilerLike = Compiler(service, switch, dsr_keeps_vip=dsr_keeps_vip)
    return compiler


class HostBase:
    """An emulated host's state and shared steps (see the module docstring)."""

    def __init__(
        self,
        name: str = "host",
        host_ip: str = HnsService.HOST_IP,
        service: HnsService | None = None,
        underlay: vxlan.Underlay | None = None,
        state: str = ":memory:",
        profile: str = DEFAULT_PROFILE,
        *,
        vxlan_port: int | None = None,
        compiler: CompilerFactory | None = None,
        capture_limit: int | None = 10_000,
        dsr_keeps_vip: bool = False,
    ) -> None:
        self.name = name
        if service is None:
            service = HnsService(state=state, profile=profile, host_ip=host_ip)
        self.service = service
        self.underlay = underlay
        port = vxlan_port or (underlay.port if underlay is not None else vxlan.VXLAN_PORT)
        self.switch = vfp.Switch(name=name, vxlan_port=port)
        #: reason -> count of every frame the host dropped
        self.drops: Counter[str] = Counter()
        #: how many frames `received(ep)` and `external` keep (the newest; None: all)
        self.capture_limit = capture_limit
        #: frames delivered to the host side (no local endpoint owned the destination)
        self.external: deque[bytes] = deque(maxlen=capture_limit)
        #: called (under the service lock) with every frame delivered to the host side;
        #: a Cluster uses it to carry frames between hosts over the "physical" network
        self.on_external: Callable[[bytes], None] | None = None
        #: asked (under the service lock) for the MAC of an address on the physical
        #: network when a container of an L2Bridge/Transparent/L2Tunnel network ARPs for
        #: an address nothing local answers; a Cluster asks its other hosts
        self.resolve_physical: Callable[[int], bytes | None] | None = None
        #: frames the host sent to the underlay
        self.sent_to_underlay = 0
        #: ARP requests the vSwitch answered: "container" (proxy ARP for a local
        #: container) and "underlay" (a request that came over VXLAN)
        self.arp_answers: Counter[str] = Counter()
        #: what the host's own (emulated) IP stack answered, e.g. "icmp echo reply"
        self.host_stack: Counter[str] = Counter()
        #: frames delivered to the host's own IP stack through a host vNIC port (answers
        #: to what it sent with `send_from_host`)
        self.host_received: deque[bytes] = deque(maxlen=capture_limit)
        self._host_ip_cache: tuple[str, int | None] = ("", None)
        #: translated flows by their answer's 5-tuple: which port un-NATs the answer
        self._nat = NatFlows()
        self._index = Index()
        #: the typed objects the index was built from (hns/model/read.py)
        self._nets = ReadCache(read_network)
        self._eps = ReadCache(read_endpoint)
        self._guests: dict[str, vxlan.GuestStack] = {}
        self._received: dict[str, deque[bytes]] = {}
        self._queue: deque[tuple[str, bytes]] = deque()  # (endpoint key, frame it sends)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._work = threading.Event()  # set when a local frame is queued
        # notified after each pump that moved frames: ping() waits on it, not on a clock
        self._pumped = threading.Condition()
        self._closed = False
        self._seq = itertools.count(1)
        self._pa_names: dict[bytes, str] = {}
        with service.lock:
            service.add_listener(self._on_change)
            self._reindex()
            if compiler is None:
                # real DSR (VIP kept to the remote backend's host) is the compiler's opt-in
                self.compiler: CompilerLike = default_compiler(
                    service, self.switch, dsr_keeps_vip=dsr_keeps_vip)
            else:
                self.compiler = compiler(service, self.switch)

    def __repr__(self) -> str:
        under = "no underlay" if self.underlay is None else \
            f"{type(self.underlay).__name__} {self.underlay.pa}:{self.underlay.port}"
        return f"<Host {self.name} PA {self.host_ip}, {under}, {len(self.switch.ports)} ports>"

    @property
    def host_ip(self) -> str:
        """This host's provider address (the service's `host_ip`)."""
        return self.service.host_ip

    def _on_change(self, changes: list[Any] | None) -> None:
        if changes is None:
            self._reindex()
            return
        for change in changes:
            if change.kind == "network":
                self._nets.forget(change.key)
                self._index.put_net(None if change.new is None else
                                    self._nets.read(change.key, change.new), change.key)
            elif change.kind == "endpoint":
                self._eps.forget(change.key)
                self._index.put_ep(None if change.new is None else
                                   self._eps.read(change.key, change.new), change.key)
                if change.new is None:
                    self._guests.pop(change.key, None)
                    self._received.pop(change.key, None)

    def _reindex(self) -> None:
        objects = self.service.stored()  # read only; no deep copy (issue 11)
        self._index.clear()
        for net_raw in objects.get("network", []):
            net = self._nets.read(stored_key(net_raw), net_raw)
            self._index.put_net(net, net.key)
        for ep_raw in objects.get("endpoint", []):
            ep = self._eps.read(stored_key(ep_raw), ep_raw)
            self._index.put_ep(ep, ep.key)
        self._nets.keep_only(self._index.nets)
        self._eps.keep_only(self._index.eps)
        live = set(self._index.eps)
        for key in [k for k in self._guests if k not in live]:
            del self._guests[key]
        for key in [k for k in self._received if k not in live]:
            del self._received[key]

    # -- lookups -----------------------------------------------------------------------

    def _ep(self, ep_or_port_id: str) -> EpInfo:
        key = ep_or_port_id.upper()
        info = self._index.eps.get(key)
        if info is None:
            ep_id = self.compiler.endpoint_of(ep_or_port_id)
            info = None if ep_id is None else self._index.eps.get(ep_id.upper())
        if info is None:
            for e in self._index.eps.values():
                if e.name == ep_or_port_id and not e.remote:
                    return e
            raise KeyError(f"no endpoint {ep_or_port_id!r} on host {self.name}")
        return info

    def port_of(self, ep_id: str) -> vfp.Port | None:
        """The VFP port of a local endpoint (None for remote or unknown endpoints)."""
        with self.service.lock:
            return self.compiler.port_of(ep_id)

    def host_port(self, network_id: str) -> vfp.Port | None:
        """The host vNIC port of a network (None: unknown network, or a compiler without
        host ports)."""
        with self.service.lock:
            find = getattr(self.compiler, "host_port", None)
            return None if find is None else find(network_id)

    def endpoints(self) -> list[str]:
        """Ids of the local endpoints (those that have an emulated container)."""
        with self.service.lock:
            return [e.id for e in self._index.eps.values() if not e.remote]

    def endpoint_table(self) -> list[dict[str, Any]]:
        """Every endpoint as the data path sees it: ``ID``, ``Name``, ``Network`` (id),
        ``NetworkName``, ``IPAddress`` (IPv4 text or None), ``MacAddress``
        (``00-15-5D-..``), ``IsRemoteEndpoint``, ``ProviderAddress`` (or None)."""
        with self.service.lock:
            rows = []
            for e in self._index.eps.values():
                net = self._index.nets.get(e.net)
                rows.append({
                    "ID": e.id, "Name": e.name, "Network": net.id if net else e.net,
                    "NetworkName": net.name if net else "",
                    "IPAddress": None if e.ip is None else vxlan.ipv4_to_text(e.ip),
                    "MacAddress": e.mac.hex("-").upper(), "IsRemoteEndpoint": e.remote,
                    "ProviderAddress": e.pa,
                })
            return rows

    def endpoint_infos(self) -> list[tuple[EpInfo, NetInfo | None]]:
        """Every endpoint as the data path sees it, with its network (typed: what
        `endpoint_table` renders)."""
        with self.service.lock:
            return [(e, self._index.nets.get(e.net)) for e in self._index.eps.values()]

    def network_id(self, name: str) -> str | None:
        """The id of the network with this name (HNS names are case-insensitive)."""
        with self.service.lock:
            low = name.casefold()
            for net in self._index.nets.values():
                if net.name.casefold() == low:
                    return net.id
            return None

    def guest(self, ep_id: str) -> vxlan.GuestStack:
        """The emulated container behind a local endpoint (answers ARP, ping, UDP echo)."""
        with self.service.lock:
            return self._guest(self._ep(ep_id))

    def _guest(self, ep: EpInfo) -> vxlan.GuestStack:
        if ep.remote:
            raise KeyError(f"endpoint {ep.id} is remote: it has no container on {self.name}")
        if ep.ip is None:
            raise KeyError(f"endpoint {ep.id} has no IPv4 address")
        g = self._guests.get(ep.key)
        if g is None or g.mac != ep.mac or g.ip != ep.ip:
            g = vxlan.GuestStack(ep.mac, vxlan.ipv4_to_text(ep.ip), prefix_len=ep.prefix_len,
                                 gateway=ep.gateway)
            self._guests[ep.key] = g
        return g

    def received(self, ep_id: str) -> list[bytes]:
        """Every frame delivered to that container (after its port's IN pipeline)."""
        with self.service.lock:
            return list(self._received.get(self._ep(ep_id).key, []))

    # -- steps every path takes ----------------------------------------------------------

    def _drop(self, reason: str, frame: bytes | None = None) -> Delivery:
        self.drops[reason] += 1
        return Delivery("dropped", reason=reason, frame=frame)

    def _run_port(self, port: vfp.Port, ep: EpInfo | None, frame: bytes, direction: str,
                  hops: list[Hop], trace: bool) -> vfp.Result:
        if trace:
            t = vfp.trace(port, frame, direction, commit=True)
            res = vfp.Result(t.allowed, t.output, t.reason)
            hops.append(Hop(port.id, ep.id if ep else None, direction, res, t))
        else:
            res = vfp.process(port, frame, direction)
            hops.append(Hop(port.id, ep.id if ep else None, direction, res))
        return res

    def _is_vxlan(self, frame: bytes) -> bool:
        if frame[12:15] == b"\x08\x00\x45" and len(frame) >= 42:
            # the common shape (untagged IPv4 without options), read straight from bytes
            return frame[23] == 17 and (frame[36] << 8 | frame[37]) == self.switch.vxlan_port
        try:
            _, _, dport, _ = outer_destination(frame)
        except vxlan.DecodeError:
            return False
        return dport == self.switch.vxlan_port

    def _pa_text(self, raw: bytes) -> str:
        text = self._pa_names.get(raw)
        if text is None:
            if len(self._pa_names) > 4096:
                self._pa_names.clear()
            text = self._pa_names[raw] = vxlan.ipv4_to_text(int.from_bytes(raw, "big"))
        return text

    def _external(self, frame: bytes) -> None:
        self.external.append(frame)
        if self.on_external is not None:
            self.on_external(frame)

    def _gateway_mac(self, ep: EpInfo) -> bytes:
        net = self._index.nets.get(ep.net)
        if net is not None and net.dr_mac is not None:
            return net.dr_mac
        return synthetic_mac(f"gateway:{ep.net}")

    def _to_container(self, ep: EpInfo, frame: bytes, hops: list[Hop], *,
                      trace: bool) -> Delivery:
        if ep.remote:
            return self._drop("destination endpoint is remote", frame)
        port = self.compiler.port_of(ep.id)
        if port is None:
            return self._drop("no VFP port for the endpoint", frame)
        res = self._run_port(port, ep, frame, vfp.IN, hops, trace)
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            return self._drop(f"{vfp.IN}: {why}", frame)
        data = res.output
        if self._is_vxlan(data):
            return self._drop("still encapsulated after the IN pipeline", data)
        if data[0:6] != ep.mac and data[0:6] != BROADCAST and data[12:14] == ETH_IPV4:
            # decapsulated towards the DR MAC: the VNET layer hands it to the CA's MAC
            data = ep.mac + data[6:]
        self._deliver(ep, data)
        return Delivery("endpoint", ep.id, frame=data)

    def _deliver(self, ep: EpInfo, frame: bytes) -> None:
        got = self._received.get(ep.key)
        if got is None:
            got = self._received[ep.key] = deque(maxlen=self.capture_limit)
        got.append(frame)
        for answer in self._guest(ep).handle(frame):
            self._enqueue((ep.key, answer))

    def _host_ip_int(self) -> int | None:
        ip = self.host_ip
        if self._host_ip_cache[0] != ip:
            self._host_ip_cache = (ip, ipv4_int(ip))
        return self._host_ip_cache[1]

    def _enqueue(self, item: tuple[str, bytes]) -> None:
        self._queue.append(item)
        self._work.set()

    def pending(self) -> int:
        """Local frames waiting for `pump()`."""
        return len(self._queue)

    def counters(self) -> dict[str, Any]:
        """Readable counters: drops by reason, frames to the underlay and the host side."""
        with self.service.lock:
            return {
                "Drops": dict(self.drops),
                "SentToUnderlay": self.sent_to_underlay,
                "ArpAnswers": dict(self.arp_answers),
                "HostStack": dict(self.host_stack),
                "External": len(self.external),
                "Pending": len(self._queue),
            }


__all__ = ["CompilerFactory", "CompilerLike", "HostBase", "default_compiler"]
