"""Fixtures for the api tests: real ``hns-emulator serve`` processes, started on free
loopback ports and stopped at teardown (helpers in api_server_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_server_helpers import ServerProcess


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start servers with the given ``serve`` arguments; all are stopped at teardown."""
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(list(args), env=env or {})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """One in-memory server per test module; tests reset it through /_emulator/reset."""
    proc = ServerProcess(["--state", ":memory:"]).start()
    try:
        yield proc
    finally:
        proc.stop()
