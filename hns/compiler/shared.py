"""Contributions shared between ports: one computation per (source, network), not per port.

At kube-proxy scale a node has ~110 local ports on one overlay network, 10,000 remote
endpoints and 5,000 load balancers.  Every remote endpoint and every load balancer
contributes to every port of the network, and for all but a load balancer's own backends
that contribution is the same on each port: the same mapping, the same LB rule specs.
Computed per port, adding one load balancer redid the work (and validation) 110 times and
kept 110 equal copies of every spec.  :class:`SharedContributions` computes it once and
hands the same immutable ``{item key: item}`` dict to every port whose inputs are the
same; the compiler never mutates a contribution dict in place, so sharing is safe.

This is a cache only: the items are exactly what ``rules.contribute`` returns for that
port (the compiler tests and the reference model in tests/compiler are the contract).
The inputs of a contribution are compared by identity (the stored objects are replaced,
never mutated, on every change), so a stale entry can never be served:

    remote R  the remote endpoint, the port's network object and key, the host IP and the
              port's encap overhead (its MSS delta)
    lb L      the load balancer, the port's network object and HostComputeNetwork, the
              host IP, and every backend endpoint object; a port that is itself one of
              L's backends is computed on its own (its backend-side NAT rules are its own),
              and so is every port of an L with a SourceVIP (each client port SNATs to a
              port block of its own)

A contribution with an item vfp refuses is never shared (each port records its error).
Built ``vfp.Mapping`` objects (no counters, never mutated) are shared too; rules are not,
since each port's rule keeps its own counters.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from hns.compiler.rules import Item, ItemKey, MappingSpec, Source, Target, encap_overhead
from hns.compiler.view import View, lb_backends, network_key
from vfp import Mapping

__all__ = ["SharedContributions"]

Contribution = dict[ItemKey, Item]


class SharedContributions:
    """The per-(source, network) cache of contributions the compiler consults."""

    def __init__(self) -> None:
        self._entries: dict[Source, dict[tuple[Any, ...],
                                         tuple[tuple[Any, ...], Contribution]]] = {}
        self._mappings: weakref.WeakValueDictionary[MappingSpec, Mapping] = \
            weakref.WeakValueDictionary()
        #: How many contributions were served from the cache (for tests and benches).
        self.hits = 0
        self._last_port: tuple[Target, Any, tuple[str | None, Any, int, str]] | None = None

    def clear(self) -> None:
        self._entries.clear()
        self._last_port = None

    def items(self, source: Source, t: Target, view: View,
              compute: Callable[[], tuple[Contribution, bool]]) -> Contribution:
        """The contribution of ``source`` to the port ``t``: shared when possible, else
        ``compute()`` (which returns the items and whether vfp took every one)."""
        inputs = self._inputs(source, t, view)
        if inputs is None:
            return compute()[0]
        slot, objects = inputs
        slots = self._entries.setdefault(source, {})
        cached = slots.get(slot)
        if cached is not None and len(cached[0]) == len(objects) \
                and all(a is b for a, b in zip(cached[0], objects, strict=True)):
            self.hits += 1
            return cached[1]
        new, all_valid = compute()
        if all_valid:
            slots[slot] = (objects, new)
        else:
            slots.pop(slot, None)
        return new

    def mapping(self, spec: MappingSpec) -> Mapping:
        """The one ``vfp.Mapping`` for equal specs (kept while any port holds it)."""
        found = self._mappings.get(spec)
        if found is None:
            found = Mapping(spec.ca, spec.pa, spec.mac, spec.vni)
            self._mappings[spec] = found
        return found

    def _inputs(self, source: Source, t: Target,
                view: View) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
        """(cache slot, the objects the contribution is computed from), or None when this
        port's contribution is its own."""
        kind, key = source
        if kind != "remote" and kind != "lb":
            return None
        net_key, net, mss, scope = self._port(t, view)
        if kind == "remote":
            remote = view.endpoints.get(key)
            if remote is None:
                self._drop(source)
                return None
            return ((net_key, mss), (remote, net, view.host_ip))
        if kind == "lb":
            lb = view.lbs.get(key)
            if lb is None:
                self._drop(source)
                return None
            backends = lb_backends(lb)
            if t.key in backends or lb.get("SourceVIP"):
                return None  # its own NAT rules; a SourceVIP SNAT pool per client port
            objects = (lb, net, view.host_ip, view.dsr_keeps_vip,
                       *(view.endpoints.get(b) for b in backends))
            return ((net_key, scope), objects)
        return None

    def _port(self, t: Target, view: View) -> tuple[str | None, Any, int, str]:
        """What a contribution reads of its port; the compiler builds one Target per
        port per pass, so the last one's answer is kept."""
        last = self._last_port
        if last is not None and last[0] is t and last[1] is t.ep:
            return last[2]
        info = (network_key(t.ep), view.network_of(t.ep), encap_overhead(t.ep),
                str(t.ep.get("HostComputeNetwork", "")).upper())
        self._last_port = (t, t.ep, info)
        return info

    def _drop(self, source: Source) -> None:
        self._entries.pop(source, None)
