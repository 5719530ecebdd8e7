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


# ---- item 2: VFP port identity -------------------------------------------------------------

def test_port_guid_is_reported_in_resources_and_used_by_vfpctrl() -> None:
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", name="pod_eth0")
    v1 = rig.service.hns_call("GET", f"/endpoints/{ep}")
    # networkhealth.ps1: $ep.Resources.Allocators[0].EndpointPortGuid; collectlogs:
    # Allocators | Where-Object Tag -eq "Endpoint Port" (and its CompartmendId).
    allocator = v1["Resources"]["Allocators"][0]
    assert allocator["Tag"] == "Endpoint Port"
    assert "CompartmendId" in allocator
    guid = allocator["EndpointPortGuid"]
    assert guid.lower() != ep.lower()
    # V2 callers (hcsshim, containerd) read Health.Extra.Resources.
    v2 = rig.service.hcn_call("HcnQueryEndpointProperties", ep, None)
    assert v2["Health"]["Extra"]["Resources"]["Allocators"][0]["EndpointPortGuid"] == guid
    listing = vfp.ctl.run(rig.switch, ["/list-vmswitch-port"])[1]
    assert f"Port name : {guid}" in listing
    code, text = vfp.ctl.run(rig.switch, ["/port", guid, "/list-layer"])
    assert code == 0, text
    assert "ACL_ENDPOINT_LAYER" in text
    assert rig.compiler.endpoint_of(guid) == ep
    # An update keeps the port.
    rig.modify_endpoint_policies(ep, [{"Type": "ACL", "Settings": {
        "Action": "Allow", "Direction": "Out", "Priority": 100}}])
    again = rig.service.hns_call("GET", f"/endpoints/{ep}")
    assert again["Resources"]["Allocators"][0]["EndpointPortGuid"] == guid
    assert rig.port(ep).id == guid


def test_remote_endpoints_have_no_port_allocator() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    ep = rig.endpoint(net, "10.244.2.5", remote=True, policies=[
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.10.0.5"}}])
    v1 = rig.service.hns_call("GET", f"/endpoints/{ep}")
    allocators = v1.get("Resources", {}).get("Allocators", [])
    assert not [a for a in allocators if a.get("Tag") == "Endpoint Port"]


# ---- item 5: DSR backend rules -------------------------------------------------------------

def test_dsr_backend_port_carries_nat_and_allow_nat_rules() -> None:
    # microsoft/SDN networkhealth.ps1 DSRLoadBalancerPolicyVfpRules: on a backend's port,
    # NAT_\w*_<VIP>_<Ext>_<Proto> in SLB_GROUP_NAT_IPv4_IN and ALLOW_NAT_\w*_<VIP>_<Ext>_<Proto>
    # in SLB_GROUP_NAT_IPv4_OUT.
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    ep = rig.endpoint(net, "10.244.1.5", policies=plugin_policies("10.244.1.5"))
    rig.load_balancer([ep], vip="10.96.0.10", external=80, internal=8080, flags=1)
    nat_in = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/group",
                     "SLB_GROUP_NAT_IPv4_IN", "/list-rule")
    nat_out = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/group",
                      "SLB_GROUP_NAT_IPv4_OUT", "/list-rule")
    assert any(line.strip().startswith("Friendly name : NAT_") and line.rstrip().endswith(
        "_10.96.0.10_80_6") for line in nat_in.splitlines()), nat_in
    allow = [b for b in nat_out.split("RULE :") if "_10.96.0.10_80_6" in b]
    assert allow, nat_out
    assert "Friendly name : ALLOW_NAT_" in allow[0]
    # The backend's answer from its service port is not SNATed to the host address.
    port = rig.port(ep)
    reply = vfp.process(port, frame("10.244.1.5", "8.8.8.8", proto=IPPROTO_TCP, sport=8080,
                                    dport=40000), vfp.OUT)
    assert ip(decode(reply.output or b"").ip.src) == "10.244.1.5"


# ---- item 9: outer source MAC --------------------------------------------------------------

def test_encapsulated_frames_leave_from_the_host_nic_mac_not_the_pods() -> None:
    # The outer Ethernet header is the host's (its PA NIC); the pod's MAC stays inside.
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.0.0.0/24", gateway="10.0.0.1",
                      vsid=4096, policies=[{"Type": "RemoteSubnetRoute", "Settings": {
                          "DestinationPrefix": "10.244.2.0/24", "IsolationId": 4096,
                          "ProviderAddress": "172.16.0.5",
                          "DistributedRouterMacAddress": "0E-2A-00-00-00-02"}}])
    pod_mac = "0E-2A-0A-00-00-05"
    ep = rig.endpoint(net, "10.0.0.5", mac=pod_mac)
    rig.endpoint(net, "10.0.0.9", remote=True, policies=[
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "172.16.0.9"}}])
    pod = bytes.fromhex(pod_mac.replace("-", ""))
    for dst in ("10.0.0.9", "10.244.2.7"):
        out = vfp.process(rig.port(ep), frame("10.0.0.5", dst, src_mac=pod_mac),
                          vfp.OUT).output or b""
        outer = decode(out)
        assert outer.l4.dport == 4789, dst
        assert outer.eth.src != pod
        assert outer.eth.src[:3] == bytes.fromhex("00155D")
        assert decode(out[50:]).eth.src == pod


# ---- item 8: MSS clamping ------------------------------------------------------------------

