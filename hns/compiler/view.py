"""The compiler's read-only mirror of HNS state, with the indexes incremental compilation
needs (endpoints by network, load balancers by backend, routes by endpoint ...) and the
small readers of the stored form (an endpoint's IPv4 address, a network's VSID and PA).

The mirror holds the service's stored dicts themselves (never copies, never mutated), as
they were handed to the change listener.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from typing import Any

from hns.model import EP_REMOTE, LB_DSR, LB_IPV6, subnets_of
from hns.store.sqlite import KINDS
from hns.store.state import ObjectChange
from vfp.addr import parse_mac

Json = dict[str, Any]

OVERLAY = "Overlay"


def policies(obj: Json | None, ptype: str) -> list[Json]:
    """The Settings of every policy of one type on a stored object (case-insensitive)."""
    if obj is None:
        return []
    low = ptype.lower()
    return [p.get("Settings") or {} for p in obj.get("Policies") or []
            if str(p.get("Type", "")).lower() == low]


def ipv4_of(ep: Json | None) -> str | None:
    """An endpoint's first IPv4 address."""
    if ep is None:
        return None
    for config in ep.get("IpConfigurations") or []:
        ip = config.get("IpAddress")
        if ip and ":" not in ip:
            return str(ip)
    return None


def ip_of(ep: Json | None, version: int) -> str | None:
    """An endpoint's first address of this IP version."""
    if version == 4:
        return ipv4_of(ep)
    for config in (ep or {}).get("IpConfigurations") or []:
        ip = config.get("IpAddress")
        if ip and ":" in ip:
            return str(ip)
    return None


def mac_of(ep: Json) -> int:
    text = ep.get("MacAddress")
    if not text:
        return 0
    try:
        return parse_mac(str(text))
    except ValueError:
        return 0


def is_remote(ep: Json) -> bool:
    return bool(int(ep.get("Flags") or 0) & EP_REMOTE)


def network_key(ep: Json) -> str | None:
    net = ep.get("HostComputeNetwork")
    return str(net).upper() if net else None


def vsid_of(net: Json | None, ip: str | None = None) -> int | None:
    """The VSID (VXLAN VNI) of a network: that of the subnet holding `ip`, else the first."""
    if net is None:
        return None
    first: int | None = None
    for subnet in subnets_of(net):
        for settings in policies(subnet, "VSID"):
            vsid = settings.get("IsolationId")
            if not isinstance(vsid, int) or vsid <= 0:
                continue
            if first is None:
                first = vsid
            prefix = subnet.get("IpAddressPrefix")
            if ip and prefix and _in_prefix(ip, prefix):
                return vsid
    return first


def _in_prefix(ip: Any, prefix: Any) -> bool:
    """Whether an address lies in a prefix (cached for text: every remote endpoint of a
    network asks it of the same subnets, 10,000 times at kube-proxy scale)."""
    if isinstance(ip, str) and isinstance(prefix, str):
        return _in_prefix_text(ip, prefix)
    return _in_prefix_text.__wrapped__(ip, prefix)


@functools.lru_cache(maxsize=65536)
def _in_prefix_text(ip: Any, prefix: Any) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False


def lb_scope_network(lb: Json) -> str | None:
    net = lb.get("HostComputeNetwork")
    return str(net).upper() if net else None


def lb_backends(lb: Json) -> list[str]:
    return [str(e).upper() for e in lb.get("HostComputeEndpoints") or []]


def lb_is_dsr(lb: Json) -> bool:
    return bool(int(lb.get("Flags") or 0) & LB_DSR)


def lb_version(lb: Json) -> int:
    """6 for an IPv6 load balancer (Flags bit 2), else 4."""
    return 6 if int(lb.get("Flags") or 0) & LB_IPV6 else 4


