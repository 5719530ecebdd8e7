"""What the route modules of the app share: the backend contract (``HnsBackend``),
request bodies read into the text the backend takes, and the OpenAPI fragments of the
HNS answers (V1 envelope, error body)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from fastapi import Request
from fastapi.responses import Response

from api import bigjson
from api.limits import read_body
from api.wire import (
    ZERO_GUID,
)
from hns.errors import InvalidArg, InvalidJson
from hns.textcheck import check_json_text


class HnsBackend(Protocol):
    """What the app needs of ``hns.service.HnsService`` (the contract's names)."""

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any: ...
    def hcn_call(
        self, function: str, id: str | None = None, settings: str | None = None
    ) -> Any: ...
    def globals_version(self) -> dict[str, int]: ...
    @property
    def profile(self) -> str: ...
    def set_profile(self, name: str) -> None: ...
    def reset(self) -> None: ...
    def dump(self) -> dict[str, Any]: ...
    def load(self, dump: dict[str, Any]) -> None: ...
    def import_capture(self, text: str) -> list[str]: ...
    def reboot(self) -> None: ...


Call = Callable[..., Awaitable[Any]]
Handler = Callable[..., Awaitable[Response]]


# -- request bodies ------------------------------------------------------------------


async def read_request_body(request: Request, limit: int) -> bytes:
    return await read_body(request, limit)


def body_text(body: bytes) -> str | None:
    """The body as text for the backend; an empty body is no request at all.

    A UTF-8 byte-order mark is dropped: PowerShell's ``Out-File``/``Set-Content`` write
    one, and ``Invoke-RestMethod -InFile`` sends it along.
    """
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidJson() from None
    check_json_text(text)  # nothing unencodable gets as far as a write
    return text


def json_object(body: bytes) -> dict[str, Any]:
    text = body_text(body)
    if text is None:
        raise InvalidJson()
    try:
        value = bigjson.loads(text)  # a state body in pieces: the loop runs in between
    except (ValueError, RecursionError):
        raise InvalidJson() from None
    if not isinstance(value, dict):
        raise InvalidJson()
    return value


def as_json_text(value: Any, *, field: str) -> str | None:
    """A call mirror's Request/Settings/Query: JSON text as is, or an object re-encoded."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value)
    raise InvalidArg(detail=f"{field} must be a JSON string or object")


def caller_id(text: str | None) -> str | None:
    """The ``ID`` a V2 create body carries, if it is a usable non-zero string."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict):
        given = value.get("ID", value.get("Id"))
        if isinstance(given, str) and given and given.strip("{}").lower() != ZERO_GUID:
            return given
    return None


# -- OpenAPI fragments ---------------------------------------------------------------

ERROR_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Success", "Error"],
    "properties": {
        "Success": {"type": "boolean"},
        "Error": {"type": "string"},
        "ErrorCode": {"type": "integer"},
    },
}
ENVELOPE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Success"],
    "properties": {
        "Success": {"type": "boolean"},
        "Error": {"type": "string"},
        "ErrorCode": {"type": "integer"},
        "Output": {},
    },
}


def json_body(schema: Mapping[str, Any] | None = None, *, required: bool = False) -> Any:
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": dict(schema or {"type": "object"})}},
        }
    }


def responses(ok: int, ok_schema: Mapping[str, Any] | None) -> dict[int | str, Any]:
    error = {"description": "HNS error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    ok_entry: dict[str, Any] = {"description": "Success"}
    if ok_schema is not None:
        ok_entry["content"] = {"application/json": {"schema": dict(ok_schema)}}
    return {ok: ok_entry, 400: error, 404: error, 409: error, 413: error}
