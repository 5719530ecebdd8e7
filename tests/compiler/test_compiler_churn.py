"""Incremental == fresh: after any sequence of HNS changes, every port the compiler keeps
holds exactly what a fresh compiler builds from the final state (rules, conditions,
actions, mappings, NAT pools, layer defaults)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from compiler_helpers import Rig, mac_text
from hypothesis import given, settings
from hypothesis import strategies as st

import vfp
from hns.compiler import Compiler
from hns.errors import HnsError

Json = dict[str, Any]
IPS = [f"10.244.1.{i}" for i in range(5, 11)]
REMOTE_IPS = {"10.244.2.7": "172.16.0.5", "10.244.3.7": "172.16.0.6"}


def snapshot(switch: vfp.Switch) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pid, port in switch.ports.items():
        rules = {}
        for layer in port.layers.values():
            for group in layer.groups.values():
                for rid, r in group.rules.items():
                    rules[(layer.id, group.id, rid)] = (r.priority, r.flags, r.ttl, r.name,
                                                        r.conditions, r.action)
        out[pid] = {
            "name": port.name, "mac": port.mac, "rules": rules,
            "flags": {lay.id: lay.flags for lay in port.layers.values()},
            "maps": {sid: dict(sp.mappings) for sid, sp in port.spaces.items()},
            "pools": {k: [(r.ip, r.port_start, r.port_end) for r in p.ranges]
                      for k, p in port.nat_pools.items()},
        }
    return out


ops = st.lists(st.one_of(
    st.tuples(st.just("local"), st.sampled_from(IPS)),
    st.tuples(st.just("remote"), st.sampled_from(sorted(REMOTE_IPS))),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("lb"), st.integers(0, 20), st.booleans(), st.sampled_from([80, 443])),
    st.tuples(st.just("acl"), st.integers(0, 20), st.integers(1, 5000)),
    st.tuples(st.just("unacl"), st.integers(0, 20)),
    st.tuples(st.just("nat"), st.integers(0, 20)),
    st.tuples(st.just("rsr"), st.booleans()),
), min_size=3, max_size=25)

RSR = {"Type": "RemoteSubnetRoute", "Settings": {
    "DestinationPrefix": "10.244.4.0/24", "IsolationId": 4096, "ProviderAddress": "172.16.0.7",
    "DistributedRouterMacAddress": "0E-2A-00-00-00-07"}}


def apply(rig: Rig, net: str, op: tuple[Any, ...], made: list[tuple[str, str]],
          acls: dict[str, list[Json]]) -> None:
    kind = op[0]
    locals_ = [e for e, k in made if k == "local"]
    if kind == "local":
        made.append((rig.endpoint(net, op[1], mac=mac_text(op[1])), "local"))
    elif kind == "remote":
        made.append((rig.endpoint(net, op[1], remote=True, mac=mac_text(op[1]), policies=[
            {"Type": "ProviderAddress", "Settings": {"ProviderAddress": REMOTE_IPS[op[1]]}}]),
            "remote"))
    elif kind == "delete" and made:
        ep, _ = made.pop(op[1] % len(made))
        rig.delete("Endpoint", ep)
    elif kind == "lb" and made:
        backends = [e for e, _ in made][op[1] % len(made):][:3]
        rig.load_balancer(backends, vip=f"10.96.0.{op[1] + 1}", external=op[3],
                          flags=1 if op[2] else 0)
    elif kind == "acl" and locals_:
        ep = locals_[op[1] % len(locals_)]
        policy = {"Type": "ACL", "Settings": {"Id": f"p{op[2]}", "Action": "Allow",
                                              "Direction": "In", "Priority": op[2],
                                              "RuleType": "Switch"}}
        rig.modify_endpoint_policies(ep, [policy])
        acls.setdefault(ep, []).append(policy)
    elif kind == "unacl" and acls:
        ep = sorted(acls)[op[1] % len(acls)]
        if acls[ep]:
            rig.modify_endpoint_policies(ep, [acls[ep].pop()], request="Remove")
    elif kind == "nat" and locals_:
        ep = locals_[op[1] % len(locals_)]
        rig.modify_endpoint_policies(ep, [{"Type": "OutBoundNAT", "Settings": {
            "Exceptions": ["10.244.0.0/16"]}}])
    elif kind == "rsr":
        body = {"ResourceType": "Policy", "RequestType": "Add" if op[1] else "Remove",
                "Settings": {"Policies": [RSR]}}
        rig.service.hcn_call("HcnModifyNetwork", net, json.dumps(body))


@settings(max_examples=40, deadline=None)
@given(ops=ops)
def test_incremental_state_equals_fresh_compile_after_any_changes(
        ops: list[tuple[Any, ...]]) -> None:
    rig = Rig()
    net = rig.network("ov", type="Overlay", prefix="10.244.0.0/16", gateway="10.244.0.1",
                      vsid=4096)
    made: list[tuple[str, str]] = []
    acls: dict[str, list[Json]] = {}
    prelude = [("local", IPS[0]), ("local", IPS[1]), ("remote", "10.244.2.7"),
               ("lb", 0, False, 80)]
    for op in [*prelude, *ops]:
        with contextlib.suppress(HnsError):  # refused by HNS: nothing changed
            apply(rig, net, op, made, acls)
    fresh_switch = vfp.Switch()
    fresh = Compiler(rig.service, fresh_switch)
    fresh.close()
    got, want = snapshot(rig.switch), snapshot(fresh_switch)
    assert got.keys() == want.keys()
    for pid in got:
        # SNAT port blocks depend on creation order, not on the final state
        got[pid].pop("pools")
        want[pid].pop("pools")
        assert got[pid] == want[pid], pid
    assert rig.compiler.errors == []
