"""The VFP object model: Switch -> Port -> Layer -> Group -> Rule, plus a port's tags (its
mapping spaces and NAT pools are in vfp/tables.py).

Glossary
--------
Switch    holds ports, the clock (injectable, for flow TTLs) and the VXLAN UDP port.
Port      one vNIC: GUID id, friendly name, MAC, Enabled/Blocked state, layers, spaces,
          NAT pools, tags, the unified flow table, counters and a generation number that
          every policy change bumps (stale unified flows are then re-simulated).
Layer     a match-action table owned by one controller: id, name, priority, stateful or
          stateless, flags (1 default allow, ...), groups, and its flow table.
Group     the atomic unit of policy: direction IN/OUT, IPv4/IPv6, priority, optional group
          condition, match type priority-based or LPM; holds rules and their classifier.
Rule      id, friendly name, priority, flags (1 terminating, 2 stateful, 8 track TCP ...),
          flow TTL, conditions and one action.

Every mutation goes through a method here so that the port's generation is bumped and
the group's classifier rebuilt; objects must not be changed behind these methods.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass, field, replace
from typing import TypeVar

from vfp.actions import Action, ActionContext, Block
from vfp.addr import ip_width
from vfp.classifier import IndexedClassifier, LinearClassifier, Lookup
from vfp.conditions import Conditions
from vfp.errors import AlreadyExists, DropReason, InvalidRule, NotFound
from vfp.flows import FlowKey, LayerFlow, UftEntry
from vfp.tables import Mapping, MapSpace, NatPool, NatRange, SharedMappings, check_mapping
from vxlan import VXLAN_PORT, Packet

_T = TypeVar("_T")


def _get(table: dict[str, _T], kind: str, key: str) -> _T:
    """``table[key]``, or NotFound naming the kind of object: the one lookup-or-raise."""
    try:
        return table[key]
    except KeyError:
        raise NotFound(kind, key) from None


def _pop(table: dict[str, _T], kind: str, key: str) -> _T:
    """Remove and return ``table[key]``, or NotFound naming the kind of object."""
    try:
        return table.pop(key)
    except KeyError:
        raise NotFound(kind, key) from None

RULE_FLAG_NAMES = {
    1: "terminating", 2: "stateful", 4: "non-syn only", 8: "track tcp state",
    16: "syn-only", 32: "skip hairpinning", 128: "opt-condition", 4096: "audit matches",
    16384: "mirror", 32768: "monitoring ping",
}
LAYER_FLAG_NAMES = {
    1: "Default Allow", 2: "Hairpin", 4: "Clear TNI", 8: "Update flows on address change",
    16: "Monitoring ping responder",
}
TERMINATING = 1
STATEFUL = 2
TRACK_TCP = 8
NON_SYN_ONLY = 4
SYN_ONLY = 16
DEFAULT_ALLOW = 1

IN = "IN"
OUT = "OUT"

#: Insertion order of rules, switch-wide (see Group.add_rules).
_ORDER = itertools.count(1)


def flag_names(flags: int, names: dict[int, str]) -> list[str]:
    return [name for bit, name in sorted(names.items()) if flags & bit]


@dataclass(eq=False)
class Rule:
    """A rule: conditions plus one action, with priority, flags and flow TTL."""

    id: str
    priority: int
    action: Action = field(default_factory=Block)
    conditions: Conditions = field(default_factory=Conditions)
    flags: int = TERMINATING
    ttl: int = 0
    name: str = ""
    order: int = 0
    counter: list[int] = field(default_factory=lambda: [0, 0])  # [packets, bytes]
    #: HNS adds its NAT, load-balancer and PA-route rules without an id: vfpctrl prints
    #: "RULE :" with nothing after it (kubernetes#79359, VFP.psm1); `id` stays their key.
    anonymous: bool = False
    #: One rule object may sit in the groups of many ports (the compiler shares them, see
    #: hns/compiler/shared.py): it is then never mutated, and its counters are kept per
    #: group (`Group.counter_of`), not in `counter`.
    shared: bool = False
    #: The IP version this rule was last validated for (0: not yet): a shared rule is
    #: validated once, not once per port.
    validated: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.id
        # flags 16 (SYN only) and 4 (non-SYN only) are conditions on the TCP flags
        syn = 1 if self.flags & SYN_ONLY else (2 if self.flags & NON_SYN_ONLY else 0)
        if syn != self.conditions.tcp_syn:
            self.conditions = replace(self.conditions, tcp_syn=syn)

    @property
    def terminating(self) -> bool:
        return bool(self.flags & TERMINATING)

    @property
    def stateful(self) -> bool:
        # Load-balancing NAT keeps flows whatever its flags say: real lbnat rules print
        # "Flags : 1 terminating" and their replies are still un-NATed.
        return bool(self.flags & STATEFUL) or self.action.keeps_flows

    @property
    def tracks_tcp(self) -> bool:
        return bool(self.flags & TRACK_TCP)

    def validate(self, version: int) -> None:
        if not 0 <= self.priority <= 65535:
            raise InvalidRule("priority", f"{self.priority} is not within 0..65535")
        if not 0 <= self.flags < 1 << 32:
            raise InvalidRule("flags", f"{self.flags} is not a 32-bit flag set")
        if not 0 <= self.ttl <= 0xFFFFFFFF:
            raise InvalidRule("flow TTL", f"{self.ttl} is negative or too large")
        if not self.id and not self.name:
            raise InvalidRule("id", "a rule needs an id or a friendly name")
        self.conditions.validate(version)
        self.action.validate()
        self.validated = version


class SharedRules:
    """Shared rules checked once for groups of one IP version: validated, numbered, keyed
    as a group keys them.  `Group.adopt` adds them in one step; nothing changes them."""

    __slots__ = ("rules", "version")

    def __init__(self, rules: list[Rule], version: int) -> None:
        checked: dict[str, Rule] = {}
        for rule in rules:
            if not rule.shared:
                raise InvalidRule("id", f"{rule.id or rule.name!r} is not a shared rule")
            if rule.validated != version:
                rule.validate(version)
            key = rule.id or rule.name
            if key in checked:
                raise AlreadyExists("rule", key)
            checked[key] = rule
        for rule in rules:
            if not rule.order:
                rule.order = next(_ORDER)
        self.rules: Mapping_[str, Rule] = checked
        self.version = version

    def without(self, keys: set[str]) -> SharedRules:
        """The same checked rules but those keys (no rule is checked again)."""
        if not keys:
            return self
        rules = dict(self.rules)
        for key in keys:
            rules.pop(key, None)
        out = SharedRules([], self.version)
        out.rules = rules
        return out


class Group:
    """Rules of one direction and address family; picks one winning rule per packet."""

    def __init__(
        self,
        id: str,
        priority: int,
        direction: str,
        *,
        version: int = 4,
        name: str = "",
        conditions: Conditions | None = None,
        lpm: bool = False,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if direction not in (IN, OUT):
            raise InvalidRule("direction", f"{direction!r} is not IN or OUT")
        if version not in (4, 6):
            raise InvalidRule("type", f"IPv{version} is not IPv4 or IPv6")
        if not 0 <= priority <= 65535:
            raise InvalidRule("priority", f"{priority} is not within 0..65535")
        self.id = id
        self.name = name or id
        self.priority = priority
        self.direction = direction
        self.version = version
        self.conditions = conditions or Conditions()
        self.conditions.validate(version)
        self.lpm = lpm
        self.rules: dict[str, Rule] = {}
        #: this group's counters of shared rules (an unshared rule keeps its own)
        self._counters: dict[Rule, list[int]] = {}
        self._classifier: IndexedClassifier | None = None
        self._on_change = on_change

    def _changed(self) -> None:
        self._classifier = None
        if self._on_change is not None:
            self._on_change()

    def add_rule(self, rule: Rule) -> Rule:
        self.add_rules([rule])
        return rule

    def add_rules(self, rules: list[Rule]) -> None:
        """Add many rules at once (one rebuild, one generation bump).

        All or nothing: every rule is validated and checked for a clash (with the group and
        within the batch) before any is added, so a refused batch leaves the group as it was.
        """
        keys: set[str] = set()
        for rule in rules:
            if rule.validated != self.version:
                rule.validate(self.version)
            key = rule.id or rule.name
            if key in self.rules or key in keys:
                raise AlreadyExists("rule", key)
            keys.add(key)
        for rule in rules:
            # Between equal priorities the rule added first wins.  One switch-wide sequence
            # keeps that order in every group; a shared rule is numbered once, when first
            # added anywhere, so it is never mutated behind another port's classifier.
            if not rule.shared or not rule.order:
                rule.order = next(_ORDER)
            self.rules[rule.id or rule.name] = rule
        self._changed()

    def adopt(self, rules: SharedRules) -> None:
        """Add a checked set of shared rules at once (what the compiler hands every new
        port of a network, hns/compiler/fresh.py): one dict update, not rule by rule.
        All or nothing, like `add_rules`."""
        if rules.version != self.version:
            raise InvalidRule("type", f"IPv{rules.version} rules in an IPv{self.version} group")
        if not rules.rules:
            return
        clash = self.rules.keys() & rules.rules.keys()
        if clash:
            raise AlreadyExists("rule", min(clash))
        self.rules.update(rules.rules)
        self._changed()

    def remove_rule(self, rule_id: str) -> None:
        rule = _pop(self.rules, "rule", rule_id)
        self._counters.pop(rule, None)
        self._changed()

    def counter_of(self, rule: Rule) -> list[int]:
        """[packets, bytes] of a rule of this group: its own cell, or, for a rule shared
        between ports, this group's (each port counts its own hits)."""
        if not rule.shared:
            return rule.counter
        found = self._counters.get(rule)
        if found is None:
            found = self._counters[rule] = [0, 0]
        return found

    def get_rule(self, rule_id: str) -> Rule:
        return _get(self.rules, "rule", rule_id)

    def classifier(self) -> IndexedClassifier:
        if self._classifier is None:
            self._classifier = IndexedClassifier(
                list(self.rules.values()), lpm=self.lpm, width=ip_width(self.version)
            )
        return self._classifier

    def linear(self) -> LinearClassifier:
        return LinearClassifier(list(self.rules.values()), lpm=self.lpm,
                                width=ip_width(self.version))

    def classify(self, k: Lookup, tags: dict[str, frozenset[int]] | None = None) -> Rule | None:
        found = self.classifier().classify(k, tags)
        assert found is None or isinstance(found, Rule)
        return found


