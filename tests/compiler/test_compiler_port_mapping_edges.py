"""PortMapping policies without a usable InternalPort (left out, or 0: what hcsshim's
omitempty uint16 leaves out) or with an IPv6 VIP (the NAT rules are IPv4) program
nothing, and the endpoint's other port mappings are programmed all the same."""

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
