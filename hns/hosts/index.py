"""The data path's view of HNS objects: networks and endpoints as the vSwitch needs them
(`NetInfo`, `EpInfo`, projected from the typed objects of hns/model/read.py), kept from
change events in an `Index` (by network and IP, by VNI), and the frame constants and small
parsers the host modules share."""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass
from typing import Any

import vxlan
from hns.compiler.layers import DEFAULT_VSID
from hns.model.read import Endpoint, Network

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


def _mac(value: int | None) -> bytes | None:
    return None if value is None else value.to_bytes(6, "big")


def net_info(net: Network) -> NetInfo:
    gateways = {hop for subnet in net.subnets for hop in subnet.gateways}
    if not net.overlay:
        vsids: set[int] = set()  # only overlay networks carry VXLAN (the compiler's rule too)
    else:
        # the VNI the compiler encapsulates with when none is set
        vsids = {s.vsid for s in net.subnets if s.vsid is not None} or {DEFAULT_VSID}
    routes = [(r.prefix.length, r.prefix.first, _mac(r.dr_mac))
              for r in net.remote_subnet_routes
              if r.prefix is not None and r.prefix.version == 4]
    return NetInfo(
        key=net.key, id=net.id, name=net.name, type=net.type, vsids=frozenset(vsids),
        dr_mac=_mac(net.dr_mac), gateways=frozenset(gateways),
        remote_subnets=tuple(sorted(routes, key=lambda r: -r[0])),
    )


def ep_info(ep: Endpoint) -> EpInfo:
    return EpInfo(
        key=ep.key, id=ep.id, name=ep.name, net=ep.network or "", ip=ep.ipv4,
        prefix_len=ep.prefix_len, mac=_mac(ep.mac) or synthetic_mac(ep.id),
        gateway=ep.gateway, remote=ep.remote,
        pa=ep.provider_address_text,
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

    def put_net(self, net: Network | None, key: str) -> None:
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

    def put_ep(self, ep: Endpoint | None, key: str) -> None:
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
           "NetInfo", "ep_info", "flow_key", "ipv4_int", "net_info",
           "synthetic_mac"]
