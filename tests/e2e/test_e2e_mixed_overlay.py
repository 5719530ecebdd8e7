"""Mixed Linux + Windows overlay: a real Linux kernel VXLAN node and an emulated Windows
host (hns.hosts.Host on a real UDP underlay) share VNI 4096; a Linux container and a
Windows container ping each other both ways. The emulator's forwarding comes only from
HNS objects made through the HNS API (an Overlay network with VSID 4096, a local
endpoint, and for the Linux side either a remote endpoint with a PA policy or a
RemoteSubnetRoute network policy); nothing is wired by hand on the Windows side.

Topology (all addresses live only in the namespaces the test creates and deletes):

    ctr "Linux container"   lnx "Linux node"                       win "emulated Windows"
    eth0 -- vh-ctr -[br0]- vxlan0 (VNI 4096, dstport 4789,         Host.from_underlay_spec(
                           nolearning, MTU 1450, static FDB)          "udp:10.77.0.2")
                           veth-lnx 10.77.0.1/24 ====== veth-win 10.77.0.2/24

Three ways the Linux side joins (pytest parameters):
  l2  (Docker swarm style) one subnet 10.244.7.0/24 on both sides; the Linux container
      is a remote endpoint (IP, MAC, PA 10.77.0.1) in the Windows HNS; br0 bridges;
      static FDB and neighbour entries on the Linux side (as flannel writes them).
  l2flood  the same, but the Linux side has only an all-zeros FDB entry: its container
      resolves the Windows container by ARP over VXLAN, which the emulated host answers.
  l3  (flannel style) Linux pod subnet 10.244.1.0/24 behind br0 10.244.1.1, Windows pod
      subnet 10.244.2.0/24; the Linux node routes 10.244.2.0/24 over vxlan0 to the
      Windows DR MAC (neighbour + FDB as flannel writes them); the Windows HNS has a
      RemoteSubnetRoute {10.244.1.0/24, IsolationId 4096, PA 10.77.0.1, DR MAC = vxlan0's
      MAC}.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import vxlan
from hns.hosts import Host
from hns.scenarios.netns import open_in

pytestmark = pytest.mark.netns

VNI = 4096
LNX_PA, WIN_PA = "10.77.0.1", "10.77.0.2"
WIN_MAC = "00-15-5D-07-00-14"
WIN_DR_MAC = "00-15-5D-07-FF-FF"
CTR_MAC = "02:42:0a:f4:07:0a"
VXLAN0_MAC = "02:77:00:00:01:01"

MODES = {
    # mode: (Linux container IP/prefix, Linux gateway or None, Windows subnet, Windows IP)
    "l2": ("10.244.7.10/24", None, "10.244.7.0/24", "10.244.7.20"),
    "l2flood": ("10.244.7.10/24", None, "10.244.7.0/24", "10.244.7.20"),
    "l3": ("10.244.1.10/24", "10.244.1.1", "10.244.2.0/24", "10.244.2.20"),
}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=30)


@pytest.fixture(params=sorted(MODES))
def lab(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("ping") is None:
        pytest.skip("needs root, iproute2 and ping to create network namespaces")
    mode = str(request.param)
    ctr_cidr, ctr_gw, win_subnet, win_ip = MODES[mode]
    tag = uuid.uuid4().hex[:6]
    ns = {"lnx": f"hnse-lnx-{tag}", "win": f"hnse-win-{tag}", "ctr": f"hnse-ctr-{tag}"}
    probe = subprocess.run(["ip", "netns", "add", ns["lnx"]], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refused a network namespace: {probe.stderr.strip()}")
    try:
        _ip("netns", "add", ns["win"])
        _ip("netns", "add", ns["ctr"])
        lnx, win, ctr = ns["lnx"], ns["win"], ns["ctr"]
        for name in ns.values():
            _ip("-n", name, "link", "set", "lo", "up")
        # underlay
        _ip("link", "add", "veth-lnx", "netns", lnx, "type", "veth", "peer", "name",
            "veth-win", "netns", win)
        _ip("-n", lnx, "addr", "add", f"{LNX_PA}/24", "dev", "veth-lnx")
        _ip("-n", win, "addr", "add", f"{WIN_PA}/24", "dev", "veth-win")
        _ip("-n", lnx, "link", "set", "veth-lnx", "up")
        _ip("-n", win, "link", "set", "veth-win", "up")
        # the Linux node: vxlan0 (as flannel makes flannel.4096), a bridge, a container
        made = subprocess.run(
            ["ip", "-n", lnx, "link", "add", "vxlan0", "address", VXLAN0_MAC, "type",
             "vxlan", "id", str(VNI), "dstport", "4789", "local", LNX_PA, "dev", "veth-lnx",
             "nolearning"], capture_output=True, text=True, timeout=30)
        if made.returncode != 0:
            pytest.skip(f"the kernel refused a vxlan device: {made.stderr.strip()}")
        _ip("-n", lnx, "link", "set", "vxlan0", "mtu", "1450")
        _ip("-n", lnx, "link", "add", "br0", "type", "bridge")
        _ip("link", "add", "vh-ctr", "netns", lnx, "mtu", "1450", "type", "veth", "peer",
            "name", "eth0", "netns", ctr, "address", CTR_MAC, "mtu", "1450")
        _ip("-n", lnx, "link", "set", "vh-ctr", "master", "br0")
        _ip("-n", ctr, "addr", "add", ctr_cidr, "dev", "eth0")
        _ip("-n", ctr, "link", "set", "eth0", "up")
        win_mac = WIN_MAC.replace("-", ":").lower()
        win_dr = WIN_DR_MAC.replace("-", ":").lower()
        if mode == "l2":
            _ip("-n", lnx, "link", "set", "vxlan0", "master", "br0")
            _run("bridge", "-n", lnx, "fdb", "append", win_mac, "dev", "vxlan0", "dst",
                 WIN_PA, "self", "permanent")
            _ip("-n", ctr, "neigh", "replace", win_ip, "lladdr", win_mac, "dev", "eth0",
                "nud", "permanent")
        elif mode == "l2flood":
            # no static entries: the all-zeros FDB entry sends broadcast (ARP) and unknown
            # unicast to the Windows PA; the emulated host answers ARP over VXLAN
            _ip("-n", lnx, "link", "set", "vxlan0", "master", "br0")
            _run("bridge", "-n", lnx, "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan0",
                 "dst", WIN_PA, "self", "permanent")
        else:
            assert ctr_gw is not None
            _ip("-n", lnx, "addr", "add", f"{ctr_gw}/24", "dev", "br0")
            _ip("-n", ctr, "route", "add", "default", "via", ctr_gw)
            _run("ip", "netns", "exec", lnx, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            # flannel's Linux side of a Windows lease: route, neighbour, FDB
            net_addr = win_subnet.split("/")[0]
            _ip("-n", lnx, "link", "set", "vxlan0", "up")
            _ip("-n", lnx, "route", "add", win_subnet, "via", net_addr, "dev", "vxlan0",
                "onlink")
            _ip("-n", lnx, "neigh", "replace", net_addr, "lladdr", win_dr, "dev", "vxlan0",
                "nud", "permanent")
            _run("bridge", "-n", lnx, "fdb", "append", win_dr, "dev", "vxlan0", "dst",
                 WIN_PA, "self", "permanent")
        for dev in ("vxlan0", "br0", "vh-ctr"):
            _ip("-n", lnx, "link", "set", dev, "up")
        yield {**ns, "mode": mode, "ctr_ip": ctr_cidr.split("/")[0], "win_ip": win_ip,
               "win_subnet": win_subnet}
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _hcn(host: Host, function: str, ident: str | None, body: dict[str, Any]) -> Any:
    return host.service.hcn_call(function, ident, json.dumps(body))


def _windows_side(lab: dict[str, str]) -> tuple[Host, str]:
    """The emulated Windows host in `win`, programmed only through the HNS API."""
    host = open_in(lab["win"], lambda: Host.from_underlay_spec(f"udp:{WIN_PA}", name="win"))
    subnet = lab["win_subnet"]
    gateway = subnet.rsplit(".", 1)[0] + ".1"
    net = _hcn(host, "HcnCreateNetwork", None, {
        "Name": "overlay", "Type": "Overlay",
        "Policies": [{"Type": "DrMacAddress", "Settings": {"Address": WIN_DR_MAC}}],
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": subnet,
            "Routes": [{"NextHop": gateway, "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [{"Type": "VSID", "Settings": {"IsolationId": VNI}}]}]}],
    })["ID"]
    ep = _hcn(host, "HcnCreateEndpoint", None, {
        "Name": "win-ctr", "HostComputeNetwork": net, "MacAddress": WIN_MAC,
        "IpConfigurations": [{"IpAddress": lab["win_ip"]}],
        "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": WIN_PA}}],
    })["ID"]
    if lab["mode"] in ("l2", "l2flood"):
        _hcn(host, "HcnCreateEndpoint", None, {
            "Name": "linux-ctr", "HostComputeNetwork": net, "Flags": 1,
            "MacAddress": CTR_MAC.replace(":", "-").upper(),
            "IpConfigurations": [{"IpAddress": lab["ctr_ip"]}],
            "Policies": [{"Type": "ProviderAddress",
                          "Settings": {"ProviderAddress": LNX_PA}}],
        })
    else:
        _hcn(host, "HcnModifyNetwork", net, {
            "ResourceType": "Policy", "RequestType": "Add",
            "Settings": {"Policies": [{"Type": "RemoteSubnetRoute", "Settings": {
                "DestinationPrefix": "10.244.1.0/24", "IsolationId": VNI,
                "ProviderAddress": LNX_PA,
                "DistributedRouterMacAddress": VXLAN0_MAC.replace(":", "-").upper()}}]},
        })
    return host, str(ep)


# How long a Linux ping waits for the first answer (-W). The emulated side answers from a
# Python pump thread that, on a loaded 2-core CI machine (pytest -n 2), may not run for
# seconds; once answers come, ping waits two round trips for the rest. Generous waits
# only lengthen a failing run; a lost frame still fails the test.
ANSWER_WAIT = "10"

def test_e2e_linux_container_and_windows_container_ping_both_ways(
        lab: dict[str, str]) -> None:
    host, ep = _windows_side(lab)
    host.start()
    try:
        ping = subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "ping", "-c", "3", "-i", "0.2", "-W",
             ANSWER_WAIT, lab["win_ip"]], capture_output=True, text=True, timeout=90,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr + str(host.counters())
        assert " 0% packet loss" in ping.stdout
        guest = host.guest(ep)
        assert guest.counters["icmp echo reply"] >= 3
        # and the other way: the Windows container pings the Linux one, resolving the
        # next hop by ARP again (the echo requests taught it the Linux MAC already)
        guest.arp_cache.clear()
        assert host.ping(ep, lab["ctr_ip"], timeout=60.0), host.counters()
        assert host.ping(ep, lab["ctr_ip"], timeout=60.0), host.counters()
        assert host.underlay is not None
        assert host.sent_to_underlay >= 5  # 3 echo replies + 2 echo requests
        if lab["mode"] == "l2flood":  # the Linux container asked over the tunnel
            assert host.arp_answers["underlay"] >= 1
        # the Windows container asked the vSwitch (remote endpoint MAC, or the gateway)
        assert host.arp_answers["container"] == 1
        port = host.port_of(ep)
        assert port is not None
        port.fold_counters()  # fast-path hits are counted on unified flows until folded
        assert port.counters["IN"][0] >= 5  # VXLAN in through the port's IN pipeline
    finally:
        host.close()


def test_e2e_linux_container_cannot_reach_windows_after_endpoint_delete(
        lab: dict[str, str]) -> None:
    host, ep = _windows_side(lab)
    host.start()
    try:
        host.service.hcn_call("HcnDeleteEndpoint", ep)
        ping = subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "ping", "-c", "2", "-i", "0.2", "-W", "1",
             lab["win_ip"]], capture_output=True, text=True, timeout=30,
        )
        assert ping.returncode != 0
        # with only a flood FDB entry the Linux container first asks by ARP, unanswered
        reason = ("ARP over VXLAN for no local endpoint" if lab["mode"] == "l2flood"
                  else "underlay: no local endpoint for VNI 4096")
        assert host.drops[reason] >= 1, host.counters()
    finally:
        host.close()


def test_e2e_hns_acl_blocks_the_linux_container_until_removed(lab: dict[str, str]) -> None:
    """An ACL policy added through the HNS API stops real Linux traffic at the Windows
    container's port (counted with its reason); removing it lets the same ping through."""
    host, ep = _windows_side(lab)
    host.start()
    acl = {"Type": "ACL", "Settings": {
        "Id": "block-linux", "Action": "Block", "Direction": "In", "Priority": 100,
        "RuleType": "Switch", "Protocols": "256", "RemoteAddresses": lab["ctr_ip"]}}

    def ping_from_linux(count: str, wait: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "ping", "-c", count, "-i", "0.2", "-W", wait,
             lab["win_ip"]], capture_output=True, text=True, timeout=90)

    try:
        _hcn(host, "HcnModifyEndpoint", ep, {
            "ResourceType": "Policy", "RequestType": "Add", "Settings": {"Policies": [acl]}})
        blocked = ping_from_linux("2", "1")  # no answer is expected: no long wait
        assert blocked.returncode != 0
        assert host.drops["IN: Blocked by rule"] >= 2, host.counters()
        assert host.guest(ep).counters["icmp echo reply"] == 0
        _hcn(host, "HcnModifyEndpoint", ep, {
            "ResourceType": "Policy", "RequestType": "Remove", "Settings": {"Policies": [acl]}})
        allowed = ping_from_linux("2", ANSWER_WAIT)
        assert allowed.returncode == 0, allowed.stdout + str(host.counters())
        assert host.guest(ep).counters["icmp echo reply"] >= 2
    finally:
        host.close()


