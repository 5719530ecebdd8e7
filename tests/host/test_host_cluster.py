"""Two emulated hosts on the in-memory underlay with the real HNS -> VFP compiler: overlay
networks (VSID 4096) made through the HNS API on each host, containers pinging across
hosts through VXLAN, the underlay capture, drops with reasons."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_helpers import (
    icmp_echo,
    local_endpoint,
    overlay,
    remote_endpoint,
    shared_free_udp_port,
)

import vfp
import vxlan
from hns.hosts import Cluster, Host

PA_A, PA_B = "10.0.0.1", "10.0.0.2"
MAC_A, MAC_B = "00-15-5D-01-00-0A", "00-15-5D-01-00-0B"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(pcap=tmp_path / "underlay.pcap")
    try:
        yield c
    finally:
        c.close()


def _swarm(cluster: Cluster, *, vsid_a: int | None = 4096,
           vsid_b: int | None = 4096) -> tuple[Host, Host, str, str]:
    """Docker-swarm style: one subnet 10.0.1.0/24 on both hosts, a container on each, the
    other host's container as a remote endpoint with a PA policy."""
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    net_a = overlay(a.service, "10.0.1.0/24", name="swarm", vsid=vsid_a)
    net_b = overlay(b.service, "10.0.1.0/24", name="swarm", vsid=vsid_b)
    ep_a = local_endpoint(a.service, net_a, "10.0.1.2", mac=MAC_A, name="ctr-a")
    ep_b = local_endpoint(b.service, net_b, "10.0.1.3", mac=MAC_B, name="ctr-b")
    remote_endpoint(a.service, net_a, "10.0.1.3", PA_B, MAC_B)
    remote_endpoint(b.service, net_b, "10.0.1.2", PA_A, MAC_A)
    return a, b, ep_a, ep_b


def test_cluster_ping_across_hosts_with_remote_endpoints(cluster: Cluster) -> None:
    a, b, ep_a, ep_b = _swarm(cluster)
    assert cluster.ping("a", ep_a, "10.0.1.3")
    assert cluster.ping(b, ep_b, "10.0.1.2")
    assert b.guest(ep_b).counters["icmp echo reply"] == 1
    assert a.guest(ep_a).counters["icmp echo reply"] == 1
    frames = cluster.capture()
    assert len(frames) == 4  # request + reply, each way
    pairs = set()
    for f in frames:
        d = vxlan.decapsulate(f, expected_vni=4096)
        pairs.add((vxlan.ip_to_text(d.src_pa, 4), vxlan.ip_to_text(d.dst_pa, 4)))
        inner = vxlan.decode_frame(d.inner)
        assert isinstance(inner.l4, vxlan.ICMPv4)
    assert pairs == {(PA_A, PA_B), (PA_B, PA_A)}
    assert not a.drops
    assert not b.drops


def test_cluster_pcap_file_holds_every_underlay_frame(cluster: Cluster, tmp_path: Path) -> None:
    _a, _b, ep_a, _ep_b = _swarm(cluster)
    assert cluster.ping("a", ep_a, "10.0.1.3")
    cluster.close()
    assert vxlan.read_pcap(tmp_path / "underlay.pcap") == cluster.capture()
    out = tmp_path / "again.pcap"
    cluster.write_pcap(out)
    assert vxlan.read_pcap(out) == cluster.capture()


def test_cluster_inject_trace_shows_encap_then_decap(cluster: Cluster) -> None:
    a, b, ep_a, ep_b = _swarm(cluster)
    frame = icmp_echo(MAC_A, MAC_B, "10.0.1.2", "10.0.1.3")
    res = a.inject(ep_a, frame, vfp.OUT, trace=True)
    assert res.where == "underlay"
    assert res.target == PA_B
    assert res.trace is not None
    assert res.trace.allowed
    assert res.output is not None
    d = vxlan.decapsulate(res.output, expected_vni=4096)
    assert d.inner[0:6] == vxlan.mac_from_text(MAC_B)
    # on b the frame enters ctr-b's port still encapsulated, and leaves it decapsulated
    outer = b.underlay.recv() if b.underlay is not None else None
    assert outer is not None
    got = b.receive(outer, trace=True)
    assert got.where == "endpoint"
    assert got.target.upper() == ep_b.upper()
    (t,) = got.traces
    assert t.input is not None
    assert t.input.outer is not None
    assert t.final is not None
    assert t.final.outer is None
    assert b.received(ep_b)[-1] == got.output


