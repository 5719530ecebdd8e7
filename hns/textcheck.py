"""Strings the emulator can write back out: the check before any write, and the repair of
what an older state file already holds.

A JSON escape can spell a lone UTF-16 surrogate (``"\\ud800"``); Python's ``json`` parses
it into a ``str`` that no UTF-8 encoder accepts.  Stored, such a value made every route
that lists it answer 500, also after a restart.  So:

- :func:`refuse_unencodable` (a parsed document) and :func:`check_json_text` (request text
  before it is parsed) raise E_INVALIDARG naming the field, before anything is written;
  a surrogate *pair* (``"\\ud83d\\ude00"``) is one valid character and passes;
- :func:`scrub` repairs a value read from an older store: every lone surrogate becomes
  U+FFFD, so the object still loads and lists (docs/fidelity.md, "Server robustness").
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from hns.errors import InvalidArg

__all__ = ["check_json_text", "has_surrogate_escape", "refuse_unencodable", "scrub",
           "unencodable_args"]

#: A JSON \\u escape of a UTF-16 surrogate (high D800-DBFF or low DC00-DFFF).
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_surrogate_escape(text: str) -> bool:
    """Whether JSON ``text`` spells a surrogate (paired or not) with a \\u escape."""
    return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_bad(value: Any, where: str) -> str | None:
    """The JSON path of the first string (key or value) that cannot be encoded."""
    if isinstance(value, str):
        return None if _encodable(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _encodable(key):
                return f"{where}.<key>"
            bad = _first_bad(item, f"{where}.{key}")
            if bad is not None:
                return bad
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            bad = _first_bad(item, f"{where}[{index}]")
            if bad is not None:
                return bad
    return None


def refuse_unencodable(value: Any, what: str = "request") -> None:
    """E_INVALIDARG if any string in ``value`` (keys too) cannot be written as UTF-8."""
    bad = _first_bad(value, what)
    if bad is not None:
        raise InvalidArg(detail=f"{bad} holds a lone UTF-16 surrogate (not valid Unicode)")


def check_json_text(text: str | None, what: str = "request") -> None:
    """:func:`refuse_unencodable` for request text: cheap unless it escapes a surrogate.

    Text that is not JSON is left to the caller's parser (which reports it as such)."""
    if text is None:
        return
    if not _encodable(text):
        raise InvalidArg(detail=f"{what} holds a lone UTF-16 surrogate (not valid Unicode)")
    if not has_surrogate_escape(text):
        return
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return
    refuse_unencodable(doc, what)


def unencodable_args(args: tuple[Any, ...]) -> InvalidArg | None:
    """The E_INVALIDARG for a V1/V2 call's arguments (method or function, path or id,
    request text) if any cannot be written back out; None when all can."""
    try:
        for arg in args:
            if isinstance(arg, str):
                check_json_text(arg, "request")
    except InvalidArg as err:
        return err
    return None


def _repair(text: str) -> str:
    if _encodable(text):
        return text
    # Round trip through UTF-16: adjacent halves pair up, a lone half becomes U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def scrub(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _repair(value)
    if isinstance(value, dict):
        return {(_repair(k) if isinstance(k, str) else k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v) for v in value)
    return value
