"""Errors that say why: the X-HNS-Emulator-Detail header, the call log's Detail, one log
line per refused call, the client's ``.detail``, and strict mode (api/detail.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.client import HnsClient
from api.detail import DETAIL_HEADER
from hns.errors import InvalidArg, InvalidPolicy, InvalidPolicyType
from hns.hosts import Host
from hns.strict import did_you_mean, strict_mode

V2 = {"Major": 2, "Minor": 0}
NETWORK = {
    "Name": "nat0",
    "Type": "NAT",
    "Ipams": [{"Type": "Static", "Subnets": [{
        "IpAddressPrefix": "172.20.0.0/24",
        "Routes": [{"NextHop": "172.20.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
    "SchemaVersion": V2,
}


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def http(host: Host) -> Iterator[TestClient]:
    with TestClient(create_app(host), raise_server_exceptions=False) as client:
        yield client


def _network(http: TestClient) -> str:
    r = http.post("/hcn/networks", json=NETWORK)
    assert r.status_code == 201, r.text
    return str(r.json()["ID"])


def _endpoint(network: str, policy: dict[str, Any]) -> dict[str, Any]:
    return {"HostComputeNetwork": network, "Policies": [policy], "SchemaVersion": V2}


def test_misspelt_policy_type_names_the_closest_and_the_accepted(http: TestClient) -> None:
    net = _network(http)
    r = http.post("/hcn/endpoints",
                  json=_endpoint(net, {"Type": "ProviderAdress", "Settings": {}}))
    assert r.status_code == 400
    # the body is exactly the HNS shape: nothing added
    assert r.json() == {"Success": False, "Error": "Invalid policy type. ",
                        "ErrorCode": 0x803B000E}
    detail = r.headers[DETAIL_HEADER]
    assert "unknown policy type 'ProviderAdress'" in detail
    assert "did you mean 'ProviderAddress'?" in detail
    assert "accepted: ACL," in detail


def test_bad_enum_value_names_field_value_and_choices(http: TestClient) -> None:
    net = _network(http)
    acl = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "Inn"}}
    r = http.post("/hcn/endpoints", json=_endpoint(net, acl))
    assert r.json()["ErrorCode"] == 0x803B000D
    assert r.headers[DETAIL_HEADER] == "ACL: 'Inn' is not one of In, Out (did you mean 'In'?)"


def test_misspelt_fault_target_and_unknown_profile(http: TestClient) -> None:
    r = http.post("/_emulator/faults", json={"Target": "HcnCreateLoadBalancr", "HResult": 1})
    assert r.status_code == 400
    assert "did you mean HcnCreateLoadBalancer?" in r.headers[DETAIL_HEADER]
    r = http.put("/_emulator/profile", json={"Profile": "ws2023"})
    assert r.json()["Error"] == "The parameter is incorrect. "
    assert r.headers[DETAIL_HEADER] == (
        "unknown profile 'ws2023' (did you mean 'ws2025'?); accepted: ws2019, ws2022, ws2025")


def test_every_error_answer_has_the_header(http: TestClient) -> None:
    # V1, unknown route, missing object, the call mirrors' 200 answers, an injected fault
    r = http.post("/networks", content=b'{"Name": "x", "Type": "Nat2"}')
    assert r.json()["Success"] is False
    assert r.headers[DETAIL_HEADER]
    r = http.get("/no/such/route")
    assert r.headers[DETAIL_HEADER] == "no route GET /no/such/route"
    r = http.get("/hcn/networks/6b9f3a52-5a57-4c6e-9a2e-0b4f0d6c1e77")
    assert r.status_code == 404
    assert r.headers[DETAIL_HEADER]
    r = http.post("/hcn/call", json={"Function": "HcnCreateEndpoint", "Settings": {
        "HostComputeNetwork": "nope", "SchemaVersion": V2}})
    assert r.status_code == 200
    assert r.json()["HResult"] != 0
    assert r.headers[DETAIL_HEADER]
    http.post("/_emulator/faults", json={"Target": "HcnCreateNetwork", "HResult": 0x80004005})
    r = http.post("/hcn/networks", json=NETWORK)
    assert r.headers[DETAIL_HEADER] == "injected by fault 1 ('HcnCreateNetwork')"
    ok = http.get("/hcn/networks")
    assert DETAIL_HEADER not in ok.headers


def test_call_log_entry_carries_the_same_detail(host: Host, http: TestClient) -> None:
    net = _network(http)
    r = http.post("/hcn/endpoints",
                  json=_endpoint(net, {"Type": "ProviderAdress", "Settings": {}}))
    entry = http.get("/_emulator/calls?state=false").json()["Calls"][-1]
    assert entry["Function"] == "HcnCreateEndpoint"
    assert entry["Detail"] == r.headers[DETAIL_HEADER]
    assert host.service.calls.calls()[-1].detail == r.headers[DETAIL_HEADER]
    first = http.get("/_emulator/calls?state=false").json()["Calls"][0]
    assert "Detail" not in first  # a successful call has none


def test_one_warning_line_per_refused_call(http: TestClient,
                                           caplog: pytest.LogCaptureFixture) -> None:
    net = _network(http)
    with caplog.at_level(logging.WARNING, logger="hns_emulator"):
        caplog.clear()
        http.post("/hcn/endpoints", json=_endpoint(net, {"Type": "Bogus", "Settings": {}}))
        http.get("/hcn/networks")  # success: no line
    records = [r for r in caplog.records if r.name == "hns_emulator"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert line.startswith("refused POST /hcn/endpoints: 400 0x803B000E HCN_E_INVALID_POLICY_TYPE")
    assert "unknown policy type 'Bogus'" in line
    assert records[0].levelno == logging.WARNING


def test_client_exception_detail(http: TestClient) -> None:
    client = HnsClient(str(http.base_url), http=http)
    net = client.hcn_create_network(NETWORK)["ID"]
    with pytest.raises(InvalidPolicyType) as caught:
        client.hcn_create_endpoint(_endpoint(net, {"Type": "ProviderAdress", "Settings": {}}))
    assert caught.value.hresult == 0x803B000E
    assert "did you mean 'ProviderAddress'?" in str(caught.value.detail)
    # through the call mirror (answered 200, failure inside): the detail still arrives
    with pytest.raises(InvalidPolicyType) as mirrored:
        client.hcn_call("HcnCreateEndpoint", None,
                        _endpoint(net, {"Type": "ProviderAdress", "Settings": {}}))
    assert mirrored.value.detail == caught.value.detail
    with pytest.raises(InvalidArg) as profile:
        client.set_profile("ws2023")
    assert "accepted: ws2019, ws2022, ws2025" in str(profile.value.detail)


def test_non_ascii_values_reach_the_header_escaped(http: TestClient) -> None:
    net = _network(http)
    r = http.post("/hcn/endpoints", json=_endpoint(net, {"Type": "Prövider", "Settings": {}}))
    assert "Pr\\xf6vider" in r.headers[DETAIL_HEADER]


MISSPELT_ACL = {"Type": "ACL", "Settings": {"Action": "Block", "Direction": "Out",
                                            "Protcols": "6", "RemotePorts": "23"}}


def test_strict_is_off_by_default_as_on_windows(http: TestClient) -> None:
    net = _network(http)
    r = http.post("/hcn/endpoints", json=_endpoint(net, MISSPELT_ACL))
    assert r.status_code == 201
    stored = r.json()["Policies"][0]["Settings"]
    assert stored["Protcols"] == "6"  # kept as given, like HNS


def test_strict_per_request_refuses_unknown_settings_keys(http: TestClient) -> None:
    net = _network(http)
    r = http.post("/hcn/endpoints", json=_endpoint(net, MISSPELT_ACL),
                  headers={"X-HNS-Emulator-Strict": "1"})
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == 0x803B000D
    detail = r.headers[DETAIL_HEADER]
    assert "ACL: unknown setting 'Protcols' (did you mean 'Protocols'?)" in detail
    assert "strict mode" in detail
    # nothing half-written: no endpoint exists after the refusal
    assert http.get("/hcn/endpoints").json() == []


def test_strict_server_and_per_request_opt_out(host: Host) -> None:
    with TestClient(create_app(host, strict=True)) as http:
        net = _network(http)
        r = http.post("/hcn/endpoints", json=_endpoint(net, MISSPELT_ACL))
        assert r.status_code == 400
        assert "Protcols" in r.headers[DETAIL_HEADER]
        r = http.post("/hcn/endpoints", json=_endpoint(net, MISSPELT_ACL),
                      headers={"X-HNS-Emulator-Strict": "0"})
        assert r.status_code == 201
        # V1 bodies go through the same validation
        v1 = {"Name": "v1ep", "VirtualNetwork": net,
              "Policies": [{"Type": "ACL", "Action": "Allow", "Direction": "In",
                            "Protcols": "6"}]}
        r = http.post("/endpoints", content=json.dumps(v1))
        assert r.json()["Success"] is False
        assert "Protcols" in r.headers[DETAIL_HEADER]


def test_strict_mode_in_process(host: Host) -> None:
    net = host.service.hcn_call("HcnCreateNetwork", None, json.dumps(NETWORK))["ID"]
    body = json.dumps(_endpoint(net, MISSPELT_ACL))
    with strict_mode(), pytest.raises(InvalidPolicy) as caught:
        host.service.hcn_call("HcnCreateEndpoint", None, body)
    assert "Protcols" in str(caught.value.detail)
    host.service.hcn_call("HcnCreateEndpoint", None, body)  # outside: accepted


def test_did_you_mean() -> None:
    assert did_you_mean("Protcols", ["Protocols", "Priority"]) == " (did you mean 'Protocols'?)"
    assert did_you_mean("zzz", ["Protocols"]) == ""
