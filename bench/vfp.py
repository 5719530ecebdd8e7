"""Benchmarks for vfp/: classifier, slow path, fast path, unified flow table memory.

Prints progress lines, then ONE JSON object on its last line with:
  classify_speedup_vs_linear_100k   indexed lookups/s / linear-scan lookups/s, 100k rules
  slow_path_growth_100_to_100k      slow-path cost per packet at 100k rules / at 100 rules
  fast_path_vs_dpkt_parse           UFT-hit rate (input bytes -> encapsulated output bytes)
                                    / rate at which dpkt parses the same VXLAN frame
  uft_hit_vs_slow_path              UFT-hit rate / slow-path rate, 4 layers x 1,000 rules
  mb_per_100k_flows                 MB used by 100,000 cached flows on one port (the larger
                                    of RSS growth and traced bytes per flow x 100,000)
All ratios come from measurements in the same run. `--quick` keeps every size and cuts
repetitions (ends well within two minutes).

The linear baseline is the scan of packets.md section 1 (e): rules pre-sorted by priority
as tuples of ints, a plain for loop with short-circuit compares, first match wins.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    Allow,
    Block,
    Conditions,
    Group,
    Layer,
    Port,
    RouteEncap,
    Rule,
    Switch,
    process,
)
from vfp.addr import prefix_range
from vfp.classifier import IndexedClassifier, Lookup
from vfp.pipeline import simulate
from vxlan.packet import build_frame

LENGTHS = list(range(8, 33))
WEIGHTS = [8 if n == 32 else 4 if n in (16, 24) else 1 for n in LENGTHS]


def _prefix(rng: random.Random) -> tuple[int, int]:
    return prefix_range(rng.getrandbits(32), rng.choices(LENGTHS, WEIGHTS)[0], 32)


def realistic_rules(n: int, rng: random.Random) -> list[Rule]:
    """Rules of realistic shapes: prefixes of every length /8 to /32 (weighted towards /32,
    /24 and /16) anywhere in IPv4, a third of the sources any; protocol any, TCP or
    UDP; destination port any, one port, or a range up to 1,000 wide; priorities 1..65000
    (ties happen); a catch-all at 65535 last."""
    rules: list[Rule] = []
    for i in range(n - 1):
        src: tuple[tuple[int, int], ...] = ()
        if rng.random() > 0.33:
            src = (_prefix(rng),)
        dst = (_prefix(rng),)
        proto = rng.choice([(), (6,), (17,)])
        r = rng.random()
        if r < 0.3:
            dports: tuple[tuple[int, int], ...] = ()
        elif r < 0.8:
            p = rng.randint(1, 65535)
            dports = ((p, p),)
        else:
            lo = rng.randint(1, 64000)
            dports = ((lo, lo + rng.randint(1, 1000)),)
        cond = Conditions(protocols=proto, src_ips=src, dst_ips=dst, dst_ports=dports)
        action = Allow() if rng.random() < 0.5 else Block()
        rules.append(Rule(f"r{i}", rng.randint(1, 65000), action, cond))
    rules.append(Rule("catch-all", 65535, Block()))
    return rules


def targeted_lookups(rules: list[Rule], n: int, rng: random.Random) -> list[Lookup]:
    """Packets that each fall inside one randomly chosen rule (traffic the policy is about);
    the linear scan stops at the first matching rule in priority order."""
    out = []
    for _ in range(n):
        c = rng.choice(rules[:-1]).conditions
        src = rng.randint(*c.src_ips[0]) if c.src_ips else rng.getrandbits(32)
        dst = rng.randint(*c.dst_ips[0])
        proto = c.protocols[0] if c.protocols else rng.choice([6, 17])
        dport = rng.randint(*c.dst_ports[0]) if c.dst_ports else rng.randint(1, 65535)
        out.append(Lookup(proto, src, dst, rng.randint(1024, 65535), dport))
    return out


def linear_baseline(rules: list[Rule]) -> Callable[[Lookup], object]:
    table = []
    for r in sorted(rules, key=lambda r: (r.priority, r.order)):
        c = r.conditions
        s = c.src_ips[0] if c.src_ips else (0, 2**32 - 1)
        d = c.dst_ips[0] if c.dst_ips else (0, 2**32 - 1)
        p = c.protocols[0] if c.protocols else 0
        dp = c.dst_ports[0] if c.dst_ports else (0, 65535)
        table.append((s[0], s[1], d[0], d[1], p, dp[0], dp[1], r))

    def classify(k: Lookup) -> object:
        src, dst, proto, dport = k.src_ip, k.dst_ip, k.proto, k.dport
        for slo, shi, dlo, dhi, p, plo, phi, rule in table:
            if (slo <= src <= shi and dlo <= dst <= dhi and (not p or p == proto)
                    and plo <= dport <= phi):
                return rule
        return None

    return classify


def rate(fn: Callable[[], object], n: int, runs: int) -> float:
    """Median calls per second of `fn` over `runs` timed runs of `n` calls each."""
    fn()
    results = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        results.append(n / (time.perf_counter() - t0))
    return statistics.median(results)


def paired_rates(
    a: Callable[[], object], na: int, b: Callable[[], object], nb: int, runs: int
) -> tuple[float, float]:
    """Median rates of two functions measured alternately (run a, run b, a, b ...), so that
    machine noise hits both alike."""
    ra: list[float] = []
    rb: list[float] = []
    for _ in range(max(runs, 2)):
        ra.append(rate(a, na, 1))
        rb.append(rate(b, nb, 1))
    return statistics.median(ra), statistics.median(rb)


def cycle(items: list[object]) -> Callable[[], object]:
    state = {"i": 0}
    size = len(items)

    def nxt() -> object:
        i = state["i"]
        state["i"] = i + 1 if i + 1 < size else 0
        return items[i]

    return nxt


def bench_classifier(runs: int, log: Callable[[str], None]) -> dict[str, float]:
    rng = random.Random(7)
    rules = realistic_rules(100_000, rng)
    for i, r in enumerate(rules):
        r.order = i
    t0 = time.perf_counter()
    indexed = IndexedClassifier(rules)
    log(f"index build 100k rules: {time.perf_counter() - t0:.2f} s, {indexed.shapes} shapes")
    linear = linear_baseline(rules)
    keys = targeted_lookups(rules, 2000, rng)
    for k in keys[:50]:
        assert indexed.classify(k) is linear(k), "indexed and linear disagree"
    nk = cycle(list(keys))
    r_idx = rate(lambda: indexed.classify(nk()), 2000, runs)  # type: ignore[arg-type]
    nk2 = cycle(list(keys))
    r_lin = rate(lambda: linear(nk2()), 10 if runs < 3 else 20, runs)  # type: ignore[arg-type]
    log(f"classify 100k rules: indexed {r_idx:,.0f}/s, linear {r_lin:,.1f}/s")
    return {"classify_speedup_vs_linear_100k": r_idx / r_lin,
            "classify_indexed_per_s_100k": r_idx, "classify_linear_per_s_100k": r_lin}


def _rule_port(layers: int, rules_per_layer: int, rng: random.Random) -> Port:
    sw = Switch()
    port = sw.add_port("bench", mac=0x00155D000001)
    for li in range(layers):
        lay = port.add_layer(Layer(f"LAYER_{li}", 10 * (li + 1), stateful=False,
                                   flags=DEFAULT_ALLOW))
        g = lay.add_group(Group(f"GROUP_{li}_OUT", 1, OUT))
        rules = realistic_rules(rules_per_layer, rng)
        rules[-1] = Rule("catch-all", 65535, Allow())  # the packet must reach every layer
        g.add_rules(rules)
    return port


def _frames(n: int, rng: random.Random) -> list[bytes]:
    return [build_frame(6, rng.getrandbits(32), rng.randint(1024, 65535),
                        rng.getrandbits(32), rng.choice([80, 443]), payload=b"x" * 64,
                        src_mac=0x00155D000001) for _ in range(n)]


def bench_slow_growth(runs: int, log: Callable[[str], None]) -> dict[str, float]:
    rng = random.Random(11)
    frames = _frames(500, rng)
    small_port = _rule_port(1, 100, rng)
    large_port = _rule_port(1, 100_000, rng)
    nf_small, nf_large = cycle(list(frames)), cycle(list(frames))
    for f in frames[:5]:
        simulate(small_port, f, OUT, commit=False)
        simulate(large_port, f, OUT, commit=False)
    small, large = paired_rates(
        lambda: simulate(small_port, nf_small(), OUT, commit=False), 2000,  # type: ignore[arg-type]
        lambda: simulate(large_port, nf_large(), OUT, commit=False), 2000,  # type: ignore[arg-type]
        runs,
    )
    log(f"slow path, 1 layer: 100 rules {small:,.0f}/s, 100k rules {large:,.0f}/s")
    return {"slow_path_growth_100_to_100k": small / large,
            "slow_path_per_s_100": small, "slow_path_per_s_100k": large}


def overlay_port() -> Port:
    sw = Switch()
    port = sw.add_port("pod", mac=0x00155D000001)
    acl = port.add_layer(Layer("ACL_ENDPOINT_LAYER", 15, stateful=True))
    acl.add_group(Group("ACL_OUT", 1, OUT)).add_rule(
        Rule("allow-out", 1000, Allow(), flags=TERMINATING | STATEFUL, ttl=240))
    acl.add_group(Group("ACL_IN", 1, IN)).add_rule(Rule("block-in", 1000, Block()))
    enc = port.add_layer(Layer("VNET_ENCAP_LAYER", 100, stateful=False, flags=DEFAULT_ALLOW))
    enc.add_group(Group("ENCAP_OUT", 1, OUT)).add_rule(Rule(
        "REMOTESUBNETROUTE", 10,
        RouteEncap(0xC0A8010A, 0xC0A80114, 4096, inner_dst_mac=0x0E2A00000099,
                   outer_dst_mac=0x00155DAAAAAA),
        Conditions(dst_ips=(prefix_range(0x0AF40400, 24, 32),))))
    return port


def bench_fast_path(runs: int, log: Callable[[str], None]) -> dict[str, float]:
    import dpkt

    port = overlay_port()
    frame = build_frame(6, 0x0AF40105, 40000, 0x0AF40407, 80, payload=b"x" * 64,
                        src_mac=0x00155D000001)
    first = process(port, frame, OUT)
    hit = process(port, frame, OUT)
    assert hit.fast
    assert hit.output == first.output
    assert hit.output is not None
    vx = hit.output
    assert len(vx) == 168

    def fast() -> object:
        return process(port, frame, OUT).output

    def dpkt_parse() -> object:
        eth = dpkt.ethernet.Ethernet(vx)
        udp = eth.data.data
        inner = dpkt.ethernet.Ethernet(bytes(udp.data)[8:])
        return inner.data.data.dport

    def dpkt_parse_input() -> object:
        return dpkt.ethernet.Ethernet(frame).data.data.dport

    r_fast, r_dpkt = paired_rates(fast, 20000, dpkt_parse, 5000, runs)
    _, r_dpkt_in = paired_rates(fast, 2000, dpkt_parse_input, 5000, runs)
    log(f"fast path {r_fast:,.0f}/s; dpkt parse of the 168-byte VXLAN frame {r_dpkt:,.0f}/s, "
        f"of the 118-byte input frame {r_dpkt_in:,.0f}/s")
    return {"fast_path_vs_dpkt_parse": r_fast / r_dpkt,
            "fast_path_vs_dpkt_parse_input_frame": r_fast / r_dpkt_in,
            "fast_path_per_s": r_fast, "dpkt_parse_per_s": r_dpkt}


def bench_uft_vs_slow(runs: int, log: Callable[[str], None]) -> dict[str, float]:
    rng = random.Random(13)
    port = _rule_port(4, 1000, rng)
    frames = _frames(200, rng)
    for f in frames:
        process(port, f, OUT)
    assert process(port, frames[0], OUT).fast
    nf, ns = cycle(list(frames)), cycle(list(frames))
    r_fast, r_slow = paired_rates(
        lambda: process(port, nf(), OUT), 20000,  # type: ignore[arg-type]
        lambda: simulate(port, ns(), OUT, commit=False), 1000,  # type: ignore[arg-type]
        runs,
    )
    log(f"4 layers x 1,000 rules: slow path {r_slow:,.0f}/s, unified-flow hit {r_fast:,.0f}/s")
    return {"uft_hit_vs_slow_path": r_fast / r_slow, "slow_path_per_s_4x1000": r_slow}


def _rss_bytes() -> int:
    """Resident set size from /proc (Linux), in bytes."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def bench_memory(log: Callable[[str], None]) -> dict[str, float]:
    """RSS growth while 100,000 UDP flows are cached on one port (each with a unified flow
    and a layer flow pair in the stateful ACL layer). RSS, not tracemalloc: it includes
    allocator overhead, and tracing would slow the 100,000 slow paths tenfold."""
    port = overlay_port()
    rng = random.Random(17)
    frames = [build_frame(17, 0x0AF40105, 1024 + (i % 60000), 0x0AF40400 | (i // 60000 + 1),
                          53, payload=b"q", src_mac=0x00155D000001) for i in range(100_000)]
    rng.shuffle(frames)
    process(port, frames[-1], OUT)  # warm: classifier built, templates interned
    gc.collect()
    before = _rss_bytes()
    for f in frames:
        process(port, f, OUT)
    gc.collect()
    after = _rss_bytes()
    cached = len(port.uft[OUT])
    assert cached == 100_000, cached
    mb = (after - before) / 1e6
    layer_flows = sum(len(lay.flows) for lay in port.layers.values())
    log(f"100,000 cached flows ({cached} unified, {layer_flows} layer flows): {mb:.1f} MB RSS")
    # cross-check: Python allocations traced for 10,000 more flows on a fresh port
    import tracemalloc

    port2 = overlay_port()
    sample = frames[:10_000]
    process(port2, frames[-1], OUT)
    gc.collect()
    tracemalloc.start()
    t0 = tracemalloc.get_traced_memory()[0]
    for f in sample:
        process(port2, f, OUT)
    gc.collect()
    per_flow = (tracemalloc.get_traced_memory()[0] - t0) / len(sample)
    tracemalloc.stop()
    log(f"tracemalloc: {per_flow:.0f} bytes per cached flow (10,000 flows)")
    # RSS can under-count (freed arenas get reused), tracing can miss allocator overhead:
    # report the larger of the two as the figure
    return {"mb_per_100k_flows": max(mb, per_flow * 100_000 / 1e6), "rss_mb_100k_flows": mb,
            "traced_bytes_per_flow": per_flow}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="same sizes, fewer repetitions")
    args = ap.parse_args()
    runs = 1 if args.quick else 5

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"python {platform.python_version()} ({sys.executable}), runs={runs}")
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    for section in (bench_classifier, bench_slow_growth, bench_fast_path, bench_uft_vs_slow):
        out.update(section(runs, log))
        log(f"  ({time.perf_counter() - t0:.0f} s elapsed)")
    out.update(bench_memory(log))
    log(f"  ({time.perf_counter() - t0:.0f} s elapsed)")
    out["python"] = platform.python_version()
    out["quick"] = args.quick
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
