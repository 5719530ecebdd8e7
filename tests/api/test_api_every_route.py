"""Every route the app serves, hit with hostile ids, bodies and queries: never a 5xx,
always an HNS-shaped error body (the catch-all must never be reached)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from hns.service import HnsService

SERVICE = HnsService(state=":memory:")
APP = create_app(SERVICE)
HTTP = TestClient(APP, raise_server_exceptions=False)

IDS = [
    "x",
    "6b9f3a52-5a57-4c6e-9a2e-0b4f0d6c1e77",
    "{6B9F3A52-5A57-4C6E-9A2E-0B4F0D6C1E77}",
    "00000000-0000-0000-0000-000000000000",
    "a" * 300,
    "%00",
    "..%2F..%2Fnetworks",
]
BODIES: list[bytes | None] = [
    None,
    b"",
    b"{",
    b"[]",
    b"null",
    b"1e999",
    b'"str"',
    b'{"ID": 5, "Name": ["x"], "Type": {}, "Flags": -1}',
    b'{"SchemaVersion": {"Major": "two"}}',
    b"\xff\xfe",
    b"[" * 5000 + b"]" * 5000,
]
QUERIES = [
    None,
    "",
    "{",
    '{"Filter": 5}',
    '{"Filter": "{"}',
    '{"SchemaVersion": "x"}',
    '{"SchemaVersion": {"Major": 1, "Minor": 0}, "Filter": "{\\"ID\\": 7}"}',
]

ROUTES = sorted(
    (method, route.path)
    for route in APP.routes
    if isinstance(route, APIRoute)
    for method in route.methods
    if route.path not in ("/_emulator/reset", "/_emulator/reboot")
)


def _assert_hns(status: int, body: Any, where: str) -> None:
    assert status < 500, where
    if status >= 400:
        assert isinstance(body, dict), where
        assert body["Success"] is False, where
        assert isinstance(body["Error"], str), where
        assert isinstance(body["ErrorCode"], int), where


def test_route_table_covers_v1_v2_mirrors_and_control() -> None:
    paths = {path for _, path in ROUTES}
    assert len(ROUTES) >= 55
    assert {
        "/networks/{id}",
        "/hcn/loadbalancers/{id}/modify",
        "/hnscall",
        "/hcn/call",
        "/_emulator/state",
    } <= paths


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_route_hostile_input_never_5xx_and_hns_shaped(method: str, path: str) -> None:
    ids = IDS if "{id}" in path else [""]
    # Each hostile value once (ids x the first body, bodies and queries with a real-looking
    # id): the combinations add time, not coverage.
    cases = [(id, BODIES[2], None) for id in ids]
    cases += [(ids[1 % len(ids)], body, None) for body in BODIES]
    cases += [(ids[1 % len(ids)], None, query) for query in QUERIES]
    for id, body, query in cases:
        url = path.replace("{id}", id)
        params = {"query": query} if query is not None else None
        r = HTTP.request(method, url, content=body, params=params)
        _assert_hns(r.status_code, r.json() if r.content else None, f"{method} {url} {body!r}")
