"""``hns-emulator serve --underlay udp:<PA>:<port>`` as a real process: an overlay network,
a local and a remote endpoint created through the API make an injected frame leave as a
real VXLAN datagram to the remote PA, a VXLAN ping from that PA is answered over the same
socket, vfpctrl and hnsdiag agree about which endpoints have ports, and SIGTERM stops it
cleanly. Loopback addresses 127.0.0.x stand in for provider addresses (no netns needed).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from api_server_helpers import ServerProcess, console_script, free_port

import vxlan
from api import hnsdiag, vfpctrl
from api.cli import main as cli_main
from api.client import HnsClient

HOST_PA = "127.0.0.2"
PEER_PA = "127.0.0.3"
VSID = 4096
LOCAL_IP, LOCAL_MAC = "10.244.1.5", "0E-2A-0A-F4-01-05"
REMOTE_IP, REMOTE_MAC = "10.244.2.7", "0E-2A-0A-F4-02-07"
V2 = {"Major": 2, "Minor": 0}
IPS = {"a": "10.0.9.2", "b": "10.0.9.3"}
MACS = {"a": "02-42-0A-00-09-02", "b": "02-42-0A-00-09-03"}


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((PEER_PA, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def overlay_server() -> Iterator[tuple[ServerProcess, socket.socket, dict[str, Any]]]:
    """A server on HOST_PA, a peer UDP socket on PEER_PA (same port), and the objects
    (one server for the module: starting one costs seconds on the 2-core machine)."""
    port = _free_udp_port()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((PEER_PA, port))
    server = ServerProcess(["--state", ":memory:", "--underlay", f"udp:{HOST_PA}:{port}"])
    server.start()
    try:
        with HnsClient(server.url) as client:
            objects = _create_overlay(client)
        yield server, peer, objects
    finally:
        server.stop()
        peer.close()


@pytest.fixture
def overlay(
    overlay_server: tuple[ServerProcess, socket.socket, dict[str, Any]],
) -> tuple[ServerProcess, socket.socket, dict[str, Any]]:
    """The module's server with the peer socket drained of earlier tests' datagrams."""
    _, peer, _ = overlay_server
    peer.settimeout(0)
    with contextlib.suppress(BlockingIOError):
        while True:
            peer.recv(65535)
    # Blocking: the server's datagram comes when it comes (10 s was a clock a loaded
    # machine can overrun); pytest-timeout bounds a server that never sends it.
    peer.settimeout(None)
    return overlay_server


def _hcn(client: HnsClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    created = client.request("POST", f"/hcn/{kind}", body)
    assert isinstance(created, dict)
    return created


def _create_overlay(client: HnsClient) -> dict[str, Any]:
    net = _hcn(client, "networks", {
        "Name": "overlay0", "Type": "Overlay", "SchemaVersion": V2,
        "Policies": [{"Type": "NetAdapterName", "Settings": {"NetworkAdapterName": "Ethernet"}}],
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": "10.244.0.0/16",
            "Routes": [{"NextHop": "10.244.0.1", "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": VSID}}]}]}]})
    local = _hcn(client, "endpoints", {
        "Name": "local-pod", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
        "MacAddress": LOCAL_MAC,
        "IpConfigurations": [{"IpAddress": LOCAL_IP, "PrefixLength": 16}]})
    remote = _hcn(client, "endpoints", {
        "Name": "remote-pod", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
        "Flags": 1, "MacAddress": REMOTE_MAC,
        "IpConfigurations": [{"IpAddress": REMOTE_IP, "PrefixLength": 16}],
        "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": PEER_PA}}]})
    return {"network": net, "local": local, "remote": remote}


def _echo_request(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str, seq: int) -> bytes:
    return vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(vxlan.mac_from_text(dst_mac), vxlan.mac_from_text(src_mac),
                       vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(src_ip), vxlan.ipv4_from_text(dst_ip),
                      vxlan.IPPROTO_ICMP),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 0x4D53, seq),
        payload=b"abcdefghijklmnopqrstuvwabcdefghi"))


def _vxlan_datagram(peer: socket.socket) -> tuple[int, vxlan.Frame]:
    """The next datagram on the peer socket: (VNI, decoded inner frame)."""
    data, (src, _) = peer.recvfrom(65535)
    assert src == HOST_PA
    flags, vni_field = struct.unpack("!B3xI", data[:8])
    assert flags & 0x08  # the I flag: a valid VNI follows
    return vni_field >> 8, vxlan.decode_frame(data[8:])


def test_serve_underlay_injected_frame_leaves_as_real_vxlan(overlay: Any) -> None:
    server, peer, objects = overlay
    frame = _echo_request(LOCAL_MAC, LOCAL_IP, REMOTE_MAC, REMOTE_IP, seq=1)
    answer = httpx.post(f"{server.url}/vfp/ports/{objects['local']['ID']}/inject",
                        json={"Frame": frame.hex(), "Direction": "OUT"}, timeout=10).json()
    assert answer["Verdict"] == "allow", answer
    assert answer["Delivery"]["Where"] == "underlay"
    assert answer["Delivery"]["Target"] == PEER_PA
    vni, inner = _vxlan_datagram(peer)
    assert vni == VSID
    assert inner.ip is not None
    assert vxlan.ipv4_to_text(inner.ip.src) == LOCAL_IP
    assert vxlan.ipv4_to_text(inner.ip.dst) == REMOTE_IP


def test_serve_underlay_answers_a_vxlan_ping_from_the_peer(overlay: Any) -> None:
    _, peer, _ = overlay
    request = _echo_request(REMOTE_MAC, REMOTE_IP, LOCAL_MAC, LOCAL_IP, seq=7)
    peer.sendto(struct.pack("!B3xI", 0x08, VSID << 8) + request,
                (HOST_PA, peer.getsockname()[1]))
    vni, inner = _vxlan_datagram(peer)
    assert vni == VSID
    assert inner.ip is not None
    assert isinstance(inner.l4, vxlan.ICMPv4)
    assert inner.l4.type == vxlan.ICMPv4.ECHO_REPLY
    assert inner.l4.seq == 7
    assert vxlan.ipv4_to_text(inner.ip.dst) == REMOTE_IP


def test_hnsdiag_and_vfpctrl_agree_about_ports(overlay: Any) -> None:
    server, _, objects = overlay
    out, err = io.StringIO(), io.StringIO()
    assert hnsdiag.main(["--url", server.url, "list", "endpoints", "-d"], out=out, err=err) == 0
    endpoints = {line.split('"ID":"')[1].split('"')[0].lower()
                 for line in out.getvalue().splitlines()}
    assert endpoints == {objects["local"]["ID"].lower(), objects["remote"]["ID"].lower()}

    out = io.StringIO()
    assert vfpctrl.main(["--url", server.url, "/list-vmswitch-port"], out=out, err=err) == 0
    ports = {line.split(" : ", 1)[1].strip().lower()
             for line in out.getvalue().splitlines() if line.startswith("Port name : ")}
    listed = httpx.get(f"{server.url}/vfp/ports", timeout=10).json()["Ports"]
    owned = {p["Endpoint"].lower() for p in listed if p["Endpoint"]}
    # Local endpoints have a port (its own GUID, the EndpointPortGuid V1 reports); the
    # remote one has none; any other port (a host vNIC) belongs to no endpoint.
    assert owned == {objects["local"]["ID"].lower()}
    local = httpx.get(f"{server.url}/endpoints/{objects['local']['ID']}", timeout=10).json()
    guid = local["Output"]["Resources"]["Allocators"][0]["EndpointPortGuid"].lower()
    assert guid in ports
    assert objects["remote"]["ID"].lower() not in ports
    assert ports == {p["Id"].lower() for p in listed}
    assert owned <= endpoints


def test_serve_underlay_stops_cleanly_on_sigterm() -> None:
    port = _free_udp_port()
    server = ServerProcess(["--state", ":memory:", "--underlay", f"udp:{HOST_PA}:{port}"])
    server.start()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    server.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST_PA, port))  # the underlay socket was closed


class _Banner(io.StringIO):
    """A stdout that says when ``serve`` printed its banner (it listens from then on)."""

    def __init__(self) -> None:
        super().__init__()
        self.up = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if "listening on" in self.getvalue():
            self.up.set()
        return written


def test_serve_underlay_stops_cleanly_on_sigint_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``serve`` in this process (main thread), interrupted the way Ctrl-C does it.

    The interrupt waits for the banner (printed once the server holds its socket, on
    ``--port 0``): a port picked ahead could be another test's server answering a health
    poll, and a poll that gave up after a fixed time sent SIGINT before our handler."""
    port = _free_udp_port()
    interrupted: list[bool] = []
    banner = _Banner()
    monkeypatch.setattr(sys, "stdout", banner)

    def interrupt_when_up() -> None:
        banner.up.wait()
        interrupted.append(True)
        os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt_when_up, daemon=True).start()
    code = cli_main(["serve", "--state", ":memory:", "--port", "0",
                     "--underlay", f"udp:{HOST_PA}:{port}"], err=io.StringIO())
    assert interrupted == [True]
    assert code == 0
    assert signal.getsignal(signal.SIGINT) is before  # our handler was put back
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST_PA, port))


