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

from hns.testing.server import EmulatorServer

V2 = {"Major": 2, "Minor": 0}
NAT = json.dumps({"Name": "nat", "Type": "NAT", "SchemaVersion": V2, "Ipams": [
    {"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.20.0.0/24"}]}]}).encode()
#: Well under the rules' 30 s and over any honest answer time on a loaded 2-core box.
PROMPT = 5.0


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def _hang(srv: EmulatorServer, target: str, seconds: float = 30.0) -> None:
    r = httpx.post(srv.url + "/_emulator/faults", timeout=PROMPT,
                   json={"Target": target, "Mode": "Hang", "Seconds": seconds})
    assert r.status_code == 201, r.text


def _health_is_prompt(srv: EmulatorServer) -> None:
    started = time.monotonic()
    r = httpx.get(srv.url + "/_emulator/health", timeout=PROMPT)
    assert r.status_code == 200
    assert time.monotonic() - started < PROMPT


def _waiting(srv: EmulatorServer) -> int:
    r = httpx.get(srv.url + "/_emulator/service", timeout=PROMPT)
    return int(r.json()["Waiting"])


def _until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_hang_rule_added_mid_body_holds_only_that_call(server: EmulatorServer) -> None:
    req = RawRequest(server.url).head("POST", "/hcn/networks", len(NAT))
    req.send(NAT[:10])
    _hang(server, "HcnCreateNetwork")
    req.send(NAT[10:])
    _until(lambda: _waiting(server) == 1)
    _health_is_prompt(server)
    # Another call, not caught by the rule, answers meanwhile.
    assert httpx.get(server.url + "/hcn/networks", timeout=PROMPT).status_code == 200
    started = time.monotonic()
    assert httpx.delete(server.url + "/_emulator/faults", timeout=PROMPT).status_code == 204
    status, _, body = req.response(timeout=PROMPT)
    assert time.monotonic() - started < PROMPT
    assert status == 201, body  # cleared: the call goes on and lands
    req.close()


def test_a_hang_during_a_restart_holds_only_that_call(server: EmulatorServer) -> None:
    r = httpx.post(server.url + "/_emulator/service", json={"Action": "stop"}, timeout=PROMPT)
    assert r.json()["Running"] is False
    _hang(server, "HcnCreateNetwork")
    # The request starts while HNS is down and completes once it is up again.
    req = RawRequest(server.url).head("POST", "/hcn/networks", len(NAT)).send(NAT[:10])
    r = httpx.post(server.url + "/_emulator/service", json={"Action": "start"}, timeout=PROMPT)
    assert r.json()["Running"] is True
    req.send(NAT[10:])
    _until(lambda: _waiting(server) == 1)
    _health_is_prompt(server)
    # Stopping the service ends the wait at once, with the service-down error.
    started = time.monotonic()
    httpx.post(server.url + "/_emulator/service", json={"Action": "stop"}, timeout=PROMPT)
    status, _, body = req.response(timeout=PROMPT)
    assert time.monotonic() - started < PROMPT
    assert status == 503, body
    assert body["ErrorCode"] == 0x800706D9, body
    req.close()


def test_fifty_hung_calls_stall_nothing_and_clear_at_once(server: EmulatorServer) -> None:
    _hang(server, "HcnEnumerateNetworks", seconds=60.0)

    def hung_call() -> tuple[int, float]:
        r = httpx.get(server.url + "/hcn/networks", timeout=90.0)
        return r.status_code, time.monotonic()

    with ThreadPoolExecutor(max_workers=50) as pool:
        calls = [pool.submit(hung_call) for _ in range(50)]
        _until(lambda: _waiting(server) == 50, timeout=30.0)
        _health_is_prompt(server)
        # Calls the rule does not catch still answer: V1 list, a V2 create.
        assert httpx.get(server.url + "/networks", timeout=PROMPT).status_code == 200
        r = httpx.post(server.url + "/hcn/networks", content=NAT, timeout=PROMPT)
        assert r.status_code == 201, r.text
        cleared = time.monotonic()
        assert httpx.delete(server.url + "/_emulator/faults", timeout=PROMPT).status_code == 204
        results = [c.result(timeout=30.0) for c in calls]
    assert all(status == 200 for status, _ in results)
    assert max(done for _, done in results) - cleared < PROMPT
    assert _waiting(server) == 0
