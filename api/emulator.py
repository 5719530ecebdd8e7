"""The fault, call-log, replay and service routes under ``/_emulator/`` (``register``).

Division of labour: hns/faults.py decides what a fault does, hns/service/calllog.py keeps
calls and hns/calllog.py replays them; this module only maps HTTP onto ``service.faults``,
``service.calls``, ``hns.calllog.replay`` and the service's stop/start/restart (the
Latency/Hang waits of HNS calls happen on the event loop in api/calls.py). Bodies over 1
MiB (a replay: 256 MiB) are refused with 413 before they are read. Routes (JSON in the
house's PascalCase, errors in the HCN shape with HTTP statuses by category, as every other
/_emulator route):

    POST   /_emulator/faults         add a rule -> 201 the rule (with its Id)
    GET    /_emulator/faults         {"Faults": [rule, ...]}
    DELETE /_emulator/faults         drop every rule, end every wait -> 204
    DELETE /_emulator/faults/{id}    drop one rule -> 204 (404 ERROR_NOT_FOUND)
    GET    /_emulator/service        {"Running","DownSecondsLeft","HResult","Restarts",...}
    POST   /_emulator/service        {"Action":"restart"|"stop"|"start","DownSeconds",
                                     "HResult"} -> 200 the service state
    GET    /_emulator/calls?since=N&state=true  the recording document (calls with
                                     Seq > N; state=false leaves the state dumps out)
    DELETE /_emulator/calls          forget the logged calls -> 204
    POST   /_emulator/replay?reset=  replay a recording (reset first unless reset=false)
                                     -> 200 the report

``create_app`` calls ``register(app, host)``; ``host`` is an ``hns.hosts.Host`` (its
``.service`` is used) or a bare ``HnsService``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api import bigjson, collector
from api.bigjson import BigJSONResponse
from api.limits import read_body
from api.wire import KINDS, hcn_function
from hns.calllog import load_recording, replay
from hns.errors import InvalidArg, InvalidJson
from hns.faults import parse_hresult
from hns.service import HnsService
from hns.textcheck import refuse_unencodable

__all__ = ["call_name", "register"]

#: A rule or a service action is a few hundred bytes; a recording can be large.
MAX_BODY: Final = 1 << 20
MAX_RECORDING_BODY: Final = 256 << 20
_V1_COLLECTIONS: Final = frozenset({
    "networks", "endpoints", "policylists", "namespaces", "endpointstats", "globals"})


def _service_of(host: Any) -> HnsService:
    service = getattr(host, "service", host)
    if not isinstance(service, HnsService):
        raise TypeError("register() needs an hns.hosts.Host or an HnsService")
    return service


async def _object(request: Request, *, required: bool = True,
                  limit: int = MAX_BODY) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        if required:
            raise InvalidJson(detail="empty body")
        return {}
    if len(raw) < bigjson.SMALL:
        return _parse(raw)
    # A recording can be hundreds of MiB: parsed off the loop, and in pieces so the
    # parse does not hold the GIL throughout either (api/bigjson.py).
    return await run_in_threadpool(_parse, raw)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        doc = bigjson.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidJson(detail="body is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidJson(detail="body is not a JSON object")
    refuse_unencodable(doc)
    return doc


def _hresult(doc: dict[str, Any]) -> int | None:
    value = doc.get("HResult")
    if value is not None and not isinstance(value, int | str):
        raise InvalidArg(detail="HResult must be a number or an HRESULT name")
    return parse_hresult(value)


def _int(doc: dict[str, Any], key: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            raise InvalidArg(detail=f"{key} must be an integer") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArg(detail=f"{key} must be an integer")
    return value


def _number(doc: dict[str, Any], key: str, default: float) -> float:
    value = doc.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArg(detail=f"{key} must be a number")
    return float(value)


def register(app: FastAPI, host: Any) -> None:
    """Add the fault, call-log, replay and service routes and the wait middleware."""
    service = _service_of(host)
    tags: list[Any] = ["emulator: faults"]

    async def add_fault(request: Request) -> Response:
        doc = await _object(request)
        target = doc.get("Target")
        mode = doc.get("Mode", "Fail")
        fields = doc.get("Fields") or []
        if not isinstance(target, str) or not isinstance(mode, str):
            raise InvalidArg(detail="Target and Mode must be strings")
        if "Seed" in doc:
            service.faults.seed(_int(doc, "Seed"))
        fault = service.faults.add(
            target, mode, hresult=_hresult(doc), times=_int(doc, "Times"),
            probability=_number(doc, "Probability", 1.0),
            seconds=_number(doc, "Seconds", 0.0), fields=fields)
        return JSONResponse(fault.to_json(), status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"Faults": [f.to_json() for f in service.faults.list()]})

    async def clear_faults(request: Request) -> Response:
        service.faults.clear()
        return Response(status_code=204)

    async def delete_fault(request: Request, id: str) -> Response:
        try:
            fault_id = int(id)
        except ValueError:
            raise InvalidArg(detail="a fault id is an integer") from None
        service.faults.remove(fault_id)
        return Response(status_code=204)

    async def get_service(request: Request) -> Response:
        # Off the loop: the state takes the service lock, which a restart holds a while.
        return JSONResponse(await run_in_threadpool(service.service_state))

    async def post_service(request: Request) -> Response:
        doc = await _object(request)
        action = doc.get("Action")
        hresult = _hresult(doc)
        if action == "restart":
            down = _number(doc, "DownSeconds", 0.0)
            # Off the event loop: coming back up re-reads the whole store; what it builds
            # is long-lived, frozen before any collection walks it (api/collector.py).
            def restart() -> None:
                with collector.whole_state():
                    service.restart_service(down, hresult=hresult)

            await run_in_threadpool(restart)
        elif action == "stop":
            await run_in_threadpool(lambda: service.stop_service(hresult=hresult))
        elif action == "start":
            await run_in_threadpool(service.start_service)
        else:
            raise InvalidArg(detail="Action must be restart, stop or start")
        return JSONResponse(await run_in_threadpool(service.service_state))

    async def get_calls(request: Request, since: int = Query(0, ge=0),
                        state: bool = Query(True)) -> Response:
        # built and rendered off the loop, in pieces: it holds state dumps (api/bigjson.py)
        return await run_in_threadpool(
            lambda: BigJSONResponse(service.calls.recording(since=since, with_state=state)))

    async def clear_calls(request: Request) -> Response:
        await run_in_threadpool(service.calls.clear)
        return Response(status_code=204)

    async def post_replay(request: Request, reset: bool = Query(True)) -> Response:
        # refuse before any reset
        doc = load_recording(await _object(request, limit=MAX_RECORDING_BODY))

        def run() -> dict[str, Any]:
            if reset:
                service.reset()
            return replay(service, doc).to_json()

        return JSONResponse(await run_in_threadpool(run))

    obj: dict[str, Any] = {"type": "object"}
    routes: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/_emulator/faults", add_fault, 201, "add_fault"),
        ("GET", "/_emulator/faults", list_faults, 200, "list_faults"),
        ("DELETE", "/_emulator/faults", clear_faults, 204, "clear_faults"),
        ("DELETE", "/_emulator/faults/{id}", delete_fault, 204, "delete_fault"),
        ("GET", "/_emulator/service", get_service, 200, "get_service"),
        ("POST", "/_emulator/service", post_service, 200, "post_service"),
        ("GET", "/_emulator/calls", get_calls, 200, "get_calls"),
        ("DELETE", "/_emulator/calls", clear_calls, 204, "clear_calls"),
        ("POST", "/_emulator/replay", post_replay, 200, "replay"),
    ]
    for method, path, handler, status, name in routes:
        body = method == "POST"
        app.add_api_route(
            path, handler, methods=[method], tags=tags, status_code=status,
            summary=f"{method} {path}", operation_id=f"emulator_{name}",
            responses={status: {"description": "Success"}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": obj}}}} if body else None,
        )


def call_name(method: str, path: str, body: bytes | None) -> str | None:
    """The fault-target name of an HTTP request to the HNS API (None: not an HNS call)."""
    method = method.upper()
    path = path.rstrip("/") or "/"
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0].startswith("_") or parts[0] in ("docs", "openapi.json", "redoc"):
        return None
    if path in ("/hnscall", "/hcn/call"):
        try:
            doc = json.loads(body or b"")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        if path == "/hcn/call":
            function, ident = doc.get("Function"), doc.get("Id")
            if not isinstance(function, str):
                return None
            return f"{function} {ident}" if isinstance(ident, str) and ident else function
        verb, where = doc.get("Method"), doc.get("Path")
        if not isinstance(verb, str) or not isinstance(where, str):
            return None
        return f"{verb.upper()} {where if where.startswith('/') else '/' + where}"
    if parts[0] == "hcn" and len(parts) >= 2 and parts[1] in KINDS:
        kind = parts[1]
        verb = {(2, "GET"): "Enumerate", (2, "POST"): "Create", (3, "GET"): "Query",
                (3, "DELETE"): "Delete", (4, "POST"): "Modify"}.get((len(parts), method))
        if verb is None or (len(parts) == 4 and parts[3] != "modify"):
            return None
        function = hcn_function(verb, kind)
        return f"{function} {parts[2]}" if len(parts) >= 3 else function
    if parts[0].lower() in _V1_COLLECTIONS:
        return f"{method} {path}/" if len(parts) == 1 else f"{method} {path}"
    return None
