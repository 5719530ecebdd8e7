"""hns.compute: compute systems, and a network adapter Add/Remove as an HNS attach/detach
(the shapes hcsshim v0.15.0 sends: hnsendpoint.go modifyNetworkEndpoint, schema1)."""

from __future__ import annotations

import json

import pytest
from hcn_builders import create_endpoint, create_network

from hns.compute import compute_systems
from hns.errors import ElementNotFound, HnsError, InvalidArg
from hns.service import HnsService


def _adapter(verb: str, endpoint: str) -> str:
    return json.dumps({"ResourceType": "Network", "RequestType": verb, "Settings": endpoint})


def _v1_endpoint(svc: HnsService, ident: str) -> dict:
    out = svc.hns_call("GET", f"/endpoints/{ident}")
    assert isinstance(out, dict)
    return out


def test_create_list_get_terminate(svc: HnsService) -> None:
    systems = compute_systems(svc)
    assert compute_systems(svc) is systems
    systems.create("c1", json.dumps({"SystemType": "Container", "Name": "pause",
                                     "Owner": "containerd"}))
    systems.create("vm1", json.dumps({"SchemaVersion": {"Major": 2, "Minor": 1},
                                      "Owner": "kubelet", "VirtualMachine": {}}))
    assert systems.start("c1").state == "Running"
    assert [s["Id"] for s in systems.list()] == ["c1", "vm1"]
    assert [s["Id"] for s in systems.list(json.dumps({"Types": ["VirtualMachine"]}))] == ["vm1"]
    assert [s["Id"] for s in systems.list(json.dumps({"Owners": ["CONTAINERD"]}))] == ["c1"]
    props = systems.get("C1").properties()
    assert props["Name"] == "pause"
    assert props["SystemType"] == "Container"
    assert props["RuntimeOsType"] == "windows"
    assert props["State"] == "Running"
    systems.terminate("c1")
    assert [s["Id"] for s in systems.list()] == ["vm1"]


@pytest.mark.parametrize("call", [
    lambda s: s.get("nope"), lambda s: s.start("nope"), lambda s: s.terminate("nope"),
    lambda s: s.modify("nope", _adapter("Add", "x")),
])
def test_unknown_system_is_hcs_e_system_not_found(svc: HnsService, call) -> None:
    with pytest.raises(HnsError) as err:
        call(compute_systems(svc))
    assert err.value.hresult == 0xC037010E


def test_bad_input_is_refused_and_changes_nothing(svc: HnsService) -> None:
    systems = compute_systems(svc)
    systems.create("c1", None)
    with pytest.raises(HnsError) as err:
        systems.create("c1", None)
    assert err.value.hresult == 0xC037010F  # HCS_E_SYSTEM_ALREADY_EXISTS
    for bad in ("{", "[]", '{"SystemType": "Toaster"}', '{"Name": 5}'):
        with pytest.raises(HnsError) as err:
            systems.create("c2", bad)
        assert err.value.hresult == 0xC037010D  # HCS_E_INVALID_JSON
    with pytest.raises(InvalidArg):
        systems.create("", None)
    with pytest.raises(HnsError) as err:
        systems.modify("c1", json.dumps({"ResourceType": "MappedDirectory",
                                         "RequestType": "Add", "Settings": {}}))
    assert err.value.hresult == 0x80070032  # hcsshim IsNotSupported -> ErrPlatformNotSupported
    assert [s["Id"] for s in systems.list()] == ["c1"]


