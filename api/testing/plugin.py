"""The hns-emulator pytest plugin (entry point ``pytest11: hns = api.testing.plugin``).

Fixtures:
    hns_host     function  an in-process emulated host, fresh per test: ``hns.hosts.Host``
                           (``.service`` its HnsService, ``.switch`` its VFP switch).
    hns_server   session   a live ``hns-emulator serve`` child process on a free loopback
                           port (``.url``, ``.token``, ``.reset()``, ``.restart()``,
                           ``.reboot()``), its state in a per-session SQLite file; emptied
                           through ``/_emulator/reset`` before every test that uses it.
                           Under pytest-xdist each worker has its own.  With ``--hns-url``
                           no process is started: the handle points at that server.
    hns_client   function  ``api.client.HnsClient`` bound to ``hns_server``.
    hns_inprocess_client
                 function  ``api.client.HnsClient`` over the HTTP app of ``hns_host``,
                           in this process (no server process, no socket): the same
                           client API, and ``hns_host`` shows what it did.
    hns_cluster  function  ``hns.hosts.Cluster`` with two hosts, ``host1`` (PA 10.0.0.1)
                           and ``host2`` (PA 10.0.0.2), on an in-memory underlay.

Marker:
    @pytest.mark.hns_profile("ws2019")   host profile of every hns_* fixture of the test
                                         (module- and class-level marks work too).
Reports: a failed test that used hns_server gets a section "hns-emulator calls" with the
emulator's last 30 calls and their HRESULTs.

Options:
    --hns-profile NAME  profile for tests without a mark (default ws2025)
    --hns-url URL     run against that server instead of starting one (under xdist:
                      URL1,URL2,... one per worker)
    --hns-token T     bearer token for it (default: $HNS_EMULATOR_TOKEN when --hns-url)
                      Each --hns-url server is asked for /_emulator/health once at session
                      start; one that does not answer ends the session with one line.

Fault injection is what the backend and the client ship, not a second copy:
``hns_host.service.faults.add(target, mode, ...)`` / ``.injected(...)`` in process, and
``hns_client.add_fault(...)``, ``restart_service(...)``, ``calls()`` over HTTP.  The reset
before each test clears fault rules, the call log and a stopped service too.

Layering: this module sits in ``api/`` because it hands out the HTTP client and the
in-process app; what it needs of ``hns`` (hosts, clusters, ``EmulatorServer``) it imports
like any other ``api`` module.  ``hns.testing.plugin`` is the name installs made before
the move still have in their entry point; it loads this module by name.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from hns.profiles import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:  # imported lazily: a test session that uses none of them pays nothing
    from api.client import HnsClient
    from hns.hosts import Cluster, Host
    from hns.testing.server import EmulatorServer

__all__ = [
    "hns_client",
    "hns_cluster",
    "hns_host",
    "hns_inprocess_client",
    "hns_server",
    "profile_of",
]

MARKER = "hns_profile"
CLUSTER_HOSTS = (("host1", "10.0.0.1"), ("host2", "10.0.0.2"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hns", "hns-emulator")
    group.addoption(
        "--hns-url", dest="hns_url", default=None, metavar="URL",
        help="run the hns_server/hns_client tests against this emulator instead of "
             "starting one (it must serve /_emulator/reset); under pytest-xdist a "
             "comma-separated list with one URL per worker")
    group.addoption(
        "--hns-token", dest="hns_token", default=None, metavar="TOKEN",
        help="bearer token for --hns-url (default: $HNS_EMULATOR_TOKEN)")
    group.addoption(
        "--hns-profile", dest="hns_profile", default=None, metavar="NAME",
        choices=sorted(PROFILES),
        help="host profile of the hns fixtures in tests without an hns_profile mark "
             f"(default {DEFAULT_PROFILE}; for --hns-url: the profile the server had)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name): host profile (one of {', '.join(sorted(PROFILES))}) for the "
        "hns_host, hns_server, hns_client and hns_cluster fixtures of the test")
    if not hasattr(config, "workerinput"):  # the xdist controller checks for its workers
        _check_hns_urls(config)


def _check_hns_urls(config: pytest.Config) -> None:
    """Fail the session in one line when a ``--hns-url`` server does not answer, instead
    of a connection traceback in every test that uses it."""
    option = config.getoption("hns_url", None)
    if not option:
        return
    import httpx

    token = config.getoption("hns_token", None) or os.environ.get("HNS_EMULATOR_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for url in (u.strip().rstrip("/") for u in str(option).split(",") if u.strip()):
        try:
            answer = httpx.get(url + "/_emulator/health", headers=headers, timeout=5.0)
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise pytest.UsageError(
                f"--hns-url {url}: no HNS emulator answers there ({type(exc).__name__}: "
                f"{reason}); start one with `hns-emulator serve` or drop --hns-url") from None
        if answer.status_code != 200:
            raise pytest.UsageError(
                f"--hns-url {url}: /_emulator/health answered HTTP {answer.status_code}"
                + (" (wrong or missing --hns-token)" if answer.status_code == 401 else ""))


def pytest_report_header(config: pytest.Config) -> str | None:
    url = config.getoption("hns_url", None)
    return f"hns-emulator: tests run against {url}" if url else None


def profile_of(request: pytest.FixtureRequest) -> str | None:
    """The profile the closest ``hns_profile`` mark names, else ``--hns-profile``, else
    None."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        option = request.config.getoption("hns_profile", None)
        return None if option is None else str(option)
    name = marker.args[0] if marker.args else marker.kwargs.get("name")
    if name not in PROFILES:
        pytest.fail(f"unknown profile {name!r} in @pytest.mark.{MARKER}; known: "
                    f"{', '.join(sorted(PROFILES))}", pytrace=False)
    return str(name)


