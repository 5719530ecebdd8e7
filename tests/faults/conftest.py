"""Fixtures for the faults tests: a fresh in-memory HnsService per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hns.service import HnsService


@pytest.fixture
def svc() -> Iterator[HnsService]:
    service = HnsService()
    try:
        yield service
    finally:
        service.close()
