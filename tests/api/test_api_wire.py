"""The wire layer: routes, envelopes, statuses and error shapes, over the real in-memory
HnsService wrapped so it records every call the app makes (method, path or export, id and
the exact request text). The recording shows that each route maps onto the right
hns_call/hcn_call with the body untouched; the real backend keeps the answers honest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from hns.service import HnsService

V2 = {"Major": 2, "Minor": 0}
NAT_V1 = {"Name": "nat", "Type": "NAT",
          "Subnets": [{"AddressPrefix": "172.21.16.0/20", "GatewayAddress": "172.21.16.1"}]}


def nat_v2(name: str, prefix: str = "10.0.0.0/24") -> dict[str, Any]:
    return {"Name": name, "Type": "NAT", "SchemaVersion": V2,
            "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": prefix}]}]}


class RecordingService(HnsService):
    """The real service; each hns_call/hcn_call is also appended to ``recorded`` as
    ("hns", method, path, request text) or ("hcn", export, id, settings text)."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: list[tuple[str, ...]] = []

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        self.recorded.append(("hns", method, path, request or ""))
        return super().hns_call(method, path, request)

    def hcn_call(self, function: str, id: str | None = None,
                 settings: str | None = None) -> Any:
        self.recorded.append(("hcn", function, id or "", settings or ""))
        return super().hcn_call(function, id, settings)


@pytest.fixture
def fake() -> Iterator[RecordingService]:
    service = RecordingService()
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def http(fake: RecordingService) -> TestClient:
    return TestClient(create_app(fake), raise_server_exceptions=False)


def test_v1_list_networks_with_and_without_trailing_slash(
    http: TestClient, fake: RecordingService
) -> None:
    assert http.get("/networks").json() == {"Success": True, "Error": "", "Output": []}
    assert http.get("/networks/").json() == {"Success": True, "Error": "", "Output": []}
    assert fake.recorded[-1] == ("hns", "GET", "/networks/", "")


def test_v1_create_passes_raw_body_text_to_hns_call(
    http: TestClient, fake: RecordingService
) -> None:
    body = json.dumps(NAT_V1)
    answer = http.post("/networks/", content=body).json()
    assert answer["Success"] is True
    assert answer["Output"]["Name"] == "nat"
    assert fake.recorded[-1] == ("hns", "POST", "/networks/", body)


def test_v1_item_paths_reach_hns_call_unchanged(http: TestClient, fake: RecordingService) -> None:
    net = http.post("/networks", json=NAT_V1).json()["Output"]
    ep = http.post("/endpoints", json={"Name": "e", "VirtualNetwork": net["ID"]}).json()["Output"]
    eid = ep["ID"]
    http.post(f"/endpoints/{eid}/attach", json={"SystemType": "Host"})
    assert fake.recorded[-1][:3] == ("hns", "POST", f"/endpoints/{eid}/attach")
    http.post(f"/endpoints/{eid}/detach/", json={"SystemType": "Host"})
    assert fake.recorded[-1][:3] == ("hns", "POST", f"/endpoints/{eid}/detach")
    assert http.get(f"/endpointstats/{eid}").json()["Success"] is True
    assert fake.recorded[-1][:3] == ("hns", "GET", f"/endpointstats/{eid}")
    ns = http.post("/namespaces", json={}).json()["Output"]
    resource = {"Type": "Endpoint", "Data": {"Id": eid}}
    assert http.post(f"/namespaces/{ns['ID']}/addresource", json=resource).json()["Success"]
    assert fake.recorded[-1][:3] == ("hns", "POST", f"/namespaces/{ns['ID']}/addresource")
    http.post(f"/namespaces/{ns['ID']}/removeresource", json=resource)
    assert fake.recorded[-1][:3] == ("hns", "POST", f"/namespaces/{ns['ID']}/removeresource")
    assert http.delete(f"/endpoints/{eid}").json() == {"Success": True, "Error": ""}


def test_v1_error_is_envelope_with_rest_status(http: TestClient) -> None:
    r = http.get("/networks/5c2d8a4e-0000-4000-8000-000000000001")
    assert r.status_code == 404
    assert r.json() == {"Success": False, "Error": "Element not found.", "ErrorCode": 0x80070490}


def test_v1_conflict_is_409(http: TestClient) -> None:
    http.post("/networks", json=NAT_V1)
    r = http.post("/networks", json=NAT_V1)
    assert r.status_code == 409
    assert r.json()["ErrorCode"] == 0x803B0010


