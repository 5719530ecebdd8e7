"""HnsService: the one backend behind both Windows entry points (V1 HNSCall, V2 Hcn*).

Division of labour:
    model.py     parses V1/V2 JSON into the stored form and renders it back.
    policies.py  policy types, settings validation and V1 <-> V2 policy mapping.
    ipam.py      next free IP / MAC allocators.
    store.py     SQLite, one transaction per operation.
    state.py     the objects in memory, their indexes, and _apply (SQLite first).
    capture.py   import of real-host captures.
    faults.py    fault rules (fail, latency, hang, not-applied); calllog.py the call log
                 and replay.  Here: ``_run_call`` (down check, faults, then the call under
                 the lock, logged) and the HNS service stop / start / restart.
    service.py   (here) the semantics HNS enforces: names, IPs, MACs, reservations,
                 references, namespaces, attach, profiles; V1 path and V2 function dispatch.

Every public operation takes the service lock, validates and plans without side effects,
commits the changed rows to SQLite in one transaction and only then updates memory and
the indexes.  So a failed call changes nothing, and concurrent calls never hand out one
IP or MAC twice.  Public methods raise only HnsError: anything else escaping the
implementation is a bug and is reported as E_UNEXPECTED (tests treat that as a failure).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from hns import defaults, model, ports
from hns.accelnet import NnvManagementMacs
from hns.calllog import CallLog
from hns.capture import extract_json, import_objects, read_capture
from hns.errors import (
    AddrInvalidOrReserved,
    AlreadyExists,
    ElementNotFound,
    EndpointAlreadyAttached,
    EndpointNamespaceAlreadyExists,
    EndpointNotAttached,
    EndpointNotFound,
    EntityHasReferences,
    GcnDefaultnamespaceExists,
    HnsError,
    InvalidArg,
    InvalidEndpoint,
    InvalidIp,
    InvalidJson,
    InvalidNetwork,
    InvalidRemoteEndpointOperation,
    InvalidSubnet,
    NetworkAlreadyExists,
    NetworkNotFound,
    ObjectAlreadyExists,
    PolicyAlreadyExists,
    PolicyNotFound,
    PortAlreadyExists,
    RequestUnsupported,
    ServiceNotStarted,
    SwitchExtensionNotFound,
    Unexpected,
    error_for_hresult,
)
from hns.faults import (
    MAX_WAIT,
    SERVICE_DOWN_HRESULT,
    Decision,
    Fault,
    FaultSet,
    decided,
    failure_hresult,
    v1_call_name,
    v2_call_name,
    whole_object_update,
)
from hns.policies import ENDPOINT_POLICY_TYPES, NETWORK_POLICY_TYPES, parse_policies
from hns.profiles import DEFAULT_PROFILE, PROFILES, Profile
from hns.store.sqlite import KINDS, Store
from hns.store.state import IndexedState, key_of
from hns.strict import did_you_mean, one_of
from hns.textcheck import refuse_unencodable, scrub, unencodable_args
from hns.validate import Bad, as_guid, guid_or_none

Json = dict[str, Any]
T = TypeVar("T")

__all__ = ["HnsService", "parse_json"]

DUMP_FORMAT = "hns-emulator-state"

_ADAPTER_TYPES = frozenset({"Overlay", "L2Bridge", "L2Tunnel", "Transparent"})

_KIND_OF_FUNCTION = {
    "Networks": "network", "Network": "network",
    "Endpoints": "endpoint", "Endpoint": "endpoint",
    "LoadBalancers": "loadbalancer", "LoadBalancer": "loadbalancer",
    "Namespaces": "namespace", "Namespace": "namespace",
    "SdnRoutes": "route", "SdnRoute": "route",
}
_HCN_VERBS = ("Enumerate", "Create", "Open", "Close", "Query", "Modify", "Delete")


def _guard(method: Callable[..., T]) -> Callable[..., T]:
    """Hold the lock; let HnsError through; turn anything else into E_UNEXPECTED."""

    @functools.wraps(method)
    def wrapper(self: HnsService, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            if self._closed:
                raise ServiceNotStarted(detail="the service was closed")
            try:
                return method(self, *args, **kwargs)
            except HnsError:
                raise
            except RecursionError:
                raise InvalidJson(detail="document nested too deeply") from None
            except Exception as exc:
                raise Unexpected(detail=f"{type(exc).__name__}: {exc}") from exc

    return wrapper


def _event(operation: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Log an emulator operation that changes state (reboot, load, import, profile) in the
    call log, so a recording replays it (its first argument is its request)."""

    def wrap(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def wrapper(self: HnsService, *args: Any, **kwargs: Any) -> T:
            started = time.monotonic()
            request = args[0] if args else None
            with self._lock:
                try:
                    result = method(self, *args, **kwargs)
                except HnsError as exc:
                    self.calls.record(api="Emulator", operation=operation, request=request,
                                      error=exc, started=started)
                    raise
                self.calls.record(api="Emulator", operation=operation, request=request,
                                  result=result, started=started)
                return result

        return wrapper

    return wrap


def _fault_note(fault: Fault) -> dict[str, Any]:
    return {"Id": fault.id, "Mode": fault.mode, "HResult": fault.hresult,
            "Seconds": fault.seconds, "Fields": list(fault.fields)}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str | bytes | None, *, allow_empty: bool = False) -> Any:
    """Request text -> JSON value; InvalidJson for anything that is not a JSON document."""
    if text is None or (isinstance(text, str | bytes) and not text.strip()):
        if allow_empty:
            return None
        raise InvalidJson(detail="empty document")
    if not isinstance(text, str | bytes):
        raise InvalidJson(detail="document is not text")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InvalidJson(detail="not a JSON document") from None


_key = key_of


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip("{}").casefold() == b.strip("{}").casefold()
    return bool(a == b)


