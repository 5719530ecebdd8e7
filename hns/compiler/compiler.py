"""The Compiler: HNS objects in, programmed VFP ports out, kept in step incrementally.

What?
-----
`Compiler(service, switch)` subscribes to an `HnsService`, does a full sync at once, and
from then on keeps exactly one VFP port per LOCAL endpoint (remote endpoints get none):
port id = the endpoint's ID as stored, port name = its Name, port MAC = its MacAddress.
Each port carries the layers of `hns.compiler.layers` (VNET layers on Overlay networks
only) and the rules HNS objects imply (`hns.compiler.rules`).

The naive design
----------------
Rebuild a port from scratch whenever anything it depends on changes. With kube-proxy's
thousands of load balancers, each present on every pod port, adding one load balancer
would rebuild thousands of rules on every port and bump every generation.

The real design
---------------
Every port keeps, per *source* (an HNS object: its own endpoint, its network, one remote
endpoint, one load balancer, one SDN route object), the items that source contributed: rule
specs, CA -> PA mappings, NAT pools, the ACL default-deny switch. When objects change, the
compiler works out which (port, source) pairs are dirty, recomputes only those
contributions and diffs them against the previous ones; unchanged items are not touched, so
a port whose policy did not change keeps its generation and its unified flows. Adding one
load balancer costs one contribution per port in its scope, however many load balancers
exist (vfp groups add and remove rules in O(1) and rebuild their classifier lazily).

Which pairs are dirty:
    network N changed       every source of N's local ports (VSID, PA, routes, type)
    local endpoint E        ("ep", E); a new or re-created port gets all its sources;
                            an IP change dirties the load balancers that list E
    remote endpoint R       ("remote", R) on the local ports of R's network, and the load
                            balancers that list R
    load balancer L         ("lb", L) on the ports that held it and the ports now in scope
    SDN route T             ("route", T) likewise
`None` from the service (reset, load, rollback) re-reads everything, still diffing, so
ports whose policy is the same keep their generation.

The packet path the compiler guarantees (contract item 1; docs/compiler.md)
-------------------------------------------------------------------------------
- A frame a container sends runs through `vfp.process(port, frame, vfp.OUT)`. If the
  output carries an outer VXLAN header (UDP dst == switch.vxlan_port) it goes to the
  underlay to the outer dst IP (the remote PA); otherwise it is delivered by inner dst IP:
  to the local endpoint with that IP (`endpoint_for_ip`), or, for the host's own addresses,
  to the endpoint owning that NAT port or port mapping (`owner_of`).
- A VXLAN frame from the underlay is given, still encapsulated, to
  `vfp.process(port, frame, vfp.IN)` of the local endpoint whose network's VSID == VNI
  and whose IP == inner dst IP (`endpoint_for_vni`); the port's VNET layer decaps it.
  Only with `Compiler(..., dsr_keeps_vip=True)` (beyond the contract): a DSR frame keeps
  the VIP as inner destination and goes to the local backend published for (VIP, port)
  (`endpoint_for_vni(vni, ip, proto=, port=)`).
- Every frame delivered to a port (IN) gets its inner dst MAC rewritten to the endpoint's
  MAC (VNET_MAC_REWRITE_LAYER), so a container's stack accepts it.

Thread safety
-------------
Listener calls arrive under the service lock; every public method takes that lock too, so
the compiled state is never seen half-updated by a packet path that also takes it.

Invariants
----------
- `PortState.contrib` is exactly what is programmed on the port: an item vfp would
  refuse is left out of both (and recorded in `errors`), never half-applied.
- Every item key is unique on its port: rule ids embed the source (endpoint, LB id,
  prefix, CA); a remote endpoint's CA is unique in its network (HNS refuses duplicates).
- A layer's default-deny is derived from the DefaultDeny items present, so two sources
  (endpoint ACLs, NetworkACLs) can each hold it.

Each network also gets its host vNIC port (`host_port`, hns/compiler/hostport.py) with the
load balancer rules real HNS puts there (hns/compiler/hostrules.py), refreshed per load
balancer after the pod ports. Deliberately not modelled: ACL_SUBNET_LAYER, IPv6 NAT and
encap.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter, defaultdict
from typing import Any

from hns.compiler import layers as L
from hns.compiler import rules as R
from hns.compiler.fresh import Template, build_template, collector_paused
from hns.compiler.hostport import HostPorts
from hns.compiler.owners import OwnerIndex
from hns.compiler.program import PortState, add_layers, apply_items, refusal
from hns.compiler.rules import Item, ItemKey, Source, Target
from hns.compiler.shared import SharedContributions
from hns.compiler.view import View
from hns.model.read import Endpoint
from hns.service import HnsService
from hns.store.state import ObjectChange
from vfp import Port, Switch

Json = dict[str, Any]

__all__ = ["Compiler"]


def _signature(ep: Endpoint, view: View) -> tuple[Any, ...]:
    """What a port is built from; when it changes the port is re-created."""
    net = view.network_of(ep)
    return (ep.port_id, ep.name, ep.mac or 0, ep.network, net is not None and net.overlay)


def _endpoint(obj: object) -> Endpoint | None:
    return obj if isinstance(obj, Endpoint) else None


class Compiler:
    """Keeps one programmed VFP port per local HNS endpoint (see the module essay)."""

    def __init__(self, service: HnsService, switch: Switch, *,
                 dsr_keeps_vip: bool = False) -> None:
        """`dsr_keeps_vip`: real DSR for remote backends (the frame keeps the VIP and is
        encapsulated to the backend's PA; the backend answers from the VIP). Off by
        default: it needs the host to hand a VXLAN frame whose inner destination is a VIP
        to `endpoint_for_vni(vni, vip, proto=, port=)`, which the shared contract does not
        promise; off, DSR is DNATed on the client's port like any other load balancer."""
        self.service = service
        self.switch = switch
        self.view = View(service.host_ip, dsr_keeps_vip=dsr_keeps_vip)
        #: Per endpoint id: how many times a change to its port was applied (for tests).
        self.recompiles: Counter[str] = Counter()
        #: The last items vfp would refuse (left out of the port), newest last.
        self.errors: list[str] = []
        self._ports: dict[str, PortState] = {}
        self._by_port_id: dict[str, str] = {}
        self._free_blocks: list[int] = []
        #: who owns which host address and port (publishing rules, NAT pools)
        self._owners = OwnerIndex()
        self._next_block = 0
        self._default_vxlan_port = switch.vxlan_port
        self._closed = False
        #: Contributions computed once per (source, network) and shared between ports.
        self._shared = SharedContributions()
        #: The sources of each network's ports, built once per change pass (_all_sources).
        self._memo: dict[tuple[str, str | None], frozenset[Source]] = {}
        # -- issue 11 (h11c): one tuple object per remote endpoint and load balancer source,
        # kept across passes, so that the 15,000-source sets a full sync builds per port
        # (and the ports' contribution keys) compare by identity, not by value.
        self._interned: dict[Source, Source] = {}
        #: per pass: whether a template a port held (its contrib dict) is the same as this
        #: pass's one ((their ids) -> (both, the answer); _adopt)
        self._same_held: dict[tuple[int, int], tuple[Any, Any, bool]] = {}
        #: the host vNIC port of each network
        self.host_ports = HostPorts(switch)
        with service.lock:
            service.add_listener(self._on_change)
            self.sync()

    # -- public API ------------------------------------------------------------------------
    def port_of(self, endpoint_id: str) -> Port | None:
        with self.service.lock:
            st = self._ports.get(endpoint_id.upper())
            return None if st is None else st.port

    def endpoint_of(self, port_id: str) -> str | None:
        with self.service.lock:
            key = self._by_port_id.get(port_id.upper())
            st = None if key is None else self._ports.get(key)
            return None if st is None else st.ep.id

    def host_port(self, network_id: str) -> Port | None:
        """The host vNIC port of a network (None for an unknown network)."""
        with self.service.lock:
            return self.host_ports.get(network_id)

    def endpoints(self) -> list[str]:
        """IDs of the endpoints that have a port."""
        with self.service.lock:
            return [st.ep.id for st in self._ports.values()]

    def endpoint_for_ip(self, ip: str | int, network_id: str | None = None) -> str | None:
        """The local endpoint holding this IPv4 address (optionally on one network)."""
        text = str(ipaddress.IPv4Address(ip)) if isinstance(ip, int) else ip
        want = None if network_id is None else network_id.upper()
        with self.service.lock:
            for st in self._ports.values():
                if st.ep.ipv4_text == text and (want is None or st.ep.network == want):
                    return st.ep.id
        return None

    def endpoint_for_vni(self, vni: int, ip: str | int, *, proto: int | None = None,
                         port: int | None = None) -> str | None:
        """The local endpoint on an overlay network with VSID `vni` holding inner IP `ip`;
        with `proto` and `port`, else the local backend published for (ip, port): a DSR
        frame keeps the VIP as inner destination (see `owner_of`)."""
        text = str(ipaddress.IPv4Address(ip)) if isinstance(ip, int) else ip
        with self.service.lock:
            for st in self._ports.values():
                if st.ep.ipv4_text != text:
                    continue
                net = self.view.network_of(st.ep)
                if net is not None and net.overlay and \
                        (net.vsid_for(st.ep.ipv4) or L.DEFAULT_VSID) == vni:
                    return st.ep.id
            if proto is None or port is None:
                return None
            owner = self.owner_of(proto, text, port)
            found = None if owner is None else self._ports.get(owner.upper())
            if found is None:
                return None
            net = self.view.network_of(found.ep)
            if net is not None and net.overlay and \
                    (net.vsid_for(found.ep.ipv4) or L.DEFAULT_VSID) == vni:
                return owner
        return None

    def owner_of(self, proto: int, ip: str | int, port: int, *,
                 src: str | int | None = None) -> str | None:
        """The local endpoint a frame to one of the host's addresses belongs to: the one
        whose PortMapping publishes (ip, port) for this protocol, or that is a local backend
        of a (non-ILB) load balancer on that VIP and port (e.g. a NodePort reached from
        outside; the last-compiled backend wins), or whose OutBoundNAT pool covers
        (ip, port) (a reply to SNATed traffic). ICMP is not port-translated: an echo reply
        goes to the endpoint with a NAT flow to `src` (any, when `src` is not given)."""
        value = int(ipaddress.IPv4Address(ip)) if isinstance(ip, str) else ip
        with self.service.lock:
            key = self._owners.portmaps.get((proto, value, port))
            if key is None and proto == 1:
                key = self._icmp_owner(value, src)
            elif key is None:
                key = self._owners.pool_owner(proto, value, port)
            st = None if key is None else self._ports.get(key)
            return None if st is None else st.ep.id

    def _icmp_owner(self, ip: int, src: str | int | None) -> str | None:
        want_dst = ip.to_bytes(4, "big")
        want_src = None if src is None else \
            int(ipaddress.IPv4Address(src) if isinstance(src, str) else src).to_bytes(4, "big")
        for owner in self._owners.icmp_pool_owners(ip):
            st = self._ports.get(owner)
            layer = None if st is None else st.port.layers.get(L.SLB_NAT)
            if layer is None:
                continue
            for k in layer.flows:
                # vfp layer flow key: direction, protocol, ports (6 bytes), src, dst
                if len(k) == 14 and k[0:1] == b"I" and k[1] == 1 and k[10:14] == want_dst \
                        and (want_src is None or k[6:10] == want_src):
                    return owner
        return None

    def vips(self, network_id: str | None = None) -> set[str]:
        """The IPv4 VIPs of the load balancers that apply to a network's local ports (all
        networks when None): addresses a vSwitch answers ARP for (Docker swarm VIPs sit
        inside the overlay subnet, and containers ARP for them)."""
        want = None if network_id is None else network_id.upper()
        with self.service.lock:
            out: set[str] = set()
            for lb in self.view.lbs.values():
                scope = lb.network
                if want is not None and scope is not None and scope != want:
                    continue
                out |= {str(ipaddress.IPv4Address(v)) for v in R.lb_vips(self.view, lb)}
            return out

    def host_acls(self, endpoint_id: str) -> list[Json]:
        """The endpoint's RuleType Host ACLs (their settings, as recorded): WFP rules,
        recorded and not programmed."""
        with self.service.lock:
            ep = self.view.endpoints.get(endpoint_id.upper())
            return [] if ep is None else [a.settings for a in R.host_acls(ep)]

    def sync(self) -> None:
        """Re-read every HNS object and bring every port in line (diffing, so ports whose
        policy is unchanged keep their generation)."""
        with self.service.lock, collector_paused():
            self._memo.clear()
            self.view.host_ip = self.service.host_ip
            self.view.load(self.service.stored())
            self._shared.retain(self._exists)
            self._interned = {s: s for s in self._interned if self._exists(s)}
            self._apply_vxlan_port()
            self.host_ports.sync(self.view.networks, self.view.host_ip)
            dirty = self._sync_ports(set(self._ports) | set(self.view.local_endpoints()),
                                     full=True)
            self._recompute(dirty)
            self.host_ports.refresh(self.view, set(), None)  # the host vNIC ports' rules

    def close(self) -> None:
        """Stop following the service (the ports stay as they are)."""
        with self.service.lock:
            if not self._closed:
                self.service.remove_listener(self._on_change)
                self._closed = True

    # -- change handling -------------------------------------------------------------------
    def _on_change(self, changes: list[ObjectChange] | None) -> None:
        if changes is None:
            self.sync()
            return
        self._memo.clear()
        touched: set[str] = set()      # local endpoints whose port may need (re)creation
        full: set[str] = set()         # ports to recompute from every source
        host_ip_moved = self.view.host_ip != self.service.host_ip
        if host_ip_moved:  # NodePort VIPs, SNAT, default PA
            self.view.host_ip = self.service.host_ip
            full |= set(self._ports)
        sources: set[Source] = set()   # sources to recompute on their holders + scope
        for ch in changes:
            old, new = self.view.apply(ch)
            if ch.kind == "network":
                full |= self.view.local_by_net.get(ch.key, set())
                sources.add(("net", ch.key))
            elif ch.kind == "endpoint":
                self._endpoint_changed(ch.key, _endpoint(old), _endpoint(new), touched, full,
                                       sources)
            elif ch.kind == "loadbalancer":
                sources.add(self._intern(("lb", ch.key)))
            elif ch.kind == "route":
                sources.add(("route", ch.key))
        nets = {ch.key for ch in changes if ch.kind == "network"}
        if nets or full:
            self._apply_vxlan_port()
            nets |= self.host_ports.sync(self.view.networks, self.view.host_ip)
        dirty = self._sync_ports(touched, full=False)
        for key in full:
            dirty[key] |= self._all_sources(key)
        for source in sources:
            for key in self._holders(source) | self._scope(source):
                dirty[key].add(source)
        self._recompute(dirty)
        for ch in changes:  # a deleted source's one tuple object goes with it (no port
            if ch.new is None and ch.kind in ("loadbalancer", "endpoint"):  # holds it now)
                self._interned.pop(("lb" if ch.kind == "loadbalancer" else "remote", ch.key),
                                   None)
        # the host vNIC ports' load balancer rules (hns/compiler/hostport.py)
        self.host_ports.refresh(self.view, {k for kind, k in sources if kind == "lb"},
                                None if host_ip_moved else nets)

    def _endpoint_changed(self, key: str, old: Endpoint | None, new: Endpoint | None,
                          touched: set[str], full: set[str], sources: set[Source]) -> None:
        for ep in (old, new):
            if ep is None:
                continue
            if ep.remote:
                sources.add(self._intern(("remote", key)))
            else:
                touched.add(key)
        ip_changed = old is None or new is None or old.ipv4_text != new.ipv4_text
        if ip_changed or (old is not None and old.remote) or (new is not None and new.remote):
            # a backend's IP (or, remote, its PA and MAC for DSR) is in the LB's rules
            for lb in self.view.lbs_of_ep.get(key, set()):
                sources.add(self._intern(("lb", lb)))
        if ip_changed and new is not None and not new.remote:
            full.add(key)  # the VSID of its subnet, its NAT pools, its backend rules
        if old is not None and new is not None and not new.remote and \
                R.encap_overhead(old) != R.encap_overhead(new):
            full.add(key)  # the MSS delta of every encap rule on the port

    def _sync_ports(self, keys: set[str], *, full: bool) -> defaultdict[str, set[Source]]:
        """Create, re-create or remove the ports of these endpoints; return the sources to
        compute (everything for new ports, the endpoint's own policies otherwise)."""
        dirty: defaultdict[str, set[Source]] = defaultdict(set)
        for key in sorted(keys):
            ep = self.view.endpoints.get(key)
            st = self._ports.get(key)
            wanted = ep is not None and not ep.remote and ep.network is not None
            if st is not None and (not wanted or ep is None
                                   or st.signature != _signature(ep, self.view)):
                self._remove_port(st)
                st = None
            if not wanted or ep is None:
                continue
            if st is None:
                self._create_port(key, ep)
                dirty[key] = self._all_sources(key)
            else:
                st.ep = ep
                dirty[key] = self._all_sources(key) if full else {("ep", key)}
        return dirty

    def _create_port(self, key: str, ep: Endpoint) -> PortState:
        # The port has a GUID of its own (hns/ports.py), as EndpointPortGuid reports it.
        port_id = ep.port_id
        if port_id in self.switch.ports:
            self.switch.remove_port(port_id)
        port = self.switch.add_port(port_id, name=ep.name, mac=ep.mac or 0)
        net = self.view.network_of(ep)
        add_layers(port, net is not None and net.overlay)
        block = self._free_blocks.pop() if self._free_blocks else self._take_block()
        st = PortState(key, ep, port, _signature(ep, self.view), block)
        self._ports[key] = st
        self._by_port_id[port_id.upper()] = key
        return st

    def _take_block(self) -> int:
        self._next_block += 1
        return self._next_block - 1

    def _remove_port(self, st: PortState) -> None:
        if self.switch.ports.get(st.port.id) is st.port:
            self.switch.remove_port(st.port.id)
        self._ports.pop(st.key, None)
        self._by_port_id.pop(st.port.id.upper(), None)
        self._free_blocks.append(st.snat_block)
        for items in st.contrib.values():
            for item in items.values():
                self._owners.unindex(st.key, item)
        self._shared.forget_port(st.key, st.contrib)

    def _all_sources(self, key: str) -> set[Source]:
        st = self._ports.get(key)
        if st is None:
            return set()
        # What the ports of one network share (~15,000 sources at kube-proxy scale) is
        # built once per change pass, not once per port; copied (C speed, stored hashes)
        # and merged with the port's own sources, which are the same (interned) objects.
        out: set[Source] = set(self._network_sources(st.ep.network))
        ep = self.view.endpoints.get(key)
        if ep is not None:
            out |= self._lb_sources(ep.network)
        out.update(st.contrib)
        out.add(("ep", key))
        out |= {self._intern(("lb", lb)) for lb in self.view.lbs_of_ep.get(key, ())}
        out |= {("route", r) for r in self.view.routes_of_ep.get(key, ())}
        return out

    def _network_sources(self, net: str | None) -> frozenset[Source]:
        """("net", N) and, on an overlay network, its remote endpoints."""
        found = self._memo.get(("net", net))
        if found is None:
            out: set[Source] = set()
            if net is not None:
                out.add(("net", net))
                found_net = self.view.networks.get(net)
                if found_net is not None and found_net.overlay:
                    intern = self._intern
                    out |= {intern(("remote", r)) for r in self.view.remote_by_net.get(net, ())}
            found = self._memo[("net", net)] = frozenset(out)
        return found

    def _lb_sources(self, net: str | None) -> frozenset[Source]:
        """The load balancers in scope of the ports of a network (View.lbs_for_endpoint)."""
        found = self._memo.get(("lb", net))
        if found is None:
            lbs = self.view.lbs_global | (self.view.lbs_by_net.get(net, set()) if net else set())
            intern = self._intern
            found = self._memo[("lb", net)] = frozenset(intern(("lb", lb)) for lb in lbs)
        return found

    def _intern(self, source: Source) -> Source:
        """The one tuple object of a remote endpoint or load balancer source."""
        return self._interned.setdefault(source, source)

    def _scope(self, source: Source) -> set[str]:
        kind, key = source
        view = self.view
        if kind == "ep":
            return {key} if key in self._ports else set()
        if kind == "net":
            return set(view.local_by_net.get(key, ()))
        if kind == "remote":
            ep = view.endpoints.get(key)
            net = None if ep is None or not ep.remote else ep.network
            return set() if net is None else set(view.local_by_net.get(net, ()))
        if kind == "lb":
            lb = view.lbs.get(key)
            if lb is None:
                return set()
            return view.lb_scope(lb) | {ep for ep in lb.backends if ep in self._ports}
        if kind == "route":
            route = view.routes.get(key)
            return set() if route is None else set(route.endpoints)
        return set()

    def _apply_vxlan_port(self) -> None:
        wanted = self._default_vxlan_port
        for key in sorted(self.view.networks):
            port = self.view.networks[key].vxlan_port
            if port is not None:
                wanted = port
                break
        if wanted == self.switch.vxlan_port:
            return
        self.switch.set_vxlan_port(wanted)

    # -- diff and apply ----------------------------------------------------------------------
    def _recompute(self, dirty: dict[str, set[Source]]) -> None:
        self._shared.begin_pass()
        self._same_held.clear()
        shared_items = self._shared.items
        view = self.view
        templates: dict[tuple[str | None, int, str], Template | None] = {}
        for key, sources in dirty.items():
            st = self._ports.get(key)
            if st is None:
                continue
            target = Target(key, st.ep, st.snat_block)
            adopted = False
            if len(sources) > 1:
                sources, adopted = self._adopt(st, target, sources, templates)
            contrib = st.contrib
            removed: list[Item] = []
            added: list[Item] = []
            for source in sources:
                new = shared_items(source, target, view,
                                   functools.partial(self._items, st, source, target))
                old = contrib.get(source)
                # At kube-proxy scale this loop runs for every (port, source) pair of a full
                # sync: the shared contributions make "unchanged" an identity test.
                if new is old:
                    continue
                if old is None:
                    if not new:
                        continue
                    added += new.values()
                else:
                    if new == old:
                        continue
                    removed += [it for k, it in old.items() if new.get(k) != it]
                    added += [it for k, it in new.items() if old.get(k) != it]
                if new:
                    contrib[source] = new
                else:
                    del contrib[source]
                held = st.held
                if held is not None and source in held[0] and source not in held[1]:
                    st.held = None  # no longer the template's contribution
            if removed or added or adopted:
                apply_items(st, removed, added, self._owners)
                self.recompiles[st.ep.id] += 1

    def _adopt(self, st: PortState, target: Target, sources: set[Source],
               templates: dict[tuple[str | None, int, str], Template | None]
               ) -> tuple[set[Source], bool]:
        """A port with nothing from any source yet takes its slot's shared contributions
        in one step (hns/compiler/fresh.py), and a port that already holds them skips
        them; returns the sources still to compute and whether anything was taken."""
        slot = self._shared.slot(target, self.view)
        if slot not in templates:
            # As a port that is no load balancer's backend (no key): what is shared.
            anyone = Target("", st.ep, st.snat_block)
            errors = list(self.errors)
            templates[slot] = build_template(sources, lambda source: self._shared.lookup(
                source, anyone, self.view, functools.partial(self._items, st, source, anyone)))
            self.errors[:] = errors  # a port records its own refusals, as before
        template = templates[slot]
        if template is None:
            return sources, False
        own = {self._intern(("lb", lb)) for lb in self.view.lbs_of_ep.get(st.key, ())}
        # -- issue 11 (h11c): a port known to hold an earlier pass's template, the very
        # contributions this pass's one has, skips the shared ones without looking at each
        # (a full sync over re-read equal objects: 15,000 per port at kube-proxy scale).
        held = st.held
        if held is not None and st.contrib and held[1] == own:
            pair = (id(held[0]), id(template.contrib))
            known = self._same_held.get(pair)
            if known is None:  # (the pair is kept: no id is reused during the pass)
                known = self._same_held[pair] = (held[0], template.contrib,
                                                 template.same_as(held[0]))
            if known[2]:
                st.held = (template.contrib, held[1])
                return template.rest(sources, own), False
        sources, taken, holds = template.apply_to(st.port, st.contrib, sources, own)
        st.held = (template.contrib, frozenset(own)) if holds else None
        if taken is None:
            return sources, False
        st.contrib = taken
        return sources, True

    def _holders(self, source: Source) -> set[str]:
        """The ports that hold a contribution of ``source``."""
        return {key for key, st in self._ports.items() if source in st.contrib}

    def _exists(self, source: Source) -> bool:
        kind, key = source
        if kind == "lb":
            return key in self.view.lbs
        return key in self.view.endpoints

    def _items(self, st: PortState, source: Source,
               target: Target) -> tuple[dict[ItemKey, Item], bool]:
        """What ``source`` contributes to this port, and whether vfp took every item."""
        items = R.contribute(source, target, self.view)
        new = {item.key: item for item in items if self._valid(st, source, item)}
        return new, len(new) == len(items)

    def _valid(self, st: PortState, source: Source, item: Item) -> bool:
        """Whether vfp will take the item; a refused one is left out and recorded in
        `errors` (a listener must not fail an HNS operation that already committed)."""
        error = refusal(item)
        if error is None:
            return True
        self.errors.append(f"{st.port.id} {source[0]} {source[1]}: {item.key}: {error}")
        del self.errors[:-100]
        return False
