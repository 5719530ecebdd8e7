"""The OpenAPI document's HNS schemas: named components for every object, policy settings
type and V1 shape (from hns/schema), the request and response bodies of every V1, V2 and
call-mirror route pointing at them, the error bodies, and examples from real captures; and
the bodies of the emulator's own routes (/_emulator, /vfp, /_bridge: api/emulator_bodies.py
and api/vfp_bodies.py), each a named component too.

It post-processes what FastAPI generates (``install(app)`` wraps ``app.openapi``): the
handlers still take the raw request text to the backend, so what the emulator accepts or
refuses is unchanged; only the document says more.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import emulator_bodies as eb
from api import hcn_bodies as hb
from api import vfp_bodies as vb
from api.ui import bodies as ub
from api.wire import DEFAULT_QUERY
from hns import schema
from hns.capture import extract_json
from hns.schema import policy as policy_schema
from hns.schema import v1 as v1_schema

__all__ = ["component_schemas", "install", "own_models", "own_route_models"]

Json = dict[str, Any]
REF: Final = "#/components/schemas/{model}"
_FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "hns"

# V2 kind (the /hcn/<kind> route segment, api/wire.py KINDS) -> its object model.
_V2: Final[dict[str, type[BaseModel]]] = {
    "networks": schema.HostComputeNetwork,
    "endpoints": schema.HostComputeEndpoint,
    "loadbalancers": schema.HostComputeLoadBalancer,
    "namespaces": schema.HostComputeNamespace,
    "sdnroutes": schema.HostComputeRoute,
}
# V1 collection -> (request/answer object model).
_V1: Final[dict[str, type[BaseModel]]] = {
    "networks": schema.V1Network,
    "endpoints": schema.V1Endpoint,
    "policylists": schema.V1PolicyList,
    "namespaces": schema.V1Namespace,
}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (schema, policy_schema, v1_schema):
        for name in dir(module):
            value = getattr(module, name)
            # The bases are no wire shape of their own.
            if isinstance(value, type) and issubclass(value, BaseModel) \
                    and value not in (schema.HnsModel, policy_schema.PolicyModel,
                                      policy_schema.PolicySettings):
                found[value.__name__] = value
    return [found[name] for name in sorted(found)]


def component_schemas() -> dict[str, Json]:
    """Every hns/schema model as a named OpenAPI component, plus the policy unions, the
    call mirrors' bodies and the V2 modify request."""
    _, top = models_json_schema([(m, "validation") for m in _models()], ref_template=REF)
    out: dict[str, Json] = dict(top.get("$defs", {}))
    for name, union in (("NetworkPolicy", schema.NetworkPolicy),
                        ("SubnetPolicy", schema.SubnetPolicy),
                        ("EndpointPolicy", schema.EndpointPolicy)):
        from pydantic import TypeAdapter

        adapter: TypeAdapter[Any] = TypeAdapter(union)
        doc = adapter.json_schema(ref_template=REF)
        doc.pop("$defs", None)
        out[name] = doc
    out.update(_MIRRORS)
    return out


_MIRRORS: Final[dict[str, Json]] = {
    "ModifySettingRequest": {
        "title": "ModifySettingRequest",
        "description": "The body of a V2 modify (hcsshim Modify*SettingRequest): what to "
                       "change (ResourceType: Policy, DNS, Extension, Port, Endpoint, "
                       "Container), how (RequestType: Add, Remove, Update, Refresh) and the "
                       "settings (an object, or its JSON text).",
        "type": "object",
        "properties": {
            "ResourceType": {"type": "string"},
            "RequestType": {"type": "string"},
            "Settings": {},
        },
        "additionalProperties": True,
    },
    "HnsCallRequest": {
        "title": "HnsCallRequest",
        "description": "One vmcompute.dll!HNSCall: method, V1 path and request (a V1 "
                       "object or its JSON text).",
        "type": "object",
        "required": ["Method", "Path"],
        "properties": {
            "Method": {"type": "string", "enum": ["GET", "POST", "DELETE"]},
            "Path": {"type": "string", "examples": ["/networks/"]},
            "Request": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "null"}]},
        },
    },
    "HcnCallRequest": {
        "title": "HcnCallRequest",
        "description": "One computenetwork.dll!Hcn* call: the export's name, the object id "
                       "and its settings or query (a V2 object or its JSON text).",
        "type": "object",
        "required": ["Function"],
        "properties": {
            "Function": {"type": "string", "examples": ["HcnCreateNetwork"]},
            "Id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "Settings": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "null"}]},
            "Query": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "null"}]},
        },
    },
    "HcnCallAnswer": {
        "title": "HcnCallAnswer",
        "description": "What the Hcn* export returns: HRESULT, the result record (JSON "
                       "text of an HnsErrorRecord on failure) and the properties (JSON text "
                       "of the object).",
        "type": "object",
        "required": ["HResult", "Result", "Properties"],
        "properties": {
            "HResult": {"type": "integer"},
            "Result": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "Properties": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    },
}


