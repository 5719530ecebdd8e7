"""The call log of an emulated HNS (``service.calls``), recordings, and their replay.

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
    replay      :func:`replay` runs a recording against a fresh service and reports where
                results and HRESULTs differ and whether the final states agree.

Ids on replay: the service makes new GUIDs (object ids, subnet ids, activity ids) and picks
a new random MAC pool for each network, so a replay cannot give back the recorded values.
Replay instead learns a one-to-one renaming: wherever a recorded result holds a GUID or a
MAC address (or the 8 hex digits of a host vNIC port's "Container NIC" name) and the
replayed result holds another one at the same place, the pair is
noted, and every later request has the recorded values replaced by the replayed ones before
it is sent.  "Equal" for results and states means equal after that renaming, which must
stay one-to-one (two recorded ids never map to one new id and back); everything else
(names, IP addresses, prefixes, ports, flags, policies, states) must be equal exactly.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hns.errors import ElementNotFound, HnsError, InvalidArg, InvalidJson, error_detail

if TYPE_CHECKING:
    from hns.service import HnsService

__all__ = [
    "RECORDING_FORMAT",
    "Call",
    "CallLog",
    "Renaming",
    "ReplayReport",
    "load_recording",
    "replay",
]

RECORDING_FORMAT: Final = "hns-emulator-calls"
DEFAULT_MAXLEN: Final = 100_000
#: Rough memory budget of a log, in "objects": a call weighs 1, plus one per item of a
#: list result, plus one per KiB of request text.  Results are kept as the objects the
#: service returned (no copy, no serialization per call), so this bounds the memory a
#: long-running server spends on its log to the order of this many rendered objects.
DEFAULT_MAX_WEIGHT: Final = 65_536
#: At most this many mismatches are listed in a report (the count is always exact).
MAX_LISTED: Final = 200


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


def _loggable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict | list):
        try:
            json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            return repr(value)
        return value
    return _text(value)


def load_recording(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A recording from a dict, a file path or JSON text; InvalidJson if it is none."""
    doc: Any = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip()
                                    .startswith("{")):
        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise InvalidJson(detail=f"cannot read recording: {exc}") from None
    elif isinstance(source, str):
        try:
            doc = json.loads(source)
        except ValueError:
            raise InvalidJson(detail="recording is not JSON") from None
    if not isinstance(doc, dict) or doc.get("Format") != RECORDING_FORMAT \
            or not isinstance(doc.get("Calls"), list):
        raise InvalidJson(detail=f"not a {RECORDING_FORMAT} document")
    return doc


# -- replay --------------------------------------------------------------------------------

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_MAC = r"(?:[0-9A-Fa-f]{2}[-:]){5}[0-9A-Fa-f]{2}"
# A host vNIC port's friendly name holds the first 8 hex digits of its allocator's GUID
# ("Container NIC 6c50381c", real/v1-post-networks-nat-response.json): generated too.
_PORT_NAME_ID = r"(?<=Container NIC )[0-9A-Fa-f]{8}\b"
_TOKEN = re.compile(f"({_GUID}|{_MAC}|{_PORT_NAME_ID})")


def _norm(token: str) -> str:
    return token.upper().replace(":", "-")


