"""The call log (every V1/V2 call in order, with request, result and HRESULT) and the
replay of a recording into a fresh emulator."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from faults_helpers import create_endpoint, create_network, lb_settings, network_v2

from hns import errors
from hns.calllog import Renaming, load_recording, replay
from hns.service import HnsService


def test_log_records_v1_and_v2_calls_in_order_with_results_and_errors(
        svc: HnsService) -> None:
    net = create_network(svc)
    with pytest.raises(errors.NetworkAlreadyExists):
        create_network(svc)
    svc.hns_call("GET", "networks")
    calls = [c.to_json() for c in svc.calls.calls()]
    assert [c["Seq"] for c in calls] == [1, 2, 3]
    first, second, third = calls
    assert first["Api"] == "V2"
    assert first["Function"] == "HcnCreateNetwork"
    assert json.loads(first["Request"])["Name"] == "cbr0"
    assert first["Result"]["ID"] == net["ID"]
    assert first["HResult"] == 0
    assert first["Error"] is None
    assert first["Time"].endswith("Z")
    assert second["HResult"] == 0x803B0010
    assert second["Result"] is None
    assert second["Error"] == "A network with this name already exists."
    assert third["Api"] == "V1"
    assert third["Method"] == "GET"
    assert third["Path"] == "/networks"
    assert [n["ID"] for n in third["Result"]] == [net["ID"]]


def test_log_since_and_clear(svc: HnsService) -> None:
    for _ in range(3):
        svc.hns_call("GET", "/globals/version")
    assert [c.seq for c in svc.calls.calls(since=2)] == [3]
    svc.calls.clear()
    assert svc.calls.calls() == []
    svc.hns_call("GET", "/globals/version")
    assert [c.seq for c in svc.calls.calls()] == [4]  # numbers never repeat


def test_log_notes_fired_faults_and_service_down(svc: HnsService) -> None:
    rule = svc.faults.add("HcnCreateNetwork", "Fail", hresult=0x803B0006, times=1)
    with pytest.raises(errors.AdapterNotFound):
        create_network(svc)
    svc.stop_service()
    with pytest.raises(errors.EptSNotRegistered):
        svc.hns_call("GET", "/networks/")
    logged = [c.to_json() for c in svc.calls.calls()]
    assert logged[0]["Faults"][0]["Id"] == rule.id
    assert logged[0]["Faults"][0]["Mode"] == "Fail"
    assert logged[1]["Api"] == "Emulator"
    assert logged[1]["Operation"] == "stop"
    assert logged[2]["ServiceDown"] is True
    assert logged[2]["HResult"] == 0x800706D9


def record_session(svc: HnsService) -> None:
    """Creates, modifies, deletes, errors, faults, a restart and a reboot, V1 and V2."""
    v1_net = svc.hns_call("POST", "/networks/", json.dumps({
        "Name": "nat", "Type": "NAT",
        "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}]}))
    net = create_network(svc)
    flannel = create_network(svc, name="vxlan0", prefix="10.244.1.0/24",
                             gateway="10.244.1.1", Flags=8)
    ep1 = create_endpoint(svc, net["ID"])
    ep2 = create_endpoint(svc, net["ID"])
    v1_ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": v1_net["ID"],
                                                          "Name": "web"}))
    svc.hns_call("POST", f"/endpoints/{v1_ep['ID']}/attach",
                 json.dumps({"ContainerId": "c0ffee"}))
    create_endpoint(svc, flannel["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep1["ID"]]))
    with pytest.raises(errors.PortAlreadyExists):
        svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep2["ID"]]))
    svc.hcn_call("HcnModifyLoadBalancer", lb["ID"], lb_settings([ep1["ID"], ep2["ID"]]))
    svc.faults.add("HcnModifyLoadBalancer", "NotApplied", fields=["HostComputeEndpoints"],
                   times=1)
    svc.hcn_call("HcnModifyLoadBalancer", lb["ID"], lb_settings([ep2["ID"]]))
    svc.faults.add("DELETE /endpoints", "Fail", hresult=0x803B0017, times=1)
    with pytest.raises(errors.DegradedOperation):
        svc.hns_call("DELETE", f"/endpoints/{v1_ep['ID']}")
    ns = svc.hcn_call("HcnCreateNamespace", None, json.dumps({"SchemaVersion": {
        "Major": 2, "Minor": 0}}))
    svc.hcn_call("HcnModifyNamespace", ns["ID"], json.dumps({
        "ResourceType": "Endpoint", "RequestType": "Add",
        "Settings": {"EndpointId": ep2["ID"]}}))
    svc.hcn_call("HcnDeleteEndpoint", ep1["ID"])
    with pytest.raises(errors.ElementNotFound) as info:
        svc.hcn_call("HcnDeleteEndpoint", ep1["ID"])
    assert info.value.hresult == 0x80070490
    svc.stop_service()
    with pytest.raises(errors.EptSNotRegistered):
        svc.hcn_call("HcnEnumerateEndpoints", None, None)
    svc.start_service()
    svc.restart_service()
    svc.hns_call("POST", "/networks/", json.dumps({
        "Name": "again", "Type": "NAT", "Flags": 8,
        "Subnets": [{"AddressPrefix": "172.21.0.0/24", "GatewayAddress": "172.21.0.1"}]}))
    svc.reboot()
    svc.hcn_call("HcnEnumerateNetworks", None, None)
    svc.hns_call("GET", "/policylists/")


def test_recorded_session_replays_to_the_same_state(svc: HnsService, tmp_path: Path) -> None:
    record_session(svc)
    path = tmp_path / "session.json"
    svc.calls.save(path)
    fresh = HnsService()
    try:
        report = replay(fresh, path)
        assert report.mismatches == []
        assert report.state_mismatches == []
        assert report.ok
        assert report.state_compared
        assert report.skipped == 1  # the call refused while HNS was stopped
        assert report.replayed == report.calls - 1
        # Independently of the report: same objects, same names, IPs, states, policies,
        # once the generated GUIDs and MACs are renamed as the replay learned them.
        mine, theirs = svc.dump()["Objects"], fresh.dump()["Objects"]
        assert {k: len(v) for k, v in mine.items()} == {k: len(v) for k, v in theirs.items()}
        names = Renaming()
        names.forward.update(report.renamed)
        assert names.apply(mine) == theirs
        ips = sorted(c["IpAddress"] for e in theirs["endpoint"]
                     for c in e.get("IpConfigurations", []))
        assert ips == sorted(c["IpAddress"] for e in mine["endpoint"]
                             for c in e.get("IpConfigurations", []))
    finally:
        fresh.close()


class _Draws:
    """Stands in for the ``random`` module where a network picks its MAC pool: the pool
    numbers come from ``pools`` in order (the nibble is always 0)."""

    def __init__(self, pools: list[int]) -> None:
        self.pools = pools

    def randrange(self, n: int) -> int:
        return self.pools.pop(0) if n == 256 else 0


@pytest.mark.parametrize("pools", [[1, 1, 2, 3], [1, 2, 3, 3]],
                         ids=["recording-reuses-a-freed-pool", "replay-reuses-a-freed-pool"])
def test_replay_pairs_a_mac_again_once_its_owner_is_gone(
        svc: HnsService, monkeypatch: pytest.MonkeyPatch, pools: list[int]) -> None:
    # A restart drops the non-persistent network; the next network may draw the freed
    # MAC pool again in one run and not in the other.  Both runs are right: a recorded MAC
    # that was freed may stand for another replayed MAC afterwards (the CI flake of
    # test_recorded_session_replays_to_the_same_state, about 1 run in 2000).
    monkeypatch.setattr("hns.service.network.random", _Draws(pools))
    net = create_network(svc, name="flannel", Flags=8)
    create_endpoint(svc, net["ID"])
    svc.restart_service()
    again = create_network(svc, name="again", prefix="10.0.1.0/24", gateway="10.0.1.1")
    create_endpoint(svc, again["ID"])
    fresh = HnsService()
    try:
        report = replay(fresh, svc.calls.recording())
        assert report.mismatches == []
        assert report.state_mismatches == []
        assert report.state_compared
        mine, theirs = svc.dump()["Objects"], fresh.dump()["Objects"]
        names = Renaming()
        names.forward.update(report.renamed)
        assert names.apply(mine) == theirs
    finally:
        fresh.close()


def test_replay_still_refuses_two_live_macs_for_one(svc: HnsService) -> None:
    # what the renaming must keep catching: one replayed MAC standing for two recorded
    # ones that are both still in use
    net = create_network(svc)
    create_endpoint(svc, net["ID"])
    create_endpoint(svc, net["ID"])
    doc = svc.calls.recording()
    first = doc["Calls"][1]["Result"]["MacAddress"]
    doc["Calls"][2]["Result"]["MacAddress"] = first
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert [m["Path"] for m in report.mismatches] == ["$.MacAddress"]
    finally:
        fresh.close()


def test_replay_reports_a_result_that_differs(svc: HnsService) -> None:
    net = create_network(svc)
    create_endpoint(svc, net["ID"])
    doc = svc.calls.recording()
    doc["Calls"][1]["Result"]["IpConfigurations"][0]["IpAddress"] = "10.0.0.99"
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert not report.ok
        assert report.mismatch_count == 1
        assert report.mismatches[0]["Seq"] == 2
        assert report.mismatches[0]["Recorded"] == "10.0.0.99"
        assert report.mismatches[0]["Replayed"] == "10.0.0.2"
    finally:
        fresh.close()


def test_replay_reports_an_hresult_that_differs(svc: HnsService) -> None:
    create_network(svc)
    doc = svc.calls.recording()
    doc["Calls"][0]["HResult"] = 0x803B0010
    doc["Calls"][0]["Result"] = None
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert report.mismatch_count == 1
        assert report.mismatches[0]["What"] == "HResult"
    finally:
        fresh.close()


def test_replay_reports_a_final_state_that_differs(svc: HnsService) -> None:
    create_network(svc)
    doc = svc.calls.recording()
    doc["State"]["Objects"]["network"][0]["Name"] = "renamed"
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert report.mismatch_count == 0
        assert report.state_mismatch_count == 1
        assert report.state_mismatches[0]["Path"].endswith(".Name")
    finally:
        fresh.close()


def test_recording_after_clear_starts_from_the_state_of_then(svc: HnsService) -> None:
    net = create_network(svc)
    svc.calls.clear()
    create_endpoint(svc, net["ID"])
    doc = svc.calls.recording()
    assert doc["InitialState"]["Objects"]["network"][0]["ID"] == net["ID"]
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert report.ok
        assert report.state_compared
    finally:
        fresh.close()


def test_load_recording_refuses_other_documents(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidJson):
        load_recording({"Format": "hns-emulator-state"})
    with pytest.raises(errors.InvalidJson):
        load_recording(tmp_path / "missing.json")
    assert load_recording(json.dumps({"Format": "hns-emulator-calls", "Calls": []}))["Calls"] \
        == []


def test_replay_of_capture_import_and_profile_events(svc: HnsService) -> None:
    svc.set_profile("ws2022")
    text = json.dumps({"Success": True, "Output": {
        "ID": "0A1B2C3D-0000-4000-8000-000000000001", "Name": "imported", "Type": "nat",
        "Subnets": [{"AddressPrefix": "172.30.0.0/24", "GatewayAddress": "172.30.0.1"}]}})
    svc.import_capture(text)
    svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2()))
    fresh = HnsService()
    try:
        report = replay(fresh, svc.calls.recording())
        assert report.ok
        assert report.state_compared
        assert fresh.profile == "ws2022"
    finally:
        fresh.close()


def test_log_is_bounded_and_a_truncated_recording_says_so() -> None:
    from hns.calllog import CallLog

    log = CallLog(maxlen=3, max_weight=10)
    for n in range(5):
        log.record(api="V1", method="GET", path=f"/networks/{n}", result=[])
    assert [c.path for c in log.calls()] == ["/networks/2", "/networks/3", "/networks/4"]
    assert log.truncated
    assert log.recording()["Truncated"] is True
    log.record(api="V1", method="GET", path="/networks/", result=list(range(8)))
    assert [c.path for c in log.calls()] == ["/networks/4", "/networks/"]
    log.clear(initial_state=None)
    assert not log.truncated


def test_truncated_recording_replays_calls_but_not_the_state(svc: HnsService) -> None:
    create_network(svc)
    doc = svc.calls.recording()
    doc["Truncated"] = True
    fresh = HnsService()
    try:
        report = replay(fresh, doc)
        assert report.ok
        assert not report.state_compared
    finally:
        fresh.close()


def test_log_order_is_commit_order_under_concurrent_calls(svc: HnsService) -> None:
    import ipaddress
    import threading

    net = create_network(svc, prefix="10.0.0.0/20", gateway="10.0.0.1")
    svc.faults.seed(5)
    svc.faults.add("HcnCreateEndpoint", "Fail", hresult=0x803B0007, probability=0.2)

    def work() -> None:
        for _ in range(40):
            with contextlib.suppress(errors.PortNotFound):
                create_endpoint(svc, net["ID"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [c.result for c in svc.calls.calls()
               if c.function == "HcnCreateEndpoint" and c.hresult == 0]
    ips = [int(ipaddress.ip_address(r["IpConfigurations"][0]["IpAddress"])) for r in created]
    assert ips == sorted(ips)
    assert len(ips) == len(set(ips)) == len(svc.hns_call("GET", "/endpoints/"))
    fresh = HnsService()
    try:
        report = replay(fresh, svc.calls.recording())
        assert report.ok
        assert report.state_compared
    finally:
        fresh.close()


def test_odd_in_process_arguments_are_logged_as_text(svc: HnsService) -> None:
    with pytest.raises(errors.InvalidArg) as bad_method:
        svc.hns_call(123, None)  # type: ignore[arg-type]
    assert bad_method.value.hresult == 0x80070057
    with pytest.raises(errors.InvalidJson) as bad_json:
        svc.hcn_call("HcnCreateNetwork", None, b"\xff not json")  # type: ignore[arg-type]
    assert bad_json.value.hresult == 0x803B001B
    with pytest.raises(errors.InvalidJson) as bad_dump:
        svc.load({"Format": "hns-emulator-state", "Objects": {"network": [{1, 2}]}})
    assert bad_dump.value.hresult == 0x803B001B
    json.dumps(svc.calls.recording())  # the whole log stays JSON
    assert len(svc.calls.calls()) == 3


def test_a_recorded_failed_load_replays_as_the_same_failure(svc: HnsService) -> None:
    create_network(svc)
    with pytest.raises(errors.InvalidJson):
        svc.load({"Format": "hns-emulator-state", "Objects": []})
    fresh = HnsService()
    try:
        report = replay(fresh, svc.calls.recording())
        assert report.ok
        assert report.replayed == 2
    finally:
        fresh.close()


def test_replay_refuses_an_entry_that_is_not_a_call(svc: HnsService) -> None:
    doc = {"Format": "hns-emulator-calls", "Calls": [{"Api": "V3"}]}
    with pytest.raises(errors.InvalidJson):
        replay(svc, doc)


def test_replay_main_replays_a_saved_recording(svc: HnsService, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from hns.calllog import main

    net = create_network(svc)
    create_endpoint(svc, net["ID"])
    svc.calls.save(tmp_path / "good.json")
    doc = svc.calls.recording()
    doc["Calls"][1]["Result"]["IpConfigurations"][0]["IpAddress"] = "10.0.0.77"
    (tmp_path / "bad.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    assert main([str(tmp_path / "good.json")]) == 0
    assert json.loads(capsys.readouterr().out)["Ok"] is True
    assert main([str(tmp_path / "bad.json")]) == 1
    assert json.loads(capsys.readouterr().out)["Mismatches"][0]["Recorded"] == "10.0.0.77"
    assert main([str(tmp_path / "junk.json")]) == 2


def test_a_recorded_id_with_no_letters_is_renamed_in_the_real_case() -> None:
    # "Container NIC 12345678" shows no case; the real name is lower case
    # (real/v1-post-networks-nat-response.json: "Container NIC 6c50381c")
    names = Renaming()
    assert names.strings_equal("Container NIC 12345678", "Container NIC 6c50381c")
    assert names.apply("Container NIC 12345678") == "Container NIC 6c50381c"
    learned = Renaming()
    learned.forward.update({"12345678": "ABCDEF01"})
    assert learned.apply({"Name": "Container NIC 12345678"}) == {
        "Name": "Container NIC abcdef01"}
    assert learned.apply("12345678-0000-0000-0000-000000000000") == \
        "12345678-0000-0000-0000-000000000000"
