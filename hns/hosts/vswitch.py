"""The vSwitch of an emulated host: where a frame goes after a port's pipeline.

The data path (docs/hosts.md draws it)
--------------------------------------
A frame a container sends goes through its port's OUT pipeline. If the result carries an
outer VXLAN header (UDP destination == switch.vxlan_port) it goes to the underlay (outer
destination = the remote PA); otherwise it is delivered by inner destination IP to the
local endpoint that owns that IP (its port's IN pipeline, then its GuestStack), to the
endpoint that owns one of the host's own addresses by a port mapping or SNAT pool
(`compiler.owner_of`), or to the host side (`Host.external`) when nothing local owns it.
Frames from the host side (`receive_external`) are delivered the same way, except those
for a NodePort or VIP a host vNIC port load-balances (`compiler.host_ports`), which cross
that port (IN and hairpinned back, or OUT when forwarded), as the host's own traffic
(`send_from_host`) does; answers to the port's SNAT addresses run back through it. A VXLAN frame
from the underlay goes, still encapsulated, to the IN pipeline of the local endpoint whose
(Overlay) network VSID == VNI and whose IP == inner destination IP; the port's VNET layer
decapsulates it.

ARP never enters the layers (VFP answers it outside them): the vSwitch answers a
container's ARP request for a local or remote endpoint of its network with that
endpoint's MAC, and for the subnet gateway with the network's DR MAC (proxy ARP), and
answers ARP requests arriving over VXLAN for its local endpoints.

Every drop is counted in `Host.drops` (reason -> count), never raised. Packet processing
holds `service.lock`, so it never interleaves with a recompilation.
"""

from __future__ import annotations

import vfp
import vxlan
from hns.hosts.arp import ArpMixin
from hns.hosts.index import ETH_ARP, EpInfo, flow_key
from hns.hosts.nat import NatOwner
from hns.hosts.results import Delivery, Hop, InjectResult
from vxlan.underlay import outer_destination


