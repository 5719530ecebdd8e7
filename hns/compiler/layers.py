"""The one table of VFP layers, groups and priorities that the compiler programs on a port.

Names are the ones real HNS hosts show (vfp.md section 3.1). Priorities known from real
hosts: ACL_ENDPOINT_LAYER 15, ACL_SUBNET_LAYER 17 (decompiled HostNetSvc), group
ACL_ENDPOINT_GROUP_IPV4_IN 1, VNET_GROUP_PA_ROUTE_IPV4_OUT 200, rule PA_ROUTE 45535. Every
other number here is our choice, written down in docs/compiler.md: outbound walks layers in
ascending priority (VM -> wire), so the ACL layer is next to the container, the load
balancer layers come before the NAT layer (OutboundNAT exceptions are judged on the real
destination, after VIP -> DIP), and the VNET layers are next to the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from vfp import DEFAULT_ALLOW, IN, OUT


@dataclass(frozen=True)
class GroupDef:
    id: str
    direction: str
    priority: int
    version: int = 4


@dataclass(frozen=True)
class LayerDef:
    id: str
    priority: int
    stateful: bool
    flags: int
    groups: tuple[GroupDef, ...]
    overlay_only: bool = False


# -- layer ids ---------------------------------------------------------------------------
ACL = "ACL_ENDPOINT_LAYER"
LB_DSR = "LB_DSR"
SLB_LB = "SLB_LB_LAYER"
SLB_NAT = "SLB_NAT_LAYER"
MAC_REWRITE = "VNET_MAC_REWRITE_LAYER"
VNET_ENCAP = "VNET_ENCAP_LAYER"
VNET_PA_ROUTE = "VNET_PA_ROUTE_LAYER"

# -- group ids ---------------------------------------------------------------------------
ACL_IN4 = "ACL_ENDPOINT_GROUP_IPV4_IN"
ACL_OUT4 = "ACL_ENDPOINT_GROUP_IPV4_OUT"
ACL_IN6 = "ACL_ENDPOINT_GROUP_IPV6_IN"
ACL_OUT6 = "ACL_ENDPOINT_GROUP_IPV6_OUT"
DSR_OUT = "LB_DSR_IPv4_OUT"
LB_OUT = "SLB_GROUP_LB_IPv4_OUT"
NAT_IN = "SLB_GROUP_NAT_IPv4_IN"
NAT_OUT = "SLB_GROUP_NAT_IPv4_OUT"
DSR_OUT6 = "LB_DSR_IPv6_OUT"
LB_OUT6 = "SLB_GROUP_LB_IPv6_OUT"
NAT_IN6 = "SLB_GROUP_NAT_IPv6_IN"
#: load balancer groups by IP version: (DSR client side, client side, backend side)
LB_GROUPS = {4: (DSR_OUT, LB_OUT, NAT_IN), 6: (DSR_OUT6, LB_OUT6, NAT_IN6)}
MAC_IN = "VNET_GROUP_MAC_REWRITE_IPV4_IN"
MAC_IN6 = "VNET_GROUP_MAC_REWRITE_IPV6_IN"
ENCAP_OUT = "VNET_GROUP_ENCAP_IPV4_OUT"
DECAP_IN = "VNET_GROUP_DECAP_IPV4_IN"
PA_ROUTE_OUT = "VNET_GROUP_PA_ROUTE_IPV4_OUT"

ACL_GROUPS = {(IN, 4): ACL_IN4, (OUT, 4): ACL_OUT4, (IN, 6): ACL_IN6, (OUT, 6): ACL_OUT6}
#: Network-wide ACLs (NetworkACL network policies), after the endpoint's own groups.
ACL_NETWORK_GROUPS = {(d, v): f"ACL_NETWORK_GROUP_IPV{v}_{d}" for d in (IN, OUT) for v in (4, 6)}

#: Every layer the compiler programs, with its groups. ACL_ENDPOINT_LAYER is created
#: Default Allow and switched to default-deny (flags 0) while the endpoint has a Switch ACL.
LAYERS: tuple[LayerDef, ...] = (
    LayerDef(ACL, 15, True, DEFAULT_ALLOW, (
        GroupDef(ACL_IN4, IN, 1), GroupDef(ACL_OUT4, OUT, 1),
        GroupDef(ACL_IN6, IN, 1, 6), GroupDef(ACL_OUT6, OUT, 1, 6),
        *(GroupDef(g, d, 2, v) for (d, v), g in ACL_NETWORK_GROUPS.items()),
    )),
    LayerDef(LB_DSR, 90, True, DEFAULT_ALLOW, (GroupDef(DSR_OUT, OUT, 100),
                                               GroupDef(DSR_OUT6, OUT, 100, 6))),
    LayerDef(SLB_LB, 100, True, DEFAULT_ALLOW, (GroupDef(LB_OUT, OUT, 100),
                                                GroupDef(LB_OUT6, OUT, 100, 6))),
    LayerDef(SLB_NAT, 200, True, DEFAULT_ALLOW, (
        GroupDef(NAT_IN, IN, 100), GroupDef(NAT_OUT, OUT, 100), GroupDef(NAT_IN6, IN, 100, 6),
    )),
    LayerDef(MAC_REWRITE, 400, False, DEFAULT_ALLOW, (GroupDef(MAC_IN, IN, 100),
                                                      GroupDef(MAC_IN6, IN, 100, 6))),
    LayerDef(VNET_ENCAP, 500, False, DEFAULT_ALLOW, (
        GroupDef(ENCAP_OUT, OUT, 100), GroupDef(DECAP_IN, IN, 100),
    ), overlay_only=True),
    LayerDef(VNET_PA_ROUTE, 600, False, DEFAULT_ALLOW, (GroupDef(PA_ROUTE_OUT, OUT, 200),),
             overlay_only=True),
)

LAYER_BY_ID = {layer.id: layer for layer in LAYERS}

# -- rule priorities inside groups (lower number wins) ------------------------------------
PRI_SDN_ROUTE = 5          # NeedEncap=false routes: no encap, ahead of every encap rule
PRI_REMOTE_ENDPOINT = 10   # CA -> PA mapencap of one remote endpoint (a /32)
PRI_REMOTE_SUBNET = 100    # RemoteSubnetRoute routeencap
PRI_DECAP = 100
PRI_MAC_REWRITE = 100
PRI_NAT_EXCEPTION = 10     # OutBoundNAT exceptions (no SNAT)
PRI_SNAT = 100             # OutBoundNAT dynnat
PRI_SNAT_DESTINATION = 5   # OutBoundNAT with Destinations (loopback DSR): ahead of exceptions
PRI_PORT_MAPPING = 100     # NAT network PortMapping DNAT
PRI_LB = 100               # load balancer lbnat
PRI_PA_ROUTE = 45535

#: Flow TTL of stateful rules, as real hosts print it.
STATEFUL_TTL = 240
#: Flags of ACL allow rules on real hosts: 8195 = terminating + stateful + 0x2000.
ACL_ALLOW_FLAGS = 8195

#: The VXLAN overhead subtracted from the TCP MSS when no EncapOverhead policy is given.
DEFAULT_ENCAP_OVERHEAD = 50
#: The VSID used for an Overlay network with no VSID subnet policy (moby/flannel default).
DEFAULT_VSID = 4096
#: Map space holding the CA -> PA mappings of one port.
VNET_SPACE = "VNET_SPACE"
