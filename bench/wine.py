"""Wine bridge benchmark: one HCN call through the stand-in DLL vs the Python client.

Figures (the last line of output is one JSON object with these keys):

- ``dll_call_vs_http_call``: median time of one ``HcnQueryNetworkProperties`` through
  computenetwork.dll under Wine (a Windows Go program timing each call on one open handle,
  tests/wine/contract ``bench N``) divided by the median of the same call through
  ``api.client.HnsClient.hcn_call`` (``POST /hcn/call``), against the same server in the
  same run, alternating rounds (target <= 2).
- ``wine_start_ms``: median wall time of starting a trivial Windows Go program under Wine
  with the wineserver warm (what each ``go test`` package pays besides its work).
- ``hcsshim_hcn_suite_s``: wall time of hcsshim's own hcn integration suite (the test
  binary i13b's gotest/ module builds, ``-tags integration``) under Wine against a fresh
  ws2025 emulator; null with the reason in ``hcsshim_hcn_suite_note`` when the module or
  the toolchain is missing. The one-time cross-build is timed apart
  (``hcsshim_hcn_build_s``, mostly Go's cache after the first run).

Needs wine64, mingw-w64 and Go (see docs/go.md). ``--quick`` cuts the repetitions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

from api import wine  # noqa: E402
from api.client import HnsClient  # noqa: E402
from hns.testing.server import EmulatorServer  # noqa: E402

CONTRACT = ROOT / "tests" / "wine" / "contract"
QUERY = json.dumps({"SchemaVersion": {"Major": 2, "Minor": 0}})
NETWORK = {"Name": "bench-http", "Type": "NAT", "SchemaVersion": {"Major": 2, "Minor": 0},
           "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.29.0.0/16"}]}]}


def go_binary() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    return "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None


def go_env() -> dict[str, str]:
    env = dict(os.environ, GOOS="windows", GOARCH="amd64", CGO_ENABLED="0")
    go = go_binary()
    if go:
        env["PATH"] = os.path.dirname(go) + os.pathsep + env.get("PATH", "")
    return env


def build_contract(out: Path) -> Path:
    subprocess.run([go_binary() or "go", "build", "-o", str(out), "."], cwd=CONTRACT,
                   env=go_env(), check=True, capture_output=True)
    return out


def run_under_wine(prefix: Path, argv: list[str], url: str, token: str | None,
                   timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = wine.wine_env(prefix)
    env["HNS_EMULATOR_URL"] = url
    env.pop("HNS_EMULATOR_TOKEN", None)
    if token:
        env["HNS_EMULATOR_TOKEN"] = token
    return subprocess.run([wine.wine_loader(), *argv], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def dll_vs_http(prefix: Path, exe: Path, rounds: int, calls: int) -> dict[str, Any]:
    server = EmulatorServer().start()
    try:
        dll: list[float] = []
        http: list[float] = []
        with HnsClient(server.url) as client:
            created = client.hcn_call("HcnCreateNetwork", None, json.dumps(NETWORK))
            network = created["ID"]
            for _ in range(rounds):
                done = run_under_wine(prefix, [str(exe), "bench", str(calls)], server.url, None)
                match = re.search(r"per-call-us ([\d.]+)", done.stdout)
                if done.returncode != 0 or not match:
                    raise RuntimeError(f"bench program failed: {done.stdout}{done.stderr}")
                dll.append(float(match.group(1)))
                samples = []
                for _ in range(calls):
                    start = time.perf_counter()
                    client.hcn_call("HcnQueryNetworkProperties", network, QUERY)
                    samples.append((time.perf_counter() - start) * 1e6)
                http.append(statistics.median(samples))
        dll_us, http_us = statistics.median(dll), statistics.median(http)
        return {"dll_call_vs_http_call": round(dll_us / http_us, 3),
                "dll_call_us": round(dll_us, 1), "http_call_us": round(http_us, 1)}
    finally:
        server.stop()


def wine_start(prefix: Path, exe: Path, runs: int) -> float:
    wine.keep_warm(prefix, 30)
    run_under_wine(prefix, [str(exe), "noop"], "http://127.0.0.1:1", None)  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = run_under_wine(prefix, [str(exe), "noop"], "http://127.0.0.1:1", None)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            raise RuntimeError(f"noop failed: {done.stdout}{done.stderr}")
    return round(statistics.median(times), 1)


def gotest_module() -> Path | None:
    for candidate in (ROOT / "gotest", Path("/work/wt/i13b/gotest")):
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def hcn_suite(prefix: Path, work: Path) -> dict[str, Any]:
    module = gotest_module()
    if module is None:
        return {"hcsshim_hcn_suite_s": None,
                "hcsshim_hcn_suite_note": "no gotest/ module (issue 13 part B) in this tree"}
    exe = work / "hcn.test.exe"
    start = time.perf_counter()
    built = subprocess.run([go_binary() or "go", "test", "-c", "-tags", "integration", "-o",
                            str(exe), "github.com/Microsoft/hcsshim/hcn"], cwd=module,
                           env=go_env(), capture_output=True, text=True, timeout=900,
                           check=False)
    build_s = round(time.perf_counter() - start, 1)
    if built.returncode != 0:
        return {"hcsshim_hcn_suite_s": None, "hcsshim_hcn_build_s": build_s,
                "hcsshim_hcn_suite_note": f"build failed: {built.stderr[-300:]}"}
    server = EmulatorServer(profile="ws2025").start()
    try:
        start = time.perf_counter()
        done = run_under_wine(prefix, [str(exe), "-test.count=1", "-test.v"], server.url,
                              None, timeout=900)
        suite_s = round(time.perf_counter() - start, 2)
    finally:
        server.stop()
    passed = len(re.findall(r"^--- PASS", done.stdout, re.M))
    failed = re.findall(r"^--- FAIL: (\S+)", done.stdout, re.M)
    return {"hcsshim_hcn_suite_s": suite_s, "hcsshim_hcn_build_s": build_s,
            "hcsshim_hcn_passed": passed, "hcsshim_hcn_failed": failed,
            "hcsshim_hcn_source": str(module)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    ns = parser.parse_args(argv)
    rounds, calls, starts = (3, 100, 5) if ns.quick else (7, 400, 20)
    prefix = wine.setup(profile="ws2025", log=sys.stderr)
    wine.keep_warm(prefix, 30)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_contract(Path(tmp) / "contract.exe")
        figures.update(dll_vs_http(prefix, exe, rounds, calls))
        print(f"one HCN call: DLL {figures['dll_call_us']} us, HnsClient "
              f"{figures['http_call_us']} us", flush=True)
        figures["wine_start_ms"] = wine_start(prefix, exe, starts)
        print(f"warm Wine start: {figures['wine_start_ms']} ms", flush=True)
        figures.update(hcn_suite(prefix, Path(tmp)))
        print(f"hcsshim hcn suite: {figures.get('hcsshim_hcn_suite_s')} s", flush=True)
    figures["quick"] = ns.quick
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
