"""Issue 11 (F4): the compiler's work per load balancer does not grow with unrelated ports,
and what ports share is computed and held once (hns/compiler/shared.py), without changing
one rule of the compiled output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hns.compiler import rules
from hns.compiler import shared as shared_module
from hns.hosts import Host
from hns.service import HnsService

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench" / "support"))
import scale_node as node
from test_compiler_sharing import _compiled  # rule by rule, names and flags included


def _guid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def _with_id(body: dict[str, Any], ident: str) -> str:
    return json.dumps({**body, "ID": ident})  # fixed ids: two runs compare rule by rule


def _node(local: int, remote: int, lbs: int) -> tuple[HnsService, Host, list[str], list[str]]:
    svc = HnsService()
    host = Host(service=svc)

    def create(function: str, body: dict[str, Any], ident: str) -> str:
        return str(svc.hcn_call(function, ident, _with_id(body, ident))["ID"])

    net = create("HcnCreateNetwork", node.network(), _guid(1, 0))
    loc = [create("HcnCreateEndpoint", {**node.local_endpoint(i, net),
                                        "MacAddress": f"00-15-5D-00-01-{i:02X}"}, _guid(2, i))
           for i in range(local)]
    rem = [create("HcnCreateEndpoint", node.remote_endpoint(i, net), _guid(3, i))
           for i in range(remote)]
    for i in range(lbs):
        body = node.load_balancer(i, loc, rem)
        if i % 4 == 1:  # kube-proxy's sourceVip: a SNAT pool per client port
            body["SourceVIP"] = "10.244.1.250"
        create("HcnCreateLoadBalancer", body, _guid(4, i))
    return svc, host, loc, rem


def _lb_items_calls(local: int, monkeypatch: pytest.MonkeyPatch) -> int:
    svc, _host, loc, rem = _node(local, 6, 3)
    calls = []
    real = rules.lb_items

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rules, "lb_items", counting)
    svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(node.load_balancer(7, loc, rem)))
    monkeypatch.setattr(rules, "lb_items", real)
    return len(calls)


def test_one_lb_create_computes_its_rules_once_however_many_ports(
        monkeypatch: pytest.MonkeyPatch) -> None:
    few = _lb_items_calls(4, monkeypatch)
    many = _lb_items_calls(40, monkeypatch)
    # Once for every port that is not a backend, once for its one local backend's port.
    assert few == many == 2


def test_ports_share_remote_mappings_and_lb_rule_specs() -> None:
    _svc, host, _loc, _rem = _node(5, 4, 4)
    # the endpoints' ports (the network's host vNIC port carries no VNET space)
    ports = [p for p in host.switch.ports.values() if host.compiler.endpoint_of(p.id)]
    assert len(ports) == 5
    spaces = [p.spaces["VNET_SPACE"].mappings if "VNET_SPACE" in p.spaces else None
              for p in ports]
    if spaces[0] is None:  # the space's name is the compiler's; find it
        spaces = [next(iter(p.spaces.values())).mappings for p in ports]
    for ca, mapping in spaces[0].items():
        assert all(s[ca] is mapping for s in spaces[1:])


def test_sharing_changes_no_compiled_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    def churn(svc: HnsService, loc: list[str], rem: list[str]) -> None:
        lbs = svc.hcn_call("HcnEnumerateLoadBalancers", None, "{}")
        svc.hcn_call("HcnDeleteLoadBalancer", lbs[0], None)
        svc.hcn_call("HcnDeleteEndpoint", rem[1], None)
        body = node.load_balancer(3, loc, rem)
        body["HostComputeEndpoints"] = [loc[0], rem[0]]
        svc.hcn_call("HcnModifyLoadBalancer", lbs[3], json.dumps(body))

    svc, shared_host, loc, rem = _node(6, 8, 12)
    churn(svc, loc, rem)
    with_sharing = _compiled(shared_host)
    monkeypatch.setattr(shared_module.SharedContributions, "_inputs",
                        lambda self, source, t, view: None)
    svc2, plain_host, loc2, rem2 = _node(6, 8, 12)
    churn(svc2, loc2, rem2)
    without = _compiled(plain_host)
    assert with_sharing == without
