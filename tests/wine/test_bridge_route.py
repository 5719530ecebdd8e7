"""``POST /_bridge/<Export>`` over real HTTP (no Wine needed): the wire contract the DLLs
rely on, for each dispatch family, error HRESULTs, the token, NULL inputs, size limits,
faults and the call log."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from hns.testing.server import EmulatorServer

V2 = {"Major": 2, "Minor": 0}
NETWORK = {"Name": "bridge-net", "Type": "NAT", "SchemaVersion": V2, "Ipams": [
    {"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.31.0.0/16", "Routes": [
        {"NextHop": "172.31.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}
ZERO = "00000000-0000-0000-0000-000000000000"
QUERY = json.dumps({"SchemaVersion": V2})


@pytest.fixture
def http(hns_server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hns_server.url, headers=hns_server.headers, timeout=30) as c:
        yield c


def bridge(http: httpx.Client, export: str, body: str | None = None,
           **headers: str) -> httpx.Response:
    sent = {f"X-Bridge-{k.replace('_', '-')}": v for k, v in headers.items()}
    if body is None:
        sent["X-Bridge-Null"] = "1"
    return http.post(f"/_bridge/{export}", content=(body or "").encode(), headers=sent)


def hresult(answer: httpx.Response) -> int:
    assert answer.status_code == 200, answer.text
    return int(answer.headers["X-Bridge-HResult"], 16)


def create_network(http: httpx.Client, body: dict[str, object] | None = None) -> str:
    answer = bridge(http, "HcnCreateNetwork", json.dumps(body or NETWORK), Id=ZERO)
    assert hresult(answer) == 0, answer.text
    assert answer.headers["X-Bridge-Out"] == "none"
    return answer.headers["X-Bridge-Id"]


def test_hcn_create_query_enumerate_delete(http: httpx.Client) -> None:
    id = create_network(http)
    answer = bridge(http, "HcnQueryNetworkProperties", QUERY, Id=id)
    assert hresult(answer) == 0
    assert "X-Bridge-Out" not in answer.headers
    props = json.loads(answer.content.decode("utf-8"))
    assert props["ID"].lower() == id.lower()
    assert props["Name"] == "bridge-net"
    listed = bridge(http, "HcnEnumerateNetworks", QUERY)
    assert hresult(listed) == 0
    assert id.lower() in listed.text.lower()
    opened = bridge(http, "HcnOpenNetwork", Id=id)
    assert hresult(opened) == 0
    assert opened.headers["X-Bridge-Id"].lower() == id.lower()
    assert hresult(bridge(http, "HcnCloseNetwork", Id=id)) == 0
    assert hresult(bridge(http, "HcnDeleteNetwork", Id=id)) == 0


def test_hcn_failure_is_hresult_header_and_error_record(http: httpx.Client) -> None:
    missing = "0d2c8e4e-0000-4000-8000-00000000beef"
    answer = bridge(http, "HcnQueryNetworkProperties", QUERY, Id=missing)
    code = hresult(answer)
    assert code & 0x80000000
    record = json.loads(answer.text)
    # The error record as HNS writes it: the code again, and the message's trailing space.
    assert record["Success"] is False
    assert record["ErrorCode"] == code
    assert record["Error"].endswith(" ")


def test_create_endpoint_on_the_parent_network(http: httpx.Client) -> None:
    network = create_network(http)
    answer = bridge(http, "HcnCreateEndpoint", json.dumps({"SchemaVersion": V2}), Id=ZERO,
                    Parent_Id=network)
    assert hresult(answer) == 0, answer.text
    endpoint = answer.headers["X-Bridge-Id"]
    props = json.loads(bridge(http, "HcnQueryEndpointProperties", QUERY, Id=endpoint).text)
    assert props["HostComputeNetwork"].lower() == network.lower()


def test_null_input_differs_from_empty(http: httpx.Client) -> None:
    refused = bridge(http, "HcnCreateNetwork", None, Id=ZERO)
    assert hresult(refused) & 0x80000000
    assert json.loads(refused.text)["Success"] is False


def test_hnscall_answers_the_v1_envelope(http: httpx.Client) -> None:
    create_network(http)
    answer = bridge(http, "HNSCall", "", Method="GET", Path=quote("/networks/", safe=""))
    assert hresult(answer) == 0
    envelope = json.loads(answer.text)
    assert envelope["Success"] is True
    assert envelope["Output"][0]["Name"] == "bridge-net"
    missing = bridge(http, "HNSCall", "", Method="GET", Path="/networks/nope")
    assert hresult(missing) == 0  # HNSCall succeeds; the envelope carries the failure
    assert json.loads(missing.text)["Success"] is False


def test_non_ascii_travels_as_utf8_and_percent_encoded_headers(http: httpx.Client) -> None:
    id = create_network(http, dict(NETWORK, Name="réseau-网络"))
    answer = bridge(http, "HcnQueryNetworkProperties", QUERY, Id=quote(id))
    assert json.loads(answer.content.decode("utf-8"))["Name"] == "réseau-网络"
    path = quote(f"/networks/{id}", safe="")
    envelope = json.loads(bridge(http, "HNSCall", "", Method="GET", Path=path).text)
    assert envelope["Output"]["Name"] == "réseau-网络"


def test_hcs_exports(http: httpx.Client) -> None:
    answer = bridge(http, "HcsOpenComputeSystem", Id="no-such-container")
    code = hresult(answer)
    assert code & 0x80000000
    if importlib.util.find_spec("api.hcs") is None:
        assert code == 0x80004001  # E_NOTIMPL until the compute-system model exists


def test_unknown_export_is_an_hresult(http: httpx.Client) -> None:
    assert hresult(bridge(http, "HcnFrobnicateNetwork", "{}")) & 0x80000000
    assert hresult(bridge(http, "Whatever", "{}")) == 0x80004001


def test_oversized_input_is_413(http: httpx.Client) -> None:
    answer = bridge(http, "HcnCreateNetwork", "x" * ((1 << 20) + 1), Id=ZERO)
    assert answer.status_code == 413
    assert "X-Bridge-HResult" not in answer.headers


def test_token_is_required_when_set() -> None:
    server = EmulatorServer(token="s3cret").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert bridge(http, "HcnEnumerateNetworks", QUERY).status_code == 401
            http.headers["Authorization"] = "Bearer s3cret"
            assert hresult(bridge(http, "HcnEnumerateNetworks", QUERY)) == 0
    finally:
        server.stop()


def test_faults_and_call_log_apply(http: httpx.Client) -> None:
    rule = {"Target": "HcnEnumerateNetworks", "HResult": "0x803B0013", "Times": 1}
    assert http.post("/_emulator/faults", json=rule).status_code == 201
    assert hresult(bridge(http, "HcnEnumerateNetworks", QUERY)) == 0x803B0013
    assert hresult(bridge(http, "HcnEnumerateNetworks", QUERY)) == 0
    calls = http.get("/_emulator/calls").text
    assert "HcnEnumerateNetworks" in calls


def test_latency_fault_waits_without_stalling_the_server(http: httpx.Client,
                                                         hns_server: EmulatorServer) -> None:
    import threading

    rule = {"Target": "HcnEnumerateNetworks", "Mode": "Hang", "Seconds": 30}
    assert http.post("/_emulator/faults", json=rule).status_code == 201
    result: list[httpx.Response] = []
    waiter = threading.Thread(
        target=lambda: result.append(bridge(http, "HcnEnumerateNetworks", QUERY)))
    waiter.start()
    try:
        # While the bridge call hangs, the server still answers.
        with httpx.Client(base_url=hns_server.url, headers=hns_server.headers,
                          timeout=10) as other:
            assert other.get("/_emulator/health").status_code == 200
    finally:
        http.delete("/_emulator/faults")  # ends the hang
        waiter.join(30)
    assert result
    assert result[0].status_code == 200