def new_host(profile: str = DEFAULT_PROFILE, **kwargs: Any) -> Host:
    """A fresh in-process emulated host (``hns.hosts.Host``; keywords go to it)."""
    from hns.hosts import Host

    return Host(profile=profile, **kwargs)


def client_class() -> type[HnsClient]:
    """``api.client.HnsClient`` (imported here: see the module docstring on layering)."""
    from api.client import HnsClient

    return HnsClient


@pytest.fixture
def hns_host(request: pytest.FixtureRequest) -> Iterator[Host]:
    """A fresh in-process emulated host (``hns.hosts.Host``), closed after the test."""
    host = new_host(profile_of(request) or DEFAULT_PROFILE)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="session")
def hns_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    """One live emulator per session (per xdist worker), or the ``--hns-url`` server."""
    from hns.testing.server import EmulatorServer

    url = _url_for_this_worker(request.config.getoption("hns_url", None))
    token = request.config.getoption("hns_token", None)
    if url:
        server = EmulatorServer.external(
            url, token=token if token is not None else os.environ.get("HNS_EMULATOR_TOKEN"))
    else:
        state = tmp_path_factory.mktemp("hns-server") / "hns.sqlite"
        server = EmulatorServer(state=state, token=token)
    server.start()
    try:
        yield server
    finally:
        if server.is_external:
            server.reset()
            if server.initial_profile:
                server.set_profile(server.initial_profile)
        server.stop()


def _url_for_this_worker(option: str | None) -> str | None:
    """The ``--hns-url`` server of this process: the only one, or under pytest-xdist the
    worker's own from a comma-separated list (workers sharing one server would reset each
    other's state under their feet, so that is refused)."""
    if not option:
        return None
    urls = [u.strip() for u in option.split(",") if u.strip()]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker or workers <= 1:
        return urls[0]
    if len(urls) < workers:
        pytest.fail(f"--hns-url names {len(urls)} server(s) but pytest-xdist runs {workers} "
                    "workers: give one URL per worker, comma-separated (workers sharing a "
                    "server would reset each other's state)", pytrace=False)
    return urls[int(worker.removeprefix("gw"))]


CALLS_SHOWN = 30


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failed test that used ``hns_server``: add the emulator's last calls (what the
    code under test asked HNS and what it answered) as a report section."""
    report = yield
    if report.failed and report.when == "call":
        server = getattr(item, "funcargs", {}).get("hns_server")
        if server is not None:
            text = _calls_text(server)
            if text:
                report.sections.append(("hns-emulator calls", text))
    return report


def _calls_text(server: EmulatorServer) -> str:
    """The last CALLS_SHOWN calls, one line each ("" if the server cannot say)."""
    try:
        response = server.request("GET", "/_emulator/calls?state=false")
        calls = response.json().get("Calls") if response.status_code == 200 else None
    except Exception:  # the report must not fail because the server is gone
        return ""
    if not isinstance(calls, list):
        return ""
    lines = []
    for c in calls[-CALLS_SHOWN:]:
        what = c.get("Function") or " ".join(
            str(x) for x in (c.get("Method"), c.get("Path")) if x) or c.get("Operation", "?")
        hr = int(c.get("HResult") or 0) & 0xFFFFFFFF
        outcome = "ok" if hr == 0 else f"0x{hr:08X} {c.get('Error') or ''}".rstrip()
        ident = f" {c['Id']}" if c.get("Id") else ""
        faults = f" (faults: {c['Faults']})" if c.get("Faults") else ""
        lines.append(f"{c.get('Seq', '?'):>5} {what}{ident} -> {outcome}{faults}")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _hns_fresh_server(request: pytest.FixtureRequest) -> None:
    """Before each test that uses the server: empty it and apply its profile mark."""
    if "hns_server" not in request.fixturenames:
        return
    server: EmulatorServer = request.getfixturevalue("hns_server")
    if not server.is_external and server.pid is None:
        server.start()  # a test restarted it and the restart failed: start afresh
    server.reset()
    wanted = profile_of(request) or server.initial_profile
    if wanted and server.get_profile() != wanted:
        server.set_profile(wanted)


@pytest.fixture
def hns_client(hns_server: EmulatorServer) -> Iterator[HnsClient]:
    """``api.client.HnsClient`` bound to ``hns_server`` (token included)."""
    client = client_class()(hns_server.url, token=hns_server.token)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def hns_inprocess_client(hns_host: Host) -> Iterator[HnsClient]:
    """``api.client.HnsClient`` speaking HTTP to ``hns_host``'s app in this process."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(hns_host), base_url="http://hns-emulator.invalid") as http:
        client = client_class()(http.base_url.__str__(), http=http)
        try:
            yield client
        finally:
            client.close()


@pytest.fixture
def hns_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """``hns.hosts.Cluster`` with hosts ``host1`` (10.0.0.1) and ``host2`` (10.0.0.2)."""
    from hns.hosts import Cluster

    profile = profile_of(request) or DEFAULT_PROFILE
    cluster = Cluster()
    try:
        for name, pa in CLUSTER_HOSTS:
            cluster.add_host(name, pa, profile=profile)
        yield cluster
    finally:
        cluster.close()
