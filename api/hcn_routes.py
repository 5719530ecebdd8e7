"""V2 over HTTP: ``/hcn/<kind>`` -> ``hcn_call`` (success is the bare properties object
or id list, failure the HCN result JSON ``"Error":"<message> "``, ``"ErrorCode"``); and
the ``POST /hcn/call`` call mirror."""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from api.detail import refused
from api.routing import (
    Call,
    HnsBackend,
    as_json_text,
    body_text,
    caller_id,
    json_body,
    json_object,
    read_request_body,
    responses,
)
from api.wire import (
    DEFAULT_QUERY,
    KINDS,
    hcn_function,
    unsigned,
    v2_error,
)
from hns.errors import HnsError, InvalidArg, InvalidJson


def add_v2_routes(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
    for kind in KINDS:
        _add_v2_kind(app, service, call, max_body, kind)


def _add_v2_kind(app: FastAPI, service: HnsBackend, call: Call, max_body: int, kind: str) -> None:
    tags: list[str | Any] = [f"V2 {kind}"]
    query_doc = "HostComputeQuery JSON, e.g. " + DEFAULT_QUERY

    async def enumerate_(
        request: Request, query: str | None = Query(None, description=query_doc)
    ) -> Response:
        ids = await call(
            service.hcn_call, hcn_function("Enumerate", kind), None, query or DEFAULT_QUERY
        )
        return JSONResponse(ids)

    async def create(request: Request) -> Response:
        text = body_text(await read_request_body(request, max_body))
        if text is None:
            raise InvalidJson()
        created = await call(service.hcn_call, hcn_function("Create", kind), caller_id(text), text)
        return JSONResponse(created, status_code=201)

    async def query_properties(
        request: Request, id: str, query: str | None = Query(None, description=query_doc)
    ) -> Response:
        props = await call(
            service.hcn_call, hcn_function("Query", kind), id, query or DEFAULT_QUERY
        )
        return JSONResponse(props)

    async def modify(request: Request, id: str) -> Response:
        text = body_text(await read_request_body(request, max_body))
        if text is None:
            raise InvalidJson()
        await call(service.hcn_call, hcn_function("Modify", kind), id, text)
        return Response(status_code=204)

    async def delete(request: Request, id: str) -> Response:
        await call(service.hcn_call, hcn_function("Delete", kind), id, None)
        return Response(status_code=204)

    ids_schema = {"type": "array", "items": {"type": "string"}}
    base = f"/hcn/{kind}"
    app.add_api_route(
        base,
        enumerate_,
        methods=["GET"],
        tags=tags,
        summary=hcn_function("Enumerate", kind),
        operation_id=f"hcn_enumerate_{kind}",
        responses=responses(200, ids_schema),
    )
    app.add_api_route(
        base,
        create,
        methods=["POST"],
        tags=tags,
        summary=hcn_function("Create", kind),
        operation_id=f"hcn_create_{kind}",
        responses=responses(201, {"type": "object"}),
        openapi_extra=json_body(required=True),
        status_code=201,
    )
    app.add_api_route(
        base + "/{id}",
        query_properties,
        methods=["GET"],
        tags=tags,
        summary=hcn_function("Query", kind),
        operation_id=f"hcn_query_{kind}",
        responses=responses(200, {"type": "object"}),
    )
    app.add_api_route(
        base + "/{id}/modify",
        modify,
        methods=["POST"],
        tags=tags,
        summary=hcn_function("Modify", kind),
        operation_id=f"hcn_modify_{kind}",
        responses=responses(204, None),
        openapi_extra=json_body(required=True),
        status_code=204,
    )
    app.add_api_route(
        base + "/{id}",
        delete,
        methods=["DELETE"],
        tags=tags,
        summary=hcn_function("Delete", kind),
        operation_id=f"hcn_delete_{kind}",
        responses=responses(204, None),
        status_code=204,
    )


_HCNCALL_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Function"],
    "properties": {
        "Function": {"type": "string"},
        "Id": {"type": ["string", "null"]},
        "Settings": {"type": ["string", "object", "null"]},
        "Query": {"type": ["string", "object", "null"]},
    },
}
_HCNCALL_ANSWER: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["HResult", "Result", "Properties"],
    "properties": {
        "HResult": {"type": "integer"},
        "Result": {"type": ["string", "null"]},
        "Properties": {"type": ["string", "null"]},
    },
}


def add_hcncall_mirror(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
    """``POST /hcn/call``: one computenetwork.dll!Hcn* call, answered 200 with its HRESULT
    and result strings."""

    async def hcncall(request: Request) -> Response:
        doc = json_object(await read_request_body(request, max_body))
        function, id = doc.get("Function"), doc.get("Id")
        if not isinstance(function, str) or not function.startswith("Hcn"):
            raise InvalidArg(detail="Function must name an Hcn* export")
        if id is not None and not isinstance(id, str):
            raise InvalidArg(detail="Id must be a string")
        raw = doc.get("Settings") if doc.get("Settings") is not None else doc.get("Query")
        settings = as_json_text(raw, field="Settings")
        try:
            result = await call(service.hcn_call, function, id, settings)
        except HnsError as err:
            answer = {
                "HResult": unsigned(err.hresult),
                "Result": json.dumps(v2_error(err)),
                "Properties": None,
            }
            return refused(JSONResponse(answer), "POST", "/hcn/call", err)
        properties = None if result is None else json.dumps(result)
        return JSONResponse({"HResult": 0, "Result": None, "Properties": properties})

    app.add_api_route(
        "/hcn/call",
        hcncall,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One computenetwork.dll!Hcn* call",
        operation_id="hcncall",
        responses=responses(200, _HCNCALL_ANSWER),
        openapi_extra=json_body(_HCNCALL_SCHEMA, required=True),
    )
