"""The /_emulator fault, service, call-log and replay routes over real HTTP (uvicorn on a
loopback port), through api.client.HnsClient."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from faults_helpers import lb_settings, live_server, network_v2

from api.client import HnsClient
from api.emulator import call_name
from hns import errors
from hns.faults import MAX_WAIT
from hns.service import HnsService

NAT = {"Name": "nat", "Type": "NAT",
       "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}]}


def wait_until(cond: Callable[[], bool]) -> None:
    """Poll until ``cond`` holds. No local deadline: a few seconds is what a loaded 2-core
    CI machine can overrun; pytest-timeout (pyproject) bounds a condition that never holds."""
    while not cond():
        time.sleep(0.02)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[HnsService, str]]:
    service = HnsService()
    with live_server(service) as url:
        yield service, url
    service.close()


@pytest.fixture
def client(served: tuple[HnsService, str]) -> Iterator[HnsClient]:
    _service, url = served
    with HnsClient(url) as c:
        c.reset()
        yield c
        c.clear_faults()
        c.start_service()


def test_fail_rule_over_http_then_delete_it(client: HnsClient) -> None:
    rule = client.add_fault("POST /networks", "Fail", hresult=0x803B0010)
    assert rule["Mode"] == "Fail"
    assert rule["HResult"] == 0x803B0010
    for _ in range(2):
        with pytest.raises(errors.NetworkAlreadyExists):
            client.create_network(NAT)
    assert client.list_faults()[0]["Hits"] == 2
    client.delete_fault(rule["Id"])
    assert client.create_network(NAT)["Name"] == "nat"
    with pytest.raises(errors.ElementNotFound):
        client.delete_fault(rule["Id"])


def test_fail_next_n_times_on_v2_routes(client: HnsClient) -> None:
    client.add_fault("HcnCreateNetwork", hresult=0x803B0006, times=1)
    with pytest.raises(errors.AdapterNotFound):
        client.hcn_create_network(network_v2())
    assert client.hcn_create_network(network_v2())["Name"] == "cbr0"
    assert client.list_faults() == []


def test_probability_with_a_seed_is_reproducible_over_http(client: HnsClient) -> None:
    def run() -> list[bool]:
        client.clear_faults()
        client.add_fault("GET /globals", hresult=0x80070426, probability=0.5, seed=11)
        out = []
        for _ in range(40):
            try:
                client.globals_version()
                out.append(True)
            except errors.ServiceNotStarted:
                out.append(False)
        return out

    first = run()
    assert first == run()
    assert True in first
    assert False in first


def test_latency_over_http_delays_then_answers(client: HnsClient) -> None:
    client.add_fault("GET /networks", "Latency", seconds=0.1)
    assert client.list_networks() == []
    assert client.list_faults()[0]["Hits"] == 1


def test_hang_times_out_the_client_and_leaves_the_server_responsive(
        served: tuple[HnsService, str], client: HnsClient) -> None:
    _service, url = served
    client.add_fault("POST /networks", "Hang", seconds=120)
    with HnsClient(url, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.create_network(NAT)
    # While that call hangs the server answers everything else. (Waited for: the client's
    # 0.5 s may run out before a loaded server has even read the request.)
    wait_until(lambda: client.service_state()["Waiting"] == 1)
    assert client.list_networks() == []
    client.clear_faults()
    # The hung create then goes on and lands, as a slow HNS's would after a client gave up.
    wait_until(lambda: len(client.list_networks()) == 1)


def test_hang_on_the_call_mirror_ended_by_reset_applies_nothing(
        served: tuple[HnsService, str], client: HnsClient) -> None:
    _service, url = served
    client.add_fault("HcnCreateNetwork", "Hang", seconds=120)
    with HnsClient(url, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.hcn_call("HcnCreateNetwork", None, network_v2())
    wait_until(lambda: client.service_state()["Waiting"] == 1)
    client.reset()
    wait_until(lambda: client.service_state()["Waiting"] == 0)
    assert client.hcn_enumerate_networks() == []
    # The refused call began before the reset: it is in no call log of the new emulator.
    assert [c.get("Function") for c in client.calls()["Calls"]] == ["HcnEnumerateNetworks"]


def test_not_applied_load_balancer_update_over_http(client: HnsClient) -> None:
    net = client.hcn_create_network(network_v2())
    ep1 = client.hcn_create_endpoint({"HostComputeNetwork": net["ID"],
                                      "SchemaVersion": {"Major": 2, "Minor": 0}})
    ep2 = client.hcn_create_endpoint({"HostComputeNetwork": net["ID"],
                                      "SchemaVersion": {"Major": 2, "Minor": 0}})
    lb = client.hcn_create_load_balancer(json.loads(lb_settings([ep1["ID"]])))
    client.add_fault("HcnModifyLoadBalancer", "NotApplied", fields=["HostComputeEndpoints"])
    client.hcn_modify_load_balancer(lb["ID"], json.loads(lb_settings([ep1["ID"], ep2["ID"]])))
    now = client.hcn_query_load_balancer_properties(lb["ID"])
    assert [e.upper() for e in now["HostComputeEndpoints"]] == [ep1["ID"].upper()]


def test_service_stop_start_restart_over_http(client: HnsClient) -> None:
    client.create_network(NAT)
    state = client.stop_service()
    assert state["Running"] is False
    assert state["HResult"] == 0x800706D9
    with pytest.raises(errors.EptSNotRegistered):
        client.list_networks()
    with pytest.raises(errors.EptSNotRegistered):
        client.hcn_enumerate_networks()
    assert client.start_service()["Running"] is True
    assert len(client.list_networks()) == 1
    # Down until started again: a short down time could be over before a loaded machine
    # sends the next call, and the call would then succeed.
    client.restart_service(MAX_WAIT)
    with pytest.raises(errors.EptSNotRegistered):
        client.list_networks()
    assert client.start_service()["Running"] is True
    assert [n["Name"] for n in client.list_networks()] == ["nat"]
    client.restart_service(0.01)  # a down time's timer brings the service back by itself
    wait_until(lambda: client.service_state()["Running"])
    assert [n["Name"] for n in client.list_networks()] == ["nat"]


def test_bad_requests_get_typed_errors(served: tuple[HnsService, str],
                                       client: HnsClient) -> None:
    with pytest.raises(errors.InvalidArg):
        client.add_fault("HcnCreateNetwork", "Explode", hresult=0x80004005)
    with pytest.raises(errors.InvalidArg):
        client.add_fault("HcnCreateNetwork", "Fail")
    with pytest.raises(errors.InvalidArg):
        client.request("POST", "/_emulator/faults", {"Target": "*", "HResult": [1]})
    with pytest.raises(errors.InvalidArg):
        client.add_fault("HcnCreateLoadbalancer", hresult=0x80004005)
    rule = client.add_fault("HcnCreateLoadBalancer", hresult="HCN_E_PORT_ALREADY_EXISTS")
    assert rule["HResult"] == 0x803B0013
    with pytest.raises(errors.InvalidJson):
        client.request("POST", "/_emulator/faults", "{not json")
    with pytest.raises(errors.InvalidArg):
        client.request("POST", "/_emulator/service", {"Action": "explode"})
    _service, url = served
    answer = httpx.delete(url + "/_emulator/faults/12345")
    assert answer.status_code == 404
    assert answer.json()["ErrorCode"] == 0x80070490


def test_call_log_over_http_with_since_and_clear(client: HnsClient) -> None:
    client.create_network(NAT)
    client.list_networks()
    doc = client.calls()
    assert doc["Format"] == "hns-emulator-calls"
    calls = doc["Calls"]
    assert [(c["Method"], c["Path"]) for c in calls] == [("POST", "/networks/"),
                                                        ("GET", "/networks/")]
    assert calls[0]["Result"]["Name"] == "nat"
    assert doc["State"]["Objects"]["network"][0]["Name"] == "nat"
    assert [c["Seq"] for c in client.calls(since=calls[0]["Seq"])["Calls"]] == [calls[1]["Seq"]]
    client.clear_calls()
    assert client.calls()["Calls"] == []


def test_recording_replays_on_another_server(client: HnsClient) -> None:
    net = client.create_network(NAT)
    ep = client.create_endpoint({"VirtualNetwork": net["ID"], "Name": "web"})
    client.hcn_create_load_balancer(json.loads(lb_settings([ep["ID"]])))
    with pytest.raises(errors.PortAlreadyExists):
        client.hcn_create_load_balancer(json.loads(lb_settings([ep["ID"]])))
    client.delete_endpoint(ep["ID"])
    recording = client.calls()
    other = HnsService()
    try:
        with live_server(other) as url, HnsClient(url) as second:
            report = second.replay(recording)
            assert report["Ok"] is True
            assert report["StateMatches"] is True
            assert report["Replayed"] == len(recording["Calls"])
            assert len(second.hcn_enumerate_load_balancers()) == 1
    finally:
        other.close()


def test_call_names_of_http_requests() -> None:
    assert call_name("GET", "/networks", None) == "GET /networks/"
    assert call_name("DELETE", "/policylists/abc/", None) == "DELETE /policylists/abc"
    assert call_name("POST", "/hcn/loadbalancers/x/modify", None) == "HcnModifyLoadBalancer x"
    assert call_name("GET", "/hcn/networks", None) == "HcnEnumerateNetworks"
    assert call_name("GET", "/hcn/endpoints/x", None) == "HcnQueryEndpointProperties x"
    assert call_name("POST", "/hcn/call", b'{"Function":"HcnDeleteNetwork"}') == \
        "HcnDeleteNetwork"
    assert call_name("POST", "/hcn/call", b'{"Function":"HcnDeleteNetwork","Id":"ab"}') == \
        "HcnDeleteNetwork ab"
    assert call_name("POST", "/hnscall", b'{"Method":"get","Path":"networks"}') == \
        "GET /networks"
    assert call_name("GET", "/_emulator/faults", None) is None


def test_calls_without_state_leave_the_dumps_out(client: HnsClient) -> None:
    client.create_network(NAT)
    doc = client.calls(state=False)
    assert doc["State"] is None
    assert len(doc["Calls"]) == 1
