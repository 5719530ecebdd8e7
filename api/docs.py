"""The interactive API docs at /docs (Swagger UI) and /redoc, served without a CDN.

FastAPI's own pages load their JavaScript, CSS, favicon and (ReDoc) fonts from public
CDNs, so on an offline CI machine or an air-gapped lab they render blank. The assets come
instead from the ``fastapi-offline`` package on PyPI (a dependency: it ships
``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js`` and a favicon);
this module mounts its ``static`` folder at ``/docs/assets`` and renders FastAPI's page
templates pointing there. Nothing third-party is committed to this repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "asset_dir", "register"]

ASSETS_URL: Final[str] = "/docs/assets"
#: The pages may load nothing from elsewhere: ReDoc's bundle links a logo on a CDN in its
#: sidebar footer (it hides the image when that fails); the policy stops the request.
CSP: Final[str] = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; connect-src 'self'"
)
ASSET_FILES: Final[tuple[str, ...]] = (
    "swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def asset_dir() -> Path:
    """The folder holding the Swagger UI and ReDoc bundles (from ``fastapi-offline``)."""
    return Path(str(files("fastapi_offline") / "static"))


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def register(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and the asset mount to ``app``."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"
    app.mount(ASSETS_URL, StaticFiles(directory=asset_dir()), name="docs-assets")

    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _local_only(get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        ))

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _local_only(get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        ))

    # Plain Starlette routes (as FastAPI's own docs routes): HTML pages, not API operations.
    app.add_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_route(redirect_url, oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
