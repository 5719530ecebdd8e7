"""The HTTP face of the emulator: a FastAPI app over one HNS backend.

Division of labour: the backend (``hns.service.HnsService``) parses, validates, stores and
raises ``HnsError``; this module only maps HTTP onto its two entry points and turns every
failure, whatever its cause, into an HNS-shaped body. Routes (V1 and ``/hnscall`` in
api/hnscall_routes.py, V2 and ``/hcn/call`` in api/hcn_routes.py, what they share in
api/routing.py; here the app, its middleware, the one error handler and ``/_emulator``):

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

import hmac
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api import collector
from api.bigjson import BigJSONResponse
from api.bridge import register as register_bridge
from api.calls import CallRunner
from api.detail import StrictMode, refused
from api.hcn_routes import add_hcncall_mirror, add_v2_routes
from api.hnscall_routes import add_hnscall_mirror, add_v1_routes
from api.limits import Refused
from api.routing import (
    Call,
    Handler,
    HnsBackend,
    body_text,
    json_body,
    json_object,
    read_request_body,
    responses,
)
from api.vfp_routes import BareHost
from api.vfp_routes import register as register_vfp_routes
from api.wire import (
    ACCESS_DENIED_MESSAGE,
    E_ACCESSDENIED,
    v1_error,
    v2_error,
)
from hns.errors import HnsError, InvalidArg, InvalidJson, RequestUnsupported, error_for_hresult

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


def _host_of(host_or_service: Any) -> tuple[HnsBackend, Any]:
    """(backend, host) for what ``create_app`` was given.

    A ``hns.hosts.Host`` (anything with ``.service`` and ``.switch``) is used as is; a bare
    ``HnsService`` is wrapped in a new Host (its compiler subscribes to the service); any
    other backend (the wire tests' fake) gets a ``BareHost``: a switch with no ports.
    """
    if hasattr(host_or_service, "switch") and hasattr(host_or_service, "service"):
        return host_or_service.service, host_or_service
    from hns.service import HnsService

    if isinstance(host_or_service, HnsService):
        from hns.hosts import Host

        return host_or_service, Host(service=host_or_service)
    return host_or_service, BareHost(host_or_service)


def _install_openapi_lazily(app: FastAPI) -> None:
    """api/openapi.py's document on the first ``app.openapi()`` (/openapi.json, /docs):
    its body models cost ~60 ms of imports, paid by every start (issue 11: restart
    time) though serving never needs them. The document is the same either way."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        from api.openapi import install

        app.openapi = original  # type: ignore[method-assign]
        install(app)
        return app.openapi()

    app.openapi = openapi  # type: ignore[method-assign]

def create_app(
    host_or_service: Any,
    *,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    strict: bool = False,
) -> FastAPI:
    """The FastAPI app serving a ``hns.hosts.Host`` or a bare backend (see ``_host_of``);
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
        # off the event loop, so health checks still answer meanwhile.  What they build
        # is long-lived; a collection walking it stops every thread, the event loop
        # included: none runs meanwhile, and it is frozen before any can (api/collector.py).
        def run() -> Any:
            with collector.whole_state():
                return fn(*args)

        return await run_in_threadpool(run)

    _add_error_handlers(app)
    add_v1_routes(app, service, call, max_body)
    add_v2_routes(app, service, call, max_body)
    add_hnscall_mirror(app, service, call, max_body)
    add_hcncall_mirror(app, service, call, max_body)
    register_bridge(app, service, host, call, max_body)  # the stand-in DLLs (api/bridge.py)
    _add_emulator_routes(app, service, call, bulk, max_body)
    register_vfp_routes(app, host)
    _add_extension_routes(app, host)
    _add_surface_routes(app, host)
    _install_openapi_lazily(app)  # HNS schemas in the document (api/openapi.py)

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
        # rendered in pieces (api/bigjson.py): one json.dumps held the GIL throughout
        return await bulk(lambda: BigJSONResponse(service.dump()))  # type: ignore[no-any-return]

    async def load(request: Request) -> Response:
        body = await read_request_body(request, max(max_body, MAX_STATE_BODY))
        await bulk(lambda: service.load(json_object(body)))
        return Response(status_code=204)

    async def import_capture(request: Request) -> Response:
        body = await read_request_body(request, max(max_body, MAX_STATE_BODY))
        text = await bulk(body_text, body)
        if text is None:
            raise InvalidJson()
        ids = await bulk(service.import_capture, text)
        return JSONResponse({"IDs": ids})

    async def get_profile(request: Request) -> Response:
        return JSONResponse(profile_doc())

    async def put_profile(request: Request) -> Response:
        doc = json_object(await read_request_body(request, max_body))
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
        ("PUT", "/_emulator/state", load, 204, None, json_body(required=True)),
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
            json_body(profile_schema, required=True),
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
            responses=responses(ok, schema),
            openapi_extra=extra,
        )
