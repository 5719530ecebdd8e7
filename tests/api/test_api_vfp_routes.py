"""The /vfp routes and the vfpctrl command over a real uvicorn server, against a switch
the test programs by hand (so every answer can be checked against the vfp objects)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_server_helpers import ThreadedServer

from api import vfpctrl
from api.app import create_app
from api.vfp_routes import BareHost
from hns.service import HnsService
from vfp import IN, OUT, STATEFUL, TERMINATING, Allow, Block, Group, Layer, Rule, Switch
from vfp import conditions as cond
from vfp.addr import parse_ip
from vfp.ctl import run
from vxlan.packet import TCP_SYN, build_frame

PORT_ID = "C9385412-1D5B-4C53-9D6E-8A38B7F2E001"
POD_MAC = 0x00155D000001
POD_IP = parse_ip("10.0.0.4")[0]
WEB_IP = parse_ip("8.8.8.8")[0]


def _program(switch: Switch) -> None:
    port = switch.add_port(PORT_ID, name="pod1", mac=POD_MAC)
    acl = port.add_layer(Layer("ACL_ENDPOINT_LAYER", 15, stateful=True))
    out = acl.add_group(Group("ACL_ENDPOINT_GROUP_IPV4_OUT", 1, OUT))
    out.add_rule(Rule("allow-web", 1000, Allow(), cond(proto="6", dst_port="443"),
                      flags=TERMINATING | STATEFUL, ttl=240))
    out.add_rule(Rule("block-rest", 65500, Block(), flags=TERMINATING))
    acl.add_group(Group("ACL_ENDPOINT_GROUP_IPV4_IN", 1, IN)).add_rule(
        Rule("block-in", 65500, Block(), flags=TERMINATING)
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ThreadedServer, Switch]]:
    service = HnsService(state=":memory:")
    switch = Switch()
    _program(switch)
    server = ThreadedServer(create_app(BareHost(service, switch))).start()
    try:
        yield server, switch
    finally:
        server.stop()
        service.close()


@pytest.fixture
def http(served: tuple[ThreadedServer, Switch]) -> Iterator[httpx.Client]:
    server, switch = served
    switch.reset()
    _program(switch)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def _frame(dport: int, *, syn: bool = True) -> bytes:
    return build_frame(6, POD_IP, 40000, WEB_IP, dport, src_mac=POD_MAC, dst_mac=0x12345678ABCD,
                       tcp_flags=TCP_SYN if syn else 0x10)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_vfp_ports_list_the_switch_ports(http: httpx.Client) -> None:
    ports = _ok(http.get("/vfp/ports"))["Ports"]
    assert [p["Id"] for p in ports] == [PORT_ID]
    assert ports[0]["FriendlyName"] == "pod1"
    assert ports[0]["MacAddress"] == "00-15-5D-00-00-01"
    assert ports[0]["Endpoint"] is None  # a hand-made port belongs to no endpoint


def test_vfp_port_found_by_lowercase_id_and_by_name(http: httpx.Client) -> None:
    assert _ok(http.get(f"/vfp/ports/{PORT_ID.lower()}"))["Id"] == PORT_ID
    assert _ok(http.get("/vfp/ports/pod1/"))["Id"] == PORT_ID


def test_vfp_unknown_port_is_404_port_not_found(http: httpx.Client) -> None:
    for path in ("", "/layers", "/rules", "/counters", "/flows"):
        response = http.get(f"/vfp/ports/no-such-port{path}")
        assert response.status_code == 404
        body = response.json()
        assert body["Success"] is False
        assert body["ErrorCode"] == 0x803B0007
        assert body["Error"] == "The switch-port was not found. "
        assert body["Detail"] == "port no-such-port not found"


def test_vfp_unknown_layer_and_group_are_404(http: httpx.Client) -> None:
    response = http.get(f"/vfp/ports/{PORT_ID}/layers/NOPE/groups")
    assert response.status_code == 404
    assert response.json()["ErrorCode"] == 0x803B0003
    response = http.get(f"/vfp/ports/{PORT_ID}/rules",
                        params={"layer": "ACL_ENDPOINT_LAYER", "group": "NOPE"})
    assert response.status_code == 404
    assert response.json()["ErrorCode"] == 0x80070490
    assert "group NOPE" in response.json()["Detail"]


def test_vfp_layers_and_groups_as_programmed(http: httpx.Client) -> None:
    layers = _ok(http.get(f"/vfp/ports/{PORT_ID}/layers"))["Layers"]
    assert [(lay["Id"], lay["Priority"], lay["Stateful"]) for lay in layers] == [
        ("ACL_ENDPOINT_LAYER", 15, True)
    ]
    groups = _ok(http.get(f"/vfp/ports/{PORT_ID}/layers/ACL_ENDPOINT_LAYER/groups"))["Groups"]
    assert [(g["Id"], g["Direction"], g["Rules"]) for g in groups] == [
        ("ACL_ENDPOINT_GROUP_IPV4_OUT", OUT, 2),
        ("ACL_ENDPOINT_GROUP_IPV4_IN", IN, 1),
    ]


def test_vfp_inject_counts_on_the_rule_and_port(http: httpx.Client) -> None:
    frame = _frame(443)
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                           json={"Frame": frame.hex(), "Direction": "out"}))
    assert answer["Verdict"] == "allow"
    assert bytes.fromhex(answer["OutputHex"]) == frame  # an allow rewrites nothing
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                           json={"FrameBase64": base64.b64encode(_frame(80)).decode(),
                                 "Direction": "OUT"}))
    assert answer["Verdict"] == "drop"
    assert answer["DropReason"] == "Blocked by rule"

    layers = _ok(http.get(f"/vfp/ports/{PORT_ID}/rules"))["Layers"]
    rules = {r["Id"]: r for g in layers[0]["Groups"] for r in g["Rules"]}
    assert (rules["allow-web"]["Packets"], rules["allow-web"]["Bytes"]) == (1, len(frame))
    assert rules["block-rest"]["Packets"] == 1
    assert rules["block-in"]["Packets"] == 0
    counters = _ok(http.get(f"/vfp/ports/{PORT_ID}/counters"))
    assert counters[OUT]["Packets"] == 2
    assert counters[OUT]["DropReasons"] == {"Blocked by rule": 1}
    assert counters[IN]["Packets"] == 0


def test_vfp_inject_with_trace_returns_the_trace(http: httpx.Client) -> None:
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                           json={"Frame": _frame(443).hex(), "Direction": "OUT", "Trace": True}))
    assert answer["Verdict"] == "allow"
    step = answer["Trace"]["Layers"][0]
    assert step["Layer"] == "ACL_ENDPOINT_LAYER"
    assert step["Rule"]["Id"] == "allow-web"
    assert step["FlowCreated"] is True
    flows = _ok(http.get(f"/vfp/ports/{PORT_ID}/layers/ACL_ENDPOINT_LAYER/flows"))["Flows"]
    assert {(f["Direction"], f["Initiator"], f["Rule"]) for f in flows} == {
        (OUT, True, "allow-web"), (IN, False, "allow-web")
    }
    forward = next(f for f in flows if f["Initiator"])
    assert (forward["SourceIP"], forward["DestinationPort"]) == ("10.0.0.4", 443)


def test_vfp_unified_flow_appears_after_established_packet(http: httpx.Client) -> None:
    for syn in (True, False):
        _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                      json={"Frame": _frame(443, syn=syn).hex(), "Direction": "OUT"}))
    flows = _ok(http.get(f"/vfp/ports/{PORT_ID}/flows"))["UnifiedFlows"]
    assert len(flows) == 1
    assert flows[0]["Direction"] == OUT
    assert flows[0]["Allowed"] is True
    assert flows[0]["Current"] is True


def test_vfp_process_tuples_has_no_side_effects(http: httpx.Client, served: Any) -> None:
    _, switch = served
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/process-tuples",
                           json={"Tuples": "6 10.0.0.4 1234 8.8.8.8 443 out 1"}))
    assert answer["Verdict"] == "allow"
    assert answer["Layers"][0]["Rule"]["Id"] == "allow-web"
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/process-tuples",
                           json={"Tuples": "17 8.8.8.8 53 10.0.0.4 1234 in 0"}))
    assert answer["Verdict"] == "drop"
    port = switch.get_port(PORT_ID)
    assert port.counters[OUT] == [0, 0]
    assert all(not layer.flows for layer in port.layers.values())
    assert not port.uft[OUT]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/inject", {"Frame": "zz", "Direction": "OUT"}),
        ("/inject", {"Frame": "00", "Direction": "sideways"}),
        ("/inject", {"FrameBase64": "***", "Direction": "IN"}),
        ("/inject", {"Direction": "IN"}),
        ("/inject", {"Frame": "00", "Direction": "IN", "Trace": "yes"}),
        ("/inject", ["not", "an", "object"]),
        ("/process-tuples", {"Tuples": "6 10.0.0.4"}),
        ("/process-tuples", {"Tuples": 6}),
    ],
)
def test_vfp_bad_bodies_are_400_hns_shaped(http: httpx.Client, path: str, body: Any) -> None:
    response = http.post(f"/vfp/ports/{PORT_ID}{path}", json=body)
    assert response.status_code == 400, response.text
    doc = response.json()
    assert doc["Success"] is False
    assert doc["ErrorCode"] == 0x80070057
    assert doc["Detail"]


def test_vfp_inject_without_trace_has_no_trace(http: httpx.Client) -> None:
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                           json={"Frame": _frame(443).hex(), "Direction": "OUT"}))
    assert answer["Trace"] is None


def test_vfp_inject_garbage_frame_is_a_counted_drop(http: httpx.Client) -> None:
    answer = _ok(http.post(f"/vfp/ports/{PORT_ID}/inject",
                           json={"Frame": "00112233", "Direction": "IN"}))
    assert answer["Verdict"] == "drop"
    assert answer["DropReason"] == "Truncated"


def test_vfp_vfpctrl_route_prints_what_vfp_ctl_prints(
    http: httpx.Client, served: Any
) -> None:
    _, switch = served
    for args in (["/list-vmswitch-port"], ["/port", "pod1", "/list-rule"],
                 ["/list-layer", "/port", PORT_ID], ["/port", "nope", "/list-layer"],
                 ["/list-vmswitch-port", "/format", "1"], ["/h"], []):
        answer = _ok(http.post("/vfp/vfpctrl", json={"Args": args}))
        assert (answer["ExitCode"], answer["Output"]) == run(switch, args)
    response = http.post("/vfp/vfpctrl", json={"Args": "/list-layer"})
    assert response.status_code == 400


def test_vfpctrl_command_prints_server_text_and_exit_code(
    http: httpx.Client, served: Any
) -> None:
    server, switch = served
    out, err = io.StringIO(), io.StringIO()
    code = vfpctrl.main(["--url", server.url, "/port", PORT_ID, "/list-rule"], out=out, err=err)
    assert code == 0
    assert out.getvalue() == run(switch, ["/port", PORT_ID, "/list-rule"])[1]
    assert "Command list-rule succeeded!\r\n" in out.getvalue()
    out = io.StringIO()
    code = vfpctrl.main([f"--url={server.url}", "/port", "nope", "/list-layer"], out=out, err=err)
    assert code == 1
    assert out.getvalue().startswith("ERROR: Port nope not found")
    assert err.getvalue() == ""


def test_vfpctrl_unreachable_server_is_one_line_and_exit_1() -> None:
    from loopback import dead_url

    out, err = io.StringIO(), io.StringIO()
    with dead_url() as url:
        code = vfpctrl.main(["--url", url, "/list-vmswitch-port"], out=out, err=err)
    assert code == 1
    assert out.getvalue() == ""
    assert err.getvalue().startswith("vfpctrl: cannot reach the HNS emulator")
    assert err.getvalue().count("\n") == 1


def test_vfp_routes_and_vfpctrl_need_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    service = HnsService(state=":memory:")
    switch = Switch()
    _program(switch)
    server = ThreadedServer(create_app(BareHost(service, switch), token="s3cret")).start()
    try:
        response = httpx.get(f"{server.url}/vfp/ports", timeout=10)
        assert response.status_code == 401
        assert response.json()["ErrorCode"] == 0x80070005
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.delenv("HNS_EMULATOR_TOKEN", raising=False)
        assert vfpctrl.main(["--url", server.url, "/list-vmswitch-port"], out=out, err=err) == 1
        assert err.getvalue() == "vfpctrl: Access is denied. (0x80070005)\n"
        assert out.getvalue() == ""
        monkeypatch.setenv("HNS_EMULATOR_TOKEN", "s3cret")
        err = io.StringIO()
        assert vfpctrl.main(["--url", server.url, "/list-vmswitch-port"], out=out, err=err) == 0
        assert out.getvalue() == run(switch, ["/list-vmswitch-port"])[1]
    finally:
        server.stop()
        service.close()
