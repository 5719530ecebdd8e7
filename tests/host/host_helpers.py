"""Helpers for the host and cluster tests: HNS objects made through the V2 API, and a
stand-in compiler (one empty, allow-all port per local endpoint) for tests of the
vSwitch alone."""

from __future__ import annotations

import json
from typing import Any

import vfp
import vxlan
from hns.service import HnsService

VSID = 4096


def overlay(service: HnsService, prefix: str, *, name: str = "overlay",
            vsid: int | None = VSID,
            dr_mac: str | None = "00-15-5D-AA-00-01", policies: list[Any] | None = None) -> str:
    """An Overlay network (one subnet, gateway .1, VSID policy) made with HcnCreateNetwork."""
    base = prefix.rsplit(".", 1)[0]
    pols: list[Any] = list(policies or [])
    if dr_mac:
        pols.append({"Type": "DrMacAddress", "Settings": {"Address": dr_mac}})
    body = {
        "Name": name, "Type": "Overlay", "Policies": pols,
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": prefix,
            "Routes": [{"NextHop": f"{base}.1", "DestinationPrefix": "0.0.0.0/0"}],
            "Policies": [] if vsid is None else [
                {"Type": "VSID", "Settings": {"IsolationId": vsid}}],
        }]}],
    }
    return str(service.hcn_call("HcnCreateNetwork", None, json.dumps(body))["ID"])


def local_endpoint(service: HnsService, net: str, ip: str | None = None, *,
                   name: str = "", mac: str | None = None,
                   policies: list[Any] | None = None) -> str:
    body: dict[str, Any] = {"Name": name or f"ep-{ip}", "HostComputeNetwork": net}
    if ip is not None:
        body["IpConfigurations"] = [{"IpAddress": ip}]
    if mac is not None:
        body["MacAddress"] = mac
    pols = list(policies or [])
    pols.append({"Type": "ProviderAddress", "Settings": {"ProviderAddress": service.host_ip}})
    body["Policies"] = pols
    return str(service.hcn_call("HcnCreateEndpoint", None, json.dumps(body))["ID"])


def remote_endpoint(service: HnsService, net: str, ip: str, pa: str, mac: str, *,
                    name: str = "") -> str:
    body = {
        "Name": name or f"remote-{ip}", "HostComputeNetwork": net, "Flags": 1,
        "IpConfigurations": [{"IpAddress": ip}], "MacAddress": mac,
        "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": pa}}],
    }
    return str(service.hcn_call("HcnCreateEndpoint", None, json.dumps(body))["ID"])


def icmp_echo(src_mac: str | bytes, dst_mac: str | bytes, src: str, dst: str, *,
              seq: int = 1) -> bytes:
    """An Ethernet / IPv4 / ICMP echo request frame."""
    def m(v: str | bytes) -> bytes:
        return vxlan.mac_from_text(v) if isinstance(v, str) else v

    frame = vxlan.Frame(
        vxlan.Ethernet(m(dst_mac), m(src_mac), vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst),
                      vxlan.IPPROTO_ICMP),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 7, seq),
        payload=b"ping",
    )
    return vxlan.encode_frame(frame)


class StubCompiler:
    """One VFP port per local endpoint with a single default-allow layer whose only rule
    decapsulates VXLAN inbound: no policy, no encap (for tests of the vSwitch alone)."""

    def __init__(self, service: HnsService, switch: vfp.Switch) -> None:
        self.service = service
        self.switch = switch
        service.add_listener(self._changed)
        self.sync()

    def _changed(self, _changes: object) -> None:
        self.sync()

    def sync(self) -> None:
        eps = {e["ID"]: e for e in self.service.dump()["Objects"]["endpoint"]
               if not e.get("Flags", 0) & 1}
        for pid in [p for p in self.switch.ports if p not in eps]:
            self.switch.remove_port(pid)
        for eid, ep in eps.items():
            if eid not in self.switch.ports:
                mac = int.from_bytes(vxlan.mac_from_text(ep["MacAddress"]), "big")
                port = self.switch.add_port(eid, name=ep.get("Name", ""), mac=mac)
                layer = port.add_layer(vfp.Layer("STUB_DECAP", 100, stateful=False,
                                                 flags=vfp.DEFAULT_ALLOW))
                group = layer.add_group(vfp.Group("STUB_DECAP_IN", 1, vfp.IN))
                group.add_rule(vfp.Rule("decap", 1, vfp.Decap()))

    def port_of(self, endpoint_id: str) -> vfp.Port | None:
        for pid, port in self.switch.ports.items():
            if pid.upper() == endpoint_id.upper():
                return port
        return None

    def endpoint_of(self, port_id: str) -> str | None:
        port = self.port_of(port_id)
        return None if port is None else port.id

    def close(self) -> None:
        self.service.remove_listener(self._changed)


def shared_free_udp_port(*addrs: str) -> int:
    """A UDP port free on every one of `addrs` a moment ago (hosts of one overlay must
    share the VXLAN port; other test runs may hold ports on the same loopback addresses)."""
    import socket

    for _ in range(50):
        socks: list[socket.socket] = []
        try:
            first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(first)
            first.bind((addrs[0], 0))
            port = int(first.getsockname()[1])
            for addr in addrs[1:]:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no UDP port free on all of " + ", ".join(addrs))
