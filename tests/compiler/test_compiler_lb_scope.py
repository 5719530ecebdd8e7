"""A load balancer scoped to one network (``HostComputeNetwork``) programs its client-side
rules on the ports of that network only; an unscoped one on every port."""

from __future__ import annotations

import json
import uuid

from compiler_helpers import Rig


def _lb_rules(rig: Rig, ep: str) -> list[str]:
    return [r.name for g in rig.port(ep).get_layer("SLB_LB_LAYER").groups.values()
            for r in g.rules.values()]


def test_a_scoped_load_balancer_programs_only_its_network() -> None:
    rig = Rig()
    net_a = rig.network("a", prefix="10.0.0.0/24", gateway="10.0.0.1")
    net_b = rig.network("b", prefix="10.1.0.0/24", gateway="10.1.0.1")
    a1, a2 = rig.endpoint(net_a, "10.0.0.5"), rig.endpoint(net_a, "10.0.0.6")
    b1 = rig.endpoint(net_b, "10.1.0.5")
    body = {"HostComputeEndpoints": [a2], "HostComputeNetwork": net_a,
            "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
            "FrontendVIPs": ["10.96.0.10"], "SchemaVersion": {"Major": 2, "Minor": 0}}
    rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(body))
    assert len(_lb_rules(rig, a1)) == 1
    assert _lb_rules(rig, b1) == []
    rig.load_balancer([a2], vip="10.96.0.11")  # unscoped: every port
    assert len(_lb_rules(rig, a1)) == 2
    assert len(_lb_rules(rig, b1)) == 1