# A UDP echo server for the Linux container. SO_NO_CHECK (11) sends checksum 0 ("none",
# RFC 768): over veth the kernel leaves UDP checksums to an offload nobody performs
# (packets.md gotcha 2), and VFP's slow path drops a bad inner checksum.
UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 11, 1)
s.bind(("0.0.0.0", 7))
s.settimeout(300)
print("ready", flush=True)
while True:
    try:
        data, peer = s.recvfrom(2048)
    except TimeoutError:
        sys.exit(0)
    s.sendto(data, peer)
"""


@pytest.mark.parametrize("lab", ["l2"], indirect=True)
def test_e2e_windows_container_reaches_a_service_backed_by_the_linux_container(
        lab: dict[str, str]) -> None:
    """kube-proxy's case: a load balancer (ClusterIP VIP 10.96.0.10:53/UDP) whose backend
    is the Linux container (a remote endpoint). The Windows port DNATs VIP -> DIP and
    encapsulates to the Linux node; the real Linux UDP echo server answers the pod IP, and
    the Windows port un-NATs the answer back to the VIP."""
    host, ep = _windows_side(lab)
    remote = [r for r in host.endpoint_table() if r["IsRemoteEndpoint"]]
    assert [r["IPAddress"] for r in remote] == [lab["ctr_ip"]]
    _hcn(host, "HcnCreateLoadBalancer", None, {
        "HostComputeEndpoints": [remote[0]["ID"]], "FrontendVIPs": ["10.96.0.10"],
        "PortMappings": [{"Protocol": 17, "InternalPort": 7, "ExternalPort": 53}]})
    echo = subprocess.Popen(["ip", "netns", "exec", lab["ctr"], sys.executable, "-c", UDP_ECHO],
                            stdout=subprocess.PIPE, text=True)
    host.start()
    try:
        assert echo.stdout is not None
        assert echo.stdout.readline().strip() == "ready"
        guest = host.guest(ep)
        with host.service.lock:
            for frame in guest.send_udp("10.96.0.10", 5555, 53, b"service?"):
                host.send(ep, frame)
        deadline = time.monotonic() + 60
        while not guest.udp_received and time.monotonic() < deadline:
            time.sleep(0.02)
        assert guest.udp_received, host.counters()
        got = guest.udp_received[0]
        assert (vxlan.ipv4_to_text(got.src), got.sport, got.dport, got.payload) == (
            "10.96.0.10", 53, 5555, b"service?")
    finally:
        host.close()
        echo.kill()
        echo.wait()
