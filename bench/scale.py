"""Kube-proxy scale through HTTP: one Windows node, loaded, under mixed load and restarts.

The node (bench/support/scale_node.py): one flannel Overlay network, 110 local pods, 10,000 remote
endpoints, 5,000 load balancers of 3 backends (ClusterIP and NodePort mixed, every tenth
DSR).  The server is a real ``hns-emulator serve`` child on a loopback port with a SQLite
state file; every figure is measured through HTTP.

Figures (the last line of output is one JSON object with these keys):

- ``lb_create_p99_ms``: p99 of ``POST /hcn/loadbalancers`` with the node loaded (target
  <= 20), one client, after the 5,000 are in;
- ``lb_create_growth_5000_vs_50``: median LB create with 5,000 LBs present over the median
  with 50 present, same run (target <= 1.5);
- ``health_worst_ms``: worst ``/_emulator/health`` latency, polled every 10 ms by a
  separate process during the whole load (node load, LB creates, mixed load) (<= 50);
- ``rss_mb_node``: the server's RSS with the node loaded (<= 600);
- ``restart_s_node``: from process start to the first answer on that state (<= 3);
- ``mixed_load_req_per_s``, ``mixed_load_p99_ms``, ``mixed_load_5xx``: 16 clients for
  60 s (15 s with ``--quick``) of LB create / query / modify / delete and endpoint query.

Also reported: ``health_worst_ms_idle_baseline`` (the same poll against the idle server
for 5 s before the load: what the machine's own load costs), ``health_worst_ms_by_phase``
(idle, node_load, lb_first_100, lb_bulk, lb_last_100, mixed), the server's own view
from its stall log (api/stalls.py, ``HNS_EMULATOR_DEBUG_STALLS``): ``server_loop_lag_worst_ms``
(how late the event loop ran), ``server_loop_lag_worst_on_cpu_ms`` (each lag capped at the
CPU the process used meanwhile: a lag with no CPU is the machine not running the server),
the gc pauses by generation (wall and CPU) and the worst stalls with their stacks' top;
``lb_create_in_service_p99_ms`` (the call log's DurationMs of the same 100 creates: the
service's part of the p99), ``client_gc_worst_ms`` (this process's own worst collection:
client time the figures must not be confused with; the pinger and this process
``gc.freeze()`` the node's dump, whose walk in the pinger once counted 302 ms as health
latency; ``client_gc_worst_ms_lb_last_100``: the same inside the timed 100 creates, which
start right after a collection here), ``sigterm_s`` (SIGTERM to
exit), ``service_restart_s`` (``POST /_emulator/service {"Action":"restart"}``: rehydrate
and recompile), ``node_load_s`` (the
endpoints arrive as one ``PUT /_emulator/state``: the dump is built in this process
without a compiler, so the setup does not dominate the run), and ``size``/``full_size``.

``--quick`` ends within two minutes: it keeps 110 pods and shrinks the node to 500 remote
endpoints and 500 LBs, what fits on the shared 2-core machine (``size`` and
``full_size`` say which); without it, the full node (``--remote``/``--lbs`` override).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent / "support"))

import scale_node as node  # noqa: E402

from hns.service import HnsService  # noqa: E402

#: --quick: what fits in two minutes on the shared 2-core machine (the JSON says the size).
QUICK_REMOTE = 500
QUICK_LBS = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_dump(local: int, remote: int) -> tuple[dict[str, Any], list[str], list[str]]:
    """The node's network and endpoints as a state dump (no compiler: fast)."""
    svc = HnsService()
    loc, rem = node.populate(svc.hcn_call, local, remote)
    dump = svc.dump()
    svc.close()
    return dump, loc, rem


