"""Load balancers and SDN routes (V2 HostComputeLoadBalancer / HostComputeRoute, V1 policy
lists): ids, endpoint references, frontend port reservations.
"""

from __future__ import annotations

from hns import model
from hns.errors import (
    AlreadyExists,
    EndpointNotFound,
    NetworkNotFound,
)
from hns.service.base import Json, _key
from hns.service.endpoint import Endpoints


class LoadBalancers(Endpoints):
    """Load balancer and SDN route creation."""

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
