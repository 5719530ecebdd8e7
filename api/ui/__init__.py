"""The web view of the emulated host at ``/ui/``, served by the emulator itself.

Pages (one HTML shell; ``static/app.js`` draws the page the path names)::

    /ui/                       overview: profile, service, networks, endpoints, remote
                               endpoints with their PA, load balancers, namespaces, routes
    /ui/endpoints/<id>         the endpoint's VFP port: layers in evaluation order per
                               direction, groups, rules, counters, flows
    /ui/trace[?port=<id>]      packet tracer (a 5-tuple through process-tuples, or a
                               pasted frame injected with a trace)
    /ui/calls                  the call log as a timeline: HRESULTs, details, faults
    /ui/topology               SVG picture: this host, its networks and endpoints, and a
                               PA tunnel to every remote provider address

Data: ``GET /ui/api/overview`` (api/ui/overview.py) plus the routes that already exist
(``/vfp/...``, ``/_emulator/calls``), so the view shows exactly what clients see. The
pages poll ``/_emulator/calls?since=N`` once a second and redraw when something changed
("live"). Every asset is a file of this package under ``/ui/assets/``: no CDN, no
third-party code. Keyboard: ``g`` then ``o``/``t``/``c``/``p`` goes to a page, ``/``
focuses the filter, ``p`` pauses live updates, ``?`` lists the keys; everything else is
ordinary links, buttons and forms.

A server started with a bearer token (a non-loopback bind) wants the token on every
request, which a browser does not send on its own: the view is for loopback servers.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.ui.overview import overview

__all__ = ["STATIC", "register"]

STATIC: Final[Path] = Path(__file__).parent / "static"
PAGES: Final[tuple[str, ...]] = ("/ui", "/ui/trace", "/ui/calls", "/ui/topology")


#: Everything the view loads is its own (no CDN, nothing inline but style attributes).
CSP: Final[str] = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"


def _shell(title: str) -> HTMLResponse:
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    page = HTMLResponse(template.replace("{{title}}", html.escape(title)))
    page.headers["Content-Security-Policy"] = CSP
    return page


def register(app: FastAPI, host: Any) -> None:
    """Add the /ui pages, /ui/api/overview and the asset mount (needs a full Host: a
    bare backend without a call log gets no web view)."""
    if not hasattr(getattr(host, "service", None), "calls"):
        return
    app.mount("/ui/assets", StaticFiles(directory=STATIC), name="ui-assets")

    async def page(request: Request) -> Response:
        return _shell("hns-emulator")

    async def endpoint_page(request: Request) -> Response:
        return _shell(f"endpoint {request.path_params['id']} - hns-emulator")

    async def overview_doc(request: Request) -> Response:
        # a deep copy of the whole state: off the event loop, like /_emulator/state
        return JSONResponse(await run_in_threadpool(overview, host))

    # Pages are plain Starlette routes (HTML, not API operations); the data is an API route.
    for path in PAGES:
        app.add_route(path, page, methods=["GET"], include_in_schema=False)
    app.add_route("/ui/endpoints/{id}", endpoint_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/ui/api/overview",
        overview_doc,
        methods=["GET"],
        tags=["web view"],
        summary="The host overview the web view draws",
        operation_id="ui_overview",
    )
