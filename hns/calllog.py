"""Recordings of the call log (``hns.service.calllog``, ``service.calls``) and their replay.

Glossary (Call, CallLog and recording are defined in ``hns.service.calllog``):
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
One-to-one holds while the values are in use: a GUID is never handed out twice, but a MAC
is (a network's random MAC pool, once the network is gone, may be drawn again, and in one
run and not the other), so after a call that can free objects a pair whose replayed MAC
no longer occurs in the replayed state is forgotten, and the recorded MAC may pair anew.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hns.errors import ElementNotFound, HnsError, InvalidArg, InvalidJson
from hns.service import HnsService
from hns.service.calllog import RECORDING_FORMAT, Call, CallLog

__all__ = [
    "RECORDING_FORMAT",
    "Call",
    "CallLog",
    "Renaming",
    "ReplayReport",
    "load_recording",
    "replay",
]

#: At most this many mismatches are listed in a report (the count is always exact).
MAX_LISTED: Final = 200


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
_MAC_ONLY = re.compile(_MAC)


def _norm(token: str) -> str:
    return token.upper().replace(":", "-")


class Renaming:
    """The one-to-one renaming of generated values learned during a replay."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self._back: dict[str, str] = {}
        # a replayed token as the service spelled it: the case a recorded token with no
        # letters (an all-digit port-name id) is renamed in, since it shows none itself
        self._spelled: dict[str, str] = {}

    def pair(self, recorded: str, replayed: str) -> bool:
        a, b = _norm(recorded), _norm(replayed)
        if a in self.forward:
            return self.forward[a] == b
        if b in self._back:
            return self._back[b] == a
        self.forward[a] = b
        self._back[b] = a
        self._spelled[b] = replayed.replace(":", "-")
        return True

    def forget_freed_macs(self, live: set[str]) -> None:
        """Drop the pairs whose replayed MAC is not among ``live`` (normalised tokens)."""
        for recorded, replayed in list(self.forward.items()):
            if replayed not in live and _MAC_ONLY.fullmatch(replayed):
                del self.forward[recorded]
                del self._back[replayed]
                self._spelled.pop(replayed, None)

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
        if token.upper() == token.lower():
            # no letters to take the case from: the replayed spelling, else the kind's
            # real case (port-name ids are lower case, GUIDs and MACs upper case)
            lower = match.string[:match.start()].endswith("Container NIC ")
            new = self._spelled.get(new, new.lower() if lower else new)
        elif token != token.upper():
            new = new.lower()
        return new.replace("-", ":") if ":" in token else new


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
        if err is None and _may_free(entry):
            _forget_freed_macs(service, names)
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


def _may_free(entry: dict[str, Any]) -> bool:
    """Whether a call can remove objects or values: an emulator event (a restart drops
    non-persistent networks, a load replaces everything), a V1 call other than a read, a
    V2 delete or modify.  Creates and reads cannot, and are most of a long recording."""
    api = entry.get("Api")
    if api == "V1":
        return entry.get("Method") != "GET"
    if api == "V2":
        return str(entry.get("Function")).startswith(("HcnDelete", "HcnModify"))
    return True


def _forget_freed_macs(service: HnsService, names: Renaming) -> None:
    try:
        objects = service.dump()["Objects"]
    except HnsError:
        return  # stopped: nothing changes until it starts, an event that comes here again
    names.forget_freed_macs({_norm(m) for m in _MAC_ONLY.findall(json.dumps(objects))})


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