def test_network_add_remove_is_an_hns_attach_detach(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    systems = compute_systems(svc)
    systems.create("c1", None)
    systems.modify("c1", _adapter("Add", ep["ID"].upper()))
    v1 = _v1_endpoint(svc, ep["ID"])
    assert v1["SharedContainers"] == ["c1"]  # what hcsshim's IsAttached reads
    assert systems.get("c1").endpoints == [ep["ID"].lower()]
    systems.modify("c1", _adapter("Remove", ep["ID"]))
    assert _v1_endpoint(svc, ep["ID"]).get("SharedContainers", []) == []
    assert systems.get("c1").endpoints == []
    names = [c.name for c in svc.calls.calls()]  # HCS asked HNS, in the call log
    assert f"POST /endpoints/{ep['ID'].upper()}/attach" in names
    assert f"POST /endpoints/{ep['ID']}/detach" in names


def test_v2_adapter_path_and_terminate_detaches(svc: HnsService) -> None:
    net = create_network(svc)
    ep = create_endpoint(svc, net["ID"])
    systems = compute_systems(svc)
    systems.create("vm", '{"VirtualMachine": {}}')
    systems.modify("vm", json.dumps({
        "ResourcePath": f"VirtualMachine/Devices/NetworkAdapters/{ep['ID']}",
        "RequestType": "Add", "Settings": {"EndpointId": ep["ID"]}}))
    assert _v1_endpoint(svc, ep["ID"])["SharedContainers"] == ["vm"]
    systems.terminate("vm")
    assert _v1_endpoint(svc, ep["ID"]).get("SharedContainers", []) == []


def test_add_of_unknown_endpoint_is_the_hns_error(svc: HnsService) -> None:
    systems = compute_systems(svc)
    systems.create("c1", None)
    with pytest.raises(ElementNotFound):  # what V1 HNS gives for an unknown endpoint
        systems.modify("c1", _adapter("Add", "6b9f3a52-5a57-4c6e-9a2e-0b4f0d6c1e77"))
    assert systems.get("c1").endpoints == []


def test_reset_and_reboot_empty_the_compute_systems(svc: HnsService) -> None:
    systems = compute_systems(svc)
    systems.create("c1", None)
    svc.reset()
    assert systems.list() == []
    systems.create("c2", None)
    svc.reboot()
    assert systems.list() == []


# ---- V1 /accelnet ------------------------------------------------------------------------

MACS = {"MacAddressList": [{"MacAddress": "00-15-5D-0A-B7-C6"},
                           {"MacAddress": "00-15-5D-38-01-00"}]}


def test_accelnet_round_trip_as_hcsshim_does_it(svc: HnsService) -> None:
    assert svc.profile == "ws2025"
    assert svc.hns_call("GET", "/accelnet/") == {"MacAddressList": []}
    assert svc.hns_call("POST", "/accelnet/", json.dumps(MACS)) == MACS
    assert svc.hns_call("GET", "/accelnet/") == MACS
    assert svc.hns_call("DELETE", "/accelnet/") == {"MacAddressList": []}
    assert svc.hns_call("GET", "/accelnet/") == {"MacAddressList": []}


def test_accelnet_bad_list_changes_nothing(svc: HnsService) -> None:
    svc.hns_call("POST", "/accelnet/", json.dumps(MACS))
    for bad in ("{", '{"MacAddressList": []}', '{"MacAddressList": [{"MacAddress": "zz"}]}',
                '{"MacAddressList": [{"MacAddress": "00-15-5D-0A-B7-C6"}, 5]}'):
        with pytest.raises(HnsError):
            svc.hns_call("POST", "/accelnet/", bad)
    assert svc.hns_call("GET", "/accelnet/") == MACS
    svc.reset()
    assert svc.hns_call("GET", "/accelnet/") == {"MacAddressList": []}


@pytest.mark.parametrize("profile", ["ws2019", "ws2022", "ws2025"])
def test_accelnet_served_exactly_where_the_profile_advertises_it(profile: str) -> None:
    svc = HnsService(profile=profile)
    try:
        advertised = svc.PROFILES[profile].supports("Accelnet")
        for verb, body in (("GET", None), ("POST", json.dumps(MACS)), ("DELETE", None)):
            if advertised:
                assert "MacAddressList" in svc.hns_call(verb, "/accelnet/", body)
            else:
                with pytest.raises(HnsError) as err:
                    svc.hns_call(verb, "/accelnet/", body)
                assert err.value.hresult == 0x803B0015  # HNS_E_REQUEST_UNSUPPORTED
    finally:
        svc.close()