@pytest.mark.parametrize(
    "spec", ["tcp:127.0.0.2", "udp:", "udp:not-an-ip", "udp:127.0.0.2:70000", "udp:[::1"]
)
def test_serve_underlay_bad_spec_exits_2(spec: str) -> None:
    err = io.StringIO()
    code = cli_main(["serve", "--state", ":memory:", "--port", str(free_port()),
                     "--underlay", spec], err=err)
    assert code == 2
    assert "underlay spec" in err.getvalue()


def test_serve_underlay_address_in_use_exits_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST_PA, 0))
        taken = s.getsockname()[1]
        err = io.StringIO()
        code = cli_main(["serve", "--state", ":memory:", "--port", str(free_port()),
                         "--underlay", f"udp:{HOST_PA}:{taken}"], err=err)
    assert code == 2
    assert "cannot bind the underlay" in err.getvalue()


def test_vfpctrl_console_script_prints_the_server_text_byte_for_byte(overlay: Any) -> None:
    server, _, objects = overlay
    script = console_script("vfpctrl")
    if script is None:
        pytest.skip("the vfpctrl console script is not installed (pip install -e .)")
    args = ["/port", objects["local"]["Name"], "/list-layer"]
    proc = subprocess.run([script, "--url", server.url, *args], capture_output=True,
                          timeout=60, check=False)
    expected = httpx.post(f"{server.url}/vfp/vfpctrl", json={"Args": args}, timeout=10).json()
    assert proc.returncode == expected["ExitCode"] == 0
    assert proc.stdout == expected["Output"].encode()
    assert b"\r\r\n" not in proc.stdout
    # a compiled overlay port carries the real layer names (vfp.md section 3)
    for layer in (b"ACL_ENDPOINT_LAYER", b"VNET_ENCAP_LAYER", b"VNET_PA_ROUTE_LAYER"):
        assert b"LAYER : " + layer + b"\r\n" in proc.stdout
    assert proc.stdout.endswith(b"Command list-layer succeeded!\r\n")


