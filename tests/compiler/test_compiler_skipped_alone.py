"""Policies the compiler cannot use program nothing, and the ones next to them are
programmed all the same: PortMappings without a usable InternalPort (left out, or 0: what
hcsshim's omitempty uint16 leaves out) or with an IPv6 VIP (the NAT rules are IPv4), SDN
routes that need encap (the default path), RemoteSubnetRoutes without a provider
address, and an IPv4 load balancer whose only VIP is IPv6 (no NodePort on the host
address either)."""

from __future__ import annotations

import pytest
from compiler_helpers import Rig


@pytest.mark.parametrize("first", [
    {"InternalPort": 0, "ExternalPort": 8080, "Protocol": 6},
    {"ExternalPort": 8081, "Protocol": 6},
    {"InternalPort": 81, "ExternalPort": 8082, "Protocol": 6, "VIP": "fd00::4"},
])
def test_an_unusable_mapping_is_skipped_alone(first: dict[str, object]) -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", policies=[
        {"Type": "PortMapping", "Settings": first},
        {"Type": "PortMapping", "Settings": {"InternalPort": 80, "ExternalPort": 8090,
                                             "Protocol": 6}}])
    group = rig.port(ep).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_IN")
    assert sorted(r.name for r in group.rules.values()) == ["NAT_PORTMAP_TCP_172.16.0.4_8090"]


def test_a_route_that_needs_encap_adds_nothing_and_the_next_route_still_does() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    ep = rig.endpoint(net, "10.244.1.5", policies=[
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.50.0.0/16",
                                          "NeedEncap": True}},
        {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.96.0.0/12",
                                          "NeedEncap": False}}])
    group = rig.port(ep).get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    names = sorted(r.name for r in group.rules.values() if r.name.startswith("SDN_ROUTE"))
    assert names == ["SDN_ROUTE_SDNROUTE_10.96.0.0/12"]


def test_a_remote_subnet_route_without_provider_address_is_skipped_alone() -> None:
    rig = Rig()
    routes = [{"DestinationPrefix": "10.244.8.0/24", "IsolationId": 4096},
              {"DestinationPrefix": "10.244.9.0/24", "IsolationId": 4096,
               "ProviderAddress": "172.16.0.9"}]
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096, policies=[{"Type": "RemoteSubnetRoute", "Settings": r}
                                           for r in routes])
    ep = rig.endpoint(net, "10.244.1.5")
    group = rig.port(ep).get_layer("VNET_ENCAP_LAYER").get_group("VNET_GROUP_ENCAP_IPV4_OUT")
    names = sorted(r.name for r in group.rules.values() if r.name.startswith("REMOTESUBNET"))
    assert names == ["REMOTESUBNETROUTE_10.244.9.0/24"]


def test_an_ipv4_load_balancer_with_only_an_ipv6_vip_programs_nothing() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5")
    rig.load_balancer([ep], vip="fd00::10", flags=0)
    port = rig.port(ep)
    rules = [r.name for layer in ("SLB_LB_LAYER", "SLB_NAT_LAYER")
             for g in port.get_layer(layer).groups.values() for r in g.rules.values()]
    assert rules == []
