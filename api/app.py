"""The HTTP face of the emulator: a FastAPI app over one HNS backend.

Division of labour: the backend (``hns.service.HnsService``) parses, validates, stores and
raises ``HnsError``; this module only maps HTTP onto its two entry points and turns every
failure, whatever its cause, into an HNS-shaped body. Routes:

- V1 at the HNSCall paths (``/networks``, ``/endpoints``, ``/policylists``,
  ``/namespaces``, ``/endpointstats``, ``/globals/version``) -> ``hns_call``; the answer
  is always the V1 envelope ``{"Success","Error","Output"}``.
- V2 under ``/hcn/<kind>`` -> ``hcn_call``; success is the bare properties object or id
  list, failure the HCN result JSON (``"Error":"<message> "``, ``"ErrorCode"``).
- Call mirrors: ``POST /hnscall`` (one HNSCall) and ``POST /hcn/call`` (one Hcn* call).
  They answer 200 whenever the call itself ran, as the DLLs return normally; the HNS
  failure travels inside the body.
- ``/_emulator/``: health, reset, state dump/load, capture import, profile, reboot.

HTTP statuses follow REST (404 missing, 409 conflict, 400 bad input, 413 oversized
body, 401 bad token) while the body always carries the HNS error shape. Trailing slashes
are optional everywhere (hcsshim sends ``/networks/``, PowerShell ``/networks``).
"""

from __future__ import annotations

import gc
import hmac
import importlib
import importlib.util
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api.bridge import register as register_bridge
from api.calls import CallRunner
from api.detail import StrictMode, refused
from api.limits import Refused, read_body
from api.openapi import install as install_openapi
from api.vfp_routes import BareHost
from api.vfp_routes import register as register_vfp_routes
from api.wire import (
    ACCESS_DENIED_MESSAGE,
    DEFAULT_QUERY,
    E_ACCESSDENIED,
    KINDS,
    ZERO_GUID,
    hcn_function,
    unsigned,
    v1_error,
    v1_success,
    v2_error,
)
from hns.errors import HnsError, InvalidArg, InvalidJson, RequestUnsupported, error_for_hresult
from hns.textcheck import check_json_text

__all__ = ["DEFAULT_MAX_BODY", "HnsBackend", "create_app"]

#: Largest request body accepted (bytes). Real HNS objects are a few KiB; a state dump
#: of a large cluster can be tens of MiB, hence the separate limit for /_emulator/state.
DEFAULT_MAX_BODY: Final[int] = 1 << 20
MAX_STATE_BODY: Final[int] = 256 << 20

STATUS_BY_CATEGORY: Final[dict[str, int]] = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 400,
    # 501 would read as a server fault to clients and fuzzers; what is unsupported is
    # the request, so it is a 400.
    "unsupported": 400,
    "unavailable": 503,
}


class HnsBackend(Protocol):
    """What the app needs of ``hns.service.HnsService`` (the contract's names)."""

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any: ...
    def hcn_call(
        self, function: str, id: str | None = None, settings: str | None = None
    ) -> Any: ...
    def globals_version(self) -> dict[str, int]: ...
    @property
    def profile(self) -> str: ...
    def set_profile(self, name: str) -> None: ...
    def reset(self) -> None: ...
    def dump(self) -> dict[str, Any]: ...
    def load(self, dump: dict[str, Any]) -> None: ...
    def import_capture(self, text: str) -> list[str]: ...
    def reboot(self) -> None: ...


#: 413/401 refusals carry their own HTTP status (api/limits.py).
_Refused = Refused


def _is_v1_path(path: str) -> bool:
    return not (path.startswith(("/hcn", "/_emulator", "/vfp")))


def _error_response(path: str, err: HnsError, status: int, method: str = "") -> JSONResponse:
    body = v1_error(err) if _is_v1_path(path) else v2_error(err)
    if path.startswith("/vfp") and err.detail:
        # The emulator's own routes say which port, layer or value was wrong.
        body["Detail"] = err.detail
    response = JSONResponse(body, status_code=status)
    refused(response, method, path, err)  # X-HNS-Emulator-Detail and one log line
    return response


def _status_for(err: HnsError) -> int:
    return STATUS_BY_CATEGORY.get(err.category, 400)


