"""calico-acls: Calico for Windows endpoint ACLs (HNS V1) and the default-deny they bring.

The calls (fixtures/scenarios/calico-acls/scenario.json): calico-node's VXLAN network; the
Calico CNI plugin's pod endpoints, each with OutBoundNAT, ROUTE (NeedEncap), PA and the
base ``ACL Block In`` at Priority 65500 (the policy set of a real Calico endpoint); then
Felix's endpoint manager applying rendered rules with hcsshim's ApplyACLPolicy (a V1
``POST /endpoints/<id>`` carrying only the ID and the ACLs): ``allow-host-to-endpoint`` at
900 (RemoteAddresses = the node's IP) and policy rules from Priority 1000.

The traffic, every packet traced through ACL_ENDPOINT_LAYER:
phase 1 (CNI only): the 65500 block drops a pod's inbound traffic, and with any ACL on the
endpoint outbound traffic no rule allows is dropped too (default-deny);
phase 2 (Felix): the host reaches the pod by the 900 rule, the frontend pod reaches port 80
by the 1000 rule and the pod's SYN-ACK goes back out on the flow that rule created, while
port 443 from the frontend and DNS to anything but the allowed server stay default-denied;
across nodes (felix's vxlan_mgr RemoteSubnetRoutes), a pod of node B reaches p1's port 8080
by a rule for node B's block, and p1's ACLs still drop its port-80 SYN after the decap.
"""

from __future__ import annotations

from collections.abc import Callable

from hns.hosts import InjectResult
from hns.scenarios.base import Run, Seen, mac_bytes, tcp_frame, udp_frame

NAME = "calico-acls"
SUMMARY = ("Calico endpoint ACLs (V1): Block In 65500, allows from 1000, host allow 900, "
           "default-deny")

ACL_LAYER = "ACL_ENDPOINT_LAYER"


def _acl_steps(result: InjectResult, port_id: str, direction: str) -> list[tuple[bool, str]]:
    """(allowed, what decided) of the ACL layer on one port, from the traces."""
    out = []
    wanted = port_id.upper()
    for hop in result.hops:
        t = hop.trace
        # The port has its own GUID; the scenario names it by its endpoint.
        ids = (hop.port_id.upper(), (hop.endpoint_id or "").upper())
        if t is None or wanted not in ids or t.direction != direction:
            continue
        for step in t.steps:
            if step.layer.name != ACL_LAYER:
                continue
            if step.decided_by == "rule" and step.rule is not None:
                what = f"rule {step.rule.name or step.rule.id} priority {step.rule.priority}"
            else:
                what = step.decided_by
            out.append((step.allowed, what))
    return out


def _expect(run: Run, result: InjectResult, port_id: str, direction: str, *, allowed: bool,
            by: str | None, what: str) -> None:
    steps = _acl_steps(result, port_id, direction)
    run.check(bool(steps), f"{what}: the {direction} trace of the port passes {ACL_LAYER}")
    ok, decided = steps[0]
    verdict = "allowed" if ok else "dropped"
    run.check(ok == allowed and (by is None or by in decided),
              f"{what}: {verdict} in {ACL_LAYER} by {decided}")
    delivered = result.where == "endpoint" or (direction == "OUT" and result.where != "dropped")
    why = f" {result.reason}" if result.reason else ""
    run.check(delivered == allowed,
              f"{what}: frame {'delivered' if delivered else 'dropped'} ({result.where}{why})")


