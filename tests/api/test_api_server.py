"""Real ``hns-emulator serve`` processes: persistence across a restart, concurrent
creates, bearer tokens, ``hns-emulator load``, and ``hnsdiag`` against a live server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_server_helpers import ROOT, ServerProcess

from api import cli, hnsdiag
from api.client import HnsClient
from hns.errors import ElementNotFound, HnsError

V2 = {"Major": 2, "Minor": 0}
FIXTURES = ROOT / "fixtures" / "api"
StartServer = Callable[..., ServerProcess]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m <module> args...`` run in this process (``main(argv, out=, err=)``), with
    ``env`` set meanwhile: the same code path as the console script without the seconds
    a fresh interpreter takes to import FastAPI on the 2-core machine."""
    module, *argv = args
    main = {"api.hnsdiag": hnsdiag.main, "api.cli": cli.main}[module]
    out, err = io.StringIO(), io.StringIO()
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        code = main(argv, out=out, err=err)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <module> args...`` as a real child process."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _overlay(name: str, prefix: str, id: str | None = None) -> dict[str, Any]:
    gateway = prefix.rsplit(".", 1)[0] + ".1"
    body: dict[str, Any] = {
        "Name": name,
        "Type": "Overlay",
        "SchemaVersion": V2,
        "Ipams": [
            {
                "Type": "Static",
                "Subnets": [
                    {
                        "IpAddressPrefix": prefix,
                        "Routes": [{"NextHop": gateway, "DestinationPrefix": "0.0.0.0/0"}],
                        "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
                    }
                ],
            }
        ],
    }
    if id:
        body["ID"] = id
    return body


def test_server_state_survives_restart_exactly(start_server: StartServer, tmp_path: Path) -> None:
    state = str(tmp_path / "hns-state.sqlite")
    first = start_server("--state", state)
    with HnsClient(first.url) as client:
        net = client.create_network(
            {
                "Name": "nat",
                "Type": "NAT",
                "Subnets": [{"AddressPrefix": "172.20.0.0/16", "GatewayAddress": "172.20.0.1"}],
            }
        )
        kept = client.create_endpoint({"Name": "kept", "VirtualNetwork": net["ID"]})
        gone = client.create_endpoint({"Name": "gone", "VirtualNetwork": net["ID"]})
        client.delete_endpoint(gone["ID"])
        before = (client.list_networks(), client.list_endpoints(), client.dump_state())
    first.stop()

    second = start_server("--state", state)
    with HnsClient(second.url) as client:
        after = (client.list_networks(), client.list_endpoints(), client.dump_state())
        assert after == before
        assert [e["ID"] for e in after[1]] == [kept["ID"]]
        with pytest.raises(ElementNotFound):
            client.get_endpoint(gone["ID"])
        # The next address is handed out after the survivors, not over them.
        fresh = client.create_endpoint({"Name": "fresh", "VirtualNetwork": net["ID"]})
        assert fresh["IPAddress"] != kept["IPAddress"]


def test_concurrent_creates_from_threads_never_share_ip_or_mac(server: ServerProcess) -> None:
    with HnsClient(server.url) as client:
        client.reset()
        net = client.create_network(
            {
                "Name": "busy",
                "Type": "NAT",
                "Subnets": [{"AddressPrefix": "172.30.0.0/16", "GatewayAddress": "172.30.0.1"}],
            }
        )
    created: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            with HnsClient(server.url) as c:
                for i in range(20):
                    if i % 2:
                        ep = c.create_endpoint({"Name": f"t{n}-{i}", "VirtualNetwork": net["ID"]})
                        ip, mac = ep["IPAddress"], ep["MacAddress"]
                    else:
                        ep = c.hcn_create_endpoint(
                            {"HostComputeNetwork": net["ID"], "SchemaVersion": V2}
                        )
                        ip, mac = ep["IpConfigurations"][0]["IpAddress"], ep["MacAddress"]
                    with lock:
                        created.append({"ID": ep["ID"], "IP": ip, "MAC": mac})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(created) == 160
    assert len({c["IP"] for c in created}) == 160
    assert len({c["MAC"].upper() for c in created}) == 160
    with HnsClient(server.url) as client:
        assert len(client.list_endpoints()) == 160


