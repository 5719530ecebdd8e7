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
