"""F1 (issue 11): no request stalls another, on a real ``hns-emulator serve`` process.

A Hang rule that catches a call must hold only that call: health, the fault routes and
every other call keep answering, and clearing the rules or stopping the service releases
every waiter at once.  On the old code a rule added while a body was still arriving (or
while the service was restarting) made the service wait with a blocking Event.wait on the
event loop, freezing the whole server for the rule's duration."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rawhttp import RawRequest

from hns.faults import MAX_WAIT
from hns.testing.server import EmulatorServer

V2 = {"Major": 2, "Minor": 0}
NAT = json.dumps({"Name": "nat", "Type": "NAT", "SchemaVersion": V2, "Ipams": [
    {"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.20.0.0/24"}]}]}).encode()
#: The rules hang for the longest time allowed, far past pytest-timeout (300 s): a call the
#: rule holds cannot come back before the test ends unless clearing or stopping released
#: it, and an answer that arrives while the rule still holds its call did not wait for it.
#: So the properties are orderings, not durations a loaded machine could overrun.
HANG: float = MAX_WAIT
#: Only a safety net for a wedged server (the test then fails instead of hanging).
NET = 120.0


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def _hang(srv: EmulatorServer, target: str, seconds: float = HANG) -> None:
    r = httpx.post(srv.url + "/_emulator/faults", timeout=NET,
                   json={"Target": target, "Mode": "Hang", "Seconds": seconds})
    assert r.status_code == 201, r.text


def _health_while_held(srv: EmulatorServer, held: int) -> None:
    """Health answers while the rule still holds ``held`` calls: it did not wait for them."""
    r = httpx.get(srv.url + "/_emulator/health", timeout=NET)
    assert r.status_code == 200
    assert _waiting(srv) == held


def _waiting(srv: EmulatorServer) -> int:
    r = httpx.get(srv.url + "/_emulator/service", timeout=NET)
    return int(r.json()["Waiting"])


def _until(cond: object) -> None:
    """Poll until ``cond`` holds; pytest-timeout bounds a condition that never does."""
    while not cond():  # type: ignore[operator]
        time.sleep(0.05)


def test_a_hang_rule_added_mid_body_holds_only_that_call(server: EmulatorServer) -> None:
    req = RawRequest(server.url).head("POST", "/hcn/networks", len(NAT))
    req.send(NAT[:10])
    _hang(server, "HcnCreateNetwork")
    req.send(NAT[10:])
    _until(lambda: _waiting(server) == 1)
    _health_while_held(server, 1)
    # Another call, not caught by the rule, answers meanwhile.
    assert httpx.get(server.url + "/hcn/networks", timeout=NET).status_code == 200
    assert _waiting(server) == 1
    assert httpx.delete(server.url + "/_emulator/faults", timeout=NET).status_code == 204
    status, _, body = req.response(timeout=NET)  # long before the rule's HANG runs out
    assert status == 201, body  # cleared: the call goes on and lands
    req.close()


def test_a_hang_during_a_restart_holds_only_that_call(server: EmulatorServer) -> None:
    r = httpx.post(server.url + "/_emulator/service", json={"Action": "stop"}, timeout=NET)
    assert r.json()["Running"] is False
    _hang(server, "HcnCreateNetwork")
    # The request starts while HNS is down and completes once it is up again.
    req = RawRequest(server.url).head("POST", "/hcn/networks", len(NAT)).send(NAT[:10])
    r = httpx.post(server.url + "/_emulator/service", json={"Action": "start"}, timeout=NET)
    assert r.json()["Running"] is True
    req.send(NAT[10:])
    _until(lambda: _waiting(server) == 1)
    _health_while_held(server, 1)
    # Stopping the service ends the wait (long before the rule's HANG), with the
    # service-down error.
    httpx.post(server.url + "/_emulator/service", json={"Action": "stop"}, timeout=NET)
    status, _, body = req.response(timeout=NET)
    assert status == 503, body
    assert body["ErrorCode"] == 0x800706D9, body
    req.close()


def test_fifty_hung_calls_stall_nothing_and_clear_at_once(server: EmulatorServer) -> None:
    _hang(server, "HcnEnumerateNetworks")

    def hung_call() -> int:
        return httpx.get(server.url + "/hcn/networks", timeout=NET).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        calls = [pool.submit(hung_call) for _ in range(50)]
        _until(lambda: _waiting(server) == 50)
        _health_while_held(server, 50)
        # Calls the rule does not catch still answer: V1 list, a V2 create.
        assert httpx.get(server.url + "/networks", timeout=NET).status_code == 200
        r = httpx.post(server.url + "/hcn/networks", content=NAT, timeout=NET)
        assert r.status_code == 201, r.text
        assert _waiting(server) == 50
        assert httpx.delete(server.url + "/_emulator/faults", timeout=NET).status_code == 204
        # Each answers long before the rule's HANG: the clear released them all.
        results = [c.result() for c in calls]
    assert results == [200] * 50
    assert _waiting(server) == 0
