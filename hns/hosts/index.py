"""The data path's view of HNS objects: networks and endpoints as the vSwitch needs them
(`NetInfo`, `EpInfo`), kept from change events in an `Index` (by network and IP, by VNI),
and the frame constants and small parsers the host modules share."""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass
from typing import Any

import vxlan
from hns.compiler.layers import DEFAULT_VSID

Json = dict[str, Any]

ETH_IPV4 = b"\x08\x00"
ETH_ARP = b"\x08\x06"
BROADCAST = b"\xff" * 6
#: network types whose containers sit on the physical network (reachable between hosts)
PHYSICAL_TYPES = frozenset({"L2Bridge", "Transparent", "L2Tunnel"})


@dataclass(frozen=True, slots=True)
class NetInfo:
    key: str
    id: str
    name: str
    type: str
    vsids: frozenset[int]
    dr_mac: bytes | None
    gateways: frozenset[int]
    #: RemoteSubnetRoute policies: (prefix length, network address, DR MAC or None),
    #: longest prefix first
    remote_subnets: tuple[tuple[int, int, bytes | None], ...] = ()

    def remote_subnet(self, ip: int) -> tuple[int, int, bytes | None] | None:
        """The longest RemoteSubnetRoute covering `ip`, or None."""
        for route in self.remote_subnets:
            plen, addr, _ = route
            if ip & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF) == addr:
                return route
        return None


@dataclass(frozen=True, slots=True)
class EpInfo:
    key: str
    id: str
    name: str
    net: str  # network key
    ip: int | None
    prefix_len: int
    mac: bytes
    gateway: str | None
    remote: bool
    pa: str | None = None  # its ProviderAddress policy, if any


