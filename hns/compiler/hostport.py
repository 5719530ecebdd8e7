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
it come from hns/compiler/hostrules.py (load balancers); this module programs them,
diffing per load balancer (and computing a load balancer's rules again only when the
objects they are computed from differ: a full sync re-reads equal ones), deposits the
port's two SNAT pools (HOST, HAIRPIN: a block of ports each, taken from the top of the
port range so they never meet the pod ports' blocks, which count up from the bottom) and
indexes what the vSwitch asks: which host port takes a frame to a host-side VIP
(`route`). Which port an answer belongs to, and which way it runs through it, the vSwitch
knows from the flows it saw translated (hns/hosts/nat.py).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hns.compiler.actions import pa_nic_mac
from hns.compiler.hostrules import (
    HAIRPIN_IN,
    HAIRPIN_POOL,
    HOST_POOL,
    LB,
    LB_OUT,
    SLB_HAIRPIN,
    SLB_LB,
    SLB_LB_OUT,
    HostRuleSpec,
    host_lb_items,
)
from hns.compiler.layers import GroupDef, LayerDef
from hns.compiler.rules import SNAT_BLOCK, SNAT_BLOCKS, SNAT_FIRST_PORT
from hns.compiler.view import View
from hns.model.read import LoadBalancer, Network
from hns.ports import host_port_id, host_port_name
from vfp import DEFAULT_ALLOW, IN, OUT, Group, Layer, NatRange, Port, Switch

#: Network types whose host vNIC is the management vNIC on the physical adapter (its MAC
#: is the NIC's); the others (NAT, ICS, Internal, Private) get a vNIC of their own.
ADAPTER_TYPES = frozenset({"overlay", "l2bridge", "l2tunnel", "transparent"})

# -- host-side layers (names: networkhealth.ps1 / vfp.md 3.1, in hostrules.py; priorities:
#    our choice, docs/compiler.md: LB_HOST before the SLB load balancer, hairpin on the way
#    in) ----------------------------------------------------------------------------------
HOST_LAYERS: tuple[LayerDef, ...] = (
    LayerDef(LB, 90, True, DEFAULT_ALLOW, (GroupDef(LB_OUT, OUT, 100),)),
    LayerDef(SLB_LB, 100, True, DEFAULT_ALLOW, (GroupDef(SLB_LB_OUT, OUT, 100),)),
    LayerDef(SLB_HAIRPIN, 150, True, DEFAULT_ALLOW, (GroupDef(HAIRPIN_IN, IN, 100),)),
)


def host_port_mac(net: Network, host_ip: str, port_id: str) -> int:
    """The host NIC's MAC on an adapter network (as `pa_nic_mac`), else the vNIC's own."""
    if net.type.lower() in ADAPTER_TYPES:
        try:
            return pa_nic_mac(int(ipaddress.IPv4Address(host_ip)))
        except ValueError:
            pass
    return 0x00155D000000 | (uuid.UUID(port_id).int & 0xFFFFFF)


@dataclass
class _HostPort:
    """One network's host port and what is programmed on it."""

    port: Port
    signature: tuple[str, str, int]
    #: the first port of its HOST and HAIRPIN SNAT blocks
    blocks: dict[str, int]
    #: load balancer key -> the rules it contributes (by layer, group, name)
    contrib: dict[str, dict[tuple[str, str, str], HostRuleSpec]] = field(default_factory=dict)
    #: pool id -> (kind, SNAT address): pools deposited on the port, and their users
    pools: dict[str, tuple[str, int]] = field(default_factory=dict)
    pool_users: Counter[str] = field(default_factory=Counter)
    #: (protocol or 0, VIP, external port or 0) -> rules matching it, and HairPin ones
    routes: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    hairpins: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    #: load balancer key -> the objects its rules were computed from (`_inputs`)
    inputs: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def _inputs(view: View, net_key: str, lb: LoadBalancer) -> tuple[Any, ...]:
    """Everything `host_lb_items(view, net_key, lb)` reads: the load balancer, the network,
    the host's address and each backend endpoint (None when missing)."""
    return (lb, view.networks.get(net_key), view.host_ip,
            *(view.endpoints.get(b) for b in lb.backends))


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """The same inputs: the same objects, or (re-read from the store) equal ones."""
    return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b, strict=True))


def _route_keys(spec: HostRuleSpec) -> list[tuple[int, int, int]]:
    c = spec.conditions
    protos = c.protocols or (0,)
    ports = [lo for lo, _ in c.dst_ports] or [0]
    return [(p, lo, port) for p in protos for lo, _ in c.dst_ips for port in ports]


