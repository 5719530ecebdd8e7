"""SQLite state: what was committed survives a new service; non-persistent networks go on
reboot only; failures leave nothing behind; dump/load."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hns_test_helpers import create_endpoint, create_network, lb_body

from hns import errors
from hns.service import HnsService


def test_new_service_on_same_file_serves_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = HnsService(state=path)
    net = create_network(first)
    ep = create_endpoint(first, net["ID"])
    gone = create_endpoint(first, net["ID"])
    first.hcn_call("HcnDeleteEndpoint", gone["ID"])
    lb = first.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    ns = first.hns_call("POST", "/namespaces/", "{}")
    with pytest.raises(errors.NetworkAlreadyExists):  # a failed create leaves no row
        create_network(first)
    before = {kind: first.hns_call("GET", f"/{kind}/")
              for kind in ("networks", "endpoints", "policylists", "namespaces")}
    first.close()

    second = HnsService(state=path)
    after = {kind: second.hns_call("GET", f"/{kind}/")
             for kind in ("networks", "endpoints", "policylists", "namespaces")}
    assert after == before
    assert [e["ID"] for e in after["endpoints"]] == [ep["ID"]]
    assert second.hcn_call("HcnEnumerateLoadBalancers", None, None) == [lb["ID"]]
    # HcnEnumerate* writes ids in lower case; the namespace was made through V1 (upper).
    assert second.hcn_call("HcnEnumerateNamespaces", None, None) == [ns["ID"].lower()]
    # Indexes were rebuilt: the reservation, the name and the IP are still held.
    with pytest.raises(errors.PortAlreadyExists):
        second.hcn_call("HcnCreateLoadBalancer", None, lb_body([]))
    with pytest.raises(errors.NetworkAlreadyExists):
        create_network(second)
    with pytest.raises(errors.ObjectAlreadyExists):
        create_endpoint(second, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.2"}])
    assert create_endpoint(second, net["ID"])["IpConfigurations"][0]["IpAddress"] == "10.0.0.3"
    second.close()


def test_non_persistent_network_vanishes_on_reboot_not_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    svc = HnsService(state=path)
    flannel = create_network(svc, name="vxlan0", ntype="Overlay", Flags=8)
    keep = create_network(svc, name="keep", prefix="10.1.0.0/24", gateway="10.1.0.1")
    create_endpoint(svc, flannel["ID"])
    kept_ep = create_endpoint(svc, keep["ID"])
    svc.close()
    svc = HnsService(state=path)  # restart: everything still there
    assert len(svc.hcn_call("HcnEnumerateNetworks", None, None)) == 2
    svc.reboot()
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == [keep["ID"]]
    assert svc.hcn_call("HcnEnumerateEndpoints", None, None) == [kept_ep["ID"]]
    svc.close()
    svc = HnsService(state=path)
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == [keep["ID"]]
    svc.close()


def test_concurrent_creates_never_share_an_ip_or_mac(tmp_path: Path) -> None:
    svc = HnsService(state=tmp_path / "state.sqlite")
    net = create_network(svc, prefix="10.0.0.0/22", gateway="10.0.0.1")
    results: list[dict[str, object]] = []
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(40):
                if i % 2:
                    body = {"VirtualNetwork": net["ID"], "Name": f"w{n}-{i}"}
                    results.append(svc.hns_call("POST", "/endpoints/", json.dumps(body)))
                else:
                    results.append(create_endpoint(svc, net["ID"], Name=f"w{n}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(results) == 320
    ips = [e["ID"] and svc.hns_call("GET", f"/endpoints/{e['ID']}")["IPAddress"]
           for e in results]
    macs = [svc.hns_call("GET", f"/endpoints/{e['ID']}")["MacAddress"] for e in results]
    assert len(set(ips)) == 320
    assert len(set(macs)) == 320
    svc.close()
    again = HnsService(state=tmp_path / "state.sqlite")
    assert len(again.hcn_call("HcnEnumerateEndpoints", None, None)) == 320
    again.close()


def test_dump_and_load_replace_state(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    dump = json.loads(json.dumps(svc.dump()))
    other = HnsService()
    create_network(other, name="other", prefix="10.7.0.0/24", gateway="10.7.0.1")
    other.load(dump)
    assert other.hcn_call("HcnEnumerateNetworks", None, None) == [net["ID"]]
    assert other.hcn_call("HcnQueryEndpointProperties", ep["ID"], None) == \
        svc.hcn_call("HcnQueryEndpointProperties", ep["ID"], None)
    with pytest.raises(errors.ObjectAlreadyExists):
        create_endpoint(other, net["ID"], IpConfigurations=[{"IpAddress": "10.0.0.2"}])
    with pytest.raises(errors.InvalidJson):
        other.load({"Format": "hns-emulator-state", "Objects": {"bogus": []}})
    assert other.hcn_call("HcnEnumerateNetworks", None, None) == [net["ID"]]
    other.reset()
    assert other.hcn_call("HcnEnumerateNetworks", None, None) == []
    other.close()


def test_closed_service_answers_service_not_started(tmp_path: Path) -> None:
    svc = HnsService(state=tmp_path / "s.sqlite")
    svc.close()
    with pytest.raises(errors.ServiceNotStarted) as info:
        svc.hns_call("GET", "/networks/")
    assert info.value.message == "The service has not been started."


def test_load_of_malformed_objects_keeps_the_old_state(svc: HnsService) -> None:
    net = create_network(svc)
    bad = {"Format": "hns-emulator-state", "FormatVersion": 1,
           "Objects": {"endpoint": [{"ID": "1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10"}]}}
    with pytest.raises(errors.InvalidJson):
        svc.load(bad)
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == [net["ID"]]
    assert create_endpoint(svc, net["ID"])["IpConfigurations"][0]["IpAddress"] == "10.0.0.2"


def test_v1_update_without_address_keeps_the_address(svc: HnsService) -> None:
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net["ID"]}))
    create_endpoint(svc, net["ID"])
    updated = svc.hns_call("POST", f"/endpoints/{ep['ID']}",
                           json.dumps({"VirtualNetwork": net["ID"], "Name": "renamed"}))
    assert (updated["Name"], updated["IPAddress"]) == ("renamed", ep["IPAddress"])


def test_concurrent_load_balancers_on_one_vip_port_only_one_wins(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    won: list[str] = []
    lost: list[int] = []

    def worker(n: int) -> None:
        body = lb_body([ep["ID"]], SourceVIP=f"10.0.0.{200 + n}")  # same frontend, not twins
        try:
            won.append(svc.hcn_call("HcnCreateLoadBalancer", None, body)["ID"])
        except errors.PortAlreadyExists as exc:
            lost.append(exc.hresult)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert lost == [0x803B0013] * 7


def test_unreadable_state_file_is_service_not_started(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.ServiceNotStarted):
        HnsService(state=path)