class Server:
    def __init__(self, state: Path, stalls: Path | None = None) -> None:
        self.state = state
        self.stalls = stalls
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 900.0) -> float:
        """Spawn; seconds from spawn to the first answer."""
        started = time.monotonic()
        env = dict(os.environ)
        if self.stalls is not None:  # the server's own loop-lag log (api/stalls.py)
            env["HNS_EMULATOR_DEBUG_STALLS"] = str(self.stalls)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
             "--state", str(self.state), "--log-level", "warning"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        while time.monotonic() - started < timeout:
            try:
                if httpx.get(self.url + "/_emulator/health", timeout=1.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.01)
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> float:
        """SIGTERM; seconds until the process exits."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started


#: The bench's phases, in order; the pinger keeps its worst latency per phase.
PHASES: Final = ("idle", "node_load", "lb_first_100", "lb_bulk", "lb_last_100", "mixed")


def _pinger(url: str, stop: Any, worst: Any, count: Any, phase: Any, by_phase: Any) -> None:
    """A separate process: GET health every 10 ms, keep the worst latency (ms)."""
    # Forked from the bench with the node's dump on its heap: without this, the pinger's
    # own first full collection walked that heap (302 ms measured) and was counted as the
    # server's latency (the "idle baseline" of 184-337 ms).
    gc.freeze()
    with httpx.Client(timeout=60.0) as http:
        while not stop.is_set():
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                http.get(url + "/_emulator/health")
            took = (time.perf_counter() - started) * 1000
            worst.value = max(worst.value, took)
            by_phase[phase.value] = max(by_phase[phase.value], took)
            count.value += 1
            time.sleep(max(0.0, 0.01 - took / 1000))


def create_lb(http: httpx.Client, body: dict[str, Any]) -> tuple[float, str]:
    started = time.perf_counter()
    r = http.post("/hcn/loadbalancers", json=body)
    took = (time.perf_counter() - started) * 1000
    r.raise_for_status()
    return took, str(r.json()["ID"])


def mixed_load(url: str, seconds: float, loc: list[str], rem: list[str],
               lb_ids: list[str], clients: int = 16) -> dict[str, Any]:
    lat: list[float] = []
    errors_5xx = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    shared = list(lb_ids)

    def client(n: int) -> None:
        nonlocal errors_5xx
        rng = random.Random(n)
        mine: list[str] = []
        with httpx.Client(base_url=url, timeout=60.0) as http:
            while time.monotonic() < deadline:
                op = rng.random()
                i = 100_000 + n * 100_000 + rng.randrange(100_000)
                started = time.perf_counter()
                if op < 0.25:
                    r = http.post("/hcn/loadbalancers", json=node.load_balancer(i, loc, rem))
                    if r.status_code == 201:
                        mine.append(r.json()["ID"])
                elif op < 0.5 and mine:
                    r = http.delete(f"/hcn/loadbalancers/{mine.pop(0)}")
                elif op < 0.65:
                    target = rng.choice(mine or shared)
                    r = http.post(f"/hcn/loadbalancers/{target}/modify",
                                  json=node.load_balancer(i, loc, rem))
                elif op < 0.85:
                    r = http.get(f"/hcn/loadbalancers/{rng.choice(shared)}")
                else:
                    r = http.get(f"/hcn/endpoints/{rng.choice(loc + rem[:1000])}")
                took = (time.perf_counter() - started) * 1000
                with lock:
                    lat.append(took)
                    if r.status_code >= 500:
                        errors_5xx += 1
            for ident in mine:
                http.delete(f"/hcn/loadbalancers/{ident}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = min(time.monotonic() - started, seconds) or seconds
    return {"req_per_s": round(len(lat) / elapsed, 1), "p99_ms": round(_pct(lat, 0.99), 1),
            "5xx": errors_5xx, "requests": len(lat)}


class _ClientGc:
    """The worst cyclic-gc pause of this (client) process, so it is never mistaken for the
    server's (the figures time requests from here)."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - self._started) * 1000)


