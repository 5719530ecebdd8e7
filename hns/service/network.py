"""Networks: what HNS enforces when a network is created or modified (unique names,
subnets and gateways, the MAC pool, the ProviderAddress and DR MAC policies HNS adds,
V1 switch extensions, policy / DNS / subnet modify requests).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from hns import defaults, model
from hns.errors import (
    AlreadyExists,
    ElementNotFound,
    InvalidArg,
    InvalidNetwork,
    InvalidSubnet,
    NetworkAlreadyExists,
    PolicyAlreadyExists,
    RequestUnsupported,
    SwitchExtensionNotFound,
)
from hns.model.network import _dns, _subnet_v2
from hns.model.service_read import stored_network
from hns.policies import NETWORK_POLICY_TYPES, parse_policies
from hns.schema.modify import SwitchExtensionSetting
from hns.schema.request import parse_request
from hns.service.base import (
    Json,
    ServiceBase,
    _eq,
    _merge_policies,
)

_ADAPTER_TYPES = frozenset({"Overlay", "L2Bridge", "L2Tunnel", "Transparent"})


class Networks(ServiceBase):
    """Network creation and modification."""

    def _network_v1(self, net: Json) -> Json:
        count = len(self._net_eps.get(stored_network(net).key, ()))
        return model.network_v1(net, endpoint_count=count, version=self._version())

    def _create_network(self, body: Any, *, v1: bool, upper: bool = True,
                        imported: bool = False) -> Json:
        net = model.parse_network(body, self._profile, v1=v1)
        # The request as the stored form it was parsed into.
        given = stored_network(net)
        if given.id is None:
            net["ID"] = model.new_guid(upper=upper)
        elif given.key in self._objs["network"]:
            raise AlreadyExists(detail=f"network {given.id} exists")
        if given.name.casefold() in self._net_by_name:
            raise NetworkAlreadyExists(detail=given.name)
        self._check_subnets(net)
        self._unique_subnet_ids(net)
        if given.mac_pool_start is None:
            net["MacPool"] = {"Ranges": [self._default_mac_range()]}
        if not imported and given.type in _ADAPTER_TYPES and \
                "ProviderAddress" not in given.policy_types:
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
        if given.type in ("NAT", "ICS") and "NatName" not in extras:
            extras["NatName"] = f"{given.type}{model.new_guid(upper=True)}"
        if given.type == "NAT" and "Extensions" not in extras:
            extras["Extensions"] = copy.deepcopy(model.DEFAULT_EXTENSIONS)
        self._apply([("network", net)])
        return net

    def _check_subnets(self, net: Json) -> None:
        for subnet in stored_network(net).subnets:
            prefix, gateway = subnet.prefix, subnet.gateway
            if prefix and gateway and not model.ip_in_subnet(gateway, prefix):
                raise InvalidSubnet(detail=f"gateway {gateway} is outside {prefix}")

    @staticmethod
    def _unique_subnet_ids(net: Json) -> None:
        """Writing the subnets of a network being created: a subnet ID given twice gets a
        new one the second time."""
        seen: set[str] = set()
        for subnet in model.subnets_of(net):
            if subnet["ID"].upper() in seen:
                subnet["ID"] = model.new_guid(upper=True)
            seen.add(subnet["ID"].upper())

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
        start = stored_network(net).mac_pool_start
        if start is None:
            return None
        value = model.mac_to_int(start)
        return ((value >> 16) & 0xFF, (value >> 12) & 0xF)

    def _toggle_extension(self, net: Json, settings: Any) -> Json:
        """Turn the switch extension ``settings`` names (a SwitchExtensionSetting body)
        on or off: a missing or bad Id or IsEnabled, or settings that are no object, are
        E_INVALIDARG."""
        ext = parse_request(SwitchExtensionSetting, settings, error=InvalidArg,
                            what="extension setting", not_object=InvalidArg)
        wanted, enabled = ext.id, ext.is_enabled
        extras = copy.deepcopy(net.get("_v1", {}))
        exts = extras.get("Extensions", copy.deepcopy(model.DEFAULT_EXTENSIONS))
        for item in exts:
            if isinstance(item, dict) and _eq(item.get("Id"), wanted):
                item["IsEnabled"] = enabled
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
            changed["Dns"] = _dns(settings or {}, InvalidNetwork)
        elif rtype == "Extension":
            self._toggle_extension(net, settings)
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
                subnet = _subnet_v2(raw, self._profile)
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
