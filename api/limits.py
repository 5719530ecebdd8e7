"""Request body limits, applied before anything is buffered.

Every route that takes a body reads it through :func:`read_body`: a declared
``Content-Length`` over the route's limit is refused before one byte is read, and a
chunked body is counted as it streams in and refused the moment it passes the limit, so
no route (with or without fault rules) holds more than its limit in memory.  The refusal
is :class:`Refused` (413 with E_INVALIDARG in the HNS shape; api/app.py renders it).
Framing errors the HTTP server raises itself (a negative Content-Length, a malformed
request line) and read timeouts are api/transport.py's.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from hns.errors import HnsError, InvalidArg

__all__ = ["DEFAULT_READ_TIMEOUT", "Refused", "read_body"]

#: Seconds a connection may wait on its client mid-request (head or body) before the
#: server answers 408 and closes it (api/transport.py; ``serve --read-timeout``).
DEFAULT_READ_TIMEOUT: Final = 15.0


class Refused(Exception):
    """An HnsError with an HTTP status chosen by the wire layer (413, 401, ...)."""

    def __init__(self, err: HnsError, status: int) -> None:
        super().__init__(err.message)
        self.err = err
        self.status = status


def _too_large(limit: int) -> Refused:
    return Refused(InvalidArg(detail=f"request body larger than {limit} bytes"), 413)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (:class:`Refused` 413 beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