def _stall_figures(log: Path, phases: list[tuple[str, float]], end: float) -> dict[str, Any]:
    """The server's own view (api/stalls.py) of its first run: loop lag and its causes.

    ``phases`` are (name, seconds since the server answered) and ``end`` the end of the
    health window; the server's ``At`` counts from when it started listening, a few ms
    earlier, so a lag is put in a phase within that much.
    """
    summary: dict[str, Any] = {}
    late: list[dict[str, Any]] = []
    if log.exists():
        for line in log.read_text().splitlines():
            doc = json.loads(line)
            if "Late" in doc:
                late.append(doc["Late"])
            if "Summary" in doc:
                summary = doc["Summary"]
                break
    if not summary:
        return {}
    by_phase: dict[str, float] = {name: 0.0 for name, _ in phases}
    on_cpu: dict[str, float] = {name: 0.0 for name, _ in phases}
    for lag in late:
        began = lag["At"] - lag["Ms"] / 1000
        if began > end:
            continue  # after the health window (the service restart)
        name = phases[0][0]
        for phase_name, start in phases:
            if start <= began:
                name = phase_name
        by_phase[name] = max(by_phase[name], lag["Ms"])
        on_cpu[name] = max(on_cpu[name], min(lag["Ms"], lag["CpuMs"]))
    return {"server_loop_lag_worst_ms": max(by_phase.values()),
            "server_loop_lag_worst_ms_by_phase": by_phase,
            "server_loop_lag_worst_on_cpu_ms": max(on_cpu.values()),
            "server_loop_lag_worst_on_cpu_ms_by_phase": on_cpu,
            "server_loop_lags_over_20ms": summary["LoopLagsOver20Ms"],
            "server_loop_lags_over_50ms": summary["LoopLagsOver50Ms"],
            "server_gc_ms_by_generation": summary["GcMsByGeneration"],
            "server_gc_worst_ms_by_generation": summary["GcWorstMsByGeneration"],
            "server_gc_worst_cpu_ms_by_generation": summary["GcWorstCpuMsByGeneration"],
            "server_worst_late": summary["WorstLate"][:3],
            "server_worst_stalls": summary["WorstStalls"][:3],
            "server_stall_log": str(log)}


