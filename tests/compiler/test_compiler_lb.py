"""Load balancers -> SLB_LB_LAYER / LB_DSR lbnat rules on client ports: ClusterIP VIPs,
NodePort (no VIP: the host's address), DSR, session affinity, local and remote backends,
replies un-NATed by the stateful flow."""

from __future__ import annotations

import ipaddress
import json
import uuid

from compiler_helpers import HOST_IP, IPPROTO_UDP, Rig, decode, frame, mac_text

import vfp


def ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def three(rig: Rig) -> tuple[str, str, str]:
    net = rig.network()
    return (rig.endpoint(net, "10.0.0.5"), rig.endpoint(net, "10.0.0.6"),
            rig.endpoint(net, "10.0.0.7"))


def test_clusterip_listing_names_vip_ports_and_backends() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    lb = rig.load_balancer([b1, b2], vip="10.96.0.10", external=80, internal=8080)
    text = rig.ctl("/port", client, "/layer", "SLB_LB_LAYER", "/list-rule")
    assert "  GROUP : SLB_GROUP_LB_IPv4_OUT\r\n" in text
    # HNS's LB rules have no id: "RULE :" then the friendly name (kubernetes#79359).
    assert f"RULE :\r\n        Friendly name : LB_{lb.replace('-', '')}_10.96.0.10_80_8080_6\r\n" \
        in text
    assert "Type : lbnat" in text
    assert "Flags : 1 terminating\r\n" in text  # as real lbnat rules print (k8s#79359)
    assert "Destination IP : 10.96.0.10" in text
    assert "Destination ports : 80" in text
    assert "10.0.0.6 : 8080" in text
    assert "10.0.0.7 : 8080" in text


def test_single_backend_rule_named_nat() -> None:
    rig = Rig()
    client, b1, _ = three(rig)
    lb = rig.load_balancer([b1])
    rules = rig.port(client).get_layer("SLB_LB_LAYER").get_group("SLB_GROUP_LB_IPv4_OUT").rules
    assert list(rules) == [f"NAT_{lb.replace('-', '')}_10.96.0.10_80_8080_6"]


def test_vip_traffic_reaches_every_backend_and_reply_is_unnatted() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    rig.load_balancer([b1, b2])
    port = rig.port(client)
    seen = set()
    for sport in range(40000, 40040):
        r = vfp.process(port, frame("10.0.0.5", "10.96.0.10", sport=sport, dport=80), vfp.OUT)
        assert r.allowed
        assert r.output is not None
        f = decode(r.output)
        assert f.l4 is not None
        assert f.l4.dport == 8080
        seen.add(ip(f.ip.dst))
        back = vfp.process(port, frame(ip(f.ip.dst), "10.0.0.5", sport=8080,
                                       dport=sport), vfp.IN)
        g = decode(back.output or b"")
        assert ip(g.ip.src) == "10.96.0.10"
        assert g.l4.sport == 80
    assert seen == {"10.0.0.6", "10.0.0.7"}


def test_source_ip_affinity_pins_a_client_to_one_backend() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    rig.load_balancer([b1, b2], distribution=2)
    port = rig.port(client)
    dsts = {decode(vfp.process(port, frame("10.0.0.5", "10.96.0.10", sport=s, dport=80),
                               vfp.OUT).output or b"").ip.dst for s in range(40000, 40030)}
    assert len(dsts) == 1


def test_nodeport_without_vip_uses_host_address() -> None:
    rig = Rig()
    client, b1, _ = three(rig)
    rig.load_balancer([b1], vip=None, external=30080, internal=8080, pm_flags=2)
    r = vfp.process(rig.port(client), frame("10.0.0.5", HOST_IP, dport=30080), vfp.OUT)
    f = decode(r.output or b"")
    assert ip(f.ip.dst) == "10.0.0.6"
    assert f.l4.dport == 8080