class HnsService(IndexedState):
    """The emulated Host Networking Service (thread-safe; one lock per operation)."""

    PROFILES: ClassVar[Mapping[str, Profile]] = PROFILES
    #: The emulated host's management address: the ProviderAddress HNS adds to networks
    #: bound to an adapter (Overlay, L2Bridge, L2Tunnel, Transparent) when none is given.
    HOST_IP: ClassVar[str] = "172.16.0.4"

    def __init__(self, *, state: str | os.PathLike[str] = ":memory:",
                 profile: str = DEFAULT_PROFILE, host_ip: str | None = None) -> None:
        if profile not in PROFILES:
            raise InvalidArg(detail=f"unknown profile {profile!r}"
                             f"{did_you_mean(profile, PROFILES)}; {one_of(PROFILES)}")
        if host_ip is not None:
            try:
                ipaddress.ip_address(host_ip)
            except ValueError:
                raise InvalidArg(detail=f"host_ip {host_ip!r} is not an IP address") from None
        #: This host's management (provider) address; each host of a cluster has its own.
        self.host_ip: str = host_ip or self.HOST_IP
        self._listeners = []
        self._lock = threading.RLock()
        self._closed = False
        #: Fault rules (hns/faults.py); ``inject_fault`` is the short form of a Fail rule.
        self.faults = FaultSet()
        #: Every V1/V2 call and emulator event, in order (hns/calllog.py).
        self.calls = CallLog()
        self.calls.describe = self._describe_for_log
        self._down = False
        self._down_hresult = SERVICE_DOWN_HRESULT
        self._down_until: float | None = None
        self._restart_timer: threading.Timer | None = None
        #: How many times the emulated HNS service has started again after a stop.
        self.restarts = 0
        #: V1 /accelnet's NNV management MAC list (hns/accelnet.py).
        self.accelnet = NnvManagementMacs()
        #: Called (under the lock) by reset() and reboot(): state kept beside HNS, such as
        #: the compute systems of hns/compute.py, goes with it.
        self.reset_hooks: list[Callable[[], None]] = []
        self._profile = PROFILES[profile]
        self._store = Store(state)
        self._objs: dict[str, dict[str, Json]] = {kind: {} for kind in KINDS}
        self._reset_indexes()
        with self._lock:
            try:
                for kind, obj in self._store.load_all():
                    if kind in self._objs:
                        self._objs[kind][_key(obj["ID"])] = obj
                self._rebuild()
            except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
                self._store.close()
                raise ServiceNotStarted(
                    detail=f"state {os.fspath(state)!r} is unreadable: {exc}") from None

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """The service lock (re-entrant).  Every operation and every change listener runs
        under it; a packet path that reads compiled state takes it too."""
        return self._lock

    @property
    def profile(self) -> str:
        return self._profile.name

    @_event("profile")
    def set_profile(self, name: str) -> None:
        if name not in PROFILES:
            raise InvalidArg(detail=f"unknown profile {name!r}"
                             f"{did_you_mean(name, PROFILES)}; {one_of(PROFILES)}")
        with self._lock:
            self._profile = PROFILES[name]

    def globals_version(self) -> dict[str, int]:
        return {"Major": self._profile.major, "Minor": self._profile.minor}

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
            if net.get("Flags", 0) & model.NET_ENABLE_NON_PERSISTENT:
                self._plan_network_delete(key, puts, deletes)
        gone = set(deletes)
        for key, ep in self._objs["endpoint"].items():
            if ("endpoint", key) in gone:
                continue
            if ep.get("State") in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING):
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

    # ---- faults, call log, service stop/start (hns/faults.py, hns/calllog.py) -------------

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
            if net.get("Flags", 0) & model.NET_ENABLE_NON_PERSISTENT:
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

    def _describe_for_log(self, with_state: bool) -> dict[str, Any]:
        state = None
        if with_state:
            with contextlib.suppress(HnsError):
                state = self.dump()
        return {"Profile": self.profile, "HostIp": self.host_ip, "State": state}

    # ---- dump / load / capture ---------------------------------------------------------

    @_guard
    def dump(self) -> dict[str, Any]:
        return {
            "Format": DUMP_FORMAT,
            "FormatVersion": 1,
            "Profile": self._profile.name,
            "Objects": {kind: [copy.deepcopy(o) for o in objs.values()]
                        for kind, objs in self._objs.items()},
        }

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

    def _snapshot(self) -> dict[str, dict[str, Json]]:
        return {kind: dict(objs) for kind, objs in self._objs.items()}

    def _restore(self, saved: dict[str, dict[str, Json]]) -> None:
        self._objs = saved
        self._rebuild()
        self._store.commit([(kind, o) for kind in KINDS for o in saved[kind].values()],
                           replace_all=True)
        self._notify(None)

    # ---- V1: HNSCall ---------------------------------------------------------------------

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        """vmcompute.dll!HNSCall: returns the envelope's ``Output`` value."""
        verb = method.upper() if isinstance(method, str) else str(method)
        name = v1_call_name(method, path)
        where = name[len(verb) + 1:]
        return self._run_call("V1", name, self._hns_call, (method, path, request),
                              {"method": verb, "path": where})

    @_guard
    def _hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        if not isinstance(method, str) or not isinstance(path, str):
            raise InvalidArg(detail="method and path must be strings")
        verb = method.upper()
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        if not parts:
            raise RequestUnsupported(detail=f"no resource in path {path!r}")
        resource = parts[0].lower()
        ident = parts[1] if len(parts) > 1 else None
        action = parts[2].lower() if len(parts) > 2 else None
        if len(parts) > 3:
            raise RequestUnsupported(detail=f"path {path!r}")
        handler = _V1_ROUTES.get((verb, resource, ident is not None, action))
        if handler is None:
            raise RequestUnsupported(detail=f"{verb} {path}")
        return handler(self, ident, request)

    def _v1_list_networks(self, _ident: str | None, _req: str | None) -> Any:
        return [self._network_v1(n) for n in self._objs["network"].values()]

    def _v1_get_network(self, ident: str | None, _req: str | None) -> Any:
        return self._network_v1(self._get("network", ident))

    def _v1_create_network(self, _ident: str | None, req: str | None) -> Any:
        body = parse_json(req)
        return self._network_v1(self._create_network(body, v1=True))

    def _v1_modify_network(self, ident: str | None, req: str | None) -> Any:
        net = self._get("network", ident)
        body = parse_json(req, allow_empty=True) or {}
        if not isinstance(body, dict):
            raise InvalidJson(detail="network update is not an object")
        for ext in body.get("Extensions") or []:
            if not isinstance(ext, dict):
                raise InvalidJson(detail="extension is not an object")
            net = self._toggle_extension(net, ext.get("Id"), ext.get("IsEnabled"))
        return self._network_v1(net)

    def _v1_list_endpoints(self, _ident: str | None, _req: str | None) -> Any:
        return [self._endpoint_v1(e) for e in self._objs["endpoint"].values()]

    def _v1_get_endpoint(self, ident: str | None, _req: str | None) -> Any:
        return self._endpoint_v1(self._v1_endpoint(ident))

    def _v1_create_endpoint(self, _ident: str | None, req: str | None) -> Any:
        return self._endpoint_v1(self._create_endpoint(parse_json(req), v1=True))

    def _v1_update_endpoint(self, ident: str | None, req: str | None) -> Any:
        old = self._v1_endpoint(ident)
        return self._endpoint_v1(self._create_endpoint(parse_json(req), v1=True, replace=old))

    def _v1_attach(self, ident: str | None, req: str | None) -> Any:
        body = parse_json(req, allow_empty=True) or {}
        if not isinstance(body, dict):
            raise InvalidJson(detail="attach request is not an object")
        self._attach(self._v1_endpoint(ident), body)
        return None

    def _v1_detach(self, ident: str | None, req: str | None) -> Any:
        body = parse_json(req, allow_empty=True) or {}
        if not isinstance(body, dict):
            raise InvalidJson(detail="detach request is not an object")
        self._detach(self._v1_endpoint(ident), body)
        return None

    def _v1_endpoint_stats(self, ident: str | None, _req: str | None) -> Any:
        ep = self._v1_endpoint(ident)
        return {"BytesReceived": 0, "BytesSent": 0, "DroppedPacketsIncoming": 0,
                "DroppedPacketsOutgoing": 0, "EndpointId": ep["ID"], "InstanceId": ep["ID"],
                "PacketsReceived": 0, "PacketsSent": 0}

    def _v1_list_policylists(self, _ident: str | None, _req: str | None) -> Any:
        out = [self._lb_v1(lb) for lb in self._objs["loadbalancer"].values()]
        out += [model.route_v1(r, version=self._version()) for r in self._objs["route"].values()]
        return out

    def _v1_get_policylist(self, ident: str | None, _req: str | None) -> Any:
        kind = self._policylist_kind(ident)
        obj = self._get(kind, ident)
        if kind == "loadbalancer":
            return self._lb_v1(obj)
        return model.route_v1(obj, version=self._version())

    def _v1_create_policylist(self, _ident: str | None, req: str | None) -> Any:
        kind, parsed = model.parse_policy_list(parse_json(req), self._profile)
        if kind == "lb":
            return self._lb_v1(self._create_lb_parsed(parsed, upper=True))
        return model.route_v1(self._create_route_parsed(parsed, upper=True),
                              version=self._version())

    def _v1_delete_policylist(self, ident: str | None, _req: str | None) -> Any:
        self._delete(self._policylist_kind(ident), ident)
        return None

    def _policylist_kind(self, ident: str | None) -> str:
        if ident is not None and _key(ident) in self._objs["route"]:
            return "route"
        return "loadbalancer"

    def _v1_list_namespaces(self, _ident: str | None, _req: str | None) -> Any:
        return [model.namespace_v1(n) for n in self._objs["namespace"].values()]

    def _v1_get_namespace(self, ident: str | None, _req: str | None) -> Any:
        return model.namespace_v1(self._get("namespace", ident))

    def _v1_create_namespace(self, _ident: str | None, req: str | None) -> Any:
        body = parse_json(req, allow_empty=True)
        return model.namespace_v1(self._create_namespace({} if body is None else body, v1=True))

    def _v1_version(self, ident: str | None, _req: str | None) -> Any:
        if (ident or "").lower() != "version":
            raise RequestUnsupported(detail=f"globals/{ident}")
        return self.globals_version()

    def _v1_accelnet(self, _ident: str | None, req: str | None, *, verb: str) -> Any:
        return self.accelnet.call(self._profile, verb, req)

    def _v1_namespace_resource(self, ident: str | None, req: str | None, *, add: bool) -> Any:
        ns = self._get("namespace", ident)
        body = parse_json(req)
        if not isinstance(body, dict):
            raise InvalidJson(detail="resource request is not an object")
        rtype = body.get("Type", "Endpoint")
        data = body.get("Data")
        if not isinstance(data, dict):
            raise InvalidArg(detail="resource request without Data")
        rid = data.get("Id", data.get("ID"))
        self._namespace_resource(ns, rtype, rid, add=add)
        return None

    # ---- V2: computenetwork.dll --------------------------------------------------------

    def hcn_call(self, function: str, id: str | None = None,
                 settings: str | None = None) -> Any:
        """computenetwork.dll!Hcn*: ``function`` is the export name (HcnCreateNetwork, ...)."""
        name = v2_call_name(function, id)
        return self._run_call("V2", name, self._hcn_call, (function, id, settings),
                              {"function": function, "id": id})

    @_guard
    def _hcn_call(self, function: str, id: str | None = None,
                  settings: str | None = None) -> Any:
        if not isinstance(function, str) or not function.startswith("Hcn"):
            raise RequestUnsupported(detail=f"unknown function {function!r}")
        rest = function[3:]
        verb = next((v for v in _HCN_VERBS if rest.startswith(v)), None)
        if verb is None:
            raise RequestUnsupported(detail=f"unknown function {function!r}")
        noun = rest[len(verb):]
        if verb == "Query":
            if not noun.endswith("Properties"):
                raise RequestUnsupported(detail=f"unknown function {function!r}")
            noun = noun[: -len("Properties")]
        kind = _KIND_OF_FUNCTION.get(noun)
        if kind is None:
            raise RequestUnsupported(detail=f"unknown function {function!r}")
        plural = noun.endswith("s")
        if (verb == "Enumerate") != plural:
            raise RequestUnsupported(detail=f"unknown function {function!r}")
        if verb == "Enumerate":
            flt, _major = model.parse_query(settings)
            # One case for every id, whichever API made the object (hcsshim parses them
            # as GUIDs; hnsdiag prints endpoint and LB ids in lower case).
            return [str(o["ID"]).lower() for o in self._filter(kind, flt)]
        if verb == "Create":
            return self._hcn_create(kind, id, settings)
        if verb == "Modify" and kind == "route":
            raise RequestUnsupported(detail="SDN routes have no modify")
        if id is None:
            raise InvalidArg(detail=f"{function} needs an id")
        self._check_guid(id)
        if verb == "Close":
            return None
        if verb == "Open":
            self._get(kind, id)
            return None
        if verb == "Query":
            _flt, major = model.parse_query(settings)
            return self._render(kind, self._get(kind, id), major)
        if verb == "Delete":
            self._delete(kind, id)
            return None
        body = parse_json(settings)
        self._hcn_modify(kind, self._get(kind, id), body)
        return None

    def _hcn_create(self, kind: str, ident: str | None, settings: str | None) -> Any:
        body = parse_json(settings)
        if not isinstance(body, dict):
            raise InvalidJson(detail="settings are not a JSON object")
        if ident is not None:
            given = self._check_guid(ident)
            if given is not None:
                body = dict(body, ID=given)
        if kind == "network":
            v1 = model.is_v1_settings(body, model.NETWORK_V1_KEYS)
            return model.network_v2(self._create_network(body, v1=v1, upper=False))
        if kind == "endpoint":
            v1 = model.is_v1_settings(body, model.ENDPOINT_V1_KEYS)
            return model.endpoint_v2(self._create_endpoint(body, v1=v1, upper=False))
        if kind == "loadbalancer":
            if model.is_v1_settings(body, model.POLICYLIST_V1_KEYS):
                _k, parsed = model.parse_policy_list(body, self._profile)
            else:
                parsed = model.parse_load_balancer(body, self._profile)
            return model.load_balancer_v2(self._create_lb_parsed(parsed, upper=False))
        if kind == "namespace":
            return model.namespace_v2(self._create_namespace(body, v1=False))
        return model.route_v2(self._create_route_parsed(model.parse_route(body), upper=False))

    def _check_guid(self, ident: Any) -> str | None:
        try:
            return guid_or_none(ident)
        except Bad as exc:
            raise InvalidArg(detail=str(exc)) from None

    def _render(self, kind: str, obj: Json, major: int) -> Json:
        if major == 1:
            if kind == "network":
                return self._network_v1(obj)
            if kind == "endpoint":
                return self._endpoint_v1(obj)
            if kind == "loadbalancer":
                return self._lb_v1(obj)
            if kind == "namespace":
                return model.namespace_v1(obj)
            return model.route_v1(obj, version=self._version())
        if kind == "network":
            return model.network_v2(obj)
        if kind == "endpoint":
            return model.endpoint_v2(obj)
        if kind == "loadbalancer":
            return model.load_balancer_v2(obj)
        if kind == "namespace":
            return model.namespace_v2(obj)
        return model.route_v2(obj)

    def _filter(self, kind: str, flt: Json) -> Iterator[Json]:
        objs = self._objs[kind]
        if not flt:
            yield from objs.values()
            return
        candidates: Iterator[Json]
        ident = flt.get("ID", flt.get("Id"))
        if isinstance(ident, str):
            found = objs.get(_key(ident.strip("{}")))
            candidates = iter([found] if found is not None else [])
        elif kind == "network" and isinstance(flt.get("Name"), str):
            key = self._net_by_name.get(flt["Name"].casefold())
            candidates = iter([objs[key]] if key is not None else [])
        elif kind == "endpoint" and isinstance(flt.get("VirtualNetwork"), str):
            net_key = _key(flt["VirtualNetwork"].strip("{}"))
            candidates = iter([objs[k] for k in self._net_eps.get(net_key, ())])
        else:
            candidates = iter(list(objs.values()))
        for obj in candidates:
            if self._matches(kind, obj, flt):
                yield obj

    def _matches(self, kind: str, obj: Json, flt: Json) -> bool:
        views: list[Json] = [obj]
        for key, want in flt.items():
            if key in ("ID", "Id") and isinstance(want, str):
                if not _eq(obj["ID"], want):
                    return False
                continue
            if kind == "endpoint" and key in ("VirtualNetwork", "HostComputeNetwork"):
                if not _eq(obj.get("HostComputeNetwork"), want):
                    return False
                continue
            if kind == "endpoint" and key == "VirtualNetworkName":
                net = self._objs["network"].get(_key(obj.get("HostComputeNetwork") or ""))
                if net is None or not _eq(net["Name"], want):
                    return False
                continue
            if len(views) == 1:
                views += [self._render(kind, obj, 2), self._render(kind, obj, 1)]
            if not any(key in v and _eq(v[key], want) for v in views):
                return False
        return True

    def _hcn_modify(self, kind: str, obj: Json, body: Any) -> None:
        if kind == "loadbalancer":
            if not self._profile.supports("ModifyLoadbalancer"):
                raise RequestUnsupported(detail="ModifyLoadbalancer needs HNS 15.4")
            parsed = model.parse_load_balancer(body, self._profile)
            self._create_lb_parsed(parsed, upper=False, replace=obj)
            return
        if kind == "route":
            raise RequestUnsupported(detail="SDN routes have no modify")
        if not isinstance(body, dict):
            raise InvalidJson(detail="modify request is not an object")
        rtype = body.get("ResourceType")
        req = body.get("RequestType", "Add")
        settings = body.get("Settings")
        if not isinstance(rtype, str) or not isinstance(req, str):
            raise InvalidArg(detail="ResourceType and RequestType must be strings")
        if kind == "namespace":
            if rtype not in ("Endpoint", "Container") or req not in ("Add", "Remove"):
                raise RequestUnsupported(detail=f"namespace {rtype} {req}")
            data = settings if isinstance(settings, dict) else {}
            rid = data.get("EndpointId") if rtype == "Endpoint" else data.get("ContainerId")
            self._namespace_resource(obj, rtype, rid, add=req == "Add")
            return
        if kind == "network":
            self._modify_network(obj, rtype, req, settings)
            return
        self._modify_endpoint(obj, rtype, req, settings)

    # ---- networks ------------------------------------------------------------------------

    def _version(self) -> int:
        return self._profile.packed_version

    def _network_v1(self, net: Json) -> Json:
        count = len(self._net_eps.get(_key(net["ID"]), ()))
        return model.network_v1(net, endpoint_count=count, version=self._version())

    def _create_network(self, body: Any, *, v1: bool, upper: bool = True,
                        imported: bool = False) -> Json:
        net = model.parse_network(body, self._profile, v1=v1)
        if net["ID"] is None:
            net["ID"] = model.new_guid(upper=upper)
        elif _key(net["ID"]) in self._objs["network"]:
            raise AlreadyExists(detail=f"network {net['ID']} exists")
        if net["Name"].casefold() in self._net_by_name:
            raise NetworkAlreadyExists(detail=net["Name"])
        self._check_subnets(net)
        seen: set[str] = set()
        for subnet in model.subnets_of(net):
            if subnet["ID"].upper() in seen:
                subnet["ID"] = model.new_guid(upper=True)
            seen.add(subnet["ID"].upper())
        if not net["MacPool"]["Ranges"]:
            net["MacPool"] = {"Ranges": [self._default_mac_range()]}
        if not imported and net["Type"] in _ADAPTER_TYPES and \
                not any(p["Type"] == "ProviderAddress" for p in net["Policies"]):
            # HNS fills in the management IP of the adapter the network is bound to;
            # flannel waits for this policy before it goes on.
            net["Policies"].append({"Type": "ProviderAddress",
                                    "Settings": {"ProviderAddress": self.host_ip}})
        dr_mac = None if imported else \
            defaults.dr_mac_policy(net, self._objs["network"].values())
        if dr_mac is not None:
            # flannel reads it back and cannot start without it (vxlan_windows.go).
            net["Policies"].append(dr_mac)
        extras = net.setdefault("_v1", {})
        extras.setdefault("ActivityId", model.new_guid(upper=True))
        extras.setdefault("LayeredOn", model.new_guid(upper=True))
        if net["Type"] in ("NAT", "ICS") and "NatName" not in extras:
            extras["NatName"] = f"{net['Type']}{model.new_guid(upper=True)}"
        if net["Type"] == "NAT" and "Extensions" not in extras:
            extras["Extensions"] = copy.deepcopy(model.DEFAULT_EXTENSIONS)
        self._apply([("network", net)])
        return net

    def _check_subnets(self, net: Json) -> None:
        for subnet in model.subnets_of(net):
            prefix = subnet.get("IpAddressPrefix")
            gateway = model.subnet_gateway(subnet)
            if prefix and gateway and not model.ip_in_subnet(gateway, prefix):
                raise InvalidSubnet(detail=f"gateway {gateway} is outside {prefix}")

    def _default_mac_range(self) -> Json:
        used = {self._mac_range_id(n) for n in self._objs["network"].values()}
        for _ in range(64):
            pick = (random.randrange(256), random.randrange(16))
            if pick not in used:
                break
        byte4, nibble = pick
        start = f"00-15-5D-{byte4:02X}-{nibble:X}0-00"
        end = f"00-15-5D-{byte4:02X}-{nibble:X}F-FF"
        return {"StartMacAddress": start, "EndMacAddress": end}

    @staticmethod
    def _mac_range_id(net: Json) -> tuple[int, int] | None:
        ranges = net.get("MacPool", {}).get("Ranges") or []
        if not ranges:
            return None
        value = model.mac_to_int(ranges[0]["StartMacAddress"])
        return ((value >> 16) & 0xFF, (value >> 12) & 0xF)

    def _toggle_extension(self, net: Json, ext_id: Any, enabled: Any) -> Json:
        try:
            wanted = as_guid(ext_id)
        except Bad:
            raise InvalidArg(detail="extension Id is not a GUID") from None
        if not isinstance(enabled, bool):
            raise InvalidArg(detail="IsEnabled must be a boolean")
        extras = copy.deepcopy(net.get("_v1", {}))
        exts = extras.get("Extensions", copy.deepcopy(model.DEFAULT_EXTENSIONS))
        for ext in exts:
            if isinstance(ext, dict) and _eq(ext.get("Id"), wanted):
                ext["IsEnabled"] = enabled
                break
        else:
            raise SwitchExtensionNotFound(detail=wanted)
        extras["Extensions"] = exts
        changed = dict(net, _v1=extras)
        self._apply([("network", changed)])
        return changed

    def _modify_network(self, net: Json, rtype: str, req: str, settings: Any) -> None:
        changed = copy.deepcopy(net)
        if rtype == "Policy":
            body = settings if isinstance(settings, dict) else {}
            new = parse_policies(body.get("Policies"), NETWORK_POLICY_TYPES, self._profile,
                                 v1=False)
            changed["Policies"] = _merge_policies(changed.get("Policies", []), new, req)
        elif rtype == "DNS":
            if req not in ("Update", "Add", "Refresh"):
                raise RequestUnsupported(detail=f"DNS {req}")
            changed["Dns"] = model._dns(settings or {}, InvalidNetwork)
        elif rtype == "Extension":
            body = settings if isinstance(settings, dict) else {}
            self._toggle_extension(net, body.get("Id"), body.get("IsEnabled"))
            return
        elif rtype == "Subnet":
            body = settings if isinstance(settings, dict) else {}
            subnets = body.get("Subnets")
            if not isinstance(subnets, list):
                raise InvalidNetwork(detail="Subnet request without Subnets")
            if not changed["Ipams"]:
                changed["Ipams"] = [{"Type": "Static", "Subnets": []}]
            target = changed["Ipams"][0]["Subnets"]
            for raw in subnets:
                subnet = model._subnet_v2(raw, self._profile)
                same = [s for s in model.subnets_of(changed)
                        if s.get("IpAddressPrefix") == subnet.get("IpAddressPrefix")]
                if req == "Add":
                    if same:
                        raise PolicyAlreadyExists(detail="subnet exists")
                    target.append(subnet)
                elif req == "Remove":
                    if not same:
                        raise ElementNotFound(detail="no such subnet")
                    for ipam in changed["Ipams"]:
                        ipam["Subnets"] = [s for s in ipam["Subnets"] if s not in same]
                else:
                    raise RequestUnsupported(detail=f"Subnet {req}")
            self._check_subnets(changed)
        else:
            raise RequestUnsupported(detail=f"network ResourceType {rtype!r}")
        self._apply([("network", changed)])

    # ---- endpoints -------------------------------------------------------------------------

    def _endpoint_v1(self, ep: Json) -> Json:
        net = self._objs["network"].get(_key(ep.get("HostComputeNetwork") or ""))
        return model.endpoint_v1(ep, net, version=self._version())

    def _create_endpoint(self, body: Any, *, v1: bool, upper: bool = True,
                         replace: Json | None = None) -> Json:
        def by_name(name: str) -> str | None:
            key = self._net_by_name.get(name.casefold())
            return None if key is None else str(self._objs["network"][key]["ID"])

        ep = model.parse_endpoint(body, self._profile, v1=v1, network_by_name=by_name)
        if replace is not None:
            ep["ID"] = replace["ID"]
            ep["HostComputeNetwork"] = ep["HostComputeNetwork"] or replace["HostComputeNetwork"]
            for keep in ("HostComputeNamespace", "State", "SharedContainers"):
                if keep in replace:
                    ep[keep] = replace[keep]
        elif ep["ID"] is None:
            ep["ID"] = model.new_guid(upper=upper)
        elif _key(ep["ID"]) in self._objs["endpoint"]:
            raise AlreadyExists(detail=f"endpoint {ep['ID']} exists")
        if not ep["Name"]:
            ep["Name"] = (replace or {}).get("Name") or defaults.DEFAULT_ENDPOINT_NAME
        if ep["HostComputeNetwork"] is None:
            raise InvalidEndpoint(detail="endpoint names no network")
        net_key = _key(ep["HostComputeNetwork"])
        net = self._objs["network"].get(net_key)
        if net is None:
            raise NetworkNotFound(detail=ep["HostComputeNetwork"])
        ep["HostComputeNetwork"] = net["ID"]
        self_key = None if replace is None else _key(replace["ID"])
        remote = bool(ep["Flags"] & model.EP_REMOTE)
        if replace is not None and not any(c.get("IpAddress") for c in ep["IpConfigurations"]):
            # An update that names no address keeps the one the endpoint has.
            ep["IpConfigurations"] = copy.deepcopy(replace.get("IpConfigurations", []))
        if replace is not None and remote != bool(replace.get("Flags", 0) & model.EP_REMOTE):
            raise InvalidRemoteEndpointOperation(detail="cannot change IsRemoteEndpoint")
        if remote and any(p["Type"] == "PortMapping" for p in ep["Policies"]):
            raise InvalidRemoteEndpointOperation(detail="port mappings on a remote endpoint")
        self._assign_ips(ep, net, net_key, remote, self_key)
        self._assign_mac(ep, net, net_key, self_key)
        if not remote:
            ep[ports.PORT_KEY] = (replace or {}).get(ports.PORT_KEY) or \
                ports.captured_port_id(body) or ports.new_port_id()
        self._check_port_policies(ep["Policies"], self_key)
        if "_v1state" in ep:
            ep.setdefault("State", ep.pop("_v1state"))
        ep.setdefault("State", model.STATE_CREATED)
        ep.setdefault("SharedContainers", [])
        self._apply([("endpoint", ep)])
        return ep

    def _assign_ips(self, ep: Json, net: Json, net_key: str, remote: bool,
                    self_key: str | None) -> None:
        index = self._remote_ips if remote else self._local_ips
        subnets = [s for s in model.subnets_of(net) if s.get("IpAddressPrefix")]
        configs = ep["IpConfigurations"]
        seen = set()
        for config in configs:
            ip = config.get("IpAddress")
            if ip is None:
                continue
            if ip in seen:
                raise InvalidIp(detail=f"{ip} given twice")
            seen.add(ip)
            owner = index.get((net_key, ip))
            if owner is not None and owner != self_key:
                raise ObjectAlreadyExists(detail=f"{ip} is taken by endpoint {owner}")
            if remote or not subnets:
                continue
            subnet = next((s for s in subnets if model.ip_in_subnet(ip, s["IpAddressPrefix"])),
                          None)
            if subnet is None:
                raise InvalidIp(detail=f"{ip} is in no subnet of the network")
            pool = self._pools.get((net_key, subnet["ID"]))
            if pool is not None and int(ipaddress.ip_address(ip)) in pool.reserved:
                raise AddrInvalidOrReserved(
                    detail=f"{ip} is reserved in {subnet['IpAddressPrefix']}")
            if "PrefixLength" not in config:
                config["PrefixLength"] = _prefix_len(subnet["IpAddressPrefix"])
            self._default_gateway(ep, subnet)
        if any(c.get("IpAddress") for c in configs) or remote or not subnets:
            return
        configs.clear()  # IP-less configurations ask for an address
        v4 = next((s for s in subnets if ":" not in s["IpAddressPrefix"]), None)
        v6 = next((s for s in subnets if ":" in s["IpAddressPrefix"]), None)
        wanted = [s for s in (v4, v6) if s is not None]
        if v4 is not None and v6 is not None and not self._profile.supports("IPv6DualStack"):
            wanted = [v4]
        for subnet in wanted:
            self._allocate_ip(ep, subnet, net_key)

    def _allocate_ip(self, ep: Json, subnet: Json, net_key: str) -> None:
        pool = self._pools.get((net_key, subnet["ID"]))
        if pool is None:
            return
        version = ipaddress.ip_network(subnet["IpAddressPrefix"], strict=False).version
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address

        def used(value: int) -> bool:
            return (net_key, str(make(value))) in self._local_ips

        value = pool.peek(used)
        if value is None:
            raise InvalidIp(detail=f"subnet {subnet['IpAddressPrefix']} has no free address")
        ep["IpConfigurations"].append({"IpAddress": str(make(value)),
                                       "PrefixLength": _prefix_len(subnet["IpAddressPrefix"])})
        self._default_gateway(ep, subnet)

    @staticmethod
    def _default_gateway(ep: Json, subnet: Json) -> None:
        gateway = model.subnet_gateway(subnet)
        if not gateway:
            return
        default = "::/0" if ":" in gateway else "0.0.0.0/0"
        if not any(r.get("DestinationPrefix") == default for r in ep["Routes"]):
            ep["Routes"].append({"NextHop": gateway, "DestinationPrefix": default})

    def _assign_mac(self, ep: Json, net: Json, net_key: str, self_key: str | None) -> None:
        if ep.get("MacAddress"):
            return
        if self_key is not None:
            old = self._objs["endpoint"][self_key].get("MacAddress")
            if old:
                ep["MacAddress"] = old
                return
        pool = self._mac_pools.get(net_key)
        if pool is None:
            ep.pop("MacAddress", None)
            return

        def used(value: int) -> bool:
            return (net_key, model.int_to_mac(value)) in self._macs

        value = pool.peek(used)
        if value is None:
            raise InvalidEndpoint(detail="the network's MAC pool is exhausted")
        ep["MacAddress"] = model.int_to_mac(value)

    def _check_port_policies(self, policies: list[Json], self_key: str | None) -> None:
        wanted = []
        for policy in policies:
            if policy["Type"] != "PortMapping":
                continue
            s = policy["Settings"]
            if not s.get("ExternalPort"):
                continue
            wanted.append((s.get("Protocol", 6) or 6, s["ExternalPort"], s.get("VIP", "")))
        self._check_reservations(wanted, self_key)

    def _check_reservations(self, wanted: list[tuple[int, int, str]],
                            self_key: str | None) -> None:
        seen: set[tuple[int, int, str]] = set()
        for proto, port, vip in wanted:
            holders = self._ports.get((proto, port), {})

            def held(address: str, holders: dict[str, str] = holders) -> bool:
                owner = holders.get(address)
                return owner is not None and owner != self_key

            # O(1): a wildcard only scans until the first holder that is not itself.
            clash = held(vip) or held("") or (
                vip == "" and any(o != self_key for o in holders.values()))
            if clash or (proto, port, vip) in seen:
                raise PortAlreadyExists(detail=f"{vip or '*'}:{port}/{proto} is reserved")
            seen.add((proto, port, vip))

    def _modify_endpoint(self, ep: Json, rtype: str, req: str, settings: Any) -> None:
        remote = bool(ep.get("Flags", 0) & model.EP_REMOTE)
        if rtype == "Port":
            if remote:
                raise InvalidRemoteEndpointOperation(detail="VM port on a remote endpoint")
            body = settings if isinstance(settings, dict) else {}
            if req == "Add":
                self._attach(ep, {"SystemType": "VirtualMachine", **body})
            elif req == "Remove":
                self._detach(ep, body)
            else:
                raise RequestUnsupported(detail=f"Port {req}")
            return
        if rtype != "Policy":
            raise RequestUnsupported(detail=f"endpoint ResourceType {rtype!r}")
        body = settings if isinstance(settings, dict) else {}
        raw = body.get("Policies")
        if req == "Update" and isinstance(raw, list) and all(p == {} for p in raw):
            new: list[Json] = []  # Remove-HnsProxyPolicy sends Update with [{}]: clear
            changed = dict(ep, Policies=[p for p in ep["Policies"] if p["Type"] != "L4Proxy"])
        else:
            new = parse_policies(raw, ENDPOINT_POLICY_TYPES, self._profile, v1=False)
            changed = dict(ep, Policies=_merge_policies(ep.get("Policies", []), new, req))
        if remote and any(p["Type"] == "PortMapping" for p in new):
            raise InvalidRemoteEndpointOperation(detail="port mappings on a remote endpoint")
        self._check_port_policies(changed["Policies"], _key(ep["ID"]))
        self._apply([("endpoint", changed)])

    def _attach(self, ep: Json, body: Json) -> None:
        if ep.get("Flags", 0) & model.EP_REMOTE:
            raise InvalidRemoteEndpointOperation(detail="attach of a remote endpoint")
        system = body.get("SystemType", "Container")
        if system not in ("Container", "VirtualMachine", "Host"):
            raise InvalidArg(detail=f"SystemType {system!r}")
        containers = list(ep.get("SharedContainers", []))
        cid = body.get("ContainerId") or body.get("VirtualMachineId")
        cid = cid if isinstance(cid, str) and cid else None
        attached = ep.get("State") in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING)
        if attached and (cid is None or cid in containers or not containers):
            raise EndpointAlreadyAttached(detail=ep["ID"])
        if cid is not None and cid not in containers:
            # A second container on an attached endpoint shares it (Docker's
            # --network container:, a pod's containers): hcsshim's AttachedSharing (3).
            containers.append(cid)
        changed = dict(ep, State=_attach_state(containers), SharedContainers=containers)
        self._apply([("endpoint", changed)])

    def _detach(self, ep: Json, body: Json) -> None:
        if ep.get("Flags", 0) & model.EP_REMOTE:
            raise InvalidRemoteEndpointOperation(detail="detach of a remote endpoint")
        if ep.get("State") not in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING):
            raise EndpointNotAttached(detail=ep["ID"])
        cid = body.get("ContainerId")
        containers = [c for c in ep.get("SharedContainers", []) if c != cid] if cid else []
        state = _attach_state(containers) if containers else model.STATE_DETACHED
        self._apply([("endpoint", dict(ep, State=state, SharedContainers=containers))])

    # ---- load balancers and routes -------------------------------------------------------

    def _lb_v1(self, lb: Json) -> Json:
        return model.load_balancer_v1(lb, version=self._version())

    def _create_lb_parsed(self, lb: Json, *, upper: bool, replace: Json | None = None,
                          check_refs: bool = True) -> Json:
        if replace is not None:
            lb["ID"] = replace["ID"]
        elif lb["ID"] is None:
            lb["ID"] = model.new_guid(upper=upper)
        elif _key(lb["ID"]) in self._objs["loadbalancer"] or _key(lb["ID"]) in self._objs["route"]:
            raise AlreadyExists(detail=f"load balancer {lb['ID']} exists")
        if check_refs:
            lb["HostComputeEndpoints"] = self._resolve_endpoints(lb["HostComputeEndpoints"])
        net = lb.get("HostComputeNetwork")
        if net and _key(net) not in self._objs["network"]:
            raise NetworkNotFound(detail=net)
        self._check_reservations(self._lb_reservations(lb),
                                 None if replace is None else _key(replace["ID"]))
        if replace is not None and "_v1" in replace and "_v1" not in lb:
            lb["_v1"] = replace["_v1"]
        self._apply([("loadbalancer", lb)])
        return lb

    def _resolve_endpoints(self, ids: list[str]) -> list[str]:
        out = []
        for ident in ids:
            ep = self._objs["endpoint"].get(_key(ident))
            if ep is None:
                raise EndpointNotFound(detail=ident)
            out.append(ident)
        return out

    def _create_route_parsed(self, route: Json, *, upper: bool, check_refs: bool = True) -> Json:
        if route["ID"] is None:
            route["ID"] = model.new_guid(upper=upper)
        elif _key(route["ID"]) in self._objs["route"] or \
                _key(route["ID"]) in self._objs["loadbalancer"]:
            raise AlreadyExists(detail=f"route {route['ID']} exists")
        if check_refs:
            route["HostComputeEndpoints"] = self._resolve_endpoints(route["HostComputeEndpoints"])
        self._apply([("route", route)])
        return route

    # ---- namespaces ------------------------------------------------------------------------

    def _create_namespace(self, body: Any, *, v1: bool) -> Json:
        ns = model.parse_namespace(body, v1=v1)
        if ns["ID"] is None:
            ns["ID"] = model.new_guid(upper=v1)
        elif _key(ns["ID"]) in self._objs["namespace"]:
            raise AlreadyExists(detail=f"namespace {ns['ID']} exists")
        if ns["Type"] in ("HostDefault", "GuestDefault"):
            if any(n["Type"] == ns["Type"] for n in self._objs["namespace"].values()):
                raise GcnDefaultnamespaceExists(detail=ns["Type"])
            ns.setdefault("NamespaceId", 1)
        if "NamespaceId" not in ns:
            used = {n.get("NamespaceId", 0) for n in self._objs["namespace"].values()}
            compartment = 2
            while compartment in used:
                compartment += 1
            ns["NamespaceId"] = compartment
        self._apply([("namespace", ns)])
        return ns

    def _namespace_resource(self, ns: Json, rtype: Any, rid: Any, *, add: bool) -> None:
        if rtype not in ("Endpoint", "Container"):
            raise InvalidArg(detail=f"resource type {rtype!r}")
        if not isinstance(rid, str) or not rid:
            raise InvalidArg(detail="resource without an id")
        resources = list(ns.get("Resources", []))
        present = [r for r in resources if r["Type"] == rtype and _eq(r["ID"], rid)]
        if rtype == "Container":
            if add and not present:
                resources.append({"Type": "Container", "ID": rid})
            elif not add:
                if not present:
                    raise ElementNotFound(detail=f"container {rid} not in namespace")
                resources = [r for r in resources if r not in present]
            self._apply([("namespace", dict(ns, Resources=resources))])
            return
        self._check_guid(rid)
        ep = self._objs["endpoint"].get(_key(rid))
        if ep is None:
            raise EndpointNotFound(detail=rid)
        if ep.get("Flags", 0) & model.EP_REMOTE:
            raise InvalidRemoteEndpointOperation(detail="namespace membership of a remote endpoint")
        if add:
            if ep.get("HostComputeNamespace"):
                raise EndpointNamespaceAlreadyExists(detail=ep["HostComputeNamespace"])
            resources.append({"Type": "Endpoint", "ID": ep["ID"]})
            new_ep = dict(ep, HostComputeNamespace=ns["ID"])
        else:
            if not present:
                raise ElementNotFound(detail=f"endpoint {rid} not in namespace")
            resources = [r for r in resources if r not in present]
            new_ep = {k: v for k, v in ep.items() if k != "HostComputeNamespace"}
        self._apply([("namespace", dict(ns, Resources=resources)), ("endpoint", new_ep)])

    # ---- generic get / delete --------------------------------------------------------------

    def _get(self, kind: str, ident: str | None,
             missing: type[HnsError] = ElementNotFound) -> Json:
        if ident is None:
            raise missing(detail=f"no {kind} id")
        obj = self._objs[kind].get(_key(ident.strip("{}")))
        if obj is None:
            raise missing(detail=f"{kind} {ident}")
        return obj

    def _v1_endpoint(self, ident: str | None) -> Json:
        """A V1 endpoint lookup.  The issue fixes "missing id -> Element not found." for
        every open and delete; one real host answered a V1 endpoint DELETE with
        HCN_E_ENDPOINT_NOT_FOUND instead (azure-container-networking#715), see docs/hns.md."""
        return self._get("endpoint", ident, ElementNotFound)

    def _delete(self, kind: str, ident: str | None,
                missing: type[HnsError] = ElementNotFound) -> None:
        obj = self._get(kind, ident, missing)
        key = _key(obj["ID"])
        puts: list[tuple[str, Json]] = []
        deletes: list[tuple[str, str]] = []
        if kind == "network":
            self._plan_network_delete(key, puts, deletes)
        elif kind == "endpoint":
            self._plan_endpoint_delete(obj, puts, deletes)
        elif kind == "namespace":
            if any(r["Type"] == "Endpoint" for r in obj.get("Resources", [])):
                raise EntityHasReferences(detail="namespace still holds endpoints")
            deletes.append(("namespace", key))
        else:
            deletes.append((kind, key))
        self._apply(_dedupe(puts, deletes), deletes)

    def _plan_network_delete(self, key: str, puts: list[tuple[str, Json]],
                             deletes: list[tuple[str, str]]) -> None:
        for ep_key in list(self._net_eps.get(key, ())):
            self._plan_endpoint_delete(self._objs["endpoint"][ep_key], puts, deletes)
        deletes.append(("network", key))

    def _plan_endpoint_delete(self, ep: Json, puts: list[tuple[str, Json]],
                              deletes: list[tuple[str, str]]) -> None:
        ns_id = ep.get("HostComputeNamespace")
        if ns_id:
            ns_key = _key(ns_id)
            pending = next((o for k, o in puts if k == "namespace" and _key(o["ID"]) == ns_key),
                           None)
            ns = pending or self._objs["namespace"].get(ns_key)
            if ns is not None:
                kept = [r for r in ns.get("Resources", [])
                        if not (r["Type"] == "Endpoint" and _eq(r["ID"], ep["ID"]))]
                puts.append(("namespace", dict(ns, Resources=kept)))
        deletes.append(("endpoint", _key(ep["ID"])))


