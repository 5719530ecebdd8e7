"""vfpctrl text: golden files for every listing, the real sample from a Windows node, and
the regexes Microsoft's VFP.psm1 uses to parse the output.

Regenerate the golden files (after checking the diff by eye) with
`VFP_UPDATE_GOLDEN=1 python3 -m pytest tests/vfp/test_vfp_ctl_golden.py`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vfp_scenarios import DR_MAC, POD_MAC, PORT_ID, Clock, acl_port, ip

from vfp import (
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    Allow,
    DynNat,
    Group,
    Layer,
    LbNat,
    Mapping,
    NatRange,
    Rule,
    Switch,
    conditions,
    process,
)
from vfp.ctl import run
from vxlan.packet import TCP_SYN, build_frame

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "vfp"


def _scenario() -> Switch:
    sw, port = acl_port(Clock())
    nat = port.add_layer(Layer("SLB_NAT_LAYER", 50, stateful=True, flags=0x9))
    g = nat.add_group(Group("SLB_GROUP_NAT_IPv4_OUT", 2, OUT))
    port.add_nat_pool("SLB_NATPOOL_IPV4_TCP_10.42.1.210.43.0.1443",
                      [NatRange(ip("10.42.1.1"), 1024, 2047)])
    g.add_rule(Rule("", 100, DynNat("SLB_NATPOOL_IPV4_TCP_10.42.1.210.43.0.1443"),
                    flags=TERMINATING | STATEFUL, ttl=240,
                    name="SNAT_TCP_593C6_10.42.1.2_10.43.0.1_443_6443_6",
                    conditions=conditions(proto="6", dst_ip="10.43.0.1", dst_port="443")))
    g.add_rule(Rule("LB_593C6", 90, LbNat(((ip("10.244.4.7"), 6443),)),
                    flags=TERMINATING, name="LB_593C6_10.42.1.2_10.43.0.1_443_6443_6",
                    conditions=conditions(proto="6", dst_ip="10.43.0.2", dst_port="443")))
    port.add_space("VNET_SPACE")
    port.add_mapping("VNET_SPACE", Mapping(ip("10.244.4.7"), ip("192.168.1.20"), DR_MAC, 4096))
    frame = build_frame(6, ip("10.244.1.5"), 40000, ip("10.244.4.7"), 80, src_mac=POD_MAC)
    process(port, build_frame(6, ip("10.244.1.5"), 40000, ip("10.244.4.7"), 80,
                              src_mac=POD_MAC, tcp_flags=TCP_SYN), OUT)
    process(port, frame, OUT)
    process(port, frame, OUT)
    process(port, build_frame(6, ip("10.244.4.9"), 80, ip("10.244.1.5"), 1, tcp_flags=TCP_SYN),
            IN)
    process(port, b"\x00" * 10, IN)
    return sw


CASES = {
    "list_vmswitch_port": "/list-vmswitch-port",
    "list_layer": f"/port {PORT_ID} /list-layer",
    "list_group": "/layer ACL_ENDPOINT_LAYER /list-group /port pod1",
    "list_rule_port": "/port pod1 /list-rule",
    "list_rule_layer": "/port pod1 /layer SLB_NAT_LAYER /list-rule",
    "list_rule_group": "/list-rule /group VNET_GROUP_ENCAP_IPV4_OUT /layer VNET_ENCAP_LAYER "
                       "/port pod1",
    "get_rule_counter": "/port pod1 /layer VNET_ENCAP_LAYER /get-rule-counter",
    "get_port_state": "/port pod1 /get-port-state",
    "get_port_counter": "/get-port-counter /port pod1",
    "list_space": "/port pod1 /list-space",
    "list_mapping": "/port pod1 /list-mapping",
    "list_unified_flow": "/port pod1 /list-unified-flow",
    "process_tuples": '/port pod1 /process-tuples "6 10.244.1.5 1234 10.43.0.1 443 out 1"',
    "process_tuples_encap": '/port pod1 /process-tuples '
                            '"encap 4 192.168.1.20 192.168.1.10 4096 6 10.244.4.7 80 '
                            '10.244.1.5 40000 in 0"',
    "error_no_port": "/port 00000000-0000-0000-0000-000000000000 /list-layer",
    "help": "/h",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vfpctrl_output_matches_golden_file(name: str) -> None:
    code, text = run(_scenario(), CASES[name])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("VFP_UPDATE_GOLDEN"):
        path.write_bytes(text.encode())
    assert text.encode() == path.read_bytes()
    assert code == (1 if name.startswith("error") else 0)


def test_vfpctrl_every_line_ends_with_crlf_and_success_trailer() -> None:
    sw = _scenario()
    for name, cmd in CASES.items():
        if name in ("help",) or name.startswith("error"):
            continue
        _, text = run(sw, cmd)
        assert text.endswith("\r\n")
        assert "\n" not in text.replace("\r\n", "")
        verb = cmd.split("/process-tuples")[0] if "process-tuples" in cmd else cmd
        assert text.rstrip("\r\n").splitlines()[-1].startswith("Command ")
        assert verb  # the command line itself is not echoed


def test_vfpctrl_rule_selector_finds_rule_in_any_group() -> None:
    sw = _scenario()
    code, text = run(sw, "/port pod1 /rule DECAP_4096 /list-rule")
    assert code == 0
    assert text.count("RULE :") == 1
    assert "LAYER : VNET_ENCAP_LAYER" in text
    assert "GROUP : VNET_GROUP_DECAP_IPV4_IN" in text
    code, text = run(sw, "/port pod1 /rule NOPE /list-rule")
    assert code == 1
    assert text == "ERROR: Rule NOPE not found\r\n"


def test_vfpctrl_error_first_line_starts_with_error() -> None:
    sw = _scenario()
    for cmd in ("/port nope /list-rule", "/port pod1 /layer NOPE /list-group", "/bogus",
                "/list-layer", '/port pod1 /process-tuples "6 1.2.3.4"'):
        code, text = run(sw, cmd)
        assert code == 1
        assert text.startswith("ERROR: ")
        assert text.split(":", 1)[1].strip()


def test_vfpctrl_matches_real_acl_endpoint_layer_sample() -> None:
    """Sample (a) of vfp.md section 2.5, from a Calico/RKE2 Windows node."""
    sw = Switch()
    port = sw.add_port("c9385412-bdef-49f5-88b0-c9d484ef6716")
    acl = port.add_layer(Layer("ACL_ENDPOINT_LAYER", 15))
    g = acl.add_group(Group("ACL_ENDPOINT_GROUP_IPV4_IN", 1, IN))
    g.add_rule(Rule("A2CFF68C-B5F4-4988-841F-0F6F77AF3D09", 900, Allow(), flags=8195, ttl=240,
                    name="allow-host-to-endpoint",
                    conditions=conditions(src_ip="10.156.233.218/32")))
    g.add_rule(Rule("0EE8DCA1-9AA8-417C-88E0-422CE9E52CBF", 1000, Allow(), flags=8195, ttl=240,
                    name="profile-kns.rke2-tcp-reset-test--atbkwj8tPVFG3P1-0"))
    _, text = run(sw, ["/port", "c9385412-bdef-49f5-88b0-c9d484ef6716",
                       "/layer", "ACL_ENDPOINT_LAYER", "/list-rule"])
    real = (GOLDEN / "real_acl_endpoint_layer_sample.txt").read_bytes().decode()
    assert text.startswith(real)


def test_vfpctrl_output_parses_with_vfp_psm1_regexes() -> None:
    """The regexes of microsoft/SDN Kubernetes/windows/debug/VFP.psm1 find every object."""
    sw = _scenario()
    port = sw.get_port("pod1")
    _, layers = run(sw, "/port pod1 /list-layer")
    found = re.findall(r"(?sm)(^LAYER : .*?\r\n\r\n?$)", layers)
    assert [re.search(r"(LAYER) : (.*)\r\n", b).group(2) for b in found] == [  # type: ignore[union-attr]
        lay.id for lay in port.sorted_layers()]
    for layer in port.sorted_layers():
        _, groups = run(sw, f"/list-group /port pod1 /layer {layer.id}")
        blocks = re.findall(r"(?sm)(^  GROUP : .*?)\r\n\r\n", groups)
        assert len(blocks) == len(layer.groups)
        for block in blocks:
            kv = dict(re.findall(r"      (.*?) : (.*)\r\n", block))
            assert kv["Direction"] in ("IN", "OUT")
            assert kv["Type"] == "IPv4"
        for g in layer.groups.values():
            _, rules = run(sw, f"/list-rule /port pod1 /layer {layer.id} /group {g.id}")
            rblocks = re.findall(r"(?sm)(RULE : .*?)\r\n\r\n", rules)
            # VFP.psm1's regex needs text after "RULE : "; id-less rules print "RULE :"
            assert len(rblocks) == len([r for r in g.rules.values() if r.id])
            for block in rblocks:
                kv = {k.strip(): v.strip() for k, v in re.findall(r"      (.*?) : (.*)\r\n",
                                                                  block)}
                assert "Priority" in kv
                assert "Friendly name" in kv
    _, ports = run(sw, "/list-vmswitch-port")
    blocks = re.findall(r"(?sm)(^Port name.*?: .*?\r\n\r\n)", ports)
    assert len(blocks) == 1
    kv = {k.strip(): v.strip() for k, v in re.findall(r"(?sm)(.*?): (.*?)\r\n", blocks[0])}
    assert kv["MAC address"] == "00-15-5D-00-00-01"
    assert "Blocked : FALSE" in run(sw, "/port pod1 /get-port-state")[1]


def test_vfpctrl_format_json_lists_ports_and_traces() -> None:
    sw = _scenario()
    _, text = run(sw, "/list-vmswitch-port /format 1")
    assert [p["Id"] for p in json.loads(text)["Ports"]] == [PORT_ID]
    _, text = run(sw, '/port pod1 /format 1 /process-tuples "6 10.244.1.5 1 10.43.0.1 443 out 1"')
    doc = json.loads(text)
    assert doc["Verdict"] == "allow"
    assert doc["Final"]["DestinationIP"] == "10.43.0.1"
    assert doc["Final"]["SourceIP"] == "10.42.1.1"
    _, text = run(sw, "/port pod1 /get-port-counter /format 1")
    counters = json.loads(text)["InformationArray"][0]["PortCounters"]
    assert [c["Direction"] for c in counters] == ["OUT", "IN"]
    assert counters[1]["DroppedPackets"] == 2
    _, text = run(sw, "/port pod1 /list-rule /format 1")
    layers = json.loads(text)["Layers"]
    assert [lay["Id"] for lay in layers] == ["ACL_ENDPOINT_LAYER", "SLB_NAT_LAYER",
                                              "VNET_ENCAP_LAYER"]


def test_process_tuples_has_no_side_effects() -> None:
    sw = _scenario()
    port = sw.get_port("pod1")
    flows_before = {lay.id: len(lay.flows) for lay in port.sorted_layers()}
    pool = port.nat_pools["SLB_NATPOOL_IPV4_TCP_10.42.1.210.43.0.1443"]
    run(sw, '/port pod1 /process-tuples "6 10.244.1.5 1 10.43.0.1 443 out 1"')
    assert {lay.id: len(lay.flows) for lay in port.sorted_layers()} == flows_before
    assert not pool.allocations


@settings(max_examples=30, deadline=None)
@given(st.permutations(["/port pod1", "/layer VNET_ENCAP_LAYER",
                        "/group VNET_GROUP_ENCAP_IPV4_OUT", "/list-rule"]))
def test_vfpctrl_selectors_in_any_order_give_same_text(order: list[str]) -> None:
    sw = _scenario()
    expected = run(sw, "/port pod1 /layer VNET_ENCAP_LAYER /group VNET_GROUP_ENCAP_IPV4_OUT "
                       "/list-rule")
    assert run(sw, " ".join(order)) == expected
    assert run(sw, "vfpctrl.exe " + " ".join(order)) == expected


_VOCAB = ["/port", "pod1", "/layer", "ACL_ENDPOINT_LAYER", "/group", "G", "/rule", "x",
          "/list-rule", "/list-layer", "/list-group", "/process-tuples", "/format", "1",
          "6 10.0.0.1 1 10.0.0.2 2 out 1", "encap 4 1.1.1.1 2.2.2.2 4096 17 ::1 1 ::2 2 in 0",
          "encap 9 a b", "/get-port-counter", "/h", "", "junk", "/list-unified-flow"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=6))
def test_vfpctrl_random_command_lines_never_raise(argv: list[str]) -> None:
    code, text = run(_scenario(), argv)
    assert code in (0, 1)
    assert text.endswith("\r\n")
    assert (code == 1) == text.startswith("ERROR: ")
