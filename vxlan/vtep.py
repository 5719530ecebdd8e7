"""A stand-alone VXLAN tunnel endpoint that bridges guest stacks onto an underlay.

This is the small switch the interop tests and demos need without VFP: it decapsulates
frames from the underlay (checking the I flag and the VNI), hands each inner frame to the
guest whose MAC it is addressed to (broadcast to all), and encapsulates what the guests
answer towards the PA found in a static FDB (inner MAC -> PA, as flannel programs Linux),
flooding broadcast and unknown unicast to the flood list (head-end replication).
With `learning=True` it also learns inner source MAC -> outer source PA from received
frames, as a Linux vxlan device with `learning` does. VFP does the real switching.
"""

from __future__ import annotations

import threading
from collections import Counter

from .addr import BROADCAST_MAC, ZERO_MAC, ip_to_text
from .encap import EncapTemplate, decapsulate
from .errors import DecapError
from .guest import GuestStack
from .headers import VXLAN_PORT
from .underlay import Underlay

__all__ = ["Vtep"]


class Vtep:
    """Guests behind one PA on one VNI, bridged to an underlay."""

    def __init__(
        self,
        underlay: Underlay,
        *,
        vni: int,
        guests: list[GuestStack] | None = None,
        fdb: dict[bytes, str] | None = None,
        flood: list[str] | None = None,
        learning: bool = False,
        dst_port: int = VXLAN_PORT,
        udp_checksum: bool = False,
        underlay_mac: bytes = bytes.fromhex("020000000001"),
    ) -> None:
        self.underlay = underlay
        self.vni = vni
        self.guests = {g.mac: g for g in guests or []}
        self.fdb = dict(fdb or {})
        self.flood = list(flood or [])
        self.learning = learning
        self.dst_port = dst_port
        self.udp_checksum = udp_checksum
        self.underlay_mac = underlay_mac
        self.counters: Counter[str] = Counter()
        self._templates: dict[str, EncapTemplate] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_guest(self, guest: GuestStack) -> None:
        self.guests[guest.mac] = guest

    def _template(self, pa: str) -> EncapTemplate:
        template = self._templates.get(pa)
        if template is None:
            template = EncapTemplate(
                vni=self.vni, src_pa=self.underlay.pa, dst_pa=pa, src_mac=self.underlay_mac,
                dst_mac=ZERO_MAC, dst_port=self.dst_port, udp_checksum=self.udp_checksum,
            )
            self._templates[pa] = template
        return template

    def send_inner(self, inner: bytes) -> None:
        """Encapsulate a guest's frame towards its destination MAC's PA (or flood)."""
        dst_mac = inner[0:6]
        pa = self.fdb.get(dst_mac)
        targets = [pa] if pa is not None and dst_mac != BROADCAST_MAC else self.flood
        if not targets:
            self.counters["drop: no FDB entry and no flood list"] += 1
        for target in targets:
            self.underlay.send(self._template(target).encapsulate(inner))
            self.counters["tx"] += 1

    def send_all(self, inners: list[bytes]) -> None:
        for inner in inners:
            self.send_inner(inner)

    def handle_outer(self, frame: bytes) -> None:
        """Decapsulate one underlay frame and deliver it to the guests."""
        try:
            d = decapsulate(frame, dst_port=self.underlay.port, expected_vni=self.vni)
        except DecapError as exc:
            self.counters[f"drop: {exc.reason}"] += 1
            return
        self.counters["rx"] += 1
        inner = d.inner
        src_mac = inner[6:12]
        if self.learning and src_mac not in self.guests:
            self.fdb[src_mac] = ip_to_text(d.src_pa, d.ip_version)
        dst_mac = inner[0:6]
        if dst_mac in self.guests:
            self.send_all(self.guests[dst_mac].handle(inner))
        elif dst_mac[0] & 1:  # broadcast / multicast: every guest sees it
            for guest in list(self.guests.values()):
                self.send_all(guest.handle(inner))
        else:
            self.counters["drop: unknown inner destination MAC"] += 1

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Receive and handle at most one frame; True if one was handled."""
        frame = self.underlay.recv(timeout)
        if frame is None:
            return False
        self.handle_outer(frame)
        return True

    def start(self) -> None:
        """Serve the underlay in a background thread until `stop()`."""
        self._stop.clear()

        def serve() -> None:
            while not self._stop.is_set():
                self.poll(0.05)

        self._thread = threading.Thread(target=serve, name=f"vtep-{self.underlay.pa}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
