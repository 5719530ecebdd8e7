"""TEST DOUBLE: a tiny in-memory stand-in for ``hns.service.HnsService``.

It obeys the api/hns contract (the same method names, JSON text in, JSON-able values
out, only ``HnsError`` raised) with almost no semantics, so the wire layer's unit tests
can check mapping, envelopes and statuses in isolation from the real backend. Tests of
behaviour run against the real ``HnsService``.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, ClassVar

from hns.errors import (
    ElementNotFound,
    InvalidArg,
    InvalidJson,
    NetworkAlreadyExists,
    PortAlreadyExists,
    RequestUnsupported,
)

_V1_KINDS = {"networks", "endpoints", "policylists", "namespaces"}
_V2_KINDS = {
    "Network": "networks",
    "Networks": "networks",
    "Endpoint": "endpoints",
    "Endpoints": "endpoints",
    "LoadBalancer": "loadbalancers",
    "LoadBalancers": "loadbalancers",
    "Namespace": "namespaces",
    "Namespaces": "namespaces",
    "SdnRoute": "sdnroutes",
    "SdnRoutes": "sdnroutes",
}


def _parse(text: str | None) -> Any:
    if text is None or not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidJson() from None


class FakeHnsService:
    PROFILES: ClassVar[dict[str, tuple[int, int]]] = {
        "ws2019": (9, 2),
        "ws2022": (13, 3),
        "ws2025": (15, 4),
    }

    def __init__(self, *, state: str = ":memory:", profile: str = "ws2025") -> None:
        self._lock = threading.Lock()
        self._profile = profile
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.reset()

    @property
    def profile(self) -> str:
        return self._profile

    def set_profile(self, name: str) -> None:
        if name not in self.PROFILES:
            raise InvalidArg()
        self._profile = name

    def globals_version(self) -> dict[str, int]:
        major, minor = self.PROFILES[self._profile]
        return {"Major": major, "Minor": minor}

    def reset(self) -> None:
        self.objects = {
            k: {}
            for k in (
                "networks",
                "endpoints",
                "policylists",
                "namespaces",
                "loadbalancers",
                "sdnroutes",
            )
        }

    def dump(self) -> dict[str, Any]:
        return {"Objects": json.loads(json.dumps(self.objects)), "Profile": self._profile}

    def load(self, dump: dict[str, Any]) -> None:
        objects = dump.get("Objects")
        if not isinstance(objects, dict):
            raise InvalidJson()
        self.reset()
        for kind, items in objects.items():
            if kind in self.objects and isinstance(items, dict):
                self.objects[kind] = items

    def import_capture(self, text: str) -> list[str]:
        doc = _parse(text)
        items = doc.get("Output", doc) if isinstance(doc, dict) else doc
        items = items if isinstance(items, list) else [items]
        ids = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("ID"), str):
                self.objects["networks"][item["ID"].lower()] = item
                ids.append(item["ID"])
        return ids

    def reboot(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _create(self, kind: str, body: Any, id: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidJson()
        obj = dict(body)
        obj["ID"] = id or str(uuid.uuid4())
        store = self.objects[kind]
        if kind == "networks" and any(n.get("Name") == obj.get("Name") for n in store.values()):
            raise NetworkAlreadyExists()
        if kind == "loadbalancers":
            key = json.dumps([obj.get("FrontendVIPs"), obj.get("PortMappings")])
            if any(
                json.dumps([lb.get("FrontendVIPs"), lb.get("PortMappings")]) == key
                for lb in store.values()
            ):
                raise PortAlreadyExists()
        store[obj["ID"].lower()] = obj
        return obj

    def _get(self, kind: str, id: str | None) -> dict[str, Any]:
        obj = self.objects[kind].get((id or "").lower())
        if obj is None:
            raise ElementNotFound()
        return obj

    def hns_call(self, method: str, path: str, request: str | None = None) -> Any:
        with self._lock:
            self.calls.append(("hns", method, path, request or ""))
            parts = [p for p in path.split("/") if p]
            if parts == ["globals", "version"] and method == "GET":
                return self.globals_version()
            if not parts or parts[0] not in _V1_KINDS | {"endpointstats"}:
                raise RequestUnsupported()
            kind = parts[0]
            if kind == "endpointstats":
                if method != "GET" or len(parts) != 2:
                    raise RequestUnsupported()
                self._get("endpoints", parts[1])
                return {"EndpointId": parts[1], "PacketsSent": 0}
            if len(parts) == 1:
                if method == "GET":
                    return list(self.objects[kind].values())
                if method == "POST":
                    return self._create(kind, _parse(request))
                raise RequestUnsupported()
            obj = self._get(kind, parts[1])
            if len(parts) == 2:
                if method == "GET":
                    return obj
                if method == "DELETE":
                    del self.objects[kind][parts[1].lower()]
                    return None
                if method == "POST":
                    body = _parse(request)
                    if not isinstance(body, dict):
                        raise InvalidJson()
                    obj.update(body)
                    return obj
            if len(parts) == 3 and method == "POST":
                _parse(request)
                return None
            raise RequestUnsupported()

    def hcn_call(self, function: str, id: str | None = None, settings: str | None = None) -> Any:
        with self._lock:
            self.calls.append(("hcn", function, id or "", settings or ""))
            for verb in ("Enumerate", "Create", "Open", "Modify", "Delete", "Query"):
                if function.startswith("Hcn" + verb):
                    rest = function[len("Hcn" + verb) :].removesuffix("Properties")
                    break
            else:
                raise RequestUnsupported()
            kind = _V2_KINDS.get(rest)
            if kind is None:
                raise RequestUnsupported()
            if verb == "Enumerate":
                query = _parse(settings)
                if not isinstance(query, dict):
                    raise InvalidJson()
                flt = _parse(query.get("Filter")) if isinstance(query.get("Filter"), str) else {}
                return [
                    o["ID"]
                    for o in self.objects[kind].values()
                    if all(str(o.get(k, "")).lower() == str(v).lower() for k, v in flt.items())
                ]
            if verb == "Create":
                return self._create(kind, _parse(settings), id)
            obj = self._get(kind, id)
            if verb == "Query":
                _parse(settings)
                return obj
            if verb == "Modify":
                if not isinstance(_parse(settings), dict):
                    raise InvalidJson()
                return None
            if verb == "Delete":
                del self.objects[kind][(id or "").lower()]
            return None