class View:
    """Objects by kind and key, plus the indexes; `apply` keeps them in step."""

    def __init__(self, host_ip: str, *, dsr_keeps_vip: bool = False) -> None:
        self.host_ip = host_ip
        #: DSR to a remote backend keeps the VIP and encapsulates to the backend's PA
        #: (Compiler option; needs the host to deliver such frames by VIP, see compiler.py)
        self.dsr_keeps_vip = dsr_keeps_vip
        self._clear()

    def _clear(self) -> None:
        self.objs: dict[str, dict[str, Json]] = {kind: {} for kind in KINDS}
        self.local_by_net: dict[str, set[str]] = defaultdict(set)
        self.remote_by_net: dict[str, set[str]] = defaultdict(set)
        self.lbs_by_net: dict[str, set[str]] = defaultdict(set)
        self.lbs_global: set[str] = set()
        self.lbs_of_ep: dict[str, set[str]] = defaultdict(set)
        self.routes_of_ep: dict[str, set[str]] = defaultdict(set)

    # -- lookups -------------------------------------------------------------------------
    @property
    def networks(self) -> dict[str, Json]:
        return self.objs["network"]

    @property
    def endpoints(self) -> dict[str, Json]:
        return self.objs["endpoint"]

    @property
    def lbs(self) -> dict[str, Json]:
        return self.objs["loadbalancer"]

    @property
    def routes(self) -> dict[str, Json]:
        return self.objs["route"]

    def network_of(self, ep: Json) -> Json | None:
        key = network_key(ep)
        return None if key is None else self.networks.get(key)

    def is_overlay(self, net: Json | None) -> bool:
        return net is not None and net.get("Type") == OVERLAY

    def local_pa(self, net: Json | None) -> str:
        """The provider address of this host on a network (its ProviderAddress policy)."""
        for settings in policies(net, "ProviderAddress"):
            pa = settings.get("ProviderAddress")
            if pa:
                return str(pa)
        return self.host_ip

    def local_endpoints(self) -> list[str]:
        return [k for k, ep in self.endpoints.items() if not is_remote(ep)]

    def lb_scope(self, lb: Json) -> set[str]:
        """Local endpoints whose ports carry this load balancer's client-side rules."""
        net = lb_scope_network(lb)
        if net is None:
            return {k for keys in self.local_by_net.values() for k in keys}
        return set(self.local_by_net.get(net, ()))

    def lbs_for_endpoint(self, ep_key: str) -> set[str]:
        ep = self.endpoints.get(ep_key)
        if ep is None:
            return set()
        net = network_key(ep)
        return self.lbs_global | (self.lbs_by_net.get(net, set()) if net else set())

    # -- keeping the mirror ----------------------------------------------------------------
    def load(self, dump: dict[str, Any]) -> None:
        self._clear()
        for kind, items in dump.get("Objects", {}).items():
            if kind not in self.objs:
                continue
            for obj in items:
                self._index(kind, str(obj["ID"]).upper(), obj)

    def apply(self, change: ObjectChange) -> None:
        if change.kind not in self.objs:
            return
        if change.old is not None:
            self._unindex(change.kind, change.key, change.old)
        if change.new is not None:
            self._index(change.kind, change.key, change.new)

    def _index(self, kind: str, key: str, obj: Json) -> None:
        self.objs[kind][key] = obj
        if kind == "endpoint":
            net = network_key(obj)
            if net is not None:
                (self.remote_by_net if is_remote(obj) else self.local_by_net)[net].add(key)
        elif kind == "loadbalancer":
            net = lb_scope_network(obj)
            if net is None:
                self.lbs_global.add(key)
            else:
                self.lbs_by_net[net].add(key)
            for ep in lb_backends(obj):
                self.lbs_of_ep[ep].add(key)
        elif kind == "route":
            for ep in lb_backends(obj):
                self.routes_of_ep[ep].add(key)

    def _unindex(self, kind: str, key: str, obj: Json) -> None:
        self.objs[kind].pop(key, None)
        if kind == "endpoint":
            net = network_key(obj)
            if net is not None:
                self.local_by_net[net].discard(key)
                self.remote_by_net[net].discard(key)
        elif kind == "loadbalancer":
            self.lbs_global.discard(key)
            net = lb_scope_network(obj)
            if net is not None:
                self.lbs_by_net[net].discard(key)
            for ep in lb_backends(obj):
                self.lbs_of_ep[ep].discard(key)
        elif kind == "route":
            for ep in lb_backends(obj):
                self.routes_of_ep[ep].discard(key)