def run(local: int, remote: int, lbs: int, mixed_s: float, quick: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    dump, loc, rem = build_dump(local, remote)
    # The dump and the id lists live as long as the run: out of this process's own full
    # collections, which otherwise paused the clients timing the server for up to ~300 ms.
    gc.freeze()
    client_gc = _ClientGc()
    print(f"# dump of {local} local + {remote} remote built in "
          f"{time.monotonic() - t0:.1f} s", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stalls = workdir / "stalls.jsonl"
    server = Server(workdir / "hns.sqlite", stalls)
    server.start()
    ctx = multiprocessing.get_context("fork")
    stop, worst, count = ctx.Event(), ctx.Value("d", 0.0), ctx.Value("i", 0)
    phase, by_phase = ctx.Value("i", 0), ctx.Array("d", len(PHASES))

    ready = time.monotonic()
    starts: list[tuple[str, float]] = [("idle", 0.0)]
    window_end = float("inf")

    def enter(name: str) -> None:
        phase.value = PHASES.index(name)
        starts.append((name, time.monotonic() - ready))

    pinger = ctx.Process(target=_pinger, args=(server.url, stop, worst, count, phase, by_phase),
                         daemon=True)
    pinger.start()
    out: dict[str, Any] = {}
    try:
        # Baseline, same run: the worst health latency of the idle server on this machine
        # as loaded by everything else running on it (a shared 2-core box).
        time.sleep(5.0)
        out["health_worst_ms_idle_baseline"] = round(worst.value, 1)
        with httpx.Client(base_url=server.url, timeout=600.0) as http:
            enter("node_load")
            started = time.monotonic()
            http.put("/_emulator/state", json=dump).raise_for_status()
            out["node_load_s"] = round(time.monotonic() - started, 2)
            print(f"# node loaded in {out['node_load_s']} s", flush=True)
            ids: list[str] = []
            enter("lb_first_100")
            for i in range(50):
                ids.append(create_lb(http, node.load_balancer(i, loc, rem))[1])
            at_50 = []
            for i in range(50, 100):
                took, ident = create_lb(http, node.load_balancer(i, loc, rem))
                at_50.append(took)
                ids.append(ident)
            tail = 100

            # One keep-alive client per thread, as a real client holds one HNS handle: a
            # new httpx.Client per LB cost this process 22.6 ms of CPU (an SSL context,
            # for plain HTTP), about 110 s in all at full size, taken from the 2 cores the
            # server and the health poll share.
            local_clients = threading.local()
            clients: list[httpx.Client] = []

            def bulk(i: int) -> str:
                c = getattr(local_clients, "http", None)
                if c is None:
                    c = local_clients.http = httpx.Client(base_url=server.url, timeout=600.0)
                    clients.append(c)
                return create_lb(c, node.load_balancer(i, loc, rem))[1]

            enter("lb_bulk")
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=4) as pool:
                ids += list(pool.map(bulk, range(100, lbs - tail)))
            for c in clients:
                c.close()
            print(f"# {lbs - tail - 100} LBs in {time.monotonic() - started:.1f} s", flush=True)
            at_full = []
            # the call log's LastSeq, so the server's own durations of the last 100 can
            # be read back (DurationMs: from the call's start in the service to its end)
            seq = http.get("/_emulator/calls", params={"since": 1 << 40, "state": "false"}
                           ).json()["LastSeq"]
            # This process's own collection, not the server, must not land inside the
            # timed creates: collect here, outside the window, and freeze what is left.
            gc.collect()
            gc.freeze()
            client_gc_before, client_gc.worst_ms = client_gc.worst_ms, 0.0
            enter("lb_last_100")
            for i in range(lbs - tail, lbs):
                took, ident = create_lb(http, node.load_balancer(i, loc, rem))
                at_full.append(took)
                ids.append(ident)
            out["lb_create_p99_ms"] = round(_pct(at_full, 0.99), 2)
            out["client_gc_worst_ms_lb_last_100"] = round(client_gc.worst_ms, 1)
            client_gc.worst_ms = max(client_gc.worst_ms, client_gc_before)
            logged = http.get("/_emulator/calls", params={"since": seq, "state": "false"}
                              ).json()["Calls"]
            in_service = [c["DurationMs"] for c in logged
                          if c.get("Function") == "HcnCreateLoadBalancer"]
            out["lb_create_in_service_p99_ms"] = round(_pct(in_service, 0.99), 2)
            out["lb_create_median_ms_50"] = round(statistics.median(at_50), 2)
            out["lb_create_median_ms_full"] = round(statistics.median(at_full), 2)
            out["lb_create_growth_5000_vs_50"] = round(
                statistics.median(at_full) / statistics.median(at_50), 3)
            out["rss_mb_node"] = round(server.rss_mb(), 1)
            print(f"# LB creates done: {out}", flush=True)
            enter("mixed")
            mixed = mixed_load(server.url, mixed_s, loc, rem, ids)
            out["mixed_load_req_per_s"] = mixed["req_per_s"]
            out["mixed_load_p99_ms"] = mixed["p99_ms"]
            out["mixed_load_5xx"] = mixed["5xx"]
            out["mixed_load_requests"] = mixed["requests"]
            out["rss_mb_after_mixed"] = round(server.rss_mb(), 1)
            stop.set()
            window_end = time.monotonic() - ready
            pinger.join(timeout=10)
            out["health_worst_ms"] = round(worst.value, 1)
            out["health_worst_ms_by_phase"] = {
                name: round(by_phase[i], 1) for i, name in enumerate(PHASES)}
            out["health_polls"] = count.value
            started = time.monotonic()
            http.post("/_emulator/service", json={"Action": "restart"}).raise_for_status()
            out["service_restart_s"] = round(time.monotonic() - started, 2)
            have = len(http.get("/hcn/loadbalancers").json())
        out["sigterm_s"] = round(server.stop(), 2)
        out["restart_s_node"] = round(server.start(), 2)
        with httpx.Client(base_url=server.url, timeout=600.0) as http:
            after = len(http.get("/hcn/loadbalancers").json())
        out["lbs_after_restart_match"] = after == have
        server.stop()
        out.update(_stall_figures(stalls, starts, window_end))
        out["client_gc_worst_ms"] = round(client_gc.worst_ms, 1)
    finally:
        stop.set()
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
    out["size"] = {"local": local, "remote": remote, "lbs": lbs}
    out["full_size"] = (local, remote, lbs) == (node.LOCAL_PODS, node.REMOTE_ENDPOINTS,
                                                node.LOAD_BALANCERS)
    out["quick"] = quick
    out["cpus"] = os.cpu_count()
    out["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="within two minutes")
    parser.add_argument("--remote", type=int, default=None)
    parser.add_argument("--lbs", type=int, default=None)
    parser.add_argument("--local", type=int, default=node.LOCAL_PODS)
    ns = parser.parse_args(argv)
    remote = ns.remote if ns.remote is not None else (
        QUICK_REMOTE if ns.quick else node.REMOTE_ENDPOINTS)
    lbs = ns.lbs if ns.lbs is not None else (QUICK_LBS if ns.quick else node.LOAD_BALANCERS)
    if lbs < 200:  # 100 timed at 50 present, 100 timed at the full count
        parser.error("--lbs must be at least 200")
    result = run(ns.local, remote, lbs, 15.0 if ns.quick else 60.0, ns.quick)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
