"""The bodies HNS answers with: the V1 envelope and the V2 error record (api/wire.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hns.schema.base import HnsModel

__all__ = ["HnsErrorRecord", "V1Envelope"]


class V1Envelope(HnsModel):
    """Every V1 answer: ``{"Success", "Error", "Output"}``; on failure also ``ErrorCode``
    (the HRESULT as an unsigned 32-bit number) and no ``Output``."""

    success: bool
    error: str | None = None
    error_code: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    output: Any = None


class HnsErrorRecord(HnsModel):
    """A failed V2 call's result JSON: ``Error`` (the HNS message, a trailing space as real
    HNS writes it) and ``ErrorCode`` (unsigned HRESULT).  The emulator's /vfp routes add
    ``Detail``."""

    success: bool
    error: str
    error_code: int | None = Field(None, ge=0, le=(1 << 32) - 1)
    detail: str | None = None