def test_dsr_lb_goes_to_lb_dsr_layer_named_with_management_ip() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    lb = rig.load_balancer([b1, b2], flags=1, proto=17, external=53, internal=53)
    rules = rig.port(client).get_layer("LB_DSR").get_group("LB_DSR_IPv4_OUT").rules
    assert list(rules) == [f"LB_DSR_{lb.replace('-', '')}_{HOST_IP}_10.96.0.10_53_53_17"]
    assert not rig.port(client).get_layer("SLB_LB_LAYER").get_group(
        "SLB_GROUP_LB_IPv4_OUT").rules
    r = vfp.process(rig.port(client), frame("10.0.0.5", "10.96.0.10", proto=IPPROTO_UDP,
                                            dport=53), vfp.OUT)
    assert ip(decode(r.output or b"").ip.dst) in {"10.0.0.6", "10.0.0.7"}


def test_lb_deleted_removes_rules_everywhere() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    lb = rig.load_balancer([b1, b2])
    rig.delete("LoadBalancer", lb)
    for ep in (client, b1, b2):
        assert not rig.port(ep).get_layer("SLB_LB_LAYER").get_group(
            "SLB_GROUP_LB_IPv4_OUT").rules
    r = vfp.process(rig.port(client), frame("10.0.0.5", "10.96.0.10", dport=80), vfp.OUT)
    assert ip(decode(r.output or b"").ip.dst) == "10.96.0.10"


def test_deleting_a_backend_endpoint_drops_it_from_the_dip_list() -> None:
    rig = Rig()
    client, b1, b2 = three(rig)
    rig.load_balancer([b1, b2])
    rig.delete("Endpoint", b2)
    (rule,) = rig.port(client).get_layer("SLB_LB_LAYER").get_group(
        "SLB_GROUP_LB_IPv4_OUT").rules.values()
    assert [ip(d) for d, _ in rule.action.dips] == ["10.0.0.6"]


def test_remote_backend_is_dnatted_then_encapsulated_to_its_pa() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    client = rig.endpoint(net, "10.244.1.5", mac=mac_text("10.244.1.5"))
    remote = rig.endpoint(net, "10.244.2.9", remote=True, mac=mac_text("10.244.2.9"),
                          policies=[{"Type": "ProviderAddress",
                                     "Settings": {"ProviderAddress": "172.16.0.9"}}])
    rig.load_balancer([remote], vip="10.96.0.20")
    r = vfp.process(rig.port(client), frame("10.244.1.5", "10.96.0.20", dport=80), vfp.OUT)
    assert r.allowed
    assert r.output is not None
    outer = decode(r.output)
    assert ip(outer.ip.dst) == "172.16.0.9"
    inner = decode(r.output[50:])
    assert ip(inner.ip.dst) == "10.244.2.9"
    assert inner.l4.dport == 8080


def test_local_backend_gets_nat_rule_for_frames_still_addressed_to_the_vip() -> None:
    rig = Rig()
    client, b1, _ = three(rig)
    lb = rig.load_balancer([b1], vip=None, external=30080, internal=8080, pm_flags=2)
    text = rig.ctl("/port", b1, "/layer", "SLB_NAT_LAYER", "/group", "SLB_GROUP_NAT_IPv4_IN",
                   "/list-rule")
    assert f"Friendly name : NAT_{lb.replace('-', '')}_{HOST_IP}_30080_6\r\n" in text
    assert not rig.port(client).get_layer("SLB_NAT_LAYER").get_group(
        "SLB_GROUP_NAT_IPv4_IN").rules  # the client is not a backend
    assert rig.compiler.owner_of(6, HOST_IP, 30080) == b1
    port = rig.port(b1)
    r = vfp.process(port, frame("192.168.1.20", HOST_IP, sport=5555, dport=30080), vfp.IN)
    f = decode(r.output or b"")
    assert ip(f.ip.dst) == "10.0.0.6"
    assert f.l4.dport == 8080
    reply = vfp.process(port, frame("10.0.0.6", "192.168.1.20", sport=8080, dport=5555), vfp.OUT)
    g = decode(reply.output or b"")
    assert ip(g.ip.src) == HOST_IP
    assert g.l4.sport == 30080