def _two_host_port() -> int:
    """A UDP port free on both HOST_PA and PEER_PA (both hosts use the one VXLAN port)."""
    for _ in range(20):
        port = _free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((HOST_PA, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no UDP port free on both addresses")


def test_two_serve_processes_form_one_overlay_and_ping_across(
    start_server: Callable[..., ServerProcess],
) -> None:
    port = _two_host_port()
    a = start_server("--state", ":memory:", "--underlay", f"udp:{HOST_PA}:{port}")
    b = start_server("--state", ":memory:", "--underlay", f"udp:{PEER_PA}:{port}")
    ids: dict[str, str] = {}
    for server, here, there, there_pa in ((a, "a", "b", PEER_PA), (b, "b", "a", HOST_PA)):
        with HnsClient(server.url) as client:
            net = _hcn(client, "networks", {
                "Name": "swarm", "Type": "Overlay", "SchemaVersion": V2,
                "Ipams": [{"Type": "Static", "Subnets": [{
                    "IpAddressPrefix": "10.0.9.0/24",
                    "Routes": [{"NextHop": "10.0.9.1", "DestinationPrefix": "0.0.0.0/0"}],
                    "Policies": [{"Type": "VSID", "Settings": {"IsolationId": VSID}}]}]}]})
            ids[here] = _hcn(client, "endpoints", {
                "Name": f"c-{here}", "HostComputeNetwork": net["ID"], "SchemaVersion": V2,
                "MacAddress": MACS[here],
                "IpConfigurations": [{"IpAddress": IPS[here], "PrefixLength": 24}]})["ID"]
            _hcn(client, "endpoints", {
                "Name": f"remote-{there}", "HostComputeNetwork": net["ID"],
                "SchemaVersion": V2, "Flags": 1, "MacAddress": MACS[there],
                "IpConfigurations": [{"IpAddress": IPS[there], "PrefixLength": 24}],
                "Policies": [{"Type": "ProviderAddress",
                              "Settings": {"ProviderAddress": there_pa}}]})
    request = _echo_request(MACS["a"], IPS["a"], MACS["b"], IPS["b"], seq=3)
    answer = httpx.post(f"{a.url}/vfp/ports/c-a/inject",
                        json={"Frame": request.hex(), "Direction": "OUT"}, timeout=10).json()
    assert answer["Delivery"] == {**answer["Delivery"], "Where": "underlay", "Target": PEER_PA}
    replies: list[vxlan.Frame] = []
    while not replies:  # over the real UDP underlay; pytest-timeout bounds the wait
        frames = httpx.get(f"{a.url}/vfp/ports/c-a/received", timeout=10).json()["FramesHex"]
        replies = [f for f in (vxlan.decode_frame(bytes.fromhex(x)) for x in frames)
                   if isinstance(f.l4, vxlan.ICMPv4) and f.l4.type == vxlan.ICMPv4.ECHO_REPLY]
        time.sleep(0.05)
    assert replies, (httpx.get(f"{a.url}/vfp/host").json(), httpx.get(f"{b.url}/vfp/host").json())
    assert replies[0].ip is not None
    assert vxlan.ipv4_to_text(replies[0].ip.src) == IPS["b"]
    received_b = httpx.get(f"{b.url}/vfp/ports/{ids['b']}/received", timeout=10).json()
    assert any(vxlan.decode_frame(bytes.fromhex(x)).ip is not None
               for x in received_b["FramesHex"])
