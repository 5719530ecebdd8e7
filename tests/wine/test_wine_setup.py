"""``hns-emulator wine setup``: the prefix holds the DLLs and reports the profile's Windows
Server build; a second run does nothing; a missing tool is named with its Debian package."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from wine_helpers import RunExe

from api import cli, wine

pytestmark = pytest.mark.usefixtures("wine_tools")


def test_prefix_has_the_dlls_and_a_stamp(wine_prefix: Path) -> None:
    system32 = wine_prefix / "drive_c" / "windows" / "system32"
    for dll in wine.DLLS:
        assert (system32 / dll).read_bytes()[:2] == b"MZ"
    assert (wine_prefix / ".hns-emulator-stamp").is_file()


def test_second_setup_runs_no_wine_process(wine_prefix: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_wine(*args: object) -> None:
        raise AssertionError(f"setup ran Wine again: {args}")

    monkeypatch.setattr(wine, "_run_wine", no_wine)
    monkeypatch.setattr(wine, "_create_prefix", no_wine)
    assert wine.setup(profile="ws2025") == wine_prefix
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["wine", "setup", "--profile", "ws2025"], out=out, err=err) == 0
    assert out.getvalue().strip() == str(wine_prefix)


def test_profile_sets_the_windows_build(wine_prefix: Path, contract_exe: Path,
                                        run_exe: RunExe) -> None:
    done = run_exe(contract_exe, "version", url="http://127.0.0.1:1")
    assert "windows 10.0.26100 product-type 3" in done.stdout, done.stdout + done.stderr


def test_switching_a_prefix_to_another_profile(tmp_path: Path, wine_prefix: Path,
                                               contract_exe: Path) -> None:
    """An explicit prefix (copied from the session's, as setup copies siblings) follows
    the profile it is set up for: ws2019 reports Windows Server 2019's build."""
    import subprocess

    prefix = wine.setup(tmp_path / "pfx", "ws2019")
    wine.keep_warm(prefix, 5)
    env = wine.wine_env(prefix)
    try:
        done = subprocess.run([wine.wine_loader(), str(contract_exe), "version"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert "windows 10.0.17763 product-type 3" in done.stdout, done.stdout + done.stderr
    finally:
        subprocess.run([wine.wineserver(), "-k"], env=env, check=False)


def test_missing_mingw_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name, *a, **k: None if name == wine.MINGW else real_which(name))
    with pytest.raises(wine.WineError, match="gcc-mingw-w64-x86-64"):
        wine.build_dlls(tmp_path / "dlls")
    err = io.StringIO()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cli.main(["wine", "setup"], out=io.StringIO(), err=err) == 2
    assert "apt-get install gcc-mingw-w64-x86-64" in err.getvalue()


def test_missing_wine_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wine.os, "access", lambda *a: False)
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(wine.WineError, match="apt-get install wine wine64"):
        wine.wine_loader()
    with pytest.raises(wine.WineError, match="apt-get install wine wine64"):
        wine.wineserver()


def test_dll_sources_ship_as_package_data() -> None:
    """pyproject ships wine/*.c, *.h, *.def, so an installed package can build the DLLs."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "wine" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    patterns = project["tool"]["setuptools"]["package-data"]["wine"]
    shipped = {p.name for pattern in patterns for p in (root / "wine").glob(pattern)}
    assert set(wine._SOURCES) <= shipped
    assert project["project"]["scripts"]["go_windows_amd64_exec"] == "api.wine:exec_main"
