"""The service decides on typed objects (hns/model/service_read.py), not string keys.

What the readers give for stored objects, that they cannot be changed, and that the
converted service modules read no HNS field by string key except where the allowlist below
says why (writing the stored form, or a request body that is no stored object).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from hns.model.service_read import (
    endpoint_reservations,
    lb_reservations,
    stored_endpoint,
    stored_id,
    stored_load_balancer,
    stored_namespace,
    stored_network,
)

ROOT = Path(__file__).resolve().parents[2]

#: The converted modules: every read of an HNS field by name in them is listed here, by
#: (module, function), with why it is not a decision on a stored object.
CONVERTED = ["hns/service/endpoint.py", "hns/service/network.py",
             "hns/service/loadbalancer.py", "hns/service/namespace.py", "hns/service/base.py",
             "hns/service/hcn.py", "hns/service/hnscall.py", "hns/service/hnsservice.py",
             "hns/service/importing.py", "hns/store/state.py"]
ALLOWED: dict[tuple[str, str], set[str]] = {
    # The endpoint being created: an update that names no address keeps the stored
    # configurations (copied as they are), and the port mappings being written are checked
    # through their model (hns/model/service_read.py port_mappings).
    ("hns/service/endpoint.py", "_create_endpoint"): {"IpConfigurations", "Policies"},
    # Writing the IpConfigurations and Routes of the endpoint being created: the given
    # addresses get their PrefixLength, one default route per address family.
    ("hns/service/endpoint.py", "_assign_ips"): {"IpConfigurations", "IpAddress"},
    ("hns/service/endpoint.py", "_allocate_ip"): {"IpConfigurations"},
    ("hns/service/endpoint.py", "_default_gateway"): {"Routes", "DestinationPrefix"},
    # The request body's Policies, and the changed endpoint's policy array being written
    # (merged with the stored one, or its L4Proxy policies dropped by Type, then checked
    # through the PortMapping model).
    ("hns/service/endpoint.py", "_modify_endpoint"): {"Policies", "Type"},
    # The request body of an attach / detach (a Port modify or a V1 attach), no stored object.
    ("hns/service/endpoint.py", "_attach"): {"SystemType", "ContainerId", "VirtualMachineId"},
    ("hns/service/endpoint.py", "_detach"): {"ContainerId"},
    # Writing the network being created: the ProviderAddress and DR MAC policies HNS adds
    # are appended to its policy array; a subnet ID given twice is replaced.
    ("hns/service/network.py", "_create_network"): {"Policies"},
    ("hns/service/network.py", "_unique_subnet_ids"): {"ID"},
    # Writing the V1 switch extensions (the stored form's _v1 extras) of a toggle.
    ("hns/service/network.py", "_toggle_extension"): {"Extensions", "Id"},
    # Writing the changed network of a modify request (its policy array, its Ipams with a
    # subnet added or removed by prefix) from the request body's Policies and Subnets; the
    # result is checked through the typed read (_check_subnets).
    ("hns/service/network.py", "_modify_network"): {"Policies", "Subnets", "Ipams",
                                                     "IpAddressPrefix"},
    # The store's plumbing: the key each loaded, deleted or planned object is kept under.
    ("hns/service/base.py", "__init__"): {"ID"},
    ("hns/service/base.py", "_delete"): {"ID"},
    ("hns/service/base.py", "_dedupe"): {"ID"},
    # Writing the namespace an endpoint leaves on delete: its Resources without the
    # endpoint, from a change planned in this operation (matched by ID) or the stored one.
    ("hns/service/base.py", "_plan_endpoint_delete"): {"ID", "Resources", "Type"},
    # Writing a merged policy array (Add / Remove / Update of a modify request).
    ("hns/service/base.py", "_same_policy"): {"Type", "Settings"},
    ("hns/service/base.py", "_merge_policies"): {"Type"},
    # A V2 query's filter (the request's settings), no stored object: the fields it
    # names pick the candidates an index can give.
    ("hns/service/hcn.py", "_filter"): {"ID", "Id", "Name", "VirtualNetwork"},
    # The envelope of an HcnModify* request body (RequestType given as null, its Settings).
    ("hns/service/hcn.py", "_hcn_modify"): {"RequestType", "Settings"},
    # V1 request bodies, no stored objects: a network update's Extensions to toggle, a
    # namespace resource request's Type and Data (Id or ID of the member).
    ("hns/service/hnscall.py", "_v1_modify_network"): {"Extensions"},
    ("hns/service/hnscall.py", "_v1_namespace_resource"): {"Type", "Data", "Id", "ID"},
    # The store's plumbing on a restart and a state load: the key each object read back
    # or loaded is kept under (a dump object without a string ID is refused), and the
    # dump's envelope (Format, Objects, Profile), which is no stored HNS object.
    ("hns/service/hnsservice.py", "_start"): {"ID"},
    ("hns/service/hnsservice.py", "load"): {"Format", "Objects", "ID", "Profile"},
    # A real-host capture as read (hns/capture.py), before it is parsed into the stored
    # form: an HNS call envelope's Output, an endpoint's network reference and name (a
    # stub network is created for it), a namespace's members in either schema version.
    ("hns/service/importing.py", "import_objects"): {"Output"},
    ("hns/service/importing.py", "_import_one"): {"VirtualNetwork", "HostComputeNetwork",
                                                  "VirtualNetworkName", "Type"},
    ("hns/service/importing.py", "_restore_members"): {"ResourceList", "Resources", "Data",
                                                       "Type", "Id", "ID"},
    # A modified network keeps the address pools of the subnets it keeps unchanged: the
    # stored subnets are matched by ID and compared whole (routes included).
    ("hns/store/state.py", "_unindex"): {"ID"},
}


def _reads(path: Path) -> set[tuple[str, str]]:
    """(innermost function, key) of each `x["Field"]` (not an assignment target) and
    `x.get("Field")` with a capitalised key: an HNS field read by name."""
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and \
                isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
        if isinstance(key, str) and key[:1].isupper():
            found.add((function, key))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text()), "<module>")
    return found


@pytest.mark.parametrize("module", CONVERTED)
def test_the_service_reads_no_hns_field_by_string_key_outside_the_allowlist(module: str) -> None:
    unexpected = sorted(f"{function} {key}" for function, key in _reads(ROOT / module)
                        if key not in ALLOWED.get((module, function), set()))
    assert unexpected == []


def test_the_allowlist_names_only_reads_that_are_there() -> None:
    """An entry the code no longer needs goes, so the allowlist stays the true list."""
    for (module, function), keys in ALLOWED.items():
        reads = _reads(ROOT / module)
        assert {(function, k) for k in keys} <= reads, (module, function)


def test_the_walker_finds_a_string_key_read(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f(ep):\n    ep['ID'] = 1\n    return ep.get('Flags'), ep['Name']\n")
    assert _reads(path) == {("f", "Flags"), ("f", "Name")}


def test_stored_endpoint_reads_what_the_service_decides_on() -> None:
    ep = stored_endpoint({
        "ID": "abc", "Name": "e", "HostComputeNetwork": "net-1", "Flags": 1,
        "MacAddress": "00-15-5D-00-00-01", "State": 3, "SharedContainers": ["c1", "c2"],
        "HostComputeNamespace": "ns-1",
        "IpConfigurations": [{"IpAddress": "10.0.0.5"}, {"PrefixLength": 24}],
        "Policies": [{"Type": "PortMapping", "Settings": {"InternalPort": 80}}]})
    assert (ep.id, ep.key, ep.name, ep.network, ep.remote) == ("abc", "ABC", "e", "net-1", True)
    assert (ep.mac, ep.state, ep.shared_containers, ep.namespace) == \
        ("00-15-5D-00-00-01", 3, ("c1", "c2"), "ns-1")
    assert ep.ip_addresses == ("10.0.0.5",)
    assert ep.policy_types == ("PortMapping",)
    parsed = stored_endpoint({"ID": None, "Name": "", "HostComputeNetwork": None, "Flags": 0,
                              "IpConfigurations": [], "Policies": []})
    assert (parsed.id, parsed.network, parsed.remote, parsed.mac, parsed.state) == \
        (None, None, False, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.remote = False  # type: ignore[misc]


def test_stored_network_reads_subnets_gateways_and_the_mac_pool() -> None:
    net = stored_network({
        "ID": "n1", "Name": "nat", "Type": "NAT",
        "Ipams": [{"Type": "Static", "Subnets": [
            {"ID": "s1", "IpAddressPrefix": "10.0.0.0/24",
             "Routes": [{"NextHop": "10.0.0.254", "DestinationPrefix": "10.1.0.0/16"},
                        {"NextHop": "10.0.0.1", "DestinationPrefix": "0.0.0.0/0"}]},
            {"ID": "s2", "Routes": [{"NextHop": "10.9.0.1"}]}]}],
        "MacPool": {"Ranges": [{"StartMacAddress": "00-15-5D-12-30-00",
                                "EndMacAddress": "00-15-5D-12-3F-FF"}]},
        "Policies": [{"Type": "ProviderAddress", "Settings": {}}]})
    assert (net.id, net.key, net.name, net.type) == ("n1", "N1", "nat", "NAT")
    assert [(s.id, s.prefix, s.gateway) for s in net.subnets] == \
        [("s1", "10.0.0.0/24", "10.0.0.1"), ("s2", None, "10.9.0.1")]
    assert net.mac_pool_start == "00-15-5D-12-30-00"
    assert net.policy_types == ("ProviderAddress",)
    assert stored_network({"ID": "n2", "MacPool": {"Ranges": []}}).mac_pool_start is None
    assert not net.non_persistent
    assert stored_network({"ID": "n3", "Flags": 8}).non_persistent
    assert net.mac_pool_end == "00-15-5D-12-3F-FF"


def test_stored_load_balancer_and_namespace_read_their_references() -> None:
    lb = stored_load_balancer({"ID": "lb", "HostComputeEndpoints": ["e1", "E2"]})
    assert (lb.key, lb.network, lb.endpoints) == ("LB", None, ("e1", "E2"))
    ns = stored_namespace({"ID": "ns", "Type": "HostDefault", "NamespaceId": 1,
                           "Resources": [{"Type": "Endpoint", "ID": "e1"}]})
    assert (ns.type, ns.compartment, ns.resources) == ("HostDefault", 1, (("Endpoint", "e1"),))
    assert ns.holds("Endpoint")
    assert not ns.holds("Container")
    assert stored_id({"ID": "AbC"}) == "AbC"


def test_the_host_ports_a_load_balancer_and_an_endpoint_hold() -> None:
    lb = {"FrontendVIPs": ["10.0.0.9", "10.0.0.10"],
          "PortMappings": [{"Protocol": 17, "ExternalPort": 53}]}
    assert lb_reservations(lb) == [(17, 53, "10.0.0.9"), (17, 53, "10.0.0.10")]
    assert lb_reservations({"PortMappings": [{"Protocol": 6, "ExternalPort": 80}]}) == \
        [(6, 80, "")]
    ep = {"Policies": [
        {"Type": "PortMapping", "Settings": {"InternalPort": 80, "ExternalPort": 8080}},
        {"Type": "PortMapping", "Settings": {"InternalPort": 81, "ExternalPort": 0}},
        {"Type": "PortMapping", "Settings": {"Protocol": 17, "ExternalPort": 53,
                                             "VIP": "10.0.0.5"}},
        {"Type": "OutBoundNAT", "Settings": {}}]}
    assert endpoint_reservations(ep) == [(6, 8080, ""), (17, 53, "10.0.0.5")]
