"""Underlay transports: how encapsulated frames travel between emulated hosts.

Division of labour: the host (VFP, or `vxlan.vtep.Vtep`) builds whole outer frames
(Ethernet / IP / UDP / VXLAN / inner, as `encapsulate` makes them); an `Underlay` carries
them to the host whose provider address (PA) is the outer destination IP, and hands over
whole outer frames on receipt, so the receiving host always runs `decapsulate`.

    Underlay          the interface: pa, port, send(frame), recv(timeout), close()
    MemoryNetwork     many emulated hosts in one process; attach(pa) -> MemoryUnderlay
    MemoryUnderlay    one host's attachment; delivery by outer destination PA and port
    UdpUnderlay       a real UDP socket bound on PA:4789; sends the VXLAN datagram to the
                      outer destination PA at the outer destination port (the configured
                      VXLAN port), never back to a sender's source port

Frames that cannot be delivered are counted in `drops` with a reason, never raised.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from abc import ABC, abstractmethod
from collections import Counter, deque
from types import TracebackType

from .addr import ip_from_text, ip_to_text
from .checksum import checksum
from .errors import DecodeError
from .headers import ETH_P_8021Q, ETH_P_IPV4, ETH_P_IPV6, IPPROTO_UDP, VXLAN_PORT, IPv4, IPv6
from .pcap import PcapWriter

__all__ = ["MemoryNetwork", "MemoryUnderlay", "UdpUnderlay", "Underlay", "outer_destination"]


def outer_destination(frame: bytes) -> tuple[int, int, int, int]:
    """(ip_version, destination PA, UDP destination port, offset of the UDP payload) of an
    outer frame. Raises DecodeError when the frame is not Ethernet / IP / UDP."""
    try:
        et = frame[12] << 8 | frame[13]
        off = 14
        if et == ETH_P_8021Q:
            et, off = frame[16] << 8 | frame[17], 18
        if et == ETH_P_IPV4:
            ihl = (frame[off] & 15) * 4
            if frame[off] >> 4 != 4 or ihl < 20 or frame[off + 9] != IPPROTO_UDP:
                raise DecodeError("IPv4", off, "not an IPv4 UDP datagram")
            (dst,) = struct.unpack_from("!I", frame, off + 16)
            u, version = off + ihl, 4
        elif et == ETH_P_IPV6:
            if frame[off] >> 4 != 6 or frame[off + 6] != IPPROTO_UDP:
                raise DecodeError("IPv6", off, "not an IPv6 UDP datagram")
            dst = int.from_bytes(frame[off + 24 : off + 40], "big")
            u, version = off + 40, 6
        else:
            raise DecodeError("Ethernet", 0, f"ethertype 0x{et:04x} is not IP")
        (dport,) = struct.unpack_from("!H", frame, u + 2)
        if len(frame) < u + 8:
            raise DecodeError("UDP", u, "truncated")
        return version, dst, dport, u + 8
    except (IndexError, struct.error) as exc:
        raise DecodeError("Ethernet", 0, f"truncated frame ({len(frame)} bytes)") from exc


class Underlay(ABC):
    """One host's view of the underlay: its provider address and the VXLAN port."""

    pa: str
    port: int

    def __init__(self) -> None:
        self.drops: Counter[str] = Counter()
        self.sent = 0
        self.received = 0

    @abstractmethod
    def send(self, frame: bytes) -> None:
        """Carry an outer frame to the host at its outer destination PA and port."""

    @abstractmethod
    def recv(self, timeout: float | None = 0.0) -> bytes | None:
        """The next outer frame received, or None if none arrives within `timeout`
        seconds (0: do not wait; None: wait forever)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the transport."""

    def __enter__(self) -> Underlay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class MemoryNetwork:
    """An in-process underlay shared by many emulated hosts, each attached at a PA.

    Delivery is by the outer destination IP and UDP port; frames go into the receiving
    attachment's queue (read with `recv`). `capture`, when given, records every frame
    sent, so a whole emulated cluster can be opened in Wireshark.
    """

    def __init__(self, capture: PcapWriter | None = None) -> None:
        self._hosts: dict[tuple[int, int], MemoryUnderlay] = {}
        self._lock = threading.Lock()
        self.capture = capture
        self.drops: Counter[str] = Counter()

    def attach(self, pa: str, port: int = VXLAN_PORT) -> MemoryUnderlay:
        version, addr = ip_from_text(pa)
        with self._lock:
            if (version, addr) in self._hosts:
                raise ValueError(f"a host is already attached at {pa}")
            host = MemoryUnderlay(self, pa, port)
            self._hosts[(version, addr)] = host
        return host

    def detach(self, pa: str) -> None:
        with self._lock:
            self._hosts.pop(ip_from_text(pa), None)

    def hosts(self) -> list[str]:
        return sorted(h.pa for h in self._hosts.values())

    def _deliver(self, sender: MemoryUnderlay, frame: bytes) -> None:
        if self.capture is not None:
            with self._lock:  # hosts may send from several threads; keep records whole
                self.capture.write(frame)
        try:
            version, dst, dport, _ = outer_destination(frame)
        except DecodeError as exc:
            sender.drops[f"not deliverable: {exc.reason}"] += 1
            return
        host = self._hosts.get((version, dst))
        if host is None:
            self.drops[f"no host at {ip_to_text(dst, version)}"] += 1
            return
        if dport != host.port:
            host.drops[f"UDP port {dport} closed"] += 1
            return
        host._enqueue(frame)


