"""Fidelity round 2 (issue 14) on the host's packet paths; docs/fidelity.md has the rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from host_helpers import StubCompiler, icmp_echo, local_endpoint, overlay

import vxlan
from hns.hosts import Host


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host("a", "10.0.0.1", compiler=StubCompiler)
    try:
        yield h
    finally:
        h.close()


# ---- item 9: VXLAN receive ---------------------------------------------------------------

def test_vxlan_frame_without_the_i_flag_is_dropped_and_counted(host: Host) -> None:
    # RFC 7348 section 5: the I flag MUST be set for a valid VNI.
    net = overlay(host.service, "10.244.1.0/24")
    a = local_endpoint(host.service, net, "10.244.1.10")
    inner = icmp_echo("02:00:00:00:00:01", host.guest(a).mac, "10.244.2.5", "10.244.1.10")
    outer = vxlan.encapsulate(inner, vni=4096, src_pa="10.0.0.2", dst_pa="10.0.0.1",
                              src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:03")
    flags_at = 14 + 20 + 8
    assert outer[flags_at] & 0x08
    bad = outer[:flags_at] + bytes([outer[flags_at] & ~0x08]) + outer[flags_at + 1:]
    res = host.receive(bad)
    assert res.where == "dropped"
    assert res.reason.startswith("underlay: ")
    assert host.drops[res.reason] == 1
    assert host.received(a) == []
    good = host.receive(outer)  # the same frame with the flag set is delivered
    assert good.where == "endpoint", good.reason