# -- request bodies ------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    return await read_body(request, limit)


def _text(body: bytes) -> str | None:
    """The body as text for the backend; an empty body is no request at all.

    A UTF-8 byte-order mark is dropped: PowerShell's ``Out-File``/``Set-Content`` write
    one, and ``Invoke-RestMethod -InFile`` sends it along.
    """
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidJson() from None
    check_json_text(text)  # nothing unencodable gets as far as a write
    return text


def _json_object(body: bytes) -> dict[str, Any]:
    text = _text(body)
    if text is None:
        raise InvalidJson()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidJson() from None
    if not isinstance(value, dict):
        raise InvalidJson()
    return value


def _as_json_text(value: Any, *, field: str) -> str | None:
    """A call mirror's Request/Settings/Query: JSON text as is, or an object re-encoded."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value)
    raise InvalidArg(detail=f"{field} must be a JSON string or object")


def _caller_id(text: str | None) -> str | None:
    """The ``ID`` a V2 create body carries, if it is a usable non-zero string."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict):
        given = value.get("ID", value.get("Id"))
        if isinstance(given, str) and given and given.strip("{}").lower() != ZERO_GUID:
            return given
    return None


# -- OpenAPI fragments ---------------------------------------------------------------

_ERROR_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Success", "Error"],
    "properties": {
        "Success": {"type": "boolean"},
        "Error": {"type": "string"},
        "ErrorCode": {"type": "integer"},
    },
}
_ENVELOPE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Success"],
    "properties": {
        "Success": {"type": "boolean"},
        "Error": {"type": "string"},
        "ErrorCode": {"type": "integer"},
        "Output": {},
    },
}


def _json_body(schema: Mapping[str, Any] | None = None, *, required: bool = False) -> Any:
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": dict(schema or {"type": "object"})}},
        }
    }


