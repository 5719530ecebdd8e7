"""The runners: ``go_windows_amd64_exec`` (what ``GOOS=windows go test`` calls from PATH)
and ``hns-emulator wine exec``. Exit status and output pass through; without
HNS_EMULATOR_URL the program gets a private emulator that is gone afterwards."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from wine_helpers import HERE, build_go, go_binary, go_env

from hns.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("wine_prefix")
ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def hello_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go(HERE / "hello", tmp_path_factory.mktemp("hello") / "hello.exe")


@pytest.fixture(scope="module")
def shim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``go_windows_amd64_exec`` on PATH running this tree's ``api.wine.exec_main``
    (the installed console script may point at another checkout)."""
    folder = tmp_path_factory.mktemp("bin")
    shim = folder / "go_windows_amd64_exec"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -c "
                    "'import sys; from api.wine import exec_main; sys.exit(exec_main())' \"$@\"\n")
    shim.chmod(0o755)
    return folder


def _env(shim_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    env.pop("HNS_EMULATOR_URL", None)
    env.pop("HNS_EMULATOR_TOKEN", None)
    env.update(extra)
    return env


def test_exit_status_and_output_pass_through(hello_exe: Path, shim_dir: Path,
                                             hns_server: EmulatorServer) -> None:
    done = subprocess.run(["go_windows_amd64_exec", str(hello_exe), "3"],
                          env=_env(shim_dir, HNS_EMULATOR_URL=hns_server.url),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 3, done.stderr
    assert "hello from windows" in done.stdout
    assert f"url={hns_server.url}" in done.stdout
    assert "to stderr" in done.stderr
    zero = subprocess.run(["go_windows_amd64_exec", str(hello_exe), "0"],
                          env=_env(shim_dir, HNS_EMULATOR_URL=hns_server.url),
                          capture_output=True, text=True, timeout=180, check=False)
    assert zero.returncode == 0, zero.stderr


def test_private_emulator_is_started_and_stopped(hello_exe: Path, shim_dir: Path) -> None:
    done = subprocess.run(["go_windows_amd64_exec", str(hello_exe)], env=_env(shim_dir),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    match = re.search(r"url=http://127\.0\.0\.1:(\d+)", done.stdout)
    assert match, done.stdout
    with socket.socket() as probe:  # nothing listens there any more
        assert probe.connect_ex(("127.0.0.1", int(match.group(1)))) != 0


def test_hns_emulator_wine_exec(hello_exe: Path, hns_server: EmulatorServer) -> None:
    env = _env(Path("/nonexistent"), HNS_EMULATOR_URL=hns_server.url,
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "api.cli", "wine", "exec", "--",
                           str(hello_exe), "5"], env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 5, done.stderr
    assert "hello from windows" in done.stdout


def test_goos_windows_go_test(shim_dir: Path) -> None:
    """A user's package under ``GOOS=windows go test`` with nothing but the runner on
    PATH: passes (HNS reached, t.TempDir cleaned up), and a failing test fails the run."""
    assert go_binary() is not None
    env = go_env()
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    env.pop("HNS_EMULATOR_URL", None)
    command = [go_binary() or "go", "test", "-count=1", "-v", "./..."]
    passed = subprocess.run(command, cwd=HERE / "gosample", env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "--- PASS: TestTempDirCleanUp" in passed.stdout
    assert "--- PASS: TestHNSVersion" in passed.stdout
    failed = subprocess.run(command, cwd=HERE / "gosample", env=dict(env, SAMPLE_FAIL="1"),
                            capture_output=True, text=True, timeout=600, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "--- FAIL: TestFailsWhenAsked" in failed.stdout
