"""HnsService: the one backend behind both Windows entry points (V1 HNSCall, V2 Hcn*).

Division of labour:
    hns/model/         parses V1/V2 JSON into the stored form and renders it back.
    hns/policies.py    policy types (settings parsed by hns/schema/policy.py's models),
                       the stored policy array and V1 <-> V2 policy mapping.
    hns/ipam.py        next free IP / MAC allocators.
    hns/store/         SQLite (one transaction per operation); the objects in memory,
                       their indexes, and _apply (SQLite first).
    hns/capture.py     reading real-host captures (service/importing.py adds them).
    hns/faults.py      fault rules (fail, latency, hang, not-applied); service/calllog.py
                       the call log, hns/calllog.py recordings and replay.
    service/           the semantics HNS enforces per object kind (network.py,
                       endpoint.py, loadbalancer.py, namespace.py over base.py); V1 path
                       dispatch (hnscall.py) and V2 function dispatch (hcn.py).
    here               HnsService itself: the two entry points, ``_run_call`` (down
                       check, faults, then the call under the lock, logged), the HNS
                       service stop / start / restart, reset, reboot, load and import.

Every public operation takes the service lock, validates and plans without side effects,
commits the changed rows to SQLite in one transaction and only then updates memory and
the indexes.  So a failed call changes nothing, and concurrent calls never hand out one
IP or MAC twice.  Public methods raise only HnsError: anything else escaping the
implementation is a bug and is reported as E_UNEXPECTED (tests treat that as a failure).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from hns import model
from hns.capture import extract_json, read_capture
from hns.errors import (
    HnsError,
    InvalidArg,
    InvalidJson,
    error_for_hresult,
)
from hns.faults import (
    MAX_WAIT,
    SERVICE_DOWN_HRESULT,
    Decision,
    Fault,
    decided,
    failure_hresult,
    v1_call_name,
    v2_call_name,
    whole_object_update,
)
from hns.model.service_read import stored_endpoint, stored_network
from hns.profiles import PROFILES
from hns.service.base import (
    DUMP_FORMAT,
    Json,
    _dedupe,
    _event,
    _guard,
    _key,
    parse_json,
)
from hns.service.hcn import HcnApi
from hns.service.hnscall import HnsCallApi
from hns.service.importing import import_objects
from hns.store.sqlite import KINDS
from hns.strict import did_you_mean, one_of
from hns.textcheck import refuse_unencodable, scrub, unencodable_args


def _fault_note(fault: Fault) -> dict[str, Any]:
    return {"Id": fault.id, "Mode": fault.mode, "HResult": fault.hresult,
            "Seconds": fault.seconds, "Fields": list(fault.fields)}


class HnsService(HnsCallApi, HcnApi):
    """The emulated Host Networking Service (thread-safe; one lock per operation)."""

    @_event("profile")
    def set_profile(self, name: str) -> None:
        if name not in PROFILES:
            raise InvalidArg(detail=f"unknown profile {name!r}"
                             f"{did_you_mean(name, PROFILES)}; {one_of(PROFILES)}")
        with self._lock:
            self._profile = PROFILES[name]

    @_guard
    def reset(self) -> None:
        self._store.clear()
        self._objs = {kind: {} for kind in KINDS}
        self._reset_indexes()
        self.faults.clear(reason="down")
        self._mark_up()
        self._notify(None)
        self.calls.clear(initial_state=None)
        self.accelnet.clear()
        for hook in list(self.reset_hooks):
            hook()

    @_guard
    def inject_fault(self, target: str, hresult: int, *, times: int = 1) -> None:
        """Make the next ``times`` calls matching ``target`` fail with ``hresult`` before
        they touch anything.  ``target`` is an HCN export name (``HcnDeleteLoadBalancer``)
        or a V1 ``"METHOD /path-prefix"`` (``"DELETE /policylists"``); the path prefix
        ignores case.  For tests of client retry logic (peers.md: kubernetes#113524 WS2019
        LB deletes that fail, HNS restarts).  Not persisted; ``reset()`` clears them."""
        if not isinstance(target, str) or not target or not isinstance(times, int) \
                or times < 1 or not isinstance(hresult, int):
            raise InvalidArg(detail="fault needs a target, an HRESULT and times >= 1")
        self.faults.add(target, "Fail", hresult=hresult, times=times)

    @_event("reboot")
    @_guard
    def reboot(self) -> None:
        """An emulated host reboot: EnableNonPersistent networks and their endpoints go."""
        puts: list[tuple[str, Json]] = []
        deletes: list[tuple[str, str]] = []
        for key, net in list(self._objs["network"].items()):
            if stored_network(net).non_persistent:
                self._plan_network_delete(key, puts, deletes)
        gone = set(deletes)
        for key, ep in self._objs["endpoint"].items():
            if ("endpoint", key) in gone:
                continue
            if stored_endpoint(ep).state in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING):
                # Containers do not survive a reboot; their endpoints stay, detached.
                changed = dict(ep, State=model.STATE_DETACHED, SharedContainers=[])
                puts.append(("endpoint", changed))
        self._apply(_dedupe(puts, deletes), deletes)
        for hook in list(self.reset_hooks):  # the containers went with the reboot
            hook()

    def close(self) -> None:
        """Close the state file; later calls fail with "The service has not been started."."""
        with self._lock:
            self._closed = True
            self._mark_up()
            self.faults.cancel_waits("down")
            self._store.close()

    def _run_call(self, api: str, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                  where: dict[str, Any]) -> Any:
        """One V1/V2 call: service-down check, fault rules (waits without the lock), then
        the call under the lock, logged in commit order."""
        started = time.monotonic()
        decision: Decision | None = decided.get()
        if decision is not None:
            decided.set(None)  # one front-end decision per call
        generation = self.calls.generation
        if decision is not None and decision.generation is not None:
            generation = decision.generation
        down, bad = False, unencodable_args(args)
        args = args if bad is None else scrub(args)  # logged readable, refused below
        try:
            self._check_up()
            if bad is not None:
                raise bad
            if decision is None and self.faults:
                decision = self.faults.decide(name)
            if decision is not None:
                if decision.waits and not decision.waited:
                    decision.ended = self.faults.wait(decision)
                    decision.waited = True
                if decision.ended == "down":
                    down = True
                    raise error_for_hresult(self._down_hresult)
                self._check_up()
                if decision.hang_error is not None:
                    raise decision.hang_error
                if decision.error is not None:
                    raise decision.error
        except HnsError as exc:
            down = down or self._down
            if self.calls.generation == generation:
                self._log_call(api, where, args[2], None, exc, decision, down, started)
            raise
        result: Any = None
        err: HnsError | None = None
        with self._lock:
            try:
                if decision is not None and decision.not_applied is not None:
                    result = self._not_applied(api, fn, args, decision.not_applied)
                else:
                    result = fn(*args)
            except HnsError as exc:
                err = exc
            self._log_call(api, where, args[2], result, err, decision, False, started)
        if err is not None:
            raise err
        return result

    def _log_call(self, api: str, where: dict[str, Any], request: Any, result: Any,
                  err: HnsError | None, decision: Decision | None, down: bool,
                  started: float) -> None:
        if not self.calls.enabled:
            return
        fired = [] if decision is None else [_fault_note(f) for f in decision.fired]
        self.calls.record(api=api, request=request, result=result, error=err, faults=fired,
                          service_down=down, started=started, **where)

    def _not_applied(self, api: str, fn: Callable[..., Any], args: tuple[Any, ...],
                     fields: tuple[str, ...]) -> Any:
        """Run the call as accepted but not applied: with ``fields`` kept at their current
        value, or (no fields, or a call without a whole object) undone afterwards."""
        if fields:
            patched = self._keep_fields(api, args, fields)
            if patched is not None:
                return fn(*patched)
        saved = self._snapshot()
        result = fn(*args)
        self._restore(saved)
        return result

    def _keep_fields(self, api: str, args: tuple[Any, ...],
                     fields: tuple[str, ...]) -> tuple[Any, ...] | None:
        update = whole_object_update(api, args)
        if update is None:
            return None
        kind, ident, major, settings = update
        current = self._render(kind, self._get(kind, ident), major)
        body = parse_json(settings)
        if not isinstance(body, dict):
            return None
        for name in fields:
            if name in current:
                body[name] = copy.deepcopy(current[name])
            else:
                body.pop(name, None)
        return (args[0], args[1], json.dumps(body))

    def _check_up(self) -> None:
        if self._down:
            until = self._down_until
            if until is not None and time.monotonic() >= until:
                self._timer_start()
            if self._down:
                raise error_for_hresult(self._down_hresult)

    def _mark_up(self) -> None:
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None
        self._down = False
        self._down_until = None

    def _stop(self, hresult: int | str | None) -> None:
        code = SERVICE_DOWN_HRESULT if hresult is None else failure_hresult(hresult)
        self._mark_up()
        self._down = True
        self._down_hresult = code
        self.faults.cancel_waits("down")

    def _start(self) -> None:
        """Come back up: every object is read again from the store (rehydration), and
        EnableNonPersistent networks with their endpoints are gone, as after a reboot."""
        if not self._down:
            return
        self._mark_up()
        self.restarts += 1
        if self._closed:
            return
        fresh: dict[str, dict[str, Json]] = {kind: {} for kind in KINDS}
        for kind, obj in self._store.load_all():
            if kind in fresh:
                fresh[kind][_key(obj["ID"])] = obj
        self._objs = fresh
        self._rebuild()
        puts: list[tuple[str, Json]] = []
        deletes: list[tuple[str, str]] = []
        for key, net in list(self._objs["network"].items()):
            if stored_network(net).non_persistent:
                self._plan_network_delete(key, puts, deletes)
        if deletes:
            self._apply(_dedupe(puts, deletes), deletes)
        self._notify(None)

    def _timer_start(self) -> None:
        with self._lock:
            if self._down and self._down_until is not None \
                    and time.monotonic() >= self._down_until - 0.001:
                self._start()

    def stop_service(self, *, hresult: int | str | None = None) -> None:
        """Stop the emulated HNS: every V1/V2 call fails with ``hresult`` (default
        EPT_S_NOT_REGISTERED 0x800706D9) until :meth:`start_service`; waiting faults end."""
        with self._lock:
            self._stop(hresult)
            self.calls.record(api="Emulator", operation="stop", request=hresult)

    def start_service(self) -> bool:
        """Start a stopped HNS (objects rehydrate from the store); False if it was up."""
        with self._lock:
            was_down = self._down
            self._start()
            self.calls.record(api="Emulator", operation="start")
            return was_down

    def restart_service(self, down_seconds: float = 0.0, *,
                        hresult: int | str | None = None) -> None:
        """An HNS service restart: down for ``down_seconds`` (calls fail meanwhile, see
        :meth:`stop_service`), then up again with the objects rehydrated from the store."""
        if isinstance(down_seconds, bool) or not isinstance(down_seconds, int | float) \
                or not 0 <= down_seconds <= MAX_WAIT:
            raise InvalidArg(detail=f"DownSeconds must be in [0, {MAX_WAIT:g}]")
        with self._lock:
            self._stop(hresult)
            if down_seconds > 0:
                self._down_until = time.monotonic() + down_seconds
                timer = threading.Timer(down_seconds, self._timer_start)
                timer.daemon = True
                self._restart_timer = timer
                timer.start()
            else:
                self._start()
            self.calls.record(api="Emulator", operation="restart",
                              request={"DownSeconds": down_seconds})

    @property
    def running(self) -> bool:
        """Whether the emulated HNS answers calls (False between a stop and a start)."""
        return not self._down

    def service_state(self) -> dict[str, Any]:
        """``{"Running", "DownSecondsLeft", "HResult", "Restarts", "Waiting"}``."""
        with self._lock:
            self._check_up_quietly()
            left = None
            if self._down and self._down_until is not None:
                left = max(0.0, round(self._down_until - time.monotonic(), 3))
            return {"Running": not self._down, "DownSecondsLeft": left,
                    "HResult": self._down_hresult if self._down else None,
                    "Restarts": self.restarts, "Waiting": self.faults.waiting}

    def _check_up_quietly(self) -> None:
        with contextlib.suppress(HnsError):
            self._check_up()

    @_event("load")
    @_guard
    def load(self, dump: dict[str, Any]) -> None:
        """Replace the whole state with ``dump`` (from :meth:`dump`, or a real-host capture
        shape, which goes through :meth:`import_capture` after emptying the store)."""
        if not isinstance(dump, dict):
            raise InvalidJson(detail="a state dump is a JSON object")
        refuse_unencodable(dump, "dump")
        if dump.get("Format") != DUMP_FORMAT:
            saved = self._snapshot()
            self.reset()
            try:
                import_objects(self, dump)
            except HnsError:
                self._restore(saved)
                raise
            return
        objects = dump.get("Objects")
        if not isinstance(objects, dict):
            raise InvalidJson(detail="dump without Objects")
        fresh: dict[str, dict[str, Json]] = {kind: {} for kind in KINDS}
        try:
            for kind, items in objects.items():
                if kind not in fresh or not isinstance(items, list):
                    raise InvalidJson(detail=f"unknown object kind {kind!r}")
                for obj in items:
                    if not isinstance(obj, dict) or not isinstance(obj.get("ID"), str):
                        raise InvalidJson(detail=f"{kind} without an ID")
                    fresh[kind][_key(obj["ID"])] = copy.deepcopy(obj)
        except HnsError:
            raise
        saved = self._snapshot()
        self._objs = fresh
        try:
            self._rebuild()
            for kind, objs in fresh.items():  # every object must render in both views
                for obj in objs.values():
                    self._render(kind, obj, 1)
                    self._render(kind, obj, 2)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            self._objs = saved
            self._rebuild()
            raise InvalidJson(detail="dump objects are malformed") from None
        self._store.commit([(kind, o) for kind in KINDS for o in fresh[kind].values()],
                           replace_all=True)
        self._notify(None)
        profile = dump.get("Profile")
        if isinstance(profile, str) and profile in PROFILES:
            self._profile = PROFILES[profile]

    def import_capture(self, text: str | os.PathLike[str]) -> list[str]:
        """Add the objects of a real-host capture (V1 envelope, ``Get-HnsNetwork |
        ConvertTo-Json``, hcsshim debug log, console-wrapped text, ``hnsdiag list all -d``;
        see hns/capture.py); returns their ids.  A path (``pathlib.Path``) is read with
        ``hns.capture.read_capture``: a capture file, or a collectlogs folder or zip."""
        if isinstance(text, os.PathLike):
            try:
                text = read_capture(text)
            except OSError as exc:
                raise InvalidArg(detail=f"cannot read {os.fspath(text)!r}: {exc}") from None
        return self._import_capture(text)

    @_event("import")
    @_guard
    def _import_capture(self, text: str) -> list[str]:
        saved = self._snapshot()
        try:
            return import_objects(self, extract_json(text))
        except HnsError:
            self._restore(saved)
            raise

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        """vmcompute.dll!HNSCall: returns the envelope's ``Output`` value."""
        verb = method.upper() if isinstance(method, str) else str(method)
        name = v1_call_name(method, path)
        where = name[len(verb) + 1:]
        return self._run_call("V1", name, self._hns_call, (method, path, request),
                              {"method": verb, "path": where})

    def hcn_call(self, function: str, id: str | None = None,
                 settings: str | None = None) -> Any:
        """computenetwork.dll!Hcn*: ``function`` is the export name (HcnCreateNetwork, ...)."""
        name = v2_call_name(function, id)
        return self._run_call("V2", name, self._hcn_call, (function, id, settings),
                              {"function": function, "id": id})
