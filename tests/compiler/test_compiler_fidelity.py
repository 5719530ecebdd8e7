"""Fidelity round 2 (issue 14) in the compiled VFP rules: each test names its evidence
(docs/fidelity.md has the rows) and uses the bodies the clients really send."""

from __future__ import annotations

import ipaddress

from compiler_helpers import HOST_IP, IPPROTO_TCP, Rig, decode, frame

import vfp


def ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


# containernetworking/plugins pkg/hns/netconf_windows.go, ApiVersion 2:
# ApplyOutboundNatPolicy -> {"Type": "OutBoundNAT", "Settings": {"Exceptions": [...]}}
# ApplyLoopbackDSRPolicy -> {"Type": "OutBoundNAT", "Settings": {"Destinations": ["<pod IP>"]}}
def plugin_policies(pod_ip: str) -> list[dict[str, object]]:
    return [
        {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16", "10.96.0.0/12"]}},
        {"Type": "OutBoundNAT", "Settings": {"Destinations": [pod_ip]}},
    ]


# ---- item 13: OutBoundNAT with Destinations ------------------------------------------------

def test_loopback_dsr_snat_is_not_shadowed_by_the_other_exceptions() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=plugin_policies("10.244.1.5"))
    rig.load_balancer([ep], vip="10.96.0.10", external=80, internal=8080)
    port = rig.port(ep)
    # The pod reaches itself through its service: DNAT to itself, then SNAT, so that the
    # reply comes back through VFP rather than straight to the pod's own socket.
    r = vfp.process(port, frame("10.244.1.5", "10.96.0.10", proto=IPPROTO_TCP, dport=80,
                                syn=True), vfp.OUT)
    f = decode(r.output or b"")
    assert ip(f.ip.dst) == "10.244.1.5"
    assert f.l4.dport == 8080
    assert ip(f.ip.src) == HOST_IP
    # The exceptions still hold for every other pod of the cluster.
    other = vfp.process(port, frame("10.244.1.5", "10.244.1.9", proto=IPPROTO_TCP), vfp.OUT)
    assert ip(decode(other.output or b"").ip.src) == "10.244.1.5"


def test_destination_snat_rule_is_ahead_of_exceptions_in_the_listing() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=plugin_policies("10.244.1.5"))
    text = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/group",
                   "SLB_GROUP_NAT_IPv4_OUT", "/list-rule")
    # No implicit own-subnet exception for the destination-scoped policy.
    assert "ALLOW_NAT_EXCEPTION_10.244.1.5_1_" not in text
    blocks = text.split("RULE :")
    snat_dest = next(b for b in blocks if "SNAT_TCP_10.244.1.5_1" in b)
    exception = next(b for b in blocks if "ALLOW_NAT_EXCEPTION_10.244.1.5_10.244.0.0/16" in b)
    assert "Destination IP : 10.244.1.5" in snat_dest

    def priority(block: str) -> int:
        line = next(x for x in block.splitlines() if "Priority :" in x)
        return int(line.split(":")[1])

    assert priority(snat_dest) < priority(exception)
