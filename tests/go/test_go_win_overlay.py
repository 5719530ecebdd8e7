"""The containernetworking ``win-overlay`` CNI plugin (and ``host-local`` IPAM), built for
Windows from the version gotest/go.mod pins, run under Wine the way a container runtime
runs it: ADD, CHECK, DEL and a second DEL, on an Overlay network made with flannel's
request body (flannel pkg/backend/vxlan/device_windows.go), with ``apiVersion`` 2 (HCN:
the endpoint joins a namespace) and 1 (HNSCall + HCS hot-attach to a compute system).

Checked on the emulator's side: the endpoint has the policies the plugin asks for,
``hnsdiag`` lists it, its VFP port carries the SNAT rules, a traced packet is SNATed or not
as ``ipMasq`` says, and DEL removes it. Also the plugins' own ``pkg/hns`` tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from go_helpers import Emulator, windows_path

NETWORK = "mynet"  # the README sample's name: the plugin looks the network up by it
PREFIX = "10.10.0.0/16"
HOST_IP = "172.16.0.4"  # the emulated host's provider address (HnsService.HOST_IP)


def flannel_network() -> dict[str, Any]:
    """The HostComputeNetwork flannel's vxlan backend creates (VNI 4096, adapter
    "Ethernet"), before it adds its HostRoute policy."""
    vsid = {"Type": "VSID", "Settings": {"IsolationId": 4096}}
    return {
        "Type": "Overlay", "Name": NETWORK, "Flags": 8,  # EnableNonPersistent
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": PREFIX, "Policies": [vsid],
            "Routes": [{"NextHop": "10.10.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
        "Policies": [{"Type": "NetAdapterName",
                      "Settings": {"NetworkAdapterName": "Ethernet"}}],
        "SchemaVersion": {"Major": 2, "Minor": 0},
    }


def cni_config(api_version: int, ip_masq: bool, data_dir: Path) -> dict[str, Any]:
    """win-overlay's README sample (name, type, ipMasq, endpointMacPrefix, host-local
    IPAM over the network's subnet) with a data folder for host-local and the API."""
    conf: dict[str, Any] = {
        "cniVersion": "1.0.0", "name": NETWORK, "type": "win-overlay",
        "ipMasq": ip_masq, "endpointMacPrefix": "0E-2A",
        "ipam": {"type": "host-local", "subnet": PREFIX, "dataDir": windows_path(data_dir)},
    }
    if api_version == 2:
        conf["apiVersion"] = 2
    return conf


class Cni:
    """Runs the plugin as a runtime does: CNI_* in the environment, config on stdin."""

    def __init__(self, emulator: Emulator, builds: Path, config: dict[str, Any],
                 container: str, netns: str) -> None:
        self.emulator, self.builds, self.config = emulator, builds, json.dumps(config)
        self.env = {"CNI_CONTAINERID": container, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
                    "CNI_PATH": windows_path(builds)}

    def __call__(self, command: str) -> subprocess.CompletedProcess[str]:
        return self.emulator.run_exe(
            "ws2025", [str(self.builds / "win-overlay.exe")], stdin=self.config,
            extra_env={**self.env, "CNI_COMMAND": command}, timeout=300)


def _http(emulator: Emulator) -> httpx.Client:
    return httpx.Client(base_url=emulator.url, timeout=30,
                        headers={"Authorization": f"Bearer {emulator.token}"})


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _snat_source(http: httpx.Client, endpoint: str, src: str, dst: str) -> str:
    """The source address a TCP SYN from the container to ``dst`` leaves the port with."""
    trace = _ok(http.post(f"/vfp/ports/{endpoint}/process-tuples",
                          json={"Tuples": f"6 {src} 40000 {dst} 443 out 1"}))
    assert trace["Verdict"] == "allow", trace
    return str(trace["Final"]["SourceIP"])


