"""Every fault mode in-process: Fail (always / next N / probability), Latency, Hang,
NotApplied, and the HNS service stop / start / restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from faults_helpers import create_endpoint, create_network, lb_settings, network_v2

from hns import errors
from hns.faults import MAX_WAIT, SERVICE_DOWN_HRESULT, FaultSet, target_matches
from hns.service import HnsService


def wait_until(cond: Callable[[], bool]) -> None:
    """Poll until ``cond`` holds. No local deadline: a few seconds is what a loaded 2-core
    CI machine can overrun; pytest-timeout (pyproject) bounds a condition that never holds."""
    while not cond():
        time.sleep(0.01)


def test_fail_always_refuses_every_matching_call_until_removed(svc: HnsService) -> None:
    rule = svc.faults.add("HcnCreateNetwork", "Fail", hresult=0x803B0010)
    for _ in range(3):
        with pytest.raises(errors.NetworkAlreadyExists):
            create_network(svc)
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []
    assert svc.faults.get(rule.id).hits == 3
    svc.faults.remove(rule.id)
    create_network(svc)
    assert len(svc.hcn_call("HcnEnumerateNetworks", None, None)) == 1


def test_fail_next_n_times_then_the_rule_is_gone(svc: HnsService) -> None:
    svc.faults.add("HcnCreateNetwork", "Fail", hresult=0x803B0006, times=2)
    for _ in range(2):
        with pytest.raises(errors.AdapterNotFound):
            create_network(svc)
    create_network(svc)
    assert svc.faults.list() == []


def test_fail_with_probability_is_seedable_and_partial(svc: HnsService) -> None:
    def run(seed: int) -> list[bool]:
        svc.faults.clear()
        svc.faults.seed(seed)
        svc.faults.add("GET /globals", "Fail", hresult=0x80070426, probability=0.5)
        outcome = []
        for _ in range(200):
            try:
                svc.hns_call("GET", "/globals/version")
                outcome.append(True)
            except errors.ServiceNotStarted:
                outcome.append(False)
        return outcome

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert 40 < first.count(False) < 160


def test_win32_code_becomes_its_hresult(svc: HnsService) -> None:
    svc.faults.add("HcnCreateLoadBalancer", "Fail", hresult=0xB7)
    with pytest.raises(errors.AlreadyExists) as info:
        svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([]))
    assert info.value.hresult == 0x800700B7


def test_v1_targets_match_method_and_path_prefix_ignoring_case() -> None:
    assert target_matches("DELETE /policylists", "DELETE /PolicyLists/ABC")
    assert not target_matches("DELETE /policylists", "GET /policylists/abc")
    assert target_matches("HcnDeleteLoadBalancer", "HcnDeleteLoadBalancer")
    assert not target_matches("HcnDeleteLoadBalancer", "HcnDeleteLoadBalancers")
    assert target_matches("*", "POST /networks/")
    assert target_matches("HcnDeleteLoadBalancer", "HcnDeleteLoadBalancer 1a2b-3c")
    assert target_matches("HcnDeleteLoadBalancer 1A2B", "HcnDeleteLoadBalancer {1a2b-3c}")
    assert not target_matches("HcnDeleteLoadBalancer 9", "HcnDeleteLoadBalancer 1a2b-3c")
    assert not target_matches("HcnDeleteLoadBalancer 1a", "HcnDeleteLoadBalancer")


def test_a_v2_rule_can_aim_at_one_object_113524(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    lb1 = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep["ID"]], port=80))
    lb2 = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep["ID"]], port=81))
    svc.faults.add(f"HcnDeleteLoadBalancer {lb1['ID'][:8]}", hresult=0x803B0017)
    svc.hcn_call("HcnDeleteLoadBalancer", lb2["ID"])
    with pytest.raises(errors.DegradedOperation):
        svc.hcn_call("HcnDeleteLoadBalancer", lb1["ID"])


def test_invalid_rules_are_refused_with_invalid_arg(svc: HnsService) -> None:
    bad: list[dict[str, Any]] = [
        {"target": "", "mode": "Fail", "hresult": 0x80004005},
        {"target": "HcnCreateNetwork", "mode": "Explode", "hresult": 0x80004005},
        {"target": "HcnCreateNetwork", "mode": "Fail"},
        {"target": "HcnCreateNetwork", "mode": "Fail", "hresult": 0},
        {"target": "HcnCreateNetwork", "mode": "Fail", "hresult": 0x80004005, "times": 0},
        {"target": "HcnCreateNetwork", "mode": "Fail", "hresult": 0x80004005, "probability": 0.0},
        {"target": "HcnCreateNetwork", "mode": "Latency"},
        {"target": "HcnCreateNetwork", "mode": "Hang", "seconds": 10_000},
        {"target": "HcnCreateNetwork", "mode": "Fail", "hresult": 0x80004005, "fields": ["Name"]},
    ]
    for kwargs in bad:
        target, mode = kwargs.pop("target"), kwargs.pop("mode")
        with pytest.raises(errors.InvalidArg):
            svc.faults.add(target, mode, **kwargs)
    assert svc.faults.list() == []


def test_targets_are_checked_and_normalized(svc: HnsService) -> None:
    with pytest.raises(errors.InvalidArg) as info:
        svc.faults.add("HcnCreateLoadbalancer", hresult=0x80004005)
    assert "HcnCreateLoadBalancer" in str(info.value.detail)  # the closest export is named
    for bad in ("x", "PUT /networks", "networks"):
        with pytest.raises(errors.InvalidArg):
            svc.faults.add(bad, hresult=0x80004005)
    assert svc.faults.add("get networks", hresult=0x80004005).target == "GET /networks"
    assert svc.faults.add(" HcnDeleteNetwork  ab ", hresult=0x80004005).target == \
        "HcnDeleteNetwork ab"
    with pytest.raises(errors.HnsError) as info:
        svc.hns_call("GET", "/networks/")
    assert info.value.hresult == 0x80004005  # the injected fault, not another failure


def test_latency_waits_outside_the_lock_then_the_call_runs(svc: HnsService) -> None:
    waits: list[float] = []
    held: list[bool] = []

    def sleep(event: threading.Event, seconds: float) -> None:
        waits.append(seconds)
        # The service lock must be free while a call waits: another thread can take it.
        def probe() -> None:
            got = svc.lock.acquire(timeout=5)
            held.append(got)
            if got:
                svc.lock.release()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()

    svc.faults._sleep = sleep  # type: ignore[method-assign]
    rule = svc.faults.add("HcnCreateNetwork", "Latency", seconds=0.25)
    net = create_network(svc)
    assert waits == [0.25]
    assert held == [True]
    assert net["Name"] == "cbr0"
    assert svc.faults.get(rule.id).hits == 1


def _hang_in_thread(svc: HnsService) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = create_network(svc)
        except errors.HnsError as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: svc.faults.waiting == 1)
    return thread, out


def test_hang_does_not_block_other_calls_and_ends_when_faults_are_cleared(
        svc: HnsService) -> None:
    svc.faults.add("HcnCreateNetwork", "Hang", seconds=120)
    thread, out = _hang_in_thread(svc)
    # The hung call holds no lock: other calls are answered meanwhile.
    assert svc.hns_call("GET", "/networks/") == []
    assert thread.is_alive()
    svc.faults.clear()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert out["result"]["Name"] == "cbr0"  # a hung call that ends goes on and applies


def test_hang_ended_by_reset_fails_with_the_service_down_error(svc: HnsService) -> None:
    svc.faults.add("HcnCreateNetwork", "Hang", seconds=120)
    thread, out = _hang_in_thread(svc)
    svc.reset()
    thread.join(timeout=10)
    assert isinstance(out["error"], errors.EptSNotRegistered)
    assert svc.calls.calls() == []  # the hung call belongs to no log after the reset
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []


def test_hang_with_hresult_fails_after_its_bound(svc: HnsService) -> None:
    svc.faults.add("HcnCreateNetwork", "Hang", seconds=0.05, hresult=0x803B0025)
    with pytest.raises(errors.GcnNetadapterTimeout):
        create_network(svc)
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []


def test_not_applied_update_answers_success_and_changes_nothing(svc: HnsService) -> None:
    net = create_network(svc)
    before = svc.dump()
    svc.faults.add("HcnModifyNetwork", "NotApplied", times=1)
    change = {"ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [
        {"Type": "RemoteSubnetRoute", "Settings": {
            "DestinationPrefix": "10.1.0.0/24", "IsolationId": 4096,
            "ProviderAddress": "172.16.0.5", "DistributedRouterMacAddress": "00-01-02-03-04-05"}}]}}
    assert svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(change)) is None
    assert svc.dump() == before
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(change))  # the rule was used up
    assert svc.dump() != before


def test_not_applied_with_fields_on_a_modify_request_drops_it_whole(svc: HnsService) -> None:
    net = create_network(svc)
    before = svc.dump()
    svc.faults.add("HcnModifyNetwork", "NotApplied", fields=["Policies"])
    change = {"ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [
        {"Type": "RemoteSubnetRoute", "Settings": {
            "DestinationPrefix": "10.1.0.0/24", "IsolationId": 4096,
            "ProviderAddress": "172.16.0.5", "DistributedRouterMacAddress": "00-01-02-03-04-05"}}]}}
    svc.hcn_call("HcnModifyNetwork", net["ID"], json.dumps(change))
    assert svc.dump() == before


def test_not_applied_v1_endpoint_update_keeps_the_named_fields(svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({
        "Name": "nat", "Type": "NAT",
        "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}]}))
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net["ID"],
                                                        "Name": "old"}))
    svc.faults.add("POST /endpoints", "NotApplied", fields=["Name"], times=1)
    update = dict(ep, Name="new", DNSSuffix="corp.example")
    svc.hns_call("POST", f"/endpoints/{ep['ID']}", json.dumps(update))
    now = svc.hns_call("GET", f"/endpoints/{ep['ID']}")
    assert now["Name"] == "old"
    assert now["DNSSuffix"] == "corp.example"


def test_not_applied_load_balancer_update_keeps_its_old_endpoints_131466(
        svc: HnsService) -> None:
    net = create_network(svc)
    ep1, ep2 = create_endpoint(svc, net["ID"]), create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep1["ID"]]))
    svc.faults.add("HcnModifyLoadBalancer", "NotApplied", fields=["HostComputeEndpoints"])
    update = json.loads(lb_settings([ep1["ID"], ep2["ID"]]))
    update["PortMappings"][0]["InternalPort"] = 9090
    assert svc.hcn_call("HcnModifyLoadBalancer", lb["ID"], json.dumps(update)) is None
    now = svc.hcn_call("HcnQueryLoadBalancerProperties", lb["ID"], None)
    assert [e.upper() for e in now["HostComputeEndpoints"]] == [ep1["ID"].upper()]
    assert now["PortMappings"][0]["InternalPort"] == 9090  # the rest of it was applied


def test_stopped_service_fails_v1_and_v2_calls_with_ept_s_not_registered(
        svc: HnsService) -> None:
    create_network(svc)
    svc.stop_service()
    for call in (lambda: svc.hns_call("GET", "/networks/"),
                 lambda: svc.hcn_call("HcnEnumerateNetworks", None, None),
                 lambda: svc.hns_call("GET", "/globals/version")):
        with pytest.raises(errors.EptSNotRegistered) as info:
            call()
        assert info.value.hresult == SERVICE_DOWN_HRESULT == 0x800706D9
        assert info.value.message == \
            "There are no more endpoints available from the endpoint mapper."
    assert svc.service_state()["Running"] is False
    assert svc.start_service() is True
    assert len(svc.hns_call("GET", "/networks/")) == 1


def test_stop_with_another_hresult(svc: HnsService) -> None:
    svc.stop_service(hresult=0x80070426)
    with pytest.raises(errors.ServiceNotStarted):
        svc.hns_call("GET", "/networks/")


def test_restart_rehydrates_persistent_objects_and_drops_non_persistent_networks(
        svc: HnsService) -> None:
    keep = create_network(svc, name="keep")
    gone = create_network(svc, name="flannel", prefix="10.1.0.0/24", gateway="10.1.0.1",
                          Flags=8)
    ep_keep = create_endpoint(svc, keep["ID"])
    create_endpoint(svc, gone["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep_keep["ID"]]))
    seen: list[Any] = []
    svc.add_listener(seen.append)
    svc.restart_service()
    names = [n["Name"] for n in svc.hns_call("GET", "/networks/")]
    assert names == ["keep"]
    eps = svc.hns_call("GET", "/endpoints/")
    assert [e["ID"] for e in eps] == [ep_keep["ID"]]
    # The load balancer came back too (kubernetes#139519): creating it again collides.
    assert svc.hcn_call("HcnEnumerateLoadBalancers", None, None) == [lb["ID"]]
    with pytest.raises(errors.PortAlreadyExists):
        svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep_keep["ID"]]))
    assert None in seen
    assert svc.service_state()["Restarts"] == 1


def test_restart_with_down_time_fails_calls_then_comes_back(svc: HnsService) -> None:
    create_network(svc)
    # Down far longer than any machine takes to make the next call (with 1 s, a loaded
    # machine could see the service back up already and the call succeed).
    svc.restart_service(MAX_WAIT)
    with pytest.raises(errors.EptSNotRegistered):
        svc.hcn_call("HcnEnumerateNetworks", None, None)
    assert svc.service_state()["DownSecondsLeft"] is not None
    svc.restart_service(0.01)  # restarted again while down: its timer brings it back
    wait_until(lambda: svc.service_state()["Running"])
    assert len(svc.hcn_call("HcnEnumerateNetworks", None, None)) == 1


def test_restart_rehydrates_from_the_state_file(tmp_path: Any) -> None:
    svc = HnsService(state=tmp_path / "hns.sqlite")
    try:
        net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2()))
        before = svc.dump()
        svc.restart_service()
        assert svc.dump() == before
        assert svc.hcn_call("HcnQueryNetworkProperties", net["ID"], None)["Name"] == "cbr0"
    finally:
        svc.close()


def test_reset_brings_a_stopped_service_up_and_clears_rules(svc: HnsService) -> None:
    svc.faults.add("*", "Fail", hresult=0x80004005)
    svc.stop_service()
    svc.reset()
    assert svc.service_state()["Running"] is True
    assert svc.faults.list() == []
    assert svc.hns_call("GET", "/networks/") == []


def test_fault_set_seed_at_construction_is_reproducible() -> None:
    def rolls(seed: int) -> list[int]:
        fs = FaultSet(seed=seed)
        fs.add("HcnCreateNetwork", "Fail", hresult=0x80004005, probability=0.3)
        return [len(fs.decide("HcnCreateNetwork").fired) for _ in range(50)]

    assert rolls(1) == rolls(1)


def test_hresults_by_name_and_a_default_hang_bound(svc: HnsService) -> None:
    rule = svc.faults.add("HcnCreateLoadBalancer", hresult="HCN_E_PORT_ALREADY_EXISTS")
    assert rule.hresult == 0x803B0013
    assert svc.faults.add("*", hresult="0x800700b7").hresult == 0x800700B7
    assert svc.faults.add("*", "Hang").seconds == 60.0
    with pytest.raises(errors.InvalidArg):
        svc.faults.add("*", hresult="NO_SUCH_ERROR")
    svc.stop_service(hresult="ERROR_SERVICE_NOT_ACTIVE")
    with pytest.raises(errors.ServiceNotStarted):
        svc.hns_call("GET", "/networks/")


def test_injected_rule_lasts_for_the_with_block(svc: HnsService) -> None:
    with svc.faults.injected("HcnCreateNetwork", hresult=0x803B0006), \
            pytest.raises(errors.AdapterNotFound):
        create_network(svc)
    create_network(svc)
    assert svc.faults.list() == []
