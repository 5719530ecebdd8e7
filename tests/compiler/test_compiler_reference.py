"""The compiled VFP pipeline agrees with the independent reference model (reference_model.py)
on generated policies and packets: ACL priority and default-deny, the set of LB backends,
SNAT and its exceptions, encap destination and VNI, and replies coming back un-NATed."""

from __future__ import annotations

import ipaddress
from typing import Any

from compiler_helpers import Rig, decode, frame, mac_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_model import (
    Outcome,
    Packet,
    World,
    _in,
    _port_in,
    inbound_allowed,
    outbound,
    published,
)

import vfp
from hns.errors import HnsError

HOST = "172.16.0.4"
VSID = 4096
CLIENT = "10.244.1.5"
LOCALS = ["10.244.1.6", "10.244.1.7"]
REMOTES = {"10.244.3.9": "172.16.0.9", "10.244.2.8": "172.16.0.5"}
ROUTE = {"DestinationPrefix": "10.244.2.0/24", "IsolationId": 4097,
         "ProviderAddress": "172.16.0.5", "DistributedRouterMacAddress": "0E-2A-00-00-00-02"}
PREFIXES = ["10.244.0.0/16", "10.244.1.0/24", "10.244.2.0/24", "10.96.0.0/12", "8.8.8.0/24",
            "10.244.1.6/32", "0.0.0.0/0"]
# ACL address lists as dual-stack clients write them: IPv6 only, or both families mixed
MIXED = ["fd00:10:244::/48", "10.244.0.0/16,fd00:10:244::/48", "::/0,10.96.0.0/12"]
VIPS = ["10.96.0.10", "10.96.0.11", None]
DESTS = [*LOCALS, CLIENT, *REMOTES, "10.244.2.20", "8.8.8.8", "10.96.0.10", "10.96.0.11",
         HOST, "10.50.0.1"]
PORTS = [53, 80, 443, 8080]

Json = dict[str, Any]

# Protocols: left out, or a list of protocol numbers that may name 256 (any) among others.
protocol_lists = st.lists(st.sampled_from(["1", "6", "17", "256"]), min_size=1, max_size=3,
                          unique=True).map(",".join)
acls = st.lists(
    st.fixed_dictionaries(
        {"Action": st.sampled_from(["Allow", "Block"]),
         "Direction": st.sampled_from(["In", "Out"])},
        optional={"Protocols": protocol_lists,
                  "RemoteAddresses": st.sampled_from([*PREFIXES, *MIXED]),
                  "LocalAddresses": st.sampled_from([CLIENT, "10.244.1.0/24",
                                                     f"{CLIENT},fd00:10:244::5"]),
                  "RemotePorts": st.sampled_from(["53", "80", "80,443", "1-1000"]),
                  "LocalPorts": st.sampled_from(["80", "8080", "1000-65535"])}),
    max_size=5,
)
# ExternalPort may be left out (None: it is then the InternalPort); a backend may be named
# twice (it is still one backend).
lbs = st.lists(
    st.fixed_dictionaries({
        "vip": st.sampled_from(VIPS), "proto": st.sampled_from([6, 17]),
        "ext": st.sampled_from([*PORTS, None]), "int": st.sampled_from(PORTS),
        "backends": st.lists(st.sampled_from([*LOCALS, CLIENT, *REMOTES]), min_size=1,
                             max_size=4),
        "dsr": st.booleans(), "dist": st.sampled_from([0, 1, 2]),
    }),
    max_size=3,
)
onat = st.none() | st.fixed_dictionaries(
    {"Exceptions": st.lists(st.sampled_from(PREFIXES[:-1]), max_size=3, unique=True)},
    optional={"VirtualIP": st.just("192.168.50.1")})
packets = st.builds(Packet, proto=st.sampled_from([6, 17]), src=st.just(CLIENT),
                    sport=st.integers(1024, 65535).filter(lambda s: s != 4789),
                    dst=st.sampled_from(DESTS),
                    dport=st.sampled_from(PORTS))


