"""Overlay networks -> VNET_ENCAP_LAYER / VNET_PA_ROUTE_LAYER: RemoteSubnetRoute routeencap
(IsolationId as VNI, DR MAC as inner dst MAC), remote endpoints' PA as CA -> PA mappings
used by mapencap, VSID as VNI, decap inbound, VxlanPort, EncapOverhead; L2Bridge,
L2Tunnel and Transparent get no encap; SDN routes."""

from __future__ import annotations

import ipaddress
import json

import pytest
from compiler_helpers import IPPROTO_ICMP, Rig, decode, frame, mac_text

import vfp

RSR = {"Type": "RemoteSubnetRoute",
       "Settings": {"DestinationPrefix": "10.244.2.0/24", "IsolationId": 4097,
                    "ProviderAddress": "172.16.0.5",
                    "DistributedRouterMacAddress": "0E-2A-00-00-00-02"}}


def ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def pa(address: str) -> list[dict[str, object]]:
    return [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": address}}]


def overlay(rig: Rig, prefix: str = "10.244.1.0/24", vsid: int = 4096,
            policies: list[dict[str, object]] | None = None) -> str:
    gateway = prefix.replace("0/24", "1")
    return rig.network("ov", type="Overlay", prefix=prefix, gateway=gateway, vsid=vsid,
                       policies=policies)


def test_overlay_port_has_vnet_layers_and_pa_route_rule() -> None:
    rig = Rig()
    ep = rig.endpoint(overlay(rig), "10.244.1.5")
    layers = rig.ctl("/port", ep, "/list-layer")
    assert "LAYER : VNET_ENCAP_LAYER" in layers
    assert "LAYER : VNET_PA_ROUTE_LAYER" in layers
    text = rig.ctl("/port", ep, "/layer", "VNET_PA_ROUTE_LAYER", "/list-rule")
    assert "  GROUP : VNET_GROUP_PA_ROUTE_IPV4_OUT\r\n" in text
    assert "      Priority : 200\r\n" in text
    # VFP.psm1's sample: "RULE :" with no id, Friendly name PA_ROUTE.
    assert "RULE :\r\n        Friendly name : PA_ROUTE\r\n" in text
    assert "Priority : 45535" in text
    assert "Type : paroute" in text


@pytest.mark.parametrize("ntype", ["L2Bridge", "L2Tunnel", "Transparent", "NAT"])
def test_non_overlay_networks_get_no_encap(ntype: str) -> None:
    rig = Rig()
    net = rig.network("n", type=ntype, prefix="10.1.0.0/24", gateway="10.1.0.1",
                      policies=[RSR] if ntype != "NAT" else None)
    ep = rig.endpoint(net, "10.1.0.5")
    assert "VNET_ENCAP_LAYER" not in rig.port(ep).layers
    r = vfp.process(rig.port(ep), frame("10.1.0.5", "10.244.2.9"), vfp.OUT)
    assert r.allowed
    assert ip(decode(r.output or b"").ip.dst) == "10.244.2.9"


def test_remote_subnet_route_encaps_with_isolation_id_and_dr_mac() -> None:
    rig = Rig()
    ep = rig.endpoint(overlay(rig, policies=[RSR]), "10.244.1.5")
    text = rig.ctl("/port", ep, "/layer", "VNET_ENCAP_LAYER", "/list-rule")
    assert "RULE : REMOTESUBNETROUTE_10.244.2.0/24\r\n" in text
    assert "Destination IP : 10.244.2.0-10.244.2.255" in text
    assert "{DestinationIP=172.16.0.5, VNI=4097, mac=0E-2A-00-00-00-02}" in text
    assert "MSS delta: 50,0" in text
    r = vfp.process(rig.port(ep), frame("10.244.1.5", "10.244.2.9", proto=IPPROTO_ICMP),
                    vfp.OUT)
    out = r.output or b""
    outer = decode(out)
    assert ip(outer.ip.src) == "172.16.0.4"
    assert ip(outer.ip.dst) == "172.16.0.5"
    assert outer.l4.dport == 4789
    assert int.from_bytes(out[46:49], "big") == 4097
    inner = decode(out[50:])
    assert inner.eth.dst == bytes.fromhex("0E2A00000002")
    local = vfp.process(rig.port(ep), frame("10.244.1.5", "10.244.1.6"), vfp.OUT)
    assert len(local.output or b"") == len(frame("10.244.1.5", "10.244.1.6"))


def test_remote_endpoint_becomes_mapping_and_mapencap_with_vsid() -> None:
    rig = Rig()
    net = overlay(rig, prefix="10.0.0.0/24", vsid=4100)
    ep = rig.endpoint(net, "10.0.0.5")
    rig.endpoint(net, "10.0.0.9", remote=True, mac=mac_text("10.0.0.9"),
                 policies=pa("172.16.0.9"))
    mappings = rig.ctl("/port", ep, "/list-mapping")
    assert "CA IP : 10.0.0.9" in mappings
    assert "PA IP : 172.16.0.9" in mappings
    assert "TNI : 4100" in mappings
    text = rig.ctl("/port", ep, "/layer", "VNET_ENCAP_LAYER", "/list-rule")
    assert "RULE : MAP_ENCAP_10.0.0.9\r\n" in text
    assert "Type : mapencap" in text
    out = vfp.process(rig.port(ep), frame("10.0.0.5", "10.0.0.9"), vfp.OUT).output or b""
    assert ip(decode(out).ip.dst) == "172.16.0.9"
    assert int.from_bytes(out[46:49], "big") == 4100
    assert decode(out[50:]).eth.dst == bytes.fromhex("0E2A0A000009")


def test_remote_endpoint_deleted_removes_its_mapping_and_rule() -> None:
    rig = Rig()
    net = overlay(rig, prefix="10.0.0.0/24")
    ep = rig.endpoint(net, "10.0.0.5")
    remote = rig.endpoint(net, "10.0.0.9", remote=True, policies=pa("172.16.0.9"))
    rig.delete("Endpoint", remote)
    port = rig.port(ep)
    assert port.spaces["VNET_SPACE"].mappings == {}
    assert not port.get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT").rules


def test_inbound_vxlan_decapped_only_for_the_network_vsid() -> None:
    a, b = Rig("172.16.0.4"), Rig("172.16.0.5")
    src = a.endpoint(overlay(a, policies=[dict(RSR, Settings=dict(RSR["Settings"],
                                                                      IsolationId=4096))]),
                     "10.244.1.5")
    dst = b.endpoint(overlay(b, prefix="10.244.2.0/24"), "10.244.2.9",
                     mac=mac_text("10.244.2.9"))
    wire = vfp.process(a.port(src), frame("10.244.1.5", "10.244.2.9"), vfp.OUT).output or b""
    assert b.compiler.endpoint_for_vni(4096, "10.244.2.9") == dst
    got = vfp.process(b.port(dst), wire, vfp.IN)
    inner = decode(got.output or b"")
    assert inner.eth.dst == bytes.fromhex("0E2A0AF40209")  # rewritten to the endpoint MAC
    assert ip(inner.ip.src) == "10.244.1.5"
    assert len(got.output or b"") == len(wire) - 50
    wrong = bytearray(wire)
    wrong[46:49] = (4999).to_bytes(3, "big")
    kept = vfp.process(b.port(dst), bytes(wrong), vfp.IN)
    assert len(kept.output or b"") == len(wire)  # not this VSID: not decapped here
    assert b.compiler.endpoint_for_vni(4999, "10.244.2.9") is None


def test_vxlan_port_policy_sets_switch_udp_port() -> None:
    rig = Rig()
    net = overlay(rig, policies=[RSR, {"Type": "VxlanPort", "Settings": {"Port": 8472}}])
    ep = rig.endpoint(net, "10.244.1.5")
    assert rig.switch.vxlan_port == 8472
    out = vfp.process(rig.port(ep), frame("10.244.1.5", "10.244.2.9"), vfp.OUT).output or b""
    assert decode(out).l4.dport == 8472
    rig.delete("Endpoint", ep)
    rig.delete("Network", net)
    assert rig.switch.vxlan_port == 4789


def test_encap_overhead_policy_sets_mss_delta() -> None:
    rig = Rig()
    ep = rig.endpoint(overlay(rig, policies=[RSR]), "10.244.1.5",
                      policies=[{"Type": "EncapOverhead", "Settings": {"Overhead": 160}}])
    text = rig.ctl("/port", ep, "/layer", "VNET_ENCAP_LAYER", "/list-rule")
    assert "MSS delta: 160,0" in text


def test_sdn_route_without_encap_bypasses_remote_subnet_route() -> None:
    rig = Rig()
    ep = rig.endpoint(overlay(rig, policies=[RSR]), "10.244.1.5", policies=[
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.244.2.128/25",
                                          "NeedEncap": False}},
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.96.0.0/12",
                                          "NeedEncap": True}}])
    text = rig.ctl("/port", ep, "/layer", "VNET_ENCAP_LAYER", "/list-rule")
    assert "RULE : SDN_ROUTE_SDNROUTE_10.244.2.128/25\r\n" in text
    assert "10.96.0.0/12" not in text
    port = rig.port(ep)
    direct = vfp.process(port, frame("10.244.1.5", "10.244.2.200"), vfp.OUT).output or b""
    assert ip(decode(direct).ip.dst) == "10.244.2.200"
    encap = vfp.process(port, frame("10.244.1.5", "10.244.2.20"), vfp.OUT).output or b""
    assert ip(decode(encap).ip.dst) == "172.16.0.5"


