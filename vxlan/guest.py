"""A minimal guest stack for an emulated container: one MAC, one IPv4 address.

It answers ARP requests for its address, ICMP echo requests to it and UDP datagrams to
its echo ports (RFC 862 style: the payload comes back); it can originate an ICMP echo
request (resolving the next hop with ARP first, queueing the request until the reply)
and records the echo replies it gets, so `ping` across the overlay works both ways.

`handle(frame) -> list[bytes]` is the whole interface on the wire side: a frame in, the
frames to send out. Anything it does not understand (IPv6 router solicitations, LLDP,
multicast, other hosts' traffic, malformed bytes) is dropped and counted, never raised.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from .addr import BROADCAST_MAC, ZERO_MAC, ipv4_from_text, mac_from_text
from .errors import DecodeError
from .frame import Frame, decode_frame, encode_frame
from .headers import (
    ARP,
    ETH_P_ARP,
    ETH_P_IPV4,
    IPPROTO_ICMP,
    IPPROTO_UDP,
    UDP,
    Ethernet,
    ICMPv4,
    IPv4,
)

__all__ = ["EchoReply", "GuestStack", "UdpDatagram"]


@dataclass(frozen=True, slots=True)
class EchoReply:
    src: int
    ident: int
    seq: int
    payload: bytes
    rtt: float | None


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    src: int
    sport: int
    dport: int
    payload: bytes


class GuestStack:
    """An emulated container's network stack (IPv4 only)."""

    def __init__(
        self,
        mac: bytes | str,
        ip: str,
        *,
        prefix_len: int = 24,
        gateway: str | None = None,
        udp_echo_ports: tuple[int, ...] = (7,),
        ttl: int = 128,
    ) -> None:
        self.mac = mac_from_text(mac) if isinstance(mac, str) else bytes(mac)
        self.ip = ipv4_from_text(ip)
        self.mask = (0xFFFFFFFF << (32 - prefix_len)) & 0xFFFFFFFF
        self.gateway = ipv4_from_text(gateway) if gateway else None
        self.udp_echo_ports = udp_echo_ports
        self.ttl = ttl
        self.arp_cache: dict[int, bytes] = {}
        self.echo_replies: list[EchoReply] = []
        self.udp_received: list[UdpDatagram] = []
        self.counters: Counter[str] = Counter()
        self._pending: dict[int, list[Frame]] = {}
        self._sent_at: dict[tuple[int, int], float] = {}

    # ------------------------------------------------------------------ receive

    def handle(self, data: bytes) -> list[bytes]:
        """Process one frame addressed to this guest; return the frames to send."""
        try:
            frame = decode_frame(data)
        except DecodeError as exc:
            self.counters[f"drop: malformed {exc.header}"] += 1
            return []
        eth = frame.eth
        if eth.dst != self.mac and eth.dst != BROADCAST_MAC:
            self.counters["drop: not for this MAC"] += 1
            return []
        if frame.arp is not None:
            return self._arp(frame.arp)
        ip = frame.ip
        if not isinstance(ip, IPv4):
            self.counters[f"drop: ethertype 0x{eth.ethertype:04x}"] += 1
            return []
        if ip.dst != self.ip:
            self.counters["drop: not for this IP"] += 1
            return []
        l4 = frame.l4
        if isinstance(l4, ICMPv4):
            return self._icmp(frame, ip, l4)
        if isinstance(l4, UDP):
            return self._udp(frame, ip, l4)
        self.counters[f"drop: IP protocol {ip.protocol}"] += 1
        return []

    def _arp(self, arp: ARP) -> list[bytes]:
        if arp.spa:
            self.arp_cache[arp.spa] = arp.sha
        out = [encode_frame(f) for f in self._pending.pop(arp.spa, [])]
        out = [self._fill_mac(f, arp.sha) for f in out]
        if arp.oper == ARP.REQUEST and arp.tpa == self.ip:
            self.counters["arp reply"] += 1
            reply = ARP(ARP.REPLY, self.mac, self.ip, arp.sha, arp.spa)
            out.append(encode_frame(Frame(Ethernet(arp.sha, self.mac, ETH_P_ARP), arp=reply)))
        elif arp.oper == ARP.REPLY:
            self.counters["arp learned"] += 1
        return out

    @staticmethod
    def _fill_mac(frame: bytes, mac: bytes) -> bytes:
        return mac + frame[6:]

    def _icmp(self, frame: Frame, ip: IPv4, icmp: ICMPv4) -> list[bytes]:
        if icmp.type == ICMPv4.ECHO_REQUEST:
            self.counters["icmp echo reply"] += 1
            self.arp_cache.setdefault(ip.src, frame.eth.src)
            reply = Frame(
                Ethernet(frame.eth.src, self.mac, ETH_P_IPV4),
                ip=IPv4(self.ip, ip.src, IPPROTO_ICMP, ttl=self.ttl, tos=ip.tos),
                l4=ICMPv4(ICMPv4.ECHO_REPLY, 0, 0, icmp.ident, icmp.seq),
                payload=frame.payload,
            )
            return [encode_frame(reply)]
        if icmp.type == ICMPv4.ECHO_REPLY:
            sent = self._sent_at.pop((icmp.ident, icmp.seq), None)
            rtt = None if sent is None else time.monotonic() - sent
            self.echo_replies.append(EchoReply(ip.src, icmp.ident, icmp.seq, frame.payload, rtt))
            self.counters["icmp echo reply received"] += 1
            return []
        self.counters[f"drop: ICMP type {icmp.type}"] += 1
        return []

    def _udp(self, frame: Frame, ip: IPv4, udp: UDP) -> list[bytes]:
        self.udp_received.append(UdpDatagram(ip.src, udp.sport, udp.dport, frame.payload))
        if udp.dport not in self.udp_echo_ports:
            self.counters["udp received"] += 1
            return []
        self.counters["udp echo"] += 1
        reply = Frame(
            Ethernet(frame.eth.src, self.mac, ETH_P_IPV4),
            ip=IPv4(self.ip, ip.src, IPPROTO_UDP, ttl=self.ttl),
            l4=UDP(udp.dport, udp.sport, 0, 1),
            payload=frame.payload,
        )
        return [encode_frame(reply)]

    # ------------------------------------------------------------------ originate

    def _next_hop(self, dst: int) -> int:
        if (dst & self.mask) == (self.ip & self.mask) or self.gateway is None:
            return dst
        return self.gateway

    def _send_ip(self, frame: Frame, dst: int) -> list[bytes]:
        hop = self._next_hop(dst)
        mac = self.arp_cache.get(hop)
        if mac is not None:
            return [encode_frame(frame.replace(eth=Ethernet(mac, self.mac, ETH_P_IPV4)))]
        first = hop not in self._pending
        self._pending.setdefault(hop, []).append(frame)
        if not first:
            return []
        self.counters["arp request"] += 1
        request = ARP(ARP.REQUEST, self.mac, self.ip, ZERO_MAC, hop)
        return [encode_frame(Frame(Ethernet(BROADCAST_MAC, self.mac, ETH_P_ARP), arp=request))]

    def ping(self, dst: str, *, ident: int = 0x4D53, seq: int = 1,
             payload: bytes = b"abcdefghijklmnopqrstuvwabcdefghi") -> list[bytes]:
        """Frames that start an ICMP echo request to `dst` (an ARP request first when the
        next hop's MAC is unknown; the echo request follows the ARP reply). The default
        32-byte payload is the one Windows ping sends."""
        dst_ip = ipv4_from_text(dst)
        frame = Frame(
            Ethernet(ZERO_MAC, self.mac, ETH_P_IPV4),
            ip=IPv4(self.ip, dst_ip, IPPROTO_ICMP, ttl=self.ttl),
            l4=ICMPv4(ICMPv4.ECHO_REQUEST, 0, 0, ident, seq),
            payload=payload,
        )
        self._sent_at[(ident, seq)] = time.monotonic()
        self.counters["icmp echo request"] += 1
        return self._send_ip(frame, dst_ip)

    def send_udp(self, dst: str, sport: int, dport: int, payload: bytes) -> list[bytes]:
        dst_ip = ipv4_from_text(dst)
        frame = Frame(
            Ethernet(ZERO_MAC, self.mac, ETH_P_IPV4),
            ip=IPv4(self.ip, dst_ip, IPPROTO_UDP, ttl=self.ttl),
            l4=UDP(sport, dport, 0, 1),
            payload=payload,
        )
        return self._send_ip(frame, dst_ip)

    def reply_for(self, ident: int, seq: int) -> EchoReply | None:
        for reply in self.echo_replies:
            if (reply.ident, reply.seq) == (ident, seq):
                return reply
        return None
