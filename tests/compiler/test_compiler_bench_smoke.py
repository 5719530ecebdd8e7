"""bench/compiler.py still runs: its pieces at small sizes (the benchmark itself is never
run as a test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "compiler.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_compiler", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_pieces_run_at_small_sizes() -> None:
    bench = load()
    setup = bench.LbSetup(5)
    setup.add_one(1)
    assert len(setup.compiler_ms) == 1
    assert setup.compiler_ms[0] > 0
    compile_ms, total_ms = bench.acl1000(1)  # asserts 1,000 rules landed on the port
    assert 0 < compile_ms <= total_ms
    fast, first = bench.cross_host(20)
    assert fast > 0
    assert first > 0
    fast, first = bench.ports_only(20)  # exits if a frame does not cross
    assert fast > 0
    cold, resync = bench.node_compile(1, local=3, remote=10, lbs=5)  # asserts every port
    assert cold > 0
    assert resync > 0
