"""Helpers for the Wine tests (a uniquely named module: each test folder is on sys.path
through its conftest, and every folder's conftest is called ``conftest``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

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


RunExe = Callable[..., "subprocess.CompletedProcess[str]"]
