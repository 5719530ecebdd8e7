"""An independent reference model of what HNS policy means for one packet, written from the
documented semantics (hns-api.md, vfp.md section 3, docs/compiler.md), not from the
compiler's code. It reads the HNS objects as a client sent them and answers: is the packet
dropped; which (dst IP, dst port) pairs may it leave with (the LB backends); which source
IP; is it encapsulated, and to which PA with which VNI.

Semantics encoded here:
- ACL (RuleType Switch only): an endpoint with at least one ACL (its own, or a NetworkACL
  of its network) is default-deny in both directions. Its own ACLs are consulted first;
  only when none matches do the network's. Among the ACLs of the packet's direction that
  match (in that tier), the one with the smallest Priority decides (Allow passes, Block
  drops). In: RemoteAddresses/RemotePorts are the packet's source,
  LocalAddresses/LocalPorts its destination; Out: the mirror. Protocols 256 (or empty)
  is any protocol. ACLs judge the packet as the container sent it (before load
  balancing).
- Load balancer: a packet to (VIP, ExternalPort, Protocol) -- VIP = a FrontendVIP, or the
  host's address when the LB has none; ExternalPort left out is the InternalPort -- goes to
  one of its backends' (IP, InternalPort); a backend named twice is one backend.
  With DSR (and the compiler's dsr_keeps_vip option), a backend that is a remote
  endpoint is reached with the VIP and ExternalPort kept, encapsulated to that endpoint's
  PA with the VSID as VNI (its own host turns VIP into DIP and answers from the VIP).
- OutBoundNAT: a TCP/UDP/ICMP packet whose (post-LB) destination is in none of the
  Exceptions prefixes and not in the endpoint's own network's subnets leaves with
  source = VirtualIP, else the host's address. Except what a backend of a DSR load
  balancer sends from its service port (InternalPort, any port when the LB has none;
  the LB's protocol, any when 0): that leaves un-SNATed (the ALLOW_NAT_ rule microsoft/SDN
  networkhealth.ps1 checks on a DSR backend's port).
- Overlay: a (post-LB) destination that is a remote endpoint with a PA goes to that PA with
  the network's VSID as VNI; else one inside a RemoteSubnetRoute prefix goes to that route's
  ProviderAddress with its IsolationId as VNI; else it is not encapsulated.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Packet:
    proto: int
    src: str
    sport: int
    dst: str
    dport: int


#: What a packet may leave the port as: (inner dst IP, dst port, inner src IP,
#: (outer dst PA, VNI) or None when not encapsulated).
Result = tuple[str, int, str, tuple[str, int] | None]


@dataclass
class Outcome:
    allowed: bool
    results: set[Result] = field(default_factory=set)


@dataclass
class World:
    host_ip: str
    vsid: int
    acls: list[Json]                      # ACL Settings of the endpoint under test
    lbs: list[Json]                       # {"vips": [..], "proto", "ext", "int", "backends": [ip]}
    outbound_nat: Json | None             # OutBoundNAT Settings, or None
    remote_endpoints: dict[str, str]      # CA -> PA
    remote_subnets: list[Json]            # RemoteSubnetRoute Settings
    overlay: bool = True
    own_subnets: list[str] = field(default_factory=list)  # the endpoint's network's prefixes
    dsr_keeps_vip: bool = False  # the compiler option: real DSR to remote backends
    network_acls: list[Json] = field(default_factory=list)  # NetworkACL Settings


def _in(ip: str, prefixes: str | list[str] | None) -> bool:
    if not prefixes:
        return True
    items = prefixes.split(",") if isinstance(prefixes, str) else prefixes
    addr = ipaddress.ip_address(ip)
    return any(addr.version == ipaddress.ip_network(p.strip(), strict=False).version
               and addr in ipaddress.ip_network(p.strip(), strict=False) for p in items)


def _port_in(port: int, text: str | None) -> bool:
    if not text:
        return True
    for part in str(text).split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


def _proto_in(proto: int, text: str | None) -> bool:
    if not text:
        return True
    nums = {int(p) for p in str(text).split(",")}
    return 256 in nums or proto in nums


def acl_allows(acls: list[Json], p: Packet, direction: str,
               network_acls: list[Json] | None = None) -> bool:
    """Endpoint ACLs first, then the network's (NetworkACL): the first tier with a
    matching ACL decides by its smallest Priority; no match anywhere is a drop once any
    Switch ACL exists (endpoint or network)."""
    tiers = [[a for a in tier if a.get("RuleType", "Switch") == "Switch"]
             for tier in (acls, network_acls or [])]
    if not any(tiers):
        return True
    if direction == "Out":
        local_ip, local_port, remote_ip, remote_port = p.src, p.sport, p.dst, p.dport
    else:
        local_ip, local_port, remote_ip, remote_port = p.dst, p.dport, p.src, p.sport
    for tier in tiers:
        matching = [
            a for a in tier
            if a["Direction"] == direction
            and _proto_in(p.proto, a.get("Protocols"))
            and _in(local_ip, a.get("LocalAddresses"))
            and _in(remote_ip, a.get("RemoteAddresses"))
            and _port_in(local_port, a.get("LocalPorts"))
            and _port_in(remote_port, a.get("RemotePorts"))
        ]
        if matching:
            best = min(matching, key=lambda a: a.get("Priority", 0))
            return bool(best["Action"] == "Allow")
    return False


def outbound(world: World, p: Packet) -> Outcome:
    """What happens to a packet the endpoint under test sends."""
    if not acl_allows(world.acls, p, "Out", world.network_acls):
        return Outcome(False)
    # (inner destination, port, encapsulation decided by the load balancer itself)
    targets: list[tuple[str, int, tuple[str, int] | None]] = [(p.dst, p.dport, None)]
    for lb in world.lbs:
        vips = lb["vips"] or [world.host_ip]
        if p.dst in vips and p.dport == (lb["ext"] or lb["int"]) and lb["proto"] in (0, p.proto):
            targets = []
            for ip in lb["backends"]:
                if lb.get("dsr") and world.dsr_keeps_vip and world.overlay \
                        and ip in world.remote_endpoints:
                    targets.append((p.dst, p.dport, (world.remote_endpoints[ip], world.vsid)))
                else:
                    targets.append((ip, lb["int"], None))
            break
    out = Outcome(True)
    nat = world.outbound_nat
    dsr_answer = any(lb.get("dsr") and p.src in lb["backends"] and lb["proto"] in (0, p.proto)
                     and lb["int"] in (0, p.sport) for lb in world.lbs)
    for d, port, encap in targets:
        src = p.src
        if nat is not None and p.proto in (1, 6, 17) and not dsr_answer:
            exempt = [*nat.get("Exceptions", []), *world.own_subnets]
            if not any(_in(d, [e]) for e in exempt):
                src = nat.get("VirtualIP") or world.host_ip
        if encap is None and world.overlay:
            if d in world.remote_endpoints:
                encap = (world.remote_endpoints[d], world.vsid)
            else:
                for route in world.remote_subnets:
                    if _in(d, [route["DestinationPrefix"]]):
                        encap = (route["ProviderAddress"], route["IsolationId"])
                        break
        out.results.add((d, port, src, encap))
    return out


def inbound_allowed(world: World, p: Packet) -> bool:
    """Whether a packet arriving for the endpoint under test (a new connection) is let in."""
    return acl_allows(world.acls, p, "In", world.network_acls)


def published(world: World, port_mappings: list[Json], p: Packet,
              local_ips: set[str]) -> set[tuple[str, int]]:
    """Where a packet arriving from outside for (p.dst, p.dport) may be delivered: the
    endpoint under test's PortMapping ((VIP or host address):ExternalPort ->
    endpoint:InternalPort), else the LOCAL backends of a load balancer on that VIP and port
    (a NodePort when the LB has no VIP). Empty: nobody on this host owns it."""
    for pm in port_mappings:
        vip = pm.get("VIP") or world.host_ip
        if p.dst == vip and p.dport == pm.get("ExternalPort", pm["InternalPort"]) and \
                pm.get("Protocol", 0) in (0, p.proto):
            return {(pm["__ip"], pm["InternalPort"])}
    for lb in world.lbs:
        vips = lb["vips"] or [world.host_ip]
        if p.dst in vips and p.dport == (lb["ext"] or lb["int"]) and \
                lb["proto"] in (0, p.proto) and not lb.get("ilb"):
            return {(ip, lb["int"]) for ip in lb["backends"] if ip in local_ips}
    return set()
