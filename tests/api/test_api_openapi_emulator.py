"""The emulator's own routes (/_emulator, /vfp, /_bridge) answer what the OpenAPI document
says: every route is called on a real backend (a NAT network with an endpoint, so the VFP
port is the compiler's) and its answer validates against the model the document names for
it.  The answer models forbid extra fields, so a field a route grows without the document
saying so fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api import emulator_bodies, vfp_bodies
from api.app import create_app
from api.openapi import own_models, own_route_models
from hns import schema as hns_schema
from hns.service import HnsService

ROUTES = own_route_models()
NETWORK = {"Name": "doc-net", "Type": "NAT", "SchemaVersion": {"Major": 2, "Minor": 0},
           "Ipams": [{"Type": "Static", "Subnets": [{
               "IpAddressPrefix": "172.31.0.0/24",
               "Routes": [{"NextHop": "172.31.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    service = HnsService(state=":memory:")
    try:
        with TestClient(create_app(service), raise_server_exceptions=False) as client:
            yield client
    finally:
        service.close()


class Checker:
    """Calls a route, checks the status the document gives and validates the answer."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, method: str, template: str, url: str | None = None,
                 body: Any = None, *, text: str | None = None) -> Any:
        request_model, ok, answer_model = ROUTES[(method, template)]
        if body is not None and request_model is not None:
            request_model.model_validate(body)  # the bodies sent here are valid by the doc
        response = self.http.request(method.upper(), url or template, json=body,
                                     content=text)
        assert response.status_code == int(ok), (method, url, response.text)
        self.seen.add((method, template))
        if answer_model is None:
            return None
        if answer_model is emulator_bodies.BridgeOutput:
            return answer_model.model_validate(response.text).root
        doc = response.json()
        for item in doc if isinstance(doc, list) else [doc]:
            answer_model.model_validate(item)
        return doc


def test_every_own_route_answers_its_documented_model(http: TestClient) -> None:
    call = Checker(http)
    net = http.post("/hcn/networks", json=NETWORK).json()
    ep = http.post("/hcn/endpoints", json={
        "Name": "doc-ep", "HostComputeNetwork": net["ID"],
        "IpConfigurations": [{"IpAddress": "172.31.0.7"}],
        "SchemaVersion": {"Major": 2, "Minor": 0}}).json()

    call("get", "/_emulator/health")
    profile = call("get", "/_emulator/profile")
    call("put", "/_emulator/profile", body={"Profile": profile["Profile"]})
    state = call("get", "/_emulator/state")
    call("get", "/_emulator/service")
    call("post", "/_emulator/service", body={"Action": "start"})
    fault = call("post", "/_emulator/faults", body={
        "Target": "HcnCreateLoadBalancer", "Mode": "Fail", "HResult": "HCN_E_ADAPTER_NOT_FOUND"})
    call("get", "/_emulator/faults")
    call("delete", "/_emulator/faults/{id}", f"/_emulator/faults/{fault['Id']}")
    call("delete", "/_emulator/faults")
    system = call("post", "/_emulator/computesystems", body={
        "Id": "doc-pod", "Name": "doc-pod", "SystemType": "Container", "Owner": "test"})
    call("get", "/_emulator/computesystems")
    call("get", "/_emulator/computesystems/{id}", f"/_emulator/computesystems/{system['Id']}")
    call("post", "/_emulator/computesystems/{id}/modify",
         f"/_emulator/computesystems/{system['Id']}/modify",
         body={"ResourceType": "Network", "RequestType": "Add", "Settings": ep["ID"]})
    call("delete", "/_emulator/computesystems/{id}", f"/_emulator/computesystems/{system['Id']}")
    out = call("post", "/_bridge/{export}", "/_bridge/HcnEnumerateNetworks", text="")
    assert net["ID"].lower() in out.lower()

    ports = call("get", "/vfp/ports")["Ports"]
    port = next(p["Id"] for p in ports if p["Endpoint"] == ep["ID"])
    base = "/vfp/ports/{port}"
    at = f"/vfp/ports/{port}"
    call("get", base, at)
    layer = call("get", base + "/layers", at + "/layers")["Layers"][0]["Id"]
    call("get", base + "/layers/{layer}/groups", f"{at}/layers/{layer}/groups")
    call("post", base + "/process-tuples", at + "/process-tuples",
         body={"Tuples": "6 172.31.0.7 40000 8.8.8.8 443 out 1"})
    frame = ("ffffffffffff" + ep["MacAddress"].replace("-", "").lower() + "0806"
             + "0001080006040001" + ep["MacAddress"].replace("-", "").lower()
             + "ac1f0007" + "000000000000" + "ac1f0001")
    call("post", base + "/inject", at + "/inject",
         body={"Frame": frame, "Direction": "OUT", "Trace": True})
    call("post", base + "/inject", at + "/inject", body={
        "Frame": _tcp_frame(ep["MacAddress"]), "Direction": "out", "Trace": True})
    call("get", base + "/layers/{layer}/flows", f"{at}/layers/{layer}/flows")
    call("get", base + "/rules", at + "/rules")
    call("get", base + "/counters", at + "/counters")
    call("get", base + "/flows", at + "/flows")
    call("get", base + "/received", at + "/received")
    call("get", "/vfp/host")
    call("post", "/vfp/vfpctrl", body={"Args": ["/list-vmswitch-port"]})

    call("post", "/_emulator/import", text=_capture_text())
    recording = call("get", "/_emulator/calls")
    call("put", "/_emulator/state", body=state)
    report = call("post", "/_emulator/replay", "/_emulator/replay?reset=true", body=recording)
    assert report["Calls"] >= 2
    call("delete", "/_emulator/calls")
    call("post", "/_emulator/reset")
    call("post", "/_emulator/reboot")

    documented = set(ROUTES)
    assert call.seen == documented, documented - call.seen