def build(acl_list: list[Json], lb_list: list[Json], nat: Json | None, *,
          dsr_keeps_vip: bool = True,
          network_acls: list[Json] | None = None) -> tuple[Rig, World, str]:
    rig = Rig(HOST, dsr_keeps_vip=dsr_keeps_vip)
    net_acls = [{**a, "Id": f"net{i}", "RuleType": "Switch", "Priority": 105 + 10 * i}
                for i, a in enumerate(network_acls or [])]
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=VSID, policies=[{"Type": "RemoteSubnetRoute", "Settings": ROUTE},
                                           *({"Type": "NetworkACL", "Settings": a}
                                             for a in net_acls)])
    policies: list[Json] = []
    for i, a in enumerate(acl_list):
        policies.append({"Type": "ACL", "Settings": {**a, "Id": f"acl{i}", "RuleType": "Switch",
                                                     "Priority": 100 + 10 * i}})
    if nat is not None:
        policies.append({"Type": "OutBoundNAT", "Settings": nat})
    client = rig.endpoint(net, CLIENT, mac=mac_text(CLIENT), policies=policies)
    ids = {CLIENT: client}
    for ip in LOCALS:
        ids[ip] = rig.endpoint(net, ip, mac=mac_text(ip))
    for ip, pa in REMOTES.items():
        ids[ip] = rig.endpoint(net, ip, remote=True, mac=mac_text(ip), policies=[
            {"Type": "ProviderAddress", "Settings": {"ProviderAddress": pa}}])
    model_lbs = []
    for lb in lb_list:
        try:
            rig.load_balancer([ids[b] for b in lb["backends"]], vip=lb["vip"], proto=lb["proto"],
                              external=lb["ext"], internal=lb["int"],
                              flags=1 if lb["dsr"] else 0, distribution=lb["dist"])
        except HnsError:
            continue  # refused by HNS (e.g. the same VIP and port twice): not in the model
        model_lbs.append(model_lb(lb))
    model_acls = [p["Settings"] for p in policies if p["Type"] == "ACL"]
    world = World(HOST, VSID, model_acls, model_lbs, nat, dict(REMOTES), [ROUTE],
                  own_subnets=["10.244.1.0/24"], dsr_keeps_vip=dsr_keeps_vip,
                  network_acls=net_acls)
    return rig, world, client


def model_lb(lb: Json) -> Json:
    """The reference model's form of a generated load balancer."""
    return {"vips": [lb["vip"]] if lb["vip"] else [], "proto": lb["proto"],
            "ext": lb["ext"], "int": lb["int"], "backends": lb["backends"], "dsr": lb["dsr"]}


def ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def observe(out: bytes, vxlan_port: int) -> tuple[str, str, int, tuple[str, int] | None, bytes]:
    """(src, dst, dport, (outer dst, VNI) or None, inner frame) of a frame leaving a port."""
    f = decode(out)
    encap = None
    if f.l4 is not None and getattr(f.l4, "dport", None) == vxlan_port and len(out) > 50:
        encap = (ip(f.ip.dst), int.from_bytes(out[46:49], "big"))
        out = out[50:]
        f = decode(out)
    return ip(f.ip.src), ip(f.ip.dst), f.l4.dport, encap, out


def check_outbound(rig: Rig, client: str, world: World, p: Packet) -> None:
    want: Outcome = outbound(world, p)
    port = rig.port(client)
    got = vfp.process(port, frame(p.src, p.dst, proto=p.proto, sport=p.sport, dport=p.dport),
                      vfp.OUT)
    assert got.allowed == want.allowed, (p, got.reason)
    if not want.allowed:
        return
    assert got.output is not None
    src, dst, dport, encap, _ = observe(got.output, rig.switch.vxlan_port)
    assert (dst, dport, src, encap) in want.results, (p, (dst, dport, src, encap), want)
    if encap is not None:
        return
    # the reply comes back to the container with the addresses it sent to
    sport = int.from_bytes(got.output[34:36], "big")
    back = vfp.process(port, frame(dst, src, proto=p.proto, sport=dport, dport=sport), vfp.IN)
    assert back.allowed, (p, back.reason)
    b_src, b_dst, b_dport, _, _ = observe(back.output or b"", rig.switch.vxlan_port)
    assert (b_src, b_dst, b_dport) == (p.dst, p.src, p.sport)