def ipv4_int(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return int(addr) if addr.version == 4 else None


def mac_bytes(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return vxlan.mac_from_text(text)
    except ValueError:
        return None


def net_info(net: Json) -> NetInfo:
    vsids: set[int] = set()
    gateways: set[int] = set()
    for ipam in net.get("Ipams") or []:
        for subnet in ipam.get("Subnets") or []:
            for pol in subnet.get("Policies") or []:
                if str(pol.get("Type", "")).upper() == "VSID":
                    settings = pol.get("Settings") or {}
                    vsid = settings.get("IsolationId", pol.get("VSID"))
                    if isinstance(vsid, int):
                        vsids.add(vsid)
            for route in subnet.get("Routes") or []:
                hop = ipv4_int(route.get("NextHop"))
                if hop is not None:
                    gateways.add(hop)
    net_type = str(net.get("Type", "NAT"))
    if net_type != "Overlay":
        vsids.clear()  # only overlay networks carry VXLAN (the compiler's rule too)
    elif not vsids:
        vsids.add(DEFAULT_VSID)  # the VNI the compiler encapsulates with when none is set
    dr_mac = None
    routes: list[tuple[int, int, bytes | None]] = []
    for pol in net.get("Policies") or []:
        settings = pol.get("Settings") or {}
        if pol.get("Type") == "DrMacAddress":
            dr_mac = mac_bytes(settings.get("Address"))
        elif pol.get("Type") == "RemoteSubnetRoute":
            try:
                prefix = ipaddress.ip_network(str(settings.get("DestinationPrefix")),
                                              strict=False)
            except ValueError:
                continue
            if prefix.version == 4:
                routes.append((prefix.prefixlen, int(prefix.network_address),
                               mac_bytes(settings.get("DistributedRouterMacAddress"))))
    return NetInfo(
        key=str(net["ID"]).upper(), id=str(net["ID"]), name=str(net.get("Name", "")),
        type=net_type, vsids=frozenset(vsids), dr_mac=dr_mac,
        gateways=frozenset(gateways),
        remote_subnets=tuple(sorted(routes, key=lambda r: -r[0])),
    )


def ep_info(ep: Json) -> EpInfo:
    ip: int | None = None
    prefix = 24
    for cfg in ep.get("IpConfigurations") or []:
        got = ipv4_int(cfg.get("IpAddress"))
        if got is not None:
            ip = got
            plen = cfg.get("PrefixLength")
            if isinstance(plen, int) and 0 < plen <= 32:
                prefix = plen
            break
    gateway = None
    for route in ep.get("Routes") or []:
        if route.get("DestinationPrefix") == "0.0.0.0/0" and ipv4_int(route.get("NextHop")):
            gateway = str(route["NextHop"])
    mac = mac_bytes(ep.get("MacAddress")) or synthetic_mac(str(ep["ID"]))
    pa = None
    for pol in ep.get("Policies") or []:
        if str(pol.get("Type", "")).lower() in ("provideraddress", "pa"):
            settings = pol.get("Settings") or {}
            got = settings.get("ProviderAddress", pol.get("PA"))
            if isinstance(got, str):
                pa = got
    return EpInfo(
        key=str(ep["ID"]).upper(), id=str(ep["ID"]), name=str(ep.get("Name", "")),
        net=str(ep.get("HostComputeNetwork", "")).upper(), ip=ip, prefix_len=prefix,
        mac=mac, gateway=gateway, remote=bool(int(ep.get("Flags") or 0) & 1), pa=pa,
    )


def flow_key(frame: bytes) -> vxlan.FlowKey | None:
    """The frame's 5-tuple, or None for non-IP and malformed frames."""
    try:
        return vxlan.flow_key(frame)
    except vxlan.DecodeError:
        return None


def synthetic_mac(seed: str) -> bytes:
    """A stable locally administered MAC (for endpoints without one, and gateways of
    networks without a DR MAC)."""
    return b"\x02" + zlib.crc32(seed.encode()).to_bytes(4, "big") + b"\x01"


class Index:
    """Networks and endpoints as the data path needs them, kept from change events."""

    def __init__(self) -> None:
        self.nets: dict[str, NetInfo] = {}
        self.eps: dict[str, EpInfo] = {}
        self.local: dict[tuple[str, int], str] = {}  # (net key, ip) -> local ep key
        self.remote: dict[tuple[str, int], str] = {}  # (net key, ip) -> remote ep key
        self.by_ip: dict[int, list[str]] = {}  # ip -> local ep keys
        self.by_vsid: dict[int, set[str]] = {}  # vsid -> net keys

    def clear(self) -> None:
        for table in (self.nets, self.eps, self.local, self.remote, self.by_ip,
                      self.by_vsid):
            table.clear()

    def put_net(self, net: Json | None, key: str) -> None:
        old = self.nets.pop(key, None)
        if old is not None:
            for v in old.vsids:
                self.by_vsid.get(v, set()).discard(key)
        if net is None:
            return
        info = net_info(net)
        self.nets[key] = info
        for v in info.vsids:
            self.by_vsid.setdefault(v, set()).add(key)

    def put_ep(self, ep: Json | None, key: str) -> None:
        old = self.eps.pop(key, None)
        if old is not None and old.ip is not None:
            table = self.remote if old.remote else self.local
            if table.get((old.net, old.ip)) == key:
                del table[(old.net, old.ip)]
            if not old.remote:
                keys = self.by_ip.get(old.ip, [])
                if key in keys:
                    keys.remove(key)
                if not keys:
                    self.by_ip.pop(old.ip, None)
        if ep is None:
            return
        info = ep_info(ep)
        self.eps[key] = info
        if info.ip is not None:
            (self.remote if info.remote else self.local)[(info.net, info.ip)] = key
            if not info.remote:
                self.by_ip.setdefault(info.ip, []).append(key)

    def local_for(self, ip: int, prefer_net: str | None) -> EpInfo | None:
        if prefer_net is not None:
            key = self.local.get((prefer_net, ip))
            if key is not None:
                return self.eps[key]
        keys = self.by_ip.get(ip)
        return self.eps[keys[0]] if keys else None

    def local_for_vni(self, vni: int, ip: int) -> EpInfo | None:
        for net in sorted(self.by_vsid.get(vni, ())):
            key = self.local.get((net, ip))
            if key is not None:
                return self.eps[key]
        return None


__all__ = ["BROADCAST", "ETH_ARP", "ETH_IPV4", "PHYSICAL_TYPES", "EpInfo", "Index", "Json",
           "NetInfo", "ep_info", "flow_key", "ipv4_int", "mac_bytes", "net_info",
           "synthetic_mac"]
