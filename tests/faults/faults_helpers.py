"""Builders shared by the faults tests (a uniquely named module: tests/faults is on
sys.path in pytest's prepend import mode)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from hcn_builders import (  # noqa: F401 - re-exported for the faults tests
    FIXTURES,
    ROOT,
    V2,
    create_endpoint,
    create_network,
    network_v2,
)
from hcn_builders import lb_body as lb_settings  # noqa: F401

from hns.service import HnsService


def make_app(service: HnsService) -> Any:
    """The api app over ``service`` with the /_emulator fault routes (registered here until
    api/app.py calls ``api.emulator.register`` itself)."""
    from api import app as app_module
    from api import emulator

    app = app_module.create_app(service)
    if not any(getattr(r, "path", "") == "/_emulator/faults" for r in app.routes):
        emulator.register(app, service)
    return app


@contextmanager
def live_server(service: HnsService) -> Iterator[str]:
    """A real uvicorn server over ``service`` on a loopback port, in a thread.

    The socket is bound and listening before uvicorn gets it, so no other process can
    take the port first and clients may connect at once (the backlog holds them until
    uvicorn accepts): no wall-clock wait for the thread to start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(make_app(service), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        service.faults.clear()  # no request may stay hung past the test
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
