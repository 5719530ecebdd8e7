"""The service's core: the objects and the lock every operation holds.

``ServiceBase`` holds the state (``hns.store``: the SQLite store, the objects in memory
and their indexes), the profile, the fault rules and the call log, and the generic
get / delete every object kind shares.  The helpers here are the service's common
vocabulary: ``_guard`` (the lock; anything but HnsError becomes E_UNEXPECTED), ``_event``
(emulator events in the call log), ``parse_json``, id comparison, policy merging.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from hns.accelnet import NnvManagementMacs
from hns.errors import (
    ElementNotFound,
    EntityHasReferences,
    HnsError,
    InvalidArg,
    InvalidJson,
    PolicyAlreadyExists,
    PolicyNotFound,
    RequestUnsupported,
    ServiceNotStarted,
    Unexpected,
)
from hns.faults import (
    SERVICE_DOWN_HRESULT,
    FaultSet,
)
from hns.model.service_read import stored_endpoint, stored_namespace
from hns.profiles import DEFAULT_PROFILE, PROFILES, Profile
from hns.service.calllog import CallLog
from hns.store.sqlite import KINDS, Store
from hns.store.state import IndexedState, key_of
from hns.strict import did_you_mean, one_of
from hns.validate import Bad, guid_or_none

Json = dict[str, Any]


T = TypeVar("T")


DUMP_FORMAT = "hns-emulator-state"


def _guard(method: Callable[..., T]) -> Callable[..., T]:
    """Hold the lock; let HnsError through; turn anything else into E_UNEXPECTED."""

    @functools.wraps(method)
    def wrapper(self: ServiceBase, *args: Any, **kwargs: Any) -> T:
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
        def wrapper(self: ServiceBase, *args: Any, **kwargs: Any) -> T:
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


class ServiceBase(IndexedState):
    """State, lock, profile, fault rules and call log of the emulated HNS; get and delete."""

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
        #: Every V1/V2 call and emulator event, in order (hns/service/calllog.py).
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

    @property
    def lock(self) -> threading.RLock:
        """The service lock (re-entrant).  Every operation and every change listener runs
        under it; a packet path that reads compiled state takes it too."""
        return self._lock

    @property
    def profile(self) -> str:
        return self._profile.name

    def globals_version(self) -> dict[str, int]:
        return {"Major": self._profile.major, "Minor": self._profile.minor}

    def _version(self) -> int:
        return self._profile.packed_version

    def _check_guid(self, ident: Any) -> str | None:
        try:
            return guid_or_none(ident)
        except Bad as exc:
            raise InvalidArg(detail=str(exc)) from None

    def _describe_for_log(self, with_state: bool) -> dict[str, Any]:
        state = None
        if with_state:
            with contextlib.suppress(HnsError):
                state = self.dump()
        return {"Profile": self.profile, "HostIp": self.host_ip, "State": state}

    @_guard
    def dump(self) -> dict[str, Any]:
        return {
            "Format": DUMP_FORMAT,
            "FormatVersion": 1,
            "Profile": self._profile.name,
            "Objects": {kind: [copy.deepcopy(o) for o in objs.values()]
                        for kind, objs in self._objs.items()},
        }

    # -- issue 11 (h11): the stored objects themselves, for the compiler's full sync ------
    @_guard
    def stored(self) -> dict[str, list[Json]]:
        """Every stored object by kind, not copied: the very dicts change listeners are
        handed (replaced on every change, never mutated), read only.  ``dump`` deep-copies
        them, which at kube-proxy scale (15,000 objects) cost a full sync seconds."""
        return {kind: list(objs.values()) for kind, objs in self._objs.items()}

    def _snapshot(self) -> dict[str, dict[str, Json]]:
        return {kind: dict(objs) for kind, objs in self._objs.items()}

    def _restore(self, saved: dict[str, dict[str, Json]]) -> None:
        self._objs = saved
        self._rebuild()
        self._store.commit([(kind, o) for kind in KINDS for o in saved[kind].values()],
                           replace_all=True)
        self._notify(None)

    def _get(self, kind: str, ident: str | None,
             missing: type[HnsError] = ElementNotFound) -> Json:
        if ident is None:
            raise missing(detail=f"no {kind} id")
        obj = self._objs[kind].get(_key(ident.strip("{}")))
        if obj is None:
            raise missing(detail=f"{kind} {ident}")
        return obj

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
            if stored_namespace(obj).holds("Endpoint"):
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
        stored = stored_endpoint(ep)
        ns_id = stored.namespace
        if ns_id:
            ns_key = _key(ns_id)
            pending = next((o for k, o in puts if k == "namespace" and _key(o["ID"]) == ns_key),
                           None)
            ns = pending or self._objs["namespace"].get(ns_key)
            if ns is not None:
                kept = [r for r in ns.get("Resources", [])
                        if not (r["Type"] == "Endpoint" and _eq(r["ID"], stored.id))]
                puts.append(("namespace", dict(ns, Resources=kept)))
        deletes.append(("endpoint", stored.key))


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
