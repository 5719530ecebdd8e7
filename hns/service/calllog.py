"""The call log of an emulated HNS (``service.calls``): every V1/V2 call and emulator
event the service saw, in commit order, and the recording it gives.

Glossary:
    Call        one API call as the service saw it: V1 (``Method``/``Path``), V2
                (``Function``/``Id``) or an emulator event (``Operation``: restart, stop,
                start, reboot, load, import, profile), with the request text, the result
                (the V1 ``Output`` / the V2 properties) or the error, its HRESULT (0 for
                success), the fault rules that fired, the time and the duration.
    CallLog     the ordered calls of one service (bounded; ``Seq`` numbers never repeat
                within a service's life, so ``since(seq)`` pages through it).
    recording   the JSON document ``CallLog.recording()`` / ``GET /_emulator/calls`` gives
                and ``save(path)`` writes: the calls plus the state the log started from
                and the state at the time of recording (docs/faults.md has the format).
                ``hns.calllog`` loads and replays recordings.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from hns.errors import HnsError, error_detail

__all__ = ["DEFAULT_MAXLEN", "RECORDING_FORMAT", "Call", "CallLog"]

RECORDING_FORMAT: Final = "hns-emulator-calls"
DEFAULT_MAXLEN: Final = 100_000
#: Rough memory budget of a log, in "objects": a call weighs 1, plus one per item of a
#: list result, plus one per KiB of request text.  Results are kept as the objects the
#: service returned (no copy, no serialization per call), so this bounds the memory a
#: long-running server spends on its log to the order of this many rendered objects.
DEFAULT_MAX_WEIGHT: Final = 65_536



@dataclass(frozen=True, slots=True)
class Call:
    """One logged call (its JSON form is :meth:`to_json`)."""

    seq: int
    time: float
    api: str
    method: str | None
    path: str | None
    function: str | None
    id: str | None
    operation: str | None
    request: Any
    result: Any
    hresult: int
    error: str | None
    faults: tuple[dict[str, Any], ...]
    service_down: bool
    duration_ms: float
    #: Why the emulator refused (``HnsError.detail``; the X-HNS-Emulator-Detail header).
    detail: str | None = None

    @property
    def name(self) -> str:
        """The call's fault-target name (``"GET /networks/"``, ``"HcnDeleteNetwork <id>"``)."""
        if self.api == "V1":
            return f"{self.method} {self.path}"
        if self.api == "V2":
            return f"{self.function} {self.id}" if self.id else str(self.function)
        return str(self.operation)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Seq": self.seq,
            "Time": datetime.fromtimestamp(self.time, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "Api": self.api,
        }
        if self.api == "V1":
            doc["Method"] = self.method
            doc["Path"] = self.path
        elif self.api == "V2":
            doc["Function"] = self.function
            doc["Id"] = self.id
        else:
            doc["Operation"] = self.operation
        doc["Request"] = self.request
        doc["Result"] = self.result
        doc["HResult"] = self.hresult
        doc["Error"] = self.error
        if self.detail is not None:
            doc["Detail"] = self.detail
        doc["Faults"] = list(self.faults)
        doc["ServiceDown"] = self.service_down
        doc["DurationMs"] = round(self.duration_ms, 3)
        return doc


