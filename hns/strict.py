"""Strict mode and the "did you mean" hints of refusal details.

Strict mode (off by default) refuses what real HNS silently accepts because it only looks
at the keys it knows: an unknown key in a policy's ``Settings`` (a misspelt ``Protcols``
leaves an ACL that matches every protocol on Windows, and the user never learns why).
Windows accepts such input, so the default must too (docs/fidelity.md, "surface"); a
test suite opts in with ``hns-emulator serve --strict``, per request with the
``X-HNS-Emulator-Strict: 1`` header, or in-process with :func:`strict_mode`.

The flag is a context variable: the HTTP layer sets it around one request, and the
validators (hns/policies.py) read it with :func:`is_strict`; nothing else is stored.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

__all__ = ["did_you_mean", "is_strict", "one_of", "strict_mode"]

_STRICT: ContextVar[bool] = ContextVar("hns_strict", default=False)


def is_strict() -> bool:
    """Whether the call being served runs in strict mode."""
    return _STRICT.get()


@contextlib.contextmanager
def strict_mode(on: bool = True) -> Iterator[None]:
    """Run the calls inside the block with strict mode ``on`` (or off)."""
    token = _STRICT.set(on)
    try:
        yield
    finally:
        _STRICT.reset(token)


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``choices`` (case-insensitive), else ``""``."""
    names = sorted(set(choices))
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    """``accepted: a, b, c`` (sorted), for a detail that lists what would have worked."""
    return "accepted: " + ", ".join(sorted(set(choices)))
