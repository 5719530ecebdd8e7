"""F2 (issue 11): nothing unencodable is stored.

A JSON escape can spell a lone UTF-16 surrogate (``"\\ud800"``).  On the old code such a
Name was stored, the create answered 500, and from then on every route that lists it (V1
``GET /networks``, ``GET /_emulator/state``, ``GET /_emulator/calls``) answered 500, also
after a restart.  Now it is refused before any write with E_INVALIDARG in the HNS shape,
and a state file that already holds one (written by the old code) still loads and lists.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from hns.service import HnsService
from hns.testing.server import EmulatorServer

V2 = {"Major": 2, "Minor": 0}
E_INVALIDARG = 0x80070057
LONE = '"\\ud800"'  # JSON text: a lone high surrogate


def nat_text(name_json: str, prefix: str = "172.20.0.0/24") -> str:
    return ('{"Name": ' + name_json + ', "Type": "NAT", "SchemaVersion": {"Major": 2}, '
            '"Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "'
            + prefix + '"}]}]}')


def v1_nat_text(name_json: str) -> str:
    return ('{"Name": ' + name_json + ', "Type": "NAT", "Subnets": '
            '[{"AddressPrefix": "172.21.0.0/24"}]}')


def _readable_everywhere(http: httpx.Client | TestClient) -> None:
    for path in ("/networks", "/hcn/networks", "/_emulator/state", "/_emulator/calls"):
        r = http.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text)
        r.json()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(state=tmp_path / "hns.sqlite") as srv:
        yield srv


def test_a_lone_surrogate_is_refused_on_every_route_and_poisons_nothing(
        server: EmulatorServer) -> None:
    http = httpx.Client(base_url=server.url, timeout=10.0)
    attempts = [
        ("POST", "/hcn/networks", nat_text(LONE)),
        ("POST", "/networks", v1_nat_text(LONE)),
        ("POST", "/hnscall", '{"Method": "POST", "Path": "/networks", "Request": '
                             '{"Name": "\\udc00", "Type": "NAT"}}'),
        ("POST", "/hcn/call", '{"Function": "HcnCreateNetwork", "Settings": '
                              + json.dumps(nat_text(LONE)) + "}"),
        ("PUT", "/_emulator/state", '{"Format": "hns-emulator-state", "FormatVersion": 1,'
                                    ' "Objects": {"network": [{"ID": "\\ud800"}]}}'),
        ("POST", "/_emulator/faults", '{"Target": "HcnCreateNetwork \\ud800", "Mode": "Fail",'
                                      ' "HResult": "E_FAIL"}'),
    ]
    for method, path, text in attempts:
        r = http.request(method, path, content=text.encode())
        body = r.json()
        if path in ("/hnscall", "/hcn/call"):  # call mirrors: the failure is in the body
            code = body.get("ErrorCode", body.get("HResult"))
        else:
            assert r.status_code == 400, (path, r.status_code, r.text)
            code = body["ErrorCode"]
        assert code == E_INVALIDARG, (path, body)
    r = http.get("/hcn/networks", params={"query": '{"Filter": "{\\"Name\\": \\"\\ud800\\"}"}'})
    assert r.status_code == 400, r.text
    assert r.json()["ErrorCode"] == E_INVALIDARG, r.text
    # A surrogate *pair* is one valid character: accepted, and read back as it was sent.
    r = http.post("/hcn/networks", content=nat_text('"pair \\ud83d\\ude00"').encode())
    assert r.status_code == 201, r.text
    _readable_everywhere(http)
    assert http.get("/_emulator/faults").json()["Faults"] == []
    server.restart()
    _readable_everywhere(http)
    names = [n["Name"] for n in http.get("/networks").json()["Output"]]
    assert names == ["pair \U0001F600"]


def _old_store_with_a_lone_surrogate(path: Path) -> None:
    """A state file as the old code wrote it after accepting a lone-surrogate Name."""
    svc = HnsService(state=path)
    svc.hcn_call("HcnCreateNetwork", None, nat_text('"ok"'))
    svc.close()
    db = sqlite3.connect(path)
    (body,) = db.execute("SELECT body FROM objects").fetchone()
    doc = json.loads(body)
    doc["Name"] = "bad\ud800"
    db.execute("UPDATE objects SET body = ?", (json.dumps(doc),))  # "\ud800" escaped
    db.commit()
    db.close()


def test_an_older_store_holding_one_still_loads_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _old_store_with_a_lone_surrogate(path)
    with EmulatorServer(state=path) as srv:
        http = httpx.Client(base_url=srv.url, timeout=10.0)
        _readable_everywhere(http)
        assert [n["Name"] for n in http.get("/networks").json()["Output"]] == ["bad\ufffd"]
        r = http.post("/_emulator/service", json={"Action": "restart"})
        assert r.status_code == 200
        _readable_everywhere(http)


# -- property: every accepted create reads back everywhere, across a restart -----------

_NAMES = st.text(st.characters(codec=None, exclude_categories=()), max_size=6) | \
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)

ROUTES = ("v2", "v1", "hnscall", "hcncall")


def _create(http: TestClient, route: str, name_json: str, n: int) -> httpx.Response:
    prefix = f"172.{16 + n % 8}.{n // 8 % 250}.0/24"
    v2 = nat_text(name_json, prefix)
    v1 = '{"Name": ' + name_json + ', "Type": "NAT", "Subnets": [{"AddressPrefix": "' + \
        prefix + '"}]}'
    if route == "v2":
        return http.post("/hcn/networks", content=v2.encode())
    if route == "v1":
        return http.post("/networks", content=v1.encode())
    if route == "hnscall":
        return http.post("/hnscall", content=('{"Method": "POST", "Path": "/networks", '
                                              '"Request": ' + json.dumps(v1) + "}").encode())
    return http.post("/hcn/call", content=('{"Function": "HcnCreateNetwork", "Settings": '
                                           + json.dumps(v2) + "}").encode())


def _accepted(route: str, r: httpx.Response) -> bool:
    assert r.status_code < 500, r.text
    body = r.json()
    if route in ("hnscall", "v1"):
        return bool(body.get("Success"))
    if route == "hcncall":
        return body.get("HResult") == 0
    return r.status_code == 201


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.tuples(_NAMES, st.sampled_from(ROUTES)), min_size=1, max_size=4))
def test_every_accepted_create_reads_back_on_every_route_across_a_restart(
        tmp_path_factory: pytest.TempPathFactory, names: list[tuple[str, str]]) -> None:
    path = tmp_path_factory.mktemp("prop") / "hns.sqlite"
    svc = HnsService(state=path)
    accepted: set[str] = set()
    with TestClient(create_app(svc)) as http:
        for n, (name, route) in enumerate(names):
            # ensure_ascii: a surrogate goes on the wire as a \u escape, as real clients do.
            if _accepted(route, _create(http, route, json.dumps(name), n)):
                accepted.add(json.loads(json.dumps(name)))  # a split pair arrives joined
        for _ in range(2):
            _readable_everywhere(http)
            listed = {n["Name"] for n in http.get("/networks").json()["Output"]}
            assert accepted <= listed
            dumped = {n["Name"] for n in http.get("/_emulator/state").json()["Objects"]["network"]}
            assert accepted <= dumped
            for ident in http.get("/hcn/networks").json():
                assert http.get(f"/hcn/networks/{ident}").status_code == 200
            http.post("/_emulator/service", json={"Action": "restart"})
    svc.close()
    again = HnsService(state=path)  # a new process on the same file
    with TestClient(create_app(again)) as http:
        _readable_everywhere(http)
        assert accepted <= {n["Name"] for n in http.get("/networks").json()["Output"]}
    again.close()
