"""ACL Protocols at the ends of the range HNS accepts (0..255, and 256 = any): protocol 0
(HOPOPT) and 255 are protocols like any other, never "any". Checked against the reference
model (reference_model.py) with the generated-policy rig of test_compiler_reference."""

from __future__ import annotations

import pytest
from compiler_helpers import frame
from reference_model import Packet, inbound_allowed
from test_compiler_reference import CLIENT, build, check_outbound

import vfp

PROTOCOL_LISTS = ["0", "255", "0,255", "255,1", "0,17", "6,255", "256,0"]


@pytest.mark.parametrize("protocols", PROTOCOL_LISTS)
@pytest.mark.parametrize("direction", ["Out", "In"])
@pytest.mark.parametrize("proto", [6, 17])
def test_a_block_on_protocol_0_or_255_blocks_only_those(protocols: str, direction: str,
                                                        proto: int) -> None:
    acls = [{"Action": "Block", "Direction": direction, "Protocols": protocols},
            {"Action": "Allow", "Direction": direction}]
    rig, world, client = build(acls, [], None)
    if direction == "Out":
        check_outbound(rig, client, world, Packet(proto, CLIENT, 40000, "8.8.8.8", 53))
        return
    p = Packet(proto, "8.8.8.8", 53, CLIENT, 8080)
    got = vfp.process(rig.port(client), frame(p.src, CLIENT, proto=proto, sport=p.sport,
                                              dport=p.dport), vfp.IN)
    assert got.allowed == inbound_allowed(world, p)
