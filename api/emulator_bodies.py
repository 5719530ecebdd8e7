"""The bodies of the emulator's own routes (``/_emulator/...`` and ``/_bridge/{export}``) as
pydantic models, for the OpenAPI document (api/openapi.py names and references them).

The handlers still read and write plain JSON (what they accept and refuse is decided
there, with HNS errors); these models describe it.  Answers forbid extra fields, so a test
that validates every route's real answer against its model fails when a route grows a
field the document does not describe.  Field names are the ones on the wire (PascalCase).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.alias_generators import to_pascal

__all__ = [
    "MODELS",
    "Answer",
    "BridgeInput",
    "BridgeOutput",
    "CallRecord",
    "CaptureText",
    "ComputeSystem",
    "ComputeSystemCreate",
    "ComputeSystemModify",
    "EmulatorHealth",
    "Fault",
    "FaultList",
    "FaultRule",
    "ImportAnswer",
    "ProfileAnswer",
    "ProfileRequest",
    "Recording",
    "ReplayReport",
    "Request",
    "ServiceAction",
    "ServiceState",
    "StateDump",
]


class Request(BaseModel):
    """Base of a request body: PascalCase names; unknown fields are ignored."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True)


class Answer(BaseModel):
    """Base of an answer body: PascalCase names; exactly these fields."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True,
                              extra="forbid")


# -- service, profile, state -------------------------------------------------------------


class SchemaVersionAnswer(Answer):
    major: int
    minor: int


class EmulatorHealth(Answer):
    """GET /_emulator/health: answered inline, whatever else the service is doing."""

    status: Literal["ok"]
    profile: str
    version: SchemaVersionAnswer


class ProfileAnswer(Answer):
    """The Windows build the emulator behaves as, its HNS version and the known ones."""

    profile: str
    version: SchemaVersionAnswer
    profiles: list[str]


class ProfileRequest(Request):
    """PUT /_emulator/profile: switch to another profile (hns/profiles.py names)."""

    model_config = ConfigDict(json_schema_extra={"example": {"Profile": "ws2022"}})
    profile: str


class StateDump(Answer):
    """The whole store: every object of every kind, as HNS returns it."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "GET /_emulator/state answers it; PUT /_emulator/state takes it (or "
                       "a real host's capture, imported after emptying the store)."})
    format: Literal["hns-emulator-state"]
    format_version: Literal[1]
    profile: str
    objects: dict[str, list[dict[str, Any]]] = Field(
        description="kind (networks, endpoints, loadbalancers, namespaces, sdnroutes, "
                    "policylists, ...) -> its objects")


class CaptureText(RootModel[str]):
    """POST /_emulator/import: text captured on a real host (Get-HnsNetwork | ConvertTo-Json,
    hnsdiag output, a V1 or V2 answer); every JSON object found in it is imported."""


class ImportAnswer(Answer):
    """The ids of the objects an import created."""

    ids: list[str] = Field(alias="IDs")


class ServiceState(Answer):
    """The emulated HNS service: running or down (and for how long, with which HRESULT)."""

    running: bool
    down_seconds_left: float | None
    h_result: int | None = Field(alias="HResult")
    restarts: int
    waiting: int = Field(description="calls held by a Hang fault right now")


class ServiceAction(Request):
    """POST /_emulator/service: stop, start or restart the service (down for DownSeconds,
    calls failing with HResult meanwhile)."""

    model_config = ConfigDict(json_schema_extra={
        "example": {"Action": "restart", "DownSeconds": 2.5}})
    action: Literal["restart", "stop", "start"]
    down_seconds: float | None = None
    h_result: int | str | None = Field(
        None, alias="HResult", description="a number or an HRESULT name (HCN_E_ADAPTER_NOT_FOUND)")


# -- faults ------------------------------------------------------------------------------