@pytest.mark.parametrize(("api_version", "ip_masq"), [(2, True), (1, True), (2, False)])
def test_win_overlay_add_check_del(api_version: int, ip_masq: bool, emulator: Emulator,
                                   go_builds: Path, tmp_path: Path) -> None:
    emulator.server.set_profile("ws2025")
    emulator.server.reset()
    container = f"c0ffee{api_version}{int(ip_masq)}"
    with _http(emulator) as http:
        network = _ok(http.post("/hcn/networks", json=flannel_network()))
        if api_version == 2:  # the runtime made the pod's namespace; CNI_NETNS names it
            netns = _ok(http.post("/hcn/namespaces", json={
                "Type": "HostDefault", "SchemaVersion": {"Major": 2, "Minor": 0}}))["ID"]
        else:  # V1: the pause container runs; the plugin hot-attaches to it
            _ok(http.post("/_emulator/computesystems", json={"Id": container, "Owner": "cni"}))
            netns = "none"
        cni = Cni(emulator, go_builds, cni_config(api_version, ip_masq, tmp_path), container,
                  netns)

        added = cni("ADD")
        assert added.returncode == 0, added.stdout + added.stderr
        result = json.loads(added.stdout)
        address = result["ips"][0]["address"]
        assert address == "10.10.0.2/16"  # host-local's first address after the gateway
        ip = address.split("/")[0]
        endpoints = _ok(http.get("/endpoints/"))["Output"]
        assert [e["Name"] for e in endpoints] == [f"{container}_{NETWORK}"]
        ep = endpoints[0]
        assert ep["IPAddress"] == ip
        assert ep["VirtualNetwork"].lower() == network["ID"].lower()
        assert ep["MacAddress"].upper() == "0E-2A-0A-0A-00-02"  # endpointMacPrefix + IP
        policies = {p["Type"]: p for p in ep["Policies"]}
        assert policies["PA"]["PA"] == HOST_IP  # ApplyDefaultPAPolicy(ManagementIP)
        if ip_masq:  # ApplyOutboundNatPolicy(the network's prefix)
            assert policies["OutBoundNAT"]["ExceptionList"] == [PREFIX]
        else:
            assert "OutBoundNAT" not in policies
        if api_version == 2:
            v2 = _ok(http.get(f"/hcn/endpoints/{ep['ID']}"))
            assert v2["HostComputeNamespace"].lower() == netns.lower()
        else:
            assert ep["SharedContainers"] == [container]
            assert _ok(http.get(f"/_emulator/computesystems/{container}"))["Id"] == container

        diag = subprocess.run(
            [sys.executable, "-m", "api.hnsdiag", "list", "endpoints"],
            env=emulator.env("ws2025"), capture_output=True, text=True, timeout=60,
            check=False)
        assert diag.returncode == 0, diag.stderr
        assert f"{container}_{NETWORK}" in diag.stdout
        assert ep["ID"].lower() in diag.stdout.lower()

        rules = json.dumps(_ok(http.get(f"/vfp/ports/{ep['ID']}/rules")))
        assert (f"SNAT_TCP_{ip}" in rules) is ip_masq
        outside = _snat_source(http, ep["ID"], ip, "8.8.8.8")
        assert outside == (HOST_IP if ip_masq else ip)
        assert _snat_source(http, ep["ID"], ip, "10.10.3.3") == ip  # the NAT exception

        checked = cni("CHECK")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        for attempt in ("DEL", "DEL"):  # DEL is idempotent: the second finds nothing
            deleted = cni(attempt)
            assert deleted.returncode == 0, deleted.stdout + deleted.stderr
            assert _ok(http.get("/endpoints/"))["Output"] == []
        if api_version == 1:  # the container is still there, with nothing attached
            assert _ok(http.get(f"/_emulator/computesystems/{container}"))["Id"] == container
        assert [n["ID"] for n in _ok(http.get("/networks/"))["Output"]] == [network["ID"]]
        assert not list((tmp_path / NETWORK).glob("10.*"))  # host-local gave the IP back


def test_plugins_pkg_hns_windows_tests(emulator: Emulator, go_builds: Path) -> None:
    """containernetworking/plugins pkg/hns's own Windows tests (ginkgo), under Wine."""
    run = emulator.run_exe("ws2025", [str(go_builds / "hns.test.exe"), "-test.v",
                                      "-test.count=1", "-ginkgo.no-color"])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    ran = re.search(r"Ran (\d+) of (\d+) Specs", run.stdout)
    assert ran is not None, run.stdout[-4000:]
    assert int(ran.group(1)) == int(ran.group(2)) > 0  # every spec ran, none skipped
    assert "--- PASS: TestNetConf" in run.stdout


@pytest.mark.parametrize("api_version", [2, 1])
def test_win_overlay_add_without_sandbox_rolls_back(api_version: int, emulator: Emulator,
                                                    go_builds: Path, tmp_path: Path) -> None:
    """ADD for a pod whose sandbox is missing (V2: no such namespace; V1: no such compute
    system, HCS_E_SYSTEM_NOT_FOUND from HcsOpenComputeSystem) fails, and the plugin's own
    rollback leaves no endpoint and gives the address back (ACN#235 shows the V1 case on
    Windows)."""
    emulator.server.set_profile("ws2025")
    emulator.server.reset()
    with _http(emulator) as http:
        _ok(http.post("/hcn/networks", json=flannel_network()))
        netns = "5d3f3c1e-0e2a-4b6f-9c44-7f0d4b1e2a11" if api_version == 2 else "none"
        cni = Cni(emulator, go_builds, cni_config(api_version, True, tmp_path), "deadbeef",
                  netns)
        added = cni("ADD")
        assert added.returncode != 0, added.stdout
        assert json.loads(added.stdout)["code"] > 0  # a CNI error document
        assert _ok(http.get("/endpoints/"))["Output"] == []
        assert not list((tmp_path / NETWORK).glob("10.*"))
        if api_version == 1:  # created, HCS found no such container, deleted again
            calls = _ok(http.get("/_emulator/calls"))["Calls"]
            v1 = [(c["Method"], c["Path"]) for c in calls if c.get("Api") == "V1"]
            assert ("POST", "/endpoints/") in v1
            assert any(m == "DELETE" and p.startswith("/endpoints/") for m, p in v1)
