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
from hns.model.service_read import lb_reservations, stored_load_balancer
from hns.service.base import Json, _key
from hns.service.endpoint import Endpoints


class LoadBalancers(Endpoints):
    """Load balancer and SDN route creation."""

    def _lb_v1(self, lb: Json) -> Json:
        return model.load_balancer_v1(lb, version=self._version())

    def _create_lb_parsed(self, lb: Json, *, upper: bool, replace: Json | None = None,
                          check_refs: bool = True) -> Json:
        # The request as the stored form it was parsed into, and the one it replaces.
        given = stored_load_balancer(lb)
        old = None if replace is None else stored_load_balancer(replace)
        if old is not None:
            lb["ID"] = old.id
        elif given.id is None:
            lb["ID"] = model.new_guid(upper=upper)
        elif given.key in self._objs["loadbalancer"] or given.key in self._objs["route"]:
            raise AlreadyExists(detail=f"load balancer {given.id} exists")
        if check_refs:
            lb["HostComputeEndpoints"] = self._resolve_endpoints(list(given.endpoints))
        if given.network and _key(given.network) not in self._objs["network"]:
            raise NetworkNotFound(detail=given.network)
        self._check_reservations(lb_reservations(lb),
                                 None if old is None else old.key)
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
        given = stored_load_balancer(route)
        if given.id is None:
            route["ID"] = model.new_guid(upper=upper)
        elif given.key in self._objs["route"] or given.key in self._objs["loadbalancer"]:
            raise AlreadyExists(detail=f"route {given.id} exists")
        if check_refs:
            route["HostComputeEndpoints"] = self._resolve_endpoints(list(given.endpoints))
        self._apply([("route", route)])
        return route