class CallLog:
    """The calls one service answered, in the order it answered them (thread-safe)."""

    def __init__(self, *, maxlen: int = DEFAULT_MAXLEN,
                 max_weight: int = DEFAULT_MAX_WEIGHT) -> None:
        self._lock = threading.Lock()
        self._calls: deque[Call] = deque()
        self._weights: deque[int] = deque()
        self._weight = 0
        self._maxlen = maxlen
        self._max_weight = max_weight
        self._seq = 0
        self._dropped = 0
        #: Bumped by every :meth:`clear`: a call refused after the log was cleared under
        #: it (a hang ended by ``reset()``) belongs to no log and is not recorded.
        self.generation = 0
        #: Whether calls are logged at all (a benchmark may turn it off).
        self.enabled = True
        #: The state the log starts from (a dump), None for an empty emulator.
        self.initial_state: dict[str, Any] | None = None
        #: Set by the service: the current state dump and environment for recordings.
        self.describe: Callable[[bool], dict[str, Any]] | None = None

    def record(self, *, api: str, method: Any = None, path: Any = None,
               function: Any = None, id: Any = None,
               operation: str | None = None, request: Any = None, result: Any = None,
               error: HnsError | None = None, faults: Iterable[dict[str, Any]] = (),
               service_down: bool = False, started: float | None = None) -> Call | None:
        """Log one call (arguments that are not JSON, from a caller that passed odd types
        in-process, are logged as their text)."""
        if not self.enabled:
            return None
        method, path, function, id = (_text(method), _text(path), _text(function),
                                      _text(id))
        request = _loggable(request)
        now = time.time()
        duration = 0.0 if started is None else (time.monotonic() - started) * 1000.0
        with self._lock:
            self._seq += 1
            call = Call(self._seq, now, api, method, path, function, id, operation, request,
                        None if error is not None else result,
                        0 if error is None else error.hresult_unsigned,
                        None if error is None else error.message,
                        tuple(faults), service_down, duration,
                        None if error is None else error_detail(error))
            weight = 1 + (len(result) if isinstance(result, list) else 0) + \
                (len(request) >> 10 if isinstance(request, str) else 0)
            self._calls.append(call)
            self._weights.append(weight)
            self._weight += weight
            while len(self._calls) > 1 and (len(self._calls) > self._maxlen
                                            or self._weight > self._max_weight):
                self._calls.popleft()
                self._weight -= self._weights.popleft()
                self._dropped += 1
        return call

    def calls(self, since: int = 0) -> list[Call]:
        """The logged calls with ``Seq`` greater than ``since``, oldest first."""
        with self._lock:
            if since <= 0:
                return list(self._calls)
            return [c for c in self._calls if c.seq > since]

    def __len__(self) -> int:
        return len(self._calls)

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def truncated(self) -> bool:
        """Whether older calls were dropped to keep the log bounded (not replayable)."""
        return self._dropped > 0

    def clear(self, *, initial_state: Any = ...) -> None:
        """Forget every call.  Later calls start from ``initial_state`` (a dump; None for an
        empty emulator); by default the service's state now."""
        if initial_state is ...:
            initial_state = None
            if self.describe is not None:
                state = self.describe(True).get("State")
                objects = state.get("Objects") if isinstance(state, dict) else None
                if isinstance(objects, dict) and any(objects.values()):
                    initial_state = state
        with self._lock:
            self.generation += 1
            self._calls.clear()
            self._weights.clear()
            self._weight = 0
            self._dropped = 0
            self.initial_state = initial_state

    def recording(self, *, since: int = 0, with_state: bool = True) -> dict[str, Any]:
        """The log as a recording document (docs/faults.md, "Recording format")."""
        env = self.describe(with_state) if self.describe is not None else {}
        return {
            "Format": RECORDING_FORMAT,
            "FormatVersion": 1,
            "Profile": env.get("Profile"),
            "HostIp": env.get("HostIp"),
            "Truncated": self.truncated or since > 0,
            "LastSeq": self._seq,
            "InitialState": self.initial_state if with_state else None,
            "Calls": [c.to_json() for c in self.calls(since)],
            "State": env.get("State") if with_state else None,
        }

    def save(self, path: str | Path) -> None:
        """Write :meth:`recording` to ``path`` as JSON."""
        Path(path).write_text(json.dumps(self.recording(), indent=1), encoding="utf-8")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)


_SCALARS: Final = (str, int, float, bool, type(None))
#: Deeper than this is logged as text (no HNS document nests a tenth as deep).
_MAX_DEPTH: Final = 200


def _loggable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict | list):
        try:
            plain = _plain_json(value, 0)
        except RecursionError:  # called with a deep stack already
            plain = False
        return value if plain else repr(value)
    return _text(value)


def _plain_json(value: Any, depth: int) -> bool:
    """Whether ``json.dumps`` takes ``value``, found by a walk in Python: a ``load``
    event's request is a whole state, and one ``json.dumps`` of it held the GIL for
    about 120 ms (bench/scale.py node_load phase), stopping the server's event loop."""
    if isinstance(value, _SCALARS):
        return True
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(isinstance(key, _SCALARS) and _plain_json(item, depth + 1)
                   for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_plain_json(item, depth + 1) for item in value)
    return False