class HostPorts:
    """The host vNIC ports of a switch, one per network, kept in step by `sync`, and the
    load balancer rules on them, kept in step by `refresh`."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        #: How many times a load balancer's host-side rules were computed (for tests).
        self.computed = 0
        #: network key (upper-case ID) -> its host port
        self.ports: dict[str, Port] = {}
        self._state: dict[str, _HostPort] = {}

    def get(self, network_id: str) -> Port | None:
        return self.ports.get(network_id.upper())

    def network_of(self, port_id: str) -> str | None:
        """The network whose host vNIC this port is (None for any other port)."""
        for key, port in self.ports.items():
            if port.id.upper() == port_id.upper():
                return key
        return None

    def sync(self, networks: dict[str, Network], host_ip: str) -> set[str]:
        """Create, re-create or remove ports so there is exactly one per network; returns
        the networks whose port is new (their host-side rules must be recomputed)."""
        for key in [k for k in self.ports if k not in networks]:
            self._remove(key)
        created: set[str] = set()
        for key, net in networks.items():
            pid = net.host_port_id
            sig = (pid, net.host_port_name, host_port_mac(net, host_ip, pid))
            st = self._state.get(key)
            if st is not None and st.signature == sig and \
                    self.switch.ports.get(pid) is st.port:
                continue
            if st is not None:
                self._remove(key)
            port = self._create(*sig)
            self.ports[key] = port
            self._state[key] = _HostPort(port, sig, self._take_blocks())
            created.add(key)
        return created

    def _take_blocks(self) -> dict[str, int]:
        """Two blocks of SNAT ports from the top of the range down (the pod ports take
        theirs from the bottom up)."""
        used = {first for st in self._state.values() for first in st.blocks.values()}
        out: dict[str, int] = {}
        block = SNAT_BLOCKS - 1
        for kind in (HOST_POOL, HAIRPIN_POOL):
            while SNAT_FIRST_PORT + (block % SNAT_BLOCKS) * SNAT_BLOCK in used and block > 0:
                block -= 1
            first = SNAT_FIRST_PORT + (block % SNAT_BLOCKS) * SNAT_BLOCK
            out[kind] = first
            used.add(first)
        return out

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
        self._state.pop(key, None)
        if self.switch.ports.get(port.id) is port:
            self.switch.remove_port(port.id)

    def clear(self) -> None:
        for key in list(self.ports):
            self._remove(key)

    # -- the load balancer rules ---------------------------------------------------------
    def refresh(self, view: View, lbs: set[str], full: set[str] | None) -> None:
        """Recompute the host-side rules of the load balancers `lbs` on every host port,
        and of every load balancer on the ports of the networks in `full` (None: all)."""
        for key, st in self._state.items():
            todo = set(view.lbs) | set(st.contrib) if full is None or key in full else lbs
            for lb_key in sorted(todo):
                lb = view.lbs.get(lb_key)
                inputs = None if lb is None else _inputs(view, key, lb)
                seen = st.inputs.pop(lb_key, None)
                if inputs is not None:
                    st.inputs[lb_key] = inputs
                    if seen is not None and _same(seen, inputs):
                        # A full sync (start, service restart, state load) re-reads every
                        # object: equal inputs give the rules already on the port.
                        continue
                self.computed += 1
                new = {} if lb is None else {s.key: s for s in host_lb_items(view, key, lb)}
                old = st.contrib.get(lb_key, {})
                if new != old:
                    self._apply(st, old, new)
                    if new:
                        st.contrib[lb_key] = new
                    else:
                        st.contrib.pop(lb_key, None)

    def _apply(self, st: _HostPort, old: dict[tuple[str, str, str], HostRuleSpec],
               new: dict[tuple[str, str, str], HostRuleSpec]) -> None:
        port = st.port
        for k, spec in old.items():
            if new.get(k) == spec:
                continue
            port.get_layer(spec.layer).get_group(spec.group).remove_rule(spec.name)
            self._unuse_pool(st, spec)
            for rk in _route_keys(spec):
                counter = st.hairpins if spec.layer == SLB_HAIRPIN else st.routes
                counter[rk] -= 1
                if counter[rk] <= 0:
                    del counter[rk]
        for k, spec in new.items():
            if old.get(k) == spec:
                continue
            self._use_pool(st, spec)
            port.get_layer(spec.layer).get_group(spec.group).add_rules([spec.build()])
            for rk in _route_keys(spec):
                (st.hairpins if spec.layer == SLB_HAIRPIN else st.routes)[rk] += 1

    def _use_pool(self, st: _HostPort, spec: HostRuleSpec) -> None:
        pool = spec.action.pool
        if not pool:
            return
        if pool not in st.pools:
            kind = HAIRPIN_POOL if spec.layer == SLB_HAIRPIN else HOST_POOL
            ip = int(ipaddress.IPv4Address(pool.rsplit("_", 1)[1]))
            first = st.blocks[kind]
            st.port.add_nat_pool(pool, [NatRange(ip, first, first + SNAT_BLOCK - 1)])
            st.pools[pool] = (kind, ip)
        st.pool_users[pool] += 1

    def _unuse_pool(self, st: _HostPort, spec: HostRuleSpec) -> None:
        pool = spec.action.pool
        if not pool or pool not in st.pools:
            return
        st.pool_users[pool] -= 1
        if st.pool_users[pool] <= 0:
            del st.pool_users[pool]
            del st.pools[pool]
            st.port.nat_pools.pop(pool, None)
            st.port.bump()

    # -- what the vSwitch asks -------------------------------------------------------------
    def route(self, proto: int, ip: int, port: int) -> tuple[Port, bool] | None:
        """The host port with a load balancer rule for (protocol, VIP, port), and whether
        it has a HairPin rule for it (a local backend); None: no host-side VIP."""
        wanted = [(proto, ip, port), (0, ip, port), (proto, ip, 0), (0, ip, 0)]
        for key in sorted(self._state):
            st = self._state[key]
            if any(w in st.routes for w in wanted):
                return st.port, any(w in st.hairpins for w in wanted)
        return None


__all__ = ["ADAPTER_TYPES", "HOST_LAYERS", "HostPorts", "host_port_id", "host_port_mac",
           "host_port_name"]