def test_remote_subnet_route_added_by_modify_network_reaches_existing_ports() -> None:
    rig = Rig()
    net = overlay(rig)
    ep = rig.endpoint(net, "10.244.1.5")
    body = {"ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [RSR]}}
    rig.service.hcn_call("HcnModifyNetwork", net, json.dumps(body))
    out = vfp.process(rig.port(ep), frame("10.244.1.5", "10.244.2.9"), vfp.OUT).output or b""
    assert ip(decode(out).ip.dst) == "172.16.0.5"
    body["RequestType"] = "Remove"
    rig.service.hcn_call("HcnModifyNetwork", net, json.dumps(body))
    out = vfp.process(rig.port(ep), frame("10.244.1.5", "10.244.2.9"), vfp.OUT).output or b""
    assert ip(decode(out).ip.dst) == "10.244.2.9"


def test_remote_endpoint_with_a_local_ip_shadows_the_local_one() -> None:
    """kubernetes#130963: HNS accepts a remote endpoint with a local endpoint's IP; its /32
    mapping then sends the neighbours' traffic for that IP to the remote PA."""
    rig = Rig()
    net = overlay(rig, prefix="10.0.0.0/24")
    a = rig.endpoint(net, "10.0.0.5")
    rig.endpoint(net, "10.0.0.6")
    before = vfp.process(rig.port(a), frame("10.0.0.5", "10.0.0.6"), vfp.OUT).output or b""
    assert ip(decode(before).ip.dst) == "10.0.0.6"
    rig.endpoint(net, "10.0.0.6", remote=True, policies=pa("172.16.0.9"))
    after = vfp.process(rig.port(a), frame("10.0.0.5", "10.0.0.6", sport=40001),
                        vfp.OUT).output or b""
    assert ip(decode(after).ip.dst) == "172.16.0.9"
