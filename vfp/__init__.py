"""The Virtual Filtering Platform: switch, ports, layers, groups, rules, actions, flow tables
and the packet pipeline. Knows nothing of HNS; only `vxlan` sits below it.

Modules: `model` (objects), `tables` (a port's mapping spaces and NAT pools), `conditions`,
`actions` (header transpositions), `classifier` (per-group rule lookup), `flows` (layer
flows, unified flow table), `pipeline` (fast/slow path, trace), `ctl` (vfpctrl text
renderers and command parser), `errors`. Frames are parsed, built and serialized by vxlan's
codec (`vxlan.packet`).
"""

from vfp.actions import (
    Allow,
    Block,
    Decap,
    DynNat,
    LbNat,
    MacRewrite,
    MapEncap,
    Nat,
    RouteEncap,
    Transposition,
)
from vfp.conditions import Conditions, conditions
from vfp.errors import AlreadyExists, DropReason, InvalidRule, NotFound, VfpError
from vfp.model import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    TRACK_TCP,
    Group,
    Layer,
    Port,
    Rule,
    Switch,
)
from vfp.pipeline import Result, Trace, process, trace, trace_json, trace_text
from vfp.tables import Mapping, NatRange

__all__ = [
    "DEFAULT_ALLOW",
    "IN",
    "OUT",
    "STATEFUL",
    "TERMINATING",
    "TRACK_TCP",
    "Allow",
    "AlreadyExists",
    "Block",
    "Conditions",
    "Decap",
    "DropReason",
    "DynNat",
    "Group",
    "InvalidRule",
    "Layer",
    "LbNat",
    "MacRewrite",
    "MapEncap",
    "Mapping",
    "Nat",
    "NatRange",
    "NotFound",
    "Port",
    "Result",
    "RouteEncap",
    "Rule",
    "Switch",
    "Trace",
    "Transposition",
    "VfpError",
    "conditions",
    "process",
    "trace",
    "trace_json",
    "trace_text",
]
