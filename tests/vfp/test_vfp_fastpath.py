"""Fast path == slow path for every packet of a flow, on random policies and flows; bad
bytes never raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vfp_scenarios import POD_MAC, Clock, acl_port, ip

from vfp import (
    DEFAULT_ALLOW,
    IN,
    OUT,
    STATEFUL,
    TERMINATING,
    TRACK_TCP,
    Allow,
    Decap,
    DropReason,
    DynNat,
    Group,
    LbNat,
    MacRewrite,
    MapEncap,
    Mapping,
    Nat,
    NatRange,
    Port,
    RouteEncap,
    Rule,
    Switch,
    process,
)
from vfp.model import Layer
from vfp.pipeline import simulate
from vxlan.packet import TCP_ACK, Outer, build_frame

POD = ip("10.244.1.5")


def _policy_port(choice: dict[str, int]) -> Port:
    sw = Switch(clock=Clock())
    port = sw.add_port("p", mac=POD_MAC)
    sf = TERMINATING | STATEFUL
    if choice["acl"]:
        sf_acl = sf | (TRACK_TCP if choice["acl"] == 2 else 0)
        acl = port.add_layer(Layer("ACL", 15, stateful=True))
        acl.add_group(Group("OUT", 1, OUT)).add_rule(
            Rule("allow-out", 100, Allow(), flags=sf_acl))
        acl.add_group(Group("IN", 1, IN)).add_rule(Rule("allow-in", 100, Allow(), flags=sf_acl))
    nat_kind = choice["nat"]
    if nat_kind:
        lay = port.add_layer(Layer("SLB_NAT_LAYER", 50, stateful=True, flags=DEFAULT_ALLOW))
        g = lay.add_group(Group("SLB_GROUP_NAT_IPv4_OUT", 1, OUT))
        action: Nat | DynNat | LbNat
        if nat_kind == 1:
            action = Nat(ip("172.16.0.9"), 30000, snat=True)
        elif nat_kind == 2:
            port.add_nat_pool("POOL", [NatRange(ip("172.16.0.1"), 40000, 40100)])
            action = DynNat("POOL")
        else:
            action = LbNat(((ip("10.244.4.20"), 8080), (ip("10.244.4.21"), None)))
        g.add_rule(Rule("NAT", 10, action, flags=sf))
    if choice["mac"]:
        lay = port.add_layer(Layer("VNET_MAC_REWRITE_LAYER", 70, stateful=False,
                                   flags=DEFAULT_ALLOW))
        lay.add_group(Group("MAC_OUT", 1, OUT)).add_rule(
            Rule("MAC", 1, MacRewrite(src_mac=0x0E2A00000001)))
    encap = choice["encap"]
    if encap:
        lay = port.add_layer(Layer("VNET_ENCAP_LAYER", 100, stateful=False, flags=DEFAULT_ALLOW))
        g = lay.add_group(Group("ENCAP_OUT", 1, OUT))
        if encap == 1:
            g.add_rule(Rule("ROUTE", 1, RouteEncap(ip("192.168.1.10"), ip("192.168.1.20"), 4096,
                                                    inner_dst_mac=0x0E2A00000099)))
        else:
            port.add_space("SPACE")
            for last in range(32):
                port.add_mapping("SPACE", Mapping(ca=ip(f"10.244.4.{last}"),
                                                  pa=ip(f"192.168.1.{last}"),
                                                  mac=0x0E2A00000000 + last, vni=4097))
            g.add_rule(Rule("MAP", 1, MapEncap("SPACE", ip("192.168.1.10"))))
        lay.add_group(Group("DECAP_IN", 1, IN)).add_rule(Rule("DECAP", 1, Decap()))
    return port


policies = st.fixed_dictionaries({
    "acl": st.integers(0, 2), "nat": st.integers(0, 3), "mac": st.integers(0, 1),
    "encap": st.integers(0, 2),
})
flows = st.tuples(
    st.sampled_from([6, 17, 1]),
    st.integers(1, 65535),
    st.integers(0, 31),
    st.sampled_from([80, 443, 53]),
)


@settings(max_examples=60, deadline=None)
@given(policy=policies, flow=flows,
       payloads=st.lists(st.binary(max_size=40), min_size=1, max_size=6),
       inbound_encap=st.booleans())
def test_fast_path_equals_slow_path_for_every_packet_of_a_flow(
    policy: dict[str, int], flow: tuple[int, int, int, int], payloads: list[bytes],
    inbound_encap: bool,
) -> None:
    port = _policy_port(policy)
    proto, sport, last, dport = flow
    remote = ip(f"10.244.4.{last}")
    fast_seen = 0
    for payload in payloads:
        f = build_frame(proto, POD, sport, remote, dport, src_mac=POD_MAC, payload=payload,
                        tcp_flags=TCP_ACK)
        expected = simulate(port, f, OUT, commit=False)
        got = process(port, f, OUT)
        assert got.allowed == expected.allowed
        assert got.output == expected.output
        assert got.reason == expected.reason
        fast_seen += got.fast
    if len(payloads) > 1:
        assert fast_seen == len(payloads) - 1
    # the reply direction, possibly encapsulated
    for payload in payloads:
        outer = Outer(1, 2, ip("192.168.1.20"), ip("192.168.1.10"), 6000, 4096)
        f = build_frame(proto, remote, dport, POD, sport, payload=payload,
                        outer=outer if inbound_encap else None)
        expected = simulate(port, f, IN, commit=False)
        got = process(port, f, IN)
        assert (got.allowed, got.output, got.reason) == (
            expected.allowed, expected.output, expected.reason)


def _valid_frames() -> list[bytes]:
    outer = Outer(1, 2, ip("192.168.1.20"), ip("192.168.1.10"), 6000, 4096)
    return [
        build_frame(6, POD, 1000, ip("10.244.4.7"), 80, payload=b"abc"),
        build_frame(17, POD, 1000, ip("10.244.4.7"), 53, payload=b"q"),
        build_frame(1, POD, 0, ip("10.244.4.7"), 0),
        build_frame(6, ip("10.244.4.7"), 80, POD, 1000, outer=outer),
        build_frame(58, 1, 0, 2, 0, version=6),
    ]


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from(_valid_frames()), st.integers(0, 200), st.integers(0, 255),
                  st.integers(0, 120)).map(
            lambda t: (t[0][: t[1] % (len(t[0]) + 1)] if t[3] < 40 else t[0][:])
            if t[3] % 2 else t[0][: t[1] % len(t[0])] + bytes([t[2]]) + t[0][t[1] % len(t[0]) + 1:]
        ),
    ),
    direction=st.sampled_from([IN, OUT]),
)
def test_random_and_mutated_frames_never_raise_and_drops_are_counted(
    data: bytes, direction: str
) -> None:
    _, port = acl_port()
    before = sum(port.drops[direction].values())
    r = process(port, data, direction)
    after = sum(port.drops[direction].values())
    if r.allowed:
        assert r.output is not None
        assert after == before
    else:
        assert isinstance(r.reason, DropReason)
        assert after == before + 1


def test_truncated_and_bad_checksum_frames_get_their_reasons() -> None:
    _, port = acl_port()
    good = _valid_frames()[0]
    assert process(port, good[:20], OUT).reason is DropReason.TRUNCATED
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF
    assert process(port, bytes(corrupt), OUT).reason is DropReason.BAD_CHECKSUM
    unknown = good[:12] + b"\x88\xb5" + good[14:]
    assert process(port, unknown, OUT).reason is DropReason.UNKNOWN_ETHERTYPE
    assert port.drops[OUT][DropReason.TRUNCATED] == 1