class FaultRule(Request):
    """POST /_emulator/faults: fail, delay, hang or half-apply the calls a target names
    (docs/faults.md): a call name ("HcnCreateEndpoint", "POST /endpoints/"), a glob, or
    "*"."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "Target": "HcnCreateEndpoint", "Mode": "Fail", "HResult": "HCN_E_ADAPTER_NOT_FOUND",
        "Times": 1}})
    target: str
    mode: str = Field("Fail", description="Fail, Latency, Hang, Partial, Down ...")
    h_result: int | str | None = Field(None, alias="HResult")
    times: int | str | None = None
    probability: float | None = None
    seconds: float | None = None
    fields: list[str] | None = None
    seed: int | str | None = None


class Fault(Answer):
    """A fault rule as the emulator keeps it, with its id and how often it fired."""

    id: int
    target: str
    mode: str
    h_result: int | None = Field(alias="HResult")
    times: int | None
    probability: float
    seconds: float
    fields: list[str]
    hits: int


class FaultList(Answer):
    faults: list[Fault]


# -- call log and replay -----------------------------------------------------------------


class CallRecord(Answer):
    """One logged call: V1 (Method, Path), V2 (Function, Id) or a service Operation."""

    seq: int
    time: str
    api: str
    method: str | None = None
    path: str | None = None
    function: str | None = None
    id: str | None = None
    operation: str | None = None
    request: Any = None
    result: Any = None
    h_result: int | None = Field(None, alias="HResult")
    error: str | None = None
    detail: str | None = None
    faults: list[dict[str, Any]] = Field(description="the fault rules that fired on it")
    service_down: bool
    duration_ms: float


class Recording(Answer):
    """GET /_emulator/calls answers it; POST /_emulator/replay takes it (docs/faults.md,
    "Recording format")."""

    model_config = ConfigDict(extra="allow")
    format: Literal["hns-emulator-calls"]
    format_version: int = 1
    profile: str | None = None
    host_ip: str | None = None
    truncated: bool = False
    last_seq: int = 0
    initial_state: dict[str, Any] | None = None
    calls: list[CallRecord]
    state: dict[str, Any] | None = None


class ReplayReport(Answer):
    """What a replay found: answers and final state compared with the recording's."""

    ok: bool
    calls: int
    replayed: int
    skipped: int
    mismatch_count: int
    mismatches: list[dict[str, Any]]
    state_compared: bool
    state_matches: bool
    state_mismatch_count: int
    state_mismatches: list[dict[str, Any]]
    renamed: dict[str, str]


# -- compute systems (api/hcs.py) ----------------------------------------------------------


class ComputeSystemCreate(Request):
    """POST /_emulator/computesystems: the system's Id, a schema1 container configuration
    (Name, SystemType, Owner ...) and Start (default true)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "Id": "pod1", "Name": "pod1", "SystemType": "Container", "Owner": "containerd-shim"}})
    id: str
    start: bool = True


class ComputeSystemModify(Request):
    """POST /_emulator/computesystems/{id}/modify: add or remove a network adapter, as
    schema1 (ResourceType Network, Settings the endpoint id) or V2 (ResourcePath
    VirtualMachine/Devices/NetworkAdapters/..., Settings.EndpointId)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "ResourceType": "Network", "RequestType": "Add",
        "Settings": "9d6e6ad4-5f3a-4c49-9c5e-1b0d6a2a3f11"}})
    request_type: Literal["Add", "Remove"] = "Add"
    resource_type: str | None = None
    resource_path: str | None = None
    settings: str | dict[str, Any] | None = None


class ComputeSystem(Answer):
    """The schema1 ContainerProperties hcsshim decodes."""

    id: str
    state: str
    name: str
    system_type: str
    runtime_os_type: str
    owner: str
    runtime_id: str


# -- /_bridge/{export} ---------------------------------------------------------------------


class BridgeInput(RootModel[str]):
    """The export's one input string (settings, query, HNSCall request, configuration) as
    UTF-8 text; X-Bridge-Null: 1 says the pointer was NULL."""


class BridgeOutput(RootModel[str]):
    """The export's out string (properties, id list, V1 envelope, HCS result, or the error
    record); empty with X-Bridge-Out: none when the export returns NULL."""


MODELS: tuple[type[BaseModel], ...] = (
    BridgeInput, BridgeOutput, CallRecord, CaptureText, ComputeSystem, ComputeSystemCreate,
    ComputeSystemModify, EmulatorHealth, Fault, FaultList, FaultRule, ImportAnswer,
    ProfileAnswer, ProfileRequest, Recording, ReplayReport, ServiceAction, ServiceState,
    StateDump,
)