def test_v1_malformed_json_is_400_invalid_json(http: TestClient) -> None:
    r = http.post("/networks", content=b"{not json")
    assert r.status_code == 400
    assert r.json() == {
        "Success": False,
        "Error": "Invalid JSON document string.",
        "ErrorCode": 0x803B001B,
    }


def test_v1_non_utf8_body_is_400_invalid_json(http: TestClient) -> None:
    r = http.post("/endpoints", content=b"\xff\xfe{}")
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == 0x803B001B


def test_globals_version_follows_profile(http: TestClient, fake: RecordingService) -> None:
    assert http.get("/globals/version").json()["Output"] == {"Major": 15, "Minor": 4}
    fake.set_profile("ws2019")
    got = http.get("/globals/version/").json()["Output"]
    assert got["Major"] == 9
    assert got == fake.globals_version()


def test_v2_error_has_trailing_space_and_unsigned_code(http: TestClient) -> None:
    r = http.get("/hcn/namespaces/0d4d8f6c-1111-4222-8333-444455556666")
    assert r.status_code == 404
    assert r.json() == {"Success": False, "Error": "Element not found. ", "ErrorCode": 2147943568}


@pytest.mark.parametrize(
    "kind", ["networks", "endpoints", "loadbalancers", "namespaces", "sdnroutes"]
)
def test_v2_crud_routes_call_the_hcn_exports(
    http: TestClient, fake: RecordingService, kind: str
) -> None:
    singular = {
        "networks": "Network",
        "endpoints": "Endpoint",
        "loadbalancers": "LoadBalancer",
        "namespaces": "Namespace",
        "sdnroutes": "SdnRoute",
    }[kind]
    plural = singular + "s"
    body, modify = _v2_bodies(http, kind)
    r = http.post(f"/hcn/{kind}", json=body)
    assert r.status_code == 201, r.json()
    oid = r.json()["ID"]
    assert fake.recorded[-1][1] == f"HcnCreate{singular}"
    assert json.loads(fake.recorded[-1][3]) == body
    assert oid in http.get(f"/hcn/{kind}").json()
    assert fake.recorded[-1][1] == f"HcnEnumerate{plural}"
    assert json.loads(fake.recorded[-1][3]) == {"SchemaVersion": {"Major": 2, "Minor": 0}}
    assert http.get(f"/hcn/{kind}/{oid}/").json()["ID"] == oid
    assert fake.recorded[-1][1] == f"HcnQuery{singular}Properties"
    r = http.post(f"/hcn/{kind}/{oid}/modify", json=modify)
    if kind == "sdnroutes":  # HNS has no modify for SDN routes; the call still reaches it
        assert r.status_code == 400
        assert r.json()["ErrorCode"] == 0x803B0015
    else:
        assert r.status_code == 204, r.json()
    assert fake.recorded[-1][1:3] == (f"HcnModify{singular}", oid)
    assert json.loads(fake.recorded[-1][3]) == modify
    assert http.delete(f"/hcn/{kind}/{oid}").status_code == 204
    assert fake.recorded[-1][1:3] == (f"HcnDelete{singular}", oid)
    assert oid not in http.get(f"/hcn/{kind}").json()


