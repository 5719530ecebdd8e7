"""Big JSON documents in and out without holding the GIL for long.

``json.loads`` and ``json.dumps`` are single C calls: they hold the GIL from the first
byte to the last, and no switch interval can interrupt them.  Run in a worker thread
they still stop the event loop for the whole call; a node's state (``PUT
/_emulator/state``, 4-10 MB at kube-proxy scale) took 150-250 ms to parse, and as long
the server answered nothing, health included (bench/scale.py's node_load phase).

So a big document is taken apart in Python down to ``SPLIT_DEPTH`` levels (the dump's
``Objects`` -> kind -> list of objects) and each piece below is decoded or encoded by
the C codec on its own: between pieces the interpreter can hand the GIL to the loop.
The results are exactly ``json.loads``'s and ``json.dumps``'s (same values, same errors
for bad text, same bytes out); texts and values under ``SMALL`` go to the C codec whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.decoder import JSONDecodeError
from typing import Any, Final

from fastapi.responses import JSONResponse

__all__ = ["SMALL", "SPLIT_DEPTH", "BigJSONResponse", "dumps", "loads"]

#: Containers this shallow are walked in Python; deeper values go to the C codec whole.
SPLIT_DEPTH: Final = 3
#: Texts shorter than this are parsed in one C call (a request body is a few KiB).
SMALL: Final = 64 * 1024

_DECODER: Final = json.JSONDecoder()
#: The C string scanner the decoder itself uses (not in typeshed's json.decoder).
_scanstring: Final[Callable[[str, int, bool], tuple[str, int]]] = \
    json.decoder.scanstring  # type: ignore[attr-defined]
_WS: Final = re.compile(r"[ \t\n\r]*")


def loads(text: str) -> Any:
    """``json.loads(text)``, in pieces when ``text`` is big."""
    if len(text) < SMALL or text.startswith("\ufeff"):
        return json.loads(text)
    value, end = _value(text, _skip(text, 0), 0)
    end = _skip(text, end)
    if end != len(text):
        raise JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, at: int) -> int:
    match = _WS.match(text, at)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _value(text: str, at: int, depth: int) -> tuple[Any, int]:
    if depth < SPLIT_DEPTH:
        head = text[at:at + 1]
        if head == "{":
            return _object(text, at + 1, depth + 1)
        if head == "[":
            return _array(text, at + 1, depth + 1)
    return _DECODER.raw_decode(text, at)


def _object(text: str, at: int, depth: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    at = _skip(text, at)
    if text[at:at + 1] == "}":
        return out, at + 1
    while True:
        if text[at:at + 1] != '"':
            raise JSONDecodeError("Expecting property name enclosed in double quotes", text, at)
        key, at = _scanstring(text, at + 1, True)
        at = _skip(text, at)
        if text[at:at + 1] != ":":
            raise JSONDecodeError("Expecting ':' delimiter", text, at)
        out[key], at = _value(text, _skip(text, at + 1), depth)
        at = _skip(text, at)
        sep = text[at:at + 1]
        if sep == "}":
            return out, at + 1
        if sep != ",":
            raise JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)


def _array(text: str, at: int, depth: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    at = _skip(text, at)
    if text[at:at + 1] == "]":
        return out, at + 1
    while True:
        item, at = _value(text, at, depth)
        out.append(item)
        at = _skip(text, at)
        sep = text[at:at + 1]
        if sep == "]":
            return out, at + 1
        if sep != ",":
            raise JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip(text, at + 1)


def dumps(value: Any, *, ensure_ascii: bool = True, allow_nan: bool = True,
          separators: tuple[str, str] = (", ", ": ")) -> str:
    """``json.dumps(value, ...)`` with these options, in pieces."""

    def encode(piece: Any) -> str:
        return json.dumps(piece, ensure_ascii=ensure_ascii, allow_nan=allow_nan,
                          separators=separators)

    parts: list[str] = []
    _encode(value, 0, parts, encode, separators)
    return "".join(parts)


def _encode(value: Any, depth: int, out: list[str], encode: Callable[[Any], str],
            separators: tuple[str, str]) -> None:
    item_sep, key_sep = separators
    if depth < SPLIT_DEPTH and type(value) is dict and all(type(k) is str for k in value):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if n:
                out.append(item_sep)
            out.append(encode(key))
            out.append(key_sep)
            _encode(item, depth + 1, out, encode, separators)
        out.append("}")
    elif depth < SPLIT_DEPTH and type(value) in (list, tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(item_sep)
            _encode(item, depth + 1, out, encode, separators)
        out.append("]")
    else:
        out.append(encode(value))


class BigJSONResponse(JSONResponse):
    """A ``JSONResponse`` (same bytes) rendered in pieces: for whole-state answers, built
    in a worker thread (the rendering happens in the constructor)."""

    def render(self, content: Any) -> bytes:
        return dumps(content, ensure_ascii=False, allow_nan=False,
                     separators=(",", ":")).encode("utf-8")
