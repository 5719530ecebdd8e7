"""Compute systems: the containers and VMs the Host Compute Service (HCS, vmcompute.dll)
knows, as far as networking sees them.

What HCS does for networking is attach HNS endpoints to the systems it runs. V1 clients
(hcsshim's ``HotAttachEndpoint`` / ``HotDetachEndpoint``, which the containernetworking
Windows plugins call for ``apiVersion`` 1) open the system by id and send
``HcsModifyComputeSystem`` with ``{"ResourceType":"Network","RequestType":"Add"|"Remove",
"Settings":"<endpoint id>"}`` (hcsshim ``hnsendpoint.go`` ``modifyNetworkEndpoint``,
``internal/hcs/schema1``); HCS then asks HNS to attach or detach that endpoint to or from
the container. Here an Add or Remove is exactly that: an HNS V1 attach/detach through
``HnsService.hns_call`` (so it is logged, faultable and compiled like any other attach).
The V2 form hcsshim uses for a VM's adapter (``ResourcePath
"VirtualMachine/Devices/NetworkAdapters/<id>"``, ``Settings {"EndpointId": ...}``) does
the same.

A compute system is created (``HcsCreateComputeSystem`` or the emulator's own API),
started, listed, opened and queried, modified (network adapters only; other resources
are refused with ERROR_NOT_SUPPORTED, which hcsshim maps to ErrPlatformNotSupported), and
terminated (its endpoints are detached, then it is gone). There are no processes, no
storage, no notifications. Errors carry the HRESULTs vmcompute returns
(``HCS_E_SYSTEM_NOT_FOUND`` 0xC037010E, ...: hcsshim ``internal/hcs/errors.go``).

State lives in memory, one ``ComputeSystems`` per ``HnsService`` (``compute_systems``);
``HnsService.reset()`` and ``reboot()`` empty it (containers do not outlive either). The
HNS attach runs outside this module's lock, so a fault that holds the HNS call never
holds the compute systems.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from hns.errors import HnsError, InvalidArg
from hns.service import HnsService

__all__ = ["ComputeSystem", "ComputeSystems", "HcsError", "compute_systems"]

Json = dict[str, Any]


class HcsError(HnsError):
    """A vmcompute failure: an HCS HRESULT and the message FormatMessage gives for it."""

    category = "invalid"


class SystemNotFound(HcsError):
    """HCS_E_SYSTEM_NOT_FOUND (hcsshim ErrComputeSystemDoesNotExist)."""

    hresult = 0xC037010E
    name = "HCS_E_SYSTEM_NOT_FOUND"
    default_message = "A virtual machine or container with the specified identifier does not exist."
    category = "not_found"


class SystemAlreadyExists(HcsError):
    """HCS_E_SYSTEM_ALREADY_EXISTS."""

    hresult = 0xC037010F
    name = "HCS_E_SYSTEM_ALREADY_EXISTS"
    default_message = "A virtual machine or container with the specified identifier already exists."
    category = "conflict"


class HcsInvalidJson(HcsError):
    """HCS_E_INVALID_JSON (hcsshim ErrVmcomputeInvalidJSON)."""

    hresult = 0xC037010D
    name = "HCS_E_INVALID_JSON"
    default_message = "The JSON document is invalid."


class NotSupported(HcsError):
    """ERROR_NOT_SUPPORTED as an HRESULT (hcsshim ErrNotSupported, IsNotSupported)."""

    hresult = 0x80070032
    name = "ERROR_NOT_SUPPORTED"
    default_message = "The request is not supported."
    category = "unsupported"


SYSTEM_TYPES = ("Container", "VirtualMachine")
#: The V2 resource path of a VM network adapter (hcsshim internal/protocol/resourcepaths).
_ADAPTER_PATH = "virtualmachine/devices/networkadapters/"


@dataclass
class ComputeSystem:
    id: str
    name: str
    owner: str
    system_type: str
    state: str = "Created"  # or "Running" once started
    #: the endpoints HCS attached, lower-case ids
    endpoints: list[str] = field(default_factory=list)
    runtime_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def properties(self) -> Json:
        """The schema1 ``ContainerProperties`` hcsshim decodes (Id, State, Name, ...)."""
        return {"Id": self.id, "State": self.state, "Name": self.name,
                "SystemType": self.system_type, "RuntimeOsType": "windows",
                "Owner": self.owner, "RuntimeId": self.runtime_id}


class ComputeSystems:
    """The compute systems of one emulated host."""

    def __init__(self, service: HnsService) -> None:
        # weak: the registry below is keyed weakly by the service, so no strong path back
        self._service = weakref.ref(service)
        self._lock = threading.Lock()
        self._systems: dict[str, ComputeSystem] = {}
        service.reset_hooks.append(self.clear)

    def clear(self) -> None:
        with self._lock:
            self._systems = {}

    # ---- lifecycle -------------------------------------------------------------------

    def create(self, id: str | None, configuration: str | None) -> ComputeSystem:
        """HcsCreateComputeSystem: a V1 (``SystemType``) or V2 (``Container`` /
        ``VirtualMachine``) document; ``Name`` and ``Owner`` are kept."""
        if not isinstance(id, str) or not id.strip():
            raise InvalidArg(detail="a compute system needs an id")
        config = _parse(configuration, allow_empty=True)
        system_type = config.get("SystemType")
        if system_type is None:
            system_type = "VirtualMachine" if "VirtualMachine" in config else "Container"
        if system_type not in SYSTEM_TYPES:
            raise HcsInvalidJson(detail=f"SystemType {system_type!r}")
        name, owner = config.get("Name", id), config.get("Owner", "")
        if not isinstance(name, str) or not isinstance(owner, str):
            raise HcsInvalidJson(detail="Name and Owner must be strings")
        system = ComputeSystem(id=id, name=name, owner=owner, system_type=system_type)
        with self._lock:
            if id.lower() in self._systems:
                raise SystemAlreadyExists(detail=id)
            self._systems[id.lower()] = system
        return system

    def start(self, id: str | None) -> ComputeSystem:
        with self._lock:  # a system is Created or Running: terminating one removes it
            system = self._get(id)
            system.state = "Running"
            return system

    def terminate(self, id: str | None) -> None:
        """HcsTerminateComputeSystem / HcsShutdownComputeSystem: detach every endpoint
        HCS attached, then forget the system."""
        with self._lock:
            system = self._get(id)
            endpoints = list(system.endpoints)
            del self._systems[system.id.lower()]
        for endpoint in endpoints:
            # the endpoint may have gone (or been detached through HNS) before the container
            with contextlib.suppress(HnsError):
                self._hns("detach", endpoint, system)

    def get(self, id: str | None) -> ComputeSystem:
        with self._lock:
            return self._get(id)

    def list(self, query: str | None = None) -> list[Json]:
        """HcsEnumerateComputeSystems: schema1 ``ComputeSystemQuery`` filters (``Ids``,
        ``Names``, ``Types``, ``Owners``; each a list, all must match)."""
        flt = _parse(query, allow_empty=True)
        wanted: dict[str, set[str]] = {}
        for key, attr in (("Ids", "id"), ("Names", "name"), ("Types", "system_type"),
                          ("Owners", "owner")):
            values = flt.get(key)
            if values is None:
                continue
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise HcsInvalidJson(detail=f"{key} must be a list of strings")
            wanted[attr] = {v.lower() for v in values}
        with self._lock:
            systems = list(self._systems.values())
        return [s.properties() for s in systems
                if all(str(getattr(s, attr)).lower() in values
                       for attr, values in wanted.items())]

    # ---- network adapters ------------------------------------------------------------

    def modify(self, id: str | None, request: str | None) -> None:
        """HcsModifyComputeSystem with a network adapter Add or Remove."""
        body = _parse(request)
        system = self.get(id)
        verb, endpoint = _adapter_request(body)
        if verb == "Add":
            canonical = self._hns("attach", endpoint, system)
            with self._lock:
                alive = self._systems.get(system.id.lower()) is system
                if alive and canonical not in system.endpoints:
                    system.endpoints.append(canonical)
            if not alive:  # terminated while HNS attached: undo, as HCS would not keep it
                self._hns("detach", canonical, system)
                raise SystemNotFound(detail=system.id)
        else:
            canonical = self._hns("detach", endpoint, system)
            with self._lock:
                if canonical in system.endpoints:
                    system.endpoints.remove(canonical)

    def _hns(self, action: str, endpoint: str, system: ComputeSystem) -> str:
        """HNS V1 attach/detach of ``endpoint`` to ``system`` (ids ignore case, so the
        id is kept lower-case)."""
        service = self._service()
        if service is None:
            raise SystemNotFound(detail="the host is gone")
        # the V1 attach document (hcsshim internal/hns EndpointAttachDetachRequest)
        key = "VirtualMachineId" if system.system_type == "VirtualMachine" else "ContainerId"
        body = json.dumps({key: system.id, "SystemType": system.system_type})
        service.hns_call("POST", f"/endpoints/{endpoint}/{action}", body)
        return endpoint.lower()

    def _get(self, id: str | None) -> ComputeSystem:
        system = self._systems.get(id.lower()) if isinstance(id, str) else None
        if system is None:
            raise SystemNotFound(detail=str(id))
        return system


def _adapter_request(body: Json) -> tuple[str, str]:
    """(``Add``|``Remove``, endpoint id) of a V1 or V2 network adapter request."""
    verb = body.get("RequestType", "Add")
    if verb not in ("Add", "Remove"):
        raise NotSupported(detail=f"RequestType {verb!r}")
    settings = body.get("Settings")
    path = body.get("ResourcePath")
    if body.get("ResourceType") == "Network":  # schema1 (hcsshim modifyNetworkEndpoint)
        endpoint = settings
    elif isinstance(path, str) and path.lower().startswith(_ADAPTER_PATH):
        endpoint = settings.get("EndpointId") if isinstance(settings, dict) else None
        if verb == "Remove" and endpoint is None:
            endpoint = path[len(_ADAPTER_PATH):]
    else:
        what = body.get("ResourceType", path)
        raise NotSupported(detail=f"modify of resource {what!r}: only network adapters")
    if not isinstance(endpoint, str) or not endpoint:
        raise HcsInvalidJson(detail="a network adapter request needs an endpoint id")
    return verb, endpoint


def _parse(text: str | None, *, allow_empty: bool = False) -> Json:
    if text is None or not text.strip():
        if allow_empty:
            return {}
        raise HcsInvalidJson(detail="empty document")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise HcsInvalidJson(detail="not JSON") from None
    if not isinstance(doc, dict):
        raise HcsInvalidJson(detail="not a JSON object")
    return doc


_BY_SERVICE: weakref.WeakKeyDictionary[HnsService, ComputeSystems] = weakref.WeakKeyDictionary()
_BY_SERVICE_LOCK = threading.Lock()


def compute_systems(service: HnsService) -> ComputeSystems:
    """The compute systems of ``service``'s host (made on first use)."""
    with _BY_SERVICE_LOCK:
        systems = _BY_SERVICE.get(service)
        if systems is None:
            systems = _BY_SERVICE[service] = ComputeSystems(service)
        return systems
