"""V2: computenetwork.dll's Hcn* functions (HcnCreateNetwork, HcnQueryEndpointProperties,
...) dispatched to the object semantics, with V2 queries (filters, SchemaVersion) and
rendering of every kind in either schema version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hns import model
from hns.errors import (
    InvalidArg,
    InvalidJson,
    RequestUnsupported,
)
from hns.model.service_read import stored_endpoint, stored_id, stored_network
from hns.schema.modify import ModifyRequest, NamespaceResourceSetting
from hns.schema.request import parse_request
from hns.service.base import Json, _eq, _guard, _key, parse_json
from hns.service.namespace import Namespaces

_KIND_OF_FUNCTION = {
    "Networks": "network", "Network": "network",
    "Endpoints": "endpoint", "Endpoint": "endpoint",
    "LoadBalancers": "loadbalancer", "LoadBalancer": "loadbalancer",
    "Namespaces": "namespace", "Namespace": "namespace",
    "SdnRoutes": "route", "SdnRoute": "route",
}


_HCN_VERBS = ("Enumerate", "Create", "Open", "Close", "Query", "Modify", "Delete")


class HcnApi(Namespaces):
    """The V2 (HCN) entry point's dispatch and answers."""

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
            return [stored_id(o).lower() for o in self._filter(kind, flt)]
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
                if not _eq(stored_id(obj), want):
                    return False
                continue
            if kind == "endpoint" and key in ("VirtualNetwork", "HostComputeNetwork"):
                if not _eq(stored_endpoint(obj).network, want):
                    return False
                continue
            if kind == "endpoint" and key == "VirtualNetworkName":
                net = self._objs["network"].get(_key(stored_endpoint(obj).network or ""))
                if net is None or not _eq(stored_network(net).name, want):
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
        envelope = parse_request(ModifyRequest, body, error=InvalidArg, what="modify request",
                                 fields=("ResourceType", "RequestType"))
        rtype = envelope.resource_type
        if rtype is None:
            raise InvalidArg(detail="ResourceType: a modify request names its resource")
        if "RequestType" in body and body["RequestType"] is None:
            raise InvalidArg(detail="RequestType: null is no request type")
        req = "Add" if envelope.request_type is None else envelope.request_type
        settings = body.get("Settings")
        if kind == "namespace":
            if rtype not in ("Endpoint", "Container") or req not in ("Add", "Remove"):
                raise RequestUnsupported(detail=f"namespace {rtype} {req}")
            member = parse_request(NamespaceResourceSetting, settings, error=InvalidArg,
                                   what="namespace resource", not_object=InvalidArg,
                                   fields=(f"{rtype}Id",))
            rid = member.endpoint_id if rtype == "Endpoint" else member.container_id
            self._namespace_resource(obj, rtype, rid, add=req == "Add")
            return
        if kind == "network":
            self._modify_network(obj, rtype, req, settings)
            return
        self._modify_endpoint(obj, rtype, req, settings)
