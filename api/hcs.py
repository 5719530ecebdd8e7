"""The HCS side of the Wine bridge, and the emulator's own compute-system routes.

``handle(host, export, id, body)`` answers one vmcompute.dll ``Hcs*`` export that
``api/bridge.py`` forwards (``POST /_bridge/<ExportName>``): it returns the HRESULT, the
canonical id (Create/Open) and the out string. On failure the out string is the HCS result
document hcsshim decodes (``internal/hcs/errors.go`` ``hcsResult``: ``Error`` as a signed
32-bit HRESULT, ``ErrorMessage``, ``ErrorEvents``). It never raises.

``register(app, host)`` adds ``/_emulator/computesystems`` so a test can make the
container that a V1 CNI plugin then hot-attaches to (docs/go-compat.md).
The model is ``hns.compute``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hns.compute import ComputeSystems, compute_systems
from hns.errors import HnsError, InvalidArg, InvalidJson
from hns.service import HnsService

__all__ = ["E_NOTIMPL", "E_UNEXPECTED", "handle", "register"]

Result = tuple[int, str | None, str | None]

E_NOTIMPL = 0x80004001
E_UNEXPECTED = 0x8000FFFF


def _systems(host: Any) -> ComputeSystems:
    service = getattr(host, "service", host)
    if not isinstance(service, HnsService):
        raise TypeError("the compute systems need the emulator's HnsService")
    return compute_systems(service)


def handle(host: Any, export: str, id: str | None, body: str | None) -> Result:
    """One ``Hcs*`` export: (hresult, canonical id, out string)."""
    try:
        return _dispatch(_systems(host), export, id, body)
    except HnsError as err:
        return err.hresult_unsigned, None, _result_document(err)
    except Exception as exc:  # a bug must still reach the caller as an HRESULT
        return E_UNEXPECTED, None, json.dumps(
            {"Error": _signed(E_UNEXPECTED), "ErrorMessage": "Catastrophic failure",
             "ErrorEvents": [{"Message": f"{type(exc).__name__}: {exc}"}]})


def _dispatch(systems: ComputeSystems, export: str, id: str | None, body: str | None) -> Result:
    if export == "HcsEnumerateComputeSystems":
        return 0, None, json.dumps(systems.list(body))
    if export == "HcsCreateComputeSystem":
        return 0, systems.create(id, body).id, None
    if export == "HcsOpenComputeSystem":
        return 0, systems.get(id).id, None
    if export == "HcsGetComputeSystemProperties":
        return 0, None, json.dumps(systems.get(id).properties())
    if export == "HcsModifyComputeSystem":
        systems.modify(id, body)
        return 0, None, None
    if export == "HcsStartComputeSystem":
        systems.start(id)
        return 0, None, None
    if export in ("HcsShutdownComputeSystem", "HcsTerminateComputeSystem"):
        systems.terminate(id)
        return 0, None, None
    if export == "HcsCloseComputeSystem":
        return 0, None, None  # a handle closes even when its system has gone
    return E_NOTIMPL, None, json.dumps(
        {"Error": _signed(E_NOTIMPL), "ErrorMessage": "Not implemented",
         "ErrorEvents": [{"Message": f"{export} is not emulated"}]})


def _signed(hresult: int) -> int:
    return hresult - (1 << 32) if hresult & 0x80000000 else hresult


def _result_document(err: HnsError) -> str:
    doc: dict[str, Any] = {"Error": _signed(err.hresult_unsigned), "ErrorMessage": err.message}
    if err.detail:
        doc["ErrorEvents"] = [{"Message": err.detail, "Source": "hns-emulator"}]
    return json.dumps(doc)


# -- /_emulator/computesystems ---------------------------------------------------------


def register(app: FastAPI, host: Any) -> None:
    """``GET/POST /_emulator/computesystems``, ``GET/DELETE /_emulator/computesystems/{id}``,
    ``POST /_emulator/computesystems/{id}/modify``. Errors are the HNS error document
    with the HCS HRESULT (HCS_E_SYSTEM_NOT_FOUND 404, ...)."""
    systems = _systems(host)
    tags: list[Any] = ["emulator: compute systems"]

    async def list_systems(request: Request) -> Response:
        query = request.query_params.get("query")
        return JSONResponse(await run_in_threadpool(systems.list, query))

    async def create_system(request: Request) -> Response:
        doc = await _object(request)
        ident = doc.get("Id")
        start = doc.pop("Start", True)
        if not isinstance(start, bool):
            raise InvalidArg(detail="Start must be true or false")
        config = {k: v for k, v in doc.items() if k != "Id"}
        system = await run_in_threadpool(systems.create, ident, json.dumps(config))
        if start:
            system = await run_in_threadpool(systems.start, system.id)
        return JSONResponse(system.properties(), status_code=201)

    async def get_system(request: Request, id: str) -> Response:
        return JSONResponse((await run_in_threadpool(systems.get, id)).properties())

    async def delete_system(request: Request, id: str) -> Response:
        await run_in_threadpool(systems.terminate, id)
        return Response(status_code=204)

    async def modify_system(request: Request, id: str) -> Response:
        text = (await request.body()).decode("utf-8", errors="replace")
        await run_in_threadpool(systems.modify, id, text)
        return Response(status_code=204)

    base = "/_emulator/computesystems"
    app.add_api_route(base, list_systems, methods=["GET"], tags=tags)
    app.add_api_route(base, create_system, methods=["POST"], status_code=201, tags=tags)
    app.add_api_route(base + "/{id}", get_system, methods=["GET"], tags=tags)
    app.add_api_route(base + "/{id}", delete_system, methods=["DELETE"], status_code=204,
                      tags=tags)
    app.add_api_route(base + "/{id}/modify", modify_system, methods=["POST"],
                      status_code=204, tags=tags)


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        doc = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise InvalidJson(detail="body is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidJson(detail="body is not a JSON object")
    return doc
