"""Property: any sequence of creates, modifies, deletes, refused calls, injected faults,
restarts and reboots, once recorded, replays into a fresh emulator with no mismatch."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from faults_helpers import lb_settings, network_v2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hns.calllog import replay
from hns.errors import HnsError
from hns.service import HnsService

OPS = ("net_v2", "net_v1", "ep_v2", "ep_v1", "lb", "lb_modify", "del_ep", "del_net",
       "del_lb", "attach", "restart", "reboot", "fail_next", "hang_fail_next", "drop_next",
       "stop_start")
TARGETS = ("*", "HcnCreateEndpoint", "*", "HcnModifyLoadBalancer", "POST /endpoints",
           "HcnDeleteNetwork")

op = st.tuples(st.sampled_from(OPS), st.integers(0, 7), st.integers(0, 3))


def _pick(svc: HnsService, function: str, n: int) -> str | None:
    ids: list[str] = svc.hcn_call(function, None, None)
    return ids[n % len(ids)] if ids else None


def run(svc: HnsService, name: str, n: int, m: int) -> None:
    if name == "net_v2":
        body = network_v2(name=f"n{m}", prefix=f"10.{m}.0.0/24", gateway=f"10.{m}.0.1",
                          Flags=8 if n % 3 == 0 else 0)
        svc.hcn_call("HcnCreateNetwork", None, json.dumps(body))
    elif name == "net_v1":
        svc.hns_call("POST", "/networks/", json.dumps({
            "Name": f"v1-{m}", "Type": "NAT",
            "Subnets": [{"AddressPrefix": f"172.{16 + m}.0.0/24",
                         "GatewayAddress": f"172.{16 + m}.0.1"}]}))
    elif name in ("ep_v2", "ep_v1"):
        net = _pick(svc, "HcnEnumerateNetworks", n)
        if net is None:
            return
        if name == "ep_v2":
            svc.hcn_call("HcnCreateEndpoint", None, json.dumps(
                {"HostComputeNetwork": net, "SchemaVersion": {"Major": 2, "Minor": 0}}))
        else:
            svc.hns_call("POST", "/endpoints/", json.dumps({"VirtualNetwork": net}))
    elif name == "lb":
        ep = _pick(svc, "HcnEnumerateEndpoints", n)
        if ep is not None:
            svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep], port=80 + m))
    elif name == "lb_modify":
        lb, ep = _pick(svc, "HcnEnumerateLoadBalancers", n), _pick(
            svc, "HcnEnumerateEndpoints", m)
        if lb is not None and ep is not None:
            props = svc.hcn_call("HcnQueryLoadBalancerProperties", lb, None)
            port = props["PortMappings"][0]["ExternalPort"]
            vip = (props.get("FrontendVIPs") or [""])[0]
            svc.hcn_call("HcnModifyLoadBalancer", lb, lb_settings([ep], vip=vip, port=port))
    elif name in ("del_ep", "del_net", "del_lb"):
        kind = {"del_ep": "Endpoint", "del_net": "Network", "del_lb": "LoadBalancer"}[name]
        ident = _pick(svc, f"HcnEnumerate{kind}s", n)
        if ident is not None:
            svc.hcn_call(f"HcnDelete{kind}", ident)
    elif name == "attach":
        ep = _pick(svc, "HcnEnumerateEndpoints", n)
        if ep is not None:
            svc.hns_call("POST", f"/endpoints/{ep}/attach", json.dumps({"ContainerId": "c1"}))
    elif name == "restart":
        svc.restart_service()
    elif name == "reboot":
        svc.reboot()
    elif name == "fail_next":
        svc.faults.add(TARGETS[n % len(TARGETS)], "Fail", hresult=0x803B0017, times=1)
    elif name == "hang_fail_next":
        svc.faults.add(TARGETS[n % len(TARGETS)], "Hang", seconds=0.001, hresult=0x803B0025,
                       times=1)
    elif name == "drop_next":
        svc.faults.add("*" if n % 2 else "HcnModifyLoadBalancer", "NotApplied", times=1,
                       fields=["HostComputeEndpoints"] if m % 2 else [])
    elif name == "stop_start":
        svc.stop_service()
        try:
            svc.hns_call("GET", "/networks/")
        finally:
            svc.start_service()


@given(st.lists(op, min_size=1, max_size=30))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_recorded_session_replays_without_mismatch(ops: list[Any]) -> None:
    svc, fresh = HnsService(), HnsService()
    try:
        for name, n, m in ops:
            with contextlib.suppress(HnsError):
                run(svc, name, n, m)
        report = replay(fresh, svc.calls.recording())
        assert report.mismatches == []
        assert report.state_mismatches == []
        assert report.state_compared
    finally:
        svc.close()
        fresh.close()
