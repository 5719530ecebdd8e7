"""What ``hns-emulator serve`` does before it answers (issue 11: restart_s_node <= 3 s at
kube-proxy scale): it imports only what serving needs, and no cyclic collection walks the
state it loads and compiles (the state is frozen before the collector runs again).

Each check runs ``api.cli.main(["serve", ...])`` in a fresh interpreter, with
``api.serving.serve_app`` replaced by a probe that reports and returns instead of serving,
so what is measured is exactly the start a user runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: What ``serve`` never uses before a request asks: the HTTP client and the console tools'
#: dependencies, the test and scenario machinery, the OpenAPI document's body models.
NOT_FOR_SERVE = ("httpx", "httpcore", "rich", "hypothesis", "pytest", "api.client",
                 "hns.scenarios", "hns.testing", "api.testing", "api.openapi")

_PROBE = textwrap.dedent("""
    import gc, json, sys
    import api.cli, api.serving
    collections = []
    serve = api.cli._serve

    def watched(*args):
        # (generation, whether the loaded state was frozen yet) of every collection
        # from the moment serve starts (the argument parsing before it is not the start)
        gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(
            (info["generation"], gc.get_freeze_count() > 0)))
        return serve(*args)

    api.cli._serve = watched

    def serve_app(app, ns, profile):
        json.dump({"modules": sorted(sys.modules), "collections": collections,
                   "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()},
                  open(sys.argv[1], "w"))

    api.serving.serve_app = serve_app
    sys.exit(api.cli.main(["serve", "--port", "0", "--state", sys.argv[2]]))
""")


def _start(tmp_path: Path, state: str = ":memory:") -> dict[str, Any]:
    out = tmp_path / "probe.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _PROBE, str(out), state], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_serve_imports_only_what_serving_needs(tmp_path: Path) -> None:
    modules = set(_start(tmp_path)["modules"])
    assert {"api.app", "hns.compiler"} <= modules  # the probe saw a real start
    loaded = sorted(m for m in modules for banned in NOT_FOR_SERVE
                    if m == banned or m.startswith(banned + "."))
    assert loaded == []


def test_serve_start_runs_no_collection_and_freezes_the_state(tmp_path: Path) -> None:
    from hns.service import HnsService

    state = tmp_path / "hns.sqlite"
    svc = HnsService(state=str(state))
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps({
        "Name": "nat", "Type": "NAT", "SchemaVersion": {"Major": 2, "Minor": 0},
        "Ipams": [{"Subnets": [{"IpAddressPrefix": "10.0.0.0/24"}]}]}))["ID"]
    for _ in range(20):
        svc.hcn_call("HcnCreateEndpoint", None, json.dumps(
            {"HostComputeNetwork": net, "SchemaVersion": {"Major": 2, "Minor": 0}}))
    svc.close()
    report = _start(tmp_path, str(state))
    # From main() until the state is frozen (imports, store read, compile, app): no
    # collection at all; after it, young collections skip the frozen state.
    assert [c for c in report["collections"] if not c[1]] == []
    assert report["enabled"] is True  # and the collector is back on for what follows
    assert report["frozen"] > 10_000  # the loaded state sits in the permanent generation


def test_the_restart_probe_times_a_start_phase_by_phase(tmp_path: Path) -> None:
    """bench/support/restart_probe.py at a tiny size: it builds, starts, answers, reports."""
    probe = ROOT / "bench" / "support" / "restart_probe.py"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    state = str(tmp_path / "node.sqlite")

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, str(probe), *args, "--state", state],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        last: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        if args[0] == "time":
            assert "host (compile)" in done.stdout  # the phases were timed
        return last

    assert run("build", "--local", "3", "--remote", "5", "--lbs", "4")["size"]["lbs"] == 4
    timed = run("time", "--runs", "1", "--phases")
    assert timed["runs"] == 1
    assert timed["restart_cpu_s_median"] > 0
