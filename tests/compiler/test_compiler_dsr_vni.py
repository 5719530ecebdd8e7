"""A DSR load balancer keeping the VIP encapsulates to a remote backend with the VNI of
the backend's network (its VSID), not the default 4096, from this host's provider
address."""

from __future__ import annotations

import ipaddress

from compiler_helpers import Rig, mac_text


def test_dsr_to_a_remote_backend_uses_the_network_vsid() -> None:
    rig = Rig("172.16.0.4", dsr_keeps_vip=True)
    net = rig.network("ov", type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1",
                      vsid=5001)
    client = rig.endpoint(net, "10.244.1.5", mac=mac_text("10.244.1.5"))
    remote = rig.endpoint(net, "10.244.2.20", remote=True, mac=mac_text("10.244.2.20"),
                          policies=[{"Type": "ProviderAddress",
                                     "Settings": {"ProviderAddress": "172.16.0.5"}}])
    rig.load_balancer([remote], vip="10.96.0.30", proto=17, external=53, internal=5353,
                      flags=1)
    rules = [r for g in rig.port(client).get_layer("LB_DSR").groups.values()
             for r in g.rules.values()]
    (rule,) = rules
    encap = rule.action.encap  # type: ignore[attr-defined]
    assert [vni for _pa, _mac, vni in encap] == [5001]
    # the outer source is this host's provider address
    assert rule.action.src_pa == int(ipaddress.IPv4Address("172.16.0.4"))  # type: ignore[attr-defined]