def test_token_server_refuses_requests_without_the_bearer_token(
    start_server: StartServer,
) -> None:
    srv = start_server(
        "--state", ":memory:", "--token", "s3cret", env={"HNS_EMULATOR_TOKEN": "s3cret"}
    )
    with HnsClient(srv.url, token="s3cret") as client:
        assert client.health()["Status"] == "ok"
    with HnsClient(srv.url, token="wrong") as client, pytest.raises(HnsError) as info:
        client.list_networks()
    assert info.value.hresult == 0x80070005
    result = _run(
        "api.hnsdiag", "list", "networks", "--url", srv.url, env={"HNS_EMULATOR_TOKEN": "s3cret"}
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Networks:\n")


def test_non_loopback_bind_without_token_is_refused() -> None:
    result = _run(
        "api.cli",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "1",
        "--state",
        ":memory:",
        env={"HNS_EMULATOR_TOKEN": ""},
    )
    assert result.returncode == 2
    assert "token" in result.stderr
    assert "Traceback" not in result.stderr


KUBECLUSTER = FIXTURES / "sdn-kubecluster-hnsdiag-list-all.txt"


def _kubecluster_objects(client: HnsClient) -> None:
    """The objects behind the real sample, created with the sample's ids and names."""
    sections = _sections(KUBECLUSTER.read_text())
    nets = [line.split() for line in sections["Networks:"][1:]]
    for n, (name, id) in enumerate(nets):
        client.hcn_create_network(_overlay(name, f"10.{244 + n}.0.0/16", id))
    vxlan0 = next(id for name, id in nets if name == "vxlan0")
    for name, id, _ in (line.split() for line in sections["Endpoints:"][1:]):
        client.hcn_create_endpoint(
            {"ID": id, "Name": name, "HostComputeNetwork": vxlan0, "SchemaVersion": V2}
        )
    for port, line in enumerate(sections["LoadBalancers:"][1:]):
        id, vips, dips = (part.strip() for part in line.split("|"))
        client.hcn_create_load_balancer(
            {
                "ID": id,
                "HostComputeEndpoints": dips.split(),
                "FrontendVIPs": vips.split(),
                "PortMappings": [{"Protocol": 6, "InternalPort": 53, "ExternalPort": 53 + port}],
                "SchemaVersion": V2,
            }
        )


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    title = ""
    for line in text.splitlines():
        if line.endswith(":") and " " not in line:
            title = line
            out[title] = []
        elif title and line.strip() and line != "```":
            out[title].append(line)
    return out


def test_hnsdiag_list_all_against_server_prints_real_layout(server: ServerProcess) -> None:
    with HnsClient(server.url) as client:
        client.reset()
        _kubecluster_objects(client)
    result = _run("api.hnsdiag", "list", "all", env={"HNS_EMULATOR_URL": server.url})
    assert result.returncode == 0, result.stderr
    expected = _sections(KUBECLUSTER.read_text())
    got = _sections(result.stdout)
    assert list(got) == list(expected)
    for title, rows in expected.items():
        # Header row first and exact; object rows byte for byte, in whatever order.
        assert got[title][:1] == rows[:1]
        assert sorted(got[title][1:]) == sorted(rows[1:])
    assert "\n\nEndpoints:\n" in result.stdout


def test_hnsdiag_detailed_delete_and_reset_against_server(server: ServerProcess) -> None:
    with HnsClient(server.url) as client:
        client.reset()
        _kubecluster_objects(client)
    d = _run("api.hnsdiag", "list", "networks", "-d", "--url", server.url)
    docs = [json.loads(line) for line in d.stdout.splitlines()]
    assert sorted(doc["Name"] for doc in docs) == ["External", "nat", "vxlan0"]
    df = _run("api.hnsdiag", "list", "endpoints", "-df", "--url", server.url)
    assert df.stdout.startswith('{\n    "')
    assert '": ' not in df.stdout
    lb = "326f84d7-35ec-4355-a60a-e82e2b05ec24"
    assert _run("api.hnsdiag", "delete", "loadbalancers", lb, "--url", server.url).returncode == 0
    again = _run("api.hnsdiag", "delete", "loadbalancers", lb, "--url", server.url)
    assert again.returncode == 1
    assert again.stderr.strip() == "Element not found. (0x80070490)"
    assert _run("api.hnsdiag", "reset", "networks", "--url", server.url).returncode == 0
    with HnsClient(server.url) as client:
        assert client.list_networks() == []
        assert client.list_endpoints() == []


def test_hnsdiag_unreachable_server_one_line_exit_1() -> None:
    from loopback import dead_url

    with dead_url() as url:  # port 9 was only assumed closed (CI runs as root)
        result = _run_process("api.hnsdiag", "list", "all", "--url", url)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "sample", ["v1-post-networks-nat-response.json", "v1-remote-endpoint-overlay-pa.json"]
)
def test_cli_load_real_sample_into_state_file_reads_back_through_v1(
    start_server: StartServer, tmp_path: Path, sample: str
) -> None:
    state = str(tmp_path / "s.sqlite")
    loaded = _run("api.cli", "load", str(FIXTURES / sample), "--state", state)
    assert loaded.returncode == 0, loaded.stderr
    doc = json.loads((FIXTURES / sample).read_text(encoding="utf-8-sig"))
    original = doc.get("Output", doc)
    srv = start_server("--state", state)
    with HnsClient(srv.url) as client:
        objects = client.list_networks() + client.list_endpoints()
    [got] = [o for o in objects if o["ID"].lower() == original["ID"].lower()]
    # Every field the real host wrote reads back unchanged through V1.
    assert {k: got.get(k) for k in original} == original


