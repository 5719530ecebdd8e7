"""The compiler on two emulated hosts (hns.hosts.Cluster, in-memory underlay), objects created
through V1 as Docker's Windows overlay driver does: a container reaches one on the other
host through VXLAN, and a service VIP (V1 ELB policy list) reaches both backends with the
replies coming back from the VIP. (The VIP sits outside the overlay subnet: a guest ARPs
for in-subnet addresses, and hns.hosts answers ARP only for endpoints.)"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hns.hosts import Cluster, Host

SUBNET = {"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1",
          "Policies": [{"Type": "VSID", "VSID": 4096}]}
PAS = {"a": "172.16.0.4", "b": "172.16.0.5"}
IPS = {"a": "10.0.0.2", "b": "10.0.0.3"}


def v1(host: Host, method: str, path: str, body: Any = None) -> Any:
    return host.service.hns_call(method, path, None if body is None else json.dumps(body))


def mac(ip: str) -> str:
    return "02-00-" + "-".join(f"{int(x):02X}" for x in ip.split("."))


def swarm(cluster: Cluster) -> dict[str, tuple[Host, str, str]]:
    """Per host: (host, local endpoint ID, ID of the remote endpoint for the other host)."""
    out = {}
    for name, pa in PAS.items():
        host = cluster.add_host(name, pa)
        net = v1(host, "POST", "/networks", {"Name": "swarm", "Type": "Overlay",
                                              "Subnets": [SUBNET]})["ID"]
        other = "b" if name == "a" else "a"
        local = v1(host, "POST", "/endpoints", {
            "Name": f"{name}1", "VirtualNetwork": net, "IPAddress": IPS[name],
            "MacAddress": mac(IPS[name])})
        remote = v1(host, "POST", "/endpoints", {
            "Name": f"{other}1-remote", "VirtualNetwork": net, "IPAddress": IPS[other],
            "MacAddress": mac(IPS[other]), "IsRemoteEndpoint": True,
            "Policies": [{"Type": "PA", "PA": PAS[other]}]})
        out[name] = (host, local["ID"], remote["ID"])
    return out


def test_container_pings_container_on_other_host_through_vxlan() -> None:
    with Cluster() as cluster:
        hosts = swarm(cluster)
        _, ep_a, _ = hosts["a"]
        assert cluster.ping("a", ep_a, IPS["b"])
        vxlan_frames = cluster.capture()
        assert vxlan_frames
        assert all(ipaddress.IPv4Address(f[30:34]) in map(ipaddress.IPv4Address, PAS.values())
                   for f in vxlan_frames)


def test_service_vip_reaches_local_and_remote_backend_and_replies_come_from_vip() -> None:
    with Cluster() as cluster:
        hosts = swarm(cluster)
        a, ep_a, remote_b = hosts["a"]
        v1(a, "POST", "/policylists", {
            "References": [f"/endpoints/{ep_a}", f"/endpoints/{remote_b}"],
            "Policies": [{"Type": "ELB", "Protocol": 17, "InternalPort": 7, "ExternalPort": 7,
                          "VIPs": ["10.96.0.100"]}]})
        guest = a.guest(ep_a)
        for sport in range(20000, 20040):
            for f in guest.send_udp("10.96.0.100", sport, 7, b"hello"):
                a.send(ep_a, f)
            cluster.run()
        replies = [d for d in guest.udp_received if d.dport >= 20000]
        assert len(replies) == 40
        assert {str(ipaddress.IPv4Address(d.src)) for d in replies} == {"10.96.0.100"}
        b, ep_b, _ = hosts["b"]
        served_remote = [d for d in b.guest(ep_b).udp_received if d.dport == 7]
        assert 0 < len(served_remote) < 40  # both backends took a share
