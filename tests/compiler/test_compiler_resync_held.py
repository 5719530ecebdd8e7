"""Issue 11 (h11c): a full sync (service restart, state load, resync) over ports that hold
their network's template skips the shared contributions without looking at each one, and
every source tuple is one object, so the per-port source sets compare by identity.
Counted, never timed; the compiled state is compared with a fresh compile."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from test_compiler_sharing import _compiled, _guid, _objects

from hns.compiler import fresh
from hns.hosts import Host
from hns.service import HnsService

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench" / "support"))
import scale_node as node


@pytest.fixture
def unchanged_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times ``Template.unchanged`` (one look per shared contribution) ran."""
    calls: list[int] = []
    original = fresh.Template.unchanged

    def counting(self: Any, contrib: Any, own: Any) -> Any:
        calls.append(len(self.contrib))
        return original(self, contrib, own)

    monkeypatch.setattr(fresh.Template, "unchanged", counting)
    return calls


def _fresh_compile(change: Any = None) -> dict[str, Any]:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    if change is not None:
        change(svc)
    return _compiled(Host(service=svc))


def test_a_restart_skips_the_held_template_port_by_port(unchanged_calls: list[int]) -> None:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    host = Host(service=svc)
    compiled = _compiled(host)
    svc.restart_service()  # re-read equal objects: every port still holds the template
    host.compiler.sync()
    assert unchanged_calls == []
    assert _compiled(host) == compiled == _fresh_compile()


def test_a_changed_shared_contribution_is_looked_at_again(unchanged_calls: list[int]) -> None:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    host = Host(service=svc)

    def delete(s: HnsService) -> None:
        s.hcn_call("HcnDeleteLoadBalancer", _guid(4, 2), None)

    delete(svc)  # one shared contribution gone from every port: the mark is dropped
    lb = ("lb", _guid(4, 2).upper())
    marks = [st.held for st in host.compiler._ports.values()]
    assert all(m is None or lb in m[1] for m in marks)  # (kept where it is its own)
    assert None in marks
    svc.restart_service()
    assert unchanged_calls  # looked at one by one once more, then held again
    unchanged_calls.clear()
    svc.restart_service()
    assert unchanged_calls == []
    assert _compiled(host) == _fresh_compile(delete)


def test_every_source_is_one_object_on_every_port_and_pass() -> None:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    host = Host(service=svc)
    svc.restart_service()  # every id re-read: equal strings, other objects
    compiler = host.compiler
    net = _guid(1, 0).upper()
    scope = compiler._network_sources(net) | compiler._lb_sources(net)
    held = [s for st in compiler._ports.values() for s in st.contrib if s[0] in ("lb", "remote")]
    assert len(set(held)) == 8 + 12
    assert {id(s) for s in held} <= {id(s) for s in scope}  # the same objects, not equal ones


def test_a_restart_computes_no_contribution_again_not_even_a_backends_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from hns.compiler import rules

    svc = HnsService()
    _objects(svc, 6, 8, 12)  # every 4th LB has a SourceVIP: each port computes it alone
    host = Host(service=svc)
    compiled = _compiled(host)
    typed = dict(host.compiler.view.endpoints)
    calls: list[tuple[str, str]] = []
    original = rules.contribute

    def counting(source: Any, t: Any, view: Any) -> Any:
        if source[0] in ("lb", "remote"):
            calls.append(source)
        return original(source, t, view)

    monkeypatch.setattr(rules, "contribute", counting)
    svc.restart_service()  # every stored dict re-read: equal, other objects
    assert calls == []
    assert all(host.compiler.view.endpoints[k] is ep for k, ep in typed.items())
    assert _compiled(host) == compiled
    svc.hcn_call("HcnDeleteEndpoint", _guid(2, 0), None)  # a backend port goes
    compiled = _compiled(host)  # (its SNAT block stays free: not a fresh compile's)
    calls.clear()
    svc.restart_service()
    assert calls == []
    assert _compiled(host) == compiled


def test_what_is_kept_for_a_source_or_port_goes_with_it() -> None:
    svc = HnsService()
    _objects(svc, 6, 8, 12)
    host = Host(service=svc)
    compiler = host.compiler
    interned, own = len(compiler._interned), compiler._shared._own_entries
    held_by = {k for ports in own.values() for k in ports}
    assert _guid(2, 0).upper() in held_by
    for i in range(5):  # churn between full syncs
        ident = _guid(5, i)
        svc.hcn_call("HcnCreateLoadBalancer", ident, json.dumps(
            {**node.load_balancer(100 + i, [_guid(2, 0)], [_guid(3, 0)]), "ID": ident}))
        svc.hcn_call("HcnDeleteLoadBalancer", ident, None)
    assert len(compiler._interned) == interned
    svc.hcn_call("HcnDeleteEndpoint", _guid(2, 0), None)
    assert _guid(2, 0).upper() not in {k for ports in own.values() for k in ports}
