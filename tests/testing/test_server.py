"""EmulatorServer: start-up never mistakes another process's server on its port for its
own; restart keeps the state file and the port; external handles refuse a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hns.testing.server import EmulatorServer, ServerStartError


def test_server_with_a_taken_fixed_port_fails_to_start(tmp_path: Path) -> None:
    with EmulatorServer(state=tmp_path / "a.sqlite") as first:
        second = EmulatorServer(state=tmp_path / "b.sqlite", port=first.port)
        with pytest.raises(ServerStartError, match="exited"):
            second.start()
        assert second.pid is None
        assert first.health()["Status"] == "ok"


def test_server_given_a_timeout_it_cannot_meet_stops_its_child(tmp_path: Path) -> None:
    """The optional start timeout still bounds start-up: a child that has not printed its
    banner when it passes is ended, not left running (no child imports the app at once)."""
    server = EmulatorServer(state=tmp_path / "t.sqlite")
    with pytest.raises(ServerStartError, match="did not listen in 0"):
        server.start(timeout=0)
    assert server.pid is None


def test_server_moves_to_a_new_port_when_its_pick_was_taken(tmp_path: Path) -> None:
    with EmulatorServer(state=tmp_path / "a.sqlite") as first:
        first_client = httpx.Client(base_url=first.url)
        first_client.post("/hcn/networks", json={"Name": "only-on-first"})
        second = EmulatorServer(state=tmp_path / "b.sqlite")
        second.port = first.port  # as if another process took the port after free_port()
        with second:
            assert second.port != first.port
            assert second.pid is not None
            assert second.dump()["Objects"]["network"] == []
        first_client.close()


def test_server_restart_keeps_port_and_state(tmp_path: Path) -> None:
    with EmulatorServer(state=tmp_path / "s.sqlite", profile="ws2022") as server:
        server.request("POST", "/hcn/networks", {"Name": "kept"})
        url, pid = server.url, server.pid
        server.restart()
        assert (server.url, server.pid != pid) == (url, True)
        assert [n["Name"] for n in server.dump()["Objects"]["network"]] == ["kept"]
        assert server.get_profile() == "ws2022"
    assert server.pid is None


def test_server_external_and_memory_servers_refuse_restart(tmp_path: Path) -> None:
    with EmulatorServer() as memory:
        with pytest.raises(RuntimeError, match="state file"):
            memory.restart()
        external = EmulatorServer.external(memory.url + "/")
        assert external.url == memory.url
        assert external.start().pid is None
        with pytest.raises(RuntimeError, match="did not start"):
            external.restart()
        external.stop()
        assert memory.health()["Status"] == "ok"


def test_server_reboot_drops_non_persistent_networks_and_detaches_endpoints(
    tmp_path: Path,
) -> None:
    """EmulatorServer.reboot() (POST /_emulator/reboot): a network flagged
    EnableNonPersistent (Flags 8) goes with its endpoints; an attached endpoint of a
    persistent network stays, detached."""
    def network(name: str, prefix: str, flags: int) -> dict[str, object]:
        return {"Name": name, "Type": "NAT", "Flags": flags,
                "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": prefix}]}],
                "SchemaVersion": {"Major": 2, "Minor": 0}}

    with EmulatorServer(state=tmp_path / "r.sqlite") as server:
        kept = server.request("POST", "/hcn/networks", network("kept", "10.1.0.0/24", 0)).json()
        server.request("POST", "/hcn/networks", network("gone", "10.2.0.0/24", 8))
        ep = server.request("POST", "/hcn/endpoints", {
            "HostComputeNetwork": kept["ID"], "SchemaVersion": {"Major": 2, "Minor": 0}}).json()
        server.request("POST", f"/endpoints/{ep['ID']}/attach",
                       {"ContainerId": "ctr-1", "SystemType": "Container"})
        before = {e["ID"]: e for e in server.dump()["Objects"]["endpoint"]}
        assert before[ep["ID"]]["State"] == 2
        server.reboot()
        after = server.dump()["Objects"]
        assert [n["Name"] for n in after["network"]] == ["kept"]
        (endpoint,) = after["endpoint"]
        assert endpoint["State"] == 4  # detached
        assert endpoint["SharedContainers"] == []