def aimed_at_acl(data: st.DataObject, acl: Json) -> Packet | None:
    """An outbound packet that the ACL's addresses and ports select (its protocol drawn
    freely), or None when no generated destination is in its RemoteAddresses: random
    packets alone rarely meet a given ACL, so its protocol list would go untested."""
    dsts = [d for d in DESTS if _in(d, acl.get("RemoteAddresses"))]
    ports = [p for p in PORTS if _port_in(p, acl.get("RemotePorts"))]
    if not dsts or not ports:
        return None
    local = acl.get("LocalPorts")
    sport = data.draw(st.integers(1024, 65535).filter(lambda s: s != 4789))
    if local:
        lo, _, hi = data.draw(st.sampled_from(str(local).split(","))).partition("-")
        sport = data.draw(st.integers(int(lo), int(hi or lo)))
    return Packet(data.draw(st.sampled_from([6, 17])), CLIENT, sport,
                  data.draw(st.sampled_from(dsts)), data.draw(st.sampled_from(ports)))


def packet_for(data: st.DataObject, lb_list: list[Json],
               acl_list: list[Json] | None = None) -> Packet:
    """A packet aimed at one of the outbound ACLs, or at one of the load balancers, or any
    packet."""
    outbound_acls = [a for a in acl_list or [] if a["Direction"] == "Out"]
    if outbound_acls and data.draw(st.booleans()):
        got = aimed_at_acl(data, data.draw(st.sampled_from(outbound_acls)))
        if got is not None:
            return got
    if lb_list and data.draw(st.booleans()):
        lb = data.draw(st.sampled_from(lb_list))
        sport = data.draw(st.integers(1024, 65535).filter(lambda s: s != 4789))
        return Packet(lb["proto"], CLIENT, sport, lb["vip"] or HOST, lb["ext"] or lb["int"])
    return data.draw(packets)


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(acl_list=acls, net_acls=acls, lb_list=lbs, nat=onat, keep=st.booleans(),
       data=st.data())
def test_compiled_outbound_path_agrees_with_reference_model(
        acl_list: list[Json], net_acls: list[Json], lb_list: list[Json], nat: Json | None,
        keep: bool, data: st.DataObject) -> None:
    rig, world, client = build(acl_list, lb_list, nat, dsr_keeps_vip=keep,
                               network_acls=net_acls)
    check_outbound(rig, client, world, packet_for(data, lb_list, [*acl_list, *net_acls]))


@SETTINGS
@given(acl_list=acls, net_acls=acls, src=st.sampled_from(DESTS), proto=st.sampled_from([6, 17]),
       sport=st.sampled_from(PORTS), dport=st.sampled_from([*PORTS, 20000]))
def test_compiled_inbound_acl_agrees_with_reference_model(
        acl_list: list[Json], net_acls: list[Json], src: str, proto: int, sport: int,
        dport: int) -> None:
    rig, world, client = build(acl_list, [], None, network_acls=net_acls)
    p = Packet(proto, src, sport, CLIENT, dport)
    got = vfp.process(rig.port(client), frame(src, CLIENT, proto=proto, sport=sport,
                                              dport=dport), vfp.IN)
    assert got.allowed == inbound_allowed(world, p)


