"""The server's event loop (api/transport.py ``event_loop``, ``serve --event-loop``): uvloop by
default, asyncio where uvloop is missing or asked for, an error where uvloop is asked for
and missing.  Which loop a real server runs is read from the libraries its process has
mapped: uvloop's extension module is loaded only when its loop is used."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from api.transport import LOOPS, event_loop, uvicorn_options
from hns.testing.server import EmulatorServer


def _maps_uvloop(pid: int) -> bool:
    return "/uvloop/" in Path(f"/proc/{pid}/maps").read_text()


def _without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "uvloop" else real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_auto_is_uvloop_where_installed() -> None:
    assert event_loop() == "uvloop"
    assert uvicorn_options()["loop"] == "uvloop"
    assert event_loop("asyncio") == "asyncio"


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_uvloop(monkeypatch)
    assert event_loop("auto") == "asyncio"
    with pytest.raises(ValueError, match="not installed"):
        event_loop("uvloop")


def test_an_unknown_loop_is_refused() -> None:
    assert "auto" in LOOPS
    with pytest.raises(ValueError, match="unknown event loop"):
        event_loop("trio")


@pytest.mark.parametrize(("args", "uvloop"), [((), True), (("--event-loop", "asyncio"), False)])
def test_a_real_server_runs_the_loop_it_was_given(args: tuple[str, ...], uvloop: bool) -> None:
    with EmulatorServer(extra_args=args) as srv:
        assert srv.pid is not None
        answer = httpx.get(srv.url + "/_emulator/health", timeout=30.0)
        assert answer.status_code == 200
        assert answer.json()["Status"] == "ok"
        assert _maps_uvloop(srv.pid) is uvloop