def play(run: Run, *, pcap: str | None, before_traffic: Callable[[Run], None] | None) -> None:
    run.section("HNS calls (calico-node, felix vxlan_mgr, Calico CNI; HNS V1 and V2)")
    run.build_cluster(pcap=pcap)
    run.run_calls()
    v = run.vars
    host = run.hosts["A"]
    p1, p2 = str(v["EP_P1"]), str(v["EP_P2"])
    p1_mac, p2_mac = mac_bytes(v["P1_MAC"]), mac_bytes(v["P2_MAC"])
    host_ip = str(v["MGMT_A"])

    run.section("phase 1: only the CNI's base ACL (Block In, Priority 65500)")
    r = run.send("A", "EP_P2", tcp_frame(p2_mac, p1_mac, v["P2_IP"], v["P1_IP"], 50000, 80),
                 "p2 -> p1 tcp/80 SYN")
    _expect(run, r, p2, "OUT", allowed=False, by="default",
            what="p2's own outbound (no Out allow yet: default-deny)")
    r = run.inject_in("A", "EP_P1", tcp_frame(p2_mac, p1_mac, v["P2_IP"], v["P1_IP"], 50001, 80),
                      "p2's SYN arriving at p1's port")
    _expect(run, r, p1, "IN", allowed=False, by="65500", what="inbound to p1")

    run.section("phase 2: Felix applies the rendered policy (ApplyACLPolicy)")
    run.run_calls(phase="felix")
    if before_traffic is not None:
        before_traffic(run)
    run.vfpctrl("A", "EP_P1", "/list-rule", "/layer", ACL_LAYER)

    r = run.inject_in("A", "EP_P1", tcp_frame(b"\x00\x15\x5d\x00\x00\x01", p1_mac, host_ip,
                                              v["P1_IP"], 51000, 22),
                      "node A (host) -> p1 tcp/22")
    _expect(run, r, p1, "IN", allowed=True, by="allow-host-to-endpoint priority 900",
            what="host to p1")

    r = run.send("A", "EP_P2", tcp_frame(p2_mac, p1_mac, v["P2_IP"], v["P1_IP"], 52000, 80),
                 "p2 -> p1 tcp/80 SYN")
    _expect(run, r, p2, "OUT", allowed=True, by="1000", what="p2's egress (profile allow-all)")
    _expect(run, r, p1, "IN", allowed=True, by="allow-frontend-0-0- priority 1000",
            what="p2 to p1 port 80")

    r = run.send("A", "EP_P1", tcp_frame(p1_mac, p2_mac, v["P1_IP"], v["P2_IP"], 80, 52000,
                                         flags=0x12), "p1 -> p2 tcp SYN-ACK (the answer)")
    _expect(run, r, p1, "OUT", allowed=True, by="flow",
            what="p1's answer (no Out rule for it: the stateful allow's flow)")

    r = run.send("A", "EP_P2", tcp_frame(p2_mac, p1_mac, v["P2_IP"], v["P1_IP"], 52001, 443),
                 "p2 -> p1 tcp/443 SYN")
    steps = _acl_steps(r, p1, "IN")
    run.check(bool(steps) and not steps[0][0],
              f"p2 to p1 port 443: dropped in {ACL_LAYER} "
              f"({steps[0][1] if steps else 'no ACL step'})")
    run.check(r.where == "dropped", f"p2 to p1 port 443 not delivered ({r.where})")

    gw = run.resolve("A", "EP_P1", str(run.host_vars("A")["BLOCK_GW"]))
    r = run.send("A", "EP_P1", udp_frame(p1_mac, gw, v["P1_IP"], v["DNS_IP"], 53000, 53),
                 "p1 -> DNS 10.96.0.10 udp/53")
    _expect(run, r, p1, "OUT", allowed=True, by="allow-dns-0-0- priority 1000",
            what="p1 to the allowed DNS server")
    r = run.send("A", "EP_P1", udp_frame(p1_mac, gw, v["P1_IP"], "8.8.8.8", 53001, 53),
                 "p1 -> 8.8.8.8 udp/53")
    _expect(run, r, p1, "OUT", allowed=False, by="default",
            what="p1 to any other DNS server (default-deny)")

    run.section("p3 on node B -> p1 on node A: over VXLAN, then p1's ACLs after the decap")
    p3_mac = mac_bytes(v["P3_MAC"])
    gw_b = run.resolve("B", "EP_P3", str(run.host_vars("B")["BLOCK_GW"]))
    before = len(run.received("A", "EP_P1"))
    mark = run.underlay_count()
    run.send("B", "EP_P3", tcp_frame(p3_mac, gw_b, v["P3_IP"], v["P1_IP"], 54000, 8080),
             "p3 -> p1 tcp/8080 SYN (allowed from node B's block)")
    wire = [Seen(f) for f in run.underlay_since(mark)]
    run.check(any(w.outer_dst == v["MGMT_A"] and w.vni == 4096 and w.dst == v["P1_IP"]
                  for w in wire),
              "p3 -> p1 was encapsulated by felix's RemoteSubnetRoute to node A (VNI 4096)")
    got = [Seen(f) for f in run.received("A", "EP_P1")[before:]]
    run.check(any(g.src == v["P3_IP"] and g.dport == 8080 for g in got),
              "p1 received it: allowed by allow-metrics-0-0- (priority 1001) after the decap")
    before = len(run.received("A", "EP_P1"))
    default_drops = host.drops.get("IN: Layer default block", 0)
    run.send("B", "EP_P3", tcp_frame(p3_mac, gw_b, v["P3_IP"], v["P1_IP"], 54001, 80),
             "p3 -> p1 tcp/80 SYN (only p2 may use port 80)")
    got = [Seen(f) for f in run.received("A", "EP_P1")[before:]]
    run.check(not any(g.src == v["P3_IP"] and g.dport == 80 for g in got),
              "p1 did not receive p3's port-80 SYN (default-deny after the decap)")
    run.check(host.drops.get("IN: Layer default block", 0) == default_drops + 1,
              f"node A counted it as an ACL layer default block ({dict(host.drops)})")
