"""Benchmark of the vxlan data path against dpkt, measured in the same run.

Frame: outer Ether/IPv4/UDP(4789)/VXLAN(VNI 4096) around inner Ether/IPv4/TCP with a
64-byte payload: 50 + 118 = 168 bytes (packets.md section 1). 256 distinct frames
(different inner ports) are cycled. Each benchmark gets one untimed warm-up pass; then
R rounds each time all three benchmarks back to back (interleaved, so machine noise hits
them alike). Rates are medians over rounds in packets/s; ratios are medians of the
per-round ratios.

* dpkt_parse: dpkt parses outer Eth/IP/UDP, the 8-byte VXLAN header is sliced by hand,
  dpkt parses inner Eth/IP/TCP (the baseline, packets.md "b").
* decap_key: vxlan.decapsulate_with_key(frame, expected_vni=4096): decapsulation with all
  its checks (I flag, VNI, port, lengths, outer IPv4 checksum) plus the inner flow key.
* decap_then_flow_key: the same result from two calls, vxlan.decapsulate(...) then
  vxlan.flow_key(inner) (reported for comparison; no target).
* encap: EncapTemplate.encapsulate(inner) producing the 168-byte frame.

The last line of output is one JSON object; the ratios are the keys
decap_key_vs_dpkt_parse and encap_vs_dpkt_parse (target: each >= 10).
Usage: python3 bench/packets.py [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dpkt

import vxlan


def build_frames(count: int = 256) -> tuple[list[bytes], list[bytes], vxlan.EncapTemplate]:
    template = vxlan.EncapTemplate(
        vni=4096, src_pa="192.0.2.1", dst_pa="192.0.2.2",
        src_mac="02:00:00:00:01:01", dst_mac="02:00:00:00:01:02",
    )
    inners = []
    for i in range(count):
        inners.append(vxlan.encode_frame(vxlan.Frame(
            vxlan.Ethernet(bytes.fromhex("00155d000002"), bytes.fromhex("00155d000001"), 0x0800),
            ip=vxlan.IPv4(vxlan.ipv4_from_text("10.244.1.10"),
                          vxlan.ipv4_from_text("10.244.2.20"), 6),
            l4=vxlan.TCP(40000 + i, 80, flags=vxlan.TCP.ACK), payload=bytes(64),
        )))
    outers = [template.encapsulate(inner) for inner in inners]
    assert all(len(f) == 168 for f in outers)
    return outers, inners, template


def rate(fn: Callable[[], None], n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="same sizes, fewer repetitions")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 9)
    outers, inners, template = build_frames()
    reps_dpkt, reps_fast = (4, 32) if args.quick else (8, 64)  # n = 256 * reps per round

    def dpkt_parse() -> None:
        for _ in range(reps_dpkt):
            for frame in outers:
                eth = dpkt.ethernet.Ethernet(frame)
                udp = eth.data.data
                vx = udp.data[:8]
                inner = dpkt.ethernet.Ethernet(udp.data[8:])
                tcp = inner.data.data
                _ = (vx, inner.data.src, inner.data.dst, tcp.sport, tcp.dport)

    decapsulate, flow_key = vxlan.decapsulate, vxlan.flow_key
    decapsulate_with_key = vxlan.decapsulate_with_key

    def decap_key() -> None:
        for _ in range(reps_fast):
            for frame in outers:
                d, key = decapsulate_with_key(frame, expected_vni=4096)
                _ = (d.vni, key)

    def decap_then_flow_key() -> None:
        for _ in range(reps_fast):
            for frame in outers:
                d = decapsulate(frame, expected_vni=4096)
                _ = (d.vni, flow_key(d.inner))

    encap = template.encapsulate

    def encap_all() -> None:
        for _ in range(reps_fast):
            for inner in inners:
                encap(inner)

    # correctness first: the timed paths agree with dpkt on every frame
    for frame in outers:
        d = decapsulate(frame, expected_vni=4096)
        key = flow_key(d.inner)
        inner = dpkt.ethernet.Ethernet(frame).data.data.data[8:]
        ip = dpkt.ethernet.Ethernet(inner).data
        assert key == (int.from_bytes(ip.src, "big"), int.from_bytes(ip.dst, "big"), 6,
                       ip.data.sport, ip.data.dport)
        assert decapsulate_with_key(frame, expected_vni=4096) == (d, key)
    t0 = time.perf_counter()
    sum(range(1000))
    calib_us = (time.perf_counter() - t0) * 1e6

    # Rounds interleave the three benchmarks so that machine noise hits them alike; each
    # ratio is the median of the per-round ratios, each rate the median over rounds.
    for fn in (dpkt_parse, decap_key, decap_then_flow_key, encap_all):
        fn()  # warm-up pass
    rounds: list[tuple[float, float, float, float]] = []
    for _ in range(runs):
        rounds.append((rate(dpkt_parse, 256 * reps_dpkt), rate(decap_key, 256 * reps_fast),
                       rate(encap_all, 256 * reps_fast),
                       rate(decap_then_flow_key, 256 * reps_fast)))
    dpkt_pps = statistics.median(r[0] for r in rounds)
    decap_pps = statistics.median(r[1] for r in rounds)
    encap_pps = statistics.median(r[2] for r in rounds)
    two_call_pps = statistics.median(r[3] for r in rounds)
    decap_ratio = statistics.median(r[1] / r[0] for r in rounds)
    encap_ratio = statistics.median(r[2] / r[0] for r in rounds)
    two_call_ratio = statistics.median(r[3] / r[0] for r in rounds)
    result = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "calibration_sum_range_1000_us": round(calib_us, 1),
        "frame_bytes": 168,
        "runs": runs,
        "dpkt_parse_pps": round(dpkt_pps),
        "decap_key_pps": round(decap_pps),
        "encap_pps": round(encap_pps),
        "decap_then_flow_key_pps": round(two_call_pps),
        "decap_then_flow_key_vs_dpkt_parse": round(two_call_ratio, 2),
        "decap_key_vs_dpkt_parse": round(decap_ratio, 2),
        "encap_vs_dpkt_parse": round(encap_ratio, 2),
    }
    print(f"dpkt parse {dpkt_pps:,.0f}/s; decapsulate_with_key {decap_pps:,.0f}/s; "
          f"decapsulate+flow_key {two_call_pps:,.0f}/s; encap {encap_pps:,.0f}/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