def _syn_with_mss(src: str, dst: str, mss: int, flags: int = 0x02) -> bytes:
    from vxlan.addr import ipv4_from_text, mac_from_text
    from vxlan.frame import Frame, encode_frame
    from vxlan.headers import ETH_P_IPV4, TCP, Ethernet, IPv4
    eth = Ethernet(mac_from_text("00-15-5D-00-00-FE"), mac_from_text("0E-2A-0A-00-00-05"),
                   ETH_P_IPV4)
    tcp = TCP(40000, 80, 1, 0, flags, 65535, options=b"\x02\x04" + mss.to_bytes(2, "big"))
    return encode_frame(Frame(eth, ip=IPv4(ipv4_from_text(src), ipv4_from_text(dst),
                                           IPPROTO_TCP), l4=tcp, payload=b""))


def test_encap_rules_clamp_the_mss_of_syn_segments_by_their_printed_delta() -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.0.0.0/24", gateway="10.0.0.1",
                      vsid=4096)
    ep = rig.endpoint(net, "10.0.0.5", mac="0E-2A-0A-00-00-05")
    rig.endpoint(net, "10.0.0.9", remote=True, policies=[
        {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "172.16.0.9"}}])
    assert "MSS delta: 50,0" in rig.ctl("/port", ep, "/layer", "VNET_ENCAP_LAYER",
                                        "/list-rule")
    for flags in (0x02, 0x12):  # SYN, SYN-ACK
        out = vfp.process(rig.port(ep), _syn_with_mss("10.0.0.5", "10.0.0.9", 1460, flags),
                          vfp.OUT).output or b""
        inner = decode(out[50:])
        assert inner.l4.options[:4] == b"\x02\x04" + (1410).to_bytes(2, "big"), flags


# ---- item 10: vfpctrl text -----------------------------------------------------------------

def test_listings_print_rules_as_real_hosts_do() -> None:
    # kubernetes#79359: NAT / LB rules print "RULE :" with no id, lbnat "Flags : 1
    # terminating", the dynnat of an overlay port "MSS delta: 50,0"; VFP.psm1: the PA_ROUTE
    # rule prints its interface-index line.
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.1.0/24", gateway="10.244.1.1",
                      vsid=4096)
    ep = rig.endpoint(net, "10.244.1.5", policies=plugin_policies("10.244.1.5"))
    b = rig.endpoint(net, "10.244.1.6")
    rig.load_balancer([ep, b], vip="10.96.0.10", external=80, internal=8080)
    lb = rig.ctl("/port", ep, "/layer", "SLB_LB_LAYER", "/list-rule")
    assert "    RULE :\r\n        Friendly name : LB_" in lb
    assert "Flags : 1 terminating\r\n        Type : lbnat" in lb
    nat = rig.ctl("/port", ep, "/layer", "SLB_NAT_LAYER", "/list-rule")
    snat = next(x for x in nat.split("RULE :") if "Friendly name : SNAT_TCP_10.244.1.5\r\n" in x)
    assert "Type : dynnat" in snat
    assert "MSS delta: 50,0\r\n" in snat
    pa = rig.ctl("/port", ep, "/layer", "VNET_PA_ROUTE_LAYER", "/list-rule")
    assert "    RULE :\r\n        Friendly name : PA_ROUTE\r\n" in pa
    assert "Using interface constraint with interface index: 11\r\n" in pa
    # ACL rules keep their GUID id (rancher sample in reference/vfp.md 2.5 (a)).
    rig.modify_endpoint_policies(ep, [{"Type": "ACL", "Settings": {
        "Id": "allow-host", "Action": "Allow", "Direction": "In", "Priority": 900}}])
    acl = rig.ctl("/port", ep, "/layer", "ACL_ENDPOINT_LAYER", "/list-rule")
    assert "Friendly name : allow-host" in acl
    assert "    RULE :\r\n" not in acl


# ---- item 4: SourceVIP ---------------------------------------------------------------------

def test_non_dsr_load_balancer_snats_to_the_source_vip_and_unnats_the_reply() -> None:
    # kube-proxy winkernel sets SourceVIP (its sourceVip endpoint's IP) on every load
    # balancer; kubernetes#79359 shows the client port's dynnat to an SLB_NATPOOL.
    import json

    from compiler_helpers import IPPROTO_UDP
    rig = Rig()
    net = rig.network("l2", type="L2Bridge", prefix="10.244.1.0/24", gateway="10.244.1.1")
    client = rig.endpoint(net, "10.244.1.5")
    backend = rig.endpoint(net, "10.244.1.6")
    rig.service.hcn_call("HcnCreateLoadBalancer", None, json.dumps({
        "HostComputeEndpoints": [backend], "SourceVIP": "10.244.1.2",
        "FrontendVIPs": ["10.96.0.10"],
        "PortMappings": [{"Protocol": 17, "InternalPort": 8053, "ExternalPort": 53}],
        "SchemaVersion": {"Major": 2, "Minor": 0}}))
    port = rig.port(client)
    out = vfp.process(port, frame("10.244.1.5", "10.96.0.10", proto=IPPROTO_UDP, sport=5000,
                                  dport=53), vfp.OUT)
    f = decode(out.output or b"")
    assert ip(f.ip.dst) == "10.244.1.6"
    assert f.l4.dport == 8053
    assert ip(f.ip.src) == "10.244.1.2"  # the backend sees the SourceVIP
    nat_port = f.l4.sport
    # The host hands the answer to (SourceVIP, port) to the client's port, not to the
    # endpoint that holds the SourceVIP.
    assert rig.compiler.owner_of(17, int(ipaddress.IPv4Address("10.244.1.2")),
                                 nat_port) == client
    back = vfp.process(port, frame("10.244.1.6", "10.244.1.2", proto=IPPROTO_UDP, sport=8053,
                                   dport=nat_port), vfp.IN)
    g = decode(back.output or b"")
    assert ip(g.ip.src) == "10.96.0.10"
    assert g.l4.sport == 53
    assert ip(g.ip.dst) == "10.244.1.5"
    assert g.l4.dport == 5000