def _responses(ok: int, ok_schema: Mapping[str, Any] | None) -> dict[int | str, Any]:
    error = {"description": "HNS error", "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    ok_entry: dict[str, Any] = {"description": "Success"}
    if ok_schema is not None:
        ok_entry["content"] = {"application/json": {"schema": dict(ok_schema)}}
    return {ok: ok_entry, 400: error, 404: error, 409: error, 413: error}


# -- middleware ----------------------------------------------------------------------


class _StripTrailingSlash:
    """``/networks/`` and ``/networks`` are one route (hcsshim and PowerShell differ)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if isinstance(raw, bytes):
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class _BearerToken:
    """Every request must carry ``Authorization: Bearer <token>`` (non-loopback binds)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = b""
            for key, value in scope.get("headers", ()):
                if key == b"authorization":
                    given = value
                    break
            # The scheme name is case-insensitive (RFC 7235 2.1): "bearer x" is "Bearer x".
            scheme, _, credentials = given.strip().partition(b" ")
            ok = scheme.lower() == b"bearer"
            if not hmac.compare_digest(credentials.strip() if ok else b"", self.expected) \
                    or not ok:
                err = error_for_hresult(E_ACCESSDENIED, ACCESS_DENIED_MESSAGE)
                err.detail = "missing or wrong bearer token (Authorization: Bearer <token>)"
                response = _error_response(scope["path"], err, 401, scope.get("method", ""))
                response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- the app -------------------------------------------------------------------------

Handler = Callable[..., Awaitable[Response]]


def _host_of(host_or_service: Any) -> tuple[HnsBackend, Any]:
    """(backend, host) for what ``create_app`` was given.

    A ``hns.host.Host`` (anything with ``.service`` and ``.switch``) is used as is; a bare
    ``HnsService`` is wrapped in a new Host (its compiler subscribes to the service); any
    other backend (the wire tests' fake) gets a ``BareHost``: a switch with no ports.
    """
    if hasattr(host_or_service, "switch") and hasattr(host_or_service, "service"):
        return host_or_service.service, host_or_service
    from hns.service import HnsService

    if isinstance(host_or_service, HnsService):
        from hns.host import Host

        return host_or_service, Host(service=host_or_service)
    return host_or_service, BareHost(host_or_service)


def create_app(
    host_or_service: Any,
    *,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    strict: bool = False,
) -> FastAPI:
    """The FastAPI app serving a ``hns.host.Host`` or a bare backend (see ``_host_of``);
    with ``token``, every request must bear it; ``strict`` runs every request in strict
    mode (api/detail.py)."""
    service, host = _host_of(host_or_service)
    app = FastAPI(
        title="hns-emulator",
        version="0.1.0",
        description=(
            "Windows Host Networking Service: V1 (HNSCall) and V2 (HCN) over HTTP, and the "
            "host's VFP switch under /vfp."
        ),
        redirect_slashes=False,
        docs_url=None,  # served from the package by api.docs (no CDN)
        redoc_url=None,
    )
    app.state.service = service
    app.state.host = host

    # Object operations run in a small pool of their own, their fault waits on the loop
    # (api/calls.py): inline, one slow call stalled every other request.
    call = CallRunner(service)
    app.state.calls = call

    async def bulk(fn: Callable[..., Any], *args: Any) -> Any:
        # Whole-state operations (dump, load, import) can take seconds on a big store:
        # off the event loop, so health checks still answer meanwhile.
        result = await run_in_threadpool(fn, *args)
        # What they built is long-lived; a collection walking millions of objects stops
        # every thread, the event loop included, for seconds (api/calls.py).
        gc.freeze()
        return result

    _add_error_handlers(app)
    _add_v1_routes(app, service, call, max_body)
    _add_v2_routes(app, service, call, max_body)
    _add_call_mirrors(app, service, call, max_body)
    register_bridge(app, service, host, call, max_body)  # the stand-in DLLs (api/bridge.py)
    _add_emulator_routes(app, service, call, bulk, max_body)
    register_vfp_routes(app, host)
    _add_extension_routes(app, host)
    _add_surface_routes(app, host)
    install_openapi(app)  # HNS schemas in the document (api/openapi.py)

    app.add_middleware(StrictMode, default=strict)
    app.add_middleware(_StripTrailingSlash)
    if token:
        app.add_middleware(_BearerToken, token=token)
    return app


def _add_extension_routes(app: FastAPI, host: Any) -> None:
    """Routers other engineers own, added after ours when their module exists.

    ``api.emulator`` (faults, call log, replay, service control) exposes
    ``register(app, host)``; until it lands, the app simply has no such routes. They hook
    into the real backend, so a test double (the wire tests' fake) goes without them.
    """
    from hns.service import HnsService

    if not isinstance(getattr(host, "service", None), HnsService):
        return
    # api.hcs (compute systems, issue 13): the HCS model HCS exports of the Wine bridge use
    importlib.import_module("api.hcs").register(app, host)
    if importlib.util.find_spec("api.emulator") is None:
        return
    module = importlib.import_module("api.emulator")
    module.register(app, host)


def _add_surface_routes(app: FastAPI, host: Any) -> None:
    """The offline /docs and /redoc (api/docs.py) and the web view under /ui/ (api/ui/)."""
    from api import docs, ui

    docs.register(app)
    ui.register(app, host)


def _add_error_handlers(app: FastAPI) -> None:
    async def on_hns_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HnsError)
        return _error_response(request.url.path, exc, _status_for(exc), request.method)

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        return _error_response(request.url.path, exc.err, exc.status, request.method)

    async def on_validation(request: Request, exc: Exception) -> Response:
        return _error_response(
            request.url.path, InvalidArg(detail=str(exc)), 400, request.method
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        why = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) \
            else str(exc.detail)
        err: HnsError = (
            RequestUnsupported(detail=why) if exc.status_code in (404, 405)
            else InvalidArg(detail=why)
        )
        response = _error_response(request.url.path, err, exc.status_code, request.method)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_anything(request: Request, exc: Exception) -> Response:
        # An emulator bug: still answer in HNS shape (E_FAIL) so no client chokes on it.
        return _error_response(
            request.url.path, HnsError(detail=f"{type(exc).__name__}: {exc}"), 500, request.method
        )

    app.add_exception_handler(HnsError, on_hns_error)
    app.add_exception_handler(_Refused, on_refused)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)


Call = Callable[..., Awaitable[Any]]

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


