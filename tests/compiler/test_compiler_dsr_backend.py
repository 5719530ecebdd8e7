"""A local backend of an IPv4 DSR load balancer gets, on its own port, the ALLOW_NAT_
rule that lets its answers from the service port leave un-SNATed (networkhealth.ps1,
DSRLoadBalancerPolicyVfpRules, checks it); a non-DSR load balancer's backend does not."""

from __future__ import annotations

import pytest
from compiler_helpers import Rig


@pytest.mark.parametrize(("flags", "wanted"), [(1, 1), (0, 0)])
def test_only_a_dsr_backend_gets_the_allow_nat_rule(flags: int, wanted: int) -> None:
    rig = Rig()
    net = rig.network()
    backend = rig.endpoint(net, "10.0.0.9")
    rig.load_balancer([backend], vip="10.96.0.10", flags=flags)
    group = rig.port(backend).get_layer("SLB_NAT_LAYER").get_group("SLB_GROUP_NAT_IPv4_OUT")
    allow = [r.name for r in group.rules.values()
             if r.name.startswith("ALLOW_NAT_") and "EXCEPTION" not in r.name]
    assert len(allow) == wanted
