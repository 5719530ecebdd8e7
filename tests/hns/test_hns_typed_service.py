"""The service reads request settings through their typed models: a switch extension
toggle (V2 network modify ``Extension``, V1 network update ``Extensions``) is a
``SwitchExtensionSetting``, an endpoint's port reservations come from its PortMapping
settings model.  The HRESULTs are those the hand-read code gave."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hns import errors
from hns.service import HnsService
from tests.hcn_builders import create_endpoint, create_network

VFP = "F74F241B-440F-4433-BB28-00F89EAD20D8"


def _modify_extension(svc: HnsService, net: str, settings: Any) -> None:
    svc.hcn_call("HcnModifyNetwork", net, json.dumps(
        {"ResourceType": "Extension", "RequestType": "Update", "Settings": settings}))


def _extensions(svc: HnsService, net: str) -> dict[str, bool]:
    got = svc.hns_call("GET", f"/networks/{net}")
    return {e["Id"]: e["IsEnabled"] for e in got["Extensions"]}


def test_v2_extension_toggle_reads_its_typed_setting(svc: HnsService) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({"Name": "nat", "Type": "nat"}))["ID"]
    _modify_extension(svc, net, {"Id": "{" + VFP.lower() + "}", "IsEnabled": True})
    assert _extensions(svc, net)[VFP] is True
    _modify_extension(svc, net, {"Id": VFP, "IsEnabled": False})
    assert _extensions(svc, net)[VFP] is False


@pytest.mark.parametrize("settings", [
    {"Id": "not-a-guid", "IsEnabled": True},
    {"Id": VFP, "IsEnabled": "yes"},
    {"Id": VFP},
    {"IsEnabled": True},
    [VFP],
    None,
])
def test_v2_extension_toggle_refuses_a_bad_setting(svc: HnsService, settings: Any) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({"Name": "nat", "Type": "nat"}))["ID"]
    with pytest.raises(errors.InvalidArg):
        _modify_extension(svc, net, settings)
    assert _extensions(svc, net)[VFP] is False  # nothing changed


@pytest.mark.parametrize(("ext", "error"), [
    ({"Id": VFP, "IsEnabled": 1}, errors.InvalidArg),
    ({"Id": 7, "IsEnabled": True}, errors.InvalidArg),
    ("x", errors.InvalidJson),
    ({"Id": "1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10", "IsEnabled": True},
     errors.SwitchExtensionNotFound),
])
def test_v1_network_update_extensions_go_through_the_same_model(
        svc: HnsService, ext: Any, error: type[errors.HnsError]) -> None:
    net = svc.hns_call("POST", "/networks/", json.dumps({"Name": "nat", "Type": "nat"}))["ID"]
    with pytest.raises(error):
        svc.hns_call("POST", f"/networks/{net}", json.dumps({"Extensions": [ext]}))


def _port_mapping(port: int, vip: str | None = None, protocol: int | None = None) -> Any:
    settings: dict[str, Any] = {"InternalPort": 80, "ExternalPort": port}
    if vip is not None:
        settings["VIP"] = vip
    if protocol is not None:
        settings["Protocol"] = protocol
    return {"Type": "PortMapping", "Settings": settings}


def test_port_reservations_read_the_port_mapping_model(svc: HnsService) -> None:
    net = create_network(svc)["ID"]
    create_endpoint(svc, net, Policies=[_port_mapping(8080, "10.0.0.5")])
    # protocol 0 and no protocol both mean TCP: the same host port is taken
    with pytest.raises(errors.PortAlreadyExists):
        create_endpoint(svc, net, Policies=[_port_mapping(8080, "10.0.0.5", protocol=0)])
    # no VIP is every address, so it clashes with the VIP-bound one
    with pytest.raises(errors.PortAlreadyExists):
        create_endpoint(svc, net, Policies=[_port_mapping(8080)])
    # UDP, another VIP, or no external port at all: free
    create_endpoint(svc, net, Policies=[_port_mapping(8080, "10.0.0.5", protocol=17)])
    create_endpoint(svc, net, Policies=[_port_mapping(8080, "10.0.0.6")])
    create_endpoint(svc, net, Policies=[_port_mapping(0, "10.0.0.5")])


def _namespace_member(svc: HnsService, ns: str, rtype: str, settings: Any,
                      req: str = "Add") -> None:
    svc.hcn_call("HcnModifyNamespace", ns, json.dumps(
        {"ResourceType": rtype, "RequestType": req, "Settings": settings}))


def test_namespace_membership_reads_its_typed_setting(svc: HnsService) -> None:
    net = create_network(svc)["ID"]
    ep = create_endpoint(svc, net)["ID"]
    ns = svc.hcn_call("HcnCreateNamespace", None, json.dumps(
        {"SchemaVersion": {"Major": 2, "Minor": 0}}))["ID"]
    # only the field of the resource type is read: a stray one is not judged
    _namespace_member(svc, ns, "Endpoint", {"EndpointId": ep, "ContainerId": 5})
    _namespace_member(svc, ns, "Container", {"ContainerId": "c1", "EndpointId": [1]})
    got = svc.hcn_call("HcnQueryNamespaceProperties", ns, None)
    assert {(r["Type"], r["Data"]["ID"].lower()) for r in got["Resources"]} == {
        ("Endpoint", ep.lower()), ("Container", "c1")}
    for settings in ({"EndpointId": 5}, {"EndpointId": ""}, {}, None, [ep]):
        with pytest.raises(errors.InvalidArg):
            _namespace_member(svc, ns, "Endpoint", settings, "Remove")
    _namespace_member(svc, ns, "Endpoint", {"EndpointId": ep}, "Remove")
