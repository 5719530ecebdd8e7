"""Fault injection for the emulated HNS (``service.faults``): failures, latency, hangs and
silently dropped updates, plus the error a stopped HNS answers with (the stop / start /
restart itself lives in hns/service/hnsservice.py).

Glossary:
    call name   what a fault targets: an HCN export with the object id, if any
                (``"HcnDeleteLoadBalancer <id>"``) or a V1 ``"METHOD /path"``
                (``"DELETE /policylists/<id>"``).  A target is an export name (any id),
                ``"<export> <id-prefix>"``, ``"METHOD /path-prefix"`` (method exact,
                prefix ignoring case), or ``"*"`` for every call.
    Fault       one rule: target, mode, how often (``Times`` left or always, with a
                ``Probability`` drawn from the set's seedable generator).
    Decision    what the rules say about one call: a delay, a hang, an error, or that an
                update is to be accepted and not applied.
    FaultSet    the ordered rules of one service, thread-safe, with the wait that a hang
                or a latency uses (bounded, cancelled by :meth:`FaultSet.clear`).

Modes (docs/faults.md has the why of each):
    Fail        the call fails with ``HResult`` before it touches anything.
    Latency     the call waits ``Seconds`` first (without the service lock), then runs.
    Hang        the call waits ``Seconds`` (the bound) first, as a hung HNS does, then runs,
                or fails with ``HResult`` when one is given; clearing the faults ends the
                wait at once (the call then goes on the same way); ``reset()`` and a
                service restart end it with the service-down error instead.
    NotApplied  the update is accepted (success) and silently not applied.  ``Fields``
                empty: nothing of it is applied; otherwise only those top-level V2 fields
                keep their old value (kubernetes#131466: HcnModifyLoadBalancer on HNS 15.4
                answered success but the load balancer kept its old HostComputeEndpoints).

A fired rule with ``Times`` counts down and is removed at zero; rules are tried in the
order they were added (a replay puts its one-shot rules first) and every matching rule
that fires contributes: delays add up, the longest hang wins, a Hang's HResult (else the
first Fail's) gives the error, the first NotApplied gives the fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import difflib
import itertools
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from hns.errors import (
    ERRORS_BY_HRESULT,
    ElementNotFound,
    EptSNotRegistered,
    HnsError,
    InvalidArg,
    error_for_hresult,
)

__all__ = [
    "DEFAULT_HANG",
    "HCN_EXPORTS",
    "MAX_WAIT",
    "MODES",
    "SERVICE_DOWN_HRESULT",
    "Decision",
    "Fault",
    "FaultSet",
    "decided",
    "failure_hresult",
    "normalize_target",
    "parse_hresult",
    "target_matches",
    "v1_call_name",
    "v2_call_name",
    "whole_object_update",
]

MODES: Final = ("Fail", "Latency", "Hang", "NotApplied")

#: The error a caller gets while HNS is stopped or restarting: its RPC interface is not
#: registered with the endpoint mapper (Win32 EPT_S_NOT_REGISTERED, 0x800706D9; see
#: docs/faults.md for the evidence).
SERVICE_DOWN_HRESULT: Final = EptSNotRegistered.hresult

#: Longest wait a Latency or Hang rule may ask for (seconds): a test that forgets to clear
#: a hang must still end.
MAX_WAIT: Final = 600.0
#: The bound of a Hang rule given without Seconds.
DEFAULT_HANG: Final = 60.0

_BY_NAME: Final = {cls.name: code for code, cls in ERRORS_BY_HRESULT.items()}


def parse_hresult(value: int | str | None) -> int | None:
    """An HRESULT from a number, a numeric string (``"0x803B0013"``) or an error name
    (``"HCN_E_PORT_ALREADY_EXISTS"``, ``"ERROR_ALREADY_EXISTS"``); InvalidArg otherwise."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in _BY_NAME:
            return _BY_NAME[text.upper()]
        try:
            return int(text, 0)
        except ValueError:
            pass
    raise InvalidArg(detail="HResult must be a number or an HRESULT name")



