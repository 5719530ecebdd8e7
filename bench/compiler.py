"""Benchmarks for hns.compiler: incremental load balancer adds, a 1,000-ACL endpoint, and
container -> container packets across two emulated hosts.

Prints progress lines, then ONE JSON object on its last line with:
  lb_add_growth_5000_vs_50         compiler time to add one load balancer with 5,000 present
                                   / with 50 present (median over repetitions, same run,
                                   same number of ports: 8 local endpoints)
  lb_add_growth_5000_vs_50_end_to_end   the same for the whole HcnCreateLoadBalancer call
                                   (HNS validation + state store + compiler)
  lb_add_ms_50, lb_add_ms_5000     the compiler medians behind the ratio
  acl1000_compile_ms               compiler time for an endpoint created with 1,000 ACLs
  acl1000_create_ms_end_to_end     the whole HcnCreateEndpoint call for it
  cross_host_fast_vs_first_packet  container -> container frames/s across two hosts of an
                                   hns.hosts.Cluster (in-memory underlay, VXLAN), repeated
                                   frames of one flow (unified-flow fast path on both ports)
                                   / first frames of new flows (slow path on both ports)
  cross_host_fast_pps, cross_host_first_pps   the rates behind that ratio
  ports_only_fast_vs_first_packet  the same two compiled ports without the hosts' vSwitch:
                                   vfp.process(A, OUT) then vfp.process(B, IN) per frame
  node_compile_cpu_s               CPU seconds of a cold `Compiler(service, switch)` over the
                                   kube-proxy-scale node of bench/support/scale_node.py
                                   (110 local pods, 10,000 remote endpoints, 5,000 load
                                   balancers) loaded from a state dump, as at a restart:
                                   reading every stored object and programming every port
                                   (the fastest of the repetitions)
  node_resync_cpu_s                then a full `sync()` over the same objects
Compiler time is the time the compiler's change listener runs for the operation. `--quick`
keeps every size and cuts repetitions.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent / "support"))

import vfp
from hns.compiler import Compiler
from hns.hosts import Cluster
from hns.service import HnsService
from vxlan.addr import ipv4_from_text, mac_from_text
from vxlan.frame import Frame, encode_frame
from vxlan.headers import ETH_P_IPV4, IPPROTO_UDP, UDP, Ethernet, IPv4

V2 = {"Major": 2, "Minor": 0}
Json = dict[str, Any]


class Timed:
    """A compiler whose listener time is accumulated in `spent` (seconds)."""

    def __init__(self, service: HnsService) -> None:
        self.service = service
        self.compiler = Compiler(service, vfp.Switch())
        service.remove_listener(self.compiler._on_change)
        service.add_listener(self._on_change)
        self.spent = 0.0

    def _on_change(self, changes: Any) -> None:
        t0 = time.perf_counter()
        self.compiler._on_change(changes)
        self.spent += time.perf_counter() - t0


def create(service: HnsService, kind: str, body: Json) -> str:
    got = service.hcn_call(f"HcnCreate{kind}", str(uuid.uuid4()),
                           json.dumps({**body, "SchemaVersion": V2}))
    return str(got["ID"])


def network(service: HnsService) -> str:
    return create(service, "Network", {
        "Name": "bench", "Type": "NAT",
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.0.0.0/16",
            "Routes": [{"NextHop": "10.0.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]})


def lb_body(eps: list[str], i: int) -> Json:
    vip = f"10.96.{i // 250}.{i % 250 + 1}"
    return {"HostComputeEndpoints": eps[i % 4: i % 4 + 3], "FrontendVIPs": [vip],
            "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}]}


class LbSetup:
    """A host with 8 local endpoints and `present` load balancers."""

    def __init__(self, present: int) -> None:
        self.service = HnsService()
        self.timed = Timed(self.service)
        net = network(self.service)
        self.eps = [create(self.service, "Endpoint", {
            "Name": f"e{i}", "HostComputeNetwork": net,
            "IpConfigurations": [{"IpAddress": f"10.0.1.{i + 2}"}]}) for i in range(8)]
        for i in range(present):
            create(self.service, "LoadBalancer", lb_body(self.eps, i))
        self.compiler_ms: list[float] = []
        self.total_ms: list[float] = []

    def add_one(self, r: int) -> None:
        body = lb_body(self.eps, 60000 + r)
        self.timed.spent = 0.0
        t0 = time.perf_counter()
        lb = create(self.service, "LoadBalancer", body)
        self.total_ms.append((time.perf_counter() - t0) * 1e3)
        self.compiler_ms.append(self.timed.spent * 1e3)
        self.service.hcn_call("HcnDeleteLoadBalancer", lb)


def lb_growth(reps: int) -> tuple[LbSetup, LbSetup]:
    """Median add costs with 50 and 5,000 present, measured alternately (noise hits both)."""
    small, large = LbSetup(50), LbSetup(5000)
    for r in range(3):  # warm-up, not counted
        small.add_one(r)
        large.add_one(r)
    for s in (small, large):
        s.compiler_ms.clear()
        s.total_ms.clear()
    for r in range(reps):
        small.add_one(100 + r)
        large.add_one(100 + r)
    return small, large


def acl1000(reps: int) -> tuple[float, float]:
    compile_ms: list[float] = []
    total_ms: list[float] = []
    for r in range(reps):
        service = HnsService()
        timed = Timed(service)
        net = network(service)
        acls = []
        for i in range(1000):
            acls.append({"Type": "ACL", "Settings": {
                "Id": f"acl-{i}", "Action": "Allow" if i % 3 else "Block",
                "Direction": "In" if i % 2 else "Out", "Priority": 100 + i,
                "Protocols": ("6", "17", "256")[i % 3],
                "RemoteAddresses": f"10.{i % 250}.{i // 250}.0/24",
                "LocalPorts": str(1000 + i), "RuleType": "Switch"}})
        body = {"Name": f"acl{r}", "HostComputeNetwork": net,
                "IpConfigurations": [{"IpAddress": "10.0.1.2"}], "Policies": acls}
        timed.spent = 0.0
        t0 = time.perf_counter()
        ep = create(service, "Endpoint", body)
        total_ms.append((time.perf_counter() - t0) * 1e3)
        compile_ms.append(timed.spent * 1e3)
        port = timed.compiler.port_of(ep)
        assert port is not None
        rules = sum(len(g.rules) for g in port.get_layer("ACL_ENDPOINT_LAYER").groups.values())
        assert rules == 1000, rules
        service.close()
    return statistics.median(compile_ms), statistics.median(total_ms)


def udp_frame(src_mac: str, src: str, dst: str, sport: int) -> bytes:
    return encode_frame(Frame(
        Ethernet(mac_from_text("00-15-5D-00-00-01"), mac_from_text(src_mac), ETH_P_IPV4),
        ip=IPv4(ipv4_from_text(src), ipv4_from_text(dst), IPPROTO_UDP),
        l4=UDP(sport, 9000, 0, 0), payload=b"x" * 64))


def overlay_host(cluster: Cluster, name: str, pa: str, prefix: str, other_prefix: str,
                 other_pa: str, ip: str) -> tuple[Any, str]:
    host = cluster.add_host(name, pa)
    net = create(host.service, "Network", {
        "Name": "ov", "Type": "Overlay",
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": prefix,
            "Routes": [{"NextHop": prefix.replace("0/24", "1"), "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}],
        "Policies": [{"Type": "RemoteSubnetRoute", "Settings": {
            "DestinationPrefix": other_prefix, "IsolationId": 4096, "ProviderAddress": other_pa,
            "DistributedRouterMacAddress": "0E-2A-00-00-00-01"}}]})
    a, b, c, d = (int(x) for x in ip.split("."))
    mac = f"0E-2A-{a:02X}-{b:02X}-{c:02X}-{d:02X}"
    ep = create(host.service, "Endpoint", {"Name": name, "HostComputeNetwork": net,
                                           "MacAddress": mac,
                                           "IpConfigurations": [{"IpAddress": ip}]})
    return host, ep


BATCH = 100  # frames sent before the cluster runs (the underlay queues them)


def cross_host(n: int) -> tuple[float, float]:
    """(fast path frames/s, first-packet frames/s) container A -> container B."""
    with Cluster() as cluster:
        a, ep_a = overlay_host(cluster, "a", "172.16.0.4", "10.244.1.0/24", "10.244.2.0/24",
                               "172.16.0.5", "10.244.1.5")
        b, ep_b = overlay_host(cluster, "b", "172.16.0.5", "10.244.2.0/24", "10.244.1.0/24",
                               "172.16.0.4", "10.244.2.5")
        mac = "0E-2A-0A-F4-01-05"
        first_frames = [udp_frame(mac, "10.244.1.5", "10.244.2.5", 10000 + i) for i in range(n)]
        same = udp_frame(mac, "10.244.1.5", "10.244.2.5", 9999)
        a.send(ep_a, same)  # warm the flow
        cluster.run()
        before = len(b.received(ep_b))
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            for f in first_frames[i:i + BATCH]:
                a.send(ep_a, f)
            cluster.run()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            for _ in range(min(BATCH, n - i)):
                a.send(ep_a, same)
            cluster.run()
        fast = time.perf_counter() - t0
        got = len(b.received(ep_b)) - before
        assert got == 2 * n or b.capture_limit is not None, got
        return n / fast, n / first


def ports_only(n: int) -> tuple[float, float]:
    """The same two compiled ports without the hosts: vfp.process(A, OUT) then
    vfp.process(B, IN) on its output (what the pipelines cost, without the vSwitch)."""
    with Cluster() as cluster:
        a, ep_a = overlay_host(cluster, "a", "172.16.0.4", "10.244.1.0/24", "10.244.2.0/24",
                               "172.16.0.5", "10.244.1.5")
        b, ep_b = overlay_host(cluster, "b", "172.16.0.5", "10.244.2.0/24", "10.244.1.0/24",
                               "172.16.0.4", "10.244.2.5")
        pa, pb = a.port_of(ep_a), b.port_of(ep_b)
        if pa is None or pb is None:
            raise SystemExit("the compiler made no port")
        mac = "0E-2A-0A-F4-01-05"
        firsts = [udp_frame(mac, "10.244.1.5", "10.244.2.5", 10000 + i) for i in range(n)]
        same = udp_frame(mac, "10.244.1.5", "10.244.2.5", 9999)
        process = vfp.process
        t0 = time.perf_counter()
        ok = 0
        for f in firsts:
            out = process(pa, f, vfp.OUT).output
            ok += out is not None and process(pb, out, vfp.IN).allowed
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n):
            out = process(pa, same, vfp.OUT).output
            ok += out is not None and process(pb, out, vfp.IN).allowed
        fast = time.perf_counter() - t0
        if ok != 2 * n:
            raise SystemExit(f"only {ok} of {2 * n} frames crossed")
        return n / fast, n / first


def node_compile(reps: int, local: int = 110, remote: int = 10_000,
                 lbs: int = 5_000) -> tuple[float, float]:
    """(cold compile, full resync) CPU seconds over the scale node, fastest of `reps`."""
    import gc

    import scale_node as node

    svc = HnsService()
    net = create(svc, "Network", node.network())
    loc = [create(svc, "Endpoint", node.local_endpoint(i, net)) for i in range(local)]
    rem = [create(svc, "Endpoint", node.remote_endpoint(i, net)) for i in range(remote)]
    for i in range(lbs):
        create(svc, "LoadBalancer", node.load_balancer(i, loc, rem))
    dump = svc.dump()
    svc.close()
    cold: list[float] = []
    resync: list[float] = []
    for _ in range(reps):
        restarted = HnsService()
        restarted.load(dump)
        gc.collect()
        started = time.process_time()
        compiler = Compiler(restarted, vfp.Switch())
        cold.append(time.process_time() - started)
        started = time.process_time()
        compiler.sync()
        resync.append(time.process_time() - started)
        assert len(compiler.endpoints()) == local
        assert not compiler.errors
        compiler.close()
        restarted.close()
    return min(cold), min(resync)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="same sizes, fewer repetitions")
    args = ap.parse_args()
    reps = 15 if args.quick else 101
    print(f"python {platform.python_version()} on {platform.machine()}", flush=True)
    small, large = lb_growth(reps)
    c50, t50 = statistics.median(small.compiler_ms), statistics.median(small.total_ms)
    c5k, t5k = statistics.median(large.compiler_ms), statistics.median(large.total_ms)
    print(f"add one LB with 50 present: compiler {c50:.3f} ms, call {t50:.3f} ms", flush=True)
    print(f"add one LB with 5000 present: compiler {c5k:.3f} ms, call {t5k:.3f} ms", flush=True)
    acl_c, acl_t = acl1000(3 if args.quick else 7)
    print(f"endpoint with 1000 ACLs: compiler {acl_c:.1f} ms, call {acl_t:.1f} ms", flush=True)
    fast, first = cross_host(2000 if args.quick else 10000)
    print(f"cross-host: fast path {fast:.0f} frames/s, first packets {first:.0f} frames/s",
          flush=True)
    pfast, pfirst = ports_only(2000 if args.quick else 10000)
    print(f"the two ports alone: fast path {pfast:.0f} frames/s, first packets "
          f"{pfirst:.0f} frames/s", flush=True)
    node_cold, node_resync = node_compile(1 if args.quick else 3)
    print(f"scale node: cold compile {node_cold:.2f} s CPU, full resync {node_resync:.2f} s CPU",
          flush=True)
    print(json.dumps({
        "lb_add_growth_5000_vs_50": round(c5k / c50, 3),
        "lb_add_growth_5000_vs_50_end_to_end": round(t5k / t50, 3),
        "lb_add_ms_50": round(c50, 4),
        "lb_add_ms_5000": round(c5k, 4),
        "acl1000_compile_ms": round(acl_c, 2),
        "acl1000_create_ms_end_to_end": round(acl_t, 2),
        "cross_host_fast_vs_first_packet": round(fast / first, 3),
        "cross_host_fast_pps": round(fast),
        "cross_host_first_pps": round(first),
        "ports_only_fast_vs_first_packet": round(pfast / pfirst, 3),
        "ports_only_fast_pps": round(pfast),
        "ports_only_first_pps": round(pfirst),
        "node_compile_cpu_s": round(node_cold, 3),
        "node_resync_cpu_s": round(node_resync, 3),
    }))


if __name__ == "__main__":
    main()
