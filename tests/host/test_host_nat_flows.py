"""The vSwitch's one table of translated flows (hns/hosts/nat.py): an answer finds the
port that rewrote its flow's source by the full 5-tuple, in the direction it runs."""

from __future__ import annotations

import vfp
import vxlan
from hns.hosts.nat import NatFlows, NatOwner


def key(src: str, sport: int, dst: str, dport: int, proto: int = 17) -> vxlan.FlowKey:
    return vxlan.FlowKey(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst), proto,
                         sport, dport)


def test_answer_finds_the_port_by_its_mirrored_five_tuple() -> None:
    switch = vfp.Switch()
    port = switch.add_port("P1")
    flows = NatFlows()
    owner = NatOwner(port, vfp.IN, "EP1")
    before = key("10.0.0.5", 40000, "8.8.8.8", 53)
    after = key("172.16.0.4", 1024, "8.8.8.8", 53)
    flows.record(before, after, owner)
    assert flows.owner(key("8.8.8.8", 53, "172.16.0.4", 1024), switch) == owner
    # the same translated address and port answered by someone else is not this flow's
    assert flows.owner(key("8.8.4.4", 53, "172.16.0.4", 1024), switch) is None
    assert flows.owner(key("8.8.8.8", 53, "172.16.0.4", 1024, proto=6), switch) is None
    # a frame whose source the port left alone records nothing
    flows.record(before, key("10.0.0.5", 40000, "10.96.0.10", 53), owner)
    assert len(flows) == 1
    # a port that is gone owns nothing any more
    switch.remove_port("P1")
    assert flows.owner(key("8.8.8.8", 53, "172.16.0.4", 1024), switch) is None


def test_icmp_echo_identifier_counts_as_both_ports_and_the_table_is_bounded() -> None:
    switch = vfp.Switch()
    port = switch.add_port("P1")
    flows = NatFlows(limit=2)
    out = NatOwner(port, vfp.OUT)
    flows.record(key("10.0.0.5", 7, "1.1.1.1", 7, 1), key("172.16.0.4", 9, "1.1.1.1", 9, 1), out)
    assert flows.owner(key("1.1.1.1", 9, "172.16.0.4", 9, 1), switch) == out
    for n in (2, 3):
        flows.record(key("10.0.0.5", n, "1.1.1.1", 53), key("172.16.0.4", 2000 + n, "1.1.1.1",
                                                             53), out)
    assert len(flows) == 2
    assert flows.owner(key("1.1.1.1", 9, "172.16.0.4", 9, 1), switch) is None  # oldest went
    assert flows.owner(key("1.1.1.1", 53, "172.16.0.4", 2003), switch) == out
