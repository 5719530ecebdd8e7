"""The client: transport failures as an HnsError (0x800706BA), the plugin's one-line
--hns-url check, docs/client.md generated from docstrings (with accepted V2 examples),
EmulatorServer as a context manager, and the in-process client fixture."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import dead_url

from api import clientdoc
from api.client import HnsClient, ServerUnavailable
from hns.errors import HnsError, RpcServerUnavailable
from hns.hosts import Host
from hns.testing.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]


def _assert_unavailable(exc: BaseException, cause: type[Exception]) -> None:
    assert isinstance(exc, HnsError)
    assert isinstance(exc, RpcServerUnavailable)
    assert isinstance(exc, httpx.TransportError)  # code written for httpx still works
    assert isinstance(exc, cause)  # even code that catches httpx.ReadTimeout
    assert exc.hresult == 0x800706BA
    assert exc.message == "The RPC server is unavailable."
    assert isinstance(exc.__cause__, cause)
    assert exc.detail is not None
    assert cause.__name__ in exc.detail


def test_connection_refused_is_an_hns_error() -> None:
    with dead_url() as url, HnsClient(url) as client, pytest.raises(ServerUnavailable) as caught:
        client.list_networks()
    _assert_unavailable(caught.value, httpx.ConnectError)
    assert url in str(caught.value.detail)


@pytest.fixture
def rude_server() -> Iterator[tuple[str, str]]:
    """A TCP server that answers nothing: mode "close" drops each connection at once,
    mode "silent" keeps it open without a byte (a hung HNS)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    mode = ["close"]
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if mode[0] == "close":
                conn.recv(65536)
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", mode  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def test_connection_reset_and_timeout_are_hns_errors(rude_server: Any) -> None:
    url, mode = rude_server
    with HnsClient(url) as client, pytest.raises(ServerUnavailable) as caught:
        client.globals_version()
    _assert_unavailable(caught.value, httpx.RemoteProtocolError)
    mode[0] = "silent"
    with HnsClient(url, timeout=0.5) as client, pytest.raises(ServerUnavailable) as caught:
        client.hcn_enumerate_networks()
    _assert_unavailable(caught.value, httpx.ReadTimeout)


def test_retry_loop_written_for_hns_errors_sees_a_stopped_server() -> None:
    codes: list[int] = []
    with dead_url() as url, HnsClient(url) as client:
        for _ in range(3):
            try:
                client.list_networks()
            except HnsError as exc:  # what a user's retry loop catches
                codes.append(exc.hresult)
    assert codes == [0x800706BA] * 3


def test_plugin_fails_the_session_in_one_line_on_a_dead_hns_url(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_one(hns_client):
            hns_client.list_networks()

        def test_two(hns_client):
            hns_client.list_networks()
        """
    )
    with dead_url() as dead:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--hns-url={dead}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, result.stderr.lines
    assert errors[0].startswith(f"ERROR: --hns-url {dead}: no HNS emulator answers there")
    assert "ConnectError" in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_every_public_method_is_documented_and_client_md_is_current() -> None:
    assert clientdoc.undocumented() == []
    text = clientdoc.render()
    assert (ROOT / "docs" / "client.md").read_text(encoding="utf-8") == text, (
        "docs/client.md is stale: run `python3 -m api.clientdoc --write`")
    for name in ("hcn_create_network", "hcn_query_endpoint_properties", "add_fault",
                 "set_profile", "hns_call"):
        assert f"#### `{name}(" in text


def test_render_refuses_a_public_method_without_docstring() -> None:
    class Careless(HnsClient):
        def shiny_new_call(self) -> None:
            return None

    assert clientdoc.undocumented(Careless) == ["shiny_new_call"]
    with pytest.raises(ValueError, match="shiny_new_call"):
        clientdoc.render(Careless)


def test_every_v2_example_in_client_md_is_accepted(hns_inprocess_client: HnsClient) -> None:
    client = hns_inprocess_client
    ids: dict[str, str] = {}
    kinds = set()
    for kind, (method, _what, body) in clientdoc.EXAMPLES.items():
        text = json.dumps(body)
        for placeholder, key in (("<network id>", "network"), ("<endpoint id>", "endpoint")):
            text = text.replace(placeholder, ids.get(key, ""))
        created = getattr(client, method)(text)
        ids.setdefault(kind, created["ID"])
        kinds.add(method)
    assert kinds == {"hcn_create_network", "hcn_create_endpoint", "hcn_create_load_balancer",
                     "hcn_create_namespace", "hcn_create_sdn_route"}
    assert (ROOT / "docs" / "client.md").read_text().count("```json") == len(clientdoc.EXAMPLES)


def test_emulator_server_as_a_context_manager(tmp_path: Path) -> None:
    with EmulatorServer(state=tmp_path / "hns.sqlite", profile="ws2022") as server:
        assert server.pid is not None
        with HnsClient(server.url) as client:
            assert client.get_profile()["Profile"] == "ws2022"
            url = server.url
    assert server.pid is None
    with HnsClient(url) as client, pytest.raises(ServerUnavailable):
        client.health()


def test_inprocess_client_fixture_shares_the_host(hns_inprocess_client: HnsClient,
                                                  hns_host: Host) -> None:
    created = hns_inprocess_client.hcn_create_network(clientdoc.EXAMPLES["network"][2])
    assert hns_host.service.hcn_call("HcnEnumerateNetworks", None, None) == [created["ID"]]
    calls = hns_host.service.calls.calls()
    assert [c.function for c in calls] == ["HcnCreateNetwork", "HcnEnumerateNetworks"]