@SETTINGS
@given(lb_list=lbs, nat=onat, later=lbs, data=st.data())
def test_incremental_changes_agree_with_a_fresh_compile(
        lb_list: list[Json], nat: Json | None, later: list[Json], data: st.DataObject) -> None:
    """Policy added after the fact compiles to what a fresh host compiles."""
    rig, world, client = build([], lb_list, nat)
    ids = {ep: rig.compiler.endpoint_for_ip(ep) for ep in [CLIENT, *LOCALS]}
    remote_ids = {ip_: key for key, obj in rig.compiler.view.endpoints.items()
                  for ip_ in REMOTES if obj.ipv4_text == ip_}
    for lb in later:
        backends = [ids.get(b) or remote_ids[b] for b in lb["backends"]]
        try:
            rig.load_balancer([b for b in backends if b], vip=lb["vip"], proto=lb["proto"],
                              external=lb["ext"], internal=lb["int"],
                              flags=1 if lb["dsr"] else 0)
        except HnsError:
            continue
        world.lbs.append(model_lb(lb))
    check_outbound(rig, client, world, packet_for(data, [*lb_list, *later]))


port_maps = st.lists(st.fixed_dictionaries({
    "Protocol": st.sampled_from([6, 17]), "InternalPort": st.sampled_from(PORTS),
    "ExternalPort": st.sampled_from([8000, 8443, 30080])}), max_size=2)
nodeports = st.lists(st.fixed_dictionaries({
    "vip": st.sampled_from([None, "10.96.0.10"]), "proto": st.sampled_from([6, 17]),
    "ext": st.sampled_from([8000, 30080, 30443]), "int": st.sampled_from(PORTS),
    "backends": st.lists(st.sampled_from([*LOCALS, CLIENT, *REMOTES]), min_size=1,
                         max_size=3, unique=True),
    "dsr": st.just(False), "dist": st.just(0)}), max_size=2)


@SETTINGS
@given(acl_list=acls, maps=port_maps, lb_list=nodeports, proto=st.sampled_from([6, 17]),
       dst=st.sampled_from([HOST, "10.96.0.10"]), dport=st.sampled_from([8000, 8443, 30080]))
def test_frames_from_outside_reach_the_published_endpoint(
        acl_list: list[Json], maps: list[Json], lb_list: list[Json], proto: int, dst: str,
        dport: int) -> None:
    """A frame from outside the host to (host address or VIP, port) is delivered to the
    endpoint the host asks the compiler for (owner_of), DNATed as the model says, subject
    to that endpoint's inbound ACLs; the reply leaves from the published address."""
    rig, world, client = build(acl_list, lb_list, None)
    accepted = []
    for pm in maps:
        try:
            rig.modify_endpoint_policies(client, [{"Type": "PortMapping", "Settings": pm}])
        except HnsError:
            continue
        accepted.append({**pm, "__ip": CLIENT})
    p = Packet(proto, "192.168.1.20", 5555, dst, dport)
    want = published(world, accepted, p, {CLIENT, *LOCALS})
    owner = rig.compiler.owner_of(proto, dst, dport)
    if not want:
        assert owner is None
        return
    assert owner is not None
    port = rig.port(owner)
    got = vfp.process(port, frame(p.src, dst, proto=proto, sport=p.sport, dport=dport), vfp.IN)
    delivered_ip = next(ip_ for ip_, _ in want if rig.compiler.endpoint_for_ip(ip_) == owner)
    inner = Packet(proto, p.src, p.sport, delivered_ip,
                   next(port_ for ip_, port_ in want if ip_ == delivered_ip))
    allowed = owner != client or inbound_allowed(world, inner)
    assert got.allowed == allowed
    if not allowed:
        return
    src, d_ip, d_port, _, _ = observe(got.output or b"", rig.switch.vxlan_port)
    assert (d_ip, d_port) in want
    assert src == p.src
    back = vfp.process(port, frame(d_ip, p.src, proto=proto, sport=d_port, dport=p.sport),
                       vfp.OUT)
    assert back.allowed
    b_src, b_dst, b_dport, _, _ = observe(back.output or b"", rig.switch.vxlan_port)
    assert (b_src, b_dst, b_dport) == (dst, p.src, p.sport)