def test_ilb_backend_not_published_to_the_host() -> None:
    rig = Rig()
    _, b1, _ = three(rig)
    rig.load_balancer([b1], vip="10.96.0.50", pm_flags=1)
    names = [r.id for r in rig.port(b1).get_layer("SLB_NAT_LAYER").get_group(
        "SLB_GROUP_NAT_IPv4_IN").rules.values()]
    assert len(names) == 1
    assert names[0].endswith("_ILB")
    assert rig.compiler.owner_of(6, "10.96.0.50", 80) is None


def test_dsr_remote_backend_keeps_vip_and_its_host_answers_from_the_vip() -> None:
    a = Rig("172.16.0.4", dsr_keeps_vip=True)
    b = Rig("172.16.0.5", dsr_keeps_vip=True)
    pa = [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "172.16.0.5"}}]
    net_a = a.network("ov", type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1",
                      vsid=4096)
    net_b = b.network("ov", type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1",
                      vsid=4096)
    client = a.endpoint(net_a, "10.244.1.5", mac=mac_text("10.244.1.5"))
    remote = a.endpoint(net_a, "10.244.2.20", remote=True, mac=mac_text("10.244.2.20"),
                        policies=pa)
    backend = b.endpoint(net_b, "10.244.2.20", mac=mac_text("10.244.2.20"))
    b.endpoint(net_b, "10.244.1.5", remote=True, mac=mac_text("10.244.1.5"), policies=[
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "172.16.0.4"}}])
    a.load_balancer([remote], vip="10.96.0.30", proto=IPPROTO_UDP, external=53, internal=5353,
                    flags=1)
    b.load_balancer([backend], vip="10.96.0.30", proto=IPPROTO_UDP, external=53, internal=5353,
                    flags=1)
    text = a.ctl("/port", client, "/layer", "LB_DSR", "/list-rule")
    assert "DSR : 10.244.2.20 via PA 172.16.0.5, VNI 4096" in text
    out = vfp.process(a.port(client), frame("10.244.1.5", "10.96.0.30", proto=IPPROTO_UDP,
                                            sport=3000, dport=53), vfp.OUT).output or b""
    assert ip(decode(out).ip.dst) == "172.16.0.5"
    inner = decode(out[50:])
    assert ip(inner.ip.dst) == "10.96.0.30"
    assert inner.eth.dst == bytes.fromhex("0E2A0AF40214")
    owner = b.compiler.endpoint_for_vni(4096, "10.96.0.30", proto=IPPROTO_UDP, port=53)
    assert owner == backend
    got = vfp.process(b.port(backend), out, vfp.IN).output or b""
    f = decode(got)
    assert (ip(f.ip.dst), f.l4.dport) == ("10.244.2.20", 5353)
    reply = vfp.process(b.port(backend), frame("10.244.2.20", "10.244.1.5", proto=IPPROTO_UDP,
                                               sport=5353, dport=3000), vfp.OUT).output or b""
    assert ip(decode(reply).ip.dst) == "172.16.0.4"
    answer = decode(reply[50:])
    assert (ip(answer.ip.src), answer.l4.sport) == ("10.96.0.30", 53)
    back = vfp.process(a.port(client), reply, vfp.IN)
    g = decode(back.output or b"")
    assert (ip(g.ip.src), g.l4.sport, g.l4.dport) == ("10.96.0.30", 53, 3000)


def test_vips_lists_load_balancer_addresses_per_network() -> None:
    rig = Rig()
    _, b1, _ = three(rig)
    other = rig.network("other", prefix="10.1.0.0/24", gateway="10.1.0.1")
    o1 = rig.endpoint(other, "10.1.0.5")
    rig.load_balancer([b1], vip="10.0.0.200")
    rig.load_balancer([b1], vip=None, external=30080, pm_flags=2)
    body = {"HostComputeEndpoints": [o1], "HostComputeNetwork": other,
            "FrontendVIPs": ["10.1.0.200"], "SchemaVersion": {"Major": 2, "Minor": 0},
            "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 80}]}
    rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(body))
    assert rig.compiler.vips() == {"10.0.0.200", HOST_IP, "10.1.0.200"}
    assert rig.compiler.vips(other) == {"10.0.0.200", HOST_IP, "10.1.0.200"}
    net = rig.compiler.view.network_of(rig.compiler.view.endpoints[b1.upper()])
    assert net is not None
    assert rig.compiler.vips(net.id) == {"10.0.0.200", HOST_IP}