class MemoryUnderlay(Underlay):
    """One host's attachment to a MemoryNetwork."""

    def __init__(self, network: MemoryNetwork, pa: str, port: int = VXLAN_PORT) -> None:
        super().__init__()
        self.network = network
        self.pa = pa
        self.port = port
        self._queue: deque[bytes] = deque()
        self._ready = threading.Condition()

    def send(self, frame: bytes) -> None:
        self.sent += 1
        self.network._deliver(self, frame)

    def _enqueue(self, frame: bytes) -> None:
        with self._ready:
            self._queue.append(frame)
            self._ready.notify()

    def pending(self) -> int:
        return len(self._queue)

    def recv(self, timeout: float | None = 0.0) -> bytes | None:
        with self._ready:
            if not self._queue and timeout != 0.0:
                self._ready.wait_for(lambda: bool(self._queue), timeout)
            if not self._queue:
                return None
            self.received += 1
            return self._queue.popleft()

    def close(self) -> None:
        self.network.detach(self.pa)


class UdpUnderlay(Underlay):
    """A real UDP socket bound on (pa, port): receives VXLAN datagrams from real peers
    (a Linux vxlan device, another emulator) and sends to a peer's PA at the outer
    destination port of the frame (the VXLAN port), as RFC 7348 and Linux expect.

    The kernel builds the outer IP/UDP headers on send; on receive, `recv` rebuilds an
    outer frame (zero MACs, the datagram's real addresses and ports, a correct IPv4 header
    checksum, UDP checksum 0 over IPv4 / computed over IPv6) so hosts decapsulate
    uniformly. `recv_datagram` gives the raw datagram and sender instead.
    """

    def __init__(self, pa: str, port: int = VXLAN_PORT) -> None:
        super().__init__()
        self.version, self._pa_int = ip_from_text(pa)
        self.pa = pa
        family = socket.AF_INET if self.version == 4 else socket.AF_INET6
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.bind((pa, port))
        except OSError:
            self.sock.close()
            raise
        self.port = self.sock.getsockname()[1]

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, frame: bytes) -> None:
        try:
            version, dst, dport, payload_at = outer_destination(frame)
        except DecodeError as exc:
            self.drops[f"not deliverable: {exc.reason}"] += 1
            return
        if version != self.version:
            self.drops["IP version differs from the bound PA"] += 1
            return
        # Always the frame's own destination port (the configured VXLAN port), never a
        # peer's source port: Linux answers a wrong port with ICMP port unreachable.
        self.sock.sendto(frame[payload_at:], (ip_to_text(dst, version), dport))
        self.sent += 1

    def recv_datagram(self, timeout: float | None = 0.0) -> tuple[bytes, str, int] | None:
        """(datagram, source PA, source port) or None."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return None
        data, addr = self.sock.recvfrom(65535)
        return data, addr[0], addr[1]

    def recv(self, timeout: float | None = 0.0) -> bytes | None:
        got = self.recv_datagram(timeout)
        if got is None:
            return None
        data, src_text, sport = got
        self.received += 1
        _, src = ip_from_text(src_text.split("%")[0])
        length = 8 + len(data)
        udp = struct.pack("!HHHH", sport, self.port, length, 0)
        if self.version == 4:
            ip = IPv4(src, self._pa_int, IPPROTO_UDP, ttl=64, flags=IPv4.FLAG_DF)
            eth = b"\x00" * 12 + b"\x08\x00"
            return eth + ip.pack(payload_length=length) + udp + data
        ip6 = IPv6(src, self._pa_int, IPPROTO_UDP)
        csum = checksum(udp + data, ip6.pseudo_sum_for(IPPROTO_UDP, length)) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", csum)
        return b"\x00" * 12 + b"\x86\xdd" + ip6.pack(payload_length=length) + udp + data

    def close(self) -> None:
        self.sock.close()
