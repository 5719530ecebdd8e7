"""The OpenAPI document's HNS schemas: named components for every object, policy settings
type and V1 shape (from hns/schema), the request and response bodies of every V1, V2 and
call-mirror route pointing at them, the error bodies, and examples from real captures.

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

from hns import schema
from hns.capture import extract_json
from hns.schema import policy as policy_schema
from hns.schema import v1 as v1_schema

__all__ = ["component_schemas", "install"]

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
            if isinstance(value, type) and issubclass(value, BaseModel) \
                    and value is not schema.HnsModel:
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
    if action == "create":
        _set_request(op, model, example)
        _set_response(op, "201", model, example)
    elif action == "query":
        _set_response(op, "200", model, example)
    elif action == "modify":
        _set_request(op, _ref("ModifySettingRequest"))
    _set_errors(op, _ref("HnsErrorRecord"), ex["error"])


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


def describe(doc: Json) -> Json:
    """``doc`` (FastAPI's document) with the HNS schemas and body references added."""
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components.update(component_schemas())
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
    return doc


def install(app: FastAPI) -> None:
    """Serve ``describe``'s document at /openapi.json (built once, on first request)."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
