"""The server's event loop is asyncio's, named in api/transport.py's ``uvicorn_options``
rather than left to uvicorn's ``auto`` (which switches to uvloop wherever it is
installed, so a server would run differently from the one measured and tested).

Which loop a real server runs is read from the libraries its process has mapped:
uvloop's extension module is loaded only when its loop is used.  Old code (``auto``)
maps it wherever uvloop is installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from api.transport import uvicorn_options
from hns.testing.server import EmulatorServer


def test_the_options_name_asyncio() -> None:
    assert uvicorn_options()["loop"] == "asyncio"


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None,
                    reason="uvloop is not installed: uvicorn's auto would pick asyncio anyway")
def test_a_real_server_runs_asyncio_even_with_uvloop_installed() -> None:
    with EmulatorServer() as srv:
        assert srv.pid is not None
        answer = httpx.get(srv.url + "/_emulator/health", timeout=30.0)
        assert answer.status_code == 200
        assert "/uvloop/" not in Path(f"/proc/{srv.pid}/maps").read_text()
