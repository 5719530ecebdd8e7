"""How long a cold ``hns-emulator serve`` takes to answer on a loaded state, phase by phase.

bench/scale.py measures ``restart_s_node`` once per run, after building the node through
HTTP (minutes). This probe builds the same node's state file once, in process and without
a compiler, and then times cold starts of ``serve`` on it as often as asked, in wall time
and in the child's CPU time (the machine is shared: wall time alone mostly measures the
neighbours).

::

    python bench/support/restart_probe.py build  --state FILE [--remote N] [--lbs N]
    python bench/support/restart_probe.py time   --state FILE [--runs 3] [--phases]

``time`` spawns ``python -m api.cli serve --state FILE`` (what bench/scale.py spawns) and
polls ``/_emulator/health`` until the first answer; it reports wall seconds and the
child's CPU seconds at that moment. With ``--phases`` it spawns this file's ``child``
instead: the same ``api.cli.main(["serve", ...])``, with timers wrapped around the steps
of the start (imports, store read, index rebuild, compile and its parts, app, uvicorn),
written as JSON lines to a trace file. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
TICK = os.sysconf("SC_CLK_TCK")


# -- build ---------------------------------------------------------------------------------
def build(state: Path, local: int, remote: int, lbs: int) -> dict[str, Any]:
    """The kube-proxy node (bench/support/scale_node.py) in a state file, no compiler."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import scale_node as node

    from hns.service import HnsService

    for suffix in ("", "-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)
    started = time.monotonic()
    svc = HnsService(state=str(state))
    svc.calls.enabled = False
    node.populate(svc.hcn_call, local, remote, lbs)
    svc.close()
    return {"built_s": round(time.monotonic() - started, 1),
            "size": {"local": local, "remote": remote, "lbs": lbs}}


# -- the timed child -----------------------------------------------------------------------
def _stamp(trace: Any, label: str, wall: float, cpu: float) -> None:
    trace.write(json.dumps({"phase": label, "wall": round(wall, 4), "cpu": round(cpu, 4)})
                + "\n")
    trace.flush()


def _wrap(owner: Any, name: str, label: str, trace: Any) -> None:
    """Time every call of ``owner.name`` (a generator's time runs to its exhaustion)."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        result = original(*args, **kwargs)
        _stamp(trace, label, time.perf_counter() - w0, time.process_time() - c0)
        return result

    def timed_gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
        w0, c0 = time.perf_counter(), time.process_time()
        yield from original(*args, **kwargs)
        _stamp(trace, label, time.perf_counter() - w0, time.process_time() - c0)

    import inspect

    setattr(owner, name, timed_gen if inspect.isgeneratorfunction(original) else timed)


def child(argv: list[str]) -> int:
    """``serve`` with timers; argv: TRACE SPAWNED_AT then serve's own arguments."""
    trace_path, spawned_at, serve_args = argv[0], float(argv[1]), argv[2:]
    trace = open(trace_path, "w")  # noqa: SIM115 - lives as long as the process
    _stamp(trace, "interpreter", time.time() - spawned_at, time.process_time())
    w0, c0 = time.perf_counter(), time.process_time()
    import api.cli

    _stamp(trace, "import api.cli", time.perf_counter() - w0, time.process_time() - c0)
    w0, c0 = time.perf_counter(), time.process_time()
    import api.app
    import api.serving
    import api.transport
    import hns.hosts

    _stamp(trace, "import serve path", time.perf_counter() - w0, time.process_time() - c0)
    from hns.compiler import Compiler
    from hns.compiler.hostport import HostPorts
    from hns.compiler.view import View
    from hns.service import HnsService
    from hns.store.sqlite import Store
    from hns.store.state import IndexedState

    _wrap(HnsService, "__init__", "service (store open+read+index)", trace)
    _wrap(Store, "load_all", "  store read", trace)
    _wrap(IndexedState, "_rebuild", "  index rebuild", trace)
    _wrap(hns.hosts.Host, "__init__", "host (compile)", trace)
    _wrap(Compiler, "sync", "  compiler.sync", trace)
    _wrap(View, "load", "    view.load", trace)
    _wrap(Compiler, "_sync_ports", "    ports", trace)
    _wrap(Compiler, "_recompute", "    recompute", trace)
    _wrap(HostPorts, "refresh", "    host ports refresh", trace)
    _wrap(api.app, "create_app", "create_app", trace)
    original_serve = api.serving.serve_app

    def serve_app(*args: Any, **kwargs: Any) -> None:
        _stamp(trace, "serve_app called", time.time() - spawned_at, time.process_time())
        original_serve(*args, **kwargs)

    api.serving.serve_app = serve_app  # type: ignore[assignment]
    return api.cli.main(serve_args)


# -- time ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
            s.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def one_start(state: Path, phases: bool) -> dict[str, Any]:
    port = _free_port()
    serve = ["serve", "--port", str(port), "--state", str(state), "--log-level", "warning"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as tmp:
        trace = Path(tmp.name)
    started_wall = time.time()
    started = time.monotonic()
    if phases:
        cmd = [sys.executable, str(Path(__file__).resolve()), "child", str(trace),
               repr(started_wall), *serve]
    else:
        cmd = [sys.executable, "-m", "api.cli", *serve]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if phases else subprocess.DEVNULL)
    try:
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited {proc.returncode}: "
                                   f"{proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.01)
        wall = time.monotonic() - started
        cpu = _cpu_s(proc.pid)
        out: dict[str, Any] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        stopped = time.monotonic()
        proc.terminate()
        proc.wait(timeout=120)
        out["sigterm_s"] = round(time.monotonic() - stopped, 3)
        if phases:
            out["phases"] = [json.loads(line) for line in trace.read_text().splitlines()]
        return out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        trace.unlink(missing_ok=True)


def time_starts(state: Path, runs: int, phases: bool) -> dict[str, Any]:
    results = [one_start(state, phases) for _ in range(runs)]
    for n, r in enumerate(results):
        print(f"# run {n + 1}: wall {r['wall_s']:.2f} s, cpu {r['cpu_s']:.2f} s, "
              f"sigterm {r['sigterm_s']:.2f} s", flush=True)
        for p in r.get("phases", []):
            print(f"#   {p['phase']:<36} wall {p['wall']:7.3f}  cpu {p['cpu']:7.3f}")
    return {
        "restart_wall_s_median": round(statistics.median(r["wall_s"] for r in results), 3),
        "restart_wall_s_min": round(min(r["wall_s"] for r in results), 3),
        "restart_cpu_s_median": round(statistics.median(r["cpu_s"] for r in results), 3),
        "sigterm_s_median": round(statistics.median(r["sigterm_s"] for r in results), 3),
        "runs": runs, "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["child"]:
        return child(args[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "time"))
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--local", type=int, default=110)
    parser.add_argument("--remote", type=int, default=10_000)
    parser.add_argument("--lbs", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", action="store_true", help="time each step of the start")
    ns = parser.parse_args(args)
    run: Callable[[], dict[str, Any]]
    if ns.action == "build":
        def run() -> dict[str, Any]:
            return build(ns.state, ns.local, ns.remote, ns.lbs)
    else:
        def run() -> dict[str, Any]:
            return time_starts(ns.state, ns.runs, ns.phases)
    print(json.dumps(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
