"""The bodies of the ``/vfp/`` routes (api/vfp_routes.py) as pydantic models, for the
OpenAPI document (api/openapi.py names and references them).

The handlers build their JSON by hand (api/vfp_routes.py ``*_json``, vfp.pipeline
``trace_json``); these models describe it.  Answers forbid extra fields, so the test that
validates every route's real answer against its model fails when a route grows a field the
document does not describe.  Names are the wire's (PascalCase; IP, MAC and VNI as written).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.emulator_bodies import Answer, Request

__all__ = [
    "MODELS",
    "HostCounters",
    "InjectAnswer",
    "InjectRequest",
    "ProcessTuplesRequest",
    "VfpCounters",
    "VfpErrorRecord",
    "VfpGroupList",
    "VfpLayerFlowList",
    "VfpLayerList",
    "VfpPortDetail",
    "VfpPortList",
    "VfpReceived",
    "VfpRuleTree",
    "VfpTrace",
    "VfpUnifiedFlowList",
    "VfpctrlAnswer",
    "VfpctrlRequest",
]

Direction = Literal["OUT", "IN"]


class VfpErrorRecord(Answer):
    """A refused /vfp call: the HNS error record plus the VFP reason."""

    success: Literal[False]
    error: str
    error_code: int
    detail: str | None = Field(None, description='the VFP reason ("port 1234 not found")')


# -- objects -------------------------------------------------------------------------------


class VfpPort(Answer):
    id: str
    friendly_name: str
    endpoint: str | None = Field(description="the HNS endpoint the port belongs to")
    mac_address: str
    vm_name: str
    enabled: bool
    blocked: bool
    generation: int = Field(description="bumped by every policy change on the port")
    layers: int


class DirectionCounters(Answer):
    packets: int
    bytes: int
    dropped_packets: int
    drop_reasons: dict[str, int] = Field(description="vfp.errors.DropReason text -> count")


class PortCounters(Answer):
    out: DirectionCounters = Field(alias="OUT")
    in_: DirectionCounters = Field(alias="IN")


class VfpCounters(PortCounters):
    """GET /vfp/ports/{port}/counters."""

    port: str


class VfpPortList(Answer):
    ports: list[VfpPort]


class VfpPortDetail(VfpPort):
    counters: PortCounters


class VfpLayer(Answer):
    id: str
    friendly_name: str
    priority: int
    flags: int
    flag_names: list[str]
    stateful: bool
    groups: int
    flows: int
    packets: int
    bytes: int


class VfpLayerList(Answer):
    port: str
    layers: list[VfpLayer]


class VfpGroup(Answer):
    id: str
    friendly_name: str
    priority: int
    direction: Direction
    type: Literal["IPv4", "IPv6"]
    conditions: dict[str, str]
    match_type: str
    rules: int


class VfpGroupList(Answer):
    port: str
    layer: str
    groups: list[VfpGroup]


class VfpRule(Answer):
    id: str
    friendly_name: str
    priority: int
    flags: int
    flag_names: list[str]
    type: str = Field(description="the action as vfpctrl prints it (allow, block, nat ...)")
    conditions: dict[str, str]
    data: list[str]
    flow_ttl: int = Field(alias="FlowTTL")
    packets: int
    bytes: int


class VfpGroupRules(VfpGroup):
    rules: list[VfpRule]  # type: ignore[assignment]


class VfpLayerRules(VfpLayer):
    groups: list[VfpGroupRules]  # type: ignore[assignment]


class VfpRuleTree(Answer):
    """GET /vfp/ports/{port}/rules: layers > groups > rules, with counters."""

    port: str
    layers: list[VfpLayerRules]


# -- packets, transpositions, flows ------------------------------------------------------


class OuterHeaders(Answer):
    source_mac: str
    destination_mac: str
    source_ip: str = Field(alias="SourceIP")
    destination_ip: str = Field(alias="DestinationIP")
    source_port: int
    destination_port: int
    vni: int = Field(alias="VNI")


class PacketView(Answer):
    """A packet as a layer saw it (vxlan.packet.Packet); IP fields only for IP packets."""

    source_mac: str
    destination_mac: str
    ether_type: int
    ip_version: int | None = Field(None, alias="IPVersion")
    protocol: int | None = None
    source_ip: str | None = Field(None, alias="SourceIP")
    destination_ip: str | None = Field(None, alias="DestinationIP")
    source_port: int | None = None
    destination_port: int | None = None
    tcp_flags: int | None = None
    outer: OuterHeaders | None = None


class Transposition(Answer):
    """Pop the outer headers, modify inner fields, push new outer headers."""

    pop_outer: bool
    modify: dict[str, int] = Field(description="src_mac, dst_mac, src_ip, dst_ip, sport, "
                                               "dport -> new value")
    push_outer: OuterHeaders | None


class VfpLayerFlow(Answer):
    direction: Direction
    protocol: int
    source_ip: str = Field(alias="SourceIP")
    source_port: int
    destination_ip: str = Field(alias="DestinationIP")
    destination_port: int
    rule: str
    initiator: bool
    transposition: Transposition
    tcp_state: str | None
    expires_in: float
    current: bool


class VfpLayerFlowList(Answer):
    port: str
    layer: str
    flows: list[VfpLayerFlow]


class VfpUnifiedFlow(Answer):
    direction: Direction
    flow: str = Field(description="proto src sport dst dport -> the same after the patches")
    allowed: bool
    drop_reason: str | None
    transposition: Transposition
    generation: int
    current: bool
    idle_timeout: float
    packets: int
    bytes: int


class VfpUnifiedFlowList(Answer):
    port: str
    unified_flows: list[VfpUnifiedFlow]


class VfpReceived(Answer):
    port: str
    frames_hex: list[str]


class HostCounters(Answer):
    """GET /vfp/host: the vSwitch's counters (only Ports when no host model is attached)."""

    drops: dict[str, int] | None = None
    sent_to_underlay: int | None = None
    arp_answers: dict[str, int] | None = None
    host_stack: dict[str, int] | None = None
    external: int | None = None
    pending: int | None = None
    ports: int


