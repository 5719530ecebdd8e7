"""The HTTP server's own edge: read timeouts and HNS-shaped answers to framing errors.

uvicorn parses HTTP before the app sees anything.  Left as is, it answered a malformed
request (a negative ``Content-Length``, a broken request line) in plain text, and it kept
a connection that sent nothing, or half a request, open forever.  :class:`HnsH11Protocol`
is uvicorn's h11 protocol with two changes:

- every 400 it raises itself carries the HNS error body (E_INVALIDARG in the HCN shape,
  ``{"Success": false, "Error": "The parameter is incorrect. ", "ErrorCode": ...}``);
- a connection waiting on the client (for a request's head, or for the rest of a body)
  that receives nothing for ``read_timeout`` seconds gets a 408 in the same shape, if a
  request had begun, and is closed.  A request whose body is complete is never timed
  out: a call waiting on a Hang rule belongs to the app, not to this timer.  Idle
  keep-alive connections after a response keep uvicorn's own (shorter) timeout.

:func:`uvicorn_options` puts it in place (api/serving.py, the CLI's ``serve``), with a
bounded graceful shutdown so SIGTERM ends the process promptly even with calls hanging on
fault rules, on asyncio's own event loop.

The loop is named, not left to uvicorn's ``auto``, which silently switches to uvloop
wherever that happens to be installed (``uvicorn[standard]`` brings it): a server
would then run differently from the one measured and tested.  uvloop was measured at
kube-proxy scale (bench/scale.py ``--quick``, five alternating pairs on this 2-core
machine): no better worst health latency under 16 clients (median of the mixed phase's
worst 85 ms against asyncio's 70) and fewer mixed requests per second (median 358
against 455).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.limits import DEFAULT_READ_TIMEOUT
from api.wire import v2_error
from hns.errors import InvalidArg

__all__ = ["HnsH11Protocol", "read_token_file", "uvicorn_options"]

#: Seconds SIGTERM waits for requests still running before it closes them.
SHUTDOWN_GRACE: Final = 2


_REASONS: Final = {400: b"Bad Request", 408: b"Request Timeout"}


def _hns_body(message: str) -> bytes:
    return json.dumps(v2_error(InvalidArg(detail=message))).encode()


class HnsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with HNS-shaped framing errors and read timeouts."""

    read_timeout: float = DEFAULT_READ_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_read_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._arm_read_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_read_timer()

    def send_400_response(self, msg: str) -> None:
        self._send_error(400, msg)

    # -- the read timer ---------------------------------------------------------------

    def _waiting_on_client(self) -> bool:
        their = self.conn.their_state
        if their is h11.SEND_BODY:
            return True
        if their is h11.IDLE:
            # Before a first request, or a new one after a response (keep-alive).
            return self.cycle is None or self.cycle.response_complete
        return False

    def _arm_read_timer(self) -> None:
        self._disarm_read_timer()
        if self.transport is None or self.transport.is_closing():
            return
        if self._waiting_on_client():
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or not self._waiting_on_client():
            return
        begun = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        if begun and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # the app's answer, if any, goes nowhere
            self._send_error(408, f"no request data for {self.read_timeout:g} seconds")
        else:
            self.transport.close()

    def _send_error(self, status: int, msg: str) -> None:
        """Answer ``status`` in the HNS shape and close; written directly, since h11 may
        be in a state (a broken or half-read request) where it would refuse a response."""
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.close()  # an answer has begun: closing is all that is left
            return
        body = _hns_body(msg)
        reason = _REASONS.get(status, b"Error")
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                             % (status, reason, len(body), body))
        self.transport.close()


def uvicorn_options(read_timeout: float = DEFAULT_READ_TIMEOUT) -> dict[str, Any]:
    """The ``uvicorn.Config`` options that put this module's edge in place (the CLI's
    ``serve``, api/serving.py): :class:`HnsH11Protocol` with ``read_timeout``, asyncio's
    event loop whatever else is installed, and a bounded graceful shutdown, so SIGTERM
    ends the process promptly even with calls hanging on fault rules."""
    protocol = type("HnsH11Protocol", (HnsH11Protocol,), {"read_timeout": read_timeout})
    return {"http": protocol, "loop": "asyncio", "timeout_graceful_shutdown": SHUTDOWN_GRACE}


def read_token_file(path: str) -> str:
    """The token in the first line of ``path`` (ValueError if there is none)."""
    with open(path, encoding="utf-8") as handle:
        token = handle.readline().strip()
    if not token:
        raise ValueError("the file holds no token")
    return token
