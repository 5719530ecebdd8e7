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
The inputs of a contribution are compared by identity (the mirror's typed objects are read
anew on every change and never mutated, hns/compiler/view.py), so a stale entry can never
be served:

    remote R  the remote endpoint, the port's network object and key, the host IP and the
              port's encap overhead (its MSS delta)
    lb L      the load balancer, the port's network object and HostComputeNetwork, the
              host IP, and every backend endpoint object; a port that is itself one of
              L's backends is computed on its own (its backend-side NAT rules are its own),
              and so is every port of an L with a SourceVIP (each client port SNATs to a
              port block of its own)

A contribution with an item vfp refuses is never shared (each port records its error).
What vfp is given is shared too: a spec builds its ``vfp.Rule`` and ``vfp.Mapping`` once
(``RuleSpec.rule``, ``MappingSpec.mapping``), and every port holding the spec holds that one
object (vfp keeps a shared rule's counters per group).  So a remote endpoint costs one rule
and one mapping, not one per port.

A compiler pass over many ports checks each shared contribution's inputs once per pass
(``begin_pass``), and a full sync that re-reads equal objects keeps the equal contribution
object itself, so the ports holding it see "unchanged" by identity, not by comparing items.
A load balancer's contribution to a port that computes it on its own (its backend's, or
any port's with a SourceVIP) is kept per port too, with that port's endpoint and SNAT block
among its inputs, so a full sync over the same objects computes nothing again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hns.compiler.rules import Item, ItemKey, Source, Target, encap_overhead
from hns.compiler.view import View

__all__ = ["SharedContributions"]

Contribution = dict[ItemKey, Item]


_NEVER: frozenset[str] = frozenset({"\0never shared"})


class SharedContributions:
    """The per-(source, network) cache of contributions the compiler consults."""

    def __init__(self) -> None:
        self._entries: dict[Source, dict[tuple[Any, ...],
                                         tuple[tuple[Any, ...], Contribution]]] = {}
        #: How many contributions were served from the cache (for tests and benches).
        self.hits = 0
        #: How many contributions were computed (once per source and network when shared).
        self.computed = 0
        self._last_port: tuple[Target, Any, tuple[str | None, Any, int, str]] | None = None
        # What one compiler pass (one `begin_pass`) already checked, so that a pass over
        # every (port, source) pair checks each shared contribution's inputs once, not once
        # per port: (source, slot) -> contribution, and per load balancer the ports that
        # compute it on their own (its backends; every port when it has a SourceVIP).
        self._verified: dict[tuple[Source, tuple[Any, ...]], Contribution] = {}
        self._own: dict[Source, frozenset[str]] = {}
        #: per load balancer, per port computing it on its own: (its inputs, contribution)
        self._own_entries: dict[Source, dict[str, tuple[tuple[Any, ...], Contribution]]] = {}

    def clear(self) -> None:
        self._entries.clear()
        self._own_entries.clear()
        self.begin_pass()

    def begin_pass(self) -> None:
        """Start a compiler pass: the view may have changed since the last one."""
        self._verified.clear()
        self._own.clear()
        self._last_port = None

    def retain(self, alive: Callable[[Source], bool]) -> None:
        """Forget the entries of sources that are gone (a full sync re-reads everything
        but keeps what is still valid, so equal contributions stay the same objects)."""
        for source in [s for s in self._entries if not alive(s)]:
            del self._entries[source]
        for source in [s for s in self._own_entries if not alive(s)]:
            del self._own_entries[source]

    def items(self, source: Source, t: Target, view: View,
              compute: Callable[[], tuple[Contribution, bool]]) -> Contribution:
        """The contribution of ``source`` to the port ``t``: shared when possible, else
        ``compute()`` (which returns the items and whether vfp took every one)."""
        return self.lookup(source, t, view, compute)[0]

    def lookup(self, source: Source, t: Target, view: View,
               compute: Callable[[], tuple[Contribution, bool]]
               ) -> tuple[Contribution, bool]:
        """(the contribution, whether it is the one shared by every port of its slot)."""
        kind = source[0]
        if kind != "remote" and kind != "lb":
            return compute()[0], False
        net_key, net, mss, scope = self._port(t, view)
        if kind == "lb":
            own = self._own.get(source)
            if own is None:
                lb = view.lbs.get(source[1])
                if lb is None:
                    self._drop(source)
                    return compute()[0], False
                # its own NAT rules on a backend; a SourceVIP SNAT pool per client port
                own = _NEVER if lb.source_vip is not None else frozenset(lb.backends)
                self._own[source] = own
            if own is _NEVER or t.key in own:
                return self._port_own(source, t, net, view, compute), False
            slot: tuple[Any, ...] = (net_key, scope)
        else:
            slot = (net_key, mss)
        memo = (source, slot)
        found = self._verified.get(memo)
        if found is not None:
            self.hits += 1
            return found, True
        objects = self._inputs(source, net, view)
        if objects is None:
            return compute()[0], False
        slots = self._entries.setdefault(source, {})
        cached = slots.get(slot)
        if cached is not None and len(cached[0]) == len(objects) \
                and all(a is b for a, b in zip(cached[0], objects, strict=True)):
            self.hits += 1
            self._verified[memo] = cached[1]
            return cached[1], True
        # -- issue 11 (h11r): a full sync after a service restart or a state load re-reads
        # every object from the store: equal inputs give the contribution already held
        # (15,000 of them at kube-proxy scale), without computing it again.
        if cached is not None and len(cached[0]) == len(objects) \
                and all(a is b or a == b for a, b in zip(cached[0], objects, strict=True)):
            self.hits += 1
            slots[slot] = (objects, cached[1])
            self._verified[memo] = cached[1]
            return cached[1], True
        new, all_valid = compute()
        self.computed += 1
        if cached is not None and cached[1] == new:
            # Inputs re-read (a full sync copies every object) but the same result: keep
            # the one object, so every port holding it sees "unchanged" by identity.
            new = cached[1]
        if all_valid:
            slots[slot] = (objects, new)
            self._verified[memo] = new
        else:
            slots.pop(slot, None)
        return new, all_valid

    # -- issue 11 (h11c): a load balancer's contribution to its own backend's port (and
    # every port's, with a SourceVIP) is that port's alone, but its inputs are the shared
    # ones plus the port's endpoint and SNAT block: kept per port, a full sync over the same
    # (or re-read equal, hns/compiler/view.py) objects computes none of them again (5,000
    # at kube-proxy scale) and hands the port the very contribution it holds.
    def _port_own(self, source: Source, t: Target, net: Any, view: View,
                  compute: Callable[[], tuple[Contribution, bool]]) -> Contribution:
        if not t.key:  # the template's "any port" (hns/compiler/fresh.py) never takes it
            return {}
        objects = self._inputs(source, net, view)
        if objects is None:
            return compute()[0]
        objects = (*objects, t.ep, t.snat_block)
        ports = self._own_entries.setdefault(source, {})
        cached = ports.get(t.key)
        if cached is not None and len(cached[0]) == len(objects) \
                and all(a is b for a, b in zip(cached[0], objects, strict=True)):
            self.hits += 1
            return cached[1]
        new, all_valid = compute()
        self.computed += 1
        if all_valid:
            ports[t.key] = (objects, new)
        else:
            ports.pop(t.key, None)
        return new

    def forget_port(self, key: str, sources: Iterable[Source]) -> None:
        """A port is gone: its own contributions are no longer kept."""
        own = self._own_entries
        for source in sources:
            ports = own.get(source)
            if ports is not None:
                ports.pop(key, None)

    def _inputs(self, source: Source, net: Any, view: View) -> tuple[Any, ...] | None:
        """The objects a shared contribution is computed from (compared by identity), or
        None when the source is gone."""
        kind, key = source
        if kind == "remote":
            remote = view.endpoints.get(key)
            if remote is None:
                self._drop(source)
                return None
            return (remote, net, view.host_ip)
        lb = view.lbs.get(key)
        if lb is None:
            self._drop(source)
            return None
        return (lb, net, view.host_ip, view.dsr_keeps_vip,
                *(view.endpoints.get(b) for b in lb.backends))

    def slot(self, t: Target, view: View) -> tuple[str | None, int, str]:
        """What of a port its shared contributions depend on (hns/compiler/fresh.py)."""
        net_key, _, mss, scope = self._port(t, view)
        return net_key, mss, scope

    def _port(self, t: Target, view: View) -> tuple[str | None, Any, int, str]:
        """What a contribution reads of its port; the compiler builds one Target per
        port per pass, so the last one's answer is kept."""
        last = self._last_port
        if last is not None and last[0] is t and last[1] is t.ep:
            return last[2]
        info = (t.ep.network, view.network_of(t.ep), encap_overhead(t.ep), t.ep.network or "")
        self._last_port = (t, t.ep, info)
        return info

    def _drop(self, source: Source) -> None:
        self._entries.pop(source, None)
        self._own_entries.pop(source, None)