# -- traces, process-tuples, inject, vfpctrl -----------------------------------------------


class TraceRule(Answer):
    id: str
    friendly_name: str
    priority: int
    flags: int
    type: str


class TraceGroup(Answer):
    group: str
    group_name: str
    priority: int
    skipped: bool
    rule: TraceRule | None


class TraceLayer(Answer):
    layer: str
    layer_name: str
    priority: int
    decided_by: str = Field(description="flow, rule or default")
    rule: TraceRule | None
    groups: list[TraceGroup]
    allowed: bool
    drop_reason: str | None
    transposition: Transposition
    flow_created: bool
    packet: PacketView | None


class VfpTrace(Answer):
    """A frame's way through a port's layers (vfp.pipeline.trace_json)."""

    port: str
    direction: Direction
    input: PacketView | None
    unified_flow: str
    layers: list[TraceLayer]
    verdict: Literal["allow", "drop"]
    drop_reason: str | None
    final: PacketView | None
    output_hex: str | None
    cached: str | None
    cacheable: bool
    composed: Transposition | None


class ProcessTuplesRequest(Request):
    model_config = ConfigDict(json_schema_extra={
        "example": {"Tuples": "6 10.0.0.4 1234 8.8.8.8 443 out 1"}})
    tuples: str = Field(description="vfpctrl /process-tuples text: proto src sport dst dport "
                                    "direction [flags]")


class InjectRequest(Request):
    model_config = ConfigDict(json_schema_extra={"example": {
        "Frame": "00155d00000200155d0000010800450000280000400040067cc60a0000040a000005"
                 "04d2005000000001000000005010ffff26a20000",
        "Direction": "OUT", "Trace": False}})
    frame: str | None = Field(None, description="the frame as hex")
    frame_base64: str | None = Field(None, description="the frame as base64")
    direction: str = Field(description="OUT (from the container) or IN (from the wire); "
                                       "any case")
    trace: bool = False


class Delivery(Answer):
    where: str = Field(description="endpoint, underlay, external, arp or dropped")
    target: str
    reason: str
    frame_hex: str | None


class Hop(Answer):
    port: str | None
    endpoint: str | None
    direction: str | None
    verdict: Literal["allow", "drop"] | None = None
    drop_reason: str | None = None
    output_hex: str | None = None
    fast_path: bool | None = None
    trace: VfpTrace | None


class InjectAnswer(Answer):
    """The first port's verdict (and trace when asked), every hop, where it ended up."""

    port: str
    direction: Direction
    verdict: Literal["allow", "drop"]
    drop_reason: str | None
    output_hex: str | None
    fast_path: bool
    trace: VfpTrace | None
    hops: list[Hop] | None = None
    delivery: Delivery | None = None


class VfpctrlRequest(Request):
    model_config = ConfigDict(json_schema_extra={"example": {"Args": ["/list-vmswitch-port"]}})
    args: list[str]


class VfpctrlAnswer(Answer):
    exit_code: int
    output: str = Field(description="what vfpctrl.exe prints (CRLF line ends)")


MODELS: tuple[type[BaseModel], ...] = (
    HostCounters, InjectAnswer, InjectRequest, ProcessTuplesRequest, VfpCounters,
    VfpErrorRecord, VfpGroupList, VfpLayerFlowList, VfpLayerList, VfpPortDetail, VfpPortList,
    VfpReceived, VfpRuleTree, VfpTrace, VfpUnifiedFlowList, VfpctrlAnswer, VfpctrlRequest,
)
