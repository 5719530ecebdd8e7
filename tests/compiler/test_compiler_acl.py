"""ACL policies -> ACL_ENDPOINT_LAYER: names, groups, priorities, conditions, stateful allow,
default-deny as soon as one Switch ACL exists, RuleType Host recorded only."""

from __future__ import annotations

from compiler_helpers import IPPROTO_TCP, IPPROTO_UDP, Rig, frame

import vfp


def acl(**settings: object) -> dict[str, object]:
    return {"Type": "ACL", "Settings": {"RuleType": "Switch", **settings}}


def test_acl_listing_matches_real_host_shape() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        acl(Id="allow-host-to-endpoint", Action="Allow", Direction="In", Priority=900,
            Protocols="256", RemoteAddresses="10.156.233.218/32"),
    ])
    text = rig.ctl("/port", ep, "/layer", "ACL_ENDPOINT_LAYER", "/list-rule")
    assert "  GROUP : ACL_ENDPOINT_GROUP_IPV4_IN\r\n" in text
    block = text.split("Friendly name : allow-host-to-endpoint")[1].split("FlagsEx")[0]
    assert "Priority : 900" in block
    assert "Flags : 8195 terminating stateful" in block
    assert "Type : allow" in block
    assert "Source IP : 10.156.233.218" in block
    assert "Protocols" not in block  # 256 = any
    assert "Flow TTL: 240" in block
    layers = rig.ctl("/port", ep, "/list-layer")
    acl_block = layers.split("LAYER : ACL_ENDPOINT_LAYER")[1].split("LAYER :")[0]
    assert "Priority : 15" in acl_block
    assert "Default Allow" not in acl_block  # default-deny once an ACL exists


def test_acl_out_direction_maps_local_to_source_and_remote_to_destination() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        acl(Id="out-dns", Action="Allow", Direction="Out", Priority=100, Protocols="17",
            RemoteAddresses="10.96.0.10", RemotePorts="53", LocalPorts="1000-2000"),
    ])
    text = rig.ctl("/port", ep, "/layer", "ACL_ENDPOINT_LAYER", "/group",
                   "ACL_ENDPOINT_GROUP_IPV4_OUT", "/list-rule")
    assert "Protocols : 17" in text
    assert "Destination IP : 10.96.0.10" in text
    assert "Destination ports : 53" in text
    assert "Source ports : 1000-2000" in text


def test_acl_ipv6_addresses_go_to_ipv6_group() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        acl(Id="v6", Action="Block", Direction="In", Priority=10, RemoteAddresses="fd00::/64"),
    ])
    port = rig.port(ep)
    layer = port.get_layer("ACL_ENDPOINT_LAYER")
    assert [r.name for r in layer.get_group("ACL_ENDPOINT_GROUP_IPV6_IN").rules.values()] == ["v6"]
    assert layer.get_group("ACL_ENDPOINT_GROUP_IPV4_IN").rules == {}


def test_acl_default_deny_blocks_unmatched_and_lower_priority_wins() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        acl(Id="block-in", Action="Block", Direction="In", Priority=65500, Protocols="256"),
        acl(Id="allow-web", Action="Allow", Direction="In", Priority=1000, Protocols="6",
            LocalPorts="80"),
        acl(Id="deny-bad", Action="Block", Direction="In", Priority=500,
            RemoteAddresses="10.0.0.66"),
    ])
    port = rig.port(ep)
    web = vfp.process(port, frame("10.0.0.9", "10.0.0.5", dport=80), vfp.IN)
    assert web.allowed
    bad = vfp.process(port, frame("10.0.0.66", "10.0.0.5", dport=80), vfp.IN)
    assert not bad.allowed
    other = vfp.process(port, frame("10.0.0.9", "10.0.0.5", dport=22), vfp.IN)
    assert not other.allowed
    out = vfp.process(port, frame("10.0.0.5", "8.8.8.8", proto=IPPROTO_UDP, dport=53), vfp.OUT)
    assert not out.allowed
    assert out.reason is not None