class Renaming:
    """The one-to-one renaming of generated values learned during a replay."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self._back: dict[str, str] = {}

    def pair(self, recorded: str, replayed: str) -> bool:
        a, b = _norm(recorded), _norm(replayed)
        if a in self.forward:
            return self.forward[a] == b
        if b in self._back:
            return self._back[b] == a
        self.forward[a] = b
        self._back[b] = a
        return True

    def strings_equal(self, recorded: str, replayed: str) -> bool:
        parts_a = _TOKEN.split(recorded)
        parts_b = _TOKEN.split(replayed)
        if len(parts_a) != len(parts_b):
            return False
        for i, (a, b) in enumerate(zip(parts_a, parts_b, strict=True)):
            if i % 2 == 0:
                if a != b:
                    return False
            elif not self.pair(a, b):
                return False
        return True

    def apply(self, value: Any) -> Any:
        """``value`` (text, or JSON) with every learned recorded token renamed."""
        if isinstance(value, str):
            return _TOKEN.sub(self._rename, value)
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        return value

    def _rename(self, match: re.Match[str]) -> str:
        token = match.group(0)
        new = self.forward.get(_norm(token))
        if new is None:
            return token
        if ":" in token:
            new = new.replace("-", ":")
        return new.lower() if token != token.upper() else new


@dataclass
class ReplayReport:
    """What a replay found (JSON form: :meth:`to_json`)."""

    calls: int = 0
    replayed: int = 0
    skipped: int = 0
    mismatch_count: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    state_compared: bool = False
    state_mismatch_count: int = 0
    state_mismatches: list[dict[str, Any]] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.mismatch_count == 0 and self.state_mismatch_count == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "Ok": self.ok,
            "Calls": self.calls,
            "Replayed": self.replayed,
            "Skipped": self.skipped,
            "MismatchCount": self.mismatch_count,
            "Mismatches": self.mismatches,
            "StateCompared": self.state_compared,
            "StateMatches": self.state_compared and self.state_mismatch_count == 0,
            "StateMismatchCount": self.state_mismatch_count,
            "StateMismatches": self.state_mismatches,
            "Renamed": self.renamed,
        }


def _compare(a: Any, b: Any, where: str, names: Renaming, out: list[tuple[str, Any, Any]]
             ) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append((f"{where}.{key}", a.get(key, "<absent>"), b.get(key, "<absent>")))
            else:
                _compare(a[key], b[key], f"{where}.{key}", names, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((f"{where}.length", len(a), len(b)))
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{where}[{i}]", names, out)
        return
    if isinstance(a, str) and isinstance(b, str):
        if not names.strings_equal(a, b):
            out.append((where, a, b))
        return
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)
                                       and not isinstance(a, bool) and not isinstance(b, bool)):
        out.append((where, a, b))
        return
    if a != b:
        out.append((where, a, b))


def _note(report: ReplayReport, into: list[dict[str, Any]], seq: Any, what: str,
          found: list[tuple[str, Any, Any]]) -> int:
    for path, recorded, replayed in found:
        if len(into) < MAX_LISTED:
            into.append({"Seq": seq, "What": what, "Path": path, "Recorded": recorded,
                         "Replayed": replayed})
    return len(found)


def replay(service: HnsService, recording: str | Path | dict[str, Any]) -> ReplayReport:
    """Run ``recording`` against ``service`` (meant to be fresh) and report the differences.

    The service first takes the recording's profile and initial state (if any); each V1/V2
    call is sent with recorded ids renamed (module docstring); a call that a fault rule
    failed or dropped is made to fail or be dropped the same way by a one-shot rule, a call
    refused because the service was down is skipped, and emulator events (restart, reboot,
    load, import, profile) are performed.  Latency and hangs are not reproduced."""
    doc = load_recording(recording)
    report = ReplayReport()
    names = Renaming()
    profile = doc.get("Profile")
    if isinstance(profile, str):
        service.set_profile(profile)
    initial = doc.get("InitialState")
    if isinstance(initial, dict):
        service.load(initial)
    for entry in doc["Calls"]:
        report.calls += 1
        if not isinstance(entry, dict):
            raise InvalidJson(detail="a recorded call is not an object")
        if entry.get("ServiceDown"):
            report.skipped += 1
            continue
        seq = entry.get("Seq")
        result, err = _replay_one(service, entry, names)
        report.replayed += 1
        want = int(entry.get("HResult") or 0)
        got = 0 if err is None else err.hresult_unsigned
        if want != got:
            report.mismatch_count += _note(report, report.mismatches, seq, "HResult",
                                           [("HResult", want, got)])
            continue
        if err is None and entry.get("Api") in ("V1", "V2"):
            found: list[tuple[str, Any, Any]] = []
            _compare(entry.get("Result"), result, "$", names, found)
            report.mismatch_count += _note(report, report.mismatches, seq, "Result", found)
    state = doc.get("State")
    if isinstance(state, dict) and not doc.get("Truncated"):
        report.state_compared = True
        found = []
        mine = service.dump()
        _compare(state.get("Objects"), mine.get("Objects"), "$.Objects", names, found)
        report.state_mismatch_count = _note(report, report.state_mismatches, None, "State",
                                            found)
    report.renamed = dict(names.forward)
    return report


def _replay_one(service: HnsService, entry: dict[str, Any], names: Renaming
                ) -> tuple[Any, HnsError | None]:
    """Make one recorded call again; (result, None) or (None, the HnsError it raised).
    InvalidJson escapes only for an entry that is not a call at all."""
    api = entry.get("Api")
    request = names.apply(entry.get("Request"))
    call: Callable[[], Any]
    if api == "Emulator":
        operation = str(entry.get("Operation"))
        call = lambda: _replay_event(service, operation, request)  # noqa: E731
    elif api == "V1":
        method, path = entry.get("Method"), names.apply(entry.get("Path"))
        if not isinstance(method, str) or not isinstance(path, str):
            raise InvalidJson(detail="a V1 call needs Method and Path")
        call = lambda: service.hns_call(method, path, request)  # noqa: E731
    elif api == "V2":
        function, ident = entry.get("Function"), names.apply(entry.get("Id"))
        if not isinstance(function, str):
            raise InvalidJson(detail="a V2 call needs Function")
        call = lambda: service.hcn_call(function, ident, request)  # noqa: E731
    else:
        raise InvalidJson(detail=f"unknown Api {api!r}")
    rule = _one_shot(service, entry.get("Faults") or []) if api != "Emulator" else None
    try:
        return call(), None
    except HnsError as exc:
        return None, exc
    finally:
        if rule is not None:
            with contextlib.suppress(ElementNotFound):
                service.faults.remove(rule)


def _one_shot(service: HnsService, faults: list[Any]) -> int | None:
    """Re-create the effect the recorded fault rules had on this one call, in the order the
    service applies them: a Hang's HResult, else the first Fail, else a dropped update.
    The rule comes first, fires once and is removed after the call, so ``"*"`` is exactly
    this call, whatever its name."""
    notes = [f for f in faults if isinstance(f, dict)]
    for wanted in ("Hang", "Fail"):
        for fault in notes:
            hresult = fault.get("HResult")
            if fault.get("Mode") == wanted and isinstance(hresult, int):
                return service.faults.add("*", "Fail", hresult=hresult, times=1,
                                          first=True).id
    for fault in notes:
        if fault.get("Mode") == "NotApplied":
            fields = [f for f in fault.get("Fields") or [] if isinstance(f, str)]
            return service.faults.add("*", "NotApplied", fields=fields, times=1,
                                      first=True).id
    return None


def _replay_event(service: HnsService, operation: str, request: Any) -> Any:
    if operation in ("restart", "start"):
        service.start_service() if operation == "start" else service.restart_service()
        return None
    if operation == "stop":
        service.stop_service()
        return None
    if operation == "reboot":
        service.reboot()
        return None
    if operation == "load":
        if not isinstance(request, dict):
            raise InvalidJson(detail="a recorded load needs its document")
        service.load(request)
        return None
    if operation == "import":
        if not isinstance(request, str):
            raise InvalidJson(detail="a recorded import needs its text")
        return service.import_capture(request)
    if operation == "profile":
        if not isinstance(request, str):
            raise InvalidJson(detail="a recorded profile change needs its name")
        service.set_profile(request)
        return None
    raise InvalidArg(detail=f"unknown emulator operation {operation!r}")


def main(argv: list[str] | None = None) -> int:
    """``RECORDING [--profile NAME]``: replay a recording (a file from ``calls.save`` or
    ``GET /_emulator/calls``) into a fresh in-memory emulator and print the report as JSON;
    returns 0 when it matched, 1 when it did not, 2 when the recording could not be read.
    (A command-line front end, e.g. ``hns-emulator replay``, calls this.)"""
    import argparse
    import sys

    from hns.service import HnsService

    parser = argparse.ArgumentParser(prog="replay", description=main.__doc__)
    parser.add_argument("recording")
    parser.add_argument("--profile", default=None, help="profile when the recording has none")
    ns = parser.parse_args(argv)
    service = HnsService(profile=ns.profile) if ns.profile else HnsService()
    try:
        report = replay(service, Path(ns.recording))
    except HnsError as exc:
        sys.stderr.write(f"replay: {exc}\n")
        return 2
    finally:
        service.close()
    sys.stdout.write(json.dumps(report.to_json(), indent=1) + "\n")
    return 0 if report.ok else 1
