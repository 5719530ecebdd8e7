"""The examples run in CI: the kube-proxy-like example's own pytest file (a user's test
suite on the plugin) and the curl / hnsdiag / vfpctrl walk-through script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _env() -> dict[str, str]:
    # The console scripts (hns-emulator, hnsdiag, vfpctrl) live next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHON": sys.executable}


def test_examples_kube_proxy_like_suite_passes() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         str(EXAMPLES / "kube_proxy_like")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert "failed" not in run.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through needs curl")
def test_examples_walkthrough_script_passes() -> None:
    run = subprocess.run(["bash", str(EXAMPLES / "walkthrough.sh")], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "walkthrough: all steps passed" in run.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through needs curl")
def test_examples_walkthrough_exits_nonzero_when_a_check_fails(tmp_path: Path) -> None:
    script = (EXAMPLES / "walkthrough.sh").read_text()
    broken = script.replace('expect "$diag" "pod-a"', 'expect "$diag" "pod-zz"')
    assert broken != script
    path = tmp_path / "walkthrough.sh"
    path.write_text(broken)
    run = subprocess.run(["bash", str(path)], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "walkthrough: FAILED: expected 'pod-zz'" in run.stderr
    assert "all steps passed" not in run.stdout