def test_cluster_ping_across_subnets_with_remote_subnet_routes(cluster: Cluster) -> None:
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    dr = {"a": "00-15-5D-AA-00-0A", "b": "00-15-5D-AA-00-0B"}
    net_a = overlay(a.service, "10.244.1.0/24", dr_mac=dr["a"])
    net_b = overlay(b.service, "10.244.2.0/24", dr_mac=dr["b"])
    for host, net, prefix, pa, mac in ((a, net_a, "10.244.2.0/24", PA_B, dr["b"]),
                                       (b, net_b, "10.244.1.0/24", PA_A, dr["a"])):
        host.service.hcn_call("HcnModifyNetwork", net, json.dumps({
            "ResourceType": "Policy", "RequestType": "Add",
            "Settings": {"Policies": [{"Type": "RemoteSubnetRoute", "Settings": {
                "DestinationPrefix": prefix, "IsolationId": 4096, "ProviderAddress": pa,
                "DistributedRouterMacAddress": mac}}]}}))
    ep_a = local_endpoint(a.service, net_a, "10.244.1.5")
    ep_b = local_endpoint(b.service, net_b, "10.244.2.5")
    assert cluster.ping(a, ep_a, "10.244.2.5"), cluster.drops()
    assert cluster.ping(b, ep_b, "10.244.1.5"), cluster.drops()
    # the inner frame on the wire goes to the remote DR MAC
    requests = [vxlan.decapsulate(f) for f in cluster.capture()]
    assert {d.vni for d in requests} == {4096}
    assert any(d.inner[0:6] == vxlan.mac_from_text(dr["b"]) for d in requests)


def test_cluster_vni_mismatch_is_dropped_and_counted(cluster: Cluster) -> None:
    a, b, ep_a, _ep_b = _swarm(cluster, vsid_b=4097)
    assert not cluster.ping(a, ep_a, "10.0.1.3")
    assert b.drops["underlay: no local endpoint for VNI 4096"] == 1
    assert cluster.drops()["b"] == {"underlay: no local endpoint for VNI 4096": 1}


def test_cluster_remote_endpoint_delete_stops_encapsulation(cluster: Cluster) -> None:
    a, _b, ep_a, _ep_b = _swarm(cluster)
    assert cluster.ping(a, ep_a, "10.0.1.3")
    sent = len(cluster.capture())
    (remote,) = [e for e in json.loads(json.dumps(a.service.dump()))["Objects"]["endpoint"]
                 if e.get("Flags", 0) & 1]
    a.service.hcn_call("HcnDeleteEndpoint", remote["ID"])
    assert not cluster.ping(a, ep_a, "10.0.1.3")  # ARP cache still warm: frame leaves
    assert len(cluster.capture()) == sent  # but nothing is encapsulated any more
    assert len(a.external) == 1


def test_cluster_add_host_twice_is_refused(cluster: Cluster) -> None:
    cluster.add_host("a", PA_A)
    with pytest.raises(ValueError, match="already"):
        cluster.add_host("a", "10.0.0.9")
    with pytest.raises(ValueError, match="already"):
        cluster.add_host("c", PA_A)
    assert list(cluster.hosts) == ["a"]


