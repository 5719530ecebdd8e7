"""An emulated Windows container host: one HNS, one VFP switch, the compiler between them,
an optional underlay, and the vSwitch that moves frames between ports.

Division of labour
------------------
HnsService   the control plane (networks, endpoints, policies); `service.host_ip` is this
             host's provider address (PA).
Compiler     (hns.compiler) keeps one VFP port per local endpoint programmed from HNS.
vfp.Switch   the ports and their pipelines (layers, rules, flows).
Host         (here) the vSwitch data path between ports, the emulated containers (one
             `vxlan.GuestStack` per local endpoint), proxy ARP, the underlay pump,
             per-endpoint capture and readable drop counters.

The data path (docs/hosts.md draws it)
--------------------------------------
A frame a container sends goes through its port's OUT pipeline. If the result carries an
outer VXLAN header (UDP destination == switch.vxlan_port) it goes to the underlay (outer
destination = the remote PA); otherwise it is delivered by inner destination IP to the
local endpoint that owns that IP (its port's IN pipeline, then its GuestStack), to the
endpoint that owns one of the host's own addresses by a port mapping or SNAT pool
(`compiler.owner_of`), or to the host side (`Host.external`) when nothing local owns it.
Frames from the host side (`receive_external`) are delivered the same way, except those
for a NodePort or VIP a host vNIC port load-balances (`compiler.host_ports`), which cross
that port (IN and hairpinned back, or OUT when forwarded), as the host's own traffic
(`send_from_host`) does; answers to the port's SNAT addresses run back through it. A VXLAN frame
from the underlay goes, still encapsulated, to the IN pipeline of the local endpoint whose
(Overlay) network VSID == VNI and whose IP == inner destination IP; the port's VNET layer
decapsulates it.

ARP never enters the layers (VFP answers it outside them): the vSwitch answers a
container's ARP request for a local or remote endpoint of its network with that
endpoint's MAC, and for the subnet gateway with the network's DR MAC (proxy ARP), and
answers ARP requests arriving over VXLAN for its local endpoints.

Every drop is counted in `Host.drops` (reason -> count), never raised. Packet processing
holds `service.lock`, so it never interleaves with a recompilation.

Glossary: `Hop` (one port a frame crossed, with its vfp Result and Trace), `Delivery`
(where a frame ended), `InjectResult` (both, for one injected frame).
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import vfp
import vxlan
from hns.compiler.layers import DEFAULT_VSID
from hns.profiles import DEFAULT_PROFILE
from hns.service import HnsService
from vxlan.underlay import outer_destination

__all__ = ["Delivery", "Hop", "Host", "InjectResult", "parse_underlay_spec"]

Json = dict[str, Any]

ETH_IPV4 = b"\x08\x00"
ETH_ARP = b"\x08\x06"
BROADCAST = b"\xff" * 6
PING_IDENT = 0x4D53  # the identifier GuestStack.ping uses by default
#: network types whose containers sit on the physical network (reachable between hosts)
_PHYSICAL_TYPES = frozenset({"L2Bridge", "Transparent", "L2Tunnel"})


class CompilerLike(Protocol):
    """What the host needs from hns.compiler.Compiler (the shared contract)."""

    def port_of(self, endpoint_id: str) -> vfp.Port | None: ...

    def endpoint_of(self, port_id: str) -> str | None: ...

    def close(self) -> None: ...


CompilerFactory = Callable[[HnsService, vfp.Switch], CompilerLike]


def _default_compiler(service: HnsService, switch: vfp.Switch, *,
                      dsr_keeps_vip: bool = False) -> CompilerLike:
    from hns.compiler import Compiler  # the compiler package sits beside this module

    compiler: CompilerLike = Compiler(service, switch, dsr_keeps_vip=dsr_keeps_vip)
    return compiler


# ---------------------------------------------------------------------------- index


@dataclass(frozen=True, slots=True)
class _Net:
    key: str
    id: str
    name: str
    type: str
    vsids: frozenset[int]
    dr_mac: bytes | None
    gateways: frozenset[int]
    #: RemoteSubnetRoute policies: (prefix length, network address, DR MAC or None),
    #: longest prefix first
    remote_subnets: tuple[tuple[int, int, bytes | None], ...] = ()

    def remote_subnet(self, ip: int) -> tuple[int, int, bytes | None] | None:
        """The longest RemoteSubnetRoute covering `ip`, or None."""
        for route in self.remote_subnets:
            plen, addr, _ = route
            if ip & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF) == addr:
                return route
        return None


@dataclass(frozen=True, slots=True)
class _Ep:
    key: str
    id: str
    name: str
    net: str  # network key
    ip: int | None
    prefix_len: int
    mac: bytes
    gateway: str | None
    remote: bool
    pa: str | None = None  # its ProviderAddress policy, if any


def _ipv4(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return int(addr) if addr.version == 4 else None


def _mac(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return vxlan.mac_from_text(text)
    except ValueError:
        return None


def _net_info(net: Json) -> _Net:
    vsids: set[int] = set()
    gateways: set[int] = set()
    for ipam in net.get("Ipams") or []:
        for subnet in ipam.get("Subnets") or []:
            for pol in subnet.get("Policies") or []:
                if str(pol.get("Type", "")).upper() == "VSID":
                    settings = pol.get("Settings") or {}
                    vsid = settings.get("IsolationId", pol.get("VSID"))
                    if isinstance(vsid, int):
                        vsids.add(vsid)
            for route in subnet.get("Routes") or []:
                hop = _ipv4(route.get("NextHop"))
                if hop is not None:
                    gateways.add(hop)
    net_type = str(net.get("Type", "NAT"))
    if net_type != "Overlay":
        vsids.clear()  # only overlay networks carry VXLAN (the compiler's rule too)
    elif not vsids:
        vsids.add(DEFAULT_VSID)  # the VNI the compiler encapsulates with when none is set
    dr_mac = None
    routes: list[tuple[int, int, bytes | None]] = []
    for pol in net.get("Policies") or []:
        settings = pol.get("Settings") or {}
        if pol.get("Type") == "DrMacAddress":
            dr_mac = _mac(settings.get("Address"))
        elif pol.get("Type") == "RemoteSubnetRoute":
            try:
                prefix = ipaddress.ip_network(str(settings.get("DestinationPrefix")),
                                              strict=False)
            except ValueError:
                continue
            if prefix.version == 4:
                routes.append((prefix.prefixlen, int(prefix.network_address),
                               _mac(settings.get("DistributedRouterMacAddress"))))
    return _Net(
        key=str(net["ID"]).upper(), id=str(net["ID"]), name=str(net.get("Name", "")),
        type=net_type, vsids=frozenset(vsids), dr_mac=dr_mac,
        gateways=frozenset(gateways),
        remote_subnets=tuple(sorted(routes, key=lambda r: -r[0])),
    )


def _ep_info(ep: Json) -> _Ep:
    ip: int | None = None
    prefix = 24
    for cfg in ep.get("IpConfigurations") or []:
        got = _ipv4(cfg.get("IpAddress"))
        if got is not None:
            ip = got
            plen = cfg.get("PrefixLength")
            if isinstance(plen, int) and 0 < plen <= 32:
                prefix = plen
            break
    gateway = None
    for route in ep.get("Routes") or []:
        if route.get("DestinationPrefix") == "0.0.0.0/0" and _ipv4(route.get("NextHop")):
            gateway = str(route["NextHop"])
    mac = _mac(ep.get("MacAddress")) or _synthetic_mac(str(ep["ID"]))
    pa = None
    for pol in ep.get("Policies") or []:
        if str(pol.get("Type", "")).lower() in ("provideraddress", "pa"):
            settings = pol.get("Settings") or {}
            got = settings.get("ProviderAddress", pol.get("PA"))
            if isinstance(got, str):
                pa = got
    return _Ep(
        key=str(ep["ID"]).upper(), id=str(ep["ID"]), name=str(ep.get("Name", "")),
        net=str(ep.get("HostComputeNetwork", "")).upper(), ip=ip, prefix_len=prefix,
        mac=mac, gateway=gateway, remote=bool(int(ep.get("Flags") or 0) & 1), pa=pa,
    )


def _flow_key(frame: bytes) -> vxlan.FlowKey | None:
    """The frame's 5-tuple, or None for non-IP and malformed frames."""
    try:
        return vxlan.flow_key(frame)
    except vxlan.DecodeError:
        return None