class VSwitch(ArpMixin):
    """The data path between a host's ports, the underlay and the host side."""

    def _from_container(self, ep: EpInfo, frame: bytes, *, trace: bool) -> InjectResult:
        out = InjectResult()
        if len(frame) < 14:
            out.delivery = self._drop("runt frame from a container", frame)
            return out
        if frame[12:14] == ETH_ARP:
            out.delivery = self._proxy_arp(ep, frame)
            return out
        port = self.compiler.port_of(ep.id)
        if port is None:
            out.delivery = self._drop("no VFP port for the endpoint", frame)
            return out
        res = self._run_port(port, ep, frame, vfp.OUT, out.hops, trace)
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            out.delivery = self._drop(f"{vfp.OUT}: {why}", frame)
            return out
        data = res.output
        self._record_nat(frame, data, NatOwner(port, vfp.IN, ep.key))
        if self._is_vxlan(data) and not self._is_vxlan(frame):
            out.delivery = self._to_underlay(data)
            return out
        out.delivery = self._forward_local(ep, data, out.hops, trace)
        return out

    def _to_underlay(self, frame: bytes) -> Delivery:
        if frame[12:15] == b"\x08\x00\x45":
            pa = self._pa_text(frame[30:34])
        else:
            version, dst, _, _ = outer_destination(frame)
            pa = vxlan.ip_to_text(dst, version)
        if self.underlay is None:
            if pa == self.host_ip:  # encapsulated to ourselves: straight back in
                return self._from_underlay(frame, [], trace=False)
            return self._drop("no underlay to send encapsulated frames on", frame)
        self.underlay.send(frame)
        self.sent_to_underlay += 1
        return Delivery("underlay", pa, frame=frame)

    def _forward_local(self, src: EpInfo | None, frame: bytes, hops: list[Hop],
                       trace: bool) -> Delivery:
        key = flow_key(frame)
        if key is None or key.dst > 0xFFFFFFFF:
            self._external(frame)
            return Delivery("external", frame=frame)
        owner = self._nat.owner(key, self.switch)
        if owner is not None and src is not None and owner.endpoint == src.key and \
                key.src != src.ip:
            # the sender's own translated frame, to the very address it was translated to
            # (a container pinging the host address it is SNATed to): not an answer
            owner = None
        if owner is not None:  # an answer to a translated flow: the port that un-NATs it
            return self._to_owner(owner, frame, hops, trace)
        dst = self._index.local_for(key.dst, src.net if src else None)
        if dst is None:
            dst = self._owner(key)
            if dst is not None and src is not None and dst.key == src.key and \
                    key.src != src.ip:
                # the sender's own SNAT rewrote it (e.g. to the host address it then
                # targets): it is not an answer to the sender, so not the owner's
                dst = None
        if dst is None:
            self._external(frame)
            if key.dst == self._host_ip_int():
                self._host_stack(frame)
            return Delivery("external", vxlan.ipv4_to_text(key.dst), frame=frame)
        if frame[0:6] != dst.mac:
            # Routed (addressed to the gateway / DR MAC): the vSwitch delivers it to the
            # owner of the IP, as a router would, from the gateway MAC.
            frame = dst.mac + self._gateway_mac(dst) + frame[12:]
        return self._to_container(dst, frame, hops, trace=trace)

    def accepts_physical(self, frame: bytes) -> bool:
        """Whether a frame on the physical network is for this host: its destination is
        the host's address, a local endpoint of a network bridged to the physical network
        (L2Bridge, Transparent, L2Tunnel), or an address an endpoint owns (port mapping,
        reply to SNATed traffic). Overlay and NAT addresses are not reachable from the
        physical network."""
        key = flow_key(frame)
        if key is None or key.dst > 0xFFFFFFFF:
            return False
        with self.service.lock:
            return key.dst == self._host_ip_int() or self.physical_mac(key.dst) is not None \
                or self._owner(key) is not None or self._host_route(key) is not None \
                or self._nat.owner(key, self.switch) is not None

    def _owner(self, key: vxlan.FlowKey) -> EpInfo | None:
        """The local endpoint that publishes (protocol, address, port) of one of the host's
        own addresses, as the compiler knows it (`owner_of`: a port mapping, a load
        balancer's NAT_ rule, the block of an OutBoundNAT pool); answers to flows this
        host saw leave translated are found in `_nat` first."""
        owner_of = getattr(self.compiler, "owner_of", None)
        if owner_of is None:
            return None
        ep_id = owner_of(key.protocol, key.dst, key.dst_port, src=key.src)
        if ep_id is None:
            return None
        return self._index.eps.get(str(ep_id).upper())

    def _record_nat(self, before: bytes, after: bytes, owner: NatOwner) -> None:
        """Remember who un-NATs the answer when a port rewrote the frame's source (the
        inner frame's, when it left encapsulated)."""
        inner = 50 if self._is_vxlan(after) and not self._is_vxlan(before) else 0
        if after[inner + 26:inner + 30] == before[26:30] and \
                after[inner + 34:inner + 36] == before[34:36]:
            return  # the common case, read straight from bytes: source untouched
        self._nat.record(flow_key(before), flow_key(after[inner:]), owner)

    def _to_owner(self, owner: NatOwner, frame: bytes, hops: list[Hop],
                  trace: bool) -> Delivery:
        """An answer to a translated flow, to the port that translated it."""
        if not owner.endpoint:
            return self._to_host_side((owner.port, owner.direction), frame, hops, trace)
        ep = self._index.eps.get(owner.endpoint)
        if ep is None:
            return self._drop("answer for a deleted endpoint", frame)
        if frame[0:6] != ep.mac and not self._is_vxlan(frame):
            frame = ep.mac + self._gateway_mac(ep) + frame[12:]
        return self._to_container(ep, frame, hops, trace=trace)

    # -- from the host side (the physical network) ---------------------------------------

    def receive_external(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """A frame arriving from the host side (the physical network, not the overlay):
        VXLAN goes the underlay way; anything else is delivered by destination IP to the
        local endpoint that owns it, or that publishes it (port mapping, SNAT reply)."""
        with self.service.lock:
            out = InjectResult()
            if self._is_vxlan(frame):
                out.delivery = self._from_underlay(frame, out.hops, trace=trace)
                return out
            key = flow_key(frame)
            dst = None
            if key is not None and key.dst <= 0xFFFFFFFF:
                owner = self._nat.owner(key, self.switch)
                if owner is not None:  # an answer to a flow a port here translated
                    out.delivery = self._to_owner(owner, frame, out.hops, trace)
                    return out
                dst = self._index.local_for(key.dst, None)
                route = None if dst is not None else self._host_route(key)
                if route is not None:  # a NodePort or VIP: load-balanced by the host port
                    out.delivery = self._host_lb(route, frame, out.hops, trace=trace)
                    return out
                dst = dst or self._owner(key)
            if dst is None:
                if key is not None and key.dst == self._host_ip_int():
                    self._host_stack(frame)
                    out.delivery = Delivery("external", self.host_ip, frame=frame)
                    return out
                out.delivery = self._drop("host side: no local endpoint owns the destination",
                                          frame)
                return out
            if frame[0:6] != dst.mac:
                frame = dst.mac + self._gateway_mac(dst) + frame[12:]
            out.delivery = self._to_container(dst, frame, out.hops, trace=trace)
            return out

    def _host_stack(self, frame: bytes) -> None:
        """The host's own IP stack, as far as it is emulated: it answers ICMP echo
        requests to its address; the answer leaves by the host side (to the container
        that owns the destination, e.g. by its SNAT pool, or out to the physical
        network). Anything else addressed to the host stays on the host side."""
        try:
            f = vxlan.decode_frame(frame)
        except vxlan.DecodeError:
            return
        ip, icmp = f.ip, f.l4
        if not isinstance(ip, vxlan.IPv4) or not isinstance(icmp, vxlan.ICMPv4) or \
                icmp.type != vxlan.ICMPv4.ECHO_REQUEST:
            return
        self.host_stack["icmp echo reply"] += 1
        reply = vxlan.encode_frame(vxlan.Frame(
            vxlan.Ethernet(f.eth.src, f.eth.dst, vxlan.ETH_P_IPV4),
            ip=vxlan.IPv4(ip.dst, ip.src, vxlan.IPPROTO_ICMP),
            l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REPLY, 0, 0, icmp.ident, icmp.seq),
            payload=f.payload))
        key = flow_key(reply)
        dst = None
        if key is not None:
            owner = self._nat.owner(key, self.switch)
            if owner is not None:
                self._to_owner(owner, reply, [], trace=False)
                return
            dst = self._index.local_for(key.dst, None) or self._owner(key)
        if dst is None:
            self._external(reply)
            return
        if reply[0:6] != dst.mac:
            reply = dst.mac + self._gateway_mac(dst) + reply[12:]
        self._to_container(dst, reply, [], trace=False)

    # -- the host vNIC ports ---------------------------------------------------------------

    def send_from_host(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """A frame the host's own IP stack sends into its networks (a process on the node
        reaching a ClusterIP, its own NodePort, or a container): a host-side VIP goes OUT
        through the host vNIC port that load-balances it (hns/compiler/hostrules.py), any
        other address straight to the local container that owns it. Answers come back
        through the same port and land in `host_received`."""
        with self.service.lock:
            out = InjectResult()
            key = flow_key(frame)
            if key is None or key.dst > 0xFFFFFFFF:
                out.delivery = self._drop("host stack: not an IPv4 frame", frame)
                return out
            route = self._host_route(key)
            if route is not None:
                out.delivery = self._through_host_port(route[0], frame, out.hops, trace)
            else:
                out.delivery = self._forward_local(None, frame, out.hops, trace)
            return out

    def _host_route(self, key: vxlan.FlowKey) -> tuple[vfp.Port, bool] | None:
        ports = getattr(self.compiler, "host_ports", None)
        return None if ports is None else ports.route(key.protocol, key.dst, key.dst_port)

    def _host_lb(self, route: tuple[vfp.Port, bool], frame: bytes, hops: list[Hop], *,
                 trace: bool) -> Delivery:
        """A frame from outside to a host-side VIP: with a HairPin rule (a local backend)
        the host port's IN pipeline load-balances it and the vSwitch turns it back into
        the network; without one the host forwards it, OUT through the port."""
        port, hairpin = route
        if not hairpin:
            return self._through_host_port(port, frame, hops, trace)
        res = self._run_port(port, None, frame, vfp.IN, hops, trace)
        return self._into_network(port, res, frame, hops, trace, vfp.IN)

    def _through_host_port(self, port: vfp.Port, frame: bytes, hops: list[Hop],
                           trace: bool) -> Delivery:
        res = self._run_port(port, None, frame, vfp.OUT, hops, trace)
        return self._into_network(port, res, frame, hops, trace, vfp.OUT)

    def _into_network(self, port: vfp.Port, res: vfp.Result, frame: bytes, hops: list[Hop],
                      trace: bool, direction: str) -> Delivery:
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            return self._drop(f"host port {direction}: {why}", frame)
        data = res.output
        # the answer runs back through the port the other way (hairpinned: OUT)
        self._record_nat(frame, data, NatOwner(port, vfp.IN if direction == vfp.OUT
                                               else vfp.OUT))
        if self._is_vxlan(data):
            return self._to_underlay(data)
        return self._forward_local(None, data, hops, trace)

    def _to_host_side(self, back: tuple[vfp.Port, str], frame: bytes, hops: list[Hop],
                      trace: bool) -> Delivery:
        """An answer to one of a host port's SNAT addresses: through that port the way its
        flow runs (un-NATed, decapsulated), then to the host stack or out to the client."""
        port, direction = back
        res = self._run_port(port, None, frame, direction, hops, trace)
        if not res.allowed or res.output is None:
            why = res.reason.value if res.reason is not None else "blocked"
            return self._drop(f"host port {direction}: {why}", frame)
        data = res.output
        key = flow_key(data)
        if self._is_vxlan(data) or key is None:
            return self._drop("host port: answer not un-NATed", data)
        if key.dst == self._host_ip_int():
            self.host_received.append(data)
            self._host_stack(data)
            return Delivery("host", self.host_ip, frame=data)
        self._external(data)
        return Delivery("external", vxlan.ipv4_to_text(key.dst), frame=data)

    # -- from the underlay -------------------------------------------------------------

    def receive(self, frame: bytes, *, trace: bool = False) -> InjectResult:
        """An outer frame from the underlay: to the IN pipeline of the local endpoint that
        owns (VNI, inner destination IP), still encapsulated."""
        with self.service.lock:
            out = InjectResult()
            out.delivery = self._from_underlay(frame, out.hops, trace=trace)
            return out

    def _from_underlay(self, frame: bytes, hops: list[Hop], *, trace: bool) -> Delivery:
        try:
            d, key = vxlan.decapsulate_with_key(frame, dst_port=self.switch.vxlan_port,
                                                verify_checksums=False)
        except vxlan.DecodeError as exc:
            return self._drop(f"underlay: {exc.reason}", frame)
        if d.inner[12:14] == ETH_ARP:
            return self._underlay_arp(d)
        if key is None or key.dst > 0xFFFFFFFF:
            return self._drop("underlay: inner frame is not IPv4", frame)
        owner = self._nat.owner(key, self.switch)
        if owner is not None:  # an answer to a flow a port here translated
            return self._to_owner(owner, frame, hops, trace)
        ep = self._index.local_for_vni(d.vni, key.dst)
        if ep is None:
            ep = self._published_for_vni(d.vni, key)
        if ep is None:
            return self._drop(f"underlay: no local endpoint for VNI {d.vni}", frame)
        return self._to_container(ep, frame, hops, trace=trace)

    def _published_for_vni(self, vni: int, key: vxlan.FlowKey) -> EpInfo | None:
        """A DSR frame keeps the VIP as inner destination: the local backend the compiler
        publishes for (VIP, protocol, port) on that VNI takes it."""
        find = getattr(self.compiler, "endpoint_for_vni", None)
        if find is None:
            return None
        ep_id = find(vni, key.dst, proto=key.protocol, port=key.dst_port)
        return None if ep_id is None else self._index.eps.get(str(ep_id).upper())


__all__ = ["VSwitch"]
