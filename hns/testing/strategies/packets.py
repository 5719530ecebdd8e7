"""Flows and frames aimed at what the object strategies create (an endpoint, a load
balancer frontend, a remote subnet route).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from hns.testing.strategies.common import (
    Json,
    _or,
    ipv4_addresses,
    ports,
)
from vxlan import (
    ETH_P_IPV4,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    Ethernet,
    Frame,
    ICMPv4,
    IPv4,
    encode_frame,
    mac_from_text,
)


@dataclass(frozen=True, slots=True)
class Flow:
    """One IPv4 flow: 5-tuple (ports are the echo identifier for ICMP) plus MACs."""

    src_ip: str
    dst_ip: str
    protocol: int
    src_port: int
    dst_port: int
    src_mac: str = "00-15-5D-00-00-01"
    dst_mac: str = "00-15-5D-00-00-02"

    def frame(self, payload: bytes = b"") -> bytes:
        """The first packet of the flow as an Ethernet frame (TCP SYN, UDP datagram or
        ICMP echo request), lengths and checksums filled in."""
        ip = IPv4(src=int(ipaddress.IPv4Address(self.src_ip)),
                  dst=int(ipaddress.IPv4Address(self.dst_ip)), protocol=self.protocol)
        l4: TCP | UDP | ICMPv4
        if self.protocol == IPPROTO_TCP:
            l4 = TCP(sport=self.src_port, dport=self.dst_port, flags=TCP.SYN)
        elif self.protocol == IPPROTO_UDP:
            l4 = UDP(sport=self.src_port, dport=self.dst_port)
        else:
            l4 = ICMPv4(type=ICMPv4.ECHO_REQUEST, ident=self.src_port, seq=1)
        eth = Ethernet(dst=mac_from_text(self.dst_mac), src=mac_from_text(self.src_mac),
                       ethertype=ETH_P_IPV4)
        return encode_frame(Frame(eth=eth, ip=ip, l4=l4, payload=payload))


def flows(*, src_ips: st.SearchStrategy[str] | None = None,
          dst_ips: st.SearchStrategy[str] | None = None,
          protocols: Sequence[int] = (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP),
          dst_ports: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Flow]:
    """Flows from ``src_ips`` to ``dst_ips`` (default: any IPv4 address); protocol uniform
    over ``protocols``; source port uniform 1024..65535 (ICMP: the echo id, uniform);
    destination port from ``dst_ports`` (default ``ports(allow_zero=False)``; ICMP: the
    echo id)."""
    def build(src: str, dst: str, proto: int, sport: int, dport: int) -> Flow:
        if proto == IPPROTO_ICMP:
            return Flow(src, dst, proto, sport, sport)
        return Flow(src, dst, proto, sport, dport)
    return st.builds(build, _or(src_ips, ipv4_addresses()), _or(dst_ips, ipv4_addresses()),
                     st.sampled_from(list(protocols)), st.integers(1024, 65535),
                     _or(dst_ports, ports(allow_zero=False)))


def flows_to_load_balancer(lb: Json, *, src_ips: st.SearchStrategy[str] | None = None,
                           node_ips: Sequence[str] = ()) -> st.SearchStrategy[Flow]:
    """Flows aimed at a load balancer: to one of its FrontendVIPs (a VIP-less NodePort LB:
    one of ``node_ips``, else any address) on the protocol and external port of one of
    its mappings (uniform); source from ``src_ips`` (default 10.244.0.0/16)."""
    vips = lb.get("FrontendVIPs") or list(node_ips)
    dst = st.sampled_from(vips) if vips else ipv4_addresses()

    def build(mapping: Json, src: str, dst_ip: str, sport: int) -> Flow:
        port = mapping.get("ExternalPort") or mapping["InternalPort"]
        return Flow(src, dst_ip, mapping.get("Protocol") or IPPROTO_TCP, sport, port)
    return st.builds(build, st.sampled_from(lb["PortMappings"]),
                     _or(src_ips, ipv4_addresses(within="10.244.0.0/16")), dst,
                     st.integers(1024, 65535))


def flows_to_endpoint(endpoint: Json, *, src_ips: st.SearchStrategy[str] | None = None
                      ) -> st.SearchStrategy[Flow]:
    """Flows to an endpoint (local or remote, as HNS returned it): to one of its
    IpConfigurations (IPv4), protocol uniform over TCP/UDP/ICMP, destination port from
    ``ports(allow_zero=False)``; source from ``src_ips`` (default any IPv4 address)."""
    ips = [c["IpAddress"] for c in endpoint.get("IpConfigurations") or []
           if ":" not in c.get("IpAddress", ":")]
    if not ips:
        raise ValueError("endpoint has no IPv4 address")
    return flows(src_ips=src_ips, dst_ips=st.sampled_from(ips))


def flows_to_remote_subnet(route: Json, *, src_ips: st.SearchStrategy[str] | None = None
                           ) -> st.SearchStrategy[Flow]:
    """Flows into the DestinationPrefix of a ``RemoteSubnetRoute`` policy (or any dict with
    that key in ``Settings``): destination uniform in the prefix, first and last address
    oversampled; otherwise as ``flows()``."""
    prefix = (route.get("Settings") or route)["DestinationPrefix"]
    return flows(src_ips=src_ips, dst_ips=ipv4_addresses(within=prefix))


def frames(flow_strategy: st.SearchStrategy[Flow] | None = None) -> st.SearchStrategy[bytes]:
    """Ethernet frames: the first packet of a flow from ``flow_strategy`` (default
    ``flows()``) with a payload of 0..64 uniform random bytes."""
    return st.builds(lambda f, p: f.frame(p), _or(flow_strategy, flows()),
                     st.binary(max_size=64))
