"""Real-host captures (fixtures/hns, copied from shared/fixtures/real) load, and read back
through V1 with the fields that were captured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hns_test_helpers import FIXTURES

from hns import errors
from hns.service import HnsService


def _same_fields(captured: dict[str, Any], read_back: dict[str, Any]) -> None:
    for key, value in captured.items():
        assert key in read_back, key
        assert read_back[key] == value, key


def test_capture_v1_envelope_nat_network_reads_back_the_same(svc: HnsService) -> None:
    text = (FIXTURES / "v1-post-networks-nat-response.json").read_text()
    captured = json.loads(text)["Output"]
    (ident,) = svc.import_capture(text)
    assert ident == captured["ID"]
    _same_fields(captured, svc.hns_call("GET", f"/networks/{ident}"))
    v2 = svc.hcn_call("HcnQueryNetworkProperties", ident, None)
    assert "Type" not in v2  # NAT
    assert v2["Flags"] == 8
    assert v2["Policies"] == [{"Type": "VLAN", "Settings": {"IsolationId": 1}}]


def test_capture_convertto_json_remote_endpoint_reads_back_the_same(svc: HnsService) -> None:
    text = (FIXTURES / "v1-remote-endpoint-overlay-pa.json").read_text()
    captured = json.loads(text)
    (ident,) = svc.import_capture(text)
    assert ident == captured["ID"]
    _same_fields(captured, svc.hns_call("GET", f"/endpoints/{ident}"))
    v2 = svc.hcn_call("HcnQueryEndpointProperties", ident, None)
    assert v2["Flags"] == 1
    assert v2["Policies"] == [{"Type": "ProviderAddress",
                               "Settings": {"ProviderAddress": "10.123.74.74"}}]
    # Its network was not captured: a stub stands in, named as the endpoint says.
    net = svc.hns_call("GET", f"/networks/{captured['VirtualNetwork']}")
    assert net["Name"] == "vxlan0"


def test_capture_console_wrapped_network_list_loads_both_networks(svc: HnsService) -> None:
    text = (FIXTURES / "v1-get-networks-overlay-vsid-and-nat.console-wrapped.txt").read_text()
    ids = svc.import_capture(text)
    assert ids == ["9B219D6E-6847-43FC-8258-81DB4B63C09C", "B4E14E41-5EE4-441A-9675-138F88C43DB0"]
    overlay = svc.hns_call("GET", f"/networks/{ids[0]}")
    assert overlay["Name"] == "External"
    assert overlay["Type"] == "overlay"
    assert overlay["DrMacAddress"] == "00-15-5D-BB-6E-B1"
    assert overlay["ManagementIP"] == "10.1.36.50"
    assert overlay["MacPools"] == [{"EndMacAddress": "00-15-5D-69-3F-FF",
                                    "StartMacAddress": "00-15-5D-69-30-00"}]
    assert overlay["Subnets"][0]["Policies"] == [{"Type": "VSID", "VSID": 9999}]
    assert overlay["Version"] == 38654705666  # as captured, not the emulator's
    assert svc.hns_call("GET", f"/networks/{ids[1]}")["NatName"] == \
        "ICSBEDB5686-6B22-44B5-A3AF-385BD261F365"


def test_capture_kube_proxy_log_load_balancer(svc: HnsService) -> None:
    text = (FIXTURES / "calico-7305-kubeproxy-v2-loadbalancer-created.txt").read_text()
    (ident,) = svc.import_capture(text)
    assert ident == "0be07c06-353c-4fbf-8ebc-5531f877e68a"
    got = svc.hcn_call("HcnQueryLoadBalancerProperties", ident, None)
    assert got == {"ID": ident, "HostComputeEndpoints": ["fd6bec0f-7b88-4b61-b5af-70897ab0960b"],
                   "SourceVIP": "10.10.253.194",
                   "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 31416,
                                     "Flags": 2}],
                   "SchemaVersion": {"Major": 2, "Minor": 0}}


def test_capture_truncated_sample_is_invalid_json_and_changes_nothing(svc: HnsService) -> None:
    text = (FIXTURES / "moby-40345-v1-get-networks-internal-nat.partial.txt").read_text()
    with pytest.raises(errors.InvalidJson):
        svc.import_capture(text)
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []


def test_capture_failing_halfway_leaves_state_untouched(svc: HnsService) -> None:
    good = {"ID": "11111111-2222-3333-4444-555555555555", "Name": "a", "Type": "nat"}
    bad = {"ID": "11111111-2222-3333-4444-666666666666", "Name": "a", "Type": "nat"}
    with pytest.raises(errors.NetworkAlreadyExists):
        svc.import_capture(json.dumps([good, bad]))
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == []


def test_load_accepts_a_capture_shape(svc: HnsService) -> None:
    doc = json.loads((FIXTURES / "v1-post-networks-nat-response.json").read_text())
    svc.load(doc)
    # HcnEnumerate* writes every id in lower case (tests/hns/test_hns_fidelity.py).
    assert svc.hcn_call("HcnEnumerateNetworks", None, None) == [doc["Output"]["ID"].lower()]


def test_capture_with_byte_order_mark_loads(svc: HnsService) -> None:
    text = (FIXTURES / "v1-remote-endpoint-overlay-pa.json").read_text()
    assert svc.import_capture("\ufeff" + text) == ["8f109901-9970-4fda-bb2b-e9882fb3e8fb"]