def _synthetic_mac(seed: str) -> bytes:
    """A stable locally administered MAC (for endpoints without one, and gateways of
    networks without a DR MAC)."""
    return b"\x02" + zlib.crc32(seed.encode()).to_bytes(4, "big") + b"\x01"


class _Index:
    """Networks and endpoints as the data path needs them, kept from change events."""

    def __init__(self) -> None:
        self.nets: dict[str, _Net] = {}
        self.eps: dict[str, _Ep] = {}
        self.local: dict[tuple[str, int], str] = {}  # (net key, ip) -> local ep key
        self.remote: dict[tuple[str, int], str] = {}  # (net key, ip) -> remote ep key
        self.by_ip: dict[int, list[str]] = {}  # ip -> local ep keys
        self.by_vsid: dict[int, set[str]] = {}  # vsid -> net keys

    def clear(self) -> None:
        for table in (self.nets, self.eps, self.local, self.remote, self.by_ip,
                      self.by_vsid):
            table.clear()

    def put_net(self, net: Json | None, key: str) -> None:
        old = self.nets.pop(key, None)
        if old is not None:
            for v in old.vsids:
                self.by_vsid.get(v, set()).discard(key)
        if net is None:
            return
        info = _net_info(net)
        self.nets[key] = info
        for v in info.vsids:
            self.by_vsid.setdefault(v, set()).add(key)

    def put_ep(self, ep: Json | None, key: str) -> None:
        old = self.eps.pop(key, None)
        if old is not None and old.ip is not None:
            table = self.remote if old.remote else self.local
            if table.get((old.net, old.ip)) == key:
                del table[(old.net, old.ip)]
            if not old.remote:
                keys = self.by_ip.get(old.ip, [])
                if key in keys:
                    keys.remove(key)
                if not keys:
                    self.by_ip.pop(old.ip, None)
        if ep is None:
            return
        info = _ep_info(ep)
        self.eps[key] = info
        if info.ip is not None:
            (self.remote if info.remote else self.local)[(info.net, info.ip)] = key
            if not info.remote:
                self.by_ip.setdefault(info.ip, []).append(key)

    def local_for(self, ip: int, prefer_net: str | None) -> _Ep | None:
        if prefer_net is not None:
            key = self.local.get((prefer_net, ip))
            if key is not None:
                return self.eps[key]
        keys = self.by_ip.get(ip)
        return self.eps[keys[0]] if keys else None

    def local_for_vni(self, vni: int, ip: int) -> _Ep | None:
        for net in sorted(self.by_vsid.get(vni, ())):
            key = self.local.get((net, ip))
            if key is not None:
                return self.eps[key]
        return None


