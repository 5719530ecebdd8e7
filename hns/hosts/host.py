"""An emulated Windows container host: one HNS, one VFP switch, the compiler between them,
an optional underlay, and the vSwitch that moves frames between ports.

Division of labour
------------------
HnsService   the control plane (networks, endpoints, policies); `service.host_ip` is this
             host's provider address (PA).
Compiler     (hns.compiler) keeps one VFP port per local endpoint programmed from HNS.
vfp.Switch   the ports and their pipelines (layers, rules, flows).
Host         (hns.hosts) the vSwitch data path between ports, the emulated containers (one
             `vxlan.GuestStack` per local endpoint), proxy ARP, the underlay pump,
             per-endpoint capture and readable drop counters.

Where each part lives: base.py (state, lookups, shared steps), arp.py (ARP answers),
vswitch.py (the data path), host.py (here: the public sending API, the underlay pump, the
lifecycle), index.py (the data path's view of HNS objects), results.py (what injecting a
frame returns).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Any

import vfp
import vxlan
from hns.hosts.results import InjectResult
from hns.hosts.vswitch import VSwitch

PING_IDENT = 0x4D53  # the identifier GuestStack.ping uses by default


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


class Host(VSwitch):
    """One emulated Windows container host (see the module docstring)."""

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
             timeout: float = 60.0) -> bool:
        """Ping `dst_ip` from the container of `ep_id`; True when the echo reply came back.
        Pumps the underlay itself unless the background pump runs. Returns as soon as the
        reply arrives, or (no underlay, no background pump) once the frames are quiet and
        none came; `timeout` only bounds the wait for a peer that never answers (a loaded
        machine may take seconds, so pass a short one only to expect no answer)."""
        ident, seq = self.start_ping(ep_id, dst_ip, seq=seq)
        g = self.guest(ep_id)

        def answered() -> bool:
            return g.reply_for(ident, seq) is not None

        deadline = time.monotonic() + timeout
        while not answered():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._thread is not None:
                with self._pumped:
                    self._pumped.wait_for(answered, timeout=min(left, 1.0))
            elif self.pump(timeout=min(left, 1.0)) == 0 and self.underlay is None:
                return answered()
        return True

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
        if handled:
            with self._pumped:
                self._pumped.notify_all()
        return handled

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


__all__ = ["Host", "parse_underlay_spec"]
