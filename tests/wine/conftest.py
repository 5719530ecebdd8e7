"""Fixtures for the Wine tests: the tools (wine, mingw, go), one prepared Wine prefix per
session (the cache's ws2025 prefix, reused across runs), Windows builds of the Go programs
in this folder, and a helper that runs one of them under Wine against an emulator.

Tests that need Wine skip with the missing tool named when wine64, mingw-w64 or Go is
absent; CI installs all three (.ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from api import wine

HERE = Path(__file__).resolve().parent
GO_CANDIDATES = (shutil.which("go"), "/usr/local/go/bin/go")


def go_binary() -> str | None:
    for candidate in GO_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_tools() -> list[str]:
    missing = []
    try:
        wine.wine_loader()
    except wine.WineError:
        missing.append("wine64 (apt-get install wine wine64)")
    if shutil.which(wine.MINGW) is None:
        missing.append(f"{wine.MINGW} (apt-get install gcc-mingw-w64-x86-64)")
    if go_binary() is None:
        missing.append("go (Go 1.22+ on PATH or in /usr/local/go/bin)")
    return missing


@pytest.fixture(scope="session")
def wine_tools() -> None:
    missing = missing_tools()
    if missing:
        pytest.skip("Wine tests need " + ", ".join(missing))


@pytest.fixture(scope="session")
def wine_prefix(wine_tools: None) -> Path:
    prefix = wine.setup(profile="ws2025")
    wine.keep_warm(prefix, 60)
    return prefix


def go_env(**extra: str) -> dict[str, str]:
    go = go_binary()
    assert go is not None
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(go) + os.pathsep + env.get("PATH", "")
    env.update({"GOOS": "windows", "GOARCH": "amd64", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod",
                "GOTOOLCHAIN": "local"})
    env.update(extra)
    return env


def build_go(folder: Path, out: Path) -> Path:
    """``GOOS=windows go build`` of one of this folder's Go programs (standard library only)."""
    done = subprocess.run([go_binary() or "go", "build", "-o", str(out), "."], cwd=folder,
                          env=go_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def contract_exe(wine_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go(HERE / "contract", tmp_path_factory.mktemp("contract") / "contract.exe")


RunExe = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def run_exe(wine_prefix: Path) -> RunExe:
    """Run a Windows program under Wine in the session prefix against ``url``."""

    def run(exe: Path, *args: str, url: str, token: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full = wine.wine_env(wine_prefix)
        full["HNS_EMULATOR_URL"] = url
        full.pop("HNS_EMULATOR_TOKEN", None)
        if token is not None:
            full["HNS_EMULATOR_TOKEN"] = token
        full.update(env or {})
        return subprocess.run([wine.wine_loader(), str(exe), *args], env=full,
                              capture_output=True, text=True, errors="replace", timeout=180,
                              check=False)

    return run
