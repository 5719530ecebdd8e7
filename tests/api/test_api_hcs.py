"""api/hcs.py: the HCS exports behind the Wine bridge (``handle``) and the
``/_emulator/computesystems`` routes, in process and over a real uvicorn server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from api_server_helpers import ThreadedServer

from api.app import create_app
from api.hcs import E_NOTIMPL, handle
from hns.hosts import Host
from hns.service import HnsService

NET = {"Name": "n", "Type": "NAT",
       "Subnets": [{"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1"}]}


@pytest.fixture
def host() -> Iterator[Host]:
    service = HnsService()
    h = Host(service=service)
    try:
        yield h
    finally:
        h.close()
        service.close()


def _endpoint(service: HnsService) -> str:
    net = service.hns_call("POST", "/networks/", json.dumps(NET))
    ep = service.hns_call("POST", "/endpoints/", json.dumps({"Name": "e",
                                                              "VirtualNetwork": net["ID"]}))
    return str(ep["ID"])


def test_hotattach_sequence_through_handle(host: Host) -> None:
    """hcsshim.HotAttachEndpoint: Open, GetProperties, Modify (schema1 Network Add), Close."""
    eid = _endpoint(host.service)
    assert handle(host, "HcsCreateComputeSystem", "c1", '{"SystemType":"Container"}') \
        == (0, "c1", None)
    assert handle(host, "HcsStartComputeSystem", "c1", None)[0] == 0
    hr, ident, out = handle(host, "HcsOpenComputeSystem", "C1", None)
    assert (hr, ident, out) == (0, "c1", None)
    hr, _, props = handle(host, "HcsGetComputeSystemProperties", "c1", '{"PropertyTypes":[]}')
    assert hr == 0
    assert props is not None
    assert json.loads(props)["SystemType"] == "Container"
    body = json.dumps({"ResourceType": "Network", "Settings": eid, "RequestType": "Add"})
    assert handle(host, "HcsModifyComputeSystem", "c1", body) == (0, None, None)
    attached = host.service.hns_call("GET", f"/endpoints/{eid}")
    assert attached["SharedContainers"] == ["c1"]
    assert handle(host, "HcsCloseComputeSystem", "c1", None)[0] == 0
    hr, _, listed = handle(host, "HcsEnumerateComputeSystems", None, '{"Ids":["c1"]}')
    assert hr == 0
    assert [s["Id"] for s in json.loads(listed or "")] == ["c1"]
    assert handle(host, "HcsTerminateComputeSystem", "c1", None)[0] == 0
    assert host.service.hns_call("GET", f"/endpoints/{eid}").get("SharedContainers", []) == []


def test_errors_are_hresults_with_the_hcs_result_document(host: Host) -> None:
    hr, ident, out = handle(host, "HcsOpenComputeSystem", "missing", None)
    assert (hr, ident) == (0xC037010E, None)
    doc = json.loads(out or "")
    assert doc["Error"] == 0xC037010E - (1 << 32)  # hcsResult.Error is an int32
    assert doc["ErrorMessage"].startswith("A virtual machine or container")
    hr, _, _ = handle(host, "HcsCreateComputeSystem", "c1", "{not json")
    assert hr == 0xC037010D
    hr, _, out = handle(host, "HcsCreateProcess", "c1", None)
    assert hr == E_NOTIMPL
    assert json.loads(out or "")["Error"] < 0
    assert handle(host, "HcsEnumerateComputeSystems", None, None) == (0, None, "[]")


def test_handle_never_raises_on_a_broken_backend() -> None:
    hr, _, out = handle(object(), "HcsOpenComputeSystem", "c1", None)
    assert hr == 0x8000FFFF
    assert out is not None


def test_compute_system_routes_over_http(host: Host) -> None:
    eid = _endpoint(host.service)
    server = ThreadedServer(create_app(host)).start()
    try:
        url = f"http://127.0.0.1:{server.port}/_emulator/computesystems"
        with httpx.Client(timeout=10) as http:
            made = http.post(url, json={"Id": "pod1", "Name": "pause", "Owner": "cni"})
            assert made.status_code == 201
            assert made.json()["State"] == "Running"
            assert http.post(url, json={"Id": "pod1"}).json()["ErrorCode"] == 0xC037010F
            assert [s["Id"] for s in http.get(url).json()] == ["pod1"]
            add = {"ResourceType": "Network", "RequestType": "Add", "Settings": eid}
            assert http.post(f"{url}/pod1/modify", json=add).status_code == 204
            assert http.get(f"{url}/POD1").json()["Name"] == "pause"
            missing = http.get(f"{url}/nope")
            assert missing.status_code == 404
            assert missing.json()["ErrorCode"] == 0xC037010E
            assert http.post(url, content=b"[").status_code == 400
            assert http.delete(f"{url}/pod1").status_code == 204
            assert http.delete(f"{url}/pod1").status_code == 404
            assert http.get(url).json() == []
        ep = host.service.hns_call("GET", f"/endpoints/{eid}")
        assert ep.get("SharedContainers", []) == []
    finally:
        server.stop()
