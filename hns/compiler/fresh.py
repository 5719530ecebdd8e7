"""What a new port of a network starts with: the contributions every port of that network
shares, copied as whole dicts instead of source by source.

At kube-proxy scale a new port (every port, at service start, state load or restart) has
~15,000 sources (10,000 remote endpoints, 5,000 load balancers), and all but a few dozen
contribute exactly what they contribute to every other port of the network
(hns/compiler/shared.py).  Walking them per port is 1.65M (port, source) steps per full
sync.  A :class:`Template` holds, once per compiler pass and port slot (network, encap
overhead, HostComputeNetwork), the shared contributions and the vfp rules and mappings they
amount to, grouped by layer and group; a new port takes copies of those dicts (C speed),
drops what it must compute itself (the load balancers it is a backend of), and the
compiler computes the rest (its own endpoint, its network, SourceVIP load balancers,
routes) as before.

A template holds only what the compiler would have put on the port anyway: shared
contributions (the very objects ``SharedContributions.lookup`` hands every port of the
slot), of rule and mapping items only, with no item key twice; otherwise there is no
template and the port is compiled source by source.  The compiler tests compare both ways.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from hns.compiler import layers as L
from hns.compiler.rules import Item, ItemKey, MappingSpec, RuleSpec, Source
from vfp import Mapping, Port, Rule
from vfp.errors import VfpError
from vfp.model import SharedRules
from vfp.tables import SharedMappings

__all__ = ["Template", "build_template", "collector_paused"]

Contribution = dict[ItemKey, Item]


@dataclass
class Template:
    """The shared start of every new port of one slot."""

    contrib: dict[Source, Contribution] = field(default_factory=dict)
    #: the sources of ``contrib``, as a set: ``apply_to`` asks "all in the port's sources?"
    #: of every new port, and a set answers it without hashing each source again
    sources: frozenset[Source] = frozenset()
    rules: dict[tuple[str, str], SharedRules] = field(default_factory=dict)
    mappings: SharedMappings = field(default_factory=lambda: SharedMappings([]))

    def start(self, own: set[Source]) -> tuple[dict[Source, Contribution],
                                               dict[tuple[str, str], SharedRules],
                                               SharedMappings]:
        """What one port takes: copies without the sources it computes on its own."""
        contrib = dict(self.contrib)
        drop: dict[tuple[str, str], set[str]] = {}
        cas: set[int] = set()
        for source in own:
            items = contrib.pop(source, None)
            for item in (items or {}).values():
                if isinstance(item, RuleSpec):
                    rule = item.rule
                    drop.setdefault((item.layer, item.group), set()).add(rule.id or rule.name)
                elif isinstance(item, MappingSpec):
                    cas.add(item.ca)
        rules = {where: group.without(drop.get(where, set()))
                 for where, group in self.rules.items()}
        return contrib, rules, self.mappings.without(cas)

    def apply_to(self, port: Port, contrib: dict[Source, Contribution], sources: set[Source],
                 own: set[Source]
                 ) -> tuple[set[Source], dict[Source, Contribution] | None, bool]:
        """On a port holding nothing yet, program the template (minus `own`) and return
        (the sources still to compute, the port's new contributions, True); on a port
        holding contributions, (the sources whose shared contribution it does not hold yet,
        None, whether it holds every one). The last answer is what :meth:`holds` records."""
        if not self.contrib:
            return sources, None, False
        if contrib:
            same = self.unchanged(contrib, own)
            return sources.difference(same), None, isinstance(same, dict)
        if not self.sources <= sources:
            return sources, None, False
        taken, rules, mappings = self.start(own)
        for (layer_id, group_id), group_rules in rules.items():
            port.get_layer(layer_id).get_group(group_id).adopt(group_rules)
        if mappings.mappings:
            port.add_mappings(L.VNET_SPACE, mappings)
        return sources.difference(taken), taken, True  # (a dict argument: C speed)

    def rest(self, sources: set[Source], own: set[Source]) -> set[Source]:
        """What ``apply_to`` answers for a port known to hold every shared contribution of
        this template but its `own` (``Held``), without looking at each one: the sources
        outside the template, and its own ones."""
        out = sources.difference(self.sources)
        out.update(own.intersection(sources))
        return out

    def same_as(self, contrib: dict[Source, Contribution]) -> bool:
        """Whether ``contrib`` (an earlier pass's template) holds exactly these
        contributions, the very objects: a port holding that one holds this one."""
        mine = self.contrib
        if contrib is mine:
            return True
        if len(contrib) != len(mine):
            return False
        get = mine.get
        return all(get(s) is c for s, c in contrib.items())

    def unchanged(self, contrib: dict[Source, Contribution],
                  own: set[Source]) -> Iterable[Source]:
        """The sources whose shared contribution a port already holds (the same object,
        or an equal one: either way the compiler would find nothing to change)."""
        shared = self.contrib
        if not own.isdisjoint(shared):
            shared = dict(shared)
            for source in own:
                shared.pop(source, None)
        if shared.items() <= contrib.items():  # C speed; values compare by identity first
            return shared  # (a dict: set.difference takes its keys at C speed)
        get = contrib.get
        return {s for s, c in shared.items() if get(s) is c}


def build_template(
        sources: Iterable[Source],
        lookup: Callable[[Source], tuple[Contribution, bool]]) -> Template | None:
    """The template of the shared contributions among ``sources`` (``lookup`` answers
    one source as ``SharedContributions.lookup`` does for a port that is no load
    balancer's backend), or None when the port must be compiled source by source."""
    t = Template()
    seen: set[ItemKey] = set()
    rules: dict[tuple[str, str], list[Rule]] = {}
    mappings: list[Mapping] = []
    for source in sources:
        if source[0] != "remote" and source[0] != "lb":
            continue
        items, shared = lookup(source)
        if not shared or not items:
            continue  # the port computes it itself (as it always did)
        for key, item in items.items():
            if key in seen:
                return None  # two sources claim one key: let vfp refuse it as before
            seen.add(key)
            if type(item) is RuleSpec and not item.publish:
                rules.setdefault((item.layer, item.group), []).append(item.rule)
            elif type(item) is MappingSpec:
                mappings.append(item.mapping)
            else:
                return None  # pools, default-deny, published rules: the port's own
        t.contrib[source] = items
    t.sources = frozenset(t.contrib)
    try:
        for (layer, group), listed in rules.items():
            version = next(g.version for g in L.LAYER_BY_ID[layer].groups if g.id == group)
            t.rules[(layer, group)] = SharedRules(listed, version)
        t.mappings = SharedMappings(mappings)
    except (VfpError, KeyError, StopIteration):
        return None  # vfp refuses something: the port meets it source by source
    return t


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a full sync runs.

    A full sync allocates hundreds of thousands of containers; each time the youngest
    generations fill, a collection runs, and every so often a full one walks every live
    object (seconds at kube-proxy scale), stopping every thread, the server's event loop
    included (health checks stalled for 3.4 s).  Nothing a sync builds is cyclic garbage,
    so collection waits until it ends; the server then moves what it built out of the
    collector's reach (gc.freeze in api/)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
