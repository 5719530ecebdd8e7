"""``keep_warm``: the program that follows never lands on a wineserver whose persistence
delay is running out (docs/go.md, "Warm wineserver"). The race itself depends on timing,
so these tests drive keep_warm through what ``wineserver -p`` and the ``cmd /c exit``
probe answer in each case; no Wine is needed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from api import wine

Answers = list[int]


def _fake_wine(monkeypatch: pytest.MonkeyPatch, server: Answers,
               probe: Answers) -> list[str]:
    """Each ``wineserver -p`` / probe call takes the next answer; the calls are logged."""
    calls: list[str] = []
    monkeypatch.setattr(wine, "wineserver", lambda: "wineserver64")
    monkeypatch.setattr(wine, "wine_loader", lambda: "wine64")

    def run(cmd: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        kind = "server" if cmd[0] == "wineserver64" else "probe"
        calls.append(kind)
        answers = server if kind == "server" else probe
        return subprocess.CompletedProcess(cmd, answers.pop(0))

    monkeypatch.setattr(wine.subprocess, "run", run)
    return calls


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    return tmp_path / "prefix-ws2019"




def test_a_new_server_gets_its_session_started_by_the_probe(
        monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    calls = _fake_wine(monkeypatch, server=[0], probe=[0])
    wine.keep_warm(prefix, 20)
    assert calls == ["server", "probe"]


def test_a_running_server_is_probed_so_its_persistence_restarts(
        monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    """-p exits 2 for any server holding the lock: the probe must still run (the old
    code ran nothing, so a server whose delay was running out served the program)."""
    calls = _fake_wine(monkeypatch, server=[2, 2], probe=[0])
    wine.keep_warm(prefix, 20)
    assert calls == ["server", "probe", "server"]


def test_a_dying_server_is_replaced_and_the_new_session_started_quietly(
        monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    """The probe outlived the dying server; the second -p starts the fresh one, whose
    services the second probe starts (not the user's program, whose pipe they would
    hold)."""
    calls = _fake_wine(monkeypatch, server=[2, 0], probe=[0, 0])
    wine.keep_warm(prefix, 20)
    assert calls == ["server", "probe", "server", "probe"]


def test_a_probe_killed_by_a_dying_server_is_retried(
        monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    calls = _fake_wine(monkeypatch, server=[2, 0], probe=[1, 0])
    wine.keep_warm(prefix, 20)
    assert calls == ["server", "probe", "server", "probe"]


def test_wine_that_never_starts_a_program_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    calls = _fake_wine(monkeypatch, server=[2, 2, 2], probe=[1, 1, 1])
    with pytest.raises(wine.WineError, match=r"could not start a program.*WINEDEBUG=err"):
        wine.keep_warm(prefix, 20)
    assert calls == ["server", "probe"] * 3
    assert (prefix.parent / f".{prefix.name}.warm.lock").is_file()