def _tcp_frame(mac: str) -> str:
    from vxlan import build_frame

    return build_frame(6, 0xAC1F0007, 40000, 0x08080808, 443, tcp_flags=0x02,
                       src_mac=int(mac.replace("-", ""), 16), dst_mac=0x12345678ABCD).hex()


def _capture_text() -> str:
    return ('[{"ID": "5f6c2a8e-4f0b-4b8e-9d49-6b1f3c1f0a11", "Name": "imported",'
            ' "Type": "nat", "Subnets": [{"AddressPrefix": "172.29.0.0/24",'
            ' "GatewayAddress": "172.29.0.1"}]}]')


def test_errors_answer_their_documented_records(http: TestClient) -> None:
    missing = http.get("/vfp/ports/no-such-port")
    assert missing.status_code == 404
    record = vfp_bodies.VfpErrorRecord.model_validate(missing.json())
    assert record.detail
    bad = http.post("/_emulator/faults", json={"Target": 5})
    assert bad.status_code == 400
    hns_schema.HnsErrorRecord.model_validate(bad.json())


def test_own_model_names_do_not_shadow_hns_schemas() -> None:
    from api.openapi import component_schemas

    hns_names = set(component_schemas())
    own = {m.__name__ for m in own_models()}
    nested = {name for m in own_models()
              for name in m.model_json_schema().get("$defs", {})}
    assert not (own | nested) & hns_names


def test_request_examples_validate_against_their_models() -> None:
    for model in own_models():
        extra = model.model_config.get("json_schema_extra")
        example = extra.get("example") if isinstance(extra, dict) else None
        if example is not None and issubclass(model, BaseModel):
            model.model_validate(example)


def test_overview_and_id_lists_answer_their_documented_models(http: TestClient) -> None:
    """GET /ui/api/overview validates against UiOverview and every HcnEnumerate* answer
    against HcnIdList, with an object of every kind (so every nested row model is used)."""
    from uuid import UUID

    from hcn_builders import lb_body, network_v2

    from api.hcn_bodies import HcnIdList
    from api.ui.bodies import UiOverview

    http.post("/_emulator/reset")
    net = http.post("/hcn/networks", json=network_v2(
        "ov-net", "172.28.0.0/24", "172.28.0.1", "Overlay", Policies=[
            {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "192.168.1.10"}}])).json()
    local = http.post("/hcn/endpoints", json={
        "Name": "ov-ep", "HostComputeNetwork": net["ID"], "SchemaVersion": {"Major": 2, "Minor": 0},
        "IpConfigurations": [{"IpAddress": "172.28.0.7"}]}).json()
    remote = http.post("/hcn/endpoints", json={
        "Name": "ov-remote", "HostComputeNetwork": net["ID"], "Flags": 1,
        "SchemaVersion": {"Major": 2, "Minor": 0}, "MacAddress": "02-11-22-33-44-55",
        "IpConfigurations": [{"IpAddress": "172.28.0.9", "PrefixLength": 24}],
        "Policies": [{"Type": "ProviderAddress",
                      "Settings": {"ProviderAddress": "192.168.1.20"}}]})
    assert remote.status_code == 201, remote.text
    assert http.post("/hcn/loadbalancers", content=lb_body([local["ID"]])).status_code == 201
    ns = http.post("/hcn/namespaces", json={
        "Type": "HostDefault", "SchemaVersion": {"Major": 2, "Minor": 0}}).json()
    assert http.post(f"/hcn/namespaces/{ns['ID']}/modify", json={
        "ResourceType": "Endpoint", "RequestType": "Add",
        "Settings": {"EndpointId": local["ID"]}}).status_code == 204
    route = http.post("/hcn/sdnroutes", json={
        "HostComputeEndpoints": [local["ID"]], "SchemaVersion": {"Major": 2, "Minor": 0},
        "Routes": [{"NextHop": "172.28.0.1", "DestinationPrefix": "10.0.0.0/8"}]})
    assert route.status_code == 201, route.text

    response = http.get("/ui/api/overview")
    assert response.status_code == 200
    overview = UiOverview.model_validate(response.json())
    for rows in (overview.networks, overview.load_balancers, overview.namespaces,
                 overview.routes, overview.tunnels):
        assert rows
    assert {e.remote for e in overview.endpoints} == {True, False}
    for kind in ("networks", "endpoints", "loadbalancers", "namespaces", "sdnroutes"):
        ids = HcnIdList.model_validate(http.get(f"/hcn/{kind}").json()).root
        assert ids, kind
        for ident in ids:
            UUID(ident)  # the documented format: a GUID
