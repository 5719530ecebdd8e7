"""Why a call was refused, on the wire and in the server log; and strict mode per request.

The body of an error answer stays exactly the HNS shape (clients parse it, and real HNS
says no more than ``The parameter is incorrect.``). The reason the emulator knows
(``HnsError.detail``: the field, the bad value, the accepted values or a "did you mean")
travels beside it:

- the ``X-HNS-Emulator-Detail`` response header on every error answer, including the
  call mirrors' 200 answers that carry a failure inside;
- one WARNING line per refused call on the ``hns_emulator`` logger (``serve`` prints it at
  its default ``--log-level``);
- the call log's ``Detail`` (hns/service/calllog.py), and ``HnsError.detail`` in ``api.client``.

All three use ``hns.errors.error_detail``, so they say the same words.

``StrictMode`` is the ASGI middleware that runs each request in strict mode
(hns/strict.py) when the server was started with ``--strict`` or the request carries
``X-HNS-Emulator-Strict: 1`` (``0`` turns it off for one request on a strict server).
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hns.errors import HnsError, error_detail
from hns.strict import strict_mode

__all__ = ["DETAIL_HEADER", "LOGGER", "STRICT_HEADER", "StrictMode", "header_text", "refused"]

DETAIL_HEADER: Final[str] = "X-HNS-Emulator-Detail"
STRICT_HEADER: Final[str] = "X-HNS-Emulator-Strict"
#: Header values are bytes on the wire; a detail longer than this is cut with "...".
MAX_HEADER: Final[int] = 4000

LOGGER: Final[logging.Logger] = logging.getLogger("hns_emulator")


def header_text(err: HnsError) -> str:
    """``error_detail(err)`` made safe for an HTTP header: one line, ASCII (anything else
    as a backslash escape, so a bad value a user sent stays recognisable), bounded."""
    text = error_detail(err).encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(ch if " " <= ch <= "~" else " " for ch in text)
    return text if len(text) <= MAX_HEADER else text[: MAX_HEADER - 3] + "..."


def refused(response: Response, method: str, path: str, err: HnsError) -> Response:
    """Put the detail header on an error ``response`` and log the refusal once."""
    text = header_text(err)
    response.headers[DETAIL_HEADER] = text
    LOGGER.warning(
        "refused %s %s: %s 0x%08X %s: %s",
        method or "-", path, response.status_code, err.hresult_unsigned, err.name, text,
    )
    return response


def _flag(value: bytes) -> bool | None:
    text = value.decode("latin-1").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


class StrictMode:
    """Runs each HTTP request with strict mode set from the server default and the
    request's ``X-HNS-Emulator-Strict`` header."""

    def __init__(self, app: ASGIApp, default: bool = False) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        on = self.default
        if scope["type"] == "http":
            for key, value in scope.get("headers", ()):
                if key == b"x-hns-emulator-strict":
                    flag = _flag(value)
                    on = on if flag is None else flag
                    break
        with strict_mode(on):
            await self.app(scope, receive, send)