def _ref(name: str) -> Json:
    return {"$ref": REF.format(model=name)}


def _envelope(output: Json | None) -> Json:
    """The V1 envelope with ``Output`` of the given schema."""
    if output is None:
        return _ref("V1Envelope")
    return {"allOf": [_ref("V1Envelope"), {"type": "object", "properties": {"Output": output}}]}


def _capture(name: str) -> Any:
    """A real capture's JSON (fixtures/hns), or None where the tree has no fixtures (an
    installed wheel): the document then goes without that example."""
    try:
        return extract_json((_FIXTURES / name).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None


def _examples() -> dict[str, Any]:
    lb = _capture("calico-7305-kubeproxy-v2-loadbalancer-created.txt")
    net = _capture("v1-post-networks-nat-response.json")
    ep = _capture("v1-remote-endpoint-overlay-pa.json")
    err_text = _read("sigwin-71-hcn-error-invalid-address.txt")
    err = None
    if err_text is not None:
        err = json.loads(err_text[err_text.index('{"Success"'):].strip())
    return {"loadbalancer": lb, "v1_network_answer": net, "v1_endpoint": ep, "error": err}


def _read(name: str) -> str | None:
    try:
        return (_FIXTURES / name).read_text(encoding="utf-8-sig")
    except OSError:
        return None


def _content(body_schema: Json, example: Any = None) -> Json:
    media: Json = {"schema": body_schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _set_request(op: Json, body_schema: Json, example: Any = None) -> None:
    body = op.setdefault("requestBody", {"required": True})
    body["content"] = _content(body_schema, example)


def _set_response(op: Json, status: str, body_schema: Json, example: Any = None) -> None:
    entry = op.setdefault("responses", {}).setdefault(status, {"description": "Success"})
    entry["content"] = _content(body_schema, example)


def _set_errors(op: Json, error_schema: Json, example: Any = None) -> None:
    """Every error status answers ``error_schema``; the real example (an invalid address,
    0x803B002F) goes on 400, the status that error maps to."""
    for status, entry in op.get("responses", {}).items():
        if status.startswith(("4", "5")):
            entry["content"] = _content(error_schema, example if status == "400" else None)


def _v2_operation(op_id: str, op: Json, ex: dict[str, Any]) -> None:
    action, kind = op_id.removeprefix("hcn_").split("_", 1)
    model = _ref(_V2[kind].__name__)
    example = ex["loadbalancer"] if kind == "loadbalancers" else None
    if action in ("enumerate", "query"):
        _query_parameter(op)
    if action == "enumerate":
        _set_response(op, "200", _ref(hb.HcnIdList.__name__))
    elif action == "create":
        _set_request(op, model, example)
        _set_response(op, "201", model, example)
    elif action == "query":
        _set_response(op, "200", model, example)
    elif action == "modify":
        _set_request(op, _ref("ModifySettingRequest"))
    _set_errors(op, _ref("HnsErrorRecord"), ex["error"])


def _query_parameter(op: Json) -> None:
    """``?query=``: a string holding a HostComputeQuery's JSON (JSON Schema's
    contentMediaType/contentSchema, so generators still pass a string)."""
    for param in op.get("parameters", []):
        if param.get("name") == "query" and param.get("in") == "query":
            param["schema"] = {"type": "string", "contentMediaType": "application/json",
                               "contentSchema": _ref(hb.HostComputeQuery.__name__)}
            param["example"] = DEFAULT_QUERY


def _v1_operation(op_id: str, method: str, path: str, op: Json, ex: dict[str, Any]) -> None:
    parts = path.strip("/").split("/")
    collection, tail = parts[0], parts[2:] if len(parts) > 2 else []
    model = _V1.get(collection)
    if collection == "endpointstats":
        output: Json | None = {"type": "object", "additionalProperties": True}
    elif model is None or tail:
        output = None
    elif len(parts) == 1 and method == "get":
        output = {"type": "array", "items": _ref(model.__name__)}
    elif method == "delete":
        output = None
    else:
        output = _ref(model.__name__)
    example = None
    if collection == "networks" and method == "post" and len(parts) == 1:
        example = ex["v1_network_answer"]
    if collection == "endpoints" and method == "get" and len(parts) == 2 \
            and ex["v1_endpoint"] is not None:
        example = {"Success": True, "Error": "", "Output": ex["v1_endpoint"]}
    _set_response(op, "200", _envelope(output), example)
    if "requestBody" in op:
        if tail and collection == "endpoints":
            request: Json = _ref("V1EndpointAttachDetachRequest")
        elif tail and collection == "namespaces":
            request = _ref("V1NamespaceResource")  # addresource/removeresource
        elif tail:
            request = {"type": "object", "additionalProperties": True}
        elif model is not None:
            request = _ref(model.__name__)
        else:
            request = {"type": "object"}
        _set_request(op, request)
    _set_errors(op, _ref("V1Envelope"))


# -- the emulator's own routes -------------------------------------------------------------

#: (method, path) -> (request body model, success status, answer model); None: no body.
_OWN: Final[dict[tuple[str, str], tuple[type[BaseModel] | None, str, type[BaseModel] | None]]] = {
    ("get", "/_emulator/health"): (None, "200", eb.EmulatorHealth),
    ("post", "/_emulator/reset"): (None, "204", None),
    ("get", "/_emulator/state"): (None, "200", eb.StateDump),
    ("put", "/_emulator/state"): (eb.StateDump, "204", None),
    ("post", "/_emulator/import"): (eb.CaptureText, "200", eb.ImportAnswer),
    ("get", "/_emulator/profile"): (None, "200", eb.ProfileAnswer),
    ("put", "/_emulator/profile"): (eb.ProfileRequest, "200", eb.ProfileAnswer),
    ("post", "/_emulator/reboot"): (None, "204", None),
    ("post", "/_emulator/faults"): (eb.FaultRule, "201", eb.Fault),
    ("get", "/_emulator/faults"): (None, "200", eb.FaultList),
    ("delete", "/_emulator/faults"): (None, "204", None),
    ("delete", "/_emulator/faults/{id}"): (None, "204", None),
    ("get", "/_emulator/service"): (None, "200", eb.ServiceState),
    ("post", "/_emulator/service"): (eb.ServiceAction, "200", eb.ServiceState),
    ("get", "/_emulator/calls"): (None, "200", eb.Recording),
    ("delete", "/_emulator/calls"): (None, "204", None),
    ("post", "/_emulator/replay"): (eb.Recording, "200", eb.ReplayReport),
    ("get", "/_emulator/computesystems"): (None, "200", eb.ComputeSystem),  # a list of them
    ("post", "/_emulator/computesystems"): (eb.ComputeSystemCreate, "201", eb.ComputeSystem),
    ("get", "/_emulator/computesystems/{id}"): (None, "200", eb.ComputeSystem),
    ("delete", "/_emulator/computesystems/{id}"): (None, "204", None),
    ("post", "/_emulator/computesystems/{id}/modify"): (eb.ComputeSystemModify, "204", None),
    ("get", "/vfp/ports"): (None, "200", vb.VfpPortList),
    ("get", "/vfp/ports/{port}"): (None, "200", vb.VfpPortDetail),
    ("get", "/vfp/ports/{port}/layers"): (None, "200", vb.VfpLayerList),
    ("get", "/vfp/ports/{port}/layers/{layer}/groups"): (None, "200", vb.VfpGroupList),
    ("get", "/vfp/ports/{port}/layers/{layer}/flows"): (None, "200", vb.VfpLayerFlowList),
    ("get", "/vfp/ports/{port}/rules"): (None, "200", vb.VfpRuleTree),
    ("get", "/vfp/ports/{port}/counters"): (None, "200", vb.VfpCounters),
    ("get", "/vfp/ports/{port}/flows"): (None, "200", vb.VfpUnifiedFlowList),
    ("get", "/vfp/ports/{port}/received"): (None, "200", vb.VfpReceived),
    ("get", "/vfp/host"): (None, "200", vb.HostCounters),
    ("post", "/vfp/ports/{port}/process-tuples"): (vb.ProcessTuplesRequest, "200", vb.VfpTrace),
    ("post", "/vfp/ports/{port}/inject"): (vb.InjectRequest, "200", vb.InjectAnswer),
    ("post", "/vfp/vfpctrl"): (vb.VfpctrlRequest, "200", vb.VfpctrlAnswer),
    ("post", "/_bridge/{export}"): (eb.BridgeInput, "200", eb.BridgeOutput),
}
_TEXT: Final = frozenset({eb.CaptureText, eb.BridgeInput, eb.BridgeOutput})
_LISTS: Final = frozenset({("get", "/_emulator/computesystems")})
_BRIDGE_HEADERS: Final = (
    ("X-Bridge-Id", "the object id the export was given, or the one its handle holds"),
    ("X-Bridge-Parent-Id", "the network of HcnCreateEndpoint"),
    ("X-Bridge-Method", "HNSCall: the V1 method"),
    ("X-Bridge-Path", "HNSCall: the V1 path"),
    ("X-Bridge-Null", "1: the input string pointer was NULL"),
)


def own_models() -> tuple[type[BaseModel], ...]:
    """The models of the emulator's own bodies, each a named component."""
    return eb.MODELS + vb.MODELS


def own_route_models() -> dict[tuple[str, str], tuple[type[BaseModel] | None, str,
                                                       type[BaseModel] | None]]:
    """(method, path) -> (request model, success status, answer model) of every
    /_emulator, /vfp and /_bridge operation."""
    return dict(_OWN)


def _own_components() -> dict[str, Json]:
    models = own_models() + hb.MODELS + ub.MODELS
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return dict(top.get("$defs", {}))


def _media(model: type[BaseModel]) -> str:
    return "text/plain" if model in _TEXT else "application/json"


def _example(model: type[BaseModel]) -> Any:
    extra = model.model_config.get("json_schema_extra")
    return extra.get("example") if isinstance(extra, dict) else None


def _own_operation(method: str, path: str, op: Json) -> None:
    request, ok, answer = _OWN[(method, path)]
    if request is not None:
        body = op.setdefault("requestBody", {"required": True})
        body["content"] = {_media(request): {"schema": _ref(request.__name__)}}
        if _example(request) is not None:
            body["content"][_media(request)]["example"] = _example(request)
    if answer is not None:
        schema_of: Json = _ref(answer.__name__)
        if (method, path) in _LISTS:
            schema_of = {"type": "array", "items": schema_of}
        entry = op.setdefault("responses", {}).setdefault(ok, {"description": "Success"})
        entry["content"] = {_media(answer): {"schema": schema_of}}
    if path.startswith("/_bridge/"):
        op.setdefault("parameters", []).extend(
            {"name": name, "in": "header", "required": False, "description": text,
             "schema": {"type": "string"}} for name, text in _BRIDGE_HEADERS)
        op["responses"][ok]["headers"] = {
            "X-Bridge-HResult": {"description": "the export's HRESULT (0x%08X)",
                                 "schema": {"type": "string"}},
            "X-Bridge-Id": {"description": "the canonical id (Create/Open)",
                            "schema": {"type": "string"}},
            "X-Bridge-Out": {"description": "none: the out string is NULL",
                             "schema": {"type": "string"}},
        }
        op["responses"].setdefault("413", {"description": "Request too large"})
        _set_errors(op, _ref("V1Envelope"))
    elif path.startswith("/vfp/"):
        _set_errors(op, _ref(vb.VfpErrorRecord.__name__))
    else:
        _set_errors(op, _ref("HnsErrorRecord"))


def describe(doc: Json) -> Json:
    """``doc`` (FastAPI's document) with the HNS schemas and body references added."""
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components.update(component_schemas())
    components.update(_own_components())
    ex = _examples()
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            op_id = str(op.get("operationId", ""))
            if op_id.startswith("hcn_") and op_id.split("_", 2)[-1] in _V2:
                _v2_operation(op_id, op, ex)
            elif op_id.startswith("v1_"):
                _v1_operation(op_id, method, path, op, ex)
            elif op_id == "hnscall":
                _set_request(op, _ref("HnsCallRequest"))
                _set_response(op, "200", _envelope(None))
                _set_errors(op, _ref("V1Envelope"))
            elif op_id == "hcncall":
                _set_request(op, _ref("HcnCallRequest"))
                _set_response(op, "200", _ref("HcnCallAnswer"))
                _set_errors(op, _ref("HnsErrorRecord"), ex["error"])
            elif (method, path) in _OWN:
                _own_operation(method, path, op)
            elif op_id == "ui_overview":
                _set_response(op, "200", _ref(ub.UiOverview.__name__))
    return doc


def install(app: FastAPI) -> None:
    """Serve ``describe``'s document at /openapi.json (built once, on first request)."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
