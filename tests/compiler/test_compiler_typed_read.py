"""The compiler and the hosts read typed objects (hns/model/read.py), not stored dicts.

What the readers give for real stored objects, that the mirror reads each stored dict once
(a full sync keeps the typed object of a dict it has already read, so shared contributions
still match by identity), that the objects cannot be changed, and that no module of the
compiler or the hosts reads an HNS field by string key.
"""

from __future__ import annotations

import ast
import dataclasses
import ipaddress
from pathlib import Path

import pytest
from compiler_helpers import HOST_IP, Rig

import hns.compiler.rules as R
from hns.model.read import Endpoint, Network, read_endpoint

ROOT = Path(__file__).resolve().parents[2]


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def test_endpoint_reads_addresses_flags_and_policies_typed() -> None:
    rig = Rig()
    net = rig.network(type="Overlay", vsid=4100, prefix="10.0.0.0/24",
                      policies=[{"Type": "ProviderAddress",
                                 "Settings": {"ProviderAddress": "192.168.1.10"}}])
    ep_id = rig.endpoint(net, "10.0.0.5", mac="00-15-5D-0A-0B-0C", policies=[
        {"Type": "ACL", "Settings": {"Action": "Allow", "Direction": "Out", "Priority": 200,
                                     "Protocols": "6", "RemoteAddresses": "10.1.0.0/16",
                                     "RemotePorts": "80,443"}},
        {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.0.0.0/8"]}},
        {"Type": "PortMapping", "Settings": {"InternalPort": 80, "ExternalPort": 8080,
                                             "Protocol": 6}},
        {"Type": "EncapOverhead", "Settings": {"Overhead": 60}},
    ])
    remote_id = rig.endpoint(net, "10.0.0.9", mac="00-15-5D-00-00-09", remote=True,
                             policies=[{"Type": "ProviderAddress",
                                        "Settings": {"ProviderAddress": "192.168.1.20"}}])
    view = rig.compiler.view
    ep = view.endpoints[ep_id.upper()]
    assert (ep.id, ep.network, ep.remote) == (ep_id, net.upper(), False)
    assert ep.ipv4 == _ip("10.0.0.5")
    assert ep.ipv4_text == "10.0.0.5"
    assert ep.mac == 0x00155D0A0B0C
    (acl,) = ep.acls
    assert (acl.inbound, acl.action, acl.priority, acl.protocols) == (False, "Allow", 200, (6,))
    assert acl.remote == (((_ip("10.1.0.0"), _ip("10.1.255.255")),), ())
    assert acl.local is None
    assert acl.remote_ports == ((80, 80), (443, 443))
    (nat,) = ep.outbound_nats
    assert nat.host_vip
    assert [p.text for p in nat.exceptions] == ["10.0.0.0/8"]
    (pm,) = ep.port_maps
    assert (pm.internal_port, pm.external_port, pm.protocol) == (80, 8080, 6)
    assert ep.encap_overhead == 60
    remote = view.endpoints[remote_id.upper()]
    assert remote.remote
    assert remote.provider_address == _ip("192.168.1.20")
    network = view.networks[net.upper()]
    assert network.overlay
    assert network.provider_address == _ip("192.168.1.10")
    assert network.vsid_for(_ip("10.0.0.9")) == 4100
    assert network.subnets[0].gateways == (_ip("10.0.0.1"),)


def test_load_balancer_reads_flags_as_booleans_and_vips_as_ints() -> None:
    rig = Rig()
    net = rig.network()
    backend = rig.endpoint(net, "10.0.0.6")
    dsr = rig.load_balancer([backend], vip="10.96.0.10", flags=1, pm_flags=1, external=None)
    nodeport = rig.load_balancer([backend], vip=None, external=30080, pm_flags=2)
    view = rig.compiler.view
    lb = view.lbs[dsr.upper()]
    assert (lb.dsr, lb.version, lb.node_port) == (True, 4, False)
    assert lb.frontend_vips == (_ip("10.96.0.10"),)
    assert lb.backends == (backend.upper(),)
    (pm,) = lb.port_mappings
    assert (pm.ilb, pm.preserve_dip, pm.internal_port, pm.external_port) == \
        (True, False, 8080, 8080)
    np = view.lbs[nodeport.upper()]
    assert (np.node_port, np.dsr, np.frontend_vips) == (True, False, ())
    assert R.lb_vips(view, np) == [_ip(HOST_IP)]  # a NodePort's VIP: the host's address


def test_a_full_sync_keeps_the_typed_object_of_an_unchanged_stored_dict() -> None:
    rig = Rig()
    net = rig.network()
    a = rig.endpoint(net, "10.0.0.5")
    b = rig.endpoint(net, "10.0.0.6")
    view = rig.compiler.view
    before_a, before_b, before_net = view.endpoints[a.upper()], view.endpoints[b.upper()], \
        view.networks[net.upper()]
    rig.modify_endpoint_policies(b, [{"Type": "OutBoundNAT", "Settings": {}}])
    rig.compiler.sync()
    assert view.endpoints[a.upper()] is before_a
    assert view.networks[net.upper()] is before_net
    assert view.endpoints[b.upper()] is not before_b
    assert len(view.endpoints[b.upper()].outbound_nats) == 1


def test_typed_objects_are_frozen() -> None:
    ep = read_endpoint({"ID": "E1", "IpConfigurations": [{"IpAddress": "10.0.0.5"}]})
    assert isinstance(ep, Endpoint)
    assert dataclasses.is_dataclass(Network)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.ipv4 = 1  # type: ignore[misc]


@pytest.mark.parametrize("text", ["00-15-5D-01-02-03", "00:15:5d:01:02:03", "00-15:5D-01-02-03",
                                  " 00-15-5D-01-02-03 ", "0015.5d01.0203", "zz-15-5D-01-02-03"])
def test_mac_reading_agrees_with_vfp_parse_mac(text: str) -> None:
    from vfp.addr import parse_mac
    try:
        want: int | None = parse_mac(text)
    except ValueError:
        want = None
    assert read_endpoint({"ID": "E", "MacAddress": text}).mac == want


def _string_key_reads(path: Path) -> list[str]:
    """`x["Field"]` and `x.get("Field")` with a capitalised key: an HNS field read by name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
        if isinstance(key, str) and key[:1].isupper():
            found.append(f"{path.relative_to(ROOT)} {key}")
    return found


def test_compiler_and_hosts_read_no_hns_field_by_string_key() -> None:
    """Only hns/model/read.py reads stored dicts."""
    files = sorted([*(ROOT / "hns" / "compiler").glob("*.py"),
                    *(ROOT / "hns" / "hosts").glob("*.py")])
    found = [f for path in files for f in _string_key_reads(path)]
    assert found == []


def test_read_cache_reads_a_stored_dict_once_and_forgets_what_is_gone() -> None:
    from hns.model.read import ReadCache
    cache = ReadCache(read_endpoint)
    raw = {"ID": "E1", "IpConfigurations": [{"IpAddress": "10.0.0.5"}]}
    first = cache.read("E1", raw)
    assert cache.read("E1", raw) is first
    changed = dict(raw, IpConfigurations=[{"IpAddress": "10.0.0.6"}])
    second = cache.read("E1", changed)
    assert second is not first
    assert second.ipv4 == _ip("10.0.0.6")
    cache.keep_only([])
    assert cache.read("E1", changed) is not second