def failure_hresult(value: int | str) -> int:
    """:func:`parse_hresult`, unsigned, a plain Win32 code (< 0x10000) made
    HRESULT_FROM_WIN32; InvalidArg unless it is a failure code."""
    code = parse_hresult(value)
    assert code is not None
    code &= 0xFFFFFFFF
    if 0 < code < 0x10000:
        code |= 0x80070000
    if code < 0x80000000:
        raise InvalidArg(detail="HResult must be a failure code (or a Win32 error)")
    return code


_NOUNS: Final = ("Network", "Endpoint", "LoadBalancer", "Namespace", "SdnRoute")
#: Every computenetwork.dll export a V2 target may name.
HCN_EXPORTS: Final[frozenset[str]] = frozenset(
    [f"HcnEnumerate{n}s" for n in _NOUNS]
    + [f"Hcn{verb}{n}" for verb in ("Create", "Open", "Close", "Modify", "Delete")
       for n in _NOUNS]
    + [f"HcnQuery{n}Properties" for n in _NOUNS])
_V1_METHODS: Final = frozenset({"GET", "POST", "DELETE"})


def normalize_target(target: str) -> str:
    """``target`` checked and in its matching form: an HCN export must exist (a typo would
    never fire; InvalidArg names the closest export), a V1 method is GET, POST or DELETE
    and its path starts with "/"."""
    target = target.strip()
    if target == "*":
        return target
    head, _, rest = target.partition(" ")
    if head.startswith("Hcn"):
        if head not in HCN_EXPORTS:
            close = difflib.get_close_matches(head, sorted(HCN_EXPORTS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InvalidArg(detail=f"unknown HCN export {head!r}{hint}")
        return f"{head} {rest.strip()}" if rest.strip() else head
    if not rest:
        raise InvalidArg(detail="a Target is an HCN export, 'METHOD /path-prefix' or '*'")
    if head.upper() not in _V1_METHODS:
        raise InvalidArg(detail=f"V1 method must be GET, POST or DELETE, not {head!r}")
    path = rest.strip()
    return f"{head.upper()} {path if path.startswith('/') else '/' + path}"


def target_matches(target: str, name: str) -> bool:
    """Whether the fault ``target`` covers the call ``name`` (see the module glossary).

    V2 call names may carry the object id after a space (``"HcnDeleteLoadBalancer
    <id>"``): a bare export name matches any id, ``"<export> <id-prefix>"`` only ids that
    start with the prefix (case and braces ignored)."""
    if target == "*":
        return True
    head, _, rest = name.partition(" ")
    if head.startswith("Hcn"):
        function, _, want = target.partition(" ")
        if function != head:
            return False
        return not want or rest.strip("{}").lower().startswith(want.strip("{}").lower())
    if " " in target:
        method, prefix = target.split(" ", 1)
        return method.upper() == head.upper() and rest.lower().startswith(prefix.lower())
    return target == name


@dataclass
class Fault:
    """One fault rule (its JSON form is :meth:`to_json`)."""

    id: int
    target: str
    mode: str
    hresult: int | None = None
    times: int | None = None
    probability: float = 1.0
    seconds: float = 0.0
    fields: tuple[str, ...] = ()
    hits: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Target": self.target,
            "Mode": self.mode,
            "HResult": self.hresult,
            "Times": self.times,
            "Probability": self.probability,
            "Seconds": self.seconds,
            "Fields": list(self.fields),
            "Hits": self.hits,
        }


@dataclass
class Decision:
    """What the fault rules say about one call."""

    delay: float = 0.0
    hang: float = 0.0
    error: HnsError | None = None
    hang_error: HnsError | None = None
    not_applied: tuple[str, ...] | None = None
    fired: list[Fault] = field(default_factory=list)
    #: Set once the waits were done (by the service or a front end): how they ended
    #: ("" ran out, "clear" rules cleared, "down" service reset or restarted).
    waited: bool = False
    ended: str = ""
    #: The call log generation when a front end decided (hns.calllog.CallLog.generation).
    generation: int | None = None

    @property
    def waits(self) -> bool:
        return self.delay > 0 or self.hang > 0


#: Set by a front end that decided (and already waited for) a call's faults itself:
#: api/emulator.py waits on the event loop, where a blocking sleep would stall every other
#: request.  The service then takes this decision instead of rolling the rules again.
decided: contextvars.ContextVar[Decision | None] = contextvars.ContextVar(
    "hns_fault_decided", default=None)


class _Cancel:
    """One generation of waits: set when the rules are cleared (reason "clear") or the
    service is reset or restarted (reason "down").  Threads wait on ``event``; event
    loops on one future each in ``waiters``, woken all at once by :meth:`fire`."""

    __slots__ = ("event", "reason", "waiters")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    def fire(self, reason: str) -> None:
        self.reason = reason
        self.event.set()
        for loop, future in list(self.waiters):
            # Any thread may clear the rules; a future is only touched on its own loop.
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def v1_call_name(method: str, path: Any) -> str:
    """The fault-target name of a V1 HNSCall (``"DELETE /policylists/<id>"``)."""
    where = path if not isinstance(path, str) or path.startswith("/") else "/" + path
    return f"{method.upper() if isinstance(method, str) else method} {where}"


def whole_object_update(api: str, args: tuple[Any, ...]) -> tuple[str, str, int, Any] | None:
    """(kind, id, major, settings) of a call whose body is the whole updated object (a
    NotApplied rule with Fields keeps those at their value): an HcnModifyLoadBalancer or a
    V1 ``POST /endpoints/<id>``; None for the others, which are rolled back whole."""
    if api == "V2":
        function, ident, settings = args
        if not isinstance(function, str) or not isinstance(ident, str) \
                or function[len("HcnModify"):] not in ("LoadBalancer", "LoadBalancers") \
                or not function.startswith("HcnModify"):
            # The other modifies are requests (ResourceType/RequestType/Settings).
            return None
        return "loadbalancer", ident, 2, settings
    method, path, settings = args
    parts = [p for p in str(path).split("?", 1)[0].split("/") if p]
    if str(method).upper() != "POST" or len(parts) != 2 or parts[0].lower() != "endpoints":
        return None  # a V1 network update is extension toggles, not the object
    return "endpoint", parts[1], 1, settings


def v2_call_name(function: Any, id: Any) -> str:
    """The fault-target name of an Hcn* call (``"HcnDeleteLoadBalancer <id>"``)."""
    return f"{function} {id}" if isinstance(id, str) and id else str(function)


class FaultSet:
    """The fault rules of one service."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)
        self._cancel = _Cancel()
        #: Number of calls now waiting in a Latency or Hang (for tests and /_emulator).
        self.waiting = 0

    # -- rules --------------------------------------------------------------------------

    def add(self, target: str, mode: str = "Fail", *, hresult: int | str | None = None,
            times: int | None = None, probability: float = 1.0, seconds: float = 0.0,
            fields: list[str] | tuple[str, ...] = (), first: bool = False) -> Fault:
        """Add a rule; InvalidArg for anything malformed (the message says what)."""
        if not isinstance(target, str) or not target.strip():
            raise InvalidArg(detail="a fault needs a Target (export name or 'METHOD /path')")
        if mode not in MODES:
            raise InvalidArg(detail=f"Mode must be one of {', '.join(MODES)}")
        hresult = None if hresult is None else failure_hresult(hresult)
        if mode == "Fail" and hresult is None:
            raise InvalidArg(detail="a Fail fault needs an HResult")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise InvalidArg(detail="Times must be an integer >= 1 (or absent for always)")
        if isinstance(probability, bool) or not isinstance(probability, int | float) \
                or not 0.0 < probability <= 1.0:
            raise InvalidArg(detail="Probability must be in (0, 1]")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) \
                or not 0.0 <= seconds <= MAX_WAIT:
            raise InvalidArg(detail=f"Seconds must be in [0, {MAX_WAIT:g}]")
        if mode == "Hang" and seconds == 0:
            seconds = DEFAULT_HANG
        if mode == "Latency" and seconds <= 0:
            raise InvalidArg(detail="a Latency fault needs Seconds > 0")
        if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
            raise InvalidArg(detail="Fields must be a list of field names")
        if fields and mode != "NotApplied":
            raise InvalidArg(detail="Fields only applies to NotApplied")
        fault = Fault(next(self._ids), normalize_target(target), mode, hresult, times,
                      float(probability), float(seconds), tuple(fields))
        with self._lock:
            if first:
                self._rules.insert(0, fault)
            else:
                self._rules.append(fault)
        return fault

    @contextlib.contextmanager
    def injected(self, target: str, mode: str = "Fail", **options: Any) -> Iterator[Fault]:
        """:meth:`add` for the duration of a ``with`` block (the rule is dropped after it,
        unless it was used up or removed already)."""
        fault = self.add(target, mode, **options)
        try:
            yield fault
        finally:
            with contextlib.suppress(ElementNotFound):
                self.remove(fault.id)

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def get(self, fault_id: int) -> Fault:
        with self._lock:
            for fault in self._rules:
                if fault.id == fault_id:
                    return fault
        raise ElementNotFound(detail=f"fault {fault_id}")

    def remove(self, fault_id: int) -> None:
        with self._lock:
            for fault in self._rules:
                if fault.id == fault_id:
                    self._rules.remove(fault)
                    return
        raise ElementNotFound(detail=f"fault {fault_id}")

    def clear(self, *, reason: str = "clear") -> None:
        """Drop every rule and end every wait now in progress."""
        with self._lock:
            self._rules.clear()
            self._cancel_waits(reason)

    def cancel_waits(self, reason: str = "down") -> None:
        with self._lock:
            self._cancel_waits(reason)

    def _cancel_waits(self, reason: str) -> None:
        cancel = self._cancel
        self._cancel = _Cancel()
        cancel.fire(reason)

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._rng.seed(seed)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.list())

    # -- decisions ----------------------------------------------------------------------

    def decide(self, name: str) -> Decision:
        """Roll every matching rule for the call ``name`` (counts down fired rules)."""
        decision = Decision()
        if not self._rules:
            return decision
        with self._lock:
            for fault in list(self._rules):
                if not target_matches(fault.target, name):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                decision.fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._rules.remove(fault)
                if fault.mode == "Fail" and decision.error is None:
                    assert fault.hresult is not None
                    decision.error = error_for_hresult(fault.hresult)
                    decision.error.detail = f"injected by fault {fault.id} ({fault.target!r})"
                elif fault.mode == "Latency":
                    decision.delay += fault.seconds
                elif fault.mode == "Hang":
                    decision.hang = max(decision.hang, fault.seconds)
                    if fault.hresult is not None and decision.hang_error is None:
                        decision.hang_error = error_for_hresult(fault.hresult)
                elif fault.mode == "NotApplied" and decision.not_applied is None:
                    decision.not_applied = fault.fields
        return decision

    def has_waits(self) -> bool:
        """Whether any rule could delay a call (a cheap test for front ends)."""
        return any(f.mode in ("Latency", "Hang") for f in self._rules)

    # -- waiting ------------------------------------------------------------------------

    def wait(self, decision: Decision) -> str:
        """Block for the decision's delay and hang (never under the service lock).

        Returns "" when the waits ran out, "clear" when the rules were cleared meanwhile,
        "down" when the service was reset or restarted meanwhile."""
        cancel = self._cancel
        total = min(decision.delay + decision.hang, MAX_WAIT)
        self._enter()
        try:
            self._sleep(cancel.event, total)
        finally:
            self._leave()
        return cancel.reason if cancel.event.is_set() else ""

    async def wait_async(self, decision: Decision) -> str:
        """:meth:`wait` for an event loop: awaits one future, so the loop serves every
        other request meanwhile; clearing the rules or stopping the service wakes every
        waiter at once, and cancelling the awaiting task ends the wait too."""
        total = min(decision.delay + decision.hang, MAX_WAIT)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            cancel = self._cancel
            cancel.waiters.add(entry)
            self.waiting += 1
        try:
            await asyncio.wait({future}, timeout=total)
        finally:
            with self._lock:
                cancel.waiters.discard(entry)
                self.waiting -= 1
            future.cancel()
        return cancel.reason if cancel.event.is_set() else ""

    def _enter(self) -> None:
        with self._lock:
            self.waiting += 1

    def _leave(self) -> None:
        with self._lock:
            self.waiting -= 1

    def _sleep(self, event: threading.Event, seconds: float) -> None:
        """How a thread waits (a test may replace it on the instance to observe waits)."""
        event.wait(seconds)
