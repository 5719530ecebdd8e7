"""`python3 -m vxlan`: one emulated container behind a VXLAN tunnel endpoint on a real UDP
socket, for trying interop by hand (e.g. against a Linux vxlan device).

    python3 -m vxlan --bind 10.77.0.2 --vni 4096 --ip 10.244.7.20 \\
        --mac 00:15:5d:07:00:14 --flood 10.77.0.1 --fdb 02:42:0a:f4:07:0a=10.77.0.1 \\
        --duration 10 [--ping 10.244.7.10] [--pcap out.pcap]

It answers ARP, ICMP echo and UDP echo (port 7) for --ip, optionally pings --ping once a
second, and on exit prints one JSON object: guest and VTEP counters and echo replies.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .addr import ipv4_to_text, mac_from_text
from .guest import GuestStack
from .pcap import PcapWriter
from .underlay import UdpUnderlay
from .vtep import Vtep


class _CapturingUdpUnderlay(UdpUnderlay):
    """A UdpUnderlay that also records every frame it sends and receives."""

    def __init__(self, pa: str, port: int, capture: PcapWriter) -> None:
        super().__init__(pa, port)
        self.capture = capture

    def send(self, frame: bytes) -> None:
        self.capture.write(frame)
        super().send(frame)

    def recv(self, timeout: float | None = 0.0) -> bytes | None:
        frame = super().recv(timeout)
        if frame is not None:
            self.capture.write(frame)
        return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m vxlan", description=__doc__.split("\n")[0])
    parser.add_argument("--bind", required=True, help="provider address to bind (PA)")
    parser.add_argument("--port", type=int, default=4789, help="VXLAN UDP port (default 4789)")
    parser.add_argument("--vni", type=int, default=4096)
    parser.add_argument("--ip", required=True, help="the emulated container's IPv4 address")
    parser.add_argument("--prefix-len", type=int, default=24)
    parser.add_argument("--mac", default="00:15:5d:00:00:01", help="the container's MAC")
    parser.add_argument("--flood", action="append", default=[], help="PA for broadcast (repeat)")
    parser.add_argument("--fdb", action="append", default=[], help="inner MAC=PA (repeat)")
    parser.add_argument("--learning", action="store_true", help="learn inner MAC -> outer PA")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to serve")
    parser.add_argument("--ping", help="IPv4 address to ping once a second")
    parser.add_argument("--pcap", help="write every frame sent and received to this file")
    args = parser.parse_args(argv)

    guest = GuestStack(args.mac, args.ip, prefix_len=args.prefix_len)
    capture = PcapWriter(args.pcap) if args.pcap else None
    underlay = (
        _CapturingUdpUnderlay(args.bind, args.port, capture) if capture is not None
        else UdpUnderlay(args.bind, args.port)
    )
    fdb = {}
    for entry in args.fdb:
        mac, _, pa = entry.partition("=")
        fdb[mac_from_text(mac)] = pa
    vtep = Vtep(underlay, vni=args.vni, guests=[guest], fdb=fdb, flood=args.flood,
                learning=args.learning, dst_port=args.port)
    # the socket is bound: say so, so a caller can wait for this line instead of sleeping
    print(f"listening on {args.bind} port {args.port}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration
    next_ping, seq = time.monotonic(), 0
    try:
        while time.monotonic() < deadline:
            if args.ping and time.monotonic() >= next_ping:
                seq += 1
                vtep.send_all(guest.ping(args.ping, ident=0x0101, seq=seq))
                next_ping += 1.0
            vtep.poll(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        underlay.close()
        if capture is not None:
            capture.close()
    print(json.dumps({
        "guest": dict(guest.counters),
        "vtep": dict(vtep.counters),
        "underlay_drops": dict(underlay.drops),
        "echo_replies": [
            {"from": ipv4_to_text(r.src), "seq": r.seq,
             "rtt_ms": None if r.rtt is None else round(r.rtt * 1000, 3)}
            for r in guest.echo_replies
        ],
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
