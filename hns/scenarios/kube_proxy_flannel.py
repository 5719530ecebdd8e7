"""kube-proxy-flannel: kube-proxy's winkernel proxier on two flannel VXLAN nodes (HCN V2).

The calls (fixtures/scenarios/kube-proxy-flannel/scenario.json), in the order the real
components make them: flannel creates the ``Overlay`` network (VSID 4096, EnableNonPersistent,
NetAdapterName), reads back the ProviderAddress (management IP) and DR MAC, adds HostRoute
and one RemoteSubnetRoute per remote lease (IsolationId = VNI, the remote PA and DR MAC);
containerd makes a namespace per pod and the sdnoverlay CNI plugin a pod endpoint with
OutBoundNAT (exceptions: cluster and service CIDRs), SDNRoute and ProviderAddress policies;
kube-proxy makes its sourceVip endpoint, a remote endpoint (Flags 1, ProviderAddress) for
each remote backend, and ClusterIP, NodePort (LocalRoutedVIP) and DSR load balancers.

The traffic: a pod reaches a pod of the other node by the RemoteSubnetRoute alone; the
ClusterIP spreads over a local and a remote backend with answers un-NATed on the client's
port (the remote backend's answer crosses the underlay with its own address); the DSR
service's answer leaves the backend with the VIP as source already; the NodePort on the
node's own IP reaches a backend; node A's host vNIC port carries the LB_HOST_ / HairPin_
rules networkhealth.ps1 looks for, and through it a client outside the cluster reaches
the NodePort on both backends (the remote one encapsulated) and node A itself reaches
the ClusterIP, answers un-NATed; and OutboundNAT SNATs internet traffic to the node IP
while traffic to an excepted range keeps the pod's address.
"""

from __future__ import annotations

from collections.abc import Callable

from hns.scenarios.base import Run, Seen, frames_matching, mac_bytes, udp_frame

NAME = "kube-proxy-flannel"
SUMMARY = ("kube-proxy on flannel VXLAN (V2): RemoteSubnetRoute, ClusterIP/NodePort, DSR, "
           "host vNIC port, OutboundNAT exceptions")
CLIENT = "192.168.1.20"  # a client outside the cluster, on the nodes' physical network


def _spread(run: Run, *, vip: str, port: int, backends: dict[str, tuple[str, str, str]],
            dst_mac: bytes, first_sport: int, flows: int = 32
            ) -> tuple[dict[str, int], int, int, set[str | None]]:
    """Flows from pod a1 to vip:port until every backend got one: (hits per backend,
    flows sent, underlay mark before the first flow, sources the backends saw)."""
    v = run.vars
    hits = {name: 0 for name in backends}
    marks = {name: len(run.received(h, ep)) for name, (h, ep, _) in backends.items()}
    mark = run.underlay_count()
    sent = 0
    sources: set[str | None] = set()
    for sport in range(first_sport, first_sport + flows):
        sent += 1
        frame = udp_frame(v["A1_MAC"], dst_mac, v["A1_IP"], vip, sport, port, b"svc")
        run.send("A", "EP_A1", frame, f"a1 -> {vip}:{port} udp from port {sport}")
        for name, (h, ep, ip) in backends.items():
            new = [Seen(f) for f in run.received(h, ep)[marks[name]:]]
            marks[name] += len(new)
            # One frame per flow; its source port is the SNAT pool's when the load
            # balancer has a SourceVIP, so frames are counted, not matched by port.
            hits[name] += sum(1 for s in new if s.dst == ip
                              and s.dport == int(v["TARGET_PORT"]))
            sources.update(s.src for s in new if s.dst == ip)
        if all(hits.values()):
            break
    run.say(f"flows per backend after {sent} flows: {hits}; "
            f"sources seen: {sorted(map(str, sources))}")
    return hits, sent, mark, sources


