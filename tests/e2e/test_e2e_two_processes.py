"""Two emulator processes form one overlay: `hns-emulator serve --underlay udp:<PA>:<port>`
twice (PAs 127.0.0.2 and 127.0.0.3 on loopback), each programmed over HTTP with the same
Overlay network (VSID 4096), its own container and the other's container as a remote
endpoint. A frame injected into A's container port crosses the real UDP underlay to B,
B's emulated container answers, and the answer comes back into A's port."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import vxlan
from api.client import HnsClient
from hns.testing.server import EmulatorServer, ServerStartError

pytestmark = pytest.mark.slow

CTR = {"a": ("10.0.1.2", "00-15-5D-01-00-0A", "127.0.0.2"),
       "b": ("10.0.1.3", "00-15-5D-01-00-0B", "127.0.0.3")}


def _shared_free_udp_port(*addrs: str) -> int:
    """A UDP port free on every one of `addrs` a moment ago (both hosts need the same
    VXLAN port)."""
    for _ in range(50):
        socks: list[socket.socket] = []
        try:
            for addr in addrs:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((addr, int(socks[0].getsockname()[1]) if len(socks) > 1 else 0))
            return int(socks[0].getsockname()[1])
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no UDP port free on all of " + ", ".join(addrs))


@pytest.fixture
def servers() -> Iterator[tuple[dict[str, EmulatorServer], int]]:
    """The two servers by name, and the VXLAN UDP port they share.

    The port was free when picked, but the servers bind it seconds later on a loaded
    machine, and under pytest -n 2 another test's socket may hold it by then: a server
    that exits at start (its underlay bind refused) means another pick, not a failure."""
    last: ServerStartError | None = None
    for _attempt in range(5):
        port = _shared_free_udp_port("127.0.0.2", "127.0.0.3")
        started: dict[str, EmulatorServer] = {}
        try:
            for name, (_ip, _mac, pa) in CTR.items():
                started[name] = EmulatorServer(
                    extra_args=("--underlay", f"udp:{pa}:{port}")).start()
        except ServerStartError as exc:
            last = exc
            for server in started.values():
                server.stop()
            continue
        try:
            yield started, port
        finally:
            for server in started.values():
                server.stop()
        return
    assert last is not None
    raise last


def _program(server: EmulatorServer, mine: str, other: str) -> str:
    ip, mac, _pa = CTR[mine]
    other_ip, other_mac, other_pa = CTR[other]
    client = HnsClient(server.url)
    try:
        net = client.hcn_create_network({
            "Name": "swarm", "Type": "Overlay",
            "Ipams": [{"Type": "Static", "Subnets": [{
                "IpAddressPrefix": "10.0.1.0/24",
                "Routes": [{"NextHop": "10.0.1.1", "DestinationPrefix": "0.0.0.0/0"}],
                "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}]})
        ep = client.hcn_create_endpoint({
            "Name": f"ctr-{mine}", "HostComputeNetwork": net["ID"], "MacAddress": mac,
            "IpConfigurations": [{"IpAddress": ip}]})
        client.hcn_create_endpoint({
            "Name": f"ctr-{other}", "HostComputeNetwork": net["ID"], "Flags": 1,
            "MacAddress": other_mac, "IpConfigurations": [{"IpAddress": other_ip}],
            "Policies": [{"Type": "ProviderAddress",
                          "Settings": {"ProviderAddress": other_pa}}]})
        return str(ep["ID"])
    finally:
        client.close()


def _counters(server: EmulatorServer, port: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/vfp/ports/{port}/counters", timeout=10)
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def test_e2e_two_emulator_processes_share_one_overlay(
        servers: tuple[dict[str, EmulatorServer], int]) -> None:
    servers_by_name, vxlan_port = servers
    ep_a = _program(servers_by_name["a"], "a", "b")
    ep_b = _program(servers_by_name["b"], "b", "a")
    frame = vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(vxlan.mac_from_text(CTR["b"][1]), vxlan.mac_from_text(CTR["a"][1]),
                       vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(CTR["a"][0]), vxlan.ipv4_from_text(CTR["b"][0]),
                      vxlan.IPPROTO_ICMP),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 7, 1), payload=b"hello"))
    answer = httpx.post(f"{servers_by_name['a'].url}/vfp/ports/{ep_a}/inject",
                        json={"Frame": frame.hex(), "Direction": "OUT"}, timeout=10)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["Delivery"]["Where"] == "underlay"
    assert doc["Delivery"]["Target"] == CTR["b"][2]
    sent = vxlan.decapsulate(bytes.fromhex(doc["Delivery"]["FrameHex"]), expected_vni=4096,
                             dst_port=vxlan_port)
    assert sent.inner == frame
    # B answers through its pump thread and the UDP underlay: on a loaded machine that
    # can take seconds, so the deadline is generous (only a lost reply should reach it).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _counters(servers_by_name["a"], ep_a)["IN"]["Packets"] >= 1:
            break
        time.sleep(0.05)
    a, b = _counters(servers_by_name["a"], ep_a), _counters(servers_by_name["b"], ep_b)
    assert b["IN"]["Packets"] == 1  # the request, decapsulated into B's container
    assert b["OUT"]["Packets"] == 1  # its echo reply, encapsulated back to A
    assert a["IN"]["Packets"] == 1  # the reply reached A's container port
    assert a["IN"]["DroppedPackets"] == 0