def test_acl_allow_is_stateful_so_replies_pass_default_deny() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        acl(Id="out-any", Action="Allow", Direction="Out", Priority=100),
    ])
    port = rig.port(ep)
    assert vfp.process(port, frame("10.0.0.5", "10.0.0.9", sport=1234, dport=80), vfp.OUT).allowed
    reply = vfp.process(port, frame("10.0.0.9", "10.0.0.5", sport=80, dport=1234), vfp.IN)
    assert reply.allowed
    unsolicited = vfp.process(port, frame("10.0.0.9", "10.0.0.5", sport=80, dport=999), vfp.IN)
    assert not unsolicited.allowed


def test_host_acl_recorded_not_programmed() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        {"Type": "ACL", "Settings": {"Id": "wfp", "Action": "Block", "Direction": "In",
                                     "RuleType": "Host", "Priority": 1}},
    ])
    port = rig.port(ep)
    assert port.get_layer("ACL_ENDPOINT_LAYER").default_allow
    assert all(not g.rules for g in port.get_layer("ACL_ENDPOINT_LAYER").groups.values())
    assert [a["Id"] for a in rig.compiler.host_acls(ep)] == ["wfp"]
    assert vfp.process(port, frame("10.0.0.9", "10.0.0.5"), vfp.IN).allowed


def test_removing_last_acl_restores_default_allow() -> None:
    rig = Rig()
    net = rig.network()
    policy = acl(Id="x", Action="Allow", Direction="In", Priority=100, Protocols="6")
    ep = rig.endpoint(net, "10.0.0.5", policies=[policy])
    port = rig.port(ep)
    assert not vfp.process(port, frame("10.0.0.9", "10.0.0.5", proto=IPPROTO_UDP), vfp.IN).allowed
    rig.modify_endpoint_policies(ep, [policy], request="Remove")
    assert port.get_layer("ACL_ENDPOINT_LAYER").default_allow
    assert vfp.process(port, frame("10.0.0.9", "10.0.0.5", proto=IPPROTO_UDP), vfp.IN).allowed
    assert vfp.process(port, frame("10.0.0.9", "10.0.0.5", proto=IPPROTO_TCP), vfp.IN).allowed


def test_network_acl_goes_to_network_groups_after_endpoint_acls() -> None:
    rig = Rig()
    net = rig.network(policies=[{"Type": "NetworkACL", "Settings": {
        "Id": "net-block-22", "Action": "Block", "Direction": "In", "Priority": 100,
        "Protocols": "6", "LocalPorts": "22"}}, {"Type": "NetworkACL", "Settings": {
        "Id": "net-allow", "Action": "Allow", "Direction": "In", "Priority": 65000}}])
    plain = rig.endpoint(net, "10.0.0.5")
    opened = rig.endpoint(net, "10.0.0.6", policies=[
        acl(Id="ep-ssh", Action="Allow", Direction="In", Priority=500, Protocols="6",
            LocalPorts="22")])
    text = rig.ctl("/port", plain, "/layer", "ACL_ENDPOINT_LAYER", "/list-group")
    assert "GROUP : ACL_NETWORK_GROUP_IPV4_IN" in text
    layer = rig.port(plain).get_layer("ACL_ENDPOINT_LAYER")
    assert not layer.default_allow
    assert [r.name for r in layer.get_group("ACL_NETWORK_GROUP_IPV4_IN").rules.values()] == \
        ["net-block-22", "net-allow"]
    assert not vfp.process(rig.port(plain), frame("10.0.0.9", "10.0.0.5", dport=22),
                           vfp.IN).allowed
    assert vfp.process(rig.port(plain), frame("10.0.0.9", "10.0.0.5", dport=80), vfp.IN).allowed
    assert vfp.process(rig.port(opened), frame("10.0.0.9", "10.0.0.6", dport=22),
                       vfp.IN).allowed


