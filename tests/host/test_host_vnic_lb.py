"""Issue 14 item 3: the load balancer rules on each network's host vNIC port, where
microsoft/SDN networkhealth.ps1 looks for them, and what they do: NodePort and ClusterIP
traffic from outside the node (the physical network) and from the host itself is
load-balanced over local and remote backends (encapsulated to remote ones), and the
answers come back un-NATed.

The load balancers are the bodies kube-proxy winkernel sends (hcsshim's
HostComputeLoadBalancer, empty fields omitted): a NodePort has no FrontendVIPs and port
mapping flag LocalRoutedVIP (2); every LB carries the SourceVIP of the overlay."""

from __future__ import annotations

import json
import re
from typing import Any

from host_helpers import local_endpoint, overlay

import vfp
import vfp.ctl
import vxlan
from hns.hosts import Cluster, Host
from vxlan.addr import ipv4_from_text
from vxlan.frame import Frame, decode_frame, encode_frame
from vxlan.headers import ETH_P_IPV4, IPPROTO_TCP, IPPROTO_UDP, TCP, UDP, Ethernet, IPv4

PA_A, PA_B = "172.16.0.4", "172.16.0.5"
SVIP = "10.244.1.2"
CLIENT = "192.168.1.20"


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"ping") -> bytes:
    return encode_frame(Frame(
        Ethernet(b"\x00\x15\x5d\x00\x00\xfe", b"\x00\x15\x5d\x00\x00\x01", ETH_P_IPV4),
        ip=IPv4(ipv4_from_text(src), ipv4_from_text(dst), IPPROTO_UDP),
        l4=UDP(sport, dport, 0, 0), payload=payload))


def tcp(src: str, dst: str, sport: int, dport: int) -> bytes:
    return encode_frame(Frame(
        Ethernet(b"\x00\x15\x5d\x00\x00\xfe", b"\x00\x15\x5d\x00\x00\x01", ETH_P_IPV4),
        ip=IPv4(ipv4_from_text(src), ipv4_from_text(dst), IPPROTO_TCP),
        l4=TCP(sport, dport, 1, 0, 0x18, 65535), payload=b"x"))


def tuple_of(frame: bytes) -> tuple[str, int, str, int]:
    f = decode_frame(frame)
    assert isinstance(f.ip, IPv4)
    assert isinstance(f.l4, (UDP, TCP))
    return (vxlan.ipv4_to_text(f.ip.src), f.l4.sport, vxlan.ipv4_to_text(f.ip.dst),
            f.l4.dport)


def kube_lb(host: Host, backends: list[str], *, vip: str | None, external: int,
            internal: int, proto: int = IPPROTO_UDP, flags: int = 0) -> str:
    """A load balancer as kube-proxy winkernel creates it through hcsshim."""
    body: dict[str, Any] = {
        "HostComputeEndpoints": backends, "SourceVIP": SVIP,
        "PortMappings": [{"Protocol": proto, "InternalPort": internal,
                          "ExternalPort": external, **({} if vip else {"Flags": 2})}],
        "SchemaVersion": {"Major": 2, "Minor": 0}}
    if vip:
        body["FrontendVIPs"] = [vip]
    if flags:
        body["Flags"] = flags
    return str(host.service.hcn_call("HcnCreateLoadBalancer", None, json.dumps(body))["ID"])


def two_nodes() -> tuple[Cluster, Host, Host, str, str, str]:
    """Node a: backend 10.244.1.5 and kube-proxy's SourceVIP endpoint; node b: backend
    10.244.2.9; each knows the other's containers as remote endpoints."""
    c = Cluster()
    a, b = c.add_host("a", PA_A), c.add_host("b", PA_B)
    net_a = overlay(a.service, "10.244.0.0/16", name="vxlan0")
    net_b = overlay(b.service, "10.244.0.0/16", name="vxlan0")
    local = local_endpoint(a.service, net_a, "10.244.1.5")
    local_endpoint(a.service, net_a, SVIP, name="sourceVipEndpoint")
    far = local_endpoint(b.service, net_b, "10.244.2.9")
    c.publish_endpoints("vxlan0")
    remote = next(r["ID"] for r in a.endpoint_table() if r["IPAddress"] == "10.244.2.9")
    return c, a, b, net_a, local, remote + "|" + far


def host_vnic_port(host: Host, net: str) -> str:
    """The port networkhealth.ps1 inspects: the network's V1 Host Vnic allocator."""
    v1 = host.service.hns_call("GET", f"/networks/{net}")
    return str(next(a["EndpointPortGuid"] for a in v1["Resources"]["Allocators"]
                    if a["Tag"] == "Host Vnic"))