def _attach_state(containers: list[str]) -> int:
    return model.STATE_ATTACHED_SHARING if len(containers) > 1 else model.STATE_ATTACHED


def _prefix_len(prefix: str) -> int:
    return ipaddress.ip_network(prefix, strict=False).prefixlen


def _dedupe(puts: list[tuple[str, Json]],
            deletes: list[tuple[str, str]]) -> list[tuple[str, Json]]:
    """Last write per object wins; nothing deleted in the same operation is written."""
    gone = set(deletes)
    latest: dict[tuple[str, str], Json] = {}
    for kind, obj in puts:
        latest[(kind, _key(obj["ID"]))] = obj
    return [(kind, obj) for (kind, key), obj in latest.items() if (kind, key) not in gone]


def _same_policy(a: Json, b: Json) -> bool:
    return bool(a["Type"] == b["Type"] and a.get("Settings") == b.get("Settings"))


def _merge_policies(current: list[Json], new: list[Json], req: str) -> list[Json]:
    out = [copy.deepcopy(p) for p in current]
    if req == "Add":
        for policy in new:
            if any(_same_policy(policy, p) for p in out):
                raise PolicyAlreadyExists(detail=policy["Type"])
            out.append(policy)
    elif req == "Remove":
        for policy in new:
            match = [p for p in out if _same_policy(policy, p)]
            if not match:
                raise PolicyNotFound(detail=policy["Type"])
            out.remove(match[0])
    elif req == "Update":
        types = {p["Type"] for p in new}
        out = [p for p in out if p["Type"] not in types] + new
    elif req != "Refresh":
        raise RequestUnsupported(detail=f"policy request {req!r}")
    return out