class Layer:
    """An ordered set of groups owned by one controller, with its flow table."""

    def __init__(
        self,
        id: str,
        priority: int,
        *,
        name: str = "",
        stateful: bool = True,
        flags: int = 0,
        last_group_wins: bool = True,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if not 0 <= priority <= 65535:
            raise InvalidRule("priority", f"{priority} is not within 0..65535")
        if not 0 <= flags < 1 << 32:
            raise InvalidRule("flags", f"{flags} is not a 32-bit flag set")
        self.id = id
        self.name = name or id
        self.priority = priority
        self.stateful = stateful
        self.flags = flags
        self.last_group_wins = last_group_wins
        self.groups: dict[str, Group] = {}
        self.flows: dict[FlowKey, LayerFlow[Layer, Rule]] = {}
        self.counter = [0, 0]  # [packets, bytes]
        self._on_change = on_change
        self._sorted: list[Group] | None = None

    @property
    def default_allow(self) -> bool:
        return bool(self.flags & DEFAULT_ALLOW)

    def _changed(self) -> None:
        self._sorted = None
        if self._on_change is not None:
            self._on_change()

    def add_group(self, group: Group) -> Group:
        if group.id in self.groups:
            raise AlreadyExists("group", group.id)
        group._on_change = self._changed
        self.groups[group.id] = group
        self._changed()
        return group

    def remove_group(self, group_id: str) -> None:
        _pop(self.groups, "group", group_id)
        self._changed()

    def get_group(self, group_id: str) -> Group:
        return _get(self.groups, "group", group_id)

    def sorted_groups(self) -> list[Group]:
        if self._sorted is None:
            self._sorted = sorted(self.groups.values(), key=lambda g: g.priority)
        return self._sorted


@dataclass
class FlowSettings:
    """Per-port flow TTLs in seconds (vfpctrl /set-port-flow-settings)."""

    default_ttl: float = 240.0
    half_open_ttl: float = 30.0
    time_wait_ttl: float = 10.0
    unified_flows: bool = True


class Port(ActionContext):
    """One vNIC port of the switch: its policy, flow tables and counters."""

    def __init__(
        self,
        switch: Switch,
        id: str,
        *,
        name: str = "",
        mac: int = 0,
        vm_name: str = "",
    ) -> None:
        self.switch = switch
        self.id = id
        self.name = name or id
        self._mac = mac
        self.vm_name = vm_name
        self.enabled = True
        self.blocked = False
        self.blocked_on_restore = False
        self.layers: dict[str, Layer] = {}
        self.spaces: dict[str, MapSpace] = {}
        self.nat_pools: dict[str, NatPool] = {}
        self.tags: dict[str, frozenset[int]] = {}
        self.generation = 1
        self.settings = FlowSettings()
        self.uft: dict[str, dict[bytes, UftEntry]] = {IN: {}, OUT: {}}
        self.counters: dict[str, list[int]] = {IN: [0, 0], OUT: [0, 0]}
        self.drops: dict[str, Counter[DropReason]] = {IN: Counter(), OUT: Counter()}
        self._sorted: list[Layer] | None = None
        self.dry_run = False
        self._vx = switch.vxlan_port.to_bytes(2, "big")
        self.cell_paths: dict[tuple[int, ...], tuple[list[int], ...]] = {}
        self.slow_packets = 0

    # -- ActionContext ------------------------------------------------------------------
    @property
    def mac(self) -> int:
        return self._mac

    @property
    def vxlan_port(self) -> int:
        return self.switch.vxlan_port

    @property
    def vxlan_port_bytes(self) -> bytes:
        return self._vx

    def lookup_mapping(self, space: str, ca: int) -> tuple[int, int, int] | None:
        s = self.spaces.get(space)
        m = None if s is None else s.mappings.get(ca)
        return None if m is None else (m.pa, m.mac, m.vni)

    def allocate_snat(self, pool: str, p: Packet) -> tuple[int, int] | None:
        np_ = self.nat_pools.get(pool)
        if np_ is None:
            return None
        return np_.pick(p.five_tuple(), commit=not self.dry_run)

    # -- policy changes -----------------------------------------------------------------
    def bump(self) -> None:
        """Record a policy change: every unified flow of this port becomes stale."""
        self.generation += 1
        self._sorted = None

    def add_layer(self, layer: Layer) -> Layer:
        if layer.id in self.layers:
            raise AlreadyExists("layer", layer.id)
        layer._on_change = self.bump
        self.layers[layer.id] = layer
        self.bump()
        return layer

    def remove_layer(self, layer_id: str) -> None:
        _pop(self.layers, "layer", layer_id)
        self.bump()

    def get_layer(self, layer_id: str) -> Layer:
        return _get(self.layers, "layer", layer_id)

    def sorted_layers(self) -> list[Layer]:
        """Layers by ascending priority number (the outbound order)."""
        if self._sorted is None:
            self._sorted = sorted(self.layers.values(), key=lambda lay: lay.priority)
        return self._sorted

    def add_space(self, space_id: str, name: str = "") -> MapSpace:
        if space_id in self.spaces:
            raise AlreadyExists("space", space_id)
        space = MapSpace(space_id, name or space_id)
        self.spaces[space_id] = space
        self.bump()
        return space

    def add_mapping(self, space_id: str, mapping: Mapping) -> None:
        space = self.spaces.get(space_id)
        if space is None:
            raise NotFound("space", space_id)
        check_mapping(mapping)
        space.mappings[mapping.ca] = mapping
        self.bump()

    def add_mappings(self, space_id: str, mappings: list[Mapping] | SharedMappings) -> None:
        """Add many mappings at once (one generation bump); all or nothing.  Checked
        `SharedMappings` are added in one dict update."""
        space = self.spaces.get(space_id)
        if space is None:
            raise NotFound("space", space_id)
        if not isinstance(mappings, SharedMappings):
            mappings = SharedMappings(mappings)
        space.mappings.update(mappings.mappings)
        self.bump()

    def remove_mapping(self, space_id: str, ca: int) -> None:
        space = self.spaces.get(space_id)
        if space is None or ca not in space.mappings:
            raise NotFound("mapping", str(ca))
        del space.mappings[ca]
        self.bump()

    def add_nat_pool(self, pool_id: str, ranges: list[NatRange], name: str = "") -> NatPool:
        for r in ranges:
            if not 0 <= r.port_start <= r.port_end <= 65535:
                raise InvalidRule("NAT range", f"{r.port_start}-{r.port_end}")
        pool = NatPool(pool_id, name or pool_id, list(ranges))
        self.nat_pools[pool_id] = pool
        self.bump()
        return pool

    def set_tag(self, name: str, ips: frozenset[int]) -> None:
        self.tags[name] = ips
        self.bump()

    def set_state(self, *, enabled: bool | None = None, blocked: bool | None = None) -> None:
        if enabled is not None:
            self.enabled = enabled
        if blocked is not None:
            self.blocked = blocked
        self.bump()

    def fold_counters(self) -> None:
        """Bring rule, layer and port counters up to date with unified-flow hits."""
        for table in self.uft.values():
            for entry in table.values():
                entry.fold()

    def clear_flows(self) -> None:
        self.fold_counters()
        for table in self.uft.values():
            table.clear()
        for layer in self.layers.values():
            layer.flows.clear()


class Switch:
    """The VFP switch: ports by GUID, the clock and the VXLAN UDP port."""

    def __init__(
        self,
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        vxlan_port: int = VXLAN_PORT,
    ) -> None:
        self.name = name or "vSwitch"
        self.friendly_name = self.name
        self.clock = clock
        self.vxlan_port = vxlan_port
        self.ports: dict[str, Port] = {}

    def add_port(self, port_id: str, *, name: str = "", mac: int = 0, vm_name: str = "") -> Port:
        if port_id in self.ports:
            raise AlreadyExists("port", port_id)
        if not 0 <= mac < 1 << 48:
            raise InvalidRule("MAC", f"{mac} is not a 48-bit MAC")
        port = Port(self, port_id, name=name, mac=mac, vm_name=vm_name)
        self.ports[port_id] = port
        return port

    def set_vxlan_port(self, vxlan_port: int) -> None:
        """Change the switch's VXLAN UDP port (HNS's VxlanPort policy); every port's cached
        unified flows go stale, since the fast path keys VXLAN frames by this port."""
        if not 0 < vxlan_port <= 65535:
            raise InvalidRule("VXLAN port", f"{vxlan_port} is not within 1..65535")
        if vxlan_port == self.vxlan_port:
            return
        self.vxlan_port = vxlan_port
        for port in self.ports.values():
            port._vx = vxlan_port.to_bytes(2, "big")
            port.bump()

    def reset(self) -> None:
        """Forget every port (and with them all policy, flows and counters)."""
        self.ports.clear()

    def remove_port(self, port_id: str) -> None:
        _pop(self.ports, "port", port_id)

    def get_port(self, ref: str) -> Port:
        """A port by GUID (case-insensitive) or friendly name."""
        port = self.ports.get(ref)
        if port is not None:
            return port
        low = ref.lower()
        for p in self.ports.values():
            if p.id.lower() == low or p.name == ref:
                return p
        raise NotFound("port", ref)