# ---------------------------------------------------------------------------- results


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


# ---------------------------------------------------------------------------- host


def parse_underlay_spec(spec: str) -> tuple[str, str, int]:
    """``udp:<PA>[:<port>]`` (IPv6: ``udp:[<PA>]:<port>`` or a bare ``udp:<PA>``) ->
    (kind, PA, port). Raises ValueError with the reason."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind.lower() != "udp" or not rest:
        raise ValueError(f"underlay spec {spec!r} is not udp:<PA>[:<port>]")
    port = vxlan.VXLAN_PORT
    if rest.startswith("["):
        host, close, tail = rest[1:].partition("]")
        if not close or (tail and not tail.startswith(":")):
            raise ValueError(f"underlay spec {spec!r}: bad [IPv6]:port")
        pa, port_text = host, tail[1:]
    elif rest.count(":") == 1:
        pa, port_text = rest.split(":")
    else:
        pa, port_text = rest, ""
    try:
        ipaddress.ip_address(pa)
    except ValueError:
        raise ValueError(f"underlay spec {spec!r}: {pa!r} is not an IP address") from None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"underlay spec {spec!r}: bad port {port_text!r}")
        port = int(port_text)
    return "udp", pa, port


class Host:
    """One emulated Windows container host (see the module docstring)."""

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
        #: (protocol, SNAT address, port or ICMP id) -> the endpoint whose frame left so
        self._snat: dict[tuple[int, int, int], str] = {}
        self._index = _Index()
        self._guests: dict[str, vxlan.GuestStack] = {}
        self._received: dict[str, deque[bytes]] = {}
        self._queue: deque[tuple[str, bytes]] = deque()  # (endpoint key, frame it sends)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._work = threading.Event()  # set when a local frame is queued
        self._closed = False
        self._seq = itertools.count(1)
        self._pa_names: dict[bytes, str] = {}
        with service.lock:
            service.add_listener(self._on_change)
            self._reindex()
            if compiler is None:
                # real DSR (VIP kept to the remote backend's host) is the compiler's opt-in
                self.compiler: CompilerLike = _default_compiler(
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

    @classmethod
    def from_underlay_spec(cls, spec: str, *, name: str = "host", **kwargs: Any) -> Host:
        """A host whose provider address is bound on a real UDP socket:
        ``udp:<PA>[:<port>]`` (the PA becomes `service.host_ip`)."""
        _, pa, port = parse_underlay_spec(spec)
        underlay = vxlan.UdpUnderlay(pa, port)
        try:
            service = kwargs.get("service")
            if service is not None:
                # The bound PA is this host's provider address: networks created from now
                # on get it as their ProviderAddress.
                with service.lock:
                    service.host_ip = pa
            return cls(name, pa, underlay=underlay, **kwargs)
        except BaseException:
            underlay.close()
            raise

    # -- control-plane events ----------------------------------------------------------

    def _on_change(self, changes: list[Any] | None) -> None:
        if changes is None:
            self._reindex()
            return
        for change in changes:
            if change.kind == "network":
                self._index.put_net(change.new, change.key)
            elif change.kind == "endpoint":
                self._index.put_ep(change.new, change.key)
                if change.new is None:
                    self._guests.pop(change.key, None)
                    self._received.pop(change.key, None)

    def _reindex(self) -> None:
        objects = self.service.dump()["Objects"]
        self._index.clear()
        for net in objects.get("network", []):
            self._index.put_net(net, str(net["ID"]).upper())
        for ep in objects.get("endpoint", []):
            self._index.put_ep(ep, str(ep["ID"]).upper())
        live = set(self._index.eps)
        for key in [k for k in self._guests if k not in live]:
            del self._guests[key]
        for key in [k for k in self._received if k not in live]:
            del self._received[key]

    # -- lookups -----------------------------------------------------------------------

    def _ep(self, ep_or_port_id: str) -> _Ep:
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

    def _guest(self, ep: _Ep) -> vxlan.GuestStack:
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

    # -- sending -----------------------------------------------------------------------

    def send(self, ep_id: str, frame: bytes) -> InjectResult:
        """A frame leaves the container of `ep_id`: its port OUT, then the vSwitch. Frames
        this causes (the destination container's answers) wait for `pump()`."""
        with self.service.lock:
            return self._from_container(self._ep(ep_id), frame, trace=False)

    def inject(self, ep_or_port_id: str, frame: bytes, direction: str, *,
               trace: bool = False) -> InjectResult:
        """Run one frame through that port's pipeline (OUT: as sent by its container; IN:
        as arriving from the wire, VXLAN-encapsulated or not) and on through the vSwitch.
        With trace=True every port crossed reports its vfp Trace (slow path, committed)."""
        if direction not in (vfp.IN, vfp.OUT):
            raise ValueError(f"direction must be {vfp.IN!r} or {vfp.OUT!r}")
        with self.service.lock:
            ep = self._ep(ep_or_port_id)
            if direction == vfp.OUT:
                return self._from_container(ep, frame, trace=trace)
            out = InjectResult()
            out.delivery = self._to_container(ep, frame, out.hops, trace=trace)
            return out

    def start_ping(self, ep_id: str, dst_ip: str, *, seq: int | None = None) -> tuple[int, int]:
        """Queue an ICMP echo request (after ARP if needed) from the container of `ep_id`;
        returns its (identifier, sequence number), unique per host unless `seq` is given.
        The frames move on `pump()`; `guest(ep_id).reply_for(ident, seq)` is the answer."""
        with self.service.lock:
            ep = self._ep(ep_id)
            g = self._guest(ep)
            ident = PING_IDENT
            seq = next(self._seq) if seq is None else seq
            for f in g.ping(dst_ip, ident=ident, seq=seq):
                self._enqueue((ep.key, f))
            return ident, seq

    def ping(self, ep_id: str, dst_ip: str, *, seq: int | None = None,
             timeout: float = 2.0) -> bool:
        """Ping `dst_ip` from the container of `ep_id`; True when the echo reply came back.
        Pumps the underlay itself unless the background pump runs."""
        ident, seq = self.start_ping(ep_id, dst_ip, seq=seq)
        g = self.guest(ep_id)
        deadline = time.monotonic() + timeout
        while True:
            if self._thread is None:
                self.pump(timeout=0.02)
            else:
                time.sleep(0.01)
            if g.reply_for(ident, seq) is not None:
                return True
            if time.monotonic() >= deadline:
                return False

    # -- the vSwitch -------------------------------------------------------------------

    def _drop(self, reason: str, frame: bytes | None = None) -> Delivery:
        self.drops[reason] += 1
        return Delivery("dropped", reason=reason, frame=frame)

    def _run_port(self, port: vfp.Port, ep: _Ep | None, frame: bytes, direction: str,
                  hops: list[Hop], trace: bool) -> vfp.Result:
        if trace:
            t = vfp.trace(port, frame, direction, commit=True)
            res = vfp.Result(t.allowed, t.output, t.reason)
            hops.append(Hop(port.id, ep.id if ep else None, direction, res, t))
        else:
            res = vfp.process(port, frame, direction)
            hops.append(Hop(port.id, ep.id if ep else None, direction, res))
        return res

    def _from_container(self, ep: _Ep, frame: bytes, *, trace: bool) -> InjectResult:
        out = InjectResult()
        if len(frame) < 14:
            out.delivery = self._drop("runt frame from a container", frame)
            return out
        if frame[12:14] == ETH_ARP:
            out.delivery = self._proxy_arp(ep, frame)
            return out
        port = self.compiler.port_of(ep.id)
        if port is None:
            out.delivery = self._drop("no VFP port for the endpoint", frame)
            return out
        res = self._run_port(port, ep, frame, vfp.OUT, out.hops, trace)
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            out.delivery = self._drop(f"{vfp.OUT}: {why}", frame)
            return out
        data = res.output
        if self._is_vxlan(data) and not self._is_vxlan(frame):
            out.delivery = self._to_underlay(data)
            return out
        out.delivery = self._forward_local(ep, data, out.hops, trace)
        return out

    def _is_vxlan(self, frame: bytes) -> bool:
        if frame[12:15] == b"\x08\x00\x45" and len(frame) >= 42:
            # the common shape (untagged IPv4 without options), read straight from bytes
            return frame[23] == 17 and (frame[36] << 8 | frame[37]) == self.switch.vxlan_port
        try:
            _, _, dport, _ = outer_destination(frame)
        except vxlan.DecodeError:
            return False
        return dport == self.switch.vxlan_port

    def _to_underlay(self, frame: bytes) -> Delivery:
        if frame[12:15] == b"\x08\x00\x45":
            pa = self._pa_text(frame[30:34])
        else:
            version, dst, _, _ = outer_destination(frame)
            pa = vxlan.ip_to_text(dst, version)
        if self.underlay is None:
            if pa == self.host_ip:  # encapsulated to ourselves: straight back in
                return self._from_underlay(frame, [], trace=False)
            return self._drop("no underlay to send encapsulated frames on", frame)
        self.underlay.send(frame)
        self.sent_to_underlay += 1
        return Delivery("underlay", pa, frame=frame)

    def _pa_text(self, raw: bytes) -> str:
        text = self._pa_names.get(raw)
        if text is None:
            if len(self._pa_names) > 4096:
                self._pa_names.clear()
            text = self._pa_names[raw] = vxlan.ipv4_to_text(int.from_bytes(raw, "big"))
        return text

    def _forward_local(self, src: _Ep | None, frame: bytes, hops: list[Hop],
                       trace: bool) -> Delivery:
        key = _flow_key(frame)
        if key is None or key.dst > 0xFFFFFFFF:
            self._external(frame)
            return Delivery("external", frame=frame)
        back = self._host_reply(key)
        if back is not None:
            return self._to_host_side(back, frame, hops, trace)
        dst = self._snat_owner(key) or self._index.local_for(key.dst, src.net if src else None)
        if dst is None:
            dst = self._owner(key)
            if dst is not None and src is not None and dst.key == src.key and \
                    key.src != src.ip:
                # the sender's own SNAT rewrote it (e.g. to the host address it then
                # targets): it is not an answer to the sender, so not the owner's
                dst = None
        if dst is None:
            if src is not None and src.ip is not None and key.src != src.ip:
                # SNATed on the way out: remember whose it was, so the answer to this
                # (address, port or ICMP id) finds the port that un-NATs it
                if len(self._snat) >= 65536:
                    self._snat.clear()
                self._snat[(key.protocol, key.src, key.src_port)] = src.key
            self._external(frame)
            if key.dst == self._host_ip_int():
                self._host_stack(frame)
            return Delivery("external", vxlan.ipv4_to_text(key.dst), frame=frame)
        if frame[0:6] != dst.mac:
            # Routed (addressed to the gateway / DR MAC): the vSwitch delivers it to the
            # owner of the IP, as a router would, from the gateway MAC.
            frame = dst.mac + self._gateway_mac(dst) + frame[12:]
        return self._to_container(dst, frame, hops, trace=trace)

    def _external(self, frame: bytes) -> None:
        self.external.append(frame)
        if self.on_external is not None:
            self.on_external(frame)

    def accepts_physical(self, frame: bytes) -> bool:
        """Whether a frame on the physical network is for this host: its destination is
        the host's address, a local endpoint of a network bridged to the physical network
        (L2Bridge, Transparent, L2Tunnel), or an address an endpoint owns (port mapping,
        reply to SNATed traffic). Overlay and NAT addresses are not reachable from the
        physical network."""
        key = _flow_key(frame)
        if key is None or key.dst > 0xFFFFFFFF:
            return False
        with self.service.lock:
            return key.dst == self._host_ip_int() or self.physical_mac(key.dst) is not None \
                or self._owner(key) is not None or self._host_route(key) is not None \
                or self._host_reply(key) is not None

    def _owner(self, key: vxlan.FlowKey) -> _Ep | None:
        """The local endpoint a frame to one of the host's own addresses belongs to (a
        port mapping it publishes, or a reply to its SNATed traffic), as the compiler
        knows it, or as this host saw it leave SNATed (any protocol, ICMP included)."""
        seen = self._snat.get((key.protocol, key.dst, key.dst_port))
        if seen is not None and seen in self._index.eps:
            return self._index.eps[seen]
        owner_of = getattr(self.compiler, "owner_of", None)
        if owner_of is None:
            return None
        ep_id = owner_of(key.protocol, key.dst, key.dst_port, src=key.src)
        if ep_id is None:
            return None
        return self._index.eps.get(str(ep_id).upper())

    def _snat_owner(self, key: vxlan.FlowKey) -> _Ep | None:
        """The local endpoint whose load balancer SNATed a flow to (SourceVIP, port): the
        answer belongs to its port, not to the endpoint that holds the SourceVIP."""
        find = getattr(self.compiler, "pool_owner_of", None)
        ep_id = None if find is None else find(key.protocol, key.dst, key.dst_port)
        return None if ep_id is None else self._index.eps.get(str(ep_id).upper())

    def _gateway_mac(self, ep: _Ep) -> bytes:
        net = self._index.nets.get(ep.net)
        if net is not None and net.dr_mac is not None:
            return net.dr_mac
        return _synthetic_mac(f"gateway:{ep.net}")

    def _to_container(self, ep: _Ep, frame: bytes, hops: list[Hop], *,
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

    def _deliver(self, ep: _Ep, frame: bytes) -> None:
        got = self._received.get(ep.key)
        if got is None:
            got = self._received[ep.key] = deque(maxlen=self.capture_limit)
        got.append(frame)
        for answer in self._guest(ep).handle(frame):
            self._enqueue((ep.key, answer))

    # -- ARP ---------------------------------------------------------------------------

    def _arp_answer(self, net_key: str, target: int) -> bytes | None:
        """The MAC the vSwitch answers for `target` in a network, or None."""
        key = self._index.local.get((net_key, target)) or self._index.remote.get(
            (net_key, target))
        if key is not None:
            return self._index.eps[key].mac
        net = self._index.nets.get(net_key)
        if net is None:
            return None
        if target in net.gateways:
            return net.dr_mac or _synthetic_mac(f"gateway:{net_key}")
        # an on-link address behind a RemoteSubnetRoute: the remote distributed router
        route = net.remote_subnet(target)
        if route is not None:
            return route[2] or net.dr_mac or _synthetic_mac(f"gateway:{net_key}")
        if net.type in _PHYSICAL_TYPES and self.resolve_physical is not None:
            # bridged to the physical network: whoever owns the address there answers
            return self.resolve_physical(target)
        return None

    def physical_mac(self, ip: int) -> bytes | None:
        """The MAC of a local container with this IPv4 address on a network bridged to the
        physical network (what it answers to ARP there), or None. Another host asks this
        while holding its own lock: a bounded wait for ours avoids a lock-order deadlock
        between two pumping hosts (the answer is then None, as for a lost ARP)."""
        if not self.service.lock.acquire(timeout=1.0):
            return None
        try:
            for ep_key in self._index.by_ip.get(ip, ()):
                ep = self._index.eps[ep_key]
                net = self._index.nets.get(ep.net)
                if net is not None and net.type in _PHYSICAL_TYPES:
                    return ep.mac
            return None
        finally:
            self.service.lock.release()

    def _proxy_arp(self, ep: _Ep, frame: bytes) -> Delivery:
        try:
            arp = vxlan.decode_frame(frame).arp
        except vxlan.DecodeError as exc:
            return self._drop(f"malformed ARP: {exc.reason}", frame)
        if arp is None or arp.oper != vxlan.ARP.REQUEST:
            return self._drop("ARP other than a request", frame)
        target = vxlan.ipv4_to_text(arp.tpa)
        if arp.tpa == ep.ip or arp.tpa == arp.spa:
            return self._drop("gratuitous ARP", frame)
        mac = self._arp_answer(ep.net, arp.tpa)
        if mac is None:
            return self._drop("ARP for an address no endpoint owns", frame)
        reply = vxlan.ARP(vxlan.ARP.REPLY, mac, arp.tpa, arp.sha, arp.spa)
        answer = vxlan.encode_frame(
            vxlan.Frame(vxlan.Ethernet(arp.sha, mac, vxlan.ETH_P_ARP), arp=reply))
        self.arp_answers["container"] += 1
        self._deliver(ep, answer)
        return Delivery("arp", target, frame=answer)

    def _underlay_arp(self, d: vxlan.Decapsulated) -> Delivery:
        """An ARP request that came over VXLAN: answer it for a local endpoint of that VNI,
        encapsulated back to the sender's PA."""
        try:
            arp = vxlan.decode_frame(d.inner).arp
        except vxlan.DecodeError as exc:
            return self._drop(f"malformed ARP over VXLAN: {exc.reason}", d.inner)
        if arp is None or arp.oper != vxlan.ARP.REQUEST:
            return self._drop("ARP over VXLAN other than a request", d.inner)
        ep = self._index.local_for_vni(d.vni, arp.tpa)
        if ep is None:
            return self._drop("ARP over VXLAN for no local endpoint", d.inner)
        reply = vxlan.ARP(vxlan.ARP.REPLY, ep.mac, arp.tpa, arp.sha, arp.spa)
        inner = vxlan.encode_frame(
            vxlan.Frame(vxlan.Ethernet(arp.sha, ep.mac, vxlan.ETH_P_ARP), arp=reply))
        outer = vxlan.encapsulate(
            inner, vni=d.vni, src_pa=self.host_ip, dst_pa=vxlan.ip_to_text(
                d.src_pa, d.ip_version), src_mac=d.dst_mac, dst_mac=d.src_mac,
            dst_port=self.switch.vxlan_port)
        if self.underlay is None:
            return self._drop("no underlay to send encapsulated frames on", outer)
        self.underlay.send(outer)
        self.sent_to_underlay += 1
        self.arp_answers["underlay"] += 1
        return Delivery("arp", vxlan.ipv4_to_text(arp.tpa), frame=outer)

    def receive_external(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """A frame arriving from the host side (the physical network, not the overlay):
        VXLAN goes the underlay way; anything else is delivered by destination IP to the
        local endpoint that owns it, or that publishes it (port mapping, SNAT reply)."""
        with self.service.lock:
            out = InjectResult()
            if self._is_vxlan(frame):
                out.delivery = self._from_underlay(frame, out.hops, trace=trace)
                return out
            key = _flow_key(frame)
            dst = None
            if key is not None and key.dst <= 0xFFFFFFFF:
                back = self._host_reply(key)
                if back is not None:  # an answer to what the host sent or forwarded
                    out.delivery = self._to_host_side(back, frame, out.hops, trace=trace)
                    return out
                dst = self._index.local_for(key.dst, None)
                route = None if dst is not None else self._host_route(key)
                if route is not None:  # a NodePort or VIP: load-balanced by the host port
                    out.delivery = self._host_lb(route, frame, out.hops, trace=trace)
                    return out
                dst = dst or self._owner(key)
            if dst is None:
                if key is not None and key.dst == self._host_ip_int():
                    self._host_stack(frame)
                    out.delivery = Delivery("external", self.host_ip, frame=frame)
                    return out
                out.delivery = self._drop("host side: no local endpoint owns the destination",
                                          frame)
                return out
            if frame[0:6] != dst.mac:
                frame = dst.mac + self._gateway_mac(dst) + frame[12:]
            out.delivery = self._to_container(dst, frame, out.hops, trace=trace)
            return out

    # -- the host vNIC ports ---------------------------------------------------------------

    def send_from_host(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """A frame the host's own IP stack sends into its networks (a process on the node
        reaching a ClusterIP, its own NodePort, or a container): a host-side VIP goes OUT
        through the host vNIC port that load-balances it (hns/compiler/hostrules.py), any
        other address straight to the local container that owns it. Answers come back
        through the same port and land in `host_received`."""
        with self.service.lock:
            out = InjectResult()
            key = _flow_key(frame)
            if key is None or key.dst > 0xFFFFFFFF:
                out.delivery = self._drop("host stack: not an IPv4 frame", frame)
                return out
            route = self._host_route(key)
            if route is not None:
                out.delivery = self._through_host_port(route[0], frame, out.hops, trace)
            else:
                out.delivery = self._forward_local(None, frame, out.hops, trace)
            return out

    def _host_route(self, key: vxlan.FlowKey) -> tuple[vfp.Port, bool] | None:
        ports = getattr(self.compiler, "host_ports", None)
        return None if ports is None else ports.route(key.protocol, key.dst, key.dst_port)

    def _host_reply(self, key: vxlan.FlowKey) -> tuple[vfp.Port, str] | None:
        ports = getattr(self.compiler, "host_ports", None)
        return None if ports is None else ports.reply(key.protocol, key.dst, key.dst_port)

    def _host_lb(self, route: tuple[vfp.Port, bool], frame: bytes, hops: list[Hop], *,
                 trace: bool) -> Delivery:
        """A frame from outside to a host-side VIP: with a HairPin rule (a local backend)
        the host port's IN pipeline load-balances it and the vSwitch turns it back into
        the network; without one the host forwards it, OUT through the port."""
        port, hairpin = route
        if not hairpin:
            return self._through_host_port(port, frame, hops, trace)
        res = self._run_port(port, None, frame, vfp.IN, hops, trace)
        return self._into_network(res, frame, hops, trace, vfp.IN)

    def _through_host_port(self, port: vfp.Port, frame: bytes, hops: list[Hop],
                           trace: bool) -> Delivery:
        res = self._run_port(port, None, frame, vfp.OUT, hops, trace)
        return self._into_network(res, frame, hops, trace, vfp.OUT)

    def _into_network(self, res: vfp.Result, frame: bytes, hops: list[Hop], trace: bool,
                      direction: str) -> Delivery:
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            return self._drop(f"host port {direction}: {why}", frame)
        data = res.output
        if self._is_vxlan(data):
            return self._to_underlay(data)
        return self._forward_local(None, data, hops, trace)

    def _to_host_side(self, back: tuple[vfp.Port, str], frame: bytes, hops: list[Hop],
                      trace: bool) -> Delivery:
        """An answer to one of a host port's SNAT addresses: through that port the way its
        flow runs (un-NATed, decapsulated), then to the host stack or out to the client."""
        port, direction = back
        res = self._run_port(port, None, frame, direction, hops, trace)
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            return self._drop(f"host port {direction}: {why}", frame)
        data = res.output
        key = _flow_key(data)
        if self._is_vxlan(data) or key is None:
            return self._drop("host port: answer not un-NATed", data)
        if key.dst == self._host_ip_int():
            self.host_received.append(data)
            self._host_stack(data)
            return Delivery("host", self.host_ip, frame=data)
        self._external(data)
        return Delivery("external", vxlan.ipv4_to_text(key.dst), frame=data)

    def _host_ip_int(self) -> int | None:
        ip = self.host_ip
        if self._host_ip_cache[0] != ip:
            self._host_ip_cache = (ip, _ipv4(ip))
        return self._host_ip_cache[1]

    def _host_stack(self, frame: bytes) -> None:
        """The host's own IP stack, as far as it is emulated: it answers ICMP echo
        requests to its address; the answer leaves by the host side (to the container
        that owns the destination, e.g. by its SNAT pool, or out to the physical
        network). Anything else addressed to the host stays on the host side."""
        try:
            f = vxlan.decode_frame(frame)
        except vxlan.DecodeError:
            return
        ip, icmp = f.ip, f.l4
        if not isinstance(ip, vxlan.IPv4) or not isinstance(icmp, vxlan.ICMPv4) or \
                icmp.type != vxlan.ICMPv4.ECHO_REQUEST:
            return
        self.host_stack["icmp echo reply"] += 1
        reply = vxlan.encode_frame(vxlan.Frame(
            vxlan.Ethernet(f.eth.src, f.eth.dst, vxlan.ETH_P_IPV4),
            ip=vxlan.IPv4(ip.dst, ip.src, vxlan.IPPROTO_ICMP),
            l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REPLY, 0, 0, icmp.ident, icmp.seq),
            payload=f.payload))
        key = _flow_key(reply)
        dst = None
        if key is not None:
            dst = self._index.local_for(key.dst, None) or self._owner(key)
        if dst is None:
            self._external(reply)
            return
        if reply[0:6] != dst.mac:
            reply = dst.mac + self._gateway_mac(dst) + reply[12:]
        self._to_container(dst, reply, [], trace=False)

    # -- from the underlay -------------------------------------------------------------

    def receive(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """An outer frame from the underlay: to the IN pipeline of the local endpoint that
        owns (VNI, inner destination IP), still encapsulated."""
        with self.service.lock:
            out = InjectResult()
            out.delivery = self._from_underlay(frame, out.hops, trace=trace)
            return out

    def _from_underlay(self, frame: bytes, hops: list[Hop], *, trace: bool) -> Delivery:
        try:
            d, key = vxlan.decapsulate_with_key(frame, dst_port=self.switch.vxlan_port,
                                                verify_checksums=False)
        except vxlan.DecodeError as exc:
            return self._drop(f"underlay: {exc.reason}", frame)
        if d.inner[12:14] == ETH_ARP:
            return self._underlay_arp(d)
        if key is None or key.dst > 0xFFFFFFFF:
            return self._drop("underlay: inner frame is not IPv4", frame)
        back = self._host_reply(key)
        if back is not None:  # a remote backend answering the host port's SNAT address
            return self._to_host_side(back, frame, hops, trace)
        ep = self._snat_owner(key) or self._index.local_for_vni(d.vni, key.dst)
        if ep is None:
            ep = self._published_for_vni(d.vni, key)
        if ep is None:
            return self._drop(f"underlay: no local endpoint for VNI {d.vni}", frame)
        return self._to_container(ep, frame, hops, trace=trace)

    def _published_for_vni(self, vni: int, key: vxlan.FlowKey) -> _Ep | None:
        """A DSR frame keeps the VIP as inner destination: the local backend the compiler
        publishes for (VIP, protocol, port) on that VNI takes it."""
        find = getattr(self.compiler, "endpoint_for_vni", None)
        if find is None:
            return None
        ep_id = find(vni, key.dst, proto=key.protocol, port=key.dst_port)
        return None if ep_id is None else self._index.eps.get(str(ep_id).upper())

    # -- pumping -----------------------------------------------------------------------

    def pump(self, *, timeout: float = 0.0, limit: int = 100_000) -> int:
        """Process pending underlay frames and local deliveries until quiet (or `limit`
        frames); wait up to `timeout` seconds for the first underlay frame. Returns how
        many frames were handled."""
        handled = 0
        first = True
        while handled < limit:
            frame = None
            if self.underlay is not None and not self._closed:
                frame = self.underlay.recv(timeout if first and not self._queue else 0.0)
            first = False
            with self.service.lock:
                if frame is not None:
                    self._from_underlay(frame, [], trace=False)
                    handled += 1
                moved = self._drain(limit - handled)
            handled += moved
            if frame is None and moved == 0:
                break
        return handled

    def _enqueue(self, item: tuple[str, bytes]) -> None:
        self._queue.append(item)
        self._work.set()

    def _drain(self, limit: int) -> int:
        n = 0
        while self._queue and n < limit:
            key, frame = self._queue.popleft()
            ep = self._index.eps.get(key)
            n += 1
            if ep is None:
                self.drops["sender endpoint deleted"] += 1
                continue
            self._from_container(ep, frame, trace=False)
        return n

    def pending(self) -> int:
        """Local frames waiting for `pump()`."""
        return len(self._queue)

    def start(self) -> None:
        """Run the pump in a background thread: underlay frames (a real UDP underlay) and
        the frames containers answer with move without anyone calling `pump()`. Safe
        without an underlay (the thread then sleeps until a local frame is queued)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"host-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.underlay is None:  # only local frames: sleep until some are queued
                    self._work.wait(0.2)
                    self._work.clear()
                self.pump(timeout=0.05)
            except OSError:
                if self._stop.is_set() or self._closed:
                    return
                self.drops["underlay socket error"] += 1

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._work.set()
            thread.join(timeout=5)

    def close(self) -> None:
        """Stop the pump, unsubscribe the compiler and this host, close the underlay."""
        self.stop()
        if self._closed:
            return
        self._closed = True
        with self.service.lock:
            self.compiler.close()
            self.service.remove_listener(self._on_change)
        if self.underlay is not None:
            self.underlay.close()

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------

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