_Handler = Callable[[HnsService, str | None, str | None], Any]


def _delete_handler(kind: str) -> _Handler:
    def handler(self: HnsService, ident: str | None, _req: str | None) -> Any:
        self._delete(kind, ident)
        return None
    return handler


def _accelnet_handler(verb: str) -> _Handler:
    def handler(self: HnsService, ident: str | None, req: str | None) -> Any:
        return self._v1_accelnet(ident, req, verb=verb)
    return handler


def _resource_handler(add: bool) -> _Handler:
    def handler(self: HnsService, ident: str | None, req: str | None) -> Any:
        return self._v1_namespace_resource(ident, req, add=add)
    return handler


_V1_ROUTES: dict[tuple[str, str, bool, str | None], _Handler] = {
    ("GET", "networks", False, None): HnsService._v1_list_networks,
    ("GET", "networks", True, None): HnsService._v1_get_network,
    ("POST", "networks", False, None): HnsService._v1_create_network,
    ("POST", "networks", True, None): HnsService._v1_modify_network,
    ("DELETE", "networks", True, None): _delete_handler("network"),
    ("GET", "endpoints", False, None): HnsService._v1_list_endpoints,
    ("GET", "endpoints", True, None): HnsService._v1_get_endpoint,
    ("POST", "endpoints", False, None): HnsService._v1_create_endpoint,
    ("POST", "endpoints", True, None): HnsService._v1_update_endpoint,
    ("DELETE", "endpoints", True, None): _delete_handler("endpoint"),
    ("POST", "endpoints", True, "attach"): HnsService._v1_attach,
    ("POST", "endpoints", True, "detach"): HnsService._v1_detach,
    ("GET", "endpointstats", True, None): HnsService._v1_endpoint_stats,
    ("GET", "policylists", False, None): HnsService._v1_list_policylists,
    ("GET", "policylists", True, None): HnsService._v1_get_policylist,
    ("POST", "policylists", False, None): HnsService._v1_create_policylist,
    ("DELETE", "policylists", True, None): HnsService._v1_delete_policylist,
    ("GET", "namespaces", False, None): HnsService._v1_list_namespaces,
    ("GET", "namespaces", True, None): HnsService._v1_get_namespace,
    ("POST", "namespaces", False, None): HnsService._v1_create_namespace,
    ("DELETE", "namespaces", True, None): _delete_handler("namespace"),
    ("POST", "namespaces", True, "addresource"): _resource_handler(True),
    ("POST", "namespaces", True, "removeresource"): _resource_handler(False),
    ("GET", "globals", True, None): HnsService._v1_version,
    ("GET", "accelnet", False, None): _accelnet_handler("GET"),
    ("POST", "accelnet", False, None): _accelnet_handler("POST"),
    ("DELETE", "accelnet", False, None): _accelnet_handler("DELETE"),
}
