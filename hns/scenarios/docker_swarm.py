"""docker-swarm-overlay (the seed): a Swarm overlay network on two emulated Windows hosts,
made through HNS V1 as Docker's Windows overlay driver makes it.

What the calls are (fixtures/scenarios/docker-swarm-overlay/scenario.json): on each host
an ``overlay`` network with a ``VSID`` 4096 subnet policy (the driver keeps the answer's
``ManagementIP`` as its VTEP address); the node's load-balancer endpoint and its containers
with a ``PA`` policy; HCS attaching the containers; peerAdd making a remote endpoint
(``IsRemoteEndpoint``, ``PA`` = the other node's VTEP) for every container of the other
node; and, per node, the service's ``ELB`` policy lists: an ILB for the service VIP (no
protocol or ports: every port) and an ELB for the published port.

What the traffic shows: a container on A reaches one on B through VXLAN (outer addresses
the two PAs, VNI = VSID), B's container answers over the same tunnel, and the service VIP
reaches both backends (one local, one across the tunnel) with the answers coming back from
the VIP. Last, real pings through the guest stacks (ARP answered by the vSwitch).
"""

from __future__ import annotations

from collections.abc import Callable

from hns.scenarios.base import Run, Seen, frames_matching, icmp_echo, udp_frame

NAME = "docker-swarm-overlay"
SUMMARY = "Docker Swarm overlay (V1): VXLAN between two hosts, remote endpoints, service VIP"


def play(run: Run, *, pcap: str | None, before_traffic: Callable[[Run], None] | None) -> None:
    run.section("HNS calls (Docker's Windows overlay driver, V1)")
    run.build_cluster(pcap=pcap)
    run.run_calls()
    v = run.vars
    vsid = int(v["VSID"])
    if before_traffic is not None:
        before_traffic(run)
    run.vfpctrl("A", "EP_C3", "/list-rule", "/layer", "VNET_ENCAP_LAYER")
    run.vfpctrl("A", "EP_C3", "/list-rule", "/layer", "SLB_LB_LAYER")

    run.section("c1 (host A) -> c2 (host B): UDP echo across the overlay")
    start = run.underlay_count()
    got_before = len(run.received("B", "EP_C2"))
    frame = udp_frame(v["MAC_C1"], v["MAC_C2"], v["C1_IP"], v["C2_IP"], 40001, 7, b"hello c2")
    to_c2 = run.send("A", "EP_C1", frame, "c1 -> c2 udp/7")
    run.check(run.decided_by(to_c2, "VNET_ENCAP_LAYER", "VNET_GROUP_ENCAP_IPV4_OUT", "mapencap"),
              "the trace shows the remote endpoint's mapencap rule in VNET_ENCAP_LAYER")
    wire = run.underlay_since(start)
    out = frames_matching(wire, lambda s: s.dst == v["C2_IP"] and s.src == v["C1_IP"])
    if run.check(bool(out), "c1 -> c2 left host A on the underlay"):
        s = out[0]
        run.check(s.outer_src == v["MGMT_A"] and s.outer_dst == v["MGMT_B"],
                  f"outer IPs are the two PAs ({s.outer_src} > {s.outer_dst})")
        run.check(s.vni == vsid and s.outer_dport == 4789,
                  f"VXLAN VNI {s.vni} == VSID {vsid}, UDP port {s.outer_dport}")
    arrived = [Seen(f) for f in run.received("B", "EP_C2")[got_before:]]
    run.check(any(a.src == v["C1_IP"] and a.dport == 7 for a in arrived),
              "c2 received c1's datagram with c1's address as source")
    back = [Seen(f) for f in run.received("A", "EP_C1")]
    run.check(any(b.src == v["C2_IP"] and b.sport == 7 for b in back),
              "c1 received c2's echo back through the tunnel")

    run.section("c2 (host B) -> c1 (host A): ICMP echo the other way")
    before = len(run.received("B", "EP_C2"))
    run.send("B", "EP_C2", icmp_echo(v["MAC_C2"], v["MAC_C1"], v["C2_IP"], v["C1_IP"], seq=7),
             "c2 -> c1 icmp echo")
    replies = [Seen(f) for f in run.received("B", "EP_C2")[before:]]
    run.check(any(r.src == v["C1_IP"] and r.icmp_type == 0 for r in replies),
              "c2 got c1's echo reply")

    run.section("c3 (host A) -> service VIP: the ILB spreads flows over both backends")
    backends = {"c1 (A)": ("A", "EP_C1", v["C1_IP"]), "c2 (B)": ("B", "EP_C2", v["C2_IP"])}
    hits = {name: 0 for name in backends}
    marks = {name: len(run.received(h, ep)) for name, (h, ep, _) in backends.items()}
    vip_mac = run.resolve("A", "EP_C3", v["VIP"], v["GATEWAY"])
    if vip_mac == run.resolve("A", "EP_C3", v["GATEWAY"]):
        # The VIP sits in the overlay subnet, so a real container ARPs for it; real
        # Windows must answer (swarm VIPs work), but what MAC it gives is not documented.
        run.say("note: nothing answered ARP for the VIP; c3 sends to the gateway MAC")
    c3_mark = len(run.received("A", "EP_C3"))
    sent = 0
    for sport in range(41000, 41032):
        sent += 1
        frame = udp_frame(v["MAC_C3"], vip_mac, v["C3_IP"], v["VIP"], sport, 7, b"vip")
        run.send("A", "EP_C3", frame, f"c3 -> VIP {v['VIP']} udp/7 from port {sport}")
        for name, (h, ep, ip) in backends.items():
            new = [Seen(f) for f in run.received(h, ep)[marks[name]:]]
            marks[name] += len(new)
            hits[name] += sum(1 for s in new if s.dst == ip and s.dport == 7
                              and s.sport == sport)
        if all(hits.values()):
            break
    run.say(f"flows per backend after {sent} flows: {hits}")
    for name in backends:
        run.check(hits[name] > 0, f"the VIP reached backend {name} (DIP, port 7)")
    answers = [Seen(f) for f in run.received("A", "EP_C3")[c3_mark:]]
    from_vip = [a for a in answers if a.src == v["VIP"] and a.sport == 7]
    leaked = [a for a in answers if a.src in (v["C1_IP"], v["C2_IP"])]
    run.check(len(from_vip) == sent, f"c3 got {len(from_vip)} of {sent} answers from the VIP")
    run.check(not leaked, "no answer reached c3 with a backend's own address as source")

    run.section("ping through the guest stacks (ARP answered by the vSwitch)")
    cluster = run.cluster
    assert cluster is not None
    run.check(cluster.ping(run.hosts["A"], v["EP_C3"], v["C2_IP"]), "c3 (A) pings c2 (B)")
    run.check(cluster.ping(run.hosts["B"], v["EP_C2"], v["C1_IP"]), "c2 (B) pings c1 (A)")
