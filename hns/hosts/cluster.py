"""A cluster of emulated hosts on one in-memory underlay (vxlan.MemoryNetwork).

Division of labour: each `hns.hosts.Host` owns its HNS, VFP switch, compiler and
containers; the Cluster owns what lies between the hosts:
    the underlay     the VXLAN fabric between their provider addresses; every frame is
                     recorded (`capture()`, or a pcap file for Wireshark)
    the physical     frames a host hands to its host side go to the other host whose
    network          bridged container or published port owns the destination, else to
                     `outside`; ARP there is answered from the hosts' endpoints
    a control plane  `publish_endpoints(network)` makes every host's containers remote
                     endpoints (with PA policies) on the others, through the HNS API
`run()` moves frames until the cluster is quiet; `ping()` is one echo and its answer.
"""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

import vxlan
from hns.hosts.host import Host
from hns.hosts.index import EpInfo


def _ip_text(e: EpInfo) -> str | None:
    return None if e.ip is None else vxlan.ipv4_to_text(e.ip)


def _mac_text(e: EpInfo) -> str:
    return e.mac.hex("-").upper()  # as Host.endpoint_table writes it


__all__ = ["Cluster"]

_PUBLISHED = "published-"  # name prefix of the remote endpoints publish_endpoints makes


class _Recorder(vxlan.PcapWriter):
    """A pcap writer that also keeps the frames (and copies them to a file if asked)."""

    def __init__(self, path: str | Path | None, limit: int | None) -> None:
        super().__init__(io.BytesIO())
        self.frames: deque[bytes] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._copy = vxlan.PcapWriter(path) if path is not None else None

    def write(self, frame: bytes, timestamp: float | None = None) -> None:
        with self._lock:
            self.frames.append(bytes(frame))
            if self._copy is not None:
                self._copy.write(frame, timestamp)

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None


