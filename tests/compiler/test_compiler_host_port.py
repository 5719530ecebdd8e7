"""Issue 14 item 3 (a): each network's host vNIC is a VFP port of its own, listed by
vfpctrl as real hosts list it (`Container NIC <8 hex>`), with the host-side layers
networkhealth.ps1 looks at, created and removed with the network."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from compiler_helpers import HOST_IP, Rig

import vfp
from hns.compiler.actions import pa_nic_mac
from hns.ports import host_port_id, host_port_name


def test_every_network_has_a_host_vnic_port_listed_by_vfpctrl() -> None:
    rig = Rig()
    nat = rig.network("nat", type="NAT")
    overlay = rig.network("vxlan0", type="Overlay", prefix="10.244.1.0/24",
                          gateway="10.244.1.1", vsid=4096)
    ports = {net: rig.compiler.host_port(net) for net in (nat, overlay)}
    assert all(p is not None for p in ports.values())
    nat_port, overlay_port = ports[nat], ports[overlay]
    assert nat_port is not None
    assert overlay_port is not None
    assert nat_port.id != overlay_port.id
    for net, port in ports.items():
        assert port is not None
        assert uuid.UUID(port.id)
        assert port.id == port.id.upper()
        assert port.id.lower() != net.lower()          # a GUID of its own
        assert re.fullmatch(r"Container NIC [0-9a-f]{8}", port.name)
        assert rig.compiler.endpoint_of(port.id) is None  # no endpoint owns it
    # The overlay host vNIC is the management vNIC: the physical NIC's MAC.
    assert overlay_port.mac == pa_nic_mac(int.from_bytes(bytes(
        int(x) for x in HOST_IP.split(".")), "big"))
    listing = vfp.ctl.run(rig.switch, ["/list-vmswitch-port"])[1]
    # How operators find it: vfpctrl /list-vmswitch-port | Select-String "Container".
    for port in (nat_port, overlay_port):
        assert f"Port name : {port.id}" in listing
        assert port.name in listing
    code, text = vfp.ctl.run(rig.switch, ["/port", overlay_port.id, "/list-layer"])
    assert code == 0, text
    layers = re.findall(r"^\s*LAYER\s*:\s*(\S+)", text, re.M)
    assert set(layers) == {"LB", "SLB_LB_LAYER", "SLB_HAIRPIN_LAYER"}, text
    code, text = vfp.ctl.run(rig.switch, ["/port", overlay_port.id, "/layer",
                                          "SLB_HAIRPIN_LAYER", "/list-group"])
    assert code == 0
    assert "SLB_GROUP_HAIRPIN_IPv4_IN" in text


def test_host_port_is_stable_and_follows_the_network() -> None:
    rig = Rig()
    net = rig.network("nat", type="NAT")
    port = rig.compiler.host_port(net)
    assert port is not None
    ep = rig.endpoint(net, "10.0.0.5")
    assert rig.compiler.host_port(net) is port        # endpoints do not touch it
    dump = rig.service.dump()
    rig.service.reset()
    assert rig.compiler.host_port(net) is None
    assert rig.switch.ports == {}
    rig.service.load(dump)
    again = rig.compiler.host_port(net)
    assert again is not None
    assert again.id == port.id
    assert again.name == port.name
    rig.delete("Endpoint", ep)
    rig.delete("Network", net)
    assert rig.compiler.host_port(net) is None
    assert port.id not in rig.switch.ports


def test_imported_network_keeps_its_host_vnic_allocator_port() -> None:
    # An imported capture names its host vNIC port in its Host Vnic allocator.
    path = Path(__file__).parents[2] / "fixtures/hns/v1-post-networks-nat-response.json"
    real = json.loads(path.read_text())
    net = real.get("Output", real)
    assert host_port_id(net) == host_port_id({"ID": net["ID"], "_v1": {"Resources":
                                                                     net["Resources"]}})
    assert host_port_id(net) == "ACE214FD-4A7C-462A-AF6B-6119010C5BD2"
    assert host_port_name(net) == "Container NIC c4700ec5"


def test_v1_network_names_its_host_vnic_port_in_resources() -> None:
    # As real/v1-post-networks-nat-response.json: Resources.Allocators holds the "Host
    # Vnic" allocator whose EndpointPortGuid is the port vfpctrl lists, friendly name
    # "Container NIC " + the first block of the allocator ID.
    rig = Rig()
    net = rig.network("nat", type="NAT")
    v1 = rig.service.hns_call("GET", f"/networks/{net}")
    host = [a for a in v1["Resources"]["Allocators"] if a["Tag"] == "Host Vnic"]
    assert len(host) == 1
    guid = host[0]["EndpointPortGuid"]
    port = rig.compiler.host_port(net)
    assert port is not None
    assert port.id == guid
    assert host[0]["PreferredPortFriendlyName"] == port.name
    assert port.name == "Container NIC " + host[0]["ID"][:8].lower()
    code, text = vfp.ctl.run(rig.switch, ["/port", guid, "/list-layer"])
    assert code == 0, text
