"""The host vNIC port of each network: its identity and the layers real HNS gives it.

Real HNS connects the host to every network it creates through a host vNIC, and that vNIC
is a VFP port of the network's vSwitch like any container's: `vfpctrl /list-vmswitch-port`
lists it with the friendly name `Container NIC <8 hex digits>` (the first block of the
allocator ID, lower case), and operators find it that way (`vfpctrl /list-vmswitch-port |
Select-String "Container"`). HNS reports the same port in the network's V1 `Resources` as
the allocator tagged `Host Vnic` (`EndpointPortGuid`, `PreferredPortFriendlyName`, `ID`;
real/v1-post-networks-nat-response.json). microsoft/SDN networkhealth.ps1 looks on that
port for the host-side load balancer rules: `LB_HOST_*` in `LB`, `LB_*` / `NAT_*` in
`SLB_LB_LAYER`, `HairPin_*` in `SLB_HAIRPIN_LAYER` (vfp.md section 3.1).

What this module owns: one port per network, created when the network appears and removed
with it, with a stable GUID of its own (the `Host Vnic` allocator's `EndpointPortGuid` of
an imported network, else a name-based GUID of the network ID, so a reload gives the same
port), the friendly name real hosts print, the MAC of the host NIC (adapter networks: the
physical NIC, the same MAC encapsulated frames leave from; NAT-like networks: a Hyper-V
OUI MAC of the port) and the host-side layers and groups. The port's GUID and name come
from hns/ports.py, which also reports them in the network's V1 `Resources`. The rules on
it are another module's business; an empty host port lets traffic through (every layer
Default Allow).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from hns.compiler.actions import pa_nic_mac
from hns.compiler.layers import GroupDef, LayerDef
from hns.ports import host_port_id, host_port_name
from vfp import DEFAULT_ALLOW, IN, OUT, Group, Layer, Port, Switch

Json = dict[str, Any]

#: Network types whose host vNIC is the management vNIC on the physical adapter (its MAC
#: is the NIC's); the others (NAT, ICS, Internal, Private) get a vNIC of their own.
ADAPTER_TYPES = frozenset({"overlay", "l2bridge", "l2tunnel", "transparent"})

# -- host-side layers (names: networkhealth.ps1 / vfp.md 3.1; priorities: our choice,
#    docs/compiler.md: LB_HOST before the SLB load balancer, hairpin on the way in) ------
LB = "LB"
LB_OUT = "LB_OUT"
SLB_LB = "SLB_LB_LAYER"
SLB_LB_OUT = "SLB_GROUP_LB_IPv4_OUT"
SLB_HAIRPIN = "SLB_HAIRPIN_LAYER"
HAIRPIN_IN = "SLB_GROUP_HAIRPIN_IPv4_IN"

HOST_LAYERS: tuple[LayerDef, ...] = (
    LayerDef(LB, 90, True, DEFAULT_ALLOW, (GroupDef(LB_OUT, OUT, 100),)),
    LayerDef(SLB_LB, 100, True, DEFAULT_ALLOW, (GroupDef(SLB_LB_OUT, OUT, 100),)),
    LayerDef(SLB_HAIRPIN, 150, True, DEFAULT_ALLOW, (GroupDef(HAIRPIN_IN, IN, 100),)),
)


def host_port_mac(net: Json, host_ip: str, port_id: str) -> int:
    """The host NIC's MAC on an adapter network (as `pa_nic_mac`), else the vNIC's own."""
    if str(net.get("Type") or "").lower() in ADAPTER_TYPES:
        try:
            return pa_nic_mac(int(ipaddress.IPv4Address(host_ip)))
        except ValueError:
            pass
    return 0x00155D000000 | (uuid.UUID(port_id).int & 0xFFFFFF)


class HostPorts:
    """The host vNIC ports of a switch, one per network, kept in step by `sync`."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        #: network key (upper-case ID) -> its host port
        self.ports: dict[str, Port] = {}
        self._signature: dict[str, tuple[str, str, int]] = {}

    def get(self, network_id: str) -> Port | None:
        return self.ports.get(network_id.upper())

    def network_of(self, port_id: str) -> str | None:
        """The network whose host vNIC this port is (None for any other port)."""
        for key, port in self.ports.items():
            if port.id.upper() == port_id.upper():
                return key
        return None

    def sync(self, networks: dict[str, Json], host_ip: str) -> set[str]:
        """Create, re-create or remove ports so there is exactly one per network; returns
        the networks whose port is new (their host-side rules must be recomputed)."""
        for key in [k for k in self.ports if k not in networks]:
            self._remove(key)
        created: set[str] = set()
        for key, net in networks.items():
            pid = host_port_id(net)
            sig = (pid, host_port_name(net), host_port_mac(net, host_ip, pid))
            if key in self.ports and self._signature.get(key) == sig and \
                    self.switch.ports.get(pid) is self.ports[key]:
                continue
            if key in self.ports:
                self._remove(key)
            self.ports[key] = self._create(*sig)
            self._signature[key] = sig
            created.add(key)
        return created

    def _create(self, port_id: str, name: str, mac: int) -> Port:
        if port_id in self.switch.ports:
            self.switch.remove_port(port_id)
        port = self.switch.add_port(port_id, name=name, mac=mac)
        for ldef in HOST_LAYERS:
            layer = port.add_layer(Layer(ldef.id, ldef.priority, stateful=ldef.stateful,
                                         flags=ldef.flags))
            for gdef in ldef.groups:
                layer.add_group(Group(gdef.id, gdef.priority, gdef.direction,
                                      version=gdef.version))
        return port

    def _remove(self, key: str) -> None:
        port = self.ports.pop(key)
        self._signature.pop(key, None)
        if self.switch.ports.get(port.id) is port:
            self.switch.remove_port(port.id)

    def clear(self) -> None:
        for key in list(self.ports):
            self._remove(key)


__all__ = ["ADAPTER_TYPES", "HOST_LAYERS", "HostPorts", "host_port_id", "host_port_mac",
           "host_port_name"]