def rule_names(host: Host, port: str, layer: str, group: str) -> list[str]:
    code, text = vfp.ctl.run(host.switch, ["/port", port, "/layer", layer, "/group", group,
                                           "/list-rule"])
    assert code == 0, text
    return re.findall(r"Friendly name : (\S+)", text)[1:]  # [0] is the group's


def configured(host: Host, port: str, pattern: str, group: str, layer: str) -> bool:
    """networkhealth.ps1 IsVfpRuleConfigured: a rule whose name -match the pattern."""
    return any(re.search(pattern, n) for n in rule_names(host, port, layer, group))


def test_host_vnic_rules_are_where_networkhealth_looks() -> None:
    c, a, _, net, local, both = two_nodes()
    remote = both.split("|")[0]
    mgmt = PA_A
    port = host_vnic_port(a, net)
    # all backends local, one backend: NAT_<..>_<VIP>_<Ext>_<Ext>_<Proto> + HairPin
    kube_lb(a, [local], vip="10.96.0.10", external=53, internal=5353, flags=1)
    assert configured(a, port, r"NAT_\w*_10.96.0.10_53_53_17", "SLB_GROUP_LB_IPv4_OUT",
                      "SLB_LB_LAYER")
    assert configured(a, port, r"HairPin_\w*_10.96.0.10_53_53_17",
                      "SLB_GROUP_HAIRPIN_IPv4_IN", "SLB_HAIRPIN_LAYER")
    assert not rule_names(a, port, "LB", "LB_OUT")
    # a remote backend too (a NodePort: the management IP stands for the VIP): LB_HOST
    # with <Ext>_<Int>, and still HairPin for the local one
    kube_lb(a, [local, remote], vip=None, external=30007, internal=7, flags=1)
    assert configured(a, port, rf"LB_HOST_\w*_{mgmt}_30007_7_17", "LB_OUT", "LB")
    assert configured(a, port, rf"HairPin_\w*_{mgmt}_30007_30007_17",
                      "SLB_GROUP_HAIRPIN_IPv4_IN", "SLB_HAIRPIN_LAYER")
    # only remote backends: LB_HOST and no HairPin; several local ones: LB_
    kube_lb(a, [remote], vip="10.96.0.11", external=80, internal=8080, proto=IPPROTO_TCP)
    assert configured(a, port, r"LB_HOST_\w*_10.96.0.11_80_8080_6", "LB_OUT", "LB")
    assert not configured(a, port, r"HairPin_\w*_10.96.0.11_", "SLB_GROUP_HAIRPIN_IPv4_IN",
                          "SLB_HAIRPIN_LAYER")
    other = local_endpoint(a.service, net, "10.244.1.6")
    lb = kube_lb(a, [local, other], vip="10.96.0.12", external=443, internal=8443,
                 proto=IPPROTO_TCP)
    assert configured(a, port, r"LB_\w*_10.96.0.12_443_443_6", "SLB_GROUP_LB_IPv4_OUT",
                      "SLB_LB_LAYER")
    # real HNS prints these rules with no id ("RULE :", as the pod ports' LB rules)
    code, text = vfp.ctl.run(a.switch, ["/port", port, "/layer", "SLB_LB_LAYER", "/list-rule"])
    assert code == 0
    assert "    RULE :\r\n" in text or "    RULE :\n" in text
    # the rules follow the load balancer: a backend leaves (LB_ -> NAT_), the LB goes
    a.service.hcn_call("HcnDeleteEndpoint", other)
    assert configured(a, port, r"NAT_\w*_10.96.0.12_443_443_6", "SLB_GROUP_LB_IPv4_OUT",
                      "SLB_LB_LAYER")
    a.service.hcn_call("HcnDeleteLoadBalancer", lb)
    assert not configured(a, port, r"_10.96.0.12_", "SLB_GROUP_LB_IPv4_OUT", "SLB_LB_LAYER")
    c.close()


def test_an_ilb_gets_no_host_rules() -> None:
    # Internal load balancers (Docker swarm's) serve containers only (inferred)
    c, a, _, net, local, _ = two_nodes()
    body = {"HostComputeEndpoints": [local], "FrontendVIPs": ["10.96.0.50"],
            "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 80,
                              "Flags": 1}], "SchemaVersion": {"Major": 2, "Minor": 0}}
    a.service.hcn_call("HcnCreateLoadBalancer", None, json.dumps(body))
    port = host_vnic_port(a, net)
    for layer, group in (("LB", "LB_OUT"), ("SLB_LB_LAYER", "SLB_GROUP_LB_IPv4_OUT"),
                         ("SLB_HAIRPIN_LAYER", "SLB_GROUP_HAIRPIN_IPv4_IN")):
        assert rule_names(a, port, layer, group) == []
    c.close()