def test_cli_load_dump_into_running_server_via_url(
    start_server: StartServer, tmp_path: Path
) -> None:
    a = start_server("--state", ":memory:")
    b = start_server("--state", ":memory:")
    with HnsClient(a.url) as client:
        client.hcn_create_network(_overlay("vxlan0", "10.244.0.0/16"))
        dump = client.dump_state()
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(dump))
    result = _run("api.cli", "load", str(path), "--url", b.url)
    assert result.returncode == 0, result.stderr
    assert "state dump" in result.stdout
    with HnsClient(b.url) as client:
        assert client.dump_state() == dump
    capture = _run(
        "api.cli", "load", str(FIXTURES / "v1-post-networks-nat-response.json"), "--url", b.url
    )
    assert capture.returncode == 0, capture.stderr
    with HnsClient(b.url) as client:
        assert sorted(n["Name"] for n in client.list_networks())[-1] == "vxlan0"
        assert len(client.list_networks()) == 2


def test_readme_serve_command_console_script_serves(tmp_path: Path) -> None:
    """``hns-emulator serve --state ./hns-state.sqlite`` (the README's run command)."""
    import httpx
    from api_server_helpers import console_script
    from loopback import served_url

    exe = console_script("hns-emulator")
    if exe is None:
        pytest.skip("the hns-emulator console script is not installed (pip install -e .)")
    # --port 0 and the banner: a port picked here could be another test's server by the
    # time a slow child binds it, and a 20 s poll was a clock a loaded machine can overrun.
    proc = subprocess.Popen(
        [exe, "serve", "--state", "./hns-state.sqlite", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = served_url(proc)
        answer = httpx.get(f"{url}/globals/version", timeout=5).json()
        assert answer["Success"] is True
        assert (tmp_path / "hns-state.sqlite").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_unknown_profile_is_one_line_exit_2() -> None:
    result = _run("api.cli", "serve", "--profile", "ws1803", "--state", ":memory:", "--port", "1")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "hns-emulator: The parameter is incorrect. (0x80070057): unknown profile 'ws1803'; "
        "accepted: ws2019, ws2022, ws2025"
    ]


def test_serve_profile_flag_sets_globals_version(start_server: StartServer) -> None:
    srv = start_server("--state", ":memory:", "--profile", "ws2019")
    with HnsClient(srv.url) as client:
        assert client.get_profile()["Profile"] == "ws2019"
        assert client.globals_version() == client.get_profile()["Version"]


def test_non_loopback_bind_with_token_serves_bearers_only(start_server: StartServer) -> None:
    srv = start_server(
        "--host", "0.0.0.0", "--state", ":memory:", env={"HNS_EMULATOR_TOKEN": "tok"}
    )
    with HnsClient(srv.url, token="tok") as client:
        assert client.list_networks() == []
    with HnsClient(srv.url, token="") as client, pytest.raises(HnsError) as info:
        client.list_networks()
    assert info.value.hresult == 0x80070005
