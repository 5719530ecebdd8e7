"""A small kube-proxy-like service proxy for Windows: it keeps HNS load balancers in step
with a desired set of services, through the emulator's HTTP client (``HnsClient``).

This is the kind of code the emulator exists to test (the real one is kube-proxy's
winkernel proxier); test_kube_proxy_like.py next to it tests it with the hns-emulator
pytest plugin, under injected faults.

What ``Proxier.sync(services)`` does, as kube-proxy does it:
    * one load balancer per (service, port): ClusterIP services have ``FrontendVIPs``
      [cluster IP]; NodePort ones have no VIP and the LocalRoutedVIP port-mapping flag;
    * backends are endpoints of the proxier's network, found by IP; a backend on another
      node (``Backend.node_pa``) gets a remote endpoint (``Flags`` 1, ProviderAddress
      policy) made on demand, as kube-proxy does on overlay networks;
    * a load balancer whose backends changed is updated with ``HcnModifyLoadBalancer``
      where HNS has it (15.4+), and the result read back: if HNS accepted the update and did
      not apply it (kubernetes#131466) it is deleted and made again; older HNS: delete and
      create (hcsshim's AddEndpoint/RemoveEndpoint do the same);
    * load balancers of services that went away are deleted (a missing one is not an
      error; a delete that fails is tried once more, WS2019's flaky deletes);
    * transient failures (HNS restarting: 0x800706D9, 0x80070426, 0x803B0020; a client
      timeout) are retried with backoff; anything else is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from api.client import HnsClient
from hns.errors import ElementNotFound, HnsError

T = TypeVar("T")

#: HRESULTs a restarting or stopped HNS answers with: worth retrying.
TRANSIENT = frozenset({0x800706D9, 0x80070426, 0x803B0020})
PROTOCOLS = {"TCP": 6, "UDP": 17}
LOCAL_ROUTED_VIP = 2
MODIFY_NEEDS = (15, 4)


@dataclass(frozen=True)
class Backend:
    ip: str
    node_pa: str | None = None  # None: a pod on this node (its endpoint exists already)


@dataclass(frozen=True)
class ServicePort:
    name: str
    protocol: str  # "TCP" / "UDP"
    port: int  # the service (external) port
    target_port: int  # the pods' port
    cluster_ip: str | None  # None: a NodePort (answers on the node's address)
    backends: tuple[Backend, ...] = ()

    def key(self) -> tuple[str, int, int, str]:
        return (self.cluster_ip or "", PROTOCOLS[self.protocol], self.port, self.name)


@dataclass
class SyncStats:
    created: int = 0
    updated: int = 0
    recreated: int = 0
    deleted: int = 0
    retries: int = 0
    remote_endpoints: int = 0


@dataclass
class Proxier:
    """Keeps the load balancers of one HNS network equal to the services given to sync."""

    client: HnsClient
    network_name: str
    attempts: int = 6
    backoff: float = 0.05
    sleep: Callable[[float], None] = time.sleep
    stats: SyncStats = field(default_factory=SyncStats)
    _lbs: dict[tuple[str, int, int, str], str] = field(default_factory=dict)

    # -- retries -------------------------------------------------------------------

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        delay = self.backoff
        for attempt in range(self.attempts):
            try:
                return fn(*args)
            except HnsError as exc:
                if exc.hresult & 0xFFFFFFFF not in TRANSIENT or attempt == self.attempts - 1:
                    raise
            except httpx.TimeoutException:
                if attempt == self.attempts - 1:
                    raise
            self.stats.retries += 1
            self.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    # -- lookups -------------------------------------------------------------------

    def _network(self) -> dict[str, Any]:
        ids = self._call(self.client.hcn_enumerate_networks,
                         {"SchemaVersion": {"Major": 2, "Minor": 0},
                          "Filter": f'{{"Name":"{self.network_name}"}}'})
        if not ids:
            raise LookupError(f"network {self.network_name!r} not found (yet)")
        return self._call(self.client.hcn_query_network_properties, ids[0])

    def _endpoints_by_ip(self, network_id: str) -> dict[str, str]:
        query = {"SchemaVersion": {"Major": 2, "Minor": 0},
                 "Filter": f'{{"VirtualNetwork":"{network_id}"}}'}
        out = {}
        for ep_id in self._call(self.client.hcn_enumerate_endpoints, query):
            ep = self._call(self.client.hcn_query_endpoint_properties, ep_id)
            for config in ep.get("IpConfigurations") or []:
                out[config["IpAddress"]] = ep["ID"]
        return out

    def _backend_ids(self, network: dict[str, Any], backends: Iterable[Backend],
                     known: dict[str, str]) -> list[str]:
        ids = []
        for backend in backends:
            if backend.ip not in known:
                if backend.node_pa is None:
                    continue  # a local pod without an endpoint: not ready, skip it
                mac = "0E-2A-" + "-".join(f"{int(o):02X}" for o in backend.ip.split("."))
                created = self._call(self.client.hcn_create_endpoint, {
                    "HostComputeNetwork": network["ID"], "Flags": 1,
                    "IpConfigurations": [{"IpAddress": backend.ip}], "MacAddress": mac,
                    "Policies": [{"Type": "ProviderAddress",
                                  "Settings": {"ProviderAddress": backend.node_pa}}]})
                known[backend.ip] = created["ID"]
                self.stats.remote_endpoints += 1
            ids.append(known[backend.ip])
        return sorted(ids, key=str.upper)

    def _supports_modify(self) -> bool:
        version = self._call(self.client.globals_version)
        return (version["Major"], version["Minor"]) >= MODIFY_NEEDS

    # -- the sync ------------------------------------------------------------------

    @staticmethod
    def _desired_lb(svc: ServicePort, backend_ids: list[str]) -> dict[str, Any]:
        mapping: dict[str, Any] = {"Protocol": PROTOCOLS[svc.protocol],
                                   "InternalPort": svc.target_port, "ExternalPort": svc.port}
        lb: dict[str, Any] = {"HostComputeEndpoints": backend_ids, "PortMappings": [mapping],
                              "SchemaVersion": {"Major": 2, "Minor": 0}}
        if svc.cluster_ip:
            lb["FrontendVIPs"] = [svc.cluster_ip]
        else:
            mapping["Flags"] = LOCAL_ROUTED_VIP
        return lb

    @staticmethod
    def _same(have: dict[str, Any], want: dict[str, Any]) -> bool:
        def norm(lb: dict[str, Any]) -> tuple[Any, ...]:
            pm = lb["PortMappings"][0]
            return (sorted(e.upper() for e in lb.get("HostComputeEndpoints") or []),
                    lb.get("FrontendVIPs") or [], pm.get("Protocol"), pm.get("InternalPort"),
                    pm.get("ExternalPort") or pm.get("InternalPort"), pm.get("Flags", 0))
        return norm(have) == norm(want)

    def _get_lb(self, lb_id: str) -> dict[str, Any] | None:
        try:
            return self._call(self.client.hcn_query_load_balancer_properties, lb_id)
        except ElementNotFound:
            return None

    def _delete_lb(self, lb_id: str) -> None:
        if self._get_lb(lb_id) is None:
            return
        try:
            self._call(self.client.hcn_delete_load_balancer, lb_id)
        except HnsError:
            # kube-proxy: "bug in Windows Server 2019" - the first delete may fail.
            self._call(self.client.hcn_delete_load_balancer, lb_id)
        self.stats.deleted += 1

    def _create_lb(self, want: dict[str, Any]) -> str:
        created = self._call(self.client.hcn_create_load_balancer, want)
        self.stats.created += 1
        return str(created["ID"])

    def sync(self, services: Iterable[ServicePort]) -> dict[tuple[str, int, int, str], str]:
        """Make HNS hold exactly one load balancer per given service port; returns
        {service key: load balancer id}."""
        network = self._network()
        known = self._endpoints_by_ip(network["ID"])
        modify = self._supports_modify()
        wanted = {svc.key(): svc for svc in services}
        for key in [k for k in self._lbs if k not in wanted]:
            self._delete_lb(self._lbs.pop(key))
        for key, svc in wanted.items():
            want = self._desired_lb(svc, self._backend_ids(network, svc.backends, known))
            lb_id = self._lbs.get(key)
            have = None if lb_id is None else self._get_lb(lb_id)
            if lb_id is None or have is None:
                if want["HostComputeEndpoints"]:
                    self._lbs[key] = self._create_lb(want)
                else:
                    self._lbs.pop(key, None)
                continue
            if self._same(have, want):
                continue
            if not want["HostComputeEndpoints"]:
                self._delete_lb(self._lbs.pop(key))
                continue
            if modify:
                self._call(self.client.hcn_modify_load_balancer, lb_id, {**want, "ID": lb_id})
                after = self._get_lb(lb_id)
                if after is not None and self._same(after, want):
                    self.stats.updated += 1
                    continue
                self.stats.recreated += 1  # accepted but not applied (kubernetes#131466)
            self._delete_lb(lb_id)
            self._lbs[key] = self._create_lb(want)
        return dict(self._lbs)
