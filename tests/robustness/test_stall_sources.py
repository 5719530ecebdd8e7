"""Issue 11 (stalls): what used to stop the event loop at kube-proxy scale, and the
diagnostic that found it.  Every check counts or inspects behaviour; none times the code.

- api/collector.py: a full collection freezes its survivors, so the next one walks only
  what was promoted since (one walked 5,000 LBs' objects for 100-670 ms);
- api/stalls.py: the opt-in loop watchdog reports a blocked loop with the blocking stack.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api import collector, serving
from api.stalls import StallMonitor


class _Node:
    def __init__(self) -> None:
        self.peer: Any = None


def _cycles(n: int) -> list[_Node]:
    out = []
    for _ in range(n):
        a, b = _Node(), _Node()
        a.peer, b.peer = b, a
        out.append(a)
    return out


@pytest.fixture
def policy() -> Iterator[None]:
    was = collector.installed()
    collector.install()
    try:
        yield
    finally:
        if not was:
            collector.uninstall()
        gc.unfreeze()  # back to the interpreter's default for the rest of the session


def test_a_full_collection_may_follow_every_second_young_one(policy: None) -> None:
    assert gc.get_threshold()[2] == collector.FULL_AFTER == 1


def test_uninstall_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    was = collector.installed()
    if was:
        collector.uninstall()
        before = gc.get_threshold()
    collector.install()
    collector.uninstall()
    assert gc.get_threshold() == before
    if was:
        collector.install()


def test_a_full_collection_freezes_its_survivors(policy: None) -> None:
    kept = _cycles(1000)
    gc.collect()
    frozen = gc.get_freeze_count()
    assert frozen >= 2000
    # the survivors are out of the next full collection's walk ...
    assert not any(gc.is_tracked(k) and k in gc.get_objects(generation=2) for k in kept[:3])
    # ... and the young cycles a request leaves behind are still collected
    garbage = _cycles(500)
    del garbage
    assert gc.collect(0) + gc.collect(1) >= 1000
    assert kept[0].peer.peer is kept[0]


def test_the_server_process_installs_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    was = collector.installed()
    collector.uninstall()
    monkeypatch.setattr(serving._Server, "run", lambda self: None)
    intervals: list[float] = []
    monkeypatch.setattr(serving.sys, "setswitchinterval", intervals.append)
    ns = type("NS", (), {"host": "127.0.0.1", "port": 0, "log_level": "warning",
                         "access_log": False, "read_timeout": 5.0, "state": ":memory:"})()
    try:
        serving.serve_app(object(), ns, "ws2025")  # type: ignore[arg-type]
        assert collector.installed()
        # the loop waits at most this long for a busy call thread to drop the GIL
        assert intervals == [serving.SWITCH_INTERVAL]
        assert serving.SWITCH_INTERVAL <= 0.0005
    finally:
        if not was:
            collector.uninstall()


def test_the_watchdog_names_what_blocked_the_loop() -> None:
    log = io.StringIO()

    def block_the_loop_on_purpose() -> None:
        time.sleep(0.3)  # 15 times the threshold: a loaded machine only adds to it

    async def main() -> dict[str, Any]:
        monitor = StallMonitor(log, threshold_ms=20)
        monitor.start(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        block_the_loop_on_purpose()
        await asyncio.sleep(0.05)
        return monitor.stop()

    summary = asyncio.run(main())
    assert summary["LoopLagWorstMs"] > 20
    assert summary["Stalls"] >= 1
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    stalls = [d["Stall"] for d in lines if "Stall" in d]
    main_stacks = [s["Samples"][0]["MainThread"] for s in stalls if s["Samples"]]
    assert any("block_the_loop_on_purpose" in " ".join(stack) for stack in main_stacks)
    assert "Summary" in lines[-1]


def test_a_server_with_the_stall_log_writes_its_summary_on_sigterm(tmp_path: Any) -> None:
    """The opt-in log reaches its summary line when serve stops (the monitor's own gc
    callback once deadlocked the shutdown by taking a lock the writer held)."""
    import httpx

    from hns.testing.server import EmulatorServer

    log = tmp_path / "stalls.jsonl"
    with EmulatorServer(env={"HNS_EMULATOR_DEBUG_STALLS": str(log)}) as srv:
        for _ in range(20):
            assert httpx.get(srv.url + "/_emulator/health", timeout=120).status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert "Summary" in lines[-1]
    assert set(lines[-1]["Summary"]) >= {"LoopLagWorstMs", "LoopLagWorstOnCpuMs",
                                         "GcWorstCpuMsByGeneration", "WorstLate"}


def test_no_collection_walks_what_a_state_load_built() -> None:
    """PUT /_emulator/state: no collection runs while the state is built, and the first
    one afterwards starts with a small youngest generation (on the old code it walked
    every object the full sync had allocated with the collector paused)."""
    import sys
    from pathlib import Path

    from fastapi.testclient import TestClient

    from api.app import create_app
    from hns.service import HnsService

    sys.path.append(str(Path(__file__).resolve().parents[2] / "bench" / "support"))
    import scale_node as node

    seed = HnsService()
    net = seed.hcn_call("HcnCreateNetwork", None, json.dumps(node.network()))["ID"]
    for i in range(20):
        seed.hcn_call("HcnCreateEndpoint", None, json.dumps(node.local_endpoint(i, net)))
    for i in range(300):
        seed.hcn_call("HcnCreateEndpoint", None, json.dumps(node.remote_endpoint(i, net)))
    dump = seed.dump()
    seed.close()

    starts: list[int] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            starts.append(len(gc.get_objects(generation=0)))

    app = create_app(HnsService())
    try:
        with TestClient(app) as http:
            gc.callbacks.append(on_gc)
            assert http.put("/_emulator/state", json=dump).status_code == 204
            for _ in range(2000):  # allocate until a young collection has run
                _cycles(5)
            gc.callbacks.remove(on_gc)
    finally:
        if on_gc in gc.callbacks:
            gc.callbacks.remove(on_gc)
        gc.unfreeze()
    assert starts, "no collection ran at all"
    assert max(starts) < 5000