def test_default_deny_stays_while_network_acl_remains() -> None:
    rig = Rig()
    net = rig.network(policies=[{"Type": "NetworkACL", "Settings": {
        "Id": "net-allow-web", "Action": "Allow", "Direction": "In", "Priority": 100,
        "Protocols": "6", "LocalPorts": "80"}}])
    policy = acl(Id="x", Action="Allow", Direction="In", Priority=100, Protocols="17")
    ep = rig.endpoint(net, "10.0.0.5", policies=[policy])
    rig.modify_endpoint_policies(ep, [policy], request="Remove")
    port = rig.port(ep)
    assert not port.get_layer("ACL_ENDPOINT_LAYER").default_allow
    assert not vfp.process(port, frame("10.0.0.9", "10.0.0.5", proto=IPPROTO_UDP), vfp.IN).allowed


def test_v1_endpoint_policies_compile_like_v2() -> None:
    """V1 (hcsshim hns) ACL with a numeric Protocol and OutBoundNAT with ExceptionList."""
    import json

    rig = Rig()
    net = rig.service.hns_call("POST", "/networks", json.dumps({
        "Name": "l2", "Type": "L2Bridge",
        "Subnets": [{"AddressPrefix": "10.244.1.0/24", "GatewayAddress": "10.244.1.1"}]}))
    ep = rig.service.hns_call("POST", "/endpoints", json.dumps({
        "Name": "v1", "VirtualNetwork": net["ID"], "IPAddress": "10.244.1.5",
        "Policies": [
            {"Type": "ACL", "Id": "v1-allow-web", "Protocol": 6, "Action": "Allow",
             "Direction": "In", "LocalPorts": "80", "Priority": 200, "RuleType": "Switch"},
            {"Type": "OutBoundNAT", "ExceptionList": ["10.244.0.0/16"]}]}))
    port = rig.port(ep["ID"])
    (rule,) = port.get_layer("ACL_ENDPOINT_LAYER").get_group(
        "ACL_ENDPOINT_GROUP_IPV4_IN").rules.values()
    assert rule.name == "v1-allow-web"
    assert rule.conditions.protocols == (6,)
    assert "ALLOW_NAT_EXCEPTION_10.244.1.5_10.244.0.0/16" in port.get_layer(
        "SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_OUT").rules
    assert vfp.process(port, frame("10.0.0.9", "10.244.1.5", dport=80), vfp.IN).allowed
    assert not vfp.process(port, frame("10.0.0.9", "10.244.1.5", dport=81), vfp.IN).allowed


def test_ipv6_frames_get_the_endpoint_mac_and_ipv6_acls() -> None:
    import ipaddress as ipa

    from vxlan.frame import Frame, encode_frame
    from vxlan.headers import UDP, Ethernet, IPv6

    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", mac="00-15-5D-AA-BB-CC", policies=[
        acl(Id="v6-dns", Action="Allow", Direction="In", Priority=10, Protocols="17",
            LocalPorts="53", RemoteAddresses="fd00::/64")])

    def v6(src: str, dport: int) -> bytes:
        return encode_frame(Frame(
            Ethernet(bytes.fromhex("00155D0000FE"), bytes.fromhex("00155D000001"), 0x86DD),
            ip=IPv6(int(ipa.IPv6Address(src)), int(ipa.IPv6Address("fd00::5")), 17),
            l4=UDP(5000, dport), payload=b"q"))

    port = rig.port(ep)
    ok = vfp.process(port, v6("fd00::9", 53), vfp.IN)
    assert ok.allowed
    assert (ok.output or b"")[:6] == bytes.fromhex("00155DAABBCC")
    assert not vfp.process(port, v6("fd00::9", 54), vfp.IN).allowed
    assert not vfp.process(port, v6("fd01::9", 53), vfp.IN).allowed