def play(run: Run, *, pcap: str | None, before_traffic: Callable[[Run], None] | None) -> None:
    run.section("HNS calls (flannel, containerd + sdnoverlay CNI, kube-proxy; HCN V2)")
    run.build_cluster(pcap=pcap)
    run.run_calls()
    v = run.vars
    if before_traffic is not None:
        before_traffic(run)
    target = int(v["TARGET_PORT"])
    run.vfpctrl("A", "EP_A1", "/list-layer")
    run.vfpctrl("A", "EP_A1", "/list-rule", "/layer", "VNET_ENCAP_LAYER")
    gw_mac = run.resolve("A", "EP_A1", run.host_vars("A")["POD_GW"])
    run.check(gw_mac == mac_bytes(v["DRMAC_A"]),
              "pod a1's gateway resolves to node A's DR MAC (proxy ARP)")

    run.section("pod a1 (A) -> pod b2 (B): RemoteSubnetRoute only (b2 has no remote endpoint)")
    mark = run.underlay_count()
    b2_mark = len(run.received("B", "EP_B2"))
    a1_mark = len(run.received("A", "EP_A1"))
    to_b2 = run.send("A", "EP_A1", udp_frame(v["A1_MAC"], gw_mac, v["A1_IP"], v["B2_IP"], 42000,
                                             target, b"to b2"), "a1 -> b2 udp/7")
    run.check(run.decided_by(to_b2, "VNET_ENCAP_LAYER", "VNET_GROUP_ENCAP_IPV4_OUT", "routeencap"),
              "the trace shows a routeencap rule of VNET_GROUP_ENCAP_IPV4_OUT in VNET_ENCAP_LAYER")
    out = frames_matching(run.underlay_since(mark),
                          lambda s: s.src == v["A1_IP"] and s.dst == v["B2_IP"])
    if run.check(bool(out), "a1 -> b2 was encapsulated onto the underlay"):
        s = out[0]
        run.check(s.outer_src == v["MGMT_A"] and s.outer_dst == v["MGMT_B"],
                  f"outer {s.outer_src} > {s.outer_dst} = node A's PA > the route's "
                  "ProviderAddress")
        run.check(s.vni == int(v["VNI"]), f"VNI {s.vni} = the route's IsolationId")
        run.check(s.dst_mac == mac_bytes(v["DRMAC_B"]),
                  "inner destination MAC = the route's DistributedRouterMacAddress")
    got = [Seen(f) for f in run.received("B", "EP_B2")[b2_mark:]]
    run.check(any(g.src == v["A1_IP"] and g.dport == target for g in got),
              "b2 received it with a1's own address (cluster CIDR is an OutboundNAT exception)")
    back = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    run.check(any(b.src == v["B2_IP"] and b.sport == target for b in back),
              "a1 got b2's answer back over the tunnel")

    run.section("ClusterIP (no DSR): a local and a remote backend")
    a1_mark = len(run.received("A", "EP_A1"))
    backends = {"a2 (A, local)": ("A", "EP_A2", v["A2_IP"]),
                "b1 (B, remote)": ("B", "EP_B1", v["B1_IP"])}
    hits, sent, mark, sources = _spread(run, vip=v["ECHO_VIP"], port=int(v["ECHO_PORT"]),
                                        backends=backends, dst_mac=gw_mac, first_sport=43000)
    for name in backends:
        run.check(hits[name] > 0, f"ClusterIP {v['ECHO_VIP']} reached backend {name}")
    svip_a = run.host_vars("A")["SOURCE_VIP"]
    run.check(sources == {svip_a},
              f"the backends saw node A's SourceVIP {svip_a} as source (kube-proxy's sourceVip)")
    answers = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    from_vip = [a for a in answers if a.src == v["ECHO_VIP"] and a.sport == int(v["ECHO_PORT"])]
    run.check(len(from_vip) == sent, f"a1 got {len(from_vip)} of {sent} answers from the VIP")
    replies = frames_matching(run.underlay_since(mark),
                              lambda s: s.outer_src == v["MGMT_B"] and s.dst == svip_a)
    run.check(bool(replies) and all(r.src == v["B1_IP"] for r in replies),
              "without DSR, b1's answers cross the underlay from b1's own address to the "
              "SourceVIP (un-NATed on a1's port)")

    run.section("ClusterIP with DSR: the backend answers from the VIP itself")
    a1_mark = len(run.received("A", "EP_A1"))
    dsr_backends = {"b1 (B, remote)": ("B", "EP_B1", v["B1_IP"])}
    hits, sent, mark, _ = _spread(run, vip=v["DSR_VIP"], port=int(v["DSR_PORT"]),
                                  backends=dsr_backends, dst_mac=gw_mac, first_sport=44000, flows=2)
    run.check(hits["b1 (B, remote)"] > 0, f"DSR VIP {v['DSR_VIP']} reached b1")
    replies = frames_matching(run.underlay_since(mark),
                              lambda s: s.outer_src == v["MGMT_B"] and s.dst == v["A1_IP"])
    run.check(bool(replies) and all(r.src == v["DSR_VIP"] and r.sport == int(v["DSR_PORT"])
                                    for r in replies),
              "with DSR, b1's answer left node B with the VIP:port as source")
    answers = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    run.check(any(a.src == v["DSR_VIP"] and a.sport == int(v["DSR_PORT"]) for a in answers),
              "a1 got the DSR answer from the VIP")

    run.section("ClusterIP with session affinity (DistributionType SourceIP)")
    marks = {name: len(run.received(h, ep)) for name, (h, ep, _) in backends.items()}
    for sport in range(48000, 48008):
        run.send("A", "EP_A1", udp_frame(v["A1_MAC"], gw_mac, v["A1_IP"], v["STICKY_VIP"], sport,
                                         int(v["ECHO_PORT"]), b"sticky"),
                 f"a1 -> {v['STICKY_VIP']}:{v['ECHO_PORT']} udp from port {sport}")
    # Counted, not matched by source port: the SourceVIP SNAT picks the port.
    per_backend = {name: len(run.received(h, ep)[marks[name]:])
                   for name, (h, ep, _) in backends.items()}
    run.say(f"flows per backend: {per_backend}")
    run.check(sorted(per_backend.values()) == [0, 8],
              "all 8 flows from one client (different source ports) went to one backend")

    run.section("NodePort on the node's own IP (LocalRoutedVIP)")
    a1_mark = len(run.received("A", "EP_A1"))
    hits, sent, _, _ = _spread(run, vip=v["MGMT_A"], port=int(v["NODE_PORT"]),
                               backends=backends, dst_mac=gw_mac, first_sport=45000, flows=4)
    run.check(any(hits.values()), f"{v['MGMT_A']}:{v['NODE_PORT']} reached a backend")
    answers = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    run.check(any(a.src == v["MGMT_A"] and a.sport == int(v["NODE_PORT"]) for a in answers),
              "a1 got the NodePort answer from the node IP:NodePort")

    run.section("NodePort with DSR (externalTrafficPolicy Local: local backend only)")
    a1_mark = len(run.received("A", "EP_A1"))
    local = {"a2 (A, local)": ("A", "EP_A2", v["A2_IP"])}
    hits, sent, _, _ = _spread(run, vip=v["MGMT_A"], port=int(v["DSR_NODE_PORT"]),
                               backends=local, dst_mac=gw_mac, first_sport=49000, flows=2)
    run.check(hits["a2 (A, local)"] == sent,
              f"{v['MGMT_A']}:{v['DSR_NODE_PORT']} reached the local backend a2 on every flow")
    answers = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    run.check(sum(1 for a in answers if a.src == v["MGMT_A"]
                  and a.sport == int(v["DSR_NODE_PORT"])) == sent,
              "a1 got every answer from the node IP:NodePort")

    run.section("node A's host vNIC port: the rules networkhealth.ps1 looks for")
    text = run.host_port_vfpctrl("A", "NET_A", "/list-rule", "/layer", "LB")
    run.check(f"_{v['MGMT_A']}_{v['NODE_PORT']}_{target}_17" in text and "LB_HOST_" in text,
              "LB_HOST_<lb>_<node IP>_<NodePort>_<target>_17 (a remote backend) in LB")
    text = run.host_port_vfpctrl("A", "NET_A", "/list-rule", "/layer", "SLB_HAIRPIN_LAYER")
    run.check(f"HairPin_{str(v['LB_NODEPORT_A']).replace('-', '')}_{v['MGMT_A']}_"
              f"{v['NODE_PORT']}_{v['NODE_PORT']}_17" in text,
              "HairPin_<lb>_<node IP>_<NodePort>_<NodePort>_17 (a local backend) in "
              "SLB_HAIRPIN_LAYER")

    run.section("NodePort from outside the cluster: both backends, answers from the node IP")
    host_a = run.hosts["A"]
    out_mark = len(host_a.external)
    marks = {name: len(run.received(h, ep)) for name, (h, ep, _) in backends.items()}
    flows = 16
    for sport in range(50000, 50000 + flows):
        run.from_outside("A", udp_frame(mac_bytes("00-15-5D-99-00-01"),
                                        mac_bytes("00-15-5D-99-00-02"), CLIENT, v["MGMT_A"],
                                        sport, int(v["NODE_PORT"]), b"np"),
                         f"{CLIENT} -> {v['MGMT_A']}:{v['NODE_PORT']} udp from port {sport}")
    spread = {name: len(run.received(h, ep)[marks[name]:])
              for name, (h, ep, _) in backends.items()}
    run.say(f"flows per backend: {spread}")
    run.check(all(spread.values()), "the NodePort from outside reached the local and the remote "
                                 "backend (routing mesh)")
    answers = [Seen(f) for f in list(host_a.external)[out_mark:]]
    run.check(sum(1 for a in answers if a.src == v["MGMT_A"] and a.sport == int(v["NODE_PORT"])
                  and a.dst == CLIENT) == flows,
              f"every answer left node A to {CLIENT} from the node IP:NodePort")

    run.section("node A itself reaches the ClusterIP through its host vNIC port")
    mark_host = len(host_a.host_received)
    for sport in range(51000, 51008):
        run.from_host("A", udp_frame(mac_bytes("00-15-5D-99-00-03"),
                                     mac_bytes("00-15-5D-99-00-04"), v["MGMT_A"],
                                     v["ECHO_VIP"], sport, int(v["ECHO_PORT"]), b"host"),
                      f"node A -> {v['ECHO_VIP']}:{v['ECHO_PORT']} udp from port {sport}")
    back = [Seen(f) for f in list(host_a.host_received)[mark_host:]]
    run.check(len(back) == 8 and all(b.src == v["ECHO_VIP"] and b.sport == int(v["ECHO_PORT"])
                                     for b in back),
              f"node A got {len(back)} of 8 answers from the VIP")

    run.section("the service loses b1: kube-proxy deletes its load balancers and makes them again")
    run.run_calls(phase="scale-down")
    marks = {name: len(run.received(h, ep)) for name, (h, ep, _) in backends.items()}
    a1_mark = len(run.received("A", "EP_A1"))
    flows = 8
    for sport in range(47000, 47000 + flows):
        run.send("A", "EP_A1", udp_frame(v["A1_MAC"], gw_mac, v["A1_IP"], v["ECHO_VIP"], sport,
                                         int(v["ECHO_PORT"]), b"svc"),
                 f"a1 -> {v['ECHO_VIP']}:{v['ECHO_PORT']} udp from port {sport} (after)")
    after = {name: [Seen(f) for f in run.received(h, ep)[marks[name]:]]
             for name, (h, ep, _) in backends.items()}
    n_a2, n_b1 = len(after["a2 (A, local)"]), len(after["b1 (B, remote)"])
    run.check(n_a2 == flows and n_b1 == 0,
              f"after the change all {flows} new flows reach a2 and none b1 (a2 {n_a2}, b1 {n_b1})")
    answers = [Seen(f) for f in run.received("A", "EP_A1")[a1_mark:]]
    run.check(sum(1 for a in answers if a.src == v["ECHO_VIP"]) == flows,
              "a1 got every answer from the VIP")

    run.section("OutboundNAT: the internet is SNATed to the node IP")
    result = run.send("A", "EP_A1", udp_frame(v["A1_MAC"], gw_mac, v["A1_IP"], "8.8.8.8", 46000,
                                              53, b"dns?"), "a1 -> 8.8.8.8 udp/53")
    run.check(result.where == "external" and result.output is not None,
              f"8.8.8.8 left to the host side (ended: {result.where} {result.reason})")
    seen = Seen(result.output or b"")
    run.check(run.decided_by(result, "SLB_NAT_LAYER", "SLB_GROUP_NAT_IPv4_OUT", "dynnat"),
              "the trace shows a dynnat rule of SLB_GROUP_NAT_IPv4_OUT in SLB_NAT_LAYER")
    run.check(seen.src == v["MGMT_A"] and seen.dst == "8.8.8.8",
              f"source rewritten to node A's IP ({seen.src} > {seen.dst})")
    result = run.send("A", "EP_A1", udp_frame(v["A1_MAC"], gw_mac, v["A1_IP"], "10.97.0.9", 46001,
                                              53, b"svc?"), "a1 -> 10.97.0.9 udp/53 (service CIDR)")
    seen = Seen(result.output or b"")
    run.check(seen.src == v["A1_IP"],
              f"to the excepted service CIDR the source stays a1's ({seen.src}, ended "
              f"{result.where})")
