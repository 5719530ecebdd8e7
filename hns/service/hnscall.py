"""V1: vmcompute.dll's HNSCall (method, path, request): the path table and its handlers
(networks, endpoints, attach / detach, policy lists, namespaces, globals, accelnet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hns import model
from hns.errors import (
    ElementNotFound,
    InvalidArg,
    InvalidJson,
    RequestUnsupported,
)
from hns.model.service_read import stored_id
from hns.service.base import Json, _guard, _key, parse_json
from hns.service.namespace import Namespaces


class HnsCallApi(Namespaces):
    """The V1 (HNSCall) entry point's path table and handlers."""

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
            net = self._toggle_extension(net, ext)
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
        ep_id = stored_id(self._v1_endpoint(ident))
        return {"BytesReceived": 0, "BytesSent": 0, "DroppedPacketsIncoming": 0,
                "DroppedPacketsOutgoing": 0, "EndpointId": ep_id, "InstanceId": ep_id,
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

    def _v1_endpoint(self, ident: str | None) -> Json:
        """A V1 endpoint lookup.  The issue fixes "missing id -> Element not found." for
        every open and delete; one real host answered a V1 endpoint DELETE with
        HCN_E_ENDPOINT_NOT_FOUND instead (azure-container-networking#715), see docs/hns.md."""
        return self._get("endpoint", ident, ElementNotFound)

    def _policylist_kind(self, ident: str | None) -> str:
        if ident is not None and _key(ident) in self._objs["route"]:
            return "route"
        return "loadbalancer"


_Handler = Callable[[HnsCallApi, str | None, str | None], Any]


def _delete_handler(kind: str) -> _Handler:
    def handler(self: HnsCallApi, ident: str | None, _req: str | None) -> Any:
        self._delete(kind, ident)
        return None
    return handler


def _accelnet_handler(verb: str) -> _Handler:
    def handler(self: HnsCallApi, ident: str | None, req: str | None) -> Any:
        return self._v1_accelnet(ident, req, verb=verb)
    return handler


def _resource_handler(add: bool) -> _Handler:
    def handler(self: HnsCallApi, ident: str | None, req: str | None) -> Any:
        return self._v1_namespace_resource(ident, req, add=add)
    return handler


_V1_ROUTES: dict[tuple[str, str, bool, str | None], _Handler] = {
    ("GET", "networks", False, None): HnsCallApi._v1_list_networks,
    ("GET", "networks", True, None): HnsCallApi._v1_get_network,
    ("POST", "networks", False, None): HnsCallApi._v1_create_network,
    ("POST", "networks", True, None): HnsCallApi._v1_modify_network,
    ("DELETE", "networks", True, None): _delete_handler("network"),
    ("GET", "endpoints", False, None): HnsCallApi._v1_list_endpoints,
    ("GET", "endpoints", True, None): HnsCallApi._v1_get_endpoint,
    ("POST", "endpoints", False, None): HnsCallApi._v1_create_endpoint,
    ("POST", "endpoints", True, None): HnsCallApi._v1_update_endpoint,
    ("DELETE", "endpoints", True, None): _delete_handler("endpoint"),
    ("POST", "endpoints", True, "attach"): HnsCallApi._v1_attach,
    ("POST", "endpoints", True, "detach"): HnsCallApi._v1_detach,
    ("GET", "endpointstats", True, None): HnsCallApi._v1_endpoint_stats,
    ("GET", "policylists", False, None): HnsCallApi._v1_list_policylists,
    ("GET", "policylists", True, None): HnsCallApi._v1_get_policylist,
    ("POST", "policylists", False, None): HnsCallApi._v1_create_policylist,
    ("DELETE", "policylists", True, None): HnsCallApi._v1_delete_policylist,
    ("GET", "namespaces", False, None): HnsCallApi._v1_list_namespaces,
    ("GET", "namespaces", True, None): HnsCallApi._v1_get_namespace,
    ("POST", "namespaces", False, None): HnsCallApi._v1_create_namespace,
    ("DELETE", "namespaces", True, None): _delete_handler("namespace"),
    ("POST", "namespaces", True, "addresource"): _resource_handler(True),
    ("POST", "namespaces", True, "removeresource"): _resource_handler(False),
    ("GET", "globals", True, None): HnsCallApi._v1_version,
    ("GET", "accelnet", False, None): _accelnet_handler("GET"),
    ("POST", "accelnet", False, None): _accelnet_handler("POST"),
    ("DELETE", "accelnet", False, None): _accelnet_handler("DELETE"),
}
