"""The vSwitch of one Host on its own: local delivery, proxy ARP, the host side, the
underlay ingress checks, drops and traces. A stand-in compiler gives every local
endpoint an empty (allow-all) port, so these tests do not depend on compiled policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from host_helpers import (
    StubCompiler,
    icmp_echo,
    local_endpoint,
    overlay,
    remote_endpoint,
    shared_free_udp_port,
)

import vfp
import vxlan
from hns.hosts import Host, parse_underlay_spec

DR_MAC = "00-15-5D-AA-00-01"


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host("a", "10.0.0.1", compiler=StubCompiler)
    try:
        yield h
    finally:
        h.close()


def _mac_of(host: Host, ep: str) -> bytes:
    return host.guest(ep).mac


def test_host_local_ping_same_subnet_answers_through_arp(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    b = local_endpoint(host.service, net, "10.244.1.11")
    assert host.ping(a, "10.244.1.11")
    assert host.guest(a).arp_cache[vxlan.ipv4_from_text("10.244.1.11")] == _mac_of(host, b)
    assert host.guest(b).counters["icmp echo reply"] == 1
    got = [vxlan.decode_frame(f) for f in host.received(b)]
    assert any(f.l4 is not None and f.ip is not None and f.ip.src == vxlan.ipv4_from_text(
        "10.244.1.10") for f in got)
    assert not host.drops


def test_host_proxy_arp_answers_remote_endpoint_and_gateway(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24", dr_mac=DR_MAC)
    a = local_endpoint(host.service, net, "10.244.1.10")
    remote_endpoint(host.service, net, "10.244.1.50", "10.0.0.2", "00-15-5D-BB-00-50")
    g = host.guest(a)
    for target in ("10.244.1.50", "10.244.1.1"):
        (req,) = g.ping(target, seq=9)
        res = host.send(a, req)
        assert res.where == "arp"
        assert res.target == target
    assert g.arp_cache[vxlan.ipv4_from_text("10.244.1.50")] == vxlan.mac_from_text(
        "00-15-5D-BB-00-50")
    assert g.arp_cache[vxlan.ipv4_from_text("10.244.1.1")] == vxlan.mac_from_text(DR_MAC)


def test_host_arp_for_unknown_address_is_counted_not_answered(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    (req,) = host.guest(a).ping("10.244.1.99")
    res = host.send(a, req)
    assert res.where == "dropped"
    assert host.drops["ARP for an address no endpoint owns"] == 1
    assert not host.guest(a).arp_cache


def test_host_off_subnet_destination_goes_to_host_side(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    assert not host.ping(a, "8.8.8.8", timeout=0.2)
    assert len(host.external) == 1
    ip = vxlan.decode_frame(host.external[0]).ip
    assert ip is not None
    assert ip.dst == vxlan.ipv4_from_text("8.8.8.8")


def test_host_routed_frame_to_local_endpoint_is_rewritten_to_its_mac(host: Host) -> None:
    n1 = overlay(host.service, "10.244.1.0/24", name="n1")
    n2 = overlay(host.service, "10.244.2.0/24", name="n2", vsid=4097)
    a = local_endpoint(host.service, n1, "10.244.1.10")
    b = local_endpoint(host.service, n2, "10.244.2.10")
    assert host.ping(a, "10.244.2.10")  # via the gateway MAC, delivered by IP
    delivered = vxlan.decode_frame(host.received(b)[0])
    assert delivered.eth.dst == _mac_of(host, b)
    assert delivered.eth.src == vxlan.mac_from_text(DR_MAC)


def test_host_inject_trace_reports_every_port_crossed(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    b = local_endpoint(host.service, net, "10.244.1.11")
    frame = icmp_echo(_mac_of(host, a), _mac_of(host, b), "10.244.1.10", "10.244.1.11")
    res = host.inject(a, frame, vfp.OUT, trace=True)
    assert res.where == "endpoint"
    assert res.target.upper() == b.upper()
    assert [t.direction for t in res.traces] == [vfp.OUT, vfp.IN]
    assert [t.port.id.upper() for t in res.traces] == [a.upper(), b.upper()]
    assert res.result is not None
    assert res.result.allowed
    # the echo reply waits for pump(); then it reaches a
    assert host.pending() == 1
    host.pump()
    assert host.guest(a).counters["icmp echo reply received"] == 1


def test_host_inject_by_port_in_direction_delivers_to_container(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    port = host.port_of(a)
    assert port is not None
    frame = icmp_echo("02:00:00:00:00:01", _mac_of(host, a), "10.244.1.77", "10.244.1.10")
    res = host.inject(port.id, frame, vfp.IN)
    assert res.where == "endpoint"
    assert host.received(a) == [frame]
    assert host.pending() == 1  # the container's echo reply


def test_host_blocked_port_drop_is_counted_with_reason(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    b = local_endpoint(host.service, net, "10.244.1.11")
    port = host.port_of(b)
    assert port is not None
    port.set_state(blocked=True)
    frame = icmp_echo(_mac_of(host, a), _mac_of(host, b), "10.244.1.10", "10.244.1.11")
    res = host.send(a, frame)
    assert res.where == "dropped"
    assert res.reason == "IN: Port blocked"
    assert host.drops["IN: Port blocked"] == 1
    assert host.counters()["Drops"] == {"IN: Port blocked": 1}
    assert host.received(b) == []


def test_host_endpoint_delete_removes_its_container(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    host.guest(a)
    host.service.hcn_call("HcnDeleteEndpoint", a)
    with pytest.raises(KeyError):
        host.guest(a)
    assert a not in host.endpoints()


def test_host_remote_endpoint_has_no_container(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    r = remote_endpoint(host.service, net, "10.244.9.5", "10.0.0.9", "00-15-5D-00-09-05")
    assert host.port_of(r) is None
    with pytest.raises(KeyError, match="remote"):
        host.guest(r)


def test_host_underlay_frame_for_unknown_vni_is_dropped(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    inner = icmp_echo("02:00:00:00:00:01", _mac_of(host, a), "10.244.2.5", "10.244.1.10")
    for vni, expect in ((4097, "underlay: no local endpoint for VNI 4097"),):
        outer = vxlan.encapsulate(inner, vni=vni, src_pa="10.0.0.2", dst_pa="10.0.0.1",
                                  src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:03")
        res = host.receive(outer)
        assert res.where == "dropped"
        assert host.drops[expect] == 1
    res = host.receive(b"\x00" * 20)
    assert res.where == "dropped"
    assert res.reason.startswith("underlay: ")
    assert host.received(a) == []


def test_host_arp_over_vxlan_is_answered_for_local_endpoint() -> None:
    fabric = vxlan.MemoryNetwork()
    peer = fabric.attach("10.0.0.2")
    h = Host("a", "10.0.0.1", underlay=fabric.attach("10.0.0.1"), compiler=StubCompiler)
    try:
        net = overlay(h.service, "10.244.1.0/24")
        a = local_endpoint(h.service, net, "10.244.1.10")
        asker = vxlan.GuestStack("02:42:0a:f4:01:63", "10.244.1.99")
        (req,) = asker.ping("10.244.1.10")
        peer.send(vxlan.encapsulate(req, vni=4096, src_pa="10.0.0.2", dst_pa="10.0.0.1",
                                    src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:01"))
        assert h.pump() == 1
        back = peer.recv()
        assert back is not None
        d = vxlan.decapsulate(back, expected_vni=4096)
        assert vxlan.ip_to_text(d.dst_pa, 4) == "10.0.0.2"
        answers = asker.handle(d.inner)
        assert asker.arp_cache[vxlan.ipv4_from_text("10.244.1.10")] == _mac_of(h, a)
        assert len(answers) == 1  # the queued echo request follows
    finally:
        h.close()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("udp:10.77.0.2", ("udp", "10.77.0.2", 4789)),
        ("udp:10.77.0.2:4790", ("udp", "10.77.0.2", 4790)),
        ("udp:fd00::2", ("udp", "fd00::2", 4789)),
        ("udp:[fd00::2]:8472", ("udp", "fd00::2", 8472)),
    ],
)
def test_host_underlay_spec_parses(spec: str, expected: tuple[str, str, int]) -> None:
    assert parse_underlay_spec(spec) == expected


@pytest.mark.parametrize("spec", ["tcp:10.0.0.1", "udp:", "udp:nothost", "udp:10.0.0.1:0",
                                  "udp:10.0.0.1:x", "udp:[fd00::2", "10.0.0.1"])
def test_host_underlay_spec_refuses_bad_text(spec: str) -> None:
    with pytest.raises(ValueError, match="underlay spec"):
        parse_underlay_spec(spec)


def test_host_udp_underlay_background_pump_answers_arp_over_vxlan() -> None:
    port = shared_free_udp_port("127.0.0.2", "127.0.0.3")
    h = Host.from_underlay_spec(f"udp:127.0.0.2:{port}", name="win", compiler=StubCompiler)
    peer = vxlan.UdpUnderlay("127.0.0.3", port)
    try:
        assert h.host_ip == "127.0.0.2"
        assert h.switch.vxlan_port == port
        net = overlay(h.service, "10.244.1.0/24")
        a = local_endpoint(h.service, net, "10.244.1.10")
        h.start()
        asker = vxlan.GuestStack("02:42:0a:f4:01:63", "10.244.1.99")
        (req,) = asker.ping("10.244.1.10")
        peer.send(vxlan.encapsulate(req, vni=4096, src_pa="127.0.0.3", dst_pa="127.0.0.2",
                                    src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:01",
                                    dst_port=port))
        back = peer.recv(timeout=None)  # the pump's answer; pytest-timeout bounds the wait
        assert back is not None
        d = vxlan.decapsulate(back, dst_port=port, expected_vni=4096)
        (echo,) = asker.handle(d.inner)
        peer.send(vxlan.encapsulate(echo, vni=4096, src_pa="127.0.0.3", dst_pa="127.0.0.2",
                                    src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:01",
                                    dst_port=port))
        while not h.guest(a).counters["icmp echo reply"]:  # not 100 x 50 ms of wall clock
            peer.recv(timeout=0.05)
        assert h.guest(a).counters["icmp echo reply"] == 1
    finally:
        h.close()
        peer.close()
    assert h._thread is None


def test_host_from_underlay_spec_makes_the_pa_the_services_host_ip() -> None:
    from hns.service import HnsService

    port = shared_free_udp_port("127.0.0.2")
    service = HnsService(host_ip="172.16.0.4")
    h = Host.from_underlay_spec(f"udp:127.0.0.2:{port}", service=service,
                                compiler=StubCompiler)
    try:
        assert h.service is service
        assert service.host_ip == "127.0.0.2"
        assert h.host_ip == "127.0.0.2"
    finally:
        h.close()


def test_host_capture_keeps_the_newest_frames_up_to_its_limit() -> None:
    with Host("a", "10.0.0.1", compiler=StubCompiler, capture_limit=3) as h:
        net = overlay(h.service, "10.244.1.0/24")
        a = local_endpoint(h.service, net, "10.244.1.10")
        frames = [icmp_echo("02:00:00:00:00:01", _mac_of(h, a), "10.244.1.77", "10.244.1.10",
                            seq=i) for i in range(5)]
        for f in frames:
            h.inject(a, f, vfp.IN)
        assert h.received(a) == frames[2:]


def test_host_service_reset_and_load_reindex_endpoints(host: Host) -> None:
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    saved = host.service.dump()
    host.service.reset()
    assert host.endpoints() == []
    with pytest.raises(KeyError):
        host.guest(a)
    host.service.load(saved)
    assert [e.upper() for e in host.endpoints()] == [a.upper()]
    assert host.guest(a).ip == vxlan.ipv4_from_text("10.244.1.10")


def test_host_background_pump_without_underlay_moves_answers(host: Host) -> None:
    import time

    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    b = local_endpoint(host.service, net, "10.244.1.11")
    host.start()
    frame = icmp_echo(_mac_of(host, a), _mac_of(host, b), "10.244.1.10", "10.244.1.11")
    host.inject(a, frame, vfp.OUT)  # b's echo reply is queued; the thread moves it
    while not host.received(a):  # the pump thread's move; pytest-timeout bounds the wait
        time.sleep(0.01)
    host.stop()
    assert len(host.received(a)) == 1
    assert host.pending() == 0
