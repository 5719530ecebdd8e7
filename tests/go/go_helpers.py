"""Helpers for the Go tests (tests/go): finding the tools, running a Windows program under
Wine against an emulator, Linux paths as Wine shows them (a uniquely named module:
each test folder is on sys.path through its conftest)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hns.testing.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
GOTEST = ROOT / "gotest"
GO_FALLBACK = Path("/usr/local/go/bin/go")  # where Go's own tarball installs it
#: built once per session: hcsshim's hcn integration tests and the plugins' pkg/hns tests
#: (`go test -c`), and the two CNI plugin binaries (`go build`)
TEST_PACKAGES = ("github.com/Microsoft/hcsshim/hcn",
                 "github.com/containernetworking/plugins/pkg/hns")
PLUGINS = ("github.com/containernetworking/plugins/plugins/main/windows/win-overlay",
           "github.com/containernetworking/plugins/plugins/ipam/host-local")
#: what go_windows_amd64_exec runs (api/wine.py, the console script's entry point)
EXEC_MAIN = "import sys; from api.wine import exec_main; sys.exit(exec_main())"


def go_binary() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    return str(GO_FALLBACK) if GO_FALLBACK.is_file() else None


def missing_tools() -> str | None:
    """Why the Go tests cannot run here, or None."""
    if go_binary() is None:
        return "Go is not installed (the Go tests need Go 1.26 and the Go module proxy)"
    if shutil.which("wine") is None and shutil.which("wine64") is None:
        return "Wine is not installed (Debian packages: wine wine64)"
    if shutil.which("x86_64-w64-mingw32-gcc") is None:
        return "mingw-w64 is not installed (Debian package: gcc-mingw-w64-x86-64)"
    if importlib.util.find_spec("api.wine") is None:
        return "api.wine (the stand-in DLLs and their runner, issue 13 part A) is missing"
    return None


def windows_path(path: Path) -> str:
    """The path a Windows program under Wine sees for a Linux path (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


@dataclass
class Emulator:
    """A running emulator and how Windows programs reach it."""

    server: EmulatorServer
    token: str

    @property
    def url(self) -> str:
        return self.server.url

    def env(self, profile: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(HNS_EMULATOR_URL=self.url, HNS_EMULATOR_TOKEN=self.token,
                   HNS_EMULATOR_PROFILE=profile)
        return env

    def run_exe(self, profile: str, argv: list[str], *, stdin: str | None = None,
                extra_env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``argv`` under Wine in ``profile``'s prefix, as go_windows_amd64_exec runs it."""
        env = self.env(profile)
        env.update(extra_env or {})
        return subprocess.run([sys.executable, "-c", EXEC_MAIN, *argv], input=stdin,
                              env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
