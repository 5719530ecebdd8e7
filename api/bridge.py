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
Fault rules that wait (Latency, Hang) are decided and awaited here, on the event loop,
exactly as ``api.emulator.FaultWaits`` does for the other HNS routes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
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


async def _wait_faults(service: Any, name: str) -> Any:
    """Latency/Hang rules for this call, awaited here so the event loop never blocks.

    Returns the contextvar token (or None) for ``hns.faults.decided``; see FaultWaits.
    """
    faults = getattr(service, "faults", None)
    if faults is None or not faults.has_waits() or not getattr(service, "running", True):
        return None
    from hns.faults import decided

    decision = faults.decide(name)
    decision.generation = service.calls.generation
    if decision.waits:
        decision.ended = await faults.wait_async(decision)
    decision.waited = True
    return decided.set(decision)


def _reset_faults(token: Any) -> None:
    if token is not None:
        from hns.faults import decided

        decided.reset(token)


def _hcn(service: Any, export: str, id: str | None, parent: str | None,
         body: str | None) -> Response:
    if export == "HcnCreateEndpoint" and parent is not None:
        body = _with_network(body, parent)
    given = None if id is None or export.startswith("HcnEnumerate") else id
    result = service.hcn_call(export, given, body)
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


def _hns(service: Any, method: str | None, path: str | None, body: str | None) -> Response:
    if method is None or path is None:
        raise InvalidArg(detail="HNSCall needs X-Bridge-Method and X-Bridge-Path")
    try:
        output = service.hns_call(method.upper(), path, body or None)
        envelope = v1_success(output)
    except HnsError as err:
        envelope = v1_error(err)
    # HNSCall itself succeeds; the failure travels in the envelope (hcsshim reads it).
    return _answer(0, json.dumps(envelope, **_JSON))


def _hcs(host: Any, export: str, id: str | None, body: str | None) -> Response:
    if importlib.util.find_spec("api.hcs") is None:
        raise ENotImpl(detail=f"{export}: this emulator has no compute-system model")
    module = importlib.import_module("api.hcs")
    hresult, canonical, out = module.handle(host, export, id, body)
    return _answer(hresult, out, canonical)


def _too_large() -> Response:
    # Not a call the emulator handled, so no X-Bridge-HResult: the DLL maps 413 to
    # E_INVALIDARG, the HRESULT the body names too.
    return JSONResponse(v1_error(InvalidArg(detail="request too large")), status_code=413)


def register(app: FastAPI, service: Any, host: Any, max_body: int) -> None:
    """Add ``POST /_bridge/{export}``: ``service`` answers Hcn*/HNSCall, ``host`` Hcs*;
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
        name = _call_name(export, id, method, path)
        token = await _wait_faults(service, name) if name else None
        try:
            if export.startswith("Hcn"):
                return _hcn(service, export, id, parent, body)
            if export == "HNSCall":
                return _hns(service, method, path, body)
            if export.startswith("Hcs"):
                return _hcs(host, export, id, body)
            raise ENotImpl(detail=f"no export {export!r}")
        except HnsError as err:
            return _error(err)
        finally:
            _reset_faults(token)

    app.add_api_route(
        BRIDGE_PREFIX + "{export}",
        bridge,
        methods=["POST"],
        tags=["call mirrors"],
        summary="One export of the stand-in computenetwork.dll / vmcompute.dll",
        operation_id="bridge",
        include_in_schema=False,
    )


def _call_name(export: str, id: str | None, method: str | None, path: str | None) -> str | None:
    """The fault-target name the service gives this call (hns_call / hcn_call)."""
    if export == "HNSCall":
        if method is None or path is None:
            return None
        return f"{method.upper()} {path if path.startswith('/') else '/' + path}"
    if export.startswith("Hcn"):
        if export.startswith("HcnEnumerate") or not id:
            return export
        return f"{export} {id}"
    return None
