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
from faults_helpers import ROOT, create_endpoint, create_network
from loopback import served_url

from api.client import HnsClient
from hns import errors
from hns.faults import MAX_WAIT
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
    """``hns-emulator serve`` (``python -m api.cli serve``) on a free port, state on disk.

    The child picks the port (``--port 0``) and its banner says when it listens: a port
    picked here could be taken by another test's server before a slow child binds it,
    and a health poll would then answer for that server."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0",
         "--state", str(tmp_path / "hns.sqlite")],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = served_url(proc)
    try:
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
        # Polled, not asserted at once: the client's 0.5 s may run out before a loaded
        # server has read the request.
        while client.service_state()["Waiting"] != 1:
            time.sleep(0.02)
        client.clear_faults()
        # A down time no machine is slow enough to outlast before the next call (with 1 s
        # a loaded one could see the service up again); ended by the timer of a restart
        # with a short one, which is the path under test. pytest-timeout bounds the poll.
        client.restart_service(MAX_WAIT)
        with pytest.raises(errors.EptSNotRegistered):
            client.get_network(net["ID"])
        client.restart_service(0.01)
        while not client.service_state()["Running"]:
            time.sleep(0.02)
        assert client.get_network(net["ID"])["Name"] == "nat"
        calls = client.calls()["Calls"]
        assert [c.get("Operation") for c in calls
                if c["Api"] == "Emulator"] == ["restart", "restart"]
        assert json.loads(calls[0]["Request"])["Name"] == "nat"
