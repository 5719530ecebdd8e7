"""Faults and restarts with the whole emulator around the service: a Host (its VFP ports
follow a restart's rehydration) and a real ``hns-emulator serve`` process."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faults_helpers import ROOT, create_endpoint, create_network, free_port

from api.client import HnsClient
from hns import errors
from hns.hosts import Host

NAT = {"Name": "nat", "Type": "NAT",
       "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}]}


def test_restart_keeps_vfp_ports_of_persistent_endpoints_and_drops_the_others() -> None:
    host = Host()
    try:
        svc = host.service
        keep = create_network(svc, name="keep")
        gone = create_network(svc, name="flannel", prefix="10.1.0.0/24", gateway="10.1.0.1",
                              Flags=8)
        ep_keep, ep_gone = create_endpoint(svc, keep["ID"]), create_endpoint(svc, gone["ID"])
        assert host.port_of(ep_keep["ID"]) is not None
        assert host.port_of(ep_gone["ID"]) is not None
        svc.restart_service()
        assert host.port_of(ep_keep["ID"]) is not None
        assert host.port_of(ep_gone["ID"]) is None
    finally:
        host.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``hns-emulator serve`` (``python -m api.cli serve``) on a free port, state on disk."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port),
         "--state", str(tmp_path / "hns.sqlite")],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(url + "/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield url
    finally:
        with contextlib.suppress(httpx.TransportError):
            httpx.delete(url + "/_emulator/faults", timeout=5)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_served_emulator_hangs_past_a_client_timeout_and_restarts(server: str) -> None:
    with HnsClient(server) as client:
        net = client.create_network(NAT)
        client.add_fault("GET /networks", "Hang", seconds=60)
        with HnsClient(server, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
            impatient.list_networks()
        assert client.service_state()["Waiting"] == 1
        client.clear_faults()
        client.restart_service(1.0)
        with pytest.raises(errors.EptSNotRegistered):
            client.get_network(net["ID"])
        deadline = time.monotonic() + 10
        while not client.service_state()["Running"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert client.get_network(net["ID"])["Name"] == "nat"
        calls = client.calls()["Calls"]
        assert [c.get("Operation") for c in calls if c["Api"] == "Emulator"] == ["restart"]
        assert json.loads(calls[0]["Request"])["Name"] == "nat"
