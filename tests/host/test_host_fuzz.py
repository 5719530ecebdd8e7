"""Bad bytes anywhere into the vSwitch end in a counted drop or a delivery, never an
exception (hypothesis: random bytes, and real frames with random corruption)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from host_helpers import icmp_echo, local_endpoint, overlay, remote_endpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vfp
import vxlan
from hns.hosts import Host

MAC_A, MAC_B = "00-15-5D-01-00-0A", "00-15-5D-01-00-0B"
WHERE = {"endpoint", "underlay", "external", "arp", "dropped"}


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Host, str, list[bytes]]]:
    fabric = vxlan.MemoryNetwork()
    host = Host("a", "10.0.0.1", underlay=fabric.attach("10.0.0.1"))
    fabric.attach("10.0.0.2")
    net = overlay(host.service, "10.0.1.0/24")
    ep = local_endpoint(host.service, net, "10.0.1.2", mac=MAC_A)
    remote_endpoint(host.service, net, "10.0.1.3", "10.0.0.2", MAC_B)
    echo = icmp_echo(MAC_B, MAC_A, "10.0.1.3", "10.0.1.2")
    seeds = [
        echo,
        icmp_echo(MAC_A, MAC_B, "10.0.1.2", "10.0.1.3"),
        vxlan.encapsulate(echo, vni=4096, src_pa="10.0.0.2", dst_pa="10.0.0.1",
                          src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:01"),
        bytes.fromhex("ffffffffffff00155d01000a08060001080006040001"
                      "00155d01000a0a000102000000000000" "0a000103"),
    ]
    try:
        yield host, ep, seeds
    finally:
        host.close()


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for pos, value in flips:
        out[pos % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


frames = st.one_of(
    st.binary(max_size=200),
    st.tuples(st.integers(0, 3), st.lists(st.tuples(st.integers(0, 500), st.integers(0, 255)),
                                            max_size=4),
              st.none() | st.integers(0, 120)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(frame=frames, how=st.sampled_from(["send", "in", "receive", "external"]))
def test_host_bad_bytes_never_raise(setup: tuple[Host, str, list[bytes]],
                                    frame: bytes | tuple[int, list[tuple[int, int]], int | None],
                                    how: str) -> None:
    host, ep, seeds = setup
    data = frame if isinstance(frame, bytes) else _mutate(seeds[frame[0]], frame[1], frame[2])
    before = sum(host.drops.values())
    if how == "send":
        res = host.send(ep, data)
    elif how == "in":
        res = host.inject(ep, data, vfp.IN, trace=True)
    elif how == "receive":
        res = host.receive(data, trace=True)
    else:
        res = host.receive_external(data)
    assert res.where in WHERE
    if res.where == "dropped":
        assert res.reason
        assert sum(host.drops.values()) == before + 1
    host.pump()
