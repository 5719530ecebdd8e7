"""Offline /docs and /redoc (assets from the fastapi-offline package, no CDN) and the
extras a user installs (slim for the plugin, test for the README command, dev linters)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.docs import ASSET_FILES, asset_dir
from hns.service import HnsService

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def http() -> TestClient:
    return TestClient(create_app(HnsService(state=":memory:")))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_load_nothing_from_outside(http: TestClient, page: str) -> None:
    r = http.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", r.text)
    assert urls, r.text
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from outside"
        if url.startswith("/docs/assets/"):
            asset = http.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
    assert "http://" not in r.text
    assert "https://" not in r.text.replace(
        "https://github.com", "")


def test_assets_come_from_the_package_not_the_repository() -> None:
    folder = asset_dir()
    for name in ASSET_FILES:
        assert (folder / name).is_file(), name
    assert ROOT not in folder.parents  # installed from PyPI, never committed here
    committed = {p.name for p in (ROOT / "api").rglob("*.js")}
    assert committed <= {"app.js"}  # the web view's own script is the only JS we ship


def test_openapi_still_served_and_docs_routes_not_in_it(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    assert "/docs" not in spec["paths"]
    assert "/ui" not in spec["paths"]
    assert "/ui/api/overview" in spec["paths"]


def _extras() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = data["project"]["optional-dependencies"]
    return extras


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_slim_extra_is_the_plugin_and_strategies_only() -> None:
    extras = _extras()
    assert _names(extras["slim"]) == {"pytest", "hypothesis"}


def test_linters_are_in_dev_not_in_what_users_install() -> None:
    extras = _extras()
    linters = {"ruff", "mypy", "import-linter"}
    assert linters <= _names(extras["dev"])
    assert not linters & _names(extras["slim"])
    assert not linters & _names(extras["test"])


def test_test_extra_has_what_the_readme_test_command_needs() -> None:
    test = _extras()["test"]
    assert "hns-emulator[slim]" in test  # everything slim has
    needed = {"pytest-timeout", "pytest-xdist", "scapy", "dpkt", "schemathesis", "selenium"}
    assert needed <= _names(test)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "'.[test,dev]'" in ci  # CI's linters come from the dev extra
