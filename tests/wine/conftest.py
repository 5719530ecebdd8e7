"""Fixtures for the Wine tests: the tools (wine, mingw, go), one prepared Wine prefix per
session (the cache's ws2025 prefix, reused across runs), Windows builds of the Go programs
in this folder, and a helper that runs one of them under Wine against an emulator.

Tests that need Wine skip with the missing tool named when wine64, mingw-w64 or Go is
absent; CI installs all three (.ci/run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from wine_helpers import HERE, RunExe, build_go, missing_tools

from api import wine


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


@pytest.fixture(scope="session")
def contract_exe(wine_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go(HERE / "contract", tmp_path_factory.mktemp("contract") / "contract.exe")


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