def _add_v1_routes(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
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
            responses=_responses(200, _ENVELOPE_SCHEMA),
            openapi_extra=_json_body() if has_body else None,
            response_class=JSONResponse,
        )


def _v1_handler(
    service: HnsBackend, call: Call, method: str, template: str, has_body: bool, max_body: int
) -> Handler:
    async def run(request: Request, id: str | None) -> Response:
        body = _text(await _read_body(request, max_body)) if has_body else None
        output = await call(service.hns_call, method, _v1_hns_path(template, id), body)
        return JSONResponse(v1_success(output))

    if "{id}" in template:

        async def with_id(request: Request, id: str) -> Response:
            return await run(request, id)

        return with_id

    async def without_id(request: Request) -> Response:
        return await run(request, None)

    return without_id


def _add_v2_routes(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
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
        text = _text(await _read_body(request, max_body))
        if text is None:
            raise InvalidJson()
        created = await call(service.hcn_call, hcn_function("Create", kind), _caller_id(text), text)
        return JSONResponse(created, status_code=201)

    async def query_properties(
        request: Request, id: str, query: str | None = Query(None, description=query_doc)
    ) -> Response:
        props = await call(
            service.hcn_call, hcn_function("Query", kind), id, query or DEFAULT_QUERY
        )
        return JSONResponse(props)

    async def modify(request: Request, id: str) -> Response:
        text = _text(await _read_body(request, max_body))
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
        responses=_responses(200, ids_schema),
    )
    app.add_api_route(
        base,
        create,
        methods=["POST"],
        tags=tags,
        summary=hcn_function("Create", kind),
        operation_id=f"hcn_create_{kind}",
        responses=_responses(201, {"type": "object"}),
        openapi_extra=_json_body(required=True),
        status_code=201,
    )
    app.add_api_route(
        base + "/{id}",
        query_properties,
        methods=["GET"],
        tags=tags,
        summary=hcn_function("Query", kind),
        operation_id=f"hcn_query_{kind}",
        responses=_responses(200, {"type": "object"}),
    )
    app.add_api_route(
        base + "/{id}/modify",
        modify,
        methods=["POST"],
        tags=tags,
        summary=hcn_function("Modify", kind),
        operation_id=f"hcn_modify_{kind}",
        responses=_responses(204, None),
        openapi_extra=_json_body(required=True),
        status_code=204,
    )
    app.add_api_route(
        base + "/{id}",
        delete,
        methods=["DELETE"],
        tags=tags,
        summary=hcn_function("Delete", kind),
        operation_id=f"hcn_delete_{kind}",
        responses=_responses(204, None),
        status_code=204,
    )


_HNSCALL_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Method", "Path"],
    "properties": {
        "Method": {"type": "string", "enum": ["GET", "POST", "DELETE"]},
        "Path": {"type": "string"},
        "Request": {"type": ["string", "object", "null"]},
    },
}
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


def _add_call_mirrors(app: FastAPI, service: HnsBackend, call: Call, max_body: int) -> None:
    async def hnscall(request: Request) -> Response:
        doc = _json_object(await _read_body(request, max_body))
        method, path = doc.get("Method"), doc.get("Path")
        if not isinstance(method, str) or not isinstance(path, str):
            raise InvalidArg(detail="Method and Path must be strings")
        body = _as_json_text(doc.get("Request"), field="Request")
        if body == "":
            body = None
        try:
            output = await call(service.hns_call, method.upper(), path, body)
        except HnsError as err:
            return refused(JSONResponse(v1_error(err)), "POST", "/hnscall", err)
        return JSONResponse(v1_success(output))

    async def hcncall(request: Request) -> Response:
        doc = _json_object(await _read_body(request, max_body))
        function, id = doc.get("Function"), doc.get("Id")
        if not isinstance(function, str) or not function.startswith("Hcn"):
            raise InvalidArg(detail="Function must name an Hcn* export")
        if id is not None and not isinstance(id, str):
            raise InvalidArg(detail="Id must be a string")
        raw = doc.get("Settings") if doc.get("Settings") is not None else doc.get("Query")
        settings = _as_json_text(raw, field="Settings")
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
        "/hnscall",
        hnscall,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One vmcompute.dll!HNSCall",
        operation_id="hnscall",
        responses=_responses(200, _ENVELOPE_SCHEMA),
        openapi_extra=_json_body(_HNSCALL_SCHEMA, required=True),
    )
    app.add_api_route(
        "/hcn/call",
        hcncall,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One computenetwork.dll!Hcn* call",
        operation_id="hcncall",
        responses=_responses(200, _HCNCALL_ANSWER),
        openapi_extra=_json_body(_HCNCALL_SCHEMA, required=True),
    )


