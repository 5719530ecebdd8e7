"""Fixtures for the tests of the pytest plugin and the test helpers.

Under ``pytest -n 2`` this process is an xdist worker: PYTEST_XDIST_WORKER and friends are
in its environment, and a pytester run (in process or as a subprocess) would inherit them
and believe it is a worker of a two-worker session too (the plugin then refuses a single
``--hns-url``). Each test here starts from an environment without them."""

from __future__ import annotations

import pytest

XDIST_VARIABLES = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in XDIST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
