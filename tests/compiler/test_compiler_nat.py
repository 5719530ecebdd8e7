"""OutBoundNAT -> exceptions + dynnat over NAT pools in SLB_NAT_LAYER; PortMapping (NAT
networks) -> DNAT host IP:ExternalPort -> container:InternalPort; owner_of for frames to the
host's own address."""

from __future__ import annotations

import ipaddress

from compiler_helpers import HOST_IP, IPPROTO_ICMP, IPPROTO_UDP, Rig, decode, frame

import vfp


def ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def onat(exceptions: list[str], vip: str | None = None) -> dict[str, object]:
    settings: dict[str, object] = {"Exceptions": exceptions}
    if vip:
        settings["VirtualIP"] = vip
    return {"Type": "OutBoundNAT", "Settings": settings}


def test_outbound_nat_listing_has_exceptions_and_dynnat_pools() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=[onat(["10.244.0.0/16", "10.96.0.0/12"])])
    text = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/list-rule")
    # NAT rules have no id: "RULE :" then the friendly name (kubernetes#79359).
    assert "RULE :\r\n        Friendly name : ALLOW_NAT_EXCEPTION_10.244.1.5_10.244.0.0/16\r\n" \
        in text
    assert "Destination IP : 10.96.0.0-10.111.255.255" in text
    assert "Friendly name : SNAT_TCP_10.244.1.5\r\n" in text
    assert "Type : dynnat" in text
    assert "NAT pool : SLB_NATPOOL_IPV4_TCP_10.244.1.5" in text
    assert "Flags : 3 terminating stateful" in text


def test_snat_to_host_ip_outside_exceptions_and_reply_restored() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=[onat(["10.244.0.0/16"])])
    port = rig.port(ep)
    r = vfp.process(port, frame("10.244.1.5", "8.8.8.8", proto=IPPROTO_UDP, sport=5000,
                                dport=53), vfp.OUT)
    f = decode(r.output or b"")
    assert ip(f.ip.src) == HOST_IP
    nat_port = f.l4.sport
    assert rig.compiler.owner_of(17, HOST_IP, nat_port) == ep
    back = vfp.process(port, frame("8.8.8.8", HOST_IP, proto=IPPROTO_UDP, sport=53,
                                   dport=nat_port), vfp.IN)
    g = decode(back.output or b"")
    assert ip(g.ip.dst) == "10.244.1.5"
    assert g.l4.dport == 5000
    inside = vfp.process(port, frame("10.244.1.5", "10.244.7.7", proto=IPPROTO_UDP), vfp.OUT)
    assert ip(decode(inside.output or b"").ip.src) == "10.244.1.5"


def test_snat_uses_virtual_ip_and_covers_icmp() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[onat([], vip="192.168.50.1")])
    r = vfp.process(rig.port(ep), frame("10.0.0.5", "1.1.1.1", proto=IPPROTO_ICMP), vfp.OUT)
    assert ip(decode(r.output or b"").ip.src) == "192.168.50.1"


def test_connections_accepted_by_natted_endpoint_reply_unnatted() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[onat([])])
    port = rig.port(ep)
    assert vfp.process(port, frame("8.8.4.4", "10.0.0.5", sport=3333, dport=80), vfp.IN).allowed
    reply = vfp.process(port, frame("10.0.0.5", "8.8.4.4", sport=80, dport=3333), vfp.OUT)
    assert ip(decode(reply.output or b"").ip.src) == "10.0.0.5"


def test_two_endpoints_get_disjoint_snat_port_blocks() -> None:
    rig = Rig()
    net = rig.network()
    a = rig.endpoint(net, "10.0.0.5", policies=[onat([])])
    b = rig.endpoint(net, "10.0.0.6", policies=[onat([])])
    pa = rig.port(a).nat_pools["SLB_NATPOOL_IPV4_TCP_10.0.0.5"].ranges[0]
    pb = rig.port(b).nat_pools["SLB_NATPOOL_IPV4_TCP_10.0.0.6"].ranges[0]
    assert pa.port_end < pb.port_start or pb.port_end < pa.port_start


def test_port_mapping_publishes_container_port_on_host_ip() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        {"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80,
                                             "ExternalPort": 8080}}])
    text = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/group", "SLB_GROUP_NAT_IPv4_IN",
                   "/list-rule")
    assert f"Friendly name : NAT_PORTMAP_TCP_{HOST_IP}_8080\r\n" in text
    assert "Type : nat" in text
    assert rig.compiler.owner_of(6, HOST_IP, 8080) == ep
    assert rig.compiler.owner_of(17, HOST_IP, 8080) is None
    port = rig.port(ep)
    r = vfp.process(port, frame("192.168.1.20", HOST_IP, sport=5555, dport=8080), vfp.IN)
    f = decode(r.output or b"")
    assert ip(f.ip.dst) == "10.0.0.5"
    assert f.l4.dport == 80
    reply = vfp.process(port, frame("10.0.0.5", "192.168.1.20", sport=80, dport=5555), vfp.OUT)
    g = decode(reply.output or b"")
    assert ip(g.ip.src) == HOST_IP
    assert g.l4.sport == 8080


def test_snat_port_blocks_stay_within_port_range_for_many_endpoints() -> None:
    rig = Rig()
    net = rig.network(prefix="10.0.0.0/16", gateway="10.0.0.1")
    eps = [rig.endpoint(net, f"10.0.{1 + i // 250}.{1 + i % 250}", policies=[onat([])])
           for i in range(260)]
    last = rig.port(eps[-1]).nat_pools
    assert len(last) == 3
    for pool in last.values():
        assert all(0 < r.port_start <= r.port_end <= 65535 for r in pool.ranges)
    assert rig.compiler.errors == []


def test_own_network_is_never_snatted_even_without_exceptions() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.0.0.0/24", gateway="10.0.0.1", vsid=4096)
    ep = rig.endpoint(net, "10.0.0.2", policies=[{"Type": "OutBoundNAT", "Settings": {}}])
    port = rig.port(ep)
    inside = vfp.process(port, frame("10.0.0.2", "10.0.0.3"), vfp.OUT)
    assert ip(decode(inside.output or b"").ip.src) == "10.0.0.2"
    outside = vfp.process(port, frame("10.0.0.2", "10.9.9.9"), vfp.OUT)
    assert ip(decode(outside.output or b"").ip.src) == HOST_IP
    assert "ALLOW_NAT_EXCEPTION_10.0.0.2_10.0.0.0/24" in \
        rig.port(ep).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_OUT").rules


def test_icmp_echo_reply_to_host_address_finds_the_natted_endpoint() -> None:
    rig = Rig()
    net = rig.network()
    a = rig.endpoint(net, "10.0.0.5", policies=[onat([])])
    b = rig.endpoint(net, "10.0.0.6", policies=[onat([])])
    assert rig.compiler.owner_of(1, HOST_IP, 0) is None
    vfp.process(rig.port(b), frame("10.0.0.6", "8.8.4.4", proto=IPPROTO_ICMP), vfp.OUT)
    vfp.process(rig.port(a), frame("10.0.0.5", "8.8.8.8", proto=IPPROTO_ICMP), vfp.OUT)
    assert rig.compiler.owner_of(1, HOST_IP, 7, src="8.8.8.8") == a
    assert rig.compiler.owner_of(1, HOST_IP, 7, src="8.8.4.4") == b
    assert rig.compiler.owner_of(1, HOST_IP, 7) in (a, b)
