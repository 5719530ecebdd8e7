"""Every scenario runs and ends with its verdict line; a broken setup turns PASS into FAIL
(so the PASS line cannot be a constant); the mixed Linux + Windows scenario passes where
network namespaces are available (CI runs as root)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import hns.scenarios
import vxlan
from hns.scenarios import netns
from hns.scenarios.base import Failed, Run, Seen, load_fixture, pick, substitute


def _netns_probe() -> str | None:
    """The tests' own probe (independent of hns.scenarios.netns, so a wrong SKIP there
    cannot hide): root, the ip command, and a namespace that can be made."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no ip command"
    name = f"hnstestprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
    return None if made.returncode == 0 else f"ip netns add: {made.stderr.strip()}"


NETNS_REASON = _netns_probe()


def _run(name: str, **kwargs: object) -> tuple[bool, str]:
    out = io.StringIO()
    ok = hns.scenarios.run(name, out, **kwargs)  # type: ignore[arg-type]
    return ok, out.getvalue()


def _verdict(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def test_names_lists_the_four_scenarios_seed_first() -> None:
    assert hns.scenarios.names() == [
        "docker-swarm-overlay", "kube-proxy-flannel", "calico-acls", "mixed-linux-windows"]
    for name in hns.scenarios.names():
        assert hns.scenarios.summary(name)


def test_run_unknown_scenario_fails_with_the_known_names() -> None:
    ok, text = _run("no-such-scenario")
    assert not ok
    assert _verdict(text).startswith("FAIL no-such-scenario: no such scenario")
    assert "calico-acls" in text


@pytest.mark.parametrize("name", ["docker-swarm-overlay", "kube-proxy-flannel", "calico-acls"])
def test_scenario_passes(name: str, tmp_path: Path) -> None:
    pcap = tmp_path / "vxlan.pcap"
    ok, text = _run(name, pcap=str(pcap))
    assert _verdict(text) == f"PASS {name}", text[-3000:]
    assert ok
    assert "not ok:" not in text
    assert "LAYER ACL_ENDPOINT_LAYER" in text  # the traces are printed


@pytest.mark.parametrize("name", ["docker-swarm-overlay", "kube-proxy-flannel"])
def test_scenario_pcap_holds_vxlan_frames(name: str, tmp_path: Path) -> None:
    pcap = tmp_path / "vxlan.pcap"
    _run(name, pcap=str(pcap))
    frames = vxlan.read_pcap(pcap)
    assert frames
    seen = [Seen(f) for f in frames]
    assert any(s.vni == 4096 and s.outer_dport == 4789 for s in seen)


def test_docker_scenario_fails_when_the_remote_endpoint_is_deleted() -> None:
    def delete_remote_c2(run: Run) -> None:
        run.hosts["A"].service.hns_call("DELETE", f"/endpoints/{run.vars['REMOTE_C2_ON_A']}")

    ok, text = _run("docker-swarm-overlay", before_traffic=delete_remote_c2)
    assert not ok
    assert _verdict(text).startswith("FAIL docker-swarm-overlay: ")
    assert "not ok: c1 -> c2 left host A on the underlay" in text


def test_kube_proxy_scenario_fails_when_the_remote_subnet_route_is_removed() -> None:
    def remove_route(run: Run) -> None:
        net = run.hosts["A"].service.hcn_call(
            "HcnQueryNetworkProperties", run.vars["NET_A"], '{"SchemaVersion":{"Major":2}}')
        route = pick(net, "Policies[Type=RemoteSubnetRoute]")
        run.hosts["A"].service.hcn_call("HcnModifyNetwork", run.vars["NET_A"], json.dumps(
            {"ResourceType": "Policy", "RequestType": "Remove",
             "Settings": {"Policies": [route]}}))

    ok, text = _run("kube-proxy-flannel", before_traffic=remove_route)
    assert not ok
    assert "not ok: a1 -> b2 was encapsulated onto the underlay" in text


def test_calico_scenario_fails_when_felix_allows_everything_in() -> None:
    def allow_all(run: Run) -> None:
        ep = run.vars["EP_P1"]
        run.hosts["A"].service.hns_call("POST", f"/endpoints/{ep}", json.dumps({
            "ID": ep, "Policies": [{"Type": "ACL", "Protocol": 256, "Action": "Allow",
                                    "Direction": "In", "RuleType": "Switch", "Priority": 100},
                                   {"Type": "ACL", "Protocol": 256, "Action": "Allow",
                                    "Direction": "Out", "RuleType": "Switch", "Priority": 100}]}))

    ok, text = _run("calico-acls", before_traffic=allow_all)
    assert not ok
    assert _verdict(text).startswith("FAIL calico-acls: ")


def test_substitute_keeps_types_and_resolves_nested_names() -> None:
    v = {"HOST": "A", "NET_A": "abc", "VNI": 4096, "MAC": "0E-2A-0A-F4-01-0A"}
    assert substitute({"x": "${VNI}", "y": "n-${NET_${HOST}}", "m": "${MAC|go_mac}"}, v) == {
        "x": 4096, "y": "n-abc", "m": "0e:2a:0a:f4:01:0a"}
    with pytest.raises(Failed, match="MISSING"):
        substitute("${MISSING}", v)


def test_pick_selects_list_items_by_field() -> None:
    answer = {"Policies": [{"Type": "A", "Settings": {"X": 1}},
                           {"Type": "B", "Settings": {"X": 2}}]}
    assert pick(answer, "Policies[Type=B].Settings.X") == 2
    with pytest.raises(Failed):
        pick(answer, "Policies[Type=C].Settings")


@pytest.mark.netns
@pytest.mark.skipif(NETNS_REASON is not None, reason=f"netns unavailable: {NETNS_REASON}")
def test_mixed_linux_windows_passes(tmp_path: Path) -> None:
    pcap = tmp_path / "mixed.pcap"
    ok, text = _run("mixed-linux-windows", pcap=str(pcap))
    assert _verdict(text) == "PASS mixed-linux-windows", text[-3000:]
    assert ok
    assert len(vxlan.read_pcap(pcap)) >= 6  # 3 pings each way, requests and replies
    leftover = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    mine = f"{os.getpid() % 100000}x"  # this process's runs (others may run at the same time)
    assert f"hnslnx{mine}" not in leftover
    assert f"hnswin{mine}" not in leftover


@pytest.mark.netns
@pytest.mark.skipif(NETNS_REASON is not None, reason=f"netns unavailable: {NETNS_REASON}")
def test_mixed_linux_windows_fails_without_the_remote_subnet_route() -> None:
    def remove_route(run: Run) -> None:
        net = run.hosts["W"].service.hcn_call(
            "HcnQueryNetworkProperties", run.vars["NET"], '{"SchemaVersion":{"Major":2}}')
        route = pick(net, "Policies[Type=RemoteSubnetRoute]")
        run.hosts["W"].service.hcn_call("HcnModifyNetwork", run.vars["NET"], json.dumps(
            {"ResourceType": "Policy", "RequestType": "Remove",
             "Settings": {"Policies": [route]}}))

    ok, text = _run("mixed-linux-windows", before_traffic=remove_route)
    assert not ok
    assert "not ok:" in text


def test_mixed_linux_windows_skips_with_a_reason_without_netns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns, "available", lambda: "needs root (network namespaces)")
    ok, text = _run("mixed-linux-windows")
    assert ok
    assert _verdict(text) == "SKIP mixed-linux-windows: needs root (network namespaces)"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_kube_proxy_pcap_decodes_in_tshark_as_vxlan(tmp_path: Path) -> None:
    pcap = tmp_path / "vxlan.pcap"
    _run("kube-proxy-flannel", pcap=str(pcap))
    proc = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "vxlan.vni"],
                          capture_output=True, text=True, timeout=60)
    vnis = {line for line in proc.stdout.split() if line}
    assert vnis == {"4096"}