def test_nodeport_from_outside_reaches_local_and_remote_backends_and_answers_return() -> None:
    c, a, b, _, local, both = two_nodes()
    remote, far = both.split("|")
    kube_lb(a, [local, remote], vip=None, external=30007, internal=7)
    where: dict[str, int] = {}
    for sport in range(5000, 5032):
        got = a.receive_external(udp(CLIENT, PA_A, sport, 30007))
        where[got.where] = where.get(got.where, 0) + 1
    c.run()
    # load-balanced: some to the local backend, some encapsulated to node b
    assert where.get("endpoint", 0) > 0
    assert where.get("underlay", 0) > 0
    assert sum(where.values()) == 32
    assert a.received(local)
    # the backends see the SourceVIP (kube-proxy's sourceVip), not the client
    seen = [tuple_of(f) for f in b.received(far) if f[12:14] == b"\x08\x00"]
    assert seen
    assert {s[0] for s in seen} == {SVIP}
    assert {s[2:] for s in seen} == {("10.244.2.9", 7)}
    # every answer (UDP echo) leaves node a un-NATed: from nodeIP:nodePort to the client
    answers = [tuple_of(f) for f in c.outside]
    assert len(answers) == 32
    assert {(s, sp, d) for s, sp, d, _ in answers} == {(PA_A, 30007, CLIENT)}
    assert sorted(dp for *_, dp in answers) == list(range(5000, 5032))
    assert not a.drops
    assert not b.drops
    c.close()


def test_nodeport_with_only_remote_backends_is_forwarded_by_the_host() -> None:
    c, a, b, _, _, both = two_nodes()
    remote, far = both.split("|")
    kube_lb(a, [remote], vip=None, external=30008, internal=7)
    got = a.receive_external(udp(CLIENT, PA_A, 4000, 30008))
    assert got.where == "underlay"
    assert got.target == PA_B
    c.run()
    assert b.received(far)
    assert [tuple_of(f)[:3] for f in c.outside] == [(PA_A, 30008, CLIENT)]
    c.close()


def test_clusterip_from_outside_is_hairpinned_to_the_local_backend() -> None:
    c, a, _, net, local, _ = two_nodes()
    kube_lb(a, [local], vip="10.96.0.10", external=53, internal=7)
    got = a.receive_external(udp(CLIENT, "10.96.0.10", 6000, 53))
    assert got.where == "endpoint"
    assert got.target.upper() == local.upper()
    # the host port's HairPin rule took it IN and turned it back into the network
    assert (got.hops[0].port_id, got.hops[0].direction) == (host_vnic_port(a, net), vfp.IN)
    c.run()
    assert [tuple_of(f) for f in c.outside] == [("10.96.0.10", 53, CLIENT, 6000)]
    c.close()


def test_host_reaches_a_clusterip_with_a_remote_backend_and_gets_the_answer() -> None:
    c, a, b, _, _, both = two_nodes()
    remote, far = both.split("|")
    kube_lb(a, [remote], vip="10.96.0.20", external=53, internal=7)
    got = a.send_from_host(udp(PA_A, "10.96.0.20", 7000, 53, b"query"))
    assert got.where == "underlay"       # encapsulated to node b's provider address
    outer = decode_frame(got.output or b"")
    assert isinstance(outer.ip, IPv4)
    assert vxlan.ipv4_to_text(outer.ip.dst) == PA_B
    c.run()
    assert [tuple_of(f)[:3] for f in b.received(far) if f[12:14] == b"\x08\x00"] == [
        (SVIP, tuple_of(b.received(far)[-1])[1], "10.244.2.9")]
    answers = [tuple_of(f) for f in a.host_received]
    assert answers == [("10.96.0.20", 53, PA_A, 7000)]
    assert decode_frame(a.host_received[0]).payload == b"query"
    c.close()


def test_host_reaches_a_clusterip_and_its_own_nodeport_with_local_backends() -> None:
    c, a, _, _, local, _ = two_nodes()
    kube_lb(a, [local], vip="10.96.0.10", external=53, internal=7)
    kube_lb(a, [local], vip=None, external=30053, internal=7)
    for dst, dport in (("10.96.0.10", 53), (PA_A, 30053)):
        got = a.send_from_host(udp(PA_A, dst, 7100, dport))
        assert got.where == "endpoint", got.reason
        assert got.hops[0].direction == vfp.OUT
        c.run()
        assert tuple_of(a.host_received[-1]) == (dst, dport, PA_A, 7100)
    assert not a.drops
    c.close()


def test_host_traffic_to_an_address_without_a_host_rule_goes_straight_to_the_container(
) -> None:
    c, a, _, _, local, _ = two_nodes()
    got = a.send_from_host(tcp(PA_A, "10.244.1.5", 7200, 80))
    assert got.where == "endpoint"
    assert got.target.upper() == local.upper()
    c.close()
