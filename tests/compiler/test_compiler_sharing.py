"""Issue 11 (F4): what the ports of a network share is held once, and a full sync (service
start, state load, restart) checks each shared contribution once per pass, not once per
(port, source) pair.  Counted, never timed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hns.compiler import layers as L
from hns.compiler import shared as shared_module
from hns.hosts import Host
from hns.service import HnsService

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench" / "support"))
import scale_node as node


def _node(local: int, remote: int, lbs: int) -> tuple[HnsService, Host]:
    svc = HnsService()
    node.populate(svc.hcn_call, local, remote, lbs)
    return svc, Host(service=svc)


def _endpoint_ports(host: Host) -> list[Any]:
    return [p for p in host.switch.ports.values() if host.compiler.endpoint_of(p.id)]


def _distinct_rules(host: Host, layer: str, group: str, prefix: str) -> tuple[int, int]:
    """(rules held over all ports, distinct rule objects among them)."""
    held = [r for p in _endpoint_ports(host) for r in
            p.layers[layer].groups[group].rules.values() if r.id.startswith(prefix)]
    return len(held), len({id(r) for r in held})


@pytest.mark.parametrize("local", [3, 12])
def test_one_rule_object_per_remote_endpoint_whatever_the_ports(local: int) -> None:
    _svc, host = _node(local, 7, 0)
    held, distinct = _distinct_rules(host, L.VNET_ENCAP, L.ENCAP_OUT, "MAP_ENCAP_")
    assert held == 7 * local
    assert distinct == 7  # not one copy per port


def test_one_rule_object_per_load_balancer_on_its_client_ports() -> None:
    _svc, host = _node(8, 6, 9)
    held, distinct = _distinct_rules(host, L.SLB_LB, L.LB_OUT, "")
    dsr_held, dsr_distinct = _distinct_rules(host, L.LB_DSR, L.DSR_OUT, "")
    assert held + dsr_held == 9 * 8  # every LB (one DSR) on every port
    # each LB's one local backend computes its own contribution (its client rule is
    # equal, not the same object); every other port holds the one shared rule
    assert distinct + dsr_distinct == 9 * 2


def test_full_sync_checks_shared_inputs_once_per_source_not_per_port(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def checks(local: int) -> int:
        svc, host = _node(local, 10, 6)
        calls = []
        real = shared_module.SharedContributions._inputs

        def counting(self: Any, *args: Any) -> Any:
            calls.append(1)
            return real(self, *args)

        monkeypatch.setattr(shared_module.SharedContributions, "_inputs", counting)
        svc.restart_service()  # rehydrate: every port against every source
        monkeypatch.setattr(shared_module.SharedContributions, "_inputs", real)
        assert host.compiler.errors == []
        # (h11c) and each load balancer's contribution to its own local backends' ports,
        # which a full sync now keeps when its inputs are the same (shared.py _port_own)
        own = sum(1 for lb in host.compiler.view.lbs.values() for b in set(lb.backends)
                  if host.compiler.port_of(b) is not None)
        return len(calls) - own

    few, many = checks(3), checks(15)
    assert few == many
    assert few <= 10 + 6


def test_a_restart_with_the_same_state_reapplies_no_port() -> None:
    svc, host = _node(5, 10, 6)
    before = dict(host.compiler.recompiles)
    rules_before = {p.id: {g: dict(grp.rules) for lay in p.layers.values()
                           for g, grp in lay.groups.items()} for p in _endpoint_ports(host)}
    svc.restart_service()
    assert dict(host.compiler.recompiles) == before
    after = {p.id: {g: dict(grp.rules) for lay in p.layers.values()
                    for g, grp in lay.groups.items()} for p in _endpoint_ports(host)}
    assert after == rules_before  # the same rule objects, not equal copies


def test_remote_mappings_are_one_object_per_remote_endpoint() -> None:
    _svc, host = _node(6, 9, 0)
    mappings = [m for p in _endpoint_ports(host) for m in p.spaces[L.VNET_SPACE].mappings.values()]
    assert len(mappings) == 6 * 9
    assert len({id(m) for m in mappings}) == 9


def _guid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def _objects(svc: HnsService, local: int, remote: int, lbs: int) -> None:
    """A node with fixed ids: SourceVIP and DSR load balancers, an endpoint ACL."""
    def create(function: str, body: dict[str, Any], ident: str) -> str:
        return str(svc.hcn_call(function, ident, json.dumps({**body, "ID": ident}))["ID"])

    net = create("HcnCreateNetwork", node.network(), _guid(1, 0))
    loc = []
    for i in range(local):
        body = {**node.local_endpoint(i, net), "MacAddress": f"00-15-5D-00-01-{i:02X}"}
        if i == 1:
            body["Policies"] = [{"Type": "ACL", "Settings": {
                "Action": "Allow", "Direction": "In", "Priority": 100, "Protocols": "6"}}]
        loc.append(create("HcnCreateEndpoint", body, _guid(2, i)))
    rem = [create("HcnCreateEndpoint", node.remote_endpoint(i, net), _guid(3, i))
           for i in range(remote)]
    for i in range(lbs):
        body = node.load_balancer(i, loc, rem)
        if i % 4 == 1:
            body["SourceVIP"] = "10.244.1.250"
        create("HcnCreateLoadBalancer", body, _guid(4, i))


def _compiled(host: Host) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for port in host.switch.ports.values():
        out[port.name] = (
            {lid: (layer.flags, {gid: sorted((r.id, r.name, r.priority, repr(r.action),
                                              repr(r.conditions), r.flags, r.ttl, r.anonymous)
                                             for r in group.rules.values())
                                 for gid, group in layer.groups.items()})
             for lid, layer in port.layers.items()},
            {sid: sorted((m.ca, m.pa, m.mac, m.vni) for m in space.mappings.values())
             for sid, space in port.spaces.items()},
            sorted((name, repr(pool)) for name, pool in port.nat_pools.items()))
    return out


def test_new_ports_taking_the_template_compile_what_port_by_port_compiles() -> None:
    # one object at a time: ports exist before the sources (no template at work)
    svc_inc = HnsService()
    incremental = Host(service=svc_inc)
    _objects(svc_inc, 6, 8, 12)
    # every object first, then the compiler: every port is new (the template at work)
    svc_new = HnsService()
    _objects(svc_new, 6, 8, 12)
    at_once = Host(service=svc_new)
    assert _compiled(at_once) == _compiled(incremental)
    assert at_once.compiler.errors == incremental.compiler.errors
    svc_new.restart_service()  # rehydrate: the ports holding the template skip it
    assert _compiled(at_once) == _compiled(incremental)


# -- issue 11 (h11r): a restart re-reads equal objects, so nothing is computed again --------
def test_a_restart_with_the_same_state_computes_no_contribution_again() -> None:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    host = Host(service=svc)
    compiled = _compiled(host)
    shared, host_side = host.compiler._shared.computed, host.compiler.host_ports.computed
    assert host_side == 12  # each LB's host vNIC rules once (one network, one host port)
    svc.restart_service()  # every object re-read from the store: equal, not the same
    assert host.compiler._shared.computed == shared
    assert host.compiler.host_ports.computed == host_side
    assert _compiled(host) == compiled
    svc.hcn_call("HcnDeleteLoadBalancer", _guid(4, 3), None)
    assert host.compiler.host_ports.computed == host_side + 1  # that one LB, alone
    svc.restart_service()
    assert host.compiler.host_ports.computed == host_side + 1
    fresh = HnsService()
    _objects(fresh, 6, 8, 12)
    fresh.hcn_call("HcnDeleteLoadBalancer", _guid(4, 3), None)
    assert _compiled(host) == _compiled(Host(service=fresh))


def test_host_rules_format_each_address_once_per_sync() -> None:
    from hns.compiler import hostrules

    for cached in (hostrules._ip4_str, hostrules.pool_id):
        cached.cache_clear()
    _svc, host = _node(3, 10, 40)
    assert host.compiler.host_ports.computed == 40
    texts = hostrules._ip4_str.cache_info()
    assert texts.misses <= 40  # each VIP once (the NodePorts share the host's address)
    assert texts.hits > 0
    assert hostrules.pool_id.cache_info().misses <= 2  # HOST and HAIRPIN of one address