@pytest.mark.parametrize("name", hns.scenarios.names())
def test_fixture_calls_name_their_caller_and_use_only_known_variables(name: str) -> None:
    data = load_fixture(name)
    hosts = data.get("hosts") or {}
    known = set(data.get("vars") or {}) | {"HOST"} | {f"PA_{h}" for h in hosts}
    for h, spec in hosts.items():
        for key in spec.get("vars") or {}:
            known |= {key, f"{key}_{h}"}
    phases: list[str | None] = [None, *sorted({c["phase"] for c in data["calls"]
                                               if c.get("phase")})]
    for phase in phases:  # the order a run makes them in: the unphased calls first
        for call in (c for c in data["calls"] if c.get("phase") == phase):
            assert call.get("caller"), call
            assert ("function" in call) != ("method" in call and "path" in call), call
            on = call.get("hosts") or [call.get("host")]
            assert all(h in hosts for h in on), call
            for h in on:
                text = json.dumps([call.get("body"), call.get("path"), call.get("id")])
                for var in re.findall(r"\$\{([A-Za-z0-9_]+)", text.replace("${HOST}", h)):
                    assert var in known, f"{name}: ${{{var}}} used before any call saves it"
                for var in call.get("save") or {}:
                    known.add(var.replace("${HOST}", h))