def _profile_names(service: HnsBackend) -> list[str]:
    names: Any = getattr(service, "PROFILES", None)
    if names is None:
        try:
            from hns import profiles

            names = profiles.PROFILES
        except ImportError:  # pragma: no cover - the backend always ships profiles
            names = {}
    return sorted(str(name) for name in names)


def _add_emulator_routes(
    app: FastAPI, service: HnsBackend, call: Call, bulk: Call, max_body: int
) -> None:
    tags: list[str | Any] = ["emulator"]

    def profile_doc() -> dict[str, Any]:
        return {
            "Profile": service.profile,
            "Version": service.globals_version(),
            "Profiles": _profile_names(service),
        }

    async def health(request: Request) -> Response:
        doc = profile_doc()  # inline: takes no lock, so it answers whatever else runs
        return JSONResponse({"Status": "ok", "Profile": doc["Profile"], "Version": doc["Version"]})

    async def reset(request: Request) -> Response:
        await bulk(service.reset)
        return Response(status_code=204)

    # A whole state is tens of MiB at kube-proxy scale: parsed and rendered off the loop.
    async def dump(request: Request) -> Response:
        return await bulk(lambda: JSONResponse(service.dump()))  # type: ignore[no-any-return]

    async def load(request: Request) -> Response:
        body = await _read_body(request, max(max_body, MAX_STATE_BODY))
        await bulk(lambda: service.load(_json_object(body)))
        return Response(status_code=204)

    async def import_capture(request: Request) -> Response:
        body = await _read_body(request, max(max_body, MAX_STATE_BODY))
        text = await bulk(_text, body)
        if text is None:
            raise InvalidJson()
        ids = await bulk(service.import_capture, text)
        return JSONResponse({"IDs": ids})

    async def get_profile(request: Request) -> Response:
        return JSONResponse(profile_doc())

    async def put_profile(request: Request) -> Response:
        doc = _json_object(await _read_body(request, max_body))
        name = doc.get("Profile")
        if not isinstance(name, str):
            raise InvalidArg(detail="Profile must be a string")
        await call(service.set_profile, name)
        return JSONResponse(profile_doc())

    async def reboot(request: Request) -> Response:
        await bulk(service.reboot)
        return Response(status_code=204)

    obj: dict[str, Any] = {"type": "object"}
    profile_schema = {
        "type": "object",
        "required": ["Profile"],
        "properties": {"Profile": {"type": "string"}},
    }
    routes: list[tuple[str, str, Handler, int, dict[str, Any] | None, Any]] = [
        ("GET", "/_emulator/health", health, 200, obj, None),
        ("POST", "/_emulator/reset", reset, 204, None, None),
        ("GET", "/_emulator/state", dump, 200, obj, None),
        ("PUT", "/_emulator/state", load, 204, None, _json_body(required=True)),
        (
            "POST",
            "/_emulator/import",
            import_capture,
            200,
            obj,
            {
                "requestBody": {
                    "required": True,
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        ),
        ("GET", "/_emulator/profile", get_profile, 200, obj, None),
        (
            "PUT",
            "/_emulator/profile",
            put_profile,
            200,
            obj,
            _json_body(profile_schema, required=True),
        ),
        ("POST", "/_emulator/reboot", reboot, 204, None, None),
    ]
    for method, path, handler, ok, schema, extra in routes:
        name = path.rsplit("/", 1)[1]
        app.add_api_route(
            path,
            handler,
            methods=[method],
            tags=tags,
            status_code=ok,
            summary=f"{method} {path}",
            operation_id=f"emulator_{method.lower()}_{name}",
            responses=_responses(ok, schema),
            openapi_extra=extra,
        )
