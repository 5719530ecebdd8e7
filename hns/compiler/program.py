"""Programming one local endpoint's VFP port from the items the compiler computed.

What this module owns: the state of a compiled port (`PortState`: its endpoint, what each
source contributed, its SNAT port block), the layers and groups a new port gets
(`add_layers`, from the table in hns/compiler/layers.py), whether vfp will take an item
(`refusal`), and applying a diff of items to the port (`apply_items`), with each layer's
default-deny derived from the DefaultDeny items present (`set_default`).  The `Compiler`
(hns/compiler/compiler.py) decides which items change; this module only writes them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hns.compiler import layers as L
from hns.compiler import rules as R
from hns.compiler.owners import OwnerIndex
from hns.compiler.rules import Item, ItemKey, Source
from hns.model.read import Endpoint
from vfp import DEFAULT_ALLOW, Group, Layer, Mapping, NatRange, Port, Rule
from vfp.errors import InvalidRule, VfpError

__all__ = ["PortState", "add_layers", "apply_items", "refusal", "set_default"]


class PortState:
    """One compiled port: its endpoint, what each source contributed, its SNAT block."""

    __slots__ = ("contrib", "ep", "held", "key", "port", "signature", "snat_block")

    def __init__(self, key: str, ep: Endpoint, port: Port, signature: tuple[Any, ...],
                 snat_block: int) -> None:
        self.key = key
        self.ep = ep
        self.port = port
        self.signature = signature
        self.snat_block = snat_block
        self.contrib: dict[Source, dict[ItemKey, Item]] = {}
        #: (a template's contributions, the port's own sources) when the port holds every
        #: one of those contributions but its own, the very objects (hns/compiler/fresh.py):
        #: a full sync then skips them without looking at each; None when unknown
        self.held: tuple[dict[Source, dict[ItemKey, Item]], frozenset[Source]] | None = None


def add_layers(port: Port, overlay: bool) -> None:
    """The layers and groups of hns/compiler/layers.py (VNET ones on overlay ports only)."""
    for ldef in L.LAYERS:
        if ldef.overlay_only and not overlay:
            continue
        layer = port.add_layer(Layer(ldef.id, ldef.priority, stateful=ldef.stateful,
                                     flags=ldef.flags))
        for gdef in ldef.groups:
            layer.add_group(Group(gdef.id, gdef.priority, gdef.direction,
                                  version=gdef.version))
    if overlay:
        port.add_space(L.VNET_SPACE)


def refusal(item: Item) -> str | None:
    """Why vfp would refuse the item, or None when it takes it."""
    try:
        if isinstance(item, R.RuleSpec):
            ldef = L.LAYER_BY_ID[item.layer]
            group = next(g for g in ldef.groups if g.id == item.group)
            item.rule.validate(group.version)
        elif isinstance(item, R.PoolSpec):
            for _, lo, hi in item.ranges:
                if not 0 <= lo <= hi <= 65535:
                    raise InvalidRule("NAT range", f"{lo}-{hi}")
        elif isinstance(item, R.MappingSpec) and not (
                0 <= item.vni < 1 << 24 and 0 <= item.mac < 1 << 48):
            raise InvalidRule("mapping", f"VNI {item.vni} / MAC {item.mac}")
    except (VfpError, StopIteration, KeyError) as exc:
        return str(exc)
    return None


def apply_items(st: PortState, removed: list[Item], added: list[Item],
                owners: OwnerIndex) -> None:
    """Take `removed` off the port and put `added` on it (keeping `owners` in step)."""
    port = st.port
    deny_changed = False
    for item in removed:
        owners.unindex(st.key, item)
        if isinstance(item, R.RuleSpec):
            port.get_layer(item.layer).get_group(item.group).remove_rule(item.id)
        elif isinstance(item, R.MappingSpec):
            space = port.spaces.get(L.VNET_SPACE)
            if space is not None and item.ca in space.mappings:
                port.remove_mapping(L.VNET_SPACE, item.ca)
        elif isinstance(item, R.PoolSpec):
            port.nat_pools.pop(item.id, None)
            port.bump()
        else:
            deny_changed = True
    batches: dict[tuple[str, str], list[Rule]] = defaultdict(list)
    mappings: list[Mapping] = []
    # One pass per item of every new port at a full sync (millions at kube-proxy
    # scale): exact type tests first, and the one shared rule or mapping per spec.
    for item in added:
        kind = type(item)
        if kind is R.RuleSpec:
            assert isinstance(item, R.RuleSpec)
            if item.publish:
                owners.index(st.key, item)
            batches[(item.layer, item.group)].append(item.rule)
        elif kind is R.MappingSpec:
            assert isinstance(item, R.MappingSpec)
            mappings.append(item.mapping)
        elif isinstance(item, R.PoolSpec):
            owners.index(st.key, item)
            port.add_nat_pool(item.id, [NatRange(ip, lo, hi) for ip, lo, hi in item.ranges])
        else:
            deny_changed = True
    if mappings:
        port.add_mappings(L.VNET_SPACE, mappings)
    for (layer_id, group_id), rules in batches.items():
        port.get_layer(layer_id).get_group(group_id).add_rules(rules)
    if deny_changed:
        set_default(st)


def set_default(st: PortState) -> None:
    """Layer defaults: deny while any source contributes a DefaultDeny for it."""
    deny = {item.layer for items in st.contrib.values() for item in items.values()
            if isinstance(item, R.DefaultDeny)}
    for layer in st.port.layers.values():
        wanted = L.LAYER_BY_ID[layer.id].flags if layer.id in L.LAYER_BY_ID else layer.flags
        if layer.id in deny:
            wanted &= ~DEFAULT_ALLOW
        if layer.flags != wanted:
            layer.flags = wanted
            st.port.bump()
