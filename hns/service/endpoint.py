"""Endpoints: IP and MAC assignment (static, reserved, next free), port mapping
reservations, V1 update, policy modify requests, attach / detach and shared endpoints.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from hns import defaults, model, ports
from hns.errors import (
    AddrInvalidOrReserved,
    AlreadyExists,
    EndpointAlreadyAttached,
    EndpointNotAttached,
    InvalidArg,
    InvalidEndpoint,
    InvalidIp,
    InvalidRemoteEndpointOperation,
    NetworkNotFound,
    ObjectAlreadyExists,
    PortAlreadyExists,
    RequestUnsupported,
)
from hns.model.service_read import (
    StoredNetwork,
    StoredSubnet,
    policy_types,
    port_mappings,
    stored_endpoint,
    stored_network,
)
from hns.policies import ENDPOINT_POLICY_TYPES, parse_policies
from hns.service.base import Json, _key, _merge_policies
from hns.service.network import Networks


class Endpoints(Networks):
    """Endpoint creation, addresses, reservations, attach and detach."""

    def _endpoint_v1(self, ep: Json) -> Json:
        net = self._objs["network"].get(_key(stored_endpoint(ep).network or ""))
        return model.endpoint_v1(ep, net, version=self._version())

    def _create_endpoint(self, body: Any, *, v1: bool, upper: bool = True,
                         replace: Json | None = None) -> Json:
        def by_name(name: str) -> str | None:
            key = self._net_by_name.get(name.casefold())
            return None if key is None else stored_network(self._objs["network"][key]).id

        ep = model.parse_endpoint(body, self._profile, v1=v1, network_by_name=by_name)
        # The request as the stored form it was parsed into, and the endpoint it replaces.
        given = stored_endpoint(ep)
        old = None if replace is None else stored_endpoint(replace)
        net_ref = given.network
        if replace is not None and old is not None:
            ep["ID"] = old.id
            net_ref = ep["HostComputeNetwork"] = given.network or old.network
            for keep in ("HostComputeNamespace", "State", "SharedContainers"):
                if keep in replace:
                    ep[keep] = replace[keep]
        elif given.id is None:
            ep["ID"] = model.new_guid(upper=upper)
        elif given.key in self._objs["endpoint"]:
            raise AlreadyExists(detail=f"endpoint {given.id} exists")
        if not given.name:
            ep["Name"] = (old.name if old is not None else "") or defaults.DEFAULT_ENDPOINT_NAME
        if net_ref is None:
            raise InvalidEndpoint(detail="endpoint names no network")
        net_key = _key(net_ref)
        raw_net = self._objs["network"].get(net_key)
        if raw_net is None:
            raise NetworkNotFound(detail=net_ref)
        net = stored_network(raw_net)
        ep["HostComputeNetwork"] = net.id
        self_key = None if old is None else old.key
        remote = given.remote
        if replace is not None and not given.ip_addresses:
            # An update that names no address keeps the one the endpoint has (the stored
            # configurations, copied as they are).
            ep["IpConfigurations"] = copy.deepcopy(replace.get("IpConfigurations", []))
        if old is not None and remote != old.remote:
            raise InvalidRemoteEndpointOperation(detail="cannot change IsRemoteEndpoint")
        if remote and "PortMapping" in given.policy_types:
            raise InvalidRemoteEndpointOperation(detail="port mappings on a remote endpoint")
        self._assign_ips(ep, net, net_key, remote, self_key)
        self._assign_mac(ep, given.mac, net_key, self_key)
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

    def _assign_ips(self, ep: Json, net: StoredNetwork, net_key: str, remote: bool,
                    self_key: str | None) -> None:
        index = self._remote_ips if remote else self._local_ips
        subnets = [s for s in net.subnets if s.prefix]
        # The configurations being written: each given address gets its PrefixLength.
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
            subnet = next((s for s in subnets if model.ip_in_subnet(ip, _prefix(s))), None)
            if subnet is None:
                raise InvalidIp(detail=f"{ip} is in no subnet of the network")
            pool = self._pools.get((net_key, subnet.id))
            if pool is not None and int(ipaddress.ip_address(ip)) in pool.reserved:
                raise AddrInvalidOrReserved(detail=f"{ip} is reserved in {subnet.prefix}")
            if "PrefixLength" not in config:
                config["PrefixLength"] = _prefix_len(_prefix(subnet))
            self._default_gateway(ep, subnet)
        if any(c.get("IpAddress") for c in configs) or remote or not subnets:
            return
        configs.clear()  # IP-less configurations ask for an address
        v4 = next((s for s in subnets if ":" not in _prefix(s)), None)
        v6 = next((s for s in subnets if ":" in _prefix(s)), None)
        wanted = [s for s in (v4, v6) if s is not None]
        if v4 is not None and v6 is not None and not self._profile.supports("IPv6DualStack"):
            wanted = [v4]
        for subnet in wanted:
            self._allocate_ip(ep, subnet, net_key)

    def _allocate_ip(self, ep: Json, subnet: StoredSubnet, net_key: str) -> None:
        pool = self._pools.get((net_key, subnet.id))
        if pool is None:
            return
        version = ipaddress.ip_network(_prefix(subnet), strict=False).version
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address

        def used(value: int) -> bool:
            return (net_key, str(make(value))) in self._local_ips

        value = pool.peek(used)
        if value is None:
            raise InvalidIp(detail=f"subnet {subnet.prefix} has no free address")
        ep["IpConfigurations"].append({"IpAddress": str(make(value)),
                                       "PrefixLength": _prefix_len(_prefix(subnet))})
        self._default_gateway(ep, subnet)

    @staticmethod
    def _default_gateway(ep: Json, subnet: StoredSubnet) -> None:
        gateway = subnet.gateway
        if not gateway:
            return
        default = "::/0" if ":" in gateway else "0.0.0.0/0"
        # The routes being written: one default route per address family.
        if not any(r.get("DestinationPrefix") == default for r in ep["Routes"]):
            ep["Routes"].append({"NextHop": gateway, "DestinationPrefix": default})

    def _assign_mac(self, ep: Json, given: str | None, net_key: str,
                    self_key: str | None) -> None:
        if given:
            return
        if self_key is not None:
            old = stored_endpoint(self._objs["endpoint"][self_key]).mac
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
        """The host ports the endpoint's port mappings publish (protocol 0 meaning TCP, no
        VIP every address) are free or already its own."""
        wanted: list[tuple[int, int, str]] = []
        for mapping in port_mappings(policies):
            if mapping.external_port:
                wanted.append((mapping.protocol or 6, mapping.external_port, mapping.vip or ""))
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
        stored = stored_endpoint(ep)
        remote = stored.remote
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
        if remote and "PortMapping" in policy_types(new):
            raise InvalidRemoteEndpointOperation(detail="port mappings on a remote endpoint")
        self._check_port_policies(changed["Policies"], stored.key)
        self._apply([("endpoint", changed)])

    def _attach(self, ep: Json, body: Json) -> None:
        stored = stored_endpoint(ep)
        if stored.remote:
            raise InvalidRemoteEndpointOperation(detail="attach of a remote endpoint")
        system = body.get("SystemType", "Container")
        if system not in ("Container", "VirtualMachine", "Host"):
            raise InvalidArg(detail=f"SystemType {system!r}")
        containers = list(stored.shared_containers)
        cid = body.get("ContainerId") or body.get("VirtualMachineId")
        cid = cid if isinstance(cid, str) and cid else None
        attached = stored.state in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING)
        if attached and (cid is None or cid in containers or not containers):
            raise EndpointAlreadyAttached(detail=stored.id)
        if cid is not None and cid not in containers:
            # A second container on an attached endpoint shares it (Docker's
            # --network container:, a pod's containers): hcsshim's AttachedSharing (3).
            containers.append(cid)
        changed = dict(ep, State=_attach_state(containers), SharedContainers=containers)
        self._apply([("endpoint", changed)])

    def _detach(self, ep: Json, body: Json) -> None:
        stored = stored_endpoint(ep)
        if stored.remote:
            raise InvalidRemoteEndpointOperation(detail="detach of a remote endpoint")
        if stored.state not in (model.STATE_ATTACHED, model.STATE_ATTACHED_SHARING):
            raise EndpointNotAttached(detail=stored.id)
        cid = body.get("ContainerId")
        containers = [c for c in stored.shared_containers if c != cid] if cid else []
        state = _attach_state(containers) if containers else model.STATE_DETACHED
        self._apply([("endpoint", dict(ep, State=state, SharedContainers=containers))])


def _attach_state(containers: list[str]) -> int:
    return model.STATE_ATTACHED_SHARING if len(containers) > 1 else model.STATE_ATTACHED


def _prefix_len(prefix: str) -> int:
    return ipaddress.ip_network(prefix, strict=False).prefixlen


def _prefix(subnet: StoredSubnet) -> str:
    """The prefix of a subnet kept for having one."""
    return subnet.prefix or ""
