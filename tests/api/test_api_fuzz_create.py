"""Generated JSON thrown at every create route: never a 5xx, always an HNS-shaped error
body on failure, and a failed create leaves the state exactly as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from hns.service import HnsService

KEYS = [
    "ID",
    "Name",
    "Type",
    "Flags",
    "Ipams",
    "Subnets",
    "IpAddressPrefix",
    "AddressPrefix",
    "GatewayAddress",
    "Routes",
    "NextHop",
    "DestinationPrefix",
    "Policies",
    "Settings",
    "VSID",
    "IsolationId",
    "VirtualNetwork",
    "HostComputeNetwork",
    "IpConfigurations",
    "IpAddress",
    "IPAddress",
    "PrefixLength",
    "MacAddress",
    "IsRemoteEndpoint",
    "HostComputeEndpoints",
    "FrontendVIPs",
    "PortMappings",
    "Protocol",
    "InternalPort",
    "ExternalPort",
    "References",
    "SchemaVersion",
    "Major",
    "Minor",
    "Resources",
    "PA",
    "ProviderAddress",
    "ExceptionList",
    "Exceptions",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "",
            "NAT",
            "Overlay",
            "L2Bridge",
            "Transparent",
            "ICS",
            "VSID",
            "ELB",
            "PortMapping",
            "ProviderAddress",
            "OutBoundNAT",
            "10.0.0.0/24",
            "10.0.0.1",
            "0.0.0.0/0",
            "00-15-5D-00-00-01",
            "not-a-guid",
            "00000000-0000-0000-0000-000000000000",
            "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            "/endpoints/x",
        ]
    ),
    st.text(max_size=12),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6),
    ),
    max_leaves=25,
)
BODIES = st.one_of(
    JSON.map(json.dumps),
    st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8).map(json.dumps),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)

CREATE_ROUTES = [
    "/networks",
    "/endpoints",
    "/policylists",
    "/namespaces",
    "/hcn/networks",
    "/hcn/endpoints",
    "/hcn/loadbalancers",
    "/hcn/namespaces",
    "/hcn/sdnroutes",
]


@pytest.fixture(scope="module")
def setup() -> tuple[HnsService, TestClient]:
    service = HnsService(state=":memory:")
    http = TestClient(create_app(service), raise_server_exceptions=False)
    # A network for endpoint bodies that name it to reach deeper validation.
    http.post(
        "/networks",
        json={
            "Name": "fuzz",
            "Type": "NAT",
            "Subnets": [{"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1"}],
        },
    )
    return service, http


def _check(http: TestClient, service: HnsService, method: str, path: str, body: str) -> Any:
    before = service.dump()
    r = http.request(method, path, content=body.encode("utf-8", "surrogatepass"))
    assert r.status_code < 500, (path, body, r.text)
    answer = r.json()
    if r.status_code >= 400 or (isinstance(answer, dict) and answer.get("Success") is False):
        assert answer["Success"] is False
        assert isinstance(answer["Error"], str)
        assert answer["Error"]
        assert isinstance(answer["ErrorCode"], int)
        assert service.dump() == before, (path, body)
    return answer


@pytest.mark.parametrize("route", CREATE_ROUTES)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_create_route_generated_json_never_5xx_nothing_half_created(
    setup: tuple[HnsService, TestClient], route: str, body: str
) -> None:
    service, http = setup
    _check(http, service, "POST", route, body)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    function=st.sampled_from(
        [
            "HcnCreateNetwork",
            "HcnCreateEndpoint",
            "HcnCreateLoadBalancer",
            "HcnCreateNamespace",
            "HcnCreateSdnRoute",
        ]
    ),
    body=BODIES,
)
def test_hcn_call_create_generated_json_never_5xx_nothing_half_created(
    setup: tuple[HnsService, TestClient], function: str, body: str
) -> None:
    service, http = setup
    before = service.dump()
    r = http.post("/hcn/call", json={"Function": function, "Id": None, "Settings": body})
    assert r.status_code == 200, r.text
    answer = r.json()
    if answer["HResult"]:
        error = json.loads(answer["Result"])
        assert error["Success"] is False
        assert error["Error"].endswith(" ")
        assert service.dump() == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(["/networks/", "/endpoints/", "/policylists/", "/namespaces/"]),
    body=BODIES,
)
def test_hnscall_create_generated_json_never_5xx_nothing_half_created(
    setup: tuple[HnsService, TestClient], path: str, body: str
) -> None:
    service, http = setup
    before = service.dump()
    r = http.post("/hnscall", json={"Method": "POST", "Path": path, "Request": body})
    assert r.status_code == 200, r.text
    answer = r.json()
    if answer["Success"] is False:
        assert isinstance(answer["ErrorCode"], int)
        assert service.dump() == before


# -- near-valid bodies: a valid create with one to three parts replaced or removed ----------
# Random JSON rarely gets past the first check; mutated valid bodies reach the deep
# validation paths (policies, IPAM, reservations), where a half-made object could hide.


def _templates(net: str, net_v1: str, endpoint: str) -> dict[str, dict[str, Any]]:
    v2 = {"Major": 2, "Minor": 0}
    return {
        "/networks": {
            "Name": "mut-nat",
            "Type": "NAT",
            "Policies": [{"Type": "VLAN", "VLAN": 1}],
            "Subnets": [{"AddressPrefix": "172.25.0.0/16", "GatewayAddress": "172.25.0.1"}],
        },
        "/endpoints": {
            "Name": "mut",
            "VirtualNetwork": net_v1,
            "IPAddress": "10.0.0.50",
            "Policies": [
                {"Type": "OutBoundNAT", "ExceptionList": ["10.0.0.0/8"]},
                {"Type": "NAT", "Protocol": "TCP", "InternalPort": 80, "ExternalPort": 8080},
            ],
        },
        "/policylists": {
            "References": [f"/endpoints/{endpoint}"],
            "Policies": [
                {
                    "Type": "ELB",
                    "Protocol": 6,
                    "InternalPort": 80,
                    "ExternalPort": 80,
                    "VIPs": ["10.96.0.7"],
                }
            ],
        },
        "/namespaces": {"IsDefault": False},
        "/hcn/networks": {
            "Name": "mut-overlay",
            "Type": "Overlay",
            "Flags": 8,
            "SchemaVersion": v2,
            "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.1.1.1"}}],
            "Ipams": [
                {
                    "Type": "Static",
                    "Subnets": [
                        {
                            "IpAddressPrefix": "10.244.0.0/24",
                            "Routes": [{"NextHop": "10.244.0.1", "DestinationPrefix": "0.0.0.0/0"}],
                            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
                        }
                    ],
                }
            ],
        },
        "/hcn/endpoints": {
            "HostComputeNetwork": net,
            "SchemaVersion": v2,
            "MacAddress": "00-15-5D-AA-00-01",
            "IpConfigurations": [{"IpAddress": "10.0.0.60", "PrefixLength": 24}],
            "Policies": [
                {
                    "Type": "PortMapping",
                    "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8081},
                },
                {
                    "Type": "ACL",
                    "Settings": {
                        "Action": "Allow",
                        "Direction": "In",
                        "Priority": 100,
                        "Protocols": "6",
                    },
                },
            ],
        },
        "/hcn/loadbalancers": {
            "HostComputeEndpoints": [endpoint],
            "FrontendVIPs": ["10.96.0.8"],
            "SourceVIP": "10.0.0.2",
            "SchemaVersion": v2,
            "Flags": 1,
            "PortMappings": [
                {
                    "Protocol": 17,
                    "InternalPort": 53,
                    "ExternalPort": 53,
                    "DistributionType": 2,
                    "Flags": 2,
                }
            ],
        },
        "/hcn/namespaces": {"Type": "Host", "SchemaVersion": v2},
        "/hcn/sdnroutes": {
            "HostComputeEndpoints": [endpoint],
            "SchemaVersion": v2,
            "Routes": [
                {"DestinationPrefix": "10.9.0.0/16", "NextHop": "10.0.0.1", "NeedEncap": True}
            ],
        },
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(doc: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    doc = json.loads(json.dumps(doc))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


#: The state the templates were written against, before any mutation ran.
BASELINE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def templates(setup: tuple[HnsService, TestClient]) -> dict[str, dict[str, Any]]:
    service, http = setup
    [net_v1] = [n["ID"] for n in http.get("/networks").json()["Output"] if n["Name"] == "fuzz"]
    ep = http.post("/endpoints", json={"Name": "backend", "VirtualNetwork": net_v1}).json()
    BASELINE.update(service.dump())
    return _templates(net_v1.lower(), net_v1, ep["Output"]["ID"])


@pytest.mark.parametrize("route", CREATE_ROUTES)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_create_route_mutated_valid_body_never_5xx_nothing_half_created(
    setup: tuple[HnsService, TestClient],
    templates: dict[str, dict[str, Any]],
    route: str,
    data: st.DataObject,
) -> None:
    service, http = setup
    doc: Any = templates[route]
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        doc = _mutate(doc, path, data.draw(JSON), delete=data.draw(st.booleans()))
    _check(http, service, "POST", route, json.dumps(doc))


def test_templates_are_valid_creates(
    setup: tuple[HnsService, TestClient], templates: dict[str, dict[str, Any]]
) -> None:
    """The mutation base must itself succeed, or the mutations test nothing deep."""
    fresh = HnsService(state=":memory:")
    fresh.load(BASELINE)
    client = TestClient(create_app(fresh))
    for route, body in templates.items():
        r = client.post(route, json=body)
        assert r.status_code < 300, (route, r.text)
        answer = r.json()
        assert not (isinstance(answer, dict) and answer.get("Success") is False), (route, answer)
