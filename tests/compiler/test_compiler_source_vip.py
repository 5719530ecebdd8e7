"""A load balancer with a SourceVIP (kube-proxy's sourceVip): backends see the SourceVIP
as the client's address, from a block of 256 ports per client port (1024 + 256 * block,
as OutBoundNAT takes the host address's), so two clients never share a port."""

from __future__ import annotations

import ipaddress
import json
import uuid

from compiler_helpers import Rig, decode, frame

import vfp

SVIP = "10.0.0.250"


def test_backends_see_the_source_vip_from_each_client_ports_own_block() -> None:
    rig = Rig()
    net = rig.network()
    clients = [rig.endpoint(net, f"10.0.0.{i}") for i in (5, 6)]
    backend = rig.endpoint(net, "10.0.0.9")
    body = {"HostComputeEndpoints": [backend], "SourceVIP": SVIP,
            "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}],
            "FrontendVIPs": ["10.96.0.10"], "SchemaVersion": {"Major": 2, "Minor": 0}}
    rig.service.hcn_call("HcnCreateLoadBalancer", str(uuid.uuid4()), json.dumps(body))
    blocks = []
    for ep, ip in zip(clients, ("10.0.0.5", "10.0.0.6"), strict=True):
        ports = set()
        for sport in range(40000, 40004):
            got = vfp.process(rig.port(ep), frame(ip, "10.96.0.10", sport=sport, dport=80),
                              vfp.OUT)
            assert got.allowed
            assert got.output is not None
            f = decode(got.output)
            assert (str(ipaddress.IPv4Address(f.ip.dst)), f.l4.dport) == ("10.0.0.9", 8080)
            assert str(ipaddress.IPv4Address(f.ip.src)) == SVIP
            ports.add(f.l4.sport)
        assert len(ports) == 4
        first = min(ports)
        assert first >= 1024
        assert (first - 1024) % 256 == 0  # the start of a block
        assert max(ports) < first + 256
        blocks.append(first)
    assert blocks[0] != blocks[1]
    pools = [p for ep in clients for p in rig.port(ep).nat_pools.values() if "SVIP" in p.id]
    assert sorted((r.port_end - r.port_start + 1) for p in pools for r in p.ranges) == [256, 256]
