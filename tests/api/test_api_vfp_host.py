"""The /vfp routes over a real Host: ``create_app(HnsService)`` wraps the service in a Host
whose compiler gives every local endpoint created through the API a port (id = endpoint
ID, name = endpoint Name) with the real layer names; deleting the endpoint removes it.
Served by a real uvicorn in a thread."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_server_helpers import ThreadedServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vxlan
from api import vfpctrl
from api.app import create_app
from hns.hosts import Host
from hns.service import HnsService

V2 = {"Major": 2, "Minor": 0}
ACL_ALLOW_OUT = {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "Out",
                                             "Priority": 1000, "RuleType": "Switch",
                                             "Protocols": "6", "RemotePorts": "443"}}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ThreadedServer, Any]]:
    service = HnsService(state=":memory:")
    app = create_app(service)
    app.state.host.start()  # the pump moves the containers' answers
    server = ThreadedServer(app).start()
    try:
        yield server, app
    finally:
        server.stop()
        app.state.host.close()
        service.close()


@pytest.fixture
def http(served: tuple[ThreadedServer, Any]) -> Iterator[httpx.Client]:
    server, _ = served
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.post("/_emulator/reset").status_code == 204
        yield c


def _nat_endpoint(http: httpx.Client, name: str, policies: list[Any]) -> dict[str, Any]:
    nets = http.get("/hcn/networks").json()
    if nets:
        net_id = nets[0]
    else:
        net_id = http.post("/hcn/networks", json={
            "Name": "nat", "Type": "NAT", "SchemaVersion": V2,
            "Ipams": [{"Type": "Static", "Subnets": [{
                "IpAddressPrefix": "172.20.0.0/16",
                "Routes": [{"NextHop": "172.20.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
        }).json()["ID"]
    response = http.post("/hcn/endpoints", json={
        "Name": name, "HostComputeNetwork": net_id, "SchemaVersion": V2, "Policies": policies})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


_PING = vxlan.encode_frame(vxlan.Frame(
    vxlan.Ethernet(b"\x02" * 6, b"\x00\x15\x5d\x00\x00\x01", vxlan.ETH_P_IPV4),
    ip=vxlan.IPv4(vxlan.ipv4_from_text("172.20.0.2"), vxlan.ipv4_from_text("172.20.0.9"),
                  vxlan.IPPROTO_ICMP),
    l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 1, 1), payload=b"x" * 32))
_VXLAN = vxlan.encapsulate(_PING, vni=4096, src_pa="10.0.0.9", dst_pa="10.0.0.1",
                           src_mac="00-15-5D-00-00-09", dst_mac="00-15-5D-00-00-01")


def _mutate(kind: str, cut: int, flip: list[int]) -> bytes:
    """A valid frame, cut short and with a few bytes inverted."""
    data = bytearray((_PING if kind == "ping" else _VXLAN)[: max(cut, 1)])
    for i in flip:
        if i < len(data):
            data[i] ^= 0xFF
    return bytes(data)


def test_create_app_wraps_a_service_in_a_host(served: tuple[ThreadedServer, Any]) -> None:
    _, app = served
    assert isinstance(app.state.host, Host)
    assert app.state.host.service is app.state.service


def test_endpoint_created_through_api_gets_a_port(http: httpx.Client) -> None:
    ep = _nat_endpoint(http, "pod-a", [ACL_ALLOW_OUT])
    ports = http.get("/vfp/ports").json()["Ports"]
    mine = [p for p in ports if p["Endpoint"] is not None]
    # The port has a GUID of its own (EndpointPortGuid), and names its endpoint.
    assert [p["FriendlyName"] for p in mine] == ["pod-a"]
    assert mine[0]["Id"].lower() != ep["ID"].lower()
    assert mine[0]["Endpoint"].lower() == ep["ID"].lower()

    layers = http.get(f"/vfp/ports/{ep['ID']}/layers").json()["Layers"]
    assert "ACL_ENDPOINT_LAYER" in [lay["Id"] for lay in layers]
    rules = http.get("/vfp/ports/pod-a/rules", params={"layer": "ACL_ENDPOINT_LAYER"}).json()
    priorities = [r["Priority"] for g in rules["Layers"][0]["Groups"] for r in g["Rules"]]
    assert 1000 in priorities, rules


def test_deleted_endpoint_loses_its_port(http: httpx.Client) -> None:
    ep = _nat_endpoint(http, "pod-b", [])
    assert http.get(f"/vfp/ports/{ep['ID']}").status_code == 200
    assert http.delete(f"/hcn/endpoints/{ep['ID']}").status_code == 204
    response = http.get(f"/vfp/ports/{ep['ID']}")
    assert response.status_code == 404
    assert response.json()["ErrorCode"] == 0x803B0007


def test_vfpctrl_lists_compiled_layers_by_endpoint_name(
    http: httpx.Client, served: tuple[ThreadedServer, Any]
) -> None:
    server, _ = served
    _nat_endpoint(http, "pod-c", [ACL_ALLOW_OUT])
    out, err = io.StringIO(), io.StringIO()
    code = vfpctrl.main(["--url", server.url, "/port", "pod-c", "/list-layer"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "LAYER : ACL_ENDPOINT_LAYER\r\n" in out.getvalue()
    assert out.getvalue().endswith("Command list-layer succeeded!\r\n")


def _addr(ep: dict[str, Any]) -> tuple[str, str]:
    return ep["IpConfigurations"][0]["IpAddress"], ep["MacAddress"]


def test_ping_between_local_endpoints_is_answered_and_captured(http: httpx.Client) -> None:
    a_ip, a_mac = _addr(_nat_endpoint(http, "pod-a", []))
    b = _nat_endpoint(http, "pod-b", [])
    b_ip, b_mac = _addr(b)
    request = vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(vxlan.mac_from_text(b_mac), vxlan.mac_from_text(a_mac),
                       vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(a_ip), vxlan.ipv4_from_text(b_ip),
                      vxlan.IPPROTO_ICMP),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 7, 1), payload=b"y" * 32))
    answer = http.post("/vfp/ports/pod-a/inject",
                       json={"Frame": request.hex(), "Direction": "OUT"}).json()
    assert answer["Delivery"]["Where"] == "endpoint", answer
    assert answer["Delivery"]["Target"].lower() == b["ID"].lower()
    assert [h["Direction"] for h in answer["Hops"]] == ["OUT", "IN"]
    got = http.get("/vfp/ports/pod-b/received").json()["FramesHex"]
    assert vxlan.decode_frame(bytes.fromhex(got[-1])).ip.src == vxlan.ipv4_from_text(a_ip)
    replies: list[vxlan.Frame] = []
    while not replies:  # the pump's answer; pytest-timeout bounds the wait, not a clock
        frames = http.get("/vfp/ports/pod-a/received").json()["FramesHex"]
        replies = [f for f in map(vxlan.decode_frame, map(bytes.fromhex, frames))
                   if isinstance(f.l4, vxlan.ICMPv4) and f.l4.type == vxlan.ICMPv4.ECHO_REPLY]
        time.sleep(0.02)
    assert replies, http.get("/vfp/host").json()
    assert replies[0].ip is not None
    assert replies[0].ip.src == vxlan.ipv4_from_text(b_ip)
    counters = http.get("/vfp/host").json()
    assert counters["Ports"] >= 2
    assert counters["Pending"] == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frame=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda head, cut, flip: _mutate(head, cut, flip),
            st.sampled_from(["ping", "vxlan"]),
            st.integers(0, 120),
            st.lists(st.integers(0, 119), max_size=3),
        ),
    ),
    direction=st.sampled_from(["OUT", "IN"]),
    want_trace=st.booleans(),
)
def test_inject_random_frames_never_5xx(
    http: httpx.Client, frame: bytes, direction: str, want_trace: bool
) -> None:
    ports = [p for p in http.get("/vfp/ports").json()["Ports"] if p["Endpoint"]]
    if not ports:
        _nat_endpoint(http, "fuzz", [ACL_ALLOW_OUT])
        ports = [p for p in http.get("/vfp/ports").json()["Ports"] if p["Endpoint"]]
    response = http.post(f"/vfp/ports/{ports[0]['Id']}/inject",
                         json={"Frame": frame.hex(), "Direction": direction,
                               "Trace": want_trace})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["Verdict"] in ("allow", "drop")
    assert answer["Delivery"]["Where"] in ("endpoint", "underlay", "external", "arp", "dropped")
    assert (answer["Trace"] is not None) == (want_trace and bool(answer["Hops"]))
