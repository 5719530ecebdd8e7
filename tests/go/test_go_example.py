"""gotest/cnidemo, a user-like CNI ADD/DEL written against hcsshim only, run the way a
user runs it: ``GOOS=windows go test ./cnidemo`` with ``go_windows_amd64_exec`` on PATH
and nothing else set, so each test binary gets a fresh private emulator. Its V1 test
creates, starts, lists and terminates a container through hcsshim's HCS calls and
hot-attaches an endpoint to it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from go_helpers import GOTEST


def test_go_test_through_go_windows_amd64_exec(go_env: dict[str, str], exec_shim: Path) -> None:
    env = dict(go_env)
    env["PATH"] = f"{exec_shim}{os.pathsep}{env['PATH']}"
    for name in ("HNS_EMULATOR_URL", "HNS_EMULATOR_TOKEN"):
        env.pop(name, None)
    env["HNS_EMULATOR_PROFILE"] = "ws2025"
    done = subprocess.run(["go", "test", "-count=1", "-v", "./cnidemo"], cwd=GOTEST, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "--- PASS: TestAddReadBackDel" in out
    assert "--- PASS: TestAddRollsBackOnError" in out
    assert "--- PASS: TestHotAttachToContainer" in out  # HCS create/start/list/terminate
