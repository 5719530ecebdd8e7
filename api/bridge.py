"""The route the stand-in DLLs call: ``POST /_bridge/<ExportName>``, one request per export.

The DLLs in ``wine/`` (computenetwork.dll, vmcompute.dll) are small C that must never parse
JSON, so this wire form keeps everything they need out of the body:

- request headers: ``X-Bridge-Id`` (the object id the export was given, or the id stored in
  the handle), ``X-Bridge-Parent-Id`` (the network of ``HcnCreateEndpoint``),
  ``X-Bridge-Method`` / ``X-Bridge-Path`` (``HNSCall``), ``X-Bridge-Null: 1`` (the input
  string pointer was NULL). Header values are percent-encoded UTF-8.
- request body: the export's one input string (settings, query, request, configuration).
- answer: HTTP 200 whenever the emulator handled the call, ``X-Bridge-HResult: 0x%08X``,
  ``X-Bridge-Id`` (canonical id, for Create/Open), and the out string as the UTF-8 body:
  properties, id list, V1 envelope, HCS result, or the error record on failure;
  ``X-Bridge-Out: none`` when there is none (the DLL then sets the out pointer to NULL).

Dispatch: ``Hcn*`` -> ``service.hcn_call`` (same faults and call log as ``/hcn/call``),
``HNSCall`` -> ``service.hns_call`` answered with the V1 envelope, ``Hcs*`` ->
``api.hcs.handle`` (the compute-system model) when that module exists, else E_NOTIMPL.
Every call runs through the app's ``api.calls.CallRunner``, as on the other HNS routes:
in its thread pool, with Latency/Hang fault waits awaited on the event loop first.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from api.wire import unsigned, v1_error, v1_success, v2_error
from hns.errors import HnsError, InvalidArg, InvalidJson
from hns.errors import NotImplemented as ENotImpl

__all__ = ["BRIDGE_PREFIX", "register"]

BRIDGE_PREFIX: Final[str] = "/_bridge/"
#: How many times ``max_body`` an oversized request is read before it is refused anyway.
_DRAIN_LIMIT: Final[int] = 16
Call = Callable[..., Awaitable[Any]]
_JSON: Final[dict[str, Any]] = {"ensure_ascii": False, "separators": (",", ":")}


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    return None if value is None else unquote(value, errors="strict")


def _answer(hresult: int, out: str | None, id: str | None = None) -> Response:
    headers = {"X-Bridge-HResult": f"0x{unsigned(hresult):08X}"}
    if id is not None:
        headers["X-Bridge-Id"] = quote(id, safe="")
    if out is None:
        headers["X-Bridge-Out"] = "none"
        return Response(b"", headers=headers, media_type="text/plain; charset=utf-8")
    return Response(out.encode("utf-8"), headers=headers, media_type="text/plain; charset=utf-8")


def _error(err: HnsError) -> Response:
    """A refused call: its HRESULT and the error record real HNS writes."""
    return _answer(err.hresult, json.dumps(v2_error(err), **_JSON))


async def _hcn(service: Any, call: Call, export: str, id: str | None, parent: str | None,
               body: str | None) -> Response:
    if export == "HcnCreateEndpoint" and parent is not None:
        body = _with_network(body, parent)
    given = None if id is None or export.startswith("HcnEnumerate") else id
    result = await call(service.hcn_call, export, given, body)
    if export.startswith("HcnCreate"):
        canonical = result.get("ID") if isinstance(result, dict) else None
        return _answer(0, None, canonical if isinstance(canonical, str) else given)
    if export.startswith("HcnOpen"):
        return _answer(0, None, given)
    return _answer(0, None if result is None else json.dumps(result, **_JSON))


def _with_network(body: str | None, network: str) -> str | None:
    """HcnCreateEndpoint's settings with the network the handle names.

    Windows creates the endpoint on the network of the handle; hcsshim also writes
    ``HostComputeNetwork`` into the settings, and the two agree. Settings that are not a
    JSON object are left for the service to refuse with its own error.
    """
    if body is None:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if not isinstance(doc, dict):
        return body
    doc["HostComputeNetwork"] = network
    return json.dumps(doc, **_JSON)


async def _hns(service: Any, call: Call, method: str | None, path: str | None,
               body: str | None) -> Response:
    if method is None or path is None:
        raise InvalidArg(detail="HNSCall needs X-Bridge-Method and X-Bridge-Path")
    try:
        output = await call(service.hns_call, method.upper(), path, body or None)
        envelope = v1_success(output)
    except HnsError as err:
        envelope = v1_error(err)
    # HNSCall itself succeeds; the failure travels in the envelope (hcsshim reads it).
    return _answer(0, json.dumps(envelope, **_JSON))


async def _hcs(host: Any, call: Call, export: str, id: str | None,
               body: str | None) -> Response:
    if importlib.util.find_spec("api.hcs") is None:
        raise ENotImpl(detail=f"{export}: this emulator has no compute-system model")
    module = importlib.import_module("api.hcs")
    hresult, canonical, out = await call(module.handle, host, export, id, body)
    return _answer(hresult, out, canonical)


def _too_large() -> Response:
    # Not a call the emulator handled, so no X-Bridge-HResult: the DLL maps 413 to
    # E_INVALIDARG, the HRESULT the body names too.
    return JSONResponse(v1_error(InvalidArg(detail="request too large")), status_code=413)


def register(app: FastAPI, service: Any, host: Any, call: Call, max_body: int) -> None:
    """Add ``POST /_bridge/{export}``: ``service`` answers Hcn*/HNSCall, ``host`` Hcs*,
    each call run by ``call`` (api.calls.CallRunner: the pool, fault waits on the loop);
    input strings over ``max_body`` bytes are refused with 413, like every other route."""

    async def bridge(request: Request, export: str) -> Response:
        raw = bytearray()
        size = 0
        async for chunk in request.stream():
            # An oversized body is still read (up to a bound) before the 413: answering
            # while the DLL is still sending makes the kernel reset the connection, and
            # the DLL would see a dropped call instead of the refusal.
            size += len(chunk)
            if size <= max_body:
                raw += chunk
            elif size > _DRAIN_LIMIT * max_body:
                break
        if size > max_body:
            return _too_large()
        try:
            body = None if request.headers.get("x-bridge-null") == "1" else raw.decode("utf-8")
            id = _header(request, "x-bridge-id")
            parent = _header(request, "x-bridge-parent-id")
            method = _header(request, "x-bridge-method")
            path = _header(request, "x-bridge-path")
        except UnicodeDecodeError:
            return _error(InvalidJson(detail="the bridge request is not UTF-8"))
        try:
            if export.startswith("Hcn"):
                return await _hcn(service, call, export, id, parent, body)
            if export == "HNSCall":
                return await _hns(service, call, method, path, body)
            if export.startswith("Hcs"):
                return await _hcs(host, call, export, id, body)
            raise ENotImpl(detail=f"no export {export!r}")
        except HnsError as err:
            return _error(err)

    app.add_api_route(
        BRIDGE_PREFIX + "{export}",
        bridge,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One export of the stand-in computenetwork.dll / vmcompute.dll",
        operation_id="bridge",
    )