def test_cluster_acl_block_in_drops_with_reason_on_receiving_host(cluster: Cluster) -> None:
    a, b, ep_a, ep_b = _swarm(cluster)
    acl = {"Type": "ACL", "Settings": {
        "Id": "block-from-a", "Action": "Block", "Direction": "In", "Priority": 100,
        "RuleType": "Switch", "Protocols": "256", "RemoteAddresses": "10.0.1.2"}}
    b.service.hcn_call("HcnModifyEndpoint", ep_b, json.dumps({
        "ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [acl]}}))
    assert not cluster.ping(a, ep_a, "10.0.1.3")
    assert b.drops == {"IN: Blocked by rule": 1}
    assert b.received(ep_b) == []
    assert b.guest(ep_b).counters["icmp echo reply"] == 0


def test_host_outbound_nat_reply_from_host_side_reaches_container() -> None:
    with Host("a", PA_A) as h:
        net = overlay(h.service, "10.244.1.0/24")
        ep = local_endpoint(h.service, net, "10.244.1.10", policies=[
            {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16"]}}])
        guest = h.guest(ep)
        for frame in guest.send_udp("8.8.8.8", 5000, 53, b"query"):
            h.send(ep, frame)
        h.pump()
        (out,) = [vxlan.decode_frame(f) for f in h.external]
        assert out.ip is not None
        assert isinstance(out.l4, vxlan.UDP)
        assert vxlan.ipv4_to_text(out.ip.src) == PA_A  # SNATed to the host's address
        answer = vxlan.encode_frame(vxlan.Frame(
            vxlan.Ethernet(out.eth.src, out.eth.dst, vxlan.ETH_P_IPV4),
            ip=vxlan.IPv4(out.ip.dst, out.ip.src, vxlan.IPPROTO_UDP),
            l4=vxlan.UDP(53, out.l4.sport, 0, 1), payload=b"answer"))
        res = h.receive_external(answer)
        assert res.where == "endpoint"
        (got,) = guest.udp_received
        assert (vxlan.ipv4_to_text(got.src), got.sport, got.dport, got.payload) == (
            "8.8.8.8", 53, 5000, b"answer")
        stray = vxlan.encode_frame(vxlan.Frame(
            vxlan.Ethernet(out.eth.src, out.eth.dst, vxlan.ETH_P_IPV4),
            ip=vxlan.IPv4(out.ip.dst, vxlan.ipv4_from_text("10.0.0.99"), vxlan.IPPROTO_UDP),
            l4=vxlan.UDP(53, 9, 0, 1), payload=b"x"))
        assert h.receive_external(stray).where == "dropped"
        assert h.drops["host side: no local endpoint owns the destination"] == 1


@contextlib.contextmanager
def _udp_pair() -> Iterator[tuple[Host, Host, str, str]]:
    """Two hosts, each on its own UDP socket, one overlay with a container on each."""
    port = shared_free_udp_port("127.0.0.2", "127.0.0.3")
    a = Host.from_underlay_spec(f"udp:127.0.0.2:{port}", name="a")
    try:
        b = Host.from_underlay_spec(f"udp:127.0.0.3:{port}", name="b")
    except BaseException:
        a.close()
        raise
    try:
        net_a = overlay(a.service, "10.0.1.0/24", name="swarm")
        net_b = overlay(b.service, "10.0.1.0/24", name="swarm")
        ep_a = local_endpoint(a.service, net_a, "10.0.1.2", mac=MAC_A)
        ep_b = local_endpoint(b.service, net_b, "10.0.1.3", mac=MAC_B)
        remote_endpoint(a.service, net_a, "10.0.1.3", "127.0.0.3", MAC_B)
        remote_endpoint(b.service, net_b, "10.0.1.2", "127.0.0.2", MAC_A)
        yield a, b, ep_a, ep_b
    finally:
        a.close()
        b.close()


def test_hosts_on_real_udp_sockets_form_one_overlay() -> None:
    """Two hosts, each on its own UDP socket (as two `hns-emulator serve --underlay`
    processes would be), pinging across with background pumps."""
    with _udp_pair() as (a, b, ep_a, ep_b):
        a.start()
        b.start()
        assert a.ping(ep_a, "10.0.1.3"), (a.counters(), b.counters())
        assert b.ping(ep_b, "10.0.1.2"), (a.counters(), b.counters())
        a.stop()  # the reply can arrive before its sender's thread counted it: join first
        b.stop()
        assert a.sent_to_underlay == 2, a.counters()  # a's request, a's reply
        assert b.sent_to_underlay == 2, b.counters()


def test_ping_waits_for_a_slow_peer_past_the_old_two_seconds() -> None:
    """A loaded CI machine can take seconds to answer: ping ends on the reply, not on a
    short clock (it used to give up after 2 s)."""
    with _udp_pair() as (a, b, ep_a, _):
        a.start()
        # b is slow: it reads its socket (and answers) only 2.5 s after the echo left
        slow = threading.Timer(2.5, lambda: b.pump(timeout=30.0))
        slow.start()
        try:
            assert a.ping(ep_a, "10.0.1.3"), (a.counters(), b.counters())
        finally:
            slow.join()


def test_cluster_overlay_without_vsid_policy_uses_vni_4096(cluster: Cluster) -> None:
    a, b, ep_a, ep_b = _swarm(cluster, vsid_a=None, vsid_b=None)
    assert cluster.ping(a, ep_a, "10.0.1.3"), cluster.drops()
    assert cluster.ping(b, ep_b, "10.0.1.2"), cluster.drops()
    assert {vxlan.decapsulate(f).vni for f in cluster.capture()} == {4096}


def test_cluster_non_overlay_network_takes_no_vxlan(cluster: Cluster) -> None:
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    net_b = b.service.hcn_call("HcnCreateNetwork", None, json.dumps({
        "Name": "l2bridge", "Type": "L2Bridge", "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.0.1.0/24",
            "Routes": [{"NextHop": "10.0.1.1", "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}]}))["ID"]
    ep_b = local_endpoint(b.service, net_b, "10.0.1.3", mac=MAC_B)
    inner = icmp_echo(MAC_A, MAC_B, "10.0.1.2", "10.0.1.3")
    outer = vxlan.encapsulate(inner, vni=4096, src_pa=PA_A, dst_pa=PA_B,
                              src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02")
    assert a.underlay is not None
    a.underlay.send(outer)
    cluster.run()
    assert b.drops == {"underlay: no local endpoint for VNI 4096": 1}
    assert b.received(ep_b) == []


def test_cluster_on_link_address_behind_remote_subnet_route_is_answered_by_arp(
        cluster: Cluster) -> None:
    """Calico-style: one /16 on every host, each host's block reached by a RemoteSubnetRoute;
    a container ARPs for a remote pod directly and the vSwitch answers with the DR MAC of
    the route that covers it."""
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    dr = {"a": "00-15-5D-AA-00-0A", "b": "00-15-5D-AA-00-0B"}
    nets = {}
    for name, host, block, pa_other, other in (("a", a, "10.244.2.0/24", PA_B, "b"),
                                               ("b", b, "10.244.1.0/24", PA_A, "a")):
        nets[name] = overlay(host.service, "10.244.0.0/16", dr_mac=dr[name])
        host.service.hcn_call("HcnModifyNetwork", nets[name], json.dumps({
            "ResourceType": "Policy", "RequestType": "Add",
            "Settings": {"Policies": [{"Type": "RemoteSubnetRoute", "Settings": {
                "DestinationPrefix": block, "IsolationId": 4096, "ProviderAddress": pa_other,
                "DistributedRouterMacAddress": dr[other]}}]}}))
    ep_a = local_endpoint(a.service, nets["a"], "10.244.1.5")
    ep_b = local_endpoint(b.service, nets["b"], "10.244.2.5")
    assert a.guest(ep_a).mask == 0xFFFF0000  # on-link for the whole /16
    assert cluster.ping(a, ep_a, "10.244.2.5"), cluster.drops()
    learned = a.guest(ep_a).arp_cache[vxlan.ipv4_from_text("10.244.2.5")]
    assert learned == vxlan.mac_from_text(dr["b"])
    assert cluster.ping(b, ep_b, "10.244.1.5"), cluster.drops()
    (unrouted,) = a.guest(ep_a).ping("10.244.9.9")
    assert a.send(ep_a, unrouted).reason == "ARP for an address no endpoint owns"


def test_cluster_publish_endpoints_lets_every_host_reach_every_other() -> None:
    with Cluster() as c:
        eps: dict[str, tuple[Host, str]] = {}
        for i, name in enumerate("abc"):
            h = c.add_host(name, f"10.0.0.{i + 1}")
            net = overlay(h.service, "10.0.1.0/24", name="swarm")
            ip = f"10.0.1.{10 + i}"
            eps[ip] = (h, local_endpoint(h.service, net, ip, mac=f"00-15-5D-01-00-{10 + i:02X}"))
        assert c.publish_endpoints("SWARM") == (6, 0)  # names are case-insensitive
        assert c.publish_endpoints("swarm") == (0, 0)  # nothing more to do
        for src, (h, ep) in eps.items():
            for dst in eps:
                if dst != src:
                    assert c.ping(h, ep, dst), (src, dst, c.drops())
        # a container goes away on c: its remote endpoints go from a and b
        host_c, ep_c = eps["10.0.1.12"]
        host_c.service.hcn_call("HcnDeleteEndpoint", ep_c)
        assert c.publish_endpoints("swarm") == (0, 2)
        h, ep = eps["10.0.1.10"]
        remotes = [r for r in h.endpoint_table() if r["IsRemoteEndpoint"]]
        assert sorted(r["IPAddress"] for r in remotes) == ["10.0.1.11"]
        assert remotes[0]["ProviderAddress"] == "10.0.0.2"


def test_cluster_ten_hosts_ping_in_a_ring() -> None:
    with Cluster() as c:
        ring: list[tuple[Host, str]] = []
        for i in range(10):
            h = c.add_host(f"h{i}", f"10.0.0.{i + 1}")
            net = overlay(h.service, "10.0.1.0/24", name="swarm")
            ring.append((h, local_endpoint(h.service, net, f"10.0.1.{10 + i}",
                                           mac=f"00-15-5D-01-00-{10 + i:02X}")))
        assert c.publish_endpoints("swarm") == (90, 0)
        for i, (h, ep) in enumerate(ring):
            assert c.ping(h, ep, f"10.0.1.{10 + (i + 1) % 10}"), c.drops()
        hops = set()
        for frame in c.capture():
            d = vxlan.decapsulate(frame, expected_vni=4096)
            hops.add((d.src_pa & 0xFF, d.dst_pa & 0xFF))
        ring_hops = {(i + 1, (i + 1) % 10 + 1) for i in range(10)}
        assert hops == ring_hops | {(b, a) for a, b in ring_hops}


def test_cluster_physical_network_carries_snat_to_a_port_mapping_on_another_host(
        cluster: Cluster) -> None:
    """A container on A (overlay, OutboundNAT) sends UDP to B's address at a port that a
    NAT-network container on B publishes: SNAT on A, the physical network, the port
    mapping on B, B's UDP echo, and the answer back through both NATs."""
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    net_a = overlay(a.service, "10.244.1.0/24")
    ep_a = local_endpoint(a.service, net_a, "10.244.1.10", policies=[
        {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16"]}}])
    nat = b.service.hcn_call("HcnCreateNetwork", None, json.dumps({
        "Name": "nat", "Type": "NAT", "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "172.20.0.0/24",
            "Routes": [{"NextHop": "172.20.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}))
    ep_b = b.service.hcn_call("HcnCreateEndpoint", None, json.dumps({
        "Name": "web", "HostComputeNetwork": nat["ID"], "Policies": [{
            "Type": "PortMapping",
            "Settings": {"InternalPort": 7, "ExternalPort": 8007, "Protocol": 17}}]}))["ID"]
    guest = a.guest(ep_a)
    for frame in guest.send_udp(PA_B, 5555, 8007, b"hello"):
        a.send(ep_a, frame)
    cluster.run()
    (seen_by_b,) = b.guest(ep_b).udp_received
    assert vxlan.ipv4_to_text(seen_by_b.src) == PA_A  # SNATed by A
    assert seen_by_b.dport == 7  # DNATed by B's port mapping
    (answer,) = guest.udp_received
    assert (vxlan.ipv4_to_text(answer.src), answer.sport, answer.dport, answer.payload) == (
        PA_B, 8007, 5555, b"hello")
    assert cluster.capture() == []  # nothing crossed the overlay
    assert list(cluster.outside) == []
    assert cluster.drops() == {"a": {}, "b": {}, "underlay": {}}


def test_cluster_frames_for_no_host_go_to_the_outside(cluster: Cluster) -> None:
    a, b, ep_a, ep_b = _swarm(cluster)
    assert not cluster.ping(a, ep_a, "8.8.8.8")
    (out,) = cluster.outside
    ip = vxlan.decode_frame(out).ip
    assert ip is not None
    assert vxlan.ipv4_to_text(ip.dst) == "8.8.8.8"
    # an overlay address is not reachable over the physical network
    assert not b.accepts_physical(icmp_echo(MAC_A, MAC_B, "10.0.1.2", "10.0.1.3"))
    assert b.received(ep_b) == []


def test_cluster_l2bridge_containers_on_two_hosts_ping_over_the_physical_network(
        cluster: Cluster) -> None:
    hosts = [cluster.add_host("a", PA_A), cluster.add_host("b", PA_B)]
    eps = []
    for h, ip, mac in zip(hosts, ("192.168.5.10", "192.168.5.11"), (MAC_A, MAC_B),
                          strict=True):
        net = h.service.hcn_call("HcnCreateNetwork", None, json.dumps({
            "Name": "l2bridge", "Type": "L2Bridge", "Ipams": [{"Type": "Static", "Subnets": [{
                "IpAddressPrefix": "192.168.5.0/24",
                "Routes": [{"NextHop": "192.168.5.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}))
        eps.append(local_endpoint(h.service, net["ID"], ip, mac=mac))
    assert cluster.ping(hosts[0], eps[0], "192.168.5.11"), cluster.drops()
    assert cluster.ping(hosts[1], eps[1], "192.168.5.10"), cluster.drops()
    assert hosts[0].guest(eps[0]).arp_cache[vxlan.ipv4_from_text("192.168.5.11")] == \
        vxlan.mac_from_text(MAC_B)
    assert cluster.capture() == []  # no VXLAN: the physical network carried it
    (unknown,) = hosts[0].guest(eps[0]).ping("192.168.5.99")
    assert hosts[0].send(eps[0], unknown).reason == "ARP for an address no endpoint owns"


def test_hosts_keep_forwarding_while_hns_changes_under_them() -> None:
    """Background pumps on real UDP sockets while another thread keeps creating and
    deleting load balancers on B: every ping still gets its answer (packets and
    recompilations take turns on the service lock)."""
    import threading

    port = shared_free_udp_port("127.0.0.2", "127.0.0.3")
    a = Host.from_underlay_spec(f"udp:127.0.0.2:{port}", name="a")
    b = Host.from_underlay_spec(f"udp:127.0.0.3:{port}", name="b")
    stop = threading.Event()
    errors: list[BaseException] = []
    try:
        net_a = overlay(a.service, "10.0.1.0/24", name="swarm")
        net_b = overlay(b.service, "10.0.1.0/24", name="swarm")
        ep_a = local_endpoint(a.service, net_a, "10.0.1.2", mac=MAC_A)
        ep_b = local_endpoint(b.service, net_b, "10.0.1.3", mac=MAC_B)
        remote_endpoint(a.service, net_a, "10.0.1.3", "127.0.0.3", MAC_B)
        remote_endpoint(b.service, net_b, "10.0.1.2", "127.0.0.2", MAC_A)

        def churn() -> None:
            try:
                n = 0
                while not stop.is_set():
                    lb = b.service.hcn_call("HcnCreateLoadBalancer", None, json.dumps({
                        "HostComputeEndpoints": [ep_b], "FrontendVIPs": ["10.96.0.10"],
                        "PortMappings": [{"Protocol": 6, "InternalPort": 80,
                                          "ExternalPort": 8000 + n % 100}]}))
                    b.service.hcn_call("HcnDeleteLoadBalancer", lb["ID"])
                    n += 1
            except BaseException as exc:  # handed to the test
                errors.append(exc)

        a.start()
        b.start()
        worker = threading.Thread(target=churn)
        worker.start()
        results = [a.ping(ep_a, "10.0.1.3", timeout=5.0) for _ in range(20)]
        stop.set()
        worker.join()
        assert not errors
        assert all(results), (a.counters(), b.counters())
        assert not a.drops
        assert not b.drops
    finally:
        stop.set()
        a.close()
        b.close()


def test_host_container_pings_its_own_host_address() -> None:
    with Host("a", PA_A) as h:
        net = overlay(h.service, "10.244.1.0/24")
        plain = local_endpoint(h.service, net, "10.244.1.10")
        natted = local_endpoint(h.service, net, "10.244.1.11", policies=[
            {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16"]}}])
        assert h.ping(plain, PA_A)
        assert h.ping(natted, PA_A)  # SNATed to the host address, answered, un-NATed
        assert h.host_stack["icmp echo reply"] == 2
        assert not h.drops


def test_cluster_container_with_outbound_nat_pings_another_host(cluster: Cluster) -> None:
    a = cluster.add_host("a", PA_A)
    b = cluster.add_host("b", PA_B)
    net = overlay(a.service, "10.244.1.0/24")
    natted = local_endpoint(a.service, net, "10.244.1.11", policies=[
        {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16"]}}])
    plain = local_endpoint(a.service, net, "10.244.1.10")
    assert cluster.ping(a, natted, PA_B)
    assert b.host_stack["icmp echo reply"] == 1
    # without SNAT the answer is for an overlay address, which the physical network
    # does not route: it goes to the outside world
    assert not cluster.ping(a, plain, PA_B)
    assert b.host_stack["icmp echo reply"] == 2
    (lost,) = cluster.outside
    ip = vxlan.decode_frame(lost).ip
    assert ip is not None
    assert vxlan.ipv4_to_text(ip.dst) == "10.244.1.10"


def test_cluster_dsr_keeps_the_vip_on_the_wire_both_ways() -> None:
    """kube-proxy DSR with the compiler's opt-in real DSR: the client's port encapsulates
    to the backend's host with the VIP kept; that host hands the frame to the backend the
    VIP is published for, which answers from the VIP straight to the client."""
    with Cluster() as c:
        a = c.add_host("a", PA_A, dsr_keeps_vip=True)
        b = c.add_host("b", PA_B, dsr_keeps_vip=True)
        net_a = overlay(a.service, "10.0.1.0/24")
        net_b = overlay(b.service, "10.0.1.0/24")
        client = local_endpoint(a.service, net_a, "10.0.1.2", mac=MAC_A)
        backend = local_endpoint(b.service, net_b, "10.0.1.3", mac=MAC_B)
        remote_b = remote_endpoint(a.service, net_a, "10.0.1.3", PA_B, MAC_B)
        remote_endpoint(b.service, net_b, "10.0.1.2", PA_A, MAC_A)
        for h, be in ((a, remote_b), (b, backend)):  # kube-proxy programs every node
            h.service.hcn_call("HcnCreateLoadBalancer", None, json.dumps({
                "HostComputeEndpoints": [be], "FrontendVIPs": ["10.96.0.10"], "Flags": 1,
                "PortMappings": [{"Protocol": 17, "InternalPort": 7, "ExternalPort": 53}]}))
        guest = a.guest(client)
        for frame in guest.send_udp("10.96.0.10", 5555, 53, b"dsr?"):
            a.send(client, frame)
        c.run()
        (seen,) = b.guest(backend).udp_received
        assert (vxlan.ipv4_to_text(seen.src), seen.dport) == ("10.0.1.2", 7)  # DNATed on B
        (answer,) = guest.udp_received
        assert (vxlan.ipv4_to_text(answer.src), answer.sport, answer.payload) == (
            "10.96.0.10", 53, b"dsr?")
        wire = []
        for f in c.capture():
            d = vxlan.decapsulate(f, expected_vni=4096)
            k = vxlan.flow_key(d.inner)
            assert k is not None
            wire.append((vxlan.ipv4_to_text(k.src), vxlan.ipv4_to_text(k.dst)))
        assert wire == [("10.0.1.2", "10.96.0.10"), ("10.96.0.10", "10.0.1.2")]
        assert c.drops() == {"a": {}, "b": {}, "underlay": {}}
