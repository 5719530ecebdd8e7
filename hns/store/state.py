"""The in-memory state of an HnsService: objects by kind, the indexes over them, and the
one way to change them (:meth:`IndexedState._apply`).

Indexes (all O(1) per create, never a scan of the store):
    _net_by_name   casefolded network name -> network key
    _net_eps       network key -> endpoint keys
    _local_ips / _remote_ips   (network key, ip) -> endpoint key
    _macs          (network key, MAC upper) -> endpoint key
    _pools / _mac_pools        (network key, subnet id) -> IP Pool; network key -> MAC Pool
    _ports         (protocol, port) -> {vip or "" (any address): owner key}
Keys are upper-case ids; objects keep the id case they were created with.

``_apply`` commits the changed rows to SQLite first and only then updates memory and the
indexes, so a failed write changes nothing anywhere.  After memory changed it tells the
listeners (:meth:`IndexedState.add_listener`) what changed, object by object; the VFP
compiler is one.  ``None`` instead of a list means "anything may have changed" (reset,
load, a rolled-back import): listeners then re-read everything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any, NamedTuple

from hns import model
from hns.ipam import Pool, subnet_pool
from hns.model.service_read import (
    endpoint_reservations,
    lb_reservations,
    stored_endpoint,
    stored_id,
    stored_network,
)
from hns.store.sqlite import KINDS, Store

Json = dict[str, Any]

__all__ = ["ChangeListener", "IndexedState", "ObjectChange", "key_of"]


def key_of(ident: str) -> str:
    return ident.upper()


_key = key_of


class ObjectChange(NamedTuple):
    """One object changed by a committed operation: ``old`` is None for a create, ``new``
    is None for a delete (both are the stored form; treat them as read-only)."""

    kind: str
    key: str
    old: Json | None
    new: Json | None


#: Called with the changes of one committed operation, or None after a wholesale change.
ChangeListener = Callable[[list[ObjectChange] | None], None]


class IndexedState:
    """Objects, indexes and their SQLite copy; HnsService adds the semantics on top."""

    _store: Store
    _objs: dict[str, dict[str, Json]]
    _listeners: list[ChangeListener]

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener`` after every committed change (under the service lock, so it
        sees the state exactly as the change left it and must not call back in)."""
        if not hasattr(self, "_listeners"):
            self._listeners = []
        self._listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        if listener in getattr(self, "_listeners", []):
            self._listeners.remove(listener)

    def _notify(self, changes: list[ObjectChange] | None) -> None:
        for listener in list(getattr(self, "_listeners", [])):
            listener(changes)

    def _apply(self, puts: list[tuple[str, Json]],
               deletes: list[tuple[str, str]] | None = None) -> None:
        """Commit to SQLite, then to memory and the indexes (never the other way round)."""
        deletes = deletes or []
        self._store.commit(puts, deletes)
        changes: list[ObjectChange] = []
        for kind, key in deletes:
            old = self._objs[kind].pop(key, None)
            if old is not None:
                self._unindex(kind, old)
                changes.append(ObjectChange(kind, key, old, None))
        for kind, obj in puts:
            key = _key(stored_id(obj))
            old = self._objs[kind].get(key)
            if old is not None:
                self._unindex(kind, old, replaced_by=obj)
            self._objs[kind][key] = obj
            self._index(kind, obj)
            changes.append(ObjectChange(kind, key, old, obj))
        self._notify(changes)

    def _reset_indexes(self) -> None:
        self._net_by_name: dict[str, str] = {}
        self._net_eps: dict[str, set[str]] = {}
        self._local_ips: dict[tuple[str, str], str] = {}
        self._remote_ips: dict[tuple[str, str], str] = {}
        self._macs: dict[tuple[str, str], str] = {}
        self._pools: dict[tuple[str, str], Pool] = {}
        self._mac_pools: dict[str, Pool] = {}
        self._ports: dict[tuple[int, int], dict[str, str]] = {}

    def _rebuild(self) -> None:
        self._reset_indexes()
        for kind in KINDS:
            for obj in self._objs[kind].values():
                self._index(kind, obj)

    def _index(self, kind: str, obj: Json) -> None:
        key = _key(stored_id(obj))
        if kind == "network":
            net = stored_network(obj)
            self._net_by_name[net.name.casefold()] = key
            self._net_eps.setdefault(key, set())
            for subnet in net.subnets:
                if subnet.prefix and (key, subnet.id) not in self._pools:
                    pool = subnet_pool(subnet.prefix, subnet.gateway)
                    if pool is not None:
                        self._pools[(key, subnet.id)] = pool
            if net.mac_pool_start is not None and net.mac_pool_end is not None \
                    and key not in self._mac_pools:
                first = model.mac_to_int(net.mac_pool_start)
                last = model.mac_to_int(net.mac_pool_end)
                self._mac_pools[key] = Pool(first, last)
        elif kind == "endpoint":
            ep = stored_endpoint(obj)
            net_key = _key(ep.network or "")
            self._net_eps.setdefault(net_key, set()).add(key)
            remote = ep.remote
            index = self._remote_ips if remote else self._local_ips
            for ip in ep.ip_addresses:
                index[(net_key, ip)] = key
                if not remote:
                    self._pool_event(net_key, ip, taken=True)
            mac = ep.mac
            if mac:
                self._macs[(net_key, mac.upper())] = key
                pool = self._mac_pools.get(net_key)
                if pool is not None:
                    pool.taken(model.mac_to_int(mac))
            for proto, port, vip in endpoint_reservations(obj):
                self._ports.setdefault((proto, port), {})[vip] = key
        elif kind == "loadbalancer":
            for proto, port, vip in lb_reservations(obj):
                self._ports.setdefault((proto, port), {})[vip] = key

    def _unindex(self, kind: str, obj: Json, replaced_by: Json | None = None) -> None:
        key = _key(stored_id(obj))
        if kind == "network":
            self._net_by_name.pop(stored_network(obj).name.casefold(), None)
            if replaced_by is None:
                self._net_eps.pop(key, None)
                self._mac_pools.pop(key, None)
            # A modified network keeps its endpoints and the allocators of unchanged
            # subnets (their cursors and freed addresses).
            kept = {} if replaced_by is None else {
                s["ID"]: s for s in model.subnets_of(replaced_by)}
            for subnet in model.subnets_of(obj):
                if kept.get(subnet["ID"]) != subnet:
                    self._pools.pop((key, subnet["ID"]), None)
        elif kind == "endpoint":
            ep = stored_endpoint(obj)
            net_key = _key(ep.network or "")
            self._net_eps.get(net_key, set()).discard(key)
            remote = ep.remote
            index = self._remote_ips if remote else self._local_ips
            for ip in ep.ip_addresses:
                if index.get((net_key, ip)) == key:
                    del index[(net_key, ip)]
                    if not remote:
                        self._pool_event(net_key, ip, taken=False)
            mac = ep.mac
            if mac and self._macs.get((net_key, mac.upper())) == key:
                del self._macs[(net_key, mac.upper())]
                pool = self._mac_pools.get(net_key)
                if pool is not None:
                    pool.release(model.mac_to_int(mac))
            self._unreserve(endpoint_reservations(obj), key)
        elif kind == "loadbalancer":
            self._unreserve(lb_reservations(obj), key)

    def _unreserve(self, items: list[tuple[int, int, str]], key: str) -> None:
        for proto, port, vip in items:
            holders = self._ports.get((proto, port))
            if holders is not None and holders.get(vip) == key:
                del holders[vip]
                if not holders:
                    del self._ports[(proto, port)]

    def _pool_event(self, net_key: str, ip: str, *, taken: bool) -> None:
        net = self._objs["network"].get(net_key)
        if net is None:
            return
        value = int(ipaddress.ip_address(ip))
        for subnet in stored_network(net).subnets:
            pool = self._pools.get((net_key, subnet.id))
            if pool is not None and pool.contains(value):
                if taken:
                    pool.taken(value)
                else:
                    pool.release(value)
                return