class Cluster:
    """Emulated hosts on one in-memory VXLAN underlay.

    ``cluster.add_host("a", "10.0.0.1")`` creates a Host whose HNS uses 10.0.0.1 as its
    provider address and attaches it to the fabric there. `run()` pumps every host until
    no frame moves; `ping` sends one ICMP echo from a container and runs the cluster.
    """

    def __init__(self, *, pcap: str | Path | None = None,
                 capture_limit: int | None = None) -> None:
        """`pcap`: also write every underlay frame to this file. `capture_limit`: keep only
        the newest frames for `capture()` (None: all of them; the file gets all)."""
        self._recorder = _Recorder(pcap, capture_limit)
        self.network = vxlan.MemoryNetwork(capture=self._recorder)
        self.hosts: dict[str, Host] = {}
        #: frames hosts put on the physical network, waiting for `run()`
        self._physical: deque[tuple[Host, bytes]] = deque()
        #: frames no host took from the physical network (the outside world)
        self.outside: deque[bytes] = deque(maxlen=capture_limit)

    def __repr__(self) -> str:
        hosts = ", ".join(f"{n}@{h.host_ip}" for n, h in self.hosts.items())
        return f"<Cluster [{hosts}]>"

    def add_host(self, name: str, pa: str, **kwargs: Any) -> Host:
        """A new host named `name` at provider address `pa` (keywords go to Host, e.g.
        profile=, state=)."""
        if name in self.hosts:
            raise ValueError(f"the cluster already has a host named {name!r}")
        underlay = self.network.attach(pa)
        try:
            host = Host(name, pa, underlay=underlay, **kwargs)
        except BaseException:
            underlay.close()
            raise
        host.on_external = lambda frame, src=host: self._physical.append((src, frame))
        host.resolve_physical = lambda ip, src=host: self._physical_mac(src, ip)
        self.hosts[name] = host
        return host

    def host(self, name_or_host: str | Host) -> Host:
        if isinstance(name_or_host, Host):
            return name_or_host
        try:
            return self.hosts[name_or_host]
        except KeyError:
            raise KeyError(f"no host named {name_or_host!r} in the cluster") from None

    def remove_host(self, name: str) -> None:
        self.host(name).close()
        del self.hosts[name]

    def run(self, max_rounds: int = 1000) -> int:
        """Pump every host, round after round, until a round moves no frame (or
        `max_rounds`); returns how many frames were handled in all."""
        total = 0
        for _ in range(max_rounds):
            moved = sum(h.pump() for h in list(self.hosts.values()))
            moved += self._carry_physical()
            total += moved
            if moved == 0:
                break
        return total

    def _physical_mac(self, asking: Host, ip: int) -> bytes | None:
        """ARP on the physical network: the MAC of the container of another host that has
        `ip` on a bridged (L2Bridge, Transparent, L2Tunnel) network."""
        for h in list(self.hosts.values()):
            if h is not asking:
                mac = h.physical_mac(ip)
                if mac is not None:
                    return mac
        return None

    def _carry_physical(self) -> int:
        """Frames hosts sent to their host side go, over the physical network, to the
        other host they are for (an L2Bridge/Transparent container, or a port published
        on that host's address); the rest go to the outside world (`outside`)."""
        moved = 0
        while self._physical:
            src, frame = self._physical.popleft()
            moved += 1
            for h in list(self.hosts.values()):
                if h is not src and h.accepts_physical(frame):
                    h.receive_external(frame)
                    break
            else:
                self.outside.append(frame)
        return moved

    def ping(self, host: str | Host, ep_id: str, dst_ip: str, *, max_rounds: int = 1000) -> bool:
        """One ICMP echo from the container of `ep_id` on `host` to `dst_ip`; True when
        the reply came back (ARP first when the container does not know the next hop)."""
        h = self.host(host)
        ident, seq = h.start_ping(ep_id, dst_ip)
        self.run(max_rounds)
        return h.guest(ep_id).reply_for(ident, seq) is not None

    def publish_endpoints(self, network: str) -> tuple[int, int]:
        """Do what an overlay's control plane (Docker swarm, kube-proxy) does for the
        network named `network`: on every host that has it, make each other host's local
        endpoints on it remote endpoints (IP, MAC, ProviderAddress = that host's PA), made
        through the HNS API, and delete the ones this method made earlier whose local
        endpoint is gone. Returns (created, deleted)."""
        local: dict[str, tuple[str, str]] = {}  # ip -> (MAC, PA) of every local endpoint
        for h in self.hosts.values():
            for e, net in h.endpoint_infos():
                if (net.name if net else "").casefold() == network.casefold() and \
                        not e.remote and e.ip is not None:
                    local[vxlan.ipv4_to_text(e.ip)] = (_mac_text(e), h.host_ip)
        created = deleted = 0
        for h in self.hosts.values():
            net_id = h.network_id(network)
            if net_id is None:
                continue
            eps = [e for e, _ in h.endpoint_infos() if e.net == net_id.upper()]
            mine = {_ip_text(e) for e in eps if not e.remote}
            have = {_ip_text(e): e for e in eps if e.remote}
            for ip, (mac, pa) in sorted(local.items()):
                if pa == h.host_ip or ip in mine:
                    continue
                old = have.get(ip)
                if old is not None and (_mac_text(old), old.pa) == (mac, pa):
                    continue
                if old is not None and old.name.startswith(_PUBLISHED):
                    h.service.hcn_call("HcnDeleteEndpoint", old.id)
                    deleted += 1
                elif old is not None:
                    continue  # someone else's remote endpoint: left alone
                h.service.hcn_call("HcnCreateEndpoint", None, json.dumps({
                    "Name": f"{_PUBLISHED}{ip}", "HostComputeNetwork": net_id, "Flags": 1,
                    "IpConfigurations": [{"IpAddress": ip}], "MacAddress": mac,
                    "Policies": [{"Type": "ProviderAddress",
                                  "Settings": {"ProviderAddress": pa}}],
                }))
                created += 1
            for addr, e in have.items():
                if e.name.startswith(_PUBLISHED) and addr not in local:
                    h.service.hcn_call("HcnDeleteEndpoint", e.id)
                    deleted += 1
        return created, deleted

    def capture(self) -> list[bytes]:
        """Every frame sent on the underlay so far, in order."""
        with self._recorder._lock:
            return list(self._recorder.frames)

    def write_pcap(self, path: str | Path) -> None:
        vxlan.write_pcap(path, self.capture())

    def drops(self) -> dict[str, dict[str, int]]:
        """Drops by reason, per host, plus the fabric's own ("underlay")."""
        out = {name: dict(h.drops) for name, h in self.hosts.items()}
        out["underlay"] = dict(self.network.drops)
        return out

    def close(self) -> None:
        for h in list(self.hosts.values()):
            h.close()
        self.hosts.clear()
        self._recorder.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
