"""IPv6 prefixes in the IPv4-only parts of the compiler: an OutBoundNAT exception or an
SDN route for an IPv6 prefix (dual-stack clusters list both families) adds no rule to
the IPv4 NAT or encap groups, and the IPv4 prefixes next to it still do."""

from __future__ import annotations

from compiler_helpers import Rig


def test_ipv6_outbound_nat_exceptions_add_no_ipv4_rule() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=[{"Type": "OutBoundNAT", "Settings": {
        "Exceptions": ["fd00:10:244::/56", "10.96.0.0/12"]}}])
    group = rig.port(ep).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_OUT")
    names = sorted(r.name for r in group.rules.values() if "EXCEPTION" in r.name)
    assert names == ["ALLOW_NAT_EXCEPTION_10.244.1.5_10.244.1.0/24",
                     "ALLOW_NAT_EXCEPTION_10.244.1.5_10.96.0.0/12"]


def test_ipv6_sdn_routes_add_no_ipv4_encap_bypass() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    ep = rig.endpoint(net, "10.244.1.5", policies=[
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "fd00:10:96::/108",
                                          "NeedEncap": False}},
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.96.0.0/12",
                                          "NeedEncap": False}}])
    group = rig.port(ep).get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    names = sorted(r.name for r in group.rules.values() if r.name.startswith("SDN_ROUTE"))
    assert names == ["SDN_ROUTE_SDNROUTE_10.96.0.0/12"]


def test_an_ipv6_outbound_nat_leaves_the_next_outbound_nat_in_place() -> None:
    """An OutBoundNAT whose VirtualIP is IPv6 gives no IPv4 SNAT; the endpoint's next
    OutBoundNAT policy (the host address) still does."""
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=[
        {"Type": "OutBoundNAT", "Settings": {"VirtualIP": "fd00::4"}},
        {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.96.0.0/12"]}}])
    group = rig.port(ep).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_OUT")
    names = sorted(r.name for r in group.rules.values() if r.name.startswith("SNAT_"))
    assert names == ["SNAT_ICMP_10.244.1.5_1", "SNAT_TCP_10.244.1.5_1", "SNAT_UDP_10.244.1.5_1"]