def test_ipv6_load_balancer_on_dual_stack_endpoints() -> None:
    from vxlan.frame import Frame, encode_frame
    from vxlan.headers import TCP, Ethernet, IPv6

    rig = Rig()
    body = {"Name": "ds", "Type": "NAT", "SchemaVersion": {"Major": 2, "Minor": 0},
            "Ipams": [{"Type": "Static", "Subnets": [
                {"IpAddressPrefix": "10.0.0.0/24",
                 "Routes": [{"NextHop": "10.0.0.1", "DestinationPrefix": "0.0.0.0/0"}]},
                {"IpAddressPrefix": "fd00::/64",
                 "Routes": [{"NextHop": "fd00::1", "DestinationPrefix": "::/0"}]}]}]}
    net = rig.service.hcn_call("HcnCreateNetwork", str(uuid.uuid4()), json.dumps(body))["ID"]

    def ep(n: int) -> str:
        got = rig.service.hcn_call("HcnCreateEndpoint", str(uuid.uuid4()), json.dumps({
            "Name": f"e{n}", "HostComputeNetwork": net, "SchemaVersion": {"Major": 2, "Minor": 0},
            "IpConfigurations": [{"IpAddress": f"10.0.0.{n}"}, {"IpAddress": f"fd00::{n}"}]}))
        return str(got["ID"])

    client, backend = ep(5), ep(6)
    lb = {"HostComputeEndpoints": [backend], "FrontendVIPs": ["fd00:96::10"], "Flags": 2,
          "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
          "SchemaVersion": {"Major": 2, "Minor": 0}}
    rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(lb))
    group = rig.port(client).get_layer("SLB_LB_LAYER").get_group("SLB_GROUP_LB_IPv6_OUT")
    (rule,) = group.rules.values()
    assert "_fd00:96::10_80_8080_6" in rule.id
    assert rig.port(backend).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv6_IN").rules

    def v6(src: str, dst: str, sport: int, dport: int) -> bytes:
        return encode_frame(Frame(
            Ethernet(bytes.fromhex("00155D0000FE"), bytes.fromhex("00155D000001"), 0x86DD),
            ip=IPv6(int(ipaddress.IPv6Address(src)), int(ipaddress.IPv6Address(dst)), 6),
            l4=TCP(sport, dport, 1, 0, 0x18), payload=b"x"))

    port = rig.port(client)
    out = vfp.process(port, v6("fd00::5", "fd00:96::10", 40000, 80), vfp.OUT).output or b""
    assert out[38:54] == ipaddress.IPv6Address("fd00::6").packed
    assert int.from_bytes(out[56:58], "big") == 8080
    back = vfp.process(port, v6("fd00::6", "fd00::5", 8080, 40000), vfp.IN).output or b""
    assert back[22:38] == ipaddress.IPv6Address("fd00:96::10").packed
    assert int.from_bytes(back[54:56], "big") == 80


def test_dsr_by_default_dnats_on_the_client_within_the_contract() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1",
                      vsid=4096)
    client = rig.endpoint(net, "10.244.1.5")
    remote = rig.endpoint(net, "10.244.2.20", remote=True, policies=[
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "172.16.0.5"}}])
    rig.load_balancer([remote], vip="10.96.0.30", proto=IPPROTO_UDP, external=53,
                      internal=5353, flags=1)
    out = vfp.process(rig.port(client), frame("10.244.1.5", "10.96.0.30", proto=IPPROTO_UDP,
                                              dport=53), vfp.OUT).output or b""
    assert ip(decode(out).ip.dst) == "172.16.0.5"
    inner = decode(out[50:])
    assert (ip(inner.ip.dst), inner.l4.dport) == ("10.244.2.20", 5353)
