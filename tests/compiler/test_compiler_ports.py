"""One VFP port per local endpoint: created, named, removed, re-created; remote endpoints
get none; reset and full sync."""

from __future__ import annotations

from compiler_helpers import Rig

import vfp


def test_port_created_for_local_endpoint_with_id_name_and_mac() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5", name="web", mac="00-15-5D-AA-BB-CC")
    port = rig.port(ep)
    # The port has a GUID of its own, the one V1 reports as EndpointPortGuid.
    v1 = rig.service.hns_call("GET", f"/endpoints/{ep}")
    assert port.id == v1["Resources"]["Allocators"][0]["EndpointPortGuid"]
    assert port.id != ep
    assert port.name == "web"
    assert port.mac == 0x00155DAABBCC
    assert rig.compiler.endpoint_of(port.id) == ep
    assert rig.compiler.endpoint_of(port.id.lower()) == ep


def test_port_removed_when_endpoint_deleted() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5")
    rig.delete("Endpoint", ep)
    assert rig.compiler.port_of(ep) is None
    assert ep not in rig.switch.ports


def test_port_not_created_for_remote_endpoint() -> None:
    rig = Rig()
    net = rig.network(type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1", vsid=4096)
    remote = rig.endpoint(net, "10.244.2.5", remote=True,
                          policies=[{"Type": "ProviderAddress",
                                     "Settings": {"ProviderAddress": "172.16.0.5"}}])
    assert rig.compiler.port_of(remote) is None
    host = rig.compiler.host_port(net)  # only the network's host vNIC port
    assert host is not None
    assert list(rig.switch.ports) == [host.id]


def test_ports_follow_reset_and_resync_after_load() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5")
    dump = rig.service.dump()
    rig.service.reset()
    assert rig.switch.ports == {}
    rig.service.load(dump)
    assert rig.compiler.port_of(ep) is not None


def test_compiler_built_after_objects_exist_syncs_them() -> None:
    rig = Rig()
    net = rig.network()
    ep = rig.endpoint(net, "10.0.0.5")
    rig.compiler.close()
    switch = vfp.Switch()
    from hns.compiler import Compiler

    late = Compiler(rig.service, switch)
    port = late.port_of(ep)
    assert port is not None
    assert "MAC_REWRITE" in port.get_layer("VNET_MAC_REWRITE_LAYER").get_group(
        "VNET_GROUP_MAC_REWRITE_IPV4_IN").rules
    assert rig.compiler.port_of(ep) is not None  # the closed one keeps its ports


def test_closed_compiler_stops_following() -> None:
    rig = Rig()
    net = rig.network()
    rig.compiler.close()
    ep = rig.endpoint(net, "10.0.0.5")
    assert rig.compiler.port_of(ep) is None
