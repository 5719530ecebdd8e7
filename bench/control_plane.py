"""Control-plane benchmark: endpoint create cost vs store size, kube-proxy scale, HTTP.

Figures (the last line of output is one JSON object with these keys):

- ``create_growth_10k_vs_100``: median in-process ``HcnCreateEndpoint`` time with 10,000
  endpoints present divided by the median with 100 present (target <= 1.5).
- ``kube_proxy_scale_objects_per_s``: in-process, 10,000 remote endpoints (Flags 1 plus a
  ProviderAddress policy, as kube-proxy's winkernel proxier makes them) and 5,000 load
  balancers of 3 backends each; objects created per second.
- ``http_create_vs_trivial``: endpoint creates per second through uvicorn
  (``POST /hcn/endpoints``, 8 concurrent clients) divided by requests per second of a
  trivial FastAPI route on the same server process, measured in the same run (target >=
  0.3). The server runs in a child process (``--serve-child``), the clients in this one.

Both in-process figures use a fresh SQLite state file in a temporary directory (the
README's configuration); ``--state :memory:`` measures without the disk.
``--quick`` keeps every size and cuts the repetitions; it ends within two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hns.service import HnsService  # noqa: E402

NETWORK = {
    "Name": "bench-overlay",
    "Type": "Overlay",
    "Ipams": [
        {
            "Type": "Static",
            "Subnets": [
                {
                    "IpAddressPrefix": "10.128.0.0/9",
                    "Routes": [{"NextHop": "10.128.0.1", "DestinationPrefix": "0.0.0.0/0"}],
                    "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
                }
            ],
        }
    ],
    "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "192.168.1.10"}}],
    # The default pool holds 4,096 MACs; 10,000 local endpoints need a wider one.
    "MacPool": {
        "Ranges": [{"StartMacAddress": "00-15-5D-10-00-00", "EndMacAddress": "00-15-5D-1F-FF-FF"}]
    },
    "SchemaVersion": {"Major": 2, "Minor": 0},
}


def _new_service(state: str, tmp: str, name: str) -> HnsService:
    path = state if state == ":memory:" else os.path.join(tmp, f"{name}.sqlite")
    return HnsService(state=path)


def _create_network(service: HnsService) -> str:
    created = service.hcn_call("HcnCreateNetwork", None, json.dumps(NETWORK))
    return str(created["ID"])


def _local_endpoint(network: str) -> str:
    return json.dumps({"HostComputeNetwork": network, "SchemaVersion": {"Major": 2, "Minor": 0}})


def _ip(n: int) -> str:
    """The n-th address of 10.192.0.0/10 (inside the bench network, away from IPAM)."""
    base = (10 << 24) | (192 << 16)
    value = base + n + 2
    return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


def _remote_endpoint(network: str, n: int) -> str:
    return json.dumps(
        {
            "HostComputeNetwork": network,
            "Flags": 1,
            "IpConfigurations": [{"IpAddress": _ip(n), "PrefixLength": 32}],
            "MacAddress": "0E-2A-" + "-".join(f"{int(x):02X}" for x in _ip(n).split(".")),
            "Policies": [
                {
                    "Type": "ProviderAddress",
                    "Settings": {"ProviderAddress": f"192.168.{2 + n // 250 % 250}.{1 + n % 250}"},
                }
            ],
            "SchemaVersion": {"Major": 2, "Minor": 0},
        }
    )


def _load_balancer(backends: list[str], n: int) -> str:
    return json.dumps(
        {
            "HostComputeEndpoints": backends,
            "SourceVIP": "10.128.0.2",
            "FrontendVIPs": [f"10.96.{n // 250}.{1 + n % 250}"],
            "PortMappings": [
                {"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80, "DistributionType": 0}
            ],
            "SchemaVersion": {"Major": 2, "Minor": 0},
        }
    )


def _timed_creates(service: HnsService, network: str, count: int) -> list[float]:
    body = _local_endpoint(network)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        service.hcn_call("HcnCreateEndpoint", None, body)
        times.append(time.perf_counter() - start)
    return times


def bench_growth(state: str, tmp: str, samples: int) -> dict[str, float]:
    service = _new_service(state, tmp, "growth")
    try:
        network = _create_network(service)
        _timed_creates(service, network, 100)
        small = statistics.median(_timed_creates(service, network, samples))
        present = 100 + samples
        body = _local_endpoint(network)
        for _ in range(10_000 - present):
            service.hcn_call("HcnCreateEndpoint", None, body)
        large = statistics.median(_timed_creates(service, network, samples))
    finally:
        service.close()
    return {
        "create_median_us_at_100": small * 1e6,
        "create_median_us_at_10k": large * 1e6,
        "create_growth_10k_vs_100": large / small,
    }


def bench_kube_proxy(state: str, tmp: str) -> dict[str, float]:
    service = _new_service(state, tmp, "kubeproxy")
    try:
        network = _create_network(service)
        start = time.perf_counter()
        ids = [
            str(service.hcn_call("HcnCreateEndpoint", None, _remote_endpoint(network, n))["ID"])
            for n in range(10_000)
        ]
        endpoints_done = time.perf_counter()
        for n in range(5_000):
            backends = [ids[(3 * n + k) % len(ids)] for k in range(3)]
            service.hcn_call("HcnCreateLoadBalancer", None, _load_balancer(backends, n))
        done = time.perf_counter()
    finally:
        service.close()
    return {
        "kube_proxy_remote_endpoints_per_s": 10_000 / (endpoints_done - start),
        "kube_proxy_load_balancers_per_s": 5_000 / (done - endpoints_done),
        "kube_proxy_scale_objects_per_s": 15_000 / (done - start),
    }


# -- HTTP ----------------------------------------------------------------------------


def serve_child(port: int, state: str) -> None:
    """The server process: the real app plus one trivial route, one uvicorn worker."""
    import uvicorn
    from fastapi.responses import JSONResponse

    from api.app import create_app

    service = HnsService(state=state)
    app = create_app(service)

    async def trivial() -> JSONResponse:
        return JSONResponse({"Success": True})

    app.add_api_route("/_bench/trivial", trivial, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _drive(port: int, method: str, path: str, body: bytes | None, total: int) -> float:
    """``total`` requests over 8 keep-alive connections; requests per second.

    A minimal HTTP/1.1 client on raw asyncio streams: httpx costs more CPU per request
    than the server does for a trivial route, and on a 2-core machine that would make
    the client, not the server, the thing measured.
    """
    payload = body or b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    request = head + payload
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                answer = await reader.readexactly(length)
                if status >= 300:
                    raise RuntimeError(f"{method} {path}: {status} {answer[:200]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(8)))
    return total / (time.perf_counter() - start)


def bench_http(state: str, tmp: str, rounds: int, count: int) -> dict[str, float]:
    import httpx

    port = _free_port()
    child_state = state if state == ":memory:" else os.path.join(tmp, "http.sqlite")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-child", str(port), "--state", child_state],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(url + "/_emulator/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        net = httpx.post(url + "/hcn/networks", content=json.dumps(NETWORK), timeout=30).json()
        body = _local_endpoint(net["ID"]).encode()
        asyncio.run(_drive(port, "GET", "/_bench/trivial", None, 200))  # warm-up
        creates, trivials = [], []
        for _ in range(rounds):
            trivials.append(asyncio.run(_drive(port, "GET", "/_bench/trivial", None, count)))
            creates.append(asyncio.run(_drive(port, "POST", "/hcn/endpoints", body, count)))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    create_rps, trivial_rps = statistics.median(creates), statistics.median(trivials)
    return {
        "http_create_per_s": create_rps,
        "http_trivial_per_s": trivial_rps,
        "http_create_vs_trivial": create_rps / trivial_rps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, same sizes")
    parser.add_argument("--state", default="file", help="'file' (temp SQLite) or :memory:")
    parser.add_argument("--serve-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child is not None:
        serve_child(args.serve_child, args.state)
        return 0

    samples = 100 if args.quick else 300
    rounds, count = (1, 1000) if args.quick else (3, 2000)
    figures: dict[str, Any] = {"quick": args.quick, "state": args.state}
    with tempfile.TemporaryDirectory(prefix="hns-bench-") as tmp:
        t0 = time.perf_counter()
        figures.update(bench_growth(args.state, tmp, samples))
        print(f"growth done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        t0 = time.perf_counter()
        figures.update(bench_kube_proxy(args.state, tmp))
        print(f"kube-proxy scale done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        t0 = time.perf_counter()
        figures.update(bench_http(args.state, tmp, rounds, count))
        print(f"http done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