def _v2_bodies(http: TestClient, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A create body real clients send for `kind`, and a modify request it accepts."""
    if kind == "networks":
        return nat_v2("x"), {"ResourceType": "Policy", "RequestType": "Add", "Settings": {
            "Policies": [{"Type": "DrMacAddress", "Settings": {"Address": "00-15-5D-00-00-01"}}]}}
    if kind == "namespaces":
        return {"Type": "Host", "SchemaVersion": V2}, {
            "ResourceType": "Container", "RequestType": "Add", "Settings": {"ContainerId": "c1"}}
    net = http.post("/hcn/networks", json=nat_v2("n")).json()["ID"]
    ep = http.post("/hcn/endpoints", json={"HostComputeNetwork": net, "SchemaVersion": V2})
    ep_id = ep.json()["ID"]
    acl = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "In", "Priority": 100}}
    policy_add = {"ResourceType": "Policy", "RequestType": "Add",
                  "Settings": {"Policies": [acl]}}
    if kind == "endpoints":
        return {"HostComputeNetwork": net, "SchemaVersion": V2}, policy_add
    if kind == "loadbalancers":
        body = {"HostComputeEndpoints": [ep_id], "FrontendVIPs": ["10.96.0.10"],
                "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
                "SchemaVersion": V2}
        return body, dict(body, FrontendVIPs=["10.96.0.11"])
    route = {"HostComputeEndpoints": [ep_id], "SchemaVersion": V2,
             "Routes": [{"NextHop": "10.0.0.1", "DestinationPrefix": "10.1.0.0/16"}]}
    return route, {"ResourceType": "Policy", "RequestType": "Add", "Settings": {}}


def test_v2_enumerate_passes_query_text(http: TestClient, fake: RecordingService) -> None:
    http.post("/hcn/networks", json=nat_v2("cbr0"))
    http.post("/hcn/networks", json=nat_v2("other", "10.1.0.0/24"))
    query = json.dumps({"SchemaVersion": {"Major": 2, "Minor": 0}, "Filter": '{"Name":"cbr0"}'})
    ids = http.get("/hcn/networks", params={"query": query}).json()
    assert len(ids) == 1
    assert fake.recorded[-1] == ("hcn", "HcnEnumerateNetworks", "", query)


def test_v2_create_keeps_caller_id_and_ignores_zero_guid(
    http: TestClient, fake: RecordingService
) -> None:
    given = "A1B2C3D4-0000-4000-8000-00000000BEEF"
    assert http.post("/hcn/networks", json={**nat_v2("a"), "ID": given}).json()["ID"] == given
    assert fake.recorded[-1][2] == given
    zero = "00000000-0000-0000-0000-000000000000"
    made = http.post("/hcn/networks", json={**nat_v2("b", "10.1.0.0/24"), "ID": zero}).json()
    assert fake.recorded[-1][2] == ""
    assert made["ID"] != zero


def test_v2_create_without_body_is_invalid_json(http: TestClient) -> None:
    r = http.post("/hcn/networks")
    assert r.status_code == 400
    assert r.json()["Error"] == "Invalid JSON document string. "


def test_hnscall_mirror_answers_v1_envelope(http: TestClient) -> None:
    r = http.post(
        "/hnscall", json={"Method": "POST", "Path": "/networks/", "Request": json.dumps(NAT_V1)}
    )
    assert r.status_code == 200
    assert r.json()["Output"]["Name"] == "nat"
    r = http.post("/hnscall", json={"Method": "GET", "Path": "/networks/nope", "Request": ""})
    assert r.status_code == 200
    assert r.json() == {"Success": False, "Error": "Element not found.", "ErrorCode": 0x80070490}


def test_hnscall_mirror_accepts_object_request(http: TestClient, fake: RecordingService) -> None:
    http.post("/hnscall", json={"Method": "POST", "Path": "/networks", "Request": NAT_V1})
    assert json.loads(fake.recorded[-1][3]) == NAT_V1


def test_hnscall_mirror_rejects_bad_call_document(http: TestClient) -> None:
    r = http.post("/hnscall", json={"Method": 5, "Path": "/networks"})
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == 0x80070057


def test_hcn_call_mirror_success_and_failure(http: TestClient) -> None:
    r = http.post(
        "/hcn/call", json={"Function": "HcnCreateNetwork", "Id": None, "Settings": nat_v2("x")}
    ).json()
    assert r["HResult"] == 0
    assert r["Result"] is None
    created = json.loads(r["Properties"])
    assert created["Name"] == "x"
    r = http.post(
        "/hcn/call",
        json={
            "Function": "HcnQueryNetworkProperties",
            "Id": created["ID"],
            "Query": '{"SchemaVersion":{"Major":2,"Minor":0}}',
        },
    ).json()
    assert json.loads(r["Properties"])["ID"] == created["ID"]
    missing = "0d4d8f6c-1111-4222-8333-444455556666"
    r = http.post("/hcn/call", json={"Function": "HcnOpenNamespace", "Id": missing}).json()
    assert r["HResult"] == 0x80070490
    assert json.loads(r["Result"]) == {
        "Success": False,
        "Error": "Element not found. ",
        "ErrorCode": 0x80070490,
    }
    assert r["Properties"] is None


def test_emulator_health_profile_reset_state_reboot(
    http: TestClient, fake: RecordingService
) -> None:
    assert http.get("/_emulator/health").json()["Status"] == "ok"
    prof = http.get("/_emulator/profile").json()
    assert prof["Profile"] == "ws2025"
    assert set(prof["Profiles"]) == {"ws2019", "ws2022", "ws2025"}
    r = http.put("/_emulator/profile", json={"Profile": "ws2022"})
    assert r.json()["Version"] == {"Major": 13, "Minor": 3}
    r = http.put("/_emulator/profile", json={"Profile": "ws1803"})
    assert r.status_code == 400
    assert r.json()["Error"] == "The parameter is incorrect. "
    http.post("/networks", json={**NAT_V1, "Name": "keep"})
    dump = http.get("/_emulator/state").json()
    assert http.post("/_emulator/reset").status_code == 204
    assert http.get("/networks").json()["Output"] == []
    assert http.put("/_emulator/state", json=dump).status_code == 204
    assert [n["Name"] for n in http.get("/networks").json()["Output"]] == ["keep"]
    assert http.post("/_emulator/reboot").status_code == 204
    assert [n["Name"] for n in http.get("/networks").json()["Output"]] == ["keep"]


def test_emulator_import_passes_text(http: TestClient) -> None:
    text = json.dumps({"Success": True, "Output": [
        {**NAT_V1, "ID": "B5083512-BE1D-4326-B58F-56CA5154E8D5"}]})
    r = http.post("/_emulator/import", content=text, headers={"Content-Type": "text/plain"})
    assert r.json() == {"IDs": ["B5083512-BE1D-4326-B58F-56CA5154E8D5"]}


def test_oversized_body_is_413_in_hns_shape(fake: RecordingService) -> None:
    http = TestClient(create_app(fake, max_body=1000))
    r = http.post("/networks", content=b'{"Name":"' + b"x" * 2000 + b'"}')
    assert r.status_code == 413
    assert r.json()["ErrorCode"] == 0x80070057
    assert fake.dump()["Objects"]["network"] == []
    assert fake.recorded == []  # refused before the service saw it


def test_unknown_route_and_method_answer_in_hns_shape(http: TestClient) -> None:
    r = http.get("/nosuch")
    assert r.status_code == 404
    assert r.json()["Success"] is False
    r = http.put("/networks")
    assert r.status_code == 405
    assert r.json()["ErrorCode"] == 0x803B0015


def test_bad_query_parameter_type_is_hns_400() -> None:
    # /hcn/<kind>?query= is a string, so provoke validation through a repeated query.
    service = RecordingService()
    http = TestClient(create_app(service))
    r = http.get("/hcn/networks", params={"query": "not json"})
    service.close()
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == 0x803B001B


class _Exploding(RecordingService):
    def hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        raise RuntimeError("emulator bug")


def test_unexpected_exception_still_answers_in_hns_shape() -> None:
    http = TestClient(create_app(_Exploding()), raise_server_exceptions=False)
    r = http.get("/networks")
    assert r.status_code == 500
    assert r.json() == {"Success": False, "Error": "Unspecified error.", "ErrorCode": 0x80004005}


def test_token_required_when_configured(fake: RecordingService) -> None:
    http = TestClient(create_app(fake, token="s3cret"))
    r = http.get("/networks")
    assert r.status_code == 401
    assert r.json() == {"Success": False, "Error": "Access is denied.", "ErrorCode": 0x80070005}
    assert http.get("/hcn/networks", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = http.get("/networks", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_openapi_document_lists_every_route(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    paths = set(doc["paths"])
    for p in (
        "/networks",
        "/networks/{id}",
        "/endpoints/{id}/attach",
        "/endpoints/{id}/detach",
        "/policylists/{id}",
        "/namespaces/{id}/addresource",
        "/namespaces/{id}/removeresource",
        "/endpointstats/{id}",
        "/globals/version",
        "/hnscall",
        "/hcn/call",
        "/hcn/sdnroutes/{id}/modify",
        "/_emulator/state",
        "/_emulator/profile",
    ):
        assert p in paths
    assert http.get("/docs").status_code == 200


def test_v1_body_with_utf8_bom_is_accepted(http: TestClient, fake: RecordingService) -> None:
    text = json.dumps({**NAT_V1, "Name": "bom"})
    r = http.post("/networks", content=b"\xef\xbb\xbf" + text.encode())
    assert r.json()["Output"]["Name"] == "bom"
    assert fake.recorded[-1][3] == text
