"""Builders shared by the faults tests (a uniquely named module: tests/faults is on
sys.path in pytest's prepend import mode)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from hns.service import HnsService

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "hns"
V2 = {"Major": 2, "Minor": 0}


def network_v2(name: str = "cbr0", prefix: str = "10.0.0.0/24", gateway: str = "10.0.0.1",
               ntype: str = "L2Bridge", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Name": name,
        "Type": ntype,
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": prefix,
            "Routes": [{"NextHop": gateway, "DestinationPrefix": "0.0.0.0/0"}],
        }]}],
        "SchemaVersion": V2,
    }
    body.update(extra)
    return body


def create_network(svc: HnsService, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2(**kw)))
    return out


def create_endpoint(svc: HnsService, network: str, **extra: Any) -> dict[str, Any]:
    body = {"HostComputeNetwork": network, "SchemaVersion": V2, **extra}
    out: dict[str, Any] = svc.hcn_call("HcnCreateEndpoint", None, json.dumps(body))
    return out


def lb_settings(endpoints: list[str], vip: str = "10.96.0.10", port: int = 80) -> str:
    return json.dumps({
        "HostComputeEndpoints": endpoints, "SourceVIP": "10.0.0.250",
        "FrontendVIPs": [vip] if vip else [],
        "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": port}],
        "SchemaVersion": V2,
    })


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    """A real uvicorn server over ``service`` on a free loopback port, in a thread."""
    port = free_port()
    config = uvicorn.Config(make_app(service), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        service.faults.clear()  # no request may stay hung past the test
        server.should_exit = True
        thread.join(timeout=10)
