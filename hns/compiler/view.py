"""The compiler's read-only mirror of HNS state: the typed objects of hns/model/read.py,
one per stored object, with the indexes incremental compilation needs (endpoints by network,
load balancers by backend, routes by endpoint ...).

Each stored dict the change listener is handed is read once into its typed object; a full
sync that re-reads the very same dict (the service replaces stored dicts on every change,
never mutates them) keeps the typed object it already has, so the shared contributions
(hns/compiler/shared.py), which compare their inputs by identity, stay valid.  So does one
that re-reads an equal dict (a service restart or a state load reads every object back from
the store): the dict read before stands in for it, and its typed object with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from hns.model.read import (
    Endpoint,
    LoadBalancer,
    Network,
    ReadCache,
    Route,
    ip4,
    read_endpoint,
    read_load_balancer,
    read_network,
    read_route,
    stored_key,
)
from hns.store.state import ObjectChange

Json = dict[str, Any]
Obj = Network | Endpoint | LoadBalancer | Route

#: the kinds the compiler reads, and their readers (namespaces compile to nothing)
READERS: dict[str, Callable[[Json], Obj]] = {
    "network": read_network, "endpoint": read_endpoint, "loadbalancer": read_load_balancer,
    "route": read_route,
}


class View:
    """Typed objects by kind and key, plus the indexes; `apply` keeps them in step."""

    def __init__(self, host_ip: str, *, dsr_keeps_vip: bool = False) -> None:
        self.host_ip = host_ip
        #: DSR to a remote backend keeps the VIP and encapsulates to the backend's PA
        #: (Compiler option; needs the host to deliver such frames by VIP, see compiler.py)
        self.dsr_keeps_vip = dsr_keeps_vip
        #: per kind: the typed object of each stored dict read (hns/model/read.py)
        self._read: dict[str, ReadCache[Obj]] = {kind: ReadCache(reader)
                                                 for kind, reader in READERS.items()}
        # -- issue 11 (h11c): per kind, the stored dict each typed object was read from
        self._raw: dict[str, dict[str, Json]] = {kind: {} for kind in READERS}
        self._clear()

    def _clear(self) -> None:
        self.networks: dict[str, Network] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.lbs: dict[str, LoadBalancer] = {}
        self.routes: dict[str, Route] = {}
        self.local_by_net: dict[str, set[str]] = defaultdict(set)
        self.remote_by_net: dict[str, set[str]] = defaultdict(set)
        self.lbs_by_net: dict[str, set[str]] = defaultdict(set)
        self.lbs_global: set[str] = set()
        self.lbs_of_ep: dict[str, set[str]] = defaultdict(set)
        self.routes_of_ep: dict[str, set[str]] = defaultdict(set)

    # -- lookups -------------------------------------------------------------------------
    def network_of(self, ep: Endpoint) -> Network | None:
        return None if ep.network is None else self.networks.get(ep.network)

    def local_pa(self, net: Network | None) -> int | None:
        """The provider address of this host on a network (its ProviderAddress policy, else
        the host's address); None when that is not IPv4."""
        if net is not None and net.has_provider_address:
            return net.provider_address
        return ip4(self.host_ip)

    def local_endpoints(self) -> list[str]:
        return [k for k, ep in self.endpoints.items() if not ep.remote]

    def lb_scope(self, lb: LoadBalancer) -> set[str]:
        """Local endpoints whose ports carry this load balancer's client-side rules."""
        if lb.network is None:
            return {k for keys in self.local_by_net.values() for k in keys}
        return set(self.local_by_net.get(lb.network, ()))

    def lbs_for_endpoint(self, ep_key: str) -> set[str]:
        ep = self.endpoints.get(ep_key)
        if ep is None:
            return set()
        net = ep.network
        return self.lbs_global | (self.lbs_by_net.get(net, set()) if net else set())

    # -- keeping the mirror ----------------------------------------------------------------
    def load(self, stored: dict[str, list[Json]]) -> None:
        """Mirror every stored object (the service's `stored()`), keeping the typed object
        of every dict that is the very one read before."""
        self._clear()
        for kind, cache in self._read.items():
            keys = []
            # A service restart or a state load hands equal dicts that are other objects
            # (re-read from the store): the one read before is handed on instead, so the
            # typed object stays the very same one (no read, and identity checks downstream
            # hold: 15,000 objects at kube-proxy scale).
            before, after = self._raw[kind], {}
            for raw in stored.get(kind, ()):
                key = stored_key(raw)
                keys.append(key)
                prev = before.get(key)
                if prev is not None and prev is not raw and prev == raw:
                    raw = prev
                after[key] = raw
                self._index(key, cache.read(key, raw))
            self._raw[kind] = after
            cache.keep_only(keys)

    def apply(self, change: ObjectChange) -> tuple[Obj | None, Obj | None]:
        """Apply one change; (the typed object before, after), None where there is none."""
        cache = self._read.get(change.kind)
        if cache is None:
            return None, None
        old: Obj | None = None
        new: Obj | None = None
        if change.old is not None:
            old = cache.read(change.key, change.old)
            self._unindex(change.key, old)
            cache.forget(change.key)
            self._raw[change.kind].pop(change.key, None)
        if change.new is not None:
            new = cache.read(change.key, change.new)
            self._index(change.key, new)
            self._raw[change.kind][change.key] = change.new
        return old, new

    def _index(self, key: str, obj: Obj) -> None:
        if isinstance(obj, Endpoint):
            self.endpoints[key] = obj
            if obj.network is not None:
                (self.remote_by_net if obj.remote else self.local_by_net)[obj.network].add(key)
        elif isinstance(obj, LoadBalancer):
            self.lbs[key] = obj
            if obj.network is None:
                self.lbs_global.add(key)
            else:
                self.lbs_by_net[obj.network].add(key)
            for ep in obj.backends:
                self.lbs_of_ep[ep].add(key)
        elif isinstance(obj, Route):
            self.routes[key] = obj
            for ep in obj.endpoints:
                self.routes_of_ep[ep].add(key)
        else:
            self.networks[key] = obj

    def _unindex(self, key: str, obj: Obj) -> None:
        if isinstance(obj, Endpoint):
            self.endpoints.pop(key, None)
            if obj.network is not None:
                self.local_by_net[obj.network].discard(key)
                self.remote_by_net[obj.network].discard(key)
        elif isinstance(obj, LoadBalancer):
            self.lbs.pop(key, None)
            self.lbs_global.discard(key)
            if obj.network is not None:
                self.lbs_by_net[obj.network].discard(key)
            for ep in obj.backends:
                self.lbs_of_ep[ep].discard(key)
        elif isinstance(obj, Route):
            self.routes.pop(key, None)
            for ep in obj.endpoints:
                self.routes_of_ep[ep].discard(key)
        else:
            self.networks.pop(key, None)
