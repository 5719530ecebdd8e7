"""ARP on an emulated host: VFP answers it outside the layers. The vSwitch answers a
container's request for a local or remote endpoint of its network with that endpoint's
MAC, for the subnet gateway (or an address behind a RemoteSubnetRoute) with the DR MAC
(proxy ARP), for an address on the physical network with its owner's MAC on bridged
networks, and answers requests arriving over VXLAN for its local endpoints."""

from __future__ import annotations

import vxlan
from hns.hosts.base import HostBase
from hns.hosts.index import PHYSICAL_TYPES, EpInfo, synthetic_mac
from hns.hosts.results import Delivery


class ArpMixin(HostBase):
    """The host's ARP answers (see the module docstring)."""

    def _arp_answer(self, net_key: str, target: int) -> bytes | None:
        """The MAC the vSwitch answers for `target` in a network, or None."""
        key = self._index.local.get((net_key, target)) or self._index.remote.get(
            (net_key, target))
        if key is not None:
            return self._index.eps[key].mac
        net = self._index.nets.get(net_key)
        if net is None:
            return None
        if target in net.gateways:
            return net.dr_mac or synthetic_mac(f"gateway:{net_key}")
        # an on-link address behind a RemoteSubnetRoute: the remote distributed router
        route = net.remote_subnet(target)
        if route is not None:
            return route[2] or net.dr_mac or synthetic_mac(f"gateway:{net_key}")
        if net.type in PHYSICAL_TYPES and self.resolve_physical is not None:
            # bridged to the physical network: whoever owns the address there answers
            return self.resolve_physical(target)
        return None

    def physical_mac(self, ip: int) -> bytes | None:
        """The MAC of a local container with this IPv4 address on a network bridged to the
        physical network (what it answers to ARP there), or None. Another host asks this
        while holding its own lock: a bounded wait for ours avoids a lock-order deadlock
        between two pumping hosts (the answer is then None, as for a lost ARP)."""
        if not self.service.lock.acquire(timeout=1.0):
            return None
        try:
            for ep_key in self._index.by_ip.get(ip, ()):
                ep = self._index.eps[ep_key]
                net = self._index.nets.get(ep.net)
                if net is not None and net.type in PHYSICAL_TYPES:
                    return ep.mac
            return None
        finally:
            self.service.lock.release()

    def _proxy_arp(self, ep: EpInfo, frame: bytes) -> Delivery:
        try:
            arp = vxlan.decode_frame(frame).arp
        except vxlan.DecodeError as exc:
            return self._drop(f"malformed ARP: {exc.reason}", frame)
        if arp is None or arp.oper != vxlan.ARP.REQUEST:
            return self._drop("ARP other than a request", frame)
        target = vxlan.ipv4_to_text(arp.tpa)
        if arp.tpa == ep.ip or arp.tpa == arp.spa:
            return self._drop("gratuitous ARP", frame)
        mac = self._arp_answer(ep.net, arp.tpa)
        if mac is None:
            return self._drop("ARP for an address no endpoint owns", frame)
        reply = vxlan.ARP(vxlan.ARP.REPLY, mac, arp.tpa, arp.sha, arp.spa)
        answer = vxlan.encode_frame(
            vxlan.Frame(vxlan.Ethernet(arp.sha, mac, vxlan.ETH_P_ARP), arp=reply))
        self.arp_answers["container"] += 1
        self._deliver(ep, answer)
        return Delivery("arp", target, frame=answer)

    def _underlay_arp(self, d: vxlan.Decapsulated) -> Delivery:
        """An ARP request that came over VXLAN: answer it for a local endpoint of that VNI,
        encapsulated back to the sender's PA."""
        try:
            arp = vxlan.decode_frame(d.inner).arp
        except vxlan.DecodeError as exc:
            return self._drop(f"malformed ARP over VXLAN: {exc.reason}", d.inner)
        if arp is None or arp.oper != vxlan.ARP.REQUEST:
            return self._drop("ARP over VXLAN other than a request", d.inner)
        ep = self._index.local_for_vni(d.vni, arp.tpa)
        if ep is None:
            return self._drop("ARP over VXLAN for no local endpoint", d.inner)
        reply = vxlan.ARP(vxlan.ARP.REPLY, ep.mac, arp.tpa, arp.sha, arp.spa)
        inner = vxlan.encode_frame(
            vxlan.Frame(vxlan.Ethernet(arp.sha, ep.mac, vxlan.ETH_P_ARP), arp=reply))
        outer = vxlan.encapsulate(
            inner, vni=d.vni, src_pa=self.host_ip, dst_pa=vxlan.ip_to_text(
                d.src_pa, d.ip_version), src_mac=d.dst_mac, dst_mac=d.src_mac,
            dst_port=self.switch.vxlan_port)
        if self.underlay is None:
            return self._drop("no underlay to send encapsulated frames on", outer)
        self.underlay.send(outer)
        self.sent_to_underlay += 1
        self.arp_answers["underlay"] += 1
        return Delivery("arp", vxlan.ipv4_to_text(arp.tpa), frame=outer)


__all__ = ["ArpMixin"]
