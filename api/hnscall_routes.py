"""V1 over HTTP: the HNSCall paths (``/networks``, ``/endpoints``, ``/policylists``,
``/namespaces``, ``/endpointstats``, ``/globals/version``) -> ``hns_call``, always
answered with the V1 envelope ``{"Success","Error","Output"}``; and the ``POST /hnscall``
call mirror."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from api.detail import refused
from api.routing import (
    ENVELOPE_SCHEMA,
    Call,
    Handler,
    HnsBackend,
    as_json_text,
    body_text,
    json_body,
    json_object,
    read_request_body,
    responses,
)
from api.wire import (
    v1_error,
    v1_success,
)
from hns.errors import HnsError, InvalidArg

# (method, template, has body): every V1 route. ``{id}`` is the object id.
_V1_ROUTES: Final[list[tuple[str, str, bool]]] = [
    ("GET", "/networks", False),
    ("POST", "/networks", True),
    ("GET", "/networks/{id}", False),
    ("POST", "/networks/{id}", True),
    ("DELETE", "/networks/{id}", False),
    ("GET", "/endpoints", False),
    ("POST", "/endpoints", True),
    ("GET", "/endpoints/{id}", False),
    ("POST", "/endpoints/{id}", True),
    ("DELETE", "/endpoints/{id}", False),
    ("POST", "/endpoints/{id}/attach", True),
    ("POST", "/endpoints/{id}/detach", True),
    ("GET", "/policylists", False),
    ("POST", "/policylists", True),
    ("GET", "/policylists/{id}", False),
    ("DELETE", "/policylists/{id}", False),
    ("GET", "/namespaces", False),
    ("POST", "/namespaces", True),
    ("GET", "/namespaces/{id}", False),
    ("DELETE", "/namespaces/{id}", False),
    ("POST", "/namespaces/{id}/addresource", True),
    ("POST", "/namespaces/{id}/removeresource", True),
    ("GET", "/endpointstats/{id}", False),
    ("GET", "/globals/version", False),
]


def _v1_hns_path(template: str, id: str | None) -> str:
    """The HNSCall path as hcsshim writes it: ``/networks/`` for a collection."""
    if id is None:
        return template + "/" if template.count("/") == 1 else template
    return template.replace("{id}", id)


def add_v1_routes(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
    for method, template, has_body in _V1_ROUTES:
        handler = _v1_handler(service, call, method, template, has_body, max_body)
        collection = template.split("/")[1]
        app.add_api_route(
            template,
            handler,
            methods=[method],
            tags=[f"V1 {collection}"],
            summary=f"HNSCall {method} {template}",
            operation_id=f"v1_{method.lower()}_{template.strip('/').replace('/', '_')}".replace(
                "{id}", "id"
            ),
            responses=responses(200, ENVELOPE_SCHEMA),
            openapi_extra=json_body() if has_body else None,
            response_class=JSONResponse,
        )


def _v1_handler(
    service: HnsBackend, call: Call, method: str, template: str, has_body: bool, max_body: int
) -> Handler:
    async def run(request: Request, id: str | None) -> Response:
        body = body_text(await read_request_body(request, max_body)) if has_body else None
        output = await call(service.hns_call, method, _v1_hns_path(template, id), body)
        return JSONResponse(v1_success(output))

    if "{id}" in template:

        async def with_id(request: Request, id: str) -> Response:
            return await run(request, id)

        return with_id

    async def without_id(request: Request) -> Response:
        return await run(request, None)

    return without_id


_HNSCALL_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Method", "Path"],
    "properties": {
        "Method": {"type": "string", "enum": ["GET", "POST", "DELETE"]},
        "Path": {"type": "string"},
        "Request": {"type": ["string", "object", "null"]},
    },
}


def add_hnscall_mirror(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
    """``POST /hnscall``: one vmcompute.dll!HNSCall, answered 200 with the V1 envelope."""

    async def hnscall(request: Request) -> Response:
        doc = json_object(await read_request_body(request, max_body))
        method, path = doc.get("Method"), doc.get("Path")
        if not isinstance(method, str) or not isinstance(path, str):
            raise InvalidArg(detail="Method and Path must be strings")
        body = as_json_text(doc.get("Request"), field="Request")
        if body == "":
            body = None
        try:
            output = await call(service.hns_call, method.upper(), path, body)
        except HnsError as err:
            return refused(JSONResponse(v1_error(err)), "POST", "/hnscall", err)
        return JSONResponse(v1_success(output))

    app.add_api_route(
        "/hnscall",
        hnscall,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One vmcompute.dll!HNSCall",
        operation_id="hnscall",
        responses=responses(200, ENVELOPE_SCHEMA),
        openapi_extra=json_body(_HNSCALL_SCHEMA, required=True),
    )
