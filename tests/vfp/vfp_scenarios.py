"""Shared builders for the vfp tests: a fake clock, addresses, and a container-host port."""

from __future__ import annotations

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    TRACK_TCP,
    Allow,
    Block,
    Decap,
    Group,
    Layer,
    Port,
    RouteEncap,
    Rule,
    Switch,
    conditions,
)
from vfp.addr import parse_ip, parse_mac

PORT_ID = "c9385412-bdef-49f5-88b0-c9d484ef6716"
POD_MAC = parse_mac("00-15-5D-00-00-01")
DR_MAC = parse_mac("0E-2A-00-00-00-99")


def ip(text: str) -> int:
    return parse_ip(text)[0]


class Clock:
    """A manual clock for flow TTLs."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def acl_port(clock: Clock | None = None) -> tuple[Switch, Port]:
    """A pod port: stateful ACL (allow out, block in) + VXLAN encap/decap layer."""
    sw = Switch(clock=clock or Clock())
    port = sw.add_port(PORT_ID, name="pod1", mac=POD_MAC, vm_name="pod1")
    acl = port.add_layer(Layer("ACL_ENDPOINT_LAYER", 15, stateful=True))
    gin = acl.add_group(Group("ACL_ENDPOINT_GROUP_IPV4_IN", 1, IN))
    gout = acl.add_group(Group("ACL_ENDPOINT_GROUP_IPV4_OUT", 1, OUT))
    gout.add_rule(Rule("A2CFF68C-B5F4-4988-841F-0F6F77AF3D09", 1000, Allow(),
                       flags=TERMINATING | STATEFUL | TRACK_TCP, ttl=240,
                       name="allow-all-out"))
    gin.add_rule(Rule("0EE8DCA1-9AA8-417C-88E0-422CE9E52CBF", 65500, Block(),
                      name="block-all-in"))
    enc = port.add_layer(Layer("VNET_ENCAP_LAYER", 100, stateful=False, flags=DEFAULT_ALLOW))
    genc = enc.add_group(Group("VNET_GROUP_ENCAP_IPV4_OUT", 1, OUT))
    genc.add_rule(Rule(
        "REMOTESUBNETROUTE_10.244.4.0_24", 10,
        RouteEncap(ip("192.168.1.10"), ip("192.168.1.20"), 4096, inner_dst_mac=DR_MAC,
                   outer_dst_mac=parse_mac("00-15-5D-AA-AA-AA")),
        conditions=conditions(dst_ip="10.244.4.0/24"),
    ))
    gdec = enc.add_group(Group("VNET_GROUP_DECAP_IPV4_IN", 1, IN))
    gdec.add_rule(Rule("DECAP_4096", 10, Decap(4096)))
    return sw, port
