"""Fixtures for the Go tests: real Windows builds of hcsshim and containernetworking code,
run under Wine against a real emulator (gotest/, docs/go-compat.md).

Everything here is skipped, with the reason, when Go, Wine or mingw-w64 is missing (CI
installs all three). The Go builds are slow the first time (hcsshim's hcn tests take
50-80 s on two cores), so they happen once per session into one temporary folder;
Go's build cache (GOCACHE, the user's default) makes later sessions fast.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from go_helpers import EXEC_MAIN, GOTEST, PLUGINS, TEST_PACKAGES, Emulator, go_binary, missing_tools

from hns.testing.server import EmulatorServer


@pytest.fixture(scope="session")
def go_env() -> dict[str, str]:
    reason = missing_tools()
    if reason is not None:
        pytest.skip(reason)
    go = go_binary()
    assert go is not None
    env = dict(os.environ)
    env["PATH"] = f"{Path(go).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(GOOS="windows", GOARCH="amd64", CGO_ENABLED="0", GOFLAGS="-mod=readonly",
               GOTOOLCHAIN="local")
    return env


@pytest.fixture(scope="session")
def go_builds(go_env: dict[str, str]) -> Path:
    """One folder with hcn.test.exe, hns.test.exe, win-overlay.exe and host-local.exe.

    Keyed by go.mod, go.sum and the Go version, in the system's temporary folder, under a
    lock: pytest-xdist workers (each has its own session) build once and share it."""
    version = subprocess.run(["go", "version"], env=go_env, capture_output=True, text=True,
                             check=True).stdout
    key = hashlib.sha256(version.encode() + (GOTEST / "go.mod").read_bytes()
                         + (GOTEST / "go.sum").read_bytes()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"hns-emulator-gobuild-{key}"
    out.mkdir(exist_ok=True)
    with (out / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / ".done").exists():
            _go(go_env, "test", "-c", "-tags", "integration", "-o", f"{out}{os.sep}",
                *TEST_PACKAGES)
            _go(go_env, "build", "-o", f"{out}{os.sep}", *PLUGINS)
            (out / ".done").write_text(version)
    return out


def _go(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(["go", *args], cwd=GOTEST, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, f"go {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="session")
def exec_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``go_windows_amd64_exec``: the console script's own entry point
    (``api.wine.exec_main``) run by this interpreter, so it is this tree's code even where
    an installed copy of the package (an older one) put its script on PATH."""
    folder = tmp_path_factory.mktemp("execbin")
    script = folder / "go_windows_amd64_exec"
    script.write_text(f"#!/bin/sh\nexec '{sys.executable}' -c '{EXEC_MAIN}' \"$@\"\n")
    script.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def emulator(go_env: dict[str, str]) -> Iterator[Emulator]:
    """One emulator (a real ``hns-emulator serve``) per test module; tests set the profile
    and reset it themselves."""
    token = secrets.token_hex(16)
    server = EmulatorServer(token=token).start()
    try:
        yield Emulator(server, token)
    finally:
        server.stop()
