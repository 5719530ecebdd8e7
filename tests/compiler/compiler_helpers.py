"""Helpers for the compiler tests: an HNS service + VFP switch + Compiler, object builders
through the real HNS API (V2 HCN calls and V1 HNSCall), and frame builders."""

from __future__ import annotations

import json
import uuid
from typing import Any

import vfp
import vfp.ctl
from hns.compiler import Compiler
from hns.service import HnsService
from vxlan.addr import ipv4_from_text, mac_from_text
from vxlan.frame import Frame, decode_frame, encode_frame
from vxlan.headers import (
    ETH_P_IPV4,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    Ethernet,
    ICMPv4,
    IPv4,
)

Json = dict[str, Any]
HOST_IP = "172.16.0.4"


class Rig:
    """One emulated host's control plane and switch, compiled."""

    def __init__(self, host_ip: str = HOST_IP, *, dsr_keeps_vip: bool = False) -> None:
        self.service = HnsService(host_ip=host_ip)
        self.switch = vfp.Switch()
        self.compiler = Compiler(self.service, self.switch, dsr_keeps_vip=dsr_keeps_vip)

    # -- objects (V2) --------------------------------------------------------------------
    def network(self, name: str = "net", *, type: str = "NAT", prefix: str = "10.0.0.0/24",
                gateway: str = "10.0.0.1", vsid: int | None = None,
                policies: list[Json] | None = None) -> str:
        subnet: Json = {"IpAddressPrefix": prefix,
                        "Routes": [{"NextHop": gateway, "DestinationPrefix": "0.0.0.0/0"}]}
        if vsid is not None:
            subnet["Policies"] = [{"Type": "VSID", "Settings": {"IsolationId": vsid}}]
        body: Json = {"Name": name, "Type": type, "Ipams": [{"Type": "Static",
                                                               "Subnets": [subnet]}],
                      "Policies": policies or [], "SchemaVersion": {"Major": 2, "Minor": 0}}
        got = self.service.hcn_call("HcnCreateNetwork", str(uuid.uuid4()), json.dumps(body))
        return str(got["ID"])

    def endpoint(self, net: str, ip: str, *, name: str = "", mac: str | None = None,
                 policies: list[Json] | None = None, remote: bool = False) -> str:
        body: Json = {"Name": name or f"ep-{ip}", "HostComputeNetwork": net,
                      "IpConfigurations": [{"IpAddress": ip}], "Policies": policies or [],
                      "SchemaVersion": {"Major": 2, "Minor": 0}}
        if mac:
            body["MacAddress"] = mac
        if remote:
            body["Flags"] = 1
        got = self.service.hcn_call("HcnCreateEndpoint", str(uuid.uuid4()), json.dumps(body))
        return str(got["ID"])

    def modify_endpoint_policies(self, ep: str, policies: list[Json],
                                 request: str = "Add") -> None:
        body = {"ResourceType": "Policy", "RequestType": request,
                "Settings": {"Policies": policies}}
        self.service.hcn_call("HcnModifyEndpoint", ep, json.dumps(body))

    def load_balancer(self, backends: list[str], *, vip: str | None = "10.96.0.10",
                      proto: int = 6, external: int | None = 80, internal: int = 8080,
                      flags: int = 0, pm_flags: int = 0, distribution: int = 0) -> str:
        """external None: the mapping leaves ExternalPort out (as clients may)."""
        pm: Json = {"Protocol": proto, "InternalPort": internal}
        if external is not None:
            pm["ExternalPort"] = external
        if pm_flags:
            pm["Flags"] = pm_flags
        if distribution:
            pm["DistributionType"] = distribution
        body: Json = {"HostComputeEndpoints": backends, "PortMappings": [pm],
                      "FrontendVIPs": [vip] if vip else [], "Flags": flags,
                      "SchemaVersion": {"Major": 2, "Minor": 0}}
        got = self.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()),
                                    json.dumps(body))
        return str(got["ID"])

    def delete(self, kind: str, ident: str) -> None:
        self.service.hcn_call(f"HcnDelete{kind}", ident)

    def port(self, ep: str) -> vfp.Port:
        port = self.compiler.port_of(ep)
        assert port is not None
        return port

    def ctl(self, *argv: str) -> str:
        """vfpctrl; an endpoint id after /port is replaced by its port's GUID (the port has a
        GUID of its own, as real hosts report it in EndpointPortGuid)."""
        args = list(argv)
        for i in range(len(args) - 1):
            if args[i] == "/port":
                port = self.compiler.port_of(args[i + 1])
                if port is not None:
                    args[i + 1] = port.id
        code, text = vfp.ctl.run(self.switch, args)
        assert code == 0, text
        return text


def mac_text(ip: str) -> str:
    """An endpoint MAC derived from its IP, as flannel/Calico overlay endpoints do."""
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"0E-2A-{a:02X}-{b:02X}-{c:02X}-{d:02X}"


def frame(src_ip: str, dst_ip: str, *, proto: int = IPPROTO_TCP, sport: int = 40000,
          dport: int = 80, src_mac: str = "00-15-5D-00-00-01",
          dst_mac: str = "00-15-5D-00-00-FE", syn: bool = False, payload: bytes = b"hi") -> bytes:
    eth = Ethernet(mac_from_text(dst_mac), mac_from_text(src_mac), ETH_P_IPV4)
    ip = IPv4(ipv4_from_text(src_ip), ipv4_from_text(dst_ip), proto)
    l4: Any
    if proto == IPPROTO_TCP:
        l4 = TCP(sport, dport, 1, 0, 0x02 if syn else 0x18, 65535)
    elif proto == IPPROTO_UDP:
        l4 = UDP(sport, dport, 0, 0)
    else:
        l4 = ICMPv4(ICMPv4.ECHO_REQUEST, 0, 0, sport, 1)
    return encode_frame(Frame(eth, ip=ip, l4=l4, payload=payload))


def decode(data: bytes) -> Frame:
    return decode_frame(data)


__all__ = ["HOST_IP", "IPPROTO_ICMP", "IPPROTO_TCP", "IPPROTO_UDP", "Rig", "decode", "frame",
           "mac_text"]
